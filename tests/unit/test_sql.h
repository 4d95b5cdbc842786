/*
 * test_sql.h - a unit test's own SQLite connection to a system database's
 * file, for the SQL a test pokes that the storage API does not offer (old
 * schemas, rows as an older build left them, what a table holds).  The
 * storage module keeps its handle to itself.  Close with sqlite3_close().
 */
#ifndef AK_TEST_SQL_H
#define AK_TEST_SQL_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "storage/sysdb.h"

static inline sqlite3 *test_sql_open(ak_sysdb *db)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(ak_sysdb_path(db), &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s: %s\n", ak_sysdb_path(db), sqlite3_errmsg(h));
        abort();
    }
    sqlite3_busy_timeout(h, 10000);
    return h;
}

/* SQL that takes a schema-9 database back to the cold catalog of schema 8
 * (each row holding its object's key), for tests of older schemas; the
 * user_version is the test's to set. */
#define TEST_SQL_UNDO_9                                                              \
    "DROP TRIGGER cold_objects_ad; DROP TRIGGER cold_objects_au; DROP INDEX cold_object;" \
    "ALTER TABLE cold ADD COLUMN object_key TEXT NOT NULL DEFAULT '';"               \
    "UPDATE cold SET object_key = (SELECT key FROM cold_objects WHERE id = object_id);" \
    "ALTER TABLE cold DROP COLUMN object_id; DROP TABLE cold_objects;"               \
    "CREATE INDEX cold_object ON cold(object_key);"

#endif
