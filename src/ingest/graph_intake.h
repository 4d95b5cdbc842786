/*
 * graph_intake.h - knowledge-graph items into the graph, from the two
 * forms uploads carry them in: graph.jsonl lines (pushed batches) and
 * Session-Buddy's knowledge_graph.duckdb.
 *
 * knowledge_graph.duckdb (session_buddy/adapters/knowledge_graph_adapter*):
 *   kg_entities(id, name, entity_type, observations VARCHAR[],
 *               properties JSON, created_at, updated_at, metadata, embedding)
 *   kg_relationships(id, from_entity, to_entity, relation_type,
 *                    properties JSON, created_at, updated_at, metadata)
 * read through DuckDB's library (ingest/duckdb.h), entities first so a
 * relation naming an entity finds it.  Each row is turned into the line
 * form by DuckDB itself (json_object over the columns the file has:
 * updated_at and the rest were added later upstream, so they may be
 * missing) and judged by ak_graph_item_parse like a pushed item.  A row
 * that breaks the rules is counted rejected, not fatal.  Other tables
 * are ignored; a file with neither table is AK_ERR_INVALID.
 *
 * The caller holds the graph's transaction.
 */
#ifndef AK_GRAPH_INTAKE_H
#define AK_GRAPH_INTAKE_H

#include "graph/graph.h"
#include "util/json.h"

/* One line of system's graph payload: parsed, stored, counted.  A line
 * that breaks the rules is counted rejected (where names it in the
 * tally's example) and AK_OK; only storage failures are errors. */
ak_code ak_graph_apply_line(ak_graph *g, ak_json_doc *doc, const char *text, size_t len,
                            const char *system, const char *where, ak_graph_tally *t,
                            ak_err *err);

/* Every entity and relation of the DuckDB file at path. */
ak_code ak_graph_read_duckdb(const char *path, ak_graph *g, const char *system,
                             ak_graph_tally *t, ak_err *err);

#endif
