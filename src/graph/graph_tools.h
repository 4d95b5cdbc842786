/*
 * graph_tools.h - the knowledge-graph questions as named tools with JSON
 * arguments: one argument check for the MCP tools (mcp/mcp.c) and the
 * HTTP endpoints (server/api.c, POST /v1/graph/...).
 *
 *   query_knowledge_graph {entity_id, edge_type?, limit? = 50}
 *   find_path             {source_id, target_id, max_hops? = 3}
 *   get_graph_statistics  {}
 *   find_entities         {prefix? = "", entity_type?, limit? = 50}
 *
 * The first three are the Python Akosha's names and parameters; the
 * fourth is ours (entities by name prefix and type).  Unknown arguments
 * are refused, naming them.
 */
#ifndef AK_GRAPH_TOOLS_H
#define AK_GRAPH_TOOLS_H

#include "util/json.h"
#include "util/jsonw.h"

#define AK_GRAPH_TOOLS 4

typedef struct {
    const char *name, *title, *description, *input_schema;
} ak_graph_tool_info;

/* The i-th tool (0 <= i < AK_GRAPH_TOOLS). */
const ak_graph_tool_info *ak_graph_tool_at(int i);

/* Run tool name with args (an object, or NULL) on the graph database at
 * graph_path (a missing one is an empty graph), writing its answer with w.
 * Errors: AK_ERR_INVALID (an argument; the message names it),
 * AK_ERR_NOTFOUND (no such entity, or no such tool), AK_ERR_IO. */
ak_code ak_graph_tool_run(const char *graph_path, const char *name, const ak_json *args,
                          ak_jw *w, ak_err *err);

/* Prometheus gauges of the graph's size (akosha_graph_*), appended to
 * out; nothing when there is no graph yet. */
void ak_graph_metrics(const char *graph_path, ak_buf *out);

#endif
