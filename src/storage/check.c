/* check.c - see check.h. */
#include "storage/check.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sysdb.h"
#include "storage/warmcode.h"
#include "util/buf.h"
#include "util/vcode.h"
#include "util/vec.h" /* AK_DIM */

#define MAX_INTEGRITY_LINES 10

struct ak_dbcheck {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *holds, *names, *garbage; /* prepared on first use */
    int numbered; /* schema 9 on: cold rows name their object by number */
};

/* The cold catalog's SQL in either form: a database from before schema 9
 * is read as it is (it is migrated on the next write, not by a check). */
static const char *cold_sql(const ak_dbcheck *c, const char *numbered, const char *keyed)
{
    return c->numbered ? numbered : keyed;
}

ak_code ak_dbcheck_open(const char *path, ak_dbcheck **out, ak_err *err)
{
    ak_dbcheck *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ak_code code = rc == SQLITE_CANTOPEN ? AK_ERR_NOTFOUND : AK_ERR_IO;
        ak_err_set(err, code, "%s: cannot open: %s", path, sqlite3_errmsg(c->db));
        ak_dbcheck_close(c);
        return code;
    }
    sqlite3_busy_timeout(c->db, 30000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        c->numbered = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) >= 9;
        sqlite3_finalize(st);
    }
    *out = c;
    return AK_OK;
}

void ak_dbcheck_close(ak_dbcheck *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->holds);
    sqlite3_finalize(c->names);
    sqlite3_finalize(c->garbage);
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

typedef struct {
    ak_dbcheck *c;
    ak_problem_fn fn;
    void *ctx;
    int found;
} run;

