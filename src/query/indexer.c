/*
 * indexer.c - see indexer.h.
 *
 * Changed systems queue up (each at most once) under a mutex; the thread
 * takes one at a time, reads the system's current segment and syncs the
 * vector index to it.  A system changed again meanwhile is simply queued
 * again, and a sync of a segment already bound costs nothing.
 */
#include "query/indexer.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/time.h"

struct ak_indexer {
    ak_index *idx;
    ak_vindex *v;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **queue; /* system ids, each once */
    size_t n, cap;
    atomic_int stop;
    atomic_llong first_pass_us; /* how long the first pass took (-1: not done) */
    int (*busy)(void *ctx);
    void *busy_ctx;
};

static int cmp_seg_id(const void *a, const void *b)
{
    return strcmp((*(ak_segment *const *)a)->system_id, (*(ak_segment *const *)b)->system_id);
}

ak_code ak_indexer_sync_all(ak_index *idx, ak_vindex *v, int add, atomic_int *stop,
                            ak_err *err)
{
    ak_segment **segs = NULL;
    size_t n = 0;
    if (ak_index_segments(idx, &segs, &n))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    qsort(segs, n, sizeof *segs, cmp_seg_id);
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    ak_code rc = ids ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = segs[i]->system_id;
    if (rc == AK_OK)
        ak_vindex_retain(v, ids, n);
    for (size_t i = 0; rc == AK_OK && i < n; i++)
        rc = ak_vindex_sync(v, segs[i], add, stop, err);
    for (size_t i = 0; i < n; i++)
        ak_segment_unref(segs[i]);
    free(segs);
    free(ids);
    return rc;
}

static void on_change(void *ctx, const char *sid)
{
    ak_indexer *ix = ctx;
    pthread_mutex_lock(&ix->mu);
    int queued = 0;
    for (size_t i = 0; i < ix->n && !queued; i++)
        queued = strcmp(ix->queue[i], sid) == 0;
    if (!queued && ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        char **grown = realloc(ix->queue, cap * sizeof *grown);
        if (grown) {
            ix->queue = grown;
            ix->cap = cap;
        }
    }
    /* out of memory: the system stays scanned exactly until its next change */
    if (!queued && ix->n < ix->cap && (ix->queue[ix->n] = strdup(sid)))
        ix->n++;
    pthread_cond_signal(&ix->cv);
    pthread_mutex_unlock(&ix->mu);
}

static void sync_one(ak_indexer *ix, const char *sid)
{
    ak_err err;
    ak_segment *seg = ak_index_segment(ix->idx, sid);
    if (!seg)
        ak_vindex_drop(ix->v, sid);
    else if (ak_vindex_sync(ix->v, seg, 1, &ix->stop, &err) && err.code != AK_ERR_ABORTED)
        AK_WARN("vindex", "system %s: %s (it is scanned exactly)", sid, err.msg);
    ak_segment_unref(seg);
}

static void save(ak_indexer *ix)
{
    ak_err err;
    size_t written = 0;
    int64_t t0 = ak_time_mono_us();
    if (ak_index_persist(ix->idx, &ix->stop, &written, &err))
        AK_WARN("index", "writing segment files: %s", err.msg);
    else if (written)
        AK_INFO("index", "%zu segment files written in %.2f s", written,
                (double)(ak_time_mono_us() - t0) / 1e6);
    if (ak_vindex_save(ix->v, &err))
        AK_WARN("vindex", "saving the vector index: %s", err.msg);
}

static void first_pass(ak_indexer *ix)
{
    ak_err err, why;
    int64_t t0 = ak_time_mono_us();
    ak_code rc = ak_indexer_sync_all(ix->idx, ix->v, 1, &ix->stop, &err);
    /* the file's checksum the start left (the graph serves meanwhile:
     * vindex.h says why that is safe), before anything saves over it;
     * damage empties the graph: every system again */
    if (!atomic_load(&ix->stop) && ak_vindex_sum(ix->v, &why) == AK_ERR_CORRUPT)
        rc = ak_indexer_sync_all(ix->idx, ix->v, 1, &ix->stop, &err);
    if (rc) {
        if (err.code != AK_ERR_ABORTED)
            AK_WARN("vindex", "first pass: %s", err.msg);
        return;
    }
    atomic_store(&ix->first_pass_us, ak_time_mono_us() - t0);
    ak_vindex_stats st;
    ak_vindex_stats_get(ix->v, &st);
    AK_INFO("vindex", "vector index in step: %llu nodes (%llu deleted, %llu added), "
            "%llu systems bound, in %.2f s", (unsigned long long)st.nodes,
            (unsigned long long)st.deleted, (unsigned long long)st.added,
            (unsigned long long)st.bound_systems, (double)(ak_time_mono_us() - t0) / 1e6);
    save(ix);
}

