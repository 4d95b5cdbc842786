/*
 * coldmove.c - see coldmove.h.
 */
#include "storage/coldmove.h"

#include <stdlib.h>
#include <string.h>

#include "storage/sysdb_impl.h"
#include "storage/tiermove.h"

/* A statement with its text parameters bound in order from ?1, stepped
 * once: SQLITE_ROW, SQLITE_DONE or an error. */
static int step_texts(sqlite3_stmt *st, const char *const *texts, int n)
{
    sqlite3_reset(st);
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    return sqlite3_step(st);
}

/* ---- reading ---- */

ak_code ak_coldmove_warm_rows(ak_sysdb *db, int64_t from, int64_t to, int64_t cutoff,
                              int64_t limit, ak_coldmove_warm_fn fn, void *ctx, ak_err *err)
{
    static const char sql[] =
        "SELECT id, conversation_id, ts_us, " AK_TIERMOVE_WARM_ULTRA ", fingerprint, content_sha256, metadata,"
        " upload_at_us, upload_id, summary, " AK_TIERMOVE_WARM_BYTES ", embedding_q, embedding_scale"
        " FROM warm WHERE ts_us >= ?1 AND ts_us < ?2 AND ts_us < ?3 ORDER BY conversation_id LIMIT ?4";
    sqlite3_stmt *st;
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int64(st, 3, cutoff);
    sqlite3_bind_int64(st, 4, limit);
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW) {
        ak_coldmove_warm w = {
            .id = sqlite3_column_int64(st, 0),
            .conversation_id = (const char *)sqlite3_column_text(st, 1),
            .ts_us = sqlite3_column_int64(st, 2),
            .ultra_summary = (const char *)sqlite3_column_text(st, 3),
            .fingerprint = sqlite3_column_blob(st, 4),
            .fingerprint_len = (size_t)sqlite3_column_bytes(st, 4),
            .content_sha256 = sqlite3_column_blob(st, 5),
            .content_sha256_len = (size_t)sqlite3_column_bytes(st, 5),
            .metadata = (const char *)sqlite3_column_text(st, 6),
            .upload_at_us = sqlite3_column_int64(st, 7),
            .upload_id = (const char *)sqlite3_column_text(st, 8),
            .summary = (const char *)sqlite3_column_text(st, 9),
            .bytes = sqlite3_column_int64(st, 10),
            .embedding_q = sqlite3_column_blob(st, 11),
            .embedding_q_len = (size_t)sqlite3_column_bytes(st, 11),
            .embedding_scale = (float)sqlite3_column_double(st, 12),
        };
        rc = fn(ctx, &w, err);
    }
    sqlite3_finalize(st);
    return rc;
}

ak_code ak_coldmove_small_objects(ak_sysdb *db, int64_t from, int64_t to, int64_t target,
                                  ak_coldmove_object_fn fn, void *ctx, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = ak_sysdb_prepare(db, "SELECT " AK_COLD_KEY " AS k, count(*) AS n FROM cold"
                                      " WHERE ts_us >= ?1 AND ts_us < ?2 GROUP BY object_id"
                                      " HAVING n < ?3 ORDER BY n DESC, k", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int64(st, 3, target);
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW)
        rc = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_finalize(st);
    return rc;
}

ak_code ak_coldmove_months(ak_sysdb *db, int64_t cutoff, int64_t target, ak_coldmove_month_fn fn,
                           void *ctx, ak_err *err)
{
    static const char sql[] =
        "WITH small(ts) AS (SELECT min(ts_us) FROM cold GROUP BY object_id HAVING count(*) < ?2),"
        " k(name) AS (SELECT DISTINCT strftime('%Y-%m', ts_us / 1e6, 'unixepoch') FROM warm"
        "  WHERE ts_us < ?1 UNION SELECT strftime('%Y-%m', ts / 1e6, 'unixepoch') FROM small"
        "  GROUP BY 1 HAVING count(*) > 1)"
        " SELECT name, CAST(strftime('%s', name || '-01') AS INTEGER) * 1000000,"
        " CAST(strftime('%s', name || '-01', '+1 month') AS INTEGER) * 1000000"
        " FROM k WHERE name IS NOT NULL ORDER BY name";
    sqlite3_stmt *st;
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int64(st, 2, target);
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW)
        rc = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return rc;
}

struct ak_coldmove_find {
    sqlite3_stmt *st;
};

ak_code ak_coldmove_find_open(ak_sysdb *db, ak_coldmove_find **out, ak_err *err)
{
    ak_coldmove_find *f = calloc(1, sizeof *f);
    *out = NULL;
    if (!f)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = ak_sysdb_prepare(db, "SELECT upload_at_us, upload_id, embedding_code FROM cold"
                                      " WHERE conversation_id = ?1"
                                      " AND " AK_COLD_IN_OBJECT("?2")
                                      " AND lower(hex(content_sha256)) = ?3",
                                  &f->st, err);
    if (rc) {
        free(f);
        return rc;
    }
    *out = f;
    return AK_OK;
}

