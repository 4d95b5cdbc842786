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
 *   - a runner thread that runs cycles and aging passes one at a time (a
 *     cycle never runs twice at once; requests while one runs are merged
 *     into one more run), reloading the index for every system they change.
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

#include "objstore/objstore.h"
#include "query/index.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/orchestrator.h"
#include "storage/datadir.h"
#include "util/pool.h"

typedef struct {
    const char *data_dir, *bucket_url, *cold_url, *listen;
    const char *tokens, *token_file, *mahavishnu_url;
    int64_t poll_us, aging_us, drain_us;
    int64_t hot_days, warm_days;
    unsigned concurrency, http_threads;
    size_t max_body;
    double rate, burst;
    long mahavishnu_timeout_ms;
    int auth_all;              /* also guard /health, /ready, /metrics */
} ak_serve_config;

typedef enum { AK_JOB_NONE, AK_JOB_INGEST, AK_JOB_AGING } ak_job_kind;

typedef struct {
    ak_serve_config cfg;
    ak_datadir *dd;
    ak_store *bucket, *cold;
    ak_index *idx;
    ak_pool *pool;
    ak_auth *auth;
    ak_orch *orch;
    ak_http *http;
    struct ak_mcp *mcp;
    ak_metrics metrics;
    atomic_int ready, draining;
    atomic_int stop, abort;    /* what ingestion and aging watch */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int want_ingest, want_aging, quit;
    ak_job_kind running;
    pthread_t runner, scheduler, loader;
} ak_server;

/* Run the daemon until a signal stops it; returns the exit status. */
int ak_serve_run(const ak_serve_config *cfg);

/* Ask for a cycle or an aging pass; 1 if one of that kind is running now
 * (the request then makes it run once more after). */
int ak_server_request(ak_server *s, ak_job_kind kind);

/* api.c: the routes. */
ak_route_info ak_api_classify(void *ctx, const char *method, const char *path);
void ak_api_handle(void *ctx, const ak_request *req, ak_response *res);

#endif
