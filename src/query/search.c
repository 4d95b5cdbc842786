/*
 * search.c - see search.h.
 *
 * A query becomes a reference-counted context shared by the coordinator and
 * one job per target shard.  The coordinator waits for the jobs until the
 * deadline; a job still running then is reported as failed and finishes on
 * its own (it checks the deadline and stops early), dropping its reference
 * last.  Jobs publish their candidates under the context's mutex, so the
 * coordinator never reads a half-written answer.
 */
#include "query/search.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query/match.h"
#include "query/vindex.h"
#include "storage/shard.h"
#include "util/ids.h"
#include "util/time.h"

#define RRF_K 60.0
#define RERANK_MIN 64     /* candidates re-ranked per shard, at least */
#define RERANK_FACTOR 4   /* ... or this many times the limit */
#define DEADLINE_GRACE_US 20000 /* the coordinator waits this past the shards' deadline */

void ak_query_init(ak_query *q)
{
    memset(q, 0, sizeof *q);
    q->limit = 10;
    q->tiers = AK_TIER_ALL;
    q->since = INT64_MIN;
    q->until = INT64_MAX;
    q->timeout_us = AK_SEARCH_DEFAULT_TIMEOUT_US;
}

static ak_code check_vector(ak_query *q, ak_err *err)
{
    int zero = 1;
    for (int i = 0; i < AK_DIM; i++) {
        if (!isfinite(q->vector[i]))
            return ak_err_set(err, AK_ERR_INVALID, "vector: element %d is not a finite number", i);
        zero &= q->vector[i] == 0.0f;
    }
    if (zero)
        return ak_err_set(err, AK_ERR_INVALID, "vector: all zeros (a zero vector has no direction)");
    if (!ak_vec_normalize(q->vector))
        return ak_err_set(err, AK_ERR_INVALID, "vector: its norm underflows float32 "
                          "(elements too small to have a direction)");
    return AK_OK;
}

static int has_word(const char *s)
{
    for (; *s; s++)
        if (isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

static ak_code check_words(const char *name, const char *s, ak_err *err)
{
    if (s && (!*s || !has_word(s)))
        return ak_err_set(err, AK_ERR_INVALID, "%s: empty (no letters or digits to search for)",
                          name);
    if (s && strlen(s) > AK_SEARCH_TEXT_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "%s: longer than %d bytes", name,
                          AK_SEARCH_TEXT_MAX);
    return AK_OK;
}

ak_code ak_query_check(ak_query *q, ak_err *err)
{
    const char *why;
    if (!q->has_vector && !q->text && !q->words)
        return ak_err_set(err, AK_ERR_INVALID, "query: give a query (words), or give a vector, "
                                               "a text, or both");
    if (q->words && q->text)
        return ak_err_set(err, AK_ERR_INVALID, "query: give query (words) or text (keywords), "
                                               "not both");
    if (q->has_vector && check_vector(q, err))
        return AK_ERR_INVALID;
    if (check_words("text", q->text, err) || check_words("query", q->words, err))
        return AK_ERR_INVALID;
    if (q->system_id && !ak_id_system_valid(q->system_id, &why))
        return ak_err_set(err, AK_ERR_INVALID, "system_id: %s", why);
    if (q->limit < 1 || q->limit > AK_SEARCH_LIMIT_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "limit: must be 1 to %d", AK_SEARCH_LIMIT_MAX);
    if (q->has_threshold && !(q->threshold >= -1 && q->threshold <= 1))
        return ak_err_set(err, AK_ERR_INVALID, "threshold: must be between -1 and 1");
    if (!(q->tiers & AK_TIER_ALL))
        return ak_err_set(err, AK_ERR_INVALID, "tiers: give hot, warm, cold or several");
    if (q->since > q->until)
        return ak_err_set(err, AK_ERR_INVALID, "since: later than until");
    if (q->timeout_us <= 0)
        return ak_err_set(err, AK_ERR_INVALID, "timeout: must be positive");
    return AK_OK;
}

/* ---- candidates ---- */

typedef struct {
    const char *system_id, *conversation_id; /* kept alive by the owning job */
    ak_tier tier;
    int64_t rowid, ts;
    double score;
    const ak_segment *seg; /* vector candidates: where to re-rank */
    uint32_t row;
} cand;

typedef struct {
    cand *c;
    size_t n, cap;
} cand_list;

static int cand_push(cand_list *l, cand c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        cand *grown = realloc(l->c, cap * sizeof *grown);
        if (!grown)
            return -1;
        l->c = grown;
        l->cap = cap;
    }
    l->c[l->n++] = c;
    return 0;
}

static int cmp_key(const cand *a, const cand *b)
{
    int c = strcmp(a->system_id, b->system_id);
    return c ? c : strcmp(a->conversation_id, b->conversation_id);
}

/* Best first; ties by key, so equal scores always come out in one order. */
static int cmp_score(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return cmp_key(a, b);
}

static int cmp_key_then_score(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    int c = cmp_key(a, b);
    if (c)
        return c;
    return a->score > b->score ? -1 : a->score < b->score ? 1 : 0;
}

/* De-duplicate by key keeping the best score, then rank by score. */
static void rank(cand_list *l)
{
    if (l->n > 1)
        qsort(l->c, l->n, sizeof *l->c, cmp_key_then_score);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++)
        if (w == 0 || cmp_key(&l->c[w - 1], &l->c[i]) != 0)
            l->c[w++] = l->c[i];
    l->n = w;
    if (l->n > 1)
        qsort(l->c, l->n, sizeof *l->c, cmp_score);
}

