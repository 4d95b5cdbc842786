/* vcode.c - see vcode.h. */
#include "util/vcode.h"

#include <math.h>
#include <string.h>

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
#define SIGN_BITS 1 /* a sign takes half the interval */

static double v3_t(int s) { return VC3_T0 * exp2(s / 32.0); }

static const uint16_t *v3_table(int s) /* the tables are 16 step indexes apart */
{
    int j = (s + 8) / 16;
    return VC3_FREQ[j < VC3_TABLES ? j : VC3_TABLES - 1];
}

/* LZMA's range coder: a 32-bit range, carries propagated into the bytes
 * already written.  Its first byte is always 0 and is not stored; bytes
 * past `cap` are counted, not stored. */
typedef struct {
    uint64_t low;
    uint32_t range, cache_n;
    uint8_t cache, *out;
    int first;
    size_t n, last, cap; /* bytes written; one past the last nonzero one */
} renc;

static void renc_byte(renc *e, uint8_t b)
{
    if (e->first) {
        e->first = 0;
        return;
    }
    if (e->n < e->cap)
        e->out[e->n] = b;
    e->n++;
    if (b)
        e->last = e->n;
}

static void renc_shift(renc *e)
{
    if ((uint32_t)e->low < 0xff000000u || (e->low >> 32) != 0) {
        uint8_t carry = (uint8_t)(e->low >> 32), b = e->cache;
        do {
            renc_byte(e, (uint8_t)(b + carry));
            b = 0xff;
        } while (--e->cache_n);
        e->cache = (uint8_t)(e->low >> 24);
    }
    e->cache_n++;
    e->low = (e->low & 0x00ffffffu) << 8;
}

static void renc_put(renc *e, uint32_t start, uint32_t size, int bits)
{
    uint32_t r = e->range >> bits;
    e->low += (uint64_t)r * start;
    e->range = r * size;
    while (e->range < (1u << 24)) {
        e->range <<= 8;
        renc_shift(e);
    }
}

typedef struct {
    uint32_t range, code;
    const uint8_t *in;
    size_t n, pos;
} rdec;

static void rdec_norm(rdec *d)
{
    while (d->range < (1u << 24)) {
        d->range <<= 8;
        d->code = d->code << 8 | (d->pos < d->n ? d->in[d->pos++] : 0); /* zeros past the end */
    }
}

/* A magnitude under table f: the m with r * cum[m] <= code < r * cum[m + 1]
 * (code / r compared with cum, without the division: r * cum never exceeds
 * the range, so no product overflows).  Damaged input decodes to some
 * magnitude, never more than VC3_KMAX: the arithmetic is unsigned and the
 * range stays >= 2^24. */
static int rdec_mag(rdec *d, const uint16_t *f)
{
    uint32_t r = d->range >> VC3_TOT_BITS, low = 0, next = r * f[0];
    int m = 0;
    while (m < VC3_KMAX && next <= d->code) {
        low = next;
        next += r * f[++m];
    }
    d->code -= low;
    d->range = r * f[m];
    rdec_norm(d);
    return m;
}

static int rdec_sign(rdec *d)
{
    uint32_t r = d->range >> SIGN_BITS, neg = d->code >= r;
    d->code -= neg ? r : 0;
    d->range = r;
    rdec_norm(d);
    return (int)neg;
}

/* Code v at step index s into payload; returns whether it fits, and in
 * *cos the cosine of the decoded code with v (-2: the code is zero). */
static int v3_pack(const float *v, double rms, int s, uint8_t *payload, double *cos)
{
    renc e = {.range = 0xffffffffu, .cache_n = 1, .first = 1, .cap = V3_PAYLOAD, .out = payload};
    const uint16_t *f = v3_table(s);
    uint32_t cum[VC3_KMAX + 1] = {0};
    for (int m = 1; m <= VC3_KMAX; m++)
        cum[m] = cum[m - 1] + f[m - 1];
    double inv = 1 / (v3_t(s) * rms), dot = 0, qq = 0;
    memset(payload, 0, V3_PAYLOAD);
    for (int i = 0; i < AK_DIM; i++) {
        double x = fabs(v[i]) * inv;
        int m = x >= VC3_KMAX ? VC3_KMAX : (int)lround(x);
        renc_put(&e, cum[m], f[m], VC3_TOT_BITS);
        if (m)
            renc_put(&e, v[i] < 0, 1, SIGN_BITS);
        dot += m * fabs(v[i]), qq += (double)m * m;
    }
    for (int k = 0; k < 5; k++) /* flush */
        renc_shift(&e);
    /* zeros after the payload need not be stored: the decoder reads zeros there */
    *cos = qq > 0 ? dot / sqrt(qq * rms * rms * AK_DIM) : -2;
    return e.last <= V3_PAYLOAD;
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
            uint32_t h = V3_TAG | (uint32_t)s;
            for (int b = 0; b < 4; b++)
                code[b] = (uint8_t)(h >> (8 * b));
            memcpy(code + 4, p, sizeof p);
        }
    }
    return best > -2;
}

static void v3_decode(const uint8_t *payload, int s, int8_t q[AK_DIM], float *scale)
{
    rdec d = {.range = 0xffffffffu, .in = payload, .n = V3_PAYLOAD};
    for (int b = 0; b < 4; b++)
        d.code = d.code << 8 | d.in[d.pos++];
    const uint16_t *f = v3_table(s);
    for (int i = 0; i < AK_DIM; i++) {
        int m = rdec_mag(&d, f);
        q[i] = (int8_t)(m && rdec_sign(&d) ? -m : m);
    }
    /* x ~= q * t * rms; a unit vector's rms is 1 / sqrt(AK_DIM) */
    *scale = (float)(v3_t(s) / sqrt(AK_DIM));
}

int ak_vcode_to_i8(const void *code, size_t len, int8_t q[AK_DIM], float *scale)
{
    const uint8_t *c = code;
    if (len != AK_VCODE_BYTES)
        return 0;
    uint32_t u = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
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
