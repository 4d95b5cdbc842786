/* prune.c - see prune.h. */
#include "ops/prune.h"

#include <stdlib.h>
#include <string.h>

#include "ingest/discover.h"
#include "storage/pruned.h"
#include "storage/syslock.h"
#include "storage/sysdb.h"
#include "storage/tombstone.h"
#include "util/log.h"
#include "util/strlist.h"
#include "util/testpoint.h"
#include "util/time.h"

typedef struct {
    const ak_prune_config *cfg;
    ak_prune_stats *st;
    int64_t now;
} run;

/* ---- deleting ---- */

/* Delete everything under prefix (an interrupted prune), listing from the
 * start again after each page so no continuation token is disturbed. */
static ak_code delete_prefix(run *r, const char *prefix, ak_err *err)
{
    ak_code rc = AK_OK;
    for (int more = 1; rc == AK_OK && more;) {
        ak_store_page page;
        if ((rc = ak_store_list(r->cfg->bucket, prefix, NULL, NULL, 0, &page, err)))
            break;
        more = page.n_objs > 0;
        for (size_t i = 0; rc == AK_OK && i < page.n_objs; i++) {
            if ((rc = ak_store_delete(r->cfg->bucket, page.objs[i].key, err)) == AK_OK) {
                r->st->objects++;
                r->st->bytes += page.objs[i].size;
                ak_testpoint("prune.deleted");
            }
        }
        ak_store_page_free(&page);
    }
    return rc;
}

/* Finish the deletes a crash interrupted. */
static ak_code resume(run *r, ak_sysdb *db, ak_err *err)
{
    ak_strlist ids = {0}, prefixes = {0};
    ak_code rc = ak_pruned_resuming(db, &ids, &prefixes, err);
    for (size_t i = 0; rc == AK_OK && i < ids.n && i < prefixes.n; i++) {
        if (r->cfg->dry_run)
            continue;
        if ((rc = delete_prefix(r, prefixes.v[i], err)) == AK_OK &&
            (rc = ak_pruned_finish(db, ids.v[i], err)) == AK_OK)
            r->st->uploads_resumed++;
    }
    ak_strlist_free(&ids);
    ak_strlist_free(&prefixes);
    return rc;
}

/* List u in pruned, then delete its manifest, then its other files. */
static ak_code prune_upload(run *r, ak_sysdb *db, const ak_upload_ref *u, ak_err *err)
{
    int64_t bytes = 0;
    for (size_t i = 0; i < u->n_files; i++)
        bytes += u->files[i].size;
    r->st->uploads_pruned++;
    if (r->cfg->dry_run) {
        r->st->objects += (int64_t)u->n_files;
        r->st->bytes += bytes;
        return AK_OK;
    }
    ak_code rc = ak_pruned_mark(db, u->upload_id, u->prefix, (int64_t)u->n_files, bytes, r->now,
                                err);
    if (rc == AK_OK)
        ak_testpoint("prune.marked");
    char key[AK_STORE_KEY_MAX + 1];
    for (int manifest = 1; manifest >= 0; manifest--) {
        for (size_t i = 0; rc == AK_OK && i < u->n_files; i++) {
            if ((strcmp(u->files[i].name, "manifest.json") == 0) != manifest)
                continue;
            ak_fmt(key, sizeof key, "%s%s", u->prefix, u->files[i].name);
            if ((rc = ak_store_delete(r->cfg->bucket, key, err)) == AK_OK) {
                r->st->objects++;
                r->st->bytes += u->files[i].size;
                ak_testpoint("prune.deleted");
            }
        }
    }
    return rc == AK_OK ? ak_pruned_finish(db, u->upload_id, err) : rc;
}

/* ---- choosing ---- */

static const ak_upload_ref *find_upload(const ak_upload_list *l, const char *uid)
{
    for (size_t i = 0; i < l->n; i++) /* l is sorted, but short: no need to bisect */
        if (!strcmp(l->ups[i].upload_id, uid))
            return &l->ups[i];
    return NULL;
}

