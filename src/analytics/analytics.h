/*
 * analytics.h - time-series analytics over the memories themselves: daily
 * series per system (and project, category) read from each system's
 * rollup (rollup.h) and upload ledger, and the tools that judge them --
 * trends, anomalies, correlations between systems, the metric catalogue.
 *
 * Shared by the MCP tools, the HTTP API and the CLI so all three answer
 * alike.  Every tool writes one JSON object (docs/API.md "Analytics"); too
 * little data is an answer ({"error": "Insufficient data ..."} with what
 * was found), not a made-up number.  No output holds NaN.
 *
 * A day is a UTC calendar day.  The window is time_window_days days ending
 * with end_day (today unless told); a system's series starts no earlier
 * than its first day of data, so a system that began last week is not
 * read as idle before it.  Memory is bounded: one system's series at a
 * time, except correlate_systems, which keeps the AK_AN_MAX_SYSTEMS
 * busiest systems' series of the window.
 *
 * Ownership: parameters are borrowed; ak_an_params_from_json() points
 * into the JSON document (keep it alive while the params are used).
 */
#ifndef AK_ANALYTICS_H
#define AK_ANALYTICS_H

#include <stdint.h>

#include "query/index.h"
#include "util/json.h"
#include "util/jsonw.h"

#define AK_AN_MAX_DAYS 730
#define AK_AN_MAX_SYSTEMS 1000
#define AK_AN_MAX_LIMIT 1000

typedef enum { AK_AN_TRENDS, AK_AN_ANOMALIES, AK_AN_CORRELATE, AK_AN_METRICS } ak_an_tool;

typedef struct {
    const char *metric_name;     /* NULL only for AK_AN_METRICS */
    const char *system_id;       /* NULL: the whole fleet */
    const char *project, *category; /* NULL: any (stored-memory metrics only) */
    int64_t days;                /* time_window_days, 1..AK_AN_MAX_DAYS */
    double threshold_std;        /* anomalies: |z| at least this */
    int64_t limit;               /* anomalies and pairs shown, 1..AK_AN_MAX_LIMIT */
    int64_t end_day;             /* last day of the window (days since 1970-01-01) */
} ak_an_params;

/* Defaults of tool t (the Python Akosha's: 7 days, 3.0 std; metrics: 30
 * days), the window ending today (now_us). */
void ak_an_params_init(ak_an_params *p, ak_an_tool t, int64_t now_us);

/* Tool arguments (a JSON object, or NULL for none) into p; AK_ERR_INVALID
 * naming the argument. */
ak_code ak_an_params_from_json(const ak_json *args, ak_an_tool t, ak_an_params *p, ak_err *err);

/* Check p (the metric exists, ids are valid, filters fit the metric). */
ak_code ak_an_params_check(const ak_an_params *p, ak_an_tool t, ak_err *err);

/* Run tool t; writes one JSON object.  AK_ERR_INVALID for bad params,
 * AK_ERR_NOTFOUND for an unknown system; else AK_OK (insufficient data
 * included). */
ak_code ak_an_run(ak_index *idx, ak_an_tool t, const ak_an_params *p, ak_jw *w, ak_err *err);

/* "2026-12-05" -> days since 1970-01-01; 0 when s is not such a date. */
int ak_an_parse_day(const char *s, int64_t *day);

#endif
