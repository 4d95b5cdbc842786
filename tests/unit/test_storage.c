/* test_storage.c - the per-system database (sysdb) and the data directory. */
#include "test.h"
#include "test_sql.h"
#include "../tools/rec_test.h"

#include <math.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "storage/check.h"
#include "storage/datadir.h"
#include "storage/shard.h"
#include "storage/sysdb.h"
#include "storage/tiermove.h"
#include "storage/warmcode.h"
#include "util/ids.h"
#include "util/time.h"

static char path_buf[512];

static const char *tmp_path(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", test_tmpdir(), name);
    return path_buf;
}

static ak_record make_rec(const char *id, const char *content)
{
    return test_record(id, content, 1000, "session-buddy");
}

static ak_put_result put(ak_sysdb *db, int64_t at, const char *uid, const char *id,
                         const char *content)
{
    ak_upload_order up = {at, uid};
    ak_record r = make_rec(id, content);
    ak_put_result res = (ak_put_result)-1;
    ak_err err;
    CHECK_INT(ak_sysdb_put_record(db, &up, &r, &res, &err), AK_OK);
    return res;
}

static char *content_of(ak_sysdb *db, const char *id)
{
    static char out[256];
    sqlite3_stmt *st;
    sqlite3 *h = test_sql_open(db);
    out[0] = '\0';
    sqlite3_prepare_v2(h, "SELECT content FROM hot WHERE conversation_id=?", -1, &st, NULL);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, sizeof out, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

static void test_open_create_and_missing(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("missing.db"), 0, &db, &err), AK_ERR_NOTFOUND);
    CHECK_INT(ak_sysdb_open(tmp_path("new.db"), 1, &db, &err), AK_OK);
    ak_sysdb_close(db);
    /* reopening an existing database does not migrate twice */
    CHECK_INT(ak_sysdb_open(tmp_path("new.db"), 0, &db, &err), AK_OK);
    sqlite3_stmt *st;
    sqlite3 *h = test_sql_open(db);
    sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(h);
    ak_sysdb_close(db);
}

static void test_corrupt_and_future_files(void)
{
    ak_sysdb *db;
    ak_err err;
    FILE *f = fopen(tmp_path("garbage.db"), "w");
    for (int i = 0; i < 4096; i++)
        fputc(i * 7, f);
    fclose(f);
    ak_code rc = ak_sysdb_open(tmp_path("garbage.db"), 0, &db, &err);
    CHECK(rc == AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, "garbage.db");

    CHECK_INT(ak_sysdb_open(tmp_path("future.db"), 1, &db, &err), AK_OK);
    sqlite3 *h = test_sql_open(db);
    sqlite3_exec(h, "PRAGMA user_version = 999", NULL, NULL, NULL);
    sqlite3_close(h);
    ak_sysdb_close(db);
    CHECK_INT(ak_sysdb_open(tmp_path("future.db"), 0, &db, &err), AK_ERR_UNSUPPORTED);
    CHECK_HAS(err.msg, "newer than this akosha");
}

static void test_put_rules(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("rules.db"), 1, &db, &err), AK_OK);
    CHECK_INT(put(db, 100, "u1", "a", "one"), AK_PUT_NEW);
    CHECK_INT(put(db, 100, "u1", "a", "one"), AK_PUT_DUPLICATE);     /* same upload, same content */
    CHECK_INT(put(db, 100, "u1", "a", "other"), AK_PUT_CONFLICT);    /* same upload, other content */
    CHECK_INT(put(db, 200, "u2", "a", "one"), AK_PUT_DUPLICATE);     /* newer upload, same content */
    CHECK_INT(put(db, 200, "u2", "a", "two"), AK_PUT_UPDATED);       /* newer upload, new content */
    CHECK_STR(content_of(db, "a"), "two");
    CHECK_INT(put(db, 150, "u0", "a", "stale"), AK_PUT_STALE);       /* older upload */
    CHECK_INT(put(db, 200, "u1", "a", "tie-lower-id"), AK_PUT_STALE); /* same time, lower id */
    CHECK_INT(put(db, 200, "u3", "a", "tie-higher-id"), AK_PUT_UPDATED);
    CHECK_STR(content_of(db, "a"), "tie-higher-id");
    CHECK_INT(put(db, 300, "u4", "b", "one"), AK_PUT_NEW);           /* same content, other key */
    ak_sysdb_counts c;
    CHECK_INT(ak_sysdb_counts_get(db, &c, &err), AK_OK);
    CHECK_INT(c.hot, 2);
    ak_sysdb_close(db);
}

