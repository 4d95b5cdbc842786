/*
 * reingest.c - see reingest.h.
 *
 * The swap, in the order that keeps every crash point safe:
 *   1. checkpoint the old database (best effort) so its file alone holds
 *      every commit and its WAL is empty;
 *   2. hard-link the old file to the backup name;
 *   3. move the old WAL to the backup's WAL name and drop the old
 *      shared-memory index, so the new file can never meet the old WAL;
 *   4. rename the new file over the old name (atomic) and sync the
 *      directory.
 * Before 4 the old database is in place (without its WAL only when step 1
 * failed, i.e. when it was unreadable anyway); after 4 the new one is.
 */
#include "ops/reingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest/discover.h"
#include "ingest/ingest.h"
#include "storage/sysdb.h"
#include "storage/tombstone.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/testpoint.h"
#include "util/time.h"

#define TMP_SUFFIX ".reingest"
#define BACKUP_INFIX ".replaced-"

static const char *const sidecars[] = {"", "-wal", "-shm", "-journal"};

/* Remove a database file (unless keep_main) and its sidecars; a missing
 * one is fine. */
static ak_code remove_db_files(const char *base, int keep_main, ak_err *err)
{
    for (size_t i = keep_main ? 1 : 0; i < sizeof sidecars / sizeof *sidecars; i++) {
        char p[AK_PATH_MAX];
        ak_fmt(p, sizeof p, "%s%s", base, sidecars[i]);
        if (unlink(p) != 0 && errno != ENOENT)
            return ak_err_set(err, AK_ERR_IO, "cannot remove %s: %s", p, strerror(errno));
    }
    return AK_OK;
}

