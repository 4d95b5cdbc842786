/*
 * ingest.c - see ingest.h.
 *
 * Threads: the caller's thread lists systems into a bounded queue (so a
 * bucket with a million systems is never held in memory at once); workers
 * pop a system and apply its uploads; an optional progress thread reports.
 * Stats are merged under one mutex at the end of each upload; live record
 * counts use a relaxed atomic so the hot path takes no lock.
 */
#include "ingest/ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/discover.h"
#include "ingest/manifest.h"
#include "ingest/spool.h"
#include "ingest/upload.h"
#include "storage/syslock.h"
#include "storage/tombstone.h"
#include "util/log.h"
#include "util/testpoint.h"
#include "util/time.h"

#define QUEUE_PER_WORKER 4
#define PROGRESS_INTERVAL_US 250000

typedef struct {
    const ak_ingest_config *cfg;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full, done_cv;
    char **queue;
    size_t cap, head, count;
    int closed, done;
    ak_ingest_stats stats;
    atomic_llong live_records;
    atomic_int told_down; /* the open breaker was reported this cycle */
    int64_t now_us;
} cycle;

static int stopping(const ak_ingest_config *cfg)
{
    return (cfg->stop && atomic_load(cfg->stop)) || (cfg->abort && atomic_load(cfg->abort));
}

/* While the bucket's circuit breaker is open every read would fail at
 * once: leave the remaining uploads untouched (no failure recorded, no
 * attempt counted) for the next cycle instead. */
static int bucket_down(cycle *c)
{
    ak_store_stats st;
    ak_store_stats_get(c->cfg->bucket, &st);
    int down = st.breaker == AK_BREAKER_OPEN;
    if (down && !atomic_exchange(&c->told_down, 1))
        AK_WARN("ingest", "the bucket's circuit breaker is open: remaining uploads are left "
                          "for a later cycle");
    return down;
}

/* ---- stats ---- */

static void add_stat(cycle *c, int64_t *field, int64_t n)
{
    pthread_mutex_lock(&c->mu);
    *field += n;
    pthread_mutex_unlock(&c->mu);
}

static void add_outcome(cycle *c, ak_outcome o, const ak_tally *t)
{
    pthread_mutex_lock(&c->mu);
    ak_ingest_stats *s = &c->stats;
    switch (o) {
    case AK_OUTCOME_INGESTED: s->uploads_ingested++; break;
    case AK_OUTCOME_REJECTED: s->uploads_rejected++; break;
    case AK_OUTCOME_FAILED: s->uploads_failed++; break;
    case AK_OUTCOME_ALREADY_DONE: s->uploads_known++; break;
    case AK_OUTCOME_ABORTED: break;
    }
    if (t && o == AK_OUTCOME_INGESTED) {
        s->conversations_ingested += t->new_count;
        s->conversations_updated += t->updated;
        s->duplicates_skipped += t->duplicates;
        s->stale_skipped += t->stale;
        s->records_rejected += t->rejected;
    }
    if (t)
        s->bytes_read += t->bytes;
    pthread_mutex_unlock(&c->mu);
}

static void report(cycle *c, const char *sid, const char *uid, ak_outcome o,
                   const char *reason, const ak_tally *t)
{
    static const ak_upload_status st[] = {
        [AK_OUTCOME_INGESTED] = AK_UPLOAD_INGESTED,
        [AK_OUTCOME_REJECTED] = AK_UPLOAD_REJECTED,
        [AK_OUTCOME_FAILED] = AK_UPLOAD_FAILED,
    };
    add_outcome(c, o, t);
    if (o > AK_OUTCOME_FAILED)
        return;
    if (c->cfg->on_upload)
        c->cfg->on_upload(c->cfg->ctx, sid, uid, st[o], reason, t);
}

/* ---- one system ---- */

typedef struct {
    const ak_upload_ref *ref;
    ak_manifest manifest;
    ak_ledger_row prev;
} pending;

