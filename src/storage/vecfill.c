/*
 * vecfill.c - see vecfill.h.
 */
#include "storage/vecfill.h"

#include <stdlib.h>
#include <string.h>

#include "storage/sysdb_impl.h"
#include "storage/warmcode.h"
#include "util/vcode.h"
#include "util/vec.h"

/* What each tier embeds (the text it keeps: hot content, warm 3-sentence
 * summary, cold 1-sentence summary), and the write that fills a row only if
 * its content is unchanged and it still has no vector (?1 the vector in the
 * tier's form, ?2 the row, ?3 its content hash, ?4 warm's scale column). */
static const struct {
    const char *missing, *select, *update;
} tiers[3] = {
    [AK_TIER_HOT] = {"SELECT count(*) FROM hot WHERE embedding IS NULL",
                     "SELECT id, content, content_sha256 FROM hot"
                     " WHERE embedding IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
                     "UPDATE hot SET embedding = ?1 WHERE id = ?2"
                     " AND content_sha256 = ?3 AND embedding IS NULL"},
    [AK_TIER_WARM] = {"SELECT count(*) FROM warm WHERE embedding_q IS NULL",
                      "SELECT id, summary, content_sha256 FROM warm WHERE embedding_q IS NULL"
                      " AND summary != '' AND id > ?1 ORDER BY id LIMIT ?2",
                      "UPDATE warm SET embedding_q = ?1, embedding_scale = ?4 WHERE id = ?2"
                      " AND content_sha256 = ?3 AND embedding_q IS NULL"},
    [AK_TIER_COLD] = {"SELECT count(*) FROM cold WHERE embedding_code IS NULL",
                      "SELECT rowid, ultra_summary, content_sha256 FROM cold"
                      " WHERE embedding_code IS NULL AND ultra_summary != ''"
                      " AND rowid > ?1 ORDER BY rowid LIMIT ?2",
                      "UPDATE cold SET embedding_code = ?1 WHERE rowid = ?2"
                      " AND content_sha256 = ?3 AND embedding_code IS NULL"},
};

static ak_code sql_error(ak_sysdb *db, ak_err *err)
{
    return ak_err_set(err, AK_ERR_IO, "%s: %s", db->path, sqlite3_errmsg(db->db));
}

ak_code ak_vecfill_missing(ak_sysdb *db, int64_t missing[3], ak_err *err)
{
    for (int t = 0; t < 3; t++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db->db, tiers[t].missing, -1, &st, NULL) != SQLITE_OK)
            return sql_error(db, err);
        int rc = sqlite3_step(st);
        missing[t] = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
            return sql_error(db, err);
    }
    return AK_OK;
}

void ak_vecfill_rows_free(ak_vecfill_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].text);
}

ak_code ak_vecfill_next(ak_sysdb *db, ak_tier t, int64_t after, ak_vecfill_row *rows, size_t max,
                         size_t *n, ak_err *err)
{
    sqlite3 *h = db->db;
    sqlite3_stmt *st;
    *n = 0;
    if (sqlite3_prepare_v2(h, tiers[t].select, -1, &st, NULL) != SQLITE_OK)
        return sql_error(db, err);
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    int rc;
    ak_code out = AK_OK;
    while (out == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ak_vecfill_row *p = &rows[*n];
        p->id = sqlite3_column_int64(st, 0);
        p->len = (size_t)sqlite3_column_bytes(st, 1);
        p->text = malloc(p->len + 1);
        if (!p->text) {
            out = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(p->text, sqlite3_column_blob(st, 1) ? sqlite3_column_blob(st, 1) : "", p->len);
        p->text[p->len] = '\0';
        memset(p->sha, 0, sizeof p->sha);
        if (sqlite3_column_bytes(st, 2) == AK_SHA256_LEN)
            memcpy(p->sha, sqlite3_column_blob(st, 2), AK_SHA256_LEN);
        (*n)++;
    }
    if (out == AK_OK && rc != SQLITE_DONE)
        out = ak_err_set(err, AK_ERR_IO, "%s: %s", ak_sysdb_path(db), sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (out)
        ak_vecfill_rows_free(rows, *n);
    return out;
}

/* Bind v to ?1 (and ?4) in tier t's form, as aging makes them: hot
 * float32, warm the 5-bit code (storage/warmcode.h, scale 0), cold the
 * vector code of that warm code (util/vcode.h, version 4).  Returns 0 when v has no code (cannot happen for a
 * provider's checked vector, which is finite and not all zero). */
static int bind_vector(sqlite3_stmt *st, ak_tier t, const float *v)
{
    unsigned char le[AK_VEC_LE_BYTES];
    uint8_t wcode[AK_WCODE_BYTES];
    uint8_t code[AK_VCODE_MAX];
    size_t len;
    if (t == AK_TIER_HOT) {
        ak_vec_to_le(v, le);
        return sqlite3_bind_blob(st, 1, le, sizeof le, SQLITE_TRANSIENT) == SQLITE_OK;
    }
    if (!ak_wcode_encode(v, wcode))
        return 0;
    if (t == AK_TIER_WARM) {
        sqlite3_bind_double(st, 4, 0); /* the code carries its own scale */
        return sqlite3_bind_blob(st, 1, wcode, sizeof wcode, SQLITE_TRANSIENT) == SQLITE_OK;
    }
    return (len = ak_wcode_to_vcode(wcode, sizeof wcode, code)) > 0 &&
           sqlite3_bind_blob(st, 1, code, (int)len, SQLITE_TRANSIENT) == SQLITE_OK;
}

ak_code ak_vecfill_store(ak_sysdb *db, ak_tier t, const ak_vecfill_row *rows, const float *v, const int *ok,
                     size_t n, int64_t *written, ak_err *err)
{
    sqlite3 *h = db->db;
    sqlite3_stmt *st = NULL;
    ak_code rc = ak_sysdb_begin(db, err);
    if (rc == AK_OK && t == AK_TIER_HOT) /* hot's updates have no epoch trigger */
        rc = ak_sysdb_hot_changing(db, err);
    if (rc == AK_OK && sqlite3_prepare_v2(h, tiers[t].update, -1, &st, NULL) != SQLITE_OK)
        rc = sql_error(db, err);
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        if (!ok[i] || !bind_vector(st, t, v + i * AK_DIM))
            continue;
        sqlite3_bind_int64(st, 2, rows[i].id);
        sqlite3_bind_blob(st, 3, rows[i].sha, AK_SHA256_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sql_error(db, err);
        *written += sqlite3_changes(h);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == AK_OK)
        return ak_sysdb_commit(db, err);
    ak_sysdb_rollback(db);
    return rc;
}

