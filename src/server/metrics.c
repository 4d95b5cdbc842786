/* metrics.c - see metrics.h. */
#include "server/metrics.h"

#include <microhttpd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "util/time.h"
#include "version.h"

static const double latency_bounds[AK_HIST_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double long_bounds[AK_HIST_BUCKETS] = {
    0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900};

static const char *const route_names[AK_ROUTE_N] = {
    "health", "ready", "metrics", "search", "systems", "uploads", "conversation",
    "ingest", "aging", "mcp", "reingest", "index_reload", "forget", "push", "graph",
    "analytics", "other"};


void ak_hist_observe(ak_histogram *h, double seconds)
{
    int b = 0;
    while (b < AK_HIST_BUCKETS && seconds > h->bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)(seconds * 1e9), memory_order_relaxed);
}

void ak_metrics_init(ak_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->upload_seconds.bounds = long_bounds;
    m->cycle_seconds.bounds = long_bounds;
    m->search_seconds.bounds = latency_bounds;
    for (int r = 0; r < AK_ROUTE_N; r++)
        m->http_seconds[r].bounds = latency_bounds;
    m->push_seconds.bounds = latency_bounds;
    m->started_us = ak_time_now_us();
}

void ak_metrics_http(ak_metrics *m, ak_route r, unsigned status, double seconds)
{
    unsigned cls = status / 100;
    if (r >= AK_ROUTE_N)
        r = AK_ROUTE_OTHER;
    if (cls < 1 || cls > 5)
        cls = 5;
    atomic_fetch_add_explicit(&m->http[r][cls], 1, memory_order_relaxed);
    ak_hist_observe(&m->http_seconds[r], seconds);
}

/* ---- rendering ---- */

static void header(ak_buf *b, const char *name, const char *type, const char *help)
{
    ak_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(ak_buf *b, const char *name, const char *type, const char *help, long long v)
{
    header(b, name, type, help);
    ak_buf_printf(b, "%s %lld\n", name, v);
}

/* One histogram's series; labels ("route=\"search\"") may be "". */
static void hist_series(ak_buf *b, const char *name, const char *labels, ak_histogram *h)
{
    const char *sep = *labels ? "," : "";
    unsigned long long cum = 0;
    for (int i = 0; i < AK_HIST_BUCKETS; i++) {
        cum += atomic_load(&h->bucket[i]);
        ak_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->bounds[i], cum);
    }
    cum += atomic_load(&h->bucket[AK_HIST_BUCKETS]);
    ak_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cum);
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    ak_buf_printf(b, "%s_sum%s%s%s %.9f\n%s_count%s%s%s %llu\n", name, open, labels, close,
                  atomic_load(&h->sum_ns) / 1e9, name, open, labels, close, cum);
}

static void histogram(ak_buf *b, const char *name, const char *help, ak_histogram *h)
{
    header(b, name, "histogram", help);
    hist_series(b, name, "", h);
}

/* Request latency by route: only routes that were asked, each a template
 * name ("conversation"), never a path, id or token. */
static void http_latency(ak_buf *b, ak_metrics *m)
{
    static const char name[] = "akosha_http_request_seconds";
    header(b, name, "histogram", "HTTP request latency, by route.");
    for (int r = 0; r < AK_ROUTE_N; r++) {
        char label[64];
        if (!atomic_load(&m->http_seconds[r].count))
            continue;
        snprintf(label, sizeof label, "route=\"%s\"", route_names[r]);
        hist_series(b, name, label, &m->http_seconds[r]);
    }
}

static void store_series(ak_buf *b, const char *which, ak_store *s, int first)
{
    ak_store_stats st;
    ak_store_stats_get(s, &st);
    if (first)
        header(b, "akosha_objstore_requests_total", "counter",
               "Object-store operations by store, operation and outcome.");
    for (int op = 0; op < AK_STORE_N_OPS; op++) {
        ak_buf_printf(b, "akosha_objstore_requests_total{store=\"%s\",op=\"%s\",status=\"ok\"} %llu\n",
                      which, ak_store_op_name((ak_store_op)op), (unsigned long long)st.ok[op]);
        ak_buf_printf(b, "akosha_objstore_requests_total{store=\"%s\",op=\"%s\",status=\"error\"} %llu\n",
                      which, ak_store_op_name((ak_store_op)op), (unsigned long long)st.failed[op]);
    }
}