static int cmp_pending(const void *a, const void *b)
{
    const pending *x = a, *y = b;
    if (x->manifest.uploaded_at_us != y->manifest.uploaded_at_us)
        return x->manifest.uploaded_at_us < y->manifest.uploaded_at_us ? -1 : 1;
    return strcmp(x->ref->upload_id, y->ref->upload_id);
}

/* A manifest that names its system or upload must name the ones its key
 * says: a copy moved under another system is not that system's memory. */
static ak_code check_names(const ak_manifest *m, const char *sid, const char *uid, ak_err *err)
{
    if (m->system_id && strcmp(m->system_id, sid) != 0)
        return ak_err_set(err, AK_ERR_INVALID, "system_id: says %s but the upload is under "
                          "systems/%s/", m->system_id, sid);
    if (m->upload_id && strcmp(m->upload_id, uid) != 0)
        return ak_err_set(err, AK_ERR_INVALID, "upload_id: says %s but the upload's key "
                          "names %s", m->upload_id, uid);
    return AK_OK;
}

/* Read and validate the manifest of an unsettled upload.  Returns 1 when it
 * goes on the pending list, 0 when it was settled here (reported). */
/* Only the manifest's own content can reject an upload: any error reading
 * it from the store (S3's 4xx included) is retried like an outage, and so
 * is a reply with other than the listed number of bytes (a store that lies
 * in transit says nothing about the manifest). */
static int admit(cycle *c, const ak_upload_env *env, const ak_upload_ref *u, pending *p)
{
    char key[AK_STORE_KEY_MAX + 1], *text = NULL, reason[AK_ERR_MSG_MAX + 32];
    size_t len = 0;
    ak_err err;
    ak_upload_status st = AK_UPLOAD_REJECTED;
    int64_t listed = ak_upload_file_size(u, "manifest.json");
    snprintf(key, sizeof key, "%smanifest.json", u->prefix);
    ak_code rc = listed > AK_MANIFEST_MAX_BYTES
                     ? ak_err_set(&err, AK_ERR_INVALID, "larger than 1 MiB")
                     : AK_OK;
    if (rc == AK_OK && (rc = ak_store_get_small(c->cfg->bucket, key, AK_MANIFEST_MAX_BYTES,
                                                &text, &len, &err)) != AK_OK)
        st = AK_UPLOAD_FAILED;
    if (rc == AK_OK && listed >= 0 && (int64_t)len != listed) {
        rc = ak_err_set(&err, AK_ERR_IO, "the store sent %zu of the %lld bytes listed for it",
                        len, (long long)listed);
        st = AK_UPLOAD_FAILED;
    }
    if (rc == AK_OK)
        rc = ak_manifest_parse(text, len, env->now_us, &p->manifest, &err);
    free(text);
    if (rc == AK_OK && (rc = check_names(&p->manifest, env->system_id, u->upload_id, &err)))
        ak_manifest_free(&p->manifest);
    if (rc == AK_OK)
        return 1;
    snprintf(reason, sizeof reason, "manifest.json: %s", err.msg);
    if (rc != AK_ERR_INVALID)
        st = AK_UPLOAD_FAILED;
    ak_outcome o = ak_upload_settle_early(env, u, &p->prev, st, reason);
    report(c, env->system_id, u->upload_id, o, reason, NULL);
    return 0;
}

/* Sort out which uploads need work.  Fills *out (caller frees). */
static size_t select_pending(cycle *c, const ak_upload_env *env, const ak_upload_list *l,
                             pending *out)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n && !stopping(c->cfg); i++) {
        pending *p = &out[n];
        memset(p, 0, sizeof *p);
        p->ref = &l->ups[i];
        ak_err err;
        if (ak_sysdb_ledger_get(env->db, p->ref->upload_id, &p->prev, &err)) {
            AK_ERROR("ingest", "%s: %s", env->system_id, err.msg);
            add_stat(c, &c->stats.uploads_discovered, 1); /* seen, and not settled */
            add_stat(c, &c->stats.uploads_failed, 1);
            continue;
        }
        ak_upload_status st = p->prev.status;
        if (bucket_down(c) && st != AK_UPLOAD_INGESTED && st != AK_UPLOAD_REJECTED) {
            add_stat(c, &c->stats.uploads_deferred, 1);
        } else if (st == AK_UPLOAD_INGESTED || st == AK_UPLOAD_REJECTED) {
            add_stat(c, &c->stats.uploads_known, 1);
        } else if (st == AK_UPLOAD_FAILED && ak_upload_retry_due(c->cfg, &p->prev) > env->now_us) {
            add_stat(c, &c->stats.uploads_deferred, 1);
        } else {
            add_stat(c, &c->stats.uploads_discovered, 1);
            if (admit(c, env, p->ref, p)) {
                n++;
                continue;
            }
        }
        ak_ledger_row_free(&p->prev);
    }
    qsort(out, n, sizeof *out, cmp_pending);
    return n;
}

