/*
 * jsonnum.c - see jsonnum.h.
 */
#include "util/jsonnum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define AK_X86 1
#include <immintrin.h>
#endif

/* The decimal is kept in locals while scanning: the fields of a node would
 * have to be stored on every digit, as the compiler must assume the text
 * may alias them. */
typedef ak_jnum decimal;

static int is_digit(const char *p, const char *end) { return p < end && *p >= '0' && *p <= '9'; }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Eight ASCII digits at once (SWAR, after simdjson): embeddings are ~6,500
 * digits a record, and a branch per digit was a third of ingestion time. */
static int eight_digits(const char *p, uint64_t *value)
{
    uint64_t v;
    memcpy(&v, p, 8);
    if (((v & 0xF0F0F0F0F0F0F0F0ULL) |
         (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) != 0x3333333333333333ULL)
        return 0;
    v -= 0x3030303030303030ULL;
    v = v * 10 + (v >> 8);
    v = (((v & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
         (((v >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >> 32;
    *value = v;
    return 1;
}
#else
static int eight_digits(const char *p, uint64_t *value)
{
    (void)p, (void)value;
    return 0; /* big-endian: the digit-by-digit loop below does the work */
}
#endif

/* Append the digits at p to the significand (up to 19 significant digits;
 * further ones only move the decimal exponent when before the point). */
static inline const char *take_digits(const char *p, const char *end, decimal *dec,
                                      int fraction, int *sig)
{
    uint64_t m = dec->digits, eight;
    int32_t e = dec->exp10;
    int n = *sig;
    if (m == 0)
        for (; p < end && *p == '0'; p++)
            e -= fraction; /* leading zero: not significant */
    while (n <= 11 && end - p >= 8 && eight_digits(p, &eight)) {
        m = m * 100000000 + eight;
        e -= 8 * fraction;
        n += 8;
        p += 8;
    }
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (n < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            e -= fraction;
            n++;
        } else {
            e += !fraction;
        }
    }
    dec->digits = m;
    dec->exp10 = e;
    *sig = n;
    return p;
}

/* Scan one number at p, validating the grammar and collecting its decimal
 * value in the same pass.  Returns the end of the number, or NULL with *why
 * set when the text is not a JSON number. */
const char *ak_jnum_scan(const char *p, const char *end, ak_jnum *dec, const char **why)
{
    int sig = 0;
    dec->digits = 0;
    dec->exp10 = 0;
    if (p < end && *p == '-')
        p++;
    if (!is_digit(p, end))
        return *why = "bad number", NULL;
    p = *p == '0' ? p + 1 : take_digits(p, end, dec, 0, &sig);
    if (p < end && *p == '.') {
        if (!is_digit(++p, end))
            return *why = "bad number: digit expected after '.'", NULL;
        p = take_digits(p, end, dec, 1, &sig);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0, e = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (!is_digit(p, end))
            return *why = "bad number: digit expected in exponent", NULL;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (e < 100000)
                e = e * 10 + (*p - '0');
        dec->exp10 += eneg ? -e : e;
    }
    return p;
}

/* strtod on a span that is not NUL-terminated. */
double ak_jnum_strtod(const char *raw, size_t len)
{
    char small[64];
    char *s = small;
    if (len >= sizeof small && !(s = malloc(len + 1)))
        return NAN;
    memcpy(s, raw, len);
    s[len] = '\0';
    double x = strtod(s, NULL);
    if (s != small)
        free(s);
    return x;
}

/* Powers of ten exact in a double, and the correctly rounded reciprocals
 * (multiplying is several times cheaper than dividing). */
static const double pow10_exact[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const double pow10_neg[] = {
    1e0,   1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,  1e-8,  1e-9,  1e-10, 1e-11,
    1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};

/* Embeddings are hundreds of numbers per record and strtod dominates the
 * cost of ingestion.  Here: the up to 19 significant digits parse_number()
 * collected (exact in a uint64), one rounding to double and one multiply by
 * a power of ten; the relative error (< 5e-16) is far below float32's
 * resolution (6e-8), so the float result is the correctly rounded one except
 * within 5e-16 of a float rounding boundary, where it may be one unit off.
 * Large exponents go through strtod. */
static inline float to_float(ak_jnum dec, const char *raw, size_t raw_len)
{
    int neg = raw_len && raw[0] == '-';
    if (dec.digits == 0)
        return neg ? -0.0f : 0.0f;
    if (dec.exp10 < -22 || dec.exp10 > 22)
        return (float)ak_jnum_strtod(raw, raw_len);
    double x = (double)dec.digits;
    x *= dec.exp10 < 0 ? pow10_neg[-dec.exp10] : pow10_exact[dec.exp10];
    return (float)(neg ? -x : x);
}

float ak_jnum_float(ak_jnum dec, const char *raw, size_t raw_len)
{
    return to_float(dec, raw, raw_len);
}

/* ---- arrays: the common number 32 bytes at a time ---- */

#ifdef AK_X86
/* Python writes an embedding's numbers as "-0.0123456789012345" (repr):
 * one digit, a point and up to 17 more.  Scanned a byte at a time they
 * were a sixth of a push's CPU; here one 32-byte vector finds the run of
 * fraction digits and converts it without a branch on its length (after
 * simdjson).  Anything else (an exponent, more integer digits, more than
 * 19 significant digits, the end of the text near) is left to
 * ak_jnum_scan(), so the result is its result. */
#define SIMD_LOOKAHEAD 40 /* sign, digit, point, 32 digits, what follows */

static int simd; /* ak_jnum_use_simd() */

/* The value of t's first n digit values (n <= 16; t holds digits - '0'). */
__attribute__((target("avx2"))) static uint64_t digits_value(__m128i t, int n)
{
    /* right-align them: lanes before the digits index below 0 (high bit
     * set), which the shuffle writes as zeros */
    __m128i at = _mm_add_epi8(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm_set1_epi8((char)(n - 16)));
    __m128i v = _mm_shuffle_epi8(t, at);
    v = _mm_maddubs_epi16(v, _mm_setr_epi8(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1));
    v = _mm_madd_epi16(v, _mm_setr_epi16(100, 1, 100, 1, 100, 1, 100, 1));
    v = _mm_packus_epi32(v, v);
    v = _mm_madd_epi16(v, _mm_setr_epi16(10000, 1, 10000, 1, 10000, 1, 10000, 1));
    return (uint64_t)(uint32_t)_mm_cvtsi128_si32(v) * 100000000u +
           (uint32_t)_mm_extract_epi32(v, 1);
}

static const uint64_t pow10_u64[19] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull};

/* -?D.F+ at p (SIMD_LOOKAHEAD bytes readable) as ak_jnum_scan() reads it:
 * its end, or NULL when it is not that shape (or has more than 19
 * significant digits) and the byte-at-a-time scan must read it. */
__attribute__((target("avx2"))) static const char *common_number(const char *p, decimal *dec)
{
    p += *p == '-';
    unsigned d = (unsigned char)p[0] - '0';
    if (d > 9 || p[1] != '.')
        return NULL;
    const char *f = p + 2;
    __m256i t = _mm256_sub_epi8(_mm256_loadu_si256((const __m256i *)f), _mm256_set1_epi8('0'));
    uint32_t digit = (uint32_t)_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(9)), t));
    uint32_t nought = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(t, _mm256_setzero_si256()));
    if (digit == UINT32_MAX)
        return NULL; /* 32 digits and more */
    int len = __builtin_ctz(~digit);
    int lead = d ? 0 : __builtin_ctz(~nought); /* zeros before the first significant digit */
    if (len == 0 || (d ? len > 18 : len - lead > 19) || f[len] == 'e' || f[len] == 'E')
        return NULL;
    int hi_n = len < 16 ? len : 16, lo_n = len - hi_n;
    uint64_t m = digits_value(_mm256_castsi256_si128(t), hi_n) * pow10_u64[lo_n] +
                 digits_value(_mm256_extracti128_si256(t, 1), lo_n);
    dec->digits = d * pow10_u64[len <= 18 ? len : 0] + m; /* d is 0 when len > 18 */
    dec->exp10 = -len;
    return f + len;
}

__attribute__((constructor)) static void jnum_init(void)
{
    __builtin_cpu_init();
    simd = __builtin_cpu_supports("avx2");
}

int ak_jnum_use_simd(int on)
{
    __builtin_cpu_init();
    simd = on && __builtin_cpu_supports("avx2");
    return simd == on;
}
#else
int ak_jnum_use_simd(int on) { return !on; }
#endif

/* One number at p into *out: its end, or NULL when it is none. */
static const char *number_at(const char *p, const char *end, float *out)
{
    decimal dec;
    const char *why, *q = NULL;
#ifdef AK_X86
    if (simd && end - p >= SIMD_LOOKAHEAD)
        q = common_number(p, &dec);
#endif
    if (!q && (p >= end || (*p != '-' && (*p < '0' || *p > '9')) ||
               !(q = ak_jnum_scan(p, end, &dec, &why))))
        return NULL;
    *out = to_float(dec, p, (size_t)(q - p));
    return q;
}

const char *ak_jnum_floats(const char *p, const char *end, float *out, size_t n)
{
    p++;
    if (n == 0) { /* only "[]" is an array of no numbers */
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            p++;
        return p < end && *p == ']' ? p + 1 : NULL;
    }
    for (size_t i = 0; i < n; i++) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            p++;
        if (!(p = number_at(p, end, &out[i])))
            return NULL;
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            p++;
        if (p >= end || *p != (i + 1 < n ? ',' : ']'))
            return NULL;
        p++;
    }
    return p;
}
