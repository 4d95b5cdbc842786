/*
 * graph_query.c - see graph_query.h.
 *
 * A node's relations are found through its entities: for each (system,
 * original id) naming the node, the relations of that system whose src
 * (out) or dst (in) is that id, and the entities of the same system their
 * other end names.  Every step is an index lookup (graph.c's indexes).
 */
#include "graph/graph_query.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

#define OBSERVATIONS_SHOWN 100
#define TYPES_SHOWN 100
#define SYSTEMS_SHOWN 1000

/* Relations of node ?1, both ways, as (dir, type, other node, system);
 * ?2 NULL or a relation type.  INDEXED BY: without statistics SQLite takes
 * the primary key's (system) prefix and walks every relation of the system. */
#define EDGES_SQL                                                                            \
    "WITH me AS (SELECT system, orig_id FROM g_entity WHERE node=?1) "                       \
    "SELECT 'out' AS dir, r.type AS type, o.node AS node, r.system AS system FROM me "                                        \
    " JOIN g_relation r INDEXED BY g_relation_src ON r.system=me.system AND r.src=me.orig_id " \
    " JOIN g_entity o ON o.system=r.system AND o.orig_id=r.dst WHERE ?2 IS NULL OR r.type=?2 " \
    "UNION ALL "                                                                             \
    "SELECT 'in', r.type, o.node, r.system FROM me "                                         \
    " JOIN g_relation r INDEXED BY g_relation_dst ON r.system=me.system AND r.dst=me.orig_id " \
    " JOIN g_entity o ON o.system=r.system AND o.orig_id=r.src WHERE ?2 IS NULL OR r.type=?2"

static ak_code db_error(sqlite3 *db, ak_err *err)
{
    return ak_err_set(err, AK_ERR_IO, "graph database: %s", sqlite3_errmsg(db));
}

static ak_code prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, ak_err *err)
{
    return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK ? AK_OK : db_error(db, err);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

/* ---- naming entities ---- */

typedef struct {
    int64_t id;
    char type[AK_GRAPH_NAME_MAX + 1], name[AK_GRAPH_NAME_MAX + 1];
} gnode;

static int lookup(sqlite3_stmt *st, gnode *n)
{
    int found = 0;
    while (sqlite3_step(st) == SQLITE_ROW && ++found == 1) {
        n->id = sqlite3_column_int64(st, 0);
        snprintf(n->type, sizeof n->type, "%s", col_text(st, 1));
        snprintf(n->name, sizeof n->name, "%s", col_text(st, 2));
    }
    return found;
}

/* "type:name" (split at the first colon), else a name only one entity has. */
static ak_code resolve(sqlite3 *db, const char *id, gnode *n, ak_err *err)
{
    sqlite3_stmt *st;
    const char *colon = strchr(id, ':');
    int found = 0;
    ak_code rc;
    if (!*id)
        return ak_err_set(err, AK_ERR_INVALID, "an entity id is required (\"type:name\")");
    if (colon && prep(db, "SELECT id, type, name FROM g_node WHERE type=? AND name=?", &st,
                      err) == AK_OK) {
        sqlite3_bind_text(st, 1, id, (int)(colon - id), SQLITE_STATIC);
        sqlite3_bind_text(st, 2, colon + 1, -1, SQLITE_STATIC);
        found = lookup(st, n);
        sqlite3_finalize(st);
        if (found)
            return AK_OK;
    }
    if ((rc = prep(db, "SELECT id, type, name FROM g_node WHERE name=? LIMIT 2", &st, err)))
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    found = lookup(st, n);
    sqlite3_finalize(st);
    if (found == 1)
        return AK_OK;
    if (found > 1)
        return ak_err_set(err, AK_ERR_INVALID, "\"%.200s\" names entities of several types: "
                          "give \"type:name\"", id);
    return ak_err_set(err, AK_ERR_NOTFOUND, "no entity \"%.200s\" in the knowledge graph", id);
}

static void entity_id(ak_jw *w, const char *key, const char *type, const char *name)
{
    ak_buf b = {0};
    ak_buf_printf(&b, "%s:%s", type, name);
    ak_jw_key(w, key);
    ak_jw_strn(w, b.data ? b.data : "", b.len);
    ak_buf_free(&b);
}

/* ---- one entity in full ---- */

/* Add the strings of a JSON array to the observations shown, once each. */
static void merge_observations(ak_json_doc *doc, const char *json, const char **seen,
                               size_t *n_seen, ak_jw *w)
{
    const ak_json *a;
    if (ak_json_parse(doc, json, strlen(json), &a, NULL) || a->type != AK_JSON_ARRAY)
        return;
    for (const ak_json *o = a->first; o && *n_seen < OBSERVATIONS_SHOWN; o = o->next) {
        int dup = 0;
        for (size_t i = 0; i < *n_seen && !dup; i++)
            dup = strcmp(seen[i], o->str) == 0;
        if (dup || !(seen[*n_seen] = strdup(o->str)))
            continue;
        ++*n_seen;
        ak_jw_strn(w, o->str, o->str_len);
    }
}

static void times(ak_jw *w, sqlite3_stmt *st, int col, const char *key)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return;
    ak_jw_key(w, key);
    ak_jw_time(w, sqlite3_column_int64(st, col));
}

