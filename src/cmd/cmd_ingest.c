/*
 * cmd_ingest.c - `akosha ingest`: run discovery-and-ingestion cycles.
 *
 * With --once, one cycle and exit.  Without, a cycle every --interval
 * seconds until SIGINT/SIGTERM: the first signal lets the uploads in hand
 * finish, a second abandons them (rolled back, redone on the next run).
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "ingest/ingest.h"
#include "objstore/objstore.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/time.h"

typedef struct {
    const char *bucket, *data;
    int once, json, quiet;
    long long concurrency, interval, grace, retry_base, shards;
} ingest_opts;

static void on_upload(void *ctx, const char *sid, const char *uid, ak_upload_status st,
                      const char *reason, const ak_tally *t)
{
    (void)ctx;
    if (st == AK_UPLOAD_REJECTED)
        AK_WARN("ingest", "rejected upload %s/%s: %s", sid, uid, reason);
    else if (st == AK_UPLOAD_FAILED)
        AK_WARN("ingest", "upload %s/%s failed (will retry): %s", sid, uid, reason);
    else if (t && t->rejected)
        AK_INFO("ingest", "upload %s/%s ingested; %lld bad records skipped", sid, uid,
                (long long)t->rejected);
}

/* "\r" progress line, only when stderr is a terminal. */
static void on_progress(void *ctx, const ak_ingest_stats *s, int64_t records)
{
    (void)ctx;
    fprintf(stderr, "\r  %lld uploads done, %lld records read, %lld new conversations   ",
            (long long)(s->uploads_ingested + s->uploads_rejected + s->uploads_failed),
            (long long)records, (long long)s->conversations_ingested);
    fflush(stderr);
}

static void stats_json(ak_buf *b, const ak_ingest_stats *s)
{
    ak_jw w;
    ak_jw_init(&w, b);
    ak_jw_obj(&w);
    ak_jw_kint(&w, "uploads_discovered", s->uploads_discovered);
    ak_jw_kint(&w, "uploads_ingested", s->uploads_ingested);
    ak_jw_kint(&w, "uploads_rejected", s->uploads_rejected);
    ak_jw_kint(&w, "uploads_failed", s->uploads_failed);
    ak_jw_kint(&w, "uploads_deferred", s->uploads_deferred);
    ak_jw_kint(&w, "uploads_known", s->uploads_known);
    ak_jw_kint(&w, "uploads_forgotten", s->uploads_forgotten);
    ak_jw_kint(&w, "conversations_ingested", s->conversations_ingested);
    ak_jw_kint(&w, "duplicates_skipped", s->duplicates_skipped);
    ak_jw_kint(&w, "conversations_updated", s->conversations_updated);
    ak_jw_kint(&w, "stale_skipped", s->stale_skipped);
    ak_jw_kint(&w, "records_rejected", s->records_rejected);
    ak_jw_kint(&w, "systems", s->systems);
    ak_jw_kint(&w, "systems_invalid", s->systems_invalid);
    ak_jw_kint(&w, "systems_failed", s->systems_failed);
    ak_jw_kint(&w, "bytes_read", s->bytes_read);
    ak_jw_kdouble(&w, "seconds", s->seconds);
    ak_jw_end(&w);
}

static void stats_text(ak_buf *b, const ak_ingest_stats *s)
{
    ak_buf_printf(b,
                  "%lld uploads ingested, %lld rejected, %lld failed, %lld deferred "
                  "(%lld new, %lld already settled) from %lld systems in %.2f s\n"
                  "conversations: %lld new, %lld updated, %lld duplicates skipped, "
                  "%lld older versions skipped, %lld bad records skipped\n"
                  "read %.1f MB",
                  (long long)s->uploads_ingested, (long long)s->uploads_rejected,
                  (long long)s->uploads_failed, (long long)s->uploads_deferred,
                  (long long)s->uploads_discovered, (long long)s->uploads_known,
                  (long long)s->systems, s->seconds, (long long)s->conversations_ingested,
                  (long long)s->conversations_updated, (long long)s->duplicates_skipped,
                  (long long)s->stale_skipped, (long long)s->records_rejected,
                  (double)s->bytes_read / 1e6);
    if (s->seconds > 0)
        ak_buf_printf(b, " (%.0f conversations/s)",
                      (double)(s->conversations_ingested + s->conversations_updated +
                               s->duplicates_skipped) / s->seconds);
    if (s->uploads_forgotten)
        ak_buf_printf(b, "\n%lld uploads of forgotten systems held back (akosha forget)",
                      (long long)s->uploads_forgotten);
}

/* Polling: one line per cycle, with the time, short when nothing came. */
static void cycle_line(ak_buf *b, const ak_ingest_stats *s)
{
    char when[AK_TIME_ISO_MAX];
    int64_t now = ak_time_now_us();
    ak_time_format(now - now % AK_US_PER_SEC, when);
    int64_t settled = s->uploads_ingested + s->uploads_rejected;
    if (!settled && !s->uploads_failed && !s->uploads_deferred) {
        ak_buf_printf(b, "%s cycle: nothing new (%lld uploads already settled) in %.2f s", when,
                      (long long)s->uploads_known, s->seconds);
        return;
    }
    ak_buf_printf(b, "%s cycle: %lld uploads ingested, %lld rejected, %lld failed, %lld deferred; "
                     "conversations %lld new, %lld updated, %lld duplicates in %.2f s",
                  when, (long long)s->uploads_ingested, (long long)s->uploads_rejected,
                  (long long)s->uploads_failed, (long long)s->uploads_deferred,
                  (long long)s->conversations_ingested, (long long)s->conversations_updated,
                  (long long)s->duplicates_skipped, s->seconds);
}