static char *source_of(ak_sysdb *db, const char *id)
{
    static char out[64];
    sqlite3_stmt *st;
    sqlite3 *h = test_sql_open(db);
    out[0] = '\0';
    sqlite3_prepare_v2(h, "SELECT upload_id FROM sources WHERE conversation_id=?", -1, &st, NULL);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, sizeof out, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

/* sources names the latest upload holding a conversation's stored version
 * exactly (ops/prune.h relies on it). */
static void test_sources(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("sources.db"), 1, &db, &err), AK_OK);
    put(db, 100, "u1", "a", "one");
    CHECK_STR(source_of(db, "a"), "u1");
    put(db, 200, "u2", "a", "one");                     /* held again: u2 can rebuild it */
    CHECK_STR(source_of(db, "a"), "u2");
    put(db, 150, "u0", "a", "one");                     /* an older upload: not the latest */
    CHECK_STR(source_of(db, "a"), "u2");
    ak_upload_order up = {300, "u3"};
    ak_record r = make_rec("a", "one");
    ak_put_result res;
    r.ts_us = 999;                                      /* same content, another time */
    CHECK_INT(ak_sysdb_put_record(db, &up, &r, &res, &err), AK_OK);
    CHECK_INT(res, AK_PUT_DUPLICATE);
    CHECK_STR(source_of(db, "a"), "u2");                /* u3 would not rebuild the stored row */
    r = make_rec("a", "one");
    r.metadata = "{\"x\":1}";
    r.metadata_len = strlen(r.metadata);
    CHECK_INT(ak_sysdb_put_record(db, &up, &r, &res, &err), AK_OK);
    CHECK_STR(source_of(db, "a"), "u2");                /* nor another metadata */
    put(db, 400, "u4", "a", "two");                     /* an update: its upload is the source */
    CHECK_STR(source_of(db, "a"), "u4");
    put(db, 350, "u35", "a", "stale");                  /* other content, older: stale */
    CHECK_STR(source_of(db, "a"), "u4");
    /* a DuckDB snapshot's first pass sees id and content only: same content
     * makes a later upload the source by content alone */
    ak_upload_order later = {500, "u5"};
    int same = 0;
    r = make_rec("a", "two");
    CHECK_INT(ak_sysdb_stored_same(db, &later, &r, &same, &err), AK_OK);
    CHECK(same);
    CHECK_STR(source_of(db, "a"), "u5");
    r = make_rec("a", "three");
    CHECK_INT(ak_sysdb_stored_same(db, &later, &r, &same, &err), AK_OK);
    CHECK(!same);
    CHECK_STR(source_of(db, "a"), "u5");
    put(db, 100, "u1", "b", "x");
    put(db, 100, "u1", "b", "y");                       /* a conflict inside u1 */
    CHECK_STR(source_of(db, "b"), "u1");
    ak_sysdb_close(db);
}

/* An update of a record that aged out of hot brings the new version back
 * to hot and drops the old tier's copy. */
static void test_update_from_other_tiers(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("tiers.db"), 1, &db, &err), AK_OK);
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h,
        "INSERT INTO warm(conversation_id, summary, ts_us, source, content_sha256, upload_at_us, upload_id)"
        " VALUES('w', 's', 1, 'x', x'00', 10, 'u0');"
        "INSERT INTO warm_fts(rowid, summary) VALUES(last_insert_rowid(), 's');"
        "INSERT INTO cold_objects(id, key) VALUES(1, 'k');"
        "INSERT INTO cold(conversation_id, object_id, ts_us, content_sha256, upload_at_us, upload_id)"
        " VALUES('c', 1, 1, x'00', 10, 'u0');", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    CHECK_INT(put(db, 5, "older", "w", "new w"), AK_PUT_STALE);
    CHECK_INT(put(db, 20, "u1", "w", "new w"), AK_PUT_UPDATED);
    CHECK_INT(put(db, 20, "u1", "c", "new c"), AK_PUT_UPDATED);
    ak_sysdb_counts c;
    CHECK_INT(ak_sysdb_counts_get(db, &c, &err), AK_OK);
    CHECK_INT(c.hot, 2);
    CHECK_INT(c.warm, 0);
    CHECK_INT(c.cold, 0);
    ak_sysdb_close(db);
}

typedef struct {
    int hits;
    char first[64];
} text_hits;

static ak_code on_text_hit(void *ctx, int64_t rowid, const char *cid, int64_t ts_us, double score)
{
    text_hits *h = ctx;
    (void)rowid, (void)ts_us, (void)score;
    if (h->hits++ == 0)
        snprintf(h->first, sizeof h->first, "%s", cid);
    return AK_OK;
}

static text_hits text_hits_of(ak_sysdb *db, const char *match)
{
    text_hits h = {0, ""};
    ak_err err;
    CHECK_INT(ak_sysdb_text_search(db, AK_TIER_HOT, match, 0, INT64_MAX, 10, on_text_hit, &h, &err),
              AK_OK);
    return h;
}

/* The one hot conversation the query finds ("" when not exactly one). */
static const char *only_hit(ak_sysdb *db, const char *match)
{
    static text_hits h;
    h = text_hits_of(db, match);
    return h.hits == 1 ? h.first : "";
}

/* Counts what verify would report, but the ledger: put() writes records
 * without the upload rows ingestion adds. */
static void count_problem(void *ctx, const char *check, const char *message)
{
    if (strcmp(check, "ledger") == 0)
        return;
    fprintf(stderr, "    problem: %s: %s\n", check, message);
    (*(int *)ctx)++;
}