static void breaker_series(ak_buf *b, const char *which, ak_store *s, int first)
{
    ak_store_stats st;
    ak_store_stats_get(s, &st);
    if (first) {
        header(b, "akosha_objstore_circuit_state", "gauge",
               "Circuit breaker of an object store: 0 closed, 1 open, 2 half-open.");
    }
    ak_buf_printf(b, "akosha_objstore_circuit_state{store=\"%s\"} %d\n", which, (int)st.breaker);
}

static void stores(ak_buf *b, ak_store *bucket, ak_store *cold)
{
    ak_store *s[2] = {bucket, cold};
    const char *names[2] = {"bucket", "cold"};
    int first = 1;
    for (int i = 0; i < 2; i++)
        if (s[i]) {
            store_series(b, names[i], s[i], first);
            first = 0;
        }
    first = 1;
    for (int i = 0; i < 2; i++)
        if (s[i]) {
            breaker_series(b, names[i], s[i], first);
            first = 0;
        }
}

static void http_series(ak_buf *b, ak_metrics *m)
{
    header(b, "akosha_http_requests_total", "counter", "HTTP requests by route and status class.");
    for (int r = 0; r < AK_ROUTE_N; r++)
        for (int c = 1; c <= 5; c++) {
            long long n = atomic_load(&m->http[r][c]);
            if (n)
                ak_buf_printf(b, "akosha_http_requests_total{route=\"%s\",code=\"%dxx\"} %lld\n",
                              route_names[r], c, n);
        }
}

static void push_series(ak_buf *b, ak_metrics *m)
{
    static const char *const names[] = {"new", "updated", "duplicate", "stale", "rejected"};
    atomic_llong *v[] = {&m->push_new, &m->push_updated, &m->push_duplicates, &m->push_stale,
                         &m->push_rejected};
    header(b, "akosha_push_memories_total", "counter",
           "Memories pushed over HTTP (Session-Buddy's /mcp/v1), by outcome.");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        ak_buf_printf(b, "akosha_push_memories_total{outcome=\"%s\"} %lld\n", names[i],
                      (long long)atomic_load(v[i]));
    header(b, "akosha_push_batches_total", "counter", "Push tool calls, by outcome.");
    ak_buf_printf(b, "akosha_push_batches_total{outcome=\"stored\"} %lld\n",
                  (long long)atomic_load(&m->push_batches_ok));
    ak_buf_printf(b, "akosha_push_batches_total{outcome=\"error\"} %lld\n",
                  (long long)atomic_load(&m->push_batches_failed));
    histogram(b, "akosha_push_seconds", "Push latency: request to durable answer.", &m->push_seconds);
    scalar(b, "akosha_push_shipped_total", "counter", "Pushed batches copied to the bucket.", atomic_load(&m->push_shipped));
    scalar(b, "akosha_push_ship_failures_total", "counter", "Attempts to ship pushed batches that failed (retried).", atomic_load(&m->push_ship_failures));
    scalar(b, "akosha_push_unshipped_batches", "gauge", "Pushed batches kept on local disk, not yet in the bucket.", atomic_load(&m->push_unshipped));
    scalar(b, "akosha_push_data_dir_only_copy", "gauge", "1 when no bucket is configured: pushed data exists only in the data directory.", atomic_load(&m->push_only_copy));
}

