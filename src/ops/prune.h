/*
 * prune.h - the bucket's own growth (issue 19): delete ingested snapshot
 * uploads that newer ones make redundant (`akosha prune-bucket`,
 * AKOSHA_BUCKET_KEEP_SNAPSHOTS; off by default).
 *
 * Session-Buddy uploads its whole database at every sync, so a bucket holds
 * ever more copies of the same memories.  Per system, the newest `keep`
 * ingested uploads (by uploaded_at, then id) are kept; an older ingested
 * upload is deleted unless it is the latest source of a stored memory: the
 * `sources` table (storage/sysdb.c, schema 7) names, per conversation, the
 * latest ingested upload that holds its stored version (ingestion notes it
 * for every record stored or seen again unchanged; a row stored before
 * schema 7 counts its own upload_id).  So a memory that no newer upload
 * holds (deleted in Session-Buddy since, or only ever in that upload) pins
 * its upload, and `reingest` after a prune rebuilds the same memories.
 * Never touched: uploads not yet ingested (not in the ledger, rejected or
 * failed), and anything of a system being forgotten.
 *
 * Crash safety: an upload to delete is first listed in the system's
 * `pruned` table as "pruning" (committed); its manifest is deleted first
 * (so it stops being an upload at once), then its other files; then it
 * becomes "pruned".  A run finishes every "pruning" upload first (deleting
 * what is left under its prefix), and never picks a listed one again.
 * Test points: prune.marked (listed, nothing deleted), prune.deleted (after
 * each object deleted).  The system's lock (storage/syslock.h) keeps an
 * ingest or forget of the same system out meanwhile.
 */
#ifndef AK_PRUNE_H
#define AK_PRUNE_H

#include <stdint.h>

#include "objstore/objstore.h"
#include "storage/datadir.h"
#include "util/jsonw.h"

typedef struct {
    const ak_datadir *data;
    ak_store *bucket;
    int64_t keep;           /* newest ingested uploads kept per system, >= 1 */
    int dry_run;            /* count what would go; change nothing */
    const char *system_id;  /* only this system; NULL: every system */
    int64_t now_us;         /* 0: the wall clock */
} ak_prune_config;

typedef struct {
    int dry_run;
    int64_t systems, systems_failed;
    int64_t uploads_kept;    /* among the newest keep */
    int64_t uploads_pinned;  /* older, but the latest source of a stored memory */
    int64_t uploads_pruned;  /* deleted (or, dry, that would be) */
    int64_t uploads_resumed; /* interrupted deletes finished */
    int64_t objects, bytes;  /* bucket objects deleted, and their bytes */
    double seconds;
} ak_prune_stats;

/* Prune the bucket.  One system's failure is counted (systems_failed) and
 * logged; the others go on.  AK_ERR_INVALID for keep < 1 or a bad id. */
ak_code ak_prune_bucket(const ak_prune_config *cfg, ak_prune_stats *st, ak_err *err);

/* The stats as members of a JSON object the caller opened. */
void ak_prune_stats_json(ak_jw *w, const ak_prune_stats *st);

#endif
