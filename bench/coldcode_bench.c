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
 * whose name contains one of its comma-separated pieces, e.g.
 * "version 3,design").  COLDCODE_SYSTEM (rows a system, 1000),
 * COLDCODE_TOPICS (centres a system draws from; 0 = any) and
 * COLDCODE_CENTROIDS (k-means centroids a system, 64) shape the designs'
 * data and codebooks (below).
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
#include "util/vcode_tables.h"
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

/* Rows come in systems of sys_size; with COLDCODE_TOPICS=T each system
 * draws its centres from T of them (consecutive systems from consecutive
 * blocks, so the whole set still covers every centre evenly), as one
 * installation's conversations are about its own projects.  0: any centre. */
static int sys_size = 1000, topics;

static void draw(float *v, long row) /* row < 0: a query, from any centre */
{
    float z[LATENT];
    int c = (int)(uniform() * (row >= 0 && topics ? topics : CENTRES));
    if (row >= 0 && topics)
        c = (int)((row / sys_size * topics + c) % CENTRES);
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

/* Put score s of row i into a best-first list of K (insertion). */
static void top_put(hit *best, float sc, int i)
{
    if (sc <= best[K - 1].s)
        return;
    int p = K - 1;
    while (p > 0 && best[p - 1].s < sc) {
        best[p] = best[p - 1];
        p--;
    }
    best[p] = (hit){sc, i};
}

/* The K best rows of each query, by dot product: rows in blocks that stay
 * in cache while every query passes over them (one pass over the rows). */
static void top_all(const float *rows, int n, const float *qs, int nq, int *out)
{
    hit *best = malloc(sizeof *best * K * (size_t)nq);
    for (int k = 0; k < K * nq; k++)
        best[k] = (hit){-INFINITY, -1};
    for (int r0 = 0; r0 < n; r0 += 256)
        for (int q = 0; q < nq; q++)
            for (int i = r0; i < n && i < r0 + 256; i++)
                top_put(best + q * K, ak_vec_dot_f32(qs + (size_t)q * AK_DIM, rows + (size_t)i * AK_DIM), i);
    for (int k = 0; k < K * nq; k++)
        out[k] = best[k].i;
    free(best);
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

/* Version 4, cold as aged now: the 5-bit warm code itself, entropy coded
 * (util/vcode.c through storage/warmcode.c's ak_wcode_to_vcode), decoded
 * from the cold code alone and checked to give exactly the warm code's
 * values (not its unit: the direction); its bytes are counted
 * (coded_bytes, raw_codes). */
static double coded_bytes;
static long raw_codes;

static void cold_v4(const float *v, float *d)
{
    uint8_t w[AK_WCODE_BYTES], code[AK_VCODE_MAX];
    int8_t q[AK_DIM], qw[AK_DIM];
    float scale, unit;
    size_t len;
    if (!ak_wcode_encode(v, w) || !(len = ak_wcode_to_vcode(w, sizeof w, code)) ||
        !ak_vcode_to_i8(code, len, q, &scale) || !ak_wcode_to_i8(w, sizeof w, qw, &unit) ||
        memcmp(q, qw, sizeof q) != 0)
        abort();
    coded_bytes += (double)len;
    raw_codes += len == AK_VCODE_MAX;
    ak_vec_dequantize(q, scale, d);
    ak_vec_normalize(d);
}
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

/* ---- designs tried for the recall goal at 200,000 and 1M vectors ----
 * Prototypes, not Akosha's codes.  eq_code is version 3's scheme (x ~= k *
 * t * rms, |k| under a Gaussian quantized at t, a sign bit when k != 0)
 * with the code's size counted from the probabilities instead of range
 * coded, so any payload and any vector (a residual too) can be tried.  Its
 * steps reach finer than version 3's (t = 0.177 * 2^(s / 32), s from -128,
 * not 0) and its levels further (|k| <= 127, not 40), so it is not bounded
 * at ~4.6 bits an element; the range coder comes within a byte or two of
 * the count, and a 24-bit margin is kept (which makes its steps on
 * average those of util/vcode at 192 bytes) ("design: eq_code in 192 bytes"
 * checks it against util/vcode). */
#define EQ_S0 (-128) /* the finest step index */
#define EQ_STEPS 384
#define EQ_KMAX 127
static double eq_cost[EQ_STEPS][EQ_KMAX + 1]; /* bits of a magnitude and its sign */

static double eq_t(int s) { return VC3_T0 * exp2(s / 32.0); }

static void eq_init(void)
{
    for (int j = 0; j < EQ_STEPS; j++) {
        double t = eq_t(j + EQ_S0), floor = exp2(-VC3_TOT_BITS);
        for (int m = 0; m <= EQ_KMAX; m++) {
            double hi = m == EQ_KMAX ? 1 : erf((m + 0.5) * t / sqrt(2));
            double p = m ? hi - erf((m - 0.5) * t / sqrt(2)) : hi;
            eq_cost[j][m] = -log2(p > floor ? p : floor) + (m != 0);
        }
    }
}

static int eq_level(float x, double inv)
{
    double a = fabs(x) * inv;
    return a >= EQ_KMAX ? EQ_KMAX : (int)lround(a);
}

static double eq_bits(const float *v, double rms, int s)
{
    const double *c = eq_cost[s - EQ_S0];
    double inv = 1 / (eq_t(s) * rms), bits = 0;
    for (int i = 0; i < AK_DIM; i++)
        bits += c[eq_level(v[i], inv)];
    return bits;
}

/* Code v (any length) in `payload` bytes as version 3 would (the finest
 * step that fits, then a few coarser, the best cosine); d = the decoded
 * vector at v's scale.  Returns the step (t * rms), 0 for a zero v. */
static double eq_code(const float *v, int payload, float *d)
{
    double ss = 0;
    for (int i = 0; i < AK_DIM; i++)
        ss += (double)v[i] * v[i];
    memset(d, 0, sizeof *d * AK_DIM);
    if (!(ss > 0))
        return 0;
    double rms = sqrt(ss / AK_DIM), budget = 8.0 * payload - 24, best = -2;
    int lo = EQ_S0, hi = EQ_S0 + EQ_STEPS - 1, pick = hi;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (eq_bits(v, rms, mid) <= budget)
            hi = mid;
        else
            lo = mid + 1;
    }
    static const int more[] = {0, 2, 4, 8, 16, 32, 64, 128};
    for (size_t k = 0; k < sizeof more / sizeof *more && lo + more[k] <= pick; k++) {
        int s = lo + more[k];
        double inv = 1 / (eq_t(s) * rms), dot = 0, qq = 0;
        if (eq_bits(v, rms, s) > budget)
            continue;
        for (int i = 0; i < AK_DIM; i++) {
            int m = eq_level(v[i], inv);
            dot += m * fabs(v[i]), qq += (double)m * m;
        }
        double c = qq > 0 ? dot / sqrt(qq * ss) : -2;
        if (c > best)
            best = c, pick = s;
    }
    double step = eq_t(pick) * rms;
    for (int i = 0; i < AK_DIM; i++) {
        int m = eq_level(v[i], 1 / step);
        d[i] = (float)((v[i] < 0 ? -m : m) * step);
    }
    return step;
}

static void eq192(const float *v, float *d) { eq_code(v, AK_VCODE_BYTES - 4, d), ak_vec_normalize(d); }
static void eq222(const float *v, float *d) { eq_code(v, 222, d), ak_vec_normalize(d); }
static void eq240(const float *v, float *d) { eq_code(v, AK_WCODE_BYTES - 4, d), ak_vec_normalize(d); }

/* A refinement layer of one bit an element (48 bytes): which half of its
 * cell the element lies in, decoded at the half's middle (+-step / 4). */
static void refine(const float *v, float *d, double step)
{
    for (int i = 0; i < AK_DIM; i++)
        d[i] += (float)(v[i] >= d[i] ? step / 4 : -step / 4);
}

/* (a) warm = the cold code made from the float (util/vcode, 196 bytes) +
 * the refinement (48): 244 bytes, cold = the first 196 as they are. */
static void v3_refined(const float *v, float *d)
{
    uint8_t code[AK_VCODE_BYTES];
    int8_t q[AK_DIM];
    float scale;
    if (!ak_vcode_encode(v, code) || !ak_vcode_to_i8(code, sizeof code, q, &scale))
        abort();
    ak_vec_dequantize(q, scale, d); /* v is of unit length: the scale is v's */
    refine(v, d, scale);
    ak_vec_normalize(d);
}

/* (b) per-system centroids: each system's rows (sys_size of them, in row
 * order) clustered by k-means into ncent centroids, each centroid stored as
 * a 196-byte code; a row is coded as its nearest centroid's number (1 byte)
 * and its residual by eq_code in 191 bytes: 196 bytes a row + the codebook.
 * row is the row being coded (set by main's loop). */
static int ncent = 64, row;
static float *cent;   /* decoded centroids, ncent per system */
static int *assigned; /* a row's centroid */

static int nearest(const float *v, const float *c, int nc)
{
    int best = 0;
    double bs = -INFINITY;
    for (int k = 0; k < nc; k++) {
        const float *ck = c + (size_t)k * AK_DIM;
        double sc = 2.0 * ak_vec_dot_f32(v, ck) - ak_vec_dot_f32(ck, ck);
        if (sc > bs)
            bs = sc, best = k;
    }
    return best;
}

static void kmeans(const float *x, int m, int nc, float *c)
{
    int *a = malloc(sizeof *a * (size_t)m);
    double *sum = malloc(sizeof *sum * AK_DIM * (size_t)nc);
    int *cnt = malloc(sizeof *cnt * (size_t)nc);
    for (int k = 0; k < nc; k++) /* rows are in random order: any nc will do */
        memcpy(c + (size_t)k * AK_DIM, x + (size_t)k * m / nc * AK_DIM, sizeof *c * AK_DIM);
    for (int it = 0; it < 8; it++) {
        memset(sum, 0, sizeof *sum * AK_DIM * (size_t)nc);
        memset(cnt, 0, sizeof *cnt * (size_t)nc);
        for (int i = 0; i < m; i++) {
            a[i] = nearest(x + (size_t)i * AK_DIM, c, nc);
            cnt[a[i]]++;
            for (int j = 0; j < AK_DIM; j++)
                sum[(size_t)a[i] * AK_DIM + j] += x[(size_t)i * AK_DIM + j];
        }
        for (int k = 0; k < nc; k++)
            for (int j = 0; cnt[k] && j < AK_DIM; j++)
                c[(size_t)k * AK_DIM + j] = (float)(sum[(size_t)k * AK_DIM + j] / cnt[k]);
    }
    free(a), free(sum), free(cnt);
}

static void centroids_prep(const float *base, int n)
{
    static int done;
    if (done)
        return;
    done = 1;
    int systems = (n + sys_size - 1) / sys_size;
    cent = malloc(sizeof *cent * AK_DIM * (size_t)ncent * systems);
    assigned = malloc(sizeof *assigned * (size_t)n);
    for (int s = 0; s < systems; s++) {
        int r0 = s * sys_size, m = n - r0 < sys_size ? n - r0 : sys_size, nc = m < ncent ? m : ncent;
        float *c = cent + (size_t)s * ncent * AK_DIM, w[AK_DIM];
        kmeans(base + (size_t)r0 * AK_DIM, m, nc, c);
        for (int k = 0; k < nc; k++) { /* what the codebook stores */
            eq_code(c + (size_t)k * AK_DIM, AK_VCODE_BYTES - 4, w);
            memcpy(c + (size_t)k * AK_DIM, w, sizeof w);
        }
        for (int i = r0; i < r0 + m; i++)
            assigned[i] = nearest(base + (size_t)i * AK_DIM, c, nc);
    }
}

/* The residual coded, the refinement (warm) or not (cold). */
static void residual(const float *v, float *d, int refined)
{
    const float *c = cent + ((size_t)row / sys_size * ncent + assigned[row]) * AK_DIM;
    float r[AK_DIM];
    for (int i = 0; i < AK_DIM; i++)
        r[i] = v[i] - c[i];
    double step = eq_code(r, AK_VCODE_BYTES - 5, d);
    if (refined)
        refine(r, d, step);
    for (int i = 0; i < AK_DIM; i++)
        d[i] += c[i];
    ak_vec_normalize(d);
}
static void residual_cold(const float *v, float *d) { residual(v, d, 0); }
static void residual_warm(const float *v, float *d) { residual(v, d, 1); }

/* (c) a random orthogonal rotation (Gram-Schmidt of a Gaussian matrix)
 * before version 3, undone after decoding. */
static float *rot;

static void rotation_prep(const float *base, int n)
{
    (void)base, (void)n;
    if (rot)
        return;
    uint64_t keep = rng;
    rot = malloc(sizeof *rot * AK_DIM * AK_DIM);
    for (int i = 0; i < AK_DIM; i++) {
        float *r = rot + (size_t)i * AK_DIM;
        for (int j = 0; j < AK_DIM; j++)
            r[j] = (float)gauss();
        for (int k = 0; k < i; k++) {
            float p = ak_vec_dot_f32(r, rot + (size_t)k * AK_DIM);
            for (int j = 0; j < AK_DIM; j++)
                r[j] -= p * rot[(size_t)k * AK_DIM + j];
        }
        ak_vec_normalize(r);
    }
    rng = keep;
}

static void rotated(const float *v, float *d)
{
    float x[AK_DIM], y[AK_DIM];
    for (int i = 0; i < AK_DIM; i++)
        x[i] = ak_vec_dot_f32(rot + (size_t)i * AK_DIM, v);
    vcode(x, y);
    memset(d, 0, sizeof *d * AK_DIM);
    for (int i = 0; i < AK_DIM; i++)
        for (int j = 0; j < AK_DIM; j++)
            d[j] += rot[(size_t)i * AK_DIM + j] * y[i];
    ak_vec_normalize(d);
}

/* Whether name contains one of the comma-separated pieces of only. */
static int wanted(const char *name, const char *only)
{
    char piece[128];
    for (const char *p = only;; p++) {
        size_t len = strcspn(p, ",");
        snprintf(piece, sizeof piece, "%.*s", (int)len, p);
        if (strstr(name, piece))
            return 1;
        if (!p[len])
            return 0;
        p += len;
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50000, nq = argc > 2 ? atoi(argv[2]) : 300;
    const char *only = argc > 3 ? argv[3] : "";
    proj = malloc(sizeof *proj * AK_DIM * LATENT);
    centre = malloc(sizeof *centre * CENTRES * LATENT);
    float *base = malloc(sizeof *base * AK_DIM * (size_t)n), *qs = malloc(sizeof *qs * AK_DIM * nq);
    float *dec = malloc(sizeof *dec * AK_DIM * (size_t)n);
    int *truth = malloc(sizeof *truth * K * nq);
    const char *e;
    if ((e = getenv("COLDCODE_SYSTEM")))
        sys_size = atoi(e) > 0 ? atoi(e) : sys_size;
    if ((e = getenv("COLDCODE_TOPICS")))
        topics = atoi(e) > 0 ? atoi(e) : 0;
    if ((e = getenv("COLDCODE_CENTROIDS")))
        ncent = atoi(e) > 0 ? atoi(e) : ncent;
    eq_init();
    for (int i = 0; i < AK_DIM * LATENT; i++)
        proj[i] = (float)gauss();
    for (int i = 0; i < CENTRES * LATENT; i++)
        centre[i] = (float)gauss();
    for (int i = 0; i < n; i++)
        draw(base + (size_t)i * AK_DIM, i);
    for (int i = 0; i < nq; i++)
        draw(qs + (size_t)i * AK_DIM, -1);
    top_all(base, n, qs, nq, truth);
    static const struct {
        const char *name;
        int bytes;
        codec fn;
        void (*prep)(const float *base, int n);
    } codes[] = {
        {"sign bits (1 bit/dim)", AK_DIM / 8, sign_bits, NULL},
        {"3-bit scalar, max step", AK_DIM * 3 / 8 + 4, three_bit_max, NULL},
        {"4-bit scalar, max step", AK_DIM / 2 + 4, four_bit_max, NULL},
        {"4-bit scalar, 2.5 sigma clip or max (Akosha before)", AK_VCODE_BYTES, four_bit_clip, NULL},
        {"4-bit, 16 Lloyd-Max levels (version 2, Akosha before)", AK_VCODE_BYTES, lloyd_max, NULL},
        {"uniform levels range-coded in 192 bytes, util/vcode (version 3, Akosha)",
         AK_VCODE_BYTES, vcode, NULL},
        {"int8 (the warm tier before schema 8)", AK_DIM + 4, int8, NULL},
        {"5-bit, 32 Lloyd-Max levels, storage/warmcode (the warm tier)", AK_WCODE_BYTES, wcode, NULL},
        {"util/vcode of int8 (cold as aged before schema 8)", AK_VCODE_BYTES, cold_via_int8, NULL},
        {"util/vcode version 3 of the 5-bit code (cold as aged before version 4)", AK_VCODE_BYTES,
         cold_via_wcode, NULL},
        {"util/vcode version 4: the 5-bit code entropy coded (cold as aged now)", AK_VCODE_MAX,
         cold_v4, NULL},
        {"design: eq_code in 192 bytes (checks the count against util/vcode)", AK_VCODE_BYTES,
         eq192, NULL},
        {"design cold: eq_code in 222 bytes", 226, eq222, NULL},
        {"design warm: eq_code in 240 bytes", AK_WCODE_BYTES, eq240, NULL},
        {"design warm (a): util/vcode of the float + 48 B of half-cell bits", AK_WCODE_BYTES,
         v3_refined, NULL},
        {"design cold (b): residual from per-system centroids, + codebook", AK_VCODE_BYTES,
         residual_cold, centroids_prep},
        {"design warm (b): the same + 48 B of half-cell bits, + codebook", AK_WCODE_BYTES,
         residual_warm, centroids_prep},
        {"design cold (c): util/vcode after a random rotation", AK_VCODE_BYTES, rotated,
         rotation_prep},
    };
    printf("%d vectors, %d queries, recall@%d against exact float32 search\n", n, nq, K);
    printf("systems of %d rows, %s; codebooks (b): %d centroids a system at %d B = %.1f B a row\n",
           sys_size, topics ? "each from its own centres" : "any centre", ncent, AK_VCODE_BYTES,
           (double)ncent * AK_VCODE_BYTES / sys_size);
    printf("| code | bytes | recall@10 |\n|---|---:|---:|\n");
    for (size_t c = 0; c < sizeof codes / sizeof *codes; c++) {
        if (!wanted(codes[c].name, only))
            continue;
        if (codes[c].prep)
            codes[c].prep(base, n);
        coded_bytes = 0, raw_codes = 0;
        for (int i = 0; i < n; i++)
            row = i, codes[c].fn(base + (size_t)i * AK_DIM, dec + (size_t)i * AK_DIM);
        int found = 0, *got = malloc(sizeof *got * K * nq);
        top_all(dec, n, qs, nq, got);
        for (int q = 0; q < nq; q++)
            for (int a = 0; a < K; a++)
                for (int b = 0; b < K; b++)
                    found += got[q * K + a] == truth[q * K + b];
        free(got);
        if (coded_bytes > 0) /* a code of varying length: its mean */
            printf("| %s | %.2f (mean; %ld raw) | %.4f |\n", codes[c].name, coded_bytes / n,
                   raw_codes, (double)found / (K * nq));
        else
            printf("| %s | %d | %.4f |\n", codes[c].name, codes[c].bytes, (double)found / (K * nq));
        fflush(stdout);
    }
    return 0;
}
