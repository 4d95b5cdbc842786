/*
 * graph_query.h - questions to the knowledge graph (graph.h), answered as
 * JSON in the Python Akosha's shapes (docs/API.md, "Knowledge graph").
 *
 * Entities are named "<entity_type>:<name>" (the Python Akosha's ids,
 * e.g. "project:akosha"); a bare name is accepted when exactly one entity
 * has it.  Relations are read in both directions: a neighbour says
 * whether the relation points out of the entity or into it, and a path
 * may follow a relation either way.
 *
 * Memory is bounded whatever the graph's size: every answer streams from
 * SQLite through its indexes; a path search keeps a visited set of at most
 * max_visited entities (AK_GRAPH_VISIT_MAX by default) and fails with a
 * clear error past it rather than grow.
 *
 * Each function writes one complete JSON object with w, or nothing and an
 * error: AK_ERR_NOTFOUND (no such entity), AK_ERR_INVALID (bad argument,
 * an ambiguous name, the visited cap), AK_ERR_IO (the database).
 */
#ifndef AK_GRAPH_QUERY_H
#define AK_GRAPH_QUERY_H

#include "graph/graph.h"
#include "util/jsonw.h"

#define AK_GRAPH_LIMIT_MAX 1000
#define AK_GRAPH_HOPS_MAX 10
#define AK_GRAPH_VISIT_MAX 200000

/* The entity and its neighbours, grouped by (direction, relation type,
 * neighbour), each with the systems that assert the relation.  rel_type
 * NULL: every type.  At most limit (1..AK_GRAPH_LIMIT_MAX). */
ak_code ak_graph_neighbours(ak_graph *g, const char *entity, const char *rel_type, int limit,
                            ak_jw *w, ak_err *err);

/* A shortest path from -> to of at most max_hops (1..AK_GRAPH_HOPS_MAX)
 * relations, by breadth-first search; path_found false when there is none
 * within max_hops.  max_visited 0 = AK_GRAPH_VISIT_MAX. */
ak_code ak_graph_path_find(ak_graph *g, const char *from, const char *to, int max_hops,
                           int64_t max_visited, ak_jw *w, ak_err *err);

/* Entities whose name starts with prefix ("" = any), of type (NULL = any),
 * by name; at most limit. */
ak_code ak_graph_find(ak_graph *g, const char *prefix, const char *type, int limit, ak_jw *w,
                      ak_err *err);

/* Totals, by entity type, by relation type, by system, degrees. */
ak_code ak_graph_stats(ak_graph *g, ak_jw *w, ak_err *err);

typedef struct {
    int64_t entities;   /* nodes */
    int64_t sources;    /* (system, original id) entity rows */
    int64_t relations;  /* relation rows */
    int64_t systems;
} ak_graph_size;

/* The cheap counts, for metrics. */
ak_code ak_graph_size_get(ak_graph *g, ak_graph_size *s, ak_err *err);

#endif
