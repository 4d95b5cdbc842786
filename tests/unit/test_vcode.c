/* test_vcode.c - the cold tier's vector code (util/vcode.c): version 4
 * keeps a warm code's values exactly, every version ever written still
 * decodes as it did, and damaged codes are refused or decode into the int8
 * range the scan takes. */
#include "test.h"
#include "../tools/vec_test.h"

#include <math.h>

#include "storage/warmcode.h"
#include "util/vcode.h"

static void decode(const uint8_t *code, float *out)
{
    int8_t q[AK_DIM];
    float scale = 0;
    CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    ak_vec_dequantize(q, scale, out);
}

static void set_header(uint8_t *code, uint32_t h)
{
    for (int b = 0; b < 4; b++)
        code[b] = (uint8_t)(h >> (8 * b));
}

/* The code keeps a vector's direction: random and spiky vectors, at any
 * scale, decode to a cosine near 1. */
static void test_vcode_roundtrip(void)
{
    uint8_t code[AK_VCODE_BYTES];
    float v[AK_DIM], back[AK_DIM];
    double worst = 1;
    for (int t = 0; t < 200; t++) {
        random_vec(v);
        if (t % 3 == 1)
            v[t % AK_DIM] *= 8; /* an outlier element, as real embeddings have */
        float mul = t % 5 == 0 ? 1e-20f : t % 5 == 1 ? 1e20f : 1;
        for (int i = 0; i < AK_DIM; i++)
            v[i] *= mul;
        CHECK(ak_vcode_encode(v, code));
        decode(code, back);
        double c = cosine(v, back);
        worst = c < worst ? c : worst;
    }
    if (!(worst > 0.98))
        fprintf(stderr, "worst cosine %f\n", worst);
    CHECK(worst > 0.98);
}

/* Vectors far from Gaussian elements still get a code that keeps them:
 * one element, two, all of one magnitude, the smallest floats. */
static void test_vcode_odd_vectors(void)
{
    uint8_t code[AK_VCODE_BYTES];
    float v[AK_DIM], back[AK_DIM];
    for (int kind = 0; kind < 5; kind++) {
        for (int i = 0; i < AK_DIM; i++)
            v[i] = kind == 2 ? (i % 3 ? 1.0f : -1.0f) : kind == 4 ? 1e-45f * (float)(i % 7) : 0;
        if (kind == 0)
            v[17] = -3;
        if (kind == 1)
            v[0] = 1, v[383] = 0.5f;
        if (kind == 3)
            v[5] = 1e38f, v[6] = -1e38f, v[7] = 3e37f;
        CHECK(ak_vcode_encode(v, code));
        decode(code, back);
        if (!(cosine(v, back) > 0.98))
            fprintf(stderr, "kind %d: cosine %f\n", kind, cosine(v, back));
        CHECK(cosine(v, back) > 0.98);
    }
}

