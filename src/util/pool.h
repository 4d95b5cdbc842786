/*
 * pool.h - a fixed set of worker threads running queued jobs.
 *
 * Used to fan a query out over shards and to load the index in parallel.
 * Jobs run in submission order; a job owns its argument.  To wait for a
 * group of jobs, use an ak_latch: each job counts it down when done, and the
 * submitter waits on it, with a deadline if it wants one.
 *
 * Ownership: ak_pool_new() / ak_pool_free() (which finishes queued jobs
 * first).  ak_latch is a plain struct: ak_latch_init() / ak_latch_destroy().
 */
#ifndef AK_POOL_H
#define AK_POOL_H

#include <pthread.h>
#include <stdint.h>

#include "util/err.h"

typedef struct ak_pool ak_pool;
typedef void (*ak_job_fn)(void *arg);

/* threads: 0 = one per online CPU. */
ak_code ak_pool_new(unsigned threads, ak_pool **out, ak_err *err);
void ak_pool_free(ak_pool *p);
unsigned ak_pool_threads(const ak_pool *p);
ak_code ak_pool_submit(ak_pool *p, ak_job_fn fn, void *arg);

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned pending;
} ak_latch;

void ak_latch_init(ak_latch *l, unsigned count);
/* Count up, for groups whose size is known only as jobs are submitted. */
void ak_latch_add(ak_latch *l, unsigned n);
void ak_latch_done(ak_latch *l);
/* Wait until the count reaches 0 or the monotonic clock passes deadline_us
 * (0 = no deadline).  Returns 1 when all are done, 0 on timeout. */
int ak_latch_wait(ak_latch *l, int64_t deadline_us);
void ak_latch_destroy(ak_latch *l);

#endif