/* What `akosha verify` finds in the database at path, the ledger aside. */
static int problems_in(const char *path)
{
    ak_dbcheck *c;
    ak_err err;
    int problems = 0;
    CHECK_INT(ak_dbcheck_open(path, &c, &err), AK_OK);
    ak_dbcheck_run(c, 1, count_problem, &problems);
    ak_dbcheck_close(c);
    return problems;
}

/* The writers index text themselves (no insert trigger, see migration 4):
 * after new rows, an in-place update and a warm row brought back to hot,
 * the index finds exactly the current text and FTS5 agrees it is intact. */
static void test_text_index_follows_writes(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("fts.db"), 1, &db, &err), AK_OK);
    CHECK_INT(put(db, 100, "u1", "a", "alpha bravo"), AK_PUT_NEW);
    CHECK_INT(put(db, 100, "u1", "b", "charlie bravo"), AK_PUT_NEW);
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h,
        "INSERT INTO warm(conversation_id, summary, ts_us, source, content_sha256, upload_at_us, upload_id)"
        " VALUES('w', 'golf', 1, 'x', x'00', 10, 'u0');"
        "INSERT INTO warm_fts(rowid, summary) VALUES(last_insert_rowid(), 'golf');", NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(h);
    CHECK_INT(text_hits_of(db, "bravo").hits, 2);
    CHECK_INT(put(db, 200, "u2", "a", "delta echo"), AK_PUT_UPDATED);
    CHECK_INT(put(db, 200, "u2", "w", "foxtrot"), AK_PUT_UPDATED);
    CHECK_INT(text_hits_of(db, "alpha").hits, 0);
    CHECK_STR(only_hit(db, "bravo"), "b");
    CHECK_STR(only_hit(db, "delta"), "a");
    CHECK_STR(only_hit(db, "foxtrot"), "w");
    ak_sysdb_close(db);
    CHECK_INT(problems_in(tmp_path("fts.db")), 0);
}

/* Inside a transaction a hot row's text is indexed at COMMIT, all of the
 * transaction's rows at once (storage/sysdb_text.c): a row updated after
 * it was queued is indexed with its new text only, a rolled-back row not
 * at all, and FTS5 finds the index intact. */
static void test_text_index_at_commit(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("fts-tx.db"), 1, &db, &err), AK_OK);
    CHECK_INT(ak_sysdb_begin(db, &err), AK_OK);
    CHECK_INT(put(db, 100, "u1", "z", "zulu"), AK_PUT_NEW);
    ak_sysdb_rollback(db);
    CHECK_INT(ak_sysdb_begin(db, &err), AK_OK);
    CHECK_INT(put(db, 100, "u1", "a", "alpha bravo"), AK_PUT_NEW);
    CHECK_INT(put(db, 100, "u1", "b", "charlie bravo"), AK_PUT_NEW);
    CHECK_INT(put(db, 200, "u2", "a", "delta echo"), AK_PUT_UPDATED);
    CHECK_INT(put(db, 200, "u2", "c", "kilo"), AK_PUT_NEW);
    CHECK_INT(ak_sysdb_commit(db, &err), AK_OK);
    CHECK_INT(text_hits_of(db, "alpha").hits, 0);
    CHECK_INT(text_hits_of(db, "zulu").hits, 0);
    CHECK_STR(only_hit(db, "bravo"), "b");
    CHECK_STR(only_hit(db, "delta"), "a");
    CHECK_STR(only_hit(db, "kilo"), "c");
    ak_sysdb_close(db);
    CHECK_INT(problems_in(tmp_path("fts-tx.db")), 0);
}

/* A handle going idle gives its page cache back: 2.4 MB of rows written
 * through it stay cached (cache_size is 16 MiB) until released. */
static void test_release_memory(void)
{
    ak_sysdb *db;
    ak_err err;
    static char text[8192];
    memset(text, 'x', sizeof text - 1);
    CHECK_INT(ak_sysdb_open(tmp_path("release.db"), 1, &db, &err), AK_OK);
    CHECK_INT(ak_sysdb_begin(db, &err), AK_OK);
    for (int i = 0; i < 300; i++) {
        char id[32];
        snprintf(id, sizeof id, "c%d", i);
        text[i] = 'y'; /* distinct contents: row i starts with i + 1 y's */
        CHECK_INT(put(db, 100, "u1", id, text), AK_PUT_NEW);
    }
    CHECK_INT(ak_sysdb_commit(db, &err), AK_OK);
    size_t held = ak_sysdb_release_memory(db);
    CHECK(held < 256 * 1024);
    const char *c7 = content_of(db, "c7");
    CHECK(c7[7] == 'y' && c7[8] == 'x'); /* the rows are all there */
    ak_sysdb_close(db);
}

