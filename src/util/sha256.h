/*
 * sha256.h - SHA-256 (OpenSSL EVP) for content hashes, checksums and shard
 * routing.  ak_sha256_ctx streams; ak_sha256() hashes one buffer.
 * Ownership: ak_sha256_new() / ak_sha256_free().
 */
#ifndef AK_SHA256_H
#define AK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AK_SHA256_LEN 32
#define AK_SHA256_HEX 65 /* 64 hex digits + NUL */

typedef struct ak_sha256_ctx ak_sha256_ctx;

ak_sha256_ctx *ak_sha256_new(void); /* NULL on allocation failure */
void ak_sha256_update(ak_sha256_ctx *c, const void *data, size_t len);
/* Writes the digest and resets the context for reuse. */
void ak_sha256_final(ak_sha256_ctx *c, uint8_t out[AK_SHA256_LEN]);
void ak_sha256_free(ak_sha256_ctx *c);

void ak_sha256(const void *data, size_t len, uint8_t out[AK_SHA256_LEN]);
void ak_hex(const uint8_t *bytes, size_t n, char *out); /* out: 2n+1 bytes */

#endif
