/*
 * sysdb.c - see sysdb.h.
 *
 * Schema changes go through migrate(): PRAGMA user_version records how far a
 * database has been brought, each step runs in its own transaction, so an
 * old database opened by a new binary is upgraded once and safely.
 *
 * The statements used per record are prepared once per handle: ingestion
 * runs them hundreds of thousands of times per upload.
 */
#include "storage/sysdb.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/time.h"
#include "util/vcode.h"
#include "util/vec.h"

enum {
    ST_LOOKUP,
    ST_INSERT_HOT,
    ST_UPDATE_HOT,
    ST_DELETE_WARM,
    ST_DELETE_COLD,
    ST_LEDGER_GET,
    ST_LEDGER_PUT,
    ST_HOT_ROW,
    ST_WARM_ROW,
    ST_TEXT_HOT,
    ST_TEXT_WARM,
    ST_HOT_TEXT_OF,
    ST_FTS_ADD_HOT,
    ST_FTS_ADD_WARM,
    ST_FTS_DROP_HOT,
    ST_COLD_ROW,
    ST_TEXT_COLD,
    ST_FTS_ADD_COLD,
    ST_COUNT
};

/* Columns: rowid, conversation_id, text (content or summary), metadata,
 * source, upload_id, object_key, ts_us, content_sha256. */
#define CONV_COLUMNS_HOT \
    "id, conversation_id, content, metadata, source, upload_id, NULL, ts_us, content_sha256"
#define CONV_COLUMNS_WARM \
    "id, conversation_id, summary, metadata, source, upload_id, NULL, ts_us, content_sha256"
#define CONV_COLUMNS_COLD \
    "rowid, conversation_id, ultra_summary, NULL, NULL, upload_id, object_key, ts_us, content_sha256"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_LOOKUP] =
        "SELECT 0, content_sha256, upload_at_us, upload_id FROM hot WHERE conversation_id = ?1 "
        "UNION ALL SELECT 1, content_sha256, upload_at_us, upload_id FROM warm WHERE conversation_id = ?1 "
        "UNION ALL SELECT 2, content_sha256, upload_at_us, upload_id FROM cold WHERE conversation_id = ?1",
    [ST_INSERT_HOT] =
        "INSERT INTO hot(conversation_id, content, embedding, ts_us, source, metadata,"
        " content_sha256, upload_at_us, upload_id) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [ST_UPDATE_HOT] =
        "UPDATE hot SET content=?2, embedding=?3, ts_us=?4, source=?5, metadata=?6,"
        " content_sha256=?7, upload_at_us=?8, upload_id=?9 WHERE conversation_id=?1",
    [ST_DELETE_WARM] = "DELETE FROM warm WHERE conversation_id = ?1",
    [ST_DELETE_COLD] = "DELETE FROM cold WHERE conversation_id = ?1",
    [ST_LEDGER_GET] =
        "SELECT upload_id, status, reason, uploaded_at_us, declared_count, new_count,"
        " updated, duplicates, stale, records_rejected, record_errors, payload_bytes,"
        " attempts, first_seen_us, next_attempt_us, finished_us, system_type, metadata"
        " FROM uploads WHERE upload_id = ?1",
    [ST_LEDGER_PUT] =
        "INSERT OR REPLACE INTO uploads(upload_id, status, reason, uploaded_at_us,"
        " declared_count, new_count, updated, duplicates, stale, records_rejected,"
        " record_errors, payload_bytes, attempts, first_seen_us, next_attempt_us,"
        " finished_us, system_type, metadata)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
    [ST_HOT_ROW] = "SELECT " CONV_COLUMNS_HOT " FROM hot WHERE id = ?1",
    [ST_WARM_ROW] = "SELECT " CONV_COLUMNS_WARM " FROM warm WHERE id = ?1",
    [ST_TEXT_HOT] =
        "SELECT t.id, t.conversation_id, t.ts_us, -bm25(hot_fts) FROM hot_fts"
        " JOIN hot t ON t.id = hot_fts.rowid WHERE hot_fts MATCH ?1"
        " AND t.ts_us BETWEEN ?2 AND ?3 ORDER BY bm25(hot_fts), t.id LIMIT ?4",
    [ST_TEXT_WARM] =
        "SELECT t.id, t.conversation_id, t.ts_us, -bm25(warm_fts) FROM warm_fts"
        " JOIN warm t ON t.id = warm_fts.rowid WHERE warm_fts MATCH ?1"
        " AND t.ts_us BETWEEN ?2 AND ?3 ORDER BY bm25(warm_fts), t.id LIMIT ?4",
    [ST_HOT_TEXT_OF] = "SELECT id, content FROM hot WHERE conversation_id = ?1",
    [ST_FTS_ADD_HOT] = "INSERT INTO hot_fts(rowid, content) VALUES(?1, ?2)",
    [ST_FTS_ADD_WARM] = "INSERT INTO warm_fts(rowid, summary) VALUES(?1, ?2)",
    [ST_FTS_DROP_HOT] = "INSERT INTO hot_fts(hot_fts, rowid, content) VALUES('delete', ?1, ?2)",
    [ST_COLD_ROW] = "SELECT " CONV_COLUMNS_COLD " FROM cold WHERE rowid = ?1",
    [ST_TEXT_COLD] =
        "SELECT t.rowid, t.conversation_id, t.ts_us, -bm25(cold_fts) FROM cold_fts"
        " JOIN cold t ON t.rowid = cold_fts.rowid WHERE cold_fts MATCH ?1"
        " AND t.ts_us BETWEEN ?2 AND ?3 ORDER BY bm25(cold_fts), t.rowid LIMIT ?4",
    [ST_FTS_ADD_COLD] = "INSERT INTO cold_fts(rowid, ultra_summary) VALUES(?1, ?2)",
};