void ak_metrics_render(ak_metrics *m, ak_store *bucket, ak_store *cold, ak_buf *b)
{
    header(b, "akosha_uploads_total", "counter", "Uploads settled, by outcome.");
    ak_buf_printf(b, "akosha_uploads_total{outcome=\"ingested\"} %lld\n", (long long)atomic_load(&m->uploads_ingested));
    ak_buf_printf(b, "akosha_uploads_total{outcome=\"rejected\"} %lld\n", (long long)atomic_load(&m->uploads_rejected));
    ak_buf_printf(b, "akosha_uploads_total{outcome=\"failed\"} %lld\n", (long long)atomic_load(&m->uploads_failed));
    scalar(b, "akosha_conversations_ingested_total", "counter", "New conversations stored.", atomic_load(&m->conversations_ingested));
    scalar(b, "akosha_conversations_updated_total", "counter", "Conversations replaced by a newer version.", atomic_load(&m->conversations_updated));
    scalar(b, "akosha_duplicates_skipped_total", "counter", "Records skipped as duplicates.", atomic_load(&m->duplicates_skipped));
    scalar(b, "akosha_records_rejected_total", "counter", "Bad records skipped.", atomic_load(&m->records_rejected));
    scalar(b, "akosha_ingest_backlog", "gauge", "Uploads not yet settled after the last cycle (failed or waiting to retry).", atomic_load(&m->ingest_backlog));
    scalar(b, "akosha_ingest_cycles_total", "counter", "Discovery cycles run.", atomic_load(&m->ingest_cycles));
    scalar(b, "akosha_ingest_last_cycle_timestamp_seconds", "gauge", "When the last discovery cycle finished (Unix time; 0: none yet).", atomic_load(&m->last_cycle_us) / AK_US_PER_SEC);
    scalar(b, "akosha_ingest_cycles_skipped_total", "counter", "Cycles skipped because the bucket's circuit was open.", atomic_load(&m->ingest_cycles_skipped));
    histogram(b, "akosha_ingest_upload_seconds", "Time to apply one upload.", &m->upload_seconds);
    histogram(b, "akosha_ingest_cycle_seconds", "Time of one discovery cycle.", &m->cycle_seconds);
    scalar(b, "akosha_searches_total", "counter", "Searches answered.", atomic_load(&m->searches));
    scalar(b, "akosha_search_errors_total", "counter", "Searches refused or failed.", atomic_load(&m->search_errors));
    scalar(b, "akosha_search_shard_failures_total", "counter", "Shards left out of a search (failed or late).", atomic_load(&m->shard_failures));
    histogram(b, "akosha_search_seconds", "Search latency.", &m->search_seconds);
    header(b, "akosha_conversations", "gauge", "Conversations stored, by tier.");
    ak_buf_printf(b, "akosha_conversations{tier=\"hot\"} %lld\n", (long long)atomic_load(&m->rows_hot));
    ak_buf_printf(b, "akosha_conversations{tier=\"warm\"} %lld\n", (long long)atomic_load(&m->rows_warm));
    ak_buf_printf(b, "akosha_conversations{tier=\"cold\"} %lld\n", (long long)atomic_load(&m->rows_cold));
    scalar(b, "akosha_systems", "gauge", "Systems with a database.", atomic_load(&m->systems));
    scalar(b, "akosha_index_vectors", "gauge", "Vectors in the search index.", atomic_load(&m->index_vectors));
    header(b, "akosha_aging_migrations_total", "counter", "Conversations moved between tiers.");
    ak_buf_printf(b, "akosha_aging_migrations_total{transition=\"hot_to_warm\"} %lld\n", (long long)atomic_load(&m->aged_hot_to_warm));
    ak_buf_printf(b, "akosha_aging_migrations_total{transition=\"warm_to_cold\"} %lld\n", (long long)atomic_load(&m->aged_warm_to_cold));
    header(b, "akosha_retention_dropped_total", "counter", "Conversations dropped by AKOSHA_RETENTION_DAYS, by tier.");
    static const char *const tiers[3] = {"hot", "warm", "cold"};
    for (int t = 0; t < 3; t++)
        ak_buf_printf(b, "akosha_retention_dropped_total{tier=\"%s\"} %lld\n", tiers[t],
                      (long long)atomic_load(&m->retention_dropped[t]));
    scalar(b, "akosha_bucket_pruned_uploads_total", "counter", "Uploads deleted from the bucket by AKOSHA_BUCKET_KEEP_SNAPSHOTS.", atomic_load(&m->pruned_uploads));
    scalar(b, "akosha_bucket_pruned_bytes_total", "counter", "Bytes reclaimed in the bucket by AKOSHA_BUCKET_KEEP_SNAPSHOTS.", atomic_load(&m->pruned_bytes));
    scalar(b, "akosha_aging_runs_total", "counter", "Aging passes run.", atomic_load(&m->aging_runs));
    scalar(b, "akosha_aging_last_run_timestamp_seconds", "gauge", "When the last aging pass finished (Unix time; 0: none yet).", atomic_load(&m->last_aging_us) / AK_US_PER_SEC);
    scalar(b, "akosha_index_broken_systems", "gauge", "System databases the index could not read (their shards fail searches).", atomic_load(&m->index_broken));
    header(b, "akosha_reingests_total", "counter", "Systems rebuilt from the bucket, by outcome.");
    ak_buf_printf(b, "akosha_reingests_total{outcome=\"ok\"} %lld\n", (long long)atomic_load(&m->reingests_ok));
    ak_buf_printf(b, "akosha_reingests_total{outcome=\"failed\"} %lld\n", (long long)atomic_load(&m->reingests_failed));
    header(b, "akosha_forgets_total", "counter", "Systems forgotten (DELETE /v1/systems/ID), by outcome.");
    ak_buf_printf(b, "akosha_forgets_total{outcome=\"ok\"} %lld\n", (long long)atomic_load(&m->forgets_ok));
    ak_buf_printf(b, "akosha_forgets_total{outcome=\"failed\"} %lld\n", (long long)atomic_load(&m->forgets_failed));
    scalar(b, "akosha_index_reloads_total", "counter", "Index refreshes and reloads run.", atomic_load(&m->index_reloads));
    scalar(b, "akosha_index_system_loads_total", "counter",
           "Systems re-indexed because ingestion or aging changed them (once per system per cycle).",
           atomic_load(&m->index_system_loads));
    scalar(b, "akosha_cold_export_failures_total", "counter", "Cold exports that failed (rows stayed warm).", atomic_load(&m->cold_failures));
    push_series(b, m);
    stores(b, bucket, cold);
    scalar(b, "akosha_orchestrator_fallback", "gauge", "1 while Akosha runs cycles itself because Mahavishnu does not answer.", atomic_load(&m->fallback));
    scalar(b, "akosha_mahavishnu_calls_total", "counter", "Cycles offered to Mahavishnu.", atomic_load(&m->mahavishnu_calls));
    scalar(b, "akosha_mahavishnu_failures_total", "counter", "Calls to Mahavishnu that failed.", atomic_load(&m->mahavishnu_failures));
    http_series(b, m);
    scalar(b, "akosha_http_rate_limited_total", "counter", "Requests refused by the rate limit.", atomic_load(&m->rate_limited));
    scalar(b, "akosha_http_unauthorized_total", "counter", "Requests without a valid token.", atomic_load(&m->unauthorized));
    http_latency(b, m);
    scalar(b, "akosha_http_connections", "gauge", "HTTP connections open.", atomic_load(&m->http_conns_open));
    scalar(b, "akosha_http_connections_slow_closed_total", "counter",
           "Connections closed because a request's headers took longer than --header-timeout.",
           atomic_load(&m->http_conns_closed_slow));
    scalar(b, "akosha_http_connections_evicted_total", "counter",
           "Connections still waiting for headers closed to make room (--max-connections).",
           atomic_load(&m->http_conns_evicted));
    scalar(b, "akosha_ready", "gauge", "1 once the index is loaded and while not draining.", atomic_load(&m->ready) && !atomic_load(&m->draining));
    scalar(b, "akosha_draining", "gauge", "1 while shutting down.", atomic_load(&m->draining));
    header(b, "akosha_build_info", "gauge", "Always 1; the labels say what is running.");
    ak_buf_printf(b, "akosha_build_info{version=\"%s\",sqlite=\"%s\",libmicrohttpd=\"%s\"} 1\n",
                  AKOSHA_VERSION, sqlite3_libversion(), MHD_get_version());
    header(b, "akosha_start_time_seconds", "gauge", "When this process started (Unix time).");
    ak_buf_printf(b, "akosha_start_time_seconds %lld\n", (long long)(m->started_us / AK_US_PER_SEC));
}
