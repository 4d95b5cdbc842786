/*
 * metrics.h - the daemon's Prometheus metrics (SPEC section 9).
 *
 * A fixed set of series, updated lock-free (C11 atomics) from any thread
 * and rendered in the Prometheus text exposition format by
 * ak_metrics_render().  Histograms use fixed buckets in seconds.  Gauges
 * that are state snapshots (rows per tier, circuit state, ...) are set by
 * whoever knows them.
 */
#ifndef AK_METRICS_H
#define AK_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "objstore/objstore.h"
#include "util/buf.h"

#define AK_HIST_BUCKETS 14

typedef struct {
    const double *bounds;      /* AK_HIST_BUCKETS upper bounds, seconds */
    atomic_ullong bucket[AK_HIST_BUCKETS + 1]; /* last: +Inf */
    atomic_ullong count;
    atomic_ullong sum_ns;
} ak_histogram;

void ak_hist_observe(ak_histogram *h, double seconds);

/* HTTP routes the metrics distinguish. */
typedef enum {
    AK_ROUTE_HEALTH, AK_ROUTE_READY, AK_ROUTE_METRICS, AK_ROUTE_SEARCH, AK_ROUTE_SYSTEMS,
    AK_ROUTE_UPLOADS, AK_ROUTE_CONVERSATION, AK_ROUTE_INGEST, AK_ROUTE_AGING, AK_ROUTE_MCP,
    AK_ROUTE_REINGEST, AK_ROUTE_RELOAD, AK_ROUTE_FORGET, AK_ROUTE_PUSH, AK_ROUTE_GRAPH,
    AK_ROUTE_ANALYTICS, AK_ROUTE_OTHER, AK_ROUTE_N
} ak_route;


typedef struct {
    /* ingestion */
    atomic_llong uploads_ingested, uploads_rejected, uploads_failed;
    atomic_llong conversations_ingested, conversations_updated, duplicates_skipped,
        records_rejected;
    atomic_llong ingest_backlog;      /* gauge: unsettled uploads after the last cycle */
    atomic_llong ingest_cycles, ingest_cycles_skipped;
    atomic_llong last_cycle_us;       /* gauge: when the last cycle finished, 0 = none */
    ak_histogram upload_seconds;      /* one upload applied */
    ak_histogram cycle_seconds;       /* one discovery cycle */
    /* search */
    atomic_llong searches, search_errors, shard_failures;
    ak_histogram search_seconds;
    /* tiers and aging */
    atomic_llong rows_hot, rows_warm, rows_cold, systems;   /* gauges */
    atomic_llong aged_hot_to_warm, aged_warm_to_cold, aging_runs, cold_failures;
    atomic_llong retention_dropped[3]; /* by tier: hot, warm, cold */
    atomic_llong pruned_uploads, pruned_bytes; /* deleted from the bucket by prune (ops/prune.h) */
    atomic_llong index_vectors, index_broken;                /* gauges */
    atomic_llong last_aging_us;                              /* gauge, 0 = none */
    /* repair */
    atomic_llong reingests_ok, reingests_failed, index_reloads;
    atomic_llong forgets_ok, forgets_failed;
    atomic_llong index_system_loads; /* systems re-indexed after ingestion or aging */
    /* HTTP push (server/push.c): memories by outcome, batches, shipping */
    atomic_llong push_new, push_updated, push_duplicates, push_stale, push_rejected;
    atomic_llong push_batches_ok, push_batches_failed;
    atomic_llong push_shipped, push_ship_failures;
    atomic_llong push_unshipped;      /* gauge: batches in the outbox, not in the bucket */
    atomic_int push_only_copy;        /* gauge 0/1: no bucket, the data directory is all */
    ak_histogram push_seconds;        /* one push request, answer included */
    /* lifecycle gauges, 0/1 */
    atomic_int ready, draining;
    /* orchestrator */
    atomic_int fallback;              /* gauge 0/1 */
    atomic_llong mahavishnu_calls, mahavishnu_failures;
    /* http */
    atomic_llong http[AK_ROUTE_N][6]; /* by route and status class 1xx..5xx (index 1..5) */
    atomic_llong rate_limited, unauthorized;
    /* the slow-client guard (conns.h), copied in before rendering */
    atomic_llong http_conns_open, http_conns_closed_slow, http_conns_evicted;
    ak_histogram http_seconds[AK_ROUTE_N]; /* by route template: a bounded label set */
    int64_t started_us;
} ak_metrics;

void ak_metrics_init(ak_metrics *m);
void ak_metrics_http(ak_metrics *m, ak_route r, unsigned status, double seconds);

/* The exposition text; stores (bucket, cold; either may be NULL) add their
 * request counts and circuit-breaker state. */
void ak_metrics_render(ak_metrics *m, ak_store *bucket, ak_store *cold, ak_buf *out);

#endif