struct ak_sysdb {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    char *path;
    ak_file_id file_id; /* of path, just before opening */
};

/* ---- schema ---- */

static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE uploads("
    " upload_id TEXT PRIMARY KEY,"
    " status TEXT NOT NULL CHECK (status IN ('ingested','rejected','failed')),"
    " reason TEXT,"
    " uploaded_at_us INTEGER NOT NULL DEFAULT 0,"
    " declared_count INTEGER NOT NULL DEFAULT -1,"
    " new_count INTEGER NOT NULL DEFAULT 0,"
    " updated INTEGER NOT NULL DEFAULT 0,"
    " duplicates INTEGER NOT NULL DEFAULT 0,"
    " stale INTEGER NOT NULL DEFAULT 0,"
    " records_rejected INTEGER NOT NULL DEFAULT 0,"
    " record_errors TEXT,"
    " payload_bytes INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " first_seen_us INTEGER NOT NULL,"
    " next_attempt_us INTEGER NOT NULL DEFAULT 0,"
    " finished_us INTEGER NOT NULL DEFAULT 0,"
    " system_type TEXT,"
    " metadata TEXT);"
    "CREATE TABLE hot("
    " id INTEGER PRIMARY KEY,"
    " conversation_id TEXT NOT NULL UNIQUE,"
    " content TEXT NOT NULL,"
    " embedding BLOB,"                       /* 384 float32 little-endian, or NULL */
    " ts_us INTEGER NOT NULL,"
    " source TEXT NOT NULL,"
    " metadata TEXT,"
    " content_sha256 BLOB NOT NULL,"
    " upload_at_us INTEGER NOT NULL,"
    " upload_id TEXT NOT NULL);"
    "CREATE INDEX hot_ts ON hot(ts_us);"
    "CREATE TABLE warm("
    " id INTEGER PRIMARY KEY,"
    " conversation_id TEXT NOT NULL UNIQUE,"
    " summary TEXT NOT NULL,"
    " embedding_q BLOB,"                     /* 384 int8, or NULL */
    " embedding_scale REAL NOT NULL DEFAULT 0,"
    " ts_us INTEGER NOT NULL,"
    " source TEXT NOT NULL,"
    " metadata TEXT,"
    " content_sha256 BLOB NOT NULL,"
    " upload_at_us INTEGER NOT NULL,"
    " upload_id TEXT NOT NULL);"
    "CREATE INDEX warm_ts ON warm(ts_us);"
    "CREATE TABLE cold("
    " conversation_id TEXT PRIMARY KEY,"
    " object_key TEXT NOT NULL,"
    " ts_us INTEGER NOT NULL,"
    " content_sha256 BLOB NOT NULL,"
    " upload_at_us INTEGER NOT NULL,"
    " upload_id TEXT NOT NULL);",
    /* 2: full-text indexes (BM25) over hot content and warm summaries, kept
     * current by triggers (the insert and update ones dropped again by 4) */
    "CREATE VIRTUAL TABLE hot_fts USING fts5(content, content='hot', content_rowid='id',"
    " tokenize='porter unicode61');"
    "CREATE TRIGGER hot_fts_ai AFTER INSERT ON hot BEGIN"
    " INSERT INTO hot_fts(rowid, content) VALUES (new.id, new.content); END;"
    "CREATE TRIGGER hot_fts_ad AFTER DELETE ON hot BEGIN"
    " INSERT INTO hot_fts(hot_fts, rowid, content) VALUES ('delete', old.id, old.content); END;"
    "CREATE TRIGGER hot_fts_au AFTER UPDATE OF content ON hot BEGIN"
    " INSERT INTO hot_fts(hot_fts, rowid, content) VALUES ('delete', old.id, old.content);"
    " INSERT INTO hot_fts(rowid, content) VALUES (new.id, new.content); END;"
    "INSERT INTO hot_fts(hot_fts) VALUES ('rebuild');"
    "CREATE VIRTUAL TABLE warm_fts USING fts5(summary, content='warm', content_rowid='id',"
    " tokenize='porter unicode61');"
    "CREATE TRIGGER warm_fts_ai AFTER INSERT ON warm BEGIN"
    " INSERT INTO warm_fts(rowid, summary) VALUES (new.id, new.summary); END;"
    "CREATE TRIGGER warm_fts_ad AFTER DELETE ON warm BEGIN"
    " INSERT INTO warm_fts(warm_fts, rowid, summary) VALUES ('delete', old.id, old.summary); END;"
    "CREATE TRIGGER warm_fts_au AFTER UPDATE OF summary ON warm BEGIN"
    " INSERT INTO warm_fts(warm_fts, rowid, summary) VALUES ('delete', old.id, old.summary);"
    " INSERT INTO warm_fts(rowid, summary) VALUES (new.id, new.summary); END;"
    "INSERT INTO warm_fts(warm_fts) VALUES ('rebuild');",
    /* 3: what the cold tier needs from a conversation, computed while its
     * full content is still at hand (hot -> warm) */
    "ALTER TABLE warm ADD COLUMN ultra_summary TEXT;"
    "ALTER TABLE warm ADD COLUMN fingerprint BLOB;"
    "CREATE INDEX cold_object ON cold(object_key);",
    /* 4: inserts and updates index their own text (ak_sysdb_index_text).
     * FTS5 writes its pending terms out as a new segment at every statement
     * savepoint, and a trigger makes each INSERT a statement transaction: one
     * segment, and merges, per conversation -- 72 us a row against 19 us for
     * a statement of its own.  Deletes come a batch per statement (aging)
     * or rarely (an update replacing a warm row), so they keep their triggers. */
    ("DROP TRIGGER hot_fts_ai; DROP TRIGGER hot_fts_au;" /* parenthesized: one element */
     "DROP TRIGGER warm_fts_ai; DROP TRIGGER warm_fts_au;"), /* (-Wstring-concatenation) */
    /* 5: every tier searchable.  The cold catalog keeps each conversation's
     * 1-sentence summary (full-text indexed) and its compact vector code
     * (util/vcode.h), so search reaches cold rows without reading objects.
     * cold_garbage lists objects a compaction replaced: deleted from the
     * store after the catalog switched, and forgotten once deleted.  (cold's
     * rowid is implicit, so a VACUUM could renumber it under cold_fts:
     * Akosha never vacuums; cold_fts 'rebuild' would restore it.) */
    ("ALTER TABLE cold ADD COLUMN ultra_summary TEXT;"
     "ALTER TABLE cold ADD COLUMN embedding_code BLOB;"
     "CREATE VIRTUAL TABLE cold_fts USING fts5(ultra_summary, content='cold',"
     " content_rowid='rowid', tokenize='porter unicode61');"
     "CREATE TRIGGER cold_fts_ad AFTER DELETE ON cold WHEN old.ultra_summary IS NOT NULL BEGIN"
     " INSERT INTO cold_fts(cold_fts, rowid, ultra_summary)"
     " VALUES ('delete', old.rowid, old.ultra_summary); END;"
     "CREATE TABLE cold_garbage(object_key TEXT PRIMARY KEY);"),
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof *migrations))

