/*
 * mcp.c - see mcp.h.
 *
 * Tool input schemas are JSON Schema text kept beside the code that reads
 * the arguments, and every argument is checked here as well, because a
 * model may send anything.
 */
#include "mcp/mcp.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph_tools.h"
#include "analytics/analytics.h"
#include "view/catalog.h"
#include "view/search_json.h"
#include "query/search.h"
#include "query/words.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/sha256.h"
#include "util/time.h"
#include "version.h"

#define SESSIONS_MAX 1024
#define SESSIONS_PER_OWNER 64
#define OWNERS (AK_MCP_OWNERS_MAX + 1) /* token numbers, and -1 for "no tokens" */
#define READY_WAIT_US (120 * AK_US_PER_SEC)
#define STATUS_LIST_DEFAULT 50

enum { PARSE_ERROR = -32700, INVALID_REQUEST = -32600, METHOD_NOT_FOUND = -32601,
       INVALID_PARAMS = -32602 };

static const char *const versions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

typedef struct {
    char id[33];              /* "" = free slot */
    int owner;                /* the API token that opened it (-1: none configured) */
    uint64_t seq;             /* creation order */
} session;

struct ak_mcp {
    ak_mcp_env env;
    pthread_mutex_t mu;
    session sessions[SESSIONS_MAX];
    uint64_t next_seq;
};

ak_code ak_mcp_new(const ak_mcp_env *env, ak_mcp **out, ak_err *err)
{
    ak_mcp *m = calloc(1, sizeof *m);
    if (!m)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    m->env = *env;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return AK_OK;
}

void ak_mcp_free(ak_mcp *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ---- sessions ---- */

/* The oldest session of owner, or NULL. */
static session *oldest_of(ak_mcp *m, int owner)
{
    session *o = NULL;
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        session *s = &m->sessions[i];
        if (s->id[0] && s->owner == owner && (!o || s->seq < o->seq))
            o = s;
    }
    return o;
}

/* The slot a new session of owner takes: a free one while the owner has
 * fewer than SESSIONS_PER_OWNER; else the owner's oldest.  When the table
 * is full, the oldest session of whoever holds the most gives way, so a
 * token opening sessions in a loop only ever displaces its own. */
static session *session_slot(ak_mcp *m, int owner)
{
    int count[OWNERS] = {0}, heavy = -1;
    session *free_slot = NULL;
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        session *s = &m->sessions[i];
        if (!s->id[0])
            free_slot = free_slot ? free_slot : s;
        else if (++count[s->owner + 1] > (heavy < 0 ? 0 : count[heavy + 1]))
            heavy = s->owner;
    }
    if (count[owner + 1] >= SESSIONS_PER_OWNER)
        return oldest_of(m, owner);
    return free_slot ? free_slot : oldest_of(m, heavy);
}

void ak_mcp_session_new(ak_mcp *m, int owner, char id[33])
{
    if (owner < -1 || owner >= AK_MCP_OWNERS_MAX)
        owner = -1; /* cannot happen: token numbers come from auth.c */
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1) { /* no entropy source: still unique enough per process */
        uint64_t t = (uint64_t)ak_time_now_us() ^ (uint64_t)(uintptr_t)id;
        memcpy(r, &t, 8);
        memcpy(r + 8, &t, 8);
    }
    ak_hex(r, sizeof r, id);
    pthread_mutex_lock(&m->mu);
    session *s = session_slot(m, owner);
    memcpy(s->id, id, 33);
    s->owner = owner;
    s->seq = m->next_seq++;
    pthread_mutex_unlock(&m->mu);
}

/* A session is found only by the owner that opened it. */
static session *session_find(ak_mcp *m, const char *id, int owner)
{
    if (!id || strlen(id) != 32)
        return NULL;
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (m->sessions[i].id[0] && m->sessions[i].owner == owner &&
            strcmp(m->sessions[i].id, id) == 0)
            return &m->sessions[i];
    return NULL;
}

int ak_mcp_session_valid(ak_mcp *m, const char *id, int owner)
{
    pthread_mutex_lock(&m->mu);
    int ok = session_find(m, id, owner) != NULL;
    pthread_mutex_unlock(&m->mu);
    return ok;
}