/* An idle reader's connection, as the index's idle cache keeps one per
 * system read (1,000 of them at 1M vectors over 1,000 systems): after a
 * row read and ak_sysdb_release_memory(), SQLite holds the main schema
 * (~37 KiB at schema 11), the pager's own page buffer (one 16 KiB page)
 * and the statement used (~6 KiB): ~59 KiB.  A writer's connection also
 * holds the TEMP schema of its epoch triggers and that schema's in-memory
 * pages, which release does not free (~105 KiB in all).  The bound, 80 KiB,
 * leaves the schema room to grow and fails if a reader carries the TEMP
 * schema or keeps pages of the main cache.  A write through the reader
 * fails (query_only): it could not bump the vector epoch. */
static void test_reader_connection_memory(void)
{
    ak_sysdb *w, *r;
    ak_sysdb_mem mw, mr;
    ak_conv c;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("reader.db"), 1, &w, &err), AK_OK);
    CHECK_INT(ak_sysdb_begin(w, &err), AK_OK);
    for (int i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof id, "c%d", i);
        CHECK_INT(put(w, 100, "u1", id, "some words to read back"), AK_PUT_NEW);
    }
    CHECK_INT(ak_sysdb_commit(w, &err), AK_OK);
    CHECK_INT(ak_sysdb_open_reader(tmp_path("reader.db"), &r, &err), AK_OK);
    ak_sysdb *both[2] = {w, r};
    for (int k = 0; k < 2; k++) {
        CHECK_INT(ak_sysdb_get_row(both[k], AK_TIER_HOT, 7, &c, &err), AK_OK);
        ak_conv_free(&c);
        ak_sysdb_release_memory(both[k]);
    }
    ak_sysdb_memory(w, &mw);
    ak_sysdb_memory(r, &mr);
    size_t reader = mr.schema + mr.stmt + mr.cache, writer = mw.schema + mw.stmt + mw.cache;
    CHECK(mr.stmt > 0 && mr.schema > 0); /* the figures are real */
    CHECK(reader < 80 * 1024);
    CHECK(writer > reader + 32 * 1024); /* what the reader leaves out */
    CHECK(mr.schema < mw.schema && mr.cache < mw.cache);
    ak_upload_order up = {200, "u2"};
    ak_record rec = make_rec("new", "a write through a reader");
    ak_put_result res;
    CHECK(ak_sysdb_begin(r, &err) != AK_OK ||
          ak_sysdb_put_record(r, &up, &rec, &res, &err) != AK_OK);
    ak_sysdb_rollback(r);
    CHECK(ak_sysdb_get_conv(w, "new", &c, &err) == AK_ERR_NOTFOUND);
    ak_sysdb_close(r);
    ak_sysdb_close(w);
}

/* A database of schema 3 (text indexed by insert/update triggers) is
 * brought to 4 on open: the triggers go, so the writer's own indexing does
 * not index a row twice, and what was indexed before stays searchable. */
static void test_migration_drops_index_triggers(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("v3.db"), 1, &db, &err), AK_OK);
    CHECK_INT(put(db, 100, "u1", "old", "kilo lima"), AK_PUT_NEW);
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h,
        "CREATE TRIGGER hot_fts_ai AFTER INSERT ON hot BEGIN"
        " INSERT INTO hot_fts(rowid, content) VALUES (new.id, new.content); END;"
        "CREATE TRIGGER hot_fts_au AFTER UPDATE OF content ON hot BEGIN"
        " INSERT INTO hot_fts(hot_fts, rowid, content) VALUES ('delete', old.id, old.content);"
        " INSERT INTO hot_fts(rowid, content) VALUES (new.id, new.content); END;"
        "CREATE TRIGGER warm_fts_ai AFTER INSERT ON warm BEGIN"
        " INSERT INTO warm_fts(rowid, summary) VALUES (new.id, new.summary); END;"
        "CREATE TRIGGER warm_fts_au AFTER UPDATE OF summary ON warm BEGIN"
        " INSERT INTO warm_fts(warm_fts, rowid, summary) VALUES ('delete', old.id, old.summary);"
        " INSERT INTO warm_fts(rowid, summary) VALUES (new.id, new.summary); END;"
        /* and without what schemas 5 to 9 added */
        TEST_SQL_UNDO_9 "DROP TRIGGER cold_fts_ad; DROP TABLE cold_fts; DROP TABLE cold_garbage;"
        "DROP TABLE conv_facts; DROP TABLE daily; DROP INDEX uploads_at;"
        "DROP TABLE sources; DROP TABLE pruned;"
        "ALTER TABLE cold DROP COLUMN ultra_summary; ALTER TABLE cold DROP COLUMN embedding_code;"
        "ALTER TABLE warm DROP COLUMN ultra_at; ALTER TABLE warm DROP COLUMN ultra_len;"
        "PRAGMA user_version = 3;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    ak_sysdb_close(db);

    CHECK_INT(ak_sysdb_open(tmp_path("v3.db"), 0, &db, &err), AK_OK);
    sqlite3_stmt *st;
    h = test_sql_open(db);
    CHECK_INT(sqlite3_prepare_v2(h,
                                 "SELECT (SELECT group_concat(name) FROM sqlite_master WHERE type ="
                                 " 'trigger' AND name LIKE '%fts%'),"
                                 " (SELECT user_version FROM pragma_user_version)",
                                 -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "hot_fts_ad,warm_fts_ad,cold_fts_ad");
    CHECK_INT(sqlite3_column_int(st, 1), ak_sysdb_schema_version());
    sqlite3_finalize(st);
    sqlite3_close(h);
    CHECK_INT(put(db, 200, "u2", "new", "mike lima"), AK_PUT_NEW);
    CHECK_INT(put(db, 200, "u2", "old", "kilo november"), AK_PUT_UPDATED);
    CHECK_STR(only_hit(db, "lima"), "new");
    CHECK_STR(only_hit(db, "kilo"), "old");
    ak_sysdb_close(db);
    CHECK_INT(problems_in(tmp_path("v3.db")), 0);
}