static ak_code prune_db(run *r, const char *sid, ak_sysdb *db, ak_err *err)
{
    ak_strlist ingested = {0}, pins = {0};
    ak_upload_list list = {0};
    ak_code rc = resume(r, db, err);
    if (rc == AK_OK)
        rc = ak_pruned_candidates(db, &ingested, err);
    if (rc == AK_OK)
        rc = ak_pruned_pinned(db, &pins, err);
    if (rc == AK_OK && ingested.n > (size_t)r->cfg->keep)
        rc = ak_discover_uploads(r->cfg->bucket, sid, &list, err);
    for (size_t i = 0; rc == AK_OK && i < ingested.n; i++) {
        const char *uid = ingested.v[i];
        const ak_upload_ref *u;
        if (i < (size_t)r->cfg->keep)
            r->st->uploads_kept++;
        else if (ak_strlist_sorted_has(&pins, uid))
            r->st->uploads_pinned++;
        else if ((u = find_upload(&list, uid)))
            rc = prune_upload(r, db, u, err);
    }
    ak_upload_list_free(&list);
    ak_strlist_free(&ingested);
    ak_strlist_free(&pins);
    return rc;
}

static ak_code prune_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard;
    run *r = ctx;
    ak_syslock *lock = NULL;
    ak_sysdb *db = NULL;
    ak_tomb t;
    ak_err err;
    r->st->systems++;
    ak_code rc = ak_syslock_take(r->cfg->data, sid, &lock, &err);
    if (rc == AK_OK && ak_tomb_get(r->cfg->data, sid, &t, &err) == AK_OK && !t.done) {
        ak_syslock_release(lock); /* being forgotten: forget deals with its uploads */
        return AK_OK;
    }
    if (rc == AK_OK && (rc = ak_sysdb_open(path, 0, &db, &err)) == AK_OK)
        rc = prune_db(r, sid, db, &err);
    ak_sysdb_close(db);
    ak_syslock_release(lock);
    if (rc && rc != AK_ERR_NOTFOUND) {
        r->st->systems_failed++;
        AK_WARN("prune", "system %s: %s", sid, err.msg);
    }
    return AK_OK; /* one system's trouble never stops the others */
}

ak_code ak_prune_bucket(const ak_prune_config *cfg, ak_prune_stats *st, ak_err *err)
{
    int64_t t0 = ak_time_mono_us();
    memset(st, 0, sizeof *st);
    st->dry_run = cfg->dry_run;
    if (cfg->keep < 1)
        return ak_err_set(err, AK_ERR_INVALID, "keep at least the newest upload (keep >= 1)");
    run r = {.cfg = cfg, .st = st, .now = cfg->now_us ? cfg->now_us : ak_time_now_us()};
    ak_code rc;
    if (cfg->system_id) {
        char path[AK_PATH_MAX];
        if ((rc = ak_datadir_db_path(cfg->data, cfg->system_id, path, sizeof path, err)))
            return rc;
        rc = prune_system(&r, cfg->system_id, 0, path);
    } else {
        rc = ak_datadir_each_system(cfg->data, prune_system, &r, err);
    }
    st->seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    return rc;
}

void ak_prune_stats_json(ak_jw *w, const ak_prune_stats *st)
{
    ak_jw_kbool(w, "dry_run", st->dry_run);
    ak_jw_kint(w, "systems", st->systems);
    ak_jw_kint(w, "systems_failed", st->systems_failed);
    ak_jw_kint(w, "uploads_kept", st->uploads_kept);
    ak_jw_kint(w, "uploads_pinned", st->uploads_pinned);
    ak_jw_kint(w, "uploads_pruned", st->uploads_pruned);
    ak_jw_kint(w, "uploads_resumed", st->uploads_resumed);
    ak_jw_kint(w, "objects_deleted", st->objects);
    ak_jw_kint(w, "bytes_reclaimed", st->bytes);
    ak_jw_kdouble(w, "seconds", st->seconds);
}
