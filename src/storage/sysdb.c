/*
 * sysdb.c - see sysdb.h: the schema and its migrations, opening, the
 * statements.  Writing records is sysdb_write.c, the ledger
 * sysdb_ledger.c, reading sysdb_read.c.
 *
 * Schema changes go through migrate(): PRAGMA user_version records how far a
 * database has been brought, each step runs in its own transaction, so an
 * old database opened by a new binary is upgraded once and safely.
 *
 * The statements used per record are prepared once per handle: ingestion
 * runs them hundreds of thousands of times per upload.
 */
#include "storage/sysdb_impl.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage/rollup.h"
#include "storage/warmcode.h"
#include "util/json.h"

/* what a write of vectors does to meta's vec_epoch (epoch_triggers) */
#define EPOCH_BUMP                                                                         \
    "INSERT INTO meta(key, value) VALUES('vec_epoch', '1')"                                \
    " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"

const char *const ak_sysdb_stmt_sql[ST_COUNT] = {
    /* a conversation's version was stored by this upload ... */
    [ST_SOURCE_SET] =
        "INSERT INTO sources(conversation_id, upload_id, upload_at_us, version)"
        " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(conversation_id) DO UPDATE SET"
        " upload_id = excluded.upload_id, upload_at_us = excluded.upload_at_us,"
        " version = excluded.version",
    /* ... or is held by this later upload exactly as stored */
    [ST_SOURCE_SEEN] =
        "UPDATE sources SET upload_id = ?2, upload_at_us = ?3 WHERE conversation_id = ?1"
        " AND version = ?4 AND (?3 > upload_at_us OR (?3 = upload_at_us AND ?2 > upload_id))",
    /* ... or by a later upload with the same content (its other fields unread) */
    [ST_SOURCE_HELD] =
        "UPDATE sources SET upload_id = ?2, upload_at_us = ?3 WHERE conversation_id = ?1"
        " AND (?3 > upload_at_us OR (?3 = upload_at_us AND ?2 > upload_id))",
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
    [ST_FACT_META] = AK_ROLLUP_META_SQL,
    [ST_FACT_ADD] = AK_ROLLUP_FACT_ADD_SQL,
    [ST_FACT_OF] = AK_ROLLUP_FACT_OF_SQL,
    [ST_FACT_MOVE] = AK_ROLLUP_FACT_MOVE_SQL,
    [ST_DAILY_ADD] = AK_ROLLUP_DAILY_ADD_SQL,
    [ST_DAILY_DROP] = AK_ROLLUP_DAILY_DROP_SQL,
    [ST_HOT_VEC_OF] = "SELECT id, conversation_id, embedding, 0, ts_us FROM hot"
                      " WHERE conversation_id = ?1 AND embedding IS NOT NULL",
    [ST_EPOCH_BUMP] = EPOCH_BUMP,
};

/* ---- schema ---- */

