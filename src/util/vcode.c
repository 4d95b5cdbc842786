/* vcode.c - see vcode.h. */
#include "util/vcode.h"

#include <math.h>
#include <string.h>

#include "util/rcoder.h"
#include "util/vcode_tables.h"

/* Version 2 (the step a negative float): 16 non-uniform levels, sign and
 * magnitude, the Lloyd-Max quantizer of a unit Gaussian scaled so the
 * largest is 127 (the int8 form the scan reads is exact).  Decoded only. */
static const int MAG[8] = {6, 18, 31, 44, 58, 75, 96, 127};

/* Version 1 (the step a positive float): values -7..7, x ~= value * step;
 * the unused nibble 8 (damage) reads as -7, in int8 range.  Decoded only. */
#define V1_I8 18 /* 7 * 18 = 126: the int8 form keeps every level exact */

/* ---- version 3: uniform levels, entropy coded ---- */

#define V3_TAG 0x7fc00000u /* a quiet NaN: builds before version 3 refuse the code */
#define V3_TAG_MASK 0xffc00000u
#define V3_STEPS 256 /* step index s: the step is VC3_T0 * 2^(s / 32) rms */
#define V3_PAYLOAD (AK_VCODE_BYTES - 4)

static double v3_t(int s) { return VC3_T0 * exp2(s / 32.0); }

static const uint16_t *v3_table(int s) /* the tables are 16 step indexes apart */
{
    int j = (s + 8) / 16;
    return VC3_FREQ[j < VC3_TABLES ? j : VC3_TABLES - 1];
}

/* Code v at step index s into payload; returns whether it fits, and in
 * *cos the cosine of the decoded code with v (-2: the code is zero). */
static int v3_pack(const float *v, double rms, int s, uint8_t *payload, double *cos)
{
    ak_renc e;
    ak_renc_init(&e, payload, V3_PAYLOAD);
    const uint16_t *f = v3_table(s);
    uint32_t cum[VC3_KMAX + 1] = {0};
    for (int m = 1; m <= VC3_KMAX; m++)
        cum[m] = cum[m - 1] + f[m - 1];
    double inv = 1 / (v3_t(s) * rms), dot = 0, qq = 0;
    for (int i = 0; i < AK_DIM; i++) {
        double x = fabs(v[i]) * inv;
        int m = x >= VC3_KMAX ? VC3_KMAX : (int)lround(x);
        ak_renc_put(&e, cum[m], f[m], VC3_TOT_BITS);
        if (m)
            ak_renc_put(&e, v[i] < 0, 1, 1);
        dot += m * fabs(v[i]), qq += (double)m * m;
    }
    /* zeros after the payload need not be stored: the decoder reads zeros there */
    size_t len = ak_renc_finish(&e);
    *cos = qq > 0 ? dot / sqrt(qq * rms * rms * AK_DIM) : -2;
    return len <= V3_PAYLOAD;
}

int ak_vcode_encode(const float *v, uint8_t code[AK_VCODE_BYTES])
{
    double ss = 0;
    for (int i = 0; i < AK_DIM; i++)
        ss += (double)v[i] * v[i];
    if (!(ss > 0) || !isfinite(ss))
        return 0;
    double rms = sqrt(ss / AK_DIM);
    /* the finest step that fits (the code's size falls as the step grows),
     * then a few coarser ones: a vector whose direction lies in a few large
     * elements may be kept better by a coarser step than by clipping them */
    uint8_t p[V3_PAYLOAD];
    double c;
    int lo = 0, hi = V3_STEPS - 1; /* the coarsest step fits: all zeros */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v3_pack(v, rms, mid, p, &c))
            hi = mid;
        else
            lo = mid + 1;
    }
    static const int more[] = {0, 2, 4, 8, 16, 32, 64, 128};
    double best = -2;
    for (size_t k = 0; k < sizeof more / sizeof *more; k++) {
        int s = lo + more[k];
        if (s < V3_STEPS && v3_pack(v, rms, s, p, &c) && c > best) {
            best = c;
            ak_vcode_head_put(code, V3_TAG | (uint32_t)s);
            memcpy(code + 4, p, sizeof p);
        }
    }
    return best > -2;
}