/* {"entity_id", "name", "entity_type", "observations", "sources": [...]} */
static ak_code entity_json(sqlite3 *db, const gnode *n, ak_jw *w, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = prep(db, "SELECT system, orig_id, observations, created_us, updated_us "
                          "FROM g_entity WHERE node=? ORDER BY system, orig_id", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, n->id);
    ak_json_doc *doc = ak_json_doc_new();
    ak_buf src = {0};
    ak_jw sw;
    const char *seen[OBSERVATIONS_SHOWN];
    size_t n_seen = 0;
    ak_jw_init(&sw, &src);
    ak_jw_arr(&sw);
    ak_jw_obj(w);
    entity_id(w, "entity_id", n->type, n->name);
    ak_jw_kstr(w, "name", n->name);
    ak_jw_kstr(w, "entity_type", n->type);
    ak_jw_key(w, "observations");
    ak_jw_arr(w);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (doc)
            merge_observations(doc, col_text(st, 2), seen, &n_seen, w);
        ak_jw_obj(&sw);
        ak_jw_kstr(&sw, "system", col_text(st, 0));
        ak_jw_kstr(&sw, "original_id", col_text(st, 1));
        times(&sw, st, 3, "created_at");
        times(&sw, st, 4, "updated_at");
        ak_jw_end(&sw);
    }
    ak_jw_end(&sw);
    ak_jw_end(w);
    ak_jw_key(w, "sources");
    ak_jw_raw(w, src.data, src.len);
    ak_jw_end(w);
    if (r != SQLITE_DONE)
        rc = db_error(db, err);
    for (size_t i = 0; i < n_seen; i++)
        free((char *)seen[i]);
    ak_buf_free(&src);
    ak_json_doc_free(doc);
    sqlite3_finalize(st);
    return rc;
}

/* ---- neighbours ---- */

