/*
 * analytics.c - see analytics.h: the four tools over the daily series.
 *
 * trends      least squares over the days of the window (from the first
 *             day of data), R-squared as strength, the slope's t test as
 *             confidence; "stable" unless the slope is significant at 5%
 * anomalies   sample z-score of each day against its system's window; a
 *             window too short to ever reach the threshold (no |z| can
 *             exceed (n-1)/sqrt(n)) is insufficient data, not "none"
 * correlate   Pearson between two systems' series over the days both have
 *             existed in the window (at least 3), |r| >= 0.5
 */
#include "analytics/analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/series.h"
#include "analytics/stats.h"
#include "util/ids.h"
#include "util/time.h"

#define MIN_POINTS 3
#define ALPHA 0.05
#define MODERATE 0.5
#define STRONG 0.7

/* ---- walking the systems ---- */

/* metric: its place in ak_metric_at() when the walk reads every metric
 * (get_system_metrics), else 0. */
typedef ak_code (*series_fn)(void *ctx, const char *sid, size_t metric, const double *v,
                             int64_t first_day);

typedef struct {
    ak_index *idx;
    ak_series_query q;
    double *v;
    series_fn fn;
    void *ctx;
    int every; /* every metric, not q.m */
    int64_t systems, failed;
} walk;

static ak_code one(walk *wk, const char *sid, ak_err *err)
{
    ak_sysdb *db;
    int64_t first;
    ak_code rc = ak_index_db_get(wk->idx, sid, &db, err);
    if (rc)
        return rc;
    for (size_t i = 0; rc == AK_OK && (wk->every || i == 0); i++) {
        ak_series_query q = wk->q;
        if (wk->every && !(q.m = ak_metric_at(i)))
            break;
        if ((rc = ak_series_read(db, &q, wk->v, &first, err)) == AK_OK)
            rc = wk->fn(wk->ctx, sid, i, wk->v, first);
    }
    ak_index_db_put(wk->idx, sid, db);
    wk->systems += rc == AK_OK; /* read whole */
    return rc;
}

static ak_code each_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard, (void)path;
    walk *wk = ctx;
    ak_err ignore;
    ak_code rc = one(wk, sid, &ignore);
    if (rc == AK_ERR_NOMEM)
        return rc;
    wk->failed += rc != AK_OK; /* unreadable: counted, the rest still answer */
    return AK_OK;
}

static size_t window_len(const ak_an_params *p) { return (size_t)p->days; }

/* fn for one system (p->system_id) or each; *failed counts unreadable ones. */
static ak_code walk_series(ak_index *idx, const ak_an_params *p, series_fn fn, void *ctx,
                           walk *wk, ak_err *err)
{
    memset(wk, 0, sizeof *wk);
    wk->idx = idx;
    wk->q = (ak_series_query){ak_metric_find(p->metric_name), p->project, p->category,
                              p->end_day - p->days + 1, p->end_day};
    wk->fn = fn;
    wk->ctx = ctx;
    wk->every = !p->metric_name;
    if (!(wk->v = malloc(window_len(p) * sizeof *wk->v)))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc;
    if (p->system_id) {
        rc = one(wk, p->system_id, err);
        if (rc == AK_ERR_NOTFOUND)
            rc = ak_err_set(err, AK_ERR_NOTFOUND, "no system %s", p->system_id);
    } else {
        rc = ak_datadir_each_system(ak_index_datadir(idx), each_system, wk, err);
    }
    free(wk->v);
    return rc;
}

/* ---- JSON pieces ---- */

static void day_json(ak_jw *w, int64_t day)
{
    char iso[AK_TIME_ISO_MAX];
    ak_time_format(day * AK_US_PER_DAY, iso);
    ak_jw_strn(w, iso, 10);
}

static void kstr_or_null(ak_jw *w, const char *key, const char *s)
{
    ak_jw_key(w, key);
    if (s)
        ak_jw_str(w, s);
    else
        ak_jw_null(w);
}

/* What every answer starts with. */
static void head(ak_jw *w, const ak_an_params *p, int with_system)
{
    ak_jw_obj(w);
    ak_jw_kstr(w, "metric_name", p->metric_name);
    if (with_system)
        kstr_or_null(w, "system_id", p->system_id);
    if (p->project)
        ak_jw_kstr(w, "project", p->project);
    if (p->category)
        ak_jw_kstr(w, "category", p->category);
    ak_jw_kint(w, "time_window_days", p->days);
}