static void v3_decode(const uint8_t *payload, int s, int8_t q[AK_DIM], float *scale)
{
    ak_rdec d;
    ak_rdec_init(&d, payload, V3_PAYLOAD);
    const uint16_t *f = v3_table(s);
    for (int i = 0; i < AK_DIM; i++) {
        int m = ak_rdec_symbol(&d, f, VC3_KMAX + 1, VC3_TOT_BITS);
        q[i] = (int8_t)(m && ak_rdec_bit(&d) ? -m : m);
    }
    /* x ~= q * t * rms; a unit vector's rms is 1 / sqrt(AK_DIM) */
    *scale = (float)(v3_t(s) / sqrt(AK_DIM));
}

/* ---- version 4: the warm code's 5-bit levels, entropy coded ---- */

#define V4_TAG (V3_TAG | 4u << 8) /* | check << 12 | the table, or V4_RAW */
#define V4_TAG_MASK 0xffc00f00u
#define V4_RAW 0xffu
#define V4_HEAD 4
_Static_assert(VC4_TABLES < (int)V4_RAW, "a table number fits the header's low byte");

void ak_vcode_pack5(const uint8_t lv[AK_DIM], uint8_t out[AK_VCODE_LEVEL_BYTES])
{
    memset(out, 0, AK_VCODE_LEVEL_BYTES);
    for (int i = 0; i < AK_DIM; i++) {
        unsigned bit = (unsigned)i * 5, w = (unsigned)(lv[i] & 31u) << (bit % 8);
        out[bit / 8] |= (uint8_t)w; /* spans at most two bytes */
        if (w >> 8)
            out[bit / 8 + 1] |= (uint8_t)(w >> 8);
    }
}

void ak_vcode_unpack5(const uint8_t in[AK_VCODE_LEVEL_BYTES], uint8_t lv[AK_DIM])
{
    for (int i = 0; i < AK_DIM; i++) {
        unsigned bit = (unsigned)i * 5, at = bit / 8;
        unsigned w = in[at] | (at + 1 < AK_VCODE_LEVEL_BYTES ? (unsigned)in[at + 1] << 8 : 0u);
        lv[i] = (uint8_t)((w >> (bit % 8)) & 31u);
    }
}

void ak_vcode_level_i8(const uint8_t lv[AK_DIM], int8_t q[AK_DIM])
{
    for (int i = 0; i < AK_DIM; i++)
        q[i] = (int8_t)(lv[i] & 16 ? -VC4_MAG[lv[i] & 15] : VC4_MAG[lv[i] & 15]);
}

/* A 10-bit check of the levels (FNV-1a, folded): damage to a code that
 * is already as short as it can be leaves it a valid code of other
 * levels, so only this tells (all but 1 in 1,024 damaged codes). */
static uint32_t v4_check(const uint8_t lv[AK_DIM])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < AK_DIM; i++)
        h = (h ^ lv[i]) * 16777619u;
    return (h ^ h >> 10 ^ h >> 20 ^ h >> 30) & 0x3ffu;
}

/* Code the levels under table t into out (cap bytes); returns the length. */
static size_t v4_pack(const uint8_t lv[AK_DIM], int t, uint8_t *out, size_t cap)
{
    const uint16_t *f = VC4_FREQ[t];
    uint32_t cum[VC4_LEVELS] = {0};
    for (int m = 1; m < VC4_LEVELS; m++)
        cum[m] = cum[m - 1] + f[m - 1];
    ak_renc e;
    ak_renc_init(&e, out, cap);
    for (int i = 0; i < AK_DIM; i++) {
        int m = lv[i] & 15;
        ak_renc_put(&e, cum[m], f[m], VC3_TOT_BITS);
        ak_renc_put(&e, (lv[i] >> 4) & 1u, 1, 1);
    }
    return ak_renc_finish(&e);
}

/* The table that codes the levels shortest, from their histogram: the
 * ideal length under each, whose order the range coder keeps. */
static int v4_table(const uint8_t lv[AK_DIM])
{
    int n[VC4_LEVELS] = {0}, best = 0;
    for (int i = 0; i < AK_DIM; i++)
        n[lv[i] & 15]++;
    double least = INFINITY;
    for (int t = 0; t < VC4_TABLES; t++) {
        double bits = 0;
        for (int m = 0; m < VC4_LEVELS; m++)
            bits += n[m] ? n[m] * (VC3_TOT_BITS - log2(VC4_FREQ[t][m])) : 0;
        if (bits < least)
            least = bits, best = t;
    }
    return best;
}

