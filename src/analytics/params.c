/*
 * params.c - the analytics tools' arguments: defaults, JSON, checks.
 * Names follow the Python Akosha (metric_name, system_id,
 * time_window_days, threshold_std; get_system_metrics' time_range_days).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "storage/rollup.h"
#include "analytics/series.h"
#include "util/ids.h"
#include "util/time.h"

#define FILTER_MAX 128

void ak_an_params_init(ak_an_params *p, ak_an_tool t, int64_t now_us)
{
    memset(p, 0, sizeof *p);
    p->days = t == AK_AN_METRICS ? 30 : 7;
    p->threshold_std = 3.0;
    p->limit = t == AK_AN_ANOMALIES ? 10 : 100;
    p->end_day = ak_rollup_day(now_us);
}

int ak_an_parse_day(const char *s, int64_t *day)
{
    char iso[32];
    int64_t us;
    if (!s || strlen(s) != 10)
        return 0;
    snprintf(iso, sizeof iso, "%sT00:00:00Z", s);
    if (!ak_time_parse(iso, strlen(iso), &us))
        return 0;
    *day = ak_rollup_day(us);
    return 1;
}

static const char *const known_args[][9] = {
    [AK_AN_TRENDS] = {"metric_name", "system_id", "project", "category", "time_window_days",
                      "end_date", NULL},
    [AK_AN_ANOMALIES] = {"metric_name", "system_id", "project", "category", "time_window_days",
                         "end_date", "threshold_std", "limit", NULL},
    [AK_AN_CORRELATE] = {"metric_name", "project", "category", "time_window_days", "end_date",
                         "limit", NULL},
    [AK_AN_METRICS] = {"system_id", "time_range_days", "time_window_days", "end_date", NULL},
};

static int known(ak_an_tool t, const char *key)
{
    for (const char *const *k = known_args[t]; *k; k++)
        if (!strcmp(*k, key))
            return 1;
    return 0;
}

static ak_code str_arg(const ak_json *v, const char *key, const char **out, ak_err *err)
{
    if (v->type != AK_JSON_STRING || strlen(v->str) != v->str_len)
        return ak_err_set(err, AK_ERR_INVALID, "%s: must be a string", key);
    *out = v->str;
    return AK_OK;
}

static ak_code int_arg(const ak_json *v, const char *key, int64_t lo, int64_t hi, int64_t *out,
                       ak_err *err)
{
    if (!ak_json_int64(v, out) || *out < lo || *out > hi)
        return ak_err_set(err, AK_ERR_INVALID, "%s: must be an integer from %lld to %lld", key,
                          (long long)lo, (long long)hi);
    return AK_OK;
}

static ak_code num_arg(const ak_json *v, const char *key, double *out, ak_err *err)
{
    char text[64];
    if (v->type != AK_JSON_NUMBER || v->raw_len >= sizeof text)
        return ak_err_set(err, AK_ERR_INVALID, "%s: must be a number", key);
    memcpy(text, v->raw, v->raw_len);
    text[v->raw_len] = '\0';
    *out = strtod(text, NULL);
    if (!isfinite(*out) || *out <= 0 || *out > 100)
        return ak_err_set(err, AK_ERR_INVALID, "%s: must be a number above 0 and at most 100", key);
    return AK_OK;
}

static ak_code one_arg(const ak_json *a, ak_an_params *p, ak_err *err)
{
    const char *k = a->key, *s = NULL;
    ak_code rc;
    if (!strcmp(k, "metric_name"))
        return str_arg(a, k, &p->metric_name, err);
    if (!strcmp(k, "system_id"))
        return str_arg(a, k, &p->system_id, err);
    if (!strcmp(k, "project"))
        return str_arg(a, k, &p->project, err);
    if (!strcmp(k, "category"))
        return str_arg(a, k, &p->category, err);
    if (!strcmp(k, "time_window_days") || !strcmp(k, "time_range_days"))
        return int_arg(a, k, 1, AK_AN_MAX_DAYS, &p->days, err);
    if (!strcmp(k, "limit"))
        return int_arg(a, k, 1, AK_AN_MAX_LIMIT, &p->limit, err);
    if (!strcmp(k, "threshold_std"))
        return num_arg(a, k, &p->threshold_std, err);
    /* end_date */
    if ((rc = str_arg(a, k, &s, err)) == AK_OK && !ak_an_parse_day(s, &p->end_day))
        rc = ak_err_set(err, AK_ERR_INVALID, "end_date: must be a date like 2026-12-05");
    return rc;
}

ak_code ak_an_params_from_json(const ak_json *args, ak_an_tool t, ak_an_params *p, ak_err *err)
{
    if (args && args->type != AK_JSON_OBJECT && args->type != AK_JSON_NULL)
        return ak_err_set(err, AK_ERR_INVALID, "arguments must be an object");
    for (const ak_json *a = args && args->type == AK_JSON_OBJECT ? args->first : NULL; a;
         a = a->next) {
        if (!known(t, a->key))
            return ak_err_set(err, AK_ERR_INVALID, "unknown argument \"%.64s\"", a->key);
        if (a->type == AK_JSON_NULL)
            continue; /* the Python Akosha's None: the default */
        ak_code rc = one_arg(a, p, err);
        if (rc)
            return rc;
    }
    return ak_an_params_check(p, t, err);
}

static ak_code filter_ok(const char *name, const char *v, ak_err *err)
{
    if (v && (strlen(v) > FILTER_MAX || !ak_utf8_valid(v, strlen(v))))
        return ak_err_set(err, AK_ERR_INVALID, "%s: at most %d bytes of UTF-8", name, FILTER_MAX);
    return AK_OK;
}

ak_code ak_an_params_check(const ak_an_params *p, ak_an_tool t, ak_err *err)
{
    const char *why;
    const ak_metric *m = ak_metric_find(p->metric_name);
    if (t != AK_AN_METRICS && !p->metric_name)
        return ak_err_set(err, AK_ERR_INVALID, "metric_name: required (get_system_metrics "
                          "lists them)");
    if (t != AK_AN_METRICS && !m)
        return ak_err_set(err, AK_ERR_INVALID, "metric_name: no metric \"%.64s\" (get_system_"
                          "metrics lists them)", p->metric_name);
    if (p->system_id && !ak_id_system_valid(p->system_id, &why))
        return ak_err_set(err, AK_ERR_INVALID, "system_id: system id %s", why);
    if (p->days < 1 || p->days > AK_AN_MAX_DAYS)
        return ak_err_set(err, AK_ERR_INVALID, "time_window_days: must be from 1 to %d",
                          AK_AN_MAX_DAYS);
    if (p->limit < 1 || p->limit > AK_AN_MAX_LIMIT)
        return ak_err_set(err, AK_ERR_INVALID, "limit: must be from 1 to %d", AK_AN_MAX_LIMIT);
    if (!(p->threshold_std > 0 && p->threshold_std <= 100))
        return ak_err_set(err, AK_ERR_INVALID, "threshold_std: must be above 0 and at most 100");
    ak_code rc = filter_ok("project", p->project, err);
    if (rc == AK_OK)
        rc = filter_ok("category", p->category, err);
    if (rc == AK_OK && m && m->family == AK_METRIC_ARRIVALS && (p->project || p->category))
        rc = ak_err_set(err, AK_ERR_INVALID, "project and category filter the stored-memory "
                        "metrics; %s counts whole uploads", m->name);
    return rc;
}
