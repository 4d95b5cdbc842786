/*
 * vec.c - see vec.h.
 *
 * The kernels that scans run millions of times come in three builds: AVX-512
 * (BW), AVX2+FMA and portable C; ak_vec_init() picks the best the CPU has,
 * once, before main().  The portable versions keep 16 independent partial
 * sums so that a compiler may still vectorize them (it may not reorder a
 * single floating-point sum).  Sign-extending int8 to int16 and using
 * multiply-add on pairs (vpmaddwd) is exact: 384 products of at most
 * 127 * 127 cannot overflow int32.
 */
#include "util/vec.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define AK_X86 1
#endif

#define LANES 16
/* bytes ahead of the scan to prefetch: 16 vectors */
#define PREFETCH_AHEAD (16 * AK_DIM)

/* ---- portable ---- */

static float dot_f32_c(const float *a, const float *b)
{
    float acc[LANES] = {0};
    for (int i = 0; i < AK_DIM; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = 0;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

static int32_t dot_i8_c(const int8_t *a, const int8_t *b)
{
    int32_t acc[LANES] = {0};
    for (int i = 0; i < AK_DIM; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += (int16_t)a[i + j] * (int16_t)b[i + j];
    int32_t s = 0;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

static void dots_i8_c(const int8_t *q, const int8_t *v, size_t n, int32_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = dot_i8_c(q, v + i * AK_DIM);
}

/* ---- AVX2 ---- */

#ifdef AK_X86
__attribute__((target("avx2,fma"))) static float dot_f32_avx2(const float *a, const float *b)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int i = 0; i < AK_DIM; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

__attribute__((target("avx2"))) static int32_t hsum_epi32_avx2(__m256i v)
{
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
    return _mm_cvtsi128_si32(h);
}

/* The query is widened to int16 once per scan, not once per vector. */
__attribute__((target("avx2"))) static void dots_i8_avx2(const int8_t *q, const int8_t *v,
                                                         size_t n, int32_t *out)
{
    __m256i qw[AK_DIM / 16];
    for (int k = 0; k < AK_DIM / 16; k++)
        qw[k] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + 16 * k)));
    for (size_t i = 0; i < n; i++) {
        const int8_t *x = v + i * AK_DIM;
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        for (int k = 0; k < AK_DIM / 16; k += 2) {
            __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 16 * k)));
            __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 16 * k + 16)));
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(qw[k], x0));
            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(qw[k + 1], x1));
        }
        out[i] = hsum_epi32_avx2(_mm256_add_epi32(s0, s1));
    }
}

__attribute__((target("avx2"))) static int32_t dot_i8_avx2(const int8_t *a, const int8_t *b)
{
    int32_t r;
    dots_i8_avx2(a, b, 1, &r);
    return r;
}

/* ---- AVX-512 ---- */

__attribute__((target("avx512f,avx512bw"))) static float dot_f32_avx512(const float *a,
                                                                        const float *b)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    for (int i = 0; i < AK_DIM; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* Four vectors per step: their loads overlap in the memory system and the
 * horizontal sums at the end of each vector no longer stall the next. */
__attribute__((target("avx512f,avx512bw"))) static void dots_i8_avx512(const int8_t *q,
                                                                       const int8_t *v,
                                                                       size_t n, int32_t *out)
{
    __m512i qw[AK_DIM / 32];
    for (int k = 0; k < AK_DIM / 32; k++)
        qw[k] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(q + 32 * k)));
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int8_t *x = v + i * AK_DIM;
        /* the hardware prefetcher alone left this loop waiting on memory */
        for (int l = 0; l < 4 * AK_DIM; l += 64)
            _mm_prefetch((const char *)x + PREFETCH_AHEAD + l, _MM_HINT_T0);
        __m512i s[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                        _mm512_setzero_si512()};
        for (int k = 0; k < AK_DIM / 32; k++)
            for (int r = 0; r < 4; r++) {
                __m256i b = _mm256_loadu_si256((const __m256i *)(x + r * AK_DIM + 32 * k));
                s[r] = _mm512_add_epi32(s[r], _mm512_madd_epi16(qw[k], _mm512_cvtepi8_epi16(b)));
            }
        for (int r = 0; r < 4; r++)
            out[i + r] = _mm512_reduce_add_epi32(s[r]);
    }
    for (; i < n; i++) {
        const int8_t *x = v + i * AK_DIM;
        __m512i s0 = _mm512_setzero_si512();
        for (int k = 0; k < AK_DIM / 32; k++)
            s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(
                qw[k], _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(x + 32 * k)))));
        out[i] = _mm512_reduce_add_epi32(s0);
    }
}

