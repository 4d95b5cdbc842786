/*
 * minhash.h - the cold tier's fingerprint (SPEC section 6): MinHash over
 * word shingles, 128 x uint32 = 512 bytes, for near-duplicate detection.
 *
 * Words are runs of letters and digits (bytes >= 0x80 count as letters, so
 * any script works), lowercased; shingles are runs of AK_MINHASH_SHINGLE
 * consecutive words (a text with fewer words is one shingle).  Slot i holds
 * the minimum over all shingles of hash_i(shingle).  The share of equal
 * slots between two fingerprints estimates the Jaccard similarity of their
 * shingle sets (standard error sqrt(J(1-J)/128), at most 0.044).
 *
 * Stored as 512 bytes, each slot little-endian.
 */
#ifndef AK_MINHASH_H
#define AK_MINHASH_H

#include <stddef.h>
#include <stdint.h>

#define AK_MINHASH_SLOTS 128
#define AK_MINHASH_BYTES (AK_MINHASH_SLOTS * 4)
#define AK_MINHASH_SHINGLE 3

void ak_minhash(const char *text, size_t len, uint32_t out[AK_MINHASH_SLOTS]);
void ak_minhash_bytes(const uint32_t sig[AK_MINHASH_SLOTS], uint8_t out[AK_MINHASH_BYTES]);
double ak_minhash_similarity(const uint32_t *a, const uint32_t *b);

#endif
