/* prom.c - see prom.h. */
#include "analytics/prom.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage/rollup.h"
#include "analytics/series.h"
#include "util/buf.h"
#include "util/ids.h"

static const struct {
    const char *metric, *prom, *help;
} gauges[] = {
    {"memory_count", "memories", "Memories stored whose timestamp is today (UTC)"},
    {"new_count", "new_memories", "Memories new to Akosha in today's uploads"},
    {"updated_count", "updated_memories", "Memories updated by today's uploads"},
    {"content_bytes", "content_bytes", "Content bytes of the memories stored with today's timestamp"},
};
#define N_GAUGES (sizeof gauges / sizeof *gauges)

typedef struct {
    char sid[AK_SYSTEM_ID_MAX + 1];
    double v[N_GAUGES];
} row;

typedef struct {
    ak_index *idx;
    int64_t day;
    row top[AK_PROM_TOP_SYSTEMS], other;
    size_t n_top;
    int64_t active;
} scan;

/* Into the top rows if busier than the quietest named one; else summed. */
static void place(scan *s, const row *r)
{
    row spill = *r;
    if (s->n_top < AK_PROM_TOP_SYSTEMS) {
        s->top[s->n_top++] = *r;
        return;
    }
    size_t q = 0;
    for (size_t i = 1; i < s->n_top; i++)
        if (s->top[i].v[0] < s->top[q].v[0])
            q = i;
    if (s->top[q].v[0] < r->v[0]) {
        spill = s->top[q];
        s->top[q] = *r;
    }
    for (size_t g = 0; g < N_GAUGES; g++)
        s->other.v[g] += spill.v[g];
}

/* Whether the file at path (which may not exist) was modified at or after
 * the UTC day `day` began. */
static int written_since(const char *path, int64_t day)
{
    struct stat sb;
    return stat(path, &sb) == 0 && (int64_t)sb.st_mtim.tv_sec >= day * 86400;
}

/* A database neither written nor checkpointed today (its file and WAL
 * both older than today's start) had no upload today, and whatever it
 * stores was stored before today: not opening it keeps a scrape of a
 * large deployment from opening (and keeping idle) every database. */
static int quiet_today(const char *path, int64_t day)
{
    char wal[AK_PATH_MAX];
    return ak_fmt(wal, sizeof wal, "%s-wal", path) == 0 && !written_since(path, day) &&
           !written_since(wal, day);
}

static ak_code one_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard;
    scan *s = ctx;
    if (quiet_today(path, s->day))
        return AK_OK;
    ak_sysdb *db;
    ak_err err;
    row r;
    int64_t first;
    memset(&r, 0, sizeof r);
    if (ak_index_db_get(s->idx, sid, &db, &err))
        return AK_OK; /* unreadable: /health and searches name it */
    ak_code rc = AK_OK;
    for (size_t g = 0; g < N_GAUGES && rc == AK_OK; g++) {
        ak_series_query q = {ak_metric_find(gauges[g].metric), NULL, NULL, s->day, s->day};
        rc = ak_series_read(db, &q, &r.v[g], &first, &err);
    }
    ak_index_db_put(s->idx, sid, db);
    if (rc || (r.v[0] == 0 && r.v[1] == 0 && r.v[2] == 0))
        return AK_OK;
    snprintf(r.sid, sizeof r.sid, "%s", sid);
    s->active += r.v[0] > 0;
    place(s, &r);
    return AK_OK;
}

static void render(const scan *s, ak_buf *out)
{
    for (size_t g = 0; g < N_GAUGES; g++) {
        ak_buf_printf(out, "# HELP akosha_daily_%s %s; the busiest %d systems by name, the rest "
                      "as system=\"~other\".\n# TYPE akosha_daily_%s gauge\n", gauges[g].prom,
                      gauges[g].help, AK_PROM_TOP_SYSTEMS, gauges[g].prom);
        for (size_t i = 0; i < s->n_top; i++) /* ids need no escaping: [A-Za-z0-9_.-] */
            ak_buf_printf(out, "akosha_daily_%s{system=\"%s\"} %.17g\n", gauges[g].prom,
                          s->top[i].sid, s->top[i].v[g]);
        ak_buf_printf(out, "akosha_daily_%s{system=\"~other\"} %.17g\n", gauges[g].prom,
                      s->other.v[g]);
    }
    ak_buf_printf(out, "# HELP akosha_daily_systems_active Systems with a memory timestamped "
                  "today.\n# TYPE akosha_daily_systems_active gauge\n"
                  "akosha_daily_systems_active %lld\n", (long long)s->active);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static ak_buf cached;
static int64_t cached_at, cached_day = INT64_MIN;

void ak_an_prom_render(ak_index *idx, int64_t now_us, ak_buf *out)
{
    pthread_mutex_lock(&mu); /* one scan at a time; the others wait for its text */
    int64_t day = ak_rollup_day(now_us);
    if (day != cached_day || now_us - cached_at >= AK_PROM_TTL_US || now_us < cached_at) {
        scan *s = calloc(1, sizeof *s);
        ak_err err;
        if (s) {
            s->idx = idx;
            s->day = day;
            if (ak_datadir_each_system(ak_index_datadir(idx), one_system, s, &err) == AK_OK) {
                ak_buf_reset(&cached);
                render(s, &cached);
                cached_at = now_us;
                cached_day = day;
            }
            free(s);
        }
    }
    if (cached.len)
        ak_buf_append(out, cached.data, cached.len);
    pthread_mutex_unlock(&mu);
}

void ak_an_prom_reset(void)
{
    pthread_mutex_lock(&mu);
    ak_buf_free(&cached);
    cached_day = INT64_MIN;
    pthread_mutex_unlock(&mu);
}