__attribute__((target("avx512f,avx512bw"))) static int32_t dot_i8_avx512(const int8_t *a,
                                                                         const int8_t *b)
{
    int32_t r;
    dots_i8_avx512(a, b, 1, &r);
    return r;
}
#endif

/* ---- dispatch ---- */

static float (*dot_f32_impl)(const float *, const float *) = dot_f32_c;
static int32_t (*dot_i8_impl)(const int8_t *, const int8_t *) = dot_i8_c;
static void (*dots_i8_impl)(const int8_t *, const int8_t *, size_t, int32_t *) = dots_i8_c;
static const char *impl_name = "portable";

typedef struct {
    const char *name;
    float (*dot_f32)(const float *, const float *);
    int32_t (*dot_i8)(const int8_t *, const int8_t *);
    void (*dots_i8)(const int8_t *, const int8_t *, size_t, int32_t *);
} kernels;

static const kernels impls[] = {
    {"portable", dot_f32_c, dot_i8_c, dots_i8_c},
#ifdef AK_X86
    {"avx2", dot_f32_avx2, dot_i8_avx2, dots_i8_avx2},
    {"avx512", dot_f32_avx512, dot_i8_avx512, dots_i8_avx512},
#endif
};

static int cpu_has(const char *name)
{
#ifdef AK_X86
    __builtin_cpu_init();
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return strcmp(name, "portable") == 0;
}

int ak_vec_use(const char *name)
{
    for (size_t i = 0; i < sizeof impls / sizeof *impls; i++)
        if (strcmp(impls[i].name, name) == 0 && cpu_has(name)) {
            dot_f32_impl = impls[i].dot_f32;
            dot_i8_impl = impls[i].dot_i8;
            dots_i8_impl = impls[i].dots_i8;
            impl_name = impls[i].name;
            return 1;
        }
    return 0;
}

__attribute__((constructor)) static void ak_vec_init(void)
{
    if (!ak_vec_use("avx512") && !ak_vec_use("avx2"))
        ak_vec_use("portable");
}

const char *ak_vec_impl(void) { return impl_name; }
float ak_vec_dot_f32(const float *a, const float *b) { return dot_f32_impl(a, b); }
int32_t ak_vec_dot_i8(const int8_t *a, const int8_t *b) { return dot_i8_impl(a, b); }

void ak_vec_dots_i8(const int8_t *query, const int8_t *vecs, size_t n, int32_t *out)
{
    dots_i8_impl(query, vecs, n, out);
}