void ak_coldmove_find_close(ak_coldmove_find *f)
{
    if (f)
        sqlite3_finalize(f->st);
    free(f);
}

ak_code ak_coldmove_find_row(ak_coldmove_find *f, const char *conv, size_t conv_len,
                             const char *key, const char *sha_hex, size_t sha_len, int *found,
                             int64_t *upload_at_us, char **upload_id, uint8_t *code,
                             size_t code_cap, size_t *code_len, ak_err *err)
{
    sqlite3_stmt *st = f->st;
    sqlite3_bind_text(st, 1, conv, (int)conv_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sha_hex, (int)sha_len, SQLITE_STATIC);
    *found = sqlite3_step(st) == SQLITE_ROW;
    *upload_at_us = *found ? sqlite3_column_int64(st, 0) : 0;
    *upload_id = *found ? ak_sysdb_column_dup(st, 1) : NULL;
    *code_len = *found ? (size_t)sqlite3_column_bytes(st, 2) : 0;
    if (*code_len > code_cap)
        *code_len = 0;
    if (*code_len)
        memcpy(code, sqlite3_column_blob(st, 2), *code_len);
    sqlite3_reset(st);
    return *found && !*upload_id ? ak_err_set(err, AK_ERR_NOMEM, "out of memory") : AK_OK;
}

/* ---- cold_garbage ---- */

/* Run sql, a write binding ?1 = an object key. */
static ak_code run_key(ak_sysdb *db, const char *sql, const char *key, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    if (step_texts(st, &key, 1) != SQLITE_DONE)
        rc = ak_sysdb_db_error(db, err, "updating the cold catalog");
    sqlite3_finalize(st);
    return rc;
}

ak_code ak_coldmove_garbage_add(ak_sysdb *db, const char *key, ak_err *err)
{
    return run_key(db, "INSERT OR IGNORE INTO cold_garbage(object_key) VALUES(?1)", key, err);
}

ak_code ak_coldmove_garbage_list(ak_sysdb *db, ak_strlist *out, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = ak_sysdb_prepare(db, "SELECT object_key FROM cold_garbage WHERE object_key NOT IN"
                                      " (SELECT key FROM cold_objects) ORDER BY object_key", &st, err);
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW)
        rc = ak_strlist_add(out, (const char *)sqlite3_column_text(st, 0), err);
    sqlite3_finalize(st);
    return rc;
}

ak_code ak_coldmove_garbage_clear(ak_sysdb *db, ak_err *err)
{
    return sqlite3_exec(db->db, "DELETE FROM cold_garbage", NULL, NULL, NULL) == SQLITE_OK
               ? AK_OK
               : ak_sysdb_db_error(db, err, "emptying cold_garbage");
}

ak_code ak_coldmove_fts_optimize(ak_sysdb *db, ak_err *err)
{
    return sqlite3_exec(db->db, "INSERT INTO cold_fts(cold_fts) VALUES('optimize')", NULL, NULL,
                        NULL) == SQLITE_OK
               ? AK_OK
               : ak_sysdb_db_error(db, err, "merging the cold full-text index");
}

/* ---- the catalog switch ---- */

struct ak_coldmove_switch {
    ak_sysdb *db;
    const char *key;
    sqlite3_stmt *ins, *find, *move, *del;
};

ak_code ak_coldmove_switch_begin(ak_sysdb *db, const char *key, ak_coldmove_switch **out,
                                 ak_err *err)
{
    static const char *const sql[] = {
        "INSERT INTO cold(conversation_id, object_id, ts_us, content_sha256, upload_at_us,"
        " upload_id, ultra_summary, embedding_code)"
        " SELECT conversation_id, (SELECT id FROM cold_objects WHERE key = ?2), ts_us,"
        " content_sha256, upload_at_us, upload_id, ?3, ?4"
        " FROM warm WHERE id = ?1 AND conversation_id = ?5",
        "SELECT rowid, ultra_summary IS NOT NULL FROM cold WHERE conversation_id = ?1"
        " AND " AK_COLD_IN_OBJECT("?2") " AND lower(hex(content_sha256)) = ?3",
        "UPDATE cold SET object_id = (SELECT id FROM cold_objects WHERE key = ?2),"
        " ultra_summary = coalesce(ultra_summary, ?3),"
        " embedding_code = coalesce(embedding_code, ?4) WHERE rowid = ?1",
        "DELETE FROM warm WHERE id = ?1",
    };
    ak_coldmove_switch *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    s->db = db;
    s->key = key;
    sqlite3_stmt **all[] = {&s->ins, &s->find, &s->move, &s->del};
    ak_code rc = ak_sysdb_begin(db, err);
    if (rc == AK_OK) /* the new object's number, for the rows to name */
        rc = run_key(db, "INSERT INTO cold_objects(key) SELECT ?1 WHERE NOT EXISTS"
                              "(SELECT 1 FROM cold_objects WHERE key = ?1)", key, err);
    for (int i = 0; rc == AK_OK && i < 4; i++)
        rc = ak_sysdb_prepare(db, sql[i], all[i], err);
    return rc;
}