/* cold_objects forgets a key once no cold row uses it (schemas 9 and 10). */
#define COLD_OBJECTS_TRIGGERS                                                              \
    "CREATE TRIGGER cold_objects_ad AFTER DELETE ON cold"                                  \
    " WHEN NOT EXISTS(SELECT 1 FROM cold WHERE object_id = old.object_id) BEGIN"           \
    " DELETE FROM cold_objects WHERE id = old.object_id; END;"                             \
    "CREATE TRIGGER cold_objects_au AFTER UPDATE OF object_id ON cold"                     \
    " WHEN old.object_id <> new.object_id"                                                 \
    " AND NOT EXISTS(SELECT 1 FROM cold WHERE object_id = old.object_id) BEGIN"            \
    " DELETE FROM cold_objects WHERE id = old.object_id; END;"

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
    /* 6: the daily rollup analytics reads (storage/rollup.h), filled
     * from the rows already stored */
    (AK_ROLLUP_SCHEMA_SQL),
    /* 7: pruning the bucket (ops/prune.h).  sources names, per conversation,
     * the latest ingested upload that holds its stored version (a row from
     * before this schema has none: its own upload_id stands in); version is
     * a digest of every field a record stores (record_version), so an
     * upload with the same content but another time or metadata does not
     * count as holding it; pruned
     * lists the uploads deleted from the bucket ("pruning" while deleting). */
    ("CREATE TABLE sources(conversation_id TEXT PRIMARY KEY, upload_id TEXT NOT NULL,"
     " upload_at_us INTEGER NOT NULL, version BLOB NOT NULL);"
     "CREATE TABLE pruned(upload_id TEXT PRIMARY KEY, prefix TEXT NOT NULL,"
     " state TEXT NOT NULL CHECK (state IN ('pruning','pruned')),"
     " objects INTEGER NOT NULL, bytes INTEGER NOT NULL, at_us INTEGER NOT NULL);"),
    /* 8: a smaller warm row (issue 14: warm <= 25 % of hot).  The vector
     * becomes the 5-bit code of storage/warmcode.h (244 bytes, not 384 int8
     * and a scale), and the 1-sentence summary, always one sentence of the
     * 3-sentence one, is kept as its byte span there (ultra_at, 1-based,
     * and ultra_len; AK_TIERMOVE_WARM_ULTRA reads it) instead of a copy.
     * A row whose ultra_summary is not in its summary keeps it. */
    ("ALTER TABLE warm ADD COLUMN ultra_at INTEGER;"
     "ALTER TABLE warm ADD COLUMN ultra_len INTEGER;"
     "UPDATE warm SET embedding_q = ak_warm_code(embedding_q, embedding_scale),"
     " embedding_scale = 0 WHERE embedding_q IS NOT NULL;"
     "UPDATE warm SET ultra_at = instr(CAST(summary AS BLOB), CAST(ultra_summary AS BLOB)),"
     " ultra_len = length(CAST(ultra_summary AS BLOB)), ultra_summary = NULL"
     " WHERE instr(CAST(summary AS BLOB), CAST(ultra_summary AS BLOB)) > 0;"),
    /* 9: a smaller cold catalog (issue 14).  Each row repeated its
     * object's key (~60 bytes) and indexed it: the keys now live once in
     * cold_objects and a row holds the key's number (AK_COLD_KEY reads it
     * back, AK_COLD_IN_OBJECT selects by key).  An entry no row refers to
     * is removed by trigger, so cold_objects lists exactly the catalogued
     * objects.  DROP COLUMN keeps each row's rowid (cold_fts is keyed by
     * it). */
    ("CREATE TABLE cold_objects(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);"
     "INSERT INTO cold_objects(key) SELECT DISTINCT object_key FROM cold ORDER BY 1;"
     "ALTER TABLE cold ADD COLUMN object_id INTEGER NOT NULL DEFAULT 0;"
     "UPDATE cold SET object_id = (SELECT id FROM cold_objects WHERE key = cold.object_key);"
     "DROP INDEX cold_object;"
     "ALTER TABLE cold DROP COLUMN object_key;"
     "CREATE INDEX cold_object ON cold(object_id);"
     COLD_OBJECTS_TRIGGERS),
    /* 10: a smaller cold catalog still (issue 14).  cold_fts keeps no
     * positions (detail=none: a 1-sentence summary is searched by its
     * words, never by phrase; ak_sysdb_text_search splits a query word the
     * tokenizer would split) and no document lengths (columnsize=0: BM25
     * reads them from the cold row it joins anyway), and cold_objects drops
     * its key index (a few keys a system, looked up once per statement):
     * each was a b-tree of its own, a 16 KiB page a system at least. */
    ("DROP TRIGGER cold_fts_ad; DROP TABLE cold_fts;"
     "CREATE VIRTUAL TABLE cold_fts USING fts5(ultra_summary, content='cold',"
     " content_rowid='rowid', tokenize='porter unicode61', detail=none, columnsize=0);"
     "INSERT INTO cold_fts(cold_fts) VALUES('rebuild');"
     "CREATE TRIGGER cold_fts_ad AFTER DELETE ON cold WHEN old.ultra_summary IS NOT NULL BEGIN"
     " INSERT INTO cold_fts(cold_fts, rowid, ultra_summary)"
     " VALUES ('delete', old.rowid, old.ultra_summary); END;"
     "DROP TRIGGER cold_objects_ad; DROP TRIGGER cold_objects_au;"
     "CREATE TABLE cold_objects_10(id INTEGER PRIMARY KEY, key TEXT NOT NULL);"
     "INSERT INTO cold_objects_10(id, key) SELECT id, key FROM cold_objects;"
     "DROP TABLE cold_objects; ALTER TABLE cold_objects_10 RENAME TO cold_objects;"
     COLD_OBJECTS_TRIGGERS),
    /* 11: daily is kept by the writers of conv_facts (issue 18): a put's
     * counts are summed per key and written at COMMIT (sysdb_daily.c),
     * retention counts its days again (ak_rollup_expire).  The triggers
     * cost every memory an UPSERT and a statement journal.  daily is
     * exact already, so dropping them is all. */
    ("DROP TRIGGER conv_facts_ai; DROP TRIGGER conv_facts_ad; DROP TRIGGER conv_facts_au;"),
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof *migrations))

