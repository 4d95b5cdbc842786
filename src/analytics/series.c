/* series.c - see series.h. */
#include "analytics/series.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "storage/rollup.h"
#include "util/time.h"

static const ak_metric metrics[] = {
    {"conversation_count", "conversations", "conversations stored (every tier), by the day of "
     "their timestamp", AK_METRIC_STORED, "sum(conversations)"},
    {"reflection_count", "reflections", "reflections stored (every tier), by the day of their "
     "timestamp", AK_METRIC_STORED, "sum(reflections)"},
    {"memory_count", "memories", "conversations and reflections stored, by the day of their "
     "timestamp", AK_METRIC_STORED, "sum(conversations + reflections)"},
    {"content_bytes", "bytes", "UTF-8 bytes of the stored memories' full content, by the day of "
     "their timestamp", AK_METRIC_STORED, "sum(bytes)"},
    {"pushed_count", "memories", "stored memories that came by HTTP push",
     AK_METRIC_STORED, "sum(pushed)"},
    {"uploaded_count", "memories", "stored memories that came in a bucket upload",
     AK_METRIC_STORED, "sum(conversations + reflections - pushed)"},
    {"upload_count", "uploads", "uploads and pushed batches ingested, by the day of their upload",
     AK_METRIC_ARRIVALS, "count(*)"},
    {"new_count", "memories", "memories new to Akosha, by the day of their upload",
     AK_METRIC_ARRIVALS, "sum(new_count)"},
    {"updated_count", "memories", "memories that replaced an older version, by the day of their "
     "upload", AK_METRIC_ARRIVALS, "sum(updated)"},
    {"duplicate_count", "memories", "memories sent again unchanged, by the day of their upload",
     AK_METRIC_ARRIVALS, "sum(duplicates)"},
    {"rejected_record_count", "records", "records refused by the record rules, by the day of "
     "their upload", AK_METRIC_ARRIVALS, "sum(records_rejected)"},
    {"payload_bytes", "bytes", "payload bytes ingested (as stored in the bucket), by the day of "
     "their upload", AK_METRIC_ARRIVALS, "sum(payload_bytes)"},
};
#define N_METRICS (sizeof metrics / sizeof *metrics)

const ak_metric *ak_metric_find(const char *name)
{
    for (size_t i = 0; name && i < N_METRICS; i++)
        if (!strcmp(metrics[i].name, name))
            return &metrics[i];
    return NULL;
}

const ak_metric *ak_metric_at(size_t i) { return i < N_METRICS ? &metrics[i] : NULL; }

#define FILTERS "(?3 IS NULL OR project = ?3) AND (?4 IS NULL OR category = ?4)"

static ak_code sql_error(sqlite3 *h, ak_err *err)
{
    return ak_err_set(err, AK_ERR_IO, "analytics: %s", sqlite3_errmsg(h));
}

static ak_code prepare(sqlite3 *h, const char *sql, const ak_series_query *q, int64_t a, int64_t b,
                       sqlite3_stmt **st, ak_err *err)
{
    if (sqlite3_prepare_v2(h, sql, -1, st, NULL) != SQLITE_OK)
        return sql_error(h, err);
    sqlite3_bind_int64(*st, 1, a);
    sqlite3_bind_int64(*st, 2, b);
    if (q->m->family == AK_METRIC_STORED) {
        if (q->project)
            sqlite3_bind_text(*st, 3, q->project, -1, SQLITE_STATIC);
        if (q->category)
            sqlite3_bind_text(*st, 4, q->category, -1, SQLITE_STATIC);
    }
    return AK_OK;
}

/* Rows of (day, value) into v; one row of (first) into *first_day. */
static ak_code run(sqlite3 *h, sqlite3_stmt *st, const ak_series_query *q, double *v,
                   int64_t *first_day, ak_err *err)
{
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (first_day) {
            if (sqlite3_column_type(st, 0) != SQLITE_NULL)
                *first_day = sqlite3_column_int64(st, 0);
            continue;
        }
        int64_t d = sqlite3_column_int64(st, 0);
        if (d >= q->from_day && d <= q->to_day)
            v[d - q->from_day] = sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? AK_OK : sql_error(h, err);
}

ak_code ak_series_read(ak_sysdb *db, const ak_series_query *q, double *v, int64_t *first_day,
                       ak_err *err)
{
    sqlite3 *h = ak_sysdb_handle(db);
    char sql[512];
    sqlite3_stmt *st = NULL;
    int stored = q->m->family == AK_METRIC_STORED;
    memset(v, 0, (size_t)(q->to_day - q->from_day + 1) * sizeof *v);
    *first_day = INT64_MAX;
    if (stored)
        snprintf(sql, sizeof sql, "SELECT day, %s FROM daily WHERE day BETWEEN ?1 AND ?2 AND "
                 FILTERS " GROUP BY day", q->m->expr);
    else
        snprintf(sql, sizeof sql, "SELECT d, %s FROM (SELECT %s AS d, * FROM uploads"
                 " WHERE status = 'ingested' AND uploaded_at_us >= ?1 AND uploaded_at_us < ?2)"
                 " GROUP BY d", q->m->expr, AK_ROLLUP_DAY_OF("uploaded_at_us"));
    int64_t a = stored ? q->from_day : q->from_day * AK_US_PER_DAY;
    int64_t b = stored ? q->to_day : (q->to_day + 1) * AK_US_PER_DAY;
    ak_code rc = prepare(h, sql, q, a, b, &st, err);
    if (rc == AK_OK)
        rc = run(h, st, q, v, NULL, err);
    const char *first = stored ? "SELECT min(day) FROM daily WHERE ?1 = ?2 AND " FILTERS
                               : "SELECT " AK_ROLLUP_DAY_OF("min(uploaded_at_us)")
                                 " FROM uploads WHERE status = 'ingested' AND ?1 = ?2";
    if (rc == AK_OK && (rc = prepare(h, first, q, 0, 0, &st, err)) == AK_OK)
        rc = run(h, st, q, v, first_day, err);
    return rc;
}
