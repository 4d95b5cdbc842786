/*
 * warmcode.h - the warm tier's vector code: a conversation's embedding in
 * 244 bytes instead of 384 int8 values and a scale (issue 14: warm <= 25 %
 * of hot), still good enough that warm search ranks almost as int8 did
 * (recall@10 against exact float search in docs/BENCHMARKS.md).
 *
 * Layout: a little-endian float32 unit (> 0), then AK_DIM 5-bit values
 * packed least significant bit first (value i at bits 5i .. 5i+4 of the
 * bytes after the unit).  A value is a sign bit (bit 4) and one of 16
 * magnitudes: the 32-level Lloyd-Max quantizer of a Gaussian (an
 * embedding's elements are near Gaussian), as int8 values, so the int8
 * form the search scan reads is exact: x ~= +-magnitude * unit.  (The
 * levels and their packing are util/vcode.h's: a warm row that ages on
 * keeps exactly these values in the cold code, version 4.)
 *
 * The code lives in warm.embedding_q (warm.embedding_scale is 0); schema 8
 * converted the int8 rows before it (ak_wcode_sql_register's function).
 */
#ifndef AK_WARMCODE_H
#define AK_WARMCODE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "util/vcode.h"
#include "util/vec.h"

#define AK_WCODE_BITS 5
#define AK_WCODE_BYTES (4 + AK_DIM * AK_WCODE_BITS / 8)

/* Encode v (need not be normalized).  Returns 0 when v is all zeros or not
 * finite (no code), else 1. */
int ak_wcode_encode(const float *v, uint8_t code[AK_WCODE_BYTES]);

/* The code as int8 values and a scale (x ~= q * scale), the form the search
 * scan reads.  Returns 0 for a code of the wrong length or a bad unit. */
int ak_wcode_to_i8(const void *code, size_t len, int8_t q[AK_DIM], float *scale);

/* The cold tier's vector code (util/vcode.h, version 4) of a warm code, as
 * aging makes it when a warm row ages to cold: the same 384 values,
 * entropy coded (not the unit: only the direction is kept).  Returns its
 * length, 0 when the warm code cannot be read (no cold code). */
size_t ak_wcode_to_vcode(const void *code, size_t len, uint8_t vcode[AK_VCODE_MAX]);

/* Registers ak_warm_code(q, scale) on db: the code of a 384-byte int8
 * vector with its scale (the warm form before schema 8), NULL for anything
 * else.  Used by that migration. */
int ak_wcode_sql_register(sqlite3 *db);

#endif
