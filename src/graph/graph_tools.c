/*
 * graph_tools.c - see graph_tools.h.
 */
#include "graph/graph_tools.h"

#include <string.h>

#include "graph/graph_query.h"
#include "util/buf.h"

#define DEFAULT_LIMIT 50
#define DEFAULT_HOPS 3

static const char neighbours_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"entity_id\":{\"type\":\"string\",\"description\":\"\\\"<entity_type>:<name>\\\", e.g. "
    "\\\"project:akosha\\\"; a bare name when only one entity has it\"},"
    "\"edge_type\":{\"type\":\"string\",\"description\":\"only relations of this type\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"default\":50}},"
    "\"required\":[\"entity_id\"]}";
static const char path_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"source_id\":{\"type\":\"string\",\"description\":\"\\\"<entity_type>:<name>\\\"\"},"
    "\"target_id\":{\"type\":\"string\",\"description\":\"\\\"<entity_type>:<name>\\\"\"},"
    "\"max_hops\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10,\"default\":3}},"
    "\"required\":[\"source_id\",\"target_id\"]}";
static const char stats_schema[] = "{\"type\":\"object\",\"properties\":{}}";
static const char find_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"prefix\":{\"type\":\"string\",\"description\":\"names starting with this (case "
    "matters); empty: any\"},"
    "\"entity_type\":{\"type\":\"string\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"default\":50}}}";

static const ak_graph_tool_info tools[AK_GRAPH_TOOLS] = {
    {"query_knowledge_graph", "Query the knowledge graph",
     "An entity of the cross-system knowledge graph (the entities and relations every "
     "Session-Buddy system sent, one node per type and name across systems) with its merged "
     "observations, the systems that sent it, and its neighbours: each with the relation "
     "type, its direction and the systems asserting it.", neighbours_schema},
    {"find_path", "Find a path between entities",
     "A shortest chain of relations (followed either way) between two entities, at most "
     "max_hops long, across systems: the entities on it and each relation's type, direction "
     "and system.", path_schema},
    {"get_graph_statistics", "Knowledge graph statistics",
     "Entities and edges in total, by type and by system; entities merged across systems; "
     "relations whose ends are not known yet; degrees.", stats_schema},
    {"find_entities", "Find entities",
     "Entities whose name starts with a prefix, optionally of one type, by name, with how "
     "many systems sent each.", find_schema},
};

const ak_graph_tool_info *ak_graph_tool_at(int i) { return &tools[i]; }

static ak_code check_known(const ak_json *args, const char *const *known, ak_err *err)
{
    if (args && args->type != AK_JSON_OBJECT)
        return ak_err_set(err, AK_ERR_INVALID, "arguments must be an object");
    for (const ak_json *a = args ? args->first : NULL; a; a = a->next) {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, a->key) == 0;
        if (!ok)
            return ak_err_set(err, AK_ERR_INVALID, "unknown argument \"%.64s\"", a->key);
    }
    return AK_OK;
}

static ak_code str_arg(const ak_json *args, const char *name, int required, const char **out,
                       ak_err *err)
{
    const ak_json *v = args ? ak_json_get(args, name) : NULL;
    *out = NULL;
    if (!v || v->type == AK_JSON_NULL)
        return required ? ak_err_set(err, AK_ERR_INVALID, "%s: required", name) : AK_OK;
    if (v->type != AK_JSON_STRING || strlen(v->str) != v->str_len)
        return ak_err_set(err, AK_ERR_INVALID, "%s: must be a string", name);
    *out = v->str;
    return AK_OK;
}

static ak_code int_arg(const ak_json *args, const char *name, int lo, int hi, int *out,
                       ak_err *err)
{
    const ak_json *v = args ? ak_json_get(args, name) : NULL;
    int64_t n;
    if (!v || v->type == AK_JSON_NULL)
        return AK_OK;
    if (!ak_json_int64(v, &n) || n < lo || n > hi)
        return ak_err_set(err, AK_ERR_INVALID, "%s: must be an integer from %d to %d", name, lo,
                          hi);
    *out = (int)n;
    return AK_OK;
}

