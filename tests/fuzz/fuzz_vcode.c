/*
 * fuzz_vcode.c - the cold tier's vector code (util/vcode.c): its decoder
 * on any bytes, and its encoder on any vector.
 *
 * Input: a mode byte, then
 *   even mode  a code (padded with zeros or cut to 196 bytes; mode 2 also
 *              tries the input's own length): the decoder refuses it or
 *              gives int8 values in [-127, 127] and a positive finite
 *              scale; a version 3 code (NaN-tagged header) gives |q| <= 40;
 *   odd mode   384 little-endian floats (padded with zeros): the encoder
 *              gives a code exactly when the vector is finite and not all
 *              zero, that code decodes, every nonzero value has the sign of
 *              its element, and the direction is kept (cosine > 0.9).
 */
#include "fuzz_common.h"

#include "util/vcode.h"

static void decode(const uint8_t *code, size_t len)
{
    int8_t q[AK_DIM];
    float scale = 0;
    if (!ak_vcode_to_i8(code, len, q, &scale))
        return;
    FUZZ_CHECK(len == AK_VCODE_BYTES, "a code of %zu bytes decoded", len);
    FUZZ_CHECK(scale > 0 && isfinite(scale), "scale %g", (double)scale);
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
        return 0;
    }
    uint8_t code[AK_VCODE_BYTES] = {0};
    memcpy(code, data, size < sizeof code ? size : sizeof code);
    decode(code, sizeof code);
    if (mode == 2)
        decode(data, size);
    return 0;
}