static void time_range(ak_jw *w, int64_t from, int64_t to)
{
    ak_jw_key(w, "time_range");
    ak_jw_arr(w);
    day_json(w, from);
    day_json(w, to);
    ak_jw_end(w);
}

static void insufficient(ak_jw *w, const char *what, int64_t points, int64_t needed,
                         const char *why)
{
    ak_jw_kstr(w, "error", what);
    ak_jw_kint(w, "data_points", points);
    ak_jw_kint(w, "needed", needed);
    ak_jw_kstr(w, "reason", why);
    ak_jw_end(w);
}

/* ---- analyze_trends ---- */

typedef struct {
    double *sum;
    size_t n;
    int64_t first;
} fleet;

static ak_code add_to_fleet(void *ctx, const char *sid, size_t metric, const double *v,
                            int64_t first_day)
{
    (void)sid, (void)metric;
    fleet *f = ctx;
    if (first_day == INT64_MAX)
        return AK_OK;
    for (size_t i = 0; i < f->n; i++)
        f->sum[i] += v[i];
    if (first_day < f->first)
        f->first = first_day;
    return AK_OK;
}

static void values_json(ak_jw *w, const double *v, size_t n)
{
    ak_jw_key(w, "values");
    ak_jw_arr(w);
    for (size_t i = 0; i < n; i++)
        ak_jw_double(w, v[i]);
    ak_jw_end(w);
}

static void trend_json(ak_jw *w, const double *y, size_t n, int64_t from)
{
    ak_stats_fit fit;
    ak_stats_linreg(y, n, &fit);
    int significant = fit.slope != 0 && fit.p_value < ALPHA;
    double start = fit.intercept, end = fit.intercept + fit.slope * (double)(n - 1);
    ak_jw_kstr(w, "trend_direction", !significant ? "stable"
                                     : fit.slope > 0 ? "increasing" : "decreasing");
    ak_jw_kdouble(w, "trend_strength", fit.r2);
    ak_jw_key(w, "percent_change"); /* of the fitted line, start to end */
    if (start > 0)
        ak_jw_double(w, (end - start) / start * 100);
    else
        ak_jw_null(w);
    ak_jw_kdouble(w, "confidence", 1 - fit.p_value);
    ak_jw_kdouble(w, "p_value", fit.p_value);
    ak_jw_kdouble(w, "slope_per_day", fit.slope);
    ak_jw_kdouble(w, "mean", fit.mean);
    ak_jw_kint(w, "data_points", (int64_t)n);
    time_range(w, from, from + (int64_t)n - 1);
    values_json(w, y, n);
}

static ak_code trends(ak_index *idx, const ak_an_params *p, ak_jw *w, ak_err *err)
{
    fleet f = {calloc(window_len(p), sizeof(double)), window_len(p), INT64_MAX};
    walk wk;
    if (!f.sum)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = walk_series(idx, p, add_to_fleet, &f, &wk, err);
    if (rc == AK_OK) {
        int64_t from = p->end_day - p->days + 1;
        int64_t start = f.first > from ? f.first : from;
        int64_t n = f.first == INT64_MAX ? 0 : p->end_day - start + 1;
        head(w, p, 1);
        if (!p->system_id)
            ak_jw_kint(w, "systems", wk.systems);
        if (wk.failed)
            ak_jw_kint(w, "systems_unreadable", wk.failed);
        if (n < MIN_POINTS) {
            insufficient(w, "Insufficient data for trend analysis", n < 0 ? 0 : n, MIN_POINTS,
                         n <= 0 ? "no data of this metric in the window"
                                : "fewer days of data than a trend needs");
        } else {
            trend_json(w, f.sum + (start - from), (size_t)n, start);
            ak_jw_end(w);
        }
    }
    free(f.sum);
    return rc;
}

/* ---- detect_anomalies ---- */

typedef struct {
    char system_id[AK_SYSTEM_ID_MAX + 1];
    int64_t day;
    double value, z, mean, sd;
} anomaly;

typedef struct {
    const ak_an_params *p;
    anomaly *top;        /* the p->limit largest |z|, unordered */
    size_t n_top;
    int64_t count, points, analyzed, skipped, need;
} anomaly_walk;

/* Smallest n for which a sample z-score can reach t: (n-1)/sqrt(n) >= t. */
static int64_t points_for(double t)
{
    int64_t n = MIN_POINTS;
    while ((double)(n - 1) / sqrt((double)n) < t)
        n++;
    return n;
}

