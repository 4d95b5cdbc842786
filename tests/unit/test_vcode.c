/* test_vcode.c - the cold tier's vector code (util/vcode.c): it keeps a
 * vector's direction, every version ever written still decodes as it did,
 * and damaged codes are refused or decode into the int8 range the scan
 * takes. */
#include "test.h"
#include "../tools/vec_test.h"

#include <math.h>

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

int main(void)
{
    RUN(test_vcode_roundtrip);
    RUN(test_vcode_odd_vectors);
    RUN(test_vcode_rejects);
    RUN(test_vcode_v1);
    RUN(test_vcode_v2);
    RUN(test_vcode_v3);
    RUN(test_vcode_v3_golden);
    return test_report("vcode");
}
