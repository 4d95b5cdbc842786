/*
 * serve.c - the daemon's lifecycle and its background work (see server.h).
 */
#include "server/server.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph.h"
#include "analytics/prom.h"
#include "query/indexer.h"
#include "query/vindex.h"
#include "ingest/ingest.h"
#include "mcp/mcp.h"
#include "ops/prune.h"
#include "server/embedder.h"
#include "server/push.h"
#include "tier/age.h"
#include "tier/cold.h"
#include "util/log.h"
#include "util/time.h"

/* ---- the runner: one job at a time ---- */

int ak_server_request(ak_server *s, ak_job_kind kind)
{
    pthread_mutex_lock(&s->mu);
    int busy = s->running == kind;
    s->want |= 1u << kind;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return busy;
}

/* Ingestion or aging changed a system's database: rebuild its index. */
static void on_changed(void *ctx, const char *sid)
{
    ak_server *s = ctx;
    ak_err err;
    atomic_fetch_add(&s->metrics.index_system_loads, 1);
    if (ak_index_load_system(s->idx, sid, &err))
        AK_WARN("index", "%s", err.msg);
}

static void on_upload(void *ctx, const char *sid, const char *uid, ak_upload_status st,
                      const char *reason, const ak_tally *t)
{
    ak_server *s = ctx;
    ak_metrics *m = &s->metrics;
    if (st == AK_UPLOAD_INGESTED) {
        atomic_fetch_add(&m->uploads_ingested, 1);
        atomic_fetch_add(&m->conversations_ingested, t->new_count);
        atomic_fetch_add(&m->conversations_updated, t->updated);
        atomic_fetch_add(&m->duplicates_skipped, t->duplicates);
        atomic_fetch_add(&m->records_rejected, t->rejected);
        ak_hist_observe(&m->upload_seconds, t->seconds);
        AK_INFO("ingest", "ingested %s/%s: %lld new, %lld updated, %lld duplicates in %.2f s", sid,
                uid, (long long)t->new_count, (long long)t->updated, (long long)t->duplicates,
                t->seconds);
    } else if (st == AK_UPLOAD_REJECTED) {
        atomic_fetch_add(&m->uploads_rejected, 1);
        AK_WARN("ingest", "rejected %s/%s: %s", sid, uid, reason);
    } else {
        atomic_fetch_add(&m->uploads_failed, 1);
        AK_WARN("ingest", "%s/%s failed, will retry: %s", sid, uid, reason);
    }
}

/* Tier and system gauges, recounted after the data changed. */
typedef struct {
    ak_server *s;
    int64_t systems, hot, warm, cold;
} totals;

static ak_code add_counts(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard, (void)path;
    totals *t = ctx;
    ak_server *s = t->s;
    ak_sysdb *db;
    ak_sysdb_counts c;
    ak_err err;
    uint64_t rows[3];
    if (ak_index_row_counts(s->idx, sid, rows)) { /* as loaded: no database opened */
        t->hot += (int64_t)rows[0], t->warm += (int64_t)rows[1], t->cold += (int64_t)rows[2];
    } else if (ak_index_db_get(s->idx, sid, &db, &err) == AK_OK) {
        if (ak_sysdb_counts_get(db, &c, &err) == AK_OK) {
            t->hot += c.hot, t->warm += c.warm, t->cold += c.cold;
            ak_index_db_put(s->idx, sid, db);
        } else {
            ak_sysdb_close(db);
        }
    }
    t->systems++;
    return AK_OK;
}

/* The indexer's busy test: requests being answered go before linking. */
static int answering(void *ctx)
{
    ak_server *s = ctx;
    return ak_http_in_flight(s->http) > 0;
}

static void recount(ak_server *s)
{
    totals t = {.s = s};
    ak_err err;
    if (ak_datadir_each_system(s->dd, add_counts, &t, &err))
        return;
    atomic_store(&s->metrics.systems, t.systems);
    atomic_store(&s->metrics.rows_hot, t.hot);
    atomic_store(&s->metrics.rows_warm, t.warm);
    atomic_store(&s->metrics.rows_cold, t.cold);
    ak_index_stats st;
    ak_index_stats_get(s->idx, &st);
    atomic_store(&s->metrics.index_vectors, (long long)st.vectors);
    atomic_store(&s->metrics.index_broken, (long long)st.broken_systems);
}

