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

#include "storage/rollup.h"
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

/* The cold catalog's triggers on cold_objects, as schema 9 and 10 have them. */
#define TEST_SQL_COLD_OBJECTS_TRIGGERS                                               \
    "CREATE TRIGGER cold_objects_ad AFTER DELETE ON cold"                            \
    " WHEN NOT EXISTS(SELECT 1 FROM cold WHERE object_id = old.object_id) BEGIN"     \
    " DELETE FROM cold_objects WHERE id = old.object_id; END;"                       \
    "CREATE TRIGGER cold_objects_au AFTER UPDATE OF object_id ON cold"               \
    " WHEN old.object_id <> new.object_id"                                           \
    " AND NOT EXISTS(SELECT 1 FROM cold WHERE object_id = old.object_id) BEGIN"      \
    " DELETE FROM cold_objects WHERE id = old.object_id; END;"

/* SQL that takes a database of this build's schema back to schema 10 (the
 * daily rollup kept by triggers on conv_facts), for tests of older schemas;
 * the user_version is the test's. */
#define TEST_SQL_UNDO_11 AK_ROLLUP_TRIGGERS_SQL

/* SQL that takes a database back to the cold catalog of schema 9 (a
 * full-text index with positions and document sizes, the object keys
 * indexed), for tests of older schemas; the user_version is the test's. */
#define TEST_SQL_UNDO_10                                                             \
    TEST_SQL_UNDO_11                                                                 \
    "DROP TRIGGER cold_fts_ad; DROP TABLE cold_fts;"                                 \
    "CREATE VIRTUAL TABLE cold_fts USING fts5(ultra_summary, content='cold',"        \
    " content_rowid='rowid', tokenize='porter unicode61');"                          \
    "INSERT INTO cold_fts(rowid, ultra_summary) SELECT rowid, ultra_summary FROM cold" \
    " WHERE ultra_summary IS NOT NULL;"                                              \
    "CREATE TRIGGER cold_fts_ad AFTER DELETE ON cold WHEN old.ultra_summary IS NOT NULL" \
    " BEGIN INSERT INTO cold_fts(cold_fts, rowid, ultra_summary)"                    \
    " VALUES ('delete', old.rowid, old.ultra_summary); END;"                         \
    "DROP TRIGGER cold_objects_ad; DROP TRIGGER cold_objects_au;"                    \
    "CREATE TABLE cold_objects_9(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);"  \
    "INSERT INTO cold_objects_9 SELECT id, key FROM cold_objects;"                   \
    "DROP TABLE cold_objects; ALTER TABLE cold_objects_9 RENAME TO cold_objects;"    \
    TEST_SQL_COLD_OBJECTS_TRIGGERS

/* SQL that takes a database back to the cold catalog of schema 8
 * (each row holding its object's key), for tests of older schemas; the
 * user_version is the test's to set. */
#define TEST_SQL_UNDO_9                                                              \
    TEST_SQL_UNDO_10                                                                 \
    "DROP TRIGGER cold_objects_ad; DROP TRIGGER cold_objects_au; DROP INDEX cold_object;" \
    "ALTER TABLE cold ADD COLUMN object_key TEXT NOT NULL DEFAULT '';"               \
    "UPDATE cold SET object_key = (SELECT key FROM cold_objects WHERE id = object_id);" \
    "ALTER TABLE cold DROP COLUMN object_id; DROP TABLE cold_objects;"               \
    "CREATE INDEX cold_object ON cold(object_key);"

#endif
