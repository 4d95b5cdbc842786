/*
 * embedder.c - see embedder.h.
 */
#include "server/embedder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "embed/backfill.h"
#include "util/log.h"

struct ak_embedder {
    const ak_datadir *dd;
    ak_embed *embed;
    ak_index *idx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int kicked, quit;
    atomic_int stop;
    atomic_llong passes, embedded, failed, missing;
};

static void on_changed(void *ctx, const char *sid)
{
    ak_embedder *b = ctx;
    ak_err err;
    if (ak_index_load_system(b->idx, sid, &err))
        AK_WARN("embed", "%s", err.msg);
}

static void one_pass(ak_embedder *b)
{
    ak_backfill_config c = {.dd = b->dd, .embed = b->embed, .stop = &b->stop,
                            .on_changed = on_changed, .ctx = b};
    ak_backfill_stats st;
    ak_err err;
    if (ak_backfill_run(&c, &st, &err)) {
        AK_WARN("embed", "backfill pass: %s", err.msg);
        return;
    }
    atomic_fetch_add(&b->passes, 1);
    atomic_fetch_add(&b->embedded, st.embedded);
    atomic_fetch_add(&b->failed, st.failed);
    atomic_store(&b->missing, st.remaining);
    if (st.embedded || st.error[0])
        AK_INFO("embed", "backfill: %lld embedded, %lld failed, %lld still without a vector in "
                "%.2f s%s%s", (long long)st.embedded, (long long)st.failed,
                (long long)st.remaining, st.seconds, st.error[0] ? "; " : "", st.error);
}

static void *run(void *arg)
{
    ak_embedder *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->quit && !b->kicked)
            pthread_cond_wait(&b->cv, &b->mu);
        if (b->quit)
            break;
        b->kicked = 0;
        pthread_mutex_unlock(&b->mu);
        one_pass(b);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

ak_code ak_embedder_start(const ak_datadir *dd, ak_embed *embed, ak_index *idx,
                          ak_embedder **out, ak_err *err)
{
    *out = NULL;
    if (!embed)
        return AK_OK;
    ak_embedder *b = calloc(1, sizeof *b);
    if (!b)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    b->dd = dd;
    b->embed = embed;
    b->idx = idx;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pthread_create(&b->thread, NULL, run, b)) {
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
        free(b);
        return ak_err_set(err, AK_ERR_NOMEM, "cannot start the embedding thread");
    }
    *out = b;
    return AK_OK;
}

void ak_embedder_kick(ak_embedder *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->kicked = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void ak_embedder_stop(ak_embedder *b)
{
    if (!b)
        return;
    atomic_store(&b->stop, 1);
    pthread_mutex_lock(&b->mu);
    b->quit = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void ak_embedder_metrics(ak_embedder *b, ak_buf *out)
{
    if (!b)
        return;
    ak_embed_metrics(b->embed, out);
    ak_buf_printf(out,
                  "# HELP akosha_embed_backfill_passes_total Background embedding passes run.\n"
                  "# TYPE akosha_embed_backfill_passes_total counter\n"
                  "akosha_embed_backfill_passes_total %lld\n"
                  "# HELP akosha_embed_backfilled_total Memories given a vector by the provider.\n"
                  "# TYPE akosha_embed_backfilled_total counter\nakosha_embed_backfilled_total %lld\n"
                  "# HELP akosha_embed_backfill_failed_total Memories the provider could not embed.\n"
                  "# TYPE akosha_embed_backfill_failed_total counter\n"
                  "akosha_embed_backfill_failed_total %lld\n"
                  "# HELP akosha_embed_missing Hot memories without a vector after the last pass.\n"
                  "# TYPE akosha_embed_missing gauge\nakosha_embed_missing %lld\n",
                  atomic_load(&b->passes), atomic_load(&b->embedded), atomic_load(&b->failed),
                  atomic_load(&b->missing));
}