/* A missing graph file is an empty graph, answered from memory. */
static ak_code open_graph(const char *path, ak_graph **g, ak_err *err)
{
    ak_code rc = path ? ak_graph_open(path, 1, g, err) : AK_ERR_NOTFOUND;
    return rc == AK_ERR_NOTFOUND ? ak_graph_open(":memory:", 0, g, err) : rc;
}

static ak_code run(ak_graph *g, int tool, const ak_json *args, ak_jw *w, ak_err *err)
{
    static const char *const known[AK_GRAPH_TOOLS][4] = {
        {"entity_id", "edge_type", "limit", NULL},
        {"source_id", "target_id", "max_hops", NULL},
        {NULL},
        {"prefix", "entity_type", "limit", NULL},
    };
    const char *a = NULL, *b = NULL;
    int n = tool == 1 ? DEFAULT_HOPS : DEFAULT_LIMIT;
    ak_code rc = check_known(args, known[tool], err);
    if (rc)
        return rc;
    switch (tool) {
    case 0:
        if (!(rc = str_arg(args, "entity_id", 1, &a, err)) &&
            !(rc = str_arg(args, "edge_type", 0, &b, err)) &&
            !(rc = int_arg(args, "limit", 1, AK_GRAPH_LIMIT_MAX, &n, err)))
            rc = ak_graph_neighbours(g, a, b, n, w, err);
        return rc;
    case 1:
        if (!(rc = str_arg(args, "source_id", 1, &a, err)) &&
            !(rc = str_arg(args, "target_id", 1, &b, err)) &&
            !(rc = int_arg(args, "max_hops", 1, AK_GRAPH_HOPS_MAX, &n, err)))
            rc = ak_graph_path_find(g, a, b, n, 0, w, err);
        return rc;
    case 2:
        return ak_graph_stats(g, w, err);
    default:
        if (!(rc = str_arg(args, "prefix", 0, &a, err)) &&
            !(rc = str_arg(args, "entity_type", 0, &b, err)) &&
            !(rc = int_arg(args, "limit", 1, AK_GRAPH_LIMIT_MAX, &n, err)))
            rc = ak_graph_find(g, a, b, n, w, err);
        return rc;
    }
}

ak_code ak_graph_tool_run(const char *graph_path, const char *name, const ak_json *args,
                          ak_jw *w, ak_err *err)
{
    int tool = -1;
    for (int i = 0; i < AK_GRAPH_TOOLS && tool < 0; i++)
        if (strcmp(tools[i].name, name) == 0)
            tool = i;
    if (tool < 0)
        return ak_err_set(err, AK_ERR_NOTFOUND, "no graph tool \"%.64s\"", name);
    ak_graph *g = NULL;
    ak_code rc = open_graph(graph_path, &g, err);
    if (rc == AK_OK)
        rc = run(g, tool, args, w, err);
    ak_graph_close(g);
    return rc;
}

void ak_graph_metrics(const char *graph_path, ak_buf *out)
{
    ak_graph *g = NULL;
    ak_graph_size z;
    if (!graph_path || ak_graph_open(graph_path, 1, &g, NULL) ||
        ak_graph_size_get(g, &z, NULL)) {
        ak_graph_close(g);
        return;
    }
    ak_graph_close(g);
    static const char *const help[][2] = {
        {"akosha_graph_entities", "Knowledge-graph entities (one per type and name, across systems)."},
        {"akosha_graph_entity_sources", "Knowledge-graph entity rows: one per (system, original id)."},
        {"akosha_graph_relations", "Knowledge-graph relations stored (one per system and original id)."},
        {"akosha_graph_systems", "Systems that contributed knowledge-graph entities."},
    };
    int64_t v[] = {z.entities, z.sources, z.relations, z.systems};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        ak_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", help[i][0], help[i][1],
                      help[i][0], help[i][0], (long long)v[i]);
}