/* After a cycle that ingested something: the bucket's own growth. */
static void run_prune(ak_server *s)
{
    ak_prune_config cfg = {.data = s->dd, .bucket = s->bucket, .keep = s->cfg.bucket_keep};
    ak_prune_stats ps;
    ak_err err;
    if (ak_prune_bucket(&cfg, &ps, &err)) {
        AK_WARN("prune", "pruning the bucket failed: %s", err.msg);
        return;
    }
    atomic_fetch_add(&s->metrics.pruned_uploads, ps.uploads_pruned + ps.uploads_resumed);
    atomic_fetch_add(&s->metrics.pruned_bytes, ps.bytes);
    if (ps.uploads_pruned || ps.uploads_resumed || ps.systems_failed)
        AK_INFO("prune", "bucket: %lld uploads pruned (%.2f MB reclaimed), %lld kept as the "
                         "latest source of a memory, %lld systems failed, in %.2f s",
                (long long)(ps.uploads_pruned + ps.uploads_resumed), ps.bytes / 1e6,
                (long long)ps.uploads_pinned, (long long)ps.systems_failed, ps.seconds);
}

static void run_ingest(ak_server *s)
{
    if (!s->bucket)
        return; /* said once at start: serve without a bucket only searches */
    ak_store_stats st;
    ak_store_stats_get(s->bucket, &st);
    if (st.breaker == AK_BREAKER_OPEN) { /* the store is down: nothing lost, try next time */
        atomic_fetch_add(&s->metrics.ingest_cycles_skipped, 1);
        AK_WARN("ingest", "cycle skipped: the bucket's circuit breaker is open");
        return;
    }
    ak_ingest_config cfg = {
        .bucket = s->bucket, .data = s->dd, .concurrency = s->cfg.concurrency,
        .grace_us = s->cfg.grace_us, .retry_base_us = s->cfg.retry_base_us,
        .stop = &s->stop, .abort = &s->abort, .on_upload = on_upload, .on_changed = on_changed,
        .ctx = s,
    };
    ak_ingest_stats is;
    ak_err err;
    ak_orch_cycle_ran(s->orch);
    if (ak_ingest_cycle(&cfg, &is, &err)) {
        AK_WARN("ingest", "cycle failed: %s", err.msg);
        return;
    }
    atomic_fetch_add(&s->metrics.ingest_cycles, 1);
    atomic_store(&s->metrics.last_cycle_us, ak_time_now_us());
    atomic_store(&s->metrics.ingest_backlog, is.uploads_failed + is.uploads_deferred);
    ak_hist_observe(&s->metrics.cycle_seconds, is.seconds);
    if (is.uploads_ingested)
        ak_embedder_kick(s->embedder); /* vectors for what came without */
    AK_INFO("ingest", "cycle: %lld ingested, %lld rejected, %lld failed, %lld deferred in %.2f s",
            (long long)is.uploads_ingested, (long long)is.uploads_rejected,
            (long long)is.uploads_failed, (long long)is.uploads_deferred, is.seconds);
    if (is.uploads_ingested && s->cfg.bucket_keep > 0 && !atomic_load(&s->stop))
        run_prune(s);
}

static void run_aging(ak_server *s)
{
    ak_age_config cfg = {
        .data = s->dd, .cold = s->cold, .hot_days = s->cfg.hot_days,
        .warm_days = s->cfg.warm_days, .retention_days = s->cfg.retention_days,
        .stop = &s->stop, .on_changed = on_changed, .ctx = s,
    };
    ak_age_stats as;
    ak_err err;
    if (ak_age_run(&cfg, &as, &err)) {
        AK_WARN("age", "aging pass failed: %s", err.msg);
        return;
    }
    atomic_fetch_add(&s->metrics.aging_runs, 1);
    atomic_store(&s->metrics.last_aging_us, ak_time_now_us());
    atomic_fetch_add(&s->metrics.aged_hot_to_warm, as.hot_to_warm.rows);
    atomic_fetch_add(&s->metrics.aged_warm_to_cold, as.warm_to_cold.rows);
    atomic_fetch_add(&s->metrics.cold_failures, as.cold_failures);
    atomic_fetch_add(&s->metrics.retention_dropped[0], as.dropped.hot);
    atomic_fetch_add(&s->metrics.retention_dropped[1], as.dropped.warm);
    atomic_fetch_add(&s->metrics.retention_dropped[2], as.dropped.cold);
    AK_INFO("age", "aging: %lld hot->warm, %lld warm->cold, %lld cold failures, %lld past "
                   "retention dropped in %.2f s",
            (long long)as.hot_to_warm.rows, (long long)as.warm_to_cold.rows,
            (long long)as.cold_failures,
            (long long)(as.dropped.hot + as.dropped.warm + as.dropped.cold), as.seconds);
}

