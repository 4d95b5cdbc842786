/*
 * minhash.h - the cold tier's fingerprint (SPEC section 6): MinHash over
 * word shingles, 128 slots, stored as b-bit MinHash (b = 4, the low 4 bits
 * of each slot: 64 bytes), for near-duplicate detection.
 *
 * Words are runs of letters and digits (bytes >= 0x80 count as letters, so
 * any script works), lowercased; shingles are runs of AK_MINHASH_SHINGLE
 * consecutive words (a text with fewer words is one shingle).  Slot i holds
 * the minimum over all shingles of hash_i(shingle).  The share of equal
 * slots between two fingerprints estimates the Jaccard similarity of their
 * shingle sets (standard error sqrt(J(1-J)/128), at most 0.044).
 *
 * Stored as the low 4 bits of each slot, two slots a byte, slot 2i in the
 * low nibble of byte i (Li and Koenig's b-bit MinHash): two fingerprints
 * agree in a slot with probability J + (1 - J) / 16, and the estimate
 * corrects for that chance agreement.  Its standard error is 0.04-0.05 for
 * J from 0.5 to 0.8 (0.044-0.035 with the full minima; 8 bits of 64 slots,
 * the same bytes, would give 0.05-0.06).  The full 32-bit minima are 512
 * bytes of which zstd keeps ~300 (a minimum's leading bits are zeros): 12%
 * of a hot conversation's bytes in every cold object, for a fingerprint
 * nothing reads yet but a near-duplicate check.  Warm rows and cold objects
 * written before keep 512 bytes (each slot little-endian);
 * ak_minhash_stored() reads both.
 */
#ifndef AK_MINHASH_H
#define AK_MINHASH_H

#include <stddef.h>
#include <stdint.h>

#define AK_MINHASH_SLOTS 128
#define AK_MINHASH_BYTES (AK_MINHASH_SLOTS / 2)   /* the stored form */
#define AK_MINHASH_BYTES_V1 (AK_MINHASH_SLOTS * 4) /* written before: 32 bits a slot */
#define AK_MINHASH_SHINGLE 3

void ak_minhash(const char *text, size_t len, uint32_t out[AK_MINHASH_SLOTS]);
/* The stored form of sig. */
void ak_minhash_bytes(const uint32_t sig[AK_MINHASH_SLOTS], uint8_t out[AK_MINHASH_BYTES]);
/* A stored fingerprint of either length in the current form; 0 (out
 * untouched) when len is neither. */
int ak_minhash_stored(const void *in, size_t len, uint8_t out[AK_MINHASH_BYTES]);
/* The Jaccard estimate of two signatures, and of two stored fingerprints. */
double ak_minhash_similarity(const uint32_t *a, const uint32_t *b);
double ak_minhash_bytes_similarity(const uint8_t *a, const uint8_t *b);

#endif
