/*
 * clustered.h - realistic embeddings for the index tests and benchmarks:
 * clustered and of low intrinsic dimension, as sentence embeddings are.
 * `centres` centres in a 100-dimensional latent space; a vector is a
 * centre plus Gaussian spread, projected to AK_DIM by one fixed random
 * matrix, plus a little noise in every dimension, normalized.  (On
 * isotropic random vectors every index looks worse than it is: there are
 * no near neighbours to find.)  Deterministic for a given seed.
 *
 * Ownership: cl_new() / cl_free().
 */
#ifndef AK_CLUSTERED_H
#define AK_CLUSTERED_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/vec.h"

#define CL_LATENT 100

typedef struct {
    uint64_t rng;
    int centres;
    float *proj, *centre;
} cl_gen;

static inline double cl_uniform(cl_gen *g)
{
    g->rng ^= g->rng << 13, g->rng ^= g->rng >> 7, g->rng ^= g->rng << 17;
    return ((double)(g->rng >> 11) + 0.5) / 9007199254740992.0;
}

static inline double cl_gauss(cl_gen *g)
{
    double a = cl_uniform(g), b = cl_uniform(g);
    return sqrt(-2 * log(a)) * cos(2 * M_PI * b);
}

static inline cl_gen *cl_new(int centres, uint64_t seed)
{
    cl_gen *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->rng = seed | 1;
    g->centres = centres;
    g->proj = malloc(sizeof *g->proj * AK_DIM * CL_LATENT);
    g->centre = malloc(sizeof *g->centre * (size_t)centres * CL_LATENT);
    if (!g->proj || !g->centre) {
        free(g->proj);
        free(g->centre);
        free(g);
        return NULL;
    }
    for (int i = 0; i < AK_DIM * CL_LATENT; i++)
        g->proj[i] = (float)(cl_gauss(g) / sqrt(CL_LATENT));
    for (int i = 0; i < centres * CL_LATENT; i++)
        g->centre[i] = (float)cl_gauss(g);
    return g;
}

static inline void cl_free(cl_gen *g)
{
    if (g) {
        free(g->proj);
        free(g->centre);
        free(g);
    }
}

/* One unit-length vector into v[AK_DIM]. */
static inline void cl_draw(cl_gen *g, float *v)
{
    float z[CL_LATENT];
    int c = (int)(cl_uniform(g) * g->centres);
    for (int j = 0; j < CL_LATENT; j++)
        z[j] = g->centre[c * CL_LATENT + j] + (float)(0.35 * cl_gauss(g));
    for (int i = 0; i < AK_DIM; i++) {
        double a = 0;
        for (int j = 0; j < CL_LATENT; j++)
            a += g->proj[i * CL_LATENT + j] * z[j];
        v[i] = (float)(a + 0.02 * cl_gauss(g));
    }
    ak_vec_normalize(v);
}

/* Isotropic random unit vector (the hard, unrealistic case). */
static inline void cl_draw_random(cl_gen *g, float *v)
{
    for (int i = 0; i < AK_DIM; i++)
        v[i] = (float)cl_gauss(g);
    ak_vec_normalize(v);
}

#endif
