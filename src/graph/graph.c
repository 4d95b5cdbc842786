/*
 * graph.c - see graph.h.  The tables:
 *
 *   g_node(id, type, name)                       UNIQUE(type, name)
 *   g_entity(system, orig_id, node, observations, properties,
 *            created_us, updated_us, digest)     PK(system, orig_id)
 *   g_relation(system, orig_id, src, dst, type, properties,
 *              created_us, updated_us, digest)   PK(system, orig_id)
 *
 * with indexes on g_entity(node), g_relation(system, src) and
 * g_relation(system, dst): every query walks them a row at a time.
 * Schema 1 adds the counters (below, schema_v1).
 */
#include "graph/graph.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/sha256.h"

/* The write path's statements, prepared once per handle: an INSERT into
 * g_relation or g_entity compiles every counter trigger with it, so
 * preparing it per row cost more than running it. */
enum {
    Q_ENTITY_GET,
    Q_RELATION_GET,
    Q_NODE_ADD,
    Q_NODE_ID,
    Q_NODE_DROP,
    Q_ENTITY_PUT,
    Q_RESOLVE,
    Q_RELATION_PUT,
    Q_COUNT
};

static const char *const query_sql[Q_COUNT] = {
    [Q_ENTITY_GET] = "SELECT digest, updated_us, node FROM g_entity WHERE system=? AND orig_id=?",
    [Q_RELATION_GET] = "SELECT digest, updated_us, 0 FROM g_relation WHERE system=? AND orig_id=?",
    [Q_NODE_ADD] = "INSERT OR IGNORE INTO g_node(type, name) VALUES(?, ?)",
    [Q_NODE_ID] = "SELECT id FROM g_node WHERE type=? AND name=?",
    [Q_NODE_DROP] = "DELETE FROM g_node WHERE id=?1 AND NOT EXISTS "
                    "(SELECT 1 FROM g_entity WHERE node=?1)",
    [Q_ENTITY_PUT] = "INSERT OR REPLACE INTO g_entity(system, orig_id, node, observations,"
                     " properties, created_us, updated_us, digest) VALUES(?,?,?,?,?,?,?,?)",
    /* CROSS JOIN keeps the node (found by name) outside: left to itself
     * SQLite may walk every entity of the system for each relation */
    [Q_RESOLVE] = "SELECT (SELECT count(*) FROM g_entity WHERE system=?1 AND orig_id=?2),"
                  " (SELECT min(e.orig_id) FROM g_node n CROSS JOIN g_entity e"
                  "  ON e.node=n.id WHERE n.name=?2 AND e.system=?1),"
                  " (SELECT count(*) FROM g_node n CROSS JOIN g_entity e"
                  "  ON e.node=n.id WHERE n.name=?2 AND e.system=?1)",
    [Q_RELATION_PUT] = "INSERT OR REPLACE INTO g_relation(system, orig_id, src, dst, type,"
                       " properties, created_us, updated_us, digest, src_node, dst_node)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
                       " (SELECT node FROM g_entity WHERE system=?1 AND orig_id=?3),"
                       " (SELECT node FROM g_entity WHERE system=?1 AND orig_id=?4))",
};