/* Bring the index in line with the data directory: after a rebuild by
 * `akosha reingest`, an ingest by another process, or a deleted database. */
static int run_refresh(ak_server *s, int all)
{
    size_t reloaded, removed;
    ak_err err;
    int64_t t0 = ak_time_mono_us();
    if (ak_index_refresh(s->idx, s->pool, all, &reloaded, &removed, &err)) {
        AK_WARN("index", "refreshing the index: %s", err.msg);
        return 1;
    }
    atomic_fetch_add(&s->metrics.index_reloads, 1);
    if (all || reloaded || removed)
        AK_INFO("index", "%s: %zu systems loaded, %zu forgotten in %.2f s",
                all ? "reload" : "refresh", reloaded, removed,
                (double)(ak_time_mono_us() - t0) / 1e6);
    return all || reloaded || removed;
}

/* Returns 1 when the job may have changed what the gauges count. */
static int run_job(ak_server *s, ak_job_kind k)
{
    switch (k) {
    case AK_JOB_INGEST: run_ingest(s); return 1;
    case AK_JOB_AGING: run_aging(s); return 1;
    case AK_JOB_REFRESH: return run_refresh(s, 0);
    case AK_JOB_RELOAD: return run_refresh(s, 1);
    case AK_JOB_REINGEST: ak_server_run_reingests(s); return 1;
    default: return 0;
    }
}

/* Repairs first, then ingestion, then aging: each kind is requested at most
 * once at a time, so none waits longer than one of each of the others. */
static ak_job_kind next_job(unsigned want)
{
    static const ak_job_kind order[] = {AK_JOB_RELOAD, AK_JOB_REINGEST, AK_JOB_REFRESH,
                                        AK_JOB_INGEST, AK_JOB_AGING};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (want & (1u << order[i]))
            return order[i];
    return AK_JOB_NONE;
}

static void *runner(void *arg)
{
    ak_server *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->quit && !s->want)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->quit || atomic_load(&s->stop))
            break;
        ak_job_kind k = next_job(s->want);
        s->want &= ~(1u << k);
        s->running = k;
        pthread_mutex_unlock(&s->mu);
        /* before ready the index is still loading: a recount would open
         * every database not installed yet (the loader counts at ready) */
        if (run_job(s, k) && atomic_load(&s->metrics.ready))
            recount(s);
        pthread_mutex_lock(&s->mu);
        s->running = AK_JOB_NONE;
        pthread_cond_broadcast(&s->cv);
    }
    s->running = AK_JOB_NONE;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- the scheduler ---- */

