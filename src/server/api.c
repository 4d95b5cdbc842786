/*
 * api.c - the HTTP endpoints of SPEC section 9.
 *
 *   GET  /health                      liveness, orchestrator, object stores
 *   GET  /ready                       200 once the index is loaded, not draining
 *   GET  /metrics                     Prometheus text
 *   POST /v1/search                   SPEC section 7
 *   GET  /v1/systems                  systems, per-tier counts, last upload
 *   GET  /v1/systems/{id}/uploads     that system's ledger
 *   GET  /v1/conversations/{sid}/{cid}
 *   POST /v1/ingest, /v1/aging        start a cycle / a pass now (202)
 *   POST /v1/systems/{id}/reingest    rebuild a system from the bucket (202);
 *   GET  /v1/systems/{id}/reingest    ... and how that went
 *   POST /v1/index/reload             load every system's index again (202)
 *   GET  [/t/<token>][/mcp]/status    Session-Buddy's push: probe (push.c)
 *   POST [/t/<token>][/mcp]/mcp/v1    ... and its tools over bare JSON-RPC
 *   POST /v1/graph/neighbours|path|entities, GET /v1/graph/stats
 *                                     the knowledge graph (graph/graph_tools.h)
 *   DELETE /v1/systems/{id}           forget a system (admin token, even on loopback)
 *   GET  /v1/systems/{id}/forget      ... and how that went
 *   POST /v1/analytics/{trends,anomalies,correlations,metrics}
 *                                     the analytics tools; body: their arguments
 *
 * Every id in a path is validated before it is used.  Errors are JSON
 * {"error": "..."} naming the problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_tools.h"
#include "analytics/analytics.h"
#include "analytics/prom.h"
#include "view/catalog.h"
#include "view/search_json.h"
#include "mcp/mcp.h"
#include "query/indexer.h"
#include "query/search.h"
#include "server/push.h"
#include "query/words.h"
#include "server/embedder.h"
#include "server/server.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/time.h"

/* ---- routing ---- */

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static int ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

ak_route_info ak_api_classify(void *ctx, const char *method, const char *path)
{
    ak_server *s = ctx;
    int del = !strcmp(method, "DELETE");
    ak_route r = !strcmp(path, "/health")    ? AK_ROUTE_HEALTH
                 : !strcmp(path, "/ready")   ? AK_ROUTE_READY
                 : !strcmp(path, "/metrics") ? AK_ROUTE_METRICS
                 : !strcmp(path, "/v1/search") ? AK_ROUTE_SEARCH
                 : !strcmp(path, "/v1/systems") ? AK_ROUTE_SYSTEMS
                 : starts(path, "/v1/systems/") && ends(path, "/reingest") ? AK_ROUTE_REINGEST
                 : starts(path, "/v1/systems/") && (del || ends(path, "/forget")) ? AK_ROUTE_FORGET
                 : starts(path, "/v1/systems/") ? AK_ROUTE_UPLOADS
                 : starts(path, "/v1/conversations/") ? AK_ROUTE_CONVERSATION
                 : !strcmp(path, "/v1/ingest") ? AK_ROUTE_INGEST
                 : !strcmp(path, "/v1/aging") ? AK_ROUTE_AGING
                 : !strcmp(path, "/v1/index/reload") ? AK_ROUTE_RELOAD
                 : !strcmp(path, "/mcp") ? AK_ROUTE_MCP
                 : starts(path, "/v1/graph/") ? AK_ROUTE_GRAPH
                 : starts(path, "/v1/analytics/") ? AK_ROUTE_ANALYTICS
                 : ak_push_route(path) ? AK_ROUTE_PUSH
                                         : AK_ROUTE_OTHER;
    int open = !s->cfg.auth_all && (r == AK_ROUTE_HEALTH || r == AK_ROUTE_READY || r == AK_ROUTE_METRICS);
    /* DELETE judges its token itself, more strictly (admin_allowed) */
    open |= r == AK_ROUTE_FORGET && del;
    int push = r == AK_ROUTE_PUSH;
    return (ak_route_info){.route = r, .open = open, .path_token = push,
                           .max_body = push ? s->cfg.push_max_body : 0,
                           .jsonrpc = push && ak_push_route(path) == AK_PUSH_CALL};
}

