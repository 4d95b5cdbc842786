/* test_coldcat.c - the cold catalog: its schema-9 form (object keys stored
 * once, rows naming them by number), the migration of a schema-8 catalog,
 * schema 10's (a full-text index without positions or sizes, the keys not
 * indexed) and the migration of a schema-9 one, and the queries aging,
 * retention, forget and verify run on it. */
#include "test.h"
#include "test_sql.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "storage/check.h"
#include "storage/coldcat.h"
#include "storage/sysdb.h"

#define KEY_A "system_id=s/month=2026-01/batch-a.parquet"
#define KEY_B "system_id=s/month=2026-02/batch-b.parquet"

static char path[512];

/* A catalog as schema 8 left it: rows 5 and 9 in object A, 12 in B, their
 * summaries in the full-text index under those rowids. */
static void make_v8(void)
{
    ak_sysdb *db;
    ak_err err;
    snprintf(path, sizeof path, "%s/v8.db", test_tmpdir());
    CHECK_INT(ak_sysdb_open(path, 1, &db, &err), AK_OK);
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h, TEST_SQL_UNDO_9 "PRAGMA user_version = 8;"
        "INSERT INTO cold(rowid, conversation_id, object_key, ts_us, content_sha256, upload_at_us,"
        " upload_id, ultra_summary) VALUES"
        " (5, 'c1', '" KEY_A "', 100, zeroblob(32), 1, 'u', 'alpha bravo'),"
        " (9, 'c2', '" KEY_A "', 200, zeroblob(32), 1, 'u', 'charlie zulu'),"
        " (12, 'c3', '" KEY_B "', 300, zeroblob(32), 1, 'u', 'delta echo');"
        "INSERT INTO cold_fts(rowid, ultra_summary) SELECT rowid, ultra_summary FROM cold;"
        "INSERT INTO uploads(upload_id, status, first_seen_us) VALUES('u', 'ingested', 1);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    ak_sysdb_close(db);
}

static ak_code count_row(void *ctx, const char *key, const char *cid, const char *sha, int64_t ts)
{
    (void)sha;
    if (strcmp(cid, "c3") == 0)
        CHECK_STR(key, KEY_B);
    else
        CHECK_STR(key, KEY_A);
    CHECK(ts > 0);
    (*(int *)ctx)++;
    return AK_OK;
}

/* verify reads both forms: before the migration and after it */
static void check_each_cold(void)
{
    ak_dbcheck *c;
    ak_err err;
    int rows = 0, found;
    CHECK_INT(ak_dbcheck_open(path, &c, &err), AK_OK);
    CHECK_INT(ak_dbcheck_each_cold(c, count_row, &rows, &err), AK_OK);
    CHECK_INT(rows, 3);
    CHECK_INT(ak_dbcheck_names_object(c, KEY_B, &found, &err), AK_OK);
    CHECK_INT(found, 1);
    CHECK_INT(ak_dbcheck_names_object(c, "system_id=s/none.parquet", &found, &err), AK_OK);
    CHECK_INT(found, 0);
    CHECK_INT(ak_dbcheck_holds(c, "c3", 2, KEY_A, &found, &err), AK_OK);
    CHECK_INT(found, 1);
    CHECK_INT(ak_dbcheck_holds(c, "c3", 2, KEY_B, &found, &err), AK_OK);
    CHECK_INT(found, 0);
    ak_dbcheck_close(c);
}

static void on_problem(void *ctx, const char *check, const char *message)
{
    fprintf(stderr, "problem %s: %s\n", check, message);
    (*(int *)ctx)++;
}

static ak_code on_hit(void *ctx, int64_t rowid, const char *cid, int64_t ts, double score)
{
    (void)ts, (void)score;
    snprintf(ctx, 32, "%lld %s", (long long)rowid, cid);
    return AK_OK;
}

static int64_t one_int(ak_sysdb *db, const char *sql)
{
    sqlite3 *h = test_sql_open(db);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void test_migration(void)
{
    make_v8();
    check_each_cold();
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(path, 0, &db, &err), AK_OK);
    CHECK_INT(one_int(db, "PRAGMA user_version"), ak_sysdb_schema_version());
    CHECK_INT(one_int(db, "SELECT count(*) FROM cold_objects"), 2);
    CHECK_INT(one_int(db, "SELECT count(*) FROM pragma_table_info('cold')"
                          " WHERE name = 'object_key'"), 0);
    check_each_cold();

    /* rowids kept: the full-text index still points at the right rows */
    char hit[32] = "";
    CHECK_INT(ak_sysdb_text_search(db, AK_TIER_COLD, "zulu", 0, INT64_MAX, 10, on_hit, hit, &err),
              AK_OK);
    CHECK_STR(hit, "9 c2");
    ak_conv conv;
    CHECK_INT(ak_sysdb_get_conv(db, "c3", &conv, &err), AK_OK);
    CHECK_STR(conv.object_key, KEY_B);
    CHECK_STR(conv.summary, "delta echo");
    ak_conv_free(&conv);
    ak_dbcheck *c;
    int problems = 0;
    CHECK_INT(ak_dbcheck_open(path, &c, &err), AK_OK);
    CHECK_INT(ak_dbcheck_run(c, 1, on_problem, &problems), 0);
    ak_dbcheck_close(c);
    ak_sysdb_close(db);
}

/* What aging, retention and forget ask of the migrated catalog, and the
 * key table following its rows. */
