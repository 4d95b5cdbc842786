/*
 * vcode.h - the compact vector code of the cold tier: a conversation's
 * embedding in 196 bytes, small enough that cold stays far cheaper than
 * warm (384 bytes of int8) and good enough to rank (recall@10 against exact
 * float search on clustered vectors, bench/coldcode_bench.c and
 * docs/BENCHMARKS.md).
 *
 * Layout: 4 little-endian header bytes, then 192 bytes.  The header tells
 * the version:
 *   3 (written now)  a quiet NaN, 0x7fc00000 | s with s < 256.  Each element
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
 * Versions 1 and 2 are decoded only (objects written before).  A build older
 * than version 3 refuses a version 3 code (a NaN step): the row is then not
 * found by vector, never misread.
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

#define AK_VCODE_BYTES (4 + AK_DIM / 2)

/* Encode v (any length but zero; need not be normalized).  Returns 0 when
 * v is all zeros or not finite (no code), else 1. */
int ak_vcode_encode(const float *v, uint8_t code[AK_VCODE_BYTES]);

/* The code as int8 values and a scale (x ~= q * scale; for version 3 the
 * scale assumes v was of unit length: only the direction is kept), the form
 * the search scan reads.  Any bytes of the right length give values in
 * [-127, 127] or a refusal.  Returns 0 for a code of the wrong length or a
 * bad header. */
int ak_vcode_to_i8(const void *code, size_t len, int8_t q[AK_DIM], float *scale);

#endif