ak_code ak_graph_neighbours(ak_graph *g, const char *entity, const char *rel_type, int limit,
                            ak_jw *w, ak_err *err)
{
    sqlite3 *db = ak_graph_db(g);
    sqlite3_stmt *st = NULL;
    gnode n;
    if (limit < 1 || limit > AK_GRAPH_LIMIT_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "limit: must be 1 to %d", AK_GRAPH_LIMIT_MAX);
    ak_code rc = resolve(db, entity, &n, err);
    if (rc == AK_OK)
        rc = prep(db, "SELECT e.dir, e.type, n.type, n.name, group_concat(DISTINCT e.system) "
                      "FROM (" EDGES_SQL ") AS e "
                      "JOIN g_node n ON n.id=e.node GROUP BY e.dir, e.type, e.node "
                      "ORDER BY e.dir DESC, e.type, n.type, n.name LIMIT ?3", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, n.id);
    if (rel_type)
        sqlite3_bind_text(st, 2, rel_type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit + 1);
    ak_jw_obj(w);
    entity_id(w, "entity_id", n.type, n.name);
    ak_jw_key(w, "entity");
    rc = entity_json(db, &n, w, err);
    ak_jw_key(w, "neighbors");
    ak_jw_arr(w);
    int r, k = 0;
    while (rc == AK_OK && (r = sqlite3_step(st)) == SQLITE_ROW && k < limit) {
        k++;
        ak_jw_obj(w);
        entity_id(w, "entity_id", col_text(st, 2), col_text(st, 3));
        ak_jw_kstr(w, "name", col_text(st, 3));
        ak_jw_kstr(w, "entity_type", col_text(st, 2));
        ak_jw_kstr(w, "edge_type", col_text(st, 1));
        ak_jw_kstr(w, "direction", col_text(st, 0));
        ak_jw_key(w, "systems");
        ak_jw_arr(w);
        for (const char *s = col_text(st, 4); *s;) { /* group_concat's commas: ids have none */
            size_t len = strcspn(s, ",");
            ak_jw_strn(w, s, len);
            s += len + (s[len] == ',');
        }
        ak_jw_end(w);
        ak_jw_end(w);
    }
    if (rc == AK_OK && r != SQLITE_ROW && r != SQLITE_DONE)
        rc = db_error(db, err);
    ak_jw_end(w);
    ak_jw_kint(w, "total_neighbors", k);
    ak_jw_kbool(w, "truncated", rc == AK_OK && r == SQLITE_ROW);
    ak_jw_end(w);
    sqlite3_finalize(st);
    return rc;
}

/* ---- paths ----
 *
 * Bidirectional breadth-first search: one search from each end, each step
 * expanding a whole level of the side whose frontier is smaller, until a
 * side reaches an entity the other has seen.  The first such meeting is a
 * shortest path: before the level, the two balls (radius a and b) were
 * disjoint, so the distance is at least a + b + 1, which is the length
 * through the meeting.  A side whose frontier empties has seen its whole
 * component: the ends are not connected, and the search stops there.
 * Each expansion is one index range on the relations' node columns. */

/* Neighbours of node ?1 either way, through resolved relations only. */
#define NEXT_SQL                                                                        \
    "SELECT dst_node FROM g_relation WHERE src_node=?1 AND dst_node NOT NULL UNION ALL " \
    "SELECT src_node FROM g_relation WHERE dst_node=?1 AND src_node NOT NULL"

/* The visited set of one side: node -> the node it was reached from (0:
 * the side's start), open addressing, grown by doubling. */
typedef struct {
    int64_t *key, *parent;
    size_t mask, n;
} visited;

static size_t slot(const visited *v, int64_t node)
{
    size_t i = (size_t)((uint64_t)node * 0x9E3779B97F4A7C15ull) & v->mask;
    while (v->key[i] && v->key[i] != node)
        i = (i + 1) & v->mask;
    return i;
}

static int visited_has(const visited *v, int64_t node) { return v->key[slot(v, node)] != 0; }
static int64_t parent_of(const visited *v, int64_t node) { return v->parent[slot(v, node)]; }

static int visited_grow(visited *v)
{
    size_t size = v->key ? (v->mask + 1) * 2 : 64;
    visited old = *v;
    v->key = calloc(size, sizeof *v->key);
    v->parent = calloc(size, sizeof *v->parent);
    if (!v->key || !v->parent) {
        free(v->key);
        free(v->parent);
        *v = old;
        return 0;
    }
    v->mask = size - 1;
    for (size_t i = 0; old.key && i <= old.mask; i++)
        if (old.key[i]) {
            size_t j = slot(v, old.key[i]);
            v->key[j] = old.key[i];
            v->parent[j] = old.parent[i];
        }
    free(old.key);
    free(old.parent);
    return 1;
}