static int method_is(const ak_request *req, ak_response *res, const char *want)
{
    if (strcmp(req->method, want) == 0)
        return 1;
    ak_http_error(res, 405, "%s is not allowed here; use %s", req->method, want);
    res->extra_header = "Allow";
    res->extra_value = want;
    return 0;
}

/* ---- small endpoints ---- */

static void store_health(ak_jw *w, const char *key, ak_store *st)
{
    ak_jw_key(w, key);
    if (!st) {
        ak_jw_null(w);
        return;
    }
    ak_store_stats ss;
    ak_store_stats_get(st, &ss);
    ak_jw_obj(w);
    ak_jw_kstr(w, "url", ak_store_url(st));
    ak_jw_kstr(w, "circuit", ak_breaker_state_name(ss.breaker));
    ak_jw_kint(w, "consecutive_failures", ss.consecutive_failures);
    ak_jw_key(w, "opened_at");
    if (ss.opened_at_us)
        ak_jw_time(w, ss.opened_at_us);
    else
        ak_jw_null(w);
    ak_jw_end(w);
}

static void health(ak_server *s, ak_response *res)
{
    ak_jw w;
    ak_jw_init(&w, &res->body);
    ak_jw_obj(&w);
    ak_orch_report(s->orch, &w);
    ak_jw_kbool(&w, "ready", atomic_load(&s->metrics.ready) && !atomic_load(&s->metrics.draining));
    ak_jw_kbool(&w, "draining", atomic_load(&s->metrics.draining));
    store_health(&w, "bucket", s->bucket);
    store_health(&w, "cold", s->cold);
    ak_jw_kint(&w, "uptime_seconds", (ak_time_now_us() - s->metrics.started_us) / AK_US_PER_SEC);
    ak_jw_end(&w);
}

static void ready(ak_server *s, ak_response *res)
{
    int draining = atomic_load(&s->metrics.draining), loaded = atomic_load(&s->metrics.ready);
    if (draining || !loaded) {
        ak_http_error(res, 503, draining ? "draining" : "the index is still loading");
        return;
    }
    ak_buf_puts(&res->body, "{\"ready\":true}");
}