static void test_rollback_leaves_nothing(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("rollback.db"), 1, &db, &err), AK_OK);
    CHECK_INT(ak_sysdb_begin(db, &err), AK_OK);
    put(db, 1, "u1", "x", "y");
    ak_ledger_row row = {.upload_id = "u1", .status = AK_UPLOAD_INGESTED, .first_seen_us = 1};
    CHECK_INT(ak_sysdb_ledger_put(db, &row, &err), AK_OK);
    ak_sysdb_rollback(db);
    ak_sysdb_counts c;
    CHECK_INT(ak_sysdb_counts_get(db, &c, &err), AK_OK);
    CHECK_INT(c.hot, 0);
    CHECK_INT(c.ingested, 0);
    ak_sysdb_rollback(db); /* harmless outside a transaction */
    ak_sysdb_close(db);
}

static ak_code collect(void *ctx, const ak_ledger_row *r)
{
    char *out = ctx;
    strcat(out, r->upload_id);
    strcat(out, r->status == AK_UPLOAD_FAILED ? "(f) " : " ");
    return AK_OK;
}

static void test_ledger(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_sysdb_open(tmp_path("ledger.db"), 1, &db, &err), AK_OK);
    ak_ledger_row got;
    CHECK_INT(ak_sysdb_ledger_get(db, "nope", &got, &err), AK_OK);
    CHECK_INT(got.status, AK_UPLOAD_UNKNOWN);
    ak_ledger_row a = {.upload_id = "b-upload", .status = AK_UPLOAD_INGESTED, .uploaded_at_us = 50,
                       .declared_count = 3, .new_count = 2, .updated = 1, .duplicates = 4,
                       .stale = 5, .records_rejected = 6, .record_errors = "{\"x\":1}",
                       .payload_bytes = 77, .attempts = 2, .first_seen_us = 9,
                       .next_attempt_us = 0, .finished_us = 11, .system_type = "sb",
                       .metadata = "{}"};
    ak_ledger_row b = {.upload_id = "a-upload", .status = AK_UPLOAD_FAILED, .reason = "why",
                       .uploaded_at_us = 60, .first_seen_us = 1};
    CHECK_INT(ak_sysdb_ledger_put(db, &a, &err), AK_OK);
    CHECK_INT(ak_sysdb_ledger_put(db, &b, &err), AK_OK);
    CHECK_INT(ak_sysdb_ledger_get(db, "b-upload", &got, &err), AK_OK);
    CHECK_INT(got.status, AK_UPLOAD_INGESTED);
    CHECK_INT(got.new_count + got.updated + got.duplicates + got.stale + got.records_rejected, 18);
    CHECK_INT(got.payload_bytes, 77);
    CHECK_STR(got.record_errors, "{\"x\":1}");
    CHECK_STR(got.system_type, "sb");
    CHECK(got.reason == NULL);
    ak_ledger_row_free(&got);
    char order[256] = "";
    CHECK_INT(ak_sysdb_ledger_each(db, collect, order, &err), AK_OK);
    CHECK_STR(order, "b-upload a-upload(f) "); /* by uploaded_at, not by id */
    b.status = AK_UPLOAD_REJECTED; /* replacing a row keeps one row */
    CHECK_INT(ak_sysdb_ledger_put(db, &b, &err), AK_OK);
    ak_sysdb_counts c;
    CHECK_INT(ak_sysdb_counts_get(db, &c, &err), AK_OK);
    CHECK_INT(c.ingested, 1);
    CHECK_INT(c.rejected, 1);
    CHECK_INT(c.failed, 0);
    CHECK_INT(c.last_upload_us, 50);
    ak_sysdb_close(db);
}

static ak_code count_systems(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    int *n = ctx;
    CHECK_INT(ak_shard_of(sid, 256), shard);
    CHECK(strstr(path, sid) != NULL);
    (*n)++;
    return AK_OK;
}