static void keep_best(cand_list *l, size_t limit)
{
    rank(l);
    if (l->n > limit)
        l->n = limit;
}

/* ---- the shared context ---- */

typedef struct search_ctx search_ctx;

typedef struct {
    search_ctx *ctx;
    uint32_t shard;
    ak_shard_snap snap;
    cand_list vec, txt;
    char **owned;
    size_t n_owned;
    char *error;
    int done;
} shard_job;

struct search_ctx {
    atomic_int refs;
    pthread_mutex_t mu;
    ak_latch latch;
    ak_index *idx;
    ak_query q;
    char *text_copy;
    float qf[AK_DIM];
    int8_t q8[AK_DIM];
    float q8scale;
    char *match, *match_prefix; /* FTS5 queries: the words; with prefixes (or NULL) */
    int64_t deadline_us;
    long slow_shard;
    int64_t slow_us;
    int use_vindex;          /* vres holds the ANN index's answer */
    ak_vindex_result vres;
    size_t n_jobs;
    shard_job jobs[];
};

static void ctx_unref(search_ctx *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->n_jobs; i++) {
        shard_job *j = &c->jobs[i];
        ak_shard_snap_release(&j->snap);
        free(j->vec.c);
        free(j->txt.c);
        for (size_t k = 0; k < j->n_owned; k++)
            free(j->owned[k]);
        free(j->owned);
        free(j->error);
    }
    ak_vindex_result_free(&c->vres);
    ak_latch_destroy(&c->latch);
    pthread_mutex_destroy(&c->mu);
    free(c->match);
    free(c->match_prefix);
    free(c->text_copy);
    free(c);
}

