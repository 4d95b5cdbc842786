/* series.c - see series.h. */
#include "analytics/series.h"

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

ak_code ak_series_read(ak_sysdb *db, const ak_series_query *q, double *v, int64_t *first_day,
                       ak_err *err)
{
    ak_rollup_query rq = {q->m->expr, q->m->family == AK_METRIC_STORED, q->project,
                          q->category, q->from_day, q->to_day};
    return ak_rollup_series(db, &rq, v, first_day, err);
}
