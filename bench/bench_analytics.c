/*
 * bench_analytics.c - analytics query latency over a year of daily series,
 * and what keeping the rollup costs ingestion.
 *
 *   bench_analytics DIR [SYSTEMS] [DAYS]      (default 1000 systems, 365 days)
 *
 * Builds (once; reused when DIR holds it) SYSTEMS system databases, each
 * with DAYS days of memories: 0-9 a day over 3 projects and 2 categories,
 * a weekly rhythm and a slow trend, written as rollup facts (and daily
 * counted from them: the sums ingestion would have written).  Then times, as the tools run
 * them (connections from the index's cache, as in the daemon, whose
 * descriptor limit lets it keep every system's open):
 *   trends of one system over DAYS days; of the fleet; anomalies over the
 *   fleet; correlate over 30 days and over DAYS days; get_system_metrics
 *   of the fleet; the Prometheus gauges (one uncached scan)
 * and, on one system of 100,000 memories: ak_sysdb_put_record with the
 * rollup, the rollup's share of it (the fact upserts alone), and a day
 * series read from the rollup against computing it from the facts.
 * Prints one JSON object.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "analytics/analytics.h"
#include "analytics/prom.h"
#include "storage/rollup.h"
#include "util/sha256.h"
#include "util/time.h"

#define END_DAY 20600 /* 2026-05-27 */
#define PROBE 100000

static ak_datadir *dd;
static ak_index *idx;

static void die(const char *what, const ak_err *err)
{
    fprintf(stderr, "bench_analytics: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* The bench's own connection to db's file, for facts written directly and
 * the rollup's raw read times (storage keeps its handle to itself). */
static sqlite3 *own_connection(ak_sysdb *db)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(ak_sysdb_path(db), &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die(ak_sysdb_path(db), NULL);
    sqlite3_busy_timeout(h, 10000);
    return h;
}

static uint64_t rng = 88172645463325252ULL;
static unsigned next(unsigned n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng >> 33) % n;
}

static void build_system(const char *sid, int days)
{
    ak_sysdb *db;
    ak_err err;
    sqlite3_stmt *st;
    if (ak_datadir_open_system(dd, sid, 1, &db, &err))
        die(sid, &err);
    sqlite3 *h = own_connection(db);
    sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
    sqlite3_prepare_v2(h, "INSERT INTO conv_facts VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6)", -1, &st, NULL);
    static const char *const projects[] = {"akosha", "session-buddy", "infra"};
    for (int d = 0; d < days; d++) {
        int64_t day = END_DAY - days + 1 + d;
        unsigned n = next(6) + (d % 7 < 5 ? 4 : 0) + (unsigned)(d / 120);
        for (unsigned k = 0; k < n; k++) {
            char id[48];
            snprintf(id, sizeof id, "%d-%u", d, k);
            sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 2, day);
            sqlite3_bind_text(st, 3, projects[next(3)], -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, next(2) ? "bug" : "feature", -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 5, next(10) == 0);
            sqlite3_bind_int64(st, 6, 200 + next(4000));
            sqlite3_step(st);
            sqlite3_reset(st);
        }
    }
    sqlite3_finalize(st);
    sqlite3_exec(h, AK_ROLLUP_RECOUNT_SQL("1") "; COMMIT", NULL, NULL, NULL);
    sqlite3_close(h);
    ak_sysdb_close(db);
}

/* Median seconds of reps runs of tool t. */
static double time_tool(ak_an_tool t, const char *metric, const char *sid, int64_t days, int reps)
{
    double best[64];
    ak_an_params p;
    ak_err err;
    reps = reps > 64 ? 64 : reps;
    for (int r = 0; r < reps; r++) {
        ak_an_params_init(&p, t, (int64_t)END_DAY * AK_US_PER_DAY);
        p.metric_name = metric;
        p.system_id = sid;
        p.days = days;
        ak_buf b = {0};
        ak_jw w;
        ak_jw_init(&w, &b);
        int64_t t0 = ak_time_mono_us();
        if (ak_an_run(idx, t, &p, &w, &err))
            die("tool", &err);
        best[r] = (double)(ak_time_mono_us() - t0) / 1e6;
        ak_buf_free(&b);
    }
    for (int i = 1; i < reps; i++) /* insertion sort: a handful */
        for (int j = i; j > 0 && best[j] < best[j - 1]; j--) {
            double x = best[j];
            best[j] = best[j - 1];
            best[j - 1] = x;
        }
    return best[reps / 2];
}

typedef struct {
    double put_us, fact_us, rollup_read_us, facts_read_us;
} probe_result;

static double time_sql(sqlite3 *h, const char *sql, int reps)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    int64_t t0 = ak_time_mono_us();
    for (int r = 0; r < reps; r++) {
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return (double)(ak_time_mono_us() - t0) / reps;
}

