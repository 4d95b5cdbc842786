/* test_vec.c - vector kernels against plain references, and the int8
 * quantization of SPEC section 6: error bounds and the recall it keeps. */
#include "test.h"

#include <float.h>
#include <math.h>

#include "gen/sample.h"
#include "util/vec.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
}

static void test_kernels_match_reference(void)
{
    printf("vec: kernels %s\n", ak_vec_impl());
    static int8_t a[AK_DIM], b[64 * AK_DIM];
    static float fa[AK_DIM], fb[AK_DIM];
    int32_t out[64];
    for (int t = 0; t < 200; t++) {
        for (int i = 0; i < AK_DIM; i++) {
            a[i] = (int8_t)(frand() * 127);
            fa[i] = frand();
            fb[i] = frand();
        }
        for (int i = 0; i < 64 * AK_DIM; i++)
            b[i] = (int8_t)(t % 2 ? frand() * 127 : (i % 2 ? 127 : -127));
        int n = 1 + t % 64; /* every batch size, odd ones included */
        ak_vec_dots_i8(a, b, (size_t)n, out);
        for (int v = 0; v < n; v++) {
            int32_t ref = 0;
            for (int i = 0; i < AK_DIM; i++)
                ref += a[i] * b[v * AK_DIM + i];
            CHECK_INT(out[v], ref);
        }
        CHECK_INT(ak_vec_dot_i8(a, b), out[0]);
        double fref = 0, mref = 0;
        for (int i = 0; i < AK_DIM; i++) {
            fref += (double)fa[i] * fb[i];
            mref += (double)fa[i] * b[i];
        }
        CHECK(fabs(ak_vec_dot_f32(fa, fb) - fref) < 1e-4);
        CHECK(fabs(ak_vec_dot_f32_i8(fa, b) - mref) < 1e-2);
    }
    /* the extreme int8 case cannot overflow: 384 * 127 * 127 */
    memset(a, 127, sizeof a);
    memset(b, 127, AK_DIM);
    CHECK_INT(ak_vec_dot_i8(a, b), 384 * 127 * 127);
}

static void test_quantize_bounds(void)
{
    float v[AK_DIM], back[AK_DIM], scale;
    int8_t q[AK_DIM];
    for (int t = 0; t < 500; t++) {
        float mag = powf(10.0f, (float)(t % 9) - 4); /* 1e-4 .. 1e4 */
        for (int i = 0; i < AK_DIM; i++)
            v[i] = frand() * mag;
        ak_vec_quantize(v, q, &scale);
        float m = 0;
        for (int i = 0; i < AK_DIM; i++)
            m = fmaxf(m, fabsf(v[i]));
        CHECK(fabsf(scale - m / 127) <= 1e-6f * m);
        ak_vec_dequantize(q, scale, back);
        int at_max = 0;
        for (int i = 0; i < AK_DIM; i++) {
            CHECK(q[i] >= -127 && q[i] <= 127);
            CHECK(fabsf(back[i] - v[i]) <= scale * 0.5f * 1.0001f);
            at_max |= q[i] == 127 || q[i] == -127;
        }
        CHECK(at_max); /* the largest magnitude maps to +-127 */
    }
    memset(v, 0, sizeof v);
    ak_vec_quantize(v, q, &scale);
    CHECK(scale == 0);
    for (int i = 0; i < AK_DIM; i++)
        CHECK(q[i] == 0);
    /* normalize refuses zero and non-finite vectors, and leaves them */
    CHECK_INT(ak_vec_normalize(v), 0);
    v[0] = NAN;
    CHECK_INT(ak_vec_normalize(v), 0);
    v[0] = 3, v[1] = 4;
    CHECK_INT(ak_vec_normalize(v), 1);
    CHECK(fabsf(v[0] - 0.6f) < 1e-6f && fabsf(v[1] - 0.8f) < 1e-6f);
}

/* The quantizer rounds half away from zero, as roundf() does, without
 * calling it: every code equals roundf's, exact halves included (stored
 * warm rows must not change with the implementation). */
static void test_quantize_rounds_as_roundf(void)
{
    float v[AK_DIM], scale;
    int8_t q[AK_DIM];
    for (int t = 0; t < 20000; t++) {
        for (int i = 0; i < AK_DIM; i++) /* k/127 +- half a step: ties and near-ties */
            v[i] = t % 2 ? frand() : (float)((int)(frand() * 127)) / 127.0f + (frand() > 0 ? 0.5f : -0.5f) / 127.0f;
        v[t % AK_DIM] = 1; /* the scale is 1/127 exactly */
        ak_vec_quantize(v, q, &scale);
        for (int i = 0; i < AK_DIM; i++) {
            float r = roundf(v[i] / scale);
            CHECK_INT(q[i], (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r));
        }
    }
    v[1] = NAN; /* a NaN element: passed over by the scale, code 0 */
    ak_vec_quantize(v, q, &scale);
    CHECK(scale > 0);
    CHECK_INT(q[1], 0);
    for (int i = 0; i < AK_DIM; i++) /* so small the scale underflows to 0 */
        v[i] = i % 3 == 0 ? 1e-44f : i % 3 == 1 ? -1e-44f : 0;
    ak_vec_quantize(v, q, &scale);
    CHECK(scale == 0);
    CHECK_INT(q[0], 127);
    CHECK_INT(q[1], -127);
    CHECK_INT(q[2], 0);
}

