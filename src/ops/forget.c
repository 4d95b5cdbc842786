/*
 * forget.c - see forget.h.
 *
 * The order, each step idempotent:
 *   1. the tombstone, state "forgetting" (durable before any delete);
 *   2. the daemon's hook: its index lets go of the system;
 *   3. cold objects: the catalogued ones outside the system's prefix (read
 *      from its database, so before 4), then everything under the prefix;
 *   3b. its knowledge-graph entities and relations (graph/graph.h: nodes
 *      only it named go too), one transaction;
 *   4. the database's files: sidecars, leftovers and backups first, the
 *      database itself last, then the directory is synced;
 *   5. with purge_bucket, everything under systems/<id>/ in the bucket;
 *   6. the tombstone becomes "forgotten".
 * Deleting from a store lists from the start again after each page, so
 * deletions never disturb a continuation token.
 */
#include "ops/forget.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/graph.h"
#include "ingest/outbox.h"
#include "storage/coldcat.h"
#include "storage/syslock.h"
#include "storage/sysdb.h"
#include "storage/tombstone.h"
#include "tier/cold.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/strlist.h"
#include "util/testpoint.h"
#include "util/time.h"

/* ---- the database's files ---- */

static int is_sidecar(const char *s)
{
    return !*s || !strcmp(s, "-wal") || !strcmp(s, "-shm") || !strcmp(s, "-journal") ||
           !strcmp(s, "-seg") || !strcmp(s, "-seg.tmp"); /* query/segfile.h */
}

/* 2 for <id>.db itself, 1 for another file of the system's database
 * (sidecars, <id>.db.reingest*, <id>.db.replaced-<stamp>[-N]*), 0 for a
 * file that is not its.  A backup stamp holds no '.', so another system's
 * database (whose name ends in ".db") never matches. */
static int db_file_kind(const char *sid, const char *name)
{
    size_t n = strlen(sid);
    if (strncmp(name, sid, n) != 0 || strncmp(name + n, ".db", 3) != 0)
        return 0;
    const char *rest = name + n + 3;
    if (!*rest)
        return 2;
    if (is_sidecar(rest))
        return 1;
    if (!strncmp(rest, ".reingest", 9) && is_sidecar(rest + 9))
        return 1;
    if (strncmp(rest, ".replaced-", 10) != 0)
        return 0;
    rest += 10;
    size_t stamp = strspn(rest, "0123456789TZ");
    if (stamp < 16)
        return 0;
    rest += stamp;
    if (rest[0] == '-' && rest[1] >= '0' && rest[1] <= '9')
        rest += 1 + strspn(rest + 1, "0123456789");
    return is_sidecar(rest) ? 1 : 0;
}

typedef struct {
    const char *sid;
    int remove;             /* 0: count */
    int main_too;           /* also <id>.db itself */
    int64_t files, bytes;
} db_walk;

static ak_code walk_db_files(const char *dir, db_walk *w, ak_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? AK_OK
                               : ak_err_set(err, AK_ERR_IO, "cannot read %s: %s", dir,
                                            strerror(errno));
    ak_code rc = AK_OK;
    struct dirent *e;
    while (rc == AK_OK && (e = readdir(d))) {
        int kind = db_file_kind(w->sid, e->d_name);
        if (!kind || (kind == 2 && !w->main_too))
            continue;
        char p[AK_PATH_MAX];
        struct stat st;
        ak_fmt(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0)
            continue;
        w->files++;
        w->bytes += st.st_size;
        if (w->remove && unlink(p) != 0 && errno != ENOENT)
            rc = ak_err_set(err, AK_ERR_IO, "cannot remove %s: %s", p, strerror(errno));
    }
    closedir(d);
    return rc;
}

static ak_code sync_dir(const char *dir, ak_err *err)
{
    int fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? AK_OK
                               : ak_err_set(err, AK_ERR_IO, "cannot open %s: %s", dir,
                                            strerror(errno));
    int ok = fsync(fd) == 0;
    close(fd);
    return ok ? AK_OK : ak_err_set(err, AK_ERR_IO, "cannot sync %s: %s", dir, strerror(errno));
}

/* Remove everything but the database, then the database. */
static ak_code remove_db_files(const char *dir, const char *sid, ak_forget_result *res,
                               ak_err *err)
{
    db_walk w = {.sid = sid, .remove = 1};
    ak_code rc = walk_db_files(dir, &w, err);
    ak_testpoint("forget.database");
    if (rc == AK_OK) {
        w.main_too = 1;
        rc = walk_db_files(dir, &w, err);
    }
    if (rc == AK_OK)
        rc = sync_dir(dir, err);
    res->db_files += w.files;
    res->db_bytes += w.bytes;
    return rc;
}