static void problem(run *r, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(run *r, const char *check, const char *fmt, ...)
{
    char msg[AK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* integrity_check puts line breaks in its rows */
        if (*p == '\n')
            *p = ' ';
    r->fn(r->ctx, check, msg);
    r->found++;
}

/* Run sql; for each row whose first column is text call line(), for an
 * integer call count().  Returns 0, or -1 after reporting the error. */
static int query(run *r, const char *check, const char *sql, int64_t *first_int,
                 int (*line)(run *, const char *, const char *))
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        problem(r, check, "%s", sqlite3_errmsg(r->c->db));
        return -1;
    }
    int rc, rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (first_int && rows == 0)
            *first_int = sqlite3_column_int64(st, 0);
        else if (line)
            line(r, check, (const char *)sqlite3_column_text(st, 0));
        rows++;
    }
    if (rc != SQLITE_DONE)
        problem(r, check, "%s", sqlite3_errmsg(r->c->db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int integrity_line(run *r, const char *check, const char *text)
{
    if (text && strcmp(text, "ok") != 0)
        problem(r, check, "%s", text);
    return 0;
}

/* 1 when the schema is one the rest of the checks understand. */
static int check_schema(run *r)
{
    int64_t v = -1;
    if (query(r, "schema", "PRAGMA user_version", &v, NULL))
        return 0;
    if (v == 0) {
        problem(r, "schema", "not an Akosha database (no schema version)");
        return 0;
    }
    if (v > ak_sysdb_schema_version()) {
        problem(r, "schema", "schema version %lld is newer than this akosha (%d): run the "
                             "akosha that wrote it", (long long)v, ak_sysdb_schema_version());
        return 0;
    }
    return v == ak_sysdb_schema_version(); /* older: migrated on the next write */
}

/* A count that must be zero. */
static void expect_none(run *r, const char *check, const char *sql, const char *what)
{
    int64_t n = 0;
    if (query(r, check, sql, &n, NULL) == 0 && n)
        problem(r, check, "%lld %s", (long long)n, what);
}

/* FTS5's own integrity-check covers the index's internal structure; with
 * an external content table (SQLite before 3.44) it does not compare the
 * index with the table, so compare the documents each side knows of.
 * docs: the query of the row ids the index holds; must: of the rows it
 * must hold; may: of the rows it may hold. */
static void check_fts(run *r, const char *fts, const char *table, const char *docs,
                      const char *must, const char *may)
{
    char sql[768];
    ak_fmt(sql, sizeof sql, "INSERT INTO %s(%s) VALUES ('integrity-check')", fts, fts);
    char *msg = NULL;
    if (sqlite3_exec(r->c->db, sql, NULL, NULL, &msg) != SQLITE_OK)
        problem(r, "fts", "%s: %s (rebuild it: akosha reingest)", fts,
                msg ? msg : sqlite3_errmsg(r->c->db));
    sqlite3_free(msg);
    ak_fmt(sql, sizeof sql,
           "WITH d(id) AS (%s), may(id) AS (%s), must(id) AS (%s)"
           " SELECT (SELECT count(*) FROM d WHERE id NOT IN may)"
           " + (SELECT count(*) FROM must WHERE id NOT IN d)",
           docs, may, must);
    int64_t n = 0;
    if (query(r, "fts", sql, &n, NULL) == 0 && n)
        problem(r, "fts", "%s: %lld rows differ between the full-text index and %s (rebuild "
                          "it: akosha reingest)", fts, (long long)n, table);
}

/* The cold index keeps no document lengths (schema 10: columnsize=0), so
 * its documents are the ones its vocabulary names.  It must hold every
 * summary with an ASCII letter or digit (a token whatever else it holds)
 * and may hold any other summary. */
static void check_cold_fts(run *r)
{
    if (sqlite3_exec(r->c->db, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ak_cold_vocab"
                               " USING fts5vocab(main, cold_fts, instance)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        problem(r, "fts", "cold_fts: %s (rebuild it: akosha reingest)", sqlite3_errmsg(r->c->db));
        return;
    }
    check_fts(r, "cold_fts", "cold", "SELECT DISTINCT doc FROM temp.ak_cold_vocab",
              "SELECT rowid FROM cold WHERE ultra_summary GLOB '*[0-9A-Za-z]*'",
              "SELECT rowid FROM cold WHERE ultra_summary IS NOT NULL");
}

int ak_dbcheck_run(ak_dbcheck *c, int deep, ak_problem_fn fn, void *ctx)
{
    run r = {c, fn, ctx, 0};
    int understood = check_schema(&r);
    if (r.found)
        return r.found;
    query(&r, "integrity", deep ? "PRAGMA integrity_check(10)" : "PRAGMA quick_check(10)",
          NULL, integrity_line);
    if (r.found || !understood)
        return r.found;
    check_fts(&r, "hot_fts", "hot", "SELECT id FROM hot_fts_docsize", "SELECT id FROM hot",
              "SELECT id FROM hot");
    check_fts(&r, "warm_fts", "warm", "SELECT id FROM warm_fts_docsize", "SELECT id FROM warm",
              "SELECT id FROM warm");
    check_cold_fts(&r);
    expect_none(&r, "tiers",
                "SELECT (SELECT count(*) FROM hot JOIN warm USING (conversation_id))"
                " + (SELECT count(*) FROM hot JOIN cold USING (conversation_id))"
                " + (SELECT count(*) FROM warm JOIN cold USING (conversation_id))",
                "conversations are in two tiers at once");
    expect_none(&r, "ledger",
                "WITH ok AS (SELECT upload_id FROM uploads WHERE status = 'ingested')"
                " SELECT (SELECT count(*) FROM hot WHERE upload_id NOT IN ok)"
                " + (SELECT count(*) FROM warm WHERE upload_id NOT IN ok)"
                " + (SELECT count(*) FROM cold WHERE upload_id NOT IN ok)",
                "conversations come from uploads the ledger does not list as ingested");
    char sql[512];
    ak_fmt(sql, sizeof sql,
           "SELECT (SELECT count(*) FROM hot WHERE embedding IS NOT NULL AND length(embedding) != %d)"
           " + (SELECT count(*) FROM warm WHERE embedding_q IS NOT NULL AND length(embedding_q) != %d)"
           " + (SELECT count(*) FROM cold WHERE embedding_code IS NOT NULL"
           " AND length(embedding_code) NOT BETWEEN %d AND %d)",
           AK_DIM * 4, AK_WCODE_BYTES, AK_VCODE_MIN, AK_VCODE_MAX);
    expect_none(&r, "vectors", sql, "stored embeddings have the wrong size");
    return r.found;
}

ak_code ak_dbcheck_each_cold(ak_dbcheck *c, ak_cold_row_fn fn, void *ctx, ak_err *err)
{
    sqlite3_stmt *st;
    const char *sql = cold_sql(
        c,
        "SELECT " AK_COLD_KEY " AS k, conversation_id, lower(hex(content_sha256)), ts_us"
        " FROM cold ORDER BY k, conversation_id",
        "SELECT object_key, conversation_id, lower(hex(content_sha256)), ts_us"
        " FROM cold ORDER BY object_key, conversation_id");
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ak_err_set(err, AK_ERR_CORRUPT, "%s: reading the cold catalog: %s", c->path,
                          sqlite3_errmsg(c->db));
    int rc;
    ak_code out = AK_OK;
    while (out == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        out = fn(ctx, (const char *)sqlite3_column_text(st, 0),
                 (const char *)sqlite3_column_text(st, 1),
                 (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3));
    if (out == AK_OK && rc != SQLITE_DONE)
        out = ak_err_set(err, AK_ERR_CORRUPT, "%s: reading the cold catalog: %s", c->path,
                         sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    return out;
}

/* Run a one-row existence query prepared once into *st, binding text
 * parameters a (length alen) and b (NUL-terminated). */
static ak_code exists(ak_dbcheck *c, sqlite3_stmt **st, const char *sql, const char *a,
                      size_t alen, const char *b, int *found, ak_err *err)
{
    if (!*st && sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
        return ak_err_set(err, AK_ERR_CORRUPT, "%s: %s", c->path, sqlite3_errmsg(c->db));
    sqlite3_bind_text(*st, 1, a, (int)alen, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(*st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(*st);
    *found = rc == SQLITE_ROW;
    sqlite3_reset(*st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ak_err_set(err, AK_ERR_CORRUPT, "%s: looking up the catalog: %s", c->path,
                          sqlite3_errmsg(c->db));
    return AK_OK;
}

ak_code ak_dbcheck_holds(ak_dbcheck *c, const char *conversation_id, size_t len,
                         const char *other_than, int *found, ak_err *err)
{
#define HOLDS(other) \
    "SELECT 1 FROM hot WHERE conversation_id = ?1 UNION ALL"                \
    " SELECT 1 FROM warm WHERE conversation_id = ?1 UNION ALL"               \
    " SELECT 1 FROM cold WHERE conversation_id = ?1 AND " other " LIMIT 1"
    return exists(c, &c->holds,
                  cold_sql(c, HOLDS("cold.object_id IS NOT (SELECT id FROM cold_objects"
                                    " WHERE key = ?2)"),
                           HOLDS("object_key <> ?2")),
                  conversation_id, len, other_than, found, err);
#undef HOLDS
}

ak_code ak_dbcheck_garbage(ak_dbcheck *c, const char *object_key, int *found, ak_err *err)
{
    return exists(c, &c->garbage, "SELECT 1 FROM cold_garbage WHERE object_key = ?1", object_key,
                  strlen(object_key), NULL, found, err);
}

ak_code ak_dbcheck_names_object(ak_dbcheck *c, const char *object_key, int *found, ak_err *err)
{
    return exists(c, &c->names,
                  cold_sql(c, "SELECT 1 FROM cold WHERE " AK_COLD_IN_OBJECT("?1") " LIMIT 1",
                           "SELECT 1 FROM cold WHERE object_key = ?1 LIMIT 1"),
                  object_key, strlen(object_key), NULL, found, err);
}

ak_code ak_dbcheck_vec_epoch(ak_dbcheck *c, uint64_t *out, ak_err *err)
{
    sqlite3_stmt *st;
    *out = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key='vec_epoch'",
                           -1, &st, NULL) != SQLITE_OK)
        return ak_err_set(err, AK_ERR_CORRUPT, "%s: reading the vector epoch: %s", c->path,
                          sqlite3_errmsg(c->db));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? AK_OK
               : ak_err_set(err, AK_ERR_CORRUPT, "%s: reading the vector epoch: %s", c->path,
                            sqlite3_errmsg(c->db));
}
