/*
 * test_graph_counts.c - the knowledge graph's path search and counters
 * (graph/graph_query.c's bidirectional search, graph/graph.c's triggers and
 * schema-1 migration), each against an independent reference:
 *
 *  - on random small graphs of several systems (shared names merge nodes
 *    across systems; self-loops, cycles, dangling relations, several
 *    components), find_path's answer for every sampled pair and max_hops
 *    agrees with a breadth-first search over the test's own adjacency:
 *    found exactly when the distance is within max_hops, the path as long
 *    as the distance, starting and ending right, every step a relation;
 *  - after a random mixed sequence of new, changed (renamed, retyped,
 *    re-pointed), duplicate and deleted-by-forget items, the counters equal
 *    a full recount done with joins through the entities;
 *  - a graph.db of schema 0 (no counters) gets them computed on open,
 *    read-only open included, equal to the recount.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "graph/graph.h"
#include "graph/graph_query.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/jsonw.h"

#define SYSTEMS 3
#define NAMES 10
#define TYPES 2
#define NODES (NAMES * TYPES)
#define IDS 14 /* original ids per system: some name the same node */

static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) % n;
}

/* The test's own model of one graph: per system, which node each original
 * id names (-1: none) and its relations between original ids. */
typedef struct {
    int node[SYSTEMS][IDS];
    int n_rel[SYSTEMS];
    int rel[SYSTEMS][40][2];
} model;

static void put(ak_graph *g, const model *m)
{
    ak_err err;
    char sys[16], id[16], name[16], type[16], from[16], to[16];
    ak_gput res;
    CHECK_OK(ak_graph_begin(g, &err), err);
    for (int s = 0; s < SYSTEMS; s++) {
        snprintf(sys, sizeof sys, "s%d.local", s);
        for (int i = 0; i < IDS; i++) {
            if (m->node[s][i] < 0)
                continue;
            snprintf(id, sizeof id, "i%d", i);
            snprintf(name, sizeof name, "n%d", m->node[s][i] % NAMES);
            snprintf(type, sizeof type, "t%d", m->node[s][i] / NAMES);
            ak_graph_entity e = {.system = sys, .id = id, .name = name, .type = type};
            CHECK_OK(ak_graph_put_entity(g, &e, &res, &err), err);
        }
        for (int k = 0; k < m->n_rel[s]; k++) {
            snprintf(id, sizeof id, "r%d", k);
            snprintf(from, sizeof from, "i%d", m->rel[s][k][0]);
            snprintf(to, sizeof to, "i%d", m->rel[s][k][1]);
            ak_graph_relation r = {.system = sys, .id = id, .from = from, .to = to, .type = "rel"};
            CHECK_OK(ak_graph_put_relation(g, &r, &res, &err), err);
        }
    }
    CHECK_OK(ak_graph_commit(g, &err), err);
}

static void random_model(model *m)
{
    memset(m, 0, sizeof *m);
    for (int s = 0; s < SYSTEMS; s++) {
        for (int i = 0; i < IDS; i++) /* about a third of the ids name nothing: dangling */
            m->node[s][i] = rnd(3) ? (int)rnd(NODES) : -1;
        m->n_rel[s] = (int)rnd(12);
        for (int k = 0; k < m->n_rel[s]; k++) {
            m->rel[s][k][0] = (int)rnd(IDS);
            m->rel[s][k][1] = rnd(8) ? (int)rnd(IDS) : m->rel[s][k][0]; /* self-loops */
        }
    }
}

/* Distances from src over the model's resolved relations, either way. */
static void reference_bfs(const model *m, int src, int *dist)
{
    int queue[NODES], head = 0, tail = 0;
    for (int i = 0; i < NODES; i++)
        dist[i] = -1;
    dist[src] = 0;
    queue[tail++] = src;
    while (head < tail) {
        int u = queue[head++];
        for (int s = 0; s < SYSTEMS; s++)
            for (int k = 0; k < m->n_rel[s]; k++) {
                int a = m->node[s][m->rel[s][k][0]], b = m->node[s][m->rel[s][k][1]];
                if (a < 0 || b < 0 || (a != u && b != u))
                    continue;
                int v = a == u ? b : a;
                if (dist[v] < 0) {
                    dist[v] = dist[u] + 1;
                    queue[tail++] = v;
                }
            }
    }
}

static int adjacent(const model *m, int u, int v)
{
    for (int s = 0; s < SYSTEMS; s++)
        for (int k = 0; k < m->n_rel[s]; k++) {
            int a = m->node[s][m->rel[s][k][0]], b = m->node[s][m->rel[s][k][1]];
            if (a >= 0 && b >= 0 && ((a == u && b == v) || (a == v && b == u)))
                return 1;
        }
    return 0;
}

