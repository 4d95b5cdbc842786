/*
 * vec.h - the vector arithmetic of search and aging: 384-dimensional
 * embeddings, normalization, int8 quantization (SPEC section 6) and the dot
 * products the scans spend their time in.
 *
 * The dot kernels exist for several instruction sets (AVX-512, AVX2,
 * portable C) and the best one for the running CPU is picked when the
 * program loads, so one binary is fast on new machines and still runs on
 * old ones.
 */
#ifndef AK_VEC_H
#define AK_VEC_H

#include <stddef.h>
#include <stdint.h>

#define AK_DIM 384

float ak_vec_dot_f32(const float *a, const float *b);
int32_t ak_vec_dot_i8(const int8_t *a, const int8_t *b);
/* out[i] = dot(query, vecs + i * AK_DIM) for i < n: the scan's inner loop. */
void ak_vec_dots_i8(const int8_t *query, const int8_t *vecs, size_t n, int32_t *out);
/* Which kernels run here: "avx512", "avx2" or "portable". */
const char *ak_vec_impl(void);
/* Switch to the named kernels (for tests and benchmarks); 0 when this CPU
 * cannot run them.  Not thread-safe: call before any scan starts. */
int ak_vec_use(const char *name);
/* Dot product of a float vector with an int8 one (not yet scaled). */
float ak_vec_dot_f32_i8(const float *a, const int8_t *b);

/* 1 if v is finite and its norm is at least FLT_MIN: a vector that can be
 * normalized.  A norm that underflows (all zeros, or subnormal elements
 * like 384 x 1e-45) counts as zero: stored, such a vector is text-only; as
 * a query it is refused. */
int ak_vec_has_direction(const float *v);

/* Scale v to unit length; the result is always finite.  Returns 0 (v
 * untouched) when v has no direction (above), else 1. */
int ak_vec_normalize(float *v);

/* SPEC section 6: scale = max|x| / 127, q = round(x / scale) clipped to
 * [-127, 127]; an all-zero vector gives scale 0 and q all zero. */
void ak_vec_quantize(const float *v, int8_t *q, float *scale);
void ak_vec_dequantize(const int8_t *q, float scale, float *out);

/* A float32 embedding as stored: AK_DIM little-endian IEEE floats
 * (AK_VEC_LE_BYTES bytes) on every host, so a database file moves between
 * machines unchanged.  The one encoder and decoder of that form. */
#define AK_VEC_LE_BYTES (AK_DIM * 4)
void ak_vec_to_le(const float *v, unsigned char *out);
void ak_vec_from_le(const void *in, float *out);

#endif