int ak_mcp_session_close(ak_mcp *m, const char *id, int owner)
{
    pthread_mutex_lock(&m->mu);
    session *s = session_find(m, id, owner);
    if (s)
        s->id[0] = '\0';
    pthread_mutex_unlock(&m->mu);
    return s != NULL;
}

/* ---- replies ---- */

static void raw_literal(ak_jw *w, const char *json) { ak_jw_raw(w, json, strlen(json)); }

static void reply_start(ak_jw *w, const ak_json *id)
{
    ak_jw_obj(w);
    ak_jw_kstr(w, "jsonrpc", "2.0");
    ak_jw_key(w, "id");
    if (id)
        ak_jw_raw(w, id->raw, id->raw_len);
    else
        ak_jw_null(w);
}

static void error_reply(ak_jw *w, const ak_json *id, int code, const char *msg)
{
    reply_start(w, id);
    ak_jw_key(w, "error");
    ak_jw_obj(w);
    ak_jw_kint(w, "code", code);
    ak_jw_kstr(w, "message", msg);
    ak_jw_end(w);
    ak_jw_end(w);
}

/* ---- tools ---- */

typedef struct {
    ak_mcp *m;
    const ak_json *args;
    ak_jw *w;            /* the structured result goes here */
    char error[AK_ERR_MSG_MAX]; /* a tool error's message */
    const char *name;
} tool_call;

typedef int (*tool_fn)(tool_call *c);

typedef struct {
    const char *name, *title, *description, *input_schema;
    tool_fn run;
} tool;

static int tool_error(tool_call *c, const char *fmt, const char *detail)
{
    snprintf(c->error, sizeof c->error, fmt, detail);
    return 0;
}

/* Every argument must be one the tool knows. */
static int check_args(tool_call *c, const char *const *known)
{
    if (c->args && c->args->type != AK_JSON_OBJECT)
        return tool_error(c, "%s", "arguments must be an object");
    for (const ak_json *a = c->args ? c->args->first : NULL; a; a = a->next) {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, a->key) == 0;
        if (!ok)
            return tool_error(c, "unknown argument \"%.64s\"", a->key);
    }
    return 1;
}

static const ak_json *arg(const tool_call *c, const char *name)
{
    const ak_json *v = ak_json_get(c->args, name);
    return v && v->type != AK_JSON_NULL ? v : NULL;
}

static int string_arg(tool_call *c, const char *name, int required, const char **out)
{
    const ak_json *v = arg(c, name);
    *out = NULL;
    if (!v)
        return required ? tool_error(c, "%s: required", name) : 1;
    if (v->type != AK_JSON_STRING || strlen(v->str) != v->str_len)
        return tool_error(c, "%s: must be a string", name);
    *out = v->str;
    return 1;
}

static int wait_ready(ak_mcp *m)
{
    int64_t until = ak_time_mono_us() + READY_WAIT_US;
    while (m->env.ready && !atomic_load(m->env.ready) && ak_time_mono_us() < until) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return !m->env.ready || atomic_load(m->env.ready);
}

static const char search_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\",\"description\":\"what to find, in words: embedded by the "
    "embedding provider and searched by meaning and keywords (hybrid); keywords only when no "
    "provider answers (the result's mode and embedding_error say so)\"},"
    "\"text\":{\"type\":\"string\",\"description\":\"keywords only (BM25); with vector: hybrid\"},"
    "\"vector\":{\"type\":\"array\",\"items\":{\"type\":\"number\"},\"minItems\":384,\"maxItems\":384,"
    "\"description\":\"a 384-d all-MiniLM-L6-v2 embedding to search by cosine similarity\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"default\":10},"
    "\"threshold\":{\"type\":\"number\",\"minimum\":-1,\"maximum\":1,\"description\":\"minimum cosine similarity\"},"
    "\"system_id\":{\"type\":\"string\",\"description\":\"search only this system\"},"
    "\"tiers\":{\"type\":\"array\",\"items\":{\"enum\":[\"hot\",\"warm\",\"cold\"]}},"
    "\"exact\":{\"type\":\"boolean\",\"description\":\"scan every vector instead of the "
    "approximate index (slower; for checking)\"}},"
    "\"anyOf\":[{\"required\":[\"query\"]},{\"required\":[\"text\"]},{\"required\":[\"vector\"]}]}";

#define SNIPPET_CHARS 300