static int named(const model *m, int node)
{
    for (int s = 0; s < SYSTEMS; s++)
        for (int i = 0; i < IDS; i++)
            if (m->node[s][i] == node)
                return 1;
    return 0;
}

/* "t1:n3" -> 13 */
static int node_of_id(const char *id)
{
    int t, n;
    return sscanf(id, "t%d:n%d", &t, &n) == 2 ? t * NAMES + n : -1;
}

static void check_path(ak_graph *g, const model *m, int u, int v, int hops, const int *dist)
{
    char from[16], to[16];
    ak_buf b = {0};
    ak_jw w;
    ak_err err;
    const ak_json *root, *path;
    snprintf(from, sizeof from, "t%d:n%d", u / NAMES, u % NAMES);
    snprintf(to, sizeof to, "t%d:n%d", v / NAMES, v % NAMES);
    ak_jw_init(&w, &b);
    CHECK_OK(ak_graph_path_find(g, from, to, hops, 0, &w, &err), err);
    ak_json_doc *doc = ak_json_doc_new();
    CHECK_OK(ak_json_parse(doc, b.data, b.len, &root, &err), err);
    int want = dist[v] >= 0 && dist[v] <= hops;
    const ak_json *found = ak_json_get(root, "path_found");
    CHECK(found && found->type == (want ? AK_JSON_TRUE : AK_JSON_FALSE));
    path = ak_json_get(root, "path");
    if (want && path) {
        int k = 0, prev = -1, ok = 1;
        for (const ak_json *p = path->first; p; p = p->next, k++) {
            int n = node_of_id(p->str);
            ok &= k == 0 ? n == u : adjacent(m, prev, n);
            prev = n;
        }
        ok &= prev == v && k == dist[v] + 1;
        if (!ok)
            fprintf(stderr, "%s -> %s (distance %d, max_hops %d): %.*s\n", from, to, dist[v],
                    hops, (int)b.len, b.data);
        CHECK(ok);
    } else {
        CHECK(!want || path);
    }
    ak_json_doc_free(doc);
    ak_buf_free(&b);
}

static ak_graph *fresh(const char *name)
{
    char path[512];
    ak_graph *g;
    ak_err err;
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    remove(path);
    CHECK_OK(ak_graph_open(path, 0, &g, &err), err);
    return g;
}

static void test_paths_match_reference(void)
{
    for (int round = 0; round < 12; round++) {
        char name[32];
        model m;
        int dist[NODES];
        snprintf(name, sizeof name, "bfs%d.db", round);
        ak_graph *g = fresh(name);
        random_model(&m);
        put(g, &m);
        for (int q = 0; q < 40; q++) {
            int u = (int)rnd(NODES), v = (int)rnd(NODES);
            if (!named(&m, u) || !named(&m, v))
                continue;
            reference_bfs(&m, u, dist);
            for (int hops = 1; hops <= 5; hops++)
                check_path(g, &m, u, v, hops, dist);
        }
        ak_graph_close(g);
    }
}

/* ---- counters against a recount ---- */

/* Every counter as "kind key n" lines, from g_stat or from a recount by
 * joins through the entities (no use of the counted columns). */
#define RESOLVED                                                                    \
    "FROM g_relation r JOIN g_entity a ON a.system=r.system AND a.orig_id=r.src " \
    "JOIN g_entity b ON b.system=r.system AND b.orig_id=r.dst"
static const char recount_sql[] =
    "WITH edge AS (SELECT r.type AS type, a.node AS src, b.node AS dst " RESOLVED "),"
    " deg AS (SELECT n.id AS id, (SELECT count(*) FROM edge WHERE src=n.id) AS o,"
    "  (SELECT count(*) FROM edge WHERE dst=n.id) AS i,"
    "  (SELECT count(DISTINCT system) FROM g_entity WHERE node=n.id) AS s FROM g_node n) "
    "SELECT kind || ' ' || key || ' ' || n FROM ("
    " SELECT 'total' AS kind, 'nodes' AS key, count(*) AS n FROM g_node"
    " UNION ALL SELECT 'total', 'sources', count(*) FROM g_entity"
    " UNION ALL SELECT 'total', 'relations', count(*) FROM g_relation"
    " UNION ALL SELECT 'total', 'edges', count(*) FROM edge"
    " UNION ALL SELECT 'total', 'merged', count(*) FROM deg WHERE s > 1"
    " UNION ALL SELECT 'total', 'isolated', count(*) FROM deg WHERE o = 0 AND i = 0"
    " UNION ALL SELECT 'node_type', type, count(*) FROM g_node GROUP BY type"
    " UNION ALL SELECT 'edge_type', type, count(*) FROM edge GROUP BY type"
    " UNION ALL SELECT 'sys_entities', system, count(*) FROM g_entity GROUP BY system"
    " UNION ALL SELECT 'sys_relations', system, count(*) FROM g_relation GROUP BY system"
    " UNION ALL SELECT 'max', 'out', coalesce(max(o), 0) FROM deg"
    " UNION ALL SELECT 'max', 'in', coalesce(max(i), 0) FROM deg"
    ") WHERE n <> 0 ORDER BY 1";
