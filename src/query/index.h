/*
 * index.h - the in-memory search index: every system's segment, by shard.
 *
 * The databases are the truth (SPEC section 5); the index is rebuilt from
 * them: all at once at start-up (in parallel on a pool), and one system at a
 * time after ingestion or aging changed it.  A system whose database cannot
 * be read is remembered with its error, so searches name its shard as
 * failed instead of silently answering without it.
 *
 * Thread safety: all functions may be called from any thread.  A snapshot
 * holds references to the shard's segments, so reloads never disturb a
 * query in flight.
 *
 * Ownership: ak_index_new() / ak_index_free(); ak_index_snapshot() fills an
 * ak_shard_snap released with ak_shard_snap_release().
 */
#ifndef AK_INDEX_H
#define AK_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "query/segment.h"
#include "storage/datadir.h"
#include "util/pool.h"

typedef struct ak_index ak_index;

typedef struct {
    ak_segment **segs;   /* the shard's systems, by system id */
    size_t n;
    char *error;         /* first broken system's error, or NULL */
} ak_shard_snap;

typedef struct {
    uint64_t systems, broken_systems, vectors, hot_vectors, warm_vectors, bytes;
} ak_index_stats;

ak_code ak_index_new(const ak_datadir *dd, ak_index **out, ak_err *err);
void ak_index_free(ak_index *idx);
const ak_datadir *ak_index_datadir(const ak_index *idx);

/* Load (or reload) every system in the data directory, in parallel on pool.
 * Per-system failures are recorded, not returned; the error is for the
 * directory itself being unreadable. */
ak_code ak_index_load_all(ak_index *idx, ak_pool *pool, ak_err *err);
/* Load (or reload) one system; a failure is recorded and also returned. */
ak_code ak_index_load_system(ak_index *idx, const char *system_id, ak_err *err);

/* Bring the index in line with the data directory: load systems whose
 * database file is new or was replaced (akosha reingest, another process's
 * ingest), or every system when all; forget systems whose database is gone.
 * Counts go to *reloaded and *removed (either may be NULL). */
ak_code ak_index_refresh(ak_index *idx, ak_pool *pool, int all, size_t *reloaded,
                         size_t *removed, ak_err *err);

/* Remove a system from the index (its segment and idle connections) now,
 * unless it is fenced: a forgotten system (ops/forget.h). */
void ak_index_drop_system(ak_index *idx, const char *system_id);

/* While a system's database file is being replaced: fence on closes its
 * idle connections and makes ak_index_db_get() fail with AK_ERR_BUSY (a
 * search then names its shard as failed); fence off lets them open again.
 * Reload the system after. */
void ak_index_fence(ak_index *idx, const char *system_id, int on);

ak_code ak_index_snapshot(ak_index *idx, uint32_t shard, ak_shard_snap *out, ak_err *err);
void ak_shard_snap_release(ak_shard_snap *snap);

/* A connection to a system's database for reading, from a cache of idle
 * ones (opening a database costs more than the reads of a search).  Give it
 * back with ak_index_db_put(), which closes it when the cache is full or the
 * connection is to a file the index no longer holds (replaced meanwhile).
 * AK_ERR_BUSY while the system is fenced. */
ak_code ak_index_db_get(ak_index *idx, const char *system_id, ak_sysdb **out, ak_err *err);
void ak_index_db_put(ak_index *idx, const char *system_id, ak_sysdb *db);

/* Shards holding at least one system (loaded or broken), ascending; *n set.
 * Caller frees the array. */
uint32_t *ak_index_nonempty_shards(ak_index *idx, size_t *n);
void ak_index_stats_get(ak_index *idx, ak_index_stats *out);

#endif