/* No code for vectors without a direction; no int8 form of a damaged code. */
static void test_vcode_rejects(void)
{
    uint8_t code[AK_VCODE_BYTES];
    float v[AK_DIM] = {0};
    int8_t q[AK_DIM];
    float scale;
    CHECK(!ak_vcode_encode(v, code));
    v[7] = NAN;
    CHECK(!ak_vcode_encode(v, code));
    v[7] = INFINITY;
    CHECK(!ak_vcode_encode(v, code));
    random_vec(v);
    CHECK(ak_vcode_encode(v, code));
    CHECK(!ak_vcode_to_i8(code, AK_VCODE_BYTES - 1, q, &scale));
    CHECK(!ak_vcode_to_i8(code, AK_DIM, q, &scale));
    /* float steps 0, -0, too small, +-infinity; NaNs other than version 3's tag; a
     * version 3 step index out of range */
    static const uint32_t bad[] = {0, 0x80000000u, 1 /* a subnormal v1 step: scale 0 */, 0x7f800000u, 0xff800000u,
                                   0xffc00000u, 0x7f800001u, 0x7fc00100u, 0x7fffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        set_header(code, bad[i]);
        CHECK(!ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    }
    /* any bytes after a good header decode into the int8 range the scan
     * expects, in every version */
    static const uint32_t good[] = {0x3e800000u /* 0.25 */, 0xbe800000u /* -0.25 */,
                                    0x7fc00000u, 0x7fc00050u, 0x7fc000ffu};
    for (int t = 0; t < 300; t++) {
        for (int i = 4; i < AK_VCODE_BYTES; i++)
            code[i] = (uint8_t)(t % 3 == 0 ? 0xff : uniform() * 256);
        set_header(code, good[t % 5]);
        CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
        CHECK(scale > 0 && isfinite(scale));
        for (int i = 0; i < AK_DIM; i++)
            CHECK(q[i] >= -127 && q[i] <= 127);
    }
}

/* Codes of version 1 (a positive step, values -7..7) still decode as they
 * did: x = value * step. */
static void test_vcode_v1(void)
{
    uint8_t code[AK_VCODE_BYTES] = {0};
    float scale = 0;
    int8_t q[AK_DIM];
    set_header(code, 0x3e800000u); /* 0.25 */
    code[4] = 0x93;                /* element 0: 3, element 1: -7 */
    code[5] = 0x08;                /* element 2: nibble 8, never written: reads as -7 */
    CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    CHECK(q[0] * scale == 0.75f);
    CHECK(q[1] * scale == -1.75f);
    CHECK(q[2] * scale == -1.75f);
    CHECK(q[3] == 0 && q[AK_DIM - 1] == 0);
}

/* Codes of version 2 (a negative step, each nibble a sign bit and one of 8
 * Lloyd-Max magnitudes) still decode as they did: x = level * |step|. */
static void test_vcode_v2(void)
{
    uint8_t code[AK_VCODE_BYTES] = {0};
    float scale = 0;
    int8_t q[AK_DIM];
    set_header(code, 0xbf000000u); /* -0.5 */
    code[4] = 0xf1;                /* element 0: +level 1, element 1: -level 7 */
    code[5] = 0x84;                /* element 2: +level 4, element 3: -level 0 */
    CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    CHECK(scale == 0.5f);
    CHECK(q[0] == 18 && q[1] == -127 && q[2] == 58 && q[3] == -6);
    CHECK(q[4] == 6 && q[AK_DIM - 1] == 6);
}

/* Version 3 (written now): a NaN-tagged step index, then range-coded
 * magnitudes and signs; small integers in int8, signs those of the vector,
 * and a scale that gives a unit vector about unit length back. */
static void test_vcode_v3(void)
{
    uint8_t code[AK_VCODE_BYTES];
    float v[AK_DIM], back[AK_DIM];
    int8_t q[AK_DIM];
    float scale;
    random_vec(v);
    ak_vec_normalize(v);
    CHECK(ak_vcode_encode(v, code));
    uint32_t h = (uint32_t)code[0] | (uint32_t)code[1] << 8 | (uint32_t)code[2] << 16 |
                 (uint32_t)code[3] << 24;
    CHECK((h & 0xffc00000u) == 0x7fc00000u && (h & 0x3fffffu) < 256);
    CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    int nonzero = 0;
    for (int i = 0; i < AK_DIM; i++) {
        CHECK(q[i] >= -40 && q[i] <= 40);
        CHECK(q[i] == 0 || (q[i] < 0) == (v[i] < 0));
        nonzero += q[i] != 0;
    }
    CHECK(nonzero > AK_DIM * 3 / 4);
    ak_vec_dequantize(q, scale, back);
    double n = sqrt(ak_vec_dot_f32(back, back));
    CHECK(n > 0.9 && n < 1.1);
    CHECK(cosine(v, back) > 0.99);
}

/* The stored format does not drift: a fixed version 3 code decodes to the
 * values it decoded to when the format was made (a change to the tables in
 * util/vcode_tables.h or to the range decoder breaks this). */
static void test_vcode_v3_golden(void)
{
    uint8_t code[AK_VCODE_BYTES] = {0};
    int8_t q[AK_DIM];
    float scale;
    set_header(code, 0x7fc00000u | 40);
    for (int i = 4; i < AK_VCODE_BYTES; i++)
        code[i] = (uint8_t)(i * 37 + 11);
    CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    long sum = 0, weighted = 0;
    for (int i = 0; i < AK_DIM; i++)
        sum += q[i], weighted += (long)q[i] * (i + 1);
    CHECK(q[0] == 2 && q[1] == 2 && q[2] == 3 && q[AK_DIM - 1] == 1);
    CHECK(sum == 51 && weighted == 6617);
    CHECK(fabsf(scale - 0.0214830115f) < 1e-6f); /* 0.177 * 2^(40/32) / sqrt(384) */
}

/* ---- version 4 ---- */

static void gauss_vec(float *v) /* an embedding's elements are near Gaussian */
{
    for (int i = 0; i < AK_DIM; i++)
        v[i] = (float)(sqrt(-2 * log(1 - uniform())) * cos(6.283185307179586 * uniform()));
}

static uint32_t header(const uint8_t *code)
{
    return (uint32_t)code[0] | (uint32_t)code[1] << 8 | (uint32_t)code[2] << 16 |
           (uint32_t)code[3] << 24;
}

/* The warm code's levels come back exactly from its cold code, through
 * ak_vcode_levels and through the int8 form the scan reads (the warm
 * code's values, at a scale that makes a unit vector).  Returns the length. */
static size_t v4_exact(const uint8_t *wcode)
{
    uint8_t code[AK_VCODE_MAX], lv[AK_DIM], packed[AK_VCODE_LEVEL_BYTES];
    int8_t q[AK_DIM], qw[AK_DIM];
    float scale, unit;
    size_t len = ak_wcode_to_vcode(wcode, AK_WCODE_BYTES, code);
    CHECK(len >= AK_VCODE_MIN && len <= AK_VCODE_MAX && len != AK_VCODE_BYTES);
    CHECK((header(code) & 0xffc00f00u) == 0x7fc00400u);
    CHECK(ak_vcode_levels(code, len, lv));
    ak_vcode_pack5(lv, packed);
    CHECK(memcmp(packed, wcode + 4, sizeof packed) == 0);
    CHECK(ak_vcode_to_i8(code, len, q, &scale));
    CHECK(ak_wcode_to_i8(wcode, AK_WCODE_BYTES, qw, &unit));
    CHECK(memcmp(q, qw, sizeof q) == 0);
    double n = 0;
    for (int i = 0; i < AK_DIM; i++)
        n += (double)q[i] * scale * q[i] * scale;
    CHECK(fabs(n - 1) < 1e-5);
    return len;
}

/* Many vectors, and extreme ones: nearly all zero (a code of 10 bytes: the
 * zeros it ends in are not stored), one huge element, the tiniest, one of every level, all of one magnitude; codes are shorter than
 * the warm code for Gaussian vectors (about 230 bytes; uniform elements
 * are not: their codes are raw). */
static void test_vcode_v4_exact(void)
{
    uint8_t wcode[AK_WCODE_BYTES];
    float v[AK_DIM];
    double total = 0;
    for (int t = 0; t < 500; t++) {
        gauss_vec(v);
        CHECK(ak_wcode_encode(v, wcode));
        total += (double)v4_exact(wcode);
    }
    if (!(total / 500 < 236))
        fprintf(stderr, "mean length %f\n", total / 500);
    CHECK(total / 500 < 236);
    for (int kind = 0; kind < 6; kind++) {
        for (int i = 0; i < AK_DIM; i++)
            v[i] = kind == 0   ? (i == 7 ? 1.0f : 1e-30f)        /* all zero but one */
                   : kind == 1 ? (float)(uniform() - 0.5) * 1e-3f /* and one huge */
                   : kind == 2 ? 1e-30f * (float)(i % 5 + 1)      /* tiny */
                   : kind == 3 ? (float)((i % 32) - 15.5)         /* every level */
                   : kind == 4 ? (i % 2 ? 1.0f : -1.0f)           /* all of one magnitude */
                               : (float)(uniform() * 2 - 1) * 1e30f;
        if (kind == 1)
            v[100] = 1e3f;
        CHECK(ak_wcode_encode(v, wcode));
        v4_exact(wcode);
    }
}

/* Levels that coding cannot shrink (uniformly random, 5 bits each) are
 * stored raw, as the warm code packs them; still exact. */
static void test_vcode_v4_raw(void)
{
    uint8_t lv[AK_DIM], back[AK_DIM], code[AK_VCODE_MAX], packed[AK_VCODE_LEVEL_BYTES];
    for (int t = 0; t < 20; t++) {
        for (int i = 0; i < AK_DIM; i++)
            lv[i] = (uint8_t)(uniform() * 32);
        CHECK(ak_vcode_from_levels(lv, code) == AK_VCODE_MAX);
        CHECK((header(code) & 0xffc00fffu) == 0x7fc004ffu);
        ak_vcode_pack5(lv, packed);
        CHECK(memcmp(code + 4, packed, sizeof packed) == 0);
        CHECK(ak_vcode_levels(code, AK_VCODE_MAX, back));
        CHECK(memcmp(lv, back, sizeof lv) == 0);
    }
}

/* A cut, lengthened or damaged version 4 code is refused, never misread
 * (cut to 196 bytes, its header is a version 3 step out of range), and
 * the refusal never reads past the code. */
static void test_vcode_v4_damage(void)
{
    uint8_t wcode[AK_WCODE_BYTES], code[AK_VCODE_MAX + 8], lv[AK_DIM], *heap;
    int8_t q[AK_DIM];
    float v[AK_DIM], scale;
    gauss_vec(v);
    CHECK(ak_wcode_encode(v, wcode));
    size_t len = ak_wcode_to_vcode(wcode, sizeof wcode, code);
    CHECK(len > AK_VCODE_BYTES && len < AK_VCODE_MAX); /* coded, and can be cut to 196 */
    for (size_t n = 0; n < len; n++) {
        heap = malloc(n ? n : 1); /* exact size: ASan sees a read past it */
        memcpy(heap, code, n);
        CHECK(!ak_vcode_levels(heap, n, lv));
        CHECK(!ak_vcode_to_i8(heap, n, q, &scale));
        free(heap);
    }
    memset(code + len, 0, 8);
    CHECK(!ak_vcode_levels(code, len + 1, lv)); /* a zero appended */
    code[len] = 0x5a;
    CHECK(!ak_vcode_levels(code, len + 1, lv));
    int refused = 0, tries = 0;
    for (size_t at = 4; at < len; at += 3, tries++) { /* one byte changed */
        uint8_t keep = code[at];
        code[at] ^= (uint8_t)(1u << (at % 8));
        refused += !ak_vcode_levels(code, len, lv);
        code[at] = keep;
    }
    CHECK(refused == tries);
    uint32_t h = header(code), bad[] = {(h & ~0xffu) | 15 /* no such table */,
                                        (h & ~0xfffu) | 0x500u, (h & ~0xfffu) | 0x300u,
                                        h ^ 0x1000u /* the check */, (h & ~0xffu) | 0xff /* raw */};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        set_header(code, bad[i]);
        CHECK(!ak_vcode_levels(code, len, lv));
    }
    set_header(code, h);
    CHECK(ak_vcode_levels(code, len, lv));
    for (int t = 0; t < 2000; t++) { /* garbage after a good header */
        size_t n = 4 + (size_t)(uniform() * (AK_VCODE_MAX - 3));
        for (size_t i = 4; i < n; i++)
            code[i] = (uint8_t)(uniform() * 256);
        set_header(code, 0x7fc00400u | (uint32_t)(uniform() * 15));
        if (ak_vcode_to_i8(code, n, q, &scale))
            CHECK(scale > 0 && isfinite(scale));
    }
}