static void test_datadir(void)
{
    ak_datadir *dd;
    ak_err err;
    const char *dir = tmp_path("data");
    char dirbuf[512];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    CHECK_INT(ak_datadir_open(dirbuf, 0, 0, &dd, &err), AK_ERR_NOTFOUND);
    CHECK_INT(ak_datadir_open(dirbuf, 1, 0, &dd, &err), AK_OK);
    CHECK_INT(ak_datadir_shards(dd), 256);
    ak_sysdb *db;
    CHECK_INT(ak_datadir_open_system(dd, "sys-a", 1, &db, &err), AK_OK);
    ak_sysdb_close(db);
    CHECK_INT(ak_datadir_open_system(dd, "sys-b", 1, &db, &err), AK_OK);
    ak_sysdb_close(db);
    CHECK_INT(ak_datadir_open_system(dd, "never", 0, &db, &err), AK_ERR_NOTFOUND);
    CHECK_INT(ak_datadir_open_system(dd, "../etc", 1, &db, &err), AK_ERR_INVALID);
    CHECK_INT(ak_datadir_open_system(dd, "a b", 1, &db, &err), AK_ERR_INVALID);
    /* a database in the wrong shard, and unrelated files, are skipped */
    char stray[700];
    snprintf(stray, sizeof stray, "%s/shard_000/sys-a.db", dirbuf);
    mkdir(tmp_path("data/shard_000"), 0755);
    fclose(fopen(stray, "w"));
    snprintf(stray, sizeof stray, "%s/shard_000/notes.txt", dirbuf);
    fclose(fopen(stray, "w"));
    int n = 0;
    CHECK_INT(ak_datadir_each_system(dd, count_systems, &n, &err), AK_OK);
    CHECK_INT(n, 2);
    ak_datadir_close(dd);
    /* the shard count is pinned by akosha.json */
    CHECK_INT(ak_datadir_open(dirbuf, 1, 16, &dd, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "256 shards");
    CHECK_INT(ak_datadir_open(dirbuf, 0, 256, &dd, &err), AK_OK);
    ak_datadir_close(dd);
    /* a damaged akosha.json is reported, not guessed around */
    FILE *f = fopen(tmp_path("data/akosha.json"), "w");
    fputs("{\"format\": 1}", f);
    fclose(f);
    CHECK_INT(ak_datadir_open(dirbuf, 0, 0, &dd, &err), AK_ERR_CORRUPT);
}

typedef struct {
    char ids[8][AK_SYSTEM_ID_MAX + 1];
    int n;
} id_seen;

static ak_code collect_systems(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    id_seen *s = ctx;
    char rel[AK_SYSTEM_ID_MAX + 32];
    CHECK_INT(ak_shard_of(sid, 256), shard);
    CHECK(ak_shard_db_relpath(sid, 256, rel, sizeof rel) > 0 && strstr(path, rel));
    if (s->n < 8)
        snprintf(s->ids[s->n++], sizeof s->ids[0], "%s", sid);
    return AK_OK;
}

/* Host-name ids (SPEC section 2): dots, and up to 253 characters, which
 * shard.h splits into a directory and a file; the scan finds each system
 * under its own id again. */
static void test_datadir_host_names(void)
{
    char long1[254], long2[254];
    memset(long1, 'h', 253);
    long1[253] = '\0';
    memcpy(long1 + 60, ".example.", 9);
    memcpy(long2, long1, sizeof long2);
    long2[AK_SHARD_SPLIT] = '.'; /* the file part begins with a dot */
    const char *ids[] = {"Les-MacBook-Pro.local", "build-03.ci.example.com", long1, long2};
    ak_datadir *dd;
    ak_err err;
    CHECK_INT(ak_datadir_open(tmp_path("hosts"), 1, 0, &dd, &err), AK_OK);
    for (size_t i = 0; i < 4; i++) {
        ak_sysdb *db;
        CHECK_INT(ak_datadir_open_system(dd, ids[i], 1, &db, &err), AK_OK);
        ak_sysdb_close(db);
        CHECK_INT(ak_datadir_open_system(dd, ids[i], 0, &db, &err), AK_OK);
        ak_sysdb_close(db);
    }
    ak_sysdb *db;
    CHECK_INT(ak_datadir_open_system(dd, ".local", 1, &db, &err), AK_ERR_INVALID);
    CHECK_INT(ak_datadir_open_system(dd, "a..b", 1, &db, &err), AK_ERR_INVALID);
    id_seen seen = {0};
    CHECK_INT(ak_datadir_each_system(dd, collect_systems, &seen, &err), AK_OK);
    CHECK_INT(seen.n, 4);
    for (size_t i = 0; i < 4; i++) {
        int found = 0;
        for (int k = 0; k < seen.n; k++)
            found += !strcmp(seen.ids[k], ids[i]);
        CHECK_INT(found, 1);
    }
    ak_datadir_close(dd);
}

/* ---- the warm row (schema 8): the 5-bit vector code, the summary span ---- */

/* A deterministic vector, different per seed, optionally with an outlier. */
static void seeded_vec(float *v, int seed)
{
    for (int i = 0; i < AK_DIM; i++)
        v[i] = sinf((float)(i * 12.9898 + seed * 78.233)) * cosf((float)(i * seed) * 0.37f);
    if (seed % 3 == 1)
        v[seed % AK_DIM] *= 8; /* an outlier element, as real embeddings have */
}

static double cos_of(const float *a, const float *b)
{
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < AK_DIM; i++)
        d += (double)a[i] * b[i], na += (double)a[i] * a[i], nb += (double)b[i] * b[i];
    return d / sqrt(na * nb);
}

