/*
 * backfill.c - see backfill.h.
 */
#include "embed/backfill.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "storage/warmcode.h"
#include "util/ids.h"
#include "util/sha256.h"
#include "util/time.h"
#include "util/vcode.h"
#include "util/vec.h"

typedef struct {
    int64_t id;
    char *text;
    size_t len;
    unsigned char sha[AK_SHA256_LEN];
} pending;

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

/* What each tier embeds (the text it keeps: hot content, warm 3-sentence
 * summary, cold 1-sentence summary), and the write that fills a row only if
 * its content is unchanged and it still has no vector (?1 the vector in the
 * tier's form, ?2 the row, ?3 its content hash, ?4 warm's int8 scale). */
static const struct {
    const char *missing, *select, *update;
} tiers[3] = {
    [AK_TIER_HOT] = {"SELECT count(*) FROM hot WHERE embedding IS NULL",
                     "SELECT id, content, content_sha256 FROM hot"
                     " WHERE embedding IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
                     "UPDATE hot SET embedding = ?1 WHERE id = ?2"
                     " AND content_sha256 = ?3 AND embedding IS NULL"},
    [AK_TIER_WARM] = {"SELECT count(*) FROM warm WHERE embedding_q IS NULL",
                      "SELECT id, summary, content_sha256 FROM warm WHERE embedding_q IS NULL"
                      " AND summary != '' AND id > ?1 ORDER BY id LIMIT ?2",
                      "UPDATE warm SET embedding_q = ?1, embedding_scale = ?4 WHERE id = ?2"
                      " AND content_sha256 = ?3 AND embedding_q IS NULL"},
    [AK_TIER_COLD] = {"SELECT count(*) FROM cold WHERE embedding_code IS NULL",
                      "SELECT rowid, ultra_summary, content_sha256 FROM cold"
                      " WHERE embedding_code IS NULL AND ultra_summary != ''"
                      " AND rowid > ?1 ORDER BY rowid LIMIT ?2",
                      "UPDATE cold SET embedding_code = ?1 WHERE rowid = ?2"
                      " AND content_sha256 = ?3 AND embedding_code IS NULL"},
};

static ak_code sql_error(ak_sysdb *db, ak_err *err)
{
    return ak_err_set(err, AK_ERR_IO, "%s: %s", ak_sysdb_path(db),
                      sqlite3_errmsg(ak_sysdb_handle(db)));
}

ak_code ak_backfill_count_missing(ak_sysdb *db, int64_t missing[3], ak_err *err)
{
    for (int t = 0; t < 3; t++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(ak_sysdb_handle(db), tiers[t].missing, -1, &st, NULL) != SQLITE_OK)
            return sql_error(db, err);
        int rc = sqlite3_step(st);
        missing[t] = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
            return sql_error(db, err);
    }
    return AK_OK;
}

static void free_rows(pending *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].text);
}