/* ---- what its database says ---- */

/* Count its conversations and uploads, and list its outside keys.  An
 * unreadable database is not an error: forgetting it is still right. */
static void survey_db(const char *path, const char *prefix, ak_forget_result *res,
                      ak_strlist *outside)
{
    ak_sysdb *db = NULL;
    ak_sysdb_counts c;
    ak_err err;
    if (access(path, F_OK) != 0)
        return;
    res->had_database = 1;
    ak_code rc = ak_sysdb_open(path, 0, &db, &err);
    if (rc == AK_OK && (rc = ak_sysdb_counts_get(db, &c, &err)) == AK_OK) {
        res->hot = c.hot;
        res->warm = c.warm;
        res->cold = c.cold;
        res->uploads = c.ingested + c.rejected + c.failed;
        rc = ak_coldcat_outside(db, prefix, outside, &err);
    }
    if (rc)
        AK_WARN("forget", "%s: %s (forgotten anyway)", path, err.msg);
    ak_sysdb_close(db);
}

/* ---- object stores ---- */

/* Count (remove == 0) or delete everything under prefix; point is the
 * test point reached after each delete.  Deleting lists from the start
 * again after each page; a first key still listed after it was deleted is
 * an error, not an endless loop (and ak_store_list_next() bounds a listing
 * that never ends). */
static ak_code walk_prefix(ak_store *s, const char *prefix, int remove, const char *point,
                           int64_t *objects, int64_t *bytes, ak_err *err)
{
    ak_store_lister l = {.prefix = prefix};
    char *first = NULL; /* deleting: the first key of the page before */
    ak_code rc = AK_OK;
    while (rc == AK_OK && !l.done) {
        ak_store_page page;
        if ((rc = ak_store_list_next(s, &l, &page, err)))
            break;
        if (remove && first && page.n_objs && !strcmp(first, page.objs[0].key))
            rc = ak_err_set(err, AK_ERR_IO, "%s is still listed after it was deleted", first);
        for (size_t i = 0; i < page.n_objs && rc == AK_OK; i++) {
            if (remove && (rc = ak_store_delete(s, page.objs[i].key, err)) == AK_OK)
                ak_testpoint(point);
            (*objects)++;
            *bytes += page.objs[i].size;
        }
        free(first);
        first = NULL;
        if (remove && rc == AK_OK && page.n_objs) {
            if (!(first = strdup(page.objs[0].key)))
                rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
            ak_store_lister_free(&l);
            l = (ak_store_lister){.prefix = prefix};
        }
        ak_store_page_free(&page);
    }
    free(first);
    ak_store_lister_free(&l);
    return rc;
}

static ak_code forget_cold(const ak_forget_config *cfg, const char *prefix,
                           const ak_strlist *outside, ak_forget_result *res, ak_err *err)
{
    ak_code rc = AK_OK;
    for (size_t i = 0; i < outside->n && rc == AK_OK; i++) {
        ak_store_obj info = {0};
        rc = ak_store_head(cfg->cold, outside->v[i], &info, err);
        if (rc == AK_ERR_NOTFOUND) {
            rc = AK_OK;
            continue;
        }
        if (rc == AK_OK && !cfg->dry_run)
            rc = ak_store_delete(cfg->cold, outside->v[i], err);
        res->cold_objects++;
        res->cold_bytes += info.size;
        free(info.key);
    }
    if (rc == AK_OK)
        rc = walk_prefix(cfg->cold, prefix, !cfg->dry_run, "forget.cold", &res->cold_objects,
                         &res->cold_bytes, err);
    if (rc)
        ak_err_prefix(err, "cold store: ");
    return rc;
}

static ak_code forget_bucket(const ak_forget_config *cfg, const char *sid,
                             ak_forget_result *res, ak_err *err)
{
    char prefix[AK_SYSTEM_ID_MAX + 16];
    ak_fmt(prefix, sizeof prefix, "systems/%s/", sid);
    ak_code rc = walk_prefix(cfg->bucket, prefix, !cfg->dry_run, "forget.bucket",
                             &res->bucket_objects, &res->bucket_bytes, err);
    if (rc)
        ak_err_prefix(err, "bucket: ");
    return rc;
}

