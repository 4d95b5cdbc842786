/*
 * verify.c - see verify.h.
 *
 * The cold catalog is walked in object-key order, so each object is looked
 * up (or, deep, read and parsed) once for all the conversations it holds.
 */
#include "ops/verify.h"

#include "ingest/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/forget.h"
#include "storage/check.h"
#include "tier/cold.h"
#include "tier/parquet_read.h"
#include "util/buf.h"
#include "query/segfile.h"
#include "query/vindex.h"
#include "util/ids.h"
#include "util/time.h"

typedef struct {
    const ak_verify_config *cfg;
    ak_verify_fn fn;
    void *ctx;
    ak_verify_stats *st;
    const char *sid, *path;
    int bad; /* problems found in the current system */
    /* the cold object being checked */
    char key[AK_STORE_KEY_MAX + 1];
    int have_key, readable;
    int64_t rows;
    char why[AK_ERR_MSG_MAX];
    char *file;
    ak_pq_reader *reader;
    /* the current system's catalogued object keys, sorted */
    char **keys;
    size_t n_keys, cap_keys;
    ak_store *outbox; /* pushed batches (ingest/outbox.h), or NULL */
} vrun;

static void report(vrun *v, const char *check, const char *message)
{
    ak_verify_problem p = {v->sid, v->path, check, message, 0};
    v->fn(v->ctx, &p);
    v->st->problems++;
    v->bad++;
}

static void notice(vrun *v, const char *check, const char *message)
{
    ak_verify_problem p = {v->sid, v->path, check, message, 1};
    v->fn(v->ctx, &p);
}

static void on_db_problem(void *ctx, const char *check, const char *message)
{
    report(ctx, check, message);
}

/* ---- cold catalog ---- */

static void finish_object(vrun *v)
{
    if (v->have_key && !v->readable) {
        char msg[AK_ERR_MSG_MAX + AK_STORE_KEY_MAX + 96];
        ak_fmt(msg, sizeof msg, "object %s (%lld catalogued conversations): %s", v->key,
               (long long)v->rows, v->why);
        report(v, "cold", msg);
    }
    ak_pq_reader_free(v->reader);
    free(v->file);
    v->reader = NULL;
    v->file = NULL;
    v->have_key = 0;
    v->rows = 0;
}

/* The catalog is walked in key order, so the list comes out sorted. */
static void remember_key(vrun *v, const char *key)
{
    if (v->n_keys == v->cap_keys) {
        size_t cap = v->cap_keys ? v->cap_keys * 2 : 64;
        char **grown = realloc(v->keys, cap * sizeof *grown);
        if (!grown) /* unremembered: check_orphan asks the catalog again */
            return;
        v->keys = grown;
        v->cap_keys = cap;
    }
    if ((v->keys[v->n_keys] = strdup(key)))
        v->n_keys++;
}

static void forget_keys(vrun *v)
{
    for (size_t i = 0; i < v->n_keys; i++)
        free(v->keys[i]);
    v->n_keys = 0;
}

static void start_object(vrun *v, const char *key)
{
    ak_err err;
    remember_key(v, key);
    char part[AK_COLD_PREFIX_MAX];
    size_t len = 0;
    ak_fmt(v->key, sizeof v->key, "%s", key);
    v->have_key = 1;
    v->st->cold_objects++;
    ak_cold_system_prefix(v->sid, part, sizeof part);
    ak_code rc = !strncmp(key, part, strlen(part)) ? AK_OK
                                   : ak_err_set(&err, AK_ERR_CORRUPT, "not under %s", part);
    if (rc == AK_OK && !v->cfg->deep)
        rc = ak_store_head(v->cfg->cold, key, NULL, &err);
    if (rc == AK_OK && v->cfg->deep &&
        (rc = ak_store_get_small(v->cfg->cold, key, AK_COLD_OBJECT_MAX, &v->file, &len, &err)) ==
            AK_OK)
        rc = ak_pq_reader_open(v->file, len, &v->reader, &err);
    v->readable = rc == AK_OK;
    if (rc)
        ak_fmt(v->why, sizeof v->why, "%s", rc == AK_ERR_NOTFOUND ? "missing from the cold store"
                                                                  : err.msg);
}

