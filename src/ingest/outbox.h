/*
 * outbox.h - pushed batches as uploads of their system (issue 18).
 *
 * A batch pushed over HTTP (server/push.c) becomes an upload in the
 * bucket's own layout (SPEC section 3):
 *
 *     systems/<sid>/<uid>/memories.jsonl    the accepted records, one a line
 *     systems/<sid>/<uid>/manifest.json     uploaded_at, count, checksum, files
 *
 * (the checksum is added when the batch is shipped: see outbox.c)
 *
 * written to the outbox, a local store inside the data directory
 * (<data>/outbox), every put fsync'd, before its apply commits (staged
 * first, or beside the apply: ak_outbox_stage_begin()).  It is applied
 * through the very path bucket uploads take (ak_ingest_system: manifest rules, record rules,
 * duplicate/update logic, the ledger, exactly once), so a push and a bucket
 * upload of the same system meet in the same store under the same rules.
 *
 * Shipping copies an applied batch to the bucket (payload first, manifest
 * last, so the bucket never holds a manifest without its payload) and then
 * deletes it from the outbox.  The ingestion cycle finds it settled in the
 * ledger and skips it; `reingest` restores it like any other upload.  A
 * batch staged but never applied (the process died between the two) is
 * applied when the outbox is next shipped (ak_outbox_recover).  Without a
 * bucket the batches stay in the outbox: the data directory is then their
 * only copy, and a bucket configured later receives them.
 *
 * Upload ids sort by time: YYYYMMDD_HHMMSS_ffffff_push_<8 hex>.
 *
 * Ownership: ak_outbox_open() returns a store the caller closes with
 * ak_store_close().  The functions may run on several threads, but the
 * caller keeps the batches of one system to one thread at a time.
 */
#ifndef AK_OUTBOX_H
#define AK_OUTBOX_H

#include <stdint.h>

#include "ingest/discover.h"
#include "objstore/objstore.h"
#include "storage/datadir.h"
#include "storage/sysdb.h"
#include "util/ids.h"

#define AK_OUTBOX_PAYLOAD "memories.jsonl"

/* Open (making it when missing) <data>/outbox. */
ak_code ak_outbox_open(const ak_datadir *dd, ak_store **out, ak_err *err);

typedef struct ak_outbox_pending ak_outbox_pending;

/* A staged batch, as ak_outbox_stage() wrote it. */
typedef struct {
    char uid[AK_UPLOAD_ID_MAX + 1];
    const char *payload;     /* its payload's name: AK_OUTBOX_PAYLOAD or
                              * AK_GRAPH_PAYLOAD (static strings) */
    char *manifest;          /* the manifest's text (heap) */
    size_t manifest_len;
    int64_t payload_len;
    int staged;                  /* durable in the outbox */
    ak_outbox_pending *pending;  /* ak_outbox_stage_begin()'s stage (owned) */
} ak_outbox_batch;

/* Free b's parts, first waiting for a stage still running. */
void ak_outbox_batch_free(ak_outbox_batch *b);

/* Stage one batch of system sid: payload is JSONL, one record a line, n
 * records; origin names what sent it (kept in the manifest's metadata).
 * Durable (fsync'd) when it returns.  Fills *b (free it either way). */
ak_code ak_outbox_stage(ak_store *ob, const char *sid, const char *payload, size_t len,
                        int64_t n, const char *origin, int64_t now_us, ak_outbox_batch *b,
                        ak_err *err);

/* ak_outbox_stage(), but the payload and manifest are written on a thread
 * of their own while the caller goes on to ak_outbox_apply(), which waits
 * for them before it writes the batch's ledger row: the fsyncs of staging
 * overlap the records' inserts, and the transaction still commits only
 * after the batch is durable in the outbox.  payload must stay valid until
 * ak_outbox_apply() or ak_outbox_batch_free() has returned.  Not for graph
 * items: their upload commits them to the graph before its ledger row. */
ak_code ak_outbox_stage_begin(ak_store *ob, const char *sid, const char *payload, size_t len,
                              int64_t n, const char *origin, int64_t now_us, ak_outbox_batch *b,
                              ak_err *err);

/* Stage knowledge-graph items of system sid: payload is graph.jsonl
 * (graph/graph_item.h), one item a line; the manifest's conversation_count
 * is 0.  Otherwise as ak_outbox_stage(). */
ak_code ak_outbox_stage_graph(ak_store *ob, const char *sid, const char *payload, size_t len,
                              const char *origin, int64_t now_us, ak_outbox_batch *b,
                              ak_err *err);

