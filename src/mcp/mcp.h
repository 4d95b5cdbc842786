/*
 * mcp.h - Akosha's search and status as Model Context Protocol tools.
 *
 * The protocol core, transport-independent: ak_mcp_handle() takes one
 * JSON-RPC 2.0 message (or a batch) and writes the reply.  `akosha mcp`
 * runs it over stdio (one message per line); `akosha serve` over
 * streamable HTTP at /mcp (api.c), behind the API's bearer auth.
 *
 * Methods: initialize (version negotiation: 2025-06-18, 2025-03-26,
 * 2024-11-05), ping, tools/list, tools/call, and the notifications
 * (initialized, cancelled), which get no reply.  Tools:
 *   search_all_systems     words (hybrid), text and/or vector search over
 *                          every system; results carry snippets
 *   get_conversation       one conversation from any tier
 *   list_systems           systems with counts
 *   get_ingestion_status   the ledger summary, rejected and failed uploads
 *   get_system_metrics     the daily metrics kept, with totals (analytics/)
 *   analyze_trends, detect_anomalies, correlate_systems   over those series
 *   generate_embedding, generate_batch_embeddings   the provider's vectors
 *   query_knowledge_graph, find_path, get_graph_statistics, find_entities
 *                          the knowledge graph (graph/graph_tools.h)
 * Bad arguments are tool errors (isError, a message naming the argument),
 * not protocol errors; unknown methods and malformed requests are JSON-RPC
 * errors.
 *
 * Ownership: ak_mcp_new() / ak_mcp_free(); the environment is borrowed.
 * Thread-safe: calls may come from several HTTP threads at once.
 */
#ifndef AK_MCP_H
#define AK_MCP_H

#include <stdatomic.h>

#include "embed/embed.h"
#include "objstore/objstore.h"
#include "query/index.h"
#include "util/buf.h"
#include "util/pool.h"

typedef struct {
    ak_index *idx;
    ak_pool *pool;
    ak_store *cold;           /* may be NULL: cold conversations then say so */
    const atomic_int *ready;  /* index loaded; searches wait for it */
    ak_embed *embed;          /* may be NULL: words are searched as keywords */
    const char *graph_path;   /* the knowledge graph (<data>/graph.db); NULL or
                               * missing: an empty graph */
} ak_mcp_env;

typedef struct ak_mcp ak_mcp;

ak_code ak_mcp_new(const ak_mcp_env *env, ak_mcp **out, ak_err *err);
void ak_mcp_free(ak_mcp *m);

/* Handle msg[0..len).  Returns 1 with the reply in out, 0 when the message
 * needs none (notifications, responses).  *initialized is set when the
 * message was an initialize request (the HTTP transport then opens a
 * session). */
int ak_mcp_handle(ak_mcp *m, const char *msg, size_t len, ak_buf *out, int *initialized);

/* Streamable HTTP sessions: a new random id (33 bytes with the NUL), and
 * whether an id is one this server issued to owner (the API token's
 * number, -1 without tokens) and has not closed.  An owner holds at most 64
 * sessions (a 65th replaces its oldest) and never displaces another's
 * while the table has room; when it is full, the owner holding the most
 * gives way.  Owners are -1 .. AK_MCP_OWNERS_MAX - 1 (server/auth.c
 * checks its token numbers fit). */
#define AK_MCP_OWNERS_MAX 256
void ak_mcp_session_new(ak_mcp *m, int owner, char id[33]);
int ak_mcp_session_valid(ak_mcp *m, const char *id, int owner);
int ak_mcp_session_close(ak_mcp *m, const char *id, int owner);

#endif