/* Deep: the object holds the conversation as catalogued. */
static void check_row(vrun *v, const char *cid, const char *sha, int64_t ts_us)
{
    ak_pq_row row;
    ak_err err;
    char msg[AK_ERR_MSG_MAX + AK_STORE_KEY_MAX];
    ak_code rc = ak_pq_reader_find(v->reader, cid, strlen(cid), &row, &err);
    if (rc)
        ak_fmt(msg, sizeof msg, "object %s: conversation %s: %s", v->key, cid,
               rc == AK_ERR_NOTFOUND ? "not in the object" : err.msg);
    else if (row.content_sha256.len != strlen(sha) ||
             memcmp(row.content_sha256.p, sha, row.content_sha256.len) != 0)
        ak_fmt(msg, sizeof msg, "object %s: conversation %s: content SHA-256 %.*s, the catalog "
                                "says %s", v->key, cid, (int)row.content_sha256.len,
               row.content_sha256.p, sha);
    else if (row.ts_us != ts_us)
        ak_fmt(msg, sizeof msg, "object %s: conversation %s: timestamp differs from the catalog",
               v->key, cid);
    else
        return;
    report(v, "cold", msg);
}

static ak_code on_cold_row(void *ctx, const char *key, const char *cid, const char *sha,
                           int64_t ts_us)
{
    vrun *v = ctx;
    if (!v->have_key || strcmp(v->key, key) != 0) {
        finish_object(v);
        start_object(v, key);
    }
    v->rows++;
    v->st->cold_rows++;
    if (v->readable && v->cfg->deep)
        check_row(v, cid, sha, ts_us);
    return AK_OK;
}

/* ---- objects no catalog row names ---- */

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int catalogued(const vrun *v, const char *key)
{
    return v->n_keys && bsearch(&key, v->keys, v->n_keys, sizeof *v->keys, cmp_key);
}

typedef struct {
    ak_dbcheck *c;
    const char *key;
    int64_t rows, elsewhere;
    ak_err err; /* of a failed lookup */
} orphan_scan;

static ak_code orphan_row(void *ctx, const ak_pq_row *row)
{
    orphan_scan *o = ctx;
    int found = 0;
    o->rows++;
    ak_code rc = ak_dbcheck_holds(o->c, row->conversation_id.p, row->conversation_id.len, o->key,
                                  &found, &o->err);
    o->elsewhere += found;
    return rc;
}

static void check_orphan(vrun *v, ak_dbcheck *c, const char *key)
{
    char *file = NULL, msg[AK_ERR_MSG_MAX + AK_STORE_KEY_MAX + 160];
    size_t len = 0;
    ak_pq_reader *r = NULL;
    orphan_scan o = {.c = c, .key = key};
    ak_err err;
    int named = 0;
    /* catalogued since the walk (an export finished), or a key the walk
     * could not remember: not an orphan */
    if (ak_dbcheck_names_object(c, key, &named, &err) || named) {
        if (!named)
            report(v, "cold", err.msg);
        return;
    }
    int replaced = 0;
    if (ak_dbcheck_garbage(c, key, &replaced, &err) == AK_OK && replaced) {
        ak_fmt(msg, sizeof msg, "object %s was replaced by a compaction (or its export was "
                                "cut short); the next aging pass deletes it", key);
        notice(v, "cold-pending", msg);
        v->st->cold_leftovers++;
        return;
    }
    ak_code rc = ak_store_get_small(v->cfg->cold, key, AK_COLD_OBJECT_MAX, &file, &len, &err);
    if (rc == AK_OK && (rc = ak_pq_reader_open(file, len, &r, &err)) == AK_OK)
        rc = ak_pq_reader_each(r, orphan_row, &o, &err);
    ak_pq_reader_free(r);
    free(file);
    if (rc && o.err.code) { /* the catalog lookup failed, not the object */
        report(v, "cold", o.err.msg);
    } else if (rc) {
        ak_fmt(msg, sizeof msg, "object %s is in no catalog and cannot be read: %s", key, err.msg);
        report(v, "cold-orphan", msg);
    } else if (o.elsewhere < o.rows) {
        ak_fmt(msg, sizeof msg, "object %s is in no catalog and holds %lld conversations this "
                                "system stores nowhere else: keep it (hot-store-failure.md)",
               key, (long long)(o.rows - o.elsewhere));
        report(v, "cold-orphan", msg);
    } else {
        ak_fmt(msg, sizeof msg, "object %s is in no catalog; its %lld conversations are stored "
                                "elsewhere (left by a rebuild): it may be deleted", key,
               (long long)o.rows);
        notice(v, "cold-leftover", msg);
        v->st->cold_leftovers++;
    }
}

