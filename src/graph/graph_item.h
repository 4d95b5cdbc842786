/*
 * graph_item.h - one knowledge-graph item as text: the one set of rules
 * every entity and relation passes, whatever brought it.
 *
 * The line form (graph.jsonl in pushed batches, and what
 * graph_duckdb.c makes of each knowledge_graph.duckdb row):
 *
 *   {"kind": "entity", "id", "name", "entity_type", "observations": [str],
 *    "properties": {...}, "created_at", "updated_at"}
 *   {"kind": "relation", "id", "from_entity", "to_entity", "relation_type",
 *    "properties": {...}, "created_at", "updated_at"}
 *
 * id, name, entity_type, from_entity, to_entity and relation_type are
 * required non-empty strings (ids at most AK_GRAPH_ID_MAX bytes, names and
 * types AK_GRAPH_NAME_MAX); observations an array of strings or null;
 * properties an object or null (each at most AK_GRAPH_TEXT_MAX bytes),
 * kept in canonical form (compact; empty = null) so the same content is
 * the same text whichever way it came; timestamps ISO-8601 strings or
 * null.  Other members are ignored.  The
 * system is not in the line: it is the upload's.
 *
 * Ownership: an item points into the parse document and owns copies of
 * its JSON members; free it with ak_graph_item_free() before the document
 * is reused.
 */
#ifndef AK_GRAPH_ITEM_H
#define AK_GRAPH_ITEM_H

#include "graph/graph.h"
#include "util/buf.h"
#include "util/json.h"

#define AK_GRAPH_PAYLOAD "graph.jsonl"

typedef struct {
    int relation; /* 0: e is set; 1: r is set */
    ak_graph_entity e;
    ak_graph_relation r;
    char *obs, *props; /* owned */
} ak_graph_item;

/* Parse one line of system's graph payload.  AK_ERR_INVALID with why. */
ak_code ak_graph_item_parse(ak_json_doc *doc, const char *text, size_t len, const char *system,
                            ak_graph_item *it, ak_err *err);
void ak_graph_item_free(ak_graph_item *it);

/* Session-Buddy's create_entity / create_relation arguments as a line:
 * id = properties.original_id (else, for an entity, "<type>:<name>"; for a
 * relation "<from>|<type>|<to>"), created_at = properties.created_at,
 * updated_at = properties.updated_at; the system (properties.source_system,
 * else metadata.source; validated) into sid (AK_SYSTEM_ID_MAX + 1 bytes);
 * properties without those four members, which the line has elsewhere,
 * nor ingestion_method (how it came, not what it is).
 * Returns 0 with why when no valid system is named; the line is then
 * judged by ak_graph_item_parse(). */
int ak_graph_push_line(const ak_json *args, int relation, ak_buf *line, char *sid, char *why,
                       size_t n);

#endif
