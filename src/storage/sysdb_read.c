/*
 * sysdb_read.c - reading a system database for search and `akosha get`:
 * vectors by tier, one conversation, one row, full-text matches (see
 * sysdb.h).
 */
#include "storage/sysdb_impl.h"

#include <stdlib.h>
#include <string.h>

#include "storage/coldmatch.h"
#include "storage/warmcode.h"
#include "util/vcode.h"
#include "util/vec.h"

/* ---- reading for search and `akosha get` ---- */

const char *ak_tier_name(ak_tier t)
{
    return t == AK_TIER_HOT ? "hot" : t == AK_TIER_WARM ? "warm" : "cold";
}

/* Run a query with its parameters already bound, calling row() per row. */
ak_code ak_sysdb_each_row(ak_sysdb *db, sqlite3_stmt *st, ak_code (*row)(sqlite3_stmt *, void *),
                        void *ctx, ak_err *err, const char *what)
{
    ak_code c = AK_OK;
    int rc;
    while (c == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        c = row(st, ctx);
    if (c == AK_OK && rc != SQLITE_DONE)
        c = ak_sysdb_db_error(db, err, what);
    sqlite3_finalize(st);
    return c;
}

ak_code ak_sysdb_prepare(ak_sysdb *db, const char *sql, sqlite3_stmt **st, ak_err *err)
{
    if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK)
        return ak_sysdb_db_error(db, err, "preparing a query");
    return AK_OK;
}

ak_code ak_sysdb_count_vectors(ak_sysdb *db, ak_tier tier, int64_t *n, ak_err *err)
{
    sqlite3_stmt *st;
    static const char *const sql[] = {
        "SELECT count(*) FROM hot WHERE embedding IS NOT NULL",
        "SELECT count(*) FROM warm WHERE embedding_q IS NOT NULL",
        "SELECT count(*) FROM cold WHERE embedding_code IS NOT NULL",
    };
    ak_code rc = ak_sysdb_prepare(db, sql[tier], &st, err);
    if (rc)
        return rc;
    *n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return AK_OK;
}

typedef struct {
    ak_tier tier;
    ak_vec_fn fn;
    void *ctx;
} vec_walk;

static ak_code vec_row(sqlite3_stmt *st, void *arg)
{
    vec_walk *w = arg;
    size_t want = w->tier == AK_TIER_HOT ? AK_DIM * 4 : AK_WCODE_BYTES;
    if (w->tier != AK_TIER_COLD && (size_t)sqlite3_column_bytes(st, 2) != want)
        return AK_OK; /* not a vector of this dimension: not indexable */
    ak_vec_row r = {
        .len = (size_t)sqlite3_column_bytes(st, 2),
        .rowid = sqlite3_column_int64(st, 0),
        .conversation_id = (const char *)sqlite3_column_text(st, 1),
        .vec = sqlite3_column_blob(st, 2),
        .scale = (float)sqlite3_column_double(st, 3),
        .ts_us = sqlite3_column_int64(st, 4),
    };
    return w->fn(w->ctx, &r);
}

ak_code ak_sysdb_each_vector(ak_sysdb *db, ak_tier tier, ak_vec_fn fn, void *ctx, ak_err *err)
{
    sqlite3_stmt *st;
    static const char *const sql[] = {
        "SELECT id, conversation_id, embedding, 0, ts_us FROM hot"
        " WHERE embedding IS NOT NULL ORDER BY id",
        "SELECT id, conversation_id, embedding_q, embedding_scale, ts_us FROM warm"
        " WHERE embedding_q IS NOT NULL ORDER BY id",
        "SELECT rowid, conversation_id, embedding_code, 0, ts_us FROM cold"
        " WHERE embedding_code IS NOT NULL ORDER BY rowid",
    };
    ak_code rc = ak_sysdb_prepare(db, sql[tier], &st, err);
    vec_walk w = {tier, fn, ctx};
    return rc ? rc : ak_sysdb_each_row(db, st, vec_row, &w, err, "reading vectors");
}

ak_code ak_sysdb_hot_vectors_of(ak_sysdb *db, const char *const *ids, size_t n, ak_vec_fn fn,
                                void *ctx, ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, ST_HOT_VEC_OF, err); /* kept, bound once per id */
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    /* one read transaction for all of them, not one (and its locks) per id */
    int own = sqlite3_get_autocommit(db->db) && sqlite3_exec(db->db, "BEGIN", NULL, NULL,
                                                             NULL) == SQLITE_OK;
    vec_walk w = {AK_TIER_HOT, fn, ctx};
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        int s;
        sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
        while (rc == AK_OK && (s = sqlite3_step(st)) == SQLITE_ROW)
            rc = vec_row(st, &w);
        if (rc == AK_OK && s != SQLITE_DONE)
            rc = ak_sysdb_db_error(db, err, "reading a vector");
        sqlite3_reset(st);
    }
    sqlite3_clear_bindings(st);
    if (own)
        sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL); /* a read: nothing to lose */
    return rc;
}

void ak_conv_free(ak_conv *c)
{
    char **s[] = {&c->conversation_id, &c->content, &c->summary, &c->metadata,
                  &c->source, &c->upload_id, &c->object_key};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
}

