/* tombstone.c - see tombstone.h. */
#include "storage/tombstone.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS forgotten("
    " system_id TEXT PRIMARY KEY,"
    " forgotten_at_us INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('forgetting', 'forgotten')),"
    " purge_bucket INTEGER NOT NULL DEFAULT 0,"
    " finished_at_us INTEGER);";

static void tomb_path(const ak_datadir *dd, char *out, size_t n)
{
    ak_fmt(out, n, "%s/" AK_TOMBSTONE_FILE, ak_datadir_path(dd));
}

static ak_code db_error(sqlite3 *db, const char *what, ak_err *err)
{
    return ak_err_set(err, AK_ERR_IO, "%s: %s: %s", AK_TOMBSTONE_FILE, what,
                      db ? sqlite3_errmsg(db) : "out of memory");
}

/* Open the file; without create a missing one is AK_ERR_NOTFOUND. */
static ak_code open_db(const ak_datadir *dd, int create, sqlite3 **out, ak_err *err)
{
    char path[AK_PATH_MAX];
    tomb_path(dd, path, sizeof path);
    *out = NULL;
    if (!create && access(path, F_OK) != 0)
        return errno == ENOENT ? AK_ERR_NOTFOUND
                               : ak_err_set(err, AK_ERR_IO, "%s: %s", path, strerror(errno));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, out, flags, NULL) != SQLITE_OK) {
        ak_code rc = db_error(*out, "cannot open", err);
        sqlite3_close(*out);
        *out = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*out, 30000);
    if (sqlite3_exec(*out, "PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(*out, schema, NULL, NULL, NULL) != SQLITE_OK) {
        ak_code rc = db_error(*out, "cannot prepare", err);
        sqlite3_close(*out);
        *out = NULL;
        return rc;
    }
    return AK_OK;
}

static void fill(sqlite3_stmt *st, ak_tomb *t)
{
    memset(t, 0, sizeof *t);
    ak_fmt(t->system_id, sizeof t->system_id, "%s", (const char *)sqlite3_column_text(st, 0));
    t->at_us = sqlite3_column_int64(st, 1);
    t->done = strcmp((const char *)sqlite3_column_text(st, 2), "forgotten") == 0;
    t->purge_bucket = sqlite3_column_int(st, 3) != 0;
    t->finished_us = sqlite3_column_int64(st, 4);
}

#define COLUMNS "system_id, forgotten_at_us, state, purge_bucket, finished_at_us"

/* Run sql (binding system_id as ?1 when non-NULL) and call fn per row. */
static ak_code query(sqlite3 *db, const char *sql, const char *system_id, ak_tomb_fn fn,
                     void *ctx, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "cannot read", err);
    if (system_id)
        sqlite3_bind_text(st, 1, system_id, -1, SQLITE_STATIC);
    ak_code rc = AK_OK;
    int s;
    while (rc == AK_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
        ak_tomb t;
        fill(st, &t);
        rc = fn(ctx, &t);
    }
    if (rc == AK_OK && s != SQLITE_DONE)
        rc = db_error(db, "cannot read", err);
    sqlite3_finalize(st);
    return rc;
}

static ak_code copy_one(void *ctx, const ak_tomb *t)
{
    ak_tomb *out = ctx;
    *out = *t;
    return AK_OK;
}

static ak_code get_open(sqlite3 *db, const char *system_id, ak_tomb *out, ak_err *err)
{
    out->system_id[0] = '\0';
    ak_code rc = query(db, "SELECT " COLUMNS " FROM forgotten WHERE system_id = ?1", system_id,
                       copy_one, out, err);
    return rc == AK_OK && !out->system_id[0] ? AK_ERR_NOTFOUND : rc;
}

ak_code ak_tomb_get(const ak_datadir *dd, const char *system_id, ak_tomb *out, ak_err *err)
{
    sqlite3 *db;
    ak_code rc = open_db(dd, 0, &db, err);
    if (rc == AK_OK)
        rc = get_open(db, system_id, out, err);
    sqlite3_close(db);
    return rc;
}