static void keep(anomaly_walk *a, const anomaly *x)
{
    size_t at = a->n_top;
    if (a->n_top == (size_t)a->p->limit) {
        at = 0;
        for (size_t i = 1; i < a->n_top; i++)
            if (fabs(a->top[i].z) < fabs(a->top[at].z))
                at = i;
        if (fabs(a->top[at].z) >= fabs(x->z))
            return;
    } else {
        a->n_top++;
    }
    a->top[at] = *x;
}

static ak_code anomalies_of(void *ctx, const char *sid, size_t metric, const double *v,
                            int64_t first_day)
{
    (void)metric;
    anomaly_walk *a = ctx;
    const ak_an_params *p = a->p;
    int64_t from = p->end_day - p->days + 1, start = first_day > from ? first_day : from;
    int64_t n = first_day == INT64_MAX ? 0 : p->end_day - start + 1;
    if (n < a->need) {
        a->skipped++;
        return AK_OK;
    }
    const double *y = v + (start - from);
    double mean, sd;
    ak_stats_mean_sd(y, (size_t)n, &mean, &sd);
    a->analyzed++;
    a->points += n;
    for (int64_t i = 0; sd > 0 && i < n; i++) {
        double z = (y[i] - mean) / sd;
        if (fabs(z) < p->threshold_std)
            continue;
        anomaly x = {.day = start + i, .value = y[i], .z = z, .mean = mean, .sd = sd};
        snprintf(x.system_id, sizeof x.system_id, "%s", sid);
        a->count++;
        keep(a, &x);
    }
    return AK_OK;
}

static int by_abs_z(const void *x, const void *y)
{
    double a = fabs(((const anomaly *)x)->z), b = fabs(((const anomaly *)y)->z);
    return a < b ? 1 : a > b ? -1 : 0;
}

static void anomalies_json(ak_jw *w, anomaly_walk *a)
{
    qsort(a->top, a->n_top, sizeof *a->top, by_abs_z);
    ak_jw_kint(w, "anomaly_count", a->count);
    ak_jw_kint(w, "total_points", a->points);
    ak_jw_kdouble(w, "anomaly_rate", (double)a->count / (double)a->points);
    ak_jw_kdouble(w, "threshold", a->p->threshold_std);
    ak_jw_kint(w, "systems_analyzed", a->analyzed);
    ak_jw_kint(w, "systems_skipped", a->skipped);
    time_range(w, a->p->end_day - a->p->days + 1, a->p->end_day);
    ak_jw_key(w, "anomalies");
    ak_jw_arr(w);
    for (size_t i = 0; i < a->n_top; i++) {
        const anomaly *x = &a->top[i];
        ak_jw_obj(w);
        ak_jw_kstr(w, "system_id", x->system_id);
        ak_jw_key(w, "date");
        day_json(w, x->day);
        ak_jw_kdouble(w, "value", x->value);
        ak_jw_kdouble(w, "z_score", x->z);
        ak_jw_kdouble(w, "deviation", fabs(x->value - x->mean));
        ak_jw_kdouble(w, "mean", x->mean);
        ak_jw_kdouble(w, "std", x->sd);
        ak_jw_end(w);
    }
    ak_jw_end(w);
    ak_jw_end(w);
}

static ak_code anomalies(ak_index *idx, const ak_an_params *p, ak_jw *w, ak_err *err)
{
    anomaly_walk a = {.p = p, .top = malloc((size_t)p->limit * sizeof(anomaly)),
                      .need = points_for(p->threshold_std)};
    walk wk;
    if (!a.top)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = walk_series(idx, p, anomalies_of, &a, &wk, err);
    if (rc == AK_OK) {
        head(w, p, 1);
        if (a.analyzed == 0)
            insufficient(w, "Insufficient data for anomaly detection",
                         p->days < a.need ? p->days : 0, a.need,
                         p->days < a.need ? "the window is too short for any day to reach "
                                            "threshold_std: widen time_window_days"
                                          : "no system has enough days of data in the window");
        else
            anomalies_json(w, &a);
    }
    free(a.top);
    return rc;
}

/* ---- correlate_systems ---- */

typedef struct {
    char sid[AK_SYSTEM_ID_MAX + 1];
    double total;
    size_t off;  /* its first day of data within the window */
    double *raw; /* the window's values */
    double *z;   /* off == 0: standardized, so r of two such is their dot product */
} corr_series;

typedef struct {
    int64_t from;
    size_t n, cap, len;
    corr_series *s;
    int64_t constant, dropped;
} corr_walk;

