/*
 * fuzz_coldmatch.c - libFuzzer target for the cold index's full-text
 * queries: the input is what a person types; query/match.c builds the
 * FTS5 query (with and without prefixes), storage/coldmatch.c rewrites it
 * for the cold index, and that query must run on an FTS5 table of the cold
 * index's form (detail=none, columnsize=0) without an error: a phrase the
 * table refuses would fail every search that reaches cold.
 *
 * Run with scripts/fuzz.sh coldmatch [seconds].
 */
#include "fuzz_common.h"

#include <sqlite3.h>

#include "query/match.h"
#include "storage/coldmatch.h"

static sqlite3 *db;

static void open_db(void)
{
    if (db)
        return;
    FUZZ_CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK, "open");
    FUZZ_CHECK(sqlite3_exec(db, "CREATE TABLE cold(ultra_summary TEXT);"
                                "CREATE VIRTUAL TABLE cold_fts USING fts5(ultra_summary,"
                                " content='cold', content_rowid='rowid',"
                                " tokenize='porter unicode61', detail=none, columnsize=0);"
                                "INSERT INTO cold VALUES('don’t ship the naïve bundle');"
                                "INSERT INTO cold_fts(cold_fts) VALUES('rebuild');",
                            NULL, NULL, NULL) == SQLITE_OK,
               "schema: %s", sqlite3_errmsg(db));
}

static void run(const char *text, int prefixes)
{
    char *match = ak_match_build(text, prefixes), *cold = NULL;
    ak_err err;
    if (!match)
        return; /* no word at all: search does not query */
    FUZZ_CHECK(ak_coldmatch_rewrite(db, match, &cold, &err) == AK_OK, "%s", err.msg);
    sqlite3_stmt *st;
    FUZZ_CHECK(sqlite3_prepare_v2(db, "SELECT rowid FROM cold_fts WHERE cold_fts MATCH ?1", -1,
                                  &st, NULL) == SQLITE_OK, "prepare");
    sqlite3_bind_text(st, 1, cold, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    FUZZ_CHECK(rc == SQLITE_DONE, "query %s refused: %s", cold, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    free(cold);
    free(match);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    open_db();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    run(text, 0);
    run(text, 1);
    free(text);
    return 0;
}