size_t ak_vcode_from_levels(const uint8_t lv[AK_DIM], uint8_t code[AK_VCODE_MAX])
{
    int t = v4_table(lv);
    size_t n = V4_HEAD + v4_pack(lv, t, code + V4_HEAD, AK_VCODE_MAX - V4_HEAD);
    uint32_t h = V4_TAG | v4_check(lv) << 12 | (uint32_t)t;
    if (n >= AK_VCODE_MAX || n == AK_VCODE_BYTES) { /* no gain, or the length of versions 1-3 */
        h = V4_TAG | v4_check(lv) << 12 | V4_RAW;
        ak_vcode_pack5(lv, code + V4_HEAD);
        n = AK_VCODE_MAX;
    }
    ak_vcode_head_put(code, h);
    return n;
}

int ak_vcode_levels(const void *code, size_t len, uint8_t lv[AK_DIM])
{
    const uint8_t *c = code;
    if (len < V4_HEAD || len > AK_VCODE_MAX || len == AK_VCODE_BYTES)
        return 0;
    uint32_t h = ak_vcode_head_get(c);
    if ((h & V4_TAG_MASK) != V4_TAG)
        return 0;
    if ((h & 0xffu) == V4_RAW) {
        if (len != AK_VCODE_MAX)
            return 0;
        ak_vcode_unpack5(c + V4_HEAD, lv);
        return v4_check(lv) == (h >> 12 & 0x3ffu);
    }
    int t = (int)(h & 0xffu);
    if (t >= VC4_TABLES)
        return 0;
    ak_rdec d;
    ak_rdec_init(&d, c + V4_HEAD, len - V4_HEAD);
    for (int i = 0; i < AK_DIM; i++) {
        int m = ak_rdec_symbol(&d, VC4_FREQ[t], VC4_LEVELS, VC3_TOT_BITS);
        lv[i] = (uint8_t)(m | ak_rdec_bit(&d) << 4);
    }
    /* a cut or damaged code decodes to levels whose code (under its table:
     * integer arithmetic, the same on every machine, unlike the encoder's
     * choice of table) is not it */
    uint8_t again[AK_VCODE_MAX];
    return v4_check(lv) == (h >> 12 & 0x3ffu) &&
           v4_pack(lv, t, again, sizeof again) == len - V4_HEAD &&
           memcmp(again, c + V4_HEAD, len - V4_HEAD) == 0;
}

int ak_vcode_to_i8(const void *code, size_t len, int8_t q[AK_DIM], float *scale)
{
    const uint8_t *c = code;
    uint8_t lv[AK_DIM];
    if (len != AK_VCODE_BYTES) {
        if (!ak_vcode_levels(code, len, lv))
            return 0;
        ak_vcode_level_i8(lv, q);
        double qq = 0; /* the direction alone is kept: the unit-length scale */
        for (int i = 0; i < AK_DIM; i++)
            qq += q[i] * q[i];
        *scale = (float)(1 / sqrt(qq)); /* every level is nonzero */
        return 1;
    }
    uint32_t u = ak_vcode_head_get(c);
    if ((u & V3_TAG_MASK) == V3_TAG) {
        if ((u & ~V3_TAG_MASK) >= V3_STEPS)
            return 0;
        v3_decode(c + 4, (int)(u & ~V3_TAG_MASK), q, scale);
        return 1;
    }
    float step;
    memcpy(&step, &u, 4);
    int v2 = step < 0;
    float unit = v2 ? fabsf(step) : step / V1_I8;
    if (!(unit > 0) || !isfinite(unit)) /* a subnormal v1 step underflows to 0 */
        return 0;
    for (int i = 0; i < AK_DIM; i++) {
        int nib = (c[4 + i / 2] >> (4 * (i & 1))) & 0xf;
        q[i] = (int8_t)(v2 ? (nib & 8 ? -MAG[nib & 7] : MAG[nib & 7])
                           : (nib == 8 ? -7 : nib > 8 ? nib - 16 : nib) * V1_I8);
    }
    *scale = unit;
    return 1;
}
