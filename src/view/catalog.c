/* catalog.c - see catalog.h. */
#include "view/catalog.h"

#include <string.h>

#include "storage/shard.h"
#include "view/views.h"
#include "tier/cold.h"
#include "util/ids.h"

static ak_code open_system(ak_index *idx, const char *sid, ak_sysdb **db, ak_err *err)
{
    const char *why;
    if (!ak_id_system_valid(sid, &why))
        return ak_err_set(err, AK_ERR_INVALID, "system id %s", why);
    ak_code rc = ak_index_db_get(idx, sid, db, err);
    if (rc == AK_ERR_NOTFOUND)
        return ak_err_set(err, AK_ERR_NOTFOUND, "no system %s", sid);
    return rc;
}

typedef struct {
    ak_index *idx;
    ak_jw *w;
} systems_ctx;

static ak_code one_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)path;
    systems_ctx *c = ctx;
    ak_sysdb *db;
    ak_sysdb_counts counts;
    ak_err err;
    if (ak_index_db_get(c->idx, sid, &db, &err))
        return AK_OK; /* unreadable: /health and searches name it */
    if (ak_sysdb_counts_get(db, &counts, &err) == AK_OK) {
        ak_view_system(c->w, sid, shard, &counts);
        ak_index_db_put(c->idx, sid, db);
    } else {
        ak_sysdb_close(db);
    }
    return AK_OK;
}

ak_code ak_catalog_systems(ak_index *idx, const char *only, ak_jw *w, ak_err *err)
{
    systems_ctx c = {idx, w};
    const ak_datadir *dd = ak_index_datadir(idx);
    if (only) {
        const char *why;
        char path[AK_PATH_MAX];
        if (!ak_id_system_valid(only, &why))
            return ak_err_set(err, AK_ERR_INVALID, "system id %s", why);
        ak_code rc = ak_datadir_db_path(dd, only, path, sizeof path, err);
        if (rc)
            return rc;
        ak_jw_arr(w);
        rc = one_system(&c, only, ak_shard_of(only, ak_datadir_shards(dd)), path);
        ak_jw_end(w);
        return rc;
    }
    ak_jw_arr(w);
    ak_code rc = ak_datadir_each_system(dd, one_system, &c, err);
    ak_jw_end(w);
    return rc;
}

typedef struct {
    const char *system_id;
    ak_catalog_upload_fn fn;
    void *ctx;
} upload_walk;

static ak_code each_row(void *ctx, const ak_ledger_row *r)
{
    upload_walk *u = ctx;
    return u->fn(u->ctx, u->system_id, r);
}

static ak_code system_uploads(ak_index *idx, const char *sid, ak_catalog_upload_fn fn, void *ctx,
                              ak_err *err)
{
    ak_sysdb *db;
    ak_code rc = open_system(idx, sid, &db, err);
    if (rc)
        return rc;
    upload_walk u = {sid, fn, ctx};
    rc = ak_sysdb_ledger_each(db, each_row, &u, err);
    ak_index_db_put(idx, sid, db);
    return rc;
}

typedef struct {
    ak_index *idx;
    ak_catalog_upload_fn fn;
    void *ctx;
    ak_err *err;
} all_uploads;

static ak_code uploads_of(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard, (void)path;
    all_uploads *a = ctx;
    ak_err ignore;
    ak_code rc = system_uploads(a->idx, sid, a->fn, a->ctx, &ignore);
    return rc == AK_OK || rc == AK_ERR_NOTFOUND || rc == AK_ERR_CORRUPT || rc == AK_ERR_IO ? AK_OK : rc;
}

ak_code ak_catalog_each_upload(ak_index *idx, const char *only, ak_catalog_upload_fn fn, void *ctx,
                               ak_err *err)
{
    if (only)
        return system_uploads(idx, only, fn, ctx, err);
    all_uploads a = {idx, fn, ctx, err};
    return ak_datadir_each_system(ak_index_datadir(idx), uploads_of, &a, err);
}

static ak_code ledger_json(void *ctx, const char *sid, const ak_ledger_row *r)
{
    ak_view_ledger_row(ctx, sid, r);
    return AK_OK;
}

ak_code ak_catalog_uploads(ak_index *idx, const char *sid, ak_jw *w, ak_err *err)
{
    ak_sysdb *db;
    ak_code rc = open_system(idx, sid, &db, err);
    if (rc)
        return rc;
    ak_index_db_put(idx, sid, db);
    ak_jw_obj(w);
    ak_jw_kstr(w, "system_id", sid);
    ak_jw_key(w, "uploads");
    ak_jw_arr(w);
    rc = system_uploads(idx, sid, ledger_json, w, err);
    ak_jw_end(w);
    ak_jw_end(w);
    return rc;
}

ak_code ak_catalog_conversation(ak_index *idx, ak_store *cold, const char *sid, const char *cid,
                                ak_jw *w, ak_err *err)
{
    ak_sysdb *db;
    ak_conv c = {0};
    ak_code rc = open_system(idx, sid, &db, err);
    if (rc)
        return rc;
    rc = ak_sysdb_get_conv(db, cid, &c, err);
    ak_index_db_put(idx, sid, db);
    if (rc == AK_ERR_NOTFOUND)
        rc = ak_err_set(err, AK_ERR_NOTFOUND, "system %s has no conversation %.256s", sid, cid);
    if (rc == AK_OK && c.tier == AK_TIER_COLD)
        rc = cold ? ak_cold_read(cold, &c, err)
                  : ak_err_set(err, AK_ERR_UNSUPPORTED, "the conversation is cold and no cold store is open");
    if (rc == AK_OK)
        ak_view_conversation(w, sid, &c);
    ak_conv_free(&c);
    return rc;
}