static void metrics(ak_server *s, ak_response *res)
{
    ak_conns_stats cs;
    ak_http_conns_stats(s->http, &cs);
    atomic_store(&s->metrics.http_conns_open, cs.open);
    atomic_store(&s->metrics.http_conns_closed_slow, cs.closed_slow);
    atomic_store(&s->metrics.http_conns_evicted, cs.evicted);
    ak_metrics_render(&s->metrics, s->bucket, s->cold, &res->body);
    ak_graph_metrics(s->graph_path, &res->body);
    ak_embedder_metrics(s->embedder, &res->body);
    ak_indexer_metrics(atomic_load(&s->indexer), &res->body);
    ak_an_prom_render(s->idx, ak_time_now_us(), &res->body);
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void trigger(ak_server *s, ak_job_kind kind, ak_response *res)
{
    int busy = ak_server_request(s, kind);
    res->status = 202;
    ak_buf_printf(&res->body, "{\"accepted\":true,\"%s\":\"%s\"}",
                  kind == AK_JOB_INGEST ? "cycle" : kind == AK_JOB_AGING ? "aging" : "reload",
                  busy ? "running; another will follow" : "queued");
}

/* ---- search ---- */

static void search(ak_server *s, const ak_request *req, ak_response *res)
{
    if (!atomic_load(&s->metrics.ready)) {
        ak_http_error(res, 503, "the index is still loading");
        return;
    }
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *body;
    ak_query q;
    ak_err err;
    ak_query_init(&q);
    ak_code rc = doc ? ak_json_parse(doc, req->body, req->body_len, &body, &err) : AK_ERR_NOMEM;
    if (rc == AK_ERR_INVALID)
        ak_err_prefix(&err, "body: ");
    if (rc == AK_OK)
        rc = ak_query_from_json(body, &q, &err);
    if (rc == AK_OK)
        rc = ak_query_check(&q, &err);
    ak_results r;
    if (rc == AK_OK && (rc = ak_search_words(s->idx, s->pool, s->embed, &q, &r, &err)) == AK_OK) {
        ak_results_json(&r, &res->body);
        atomic_fetch_add(&s->metrics.searches, 1);
        atomic_fetch_add(&s->metrics.shard_failures, (long long)r.n_failed);
        ak_hist_observe(&s->metrics.search_seconds, r.took_ms / 1000);
        ak_results_free(&r);
    } else {
        atomic_fetch_add(&s->metrics.search_errors, 1);
        ak_http_error(res, rc == AK_ERR_INVALID ? 400 : 500, "%s", err.msg);
    }
    ak_json_doc_free(doc);
}

/* ---- systems, uploads, conversations ---- */

static unsigned status_of(ak_code rc)
{
    return rc == AK_ERR_INVALID ? 400 : rc == AK_ERR_NOTFOUND ? 404 : 500;
}

/* Run a catalog writer into the response, or answer its error. */
static void catalog_reply(ak_response *res, ak_code rc, const ak_err *err)
{
    if (rc)
        ak_http_error(res, status_of(rc), "%s", err->msg);
}

static void systems(ak_server *s, ak_response *res)
{
    ak_jw w;
    ak_err err;
    ak_jw_init(&w, &res->body);
    ak_jw_obj(&w);
    ak_jw_key(&w, "systems");
    ak_code rc = ak_catalog_systems(s->idx, NULL, &w, &err);
    ak_jw_end(&w);
    catalog_reply(res, rc, &err);
}

/* Copy one path segment (up to '/' or the end) into out. */
static const char *segment(const char *p, char *out, size_t n)
{
    size_t len = strcspn(p, "/");
    if (len == 0 || len >= n)
        return NULL;
    memcpy(out, p, len);
    out[len] = '\0';
    return p + len;
}

/* The system id of /v1/systems/{id}/<what>, validated; 0 after answering
 * 400 or 404. */
static int system_in_path(const char *path, const char *what, char *sid, size_t n,
                          ak_response *res)
{
    const char *rest = segment(path + strlen("/v1/systems/"), sid, n), *why;
    if (!rest || !ak_id_system_valid(sid, &why)) {
        ak_http_error(res, 400, "system id %s", rest ? why : "is empty or too long");
        return 0;
    }
    if (strcmp(rest, what) != 0) {
        ak_http_error(res, 404, "no such resource; try /v1/systems/{id}%s", what);
        return 0;
    }
    return 1;
}

static void uploads(ak_server *s, const char *path, ak_response *res)
{
    char sid[AK_SYSTEM_ID_MAX + 2];
    if (!system_in_path(path, "/uploads", sid, sizeof sid, res))
        return;
    ak_jw w;
    ak_err err;
    ak_jw_init(&w, &res->body);
    catalog_reply(res, ak_catalog_uploads(s->idx, sid, &w, &err), &err);
}

/* The path arrives percent-decoded; the conversation id is all of the
 * path after the system id, since an id may itself contain '/'. */
static void conversation(ak_server *s, const char *path, ak_response *res)
{
    char sid[AK_SYSTEM_ID_MAX + 2];
    const char *rest = segment(path + strlen("/v1/conversations/"), sid, sizeof sid);
    const char *cid = rest && *rest == '/' ? rest + 1 : "";
    if (!*cid || strlen(cid) > 256) {
        ak_http_error(res, 404, "no such resource; try /v1/conversations/{system_id}/{conversation_id}");
        return;
    }
    ak_jw w;
    ak_err err;
    ak_jw_init(&w, &res->body);
    catalog_reply(res, ak_catalog_conversation(s->idx, s->cold, sid, cid, &w, &err), &err);
}

/* Optional body {"<name>": true|false}. */
static ak_code flag_of(const ak_request *req, const char *name, int *flag, ak_err *err)
{
    *flag = 0;
    if (!req->body_len)
        return AK_OK;
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *body, *f = NULL;
    ak_code rc = doc ? ak_json_parse(doc, req->body, req->body_len, &body, err)
                     : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK && body->type != AK_JSON_OBJECT)
        rc = ak_err_set(err, AK_ERR_INVALID, "body: expected an object like {\"%s\": true}", name);
    if (rc == AK_OK && (f = ak_json_get(body, name)) && f->type != AK_JSON_TRUE &&
        f->type != AK_JSON_FALSE)
        rc = ak_err_set(err, AK_ERR_INVALID, "%s: expected true or false", name);
    for (const ak_json *m = rc == AK_OK ? body->first : NULL; m && rc == AK_OK; m = m->next)
        if (strcmp(m->key, name) != 0)
            rc = ak_err_set(err, AK_ERR_INVALID, "unknown field \"%.64s\"", m->key);
    *flag = f && f->type == AK_JSON_TRUE;
    ak_json_doc_free(doc);
    return rc;
}