/* The next rows of tier t without a vector after id `after`. */
static ak_code next_rows(ak_sysdb *db, int t, int64_t after, pending *rows, size_t max,
                         size_t *n, ak_err *err)
{
    sqlite3 *h = ak_sysdb_handle(db);
    sqlite3_stmt *st;
    *n = 0;
    if (sqlite3_prepare_v2(h, tiers[t].select, -1, &st, NULL) != SQLITE_OK)
        return sql_error(db, err);
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    int rc;
    ak_code out = AK_OK;
    while (out == AK_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        pending *p = &rows[*n];
        p->id = sqlite3_column_int64(st, 0);
        p->len = (size_t)sqlite3_column_bytes(st, 1);
        p->text = malloc(p->len + 1);
        if (!p->text) {
            out = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(p->text, sqlite3_column_blob(st, 1) ? sqlite3_column_blob(st, 1) : "", p->len);
        p->text[p->len] = '\0';
        memset(p->sha, 0, sizeof p->sha);
        if (sqlite3_column_bytes(st, 2) == AK_SHA256_LEN)
            memcpy(p->sha, sqlite3_column_blob(st, 2), AK_SHA256_LEN);
        (*n)++;
    }
    if (out == AK_OK && rc != SQLITE_DONE)
        out = ak_err_set(err, AK_ERR_IO, "%s: %s", ak_sysdb_path(db), sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (out)
        free_rows(rows, *n);
    return out;
}

/* Bind v to ?1 (and ?4) in tier t's form, as aging makes them: hot
 * float32, warm the 5-bit code (storage/warmcode.h, scale 0), cold the
 * vector code.  Returns 0 when v has no code (cannot happen for a
 * provider's checked vector, which is finite and not all zero). */
static int bind_vector(sqlite3_stmt *st, int t, const float *v)
{
    unsigned char le[AK_VEC_LE_BYTES];
    uint8_t wcode[AK_WCODE_BYTES];
    uint8_t code[AK_VCODE_BYTES];
    if (t == AK_TIER_HOT) {
        ak_vec_to_le(v, le);
        return sqlite3_bind_blob(st, 1, le, sizeof le, SQLITE_TRANSIENT) == SQLITE_OK;
    }
    if (t == AK_TIER_WARM) {
        sqlite3_bind_double(st, 4, 0); /* the code carries its own scale */
        return ak_wcode_encode(v, wcode) &&
               sqlite3_bind_blob(st, 1, wcode, sizeof wcode, SQLITE_TRANSIENT) == SQLITE_OK;
    }
    return ak_vcode_encode(v, code) &&
           sqlite3_bind_blob(st, 1, code, sizeof code, SQLITE_TRANSIENT) == SQLITE_OK;
}

/* Store the vectors of rows whose ok[i] is set; returns how many landed. */
static ak_code store(ak_sysdb *db, int t, const pending *rows, const float *v, const int *ok,
                     size_t n, int64_t *written, ak_err *err)
{
    sqlite3 *h = ak_sysdb_handle(db);
    sqlite3_stmt *st = NULL;
    ak_code rc = ak_sysdb_begin(db, err);
    if (rc == AK_OK && sqlite3_prepare_v2(h, tiers[t].update, -1, &st, NULL) != SQLITE_OK)
        rc = sql_error(db, err);
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        if (!ok[i] || !bind_vector(st, t, v + i * AK_DIM))
            continue;
        sqlite3_bind_int64(st, 2, rows[i].id);
        sqlite3_bind_blob(st, 3, rows[i].sha, AK_SHA256_LEN, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sql_error(db, err);
        *written += sqlite3_changes(h);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == AK_OK)
        return ak_sysdb_commit(db, err);
    ak_sysdb_rollback(db);
    return rc;
}

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
static size_t embed_rows(pass *p, const pending *rows, size_t n, float *v, int *ok)
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
static ak_code one_tier(pass *p, ak_sysdb *db, int t, float *v, int64_t *written,
                        int64_t *failed, ak_err *err)
{
    size_t batch = p->c->batch ? p->c->batch : AK_BACKFILL_DEFAULT_BATCH;
    pending rows[AK_EMBED_BATCH_MAX];
    int ok[AK_EMBED_BATCH_MAX];
    int64_t after = 0;
    size_t n = 0;
    ak_code rc = AK_OK;
    while (rc == AK_OK && !stopping(p) &&
           (rc = next_rows(db, t, after, rows, batch, &n, err)) == AK_OK && n > 0) {
        size_t good = embed_rows(p, rows, n, v, ok);
        if (!atomic_load(&p->provider_down))
            *failed += (int64_t)(n - good); /* a text the provider refused: skipped this pass */
        if (good)
            rc = store(db, t, rows, v, ok, n, written, err);
        after = rows[n - 1].id;
        free_rows(rows, n);
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
        rc = one_tier(p, db, t, v, &written, &failed, err);
    if (rc == AK_OK)
        rc = ak_backfill_count_missing(db, missing, err);
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