/* 0 when node was not there and is now; 1 when already there; -1 no memory. */
static int visited_add(visited *v, int64_t node, int64_t parent)
{
    if ((!v->key || (v->n + 1) * 2 > v->mask + 1) && !visited_grow(v))
        return -1;
    size_t i = slot(v, node);
    if (v->key[i])
        return 1;
    v->key[i] = node;
    v->parent[i] = parent;
    v->n++;
    return 0;
}

typedef struct {
    visited seen;
    int64_t *front; /* the last level reached */
    size_t n_front, cap_front;
} side;

static int front_push(side *s, int64_t node)
{
    if (s->n_front == s->cap_front) {
        size_t cap = s->cap_front ? s->cap_front * 2 : 64;
        int64_t *p = realloc(s->front, cap * sizeof *p);
        if (!p)
            return 0;
        s->front = p;
        s->cap_front = cap;
    }
    s->front[s->n_front++] = node;
    return 1;
}

static void side_free(side *s)
{
    free(s->seen.key);
    free(s->seen.parent);
    free(s->front);
}

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *next;
    side end[2];       /* [0] from the source, [1] from the target */
    size_t cap;        /* entities both sides may visit together */
    int64_t meet;      /* an entity both sides reached; 0: none yet */
} bfs;

static ak_code cap_error(const bfs *b, ak_err *err)
{
    return ak_err_set(err, AK_ERR_INVALID,
                      "the search visited %zu entities without deciding (the limit, to bound "
                      "memory): ask with fewer max_hops", b->cap);
}

/* Node u of side x: its unseen neighbours join x's next level (nx). */
static ak_code expand_node(bfs *b, int x, int64_t u, side *nx, ak_err *err)
{
    side *me = &b->end[x];
    const visited *other = &b->end[!x].seen;
    int r;
    sqlite3_reset(b->next);
    sqlite3_bind_int64(b->next, 1, u);
    while (!b->meet && (r = sqlite3_step(b->next)) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(b->next, 0);
        if (b->end[0].seen.n + b->end[1].seen.n >= b->cap && !visited_has(&me->seen, v))
            return cap_error(b, err);
        int had = visited_add(&me->seen, v, u);
        if (had < 0 || (!had && !front_push(nx, v)))
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        if (!had && visited_has(other, v))
            b->meet = v;
    }
    return b->meet || r == SQLITE_DONE ? AK_OK : db_error(b->db, err);
}

/* One level of the side with the smaller frontier. */
static ak_code expand_level(bfs *b, ak_err *err)
{
    int x = b->end[0].n_front <= b->end[1].n_front ? 0 : 1;
    side nx = {0};
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && !b->meet && i < b->end[x].n_front; i++)
        rc = expand_node(b, x, b->end[x].front[i], &nx, err);
    free(b->end[x].front);
    b->end[x].front = nx.front;
    b->end[x].n_front = nx.n_front;
    b->end[x].cap_front = nx.cap_front;
    return rc;
}

static ak_code search(bfs *b, int64_t src, int64_t dst, int max_hops, ak_err *err)
{
    if (visited_add(&b->end[0].seen, src, 0) < 0 || visited_add(&b->end[1].seen, dst, 0) < 0 ||
        !front_push(&b->end[0], src) || !front_push(&b->end[1], dst))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (src == dst)
        b->meet = src;
    ak_code rc = AK_OK;
    for (int hops = 0; rc == AK_OK && !b->meet && hops < max_hops && b->end[0].n_front &&
                       b->end[1].n_front; hops++)
        rc = expand_level(b, err);
    return rc;
}

/* The path's nodes, source first, into ids; *k their number. */
static void path_ids(const bfs *b, int64_t *ids, int *k)
{
    int n = 0;
    for (int64_t at = b->meet; at && n <= AK_GRAPH_HOPS_MAX; at = parent_of(&b->end[0].seen, at))
        ids[n++] = at;
    for (int i = 0; i < n / 2; i++) {
        int64_t t = ids[i];
        ids[i] = ids[n - 1 - i];
        ids[n - 1 - i] = t;
    }
    for (int64_t at = parent_of(&b->end[1].seen, b->meet); at && n <= AK_GRAPH_HOPS_MAX;
         at = parent_of(&b->end[1].seen, at))
        ids[n++] = at;
    *k = n;
}

