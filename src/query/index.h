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

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "query/segment.h"
#include "storage/datadir.h"
#include "util/pool.h"

struct ak_vindex;

typedef struct ak_index ak_index;

typedef struct {
    ak_segment **segs;   /* the shard's systems, by system id */
    size_t n;
    char *error;         /* first broken system's error, or NULL */
} ak_shard_snap;

typedef struct {
    uint64_t systems, broken_systems, vectors, hot_vectors, warm_vectors, cold_vectors, bytes;
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

/* After a commit that changed only the conversations ids[0..n) of a
 * system, through db (an open handle on its database): build its next
 * segment from the installed one and those rows (ak_segment_patch: read
 * from db, or rows[i] when not NULL), or load it whole when that cannot be
 * done (none installed, another file, a changed row that is warm).
 * all_new: none of ids had a row before that commit (ak_segment_patch).  Loads
 * and patches of one system run one at a time, so an earlier read never
 * replaces a later one. */
ak_code ak_index_patch_system(ak_index *idx, const char *system_id, ak_sysdb *db,
                              const char *const *ids, const ak_segment_row *rows, size_t n,
                              int all_new, ak_err *err);
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
 * ones (opening a database costs more than the reads of a search).  It is
 * a reader's (ak_sysdb_open_reader): a write through it fails.  Give it
 * back with ak_index_db_put(), which closes it when the cache is full or the
 * connection is to a file the index no longer holds (replaced meanwhile).
 * AK_ERR_BUSY while the system is fenced. */
ak_code ak_index_db_get(ak_index *idx, const char *system_id, ak_sysdb **out, ak_err *err);
void ak_index_db_put(ak_index *idx, const char *system_id, ak_sysdb *db);

/* Segment files (query/segfile.h): OFF (the default) loads every system
 * from its database; READ maps a system's file when it is current; WRITE
 * also writes the file after loading a system from its database (one
 * process per data directory: akosha serve). */
enum { AK_SEGFILES_OFF, AK_SEGFILES_READ, AK_SEGFILES_WRITE };
void ak_index_set_segfiles(ak_index *idx, int mode);
/* Segment files found damaged (not merely stale) and rebuilt since start. */
uint64_t ak_index_segfiles_rebuilt(ak_index *idx);
/* Systems mapped from their segment file without opening their database
 * (its files unchanged since the file was last found current) since
 * start. */
uint64_t ak_index_segfiles_unopened(ak_index *idx);
/* Databases the index opened (loading a system, or a connection
 * ak_index_db_get() did not find idle), since ak_index_new(). */
uint64_t ak_index_db_opens(ak_index *idx);
/* Check the checksum of every segment mapped without opening its database
 * (those are mapped without it: ak_segfile_map_unsummed), after the server
 * is ready; a damaged one is counted, its file removed and the system
 * loaded from its database.  Stops early when *stop is set (stop may be
 * NULL). */
void ak_index_sum_unopened(ak_index *idx, atomic_int *stop);
/* The system's rows by tier (hot, warm, cold) as of its installed segment,
 * when known (1): a load knows them, a patch (ak_index_patch_system) does
 * not (0: count them in the database). */
int ak_index_row_counts(ak_index *idx, const char *system_id, uint64_t rows[3]);
/* Reload every system whose segment is in memory (patched since it was
 * mapped) so it is written to its file and mapped: segments changed by
 * ingestion go back to the file, and to the memory searches touch.  Stops
 * early when *stop is set (stop may be NULL); *done = systems written. */
ak_code ak_index_persist(ak_index *idx, atomic_int *stop, size_t *done, ak_err *err);

/* The vector index (query/vindex.h) searches use beside the segments, or
 * NULL (the default: every segment is scanned).  Not owned. */
void ak_index_set_vindex(ak_index *idx, struct ak_vindex *v);
struct ak_vindex *ak_index_vindex(ak_index *idx);
/* fn(ctx, system_id) is called after a system's segment was installed,
 * replaced or removed (outside the index's locks); one listener. */
void ak_index_set_listener(ak_index *idx, void (*fn)(void *ctx, const char *system_id),
                           void *ctx);
/* The system's installed segment (a reference: unref it), or NULL. */
ak_segment *ak_index_segment(ak_index *idx, const char *system_id);
/* Every installed segment, each a reference, into *out (caller unrefs each
 * and frees the array); *n set.  AK_ERR_NOMEM. */
ak_code ak_index_segments(ak_index *idx, ak_segment ***out, size_t *n);

/* Whether the vector index's result r answered for every system (each
 * installed segment is one it covered, none is broken): then no shard has
 * anything to add to it. */
struct ak_vindex_result_s;
int ak_index_covered(ak_index *idx, const struct ak_vindex_result_s *r);

/* Shards holding at least one system (loaded or broken), ascending; *n set.
 * Caller frees the array. */
uint32_t *ak_index_nonempty_shards(ak_index *idx, size_t *n);
void ak_index_stats_get(ak_index *idx, ak_index_stats *out);

#endif
