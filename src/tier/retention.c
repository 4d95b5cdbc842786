/* retention.c - see retention.h. */
#include "tier/retention.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/rollup.h"
#include "util/time.h"

int64_t ak_retention_cutoff(int64_t now_us, int64_t days)
{
    if (days <= 0)
        return 0;
    int64_t t = now_us - days * AK_US_PER_DAY;
    return t - (((t % AK_US_PER_DAY) + AK_US_PER_DAY) % AK_US_PER_DAY);
}

static ak_code db_error(sqlite3 *h, const char *what, ak_err *err)
{
    return ak_err_set(err, AK_ERR_IO, "retention: %s: %s", what, sqlite3_errmsg(h));
}

/* Run sql binding ?1 = cutoff: a count (dry) or a delete; *n gets the rows. */
static ak_code count_or_delete(sqlite3 *h, const char *sql, int64_t cutoff, int64_t *n,
                               int dry, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(h, sql, err);
    sqlite3_bind_int64(st, 1, cutoff);
    int s = sqlite3_step(st);
    if (dry && s == SQLITE_ROW)
        *n += sqlite3_column_int64(st, 0);
    else if (!dry && s == SQLITE_DONE)
        *n += sqlite3_changes(h);
    sqlite3_finalize(st);
    return s == (dry ? SQLITE_ROW : SQLITE_DONE) ? AK_OK : db_error(h, sql, err);
}

static ak_code drop_rows(sqlite3 *h, const char *table, int64_t cutoff, int dry, int64_t *n,
                         ak_err *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, dry ? "SELECT count(*) FROM %s WHERE ts_us < ?1"
                                  : "DELETE FROM %s WHERE ts_us < ?1", table);
    if (dry)
        return count_or_delete(h, sql, cutoff, n, 1, err);
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(h, "begin", err);
    ak_code rc = count_or_delete(h, sql, cutoff, n, 0, err);
    if (rc == AK_OK && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(h, "commit", err);
    if (rc)
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

typedef struct {
    char *key;
    int64_t rows, expired;
} cold_obj;

/* Objects holding at least one conversation past the cut. */
static ak_code expired_objects(sqlite3 *h, int64_t cutoff, cold_obj **out, size_t *n,
                               ak_err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(h, "SELECT object_key, count(*), sum(ts_us < ?1) FROM cold"
                              " GROUP BY object_key HAVING sum(ts_us < ?1) > 0"
                              " ORDER BY object_key", -1, &st, NULL) != SQLITE_OK)
        return db_error(h, "cold catalog", err);
    sqlite3_bind_int64(st, 1, cutoff);
    ak_code rc = AK_OK;
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            cold_obj *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
                break;
            }
            *out = p;
        }
        cold_obj *o = &(*out)[*n];
        o->key = strdup((const char *)sqlite3_column_text(st, 0));
        o->rows = sqlite3_column_int64(st, 1);
        o->expired = sqlite3_column_int64(st, 2);
        if (!o->key)
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        else
            (*n)++;
    }
    sqlite3_finalize(st);
    return rc;
}

static ak_code uncatalog(sqlite3 *h, const char *key, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, "DELETE FROM cold WHERE object_key = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return db_error(h, "cold catalog", err);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? AK_OK : db_error(h, "cold catalog", err);
}

/* An object with rows on both sides of the cut: rewritten without the
 * older ones through trim (dry: counted as if). */
static ak_code straddling(const cold_obj *o, int64_t cutoff, int dry, ak_retention_trim_fn trim,
                          void *trim_ctx, ak_retention_stats *st, ak_err *err)
{
    int64_t dropped = dry ? o->expired : 0;
    ak_code rc = AK_OK;
    if (trim && !dry)
        rc = trim(trim_ctx, o->key, cutoff, &dropped, err);
    if (rc == AK_OK && trim && dropped) {
        st->cold += dropped;
        st->cold_rewritten++;
    } else if (rc == AK_OK) {
        st->cold_kept += o->expired;
    }
    return rc;
}

static ak_code drop_cold(sqlite3 *h, ak_store *cold, int64_t cutoff, int dry,
                         ak_retention_trim_fn trim, void *trim_ctx, ak_retention_stats *st,
                         ak_err *err)
{
    cold_obj *objs;
    size_t n;
    ak_code rc = expired_objects(h, cutoff, &objs, &n, err);
    for (size_t i = 0; i < n && rc == AK_OK; i++) {
        if (objs[i].expired < objs[i].rows) {
            rc = straddling(&objs[i], cutoff, dry, trim, trim_ctx, st, err);
            continue;
        }
        if (!dry && (rc = ak_store_delete(cold, objs[i].key, err)) == AK_OK)
            rc = uncatalog(h, objs[i].key, err);
        if (rc == AK_OK) {
            st->cold += objs[i].rows;
            st->cold_objects++;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(objs[i].key);
    free(objs);
    return rc;
}

ak_code ak_retention_system(ak_sysdb *db, ak_store *cold, int64_t cutoff_us, int dry_run,
                            ak_retention_trim_fn trim, void *trim_ctx,
                            ak_retention_stats *st, ak_err *err)
{
    sqlite3 *h = ak_sysdb_handle(db);
    ak_code rc = drop_rows(h, "hot", cutoff_us, dry_run, &st->hot, err);
    if (rc == AK_OK)
        rc = drop_rows(h, "warm", cutoff_us, dry_run, &st->warm, err);
    if (rc == AK_OK && cold)
        rc = drop_cold(h, cold, cutoff_us, dry_run, trim, trim_ctx, st, err);
    if (rc == AK_OK && !dry_run) /* the daily series forget them too */
        rc = ak_rollup_expire(h, cutoff_us, err);
    return rc;
}
