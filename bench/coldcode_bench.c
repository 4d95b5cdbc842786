/*
 * coldcode_bench.c - how well the cold tier's vector code ranks: recall@10
 * of search over codes alone against exact float32 search over the
 * original vectors, for the codes Akosha uses (util/vcode.c, 196 bytes, cold;
 * storage/warmcode.c, 244 bytes, warm) and
 * the alternatives it was chosen against.
 *
 *   coldcode_bench [N] [QUERIES] [CODE]
 *
 * (default 50,000 vectors, 300 queries, every code; CODE: only the codes
 * whose name contains it, e.g. "version").
 *
 * The vectors are clustered and of low intrinsic dimension, as sentence
 * embeddings are: 3,000 centres in a 100-dimensional latent space, each
 * vector a centre plus Gaussian spread, projected to 384 dimensions by one
 * fixed random matrix, plus a little noise in all 384, normalized.  (On
 * isotropic random vectors every code looks worse than it is: there are no
 * near neighbours to find.)  Queries are drawn the same way and are not in
 * the base set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/warmcode.h"
#include "util/vcode.h"
#include "util/vec.h"

#define LATENT 100
#define CENTRES 3000
#define K 10

static uint64_t rng = 88172645463325252ULL;
static double uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
    double a = uniform(), b = uniform();
    return sqrt(-2 * log(a > 1e-300 ? a : 1e-300)) * cos(2 * M_PI * b);
}

static float *proj, *centre;

static void draw(float *v)
{
    float z[LATENT];
    int c = (int)(uniform() * CENTRES);
    for (int j = 0; j < LATENT; j++)
        z[j] = centre[c * LATENT + j] + (float)(0.35 * gauss());
    for (int i = 0; i < AK_DIM; i++) {
        double a = 0;
        for (int j = 0; j < LATENT; j++)
            a += proj[i * LATENT + j] * z[j];
        v[i] = (float)(a + 0.02 * gauss());
    }
    ak_vec_normalize(v);
}

typedef struct {
    float s;
    int i;
} hit;

/* The K best of n scores, best first (insertion into a small sorted list). */
static void top(const float *scores, int n, int *out)
{
    hit best[K];
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m == K && scores[i] <= best[K - 1].s)
            continue;
        int p = m < K ? m++ : K - 1;
        while (p > 0 && best[p - 1].s < scores[i]) {
            best[p] = best[p - 1];
            p--;
        }
        best[p] = (hit){scores[i], i};
    }
    for (int k = 0; k < K; k++)
        out[k] = best[k].i;
}

/* Codes decoded to float, unit length, scored exactly against the float
 * query: what search's re-rank computes for a cold row. */
typedef void (*codec)(const float *v, float *decoded);

/* Through one of Akosha's codes: encode, unpack to int8, dequantize. */
static void via_code(const float *v, float *d, size_t bytes, int (*enc)(const float *, uint8_t *),
                     int (*to_i8)(const void *, size_t, int8_t *, float *))
{
    uint8_t code[AK_WCODE_BYTES > AK_VCODE_BYTES ? AK_WCODE_BYTES : AK_VCODE_BYTES];
    int8_t q[AK_DIM];
    float scale;
    if (!enc(v, code) || !to_i8(code, bytes, q, &scale))
        abort();
    ak_vec_dequantize(q, scale, d);
    ak_vec_normalize(d);
}

static void vcode(const float *v, float *d)
{
    via_code(v, d, AK_VCODE_BYTES, ak_vcode_encode, ak_vcode_to_i8);
}

static void wcode(const float *v, float *d)
{
    via_code(v, d, AK_WCODE_BYTES, ak_wcode_encode, ak_wcode_to_i8);
}

/* Cold codes as aging makes them, from the warm tier's vector: the 5-bit
 * code now, int8 before schema 8. */
static void vcode_of(float *d)
{
    float w[AK_DIM];
    memcpy(w, d, sizeof w);
    vcode(w, d);
}
static void cold_via_wcode(const float *v, float *d) { wcode(v, d), vcode_of(d); }
static void cold_via_int8(const float *v, float *d);

static void sign_bits(const float *v, float *d)
{
    for (int i = 0; i < AK_DIM; i++)
        d[i] = v[i] >= 0 ? 1.0f : -1.0f;
    ak_vec_normalize(d);
}

static void int8(const float *v, float *d)
{
    int8_t q[AK_DIM];
    float scale;
    ak_vec_quantize(v, q, &scale);
    ak_vec_dequantize(q, scale, d);
    ak_vec_normalize(d);
}

static void cold_via_int8(const float *v, float *d) { int8(v, d), vcode_of(d); }

/* b bits a dimension, max-based step (as int8 does) */
static void bits_max(const float *v, float *d, int b)
{
    float m = 0;
    int levels = (1 << (b - 1)) - 1;
    for (int i = 0; i < AK_DIM; i++)
        m = fabsf(v[i]) > m ? fabsf(v[i]) : m;
    for (int i = 0; i < AK_DIM; i++)
        d[i] = roundf(v[i] / m * levels);
    ak_vec_normalize(d);
}
static void four_bit_max(const float *v, float *d) { bits_max(v, d, 4); }

/* The code before the non-uniform levels: 15 uniform levels, the step
 * 2.5 x rms / 7 or max / 7, whichever decodes nearer in cosine. */
