/*
 * reingest.h - rebuild one system's database from its uploads in the
 * bucket (the repair for a corrupt or lost database; runbook
 * docs/runbooks/hot-store-failure.md).
 *
 * The bucket is the source of truth for what a system sent, so a system's
 * database can always be made again: every upload is applied, in order,
 * into a fresh database beside the old one (<id>.db.reingest), and only
 * when that worked is the fresh file renamed over the old.  Until then the
 * old database keeps serving; a crash at any point leaves either the old or
 * the new database in place, never a mix, and the old one is kept as
 * <id>.db.replaced-<UTC stamp> (with its WAL) for inspection.
 *
 * Backups are bounded: after each swap the system's backups beyond the
 * newest AK_REINGEST_BACKUPS_KEEP, and any older than
 * AK_REINGEST_BACKUP_MAX_AGE_US, are removed (with their WAL); the one
 * just made always stays.
 *
 * The rebuilt conversations are all hot again: the next aging pass moves
 * the old ones back to warm and cold (cold object names are deterministic,
 * so the same objects are rewritten, not duplicated).
 *
 * Refusals (nothing changes, the error says why):
 *   - an upload could not be read (the store is down?): the rebuilt
 *     database would be missing its records;
 *   - the old database is readable and holds more conversations than the
 *     rebuilt one (uploads deleted from the bucket?).
 * `force` swaps anyway: failed uploads are then retried by the next cycle.
 *
 * Concurrency: the caller keeps other writers of this data directory away
 * (the command takes the exclusive ak_datadir_lock; the daemon runs it on
 * the thread that runs its cycles and aging) and, when it caches
 * connections, fences them around the swap with the hooks.
 */
#ifndef AK_REINGEST_H
#define AK_REINGEST_H

#include <stdatomic.h>
#include <stdint.h>

#include "objstore/objstore.h"
#include "storage/datadir.h"
#include "util/jsonw.h"
#include "util/progress.h"

#define AK_REINGEST_BACKUPS_KEEP 3
#define AK_REINGEST_BACKUP_MAX_AGE_US (14LL * 86400 * 1000000) /* two weeks */

typedef struct {
    ak_store *bucket;
    const ak_datadir *data;
    int force;
    int64_t now_us;             /* 0 = the wall clock */
    int64_t grace_us;           /* as ak_ingest_config; 0 = 1 h */
    const atomic_int *stop;     /* may be NULL: checked between uploads */
    /* Called just before and just after the files are swapped (both or
     * neither), e.g. to keep readers off the database meanwhile. */
    void (*before_swap)(void *ctx, const char *system_id);
    void (*after_swap)(void *ctx, const char *system_id);
    void *ctx;
    /* may be NULL: after each upload settled, uploads done of those the
     * bucket holds (listed once more to count them) */
    ak_progress_fn on_progress;
    void *progress_ctx;
} ak_reingest_config;

typedef struct {
    int64_t uploads_ingested, uploads_rejected, uploads_failed;
    int64_t conversations;      /* in the rebuilt database */
    int64_t old_conversations;  /* in the old one; -1 when missing or unreadable */
    char old_state[AK_ERR_MSG_MAX]; /* "ok", "missing" or why it could not be read */
    char backup[AK_PATH_MAX];   /* where the old database went; "" if none */
    int64_t backups_removed;    /* older backups removed by the bound */
    int swapped;
    double seconds;
} ak_reingest_result;

/* Rebuild system_id's database.  Returns AK_OK when the new database is in
 * place; AK_ERR_INVALID for a refusal or a bad id; AK_ERR_ABORTED when
 * stopped; other codes for I/O failures.  *out is filled either way. */
ak_code ak_reingest_system(const ak_reingest_config *cfg, const char *system_id,
                           ak_reingest_result *out, ak_err *err);

/* The result as the members of a JSON object (the caller opened it):
 * uploads_ingested, uploads_rejected, uploads_failed, conversations,
 * old_conversations (null when unknown), old_database, backup (or null),
 * backups_removed, swapped, seconds. */
void ak_reingest_result_json(ak_jw *w, const ak_reingest_result *r);

#endif
