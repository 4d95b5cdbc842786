/*
 * search.h - cross-system search (SPEC section 7): vector, text or both,
 * fanned out over the shards and merged.
 *
 *   vector  cosine similarity; an int8 first pass over every candidate row
 *           keeps the best few per shard, which are re-ranked exactly
 *           (float32 for hot rows, the stored int8 for warm rows, the
 *           vector code of the cold catalog for cold rows: every score is a
 *           cosine, so the tiers rank together)
 *   text    SQLite FTS5 / BM25 over hot content, warm summaries and the
 *           cold catalog's 1-sentence summaries
 *   both    reciprocal-rank fusion of the two rankings (k = 60)
 *   words   a `query`: embedded by a provider and searched as both; when
 *           the provider fails, as text, saying why (words.h)
 *
 * Each target shard runs as a job on the pool with its own deadline; a shard
 * that fails or misses it is left out and named in shards_failed.  Results
 * are de-duplicated by (system_id, conversation_id) keeping the best score,
 * sorted by score (ties: system_id, then conversation_id) and cut to limit.
 *
 * Ownership: ak_search() fills an ak_results that ak_results_free() releases.
 */
#ifndef AK_SEARCH_H
#define AK_SEARCH_H

#include <stdint.h>

#include "query/index.h"
#include "util/json.h"
#include "util/buf.h"
#include "util/pool.h"

#define AK_SEARCH_LIMIT_MAX 1000
#define AK_SEARCH_TEXT_MAX 1000
#define AK_SEARCH_DEFAULT_TIMEOUT_US (5 * 1000000LL)

typedef struct {
    int has_vector;
    float vector[AK_DIM];
    const char *text;           /* NULL: no text part */
    const char *words;          /* `query`: natural-language words (words.h) */
    const char *system_id;      /* NULL: every shard */
    int limit;                  /* 1..1000 (default 10) */
    int has_threshold;
    double threshold;           /* minimum cosine, -1..1 */
    int tiers;                  /* AK_TIER_MASK bits; default AK_TIER_ALL */
    int64_t since, until;       /* on the conversation timestamp */
    int64_t timeout_us;         /* per shard */
    int exact;                  /* scan every vector; never the ANN index */
} ak_query;

/* Defaults: limit 10, every tier, all times, 5 s per shard. */
void ak_query_init(ak_query *q);
/* Check and normalize (the vector to unit length).  Errors name the field:
 * "vector: all zeros", "text: empty", "limit: must be 1 to 1000"... */
ak_code ak_query_check(ak_query *q, ak_err *err);

typedef struct {
    char *system_id, *conversation_id;
    ak_tier tier;
    double score;
    int64_t ts_us;
    char *content, *summary, *metadata; /* content for hot, summary for warm */
} ak_result;

typedef struct {
    uint32_t shard;
    char *error;
} ak_shard_failure;

typedef struct {
    ak_result *r;
    size_t n;
    uint32_t shards_queried;
    ak_shard_failure *failed;
    size_t n_failed;
    double took_ms;
    const char *mode;    /* "vector", "text" or "hybrid": how it was served */
    char *embed_error;   /* words searched as text: why they were not embedded */
} ak_results;

ak_code ak_search(ak_index *idx, ak_pool *pool, const ak_query *q, ak_results *out,
                  ak_err *err);
void ak_results_free(ak_results *r);

/* A test-only hook: AKOSHA_TEST_SLOW_SHARD="N:MS" makes shard N's job wait
 * MS milliseconds (honouring its deadline) before it starts, so tests can
 * produce a slow shard on demand. */

#endif
