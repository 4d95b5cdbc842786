/*
 * upload.h - apply one upload to its system's database, exactly once.
 *
 * Internal to the ingest module: ingest.c decides which uploads to apply
 * and in which order; this file applies one and writes its ledger row.
 */
#ifndef AK_UPLOAD_H
#define AK_UPLOAD_H

#include "ingest/discover.h"
#include "ingest/ingest.h"
#include "ingest/manifest.h"

typedef enum {
    AK_OUTCOME_INGESTED,
    AK_OUTCOME_REJECTED,
    AK_OUTCOME_FAILED,
    AK_OUTCOME_ALREADY_DONE, /* another process settled it meanwhile */
    AK_OUTCOME_ABORTED       /* stopped: rolled back, no ledger change */
} ak_outcome;

typedef struct {
    const ak_ingest_config *cfg;
    const char *system_id;
    ak_sysdb *db;
    ak_json_doc *doc;        /* reused across records and uploads */
    atomic_llong *live_records;
    int64_t now_us;
    /* A pushed batch applied from memory (ak_outbox_apply): its records,
     * parsed once by the caller and the same as the staged payload's lines,
     * whose bytes are not read back; results[i] gets what became of
     * records[i], and hot_rowids[i] (when not NULL) the id of the hot row
     * it wrote (0: none).  NULL: the payloads are read from the bucket. */
    const ak_record *const *records;
    size_t n_records;
    int64_t records_bytes;
    ak_put_result *results;
    int64_t *hot_rowids;
    /* When set, called before the outcome's ledger row is written: AK_OK
     * lets it be written, anything else rolls the upload back with no
     * ledger row (AK_OUTCOME_ABORTED).  A pushed batch staged on another
     * thread waits there for its stage (ak_outbox_stage_begin()). */
    ak_code (*before_ledger)(void *ctx);
    void *hook_ctx;
} ak_upload_env;

/* Apply upload u (manifest m already validated; prev is its ledger row, or
 * a zeroed row).  Fills *tally and *reason (caller frees) and writes the
 * ledger. */
ak_outcome ak_upload_apply(const ak_upload_env *env, const ak_upload_ref *u,
                           const ak_manifest *m, const ak_ledger_row *prev,
                           ak_tally *tally, char **reason);

/* When a failed upload may be tried again: its last attempt plus the
 * backoff the current configuration gives for its attempt count, so a
 * changed retry setting applies at once. */
int64_t ak_upload_retry_due(const ak_ingest_config *cfg, const ak_ledger_row *prev);

/* <data>/tmp, where DuckDB payloads are decompressed, into buf; NULL
 * without a data directory. */
const char *ak_upload_spool_dir(const ak_ingest_config *cfg, char *buf, size_t n);

/* Record an upload that was settled before any payload was read (bad
 * manifest, unreadable manifest): status is REJECTED or FAILED. */
ak_outcome ak_upload_settle_early(const ak_upload_env *env, const ak_upload_ref *u,
                                  const ak_ledger_row *prev, ak_upload_status status,
                                  const char *reason);

#endif
