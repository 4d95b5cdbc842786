/*
 * cmd_analytics.c - `akosha trends|anomalies|correlate|metrics`: the
 * analytics tools (analytics/analytics.h) over a data directory, as JSON
 * (--json, the same object the MCP tool and HTTP endpoint give) or text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "cmd/cmd.h"
#include "util/time.h"

typedef struct {
    const char *data, *metric, *system, *project, *category, *end;
    long long days, limit;
    double threshold;
    int json;
} an_opts;

static double num(const ak_json *o, const char *key)
{
    const ak_json *v = ak_json_get(o, key);
    char s[64];
    if (!v || v->type != AK_JSON_NUMBER || v->raw_len >= sizeof s)
        return 0;
    memcpy(s, v->raw, v->raw_len);
    s[v->raw_len] = '\0';
    return strtod(s, NULL);
}

static const char *str(const ak_json *o, const char *key)
{
    const ak_json *v = ak_json_get(o, key);
    return v && v->type == AK_JSON_STRING ? v->str : "-";
}

static void text_range(ak_buf *b, const ak_json *r)
{
    const ak_json *t = ak_json_get(r, "time_range");
    if (t && t->n_kids == 2)
        ak_buf_printf(b, "%s .. %s", t->first->str, t->first->next->str);
}

static void text_of(ak_an_tool t, const ak_json *r, ak_buf *b)
{
    const ak_json *v = ak_json_get(r, "error");
    if (v) {
        ak_buf_printf(b, "%s: %s (%g days of data, %g needed)", str(r, "error"),
                      str(r, "reason"), num(r, "data_points"), num(r, "needed"));
        return;
    }
    if (t == AK_AN_TRENDS) {
        const ak_json *pc = ak_json_get(r, "percent_change");
        ak_buf_printf(b, "%s ", str(r, "metric_name"));
        text_range(b, r);
        ak_buf_printf(b, ": %s, R^2 %.3f, confidence %.3f, %+.2f a day", str(r, "trend_direction"),
                      num(r, "trend_strength"), num(r, "confidence"), num(r, "slope_per_day"));
        if (pc && pc->type == AK_JSON_NUMBER)
            ak_buf_printf(b, ", %+.1f%%", num(r, "percent_change"));
        ak_buf_puts(b, "\nvalues:");
        for (const ak_json *x = ak_json_get(r, "values")->first; x; x = x->next)
            ak_buf_printf(b, " %.*s", (int)x->raw_len, x->raw);
    } else if (t == AK_AN_ANOMALIES) {
        ak_buf_printf(b, "%g anomalies in %g days of %g systems (|z| >= %g), ",
                      num(r, "anomaly_count"), num(r, "total_points"), num(r, "systems_analyzed"),
                      num(r, "threshold"));
        text_range(b, r);
        for (const ak_json *x = ak_json_get(r, "anomalies")->first; x; x = x->next)
            ak_buf_printf(b, "\n%s  %-30s %12g  z %+.2f", str(x, "date"), str(x, "system_id"),
                          num(x, "value"), num(x, "z_score"));
    } else if (t == AK_AN_CORRELATE) {
        ak_buf_printf(b, "%g correlated pairs among %g systems, ",
                      num(r, "significant_correlations"), num(r, "total_systems"));
        text_range(b, r);
        for (const ak_json *x = ak_json_get(r, "correlations")->first; x; x = x->next)
            ak_buf_printf(b, "\n%+.3f %-8s %s  %s", num(x, "correlation"), str(x, "strength"),
                          str(x, "system_1"), str(x, "system_2"));
    } else {
        ak_buf_printf(b, "%-22s %14s %12s  (%g systems, ", "metric", "total", "last day",
                      num(r, "systems"));
        text_range(b, r);
        ak_buf_puts(b, ")");
        for (const ak_json *x = ak_json_get(r, "metrics")->first; x; x = x->next)
            ak_buf_printf(b, "\n%-22s %14.0f %12.0f  %s", str(x, "name"), num(x, "total"),
                          num(x, "last_day"), str(x, "unit"));
    }
}

static int run(ak_an_tool t, const an_opts *o)
{
    ak_an_params p;
    ak_err err;
    ak_an_params_init(&p, t, ak_time_now_us());
    p.metric_name = o->metric;
    p.system_id = o->system;
    p.project = o->project;
    p.category = o->category;
    if (o->days)
        p.days = o->days;
    if (o->limit)
        p.limit = o->limit;
    if (o->threshold > 0)
        p.threshold_std = o->threshold;
    if (o->end && !ak_an_parse_day(o->end, &p.end_day)) {
        fprintf(stderr, "akosha: --end must be a date like 2026-12-05\n");
        return AK_EXIT_USAGE;
    }
    if (ak_an_params_check(&p, t, &err)) {
        fprintf(stderr, "akosha: %s\n", err.msg);
        return AK_EXIT_USAGE;
    }
    ak_datadir *dd = ak_cmd_open_data("analytics", o->data);
    ak_index *idx = NULL;
    if (!dd)
        return AK_EXIT_FAIL;
    ak_buf b = {0}, text = {0};
    ak_jw w;
    ak_jw_init(&w, &b);
    ak_code rc = ak_index_new(dd, &idx, &err);
    if (rc == AK_OK)
        rc = ak_an_run(idx, t, &p, &w, &err);
    ak_json_doc *doc = rc == AK_OK && !o->json ? ak_json_doc_new() : NULL;
    const ak_json *root;
    if (doc && ak_json_parse(doc, b.data, b.len, &root, &err) == AK_OK)
        text_of(t, root, &text);
    int status = rc ? (fprintf(stderr, "akosha: %s\n", err.msg), AK_EXIT_FAIL)
                    : ak_cmd_print(o->json ? &b : &text);
    ak_json_doc_free(doc);
    ak_buf_free(&b);
    ak_buf_free(&text);
    ak_index_free(idx);
    ak_datadir_close(dd);
    return status;
}

#define OPT_METRIC(o) {"metric", NULL, AK_OPT_STR, &(o).metric, "NAME", "metric (akosha metrics lists them)", 0, 0}
#define OPT_SYSTEM(o) {"system", NULL, AK_OPT_STR, &(o).system, "ID", "only this system (default: all)", 0, 0}
#define OPT_FILTERS(o) \
    {"project", NULL, AK_OPT_STR, &(o).project, "P", "only memories of this project", 0, 0}, \
    {"category", NULL, AK_OPT_STR, &(o).category, "C", "only memories of this category", 0, 0}
#define OPT_DAYS(o) {"days", NULL, AK_OPT_INT, &(o).days, "N", "window in days (default 7; metrics 30)", 1, AK_AN_MAX_DAYS}
#define OPT_END(o) {"end", NULL, AK_OPT_STR, &(o).end, "DATE", "last day of the window (default today, UTC)", 0, 0}
#define OPT_LIMIT(o) {"limit", NULL, AK_OPT_INT, &(o).limit, "N", "most anomalies or pairs shown", 1, AK_AN_MAX_LIMIT}

static int parse(const ak_cmd_spec *spec, int argc, char **argv)
{
    char **pos;
    int npos;
    return ak_cmd_parse(spec, argc, argv, &pos, &npos);
}

#define COMMON(o) AK_OPT_DATA(&(o).data), AK_OPT_JSON(&(o).json), OPT_DAYS(o), OPT_END(o)

int ak_cmd_trends(int argc, char **argv)
{
    an_opts o = {0};
    const ak_opt opts[] = {COMMON(o), OPT_METRIC(o), OPT_SYSTEM(o), OPT_FILTERS(o)};
    const ak_cmd_spec spec = {"trends", "--data DIR --metric NAME [--system ID] [--days N] [--json]",
                              "The linear trend of a daily metric: direction, R^2, percent change, "
                              "confidence.", opts, sizeof opts / sizeof *opts, 0, 0};
    int rc = parse(&spec, argc, argv);
    return rc >= 0 ? rc : run(AK_AN_TRENDS, &o);
}

int ak_cmd_anomalies(int argc, char **argv)
{
    an_opts o = {0};
    const ak_opt opts[] = {COMMON(o), OPT_METRIC(o), OPT_SYSTEM(o), OPT_FILTERS(o), OPT_LIMIT(o),
                           {"threshold", NULL, AK_OPT_DOUBLE, &o.threshold, "STD",
                            "|z-score| at least this (default 3)", 0.001, 100}};
    const ak_cmd_spec spec = {"anomalies", "--data DIR --metric NAME [--system ID] [--days N] "
                              "[--threshold STD] [--json]",
                              "Days of a daily metric far from their system's mean (z-score).",
                              opts, sizeof opts / sizeof *opts, 0, 0};
    int rc = parse(&spec, argc, argv);
    return rc >= 0 ? rc : run(AK_AN_ANOMALIES, &o);
}

int ak_cmd_correlate(int argc, char **argv)
{
    an_opts o = {0};
    const ak_opt opts[] = {COMMON(o), OPT_METRIC(o), OPT_FILTERS(o), OPT_LIMIT(o)};
    const ak_cmd_spec spec = {"correlate", "--data DIR --metric NAME [--days N] [--json]",
                              "Pearson correlation between systems' daily series of a metric.",
                              opts, sizeof opts / sizeof *opts, 0, 0};
    int rc = parse(&spec, argc, argv);
    return rc >= 0 ? rc : run(AK_AN_CORRELATE, &o);
}

int ak_cmd_metrics(int argc, char **argv)
{
    an_opts o = {0};
    const ak_opt opts[] = {COMMON(o), OPT_SYSTEM(o)};
    const ak_cmd_spec spec = {"metrics", "--data DIR [--system ID] [--days N] [--json]",
                              "The daily metrics kept of the memories, with their totals.",
                              opts, sizeof opts / sizeof *opts, 0, 0};
    int rc = parse(&spec, argc, argv);
    return rc >= 0 ? rc : run(AK_AN_METRICS, &o);
}
