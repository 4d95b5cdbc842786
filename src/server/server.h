/*
 * server.h - `akosha serve`: the daemon of SPEC section 9.
 *
 * What runs:
 *   - the HTTP API (http.c routes to api.c) on loopback:8682 by default;
 *   - a loader thread that builds the search index at start (/ready is 503
 *     until it is done);
 *   - a scheduler thread: every poll interval it lets the orchestrator
 *     link decide whether Akosha runs the ingestion cycle itself
 *     (standalone, fallback) or Mahavishnu will ask for it (normal); every
 *     aging interval it asks for an aging pass;
 *   - a runner thread that runs cycles, aging passes, index refreshes and
 *     rebuilds one at a time (a job never runs twice at once; requests
 *     while one runs are merged into one more run), reloading the index for
 *     every system they change.  Running rebuilds on the same thread as
 *     ingestion and aging is what makes the file swap of a rebuild safe.
 *
 * Shutdown (SIGTERM/SIGINT): stop accepting connections and discovering,
 * let requests and uploads in flight finish for up to the drain period,
 * then abandon what is left (its transactions roll back), close, exit 0.
 * A second signal skips the drain.
 */
#ifndef AK_SERVER_H
#define AK_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "embed/embed.h"
#include "objstore/objstore.h"
#include "ops/forget.h"
#include "ops/reingest.h"
#include "query/index.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/orchestrator.h"
#include "storage/datadir.h"
#include "util/ids.h"
#include "util/jsonw.h"
#include "util/pool.h"

typedef struct {
    const char *data_dir, *bucket_url, *cold_url, *listen;
    const char *tokens, *token_file, *mahavishnu_url;
    const char *tls_cert, *tls_key; /* HTTPS: both or neither */
    int allow_plain_http;           /* tokens beyond loopback without TLS */
    int64_t header_timeout_us;      /* as ak_http_config */
    unsigned max_conns, max_conns_per_client;
    const char *admin_tokens;  /* AKOSHA_ADMIN_TOKENS: who may DELETE a system */
    int64_t poll_us, aging_us, drain_us;
    int64_t hot_days, warm_days;
    int64_t retention_days;    /* 0: keep everything */
    int64_t bucket_keep;       /* AKOSHA_BUCKET_KEEP_SNAPSHOTS: prune after a cycle (ops/prune.h); 0 off */
    int64_t grace_us, retry_base_us; /* as ak_ingest_config */
    unsigned concurrency, http_threads;
    size_t max_body;
    size_t push_max_body;      /* body limit of Session-Buddy's push (push.c) */
    double rate, burst;
    long mahavishnu_timeout_ms;
    int auth_all;              /* also guard /health, /ready, /metrics */
    ak_embed_config embed;     /* the embedding provider (none: no url) */
} ak_serve_config;

/* Background jobs, run one at a time by the runner thread. */
typedef enum {
    AK_JOB_NONE,
    AK_JOB_INGEST,   /* a discovery cycle */
    AK_JOB_AGING,    /* an aging pass */
    AK_JOB_REFRESH,  /* load systems whose database file changed (every poll) */
    AK_JOB_RELOAD,   /* load every system again (POST /v1/index/reload) */
    AK_JOB_REINGEST, /* rebuild the queued systems (POST /v1/systems/{id}/reingest) */
    AK_JOB_KINDS
} ak_job_kind;

/* One requested rebuild (or forget: DELETE /v1/systems/{id}), kept after
 * it finished so its outcome can be asked for. */
typedef enum { AK_RJ_QUEUED, AK_RJ_RUNNING, AK_RJ_DONE, AK_RJ_FAILED } ak_rj_state;
typedef struct {
    char system_id[AK_SYSTEM_ID_MAX + 1]; /* "" = free slot */
    ak_rj_state state;
    int force;
    int forget, purge_bucket;  /* a forget instead of a rebuild */
    int64_t requested_us, finished_us;
    ak_reingest_result result;
    ak_forget_result forgotten;
    char error[AK_ERR_MSG_MAX];
} ak_reingest_job;
#define AK_REINGEST_JOBS 32

typedef struct {
    ak_serve_config cfg;
    ak_datadir *dd;
    char graph_path[AK_PATH_MAX]; /* the knowledge graph, <data>/graph.db */
    ak_store *bucket, *cold;
    ak_index *idx;
    struct ak_vindex *vindex;   /* the ANN index searches ask first (query/vindex.h) */
    /* keeps it in step; set by the loader thread once the index loaded,
     * read by /metrics meanwhile, hence atomic */
    struct ak_indexer *_Atomic indexer;
    ak_pool *pool;
    ak_auth *auth;
    ak_auth *admin;            /* AKOSHA_ADMIN_TOKENS (no rate limit of its own) */
    ak_orch *orch;
    ak_http *http;
    struct ak_mcp *mcp;
    ak_embed *embed;           /* NULL: words are searched as keywords */
    struct ak_embedder *embedder; /* background embedding (embedder.h) */
    struct ak_push *push;
    ak_metrics metrics;
    atomic_int stop, abort;    /* what ingestion and aging watch */
    pthread_mutex_t mu;        /* guards what follows */
    pthread_cond_t cv;
    unsigned want;             /* bit per ak_job_kind requested */
    int quit;
    ak_job_kind running;
    ak_reingest_job reingests[AK_REINGEST_JOBS];
    pthread_t runner, scheduler, loader;
} ak_server;

/* Run the daemon until a signal stops it; returns the exit status. */
int ak_serve_run(const ak_serve_config *cfg);

/* Ask for a job; 1 if one of that kind is running now (the request then
 * makes it run once more after). */
int ak_server_request(ak_server *s, ak_job_kind kind);

/* repair.c: the reingest queue.  request validates nothing (the caller
 * has checked the id); AK_ERR_BUSY when the queue is full.  A request for
 * a system already queued or running returns that one. */
ak_code ak_server_reingest_request(ak_server *s, const char *system_id, int force, ak_err *err);
/* Write the job for system_id as a JSON object; 0 when none is known. */
int ak_server_reingest_status(ak_server *s, const char *system_id, ak_jw *w);
/* The same queue forgets systems: AK_ERR_BUSY also when a rebuild of it
 * is queued or running.  wait_us > 0 waits that long for it to finish;
 * returns with the job's state either way. */
ak_code ak_server_forget_request(ak_server *s, const char *system_id, int purge_bucket,
                                 int64_t wait_us, ak_rj_state *state, ak_err *err);
/* Run the queued rebuilds and forgets (the runner's AK_JOB_REINGEST). */
void ak_server_run_reingests(ak_server *s);

/* api.c: the routes. */
ak_route_info ak_api_classify(void *ctx, const char *method, const char *path);
void ak_api_handle(void *ctx, const ak_request *req, ak_response *res);

#endif