/* Apply one staged batch to db through the upload path (ak_upload_apply:
 * manifest and record rules, one transaction with its ledger row; graph
 * items into dd's knowledge graph), then fill *row with its ledger row
 * (caller frees with ak_ledger_row_free).  *changed is set when
 * conversations were stored or changed.
 * recs: the batch's n records as the caller parsed them from the staged
 * lines, applied from memory (results[i] gets what became of recs[i],
 * hot_rowids[i] when not NULL the id of the hot row it wrote, 0: none);
 * NULL: the staged payload is read back and parsed (graph items always).
 * A batch from ak_outbox_stage_begin() whose stage failed is rolled back,
 * leaving no ledger row, and its stage's error is returned (b->staged 0). */
ak_code ak_outbox_apply(ak_store *ob, const ak_datadir *dd, const char *sid, ak_sysdb *db,
                        ak_outbox_batch *b, const ak_record *const *recs, size_t n,
                        ak_put_result *results, int64_t *hot_rowids, ak_ledger_row *row,
                        int *changed, ak_err *err);

/* Apply every staged batch of sid not yet in db's ledger, in upload order,
 * exactly as the ingestion cycle applies bucket uploads: what a process
 * that died between staging and applying left behind. */
ak_code ak_outbox_recover(ak_store *ob, const ak_datadir *dd, const char *sid, ak_sysdb *db,
                          int *changed, ak_err *err);

typedef struct {
    int64_t shipped;  /* batches copied to the bucket (or dropped without one) */
    int64_t pending;  /* batches left in the outbox */
    int64_t forgotten; /* copied, but forgotten meanwhile: deleted from the bucket */
} ak_outbox_stats;

/* Shipping in three steps, so that the copy to the bucket, the slow part,
 * holds no lock a push of the system waits on (server/push.c):
 *   ak_outbox_ship_list(), under the system's lock: apply what is
 *     unapplied, then list the batches to ship (the applied ones);
 *   ak_outbox_ship_copy(), under no lock: copy each to the bucket
 *     (payload first, manifest last);
 *   ak_outbox_ship_drop(), under the lock again: drop each copied batch
 *     from the outbox; one gone from the outbox meanwhile was forgotten
 *     (ops/forget.h deletes the system's batches, and its bucket objects,
 *     under that lock), so its copy is deleted from the bucket too and a
 *     forget is never undone.
 * A shipment is freed with ak_outbox_shipment_free() whatever happened. */
typedef struct {
    ak_upload_list list;  /* the system's batches */
    unsigned char *state; /* per batch: not applied, ready, copied, failed */
    ak_code rc;           /* the first batch's trouble, and what it was */
    ak_err err;
    ak_code copy_rc;      /* the first copy that failed, and why */
    ak_err copy_err;
} ak_outbox_shipment;

ak_code ak_outbox_ship_list(ak_store *ob, const ak_datadir *dd, const char *sid, ak_sysdb *db,
                            ak_outbox_shipment *sh, int *changed, ak_err *err);
void ak_outbox_ship_copy(ak_store *ob, ak_store *bucket, ak_outbox_shipment *sh);
/* Fills *st; the first batch's trouble is returned (and *err). */
ak_code ak_outbox_ship_drop(ak_store *ob, ak_store *bucket, ak_outbox_shipment *sh,
                            ak_outbox_stats *st, ak_err *err);
void ak_outbox_shipment_free(ak_outbox_shipment *sh);

/* For system sid, all three steps above at once (the caller holds the
 * system's lock throughout).  A batch the bucket refused stays for the
 * next call; the error says why. */
ak_code ak_outbox_ship_system(ak_store *ob, ak_store *bucket, const ak_datadir *dd,
                              const char *sid, ak_sysdb *db, ak_outbox_stats *st,
                              int *changed, ak_err *err);

/* Systems with batches in the outbox: fn gets each valid id. */
typedef ak_code (*ak_outbox_system_fn)(void *ctx, const char *system_id);
ak_code ak_outbox_each_system(ak_store *ob, ak_outbox_system_fn fn, void *ctx, ak_err *err);

/* Batches in the outbox (not yet in the bucket): of system sid, or of all
 * systems when sid is NULL. */
ak_code ak_outbox_count(ak_store *ob, const char *sid, int64_t *batches, ak_err *err);

/* Remove the payloads of batches without a manifest: left by a process
 * killed between the two renames of staging (a batch never answered: its
 * sender sends it again) or between the deletes of a shipped batch.  Such
 * a payload would never be shipped nor removed.  Only while no batch is
 * being staged or shipped (at start-up, before pushes are accepted): a
 * batch being staged has no manifest yet either.  *removed counts them. */
ak_code ak_outbox_sweep_orphans(ak_store *ob, size_t *removed, ak_err *err);

/* Open <data>/outbox for reading only: *out is NULL when there is none
 * (nothing was ever pushed).  For `akosha verify`, which changes nothing. */
ak_code ak_outbox_open_existing(const ak_datadir *dd, ak_store **out, ak_err *err);

#endif