/* The code keeps a vector's direction closely at any scale. */
static void test_wcode_roundtrip(void)
{
    uint8_t code[AK_WCODE_BYTES];
    int8_t q[AK_DIM];
    float v[AK_DIM], back[AK_DIM], scale = 0;
    double worst = 1, sum = 0;
    CHECK_INT(AK_WCODE_BYTES, 244);
    for (int t = 1; t <= 120; t++) {
        seeded_vec(v, t);
        float mul = t % 5 == 0 ? 1e-20f : t % 5 == 1 ? 1e20f : 1;
        for (int i = 0; i < AK_DIM; i++)
            v[i] *= mul;
        CHECK(ak_wcode_encode(v, code));
        CHECK(ak_wcode_to_i8(code, sizeof code, q, &scale));
        ak_vec_dequantize(q, scale, back);
        double c = cos_of(v, back);
        worst = c < worst ? c : worst;
        sum += c;
    }
    if (!(worst > 0.98) || !(sum / 120 > 0.995))
        fprintf(stderr, "worst cosine %f, mean %f\n", worst, sum / 120);
    CHECK(worst > 0.98); /* a vector with an outlier 8x its peers */
    CHECK(sum / 120 > 0.995);
}

/* No code for vectors without a direction; no int8 form of a damaged code;
 * any bits decode into the int8 range the scan expects. */
static void test_wcode_rejects(void)
{
    uint8_t code[AK_WCODE_BYTES];
    float v[AK_DIM] = {0};
    int8_t q[AK_DIM];
    float scale;
    CHECK(!ak_wcode_encode(v, code));
    v[7] = NAN;
    CHECK(!ak_wcode_encode(v, code));
    v[7] = INFINITY;
    CHECK(!ak_wcode_encode(v, code));
    seeded_vec(v, 4);
    CHECK(ak_wcode_encode(v, code));
    CHECK(!ak_wcode_to_i8(code, AK_WCODE_BYTES - 1, q, &scale));
    CHECK(!ak_wcode_to_i8(code, AK_DIM, q, &scale));
    static const float bad_units[] = {0, -0.0f, -1, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_units / sizeof *bad_units; i++) {
        uint8_t bad[AK_WCODE_BYTES];
        memcpy(bad, code, sizeof bad);
        memcpy(bad, &bad_units[i], 4); /* little-endian hosts only run these tests */
        CHECK(!ak_wcode_to_i8(bad, sizeof bad, q, &scale));
    }
    for (int t = 0; t < 64; t++) {
        for (int i = 4; i < AK_WCODE_BYTES; i++)
            code[i] = (uint8_t)(i * 37 + t * 101 + (i * t >> 3));
        CHECK(ak_wcode_to_i8(code, AK_WCODE_BYTES, q, &scale));
        for (int i = 0; i < AK_DIM; i++)
            CHECK(q[i] >= -127 && q[i] <= 127 && q[i] != 0);
    }
}