/* Search over int8 (what warm keeps) against float32 exact search on the
 * same clustered vectors: recall@10 of the int8 ranking alone. */
static void test_int8_recall(void)
{
    enum { N = 5000, Q = 50, K = 10 };
    static float f[N][AK_DIM];
    static int8_t q8[N][AK_DIM];
    static float scale[N];
    for (int i = 0; i < N; i++) {
        ak_gen_embedding(3, (unsigned)i % 50, (unsigned)i, 0, f[i]);
        ak_vec_normalize(f[i]);
        ak_vec_quantize(f[i], q8[i], &scale[i]);
    }
    int hits = 0;
    for (int t = 0; t < Q; t++) {
        float qv[AK_DIM];
        ak_gen_embedding(4, (unsigned)t, (unsigned)t, 1, qv);
        ak_vec_normalize(qv);
        int best_f[K], best_q[K];
        double sf[K], sq[K];
        for (int k = 0; k < K; k++)
            sf[k] = sq[k] = -9, best_f[k] = best_q[k] = -1;
        for (int i = 0; i < N; i++) {
            double a = ak_vec_dot_f32(qv, f[i]), b = ak_vec_dot_f32_i8(qv, q8[i]) * scale[i];
            for (int pass = 0; pass < 2; pass++) {
                double *s = pass ? sq : sf, x = pass ? b : a;
                int *id = pass ? best_q : best_f;
                if (x <= s[K - 1])
                    continue;
                int p = K - 1;
                while (p > 0 && s[p - 1] < x)
                    s[p] = s[p - 1], id[p] = id[p - 1], p--;
                s[p] = x, id[p] = i;
            }
        }
        for (int k = 0; k < K; k++)
            for (int j = 0; j < K; j++)
                hits += best_f[k] == best_q[j];
    }
    double recall = hits / (double)(Q * K);
    printf("vec: recall@10 of int8 against float32 exact search: %.4f (%d vectors, %d queries)\n",
           recall, N, Q);
    CHECK(recall >= 0.95);
}

/* Issue 20: 384 x 1e-45 (subnormal, not zero) normalized to Inf, and
 * every score became NaN.  A norm that underflows float has no direction;
 * a tiny but normal one still normalizes to a finite unit vector. */
static void test_normalize_tiny(void)
{
    float v[AK_DIM];
    for (int i = 0; i < AK_DIM; i++)
        v[i] = 1e-45f;
    CHECK(v[0] > 0); /* subnormal, not flushed */
    CHECK_INT(ak_vec_has_direction(v), 0);
    CHECK_INT(ak_vec_normalize(v), 0);
    CHECK(v[0] == 1e-45f); /* untouched */
    for (int i = 0; i < AK_DIM; i++)
        v[i] = i % 2 ? 1e-37f : -1e-37f;
    CHECK_INT(ak_vec_normalize(v), 1);
    double n = 0;
    for (int i = 0; i < AK_DIM; i++) {
        CHECK(isfinite(v[i]));
        n += (double)v[i] * v[i];
    }
    CHECK(fabs(n - 1) < 1e-5);
    v[0] = FLT_MAX, v[1] = FLT_MAX; /* the norm overflows float, not double */
    CHECK_INT(ak_vec_normalize(v), 1);
    CHECK(isfinite(v[0]) && fabsf(v[0] - 0.70710678f) < 1e-5f);
}

/* The stored float32 form: little-endian bytes whatever the host, and the
 * decoder inverts the encoder bit for bit (negative zero, NaN payloads). */
static void test_le_form(void)
{
    float v[AK_DIM], back[AK_DIM];
    for (int i = 0; i < AK_DIM; i++)
        v[i] = (float)(i - 192) / 7.0f;
    v[0] = 1.0f;
    v[1] = -0.0f;
    uint32_t nan_bits = 0x7fc01234u;
    memcpy(&v[2], &nan_bits, 4);
    unsigned char le[AK_VEC_LE_BYTES];
    ak_vec_to_le(v, le);
    CHECK_INT(le[0], 0x00); /* 1.0f = 0x3f800000 */
    CHECK_INT(le[1], 0x00);
    CHECK_INT(le[2], 0x80);
    CHECK_INT(le[3], 0x3f);
    CHECK_INT(le[7], 0x80); /* -0.0f: sign bit in the last byte */
    ak_vec_from_le(le, back);
    CHECK_INT(memcmp(v, back, sizeof v), 0);
}

int main(void)
{
    static const char *const impls[] = {"portable", "avx2", "avx512"};
    for (int i = 0; i < 3; i++)
        if (ak_vec_use(impls[i]))
            RUN(test_kernels_match_reference);
    if (!ak_vec_use("avx512"))
        ak_vec_use("avx2");
    RUN(test_quantize_bounds);
    RUN(test_quantize_rounds_as_roundf);
    RUN(test_int8_recall);
    RUN(test_normalize_tiny);
    RUN(test_le_form);
    return test_report("vec");
}