/* put_record with the rollup, then the rollup's statements alone. */
static probe_result probe(const char *dir)
{
    char path[1100];
    ak_sysdb *db;
    ak_err err;
    probe_result pr;
    snprintf(path, sizeof path, "%s/probe.db", dir);
    remove(path);
    if (ak_sysdb_open(path, 1, &db, &err))
        die("probe", &err);
    const char *meta = "{\"project\":\"akosha\",\"category\":\"bug\",\"type\":\"conversation\"}";
    ak_upload_order up = {1, "u1"};
    char id[32], text[600];
    ak_sysdb_begin(db, &err);
    int64_t t0 = ak_time_mono_us();
    for (int i = 0; i < PROBE; i++) {
        ak_record r;
        ak_put_result res;
        memset(&r, 0, sizeof r);
        snprintf(id, sizeof id, "c%d", i);
        int n = snprintf(text, sizeof text, "conversation %d about the rollup and its cost, "
                         "with enough words to look like a memory of a coding session %d", i, i * 7);
        r.id = id, r.id_len = strlen(id), r.content = text, r.content_len = (size_t)n;
        ak_sha256(text, (size_t)n, r.content_sha256);
        r.ts_us = ((int64_t)END_DAY - 365 + i % 365) * AK_US_PER_DAY;
        r.source = "bench", r.source_len = 5, r.metadata = meta, r.metadata_len = strlen(meta);
        if (ak_sysdb_put_record(db, &up, &r, &res, &err))
            die("put", &err);
    }
    ak_sysdb_commit(db, &err);
    pr.put_us = (double)(ak_time_mono_us() - t0) / PROBE;
    sqlite3 *h = own_connection(db);
    sqlite3_stmt *st;
    sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
    sqlite3_prepare_v2(h, AK_ROLLUP_FACT_ADD_SQL, -1, &st, NULL);
    t0 = ak_time_mono_us();
    for (int i = 0; i < PROBE; i++) { /* the same facts again, as new ones (their daily
                                       * sums, a few per commit, left out) */
        snprintf(id, sizeof id, "d%d", i);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, END_DAY - 365 + i % 365);
        sqlite3_bind_text(st, 3, "akosha", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, "bug", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, 0);
        sqlite3_bind_int(st, 6, 0);
        sqlite3_bind_int64(st, 7, 120);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    pr.fact_us = (double)(ak_time_mono_us() - t0) / PROBE;
    sqlite3_finalize(st);
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    pr.rollup_read_us = time_sql(h, "SELECT day, sum(conversations) FROM daily WHERE day BETWEEN "
                                    "20236 AND 20600 GROUP BY day", 50);
    pr.facts_read_us = time_sql(h, "SELECT day, count(*) - sum(reflection) FROM conv_facts WHERE "
                                   "day BETWEEN 20236 AND 20600 GROUP BY day", 50);
    sqlite3_close(h);
    ak_sysdb_close(db);
    remove(path);
    return pr;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_analytics DIR [SYSTEMS] [DAYS]\n");
        return 2;
    }
    int systems = argc > 2 ? atoi(argv[2]) : 1000, days = argc > 3 ? atoi(argv[3]) : 365;
    struct rlimit rl; /* as the akosha binary does: connections to every system stay cached */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    char data[1024], marker[1100];
    ak_err err;
    snprintf(data, sizeof data, "%s/analytics-%d-%d", argv[1], systems, days);
    snprintf(marker, sizeof marker, "%s/built", data);
    struct stat sb;
    int built = stat(marker, &sb) == 0;
    int64_t t0 = ak_time_mono_us();
    if (ak_datadir_open(data, 1, 0, &dd, &err))
        die(data, &err);
    for (int s = 0; !built && s < systems; s++) {
        char sid[32];
        snprintf(sid, sizeof sid, "sys%04d.example.com", s);
        build_system(sid, days);
    }
    double build_s = (double)(ak_time_mono_us() - t0) / 1e6;
    FILE *m = built ? NULL : fopen(marker, "w");
    if (m)
        fclose(m);
    if (ak_index_new(dd, &idx, &err))
        die("index", &err);
    time_tool(AK_AN_TRENDS, "conversation_count", "sys0001.example.com", days, 1); /* warm up */
    printf("{\"systems\":%d,\"days\":%d,\"build_seconds\":%.1f,", systems, days, built ? 0 : build_s);
    printf("\"trend_one_system_ms\":%.3f,", 1e3 * time_tool(AK_AN_TRENDS, "conversation_count",
                                                             "sys0001.example.com", days, 31));
    printf("\"trend_fleet_ms\":%.1f,", 1e3 * time_tool(AK_AN_TRENDS, "conversation_count", NULL, days, 5));
    printf("\"anomalies_fleet_ms\":%.1f,", 1e3 * time_tool(AK_AN_ANOMALIES, "memory_count", NULL, days, 3));
    printf("\"correlate_30d_ms\":%.1f,", 1e3 * time_tool(AK_AN_CORRELATE, "conversation_count", NULL, 30, 3));
    printf("\"correlate_year_ms\":%.1f,", 1e3 * time_tool(AK_AN_CORRELATE, "conversation_count", NULL, days, 1));
    printf("\"metrics_fleet_ms\":%.1f,", 1e3 * time_tool(AK_AN_METRICS, NULL, NULL, 30, 1));
    ak_buf b = {0};
    t0 = ak_time_mono_us();
    ak_an_prom_render(idx, (int64_t)END_DAY * AK_US_PER_DAY, &b);
    printf("\"prometheus_scan_ms\":%.1f,", (double)(ak_time_mono_us() - t0) / 1e3);
    ak_buf_free(&b);
    ak_an_prom_reset();
    probe_result pr = probe(data);
    printf("\"put_record_us\":%.2f,\"rollup_share_us\":%.2f,\"series_from_rollup_us\":%.1f,"
           "\"series_from_facts_us\":%.1f}\n", pr.put_us, pr.fact_us, pr.rollup_read_us,
           pr.facts_read_us);
    ak_index_free(idx);
    ak_datadir_close(dd);
    return 0;
}
