/* warmcode.c - see warmcode.h. */
#include "storage/warmcode.h"

#include <math.h>
#include <string.h>

#include "util/vcode_tables.h"

/* The 32-level Lloyd-Max quantizer of a unit Gaussian has the magnitudes
 * 0.066 0.198 0.331 0.467 0.605 0.747 0.895 1.049 1.212 1.386 1.576 1.787
 * 2.029 2.318 2.691 3.261 sigma; scaled so the largest is 127, rounded:
 * VC4_MAG, shared with the cold code that keeps these levels. */
#define LEVELS VC4_LEVELS
#define MAG VC4_MAG
#define SIGMA_UNITS 38.948 /* MAG[15] / 3.2607: one sigma in level units */
#define TRIES 13           /* sigma candidates, 0.7 to 1.3 of the rms */

static int level(float x) /* x >= 0 in level units: the nearest magnitude's index */
{
    int k = 0;
    while (k < LEVELS - 1 && x > 0.5f * (float)(MAG[k] + MAG[k + 1]))
        k++;
    return k;
}

/* Pack v at this unit into code; returns the cosine of the result with v. */
static double pack(const float *v, float unit, uint8_t *code)
{
    double dot = 0, qq = 0, vv = 0;
    uint8_t lv[AK_DIM];
    uint32_t u;
    memcpy(&u, &unit, 4);
    ak_vcode_head_put(code, u);
    float inv = 1 / unit;
    for (int i = 0; i < AK_DIM; i++) {
        int k = level(fabsf(v[i]) * inv), m = v[i] < 0 ? -MAG[k] : MAG[k];
        lv[i] = (uint8_t)(k | (v[i] < 0) << 4);
        dot += (double)m * v[i], qq += (double)m * m, vv += (double)v[i] * v[i];
    }
    ak_vcode_pack5(lv, code + 4);
    return dot / sqrt(qq * vv);
}

int ak_wcode_encode(const float *v, uint8_t code[AK_WCODE_BYTES])
{
    double ss = 0, max = 0;
    for (int i = 0; i < AK_DIM; i++) {
        ss += (double)v[i] * v[i];
        max = fabs(v[i]) > max ? fabs(v[i]) : max;
    }
    if (!(ss > 0) || !isfinite(ss))
        return 0;
    /* the Gaussian's levels at a few scales around the rms, and the largest
     * element on the top level: whichever keeps the direction best */
    double rms = sqrt(ss / AK_DIM);
    uint8_t other[AK_WCODE_BYTES];
    double best = -3;
    for (int k = 0; k <= TRIES; k++) {
        float unit = (float)(k < TRIES ? rms * (0.7 + 0.6 * k / (TRIES - 1)) / SIGMA_UNITS
                                       : max / MAG[LEVELS - 1]);
        if (!(unit > 0) || !isfinite(unit) || !isfinite(1 / unit))
            continue;
        double c = pack(v, unit, other);
        if (c > best) {
            best = c;
            memcpy(code, other, AK_WCODE_BYTES);
        }
    }
    return best > -2;
}

/* The code's unit and levels; 0 for a code of the wrong length or a bad unit. */
static int levels(const void *code, size_t len, float *unit, uint8_t lv[AK_DIM])
{
    const uint8_t *c = code;
    if (len != AK_WCODE_BYTES)
        return 0;
    uint32_t u = ak_vcode_head_get(c);
    memcpy(unit, &u, 4);
    if (!(*unit > 0) || !isfinite(*unit))
        return 0;
    ak_vcode_unpack5(c + 4, lv);
    return 1;
}

int ak_wcode_to_i8(const void *code, size_t len, int8_t q[AK_DIM], float *scale)
{
    uint8_t lv[AK_DIM];
    if (!levels(code, len, scale, lv))
        return 0;
    ak_vcode_level_i8(lv, q);
    return 1;
}

size_t ak_wcode_to_vcode(const void *code, size_t len, uint8_t vcode[AK_VCODE_MAX])
{
    uint8_t lv[AK_DIM];
    float unit;
    return levels(code, len, &unit, lv) ? ak_vcode_from_levels(lv, vcode) : 0;
}

static void sql_warm_code(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    uint8_t code[AK_WCODE_BYTES];
    float v[AK_DIM];
    if (sqlite3_value_bytes(argv[0]) != AK_DIM) {
        sqlite3_result_null(ctx);
        return;
    }
    ak_vec_dequantize(sqlite3_value_blob(argv[0]), (float)sqlite3_value_double(argv[1]), v);
    if (ak_wcode_encode(v, code))
        sqlite3_result_blob(ctx, code, sizeof code, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
}

int ak_wcode_sql_register(sqlite3 *db)
{
    return sqlite3_create_function(db, "ak_warm_code", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                   NULL, sql_warm_code, NULL, NULL);
}