static int search_all_systems(tool_call *c)
{
    static const char *const known[] = {"query", "text", "vector", "limit", "threshold",
                                        "system_id", "tiers", "exact", NULL};
    if (!check_args(c, known))
        return 0;
    ak_query q;
    ak_err err;
    ak_query_init(&q);
    if ((c->args && ak_query_from_json(c->args, &q, &err)) || ak_query_check(&q, &err))
        return tool_error(c, "%s", err.msg);
    if (!wait_ready(c->m))
        return tool_error(c, "%s", "the search index is still loading; try again shortly");
    ak_results r;
    if (ak_search_words(c->m->env.idx, c->m->env.pool, c->m->env.embed, &q, &r, &err))
        return tool_error(c, "%s", err.msg);
    ak_buf json = {0};
    ak_results_json_snippets(&r, q.words ? q.words : q.text, SNIPPET_CHARS, &json);
    ak_jw_raw(c->w, json.data, json.len);
    ak_buf_free(&json);
    ak_results_free(&r);
    return 1;
}

static const char conversation_schema[] =
    "{\"type\":\"object\",\"properties\":{\"system_id\":{\"type\":\"string\"},"
    "\"conversation_id\":{\"type\":\"string\"}},\"required\":[\"system_id\",\"conversation_id\"]}";

static int get_conversation(tool_call *c)
{
    static const char *const known[] = {"system_id", "conversation_id", NULL};
    const char *sid, *cid;
    ak_err err;
    if (!check_args(c, known) || !string_arg(c, "system_id", 1, &sid) ||
        !string_arg(c, "conversation_id", 1, &cid))
        return 0;
    if (ak_catalog_conversation(c->m->env.idx, c->m->env.cold, sid, cid, c->w, &err))
        return tool_error(c, "%s", err.msg);
    return 1;
}

static const char systems_schema[] =
    "{\"type\":\"object\",\"properties\":{\"system_id\":{\"type\":\"string\","
    "\"description\":\"only this system\"}}}";

/* {"systems": [...]}: counts per tier, uploads and the last activity. */
static int systems(tool_call *c)
{
    static const char *const known[] = {"system_id", NULL};
    const char *sid;
    ak_err err;
    if (!check_args(c, known) || !string_arg(c, "system_id", 0, &sid))
        return 0;
    ak_buf body = {0};
    ak_jw w;
    ak_jw_init(&w, &body);
    ak_jw_obj(&w);
    ak_jw_key(&w, "systems");
    ak_code rc = ak_catalog_systems(c->m->env.idx, sid, &w, &err);
    ak_jw_end(&w);
    if (rc == AK_OK)
        ak_jw_raw(c->w, body.data, body.len);
    ak_buf_free(&body);
    return rc ? tool_error(c, "%s", err.msg) : 1;
}

static const char status_schema[] =
    "{\"type\":\"object\",\"properties\":{\"system_id\":{\"type\":\"string\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"default\":50,"
    "\"description\":\"most rejected and failed uploads listed\"}}}";

typedef struct {
    int64_t counts[4];
    ak_jw rejected, failed;
    ak_buf rbuf, fbuf;
    int64_t listed[4], limit, last_ingested;
} status_walk;

static ak_code status_row(void *ctx, const char *sid, const ak_ledger_row *r)
{
    status_walk *s = ctx;
    s->counts[r->status]++;
    if (r->status == AK_UPLOAD_INGESTED && r->finished_us > s->last_ingested)
        s->last_ingested = r->finished_us;
    if ((r->status != AK_UPLOAD_REJECTED && r->status != AK_UPLOAD_FAILED) ||
        s->listed[r->status]++ >= s->limit)
        return AK_OK;
    ak_jw *w = r->status == AK_UPLOAD_REJECTED ? &s->rejected : &s->failed;
    ak_jw_obj(w);
    ak_jw_kstr(w, "system_id", sid);
    ak_jw_kstr(w, "upload_id", r->upload_id);
    ak_jw_kstr(w, "reason", r->reason);
    ak_jw_kint(w, "attempts", r->attempts);
    ak_jw_end(w);
    return AK_OK;
}

