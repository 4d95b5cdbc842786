/*
 * backfill.h - embedding the memories that arrived without a vector (NULL
 * embeddings in DuckDB uploads, null in pushes, absent in JSON), so they
 * become vector-searchable.
 *
 * A pass walks the systems (`concurrency` at a time), reads each one's rows
 * without a vector in id order, tier by tier, sends them to the provider
 * `batch` at a time and writes each vector in a short transaction of its
 * own, only if the row still has the same content and still has no vector
 * (ingestion or aging may have changed it meanwhile).  Each tier embeds the
 * text it keeps and stores the vector in its own form: hot its content, as
 * float32; warm (a row aged before it was embedded, or that arrived old) its
 * 3-sentence summary, as int8 and scale; cold its 1-sentence summary, as the
 * vector code in the catalog (the object gets the code when a later pass
 * merges the month, tier/tocold.c).  A batch the provider refuses is tried
 * text by text, so one text it cannot embed does not hold the others back
 * (that one stays without a vector and is counted failed).  A provider
 * that is down (transport error, 5xx, breaker open, key refused) ends the
 * pass: the rest waits for the next one.  Rows with no text left (an empty
 * summary, a cold row catalogued before summaries were) stay without a
 * vector and are counted.
 *
 * Ownership: the configuration's handles are borrowed.
 */
#ifndef AK_BACKFILL_H
#define AK_BACKFILL_H

#include <stdatomic.h>
#include <stdint.h>

#include "embed/embed.h"
#include "storage/datadir.h"
#include "storage/sysdb.h"
#include "util/progress.h"

#define AK_BACKFILL_DEFAULT_BATCH 32
#define AK_BACKFILL_DEFAULT_CONCURRENCY 2

typedef struct {
    const ak_datadir *dd;
    ak_embed *embed;
    const char *system_id;  /* NULL: every system */
    unsigned concurrency;   /* systems at once (0: default) */
    unsigned batch;         /* texts per request, 1..AK_EMBED_BATCH_MAX (0: default) */
    const atomic_int *stop; /* may be NULL; checked between batches */
    /* called (from a worker thread) after a system got vectors */
    void (*on_changed)(void *ctx, const char *system_id);
    void *ctx;
    ak_progress_fn on_progress; /* may be NULL: after each system, systems done of all */
    void *progress_ctx;
} ak_backfill_config;

typedef struct {
    int64_t embedded;      /* rows that got a vector */
    int64_t failed;        /* rows the provider could not embed */
    int64_t remaining;     /* rows of every tier still without a vector after the pass */
    int64_t missing[3];    /* the same by tier (ak_tier) */
    int64_t systems_changed;
    double seconds;
    char error[AK_ERR_MSG_MAX]; /* the first provider error, "" when none */
} ak_backfill_stats;

/* One pass.  Errors are for the data directory itself (or a bad system id);
 * a provider's failures are in stats->error. */
ak_code ak_backfill_run(const ak_backfill_config *c, ak_backfill_stats *stats, ak_err *err);

#endif