static ak_code collect(void *ctx, const char *sid, size_t metric, const double *v,
                       int64_t first_day)
{
    (void)metric;
    corr_walk *c = ctx;
    if (first_day == INT64_MAX || first_day - c->from >= (int64_t)c->len)
        return AK_OK; /* no data in the window */
    size_t off = first_day > c->from ? (size_t)(first_day - c->from) : 0, n = c->len - off;
    double mean, sd, total = 0;
    ak_stats_mean_sd(v + off, n, &mean, &sd);
    for (size_t i = off; i < c->len; i++)
        total += v[i];
    if (sd == 0) {
        c->constant++;
        return AK_OK;
    }
    size_t at = c->n;
    if (c->n == c->cap) { /* keep the busiest: replace the quietest */
        at = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->s[i].total < c->s[at].total)
                at = i;
        c->dropped++;
        if (c->s[at].total >= total)
            return AK_OK;
    } else {
        c->n++;
    }
    corr_series *s = &c->s[at];
    snprintf(s->sid, sizeof s->sid, "%s", sid);
    s->total = total;
    s->off = off;
    memcpy(s->raw, v, c->len * sizeof *v);
    double scale = n > 1 ? 1 / (sd * sqrt((double)(n - 1))) : 0;
    for (size_t i = 0; i < c->len; i++)
        s->z[i] = (v[i] - mean) * scale;
    return AK_OK;
}

/* r over the days both systems have existed; 0 when undefined there. */
static int pair_r(const corr_walk *c, const corr_series *a, const corr_series *b, double *r)
{
    if (a->off == 0 && b->off == 0) { /* the common case: the whole window, precomputed */
        double dot = 0;
        for (size_t d = 0; d < c->len; d++)
            dot += a->z[d] * b->z[d];
        *r = dot > 1 ? 1 : dot < -1 ? -1 : dot;
        return 1;
    }
    size_t off = a->off > b->off ? a->off : b->off;
    return ak_stats_pearson(a->raw + off, b->raw + off, c->len - off, r);
}

typedef struct {
    size_t a, b;
    double r;
} pair;

/* Strongest first; ties in name order, so answers are repeatable. */
static int by_abs_r(const void *x, const void *y)
{
    const pair *p = x, *q = y;
    double a = fabs(p->r), b = fabs(q->r);
    if (a != b)
        return a < b ? 1 : -1;
    return p->a != q->a ? (p->a < q->a ? -1 : 1) : (p->b > q->b) - (p->b < q->b);
}

static int by_sid(const void *x, const void *y)
{
    return strcmp(((const corr_series *)x)->sid, ((const corr_series *)y)->sid);
}

/* Every pair with |r| >= MODERATE; the limit strongest kept in top. */
static int64_t pairs_of(const corr_walk *c, pair *top, size_t limit, size_t *n_top)
{
    int64_t count = 0;
    *n_top = 0;
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = i + 1; j < c->n; j++) {
            double r = 0;
            if (!pair_r(c, &c->s[i], &c->s[j], &r) || fabs(r) < MODERATE)
                continue;
            count++;
            size_t at = *n_top;
            if (*n_top == limit) {
                at = 0;
                for (size_t k = 1; k < limit; k++)
                    if (fabs(top[k].r) < fabs(top[at].r))
                        at = k;
                if (fabs(top[at].r) >= fabs(r))
                    continue;
            } else {
                (*n_top)++;
            }
            top[at] = (pair){i, j, r};
        }
    qsort(top, *n_top, sizeof *top, by_abs_r);
    return count;
}

static void correlations_json(ak_jw *w, const ak_an_params *p, corr_walk *c, pair *top)
{
    size_t n_top;
    qsort(c->s, c->n, sizeof *c->s, by_sid);
    int64_t count = pairs_of(c, top, (size_t)p->limit, &n_top);
    ak_jw_kint(w, "total_systems", (int64_t)c->n);
    ak_jw_kint(w, "significant_correlations", count);
    ak_jw_key(w, "correlations");
    ak_jw_arr(w);
    for (size_t i = 0; i < n_top; i++) {
        ak_jw_obj(w);
        ak_jw_kstr(w, "system_1", c->s[top[i].a].sid);
        ak_jw_kstr(w, "system_2", c->s[top[i].b].sid);
        ak_jw_kdouble(w, "correlation", top[i].r);
        ak_jw_kstr(w, "strength", fabs(top[i].r) >= STRONG ? "strong" : "moderate");
        ak_jw_end(w);
    }
    ak_jw_end(w);
    ak_jw_key(w, "systems");
    ak_jw_arr(w);
    for (size_t i = 0; i < c->n; i++)
        ak_jw_str(w, c->s[i].sid);
    ak_jw_end(w);
    ak_jw_kint(w, "constant_systems", c->constant);
    ak_jw_kint(w, "systems_left_out", c->dropped);
    time_range(w, p->end_day - p->days + 1, p->end_day);
    ak_jw_end(w);
}

