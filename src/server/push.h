/*
 * push.h - Session-Buddy's HTTP push: its /mcp/v1 tools (issue 18).
 *
 * Session-Buddy (HttpSyncMethod in session_buddy/storage/akosha_sync.py)
 * is given a base URL and calls
 *
 *     GET  {base}/status      availability probe (any status < 500)
 *     POST {base}/mcp/v1      one bare JSON-RPC 2.0 tools/call, no
 *                             initialize, no session, no auth header
 *
 * so with its default base http://host:8682/mcp the paths are /mcp/status
 * and /mcp/mcp/v1, with a bare host /status and /mcp/v1; with tokens the
 * base is http://host:8682/t/<token>/mcp (http.c strips and checks it).
 * It reads the JSON-RPC `result` itself as the tool's answer, so the
 * fields it checks sit at the top of `result`, with the MCP `content` and
 * `structuredContent` beside them.
 *
 *   batch_store_memories {memories: [...]}   up to 1,000
 *       -> {status: completed|partial, stored, errors: [{index, id, error}]}
 *   store_memory {memory_id, text, embedding, metadata}  (or {memory: {...}})
 *       -> {status: stored|rejected, stored, errors}
 *   store_reflection {reflection_id, content, embedding, metadata}
 *       -> {status: stored|rejected, stored, errors}
 *   create_entity {name, entity_type, observations, properties, metadata}
 *   create_relation {from_entity, to_entity, relation_type, properties, ...}
 *       -> {status: stored, id, system, note, upload_id}: one item, a batch
 *       of its own (graph.jsonl, graph/graph_item.h) through the outbox
 *       like memories; rejected items answer {status: rejected, error}
 *       without an id, which Session-Buddy counts as an error.
 *
 * A memory becomes a record of the upload contract (SPEC section 3):
 * id = memory_id, content = text, embedding, timestamp = metadata.created_at,
 * metadata as given; its system is metadata.source.  The record rules are
 * the uploads' own (ak_record_parse); the accepted records of each system
 * go through the outbox (ingest/outbox.h): staged durably, applied by the
 * upload path in one transaction with their ledger row, and only then
 * answered.  Systems are locked by stripes, so pushes of different systems
 * run in parallel.  A shipper thread copies applied batches to the bucket;
 * without a bucket they stay in the outbox (the data directory is their
 * only copy, which /status, /metrics and `akosha verify` say) until one is
 * configured.
 *
 * Test stop points (util/testpoint.h): push.staged (ingest/outbox.c: a
 * batch durable in the outbox, not committed), push.committed (applied
 * and committed, not answered).
 *
 * Ownership: ak_push_new() / ak_push_free(); the environment is borrowed
 * and must outlive the handle.  ak_push_handle() is thread-safe.
 */
#ifndef AK_PUSH_H
#define AK_PUSH_H

#include "objstore/objstore.h"
#include "query/index.h"
#include "server/http.h"
#include "server/metrics.h"
#include "storage/datadir.h"
#include "util/json.h"

#define AK_PUSH_MAX_BATCH 1000
/* 1,000 memories with 384-float embeddings as Python writes them (about
 * 8 KiB each) and a few KiB of text: 32 MiB leaves room. */
#define AK_PUSH_DEFAULT_MAX_BODY (32u * 1024 * 1024)

typedef enum { AK_PUSH_NONE = 0, AK_PUSH_STATUS, AK_PUSH_CALL } ak_push_kind;

/* Which push endpoint a path (token prefix already stripped) is. */
ak_push_kind ak_push_route(const char *path);

typedef struct {
    const ak_datadir *dd;
    ak_store *bucket;     /* NULL: push-only, the data directory is the only copy */
    ak_index *idx;
    ak_metrics *metrics;
} ak_push_env;

typedef struct ak_push ak_push;

/* Opens the outbox, removes the payloads a killed run left there without
 * their manifest (ak_outbox_sweep_orphans: call it before pushes are
 * accepted), and starts the shipper (which first applies and ships
 * whatever a previous run left in the outbox). */
ak_code ak_push_new(const ak_push_env *env, ak_push **out, ak_err *err);
/* Stops the shipper; batches not shipped stay in the outbox. */
void ak_push_free(ak_push *p);

void ak_push_handle(ak_push *p, const ak_request *req, ak_response *res);

/* One memory (reflection when `reflection`) as an upload record line,
 * {"id", "content", "embedding", "timestamp", "metadata"}, written into
 * line (reset first) from the item's own JSON text; its system id
 * (metadata.source, validated) into sid (AK_SYSTEM_ID_MAX + 1 bytes).
 * Returns 0 with why ("not_object: ..." or "bad_source: ...") when the item
 * names no valid system.  The line is then judged by ak_record_parse(). */
int ak_push_memory_record(const ak_json *item, int reflection, ak_buf *line, char *sid,
                          char *why, size_t n);

#endif
