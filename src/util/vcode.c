/* vcode.c - see vcode.h. */
#include "util/vcode.h"

#include <math.h>
#include <string.h>

#define LEVELS 7     /* values -7..7 */
#define CLIP 2.5     /* step = CLIP * rms / LEVELS */
#define I8_FACTOR 18 /* 7 * 18 = 126: the int8 form keeps every level exact */

/* Pack v at this step into code; returns the cosine of the result with v. */
static double pack(const float *v, float step, uint8_t *code)
{
    double dot = 0, qq = 0, vv = 0;
    uint32_t u;
    memcpy(&u, &step, 4);
    for (int b = 0; b < 4; b++)
        code[b] = (uint8_t)(u >> (8 * b));
    memset(code + 4, 0, AK_DIM / 2);
    for (int i = 0; i < AK_DIM; i++) {
        float x = v[i] / step; /* clamp before converting: never an out-of-range cast */
        x = x > LEVELS ? LEVELS : x < -LEVELS ? -LEVELS : x;
        int q = (int)(x < 0 ? x - 0.5f : x + 0.5f);
        code[4 + i / 2] |= (uint8_t)((q & 0xf) << (4 * (i & 1)));
        dot += (double)q * v[i], qq += (double)q * q, vv += (double)v[i] * v[i];
    }
    return qq > 0 ? dot / sqrt(qq * vv) : -2;
}

int ak_vcode_encode(const float *v, uint8_t code[AK_VCODE_BYTES])
{
    double ss = 0, max = 0;
    for (int i = 0; i < AK_DIM; i++) {
        ss += (double)v[i] * v[i];
        max = fabs(v[i]) > max ? fabs(v[i]) : max;
    }
    if (!(ss > 0) || !isfinite(ss))
        return 0;
    /* clipped at CLIP sigma, or (a vector with a few large elements) not
     * clipped: whichever keeps the direction better */
    float steps[2] = {(float)(CLIP * sqrt(ss / AK_DIM) / LEVELS), (float)(max / LEVELS)};
    uint8_t other[AK_VCODE_BYTES];
    double best = -3;
    for (int k = 0; k < 2; k++) {
        if (!(steps[k] > 0) || !isfinite(steps[k]))
            continue;
        double c = pack(v, steps[k], other);
        if (c > best) {
            best = c;
            memcpy(code, other, AK_VCODE_BYTES);
        }
    }
    return best > -2;
}

int ak_vcode_to_i8(const void *code, size_t len, int8_t q[AK_DIM], float *scale)
{
    const uint8_t *c = code;
    if (len != AK_VCODE_BYTES)
        return 0;
    uint32_t u = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
    float step;
    memcpy(&step, &u, 4);
    if (!(step > 0) || !isfinite(step))
        return 0;
    for (int i = 0; i < AK_DIM; i++) {
        int nib = (c[4 + i / 2] >> (4 * (i & 1))) & 0xf;
        q[i] = (int8_t)((nib >= 8 ? nib - 16 : nib) * I8_FACTOR);
    }
    *scale = step / I8_FACTOR;
    return 1;
}