/* The warm row's 1-sentence summary as aging's SQL reads it. */
static char *warm_ultra(ak_sysdb *db, const char *id, int *own_column)
{
    static char out[256];
    sqlite3_stmt *st;
    out[0] = '\0';
    *own_column = -1;
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_prepare_v2(h, "SELECT " AK_TIERMOVE_WARM_ULTRA ","
                                 " ultra_summary IS NOT NULL FROM warm WHERE conversation_id = ?",
                                 -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, sizeof out, "%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "(null)");
        *own_column = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

static void check_warm_vector(ak_sysdb *db, const char *id, const float *v)
{
    float back[AK_DIM];
    ak_err err;
    CHECK_INT(ak_sysdb_get_vector(db, id, back, &err), AK_OK);
    CHECK(cos_of(v, back) > 0.99);
}

/* Summaries as aging makes them: the 1-sentence one is a sentence of the
 * 3-sentence one ("a"), or, were it not, its own text ("b"). */
static ak_code fake_form(void *ctx, const char *content, size_t len, ak_warm_form *out,
                         ak_err *err)
{
    static const uint8_t fp[64];
    int *n = ctx;
    out->summary = strdup("Ünïcode first. The second one. Third.");
    out->ultra_summary = strdup((*n)++ == 0 ? "The second one." : "Not in it.");
    out->fingerprint = fp;
    out->fingerprint_len = sizeof fp;
    return out->summary && out->ultra_summary ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "oom");
}

/* hot -> warm writes the vector as the 5-bit code and the 1-sentence
 * summary as a span of the summary when it is one. */
static void test_warm_row_form(void)
{
    ak_sysdb *db;
    ak_err err;
    float va[AK_DIM], vb[AK_DIM];
    CHECK_INT(ak_sysdb_open(tmp_path("warmform.db"), 1, &db, &err), AK_OK);
    seeded_vec(va, 1);
    seeded_vec(vb, 2);
    const char *ids[2] = {"a", "b"};
    const float *vs[2] = {va, vb};
    for (int i = 0; i < 2; i++) {
        ak_record r = make_rec(ids[i], "whatever the content");
        r.has_embedding = 1;
        memcpy(r.embedding, vs[i], sizeof r.embedding);
        ak_upload_order up = {1, "u1"};
        ak_put_result res;
        CHECK_INT(ak_sysdb_put_record(db, &up, &r, &res, &err), AK_OK);
    }
    int n = 0, own;
    ak_tiermove_count count;
    CHECK_INT(ak_tiermove_hot_batch(db, 2000, 10, fake_form, &n, &count, &err), AK_OK);
    CHECK_INT(count.rows, 2);
    CHECK_STR(warm_ultra(db, "a", &own), "The second one.");
    CHECK_INT(own, 0);
    CHECK_STR(warm_ultra(db, "b", &own), "Not in it.");
    CHECK_INT(own, 1);
    check_warm_vector(db, "a", va);
    check_warm_vector(db, "b", vb);
    ak_sysdb_close(db);
}

/* A schema-7 database's warm rows are converted on open: int8 vectors
 * become codes, 1-sentence summaries found in the summary become spans. */
static void test_warm_upgrade(void)
{
    ak_sysdb *db;
    ak_err err;
    float v[AK_DIM];
    int8_t q[AK_DIM];
    float scale;
    seeded_vec(v, 5);
    ak_vec_quantize(v, q, &scale);
    CHECK_INT(ak_sysdb_open(tmp_path("v7.db"), 1, &db, &err), AK_OK);
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h, TEST_SQL_UNDO_9 "ALTER TABLE warm DROP COLUMN ultra_at;"
                              "ALTER TABLE warm DROP COLUMN ultra_len; PRAGMA user_version = 7;",
                           NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(h, "INSERT INTO warm(conversation_id, summary, embedding_q,"
                                    " embedding_scale, ts_us, source, content_sha256, upload_at_us,"
                                    " upload_id, ultra_summary) VALUES(?1, 'Ünï one. Two two.', ?2,"
                                    " ?3, 1, 's', zeroblob(32), 1, 'u', ?4)", -1, &st, NULL),
              SQLITE_OK);
    static const char *const rows[3][2] = {{"a", "Two two."}, {"b", "Elsewhere."}, {"c", NULL}};
    for (int i = 0; i < 3; i++) {
        sqlite3_bind_text(st, 1, rows[i][0], -1, SQLITE_STATIC);
        if (i < 2)
            sqlite3_bind_blob(st, 2, q, AK_DIM, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_double(st, 3, scale);
        sqlite3_bind_text(st, 4, rows[i][1], -1, SQLITE_STATIC);
        CHECK_INT(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    ak_sysdb_close(db);

    CHECK_INT(ak_sysdb_open(tmp_path("v7.db"), 0, &db, &err), AK_OK);
    int own;
    CHECK_STR(warm_ultra(db, "a", &own), "Two two.");
    CHECK_INT(own, 0);
    CHECK_STR(warm_ultra(db, "b", &own), "Elsewhere.");
    CHECK_INT(own, 1);
    CHECK_STR(warm_ultra(db, "c", &own), "(null)"); /* aged before warm kept one */
    check_warm_vector(db, "a", v);
    check_warm_vector(db, "b", v);
    h = test_sql_open(db);
    CHECK_INT(sqlite3_prepare_v2(h,
                                 "SELECT sum(length(embedding_q)), sum(embedding_scale),"
                                 " count(embedding_q), (SELECT user_version FROM pragma_user_version)"
                                 " FROM warm", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 2 * AK_WCODE_BYTES);
    CHECK_INT(sqlite3_column_int(st, 1), 0);
    CHECK_INT(sqlite3_column_int(st, 2), 2);
    CHECK_INT(sqlite3_column_int(st, 3), ak_sysdb_schema_version());
    sqlite3_finalize(st);
    sqlite3_close(h);
    ak_sysdb_close(db);
}

int main(void)
{
    RUN(test_open_create_and_missing);
    RUN(test_corrupt_and_future_files);
    RUN(test_put_rules);
    RUN(test_update_from_other_tiers);
    RUN(test_text_index_follows_writes);
    RUN(test_text_index_at_commit);
    RUN(test_release_memory);
    RUN(test_reader_connection_memory);
    RUN(test_migration_drops_index_triggers);
    RUN(test_wcode_roundtrip);
    RUN(test_wcode_rejects);
    RUN(test_warm_row_form);
    RUN(test_warm_upgrade);
    RUN(test_rollback_leaves_nothing);
    RUN(test_ledger);
    RUN(test_sources);
    RUN(test_datadir);
    RUN(test_datadir_host_names);
    return test_report("storage");
}