static const char *own(shard_job *j, const char *s)
{
    char **grown = realloc(j->owned, (j->n_owned + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    j->owned = grown;
    return (j->owned[j->n_owned] = strdup(s)) ? j->owned[j->n_owned++] : NULL;
}

/* ---- one shard ---- */

static int past_deadline(const search_ctx *c) { return ak_time_mono_us() > c->deadline_us; }

static void fail_job(shard_job *j, const char *fmt, const char *detail)
{
    char msg[AK_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, fmt, detail);
    if (!j->error)
        j->error = strdup(msg);
}

static void deadline_error(shard_job *j)
{
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", (long long)(j->ctx->q.timeout_us / 1000));
    fail_job(j, "deadline of %s ms exceeded", ms);
}

static size_t rerank_size(int limit)
{
    size_t m = (size_t)limit * RERANK_FACTOR;
    return m < RERANK_MIN ? RERANK_MIN : m;
}

/* A segment the ANN index answered for: its rows among the index's hits
 * (the hits hold references, so an equal pointer is this very segment). */
static void from_vindex(const search_ctx *c, const ak_segment *seg, uint32_t group, ak_topk *top)
{
    for (size_t i = 0; i < c->vres.n; i++)
        if (c->vres.hits[i].seg == seg && ak_topk_wants(top, c->vres.hits[i].score))
            ak_topk_push(top, (ak_hit){c->vres.hits[i].score, group, c->vres.hits[i].row});
}

static cand seg_cand(const ak_segment *s, uint32_t row, float score)
{
    return (cand){s->system_id, ak_segment_conv_id(s, row), ak_segment_tier(s, row),
                  s->rowid[row], s->ts[row], score, s, row};
}

/* First pass only: the shard's best by approximate (int8) score.  The exact
 * re-rank happens once, over the best of all shards, in the coordinator:
 * re-ranking every shard's candidates would cost more than the scan. */
static void vector_part(shard_job *j)
{
    search_ctx *c = j->ctx;
    size_t m = rerank_size(c->q.limit);
    ak_hit *heap = malloc(m * sizeof *heap);
    if (!heap) {
        fail_job(j, "%s", "out of memory");
        return;
    }
    ak_topk top;
    ak_topk_init(&top, heap, m);
    ak_scan_filter f = {c->q.tiers, c->q.since, c->q.until};
    for (size_t i = 0; i < j->snap.n && !j->error; i++)
        if (c->use_vindex && ak_vindex_covers(&c->vres, j->snap.segs[i]))
            from_vindex(c, j->snap.segs[i], (uint32_t)i, &top);
        else if (ak_segment_scan(j->snap.segs[i], c->q8, c->q8scale, &f, (uint32_t)i, &top,
                            c->deadline_us) == AK_ERR_ABORTED)
            deadline_error(j);
    for (size_t i = 0; i < top.n && !j->error; i++) {
        cand cd = seg_cand(j->snap.segs[top.heap[i].group], top.heap[i].row, top.heap[i].score);
        if (cand_push(&j->vec, cd))
            fail_job(j, "%s", "out of memory");
    }
    free(heap);
}

typedef struct {
    shard_job *job;
    const char *system_id;
    ak_tier tier;
    int hits;
} text_hit_ctx;

static ak_code on_text_hit(void *arg, int64_t rowid, const char *conv_id, int64_t ts, double score)
{
    text_hit_ctx *t = arg;
    const char *id = own(t->job, conv_id ? conv_id : "");
    cand cd = {t->system_id, id, t->tier, rowid, ts, score, NULL, 0};
    t->hits++;
    return id && cand_push(&t->job->txt, cd) == 0 ? AK_OK : AK_ERR_NOMEM;
}

/* One tier of one system.  The words alone first: expanding every word to
 * the words it begins made an 11-word query 6.5x slower (FTS5 merges the
 * posting lists of every term a prefix covers: "the"* is then, there,
 * these...), and the porter stemmer already matches a word's inflections.
 * Only when the words alone find fewer than the limit (a word the text
 * never has as such: "postgres" in text saying "PostgreSQL") do the
 * prefixes run, in place of that first answer. */
static ak_code text_tier(shard_job *j, ak_sysdb *db, const char *sid, ak_tier t, ak_err *err)
{
    search_ctx *c = j->ctx;
    text_hit_ctx th = {j, sid, t, 0};
    size_t before = j->txt.n;
    ak_code rc = ak_sysdb_text_search(db, t, c->match, c->q.since, c->q.until, c->q.limit,
                                      on_text_hit, &th, err);
    if (rc != AK_OK || th.hits >= c->q.limit || !c->match_prefix)
        return rc;
    j->txt.n = before; /* (their ids stay owned by the job until it ends) */
    return ak_sysdb_text_search(db, t, c->match_prefix, c->q.since, c->q.until, c->q.limit,
                                on_text_hit, &th, err);
}

static void text_part(shard_job *j)
{
    search_ctx *c = j->ctx;
    for (size_t i = 0; i < j->snap.n && !j->error; i++) {
        const char *sid = j->snap.segs[i]->system_id;
        ak_sysdb *db = NULL;
        ak_err err;
        if (past_deadline(c)) {
            deadline_error(j);
            break;
        }
        ak_code rc = ak_index_db_get(c->idx, sid, &db, &err);
        for (int t = AK_TIER_HOT; rc == AK_OK && t <= AK_TIER_COLD; t++)
            if (c->q.tiers & AK_TIER_MASK(t))
                rc = text_tier(j, db, sid, (ak_tier)t, &err);
        if (rc && db) {
            ak_sysdb_close(db); /* it failed: do not hand it to the next search */
            db = NULL;
        }
        ak_index_db_put(c->idx, sid, db);
        if (rc)
            fail_job(j, "%s", err.msg);
    }
    keep_best(&j->txt, (size_t)c->q.limit);
}

/* The test hook of search.h: wait, but never past the deadline. */
static void maybe_slow_down(shard_job *j)
{
    search_ctx *c = j->ctx;
    if (c->slow_shard != (long)j->shard)
        return;
    int64_t until = ak_time_mono_us() + c->slow_us;
    while (ak_time_mono_us() < until && !past_deadline(c)) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void run_shard(void *arg)
{
    shard_job *j = arg;
    search_ctx *c = j->ctx;
    ak_err err;
    maybe_slow_down(j);
    /* A job the pool starts after the deadline touches nothing: the caller
     * has its answer and may be tearing the index down (it frees the pool,
     * which drains the queue, first). */
    if (past_deadline(c))
        deadline_error(j);
    else if (ak_index_snapshot(c->idx, j->shard, &j->snap, &err))
        fail_job(j, "%s", err.msg);
    else if (j->snap.error)
        fail_job(j, "%s", j->snap.error);
    if (!j->error && past_deadline(c))
        deadline_error(j);
    if (!j->error && c->q.has_vector)
        vector_part(j);
    if (!j->error && c->q.text)
        text_part(j);
    pthread_mutex_lock(&c->mu);
    j->done = 1;
    pthread_mutex_unlock(&c->mu);
    ak_latch_done(&c->latch);
    ctx_unref(c);
}

/* ---- the coordinator ---- */

static uint32_t *target_shards(ak_index *idx, const ak_query *q, size_t *n)
{
    if (!q->system_id)
        return ak_index_nonempty_shards(idx, n);
    uint32_t *one = malloc(sizeof *one);
    if (one)
        *one = ak_shard_of(q->system_id, ak_datadir_shards(ak_index_datadir(idx)));
    *n = one ? 1 : 0;
    return one;
}

static void read_slow_hook(search_ctx *c)
{
    const char *hook = getenv("AKOSHA_TEST_SLOW_SHARD");
    long shard, ms;
    c->slow_shard = -1;
    if (hook && sscanf(hook, "%ld:%ld", &shard, &ms) == 2) {
        c->slow_shard = shard;
        c->slow_us = ms * 1000;
    }
}

/* Ask the ANN index first, unless the query wants the exact scan or names
 * one system (a system's rows are few: scanning them is exact and quick).
 * The coordinator asks once for every shard; the shards scan when the
 * index declines (a selective filter, no close match). */
static void use_vindex(search_ctx *c, const ak_query *q)
{
    ak_vindex *v = ak_index_vindex(c->idx);
    if (!v || q->exact || q->system_id)
        return;
    ak_scan_filter f = {q->tiers, q->since, q->until};
    c->use_vindex = ak_vindex_search(v, c->q8, c->q8scale, &f, rerank_size(q->limit),
                                     ak_vindex_default_ef(), ak_vindex_exact_below(),
                                     &c->vres);
}

static search_ctx *make_ctx(ak_index *idx, const ak_query *q, size_t n_jobs, ak_err *err)
{
    search_ctx *c = calloc(1, sizeof *c + n_jobs * sizeof(shard_job));
    if (!c) {
        ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    ak_latch_init(&c->latch, 0);
    c->idx = idx;
    c->q = *q;
    c->n_jobs = n_jobs;
    if (q->text && (!(c->text_copy = strdup(q->text)) || !(c->match = ak_match_build(q->text, 0)) ||
                    !(c->match_prefix = ak_match_build(q->text, 1)))) {
        ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        ctx_unref(c);
        return NULL;
    }
    if (c->match_prefix && strcmp(c->match, c->match_prefix) == 0) { /* no word long enough */
        free(c->match_prefix);
        c->match_prefix = NULL;
    }
    c->q.text = c->text_copy;
    c->q.system_id = NULL; /* only used to pick the shard; not kept */
    if (q->has_vector) {
        memcpy(c->qf, q->vector, sizeof c->qf);
        ak_vec_quantize(c->qf, c->q8, &c->q8scale);
        use_vindex(c, q);
    }
    c->deadline_us = ak_time_mono_us() + q->timeout_us;
    read_slow_hook(c);
    return c;
}

/* The index's hits as candidates (they passed the filter; the result
 * holds the references to their segments). */
static ak_code from_vindex_all(const search_ctx *c, cand_list *vec)
{
    for (size_t i = 0; i < c->vres.n; i++)
        if (cand_push(vec, seg_cand(c->vres.hits[i].seg, c->vres.hits[i].row,
                                    c->vres.hits[i].score)))
            return AK_ERR_NOMEM;
    return AK_OK;
}

static ak_code submit_jobs(search_ctx *c, ak_pool *pool, const uint32_t *shards)
{
    for (size_t i = 0; i < c->n_jobs; i++) {
        shard_job *j = &c->jobs[i];
        j->ctx = c;
        j->shard = shards[i];
        atomic_fetch_add(&c->refs, 1);
        ak_latch_add(&c->latch, 1);
        if (ak_pool_submit(pool, run_shard, j)) {
            j->error = strdup("could not start the shard's job");
            j->done = 1;
            ak_latch_done(&c->latch);
            atomic_fetch_sub(&c->refs, 1);
        }
    }
    return AK_OK;
}

static ak_code add_failure(ak_results *out, uint32_t shard, const char *error)
{
    ak_shard_failure *grown = realloc(out->failed, (out->n_failed + 1) * sizeof *grown);
    if (!grown)
        return AK_ERR_NOMEM;
    out->failed = grown;
    if (!(grown[out->n_failed].error = strdup(error)))
        return AK_ERR_NOMEM;
    grown[out->n_failed].shard = shard;
    out->n_failed++;
    return AK_OK;
}

/* Take what the shards answered; name the ones that did not. */
static ak_code gather(search_ctx *c, ak_results *out, cand_list *vec, cand_list *txt)
{
    ak_code rc = AK_OK;
    char late[64];
    snprintf(late, sizeof late, "no answer within the %lld ms deadline",
             (long long)(c->q.timeout_us / 1000));
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; rc == AK_OK && i < c->n_jobs; i++) {
        shard_job *j = &c->jobs[i];
        if (!j->done || j->error) {
            rc = add_failure(out, j->shard, j->done ? j->error : late);
            continue;
        }
        for (size_t k = 0; rc == AK_OK && k < j->vec.n; k++)
            rc = cand_push(vec, j->vec.c[k]) ? AK_ERR_NOMEM : AK_OK;
        for (size_t k = 0; rc == AK_OK && k < j->txt.n; k++)
            rc = cand_push(txt, j->txt.c[k]) ? AK_ERR_NOMEM : AK_OK;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* The exact scores of the best approximate candidates of all shards, the
 * threshold applied to them, then de-duplicated and ranked. */
static ak_code rerank(const search_ctx *c, cand_list *vec)
{
    size_t m = rerank_size(c->q.limit);
    ak_hit *heap = malloc(m * sizeof *heap);
    if (!heap)
        return AK_ERR_NOMEM;
    ak_topk top;
    ak_topk_init(&top, heap, m);
    for (size_t i = 0; i < vec->n; i++)
        ak_topk_push(&top, (ak_hit){(float)vec->c[i].score, 0, (uint32_t)i});
    assert(top.n <= vec->n); /* so every top.heap[i].row indexes vec->c */
    cand_list kept = {0};
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < top.n; i++) {
        cand cd = vec->c[top.heap[i].row];
        cd.score = ak_segment_exact(cd.seg, cd.row, c->qf);
        if (!isfinite(cd.score) || (c->q.has_threshold && !(cd.score >= c->q.threshold)))
            continue; /* a NaN passes no threshold and has no rank */
        rc = cand_push(&kept, cd) ? AK_ERR_NOMEM : AK_OK;
    }
    free(heap);
    free(vec->c);
    *vec = kept;
    rank(vec);
    return rc;
}

/* Reciprocal-rank fusion: each ranking adds 1 / (k + rank) per document. */
static ak_code fuse(cand_list *vec, cand_list *txt, cand_list *out)
{
    cand_list *lists[2] = {vec, txt};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < lists[l]->n; i++) {
            cand cd = lists[l]->c[i];
            cd.score = 1.0 / (RRF_K + (double)(i + 1));
            if (cand_push(out, cd))
                return AK_ERR_NOMEM;
        }
    if (out->n > 1)
        qsort(out->c, out->n, sizeof *out->c, cmp_key_then_score);
    size_t w = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (w && cmp_key(&out->c[w - 1], &out->c[i]) == 0)
            out->c[w - 1].score += out->c[i].score; /* same conversation: add up */
        else
            out->c[w++] = out->c[i];
    }
    out->n = w;
    if (out->n > 1)
        qsort(out->c, out->n, sizeof *out->c, cmp_score);
    return AK_OK;
}

/* ---- results ---- */

typedef struct {
    char system_id[AK_SYSTEM_ID_MAX + 1];
    ak_sysdb *db;
} db_slot;

static ak_sysdb *db_for(ak_index *idx, db_slot *cache, size_t *n, const char *sid, ak_err *err)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(cache[i].system_id, sid) == 0)
            return cache[i].db;
    ak_sysdb *db = NULL;
    if (ak_index_db_get(idx, sid, &db, err))
        return NULL;
    ak_fmt(cache[*n].system_id, sizeof cache[*n].system_id, "%s", sid);
    cache[(*n)++].db = db;
    return db;
}

