/*
 * vcode.h - the compact vector code of the cold tier: a conversation's
 * embedding in 196 bytes, small enough that cold stays far cheaper than
 * warm (384 bytes of int8) and good enough to rank (recall@10 0.95 against
 * exact float search on clustered vectors, bench/coldcode_bench.c).
 *
 * Layout: a little-endian float32 step, then AK_DIM signed 4-bit values
 * (-7..7), two per byte, element 2i in the low nibble of byte i.  The step
 * is 2.5 x the root-mean-square element / 7: clipping the few large
 * elements at 2.5 sigma spends the 15 levels where the values are (max-based
 * scaling, as int8 uses, ranked worse: 0.94).  A vector whose direction
 * lies in a few large elements keeps it better unclipped: the encoder
 * tries both steps and keeps the code nearer in cosine.
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