struct ak_graph {
    sqlite3 *db;
    sqlite3_stmt *cached[Q_COUNT]; /* prepared on first use, finalized by close */
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS g_node(id INTEGER PRIMARY KEY, type TEXT NOT NULL,"
    " name TEXT NOT NULL, UNIQUE(type, name));"
    "CREATE INDEX IF NOT EXISTS g_node_name ON g_node(name);"
    "CREATE TABLE IF NOT EXISTS g_entity(system TEXT NOT NULL, orig_id TEXT NOT NULL,"
    " node INTEGER NOT NULL, observations TEXT NOT NULL, properties TEXT,"
    " created_us INTEGER, updated_us INTEGER, digest BLOB NOT NULL,"
    " PRIMARY KEY(system, orig_id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS g_entity_node ON g_entity(node);"
    "CREATE TABLE IF NOT EXISTS g_relation(system TEXT NOT NULL, orig_id TEXT NOT NULL,"
    " src TEXT NOT NULL, dst TEXT NOT NULL, type TEXT NOT NULL, properties TEXT,"
    " created_us INTEGER, updated_us INTEGER, digest BLOB NOT NULL,"
    " PRIMARY KEY(system, orig_id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS g_relation_src ON g_relation(system, src);"
    "CREATE INDEX IF NOT EXISTS g_relation_dst ON g_relation(system, dst);";

/* ---- schema 1: counters kept by triggers ----
 *
 * g_relation.src_node / dst_node: the nodes its ends name (NULL while
 * dangling), so a path search walks node to node through one index;
 * g_node.out_deg / in_deg: its resolved relations; g_node.nsys: the
 * systems naming it; g_stat(kind, key, n): what get_graph_statistics and
 * the metrics report.  Triggers keep all of them in the writing
 * transaction (like the analytics rollup), so a statistic is a few index
 * reads however large the graph.  INSERT OR REPLACE fires the delete
 * triggers because the connection sets recursive_triggers. */

/* g_stat's n for (kind, key) += d, when cond */
#define BUMP(kind, key, d, cond)                                                    \
    "INSERT INTO g_stat SELECT " kind ", " key ", " d " WHERE " cond                \
    " ON CONFLICT(kind, key) DO UPDATE SET n = n + excluded.n;"

/* A relation row X counted with sign S: resolved when both ends are nodes. */
#define REL_COUNT(X, S)                                                             \
    BUMP("'total'", "'relations'", S, "1")                                         \
    BUMP("'sys_relations'", X ".system", S, "1")                                   \
    BUMP("'total'", "'edges'", S, X ".src_node NOT NULL AND " X ".dst_node NOT NULL") \
    BUMP("'edge_type'", X ".type", S, X ".src_node NOT NULL AND " X ".dst_node NOT NULL") \
    "UPDATE g_node SET out_deg = out_deg + " S " WHERE id = " X ".src_node AND "   \
    X ".dst_node NOT NULL;"                                                         \
    "UPDATE g_node SET in_deg = in_deg + " S " WHERE id = " X ".dst_node AND "     \
    X ".src_node NOT NULL;"

/* An entity row X counted with sign S: its node gains (loses) a system
 * unless another entity of that system names it; the relations of its
 * system naming its id get END (its node, or NULL) as that end's node. */
#define ENT_COUNT(X, S, END)                                                        \
    BUMP("'total'", "'sources'", S, "1")                                           \
    BUMP("'sys_entities'", X ".system", S, "1")                                    \
    "UPDATE g_node SET nsys = nsys + " S " WHERE id = " X ".node AND NOT EXISTS"   \
    " (SELECT 1 FROM g_entity WHERE node = " X ".node AND system = " X ".system"   \
    " AND orig_id <> " X ".orig_id);"                                              \
    "UPDATE g_relation SET src_node = " END " WHERE system = " X ".system AND src = " \
    X ".orig_id;"                                                                   \
    "UPDATE g_relation SET dst_node = " END " WHERE system = " X ".system AND dst = " \
    X ".orig_id;"

#define ISOLATED(X) "(" X ".out_deg = 0 AND " X ".in_deg = 0)"
#define MERGED(X) "(" X ".nsys > 1)"

static const char schema_v1[] =
    "ALTER TABLE g_node ADD COLUMN out_deg INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE g_node ADD COLUMN in_deg INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE g_node ADD COLUMN nsys INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE g_relation ADD COLUMN src_node INTEGER;"
    "ALTER TABLE g_relation ADD COLUMN dst_node INTEGER;"
    "CREATE TABLE g_stat(kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(kind, key)) WITHOUT ROWID;"
    /* the counters of the graph as it is (the triggers do not exist yet);
     * each index made once its column is filled, not updated row by row */
    "UPDATE g_relation SET"
    " src_node = (SELECT node FROM g_entity e WHERE e.system = g_relation.system"
    "  AND e.orig_id = g_relation.src),"
    " dst_node = (SELECT node FROM g_entity e WHERE e.system = g_relation.system"
    "  AND e.orig_id = g_relation.dst);"
    "CREATE INDEX g_relation_srcn ON g_relation(src_node, dst_node);"
    "CREATE INDEX g_relation_dstn ON g_relation(dst_node, src_node);"
    "UPDATE g_node SET"
    " out_deg = (SELECT count(*) FROM g_relation WHERE src_node = g_node.id AND dst_node NOT NULL),"
    " in_deg = (SELECT count(*) FROM g_relation WHERE dst_node = g_node.id AND src_node NOT NULL),"
    " nsys = (SELECT count(DISTINCT system) FROM g_entity WHERE node = g_node.id);"
    "CREATE INDEX g_node_out ON g_node(out_deg);"
    "CREATE INDEX g_node_in ON g_node(in_deg);"
    "INSERT INTO g_stat SELECT 'total', 'nodes', count(*) FROM g_node;"
    "INSERT INTO g_stat SELECT 'total', 'sources', count(*) FROM g_entity;"
    "INSERT INTO g_stat SELECT 'total', 'relations', count(*) FROM g_relation;"
    "INSERT INTO g_stat SELECT 'total', 'edges', count(*) FROM g_relation"
    " WHERE src_node NOT NULL AND dst_node NOT NULL;"
    "INSERT INTO g_stat SELECT 'total', 'merged', count(*) FROM g_node WHERE nsys > 1;"
    "INSERT INTO g_stat SELECT 'total', 'isolated', count(*) FROM g_node"
    " WHERE out_deg = 0 AND in_deg = 0;"
    "INSERT INTO g_stat SELECT 'node_type', type, count(*) FROM g_node GROUP BY type;"
    "INSERT INTO g_stat SELECT 'edge_type', type, count(*) FROM g_relation"
    " WHERE src_node NOT NULL AND dst_node NOT NULL GROUP BY type;"
    "INSERT INTO g_stat SELECT 'sys_entities', system, count(*) FROM g_entity GROUP BY system;"
    "INSERT INTO g_stat SELECT 'sys_relations', system, count(*) FROM g_relation GROUP BY system;"
    /* from here on the triggers keep them */
    "CREATE TRIGGER g_relation_ins AFTER INSERT ON g_relation BEGIN "
    REL_COUNT("NEW", "1") "END;"
    "CREATE TRIGGER g_relation_del AFTER DELETE ON g_relation BEGIN "
    REL_COUNT("OLD", "-1") "END;"
    "CREATE TRIGGER g_relation_upd AFTER UPDATE OF src_node, dst_node, type, system"
    " ON g_relation BEGIN " REL_COUNT("OLD", "-1") REL_COUNT("NEW", "1") "END;"
    "CREATE TRIGGER g_node_ins AFTER INSERT ON g_node BEGIN "
    BUMP("'total'", "'nodes'", "1", "1")
    BUMP("'node_type'", "NEW.type", "1", "1")
    BUMP("'total'", "'isolated'", "1", ISOLATED("NEW"))
    BUMP("'total'", "'merged'", "1", MERGED("NEW")) "END;"
    "CREATE TRIGGER g_node_del AFTER DELETE ON g_node BEGIN "
    BUMP("'total'", "'nodes'", "-1", "1")
    BUMP("'node_type'", "OLD.type", "-1", "1")
    BUMP("'total'", "'isolated'", "-1", ISOLATED("OLD"))
    BUMP("'total'", "'merged'", "-1", MERGED("OLD")) "END;"
    "CREATE TRIGGER g_node_upd AFTER UPDATE OF out_deg, in_deg, nsys ON g_node BEGIN "
    BUMP("'total'", "'isolated'", ISOLATED("NEW") " - " ISOLATED("OLD"),
         ISOLATED("NEW") " <> " ISOLATED("OLD"))
    BUMP("'total'", "'merged'", MERGED("NEW") " - " MERGED("OLD"),
         MERGED("NEW") " <> " MERGED("OLD")) "END;"
    "CREATE TRIGGER g_entity_ins AFTER INSERT ON g_entity BEGIN "
    ENT_COUNT("NEW", "1", "NEW.node") "END;"
    "CREATE TRIGGER g_entity_del AFTER DELETE ON g_entity BEGIN "
    ENT_COUNT("OLD", "-1", "NULL") "END;"
    "PRAGMA user_version = 1;";

static ak_code db_error(ak_graph *g, ak_err *err, const char *what)
{
    return ak_err_set(err, AK_ERR_IO, "graph database: %s: %s", what, sqlite3_errmsg(g->db));
}

ak_code ak_graph_path(const ak_datadir *dd, char *out, size_t n, ak_err *err)
{
    if (ak_fmt(out, n, "%s/" AK_GRAPH_FILE, ak_datadir_path(dd)))
        return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
    return AK_OK;
}

/* Tables and counters, migrating an older graph.db once (one transaction:
 * a crash leaves the old schema, migrated again on the next open). */
static ak_code prepare_schema(ak_graph *g, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    /* A snapshot's graph is one transaction whose every INSERT OR REPLACE
     * runs the counters' triggers: its statement journal in memory, not in
     * a temporary file (that alone halved the ingest's CPU), and a page
     * cache of 64 MiB so the transaction's pages are not spilled to the WAL
     * and written again (one writer per process: a bounded cost). */
    if (sqlite3_exec(g->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                            "PRAGMA recursive_triggers=ON; PRAGMA temp_store=MEMORY;"
                            "PRAGMA cache_size=-65536; BEGIN IMMEDIATE;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(g->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(g, err, "schema");
    if (sqlite3_prepare_v2(g->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    ak_code rc = AK_OK;
    if (version < 0)
        rc = db_error(g, err, "schema version");
    else if (version > AK_GRAPH_SCHEMA)
        rc = ak_err_set(err, AK_ERR_UNSUPPORTED, "graph database schema %d is newer than this "
                        "akosha's (%d)", version, AK_GRAPH_SCHEMA);
    else if (version < 1 && sqlite3_exec(g->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(g, err, "counting the graph (schema 1)");
    if (rc == AK_OK && sqlite3_exec(g->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(g, err, "schema commit");
    if (rc)
        ak_graph_rollback(g);
    return rc;
}

/* A read-only handle needs the current schema: an older file is migrated
 * through a writing handle first. */
static int needs_migration(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int version = AK_GRAPH_SCHEMA;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version < AK_GRAPH_SCHEMA;
}

ak_code ak_graph_open(const char *path, int readonly, ak_graph **out, ak_err *err)
{
    ak_graph *g = calloc(1, sizeof *g);
    if (!g)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &g->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    ak_code code = AK_OK;
    if (rc != SQLITE_OK)
        code = readonly && rc == SQLITE_CANTOPEN
                   ? ak_err_set(err, AK_ERR_NOTFOUND, "no knowledge graph yet (%s)", path)
                   : db_error(g, err, "open");
    if (code == AK_OK)
        sqlite3_busy_timeout(g->db, 30000);
    if (code == AK_OK && !readonly) {
        /* One handle of this process prepares the schema at a time.  Two
         * at once on a new file deadlock in SQLite's locks: one holds a
         * shared lock while the other waits to switch the file to WAL, and
         * the first then gets SQLITE_BUSY at once for its write, without
         * its busy handler (a snapshot's graph failed so when two uploads
         * were ingested side by side).  Another process may still meet
         * it; its upload is then retried, as for any failure. */
        static pthread_mutex_t schema_mu = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&schema_mu);
        code = prepare_schema(g, err);
        pthread_mutex_unlock(&schema_mu);
    }
    if (code == AK_OK && readonly && needs_migration(g->db)) {
        ak_graph *w = NULL;
        ak_graph_close(g);
        if ((code = ak_graph_open(path, 0, &w, err)) == AK_OK) {
            ak_graph_close(w);
            return ak_graph_open(path, 1, out, err);
        }
        return code;
    }
    if (code) {
        ak_graph_close(g);
        return code;
    }
    *out = g;
    return AK_OK;
}

void ak_graph_close(ak_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(g->cached[i]);
    sqlite3_close_v2(g->db);
    free(g);
}

struct sqlite3 *ak_graph_db(ak_graph *g) { return g->db; }

static ak_code exec(ak_graph *g, const char *sql, ak_err *err)
{
    return sqlite3_exec(g->db, sql, NULL, NULL, NULL) == SQLITE_OK ? AK_OK : db_error(g, err, sql);
}

ak_code ak_graph_begin(ak_graph *g, ak_err *err) { return exec(g, "BEGIN IMMEDIATE", err); }
ak_code ak_graph_commit(ak_graph *g, ak_err *err) { return exec(g, "COMMIT", err); }

void ak_graph_rollback(ak_graph *g)
{
    if (!sqlite3_get_autocommit(g->db))
        sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- statements ---- */

typedef struct {
    sqlite3_stmt *st;
    int col;    /* next bind index */
    int cached; /* st belongs to the handle's cache: reset, not finalized */
} stmt;

static ak_code prep(ak_graph *g, stmt *s, const char *sql, ak_err *err)
{
    s->col = 1;
    s->cached = 0;
    if (sqlite3_prepare_v2(g->db, sql, -1, &s->st, NULL) != SQLITE_OK)
        return db_error(g, err, "prepare");
    return AK_OK;
}

/* The cached statement q, prepared on its first use. */
static ak_code cached(ak_graph *g, stmt *s, int q, ak_err *err)
{
    s->col = 1;
    s->cached = 1;
    if (!g->cached[q] &&
        sqlite3_prepare_v3(g->db, query_sql[q], -1, SQLITE_PREPARE_PERSISTENT, &g->cached[q],
                           NULL) != SQLITE_OK)
        return db_error(g, err, "prepare");
    s->st = g->cached[q];
    return AK_OK;
}

/* Done with s: a cached statement is reset for its next use (dropping its
 * bindings, which may point at the caller's strings), another finalized. */
static void done(stmt *s)
{
    if (!s->cached) {
        sqlite3_finalize(s->st);
        return;
    }
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
}

static void bind_text(stmt *s, const char *v)
{
    if (v)
        sqlite3_bind_text(s->st, s->col++, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s->st, s->col++);
}

static void bind_time(stmt *s, int64_t us)
{
    if (us)
        sqlite3_bind_int64(s->st, s->col++, us);
    else
        sqlite3_bind_null(s->st, s->col++);
}

/* Step once: 1 = a row, 0 = done, -1 = error (in err). */
static int step(ak_graph *g, stmt *s, ak_err *err)
{
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    db_error(g, err, "step");
    return -1;
}

/* Bind a, b (when given) and n (when not 0) to s, step it once, done. */
static ak_code run_stmt(ak_graph *g, stmt s, const char *a, const char *b, int64_t n,
                        int64_t *changes, ak_err *err)
{
    ak_code rc;
    if (a)
        bind_text(&s, a);
    if (b)
        bind_text(&s, b);
    if (n)
        sqlite3_bind_int64(s.st, s.col++, n);
    rc = step(g, &s, err) < 0 ? AK_ERR_IO : AK_OK;
    if (changes)
        *changes = sqlite3_changes(g->db);
    done(&s);
    return rc;
}

static ak_code run(ak_graph *g, const char *sql, const char *a, const char *b, int64_t n,
                   int64_t *changes, ak_err *err)
{
    stmt s;
    ak_code rc = prep(g, &s, sql, err);
    return rc ? rc : run_stmt(g, s, a, b, n, changes, err);
}

static ak_code run_cached(ak_graph *g, int q, const char *a, const char *b, int64_t n,
                          ak_err *err)
{
    stmt s;
    ak_code rc = cached(g, &s, q, err);
    return rc ? rc : run_stmt(g, s, a, b, n, NULL, err);
}

/* ---- digests: what "the same content" means ---- */

static void digest(const char *const *parts, size_t n, const int64_t *times, uint8_t out[32])
{
    ak_sha256_ctx *c = ak_sha256_new();
    if (!c) { /* no memory: a digest that never matches makes it an update */
        memset(out, 0xff, 32);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *p = parts[i] ? parts[i] : "";
        ak_sha256_update(c, p, strlen(p) + 1);
    }
    ak_sha256_update(c, times, sizeof *times);
    ak_sha256_final(c, out);
    ak_sha256_free(c);
}

/* What the stored row says (q: Q_ENTITY_GET or Q_RELATION_GET): 0 = none, 1 = same digest, 2 = differs;
 * *stored_updated its updated_us (0: none). */
static ak_code existing(ak_graph *g, int q, const char *system, const char *id,
                        const uint8_t *dig, int *state, int64_t *stored_updated,
                        int64_t *node, ak_err *err)
{
    stmt s;
    ak_code rc = cached(g, &s, q, err);
    if (rc)
        return rc;
    bind_text(&s, system);
    bind_text(&s, id);
    int r = step(g, &s, err);
    *state = 0;
    if (r == 1) {
        const void *d = sqlite3_column_blob(s.st, 0);
        *state = sqlite3_column_bytes(s.st, 0) == 32 && memcmp(d, dig, 32) == 0 ? 1 : 2;
        *stored_updated = sqlite3_column_int64(s.st, 1);
        *node = sqlite3_column_int64(s.st, 2);
    }
    done(&s);
    return r < 0 ? AK_ERR_IO : AK_OK;
}

/* A put's verdict before writing: duplicate and stale write nothing. */
static ak_gput judge(int state, int64_t stored_updated, int64_t updated)
{
    if (state == 0)
        return AK_GPUT_NEW;
    if (state == 1)
        return AK_GPUT_DUPLICATE;
    if (updated && stored_updated && updated < stored_updated)
        return AK_GPUT_STALE;
    return AK_GPUT_UPDATED;
}

/* ---- entities ---- */

static ak_code node_of(ak_graph *g, const char *type, const char *name, int64_t *node,
                       ak_err *err)
{
    ak_code rc = run_cached(g, Q_NODE_ADD, type, name, 0, err);
    stmt s;
    if (rc == AK_OK)
        rc = cached(g, &s, Q_NODE_ID, err);
    if (rc)
        return rc;
    bind_text(&s, type);
    bind_text(&s, name);
    int r = step(g, &s, err);
    if (r == 1)
        *node = sqlite3_column_int64(s.st, 0);
    done(&s);
    return r == 1 ? AK_OK : r == 0 ? ak_err_set(err, AK_ERR_INTERNAL, "node vanished") : AK_ERR_IO;
}

/* Drop node when no entity names it any more. */
static ak_code drop_if_orphan(ak_graph *g, int64_t node, ak_err *err)
{
    return run_cached(g, Q_NODE_DROP, NULL, NULL, node, err);
}

ak_code ak_graph_put_entity(ak_graph *g, const ak_graph_entity *e, ak_gput *res, ak_err *err)
{
    const char *parts[] = {e->name, e->type, e->observations, e->properties};
    int64_t times[1] = {e->created_us};
    uint8_t dig[32];
    int state;
    int64_t stored_updated = 0, old_node = 0, node = 0;
    digest(parts, 4, times, dig);
    ak_code rc = existing(g, Q_ENTITY_GET, e->system, e->id, dig, &state, &stored_updated,
                          &old_node, err);
    if (rc)
        return rc;
    *res = judge(state, stored_updated, e->updated_us);
    if (*res == AK_GPUT_DUPLICATE || *res == AK_GPUT_STALE)
        return AK_OK;
    stmt s;
    if ((rc = node_of(g, e->type, e->name, &node, err)) ||
        (rc = cached(g, &s, Q_ENTITY_PUT, err)))
        return rc;
    bind_text(&s, e->system);
    bind_text(&s, e->id);
    sqlite3_bind_int64(s.st, s.col++, node);
    bind_text(&s, e->observations ? e->observations : "[]");
    bind_text(&s, e->properties);
    bind_time(&s, e->created_us);
    bind_time(&s, e->updated_us);
    sqlite3_bind_blob(s.st, s.col++, dig, 32, SQLITE_STATIC);
    rc = step(g, &s, err) < 0 ? AK_ERR_IO : AK_OK;
    done(&s);
    /* renamed or retyped: the old node may have lost its last entity */
    if (rc == AK_OK && old_node && old_node != node)
        rc = drop_if_orphan(g, old_node, err);
    return rc;
}

/* ---- relations ---- */

/* An endpoint that is no original id of the system but the name of
 * exactly one of its entities (older Session-Buddy versions and hand-made
 * calls name entities) becomes that entity's id. */
static ak_code resolve_name(ak_graph *g, const char *system, const char *end, ak_buf *out,
                            ak_err *err)
{
    stmt s;
    ak_code rc = cached(g, &s, Q_RESOLVE, err);
    if (rc)
        return rc;
    bind_text(&s, system);
    bind_text(&s, end);
    ak_buf_reset(out);
    int r = step(g, &s, err);
    const char *id = r == 1 ? (const char *)sqlite3_column_text(s.st, 1) : NULL;
    if (r == 1 && sqlite3_column_int64(s.st, 0) == 0 && sqlite3_column_int64(s.st, 2) == 1 && id)
        ak_buf_puts(out, id);
    else
        ak_buf_puts(out, end);
    rc = r < 0 ? AK_ERR_IO : ak_buf_putc(out, '\0') ? ak_err_set(err, AK_ERR_NOMEM, "out of memory") : AK_OK;
    done(&s);
    return rc;
}

ak_code ak_graph_put_relation(ak_graph *g, const ak_graph_relation *r, ak_gput *res,
                              ak_err *err)
{
    ak_buf from = {0}, to = {0};
    ak_code rc = resolve_name(g, r->system, r->from, &from, err);
    if (rc == AK_OK)
        rc = resolve_name(g, r->system, r->to, &to, err);
    const char *parts[] = {from.data, to.data, r->type, r->properties};
    int64_t times[1] = {r->created_us}, stored_updated = 0, unused;
    uint8_t dig[32];
    int state = 0;
    stmt s = {0};
    if (rc == AK_OK) {
        digest(parts, 4, times, dig);
        rc = existing(g, Q_RELATION_GET, r->system, r->id, dig, &state, &stored_updated, &unused, err);
    }
    if (rc == AK_OK)
        *res = judge(state, stored_updated, r->updated_us);
    if (rc == AK_OK && (*res == AK_GPUT_NEW || *res == AK_GPUT_UPDATED) &&
        (rc = cached(g, &s, Q_RELATION_PUT, err)) == AK_OK) {
        bind_text(&s, r->system);
        bind_text(&s, r->id);
        bind_text(&s, from.data);
        bind_text(&s, to.data);
        bind_text(&s, r->type);
        bind_text(&s, r->properties);
        bind_time(&s, r->created_us);
        bind_time(&s, r->updated_us);
        sqlite3_bind_blob(s.st, s.col++, dig, 32, SQLITE_STATIC);
        rc = step(g, &s, err) < 0 ? AK_ERR_IO : AK_OK;
        done(&s);
    }
    ak_buf_free(&from);
    ak_buf_free(&to);
    return rc;
}

/* ---- tallies ---- */

void ak_graph_tally_add(ak_graph_tally *t, int relation, ak_gput res)
{
    (relation ? t->relations : t->entities)[res]++;
}

static int tally_part(char *out, size_t n, const char *one, const char *many, const int64_t *c)
{
    static const char *const names[] = {"new", "updated", "duplicate", "stale"};
    int64_t total = c[0] + c[1] + c[2] + c[3];
    int k = snprintf(out, n, "%lld %s", (long long)total, total == 1 ? one : many);
    if (!total)
        return k;
    if (k > 0 && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, " (");
    const char *sep = "";
    for (int i = 0; i < 4 && k > 0 && (size_t)k < n; i++)
        if (c[i]) {
            k += snprintf(out + k, n - (size_t)k, "%s%lld %s", sep, (long long)c[i], names[i]);
            sep = ", ";
        }
    if (k > 0 && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, ")");
    return k;
}

void ak_graph_tally_note(const ak_graph_tally *t, char *out, size_t n)
{
    int k = snprintf(out, n, "knowledge graph: ");
    if (k > 0 && (size_t)k < n)
        k += tally_part(out + k, n - (size_t)k, "entity", "entities", t->entities);
    if (k > 0 && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, ", ");
    if (k > 0 && (size_t)k < n)
        k += tally_part(out + k, n - (size_t)k, "relation", "relations", t->relations);
    if (t->rejected && k > 0 && (size_t)k < n)
        snprintf(out + k, n - (size_t)k, ", %lld rejected (%s)", (long long)t->rejected,
                 t->example);
}

/* ---- forgetting a system ---- */

static ak_code count(ak_graph *g, const char *sql, const char *system, int64_t *out, ak_err *err)
{
    stmt s;
    ak_code rc = prep(g, &s, sql, err);
    if (rc)
        return rc;
    bind_text(&s, system);
    int r = step(g, &s, err);
    if (out)
        *out = r == 1 ? sqlite3_column_int64(s.st, 0) : 0;
    done(&s);
    return r < 0 ? AK_ERR_IO : AK_OK;
}

#define ONLY_NODES \
    "SELECT DISTINCT e.node FROM g_entity e WHERE e.system=?1 AND NOT EXISTS " \
    "(SELECT 1 FROM g_entity o WHERE o.node=e.node AND o.system<>?1)"

ak_code ak_graph_forget_system(ak_graph *g, const char *system, int dry_run, int64_t *entities,
                               int64_t *relations, int64_t *nodes, ak_err *err)
{
    ak_code rc = ak_graph_begin(g, err);
    if (rc == AK_OK)
        rc = count(g, "SELECT count(*) FROM g_entity WHERE system=?", system, entities, err);
    if (rc == AK_OK)
        rc = count(g, "SELECT count(*) FROM g_relation WHERE system=?", system, relations, err);
    if (rc == AK_OK)
        rc = count(g, "SELECT count(*) FROM (" ONLY_NODES ")", system, nodes, err);
    /* relations first: the nodes then deleted have no edges left, which
     * is what the counters' triggers expect of a deleted node */
    if (rc == AK_OK && !dry_run)
        rc = run(g, "DELETE FROM g_relation WHERE system=?", system, NULL, 0, NULL, err);
    if (rc == AK_OK && !dry_run)
        rc = run(g, "DELETE FROM g_node WHERE id IN (" ONLY_NODES ")", system, NULL, 0, NULL, err);
    if (rc == AK_OK && !dry_run)
        rc = run(g, "DELETE FROM g_entity WHERE system=?", system, NULL, 0, NULL, err);
    if (rc == AK_OK)
        rc = dry_run ? (ak_graph_rollback(g), AK_OK) : ak_graph_commit(g, err);
    if (rc)
        ak_graph_rollback(g);
    return rc;
}
