/*
 * repair.c - the daemon's reingest queue (POST /v1/systems/{id}/reingest).
 *
 * DELETE /v1/systems/{id} goes through the same queue: a forget runs on
 * the runner too, so no cycle writes the system while it goes.
 *
 * Requests are kept in a small fixed table under the server mutex; the
 * runner thread rebuilds them one by one with ak_reingest_system(), fencing
 * the index's connections to the system around the file swap and loading
 * the new database after.  Searches keep being answered throughout: from
 * the old database while the new one is built, with that shard named as
 * failed for the instant of the swap.
 */
#include <string.h>
#include <time.h>

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

/* Queue a job under the mutex; a job for the system already queued or
 * running stands (AK_ERR_BUSY when it is of the other kind). */
static ak_code enqueue(ak_server *s, const char *system_id, int forget, int flag, ak_err *err)
{
    ak_reingest_job *j = job_of(s, system_id);
    if (j && j->state <= AK_RJ_RUNNING)
        return j->forget == forget ? AK_OK
                                   : ak_err_set(err, AK_ERR_BUSY, "a %s of %s is %s; ask again "
                                                "when it finished", j->forget ? "forget" : "rebuild",
                                                system_id, state_names[j->state]);
    if (!j)
        j = free_slot(s);
    if (!j)
        return ak_err_set(err, AK_ERR_BUSY, "%d repairs are queued already; try again later",
                          AK_REINGEST_JOBS);
    memset(j, 0, sizeof *j);
    ak_fmt(j->system_id, sizeof j->system_id, "%s", system_id);
    j->state = AK_RJ_QUEUED;
    j->forget = forget;
    if (forget)
        j->purge_bucket = flag;
    else
        j->force = flag;
    j->requested_us = ak_time_now_us();
    s->want |= 1u << AK_JOB_REINGEST;
    pthread_cond_broadcast(&s->cv);
    return AK_OK;
}

ak_code ak_server_reingest_request(ak_server *s, const char *system_id, int force, ak_err *err)
{
    pthread_mutex_lock(&s->mu);
    ak_code rc = enqueue(s, system_id, 0, force, err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

ak_code ak_server_forget_request(ak_server *s, const char *system_id, int purge_bucket,
                                 int64_t wait_us, ak_rj_state *state, ak_err *err)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(wait_us / AK_US_PER_SEC);
    pthread_mutex_lock(&s->mu);
    ak_code rc = enqueue(s, system_id, 1, purge_bucket, err);
    ak_reingest_job *j = rc == AK_OK ? job_of(s, system_id) : NULL;
    while (j && j->forget && j->state <= AK_RJ_RUNNING && wait_us > 0 &&
           pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
        j = job_of(s, system_id);
    if (j)
        *state = j->state;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int ak_server_reingest_status(ak_server *s, const char *system_id, ak_jw *w)
{
    pthread_mutex_lock(&s->mu);
    ak_reingest_job *j = job_of(s, system_id);
    if (j) {
        ak_jw_obj(w);
        ak_jw_kstr(w, "system_id", j->system_id);
        ak_jw_kstr(w, "kind", j->forget ? "forget" : "reingest");
        ak_jw_kstr(w, "state", state_names[j->state]);
        if (j->forget)
            ak_jw_kbool(w, "purge_bucket", j->purge_bucket);
        else
            ak_jw_kbool(w, "force", j->force);
        ak_jw_key(w, "requested_at");
        ak_jw_time(w, j->requested_us);
        if (j->state >= AK_RJ_DONE) {
            ak_jw_key(w, "finished_at");
            ak_jw_time(w, j->finished_us);
            if (j->forget)
                ak_forget_result_json(w, &j->forgotten);
            else
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

/* The forget's hooks: searches stop reading the system, and its vectors
 * leave the index. */
static void before_delete(void *ctx, const char *sid)
{
    ak_server *s = ctx;
    ak_index_fence(s->idx, sid, 1);
}

static void after_delete(void *ctx, const char *sid)
{
    ak_server *s = ctx;
    ak_index_fence(s->idx, sid, 0);
    ak_index_drop_system(s->idx, sid);
}

/* Take the next queued job: its id and options copied out; 0 when none. */
static int take_next(ak_server *s, char *sid, size_t n, int *force, int *forget)
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
        *force = next->forget ? next->purge_bucket : next->force;
        *forget = next->forget;
    }
    pthread_mutex_unlock(&s->mu);
    return next != NULL;
}

static void finish(ak_server *s, const char *sid, ak_code rc, const ak_reingest_result *r,
                   const ak_forget_result *f, const ak_err *err)
{
    pthread_mutex_lock(&s->mu);
    ak_reingest_job *j = job_of(s, sid);
    if (j) {
        j->state = rc ? AK_RJ_FAILED : AK_RJ_DONE;
        if (r)
            j->result = *r;
        if (f)
            j->forgotten = *f;
        j->finished_us = ak_time_now_us();
        ak_fmt(j->error, sizeof j->error, "%s", rc ? err->msg : "");
    }
    pthread_cond_broadcast(&s->cv); /* a DELETE may be waiting */
    pthread_mutex_unlock(&s->mu);
    if (f)
        atomic_fetch_add(rc ? &s->metrics.forgets_failed : &s->metrics.forgets_ok, 1);
    else
        atomic_fetch_add(rc ? &s->metrics.reingests_failed : &s->metrics.reingests_ok, 1);
}

static void run_forget(ak_server *s, const char *sid, int purge)
{
    ak_forget_config cfg = {
        .data = s->dd, .cold = s->cold, .bucket = s->bucket, .purge_bucket = purge,
        .before_delete = before_delete, .after_delete = after_delete, .ctx = s,
    };
    ak_forget_result r;
    ak_err err;
    ak_code rc = ak_forget_system(&cfg, sid, &r, &err);
    if (rc)
        AK_WARN("forget", "%s: %s", sid, err.msg);
    else
        AK_INFO("forget", "%s forgotten: %lld conversations, %lld cold objects, %lld bucket "
                          "objects in %.2f s", sid, (long long)(r.hot + r.warm + r.cold),
                (long long)r.cold_objects, (long long)r.bucket_objects, r.seconds);
    finish(s, sid, rc, NULL, &r, &err);
}

void ak_server_run_reingests(ak_server *s)
{
    char sid[AK_SYSTEM_ID_MAX + 1];
    int force, forget;
    while (!atomic_load(&s->stop) && take_next(s, sid, sizeof sid, &force, &forget)) {
        if (forget) {
            run_forget(s, sid, force);
            continue;
        }
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
        finish(s, sid, rc, &r, NULL, &err);
    }
}