/* Pushed batches of the system still in the outbox (not yet shipped to the
 * bucket, or kept there for want of one: ingest/outbox.h). */
static ak_code forget_outbox(const ak_forget_config *cfg, const char *sid,
                             ak_forget_result *res, ak_err *err)
{
    ak_store *ob = NULL;
    char prefix[AK_SYSTEM_ID_MAX + 16];
    ak_fmt(prefix, sizeof prefix, "systems/%s/", sid);
    ak_code rc = ak_outbox_open_existing(cfg->data, &ob, err);
    if (rc == AK_OK && ob)
        rc = walk_prefix(ob, prefix, !cfg->dry_run, "forget.outbox", &res->outbox_objects,
                         &res->outbox_bytes, err);
    ak_store_close(ob);
    if (rc)
        ak_err_prefix(err, "outbox: ");
    return rc;
}

/* What only the system contributed to the knowledge graph, when there is
 * one. */
static ak_code forget_graph(const ak_forget_config *cfg, const char *sid, ak_forget_result *res,
                            ak_err *err)
{
    char path[AK_PATH_MAX];
    struct stat sb;
    ak_graph *g = NULL;
    ak_code rc = ak_graph_path(cfg->data, path, sizeof path, err);
    if (rc || stat(path, &sb) != 0)
        return rc;
    if ((rc = ak_graph_open(path, 0, &g, err)) == AK_OK) {
        ak_testpoint("forget.graph");
        rc = ak_graph_forget_system(g, sid, cfg->dry_run, &res->graph_entities,
                                    &res->graph_relations, &res->graph_nodes, err);
    }
    ak_graph_close(g);
    if (rc)
        ak_err_prefix(err, "knowledge graph: ");
    return rc;
}

/* ---- the whole ---- */