static void four_bit_clip(const float *v, float *d)
{
    double ss = 0, m = 0, best = -2;
    float t[AK_DIM];
    for (int i = 0; i < AK_DIM; i++)
        ss += (double)v[i] * v[i], m = fabs(v[i]) > m ? fabs(v[i]) : m;
    double steps[2] = {2.5 * sqrt(ss / AK_DIM) / 7, m / 7};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < AK_DIM; i++) {
            double x = v[i] / steps[k];
            t[i] = (float)round(x > 7 ? 7 : x < -7 ? -7 : x);
        }
        ak_vec_normalize(t);
        double c = ak_vec_dot_f32(t, v) / sqrt(ss);
        if (c > best)
            best = c, memcpy(d, t, sizeof t);
    }
}
/* Version 2, the code before the entropy-coded one: 16 Lloyd-Max levels of
 * a Gaussian (sign and 8 magnitudes), the unit chosen by cosine from 17
 * around the rms and the one that puts the largest element on the top
 * level. */
static void lloyd_max(const float *v, float *d)
{
    static const float mag[8] = {6, 18, 31, 44, 58, 75, 96, 127};
    double ss = 0, m = 0, best = -2;
    float t[AK_DIM];
    for (int i = 0; i < AK_DIM; i++)
        ss += (double)v[i] * v[i], m = fabs(v[i]) > m ? fabs(v[i]) : m;
    for (int k = 0; k <= 17; k++) {
        double unit = k < 17 ? sqrt(ss / AK_DIM) * (0.7 + 0.6 * k / 16) / 46.476 : m / 127;
        for (int i = 0; i < AK_DIM; i++) {
            double x = fabs(v[i]) / unit;
            int l = 0;
            while (l < 7 && x > (mag[l] + mag[l + 1]) / 2)
                l++;
            t[i] = v[i] < 0 ? -mag[l] : mag[l];
        }
        ak_vec_normalize(t);
        double c = ak_vec_dot_f32(t, v) / sqrt(ss);
        if (c > best)
            best = c, memcpy(d, t, sizeof t);
    }
}

static void three_bit_max(const float *v, float *d) { bits_max(v, d, 3); }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50000, nq = argc > 2 ? atoi(argv[2]) : 300;
    const char *only = argc > 3 ? argv[3] : "";
    proj = malloc(sizeof *proj * AK_DIM * LATENT);
    centre = malloc(sizeof *centre * CENTRES * LATENT);
    float *base = malloc(sizeof *base * AK_DIM * (size_t)n), *qs = malloc(sizeof *qs * AK_DIM * nq);
    float *dec = malloc(sizeof *dec * AK_DIM * (size_t)n), *scores = malloc(sizeof *scores * n);
    int *truth = malloc(sizeof *truth * K * nq);
    for (int i = 0; i < AK_DIM * LATENT; i++)
        proj[i] = (float)gauss();
    for (int i = 0; i < CENTRES * LATENT; i++)
        centre[i] = (float)gauss();
    for (int i = 0; i < n; i++)
        draw(base + (size_t)i * AK_DIM);
    for (int i = 0; i < nq; i++)
        draw(qs + (size_t)i * AK_DIM);
    for (int q = 0; q < nq; q++) {
        for (int i = 0; i < n; i++)
            scores[i] = ak_vec_dot_f32(qs + (size_t)q * AK_DIM, base + (size_t)i * AK_DIM);
        top(scores, n, truth + q * K);
    }
    static const struct {
        const char *name;
        int bytes;
        codec fn;
    } codes[] = {
        {"sign bits (1 bit/dim)", AK_DIM / 8, sign_bits},
        {"3-bit scalar, max step", AK_DIM * 3 / 8 + 4, three_bit_max},
        {"4-bit scalar, max step", AK_DIM / 2 + 4, four_bit_max},
        {"4-bit scalar, 2.5 sigma clip or max (Akosha before)", AK_VCODE_BYTES, four_bit_clip},
        {"4-bit, 16 Lloyd-Max levels (version 2, Akosha before)", AK_VCODE_BYTES, lloyd_max},
        {"uniform levels range-coded in 192 bytes, util/vcode (version 3, Akosha)",
         AK_VCODE_BYTES, vcode},
        {"int8 (the warm tier before schema 8)", AK_DIM + 4, int8},
        {"5-bit, 32 Lloyd-Max levels, storage/warmcode (the warm tier)", AK_WCODE_BYTES, wcode},
        {"util/vcode of int8 (cold as aged before schema 8)", AK_VCODE_BYTES, cold_via_int8},
        {"util/vcode of the 5-bit code (cold as aged now)", AK_VCODE_BYTES, cold_via_wcode},
    };
    printf("%d vectors, %d queries, recall@%d against exact float32 search\n", n, nq, K);
    printf("| code | bytes | recall@10 |\n|---|---:|---:|\n");
    for (size_t c = 0; c < sizeof codes / sizeof *codes; c++) {
        if (!strstr(codes[c].name, only))
            continue;
        for (int i = 0; i < n; i++)
            codes[c].fn(base + (size_t)i * AK_DIM, dec + (size_t)i * AK_DIM);
        int found = 0;
        for (int q = 0; q < nq; q++) {
            int got[K];
            for (int i = 0; i < n; i++)
                scores[i] = ak_vec_dot_f32(qs + (size_t)q * AK_DIM, dec + (size_t)i * AK_DIM);
            top(scores, n, got);
            for (int a = 0; a < K; a++)
                for (int b = 0; b < K; b++)
                    found += got[a] == truth[q * K + b];
        }
        printf("| %s | %d | %.4f |\n", codes[c].name, codes[c].bytes, (double)found / (K * nq));
        fflush(stdout);
    }
    return 0;
}