static ak_code conv_row(sqlite3_stmt *st, void *arg)
{
    ak_conv *c = arg;
    c->rowid = sqlite3_column_int64(st, 0);
    c->conversation_id = ak_sysdb_column_dup(st, 1);
    char *text = ak_sysdb_column_dup(st, 2);
    if (c->tier == AK_TIER_HOT)
        c->content = text;
    else
        c->summary = text;
    c->metadata = ak_sysdb_column_dup(st, 3);
    c->source = ak_sysdb_column_dup(st, 4);
    c->upload_id = ak_sysdb_column_dup(st, 5);
    c->object_key = ak_sysdb_column_dup(st, 6);
    c->ts_us = sqlite3_column_int64(st, 7);
    if (sqlite3_column_bytes(st, 8) == AK_SHA256_LEN)
        ak_hex(sqlite3_column_blob(st, 8), AK_SHA256_LEN, c->content_sha256);
    return AK_ERR_ABORTED; /* one row is all we want */
}

static ak_code get_one(ak_sysdb *db, ak_tier tier, const char *sql, const char *key,
                       ak_conv *out, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    memset(out, 0, sizeof *out);
    out->tier = tier;
    rc = ak_sysdb_each_row(db, st, conv_row, out, err, "reading a conversation");
    if (rc == AK_ERR_ABORTED)
        return AK_OK;
    return rc ? rc : AK_ERR_NOTFOUND;
}

ak_code ak_sysdb_get_conv(ak_sysdb *db, const char *conversation_id, ak_conv *out, ak_err *err)
{
    static const char *const sql[] = {
        "SELECT " CONV_COLUMNS_HOT " FROM hot WHERE conversation_id = ?1",
        "SELECT " CONV_COLUMNS_WARM " FROM warm WHERE conversation_id = ?1",
        "SELECT " CONV_COLUMNS_COLD " FROM cold WHERE conversation_id = ?1",
    };
    for (int t = AK_TIER_HOT; t <= AK_TIER_COLD; t++) {
        ak_code rc = get_one(db, (ak_tier)t, sql[t], conversation_id, out, err);
        if (rc != AK_ERR_NOTFOUND)
            return rc;
    }
    return ak_err_set(err, AK_ERR_NOTFOUND, "no conversation %.256s", conversation_id);
}

ak_code ak_sysdb_get_row(ak_sysdb *db, ak_tier tier, int64_t rowid, ak_conv *out, ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, tier == AK_TIER_HOT ? ST_HOT_ROW : tier == AK_TIER_WARM ? ST_WARM_ROW : ST_COLD_ROW, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    memset(out, 0, sizeof *out);
    out->tier = tier;
    sqlite3_bind_int64(st, 1, rowid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        conv_row(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return AK_OK;
    if (rc == SQLITE_DONE)
        return ak_err_set(err, AK_ERR_NOTFOUND, "row %lld of %s is gone", (long long)rowid,
                          ak_tier_name(tier));
    return ak_sysdb_db_error(db, err, "reading a conversation");
}

ak_code ak_sysdb_text_search(ak_sysdb *db, ak_tier tier, const char *match, int64_t since,
                             int64_t until, int limit, ak_text_fn fn, void *ctx, ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, tier == AK_TIER_HOT ? ST_TEXT_HOT : tier == AK_TIER_WARM ? ST_TEXT_WARM : ST_TEXT_COLD,
                              err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    char *cold_match = NULL; /* the cold index keeps no positions (coldmatch.h) */
    if (tier == AK_TIER_COLD) {
        ak_code rc = ak_coldmatch_rewrite(db->db, match, &cold_match, err);
        if (rc)
            return rc;
        match = cold_match;
    }
    sqlite3_bind_text(st, 1, match, -1, SQLITE_TRANSIENT);
    free(cold_match);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    sqlite3_bind_int(st, 4, limit);
    ak_code c = AK_OK;
    int rc;
    while (c == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        c = fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3));
    if (c == AK_OK && rc != SQLITE_DONE)
        c = ak_sysdb_db_error(db, err, "full-text search");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return c;
}

typedef struct {
    float *out;
    int found;
} vector_out;

static ak_code vector_row(sqlite3_stmt *st, void *arg)
{
    vector_out *v = arg;
    const unsigned char *b = sqlite3_column_blob(st, 0);
    int n = sqlite3_column_bytes(st, 0), tier = sqlite3_column_int(st, 1);
    if (tier == AK_TIER_HOT) {
        if (n != AK_VEC_LE_BYTES)
            return AK_ERR_ABORTED;
        ak_vec_from_le(b, v->out);
    } else { /* warm, cold: a code of its tier (a cold code's length varies) */
        int8_t q[AK_DIM];
        float scale;
        if (!(tier == AK_TIER_WARM ? ak_wcode_to_i8 : ak_vcode_to_i8)(b, (size_t)n, q, &scale))
            return AK_ERR_ABORTED;
        ak_vec_dequantize(q, scale, v->out);
    }
    v->found = ak_vec_normalize(v->out);
    return AK_ERR_ABORTED;
}

ak_code ak_sysdb_get_vector(ak_sysdb *db, const char *conversation_id, float *out, ak_err *err)
{
    sqlite3_stmt *st;
    char sql[320];
    ak_fmt(sql, sizeof sql, "SELECT embedding, %d FROM hot WHERE conversation_id = ?1"
           " UNION ALL SELECT embedding_q, %d FROM warm WHERE conversation_id = ?1"
           " UNION ALL SELECT embedding_code, %d FROM cold WHERE conversation_id = ?1",
           AK_TIER_HOT, AK_TIER_WARM, AK_TIER_COLD);
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, conversation_id, -1, SQLITE_TRANSIENT);
    vector_out v = {out, 0};
    rc = ak_sysdb_each_row(db, st, vector_row, &v, err, "reading a vector");
    if (rc && rc != AK_ERR_ABORTED)
        return rc;
    if (!v.found)
        return ak_err_set(err, AK_ERR_NOTFOUND, "conversation %.256s has no stored vector",
                          conversation_id);
    return AK_OK;
}
