/*
 * vcode.h - the compact vector code of the cold tier: a conversation's
 * embedding in about 230 bytes, small enough that cold stays far cheaper
 * than hot and good enough to rank (recall@10 against exact float search on
 * clustered vectors, bench/coldcode_bench.c and docs/BENCHMARKS.md).
 *
 * Version 4 (written now) is the warm tier's 5-bit code (storage/warmcode.h)
 * itself, losslessly entropy coded, so a row ages warm -> cold without being
 * rounded again: its cold code decodes to exactly its warm code's 384
 * values, and cold search ranks as warm search does.  The warm code's unit
 * is not kept (4 bytes, and nothing reads a cold vector's length: search
 * and `get` normalize), so the decoded scale makes a unit vector.  Its
 * length varies (never 196 bytes, the length of versions 1-3, which is how
 * it is told from them; at most AK_VCODE_MAX):
 *   header           4 little-endian bytes, a quiet NaN 0x7fc00400 |
 *                    check << 12 | t: coded under table t (< VC4_TABLES);
 *                    t = 0xff: raw.  Bits 8-11 hold the version (0 for
 *                    version 3: a version 4 code cut to 196 bytes is
 *                    refused as a version 3 step out of range, by this
 *                    build and older ones); check is 10 bits of a hash of
 *                    the 384 levels.
 *   coded            per element, the index of its magnitude (one of the
 *                    warm code's 16, util/vcode_tables.h's VC4_MAG) range
 *                    coded under VC4_FREQ[t] (a Gaussian at one of 15
 *                    widths, quantized at the warm code's cells; the
 *                    encoder takes the table that codes the vector
 *                    shortest), then its sign as one bit; the code ends at
 *                    its last nonzero byte (about 4.8 bits an element)
 *   raw              when coding gains nothing (or would give 196 bytes):
 *                    the 240 bytes of 5-bit values as the warm code packs
 *                    them, AK_VCODE_MAX bytes in all (as long as a warm
 *                    code)
 * A cut or damaged version 4 code is refused: the decoded levels must match
 * the check and code back under table t to exactly the bytes read (the
 * encoder's choice of table is not checked: it rests on floating point).  (A code as short as
 * it can be has no redundancy: damage near its end leaves a valid code of
 * other levels, and only the check tells; 1 damaged code in 1,024 passes.)
 *
 * Versions 1-3 are 196 bytes: 4 little-endian header bytes, then 192
 * bytes.  The header tells the version:
 *   3                a quiet NaN, 0x7fc00000 | s with s < 256.  Each element
 *                    is x ~= k * t * rms, t = 0.177 * 2^(s / 32) and k a
 *                    signed integer (|k| <= 40), range coded: the magnitude
 *                    under a fixed table (a Gaussian quantized at t,
 *                    util/vcode_tables.h), then a sign bit when k != 0.  The
 *                    encoder picks the finest step whose code fits in the 192
 *                    bytes (then a few coarser ones, keeping the best cosine),
 *                    so a vector spends about 4 bits per element where they
 *                    are needed: uniform levels entropy coded are ~2 dB
 *                    nearer than any 16 fixed levels.
 *   2                a negative float step; 4-bit nibbles (element 2i in the
 *                    low nibble of byte i), a sign bit and one of the 8
 *                    Lloyd-Max magnitudes of a Gaussian as int8 values:
 *                    x ~= +-magnitude * |step|.
 *   1                a positive float step; nibbles -7..7: x ~= value * step.
 * Versions 1-3 are decoded only (objects written before; version 3's
 * encoder is kept for the tests and the bench of those codes).  A build
 * older than version 3 refuses a version 3 code (a NaN step), and one
 * older than version 4 a version 4 code (its length; its Parquet reader
 * refuses the whole object): the row is then not found by vector, never
 * misread.
 *
 * The code is kept in the cold catalog (embedding_code) for search and in
 * the Parquet row (column embedding_code) so the object alone can rebuild
 * the catalog.
 */
#ifndef AK_VCODE_H
#define AK_VCODE_H

#include <stddef.h>
#include <stdint.h>

#include "util/vec.h"

#define AK_VCODE_BYTES (4 + AK_DIM / 2)            /* versions 1-3 */

/* The 4-byte header of a vector code, cold (every version) or warm
 * (storage/warmcode.h: its unit): little-endian whatever the host, as the
 * codes travel in Parquet objects. */
static inline uint32_t ak_vcode_head_get(const uint8_t *c)
{
    return (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
}

static inline void ak_vcode_head_put(uint8_t *c, uint32_t h)
{
    for (int b = 0; b < 4; b++)
        c[b] = (uint8_t)(h >> (8 * b));
}
#define AK_VCODE_LEVEL_BYTES (AK_DIM * 5 / 8)      /* 384 5-bit values */
#define AK_VCODE_MIN 4 /* version 4: the header (zeros at the end of a code are not stored) */
#define AK_VCODE_MAX (4 + AK_VCODE_LEVEL_BYTES)    /* version 4 raw: 244 */

/* A 5-bit level: bit 4 the sign, bits 0-3 the index of a magnitude of
 * VC4_MAG (the 32-level Lloyd-Max quantizer of a Gaussian as int8 values).
 * The warm code and version 4 pack them least significant bit first (value
 * i at bits 5i .. 5i+4). */
void ak_vcode_pack5(const uint8_t lv[AK_DIM], uint8_t out[AK_VCODE_LEVEL_BYTES]);
void ak_vcode_unpack5(const uint8_t in[AK_VCODE_LEVEL_BYTES], uint8_t lv[AK_DIM]);
/* The levels as the int8 values the search scan reads (x ~= q * unit). */
void ak_vcode_level_i8(const uint8_t lv[AK_DIM], int8_t q[AK_DIM]);

/* The version 4 code of the levels lv (a warm code's); returns its length
 * (AK_VCODE_MIN .. AK_VCODE_MAX, never AK_VCODE_BYTES). */
size_t ak_vcode_from_levels(const uint8_t lv[AK_DIM], uint8_t code[AK_VCODE_MAX]);

/* A version 4 code's levels, exactly as they were coded.  Returns 0 for
 * anything else (another version, a cut or damaged code). */
int ak_vcode_levels(const void *code, size_t len, uint8_t lv[AK_DIM]);

/* Encode v as version 3 (any length but zero; need not be normalized):
 * no longer written by Akosha, kept to make version 3 codes for the tests
 * and the bench.  Returns 0 when v is all zeros or not finite (no code),
 * else 1. */
int ak_vcode_encode(const float *v, uint8_t code[AK_VCODE_BYTES]);

/* The code (any version) as int8 values and a scale (x ~= q * scale; for
 * versions 3 and 4 the scale assumes v was of unit length: only the
 * direction is kept), the form the search scan reads.  Any bytes give values in
 * [-127, 127] or a refusal.  Returns 0 for a code of a wrong length, a bad
 * header or (version 4) a cut or damaged code. */
int ak_vcode_to_i8(const void *code, size_t len, int8_t q[AK_DIM], float *scale);

#endif