/* ak_vindex_set_pause(): requests being answered go first.  SCHED_IDLE
 * alone (run()) was not enough: Linux left a waiting request on the busy
 * CPU while the other ran this thread (BENCHMARKS.md, tenth pass). */
static void pause_for_requests(void *ctx)
{
    ak_indexer *ix = ctx;
    struct timespec step = {0, AK_INDEXER_PAUSE_MS * 1000000L};
    for (int waited = 0; waited < AK_INDEXER_PAUSE_MAX_MS && !atomic_load(&ix->stop) &&
                         ix->busy(ix->busy_ctx);
         waited += AK_INDEXER_PAUSE_MS)
        nanosleep(&step, NULL);
}

static void *run(void *arg)
{
    ak_indexer *ix = arg;
    /* Only on CPU nothing else wants (SCHED_IDLE): what it has not linked
     * yet is scanned exactly, so a busy server answers first and the graph
     * catches up when the CPU is free.  It was 10 nicer than the process,
     * but a nice thread still took a tenth of a core from the answers and
     * ran on when they woke: SCHED_IDLE gave pushes ~15% more memories a
     * second (docs/BENCHMARKS.md, ninth pass).  A server whose CPU is never
     * free never links, and its searches stay exact scans of what is not
     * linked. */
    struct sched_param none = {0};
    int e = pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
    if (e)
        AK_WARN("vindex", "lowering the index thread's priority: %s", strerror(e));
    first_pass(ix);
    int64_t last_save = ak_time_mono_us();
    pthread_mutex_lock(&ix->mu);
    while (!atomic_load(&ix->stop)) {
        if (ix->n) {
            char *sid = ix->queue[0];
            memmove(ix->queue, ix->queue + 1, --ix->n * sizeof *ix->queue);
            pthread_mutex_unlock(&ix->mu);
            sync_one(ix, sid);
            free(sid);
            pthread_mutex_lock(&ix->mu);
            continue;
        }
        if (ak_time_mono_us() - last_save >= AK_INDEXER_SAVE_S * 1000000LL) {
            pthread_mutex_unlock(&ix->mu);
            save(ix);
            last_save = ak_time_mono_us();
            pthread_mutex_lock(&ix->mu);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&ix->cv, &ix->mu, &until);
    }
    pthread_mutex_unlock(&ix->mu);
    return NULL;
}

ak_code ak_indexer_start(ak_index *idx, ak_vindex *v, int (*busy)(void *ctx), void *busy_ctx,
                         ak_indexer **out, ak_err *err)
{
    ak_indexer *ix = calloc(1, sizeof *ix);
    if (!ix)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ix->idx = idx;
    ix->v = v;
    ix->busy = busy;
    ix->busy_ctx = busy_ctx;
    if (busy)
        ak_vindex_set_pause(v, pause_for_requests, ix);
    atomic_init(&ix->first_pass_us, -1);
    pthread_mutex_init(&ix->mu, NULL);
    pthread_cond_init(&ix->cv, NULL);
    ak_index_set_listener(idx, on_change, ix);
    int e = pthread_create(&ix->thread, NULL, run, ix);
    if (!e) /* its CPU told apart in /proc (bench/push_bench.py) */
        pthread_setname_np(ix->thread, "ak-vindex");
    if (e) {
        ak_index_set_listener(idx, NULL, NULL);
        pthread_mutex_destroy(&ix->mu);
        pthread_cond_destroy(&ix->cv);
        free(ix);
        return ak_err_set(err, AK_ERR_INTERNAL, "starting the indexer: %s", strerror(e));
    }
    *out = ix;
    return AK_OK;
}