static void test_queries(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(path, 0, &db, &err), AK_OK);
    ak_coldcat_obj *objs;
    size_t n;
    CHECK_INT(ak_coldcat_expired(db, 250, &objs, &n, &err), AK_OK);
    CHECK_INT(n, 1);
    CHECK_STR(objs[0].key, KEY_A);
    CHECK_INT(objs[0].rows, 2);
    CHECK_INT(objs[0].expired, 2);
    ak_coldcat_objs_free(objs, n);

    ak_strlist out = {0};
    CHECK_INT(ak_coldcat_outside(db, "system_id=s/", &out, &err), AK_OK);
    CHECK_INT(out.n, 0);
    CHECK_INT(ak_coldcat_outside(db, "system_id=t/", &out, &err), AK_OK);
    CHECK_INT(out.n, 2);
    ak_strlist_free(&out);

    CHECK_INT(ak_coldcat_uncatalog(db, KEY_A, &err), AK_OK);
    CHECK_INT(one_int(db, "SELECT count(*) FROM cold"), 1);
    CHECK_INT(one_int(db, "SELECT count(*) FROM cold_objects"), 1); /* by trigger */
    char hit[32] = "";
    CHECK_INT(ak_sysdb_text_search(db, AK_TIER_COLD, "zulu", 0, INT64_MAX, 10, on_hit, hit, &err),
              AK_OK);
    CHECK_STR(hit, "");
    /* a row moved to another object frees its old key when it was the last */
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h, "INSERT INTO cold_objects(key) VALUES('k2');"
                              "UPDATE cold SET object_id = last_insert_rowid();",
                           NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    CHECK_INT(one_int(db, "SELECT count(*) FROM cold_objects WHERE key = '" KEY_B "'"), 0);
    CHECK_INT(one_int(db, "SELECT count(*) FROM cold_objects"), 1);
    ak_sysdb_close(db);
}

/* A catalog as schema 9 left it, migrated to 10: the words of every
 * summary still found (a word the tokenizer cuts in two too), verify
 * content, then told of a row the index lacks. */
static void test_migration_10(void)
{
    ak_sysdb *db;
    ak_err err;
    snprintf(path, sizeof path, "%s/v9.db", test_tmpdir());
    CHECK_INT(ak_sysdb_open(path, 1, &db, &err), AK_OK);
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h, TEST_SQL_UNDO_10 "PRAGMA user_version = 9;"
        "INSERT INTO cold_objects(id, key) VALUES (1, '" KEY_A "'), (2, '" KEY_B "');"
        "INSERT INTO cold(rowid, conversation_id, object_id, ts_us, content_sha256, upload_at_us,"
        " upload_id, ultra_summary) VALUES"
        " (5, 'c1', 1, 100, zeroblob(32), 1, 'u', 'We don’t ship the bundle size fix'),"
        " (9, 'c2', 1, 200, zeroblob(32), 1, 'u', 'charlie zulu'),"
        " (11, 'c4', 2, 250, zeroblob(32), 1, 'u', NULL),"
        " (12, 'c3', 2, 300, zeroblob(32), 1, 'u', 'Café naïve — ünïcode');"
        "INSERT INTO cold_fts(rowid, ultra_summary) SELECT rowid, ultra_summary FROM cold"
        " WHERE ultra_summary IS NOT NULL;"
        "INSERT INTO uploads(upload_id, status, first_seen_us) VALUES('u', 'ingested', 1);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    ak_sysdb_close(db);

    CHECK_INT(ak_sysdb_open(path, 0, &db, &err), AK_OK);
    CHECK_INT(one_int(db, "PRAGMA user_version"), ak_sysdb_schema_version());
    CHECK_INT(one_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN"
                          " ('cold_fts_docsize', 'sqlite_autoindex_cold_objects_1')"), 0);
    CHECK_INT(one_int(db, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%detail=none%'"), 1);
    CHECK_INT(one_int(db, "SELECT count(*) FROM cold_objects"), 2);
    static const struct {
        const char *words, *hit;
    } finds[] = {
        {"\"zulu\"", "9 c2"},
        {"\"don’t\"", "5 c1"},          /* cut in two by the tokenizer */
        {"\"bundl\"* OR \"nothing\"", "5 c1"},
        {"\"cafe\"", "12 c3"},          /* diacritics folded, as indexed */
        {"\"naïve—ünïcode\"*", "12 c3"},
        {"\"—\"", ""},                 /* no token at all: nothing, no error */
    };
    for (size_t i = 0; i < sizeof finds / sizeof *finds; i++) {
        char hit[32] = "";
        CHECK_INT(ak_sysdb_text_search(db, AK_TIER_COLD, finds[i].words, 0, INT64_MAX, 10, on_hit,
                                       hit, &err), AK_OK);
        CHECK_STR(hit, finds[i].hit);
    }
    ak_dbcheck *c;
    int problems = 0;
    CHECK_INT(ak_dbcheck_open(path, &c, &err), AK_OK);
    CHECK_INT(ak_dbcheck_run(c, 1, on_problem, &problems), 0);
    ak_dbcheck_close(c);

    /* a row deleted behind the index's back, one added without it */
    h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h, "DROP TRIGGER cold_fts_ad; DELETE FROM cold WHERE rowid = 9;"
        "INSERT INTO cold(rowid, conversation_id, object_id, ts_us, content_sha256, upload_at_us,"
        " upload_id, ultra_summary) VALUES (20, 'c9', 2, 1, zeroblob(32), 1, 'u', 'lost words');",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    CHECK_INT(ak_dbcheck_open(path, &c, &err), AK_OK);
    problems = 0;
    CHECK_INT(ak_dbcheck_run(c, 1, on_problem, &problems), 1);
    ak_dbcheck_close(c);
    ak_sysdb_close(db);
}

int main(void)
{
    RUN(test_migration);
    RUN(test_queries);
    RUN(test_migration_10);
    return test_report("coldcat");
}
