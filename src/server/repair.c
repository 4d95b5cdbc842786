/*
 * repair.c - the daemon's reingest queue (POST /v1/systems/{id}/reingest).
 *
 * Requests are kept in a small fixed table under the server mutex; the
 * runner thread rebuilds them one by one with ak_reingest_system(), fencing
 * the index's connections to the system around the file swap and loading
 * the new database after.  Searches keep being answered throughout: from
 * the old database while the new one is built, with that shard named as
 * failed for the instant of the swap.
 */
#include <string.h>

#include "server/server.h"
#include "util/log.h"
#include "util/time.h"

static const char *const state_names[] = {"queued", "running", "done", "failed"};

static ak_reingest_job *job_of(ak_server *s, const char *sid)
{
    for (int i = 0; i < AK_REINGEST_JOBS; i++)
        if (strcmp(s->reingests[i].system_id, sid) == 0)
            return &s->reingests[i];
    return NULL;
}

/* A slot for a new request: a free one, else the one finished longest ago. */
static ak_reingest_job *free_slot(ak_server *s)
{
    ak_reingest_job *best = NULL;
    for (int i = 0; i < AK_REINGEST_JOBS; i++) {
        ak_reingest_job *j = &s->reingests[i];
        if (!j->system_id[0])
            return j;
        if (j->state >= AK_RJ_DONE && (!best || j->finished_us < best->finished_us))
            best = j;
    }
    return best;
}

ak_code ak_server_reingest_request(ak_server *s, const char *system_id, int force, ak_err *err)
{
    pthread_mutex_lock(&s->mu);
    ak_reingest_job *j = job_of(s, system_id);
    if (j && j->state <= AK_RJ_RUNNING) {
        pthread_mutex_unlock(&s->mu);
        return AK_OK;
    }
    if (!j)
        j = free_slot(s);
    if (!j) {
        pthread_mutex_unlock(&s->mu);
        return ak_err_set(err, AK_ERR_BUSY, "%d rebuilds are queued already; try again later",
                          AK_REINGEST_JOBS);
    }
    memset(j, 0, sizeof *j);
    ak_fmt(j->system_id, sizeof j->system_id, "%s", system_id);
    j->state = AK_RJ_QUEUED;
    j->force = force;
    j->requested_us = ak_time_now_us();
    s->want |= 1u << AK_JOB_REINGEST;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return AK_OK;
}

int ak_server_reingest_status(ak_server *s, const char *system_id, ak_jw *w)
{
    pthread_mutex_lock(&s->mu);
    ak_reingest_job *j = job_of(s, system_id);
    if (j) {
        ak_jw_obj(w);
        ak_jw_kstr(w, "system_id", j->system_id);
        ak_jw_kstr(w, "state", state_names[j->state]);
        ak_jw_kbool(w, "force", j->force);
        ak_jw_key(w, "requested_at");
        ak_jw_time(w, j->requested_us);
        if (j->state >= AK_RJ_DONE) {
            ak_jw_key(w, "finished_at");
            ak_jw_time(w, j->finished_us);
            ak_reingest_result_json(w, &j->result);
        }
        if (j->state == AK_RJ_FAILED)
            ak_jw_kstr(w, "error", j->error);
        ak_jw_end(w);
    }
    pthread_mutex_unlock(&s->mu);
    return j != NULL;
}

static void before_swap(void *ctx, const char *sid)
{
    ak_server *s = ctx;
    ak_index_fence(s->idx, sid, 1);
}

static void after_swap(void *ctx, const char *sid)
{
    ak_server *s = ctx;
    ak_err err;
    ak_index_fence(s->idx, sid, 0);
    if (ak_index_load_system(s->idx, sid, &err))
        AK_WARN("reingest", "%s", err.msg);
}

/* Take the next queued job: its id and options copied out; 0 when none. */
static int take_next(ak_server *s, char *sid, size_t n, int *force)
{
    ak_reingest_job *next = NULL;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < AK_REINGEST_JOBS; i++) {
        ak_reingest_job *j = &s->reingests[i];
        if (j->system_id[0] && j->state == AK_RJ_QUEUED &&
            (!next || j->requested_us < next->requested_us))
            next = j;
    }
    if (next) {
        next->state = AK_RJ_RUNNING;
        ak_fmt(sid, n, "%s", next->system_id);
        *force = next->force;
    }
    pthread_mutex_unlock(&s->mu);
    return next != NULL;
}

static void finish(ak_server *s, const char *sid, ak_code rc, const ak_reingest_result *r,
                   const ak_err *err)
{
    pthread_mutex_lock(&s->mu);
    ak_reingest_job *j = job_of(s, sid);
    if (j) {
        j->state = rc ? AK_RJ_FAILED : AK_RJ_DONE;
        j->result = *r;
        j->finished_us = ak_time_now_us();
        ak_fmt(j->error, sizeof j->error, "%s", rc ? err->msg : "");
    }
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(rc ? &s->metrics.reingests_failed : &s->metrics.reingests_ok, 1);
}

void ak_server_run_reingests(ak_server *s)
{
    char sid[AK_SYSTEM_ID_MAX + 1];
    int force;
    while (!atomic_load(&s->stop) && take_next(s, sid, sizeof sid, &force)) {
        ak_reingest_config cfg = {
            .bucket = s->bucket, .data = s->dd, .force = force, .grace_us = s->cfg.grace_us,
            .stop = &s->stop,
            .before_swap = before_swap, .after_swap = after_swap, .ctx = s,
        };
        ak_reingest_result r;
        ak_err err;
        ak_code rc = s->bucket ? ak_reingest_system(&cfg, sid, &r, &err)
                               : ak_err_set(&err, AK_ERR_UNSUPPORTED, "no bucket is configured");
        if (!s->bucket)
            memset(&r, 0, sizeof r);
        if (rc)
            AK_WARN("reingest", "%s: %s", sid, err.msg);
        else
            AK_INFO("reingest", "%s rebuilt: %lld conversations from %lld uploads in %.2f s; "
                                "the old database is kept as %s",
                    sid, (long long)r.conversations, (long long)r.uploads_ingested, r.seconds,
                    r.backup[0] ? r.backup : "(there was none)");
        finish(s, sid, rc, &r, &err);
    }
}