static ak_code node_by_id(sqlite3 *db, int64_t id, gnode *n, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = prep(db, "SELECT id, type, name FROM g_node WHERE id=?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int found = lookup(st, n);
    sqlite3_finalize(st);
    return found ? AK_OK : ak_err_set(err, AK_ERR_IO, "graph changed during the search");
}

/* One relation joining a and b, as a path edge. */
static ak_code edge_json(sqlite3 *db, const gnode *a, const gnode *z, ak_jw *w, ak_err *err)
{
    sqlite3_stmt *st;
    /* through the node columns: EDGES_SQL filtered by the far end would
     * let SQLite drive from that end against a forced index, a scan */
    ak_code rc = prep(db, "SELECT 'out' AS dir, type, system FROM g_relation"
                          " WHERE src_node=?1 AND dst_node=?2 UNION ALL"
                          " SELECT 'in', type, system FROM g_relation"
                          " WHERE dst_node=?1 AND src_node=?2"
                          " ORDER BY dir DESC, type, system LIMIT 1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_int64(st, 2, z->id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return ak_err_set(err, AK_ERR_IO, "graph changed during the search");
    }
    ak_jw_obj(w);
    entity_id(w, "from", a->type, a->name);
    entity_id(w, "to", z->type, z->name);
    ak_jw_kstr(w, "edge_type", col_text(st, 1));
    ak_jw_kstr(w, "direction", col_text(st, 0));
    ak_jw_kstr(w, "system", col_text(st, 2));
    ak_jw_end(w);
    sqlite3_finalize(st);
    return AK_OK;
}

/* "path" and "edges" through the meeting entity. */
static ak_code path_json(bfs *b, ak_jw *w, ak_err *err)
{
    int64_t ids[2 * (AK_GRAPH_HOPS_MAX + 1)];
    gnode *nodes = calloc(2 * (AK_GRAPH_HOPS_MAX + 1), sizeof *nodes);
    int k = 0;
    ak_code rc = nodes ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK)
        path_ids(b, ids, &k);
    for (int i = 0; rc == AK_OK && i < k; i++)
        rc = node_by_id(b->db, ids[i], &nodes[i], err);
    if (rc == AK_OK) {
        ak_jw_key(w, "path");
        ak_jw_arr(w);
        for (int i = 0; i < k; i++) {
            ak_buf id = {0};
            ak_buf_printf(&id, "%s:%s", nodes[i].type, nodes[i].name);
            ak_jw_strn(w, id.data ? id.data : "", id.len);
            ak_buf_free(&id);
        }
        ak_jw_end(w);
        ak_jw_kint(w, "hops", k - 1);
        ak_jw_key(w, "edges");
        ak_jw_arr(w);
        for (int i = 0; rc == AK_OK && i + 1 < k; i++)
            rc = edge_json(b->db, &nodes[i], &nodes[i + 1], w, err);
        ak_jw_end(w);
    }
    free(nodes);
    return rc;
}

ak_code ak_graph_path_find(ak_graph *g, const char *from, const char *to, int max_hops,
                           int64_t max_visited, ak_jw *w, ak_err *err)
{
    bfs b = {.db = ak_graph_db(g)};
    gnode src, dst;
    b.cap = max_visited > 0 ? (size_t)max_visited : AK_GRAPH_VISIT_MAX;
    if (max_hops < 1 || max_hops > AK_GRAPH_HOPS_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "max_hops: must be 1 to %d", AK_GRAPH_HOPS_MAX);
    ak_code rc = resolve(b.db, from, &src, err);
    if (rc == AK_OK)
        rc = resolve(b.db, to, &dst, err);
    if (rc == AK_OK)
        rc = prep(b.db, NEXT_SQL, &b.next, err);
    if (rc == AK_OK)
        rc = search(&b, src.id, dst.id, max_hops, err);
    if (rc == AK_OK) {
        ak_jw_obj(w);
        entity_id(w, "source_id", src.type, src.name);
        entity_id(w, "target_id", dst.type, dst.name);
        ak_jw_kbool(w, "path_found", b.meet != 0);
        ak_jw_kint(w, "max_hops", max_hops);
        ak_jw_kint(w, "visited", (int64_t)(b.end[0].seen.n + b.end[1].seen.n));
        if (b.meet)
            rc = path_json(&b, w, err);
        ak_jw_end(w);
    }
    sqlite3_finalize(b.next);
    side_free(&b.end[0]);
    side_free(&b.end[1]);
    return rc;
}

