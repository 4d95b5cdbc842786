/*
 * prom.h - today's daily series in Prometheus form, for /metrics.
 *
 *   akosha_daily_<metric>{system="<id>"}   today's value (UTC day) of
 *       memories (memory_count), new_memories (new_count),
 *       updated_memories (updated_count), content_bytes
 *   akosha_daily_systems_active             systems with a memory today
 * Label cardinality is bounded: the AK_PROM_TOP_SYSTEMS systems with the
 * most memories today are named; the others are summed under
 * system="~other" ('~' is in no system id).  With 1,000 systems a scrape
 * holds at most 21 series per metric.  Reading every database costs time,
 * so the text is
 * rebuilt at most once per AK_PROM_TTL_US; a scrape in between gets the
 * last one.  A database whose file and WAL were both last modified before
 * today began (UTC) is not opened: it had no upload today (new, updated:
 * 0) and is counted as storing no memory of today, which misses only
 * memories stored before today with a timestamp of today (a sender's
 * clock ahead).  So a scrape opens the databases written today, not every
 * database of the node (after a restart that mapped them unopened, none
 * written since midnight are opened).
 *
 * Thread-safe.  The cache is process-wide and freed by ak_an_prom_reset().
 */
#ifndef AK_PROM_H
#define AK_PROM_H

#include "query/index.h"
#include "util/buf.h"

#define AK_PROM_TOP_SYSTEMS 20
#define AK_PROM_TTL_US (60 * INT64_C(1000000))

/* Append the series of day now_us to out (from the cache when fresh). */
void ak_an_prom_render(ak_index *idx, int64_t now_us, ak_buf *out);
void ak_an_prom_reset(void);

#endif