/* The row a candidate names, found again by key when it changed tier or
 * its row id was reused since the index was built. */
static ak_code read_back(ak_sysdb *db, const cand *cd, ak_conv *conv, ak_err *err)
{
    ak_code rc = ak_sysdb_get_row(db, cd->tier, cd->rowid, conv, err);
    if (rc == AK_OK && conv->conversation_id &&
        strcmp(conv->conversation_id, cd->conversation_id) == 0)
        return AK_OK;
    if (rc == AK_OK)
        ak_conv_free(conv); /* the row id was reused by another conversation */
    if (rc == AK_OK || rc == AK_ERR_NOTFOUND) /* or the row moved to another tier */
        rc = ak_sysdb_get_conv(db, cd->conversation_id, conv, err);
    if (rc == AK_OK && !conv->conversation_id) { /* its copy failed */
        ak_conv_free(conv);
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    return rc;
}

/* A hit that cannot be read back is not dropped in silence: its shard is
 * named as failed, as when the shard itself fails. */
static ak_code unreadable(ak_index *idx, ak_results *out, const cand *cd, const ak_err *why)
{
    char msg[AK_ERR_MSG_MAX + 128];
    ak_fmt(msg, sizeof msg, "system %s: conversation %s cannot be read back: %s", cd->system_id,
           cd->conversation_id, why->msg);
    return add_failure(out,
                       ak_shard_of(cd->system_id, ak_datadir_shards(ak_index_datadir(idx))),
                       msg);
}

/* Read what each result shows from its database.  A conversation gone
 * since the index was built (forgotten, replaced) is dropped; one that
 * cannot be read (its database fails) is reported as a failed shard. */
static ak_code fill(ak_index *idx, const cand_list *ranked, size_t limit, ak_results *out)
{
    size_t n = ranked->n < limit ? ranked->n : limit, n_db = 0;
    db_slot *cache = calloc(n ? n : 1, sizeof *cache);
    out->r = calloc(n ? n : 1, sizeof *out->r);
    if (!cache || !out->r) {
        free(cache);
        return AK_ERR_NOMEM;
    }
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        const cand *cd = &ranked->c[i];
        ak_conv conv;
        ak_err err;
        ak_err_clear(&err);
        ak_sysdb *db = db_for(idx, cache, &n_db, cd->system_id, &err);
        ak_code got = db ? read_back(db, cd, &conv, &err) : err.code ? err.code : AK_ERR_IO;
        if (got == AK_ERR_NOTFOUND)
            continue;
        if (got == AK_ERR_NOMEM) {
            rc = got;
            break;
        }
        if (got) {
            rc = unreadable(idx, out, cd, &err);
            continue;
        }
        char *system_id = strdup(cd->system_id);
        if (!system_id) {
            ak_conv_free(&conv);
            rc = AK_ERR_NOMEM;
            break;
        }
        ak_result *r = &out->r[out->n++];
        r->system_id = system_id;
        r->conversation_id = conv.conversation_id;
        r->tier = conv.tier;
        r->score = cd->score;
        r->ts_us = conv.ts_us;
        r->content = conv.content;
        r->summary = conv.summary;
        r->metadata = conv.metadata;
        conv.conversation_id = conv.content = conv.summary = conv.metadata = NULL;
        ak_conv_free(&conv);
    }
    for (size_t i = 0; i < n_db; i++)
        ak_index_db_put(idx, cache[i].system_id, cache[i].db);
    free(cache);
    return rc;
}