void ak_indexer_stop(ak_indexer *ix)
{
    if (!ix)
        return;
    ak_index_set_listener(ix->idx, NULL, NULL);
    pthread_mutex_lock(&ix->mu);
    atomic_store(&ix->stop, 1);
    pthread_cond_signal(&ix->cv);
    pthread_mutex_unlock(&ix->mu);
    pthread_join(ix->thread, NULL);
    ak_vindex_set_pause(ix->v, NULL, NULL); /* the vindex outlives ix */
    save(ix);
    for (size_t i = 0; i < ix->n; i++)
        free(ix->queue[i]);
    free(ix->queue);
    pthread_mutex_destroy(&ix->mu);
    pthread_cond_destroy(&ix->cv);
    free(ix);
}

void ak_indexer_metrics(ak_indexer *ix, ak_buf *out)
{
    if (!ix)
        return;
    ak_vindex_stats vs;
    ak_index_stats is;
    ak_vindex_stats_get(ix->v, &vs);
    ak_index_stats_get(ix->idx, &is);
    uint64_t unindexed = is.vectors > vs.bound_vectors ? is.vectors - vs.bound_vectors : 0;
    long long first = atomic_load(&ix->first_pass_us);
    ak_buf_printf(out,
                  "# HELP akosha_vindex_vectors Vectors searched through the ANN graph (bound systems).\n"
                  "# TYPE akosha_vindex_vectors gauge\nakosha_vindex_vectors %llu\n"
                  "# HELP akosha_vindex_unindexed_vectors Vectors not in the graph yet (scanned exactly).\n"
                  "# TYPE akosha_vindex_unindexed_vectors gauge\nakosha_vindex_unindexed_vectors %llu\n"
                  "# HELP akosha_vindex_deleted_nodes Graph nodes marked deleted (kept for routing).\n"
                  "# TYPE akosha_vindex_deleted_nodes gauge\nakosha_vindex_deleted_nodes %llu\n"
                  "# HELP akosha_vindex_added_total Nodes inserted into the graph since start.\n"
                  "# TYPE akosha_vindex_added_total counter\nakosha_vindex_added_total %llu\n"
                  "# HELP akosha_vindex_first_pass_seconds Time the indexer's first pass took (-1: running).\n"
                  "# TYPE akosha_vindex_first_pass_seconds gauge\nakosha_vindex_first_pass_seconds %.3f\n"
                  "# HELP akosha_vindex_exact_fallbacks_total Searches the graph left to the exact scan: no close match.\n"
                  "# TYPE akosha_vindex_exact_fallbacks_total counter\nakosha_vindex_exact_fallbacks_total %llu\n"
                  "# HELP akosha_vindex_rebuilt_total Vector index files found damaged (at start or by the checksum pass after it) and rebuilt from the databases.\n"
                  "# TYPE akosha_vindex_rebuilt_total counter\nakosha_vindex_rebuilt_total %llu\n"
                  "# HELP akosha_segfiles_rebuilt_total Segment files found damaged and rebuilt from the databases.\n"
                  "# TYPE akosha_segfiles_rebuilt_total counter\nakosha_segfiles_rebuilt_total %llu\n"
                  "# HELP akosha_segfiles_unopened_total Systems mapped from their segment file without opening their database.\n"
                  "# TYPE akosha_segfiles_unopened_total counter\nakosha_segfiles_unopened_total %llu\n"
                  "# HELP akosha_index_db_opens_total System databases the index opened: loading a system, or a read finding no idle connection.\n"
                  "# TYPE akosha_index_db_opens_total counter\nakosha_index_db_opens_total %llu\n",
                  (unsigned long long)vs.bound_vectors, (unsigned long long)unindexed,
                  (unsigned long long)vs.deleted, (unsigned long long)vs.added,
                  first < 0 ? -1.0 : (double)first / 1e6, (unsigned long long)vs.exact_fallbacks,
                  (unsigned long long)vs.damaged,
                  (unsigned long long)ak_index_segfiles_rebuilt(ix->idx),
                  (unsigned long long)ak_index_segfiles_unopened(ix->idx),
                  (unsigned long long)ak_index_db_opens(ix->idx));
}
