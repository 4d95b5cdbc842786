/*
 * backfill.c - see backfill.h.
 */
#include "embed/backfill.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "storage/vecfill.h"
#include "util/ids.h"
#include "util/sha256.h"
#include "util/time.h"
#include "util/vcode.h"
#include "util/vec.h"

typedef struct {
    const ak_backfill_config *c;
    char **systems;
    size_t n_systems;
    atomic_size_t next;
    atomic_int provider_down;
    pthread_mutex_t mu; /* guards stats and done */
    ak_backfill_stats *stats;
    int64_t done;       /* systems finished */
} pass;

/* A failure that says the provider is unusable right now (not this text). */
static int provider_down(ak_code rc) { return rc == AK_ERR_IO || rc == AK_ERR_AUTH ||
                                              rc == AK_ERR_UNSUPPORTED; }

static void note_error(pass *p, const char *msg)
{
    pthread_mutex_lock(&p->mu);
    if (!p->stats->error[0])
        ak_fmt(p->stats->error, sizeof p->stats->error, "%s", msg);
    pthread_mutex_unlock(&p->mu);
}

/* Embed rows[0..n): as one batch, or text by text when the batch is refused. */
static size_t embed_rows(pass *p, const ak_vecfill_row *rows, size_t n, float *v, int *ok)
{
    const char *texts[AK_EMBED_BATCH_MAX];
    size_t lens[AK_EMBED_BATCH_MAX], good = 0;
    ak_err err;
    for (size_t i = 0; i < n; i++)
        texts[i] = rows[i].text, lens[i] = rows[i].len, ok[i] = 0;
    ak_code rc = ak_embed_batch(p->c->embed, texts, lens, n, v, &err);
    if (rc == AK_OK) {
        for (size_t i = 0; i < n; i++)
            ok[i] = 1;
        return n;
    }
    note_error(p, err.msg);
    for (size_t i = 0; n > 1 && !provider_down(rc) && i < n; i++) {
        rc = ak_embed_batch(p->c->embed, &texts[i], &lens[i], 1, v + i * AK_DIM, &err);
        ok[i] = rc == AK_OK;
        good += ok[i];
    }
    if (provider_down(rc))
        atomic_store(&p->provider_down, 1);
    return good;
}

static int stopping(pass *p)
{
    return atomic_load(&p->provider_down) || (p->c->stop && atomic_load(p->c->stop));
}

/* Tier t of one system, batch by batch; adds what landed and what the
 * provider refused. */
static ak_code one_tier(pass *p, ak_sysdb *db, ak_tier t, float *v, int64_t *written,
                        int64_t *failed, ak_err *err)
{
    size_t batch = p->c->batch ? p->c->batch : AK_BACKFILL_DEFAULT_BATCH;
    ak_vecfill_row rows[AK_EMBED_BATCH_MAX];
    int ok[AK_EMBED_BATCH_MAX];
    int64_t after = 0;
    size_t n = 0;
    ak_code rc = AK_OK;
    while (rc == AK_OK && !stopping(p) &&
           (rc = ak_vecfill_next(db, t, after, rows, batch, &n, err)) == AK_OK && n > 0) {
        size_t good = embed_rows(p, rows, n, v, ok);
        if (!atomic_load(&p->provider_down))
            *failed += (int64_t)(n - good); /* a text the provider refused: skipped this pass */
        if (good)
            rc = ak_vecfill_store(db, t, rows, v, ok, n, written, err);
        after = rows[n - 1].id;
        ak_vecfill_rows_free(rows, n);
    }
    return rc;
}

static ak_code one_system(pass *p, const char *sid, ak_err *err)
{
    ak_sysdb *db;
    ak_code rc = ak_datadir_open_system(p->c->dd, sid, 0, &db, err);
    if (rc)
        return rc;
    size_t batch = p->c->batch ? p->c->batch : AK_BACKFILL_DEFAULT_BATCH;
    float *v = malloc(batch * AK_DIM * sizeof *v);
    int64_t written = 0, failed = 0, missing[3] = {0, 0, 0};
    if (!v)
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    for (int t = AK_TIER_HOT; rc == AK_OK && t <= AK_TIER_COLD; t++)
        rc = one_tier(p, db, (ak_tier)t, v, &written, &failed, err);
    if (rc == AK_OK)
        rc = ak_vecfill_missing(db, missing, err);
    ak_sysdb_close(db);
    free(v);
    pthread_mutex_lock(&p->mu);
    p->stats->embedded += written;
    p->stats->failed += failed;
    p->stats->remaining += missing[AK_TIER_HOT] + missing[AK_TIER_WARM] + missing[AK_TIER_COLD];
    for (int t = 0; t < 3; t++)
        p->stats->missing[t] += missing[t];
    p->stats->systems_changed += written > 0;
    if (p->c->on_progress)
        p->c->on_progress(p->c->progress_ctx, ++p->done, (int64_t)p->n_systems);
    pthread_mutex_unlock(&p->mu);
    if (written && p->c->on_changed)
        p->c->on_changed(p->c->ctx, sid);
    return rc;
}

static void *worker(void *arg)
{
    pass *p = arg;
    size_t i;
    while ((i = atomic_fetch_add(&p->next, 1)) < p->n_systems) {
        ak_err err;
        if (one_system(p, p->systems[i], &err))
            note_error(p, err.msg);
    }
    return NULL;
}

static ak_code add_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard, (void)path;
    pass *p = ctx;
    char **grown = realloc(p->systems, (p->n_systems + 1) * sizeof *grown);
    if (!grown)
        return AK_ERR_NOMEM;
    p->systems = grown;
    return (grown[p->n_systems] = strdup(sid)) ? (p->n_systems++, AK_OK) : AK_ERR_NOMEM;
}

ak_code ak_backfill_run(const ak_backfill_config *c, ak_backfill_stats *stats, ak_err *err)
{
    int64_t t0 = ak_time_mono_us();
    const char *why;
    pass p = {.c = c, .stats = stats};
    memset(stats, 0, sizeof *stats);
    if (c->batch > AK_EMBED_BATCH_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "batch: at most %d texts", AK_EMBED_BATCH_MAX);
    if (c->system_id && !ak_id_system_valid(c->system_id, &why))
        return ak_err_set(err, AK_ERR_INVALID, "system_id: %s", why);
    ak_code rc = c->system_id ? add_system(&p, c->system_id, 0, NULL)
                              : ak_datadir_each_system(c->dd, add_system, &p, err);
    if (rc == AK_ERR_NOMEM)
        ak_err_set(err, rc, "out of memory");
    pthread_mutex_init(&p.mu, NULL);
    unsigned n = c->concurrency ? c->concurrency : AK_BACKFILL_DEFAULT_CONCURRENCY;
    if (n > p.n_systems)
        n = (unsigned)p.n_systems;
    pthread_t th[64];
    unsigned started = 0;
    if (n > 64)
        n = 64;
    while (rc == AK_OK && started < n && pthread_create(&th[started], NULL, worker, &p) == 0)
        started++;
    if (rc == AK_OK && started == 0)
        worker(&p); /* none could start (or nothing to do): do it here */
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.mu);
    for (size_t i = 0; i < p.n_systems; i++)
        free(p.systems[i]);
    free(p.systems);
    stats->seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    return rc;
}