/* Sleep until `until` (monotonic) or quit; returns 0 on quit. */
static int sleep_until(ak_server *s, int64_t until)
{
    pthread_mutex_lock(&s->mu);
    while (!s->quit && ak_time_mono_us() < until) {
        int64_t t = until;
        struct timespec ts = {(time_t)(t / AK_US_PER_SEC), (long)(t % AK_US_PER_SEC) * 1000};
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    int go = !s->quit;
    pthread_mutex_unlock(&s->mu);
    return go;
}

static void *scheduler(void *arg)
{
    ak_server *s = arg;
    int64_t next_poll = ak_time_mono_us(), next_aging = next_poll + s->cfg.aging_us;
    while (sleep_until(s, next_poll < next_aging ? next_poll : next_aging)) {
        int64_t now = ak_time_mono_us();
        if (now >= next_poll) {
            next_poll = now + s->cfg.poll_us;
            if (atomic_load(&s->metrics.ready)) {
                ak_server_request(s, AK_JOB_REFRESH);
                ak_embedder_kick(s->embedder); /* pushed memories without a vector, too */
            }
            if (ak_orch_tick(s->orch))
                ak_server_request(s, AK_JOB_INGEST);
            long long calls, failures;
            ak_orch_counts(s->orch, &calls, &failures);
            atomic_store(&s->metrics.mahavishnu_calls, calls);
            atomic_store(&s->metrics.mahavishnu_failures, failures);
            atomic_store(&s->metrics.fallback, ak_orch_mode_get(s->orch) == AK_ORCH_FALLBACK);
        }
        if (now >= next_aging) {
            next_aging = now + s->cfg.aging_us;
            ak_server_request(s, AK_JOB_AGING);
        }
    }
    return NULL;
}

static void *loader(void *arg)
{
    ak_server *s = arg;
    ak_err err;
    int64_t t0 = ak_time_mono_us();
    if (ak_index_load_all(s->idx, s->pool, &err))
        AK_ERROR("index", "loading the index: %s", err.msg);
    ak_index_stats st;
    ak_index_stats_get(s->idx, &st);
    recount(s);
    atomic_store(&s->metrics.ready, 1);
    recount(s); /* a job that ended in between skipped its own (runner) */
    ak_indexer *ix = NULL;
    if (ak_indexer_start(s->idx, s->vindex, answering, s, &ix, &err))
        AK_WARN("vindex", "%s: searches scan every vector", err.msg);
    atomic_store(&s->indexer, ix);
    ak_embedder_kick(s->embedder); /* memories stored without a vector before */
    AK_INFO("index", "index ready: %llu systems, %llu vectors in %.2f s",
            (unsigned long long)st.systems, (unsigned long long)st.vectors,
            (double)(ak_time_mono_us() - t0) / 1e6);
    ak_index_sum_unopened(s->idx, &s->stop); /* the checksums a ready start skipped */
    return NULL;
}

/* ---- start, drain, stop ---- */

static ak_code open_parts(ak_server *s, ak_err *err)
{
    const ak_serve_config *c = &s->cfg;
    ak_code rc = ak_datadir_open(c->data_dir, 1, 0, &s->dd, err);
    if (rc == AK_OK)
        rc = ak_datadir_lock(s->dd, 0, err);
    if (rc == AK_OK && c->bucket_url && *c->bucket_url)
        rc = ak_store_open(c->bucket_url, &s->bucket, err);
    if (rc == AK_OK)
        rc = ak_cold_open(s->dd, c->cold_url, &s->cold, err);
    /* drain (stop) ends listings and retries; its end (abort) abandons
     * requests still in flight, so that a store that hangs cannot hold the
     * process past the drain period */
    if (s->bucket)
        ak_store_set_shutdown(s->bucket, &s->stop, &s->abort);
    if (s->cold)
        ak_store_set_shutdown(s->cold, &s->stop, &s->abort);
    if (rc == AK_OK)
        rc = ak_pool_new(0, &s->pool, err);
    if (rc == AK_OK)
        rc = ak_index_new(s->dd, &s->idx, err);
    if (rc == AK_OK)
        rc = ak_vindex_open_in(s->dd, 1, &s->vindex, err);
    if (rc == AK_OK) {
        ak_index_set_vindex(s->idx, s->vindex);
        ak_index_set_segfiles(s->idx, AK_SEGFILES_WRITE);
    }
    if (rc == AK_OK)
        rc = ak_auth_new(c->tokens, c->token_file, c->rate, c->burst, &s->auth, err);
    if (rc == AK_OK)
        rc = ak_auth_new(c->admin_tokens, NULL, 0, 0, &s->admin, err);
    if (rc == AK_OK)
        rc = ak_orch_new(c->mahavishnu_url, c->poll_us, c->mahavishnu_timeout_ms, &s->orch, err);
    if (rc == AK_OK)
        rc = ak_embed_new(&c->embed, &s->embed, err);
    if (rc == AK_OK)
        rc = ak_embedder_start(s->dd, s->embed, s->idx, &s->embedder, err);
    if (rc == AK_OK)
        rc = ak_graph_path(s->dd, s->graph_path, sizeof s->graph_path, err);
    ak_mcp_env env = {s->idx, s->pool, s->cold, &s->metrics.ready, s->embed, s->graph_path};
    if (rc == AK_OK)
        rc = ak_mcp_new(&env, &s->mcp, err);
    ak_push_env penv = {s->dd, s->bucket, s->idx, &s->metrics};
    if (rc == AK_OK)
        rc = ak_push_new(&penv, &s->push, err);
    return rc;
}

static void close_parts(ak_server *s)
{
    /* first: it asks the HTTP server whether requests are in flight
     * (answering()); changes after it stopped are synced at the next start */
    ak_indexer_stop(atomic_load(&s->indexer));
    ak_http_stop(s->http);
    ak_push_free(s->push);
    ak_mcp_free(s->mcp);
    ak_embedder_stop(s->embedder);
    ak_embed_free(s->embed);
    ak_orch_free(s->orch);
    ak_auth_free(s->auth);
    ak_auth_free(s->admin);
    ak_an_prom_reset(); /* its cache read this index */
    ak_pool_free(s->pool); /* first: a search's late shard jobs still read the index */
    ak_index_free(s->idx);
    ak_vindex_free(s->vindex);
    ak_store_close(s->cold);
    ak_store_close(s->bucket);
    ak_datadir_close(s->dd);
}

/* Wait for a signal; with a deadline (monotonic, 0 = none) returns 0 when
 * it passed first. */
static int wait_signal(const sigset_t *set, int64_t deadline_us, int (*done)(ak_server *),
                       ak_server *s)
{
    for (;;) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        if (sigtimedwait(set, NULL, &ts) > 0)
            return 1;
        if (done && done(s))
            return 0;
        if (deadline_us && ak_time_mono_us() > deadline_us)
            return 0;
    }
}