static int get_ingestion_status(tool_call *c)
{
    static const char *const known[] = {"system_id", "limit", NULL};
    const char *sid;
    int64_t limit = STATUS_LIST_DEFAULT;
    const ak_json *l = arg(c, "limit");
    ak_err err;
    if (!check_args(c, known) || !string_arg(c, "system_id", 0, &sid))
        return 0;
    if (l && (!ak_json_int64(l, &limit) || limit < 1 || limit > 1000))
        return tool_error(c, "%s", "limit: must be an integer from 1 to 1000");
    status_walk s = {.limit = limit};
    ak_jw_init(&s.rejected, &s.rbuf);
    ak_jw_init(&s.failed, &s.fbuf);
    ak_jw_arr(&s.rejected);
    ak_jw_arr(&s.failed);
    ak_code rc = ak_catalog_each_upload(c->m->env.idx, sid, status_row, &s, &err);
    ak_jw_end(&s.rejected);
    ak_jw_end(&s.failed);
    if (rc == AK_OK) {
        ak_jw *w = c->w;
        ak_jw_obj(w);
        ak_jw_key(w, "uploads");
        ak_jw_obj(w);
        ak_jw_kint(w, "ingested", s.counts[AK_UPLOAD_INGESTED]);
        ak_jw_kint(w, "rejected", s.counts[AK_UPLOAD_REJECTED]);
        ak_jw_kint(w, "failed", s.counts[AK_UPLOAD_FAILED]);
        ak_jw_end(w);
        ak_jw_key(w, "last_ingested_at");
        if (s.last_ingested)
            ak_jw_time(w, s.last_ingested);
        else
            ak_jw_null(w);
        ak_jw_key(w, "rejected");
        ak_jw_raw(w, s.rbuf.data, s.rbuf.len);
        ak_jw_key(w, "failed");
        ak_jw_raw(w, s.fbuf.data, s.fbuf.len);
        ak_jw_end(w);
    }
    ak_buf_free(&s.rbuf);
    ak_buf_free(&s.fbuf);
    return rc ? tool_error(c, "%s", err.msg) : 1;
}

/* ---- analytics (analytics/analytics.h) ---- */

#define AN_WINDOW "\"time_window_days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":730,\"default\":7},"
#define AN_FILTERS "\"project\":{\"type\":\"string\"},\"category\":{\"type\":\"string\"},"
#define AN_END "\"end_date\":{\"type\":\"string\",\"description\":\"last day of the window, YYYY-MM-DD (default today, UTC)\"}"
#define AN_METRIC "\"metric_name\":{\"type\":\"string\",\"description\":\"a name get_system_metrics lists, e.g. conversation_count\"},"
#define AN_SYSTEM "\"system_id\":{\"type\":\"string\",\"description\":\"only this system (default: every system)\"},"
static const char trends_schema[] =
    "{\"type\":\"object\",\"properties\":{" AN_METRIC AN_SYSTEM AN_WINDOW AN_FILTERS AN_END
    "},\"required\":[\"metric_name\"]}";
static const char anomalies_schema[] =
    "{\"type\":\"object\",\"properties\":{" AN_METRIC AN_SYSTEM AN_WINDOW AN_FILTERS
    "\"threshold_std\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":100,\"default\":3},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"default\":10}," AN_END
    "},\"required\":[\"metric_name\"]}";
static const char correlate_schema[] =
    "{\"type\":\"object\",\"properties\":{" AN_METRIC AN_WINDOW AN_FILTERS
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"default\":100}," AN_END
    "},\"required\":[\"metric_name\"]}";
static const char metrics_schema[] =
    "{\"type\":\"object\",\"properties\":{" AN_SYSTEM
    "\"time_range_days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":730,\"default\":30}," AN_END "}}";

static int analytics(tool_call *c, ak_an_tool t)
{
    ak_an_params p;
    ak_err err;
    ak_an_params_init(&p, t, ak_time_now_us());
    if (ak_an_params_from_json(c->args, t, &p, &err) ||
        ak_an_run(c->m->env.idx, t, &p, c->w, &err))
        return tool_error(c, "%s", err.msg);
    return 1;
}

static int analyze_trends(tool_call *c) { return analytics(c, AK_AN_TRENDS); }
static int detect_anomalies(tool_call *c) { return analytics(c, AK_AN_ANOMALIES); }
static int correlate_systems(tool_call *c) { return analytics(c, AK_AN_CORRELATE); }
static int system_metrics(tool_call *c) { return analytics(c, AK_AN_METRICS); }

static const char embedding_schema[] =
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}";
static const char batch_schema[] =
    "{\"type\":\"object\",\"properties\":{\"texts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
    "\"minItems\":1,\"maxItems\":64}},\"required\":[\"texts\"]}";