static const char counters_sql[] =
    "SELECT kind || ' ' || key || ' ' || n FROM ("
    " SELECT kind, key, n FROM g_stat"
    " UNION ALL SELECT 'max', 'out', coalesce(max(out_deg), 0) FROM g_node"
    " UNION ALL SELECT 'max', 'in', coalesce(max(in_deg), 0) FROM g_node"
    ") WHERE n <> 0 ORDER BY 1";

static void lines(ak_graph *g, const char *sql, ak_buf *out)
{
    sqlite3_stmt *st;
    ak_buf_reset(out);
    CHECK_INT(sqlite3_prepare_v2(ak_graph_db(g), sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        ak_buf_printf(out, "%s\n", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    ak_buf_putc(out, '\0');
}

static void check_counters(ak_graph *g, const char *when)
{
    ak_buf want = {0}, got = {0};
    lines(g, recount_sql, &want);
    lines(g, counters_sql, &got);
    if (strcmp(want.data, got.data) != 0)
        fprintf(stderr, "%s: recount\n%scounters\n%s", when, want.data, got.data);
    CHECK_STR(got.data, want.data);
    ak_buf_free(&want);
    ak_buf_free(&got);
}

static void test_counters_match_recount(void)
{
    ak_graph *g = fresh("counts.db");
    ak_err err;
    model m;
    char when[64];
    for (int step = 0; step < 30; step++) {
        int what = (int)rnd(4);
        snprintf(when, sizeof when, "step %d (%d)", step, what);
        if (what == 3) { /* forget one system */
            char sys[16];
            snprintf(sys, sizeof sys, "s%u.local", rnd(SYSTEMS));
            CHECK_OK(ak_graph_forget_system(g, sys, 0, NULL, NULL, NULL, &err), err);
        } else {
            /* a new random model over the same ids: new items, renames
             * and retypes (an id to another node), re-pointed relations,
             * duplicates where it happens to repeat */
            random_model(&m);
            put(g, &m);
            if (what == 2)
                put(g, &m); /* all duplicates */
        }
        check_counters(g, when);
    }
    ak_graph_close(g);
}

/* Schema 0 (before the counters): made from a current file by undoing
 * schema 1, then opened read-only and read-write. */
static void test_migration(void)
{
    char path[512];
    ak_graph *g = fresh("old.db");
    ak_err err;
    model m;
    random_model(&m);
    put(g, &m);
    static const char undo[] =
        "DROP TRIGGER g_relation_ins; DROP TRIGGER g_relation_del; DROP TRIGGER g_relation_upd;"
        "DROP TRIGGER g_node_ins; DROP TRIGGER g_node_del; DROP TRIGGER g_node_upd;"
        "DROP TRIGGER g_entity_ins; DROP TRIGGER g_entity_del;"
        "DROP INDEX g_relation_srcn; DROP INDEX g_relation_dstn; DROP INDEX g_node_out;"
        "DROP INDEX g_node_in; DROP TABLE g_stat;"
        "ALTER TABLE g_node DROP COLUMN out_deg; ALTER TABLE g_node DROP COLUMN in_deg;"
        "ALTER TABLE g_node DROP COLUMN nsys; ALTER TABLE g_relation DROP COLUMN src_node;"
        "ALTER TABLE g_relation DROP COLUMN dst_node; PRAGMA user_version=0;";
    CHECK_INT(sqlite3_exec(ak_graph_db(g), undo, NULL, NULL, NULL), SQLITE_OK);
    ak_graph_close(g);
    snprintf(path, sizeof path, "%s/old.db", test_tmpdir());
    CHECK_OK(ak_graph_open(path, 1, &g, &err), err);
    check_counters(g, "migrated read-only");
    ak_graph_close(g);
    CHECK_OK(ak_graph_open(path, 0, &g, &err), err);
    random_model(&m); /* and the triggers work on the migrated file */
    put(g, &m);
    check_counters(g, "after the migration");
    ak_graph_close(g);
}

int main(void)
{
    RUN(test_paths_match_reference);
    RUN(test_counters_match_recount);
    RUN(test_migration);
    return test_report("graph_counts");
}
