/*
 * forget.h - remove one system completely, and keep it away (issue 19;
 * runbook docs/runbooks/forget-a-system.md).
 *
 * What goes: its database (hot, warm and cold rows, the full-text indexes,
 * the ledger, the cold catalog, pushed memories: all live in that file),
 * what only it contributed to the knowledge graph (graph/graph.h), the
 * database's WAL and shared-memory files, rebuild leftovers
 * (<id>.db.reingest) and backups (<id>.db.replaced-*), every cold object
 * under its cold prefix (ak_cold_system_prefix) and any catalogued cold
 * object outside it, its vectors in a daemon's index (the hooks), and with
 * purge_bucket its uploads in the bucket (systems/<id>/).
 *
 * What stays: a tombstone in <data>/forgotten.db (storage/tombstone.h), so
 * the bucket's old uploads are not ingested again.
 *
 * Crash safety: the tombstone is written ("forgetting") before anything is
 * deleted and only marked "forgotten" after everything is; every step
 * deletes what is there and tolerates what is already gone.  So a crash at
 * any instant leaves a "forgetting" tombstone that holds off all ingestion
 * of the system, and running forget again finishes the job (`verify`
 * reports the unfinished one).  Test stop points (util/testpoint.h):
 * forget.tombstone, forget.cold, forget.outbox, forget.graph, forget.database, forget.bucket,
 * forget.finish.
 *
 * Concurrency: as reingest: the command holds the data directory's
 * exclusive lock; the daemon runs it on its runner thread, between cycles.
 * A separate `akosha ingest` or `akosha age` shares the data directory with
 * the daemon, so forget also holds the system's lock (storage/syslock.h)
 * from before it reads the database to the end (not on a dry run); every
 * ingest, push and aging pass of the system takes it before it reads the
 * tombstone, and waits.  Test stop point forget.locked: the lock taken, no
 * tombstone yet.
 */
#ifndef AK_FORGET_H
#define AK_FORGET_H

#include <stdint.h>

#include "objstore/objstore.h"
#include "storage/datadir.h"
#include "util/jsonw.h"

typedef struct {
    const ak_datadir *data;
    ak_store *cold;             /* its cold store */
    ak_store *bucket;           /* needed with purge_bucket, else may be NULL */
    int purge_bucket;
    int dry_run;                /* count what would go, change nothing */
    int64_t now_us;             /* the tombstone's time; 0 = the wall clock */
    /* Called before anything is deleted and after everything was (both or
     * neither; not on a dry run): a daemon drops the system from its index. */
    void (*before_delete)(void *ctx, const char *system_id);
    void (*after_delete)(void *ctx, const char *system_id);
    void *ctx;
} ak_forget_config;

typedef struct {
    int dry_run;
    int resumed;                /* an interrupted forget was finished */
    int had_database;
    int64_t hot, warm, cold;    /* conversations in its database */
    int64_t uploads;            /* ledger rows */
    int64_t db_files, db_bytes; /* database, WAL, leftovers and backups */
    int64_t cold_objects, cold_bytes;
    int64_t bucket_objects, bucket_bytes; /* only with purge_bucket */
    int64_t outbox_objects, outbox_bytes; /* pushed batches not yet in the bucket */
    int64_t graph_entities, graph_relations; /* its knowledge-graph rows */
    int64_t graph_nodes;        /* entities only it named, gone with it */
    int64_t tombstone_us;       /* the cut; 0 on a dry run */
    double seconds;
} ak_forget_result;

/* Forget system_id (or, dry, count what would go).  AK_ERR_INVALID for a
 * bad id or purge_bucket without a bucket; other codes when a store or the
 * disk failed: the tombstone then stays "forgetting", run it again. */
ak_code ak_forget_system(const ak_forget_config *cfg, const char *system_id,
                         ak_forget_result *out, ak_err *err);

/* The result as members of a JSON object the caller opened. */
void ak_forget_result_json(ak_jw *w, const ak_forget_result *r);

/* What `verify` adds (check names "forgotten" and "cold-unowned"):
 *   - a tombstone still "forgetting";
 *   - anything left of a forgotten system: database files while it has not
 *     come back, cold objects under its prefix, or, when it came back, an
 *     ingested upload from before the tombstone;
 *   - cold prefixes (system_id=.../) that belong to no system with a
 *     database and to no forgotten one (skipped when cold is NULL).
 * With system_id only that system's tombstone is checked. */
typedef void (*ak_forget_leftover_fn)(void *ctx, const char *system_id, const char *check,
                                      const char *message);
ak_code ak_forget_check(const ak_datadir *dd, ak_store *cold, const char *system_id,
                        ak_forget_leftover_fn fn, void *ctx, ak_err *err);

#endif