static ak_code correlate(ak_index *idx, const ak_an_params *p, ak_jw *w, ak_err *err)
{
    corr_walk c = {.from = p->end_day - p->days + 1, .cap = AK_AN_MAX_SYSTEMS,
                   .len = window_len(p)};
    double *zs = malloc(2 * c.cap * c.len * sizeof *zs);
    pair *top = malloc((size_t)p->limit * sizeof *top);
    c.s = calloc(c.cap, sizeof *c.s);
    ak_code rc = zs && top && c.s ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == AK_OK && i < c.cap; i++) {
        c.s[i].raw = zs + 2 * i * c.len;
        c.s[i].z = c.s[i].raw + c.len;
    }
    walk wk;
    if (rc == AK_OK && c.len >= MIN_POINTS)
        rc = walk_series(idx, p, collect, &c, &wk, err);
    if (rc == AK_OK) {
        head(w, p, 0);
        if (c.len < MIN_POINTS || c.n < 2)
            insufficient(w, "Insufficient data for correlation analysis", (int64_t)c.n, 2,
                         c.len < MIN_POINTS ? "a correlation needs a window of 3 days or more"
                                            : "fewer than two systems vary in the window");
        else
            correlations_json(w, p, &c, top);
    }
    free(zs);
    free(top);
    free(c.s);
    return rc;
}

/* ---- get_system_metrics ---- */

#define N_METRICS_MAX 32

typedef struct {
    size_t len;
    double total[N_METRICS_MAX], last[N_METRICS_MAX];
} metric_sums;

static ak_code add_metric(void *ctx, const char *sid, size_t metric, const double *v,
                          int64_t first_day)
{
    (void)sid, (void)first_day;
    metric_sums *ms = ctx;
    for (size_t i = 0; metric < N_METRICS_MAX && i < ms->len; i++)
        ms->total[metric] += v[i];
    if (metric < N_METRICS_MAX)
        ms->last[metric] += v[ms->len - 1];
    return AK_OK;
}

/* One walk reads every metric of each system (one connection each). */
static ak_code metrics_tool(ak_index *idx, const ak_an_params *p, ak_jw *w, ak_err *err)
{
    metric_sums ms = {.len = window_len(p)};
    ak_an_params q = *p;
    walk wk;
    q.metric_name = NULL;
    ak_code rc = walk_series(idx, &q, add_metric, &ms, &wk, err);
    if (rc)
        return rc;
    size_t n = 0;
    while (ak_metric_at(n) && n < N_METRICS_MAX)
        n++;
    ak_jw_obj(w);
    ak_jw_kint(w, "time_range_days", p->days);
    kstr_or_null(w, "system_id", p->system_id);
    ak_jw_kint(w, "total_metrics", (int64_t)n);
    ak_jw_key(w, "metric_names");
    ak_jw_arr(w);
    for (size_t i = 0; i < n; i++)
        ak_jw_str(w, ak_metric_at(i)->name);
    ak_jw_end(w);
    ak_jw_key(w, "metrics");
    ak_jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        const ak_metric *m = ak_metric_at(i);
        ak_jw_obj(w);
        ak_jw_kstr(w, "name", m->name);
        ak_jw_kstr(w, "unit", m->unit);
        ak_jw_kstr(w, "family", m->family == AK_METRIC_STORED ? "stored" : "arrivals");
        ak_jw_kstr(w, "description", m->description);
        ak_jw_kdouble(w, "total", ms.total[i]);
        ak_jw_kdouble(w, "last_day", ms.last[i]);
        ak_jw_end(w);
    }
    ak_jw_end(w);
    ak_jw_kint(w, "systems", wk.systems);
    if (wk.failed)
        ak_jw_kint(w, "systems_unreadable", wk.failed);
    time_range(w, p->end_day - p->days + 1, p->end_day);
    ak_jw_end(w);
    return AK_OK;
}

ak_code ak_an_run(ak_index *idx, ak_an_tool t, const ak_an_params *p, ak_jw *w, ak_err *err)
{
    ak_code rc = ak_an_params_check(p, t, err);
    if (rc)
        return rc;
    switch (t) {
    case AK_AN_TRENDS: return trends(idx, p, w, err);
    case AK_AN_ANOMALIES: return anomalies(idx, p, w, err);
    case AK_AN_CORRELATE: return correlate(idx, p, w, err);
    default: return metrics_tool(idx, p, w, err);
    }
}
