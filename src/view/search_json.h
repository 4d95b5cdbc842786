/*
 * search_json.h - the search's face to its callers: a query read from a
 * JSON body (the HTTP API and the MCP tools) or a tier list (the CLI), and
 * results written as JSON (SPEC section 7).  The engine (query/search.h)
 * neither parses requests nor writes JSON.
 *
 * Ownership: strings a parsed query holds point into the JSON tree (keep
 * it alive); the results' JSON is appended to the caller's ak_buf.
 */
#ifndef AK_SEARCH_JSON_H
#define AK_SEARCH_JSON_H

#include "query/search.h"
#include "util/buf.h"
#include "util/json.h"

/* Read a JSON list of AK_DIM numbers into out ("vector: has 12 numbers,
 * expected 384", "vector[3]: not a number").  v may be NULL (missing). */
ak_code ak_query_vector_json(const ak_json *v, float *out, ak_err *err);

/* A query from a JSON object (the HTTP API's body): vector, text,
 * query (words), system_id, limit, threshold, tiers (list or "hot,warm,cold"), since, until
 * (ISO-8601), timeout_ms, exact (true: no ANN index, scan every vector).
 * Unknown or mistyped fields are AK_ERR_INVALID
 * naming the field.  Strings in q point into body: keep the tree alive.
 * Call ak_query_check() after. */
ak_code ak_query_from_json(const ak_json *body, ak_query *q, ak_err *err);

/* "hot,warm,cold" or any non-empty subset into AK_TIER_MASK bits; -1 for
 * an empty list or an unknown name. */
int ak_query_tiers_parse(const char *list, int *tiers);

/* The SPEC section 7 JSON object, with "mode" (and "embedding_error"
 * when words fell back to text). */
void ak_results_json(const ak_results *r, ak_buf *out);
/* The same with each result's text replaced by a "snippet" of about
 * snippet_chars bytes around the first of the words it contains (the start
 * when none): what an assistant needs, at a fraction of the size. */
void ak_results_json_snippets(const ak_results *r, const char *words, size_t snippet_chars,
                              ak_buf *out);

#endif
