/*
 * vec_test.h - random vectors from a fixed seed, and their cosine in
 * double precision, for unit tests of the vector codes and the tiers.
 *
 * Shared by tests/unit/test_vcode.c and tests/unit/test_tiers.c.  Each
 * test program has its own generator state, so a run is reproducible.
 */
#ifndef AK_VEC_TEST_H
#define AK_VEC_TEST_H

#include <math.h>
#include <stdint.h>

#include "util/vec.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static double uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void random_vec(float *v)
{
    for (int i = 0; i < AK_DIM; i++)
        v[i] = (float)(uniform() * 2 - 1);
}

static double cosine(const float *a, const float *b)
{
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < AK_DIM; i++)
        d += (double)a[i] * b[i], na += (double)a[i] * a[i], nb += (double)b[i] * b[i];
    return d / sqrt(na * nb);
}

#endif