static void reingest(ak_server *s, const ak_request *req, ak_response *res)
{
    char sid[AK_SYSTEM_ID_MAX + 2];
    int force = 0, is_get = !strcmp(req->method, "GET");
    ak_err err;
    if (!is_get && !method_is(req, res, "POST"))
        return;
    if (!system_in_path(req->path, "/reingest", sid, sizeof sid, res))
        return;
    ak_jw w;
    ak_jw_init(&w, &res->body);
    if (is_get) {
        if (!ak_server_reingest_status(s, sid, &w))
            ak_http_error(res, 404, "no rebuild of %s was asked for since the daemon started", sid);
        return;
    }
    ak_code rc = s->bucket ? flag_of(req, "force", &force, &err)
                           : ak_err_set(&err, AK_ERR_UNSUPPORTED, "no bucket is configured: "
                                        "there is nothing to rebuild from");
    if (rc == AK_OK)
        rc = ak_server_reingest_request(s, sid, force, &err);
    if (rc) {
        ak_http_error(res, rc == AK_ERR_INVALID ? 400 : rc == AK_ERR_BUSY ? 429 : 409, "%s",
                      err.msg);
        return;
    }
    res->status = 202;
    ak_server_reingest_status(s, sid, &w);
}

/* Destructive endpoints need a token even on loopback: an admin token
 * when AKOSHA_ADMIN_TOKENS is set, else any API token; with no tokens at
 * all they are refused (docs/API.md).  0 after answering 401/403. */
static int admin_allowed(ak_server *s, const ak_request *req, ak_response *res)
{
    int admins = ak_auth_has_tokens(s->admin), ok;
    if (admins)
        ok = ak_auth_check(s->admin, req->header_authorization) >= 0;
    else
        ok = ak_auth_has_tokens(s->auth) && req->token >= 0;
    if (ok)
        return 1;
    atomic_fetch_add(&s->metrics.unauthorized, 1);
    if (!admins && !ak_auth_has_tokens(s->auth))
        ak_http_error(res, 403, "forgetting a system needs a token even on loopback: start "
                                "akosha serve with AKOSHA_ADMIN_TOKENS (or AKOSHA_API_TOKENS)");
    else
        ak_http_error(res, req->token >= 0 ? 403 : 401, "%s",
                      admins ? "this needs an admin token (AKOSHA_ADMIN_TOKENS)"
                             : "missing or invalid Authorization: Bearer token");
    return 0;
}

#define FORGET_WAIT_US (30LL * AK_US_PER_SEC)