static int print_stats(const ingest_opts *o, const ak_ingest_stats *s)
{
    ak_buf b = {0};
    if (o->json)
        stats_json(&b, s);
    else if (!o->once)
        cycle_line(&b, s);
    else
        stats_text(&b, s);
    int rc = ak_cmd_print(&b);
    ak_buf_free(&b);
    return rc;
}

/* --once: a cycle in which anything failed is not a success, even though
 * what failed will be retried (a cron job or a CI step must see it). */
static int once_status(const ak_ingest_stats *s)
{
    if (!s->uploads_failed && !s->systems_failed)
        return AK_EXIT_OK;
    ak_opts_error("ingest", AK_EXIT_FAIL, "%lld uploads failed and %lld systems could not be read; "
            "they are retried on the next run", (long long)s->uploads_failed,
            (long long)s->systems_failed);
    return AK_EXIT_FAIL;
}

/* Sleep up to `seconds`, waking early on a stop request. */
static void nap(long long seconds)
{
    for (long long i = 0; i < seconds * 10 && !atomic_load(&ak_cmd_stop); i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int run_cycles(const ingest_opts *o, const ak_ingest_config *cfg)
{
    for (;;) {
        ak_ingest_stats s;
        ak_err err;
        ak_code rc = ak_ingest_cycle(cfg, &s, &err);
        if (cfg->on_progress)
            fprintf(stderr, "\r\033[K");
        if (rc) {
            ak_opts_error("ingest", AK_EXIT_FAIL, "%s", err.msg); /* polling: goes on */
            if (o->once)
                return AK_EXIT_FAIL;
        } else if (print_stats(o, &s)) {
            return AK_EXIT_FAIL;
        }
        if (o->once)
            return once_status(&s);
        if (atomic_load(&ak_cmd_stop))
            return AK_EXIT_OK;
        nap(o->interval);
        if (atomic_load(&ak_cmd_stop))
            return AK_EXIT_OK;
    }
}

int ak_cmd_ingest(int argc, char **argv)
{
    ingest_opts o = {.concurrency = 4, .interval = 30, .grace = 3600, .retry_base = 30};
    const ak_opt opts[] = {
        {"bucket", "AKOSHA_BUCKET", AK_OPT_STR_REQUIRED, &o.bucket, "URL", "bucket: a directory, file:///path or s3://bucket[/prefix]", 0, 0},
        AK_OPT_DATA(&o.data),
        {"once", NULL, AK_OPT_FLAG, &o.once, NULL, "run one cycle and exit (default: poll)", 0, 0},
        {"concurrency", "AKOSHA_CONCURRENCY", AK_OPT_INT, &o.concurrency, "N", "uploads in flight at most (default 4)", 1, 256},
        {"interval", "AKOSHA_POLL_INTERVAL", AK_OPT_INT, &o.interval, "SECONDS", "seconds between cycles when polling (default 30)", 1, 86400},
        {"grace-seconds", "AKOSHA_GRACE_SECONDS", AK_OPT_INT, &o.grace, "SECONDS", "reject an upload whose payload is still missing after this (default 3600)", 0, 1e9},
        {"retry-base-seconds", "AKOSHA_RETRY_BASE_SECONDS", AK_OPT_INT, &o.retry_base, "SECONDS", "first retry delay of a failed upload, doubling per attempt (default 30; 0 = retry every cycle)", 0, 86400},
        {"shards", "AKOSHA_SHARDS", AK_OPT_INT, &o.shards, "N", "shard count of a new data directory (default 256)", 1, 65536},
        {"quiet", NULL, AK_OPT_FLAG, &o.quiet, NULL, "no progress line on a terminal", 0, 0},
        AK_OPT_JSON(&o.json),
    };
    const ak_cmd_spec spec = {"ingest", "--bucket URL --data DIR [--once] [--concurrency N] [--json]",
                              "Discover new uploads in the bucket and ingest each exactly once.",
                              opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    ak_store *bucket = NULL;
    ak_datadir *dd = NULL;
    ak_err err;
    if ((rc = ak_cmd_open_store("ingest", o.bucket, &bucket)) >= 0)
        return rc;
    if (ak_datadir_open(o.data, 1, (uint32_t)o.shards, &dd, &err)) {
        ak_store_close(bucket);
        return ak_opts_error("ingest", AK_EXIT_FAIL, "%s", err.msg);
    }
    if (ak_cmd_lock_data("ingest", dd, 0)) {
        ak_datadir_close(dd);
        ak_store_close(bucket);
        return AK_EXIT_FAIL;
    }
    ak_cmd_trap_signals();
    /* a first signal ends listings and retries, a second abandons requests */
    ak_store_set_shutdown(bucket, &ak_cmd_stop, &ak_cmd_abort);
    ak_ingest_config cfg = {
        .bucket = bucket, .data = dd, .concurrency = (unsigned)o.concurrency,
        .grace_us = o.grace ? o.grace * AK_US_PER_SEC : 1, /* 0 s: reject at once */
        .retry_base_us = o.retry_base ? o.retry_base * AK_US_PER_SEC : -1,
        .stop = &ak_cmd_stop, .abort = &ak_cmd_abort,
        .on_upload = on_upload,
        .on_progress = !o.quiet && !o.json && isatty(STDERR_FILENO) ? on_progress : NULL,
    };
    if (!o.once)
        ak_log_set_timestamps(1); /* a poller's lines are read later, in a log */
    rc = run_cycles(&o, &cfg);
    ak_datadir_close(dd);
    ak_store_close(bucket);
    return rc;
}
