/*
 * ingest.h - one discovery-and-ingestion cycle over the bucket (SPEC 4).
 *
 * The calling thread lists systems and feeds them through a bounded queue
 * to `concurrency` workers.  A worker takes one system at a time, lists its
 * uploads, skips those the ledger already settled, validates the rest's
 * manifests and applies them one by one in (uploaded_at, upload_id) order.
 * So at most `concurrency` uploads are in flight, the uploads of one system
 * never run concurrently, and one failing upload touches nothing else.
 *
 * Stopping: when *stop becomes non-zero no new upload starts and the cycle
 * returns once the uploads in hand finish; when *abort becomes non-zero the
 * uploads in hand are abandoned too (rolled back, redone next cycle).
 */
#ifndef AK_INGEST_H
#define AK_INGEST_H

#include <stdatomic.h>
#include <stdint.h>

#include "ingest/payload.h"
#include "objstore/objstore.h"
#include "storage/datadir.h"
#include "storage/sysdb.h"

typedef struct {
    int64_t systems;               /* valid systems seen */
    int64_t systems_invalid;       /* system prefixes with a bad id */
    int64_t systems_failed;        /* uploads not listed, or database not opened */
    int64_t uploads_discovered;    /* not yet settled in the ledger; every upload
                                    * counted ingested, rejected or failed is one */
    int64_t uploads_known;         /* already ingested or rejected */
    int64_t uploads_ingested, uploads_rejected, uploads_failed;
    int64_t uploads_deferred;      /* failed earlier, backing off */
    int64_t uploads_forgotten;     /* held back by a tombstone (storage/tombstone.h) */
    int64_t conversations_ingested; /* new conversations stored */
    int64_t conversations_updated;
    int64_t duplicates_skipped;
    int64_t stale_skipped;         /* older versions of newer records */
    int64_t records_rejected;
    int64_t bytes_read;
    double seconds;
} ak_ingest_stats;

/* Reported once per upload that reached an outcome this cycle.  For
 * AK_UPLOAD_INGESTED the tally says what was stored. */
typedef void (*ak_ingest_upload_fn)(void *ctx, const char *system_id,
                                    const char *upload_id, ak_upload_status status,
                                    const char *reason, const ak_tally *tally);
/* Called once per system whose database gained or changed conversations
 * this cycle, after all its uploads of the cycle were applied (from the
 * worker thread): one index reload for a backlog of uploads, not one each. */
typedef void (*ak_ingest_changed_fn)(void *ctx, const char *system_id);
/* Called about four times a second while a cycle runs, from its own thread. */
typedef void (*ak_ingest_progress_fn)(void *ctx, const ak_ingest_stats *so_far,
                                      int64_t records_seen);

typedef struct {
    ak_store *bucket;
    const ak_datadir *data;
    unsigned concurrency;        /* uploads in flight; 0 = 4 */
    int64_t grace_us;            /* incomplete uploads rejected after; 0 = 1 h */
    int64_t retry_base_us;       /* first retry delay, doubling; <0 = none, 0 = 30 s */
    int64_t now_us;              /* 0 = the wall clock */
    const atomic_int *stop;      /* may be NULL */
    const atomic_int *abort;     /* may be NULL */
    ak_ingest_upload_fn on_upload;
    ak_ingest_changed_fn on_changed;
    ak_ingest_progress_fn on_progress;
    void *ctx;                   /* passed to every callback */
} ak_ingest_config;

/* Returns AK_OK when the cycle ran (uploads may still have been rejected or
 * failed: see stats), or an error when the bucket could not be listed. */
ak_code ak_ingest_cycle(const ak_ingest_config *cfg, ak_ingest_stats *stats, ak_err *err);

/* Apply one system's unsettled uploads, in order, into db: an open
 * database the caller owns (reingest builds a fresh one this way).  The
 * caller has validated system_id.  Returns an error when its uploads could
 * not be listed; upload outcomes are in stats and the callbacks. */
ak_code ak_ingest_system(const ak_ingest_config *cfg, const char *system_id, ak_sysdb *db,
                         ak_ingest_stats *stats, ak_err *err);

#endif