float ak_vec_dot_f32_i8(const float *a, const int8_t *b)
{
    float acc[LANES] = {0};
    for (int i = 0; i < AK_DIM; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += a[i + j] * (float)b[i + j];
    float s = 0;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    return s;
}

/* The squared norm in double (exact enough, and no float overflow or
 * underflow on the way), or -1 when an element is not finite. */
static double norm2(const float *v)
{
    double n = 0;
    for (int i = 0; i < AK_DIM; i++) {
        if (!isfinite(v[i]))
            return -1;
        n += (double)v[i] * v[i];
    }
    return n;
}

/* A norm below the smallest normal float has no trustworthy direction
 * (its elements are subnormal, a few bits each), and 1/norm would
 * overflow float: such a vector counts as zero. */
static int has_direction(double n2) { return n2 > 0 && sqrt(n2) >= FLT_MIN; }

int ak_vec_has_direction(const float *v) { return has_direction(norm2(v)); }

int ak_vec_normalize(float *v)
{
    double n2 = norm2(v);
    if (!has_direction(n2))
        return 0;
    double inv = 1.0 / sqrt(n2); /* double: finite for any norm >= FLT_MIN */
    for (int i = 0; i < AK_DIM; i++)
        v[i] = (float)(v[i] * inv);
    return 1;
}

#ifdef AK_X86
/* code_of(v[i] / s) for 16 elements at a time, in SSE2 (every x86-64 has
 * it): the same division, truncation and half-away rounding, the clamp and
 * the NaN rule as masks.  Quantizing is on a push's path once per memory,
 * and the branches of code_of() kept the compiler from vectorizing it. */
static __m128i codes4_sse2(const float *v, __m128 s)
{
    const __m128 x = _mm_div_ps(_mm_loadu_ps(v), s);
    const __m128 above = _mm_cmpgt_ps(x, _mm_set1_ps(-127.5f)); /* false for NaN */
    const __m128 below = _mm_cmplt_ps(x, _mm_set1_ps(127.5f));  /* false for NaN */
    const __m128 inside = _mm_and_ps(above, below);
    const __m128 xi = _mm_and_ps(x, inside); /* 0 outside: a safe conversion */
    __m128i t = _mm_cvttps_epi32(xi);
    const __m128 d = _mm_sub_ps(xi, _mm_cvtepi32_ps(t));
    t = _mm_sub_epi32(t, _mm_castps_si128(_mm_cmpge_ps(d, _mm_set1_ps(0.5f))));  /* +1 */
    t = _mm_add_epi32(t, _mm_castps_si128(_mm_cmple_ps(d, _mm_set1_ps(-0.5f)))); /* -1 */
    t = _mm_and_si128(t, _mm_castps_si128(inside));
    const __m128 low = _mm_andnot_ps(above, _mm_cmplt_ps(x, _mm_setzero_ps())); /* -127 */
    const __m128 high = _mm_andnot_ps(below, above);                             /* 127 */
    t = _mm_or_si128(t, _mm_and_si128(_mm_castps_si128(low), _mm_set1_epi32(-127)));
    return _mm_or_si128(t, _mm_and_si128(_mm_castps_si128(high), _mm_set1_epi32(127)));
}

static void codes_of(const float *v, float s, int8_t *q)
{
    const __m128 vs = _mm_set1_ps(s);
    for (int i = 0; i < AK_DIM; i += 16) {
        __m128i lo = _mm_packs_epi32(codes4_sse2(v + i, vs), codes4_sse2(v + i + 4, vs));
        __m128i hi = _mm_packs_epi32(codes4_sse2(v + i + 8, vs), codes4_sse2(v + i + 12, vs));
        _mm_storeu_si128((__m128i *)(q + i), _mm_packs_epi16(lo, hi));
    }
}

/* max |v[i]| passing over NaN: maxps gives its second operand when the
 * comparison fails, as the scalar `a > m ? a : m` does. */
static float max_abs(const float *v)
{
    const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    __m128 m = _mm_setzero_ps();
    for (int i = 0; i < AK_DIM; i += 4)
        m = _mm_max_ps(_mm_and_ps(_mm_loadu_ps(v + i), abs_mask), m);
    float lane[4];
    _mm_storeu_ps(lane, m);
    float r = 0;
    for (int i = 0; i < 4; i++)
        r = lane[i] > r ? lane[i] : r;
    return r;
}
#else
/* One int8 code: roundf() (half away from zero) clamped to [-127, 127],
 * without a libm call.  Inside the clamp the truncation is exact and so is
 * x - t; outside it (and for NaN or infinities, as a scale that underflowed
 * to 0 gives) no float reaches an int conversion. */
static int8_t code_of(float x)
{
    if (!(x > -127.5f))
        return (int8_t)(x < 0 ? -127 : 0); /* NaN: 0 */
    if (!(x < 127.5f))
        return 127;
    int t = (int)x;
    float d = x - (float)t;
    return (int8_t)(d >= 0.5f ? t + 1 : d <= -0.5f ? t - 1 : t);
}

static void codes_of(const float *v, float s, int8_t *q)
{
    for (int i = 0; i < AK_DIM; i++)
        q[i] = code_of(v[i] / s);
}

static float max_abs(const float *v)
{
    float m = 0;
    for (int i = 0; i < AK_DIM; i++) { /* fmaxf's rule: a NaN element is passed over */
        float a = fabsf(v[i]);
        m = a > m ? a : m;
    }
    return m;
}
#endif

void ak_vec_quantize(const float *v, int8_t *q, float *scale)
{
    float m = max_abs(v);
    if (m == 0 || !isfinite(m)) {
        memset(q, 0, AK_DIM);
        *scale = 0;
        return;
    }
    float s = m / 127.0f; /* a local: stores through q (int8_t) may alias *scale */
    *scale = s;
    codes_of(v, s, q);
}

void ak_vec_dequantize(const int8_t *q, float scale, float *out)
{
    for (int i = 0; i < AK_DIM; i++)
        out[i] = (float)q[i] * scale;
}

void ak_vec_to_le(const float *v, unsigned char *out)
{
    for (int i = 0; i < AK_DIM; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        out[4 * i] = (unsigned char)u;
        out[4 * i + 1] = (unsigned char)(u >> 8);
        out[4 * i + 2] = (unsigned char)(u >> 16);
        out[4 * i + 3] = (unsigned char)(u >> 24);
    }
}

void ak_vec_from_le(const void *in, float *out)
{
    const unsigned char *b = in;
    for (int i = 0; i < AK_DIM; i++) {
        uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                     (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
        memcpy(&out[i], &u, 4);
    }
}
