/* pool.c - see pool.h. */
#include "util/pool.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/time.h"

typedef struct job {
    ak_job_fn fn;
    void *arg;
    struct job *next;
} job;

struct ak_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;
    int closing;
    unsigned n;
    pthread_t th[];
};

static void *worker(void *arg)
{
    ak_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->closing)
            pthread_cond_wait(&p->cv, &p->mu);
        job *j = p->head;
        if (!j)
            break; /* closing and drained */
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ak_code ak_pool_new(unsigned threads, ak_pool **out, ak_err *err)
{
    if (!threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (unsigned)cpus : 1;
    }
    ak_pool *p = calloc(1, sizeof *p + threads * sizeof(pthread_t));
    if (!p)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (; p->n < threads; p->n++)
        if (pthread_create(&p->th[p->n], NULL, worker, p) != 0)
            break;
    if (!p->n) {
        ak_pool_free(p);
        return ak_err_set(err, AK_ERR_NOMEM, "cannot start worker threads");
    }
    *out = p;
    return AK_OK;
}

void ak_pool_free(ak_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

unsigned ak_pool_threads(const ak_pool *p) { return p->n; }

ak_code ak_pool_submit(ak_pool *p, ak_job_fn fn, void *arg)
{
    job *j = malloc(sizeof *j);
    if (!j)
        return AK_ERR_NOMEM;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return AK_OK;
}

void ak_latch_init(ak_latch *l, unsigned count)
{
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    l->pending = count;
}

void ak_latch_add(ak_latch *l, unsigned n)
{
    pthread_mutex_lock(&l->mu);
    l->pending += n;
    pthread_mutex_unlock(&l->mu);
}

void ak_latch_done(ak_latch *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->pending && --l->pending == 0)
        pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

int ak_latch_wait(ak_latch *l, int64_t deadline_us)
{
    struct timespec ts = {(time_t)(deadline_us / AK_US_PER_SEC),
                          (long)(deadline_us % AK_US_PER_SEC) * 1000};
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    while (l->pending && rc == 0)
        rc = deadline_us ? pthread_cond_timedwait(&l->cv, &l->mu, &ts)
                         : pthread_cond_wait(&l->cv, &l->mu);
    int done = l->pending == 0;
    pthread_mutex_unlock(&l->mu);
    return done;
}

void ak_latch_destroy(ak_latch *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
}