static void forget(ak_server *s, const ak_request *req, ak_response *res)
{
    char sid[AK_SYSTEM_ID_MAX + 2];
    int purge = 0, is_get = !strcmp(req->method, "GET");
    ak_rj_state state = AK_RJ_QUEUED;
    ak_err err;
    ak_jw w;
    ak_jw_init(&w, &res->body);
    if (is_get) {
        if (system_in_path(req->path, "/forget", sid, sizeof sid, res) &&
            !ak_server_reingest_status(s, sid, &w))
            ak_http_error(res, 404, "no forget of %s was asked for since the daemon started", sid);
        return;
    }
    if (!method_is(req, res, "DELETE") || !system_in_path(req->path, "", sid, sizeof sid, res) ||
        !admin_allowed(s, req, res))
        return;
    ak_code rc = flag_of(req, "purge_bucket", &purge, &err);
    if (rc == AK_OK && purge && !s->bucket)
        rc = ak_err_set(&err, AK_ERR_INVALID, "purge_bucket: no bucket is configured");
    if (rc == AK_OK)
        rc = ak_server_forget_request(s, sid, purge, FORGET_WAIT_US, &state, &err);
    if (rc) {
        ak_http_error(res, rc == AK_ERR_INVALID ? 400 : rc == AK_ERR_BUSY ? 429 : 409, "%s",
                      err.msg);
        return;
    }
    res->status = state == AK_RJ_DONE ? 200 : state == AK_RJ_FAILED ? 500 : 202;
    ak_server_reingest_status(s, sid, &w);
}

/* ---- analytics ---- */

static const struct {
    const char *name;
    ak_an_tool tool;
} an_routes[] = {{"trends", AK_AN_TRENDS}, {"anomalies", AK_AN_ANOMALIES},
                 {"correlations", AK_AN_CORRELATE}, {"metrics", AK_AN_METRICS}};

/* The body is the MCP tool's arguments (none: the defaults). */
static void analytics(ak_server *s, const ak_request *req, ak_response *res)
{
    const char *name = req->path + strlen("/v1/analytics/");
    size_t i = 0;
    while (i < sizeof an_routes / sizeof *an_routes && strcmp(an_routes[i].name, name) != 0)
        i++;
    if (i == sizeof an_routes / sizeof *an_routes) {
        ak_http_error(res, 404, "no such resource; try /v1/analytics/trends, anomalies, "
                                "correlations or metrics");
        return;
    }
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *args = NULL;
    ak_an_params p;
    ak_err err;
    ak_an_params_init(&p, an_routes[i].tool, ak_time_now_us());
    ak_code rc = doc ? AK_OK : ak_err_set(&err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK && req->body_len &&
        (rc = ak_json_parse(doc, req->body, req->body_len, &args, &err)) == AK_ERR_INVALID)
        ak_err_prefix(&err, "body: ");
    if (rc == AK_OK)
        rc = ak_an_params_from_json(args, an_routes[i].tool, &p, &err);
    ak_jw w;
    ak_jw_init(&w, &res->body);
    if (rc == AK_OK)
        rc = ak_an_run(s->idx, an_routes[i].tool, &p, &w, &err);
    if (rc) {
        ak_buf_reset(&res->body);
        ak_http_error(res, status_of(rc), "%s", err.msg);
    }
    ak_json_doc_free(doc);
}

/* ---- MCP over streamable HTTP ---- */

/* POST carries JSON-RPC; the reply is plain JSON (no SSE stream: Akosha
 * never sends requests of its own).  initialize opens a session whose id
 * every later request must carry; DELETE closes it. */
static void mcp(ak_server *s, const ak_request *req, ak_response *res)
{
    int is_post = !strcmp(req->method, "POST"), is_delete = !strcmp(req->method, "DELETE");
    if (!is_post && !is_delete) {
        ak_http_error(res, 405, "use POST for JSON-RPC (no SSE stream is offered)");
        res->extra_header = "Allow";
        res->extra_value = "POST, DELETE";
        return;
    }
    if (req->header_session && !ak_mcp_session_valid(s->mcp, req->header_session, req->token)) {
        ak_http_error(res, 404, "unknown or closed MCP session");
        return;
    }
    if (is_delete) {
        if (!ak_mcp_session_close(s->mcp, req->header_session, req->token))
            ak_http_error(res, 400, "DELETE needs the Mcp-Session-Id header");
        return;
    }
    int initialized;
    int replied = ak_mcp_handle(s->mcp, req->body, req->body_len, &res->body, &initialized);
    if (initialized) {
        ak_mcp_session_new(s->mcp, req->token, res->value_buf);
        res->extra_header = "Mcp-Session-Id";
        res->extra_value = res->value_buf;
    } else if (!req->header_session) {
        ak_buf_reset(&res->body);
        ak_http_error(res, 400, "missing Mcp-Session-Id header: initialize first");
        return;
    }
    if (!replied)
        res->status = 202; /* notifications and responses: accepted, no body */
}