static int drained(ak_server *s)
{
    pthread_mutex_lock(&s->mu);
    int idle = s->running == AK_JOB_NONE;
    pthread_mutex_unlock(&s->mu);
    return idle && ak_http_in_flight(s->http) == 0;
}

static void shutdown_gracefully(ak_server *s, const sigset_t *set)
{
    AK_INFO("serve", "draining: no new connections or cycles; waiting up to %lld s",
            (long long)(s->cfg.drain_us / AK_US_PER_SEC));
    atomic_store(&s->metrics.draining, 1);
    atomic_store(&s->stop, 1); /* uploads in hand finish; no new ones start */
    ak_http_drain(s->http);
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    int64_t deadline = ak_time_mono_us() + s->cfg.drain_us;
    if (!drained(s) && wait_signal(set, deadline, drained, s))
        AK_WARN("serve", "second signal: abandoning work in flight (it rolls back)");
    if (!drained(s))
        AK_WARN("serve", "drain period over: abandoning work in flight (it rolls back)");
    atomic_store(&s->abort, 1);
}

static ak_code start(ak_server *s, ak_err *err)
{
    ak_code rc = open_parts(s, err);
    ak_http_config hc = {
        .listen = s->cfg.listen, .max_body = s->cfg.max_body, .threads = s->cfg.http_threads,
        .tls_cert = s->cfg.tls_cert, .tls_key = s->cfg.tls_key,
        .allow_plain_http = s->cfg.allow_plain_http,
        .header_timeout_us = s->cfg.header_timeout_us, .max_conns = s->cfg.max_conns,
        .max_conns_per_client = s->cfg.max_conns_per_client,
        .auth = s->auth, .metrics = &s->metrics, .classify = ak_api_classify,
        .handle = ak_api_handle, .ctx = s,
    };
    if (rc == AK_OK)
        rc = ak_http_start(&hc, &s->http, err);
    if (rc == AK_OK) {
        pthread_create(&s->loader, NULL, loader, s);
        pthread_create(&s->runner, NULL, runner, s);
        pthread_create(&s->scheduler, NULL, scheduler, s);
    }
    return rc;
}

int ak_serve_run(const ak_serve_config *cfg)
{
    static ak_server server; /* one per process; lives until exit */
    ak_server *s = &server;
    ak_err err;
    s->cfg = *cfg;
    ak_metrics_init(&s->metrics);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* Signals go to this thread's sigtimedwait only: block them before any
     * thread starts so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (start(s, &err)) {
        AK_ERROR("serve", "%s", err.msg);
        close_parts(s);
        return 1;
    }
    if (!s->bucket)
        AK_WARN("serve", "no bucket configured (--bucket or AKOSHA_BUCKET): ingestion is off");
    AK_INFO("serve", "listening on %s (port %u, %s); bucket %s; cold %s; orchestrator %s; "
            "embeddings %s", cfg->listen, ak_http_port(s->http),
            cfg->tls_cert ? "HTTPS" : "plain HTTP", s->bucket ? ak_store_url(s->bucket) : "(none)",
            ak_store_url(s->cold), ak_orch_mode_name(ak_orch_mode_get(s->orch)),
            ak_embed_describe(s->embed));
    wait_signal(&set, 0, NULL, s);
    shutdown_gracefully(s, &set);
    pthread_join(s->scheduler, NULL);
    pthread_join(s->runner, NULL);
    pthread_join(s->loader, NULL);
    close_parts(s);
    curl_global_cleanup();
    AK_INFO("serve", "stopped");
    return 0;
}