/* Returns 1 when an upload stored new or changed conversations. */
static int apply_pending(cycle *c, const ak_upload_env *env, pending *p, size_t n)
{
    int changed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!stopping(c->cfg) && bucket_down(c)) {
            add_stat(c, &c->stats.uploads_deferred, 1);
        } else if (!stopping(c->cfg)) {
            ak_tally tally;
            char *reason = NULL;
            int64_t t0 = ak_time_mono_us();
            ak_outcome o = ak_upload_apply(env, p[i].ref, &p[i].manifest, &p[i].prev,
                                           &tally, &reason);
            tally.seconds = (double)(ak_time_mono_us() - t0) / 1e6;
            report(c, env->system_id, p[i].ref->upload_id, o, reason, &tally);
            changed |= o == AK_OUTCOME_INGESTED && (tally.new_count || tally.updated);
            free(reason);
        }
        ak_manifest_free(&p[i].manifest);
        ak_ledger_row_free(&p[i].prev);
    }
    return changed;
}

static void report_problems(cycle *c, const char *sid, const ak_upload_list *l)
{
    for (size_t i = 0; i < l->n_problems; i++)
        AK_WARN("ingest", "%s: %s", sid, l->problems[i]);
    add_stat(c, &c->stats.uploads_discovered, (int64_t)l->n_problems); /* never settled */
    add_stat(c, &c->stats.uploads_rejected, (int64_t)l->n_problems);
}

/* 1 when the upload was made before its system was forgotten (or the
 * system is being forgotten): ak_tomb_blocks on the manifest's uploaded_at.
 * An unreadable manifest is held back too, as it cannot be placed. */
static int forgotten_upload(cycle *c, const ak_tomb *t, const ak_upload_ref *u)
{
    char key[AK_STORE_KEY_MAX + 1], *text = NULL;
    size_t len = 0;
    ak_manifest m = {0};
    ak_err err;
    if (!t->done)
        return 1;
    snprintf(key, sizeof key, "%smanifest.json", u->prefix);
    int held = ak_store_get_small(c->cfg->bucket, key, AK_MANIFEST_MAX_BYTES, &text, &len,
                                  &err) != AK_OK ||
               ak_manifest_parse(text, len, c->now_us, &m, &err) != AK_OK ||
               m.uploaded_at_us <= t->at_us;
    free(text);
    ak_manifest_free(&m);
    return held;
}

/* Drop from l the uploads a tombstone holds back (storage/tombstone.h). */
static void hold_forgotten(cycle *c, const char *sid, ak_upload_list *l)
{
    ak_tomb t;
    ak_err err;
    ak_code rc = ak_tomb_get(c->cfg->data, sid, &t, &err);
    if (rc == AK_ERR_NOTFOUND)
        return;
    if (rc) {
        AK_ERROR("ingest", "%s: %s; its uploads wait until the tombstones can be read", sid,
                 err.msg);
        t.done = 0;
    }
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (forgotten_upload(c, &t, &l->ups[i])) {
            free(l->ups[i].prefix);
            free(l->ups[i].files);
            add_stat(c, &c->stats.uploads_forgotten, 1);
        } else {
            l->ups[kept++] = l->ups[i];
        }
    }
    l->n = kept;
}