int ak_sysdb_schema_version(void) { return SCHEMA_VERSION; }

ak_code ak_sysdb_db_error(ak_sysdb *db, ak_err *err, const char *what)
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
        return ak_sysdb_db_error(db, err, "query failed");
    return AK_OK;
}

static ak_code user_version(ak_sysdb *db, int *v, ak_err *err)
{
    sqlite3_stmt *st;
    *v = 0;
    if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return ak_sysdb_db_error(db, err, "reading schema version");
    int rc = sqlite3_step(st);
    *v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? AK_OK : ak_sysdb_db_error(db, err, "reading schema version");
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


/* Every write to a vector table, by any statement of this connection,
 * bumps meta's vec_epoch in the same transaction: the stamp a segment file
 * (query/segfile.h) is checked against.  TEMP triggers, created on each
 * connection that may write (readers are query_only and carry none), so
 * the database's schema stays what every build expects;
 * except hot's inserts and updates, the write path of every upload, where
 * a trigger cost a meta write and a statement journal (16 KiB per page
 * touched) per row: their writers bump once per transaction instead
 * (ak_sysdb_hot_changing). */
static ak_code epoch_triggers(ak_sysdb *db, ak_err *err)
{
    static const char *const tables[] = {"hot", "warm", "cold"};
    static const char *const ops[] = {"INSERT", "UPDATE", "DELETE"};
    for (int t = 0; t < 3; t++)
        for (int o = 0; o < 3; o++) {
            char sql[512];
            if (t == 0 && o < 2) {
                snprintf(sql, sizeof sql, "DROP TRIGGER IF EXISTS temp.ak_epoch_hot_%s", ops[o]);
            } else {
                snprintf(sql, sizeof sql,
                         "CREATE TEMP TRIGGER IF NOT EXISTS ak_epoch_%s_%s AFTER %s ON main.%s"
                         " BEGIN " EPOCH_BUMP "; END",
                         tables[t], ops[o], ops[o], tables[t]);
            }
            ak_code rc = exec(db, sql, err);
            if (rc)
                return rc;
        }
    return AK_OK;
}

/* A transaction ended (committed or rolled back): the next one bumps again. */
static int epoch_commit(void *arg)
{
    ((ak_sysdb *)arg)->epoch_bumped = 0;
    return 0;
}

static void epoch_rollback(void *arg) { ((ak_sysdb *)arg)->epoch_bumped = 0; }

ak_code ak_sysdb_hot_changing(ak_sysdb *db, ak_err *err)
{
    if (db->epoch_bumped && !sqlite3_get_autocommit(db->db))
        return AK_OK;
    sqlite3_stmt *st = ak_sysdb_stmt(db, ST_EPOCH_BUMP, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    ak_code rc = ak_sysdb_step_done(db, st, err, "bumping the vector epoch");
    /* outside a transaction the bump committed alone: bump again next time */
    db->epoch_bumped = rc == AK_OK && !sqlite3_get_autocommit(db->db);
    return rc;
}

static ak_code configure(ak_sysdb *db, int reader, ak_err *err)
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
    if (rc == AK_OK && ak_wcode_sql_register(db->db) != SQLITE_OK) /* for migration 8 */
        rc = ak_sysdb_db_error(db, err, "registering ak_warm_code");
    if (rc == AK_OK)
        rc = migrate(db, err);
    /* a reader cannot write, so it needs no epoch triggers: they were half
     * of an idle connection's heap (the TEMP schema and its in-memory pages,
     * ~64 KiB of ~130 KiB) and a third of its open */
    if (rc == AK_OK)
        rc = reader ? exec(db, "PRAGMA query_only=1", err) : epoch_triggers(db, err);
    sqlite3_commit_hook(db->db, epoch_commit, db);
    sqlite3_rollback_hook(db->db, epoch_rollback, db);
    return rc;
}

ak_code ak_sysdb_vec_epoch(ak_sysdb *db, uint64_t *out, ak_err *err)
{
    sqlite3_stmt *st;
    *out = 0;
    if (sqlite3_prepare_v2(db->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key='vec_epoch'",
                           -1, &st, NULL) != SQLITE_OK)
        return ak_sysdb_db_error(db, err, "reading the vector epoch");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? AK_OK
                                                 : ak_sysdb_db_error(db, err, "reading the vector epoch");
}

/* SQLite keeps memory statistics by default, behind one global mutex taken
 * on every allocation: with several workers inserting at once that mutex
 * serialised them.  Akosha does not read those statistics. */
static void configure_library(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
}

static ak_code open_as(const char *path, int create, int reader, ak_sysdb **out, ak_err *err)
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
                : ak_sysdb_db_error(db, err, "cannot open");
    } else {
        c = configure(db, reader, err);
    }
    if (c) {
        ak_sysdb_close(db);
        return c;
    }
    if (!db->file_id.ino) /* the open created it (configure wrote it) */
        db->file_id = ak_file_id_of(path);
    *out = db;
    return AK_OK;
}

