/* vcode.c - see vcode.h. */
#include "util/vcode.h"

#include <math.h>
#include <string.h>

/* Version 2 (the step stored negative): 16 non-uniform levels, sign and
 * magnitude.  The magnitudes are the Lloyd-Max quantizer of a unit Gaussian
 * (0.128 0.388 0.657 0.942 1.256 1.618 2.069 2.733 sigma) scaled so the
 * largest is 127 and rounded: the int8 form the scan reads is then exact. */
static const int MAG[8] = {6, 18, 31, 44, 58, 75, 96, 127};
static const float MID[7] = {12, 24.5f, 37.5f, 51, 66.5f, 85.5f, 111.5f};
#define SIGMA_UNITS 46.476 /* MAG[7] / 2.7326: one sigma in level units */
#define TRIES 17           /* sigma candidates, 0.7 to 1.3 of the rms */

/* Version 1 (the step positive, codes written before): values -7..7, x ~=
 * value * step; the unused nibble 8 (damage) reads as -7, in int8 range. */
#define V1_LEVELS 7
#define V1_I8 18 /* 7 * 18 = 126: the int8 form keeps every level exact */

static int level(float x) /* x >= 0, in level units: the nearest magnitude's index */
{
    int k = 0;
    while (k < 7 && x > MID[k])
        k++;
    return k;
}

/* Pack v at this unit into code; returns the cosine of the result with v. */
static double pack(const float *v, float unit, uint8_t *code)
{
    double dot = 0, qq = 0, vv = 0;
    float neg = -unit;
    uint32_t u;
    memcpy(&u, &neg, 4);
    for (int b = 0; b < 4; b++)
        code[b] = (uint8_t)(u >> (8 * b));
    memset(code + 4, 0, AK_DIM / 2);
    float inv = 1 / unit;
    for (int i = 0; i < AK_DIM; i++) {
        int k = level(fabsf(v[i]) * inv), m = v[i] < 0 ? -MAG[k] : MAG[k];
        code[4 + i / 2] |= (uint8_t)((k | (v[i] < 0) << 3) << (4 * (i & 1)));
        dot += (double)m * v[i], qq += (double)m * m, vv += (double)v[i] * v[i];
    }
    return dot / sqrt(qq * vv);
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
    /* the Gaussian's levels at a few scales around the rms, and (a vector
     * whose direction lies in a few large elements) the largest element on
     * the top level: whichever code keeps the direction best */
    double rms = sqrt(ss / AK_DIM);
    uint8_t other[AK_VCODE_BYTES];
    double best = -3;
    for (int k = 0; k <= TRIES; k++) {
        float unit = (float)(k < TRIES ? rms * (0.7 + 0.6 * k / (TRIES - 1)) / SIGMA_UNITS
                                       : max / MAG[7]);
        if (!(unit > 0) || !isfinite(unit) || !isfinite(1 / unit))
            continue;
        double c = pack(v, unit, other);
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
    int v2 = step < 0;
    step = fabsf(step);
    if (!(step > 0) || !isfinite(step))
        return 0;
    for (int i = 0; i < AK_DIM; i++) {
        int nib = (c[4 + i / 2] >> (4 * (i & 1))) & 0xf;
        q[i] = (int8_t)(v2 ? (nib & 8 ? -MAG[nib & 7] : MAG[nib & 7])
                           : (nib == 8 ? -7 : nib > 8 ? nib - 16 : nib) * V1_I8);
    }
    *scale = v2 ? step : step / V1_I8;
    return 1;
}