/* Ingest one system's unsettled uploads into db (opened here when NULL).
 * Returns an error only when its uploads could not be listed or its
 * database not opened; upload outcomes are in the stats. */
static ak_code ingest_system(cycle *c, const char *sid, ak_json_doc *doc, ak_sysdb *db,
                             ak_err *err)
{
    ak_upload_list list;
    add_stat(c, &c->stats.systems, 1);
    ak_code rc = ak_discover_uploads(c->cfg->bucket, sid, &list, err);
    if (rc == AK_ERR_ABORTED) /* a stop request cut the listing short: no failure */
        return AK_OK;
    if (rc) {
        ak_err_prefix(err, "system %s: cannot list its uploads: ", sid);
        add_stat(c, &c->stats.systems_failed, 1); /* how many uploads is unknown */
        return rc;
    }
    report_problems(c, sid, &list);
    /* the fence against a concurrent forget (storage/syslock.h): the
     * tombstone is read, and the database opened, only under the lock.  A
     * caller that passes db has it open already (reingest, the outbox). */
    ak_syslock *lock = NULL;
    if (!db && (rc = ak_syslock_take(c->cfg->data, sid, &lock, err))) {
        ak_err_prefix(err, "system %s: ", sid);
        add_stat(c, &c->stats.systems_failed, 1);
        ak_upload_list_free(&list);
        return rc;
    }
    hold_forgotten(c, sid, &list);
    if (lock)
        ak_testpoint("ingest.system_checked"); /* tombstone read, nothing written yet */
    ak_upload_env env = {.cfg = c->cfg, .system_id = sid, .doc = doc, .db = db,
                         .live_records = &c->live_records, .now_us = c->now_us};
    pending *p = list.n ? calloc(list.n, sizeof *p) : NULL;
    if (list.n && !p) {
        rc = ak_err_set(err, AK_ERR_NOMEM, "system %s: out of memory", sid);
    } else if (list.n && !db && (rc = ak_datadir_open_system(c->cfg->data, sid, 1, &env.db, err))) {
        ak_err_prefix(err, "system %s: ", sid);
        add_stat(c, &c->stats.systems_failed, 1); /* which uploads are settled is unknown */
    } else if (list.n) {
        size_t n = select_pending(c, &env, &list, p);
        int changed = apply_pending(c, &env, p, n);
        if (!db)
            ak_sysdb_close(env.db);
        if (changed && c->cfg->on_changed)
            c->cfg->on_changed(c->cfg->ctx, sid);
    }
    ak_syslock_release(lock);
    free(p);
    ak_upload_list_free(&list);
    return rc;
}

/* ---- the queue and the workers ---- */

static char *pop_system(cycle *c)
{
    pthread_mutex_lock(&c->mu);
    while (!c->count && !c->closed)
        pthread_cond_wait(&c->not_empty, &c->mu);
    char *sid = NULL;
    if (c->count) {
        sid = c->queue[c->head];
        c->head = (c->head + 1) % c->cap;
        c->count--;
        pthread_cond_signal(&c->not_full);
    }
    pthread_mutex_unlock(&c->mu);
    return sid;
}

static void *worker(void *arg)
{
    cycle *c = arg;
    ak_json_doc *doc = ak_json_doc_new();
    if (!doc) {
        AK_ERROR("ingest", "out of memory starting a worker");
        return NULL;
    }
    ak_json_doc_limits(doc, AK_RECORD_MAX_DEPTH, AK_RECORD_MAX_NODES);
    char *sid;
    while ((sid = pop_system(c))) {
        ak_err err;
        if (!stopping(c->cfg) && ingest_system(c, sid, doc, NULL, &err))
            AK_WARN("ingest", "%s", err.msg);
        free(sid);
    }
    ak_json_doc_free(doc);
    return NULL;
}