ak_code ak_search(ak_index *idx, ak_pool *pool, const ak_query *query, ak_results *out,
                  ak_err *err)
{
    int64_t t0 = ak_time_mono_us();
    ak_query words_as_text = *query; /* words not embedded (words.c did not): keywords */
    if (!words_as_text.text)
        words_as_text.text = query->words;
    const ak_query *q = &words_as_text;
    memset(out, 0, sizeof *out);
    size_t n_shards;
    uint32_t *shards = target_shards(idx, q, &n_shards);
    if (!shards)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    search_ctx *c = make_ctx(idx, q, n_shards, err);
    if (!c) {
        free(shards);
        return err ? err->code : AK_ERR_NOMEM;
    }
    cand_list vec = {0}, txt = {0}, fused = {0};
    ak_code rc;
    if (!q->text && c->use_vindex && ak_index_covered(idx, &c->vres)) {
        /* the shards' jobs would only copy the index's hits */
        rc = from_vindex_all(c, &vec);
    } else {
        submit_jobs(c, pool, shards);
        ak_latch_wait(&c->latch, c->deadline_us + DEADLINE_GRACE_US);
        rc = gather(c, out, &vec, &txt);
    }
    free(shards);
    if (rc == AK_OK)
        rc = rerank(c, &vec);
    if (rc == AK_OK) {
        rank(&txt);
        if (q->has_vector && q->text)
            rc = fuse(&vec, &txt, &fused);
    }
    const cand_list *ranked = q->has_vector && q->text ? &fused : q->has_vector ? &vec : &txt;
    if (rc == AK_OK)
        rc = fill(idx, ranked, (size_t)q->limit, out);
    free(vec.c);
    free(txt.c);
    free(fused.c);
    out->shards_queried = (uint32_t)n_shards;
    out->mode = q->has_vector && q->text ? "hybrid" : q->has_vector ? "vector" : "text";
    out->took_ms = (double)(ak_time_mono_us() - t0) / 1000.0;
    ctx_unref(c);
    if (rc) {
        ak_results_free(out);
        return ak_err_set(err, rc, "out of memory");
    }
    return AK_OK;
}

void ak_results_free(ak_results *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->r[i].system_id);
        free(r->r[i].conversation_id);
        free(r->r[i].content);
        free(r->r[i].summary);
        free(r->r[i].metadata);
    }
    free(r->r);
    for (size_t i = 0; i < r->n_failed; i++)
        free(r->failed[i].error);
    free(r->failed);
    free(r->embed_error);
    memset(r, 0, sizeof *r);
}
