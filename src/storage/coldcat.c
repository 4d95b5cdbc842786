/*
 * coldcat.c - see coldcat.h.
 */
#include "storage/coldcat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sysdb_impl.h"

ak_code ak_coldcat_outside(ak_sysdb *db, const char *prefix, ak_strlist *out, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    ak_code rc = ak_sysdb_prepare(db, "SELECT key FROM cold_objects WHERE substr(key, 1, ?1) <> ?2"
                                      " AND EXISTS(SELECT 1 FROM cold WHERE object_id = cold_objects.id)", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, (int)strlen(prefix));
    sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW)
        rc = ak_strlist_add(out, (const char *)sqlite3_column_text(st, 0), err);
    sqlite3_finalize(st);
    return rc;
}

void ak_coldcat_objs_free(ak_coldcat_obj *objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(objs[i].key);
    free(objs);
}

ak_code ak_coldcat_expired(ak_sysdb *db, int64_t cutoff_us, ak_coldcat_obj **out, size_t *n,
                           ak_err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    ak_code rc = ak_sysdb_prepare(db, "SELECT " AK_COLD_KEY " AS k, count(*), sum(ts_us < ?1)"
                                      " FROM cold GROUP BY object_id"
                                      " HAVING sum(ts_us < ?1) > 0 ORDER BY k", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, cutoff_us);
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            ak_coldcat_obj *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
                break;
            }
            *out = p;
        }
        ak_coldcat_obj *o = &(*out)[*n];
        o->key = ak_sysdb_column_dup(st, 0);
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

ak_code ak_coldcat_uncatalog(ak_sysdb *db, const char *key, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    ak_code rc = ak_sysdb_prepare(db, "DELETE FROM cold WHERE " AK_COLD_IN_OBJECT("?1"), &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? AK_OK : ak_sysdb_db_error(db, err, "cold catalog");
}

/* Run sql binding ?1 = cutoff: a count (dry) or a delete; *n gets the rows. */
static ak_code count_or_delete(ak_sysdb *db, const char *sql, int64_t cutoff, int64_t *n,
                               int dry, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, cutoff);
    int s = sqlite3_step(st);
    if (dry && s == SQLITE_ROW)
        *n += sqlite3_column_int64(st, 0);
    else if (!dry && s == SQLITE_DONE)
        *n += sqlite3_changes(db->db);
    sqlite3_finalize(st);
    return s == (dry ? SQLITE_ROW : SQLITE_DONE) ? AK_OK : ak_sysdb_db_error(db, err, sql);
}

ak_code ak_coldcat_expire_tier(ak_sysdb *db, ak_tier tier, int64_t cutoff_us, int dry,
                               int64_t *n, ak_err *err)
{
    const char *table = tier == AK_TIER_HOT ? "hot" : "warm";
    char sql[128];
    snprintf(sql, sizeof sql, dry ? "SELECT count(*) FROM %s WHERE ts_us < ?1"
                                  : "DELETE FROM %s WHERE ts_us < ?1", table);
    if (dry)
        return count_or_delete(db, sql, cutoff_us, n, 1, err);
    ak_code rc = ak_sysdb_begin(db, err);
    if (rc == AK_OK)
        rc = count_or_delete(db, sql, cutoff_us, n, 0, err);
    if (rc == AK_OK)
        rc = ak_sysdb_commit(db, err);
    if (rc)
        ak_sysdb_rollback(db);
    return rc;
}