/* List the system's prefix in the cold store; read what the catalog does
 * not name.  Recent objects are skipped: an export writes its object
 * before it catalogs it. */
static void find_orphans(vrun *v, ak_dbcheck *c)
{
    char prefix[AK_COLD_PREFIX_MAX];
    int64_t recent = ak_time_now_us() - AK_VERIFY_ORPHAN_AGE_US;
    ak_err err;
    ak_cold_system_prefix(v->sid, prefix, sizeof prefix);
    ak_store_lister ls = {.prefix = prefix};
    do {
        ak_store_page page;
        if (ak_store_list_next(v->cfg->cold, &ls, &page, &err)) {
            report(v, "cold", err.msg);
            break;
        }
        for (size_t i = 0; i < page.n_objs; i++) {
            const char *key = page.objs[i].key;
            if (page.objs[i].mtime_us < recent && !catalogued(v, key))
                check_orphan(v, c, key);
        }
        ak_store_page_free(&page);
    } while (!ls.done);
    ak_store_lister_free(&ls);
}

static void on_temp(void *ctx, const char *path, int64_t size)
{
    vrun *v = ctx;
    char msg[AK_ERR_MSG_MAX];
    ak_fmt(msg, sizeof msg, "temp file %s (%lld bytes) left in the cold store by an interrupted "
           "export; the next aging pass removes it", path, (long long)size);
    notice(v, "cold-temp", msg);
    v->st->cold_temps++;
}

static void find_temps(vrun *v)
{
    char prefix[AK_COLD_PREFIX_MAX];
    size_t n;
    ak_err err;
    ak_cold_system_prefix(v->sid, prefix, sizeof prefix);
    if (ak_store_temps(v->cfg->cold, prefix, 0, on_temp, v, &n, &err) != AK_OK)
        report(v, "cold", err.msg);
}

/* ---- systems ---- */

/* The system's segment file (query/segfile.h), float section included: a
 * damaged one loses nothing (serve rebuilds it from the database), so it
 * is a notice.  A stale one is not reported: it is reloaded at start,
 * unless its recorded file state still matches the database's files, so
 * that serve would map it without opening the database (c, when the
 * database could be read, checks its epoch): that one would be served
 * stale, a problem.  *before is the files' state taken before c opened
 * the database (opening it creates its WAL). */
static void check_segfile(vrun *v, const char *sid, const char *path, ak_dbcheck *c,
                          const ak_segfile_fs *before)
{
    char fpath[AK_PATH_MAX], msg[AK_ERR_MSG_MAX + 160];
    ak_segfile_info info;
    ak_file_id id = ak_file_id_of(path);
    uint64_t epoch;
    ak_err err;
    if (ak_segfile_path(path, fpath, sizeof fpath, &err))
        return;
    if (ak_segfile_check(fpath, sid, NULL, &err) == AK_ERR_CORRUPT) {
        snprintf(msg, sizeof msg, "%s (it is rebuilt from the database at the next start)", err.msg);
        notice(v, "segment-file", msg);
        return;
    }
    if (!c || ak_segfile_peek(fpath, &info, &err) || !ak_segfile_fs_same(&info.fs, before) ||
        ak_dbcheck_vec_epoch(c, &epoch, &err))
        return;
    if (info.st.dev != id.dev || info.st.ino != id.ino || info.st.epoch != epoch)
        report(v, "segment-file",
               "segment file stale, yet it records the database's files as they are now, so "
               "serve would map it without reading the database: delete it (serve rebuilds it)");
}

