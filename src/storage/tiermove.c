/*
 * tiermove.c - see tiermove.h.
 */
#include "storage/tiermove.h"

#include <stdlib.h>
#include <string.h>

#include "storage/sysdb_impl.h"
#include "storage/warmcode.h"
#include "util/testpoint.h"
#include "util/vec.h"

/* SELECT of one integer (count, sum) with up to three integer parameters. */
static ak_code scalar(ak_sysdb *db, const char *sql, int64_t a, int64_t b, int64_t c,
                      int64_t *out, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    sqlite3_bind_int64(st, 3, c);
    rc = sqlite3_step(st) == SQLITE_ROW ? AK_OK : ak_sysdb_db_error(db, err, "query");
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

static ak_code exec(ak_sysdb *db, const char *sql, ak_err *err)
{
    return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK
               ? AK_OK
               : ak_sysdb_db_error(db, err, sql);
}

/* Bind the 1-sentence summary as its byte span in the summary (?13, ?14,
 * 1-based) when it is one of its sentences, which TextRank's choice makes
 * it, else as its own text (?11). */
static void bind_ultra(sqlite3_stmt *ins, const char *summary, const char *ultra)
{
    size_t n = strlen(ultra);
    const char *at = memmem(summary, strlen(summary), ultra, n);
    if (at) {
        sqlite3_bind_null(ins, 11);
        sqlite3_bind_int64(ins, 13, (int64_t)(at - summary) + 1);
        sqlite3_bind_int64(ins, 14, (int64_t)n);
    } else {
        sqlite3_bind_text(ins, 11, ultra, -1, SQLITE_TRANSIENT);
        sqlite3_bind_null(ins, 13);
        sqlite3_bind_null(ins, 14);
    }
}

/* Insert the warm form of the hot row under hot's cursor. */
static ak_code warm_row(ak_sysdb *db, sqlite3_stmt *hot, sqlite3_stmt *ins, ak_warm_fn fn,
                        void *ctx, ak_err *err)
{
    const char *content = (const char *)sqlite3_column_text(hot, 2);
    size_t len = (size_t)sqlite3_column_bytes(hot, 2);
    ak_warm_form form = {0};
    ak_code rc = fn(ctx, content ? content : "", len, &form, err);
    uint8_t code[AK_WCODE_BYTES];
    float v[AK_DIM];
    if (sqlite3_column_bytes(hot, 3) == AK_VEC_LE_BYTES &&
        (ak_vec_from_le(sqlite3_column_blob(hot, 3), v), ak_wcode_encode(v, code)))
        sqlite3_bind_blob(ins, 3, code, sizeof code, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(ins, 3);
    if (rc == AK_OK) {
        sqlite3_bind_value(ins, 1, sqlite3_column_value(hot, 1)); /* conversation_id */
        sqlite3_bind_text(ins, 2, form.summary, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 4, 0); /* the code carries its own scale */
        for (int c = 4; c <= 9; c++) /* ts_us, source, metadata, sha, upload_at, upload_id */
            sqlite3_bind_value(ins, c + 1, sqlite3_column_value(hot, c));
        bind_ultra(ins, form.summary, form.ultra_summary);
        sqlite3_bind_blob(ins, 12, form.fingerprint, (int)form.fingerprint_len,
                          SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE)
            rc = ak_sysdb_db_error(db, err, "inserting a warm row");
        sqlite3_reset(ins);
    }
    if (rc == AK_OK)
        rc = ak_sysdb_index_text(db, AK_TIER_WARM, sqlite3_last_insert_rowid(db->db),
                                 form.summary, strlen(form.summary), err);
    free(form.summary);
    free(form.ultra_summary);
    return rc;
}

/* Every row of the batch ids first..last is in warm with the same content
 * hash; then the hot rows go. */
static ak_code verify_and_delete(ak_sysdb *db, int64_t first, int64_t last, int64_t cutoff,
                                 ak_tiermove_count *out, ak_err *err)
{
    int64_t check = 0;
    ak_code rc = scalar(db, "SELECT count(*) FROM hot h JOIN warm w ON w.conversation_id = h.conversation_id"
                            " AND w.content_sha256 = h.content_sha256"
                            " WHERE h.id BETWEEN ?1 AND ?2 AND h.ts_us < ?3",
                        first, last, cutoff, &check, err);
    if (rc == AK_OK && check != out->rows)
        rc = ak_err_set(err, AK_ERR_INTERNAL, "%s: warm copies of %lld rows do not verify (%lld match)",
                        db->path, (long long)out->rows, (long long)check);
    if (rc == AK_OK)
        rc = scalar(db, "SELECT coalesce(sum(" AK_TIERMOVE_HOT_BYTES "), 0) FROM hot"
                        " WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3",
                    first, last, cutoff, &out->bytes_before, err);
    if (rc == AK_OK)
        rc = scalar(db, "SELECT coalesce(sum(" AK_TIERMOVE_WARM_BYTES "), 0) FROM warm WHERE conversation_id IN"
                        " (SELECT conversation_id FROM hot WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3)",
                    first, last, cutoff, &out->bytes_after, err);
    sqlite3_stmt *del;
    if (rc == AK_OK &&
        (rc = ak_sysdb_prepare(db, "DELETE FROM hot WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3",
                               &del, err)) == AK_OK) {
        sqlite3_bind_int64(del, 1, first);
        sqlite3_bind_int64(del, 2, last);
        sqlite3_bind_int64(del, 3, cutoff);
        if (sqlite3_step(del) != SQLITE_DONE || sqlite3_changes(db->db) != out->rows)
            rc = ak_sysdb_db_error(db, err, "deleting moved hot rows");
        sqlite3_finalize(del);
    }
    return rc;
}

ak_code ak_tiermove_hot_batch(ak_sysdb *db, int64_t cutoff, int64_t limit, ak_warm_fn fn,
                              void *ctx, ak_tiermove_count *out, ak_err *err)
{
    static const char sel_sql[] =
        "SELECT id, conversation_id, content, embedding, ts_us, source, metadata, content_sha256,"
        " upload_at_us, upload_id FROM hot WHERE ts_us < ?1 ORDER BY id LIMIT ?2";
    static const char ins_sql[] =
        "INSERT INTO warm(conversation_id, summary, embedding_q, embedding_scale, ts_us, source,"
        " metadata, content_sha256, upload_at_us, upload_id, ultra_summary, fingerprint,"
        " ultra_at, ultra_len) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)";
    sqlite3_stmt *sel = NULL, *ins = NULL;
    int64_t first = 0, last = 0;
    memset(out, 0, sizeof *out);
    ak_code rc = exec(db, "BEGIN IMMEDIATE", err);
    if (rc == AK_OK && (rc = ak_sysdb_prepare(db, sel_sql, &sel, err)) == AK_OK)
        rc = ak_sysdb_prepare(db, ins_sql, &ins, err);
    if (rc == AK_OK) {
        sqlite3_bind_int64(sel, 1, cutoff);
        sqlite3_bind_int64(sel, 2, limit);
        while (rc == AK_OK && sqlite3_step(sel) == SQLITE_ROW) {
            last = sqlite3_column_int64(sel, 0);
            first = out->rows ? first : last;
            rc = warm_row(db, sel, ins, fn, ctx, err);
            out->rows++;
        }
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    if (rc == AK_OK && out->rows)
        rc = verify_and_delete(db, first, last, cutoff, out, err);
    if (rc == AK_OK && out->rows)
        ak_testpoint("age.warm_moved"); /* rows in warm, deleted from hot, not committed */
    if (rc == AK_OK)
        rc = exec(db, "COMMIT", err);
    if (rc) {
        ak_sysdb_rollback(db);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

ak_code ak_tiermove_dry_count(ak_sysdb *db, ak_tier tier, int64_t cutoff,
                              ak_tiermove_count *out, ak_err *err)
{
    static const char *const count_sql[] = {
        "SELECT count(*) FROM hot WHERE ts_us < ?1",
        "SELECT count(*) FROM warm WHERE ts_us < ?1",
    };
    static const char *const bytes_sql[] = {
        "SELECT coalesce(sum(" AK_TIERMOVE_HOT_BYTES "), 0) FROM hot WHERE ts_us < ?1",
        "SELECT coalesce(sum(" AK_TIERMOVE_WARM_BYTES "), 0) FROM warm WHERE ts_us < ?1",
    };
    if (tier != AK_TIER_HOT && tier != AK_TIER_WARM)
        return ak_err_set(err, AK_ERR_INVALID, "only hot and warm rows move");
    int64_t n = 0, bytes = 0;
    ak_code rc = scalar(db, count_sql[tier], cutoff, 0, 0, &n, err);
    if (rc == AK_OK)
        rc = scalar(db, bytes_sql[tier], cutoff, 0, 0, &bytes, err);
    out->rows += n;
    out->bytes_before += bytes;
    return rc;
}
