/*
 * fuzz_vcode.c - the cold tier's vector code (util/vcode.c): its decoder
 * on any bytes, and its encoders on any vector and any levels.
 *
 * Input: a mode byte, then
 *   mode 0, 2  a code (padded with zeros or cut to 196 bytes; mode 2 also
 *              tries the input's own length, which reaches version 4): the
 *              decoder refuses it or gives int8 values in [-127, 127] and a
 *              positive finite scale; a version 3 code (NaN-tagged header)
 *              gives |q| <= 40; a version 4 code gives levels that round
 *              trip, and the warm code's magnitudes;
 *   mode 4     384 5-bit levels (a byte each, the low 5 bits; padded with
 *              zeros): version 4 codes them in AK_VCODE_MAX bytes at most,
 *              never 196, and gives them back exactly;
 *   odd mode   384 little-endian floats (padded with zeros): the version 3
 *              encoder gives a code exactly when the vector is finite and
 *              not all zero, that code decodes, every nonzero value has the
 *              sign of its element, and the direction is kept (cosine >
 *              0.9); the vector's warm code, when it has one, comes back
 *              exactly from its version 4 code.
 */
#include "fuzz_common.h"

#include "storage/warmcode.h"
#include "util/vcode.h"

static void decode(const uint8_t *code, size_t len)
{
    int8_t q[AK_DIM];
    float scale = 0;
    uint8_t lv[AK_DIM], back[AK_DIM], again[AK_VCODE_MAX];
    if (!ak_vcode_to_i8(code, len, q, &scale))
        return;
    FUZZ_CHECK(scale > 0 && isfinite(scale), "scale %g", (double)scale);
    if (len != AK_VCODE_BYTES) { /* version 4 */
        FUZZ_CHECK(ak_vcode_levels(code, len, lv), "decoded, but no levels");
        size_t n = ak_vcode_from_levels(lv, again); /* perhaps under another table */
        FUZZ_CHECK(ak_vcode_levels(again, n, back) && memcmp(lv, back, AK_DIM) == 0,
                   "the levels of a %zu-byte code do not round trip", len);
        for (int i = 0; i < AK_DIM; i++)
            FUZZ_CHECK(abs(q[i]) >= 3, "value %d at %d is no warm magnitude", q[i], i);
        return;
    }
    int v3 = (code[3] & 0xff) == 0x7f && (code[2] & 0xc0) == 0xc0;
    for (int i = 0; i < AK_DIM; i++)
        FUZZ_CHECK(q[i] >= -127 && q[i] <= 127 && (!v3 || (q[i] >= -40 && q[i] <= 40)),
                   "value %d at %d (version 3: %d)", q[i], i, v3);
}

static void roundtrip(const float *v)
{
    uint8_t code[AK_VCODE_BYTES];
    double ss = 0;
    int finite = 1;
    for (int i = 0; i < AK_DIM; i++)
        ss += (double)v[i] * v[i], finite &= isfinite(v[i]) != 0;
    int want = finite && ss > 0, got = ak_vcode_encode(v, code);
    FUZZ_CHECK(got == want, "encode gave %d for a vector that should give %d", got, want);
    if (!got)
        return;
    int8_t q[AK_DIM];
    float scale = 0;
    FUZZ_CHECK(ak_vcode_to_i8(code, sizeof code, q, &scale), "a fresh code is refused");
    double dot = 0, qq = 0;
    for (int i = 0; i < AK_DIM; i++) {
        FUZZ_CHECK(q[i] == 0 || (q[i] < 0) == (v[i] < 0), "sign of %d lost", i);
        dot += q[i] * (double)v[i], qq += (double)q[i] * q[i];
    }
    FUZZ_CHECK(dot / sqrt(qq * ss) > 0.9, "cosine %f", dot / sqrt(qq * ss));
}

/* Version 4 gives levels back exactly, at a length no older build reads. */
static void levels_roundtrip(const uint8_t lv[AK_DIM])
{
    uint8_t code[AK_VCODE_MAX], back[AK_DIM];
    size_t len = ak_vcode_from_levels(lv, code);
    FUZZ_CHECK(len >= AK_VCODE_MIN && len <= AK_VCODE_MAX && len != AK_VCODE_BYTES,
               "a code of %zu bytes", len);
    FUZZ_CHECK(ak_vcode_levels(code, len, back), "a fresh version 4 code is refused");
    FUZZ_CHECK(memcmp(lv, back, AK_DIM) == 0, "levels changed");
}

static void warm_roundtrip(const float *v)
{
    uint8_t wcode[AK_WCODE_BYTES], lv[AK_DIM];
    if (!ak_wcode_encode(v, wcode))
        return;
    ak_vcode_unpack5(wcode + 4, lv);
    levels_roundtrip(lv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++, size--;
    if (mode & 1) {
        float v[AK_DIM] = {0};
        memcpy(v, data, size < sizeof v ? size : sizeof v);
        roundtrip(v);
        warm_roundtrip(v);
        return 0;
    }
    if (mode == 4) {
        uint8_t lv[AK_DIM] = {0};
        for (size_t i = 0; i < size && i < AK_DIM; i++)
            lv[i] = data[i] & 31u;
        levels_roundtrip(lv);
        return 0;
    }
    uint8_t code[AK_VCODE_BYTES] = {0};
    memcpy(code, data, size < sizeof code ? size : sizeof code);
    decode(code, sizeof code);
    if (mode == 2)
        decode(data, size);
    return 0;
}
