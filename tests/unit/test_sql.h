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

#endif