int ak_sysdb_schema_version(void) { return SCHEMA_VERSION; }

static ak_code db_error(ak_sysdb *db, ak_err *err, const char *what)
{
    int code = sqlite3_errcode(db->db);
    ak_code c = code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
                        code == SQLITE_FULL || code == SQLITE_CANTOPEN
                    ? AK_ERR_IO
                : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? AK_ERR_CORRUPT
                : code == SQLITE_NOMEM ? AK_ERR_NOMEM
                                       : AK_ERR_INTERNAL;
    return ak_err_set(err, c, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->db));
}

static ak_code exec(ak_sysdb *db, const char *sql, ak_err *err)
{
    if (sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(db, err, "query failed");
    return AK_OK;
}

static ak_code user_version(ak_sysdb *db, int *v, ak_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "reading schema version");
    int rc = sqlite3_step(st);
    *v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? AK_OK : db_error(db, err, "reading schema version");
}

static ak_code migrate(ak_sysdb *db, ak_err *err)
{
    int v;
    ak_code rc = user_version(db, &v, err);
    if (rc)
        return rc;
    if (v > SCHEMA_VERSION)
        return ak_err_set(err, AK_ERR_UNSUPPORTED,
                          "%s: schema version %d is newer than this akosha (%d)",
                          db->path, v, SCHEMA_VERSION);
    for (; v < SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if ((rc = exec(db, "BEGIN IMMEDIATE", err)))
            return rc;
        int cur; /* another process may have migrated meanwhile */
        if ((rc = user_version(db, &cur, err)) == AK_OK && cur == v &&
            (rc = exec(db, migrations[v], err)) == AK_OK)
            rc = exec(db, bump, err);
        if (rc == AK_OK)
            rc = exec(db, "COMMIT", err);
        if (rc) {
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return AK_OK;
}

static ak_code configure(ak_sysdb *db, ak_err *err)
{
    sqlite3_busy_timeout(db->db, 30000);
    /* Keep the WAL file when the last connection closes: a database is
     * opened for every ingested upload and every search that reads it, and
     * creating and deleting the WAL each time cost more than the reads. */
    int persist = 1;
    sqlite3_file_control(db->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    /* WAL: readers never block the writer.  NORMAL, not FULL: WAL commits
     * are not synced one by one (syncs happen at checkpoints), which
     * doubled ingest throughput.  A killed process loses nothing committed;
     * a power loss can undo the last commits, records and ledger row
     * together, so exactly-once holds and those uploads are applied again. */
    ak_code rc = exec(db, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          " PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;"
                          " PRAGMA journal_size_limit=0;",
                      err);
    if (rc == AK_OK)
        rc = migrate(db, err);
    return rc;
}

/* SQLite keeps memory statistics by default, behind one global mutex taken
 * on every allocation: with several workers inserting at once that mutex
 * serialised them.  Akosha does not read those statistics. */
static void configure_library(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
}

ak_code ak_sysdb_open(const char *path, int create, ak_sysdb **out, ak_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_library);
    ak_sysdb *db = calloc(1, sizeof *db);
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    db->file_id = ak_file_id_of(path);
    int rc = sqlite3_open_v2(path, &db->db, flags, NULL);
    ak_code c;
    if (rc != SQLITE_OK) {
        c = !create && rc == SQLITE_CANTOPEN
                ? ak_err_set(err, AK_ERR_NOTFOUND, "%s: no such database", path)
                : db_error(db, err, "cannot open");
    } else {
        c = configure(db, err);
    }
    if (c) {
        ak_sysdb_close(db);
        return c;
    }
    *out = db;
    return AK_OK;
}

void ak_sysdb_close(ak_sysdb *db)
{
    if (!db)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    sqlite3_close(db->db);
    free(db->path);
    free(db);
}

sqlite3 *ak_sysdb_handle(ak_sysdb *db) { return db->db; }
const char *ak_sysdb_path(const ak_sysdb *db) { return db->path; }
ak_file_id ak_sysdb_file_id(const ak_sysdb *db) { return db->file_id; }

ak_file_id ak_file_id_of(const char *path)
{
    struct stat sb;
    ak_file_id id = {0, 0};
    if (stat(path, &sb) == 0)
        id = (ak_file_id){(uint64_t)sb.st_dev, (uint64_t)sb.st_ino};
    return id;
}

int ak_file_id_eq(ak_file_id a, ak_file_id b) { return a.dev == b.dev && a.ino == b.ino; }

ak_code ak_sysdb_checkpoint(ak_sysdb *db, ak_err *err)
{
    int log = -1, done = -1;
    int rc = sqlite3_wal_checkpoint_v2(db->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc == SQLITE_BUSY || (rc == SQLITE_OK && log != done))
        return ak_err_set(err, AK_ERR_BUSY, "%s: another connection kept the checkpoint from "
                                            "finishing", db->path);
    return rc == SQLITE_OK ? AK_OK : db_error(db, err, "checkpoint failed");
}

/* Statements are prepared on first use and kept: a search that opens a
 * database to read ten rows should not pay for preparing the ingest ones. */
static sqlite3_stmt *stmt(ak_sysdb *db, int which, ak_err *err)
{
    if (!db->st[which] &&
        sqlite3_prepare_v3(db->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                           &db->st[which], NULL) != SQLITE_OK) {
        db_error(db, err, "preparing a statement");
        return NULL;
    }
    return db->st[which];
}

ak_code ak_sysdb_begin(ak_sysdb *db, ak_err *err) { return exec(db, "BEGIN IMMEDIATE", err); }
ak_code ak_sysdb_commit(ak_sysdb *db, ak_err *err) { return exec(db, "COMMIT", err); }

void ak_sysdb_rollback(ak_sysdb *db)
{
    if (!sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- records ---- */

/* Run a bound statement that returns no rows, then reset it. */
static ak_code step_done(ak_sysdb *db, sqlite3_stmt *st, ak_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    ak_code c = rc == SQLITE_DONE ? AK_OK : db_error(db, err, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return c;
}

/* Little-endian float32 on every host, so a database file moves between
 * machines unchanged. */
static void embedding_to_le(const float *v, unsigned char *out)
{
    for (int i = 0; i < AK_DIM; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        out[4 * i] = (unsigned char)u;
        out[4 * i + 1] = (unsigned char)(u >> 8);
        out[4 * i + 2] = (unsigned char)(u >> 16);
        out[4 * i + 3] = (unsigned char)(u >> 24);
    }
}

static ak_code write_hot(ak_sysdb *db, int which, const ak_upload_order *up,
                         const ak_record *r, ak_err *err)
{
    sqlite3_stmt *st = stmt(db, which, err);
    unsigned char emb[AK_DIM * 4];
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->content, (int)r->content_len, SQLITE_STATIC);
    if (r->has_embedding) {
        embedding_to_le(r->embedding, emb);
        sqlite3_bind_blob(st, 3, emb, sizeof emb, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 3);
    }
    sqlite3_bind_int64(st, 4, r->ts_us);
    sqlite3_bind_text(st, 5, r->source, (int)r->source_len, SQLITE_STATIC);
    if (r->metadata)
        sqlite3_bind_text(st, 6, r->metadata, (int)r->metadata_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_blob(st, 7, r->content_sha256, AK_SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, up->at_us);
    sqlite3_bind_text(st, 9, up->upload_id, -1, SQLITE_STATIC);
    return step_done(db, st, err, "writing a conversation");
}

ak_code ak_sysdb_index_text(ak_sysdb *db, ak_tier tier, int64_t rowid, const char *text,
                            size_t len, ak_err *err)
{
    if (tier != AK_TIER_HOT && tier != AK_TIER_WARM && tier != AK_TIER_COLD)
        return ak_err_set(err, AK_ERR_INVALID, "no such tier");
    sqlite3_stmt *st = stmt(db, tier == AK_TIER_HOT ? ST_FTS_ADD_HOT : tier == AK_TIER_WARM ? ST_FTS_ADD_WARM : ST_FTS_ADD_COLD,
                              err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_text(st, 2, text, (int)len, SQLITE_STATIC);
    return step_done(db, st, err, "indexing a conversation's text");
}

static ak_code insert_hot(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                          ak_err *err)
{
    ak_code rc = write_hot(db, ST_INSERT_HOT, up, r, err);
    return rc ? rc : ak_sysdb_index_text(db, AK_TIER_HOT, sqlite3_last_insert_rowid(db->db),
                                         r->content, r->content_len, err);
}

/* An external-content FTS5 index forgets a row only when told the text it
 * indexed, so the old content is read back before it is overwritten. */
static ak_code unindex_hot(ak_sysdb *db, const ak_record *r, int64_t *rowid, ak_err *err)
{
    sqlite3_stmt *old = stmt(db, ST_HOT_TEXT_OF, err);
    sqlite3_stmt *drop = old ? stmt(db, ST_FTS_DROP_HOT, err) : NULL;
    if (!drop)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(old, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    ak_code rc;
    int step = sqlite3_step(old);
    if (step == SQLITE_ROW) {
        *rowid = sqlite3_column_int64(old, 0);
        sqlite3_bind_int64(drop, 1, *rowid);
        sqlite3_bind_value(drop, 2, sqlite3_column_value(old, 1));
        rc = step_done(db, drop, err, "unindexing a conversation's old text");
    } else if (step == SQLITE_DONE) {
        rc = ak_err_set(err, AK_ERR_INTERNAL, "%s: conversation %.*s left hot during its update",
                        db->path, (int)r->id_len, r->id);
    } else {
        rc = db_error(db, err, "reading a conversation's old text");
    }
    sqlite3_reset(old);
    sqlite3_clear_bindings(old);
    return rc;
}

static ak_code update_hot(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                          ak_err *err)
{
    int64_t rowid = 0;
    ak_code rc = unindex_hot(db, r, &rowid, err);
    if (rc == AK_OK)
        rc = write_hot(db, ST_UPDATE_HOT, up, r, err);
    return rc ? rc : ak_sysdb_index_text(db, AK_TIER_HOT, rowid, r->content, r->content_len, err);
}

typedef struct {
    int found, tier;
    int same_content, same_upload, older; /* older: stored version predates `up` */
} existing;

static ak_code lookup(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                      existing *ex, ak_err *err)
{
    sqlite3_stmt *st = stmt(db, ST_LOOKUP, err);
    memset(ex, 0, sizeof *ex);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ex->found = 1;
        ex->tier = sqlite3_column_int(st, 0);
        const void *sha = sqlite3_column_blob(st, 1);
        ex->same_content = sqlite3_column_bytes(st, 1) == AK_SHA256_LEN &&
                           memcmp(sha, r->content_sha256, AK_SHA256_LEN) == 0;
        int64_t at = sqlite3_column_int64(st, 2);
        const char *uid = (const char *)sqlite3_column_text(st, 3);
        int cmp = uid ? strcmp(uid, up->upload_id) : -1;
        ex->same_upload = cmp == 0;
        ex->older = at < up->at_us || (at == up->at_us && cmp < 0);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? AK_OK : db_error(db, err, "looking up a conversation");
}

/* Move a newer version into hot, dropping the older one from whatever tier
 * held it. */
static ak_code replace(ak_sysdb *db, const existing *ex, const ak_upload_order *up,
                       const ak_record *r, ak_err *err)
{
    if (ex->tier == AK_TIER_HOT)
        return update_hot(db, up, r, err);
    sqlite3_stmt *del = stmt(db, ex->tier == 1 ? ST_DELETE_WARM : ST_DELETE_COLD, err);
    if (!del)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(del, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    ak_code rc = step_done(db, del, err, "removing an older version");
    return rc ? rc : insert_hot(db, up, r, err);
}

ak_code ak_sysdb_stored_same(ak_sysdb *db, const ak_record *r, int *same, ak_err *err)
{
    existing ex;
    ak_upload_order any = {0, ""};
    ak_code rc = lookup(db, &any, r, &ex, err);
    *same = rc == AK_OK && ex.found && ex.same_content;
    return rc;
}

ak_code ak_sysdb_put_record(ak_sysdb *db, const ak_upload_order *up,
                            const ak_record *r, ak_put_result *result, ak_err *err)
{
    existing ex;
    ak_code rc = lookup(db, up, r, &ex, err);
    if (rc)
        return rc;
    if (!ex.found) {
        *result = AK_PUT_NEW;
        return insert_hot(db, up, r, err);
    }
    if (ex.same_content) {
        *result = AK_PUT_DUPLICATE;
        return AK_OK;
    }
    if (ex.same_upload) {
        *result = AK_PUT_CONFLICT;
        return AK_OK;
    }
    if (!ex.older) {
        *result = AK_PUT_STALE;
        return AK_OK;
    }
    *result = AK_PUT_UPDATED;
    return replace(db, &ex, up, r, err);
}

/* ---- ledger ---- */

const char *ak_upload_status_name(ak_upload_status s)
{
    switch (s) {
    case AK_UPLOAD_INGESTED: return "ingested";
    case AK_UPLOAD_REJECTED: return "rejected";
    case AK_UPLOAD_FAILED: return "failed";
    default: return "unknown";
    }
}

static ak_upload_status status_from_name(const char *s)
{
    if (!s) return AK_UPLOAD_UNKNOWN;
    if (strcmp(s, "ingested") == 0) return AK_UPLOAD_INGESTED;
    if (strcmp(s, "rejected") == 0) return AK_UPLOAD_REJECTED;
    if (strcmp(s, "failed") == 0) return AK_UPLOAD_FAILED;
    return AK_UPLOAD_UNKNOWN;
}

void ak_ledger_row_free(ak_ledger_row *row)
{
    free(row->upload_id);
    free(row->reason);
    free(row->record_errors);
    free(row->system_type);
    free(row->metadata);
    memset(row, 0, sizeof *row);
}

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

static void row_from_stmt(sqlite3_stmt *st, ak_ledger_row *row)
{
    row->upload_id = column_dup(st, 0);
    row->status = status_from_name((const char *)sqlite3_column_text(st, 1));
    row->reason = column_dup(st, 2);
    row->uploaded_at_us = sqlite3_column_int64(st, 3);
    row->declared_count = sqlite3_column_int64(st, 4);
    row->new_count = sqlite3_column_int64(st, 5);
    row->updated = sqlite3_column_int64(st, 6);
    row->duplicates = sqlite3_column_int64(st, 7);
    row->stale = sqlite3_column_int64(st, 8);
    row->records_rejected = sqlite3_column_int64(st, 9);
    row->record_errors = column_dup(st, 10);
    row->payload_bytes = sqlite3_column_int64(st, 11);
    row->attempts = sqlite3_column_int64(st, 12);
    row->first_seen_us = sqlite3_column_int64(st, 13);
    row->next_attempt_us = sqlite3_column_int64(st, 14);
    row->finished_us = sqlite3_column_int64(st, 15);
    row->system_type = column_dup(st, 16);
    row->metadata = column_dup(st, 17);
}

ak_code ak_sysdb_ledger_get(ak_sysdb *db, const char *upload_id, ak_ledger_row *row,
                            ak_err *err)
{
    sqlite3_stmt *st = stmt(db, ST_LEDGER_GET, err);
    memset(row, 0, sizeof *row);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row_from_stmt(st, row);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? AK_OK : db_error(db, err, "reading the ledger");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

ak_code ak_sysdb_ledger_put(ak_sysdb *db, const ak_ledger_row *row, ak_err *err)
{
    sqlite3_stmt *st = stmt(db, ST_LEDGER_PUT, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, row->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ak_upload_status_name(row->status), -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, row->reason);
    const int64_t nums[] = {row->uploaded_at_us, row->declared_count, row->new_count,
                            row->updated, row->duplicates, row->stale,
                            row->records_rejected};
    for (int i = 0; i < 7; i++)
        sqlite3_bind_int64(st, 4 + i, nums[i]);
    bind_text_or_null(st, 11, row->record_errors);
    sqlite3_bind_int64(st, 12, row->payload_bytes);
    sqlite3_bind_int64(st, 13, row->attempts);
    sqlite3_bind_int64(st, 14, row->first_seen_us);
    sqlite3_bind_int64(st, 15, row->next_attempt_us);
    sqlite3_bind_int64(st, 16, row->finished_us);
    bind_text_or_null(st, 17, row->system_type);
    bind_text_or_null(st, 18, row->metadata);
    return step_done(db, st, err, "writing the ledger");
}

ak_code ak_sysdb_ledger_each(ak_sysdb *db, ak_ledger_fn fn, void *ctx, ak_err *err)
{
    sqlite3_stmt *st;
    char sql[1024];
    const char *get = stmt_sql[ST_LEDGER_GET];
    /* the same column list as ledger_get, all rows, in application order */
    snprintf(sql, sizeof sql, "%.*s ORDER BY uploaded_at_us, upload_id",
             (int)(strstr(get, " WHERE") - get), get);
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "reading the ledger");
    ak_code c = AK_OK;
    int rc;
    while (c == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ak_ledger_row row;
        row_from_stmt(st, &row);
        c = fn(ctx, &row);
        ak_ledger_row_free(&row);
    }
    if (c == AK_OK && rc != SQLITE_DONE)
        c = db_error(db, err, "reading the ledger");
    sqlite3_finalize(st);
    return c;
}

ak_code ak_sysdb_counts_get(ak_sysdb *db, ak_sysdb_counts *out, ak_err *err)
{
    static const char sql[] =
        "SELECT (SELECT count(*) FROM hot), (SELECT count(*) FROM warm),"
        " (SELECT count(*) FROM cold),"
        " (SELECT count(*) FROM uploads WHERE status='ingested'),"
        " (SELECT count(*) FROM uploads WHERE status='rejected'),"
        " (SELECT count(*) FROM uploads WHERE status='failed'),"
        " (SELECT coalesce(max(uploaded_at_us),0) FROM uploads WHERE status='ingested'),"
        " max((SELECT coalesce(max(ts_us),0) FROM hot), (SELECT coalesce(max(ts_us),0) FROM warm),"
        "     (SELECT coalesce(max(ts_us),0) FROM cold))";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "counting rows");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t *f[] = {&out->hot, &out->warm, &out->cold, &out->ingested,
                        &out->rejected, &out->failed, &out->last_upload_us,
                        &out->last_activity_us};
        for (int i = 0; i < 8; i++)
            *f[i] = sqlite3_column_int64(st, i);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? AK_OK : db_error(db, err, "counting rows");
}

/* ---- reading for search and `akosha get` ---- */

const char *ak_tier_name(ak_tier t)
{
    return t == AK_TIER_HOT ? "hot" : t == AK_TIER_WARM ? "warm" : "cold";
}

/* Run a query with its parameters already bound, calling row() per row. */
static ak_code each_row(ak_sysdb *db, sqlite3_stmt *st, ak_code (*row)(sqlite3_stmt *, void *),
                        void *ctx, ak_err *err, const char *what)
{
    ak_code c = AK_OK;
    int rc;
    while (c == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        c = row(st, ctx);
    if (c == AK_OK && rc != SQLITE_DONE)
        c = db_error(db, err, what);
    sqlite3_finalize(st);
    return c;
}

static ak_code prepare(ak_sysdb *db, const char *sql, sqlite3_stmt **st, ak_err *err)
{
    if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_error(db, err, "preparing a query");
    return AK_OK;
}

ak_code ak_sysdb_count_vectors(ak_sysdb *db, ak_tier tier, int64_t *n, ak_err *err)
{
    sqlite3_stmt *st;
    static const char *const sql[] = {
        "SELECT count(*) FROM hot WHERE embedding IS NOT NULL",
        "SELECT count(*) FROM warm WHERE embedding_q IS NOT NULL",
        "SELECT count(*) FROM cold WHERE embedding_code IS NOT NULL",
    };
    ak_code rc = prepare(db, sql[tier], &st, err);
    if (rc)
        return rc;
    *n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return AK_OK;
}

typedef struct {
    ak_tier tier;
    ak_vec_fn fn;
    void *ctx;
} vec_walk;

static ak_code vec_row(sqlite3_stmt *st, void *arg)
{
    vec_walk *w = arg;
    size_t want = w->tier == AK_TIER_HOT ? AK_DIM * 4 : AK_DIM;
    if (w->tier != AK_TIER_COLD && (size_t)sqlite3_column_bytes(st, 2) != want)
        return AK_OK; /* not a vector of this dimension: not indexable */
    ak_vec_row r = {
        .len = (size_t)sqlite3_column_bytes(st, 2),
        .rowid = sqlite3_column_int64(st, 0),
        .conversation_id = (const char *)sqlite3_column_text(st, 1),
        .vec = sqlite3_column_blob(st, 2),
        .scale = (float)sqlite3_column_double(st, 3),
        .ts_us = sqlite3_column_int64(st, 4),
    };
    return w->fn(w->ctx, &r);
}

ak_code ak_sysdb_each_vector(ak_sysdb *db, ak_tier tier, ak_vec_fn fn, void *ctx, ak_err *err)
{
    sqlite3_stmt *st;
    static const char *const sql[] = {
        "SELECT id, conversation_id, embedding, 0, ts_us FROM hot"
        " WHERE embedding IS NOT NULL ORDER BY id",
        "SELECT id, conversation_id, embedding_q, embedding_scale, ts_us FROM warm"
        " WHERE embedding_q IS NOT NULL ORDER BY id",
        "SELECT rowid, conversation_id, embedding_code, 0, ts_us FROM cold"
        " WHERE embedding_code IS NOT NULL ORDER BY rowid",
    };
    ak_code rc = prepare(db, sql[tier], &st, err);
    vec_walk w = {tier, fn, ctx};
    return rc ? rc : each_row(db, st, vec_row, &w, err, "reading vectors");
}

ak_code ak_sysdb_hot_vectors_of(ak_sysdb *db, const char *const *ids, size_t n, ak_vec_fn fn,
                                void *ctx, ak_err *err)
{
    sqlite3_stmt *st = NULL; /* one statement, bound once per id */
    ak_code rc = prepare(db, "SELECT id, conversation_id, embedding, 0, ts_us FROM hot"
                             " WHERE conversation_id = ?1 AND embedding IS NOT NULL", &st, err);
    vec_walk w = {AK_TIER_HOT, fn, ctx};
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        int s;
        sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
        while (rc == AK_OK && (s = sqlite3_step(st)) == SQLITE_ROW)
            rc = vec_row(st, &w);
        if (rc == AK_OK && s != SQLITE_DONE)
            rc = db_error(db, err, "reading a vector");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

void ak_conv_free(ak_conv *c)
{
    char **s[] = {&c->conversation_id, &c->content, &c->summary, &c->metadata,
                  &c->source, &c->upload_id, &c->object_key};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
}

static ak_code conv_row(sqlite3_stmt *st, void *arg)
{
    ak_conv *c = arg;
    c->rowid = sqlite3_column_int64(st, 0);
    c->conversation_id = column_dup(st, 1);
    char *text = column_dup(st, 2);
    if (c->tier == AK_TIER_HOT)
        c->content = text;
    else
        c->summary = text;
    c->metadata = column_dup(st, 3);
    c->source = column_dup(st, 4);
    c->upload_id = column_dup(st, 5);
    c->object_key = column_dup(st, 6);
    c->ts_us = sqlite3_column_int64(st, 7);
    if (sqlite3_column_bytes(st, 8) == AK_SHA256_LEN)
        ak_hex(sqlite3_column_blob(st, 8), AK_SHA256_LEN, c->content_sha256);
    return AK_ERR_ABORTED; /* one row is all we want */
}

static ak_code get_one(ak_sysdb *db, ak_tier tier, const char *sql, const char *key,
                       ak_conv *out, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = prepare(db, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    memset(out, 0, sizeof *out);
    out->tier = tier;
    rc = each_row(db, st, conv_row, out, err, "reading a conversation");
    if (rc == AK_ERR_ABORTED)
        return AK_OK;
    return rc ? rc : AK_ERR_NOTFOUND;
}

ak_code ak_sysdb_get_conv(ak_sysdb *db, const char *conversation_id, ak_conv *out, ak_err *err)
{
    static const char *const sql[] = {
        "SELECT " CONV_COLUMNS_HOT " FROM hot WHERE conversation_id = ?1",
        "SELECT " CONV_COLUMNS_WARM " FROM warm WHERE conversation_id = ?1",
        "SELECT " CONV_COLUMNS_COLD " FROM cold WHERE conversation_id = ?1",
    };
    for (int t = AK_TIER_HOT; t <= AK_TIER_COLD; t++) {
        ak_code rc = get_one(db, (ak_tier)t, sql[t], conversation_id, out, err);
        if (rc != AK_ERR_NOTFOUND)
            return rc;
    }
    return ak_err_set(err, AK_ERR_NOTFOUND, "no conversation %.256s", conversation_id);
}

ak_code ak_sysdb_get_row(ak_sysdb *db, ak_tier tier, int64_t rowid, ak_conv *out, ak_err *err)
{
    sqlite3_stmt *st = stmt(db, tier == AK_TIER_HOT ? ST_HOT_ROW : tier == AK_TIER_WARM ? ST_WARM_ROW : ST_COLD_ROW, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    memset(out, 0, sizeof *out);
    out->tier = tier;
    sqlite3_bind_int64(st, 1, rowid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        conv_row(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return AK_OK;
    if (rc == SQLITE_DONE)
        return ak_err_set(err, AK_ERR_NOTFOUND, "row %lld of %s is gone", (long long)rowid,
                          ak_tier_name(tier));
    return db_error(db, err, "reading a conversation");
}

ak_code ak_sysdb_text_search(ak_sysdb *db, ak_tier tier, const char *match, int64_t since,
                             int64_t until, int limit, ak_text_fn fn, void *ctx, ak_err *err)
{
    sqlite3_stmt *st = stmt(db, tier == AK_TIER_HOT ? ST_TEXT_HOT : tier == AK_TIER_WARM ? ST_TEXT_WARM : ST_TEXT_COLD,
                              err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, match, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    sqlite3_bind_int(st, 4, limit);
    ak_code c = AK_OK;
    int rc;
    while (c == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        c = fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3));
    if (c == AK_OK && rc != SQLITE_DONE)
        c = db_error(db, err, "full-text search");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return c;
}

typedef struct {
    float *out;
    int found;
} vector_out;

static ak_code vector_row(sqlite3_stmt *st, void *arg)
{
    vector_out *v = arg;
    const unsigned char *b = sqlite3_column_blob(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    if (n == AK_DIM * 4) {
        for (int i = 0; i < AK_DIM; i++) {
            uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                         (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
            memcpy(&v->out[i], &u, 4);
        }
    } else if (n == AK_DIM) {
        ak_vec_dequantize((const int8_t *)b, (float)sqlite3_column_double(st, 1), v->out);
    } else if (n == AK_VCODE_BYTES) {
        int8_t q[AK_DIM];
        float scale;
        if (!ak_vcode_to_i8(b, (size_t)n, q, &scale))
            return AK_ERR_ABORTED;
        ak_vec_dequantize(q, scale, v->out);
    } else {
        return AK_ERR_ABORTED;
    }
    v->found = ak_vec_normalize(v->out);
    return AK_ERR_ABORTED;
}

ak_code ak_sysdb_get_vector(ak_sysdb *db, const char *conversation_id, float *out, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = prepare(db, "SELECT embedding, 0 FROM hot WHERE conversation_id = ?1"
                             " UNION ALL SELECT embedding_q, embedding_scale FROM warm"
                             " WHERE conversation_id = ?1 UNION ALL SELECT embedding_code, 0"
                             " FROM cold WHERE conversation_id = ?1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, conversation_id, -1, SQLITE_TRANSIENT);
    vector_out v = {out, 0};
    rc = each_row(db, st, vector_row, &v, err, "reading a vector");
    if (rc && rc != AK_ERR_ABORTED)
        return rc;
    if (!v.found)
        return ak_err_set(err, AK_ERR_NOTFOUND, "conversation %.256s has no stored vector",
                          conversation_id);
    return AK_OK;
}