/* /v1/graph/<what>: the graph tool of that name, its arguments the body. */
static void graph(ak_server *s, const ak_request *req, ak_response *res)
{
    static const char *const routes[][3] = {
        {"/v1/graph/neighbours", "POST", "query_knowledge_graph"},
        {"/v1/graph/path", "POST", "find_path"},
        {"/v1/graph/entities", "POST", "find_entities"},
        {"/v1/graph/stats", "GET", "get_graph_statistics"},
    };
    size_t i = 0;
    while (i < sizeof routes / sizeof *routes && strcmp(req->path, routes[i][0]) != 0)
        i++;
    if (i == sizeof routes / sizeof *routes) {
        ak_http_error(res, 404, "no such endpoint: %s (see docs/API.md: neighbours, path, "
                      "entities, stats)", req->path);
        return;
    }
    if (!method_is(req, res, routes[i][1]))
        return;
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *body = NULL;
    ak_err err;
    ak_code rc = !doc ? ak_err_set(&err, AK_ERR_NOMEM, "out of memory")
                 : req->body_len ? ak_json_parse(doc, req->body, req->body_len, &body, &err)
                                 : AK_OK;
    if (rc == AK_ERR_INVALID)
        ak_err_prefix(&err, "body: ");
    ak_jw w;
    ak_jw_init(&w, &res->body);
    if (rc == AK_OK)
        rc = ak_graph_tool_run(s->graph_path, routes[i][2], body, &w, &err);
    if (rc) {
        ak_buf_reset(&res->body);
        ak_http_error(res, rc == AK_ERR_INVALID ? 400 : rc == AK_ERR_NOTFOUND ? 404 : 500, "%s",
                      err.msg);
    }
    ak_json_doc_free(doc);
}

void ak_api_handle(void *ctx, const ak_request *req, ak_response *res)
{
    ak_server *s = ctx;
    ak_route r = ak_api_classify(s, req->method, req->path).route;
    switch (r) {
    case AK_ROUTE_HEALTH: if (method_is(req, res, "GET")) health(s, res); break;
    case AK_ROUTE_READY: if (method_is(req, res, "GET")) ready(s, res); break;
    case AK_ROUTE_METRICS: if (method_is(req, res, "GET")) metrics(s, res); break;
    case AK_ROUTE_SEARCH: if (method_is(req, res, "POST")) search(s, req, res); break;
    case AK_ROUTE_SYSTEMS: if (method_is(req, res, "GET")) systems(s, res); break;
    case AK_ROUTE_UPLOADS: if (method_is(req, res, "GET")) uploads(s, req->path, res); break;
    case AK_ROUTE_CONVERSATION: if (method_is(req, res, "GET")) conversation(s, req->path, res); break;
    case AK_ROUTE_INGEST: if (method_is(req, res, "POST")) trigger(s, AK_JOB_INGEST, res); break;
    case AK_ROUTE_AGING: if (method_is(req, res, "POST")) trigger(s, AK_JOB_AGING, res); break;
    case AK_ROUTE_MCP: mcp(s, req, res); break;
    case AK_ROUTE_REINGEST: reingest(s, req, res); break;
    case AK_ROUTE_FORGET: forget(s, req, res); break;
    case AK_ROUTE_RELOAD: if (method_is(req, res, "POST")) trigger(s, AK_JOB_RELOAD, res); break;
    case AK_ROUTE_PUSH: ak_push_handle(s->push, req, res); break;
    case AK_ROUTE_GRAPH: graph(s, req, res); break;
    case AK_ROUTE_ANALYTICS: if (method_is(req, res, "POST")) analytics(s, req, res); break;
    default: ak_http_error(res, 404, "no such endpoint: %s", req->path); break;
    }
}