/* Execute one statement binding system_id (?1) and up to two integers
 * (?2, ?3: as many as the statement has). */
static ak_code exec3(sqlite3 *db, const char *sql, const char *system_id, int64_t a, int64_t b,
                     int *changed, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "cannot write", err);
    sqlite3_bind_text(st, 1, system_id, -1, SQLITE_STATIC);
    int params = sqlite3_bind_parameter_count(st);
    if (params >= 2)
        sqlite3_bind_int64(st, 2, a);
    if (params >= 3)
        sqlite3_bind_int64(st, 3, b);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return db_error(db, "cannot write", err);
    if (changed)
        *changed = sqlite3_changes(db);
    return AK_OK;
}

ak_code ak_tomb_begin(const ak_datadir *dd, const char *system_id, int64_t at_us,
                      int purge_bucket, ak_tomb *out, int *resumed, ak_err *err)
{
    sqlite3 *db;
    ak_tomb old;
    ak_code rc = open_db(dd, 1, &db, err);
    if (rc)
        return rc;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_error(db, "cannot write", err);
        sqlite3_close(db);
        return rc;
    }
    rc = get_open(db, system_id, &old, err);
    *resumed = rc == AK_OK && !old.done;
    if (rc == AK_ERR_NOTFOUND)
        rc = AK_OK;
    if (rc == AK_OK)
        rc = exec3(db,
                   "INSERT INTO forgotten(system_id, forgotten_at_us, state, purge_bucket)"
                   " VALUES (?1, ?2, 'forgetting', ?3) ON CONFLICT(system_id) DO UPDATE SET"
                   " forgotten_at_us = max(forgotten_at_us, excluded.forgotten_at_us),"
                   " state = 'forgetting', finished_at_us = NULL,"
                   " purge_bucket = purge_bucket OR excluded.purge_bucket",
                   system_id, at_us, purge_bucket, NULL, err);
    if (rc == AK_OK)
        rc = get_open(db, system_id, out, err);
    if (rc == AK_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(db, "cannot commit", err);
    if (rc)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

ak_code ak_tomb_finish(const ak_datadir *dd, const char *system_id, int64_t finished_us,
                       ak_err *err)
{
    sqlite3 *db;
    ak_code rc = open_db(dd, 1, &db, err);
    if (rc == AK_OK)
        rc = exec3(db, "UPDATE forgotten SET state = 'forgotten', finished_at_us = ?2"
                       " WHERE system_id = ?1",
                   system_id, finished_us, 0, NULL, err);
    sqlite3_close(db);
    return rc;
}

ak_code ak_tomb_remove(const ak_datadir *dd, const char *system_id, ak_err *err)
{
    sqlite3 *db;
    int changed = 0;
    ak_code rc = open_db(dd, 0, &db, err);
    if (rc == AK_OK)
        rc = exec3(db, "DELETE FROM forgotten WHERE system_id = ?1", system_id, 0,
                   0, &changed, err);
    sqlite3_close(db);
    return rc == AK_OK && !changed ? AK_ERR_NOTFOUND : rc;
}

ak_code ak_tomb_each(const ak_datadir *dd, ak_tomb_fn fn, void *ctx, ak_err *err)
{
    sqlite3 *db;
    ak_code rc = open_db(dd, 0, &db, err);
    if (rc == AK_ERR_NOTFOUND)
        return AK_OK;
    if (rc == AK_OK)
        rc = query(db, "SELECT " COLUMNS " FROM forgotten ORDER BY system_id", NULL, fn, ctx,
                   err);
    sqlite3_close(db);
    return rc;
}

int ak_tomb_blocks(const ak_datadir *dd, const char *system_id, int64_t ts_us)
{
    ak_tomb t;
    ak_err err;
    ak_code rc = ak_tomb_get(dd, system_id, &t, &err);
    if (rc == AK_ERR_NOTFOUND)
        return 0;
    if (rc) {
        AK_ERROR("forget", "%s: %s; its memories are held back until it can be read",
                 system_id, err.msg);
        return 1;
    }
    return !t.done || ts_us <= t.at_us;
}