/* The stored format does not drift: fixed levels give the code they gave
 * when version 4 was made (a change to VC4_FREQ, the table choice or the
 * range coder breaks this), and it decodes back. */
static void test_vcode_v4_golden(void)
{
    uint8_t lv[AK_DIM], back[AK_DIM], code[AK_VCODE_MAX];
    for (int i = 0; i < AK_DIM; i++)
        lv[i] = (uint8_t)((i * 7 % 13) | (i % 3 == 0) << 4);
    size_t len = ak_vcode_from_levels(lv, code);
    unsigned long sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = sum * 31 + code[i];
    CHECK(len == 236 && header(code) == 0x7fd13409u && sum == 3439205975405005990ul);
    CHECK(ak_vcode_levels(code, len, back));
    CHECK(memcmp(lv, back, sizeof lv) == 0);
}

int main(void)
{
    RUN(test_vcode_roundtrip);
    RUN(test_vcode_odd_vectors);
    RUN(test_vcode_rejects);
    RUN(test_vcode_v1);
    RUN(test_vcode_v2);
    RUN(test_vcode_v3);
    RUN(test_vcode_v3_golden);
    RUN(test_vcode_v4_exact);
    RUN(test_vcode_v4_raw);
    RUN(test_vcode_v4_damage);
    RUN(test_vcode_v4_golden);
    return test_report("vcode");
}
