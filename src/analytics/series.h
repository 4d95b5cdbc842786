/*
 * series.h - the metrics analytics knows and one system's daily series of
 * one of them, read from its database (rollup.h, the upload ledger).
 *
 * Two families: stored memories by the day of their timestamp (every
 * tier; what is stored now, so updates, retention and forgetting show),
 * and arrivals by the day of their upload (the ledger: what each upload
 * brought, new vs updated, duplicates, rejected records, bytes).
 */
#ifndef AK_SERIES_H
#define AK_SERIES_H

#include <stdint.h>

#include "storage/sysdb.h"

typedef enum { AK_METRIC_STORED, AK_METRIC_ARRIVALS } ak_metric_family;

typedef struct {
    const char *name, *unit, *description;
    ak_metric_family family;
    const char *expr; /* SQL aggregate over daily or uploads rows */
} ak_metric;

const ak_metric *ak_metric_find(const char *name);
const ak_metric *ak_metric_at(size_t i); /* NULL past the last */

typedef struct {
    const ak_metric *m;
    const char *project, *category; /* NULL: any */
    int64_t from_day, to_day;       /* inclusive */
} ak_series_query;

/* v[0 .. to_day - from_day] gets the system's value per day (0 where it
 * has none); *first_day the first day it has any data of the metric's
 * family at all (INT64_MAX when none). */
ak_code ak_series_read(ak_sysdb *db, const ak_series_query *q, double *v, int64_t *first_day,
                       ak_err *err);

#endif