static void check_system(vrun *v, const char *sid, const char *path)
{
    ak_dbcheck *c = NULL;
    ak_err err;
    v->sid = sid;
    v->path = path;
    v->bad = 0;
    v->st->systems++;
    ak_segfile_fs before;
    ak_segfile_fs_of(path, 0, &before);
    ak_code rc = ak_dbcheck_open(path, &c, &err);
    if (rc)
        report(v, "open", rc == AK_ERR_NOTFOUND ? "no database" : err.msg);
    if (rc == AK_OK && ak_dbcheck_run(c, v->cfg->deep, on_db_problem, v) == 0 && v->cfg->cold) {
        if (ak_dbcheck_each_cold(c, on_cold_row, v, &err))
            report(v, "cold", err.msg);
        else
            find_orphans(v, c);
        find_temps(v);
        finish_object(v);
        forget_keys(v);
    }
    check_segfile(v, sid, path, c, &before);
    ak_dbcheck_close(c);
    if (v->bad)
        v->st->systems_bad++;
}

static ak_code each_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard;
    check_system(ctx, sid, path);
    return AK_OK;
}

/* ---- pushed batches not yet in the bucket ---- */

static ak_code unshipped_system(void *ctx, const char *sid)
{
    vrun *v = ctx;
    int64_t n = 0;
    ak_err err;
    if (v->cfg->system_id && strcmp(sid, v->cfg->system_id) != 0)
        return AK_OK;
    if (ak_outbox_count(v->outbox, sid, &n, &err) == AK_OK && n) {
        char msg[200];
        snprintf(msg, sizeof msg, "%lld pushed batches are kept only on local disk (the "
                                  "outbox), not yet shipped to the bucket",
                 (long long)n);
        v->sid = sid;
        v->path = ak_store_url(v->outbox);
        notice(v, "push-unshipped", msg);
        v->st->push_unshipped += n;
    }
    return AK_OK;
}

static void check_outbox(vrun *v)
{
    ak_err err;
    if (ak_outbox_open_existing(v->cfg->data, &v->outbox, &err) == AK_OK && v->outbox)
        ak_outbox_each_system(v->outbox, unshipped_system, v, &err);
    ak_store_close(v->outbox);
}

/* The vector index file (query/vindex.h): a damaged one loses nothing (it
 * is rebuilt from the databases), so it is a notice, not a problem. */
static void check_vindex(vrun *v)
{
    char path[AK_PATH_MAX], msg[AK_ERR_MSG_MAX + 80];
    ak_err err;
    if (ak_fmt(path, sizeof path, "%s/%s", ak_datadir_path(v->cfg->data), AK_VINDEX_FILE) ||
        ak_vindex_check(path, &err) != AK_ERR_CORRUPT)
        return;
    snprintf(msg, sizeof msg, "%s (it is rebuilt from the databases at the next start)",
             err.msg);
    v->sid = "";
    v->path = path;
    notice(v, "vector-index", msg);
    v->path = ""; /* path is this frame's: v must not keep it */
}

/* Leftovers of forgotten systems and cold prefixes nobody owns. */
static void on_leftover(void *ctx, const char *sid, const char *check, const char *message)
{
    vrun *v = ctx;
    v->sid = sid;
    v->path = "";
    report(v, check, message);
}

ak_code ak_verify_run(const ak_verify_config *cfg, ak_verify_fn fn, void *ctx,
                      ak_verify_stats *out, ak_err *err)
{
    int64_t t0 = ak_time_mono_us();
    vrun v = {.cfg = cfg, .fn = fn, .ctx = ctx, .st = out};
    memset(out, 0, sizeof *out);
    ak_code rc = AK_OK;
    if (cfg->system_id) {
        char path[AK_PATH_MAX];
        rc = ak_datadir_db_path(cfg->data, cfg->system_id, path, sizeof path, err);
        if (rc == AK_OK)
            check_system(&v, cfg->system_id, path);
    } else {
        rc = ak_datadir_each_system(cfg->data, each_system, &v, err);
    }
    if (rc == AK_OK)
        check_outbox(&v);
    if (rc == AK_OK && !cfg->system_id)
        check_vindex(&v);
    if (rc == AK_OK)
        rc = ak_forget_check(cfg->data, cfg->cold, cfg->system_id, on_leftover, &v, err);
    free(v.keys);
    out->seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    return rc;
}
