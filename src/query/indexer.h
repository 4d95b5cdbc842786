/*
 * indexer.h - keeps the vector index (vindex.h) in step with the search
 * index's segments, on a thread of its own, so ingestion, aging, forget
 * and reingest never wait for it: they install segments as before, the
 * indexer hears of each change (ak_index_set_listener) and syncs that
 * system later; until then the system is scanned exactly.
 *
 * On start it syncs every installed segment and drops systems the data
 * directory no longer has; it saves the index file when idle (at most
 * every AK_INDEXER_SAVE_S seconds) and when stopped.
 *
 * Ownership: ak_indexer_start() / ak_indexer_stop() (which saves and
 * frees; the index and vindex stay the caller's).
 */
#ifndef AK_INDEXER_H
#define AK_INDEXER_H

#include "query/vindex.h"
#include "util/buf.h"
#include "query/index.h"

#define AK_INDEXER_SAVE_S 30

typedef struct ak_indexer ak_indexer;

/* busy(busy_ctx), when given, says whether the server is answering
 * requests: the indexer then waits between batches of vectors it links
 * (AK_INDEXER_PAUSE_MS at a time, at most AK_INDEXER_PAUSE_MAX_MS before
 * each batch, so a server always answering links 64 vectors a second when
 * its CPU has room; with none, SCHED_IDLE keeps it waiting). */
#define AK_INDEXER_PAUSE_MS 2
#define AK_INDEXER_PAUSE_MAX_MS 1000
ak_code ak_indexer_start(ak_index *idx, ak_vindex *v, int (*busy)(void *ctx), void *busy_ctx,
                         ak_indexer **out, ak_err *err);
void ak_indexer_stop(ak_indexer *ix);

/* Sync every installed segment now, on the caller's thread; drop systems
 * no longer installed.  add = 0 only binds what is already in the graph.
 * (akosha index build, the CLI's searches, and the indexer's first pass.) */
ak_code ak_indexer_sync_all(ak_index *idx, ak_vindex *v, int add, atomic_int *stop,
                            ak_err *err);

/* The index's figures in Prometheus text format, appended to out (a NULL
 * indexer, not started yet, appends nothing). */
void ak_indexer_metrics(ak_indexer *ix, ak_buf *out);

#endif