ak_code ak_sysdb_open(const char *path, int create, ak_sysdb **out, ak_err *err)
{
    return open_as(path, create, 0, out, err);
}

ak_code ak_sysdb_open_reader(const char *path, ak_sysdb **out, ak_err *err)
{
    return open_as(path, 0, 1, out, err);
}

static size_t db_status(ak_sysdb *db, int op)
{
    int cur = 0, high = 0;
    sqlite3_db_status(db->db, op, &cur, &high, 0);
    return cur > 0 ? (size_t)cur : 0;
}

size_t ak_sysdb_release_memory(ak_sysdb *db)
{
    sqlite3_db_release_memory(db->db);
    return db_status(db, SQLITE_DBSTATUS_CACHE_USED);
}

void ak_sysdb_memory(ak_sysdb *db, ak_sysdb_mem *out)
{
    out->schema = db_status(db, SQLITE_DBSTATUS_SCHEMA_USED);
    out->stmt = db_status(db, SQLITE_DBSTATUS_STMT_USED);
    out->cache = db_status(db, SQLITE_DBSTATUS_CACHE_USED);
}

void ak_sysdb_close(ak_sysdb *db)
{
    if (!db)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    sqlite3_close(db->db);
    ak_sysdb_text_free(db);
    ak_sysdb_daily_free(db);
    ak_json_doc_free(db->scratch);
    free(db->path);
    free(db);
}

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

ak_code ak_sysdb_wal_keep(ak_sysdb *db, int64_t bytes, ak_err *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%lld", (long long)bytes);
    return exec(db, sql, err);
}

ak_code ak_sysdb_checkpoint(ak_sysdb *db, ak_err *err)
{
    int log = -1, done = -1;
    int rc = sqlite3_wal_checkpoint_v2(db->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc == SQLITE_BUSY || (rc == SQLITE_OK && log != done))
        return ak_err_set(err, AK_ERR_BUSY, "%s: another connection kept the checkpoint from "
                                            "finishing", db->path);
    return rc == SQLITE_OK ? AK_OK : ak_sysdb_db_error(db, err, "checkpoint failed");
}

/* Statements are prepared on first use and kept: a search that opens a
 * database to read ten rows should not pay for preparing the ingest ones. */
sqlite3_stmt *ak_sysdb_stmt(ak_sysdb *db, int which, ak_err *err)
{
    if (!db->st[which] &&
        sqlite3_prepare_v3(db->db, ak_sysdb_stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                           &db->st[which], NULL) != SQLITE_OK) {
        ak_sysdb_db_error(db, err, "preparing a statement");
        return NULL;
    }
    return db->st[which];
}

ak_code ak_sysdb_begin(ak_sysdb *db, ak_err *err)
{
    ak_sysdb_text_drop(db);
    ak_sysdb_daily_drop(db);
    return exec(db, "BEGIN IMMEDIATE", err);
}

ak_code ak_sysdb_commit(ak_sysdb *db, ak_err *err)
{
    ak_code rc = ak_sysdb_text_flush(db, err);
    if (rc == AK_OK)
        rc = ak_sysdb_daily_flush(db, err);
    return rc ? rc : exec(db, "COMMIT", err);
}

void ak_sysdb_rollback(ak_sysdb *db)
{
    ak_sysdb_text_drop(db);
    ak_sysdb_daily_drop(db);
    if (!sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a bound statement that returns no rows, then reset it. */
ak_code ak_sysdb_step_done(ak_sysdb *db, sqlite3_stmt *st, ak_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    ak_code c = rc == SQLITE_DONE ? AK_OK : ak_sysdb_db_error(db, err, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return c;
}