static void vector_json(ak_jw *w, const float *v)
{
    ak_jw_arr(w);
    for (int i = 0; i < AK_DIM; i++)
        ak_jw_float(w, v[i]);
    ak_jw_end(w);
}

/* The provider's vectors for texts[0..n), as {"embeddings": [...]} or, for
 * one text, {"embedding": [...]}. */
static int embed_texts(tool_call *c, const char *const *texts, const size_t *lens, size_t n,
                       int one)
{
    float *v = malloc(n * AK_DIM * sizeof *v);
    ak_err err;
    if (!v)
        return tool_error(c, "%s", "out of memory");
    if (ak_embed_batch(c->m->env.embed, texts, lens, n, v, &err)) {
        free(v);
        return tool_error(c, "%s", err.msg);
    }
    ak_jw_obj(c->w);
    ak_jw_key(c->w, one ? "embedding" : "embeddings");
    if (!one)
        ak_jw_arr(c->w);
    for (size_t i = 0; i < n; i++)
        vector_json(c->w, v + i * AK_DIM);
    if (!one)
        ak_jw_end(c->w);
    ak_jw_kint(c->w, "count", (int64_t)n);
    ak_jw_kint(c->w, "dimension", AK_DIM);
    ak_jw_kstr(c->w, "provider", ak_embed_describe(c->m->env.embed));
    ak_jw_end(c->w);
    free(v);
    return 1;
}

static int generate_embedding(tool_call *c)
{
    static const char *const known[] = {"text", NULL};
    const char *text;
    if (!check_args(c, known) || !string_arg(c, "text", 1, &text))
        return 0;
    size_t len = strlen(text);
    return embed_texts(c, &text, &len, 1, 1);
}

static int generate_batch_embeddings(tool_call *c)
{
    static const char *const known[] = {"texts", NULL};
    const ak_json *t = arg(c, "texts");
    const char *texts[AK_EMBED_BATCH_MAX];
    size_t lens[AK_EMBED_BATCH_MAX], n = 0;
    if (!check_args(c, known))
        return 0;
    if (!t || t->type != AK_JSON_ARRAY || t->n_kids < 1 || t->n_kids > AK_EMBED_BATCH_MAX)
        return tool_error(c, "texts: must be a list of 1 to %s strings", "64");
    for (const ak_json *x = t->first; x; x = x->next, n++) {
        if (x->type != AK_JSON_STRING || strlen(x->str) != x->str_len)
            return tool_error(c, "%s", "texts: every item must be a string");
        texts[n] = x->str;
        lens[n] = x->str_len;
    }
    return embed_texts(c, texts, lens, n, 0);
}

static const tool tools[] = {
    {"search_all_systems", "Search all systems",
     "Search the conversation memories of every Session-Buddy system: by words (query: "
     "meaning and keywords, rank fusion), keywords only (text), or a 384-d embedding (vector). "
     "Returns the best conversations with a snippet around the match, the score and metadata; "
     "get_conversation gives the full text.", search_schema, search_all_systems},
    {"get_conversation", "Get a conversation",
     "One conversation by system and id, from whichever tier holds it (hot: full text; warm: "
     "3-sentence summary; cold: 1-sentence summary).", conversation_schema, get_conversation},
    {"list_systems", "List systems",
     "Every system Akosha holds, with conversations per tier, uploads and last activity.",
     systems_schema, systems},
    {"get_ingestion_status", "Ingestion status",
     "The upload ledger summarized: uploads ingested, rejected and failed, with the reasons "
     "of the rejected and failed ones.", status_schema, get_ingestion_status},
    {"get_system_metrics", "System metrics",
     "The daily metrics Akosha keeps of the memories (names, units, what each counts) with "
     "their total and last day over time_range_days, for one system or the fleet.",
     metrics_schema, system_metrics},
    {"analyze_trends", "Analyze trends",
     "Linear trend of a daily metric over time_window_days: direction, strength (R^2), "
     "percent change, confidence, the daily values.", trends_schema, analyze_trends},
    {"detect_anomalies", "Detect anomalies",
     "Days whose value lies threshold_std or more standard deviations from its system's "
     "mean over the window (z-score), with their values.", anomalies_schema, detect_anomalies},
    {"correlate_systems", "Correlate systems",
     "Pearson correlation between systems' daily series of a metric: the strong (|r| >= 0.7) "
     "and moderate (>= 0.5) pairs.", correlate_schema, correlate_systems},
    {"generate_embedding", "Generate an embedding",
     "The 384-d vector the configured embedding provider gives a text (the space the "
     "memories are searched in).", embedding_schema, generate_embedding},
    {"generate_batch_embeddings", "Generate embeddings",
     "The 384-d vectors of up to 64 texts, in order, from the configured embedding provider.",
     batch_schema, generate_batch_embeddings},
};