static ak_code push_system(void *arg, const char *sid, const char *why)
{
    cycle *c = arg;
    if (why) {
        AK_WARN("ingest", "systems/%.100s/: system id %s; its uploads are ignored", sid, why);
        add_stat(c, &c->stats.systems_invalid, 1);
        return AK_OK;
    }
    if (stopping(c->cfg))
        return AK_ERR_ABORTED;
    char *copy = strdup(sid);
    if (!copy)
        return AK_ERR_NOMEM;
    pthread_mutex_lock(&c->mu);
    while (c->count == c->cap)
        pthread_cond_wait(&c->not_full, &c->mu);
    c->queue[(c->head + c->count) % c->cap] = copy;
    c->count++;
    pthread_cond_signal(&c->not_empty);
    pthread_mutex_unlock(&c->mu);
    return AK_OK;
}

static void *progress_thread(void *arg)
{
    cycle *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += PROGRESS_INTERVAL_US * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&c->done_cv, &c->mu, &ts);
        if (c->done)
            break;
        ak_ingest_stats snap = c->stats;
        pthread_mutex_unlock(&c->mu);
        c->cfg->on_progress(c->cfg->ctx, &snap, atomic_load(&c->live_records));
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void close_queue(cycle *c)
{
    pthread_mutex_lock(&c->mu);
    c->closed = 1;
    pthread_cond_broadcast(&c->not_empty);
    pthread_mutex_unlock(&c->mu);
}

/* Spool files a killed process left behind go before anything else. */
static void cycle_init(cycle *c, const ak_ingest_config *cfg)
{
    char dir[AK_PATH_MAX];
    if (ak_upload_spool_dir(cfg, dir, sizeof dir))
        ak_spool_cleanup(dir);
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    c->now_us = cfg->now_us ? cfg->now_us : ak_time_now_us();
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    pthread_cond_init(&c->done_cv, NULL);
    atomic_init(&c->live_records, 0);
    atomic_init(&c->told_down, 0);
}

static void cycle_destroy(cycle *c)
{
    free(c->queue);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->not_empty);
    pthread_cond_destroy(&c->not_full);
    pthread_cond_destroy(&c->done_cv);
}

ak_code ak_ingest_cycle(const ak_ingest_config *cfg, ak_ingest_stats *stats, ak_err *err)
{
    int64_t t0 = ak_time_mono_us();
    unsigned nworkers = cfg->concurrency ? cfg->concurrency : 4;
    cycle c;
    cycle_init(&c, cfg);
    c.cap = (size_t)nworkers * QUEUE_PER_WORKER;
    pthread_t *th = calloc(nworkers, sizeof *th), prog;
    if (!th || !(c.queue = calloc(c.cap, sizeof *c.queue))) {
        free(th);
        cycle_destroy(&c);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    unsigned started = 0;
    while (started < nworkers && pthread_create(&th[started], NULL, worker, &c) == 0)
        started++;
    int progress = cfg->on_progress && pthread_create(&prog, NULL, progress_thread, &c) == 0;
    ak_code rc = started ? ak_discover_systems(cfg->bucket, push_system, &c, err)
                         : ak_err_set(err, AK_ERR_NOMEM, "cannot start worker threads");
    if (rc == AK_ERR_ABORTED)
        rc = AK_OK; /* a stop request, not a failure */
    close_queue(&c);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_lock(&c.mu);
    c.done = 1;
    pthread_cond_broadcast(&c.done_cv);
    pthread_mutex_unlock(&c.mu);
    if (progress)
        pthread_join(prog, NULL);
    c.stats.seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    *stats = c.stats;
    free(th);
    cycle_destroy(&c);
    return rc;
}

ak_code ak_ingest_system(const ak_ingest_config *cfg, const char *system_id, ak_sysdb *db,
                         ak_ingest_stats *stats, ak_err *err)
{
    int64_t t0 = ak_time_mono_us();
    cycle c;
    cycle_init(&c, cfg);
    ak_json_doc *doc = ak_json_doc_new();
    ak_code rc = doc ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK) {
        ak_json_doc_limits(doc, AK_RECORD_MAX_DEPTH, AK_RECORD_MAX_NODES);
        rc = ingest_system(&c, system_id, doc, db, err);
    }
    ak_json_doc_free(doc);
    c.stats.seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    *stats = c.stats;
    cycle_destroy(&c);
    return rc;
}