static ak_code delete_all(const ak_forget_config *cfg, const char *sid, const char *path,
                          const char *prefix, const ak_strlist *outside, ak_forget_result *res,
                          ak_err *err)
{
    char dir[AK_PATH_MAX];
    ak_fmt(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    ak_code rc = forget_cold(cfg, prefix, outside, res, err);
    if (rc == AK_OK)
        rc = forget_outbox(cfg, sid, res, err);
    if (rc == AK_OK)
        rc = forget_graph(cfg, sid, res, err);
    if (rc == AK_OK && cfg->dry_run) {
        db_walk w = {.sid = sid, .main_too = 1};
        rc = walk_db_files(dir, &w, err);
        res->db_files = w.files;
        res->db_bytes = w.bytes;
    } else if (rc == AK_OK) {
        rc = remove_db_files(dir, sid, res, err);
    }
    if (rc == AK_OK && cfg->purge_bucket)
        rc = forget_bucket(cfg, sid, res, err);
    return rc;
}

/* Write the tombstone; an interrupted purge of the bucket must be finished. */
static ak_code begin(const ak_forget_config *cfg, const char *sid, int64_t now,
                     ak_forget_config *run, ak_forget_result *res, ak_err *err)
{
    ak_tomb t;
    *run = *cfg;
    if (cfg->dry_run)
        return AK_OK;
    ak_code rc = ak_tomb_begin(cfg->data, sid, now, cfg->purge_bucket, &t, &res->resumed, err);
    if (rc)
        return rc;
    res->tombstone_us = t.at_us;
    if (t.purge_bucket && !cfg->bucket)
        return ak_err_set(err, AK_ERR_INVALID, "an interrupted forget of %s was purging the "
                          "bucket: give the bucket (--bucket) to finish it", sid);
    run->purge_bucket = t.purge_bucket;
    ak_testpoint("forget.tombstone");
    return AK_OK;
}

ak_code ak_forget_system(const ak_forget_config *cfg, const char *system_id,
                         ak_forget_result *out, ak_err *err)
{
    int64_t t0 = ak_time_mono_us(), now = cfg->now_us ? cfg->now_us : ak_time_now_us();
    char path[AK_PATH_MAX], prefix[AK_COLD_PREFIX_MAX];
    ak_strlist outside = {0};
    memset(out, 0, sizeof *out);
    out->dry_run = cfg->dry_run;
    ak_code rc = ak_datadir_db_path(cfg->data, system_id, path, sizeof path, err);
    if (rc)
        return rc;
    if (cfg->purge_bucket && !cfg->bucket)
        return ak_err_set(err, AK_ERR_INVALID, "--purge-bucket needs the bucket (--bucket)");
    ak_cold_system_prefix(system_id, prefix, sizeof prefix);
    ak_forget_config run;
    ak_syslock *lock = NULL;
    /* held from before the survey and the tombstone to the end: an ingest,
     * push or aging pass of the system waits, then reads the tombstone
     * (storage/syslock.h) */
    if (!cfg->dry_run && (rc = ak_syslock_take(cfg->data, system_id, &lock, err)))
        return rc;
    ak_testpoint("forget.locked");
    survey_db(path, prefix, out, &outside);
    rc = begin(cfg, system_id, now, &run, out, err);
    if (rc == AK_OK) {
        if (!cfg->dry_run && cfg->before_delete)
            cfg->before_delete(cfg->ctx, system_id);
        rc = delete_all(&run, system_id, path, prefix, &outside, out, err);
        if (!cfg->dry_run && cfg->after_delete)
            cfg->after_delete(cfg->ctx, system_id);
    }
    if (rc == AK_OK && !cfg->dry_run) {
        ak_testpoint("forget.finish");
        rc = ak_tomb_finish(cfg->data, system_id, ak_time_now_us(), err);
    }
    ak_syslock_release(lock);
    ak_strlist_free(&outside);
    out->seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    return rc;
}

void ak_forget_result_json(ak_jw *w, const ak_forget_result *r)
{
    ak_jw_kbool(w, "dry_run", r->dry_run);
    ak_jw_kbool(w, "resumed", r->resumed);
    ak_jw_kbool(w, "had_database", r->had_database);
    ak_jw_key(w, "conversations");
    ak_jw_obj(w);
    ak_jw_kint(w, "hot", r->hot);
    ak_jw_kint(w, "warm", r->warm);
    ak_jw_kint(w, "cold", r->cold);
    ak_jw_end(w);
    ak_jw_kint(w, "uploads", r->uploads);
    ak_jw_kint(w, "database_files", r->db_files);
    ak_jw_kint(w, "database_bytes", r->db_bytes);
    ak_jw_kint(w, "cold_objects", r->cold_objects);
    ak_jw_kint(w, "cold_bytes", r->cold_bytes);
    ak_jw_key(w, "knowledge_graph");
    ak_jw_obj(w);
    ak_jw_kint(w, "entities", r->graph_entities);
    ak_jw_kint(w, "relations", r->graph_relations);
    ak_jw_kint(w, "nodes", r->graph_nodes);
    ak_jw_end(w);
    ak_jw_kint(w, "bucket_objects", r->bucket_objects);
    ak_jw_kint(w, "bucket_bytes", r->bucket_bytes);
    ak_jw_kint(w, "outbox_objects", r->outbox_objects);
    ak_jw_kint(w, "outbox_bytes", r->outbox_bytes);
    ak_jw_key(w, "tombstone_at");
    if (r->tombstone_us)
        ak_jw_time(w, r->tombstone_us);
    else
        ak_jw_null(w);
    ak_jw_kdouble(w, "seconds", r->seconds);
}

/* ---- leftovers, for verify ---- */

typedef struct {
    const ak_datadir *dd;
    ak_store *cold;
    ak_forget_leftover_fn fn;
    void *ctx;
    ak_strlist owned;       /* cold prefixes of systems with a database or a tombstone */
    ak_err *err;
} check_run;

static void leftover(check_run *c, const char *sid, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void leftover(check_run *c, const char *sid, const char *check, const char *fmt, ...)
{
    char msg[AK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->fn(c->ctx, sid, check, msg);
}

typedef struct {
    int64_t cut, early;
    char example[AK_UPLOAD_ID_MAX + 1];
} early_ctx;

static ak_code note_early(void *ctx, const ak_ledger_row *row)
{
    early_ctx *e = ctx;
    if (row->status == AK_UPLOAD_INGESTED && row->uploaded_at_us <= e->cut && !e->early++)
        ak_fmt(e->example, sizeof e->example, "%s", row->upload_id);
    return AK_OK;
}

/* A system that came back must hold nothing from before its tombstone. */
static void check_returned(check_run *c, const ak_tomb *t, const char *path)
{
    ak_sysdb *db = NULL;
    ak_err err;
    early_ctx e = {.cut = t->at_us};
    if (ak_sysdb_open(path, 0, &db, &err) == AK_OK &&
        ak_sysdb_ledger_each(db, note_early, &e, &err) == AK_OK && e.early)
        leftover(c, t->system_id, "forgotten",
                 "came back but holds %lld uploads from before it was forgotten (e.g. %s): "
                 "forget it again", (long long)e.early, e.example);
    ak_sysdb_close(db);
}

static ak_code check_tomb(void *ctx, const ak_tomb *t)
{
    check_run *c = ctx;
    char path[AK_PATH_MAX], prefix[AK_COLD_PREFIX_MAX];
    ak_err err;
    if (ak_datadir_db_path(c->dd, t->system_id, path, sizeof path, &err)) {
        leftover(c, t->system_id, "forgotten", "tombstone: %s", err.msg);
        return AK_OK;
    }
    if (!t->done)
        leftover(c, t->system_id, "forgotten", "forgetting it did not finish: run akosha "
                 "forget %s again", t->system_id);
    if (access(path, F_OK) == 0) {
        check_returned(c, t, path);
        return AK_OK; /* its cold objects are checked as any system's */
    }
    char dir[AK_PATH_MAX];
    ak_fmt(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    db_walk w = {.sid = t->system_id, .main_too = 1};
    if (walk_db_files(dir, &w, &err) == AK_OK && w.files)
        leftover(c, t->system_id, "forgotten", "%lld files of its database remain in %s",
                 (long long)w.files, dir);
    int64_t objects = 0, bytes = 0;
    ak_cold_system_prefix(t->system_id, prefix, sizeof prefix);
    if (c->cold && walk_prefix(c->cold, prefix, 0, NULL, &objects, &bytes, &err))
        leftover(c, t->system_id, "forgotten", "cold store: %s", err.msg);
    else if (objects)
        leftover(c, t->system_id, "forgotten", "%lld cold objects (%lld bytes) remain under %s",
                 (long long)objects, (long long)bytes, prefix);
    return AK_OK;
}

static ak_code own(check_run *c, const char *sid)
{
    char prefix[AK_COLD_PREFIX_MAX];
    ak_cold_system_prefix(sid, prefix, sizeof prefix);
    return ak_strlist_add(&c->owned, prefix, c->err);
}

static ak_code own_system(void *ctx, const char *sid, uint32_t shard, const char *db_path)
{
    (void)shard;
    (void)db_path;
    return own(ctx, sid);
}

static ak_code own_tomb(void *ctx, const ak_tomb *t) { return own(ctx, t->system_id); }

/* Cold prefixes no system owns. */
static ak_code check_unowned(check_run *c)
{
    ak_code rc = ak_datadir_each_system(c->dd, own_system, c, c->err);
    if (rc == AK_OK)
        rc = ak_tomb_each(c->dd, own_tomb, c, c->err);
    ak_strlist_sort(&c->owned);
    char *token = NULL;
    while (rc == AK_OK) {
        ak_store_page page;
        if ((rc = ak_store_list(c->cold, "system_id=", "/", token, 0, &page, c->err)))
            break;
        for (size_t i = 0; i < page.n_prefixes; i++) {
            const char *p = page.prefixes[i];
            if (!ak_strlist_sorted_has(&c->owned, p)) {
                int64_t objects = 0, bytes = 0;
                walk_prefix(c->cold, p, 0, NULL, &objects, &bytes, c->err);
                if (objects)
                    leftover(c, "", "cold-unowned", "%s holds %lld cold objects (%lld bytes) "
                             "of no known system", p, (long long)objects, (long long)bytes);
            }
        }
        free(token);
        token = page.next_token ? strdup(page.next_token) : NULL;
        int more = page.next_token != NULL;
        ak_store_page_free(&page);
        if (!more)
            break;
        if (!token)
            rc = ak_err_set(c->err, AK_ERR_NOMEM, "out of memory");
    }
    free(token);
    ak_strlist_free(&c->owned);
    return rc;
}

ak_code ak_forget_check(const ak_datadir *dd, ak_store *cold, const char *system_id,
                        ak_forget_leftover_fn fn, void *ctx, ak_err *err)
{
    check_run c = {.dd = dd, .cold = cold, .fn = fn, .ctx = ctx, .err = err};
    if (system_id) {
        ak_tomb t;
        ak_code rc = ak_tomb_get(dd, system_id, &t, err);
        return rc == AK_ERR_NOTFOUND ? AK_OK : rc ? rc : check_tomb(&c, &t);
    }
    ak_code rc = ak_tomb_each(dd, check_tomb, &c, err);
    if (rc == AK_OK && cold)
        rc = check_unowned(&c);
    return rc;
}
