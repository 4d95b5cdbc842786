/*
 * vcode.h - the compact vector code of the cold tier: a conversation's
 * embedding in 196 bytes, small enough that cold stays far cheaper than
 * warm (384 bytes of int8) and good enough to rank (recall@10 0.95 against
 * exact float search on clustered vectors, bench/coldcode_bench.c).
 *
 * Layout: a little-endian float32 step, then AK_DIM 4-bit values, two per
 * byte, element 2i in the low nibble of byte i.  Version 2 (written now)
 * stores the step negated; a nibble is a sign bit (bit 3) and one of 8
 * magnitudes, the 16-level Lloyd-Max quantizer of a Gaussian (an embedding's
 * elements are near Gaussian) as int8 values: x ~= +-magnitude * |step|.
 * The encoder tries steps around the root-mean-square element and the one
 * that puts the largest element on the top level (a vector whose direction
 * lies in a few large elements), keeping the code nearest in cosine.
 * recall@10 at 200,000 clustered vectors: 0.88 with version 1 (15 uniform
 * levels -7..7, x ~= value * step, step positive: still decoded), ~0.90
 * with version 2 (docs/BENCHMARKS.md).
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

/* The code as int8 values and a scale (x ~= q * scale), the form the search
 * scan reads.  Returns 0 for a code of the wrong length or a bad step. */
int ak_vcode_to_i8(const void *code, size_t len, int8_t q[AK_DIM], float *scale);

#endif