/* ---- finding entities ---- */

ak_code ak_graph_find(ak_graph *g, const char *prefix, const char *type, int limit, ak_jw *w,
                      ak_err *err)
{
    sqlite3 *db = ak_graph_db(g);
    sqlite3_stmt *st;
    if (limit < 1 || limit > AK_GRAPH_LIMIT_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "limit: must be 1 to %d", AK_GRAPH_LIMIT_MAX);
    /* name >= prefix AND name < prefix + U+10FFFF's last byte: an index range */
    ak_code rc = prep(db, "SELECT id, type, name, (SELECT count(*) FROM g_entity WHERE node=n.id) "
                          "FROM g_node n WHERE name >= ?1 AND name < ?1 || x'f48fbfbf' "
                          "AND (?2 IS NULL OR type=?2) ORDER BY name, type LIMIT ?3", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, prefix ? prefix : "", -1, SQLITE_STATIC);
    if (type)
        sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit + 1);
    ak_jw_obj(w);
    ak_jw_kstr(w, "prefix", prefix ? prefix : "");
    ak_jw_key(w, "entity_type");
    if (type)
        ak_jw_str(w, type);
    else
        ak_jw_null(w);
    ak_jw_key(w, "entities");
    ak_jw_arr(w);
    int r, k = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && k < limit) {
        k++;
        ak_jw_obj(w);
        entity_id(w, "entity_id", col_text(st, 1), col_text(st, 2));
        ak_jw_kstr(w, "name", col_text(st, 2));
        ak_jw_kstr(w, "entity_type", col_text(st, 1));
        ak_jw_kint(w, "systems", sqlite3_column_int64(st, 3));
        ak_jw_end(w);
    }
    ak_jw_end(w);
    ak_jw_kint(w, "total", k);
    ak_jw_kbool(w, "truncated", r == SQLITE_ROW);
    ak_jw_end(w);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = db_error(db, err);
    sqlite3_finalize(st);
    return rc;
}

/* ---- statistics ---- */

static ak_code scalar(sqlite3 *db, const char *sql, int64_t *out, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = prep(db, sql, &st, err);
    if (rc)
        return rc;
    int r = sqlite3_step(st);
    *out = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = db_error(db, err);
    sqlite3_finalize(st);
    return rc;
}

/* {"<name>": count, ...} from (name, count) rows, at most max of them. */
static ak_code count_map(sqlite3 *db, const char *key, const char *sql, int max, ak_jw *w,
                         ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = prep(db, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, max);
    ak_jw_key(w, key);
    ak_jw_obj(w);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        ak_jw_kint(w, col_text(st, 0), sqlite3_column_int64(st, 1));
    ak_jw_end(w);
    if (r != SQLITE_DONE)
        rc = db_error(db, err);
    sqlite3_finalize(st);
    return rc;
}

static ak_code systems_json(sqlite3 *db, ak_jw *w, ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = prep(db, "SELECT key, sum(CASE kind WHEN 'sys_entities' THEN n ELSE 0 END),"
                          " sum(CASE kind WHEN 'sys_relations' THEN n ELSE 0 END) FROM g_stat"
                          " WHERE kind IN ('sys_entities', 'sys_relations') GROUP BY key"
                          " HAVING sum(n) > 0 ORDER BY key LIMIT ?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, SYSTEMS_SHOWN);
    ak_jw_key(w, "systems");
    ak_jw_arr(w);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        ak_jw_obj(w);
        ak_jw_kstr(w, "system", col_text(st, 0));
        ak_jw_kint(w, "entities", sqlite3_column_int64(st, 1));
        ak_jw_kint(w, "relations", sqlite3_column_int64(st, 2));
        ak_jw_end(w);
    }
    ak_jw_end(w);
    if (r != SQLITE_DONE)
        rc = db_error(db, err);
    sqlite3_finalize(st);
    return rc;
}

