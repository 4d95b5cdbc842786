/*
 * cache.h - a least-recently-used cache of query embeddings, by text.
 *
 * People repeat queries (an assistant retries, a user pages): a hit skips
 * the provider's round trip.  A fixed number of entries, each one vector;
 * the least recently used gives way.  Thread-safe (one mutex).
 *
 * Ownership: ak_embed_cache_new() / ak_embed_cache_free(); texts are copied.
 */
#ifndef AK_EMBED_CACHE_H
#define AK_EMBED_CACHE_H

#include <stddef.h>

#include "util/err.h"
#include "util/vec.h"

typedef struct ak_embed_cache ak_embed_cache;

/* capacity 0: a cache that holds nothing (every get misses). */
ak_code ak_embed_cache_new(size_t capacity, ak_embed_cache **out, ak_err *err);
void ak_embed_cache_free(ak_embed_cache *c);
/* 1 and the vector in out when text is cached (it becomes the most recent). */
int ak_embed_cache_get(ak_embed_cache *c, const char *text, size_t len, float out[AK_DIM]);
/* Remember text -> v (replacing an older vector for it); silently skipped
 * when memory is short. */
void ak_embed_cache_put(ak_embed_cache *c, const char *text, size_t len, const float v[AK_DIM]);
size_t ak_embed_cache_size(ak_embed_cache *c);

#endif