#define N_TOOLS (sizeof tools / sizeof *tools)

/* The knowledge-graph tools (graph/graph_tools.h), on the graph of the
 * environment's data directory. */
static int run_graph_tool(tool_call *c)
{
    ak_err err;
    ak_buf out = {0};
    ak_jw w;
    ak_jw_init(&w, &out);
    ak_code rc = ak_graph_tool_run(c->m->env.graph_path, c->name, c->args, &w, &err);
    if (rc == AK_OK)
        ak_jw_raw(c->w, out.data, out.len);
    ak_buf_free(&out);
    return rc ? tool_error(c, "%s", err.msg) : 1;
}

static const tool graph_tool = {"", "", "", "", run_graph_tool};

static void tools_list(ak_jw *w, const ak_json *id)
{
    reply_start(w, id);
    ak_jw_key(w, "result");
    ak_jw_obj(w);
    ak_jw_key(w, "tools");
    ak_jw_arr(w);
    for (size_t i = 0; i < N_TOOLS + AK_GRAPH_TOOLS; i++) {
        const ak_graph_tool_info *g = i < N_TOOLS ? NULL : ak_graph_tool_at((int)(i - N_TOOLS));
        ak_jw_obj(w);
        ak_jw_kstr(w, "name", g ? g->name : tools[i].name);
        ak_jw_kstr(w, "title", g ? g->title : tools[i].title);
        ak_jw_kstr(w, "description", g ? g->description : tools[i].description);
        const char *schema = g ? g->input_schema : tools[i].input_schema;
        ak_jw_key(w, "inputSchema");
        ak_jw_raw(w, schema, strlen(schema));
        ak_jw_key(w, "outputSchema");
        raw_literal(w, "{\"type\":\"object\"}");
        ak_jw_end(w);
    }
    ak_jw_end(w);
    ak_jw_end(w);
    ak_jw_end(w);
}

static void tools_call(ak_mcp *m, ak_jw *w, const ak_json *id, const ak_json *params)
{
    const ak_json *name = ak_json_get(params, "name");
    const tool *t = NULL;
    for (size_t i = 0; name && name->type == AK_JSON_STRING && i < N_TOOLS; i++)
        if (strcmp(tools[i].name, name->str) == 0)
            t = &tools[i];
    for (int i = 0; !t && name && name->type == AK_JSON_STRING && i < AK_GRAPH_TOOLS; i++)
        if (strcmp(ak_graph_tool_at(i)->name, name->str) == 0)
            t = &graph_tool;
    if (!t) {
        error_reply(w, id, INVALID_PARAMS, name ? "unknown tool" : "params.name: required");
        return;
    }
    ak_buf structured = {0};
    ak_jw sw;
    ak_jw_init(&sw, &structured);
    tool_call c = {m, ak_json_get(params, "arguments"), &sw, "", name->str};
    int ok = t->run(&c);
    reply_start(w, id);
    ak_jw_key(w, "result");
    ak_jw_obj(w);
    ak_jw_key(w, "content");
    ak_jw_arr(w);
    ak_jw_obj(w);
    ak_jw_kstr(w, "type", "text");
    ak_jw_key(w, "text"); /* the JSON as text too, for clients without structured results */
    if (ok)
        ak_jw_strn(w, structured.data, structured.len);
    else
        ak_jw_str(w, c.error);
    ak_jw_end(w);
    ak_jw_end(w);
    if (ok) {
        ak_jw_key(w, "structuredContent");
        ak_jw_raw(w, structured.data, structured.len);
    }
    ak_jw_kbool(w, "isError", !ok);
    ak_jw_end(w);
    ak_jw_end(w);
    ak_buf_free(&structured);
}

/* ---- dispatch ---- */