/* The counters graph.c's triggers keep: every statistic is an index read. */
#define TOTAL(key) "SELECT n FROM g_stat WHERE kind='total' AND key='" key "'"
#define BY_COUNT(kind) "SELECT key, n FROM g_stat WHERE kind='" kind "' AND n > 0 " \
                       "ORDER BY n DESC, key LIMIT ?"

static ak_code degrees(sqlite3 *db, int64_t nodes, int64_t edges, ak_jw *w, ak_err *err)
{
    int64_t max_out = 0, max_in = 0, isolated = 0;
    ak_code rc = scalar(db, "SELECT max(out_deg) FROM g_node", &max_out, err);
    if (rc == AK_OK)
        rc = scalar(db, "SELECT max(in_deg) FROM g_node", &max_in, err);
    if (rc == AK_OK)
        rc = scalar(db, TOTAL("isolated"), &isolated, err);
    if (rc)
        return rc;
    ak_jw_key(w, "degree");
    ak_jw_obj(w);
    ak_jw_kdouble(w, "mean", nodes ? 2.0 * (double)edges / (double)nodes : 0.0);
    ak_jw_kint(w, "max_out", max_out);
    ak_jw_kint(w, "max_in", max_in);
    ak_jw_kint(w, "isolated_entities", isolated);
    ak_jw_end(w);
    return AK_OK;
}

ak_code ak_graph_stats(ak_graph *g, ak_jw *w, ak_err *err)
{
    sqlite3 *db = ak_graph_db(g);
    int64_t nodes = 0, sources = 0, rels = 0, edges = 0, merged = 0;
    ak_code rc = scalar(db, TOTAL("nodes"), &nodes, err);
    if (rc == AK_OK)
        rc = scalar(db, TOTAL("sources"), &sources, err);
    if (rc == AK_OK)
        rc = scalar(db, TOTAL("relations"), &rels, err);
    if (rc == AK_OK)
        rc = scalar(db, TOTAL("edges"), &edges, err);
    if (rc == AK_OK)
        rc = scalar(db, TOTAL("merged"), &merged, err);
    if (rc)
        return rc;
    ak_jw_obj(w);
    ak_jw_kint(w, "total_entities", nodes);
    ak_jw_kint(w, "total_edges", edges);
    ak_jw_kint(w, "entity_sources", sources);
    ak_jw_kint(w, "merged_entities", merged);
    ak_jw_kint(w, "relations_stored", rels);
    ak_jw_kint(w, "dangling_relations", rels - edges);
    rc = count_map(db, "entity_types", BY_COUNT("node_type"), TYPES_SHOWN, w, err);
    if (rc == AK_OK)
        rc = count_map(db, "edge_types", BY_COUNT("edge_type"), TYPES_SHOWN, w, err);
    if (rc == AK_OK)
        rc = systems_json(db, w, err);
    if (rc == AK_OK)
        rc = degrees(db, nodes, edges, w, err);
    ak_jw_end(w);
    return rc;
}

ak_code ak_graph_size_get(ak_graph *g, ak_graph_size *s, ak_err *err)
{
    sqlite3 *db = ak_graph_db(g);
    ak_code rc = scalar(db, TOTAL("nodes"), &s->entities, err);
    if (rc == AK_OK)
        rc = scalar(db, TOTAL("sources"), &s->sources, err);
    if (rc == AK_OK)
        rc = scalar(db, TOTAL("relations"), &s->relations, err);
    if (rc == AK_OK)
        rc = scalar(db, "SELECT count(*) FROM g_stat WHERE kind='sys_entities' AND n > 0",
                    &s->systems, err);
    return rc;
}