static ak_code sync_path(const char *path, int dir, ak_err *err)
{
    int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        ak_code rc = ak_err_set(err, AK_ERR_IO, "cannot sync %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    close(fd);
    return AK_OK;
}

static int64_t total(const ak_sysdb_counts *c) { return c->hot + c->warm + c->cold; }

/* Count the old database's conversations and checkpoint it.  Returns 1 when
 * its file alone now holds every commit (or there is no old database). */
static int inspect_old(const char *path, ak_reingest_result *res)
{
    ak_sysdb *db = NULL;
    ak_sysdb_counts c;
    ak_err err;
    res->old_conversations = -1;
    ak_code rc = ak_sysdb_open(path, 0, &db, &err);
    if (rc == AK_ERR_NOTFOUND) {
        ak_fmt(res->old_state, sizeof res->old_state, "missing");
        return 1;
    }
    if (rc == AK_OK && (rc = ak_sysdb_counts_get(db, &c, &err)) == AK_OK)
        res->old_conversations = total(&c);
    int whole = rc == AK_OK && ak_sysdb_checkpoint(db, &err) == AK_OK;
    ak_fmt(res->old_state, sizeof res->old_state, "%s", rc == AK_OK ? "readable" : err.msg);
    if (rc == AK_OK && !whole)
        AK_WARN("reingest", "%s", err.msg);
    ak_sysdb_close(db);
    return whole;
}

typedef struct {
    char first_failure[AK_ERR_MSG_MAX];
    const ak_reingest_config *cfg;
    int64_t done, total; /* uploads, for cfg->on_progress */
} build_ctx;

static void note_upload(void *ctx, const char *sid, const char *uid, ak_upload_status st,
                        const char *reason, const ak_tally *t)
{
    (void)t;
    build_ctx *b = ctx;
    if (st == AK_UPLOAD_FAILED && !b->first_failure[0])
        ak_fmt(b->first_failure, sizeof b->first_failure, "%s/%s: %s", sid, uid, reason);
    if (b->cfg->on_progress) {
        b->done++;
        b->cfg->on_progress(b->cfg->progress_ctx, b->done, b->total > b->done ? b->total : b->done);
    }
}

/* Apply every upload of the system into a fresh database at tmp. */
static ak_code build(const ak_reingest_config *cfg, const char *sid, const char *tmp,
                     ak_reingest_result *res, build_ctx *b, ak_err *err)
{
    ak_sysdb *db;
    ak_sysdb_counts c;
    ak_ingest_stats st;
    ak_ingest_config ic = {
        .bucket = cfg->bucket, .data = cfg->data, .grace_us = cfg->grace_us,
        .now_us = cfg->now_us, .stop = cfg->stop, .on_upload = note_upload, .ctx = b,
    };
    ak_upload_list list;
    if (cfg->on_progress && ak_discover_uploads(cfg->bucket, sid, &list, err) == AK_OK) {
        b->total = (int64_t)list.n; /* only for the progress line: a failed listing shows none */
        ak_upload_list_free(&list);
    }
    ak_code rc = remove_db_files(tmp, 0, err);
    if (rc == AK_OK)
        rc = ak_sysdb_open(tmp, 1, &db, err);
    if (rc)
        return rc;
    rc = ak_ingest_system(&ic, sid, db, &st, err);
    if (rc == AK_OK && (rc = ak_sysdb_counts_get(db, &c, err)) == AK_OK)
        res->conversations = total(&c);
    if (rc == AK_OK)
        rc = ak_sysdb_checkpoint(db, err); /* the file alone is the database */
    ak_sysdb_close(db);
    res->uploads_ingested = st.uploads_ingested;
    res->uploads_rejected = st.uploads_rejected;
    res->uploads_failed = st.uploads_failed;
    if (rc == AK_OK && cfg->stop && atomic_load(cfg->stop))
        rc = ak_err_set(err, AK_ERR_ABORTED, "stopped before every upload was applied");
    return rc;
}

/* Refuse a rebuild that would lose records; see reingest.h. */
static ak_code judge(const ak_reingest_config *cfg, const ak_reingest_result *res,
                     const build_ctx *b, ak_err *err)
{
    if (cfg->force)
        return AK_OK;
    if (res->uploads_failed)
        return ak_err_set(err, AK_ERR_INVALID,
                          "%lld uploads could not be applied (first: %s); the rebuilt database "
                          "would miss their records, so nothing was changed (retry when the "
                          "bucket is healthy, or --force to swap and let ingestion retry them)",
                          (long long)res->uploads_failed, b->first_failure);
    if (res->old_conversations > res->conversations)
        return ak_err_set(err, AK_ERR_INVALID,
                          "the rebuilt database holds %lld conversations but the current one "
                          "%lld: uploads may be missing from the bucket, so nothing was changed "
                          "(--force replaces it anyway)",
                          (long long)res->conversations, (long long)res->old_conversations);
    return AK_OK;
}

/* A backup name not taken yet: <path>.replaced-<stamp>[-N]. */
static ak_code backup_name(const char *path, int64_t now_us, char *out, size_t n, ak_err *err)
{
    char stamp[32];
    time_t t = (time_t)(now_us / AK_US_PER_SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 0; i < 1000; i++) {
        int k = i ? snprintf(out, n, "%s" BACKUP_INFIX "%s-%d", path, stamp, i)
                  : snprintf(out, n, "%s" BACKUP_INFIX "%s", path, stamp);
        if (k < 0 || (size_t)k >= n)
            return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
        if (access(out, F_OK) != 0)
            return AK_OK;
    }
    return ak_err_set(err, AK_ERR_IO, "too many backups of %s", path);
}

static ak_code rename_sidecar(const char *from, const char *to, const char *suffix, ak_err *err)
{
    char a[AK_PATH_MAX], b[AK_PATH_MAX];
    ak_fmt(a, sizeof a, "%s%s", from, suffix);
    ak_fmt(b, sizeof b, "%s%s", to, suffix);
    if (rename(a, b) != 0 && errno != ENOENT)
        return ak_err_set(err, AK_ERR_IO, "cannot move %s to %s: %s", a, b, strerror(errno));
    return AK_OK;
}

/* Steps 2-4 of the swap (see the top of this file). */
static ak_code swap_in(const char *path, const char *tmp, ak_reingest_result *res,
                       int64_t now_us, ak_err *err)
{
    char shm[AK_PATH_MAX], dir[AK_PATH_MAX];
    ak_code rc = AK_OK;
    if (access(path, F_OK) == 0) {
        rc = backup_name(path, now_us, res->backup, sizeof res->backup, err);
        if (rc == AK_OK && link(path, res->backup) != 0)
            rc = ak_err_set(err, AK_ERR_IO, "cannot keep %s as %s: %s", path, res->backup,
                            strerror(errno));
        if (rc == AK_OK)
            rc = rename_sidecar(path, res->backup, "-wal", err);
        ak_fmt(shm, sizeof shm, "%s-shm", path);
        if (rc == AK_OK && unlink(shm) != 0 && errno != ENOENT)
            rc = ak_err_set(err, AK_ERR_IO, "cannot remove %s: %s", shm, strerror(errno));
    }
    if (rc == AK_OK && (rc = remove_db_files(tmp, 1, err)) == AK_OK &&
        rename(tmp, path) != 0)
        rc = ak_err_set(err, AK_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc)
        return rc;
    res->swapped = 1;
    ak_fmt(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    return sync_path(dir, 1, err);
}

/* ---- the bound on backups ---- */

/* The time of a backup named <base>.replaced-<stamp>[-N] (no sidecar), or
 * -1 when name is not one of base's backups. */
static int64_t backup_time(const char *base, const char *name)
{
    size_t n = strlen(base), k = strlen(BACKUP_INFIX);
    if (strncmp(name, base, n) != 0 || strncmp(name + n, BACKUP_INFIX, k) != 0)
        return -1;
    const char *stamp = name + n + k, *rest;
    struct tm tm = {0};
    if (!(rest = strptime(stamp, "%Y%m%dT%H%M%SZ", &tm)))
        return -1;
    if (*rest == '-' && rest[1])
        rest += 1 + strspn(rest + 1, "0123456789");
    return *rest ? -1 : (int64_t)timegm(&tm) * AK_US_PER_SEC;
}

typedef struct {
    char name[256];
    int64_t at_us;
} backup;

static int newest_first(const void *a, const void *b)
{
    const backup *x = a, *y = b;
    if (x->at_us != y->at_us)
        return x->at_us > y->at_us ? -1 : 1;
    return strcmp(y->name, x->name);
}

/* Remove path's backups beyond the bound (reingest.h); the newest stays. */
static int64_t prune_backups(const char *path, int64_t now_us)
{
    char dir[AK_PATH_MAX], base[AK_PATH_MAX];
    ak_fmt(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    ak_fmt(base, sizeof base, "%s", slash + 1);
    DIR *d = opendir(dir);
    backup *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int64_t at = backup_time(base, e->d_name);
        if (at < 0 || strlen(e->d_name) >= sizeof list->name)
            continue;
        if (n == cap) {
            backup *p = realloc(list, (cap = cap ? cap * 2 : 8) * sizeof *p);
            if (!p)
                break;
            list = p;
        }
        ak_fmt(list[n].name, sizeof list[n].name, "%s", e->d_name);
        list[n++].at_us = at;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(list, n, sizeof *list, newest_first);
    int64_t removed = 0;
    for (size_t i = 1; i < n; i++) {
        if (i < AK_REINGEST_BACKUPS_KEEP && now_us - list[i].at_us <= AK_REINGEST_BACKUP_MAX_AGE_US)
            continue;
        char p[AK_PATH_MAX];
        ak_err err;
        ak_fmt(p, sizeof p, "%s/%s", dir, list[i].name);
        if (remove_db_files(p, 0, &err) == AK_OK)
            removed++;
        else
            AK_WARN("reingest", "%s", err.msg);
    }
    free(list);
    return removed;
}

ak_code ak_reingest_system(const ak_reingest_config *cfg, const char *system_id,
                           ak_reingest_result *out, ak_err *err)
{
    int64_t t0 = ak_time_mono_us(), now = cfg->now_us ? cfg->now_us : ak_time_now_us();
    char path[AK_PATH_MAX], tmp[AK_PATH_MAX + sizeof TMP_SUFFIX];
    build_ctx b = {.cfg = cfg};
    memset(out, 0, sizeof *out);
    out->old_conversations = -1;
    ak_code rc = ak_datadir_db_path(cfg->data, system_id, path, sizeof path, err);
    if (rc)
        return rc;
    ak_fmt(tmp, sizeof tmp, "%s" TMP_SUFFIX, path);
    ak_fmt(out->old_state, sizeof out->old_state, "missing");
    char *slash = strrchr(path, '/');
    *slash = '\0';
    rc = ak_mkdirs(path, err);
    *slash = '/';
    if (rc == AK_OK)
        rc = build(cfg, system_id, tmp, out, &b, err);
    int whole = rc == AK_OK ? inspect_old(path, out) : 0;
    if (rc == AK_OK)
        rc = judge(cfg, out, &b, err);
    ak_tomb t;
    if (rc == AK_OK && !cfg->force && !out->conversations &&
        ak_tomb_get(cfg->data, system_id, &t, NULL) == AK_OK)
        rc = ak_err_set(err, AK_ERR_INVALID, "%s was forgotten and the bucket holds no upload "
                        "newer than its tombstone: nothing to rebuild (akosha forget "
                        "--allow-return lets its old uploads back)", system_id);
    if (rc == AK_OK)
        rc = sync_path(tmp, 0, err);
    if (rc == AK_OK) {
        if (!whole)
            AK_WARN("reingest", "%s: the old database could not be checkpointed (%s); its WAL "
                                "goes to the backup with it", path, out->old_state);
        ak_testpoint("reingest.built"); /* new database complete, not swapped in */
        if (cfg->before_swap)
            cfg->before_swap(cfg->ctx, system_id);
        rc = swap_in(path, tmp, out, now, err);
        if (out->swapped)
            out->backups_removed = prune_backups(path, now);
        if (cfg->after_swap)
            cfg->after_swap(cfg->ctx, system_id);
    }
    if (!out->swapped) {
        ak_err ignored;
        remove_db_files(tmp, 0, &ignored);
    }
    out->seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    return rc;
}

void ak_reingest_result_json(ak_jw *w, const ak_reingest_result *r)
{
    ak_jw_kint(w, "uploads_ingested", r->uploads_ingested);
    ak_jw_kint(w, "uploads_rejected", r->uploads_rejected);
    ak_jw_kint(w, "uploads_failed", r->uploads_failed);
    ak_jw_kint(w, "conversations", r->conversations);
    ak_jw_key(w, "old_conversations");
    if (r->old_conversations < 0)
        ak_jw_null(w);
    else
        ak_jw_int(w, r->old_conversations);
    ak_jw_kstr(w, "old_database", r->old_state);
    ak_jw_key(w, "backup");
    if (r->backup[0])
        ak_jw_str(w, r->backup);
    else
        ak_jw_null(w);
    ak_jw_kint(w, "backups_removed", r->backups_removed);
    ak_jw_kbool(w, "swapped", r->swapped);
    ak_jw_kdouble(w, "seconds", r->seconds);
}