static void initialize(ak_jw *w, const ak_json *id, const ak_json *params)
{
    const ak_json *v = ak_json_get(params, "protocolVersion");
    const char *chosen = versions[0]; /* the latest, unless the client's is one we speak */
    for (size_t i = 0; v && v->type == AK_JSON_STRING && i < sizeof versions / sizeof *versions; i++)
        if (strcmp(v->str, versions[i]) == 0)
            chosen = versions[i];
    reply_start(w, id);
    ak_jw_key(w, "result");
    ak_jw_obj(w);
    ak_jw_kstr(w, "protocolVersion", chosen);
    ak_jw_key(w, "capabilities");
    raw_literal(w, "{\"tools\":{\"listChanged\":false}}");
    ak_jw_key(w, "serverInfo");
    raw_literal(w, "{\"name\":\"akosha\",\"title\":\"Akosha\",\"version\":\"" AKOSHA_VERSION "\"}");
    ak_jw_kstr(w, "instructions",
               "Akosha holds the conversation memories of many Session-Buddy systems. Use "
               "search_all_systems to find past conversations by words or embedding, "
               "get_conversation to read one, and the status tools to see what is stored.");
    ak_jw_end(w);
    ak_jw_end(w);
}

/* One message; returns 1 if it produced a reply. */
static int one_message(ak_mcp *m, const ak_json *msg, ak_jw *w, int *initialized)
{
    const ak_json *id = ak_json_get(msg, "id"), *method = ak_json_get(msg, "method");
    const ak_json *version = ak_json_get(msg, "jsonrpc");
    if (msg->type != AK_JSON_OBJECT || !version || version->type != AK_JSON_STRING ||
        strcmp(version->str, "2.0") != 0 || (id && id->type != AK_JSON_STRING && id->type != AK_JSON_NUMBER)) {
        error_reply(w, id && (id->type == AK_JSON_STRING || id->type == AK_JSON_NUMBER) ? id : NULL,
                    INVALID_REQUEST, "not a JSON-RPC 2.0 request");
        return 1;
    }
    if (!method) /* a response from the client (we never ask anything): nothing to say */
        return 0;
    if (method->type != AK_JSON_STRING) {
        error_reply(w, id, INVALID_REQUEST, "method must be a string");
        return 1;
    }
    if (!id) /* a notification: initialized, cancelled, ... */
        return 0;
    const ak_json *params = ak_json_get(msg, "params");
    if (params && params->type != AK_JSON_OBJECT && params->type != AK_JSON_NULL) {
        error_reply(w, id, INVALID_PARAMS, "params must be an object");
        return 1;
    }
    if (!strcmp(method->str, "initialize")) {
        initialize(w, id, params);
        *initialized = 1;
    } else if (!strcmp(method->str, "ping")) {
        reply_start(w, id);
        ak_jw_key(w, "result");
        raw_literal(w, "{}");
        ak_jw_end(w);
    } else if (!strcmp(method->str, "tools/list")) {
        tools_list(w, id);
    } else if (!strcmp(method->str, "tools/call")) {
        tools_call(m, w, id, params);
    } else {
        error_reply(w, id, METHOD_NOT_FOUND, "method not found");
    }
    return 1;
}

int ak_mcp_handle(ak_mcp *m, const char *msg, size_t len, ak_buf *out, int *initialized)
{
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root;
    ak_jw w;
    ak_err err;
    int replied = 0;
    *initialized = 0;
    ak_jw_init(&w, out);
    if (!doc || ak_json_parse(doc, msg, len, &root, &err) != AK_OK) {
        error_reply(&w, NULL, PARSE_ERROR, doc ? err.msg : "out of memory");
        replied = 1;
    } else if (root->type == AK_JSON_ARRAY) { /* a batch (2025-03-26 and before) */
        ak_jw_arr(&w);
        for (const ak_json *x = root->first; x; x = x->next)
            replied |= one_message(m, x, &w, initialized);
        ak_jw_end(&w);
        if (!replied || root->n_kids == 0) {
            ak_buf_reset(out);
            ak_jw_init(&w, out);
            if (root->n_kids == 0) {
                error_reply(&w, NULL, INVALID_REQUEST, "empty batch");
                replied = 1;
            }
        }
    } else {
        replied = one_message(m, root, &w, initialized);
    }
    ak_json_doc_free(doc);
    return replied;
}
