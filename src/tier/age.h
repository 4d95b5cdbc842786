/*
 * age.h - aging: hot -> warm -> cold (SPEC section 6), without ever losing a
 * record.
 *
 *   hot -> warm   rows older than hot_days: a 3-sentence summary (and the
 *                 1-sentence one and the MinHash fingerprint the cold tier
 *                 will need, while the full text is still here), the
 *                 embedding quantized to int8.  One transaction per batch of
 *                 rows inside the system's database: insert warm, verify
 *                 (same keys, same content hashes), delete hot.
 *   warm -> cold  rows older than warm_days, per system and UTC month,
 *                 together with the month's objects that have room (fewer
 *                 than AK_AGE_COLD_TARGET_ROWS rows): one Parquet file put
 *                 into the cold store at
 *                   system_id=<id>/month=<YYYY-MM>/batch-<16 hex>.parquet
 *                   (the system part: ak_cold_system_prefix in cold.h)
 *                 (the hex from the rows' content hashes), read back and
 *                 compared by SHA-256, and only then, in one transaction,
 *                 the catalog switched (warm rows catalogued with their
 *                 summary and vector code, merged rows pointed at the new
 *                 object) and the warm rows deleted; replaced objects are
 *                 deleted after the commit (tocold.c).
 *
 * With retention_days, each system first drops what is past retention,
 * from every tier (tier/retention.h).
 *
 * A crash anywhere leaves each row in exactly one tier.  A failed cold
 * upload leaves the warm rows where they are; the next pass retries.  A
 * crash during a put into a local cold store may leave a temp file there
 * (ak_store_temps()); the next pass over the system removes it before its
 * first export.
 *
 * Ownership: the config is borrowed for the duration of the call.
 */
#ifndef AK_AGE_H
#define AK_AGE_H

#include <stdatomic.h>
#include <stdint.h>

#include "objstore/objstore.h"
#include "storage/datadir.h"
#include "storage/tiermove.h"
#include "tier/retention.h"

#define AK_AGE_HOT_BATCH 500
#define AK_AGE_COLD_TARGET_ROWS 10000 /* rows a cold object grows to (~7 MiB) */
#define AK_AGE_DEFAULT_HOT_DAYS 7
#define AK_AGE_DEFAULT_WARM_DAYS 90

typedef ak_tiermove_count ak_age_move; /* rows, bytes_before, bytes_after */

typedef struct {
    int64_t systems, systems_failed;
    ak_age_move hot_to_warm, warm_to_cold;
    int64_t cold_objects;        /* Parquet files written and verified */
    int64_t cold_merged;         /* smaller objects merged into those */
    int64_t cold_deleted;        /* replaced objects deleted from the store */
    int64_t cold_failures;       /* batches left warm because the store failed */
    int64_t cold_temps_removed;  /* temp files a killed pass left in the cold store */
    ak_retention_stats dropped;  /* past retention_days, dropped from every tier */
    double seconds;
} ak_age_stats;

/* Called after a system's database changed, e.g. to reload its index. */
typedef void (*ak_age_changed_fn)(void *ctx, const char *system_id);

typedef struct {
    const ak_datadir *data;
    ak_store *cold;              /* NULL: no warm -> cold this pass */
    int64_t now_us;              /* 0: the wall clock */
    int64_t hot_days, warm_days; /* 0: the defaults */
    int64_t retention_days;      /* 0: keep everything (tier/retention.h) */
    int dry_run;                 /* count what would move, change nothing; rows
                                    that would pass through warm to cold count in
                                    warm_to_cold.rows but not in its bytes (their
                                    summaries are not made) */
    const atomic_int *stop;      /* may be NULL: stop between batches */
    ak_age_changed_fn on_changed;
    void *ctx;
} ak_age_config;

/* One pass over every system.  Per-system failures are logged and counted
 * in stats (systems_failed, cold_failures); the error is for the data
 * directory itself. */
ak_code ak_age_run(const ak_age_config *cfg, ak_age_stats *stats, ak_err *err);

/* The cold object key of a batch of month "YYYY-MM" (exposed for tests). */
ak_code ak_age_cold_key(const char *system_id, const char *month, const uint8_t digest[32],
                        char *out, size_t n);

#endif
