/*
 * sysdb_ledger.c - a system database's upload ledger (one row per upload:
 * its status, counts and record problems) and its row counts (see
 * sysdb.h).
 */
#include "storage/sysdb_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ledger ---- */

const char *ak_upload_status_name(ak_upload_status s)
{
    switch (s) {
    case AK_UPLOAD_INGESTED: return "ingested";
    case AK_UPLOAD_REJECTED: return "rejected";
    case AK_UPLOAD_FAILED: return "failed";
    default: return "unknown";
    }
}

static ak_upload_status status_from_name(const char *s)
{
    if (!s) return AK_UPLOAD_UNKNOWN;
    if (strcmp(s, "ingested") == 0) return AK_UPLOAD_INGESTED;
    if (strcmp(s, "rejected") == 0) return AK_UPLOAD_REJECTED;
    if (strcmp(s, "failed") == 0) return AK_UPLOAD_FAILED;
    return AK_UPLOAD_UNKNOWN;
}

void ak_ledger_row_free(ak_ledger_row *row)
{
    free(row->upload_id);
    free(row->reason);
    free(row->record_errors);
    free(row->system_type);
    free(row->metadata);
    memset(row, 0, sizeof *row);
}

char *ak_sysdb_column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

static void row_from_stmt(sqlite3_stmt *st, ak_ledger_row *row)
{
    row->upload_id = ak_sysdb_column_dup(st, 0);
    row->status = status_from_name((const char *)sqlite3_column_text(st, 1));
    row->reason = ak_sysdb_column_dup(st, 2);
    row->uploaded_at_us = sqlite3_column_int64(st, 3);
    row->declared_count = sqlite3_column_int64(st, 4);
    row->new_count = sqlite3_column_int64(st, 5);
    row->updated = sqlite3_column_int64(st, 6);
    row->duplicates = sqlite3_column_int64(st, 7);
    row->stale = sqlite3_column_int64(st, 8);
    row->records_rejected = sqlite3_column_int64(st, 9);
    row->record_errors = ak_sysdb_column_dup(st, 10);
    row->payload_bytes = sqlite3_column_int64(st, 11);
    row->attempts = sqlite3_column_int64(st, 12);
    row->first_seen_us = sqlite3_column_int64(st, 13);
    row->next_attempt_us = sqlite3_column_int64(st, 14);
    row->finished_us = sqlite3_column_int64(st, 15);
    row->system_type = ak_sysdb_column_dup(st, 16);
    row->metadata = ak_sysdb_column_dup(st, 17);
}

ak_code ak_sysdb_ledger_get(ak_sysdb *db, const char *upload_id, ak_ledger_row *row,
                            ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, ST_LEDGER_GET, err);
    memset(row, 0, sizeof *row);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row_from_stmt(st, row);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? AK_OK : ak_sysdb_db_error(db, err, "reading the ledger");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

ak_code ak_sysdb_ledger_put(ak_sysdb *db, const ak_ledger_row *row, ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, ST_LEDGER_PUT, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, row->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ak_upload_status_name(row->status), -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, row->reason);
    const int64_t nums[] = {row->uploaded_at_us, row->declared_count, row->new_count,
                            row->updated, row->duplicates, row->stale,
                            row->records_rejected};
    for (int i = 0; i < 7; i++)
        sqlite3_bind_int64(st, 4 + i, nums[i]);
    bind_text_or_null(st, 11, row->record_errors);
    sqlite3_bind_int64(st, 12, row->payload_bytes);
    sqlite3_bind_int64(st, 13, row->attempts);
    sqlite3_bind_int64(st, 14, row->first_seen_us);
    sqlite3_bind_int64(st, 15, row->next_attempt_us);
    sqlite3_bind_int64(st, 16, row->finished_us);
    bind_text_or_null(st, 17, row->system_type);
    bind_text_or_null(st, 18, row->metadata);
    return ak_sysdb_step_done(db, st, err, "writing the ledger");
}

ak_code ak_sysdb_ledger_each(ak_sysdb *db, ak_ledger_fn fn, void *ctx, ak_err *err)
{
    sqlite3_stmt *st;
    char sql[1024];
    const char *get = ak_sysdb_stmt_sql[ST_LEDGER_GET];
    /* the same column list as ledger_get, all rows, in application order */
    snprintf(sql, sizeof sql, "%.*s ORDER BY uploaded_at_us, upload_id",
             (int)(strstr(get, " WHERE") - get), get);
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ak_sysdb_db_error(db, err, "reading the ledger");
    ak_code c = AK_OK;
    int rc;
    while (c == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ak_ledger_row row;
        row_from_stmt(st, &row);
        c = fn(ctx, &row);
        ak_ledger_row_free(&row);
    }
    if (c == AK_OK && rc != SQLITE_DONE)
        c = ak_sysdb_db_error(db, err, "reading the ledger");
    sqlite3_finalize(st);
    return c;
}

ak_code ak_sysdb_counts_get(ak_sysdb *db, ak_sysdb_counts *out, ak_err *err)
{
    static const char sql[] =
        "SELECT (SELECT count(*) FROM hot), (SELECT count(*) FROM warm),"
        " (SELECT count(*) FROM cold),"
        " (SELECT count(*) FROM uploads WHERE status='ingested'),"
        " (SELECT count(*) FROM uploads WHERE status='rejected'),"
        " (SELECT count(*) FROM uploads WHERE status='failed'),"
        " (SELECT coalesce(max(uploaded_at_us),0) FROM uploads WHERE status='ingested'),"
        " max((SELECT coalesce(max(ts_us),0) FROM hot), (SELECT coalesce(max(ts_us),0) FROM warm),"
        "     (SELECT coalesce(max(ts_us),0) FROM cold))";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ak_sysdb_db_error(db, err, "counting rows");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t *f[] = {&out->hot, &out->warm, &out->cold, &out->ingested,
                        &out->rejected, &out->failed, &out->last_upload_us,
                        &out->last_activity_us};
        for (int i = 0; i < 8; i++)
            *f[i] = sqlite3_column_int64(st, i);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? AK_OK : ak_sysdb_db_error(db, err, "counting rows");
}