/* ?1 the row (a warm id or a catalog rowid), ?2 the new object, ?3 the
 * summary, ?4 the code: what the insert and the move have in common. */
static void bind_entry(sqlite3_stmt *st, int64_t row, const char *key, const char *ultra,
                       const uint8_t *code, size_t code_len)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ultra, -1, SQLITE_STATIC);
    if (code)
        sqlite3_bind_blob(st, 4, code, (int)code_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
}

ak_code ak_coldmove_switch_warm(ak_coldmove_switch *s, int64_t id, const char *conv,
                                const char *ultra, const uint8_t *code, size_t code_len, int *ok,
                                ak_err *err)
{
    sqlite3 *h = s->db->db;
    bind_entry(s->ins, id, s->key, ultra, code, code_len);
    sqlite3_bind_text(s->ins, 5, conv, -1, SQLITE_STATIC);
    int step = sqlite3_step(s->ins);
    *ok = step == SQLITE_DONE && sqlite3_changes(h) == 1;
    int64_t rowid = sqlite3_last_insert_rowid(h);
    if (step != SQLITE_DONE)
        return ak_sysdb_db_error(s->db, err, "cataloguing a cold row");
    if (!*ok)
        return AK_OK;
    sqlite3_reset(s->del);
    sqlite3_bind_int64(s->del, 1, id);
    if (sqlite3_step(s->del) != SQLITE_DONE || sqlite3_changes(h) != 1)
        return ak_sysdb_db_error(s->db, err, "deleting a moved warm row");
    return ak_sysdb_index_text(s->db, AK_TIER_COLD, rowid, ultra, strlen(ultra), err);
}

ak_code ak_coldmove_switch_merged(ak_coldmove_switch *s, const char *conv, const char *old_key,
                                  const char *sha_hex, const char *ultra, const uint8_t *code,
                                  size_t code_len, int *ok, ak_err *err)
{
    const char *find[] = {conv, old_key, sha_hex};
    int step = step_texts(s->find, find, 3);
    *ok = step == SQLITE_ROW;
    int64_t rowid = *ok ? sqlite3_column_int64(s->find, 0) : 0;
    int indexed = *ok && sqlite3_column_int(s->find, 1);
    if (*ok) {
        bind_entry(s->move, rowid, s->key, ultra, code, code_len);
        step = sqlite3_step(s->move);
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return ak_sysdb_db_error(s->db, err, "cataloguing a cold row");
    if (*ok && !indexed)
        return ak_sysdb_index_text(s->db, AK_TIER_COLD, rowid, ultra, strlen(ultra), err);
    return AK_OK;
}

ak_code ak_coldmove_switch_retire(ak_coldmove_switch *s, const char *old_key, int trimming,
                                  int64_t keep_from, int64_t *dropped, int *ok, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = AK_OK;
    int64_t left = -1;
    if (trimming) { /* their full-text entries go by trigger */
        rc = ak_sysdb_prepare(s->db, "DELETE FROM cold WHERE " AK_COLD_IN_OBJECT("?1")
                                       " AND ts_us < ?2",
                              &st, err);
        if (rc)
            return rc;
        sqlite3_bind_text(st, 1, old_key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, keep_from);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ak_sysdb_db_error(s->db, err, "dropping cold rows past retention");
        else
            *dropped += sqlite3_changes(s->db->db);
        sqlite3_finalize(st);
        if (rc)
            return rc;
    }
    if ((rc = ak_sysdb_prepare(s->db, "SELECT count(*) FROM cold WHERE " AK_COLD_IN_OBJECT("?1"), &st,
                               err)))
        return rc;
    if (step_texts(st, &old_key, 1) == SQLITE_ROW)
        left = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    *ok = left == 0;
    return *ok ? ak_coldmove_garbage_add(s->db, old_key, err) : AK_OK;
}

ak_code ak_coldmove_switch_end(ak_coldmove_switch *s, int commit, ak_err *err)
{
    ak_code rc = AK_OK;
    if (!s)
        return AK_OK;
    sqlite3_finalize(s->ins);
    sqlite3_finalize(s->find);
    sqlite3_finalize(s->move);
    sqlite3_finalize(s->del);
    if (commit) /* an object no row came to name is not catalogued */
        rc = run_key(s->db, "DELETE FROM cold_objects WHERE key = ?1 AND NOT EXISTS"
                            "(SELECT 1 FROM cold WHERE object_id = cold_objects.id)", s->key, err);
    if (commit && rc == AK_OK)
        rc = run_key(s->db, "DELETE FROM cold_garbage WHERE object_key = ?1", s->key, err);
    if (commit && rc == AK_OK)
        rc = ak_sysdb_commit(s->db, err);
    if (!commit || rc)
        ak_sysdb_rollback(s->db);
    free(s);
    return rc;
}
