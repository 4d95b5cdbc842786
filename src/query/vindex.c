/*
 * vindex.c - see vindex.h.
 *
 * Locks: `rw` guards the graph, the label tables, each system's bound
 * segment and the cover set (searches read, syncs write briefly); `sync_mu`
 * makes syncs, drops and saves one at a time, so the systems' key lists,
 * which only they touch, need no other lock.  A label (graph node id) maps
 * to its system (lab_sys) and its row in the system's bound segment
 * (lab_row); PENDING marks nodes added for a sync that has not switched
 * yet, DEAD nodes deleted.
 *
 * Why it is over 800 lines: syncing, searching and the file all work on
 * the label tables under those two locks; split, each part would reach
 * into the others' state.
 */
#include "query/vindex.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/hnsw.h"
#include "util/buf.h"
#include "util/log.h"

#define PENDING UINT32_MAX
#define DEAD (UINT32_MAX - 1)
#define ADD_BATCH 64       /* nodes added per hold of the write lock */
#define SAMPLE 512         /* labels sampled to estimate a filter's selectivity */
#define SELECTIVE 50       /* a filter keeping under 1/50 of the rows: scan instead */
#define EF_MAX 4096
#define BLOB_MAGIC 0x58564b41u /* "AKVX" */

typedef struct {
    uint64_t key; /* tier << 62 | row id */
    uint32_t label;
} keyed;

typedef struct {
    char id[AK_SYSTEM_ID_MAX + 1];
    ak_segment *bound;
    keyed *keys; /* the system's live nodes, sorted by key */
    size_t n_keys;
} sysent;

struct ak_vindex_cover {
    atomic_int refs;
    size_t n;
    uint64_t gen[];
};

struct ak_vindex {
    char *path;
    pthread_rwlock_t rw;
    pthread_mutex_t sync_mu;
    ak_hnsw *g;
    uint32_t *lab_sys, *lab_row;
    size_t lab_cap;
    sysent **sys; /* append-only: labels name systems by position */
    size_t n_sys, sys_cap;
    ak_vindex_cover *cover;
    int dirty;
    int sum_fd;     /* the file a lazy open mapped, its CRC-32 not checked yet; or -1 */
    int condemned;  /* found damaged but not replaced yet (out of memory): nothing binds */
    uint64_t added; /* nodes added since open */
    atomic_ullong damaged; /* files found damaged (at open or after) and rebuilt */
    atomic_ullong exact_fallbacks; /* searches left to the scan: no close match */
    void (*pause)(void *ctx); /* ak_vindex_set_pause() */
    void *pause_ctx;
};

static uint64_t key_of(const ak_segment *s, uint32_t row)
{
    return (uint64_t)ak_segment_tier(s, row) << 62 | ((uint64_t)s->rowid[row] & ((1ull << 62) - 1));
}

static int cmp_keyed(const void *a, const void *b)
{
    uint64_t x = ((const keyed *)a)->key, y = ((const keyed *)b)->key;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void cover_unref(ak_vindex_cover *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        free(c);
}

/* A new cover set from the bound systems (under the write lock). */
static void recover(ak_vindex *v)
{
    ak_vindex_cover *c = malloc(sizeof *c + (v->n_sys + 1) * sizeof(uint64_t));
    if (!c) {
        /* keep the old set would claim systems no longer bound: cover none */
        for (size_t i = 0; i < v->n_sys; i++)
            if (v->sys[i]->bound) {
                ak_segment_unref(v->sys[i]->bound);
                v->sys[i]->bound = NULL;
            }
        if (v->cover)
            v->cover->n = 0;
        return;
    }
    atomic_init(&c->refs, 1);
    c->n = 0;
    for (size_t i = 0; i < v->n_sys; i++)
        if (v->sys[i]->bound)
            c->gen[c->n++] = v->sys[i]->bound->gen;
    qsort(c->gen, c->n, sizeof *c->gen, cmp_u64);
    cover_unref(v->cover);
    v->cover = c;
}

static ak_code labels_fit(ak_vindex *v, size_t n, ak_err *err)
{
    if (n <= v->lab_cap)
        return AK_OK;
    size_t cap = v->lab_cap ? v->lab_cap : 1024;
    while (cap < n)
        cap *= 2;
    uint32_t *s = realloc(v->lab_sys, cap * sizeof *s);
    if (s)
        v->lab_sys = s;
    uint32_t *r = s ? realloc(v->lab_row, cap * sizeof *r) : NULL;
    if (!r)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory for %zu index labels", n);
    v->lab_row = r;
    v->lab_cap = cap;
    return AK_OK;
}

/* The system's entry, or NULL (creating it when create). */
static sysent *find_sys(ak_vindex *v, const char *id, int create, uint32_t *at)
{
    for (size_t i = 0; i < v->n_sys; i++)
        if (strcmp(v->sys[i]->id, id) == 0) {
            *at = (uint32_t)i;
            return v->sys[i];
        }
    if (!create)
        return NULL;
    sysent *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->id, sizeof s->id, "%s", id);
    pthread_rwlock_wrlock(&v->rw);
    if (v->n_sys == v->sys_cap) {
        size_t cap = v->sys_cap ? v->sys_cap * 2 : 64;
        sysent **grown = realloc(v->sys, cap * sizeof *grown);
        if (!grown) {
            pthread_rwlock_unlock(&v->rw);
            free(s);
            return NULL;
        }
        v->sys = grown;
        v->sys_cap = cap;
    }
    *at = (uint32_t)v->n_sys;
    v->sys[v->n_sys++] = s;
    pthread_rwlock_unlock(&v->rw);
    return s;
}

/* ---- a file found damaged after open ---- */

/* Unbind every system (searches then scan) and put an empty graph in the
 * damaged one's place, for the syncs to fill from the segments (the
 * databases, which stay the truth).  Under sync_mu. */
static ak_code replace_graph(ak_vindex *v, ak_err *err)
{
    ak_hnsw *fresh = ak_hnsw_new();
    pthread_rwlock_wrlock(&v->rw);
    for (size_t i = 0; i < v->n_sys; i++) {
        sysent *e = v->sys[i];
        ak_segment_unref(e->bound);
        e->bound = NULL;
        free(e->keys);
        e->keys = NULL;
        e->n_keys = 0;
    }
    recover(v);
    if (fresh) {
        ak_hnsw_free(v->g);
        v->g = fresh;
        v->dirty = 1; /* the next save replaces the file */
    }
    v->condemned = !fresh;
    pthread_rwlock_unlock(&v->rw);
    if (v->sum_fd >= 0)
        close(v->sum_fd);
    v->sum_fd = -1;
    return fresh ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory replacing the index");
}

static void condemn(ak_vindex *v, const char *why)
{
    ak_err e;
    atomic_fetch_add(&v->damaged, 1);
    AK_WARN("vindex", "%s; rebuilding it from the databases", why);
    if (replace_graph(v, &e))
        AK_WARN("vindex", "%s", e.msg); /* the next sync tries again */
}

/* Under sync_mu: the graph may be walked and grown.  After a lazy open
 * this is where the links are checked, before the first system is bound:
 * until then nothing walks the graph (no system bound, ak_vindex_search()
 * declines, and the graph refuses anyway). */
static ak_code usable(ak_vindex *v, ak_err *err)
{
    ak_err why;
    if (!v->condemned && ak_hnsw_check(v->g, &why) != AK_OK) {
        ak_err_prefix(&why, "%s: ", v->path);
        condemn(v, why.msg);
    }
    return v->condemned ? replace_graph(v, err) : AK_OK;
}

/* Under sync_mu: the checksum a lazy open left, if it is still due. */
static ak_code sum_now(ak_vindex *v, ak_err *err)
{
    ak_err why;
    if (v->sum_fd < 0)
        return AK_OK;
    if (ak_hnsw_file_sum(v->sum_fd, &why) != AK_OK) {
        ak_err_set(err, AK_ERR_CORRUPT, "%s: %s", v->path, why.msg);
        condemn(v, err->msg);
        return AK_ERR_CORRUPT;
    }
    close(v->sum_fd);
    v->sum_fd = -1;
    return AK_OK;
}

ak_code ak_vindex_sum(ak_vindex *v, ak_err *err)
{
    pthread_mutex_lock(&v->sync_mu);
    ak_code rc = sum_now(v, err);
    pthread_mutex_unlock(&v->sync_mu);
    return rc;
}

/* ---- keeping in step ---- */

static int same_vector(const ak_hnsw *g, uint32_t label, const ak_segment *s, uint32_t row)
{
    return ak_hnsw_scale(g, label) == s->qscale[row] &&
           memcmp(ak_hnsw_vector(g, label), s->q + (size_t)row * AK_DIM, AK_DIM) == 0;
}

/* Delete the labels in ks[0..n) (under the write lock). */
static void kill_labels(ak_vindex *v, const keyed *ks, size_t n, const uint8_t *spare)
{
    for (size_t i = 0; i < n; i++)
        if (!spare || !spare[i]) {
            ak_hnsw_delete(v->g, ks[i].label);
            v->lab_sys[ks[i].label] = DEAD;
        }
}

/* Add the rows todo[0..n) of s as PENDING nodes, a batch per lock hold. */
static ak_code add_rows(ak_vindex *v, const ak_segment *s, const uint32_t *todo, size_t n,
                        keyed *nk, atomic_int *stop, size_t *added, ak_err *err)
{
    ak_code rc = AK_OK;
    for (*added = 0; rc == AK_OK && *added < n;) {
        if (v->pause)
            v->pause(v->pause_ctx);
        if (stop && atomic_load(stop))
            return ak_err_set(err, AK_ERR_ABORTED, "stopped");
        pthread_rwlock_wrlock(&v->rw);
        for (size_t b = 0; rc == AK_OK && b < ADD_BATCH && *added < n; b++) {
            uint32_t r = todo[*added], label;
            rc = labels_fit(v, (size_t)ak_hnsw_count(v->g) + 1, err);
            if (rc == AK_OK)
                rc = ak_hnsw_add(v->g, s->q + (size_t)r * AK_DIM, s->qscale[r], &label, err);
            if (rc == AK_OK) {
                v->lab_sys[label] = PENDING;
                nk[r].label = label;
                (*added)++;
            }
        }
        pthread_rwlock_unlock(&v->rw);
    }
    return rc;
}

/* Match s's rows against the system's nodes: nk[r] gets the key and, for
 * rows already in the graph, the label; used[] marks the nodes kept; the
 * other rows go to todo.  Returns how many there are to add. */
static size_t match_rows(const ak_vindex *v, const sysent *e, const ak_segment *s, keyed *nk,
                         uint8_t *used, uint32_t *todo)
{
    size_t n_todo = 0;
    for (uint32_t r = 0; r < s->n; r++) {
        keyed want = {key_of(s, r), 0};
        const keyed *k = e->n_keys ? bsearch(&want, e->keys, e->n_keys, sizeof want, cmp_keyed)
                                   : NULL;
        nk[r].key = want.key;
        if (k && !used[k - e->keys] && same_vector(v->g, k->label, s, r)) {
            used[k - e->keys] = 1;
            nk[r].label = k->label;
        } else {
            todo[n_todo++] = r;
        }
    }
    return n_todo;
}

/* Switch the system to s: label every row, delete the nodes not kept.
 * changed: nodes were added or deleted, so the file must be saved again (a
 * restart rebinding an unchanged index rewrites nothing). */
static void bind(ak_vindex *v, sysent *e, uint32_t at, ak_segment *s, keyed *nk,
                 const uint8_t *used, int changed)
{
    pthread_rwlock_wrlock(&v->rw);
    for (uint32_t r = 0; r < s->n; r++) {
        v->lab_sys[nk[r].label] = at;
        v->lab_row[nk[r].label] = r;
    }
    kill_labels(v, e->keys, e->n_keys, used);
    ak_segment *old = e->bound;
    ak_segment_ref(s);
    e->bound = s;
    recover(v);
    v->dirty |= changed;
    pthread_rwlock_unlock(&v->rw);
    ak_segment_unref(old);
    qsort(nk, s->n, sizeof *nk, cmp_keyed);
    free(e->keys);
    e->keys = nk;
    e->n_keys = s->n;
}

ak_code ak_vindex_sync(ak_vindex *v, ak_segment *s, int add, atomic_int *stop,
                       ak_err *err)
{
    pthread_mutex_lock(&v->sync_mu);
    uint32_t at = 0;
    ak_code rc = usable(v, err);
    sysent *e = rc ? NULL : find_sys(v, s->system_id, 1, &at);
    if (rc == AK_OK && !e)
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc || (e->bound && e->bound->gen == s->gen)) {
        pthread_mutex_unlock(&v->sync_mu);
        return rc;
    }
    size_t n = s->n ? s->n : 1, added = 0, n_todo = 0;
    keyed *nk = malloc(n * sizeof *nk);
    uint8_t *used = calloc(e->n_keys ? e->n_keys : 1, 1);
    uint32_t *todo = malloc(n * sizeof *todo);
    if (!nk || !used || !todo)
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory syncing system %s", s->system_id);
    if (rc == AK_OK)
        n_todo = match_rows(v, e, s, nk, used, todo);
    if (rc == AK_OK && (add || n_todo == 0)) {
        rc = add_rows(v, s, todo, n_todo, nk, stop, &added, err);
        assert(added <= n_todo); /* nk[todo[i]] is set for every i < added */
        v->added += added;
        if (rc == AK_OK) {
            /* every old node matched a row and no row was added: the same keys */
            bind(v, e, at, s, nk, used, added > 0 || e->n_keys != s->n);
            nk = NULL;
        } else {
            /* the nodes added for this sync were never bound: delete them */
            pthread_rwlock_wrlock(&v->rw);
            for (size_t i = 0; i < added; i++) {
                ak_hnsw_delete(v->g, nk[todo[i]].label);
                v->lab_sys[nk[todo[i]].label] = DEAD;
            }
            pthread_rwlock_unlock(&v->rw);
        }
    }
    /* matching read every row and its node: searches need none of it (under
     * sync_mu: no add can move the graph off its file meanwhile) */
    ak_hnsw_release_pages(v->g);
    pthread_mutex_unlock(&v->sync_mu);
    free(nk);
    free(used);
    free(todo);
    ak_segment_release_pages(s);
    return rc;
}

void ak_vindex_set_pause(ak_vindex *v, void (*pause)(void *ctx), void *ctx)
{
    v->pause = pause;
    v->pause_ctx = ctx;
}

/* Drop entry e's nodes and binding (under sync_mu). */
static void drop_entry(ak_vindex *v, sysent *e)
{
    pthread_rwlock_wrlock(&v->rw);
    kill_labels(v, e->keys, e->n_keys, NULL);
    ak_segment *old = e->bound;
    e->bound = NULL;
    recover(v);
    v->dirty |= e->n_keys > 0;
    pthread_rwlock_unlock(&v->rw);
    ak_segment_unref(old);
    free(e->keys);
    e->keys = NULL;
    e->n_keys = 0;
}

void ak_vindex_drop(ak_vindex *v, const char *system_id)
{
    uint32_t at;
    pthread_mutex_lock(&v->sync_mu);
    sysent *e = find_sys(v, system_id, 0, &at);
    if (e)
        drop_entry(v, e);
    pthread_mutex_unlock(&v->sync_mu);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void ak_vindex_retain(ak_vindex *v, const char *const *keep, size_t n)
{
    pthread_mutex_lock(&v->sync_mu);
    for (size_t i = 0; i < v->n_sys; i++) {
        const char *id = v->sys[i]->id;
        if (!n || !bsearch(&id, keep, n, sizeof *keep, cmp_str))
            drop_entry(v, v->sys[i]);
    }
    pthread_mutex_unlock(&v->sync_mu);
}

int ak_vindex_is_bound(ak_vindex *v, const ak_segment *seg)
{
    pthread_rwlock_rdlock(&v->rw);
    int bound = 0;
    for (size_t i = 0; i < v->n_sys && !bound; i++)
        bound = v->sys[i]->bound && v->sys[i]->bound->gen == seg->gen;
    pthread_rwlock_unlock(&v->rw);
    return bound;
}

/* ---- searching ---- */

typedef struct {
    const ak_vindex *v;
    const ak_scan_filter *f;
    int all;
} accept_ctx;

static int passes(void *arg, uint32_t label)
{
    const accept_ctx *a = arg;
    uint32_t si = a->v->lab_sys[label];
    if (si >= a->v->n_sys || !a->v->sys[si]->bound)
        return 0;
    if (a->all)
        return 1;
    const ak_segment *s = a->v->sys[si]->bound;
    uint32_t row = a->v->lab_row[label];
    return (a->f->tiers & AK_TIER_MASK(ak_segment_tier(s, row))) && s->ts[row] >= a->f->since &&
           s->ts[row] <= a->f->until;
}

/* The share of the graph's live nodes a search may return (bound, and
 * passing the filter), from a sample: nodes of systems not bound are
 * traversed like filtered ones. */
static double selectivity(accept_ctx *a, uint32_t n)
{
    uint32_t step = n / SAMPLE ? n / SAMPLE : 1, seen = 0, kept = 0;
    for (uint32_t l = 0; l < n; l += step)
        if (a->v->lab_sys[l] < a->v->n_sys) {
            seen++;
            kept += (uint32_t)passes(a, l);
        }
    return seen ? (double)kept / seen : 0.0;
}

/* A graph finds a query's neighbours by walking towards them; when nothing
 * in the store is close (the best cosine is low, as for a query from
 * another domain) every node is about as far as every other, the walk
 * stops early and recall collapses (0.02-0.08 at ef 64 in BENCHMARKS.md).
 * Such a query is rare and its answer is then found by the exact scan. */
static int no_close_match(ak_vindex *v, float best, float exact_below) /* -2: none found */
{
    if (exact_below <= 0 || best >= exact_below)
        return 0;
    atomic_fetch_add(&v->exact_fallbacks, 1);
    return 1;
}

int ak_vindex_search(ak_vindex *v, const int8_t *q8, float q8scale, const ak_scan_filter *f,
                     size_t k, size_t ef, float exact_below, ak_vindex_result *out)
{
    memset(out, 0, sizeof *out);
    accept_ctx a = {v, f, (f->tiers & AK_TIER_ALL) == AK_TIER_ALL && f->since == INT64_MIN &&
                              f->until == INT64_MAX};
    pthread_rwlock_rdlock(&v->rw);
    uint32_t n = ak_hnsw_count(v->g);
    double share = selectivity(&a, n);
    if (share * SELECTIVE < 1.0 || !v->cover) {
        pthread_rwlock_unlock(&v->rw);
        return 0;
    }
    ef = (size_t)((double)(ef < k ? k : ef) / share);
    ef = ef > EF_MAX ? EF_MAX : ef;
    ak_hnsw_hit *hits = malloc(k * sizeof *hits);
    out->hits = malloc(k * sizeof *out->hits);
    size_t got = hits && out->hits ? ak_hnsw_search(v->g, q8, q8scale, k, ef, passes, &a, hits)
                                   : 0;
    int answered = hits && out->hits && !no_close_match(v, got ? hits[0].score : -2.0f,
                                                        exact_below);
    for (size_t i = 0; answered && i < got; i++) {
        sysent *e = v->sys[v->lab_sys[hits[i].id]];
        ak_segment_ref(e->bound);
        out->hits[out->n++] = (ak_vindex_hit){e->bound, v->lab_row[hits[i].id], hits[i].score};
    }
    if (answered) {
        out->cover = v->cover;
        atomic_fetch_add(&out->cover->refs, 1);
    }
    pthread_rwlock_unlock(&v->rw);
    free(hits);
    if (!answered) { /* no segment or cover was referenced */
        free(out->hits);
        memset(out, 0, sizeof *out);
    }
    return answered;
}

int ak_vindex_covers(const ak_vindex_result *r, const ak_segment *seg)
{
    return r->cover && r->cover->n &&
           bsearch(&seg->gen, r->cover->gen, r->cover->n, sizeof seg->gen, cmp_u64) != NULL;
}

void ak_vindex_result_free(ak_vindex_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        ak_segment_unref(r->hits[i].seg);
    free(r->hits);
    cover_unref(r->cover);
    memset(r, 0, sizeof *r);
}

void ak_vindex_stats_get(ak_vindex *v, ak_vindex_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&v->rw);
    out->nodes = ak_hnsw_count(v->g);
    out->deleted = ak_hnsw_deleted(v->g);
    out->bound_systems = v->cover ? v->cover->n : 0;
    for (size_t i = 0; i < v->n_sys; i++)
        out->bound_vectors += v->sys[i]->bound ? v->sys[i]->bound->n : 0;
    out->added = v->added;
    out->exact_fallbacks = atomic_load(&v->exact_fallbacks);
    out->damaged = atomic_load(&v->damaged);
    out->bytes = ak_hnsw_bytes(v->g) + v->lab_cap * 8;
    for (size_t i = 0; i < v->n_sys; i++)
        out->bytes += sizeof *v->sys[i] + v->sys[i]->n_keys * sizeof(keyed);
    pthread_rwlock_unlock(&v->rw);
}

size_t ak_vindex_default_ef(void)
{
    const char *s = getenv("AKOSHA_INDEX_EF");
    long ef = s && *s ? strtol(s, NULL, 10) : 0;
    return ef >= 16 && ef <= EF_MAX ? (size_t)ef : AK_HNSW_EF_DEFAULT;
}

float ak_vindex_exact_below(void)
{
    const char *s = getenv("AKOSHA_INDEX_EXACT_BELOW");
    char *end;
    double b = s && *s ? strtod(s, &end) : -1;
    return s && *s && !*end && b >= 0 && b <= 1 ? (float)b : AK_VINDEX_EXACT_BELOW_DEFAULT;
}

/* ---- the file: the graph, and the systems' keys as its user bytes ----
 *
 * user bytes: magic u32, system count u32, then per system: id length u16,
 * id, key count u32, keys (u64 key, u32 label).  Little-endian, packed. */

typedef struct {
    const unsigned char *p, *end;
} reader;

static int take(reader *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return 0;
    memcpy(out, r->p, n);
    r->p += n;
    return 1;
}

/* Read the systems' keys; each names a live node no other key names. */
static ak_code read_keys(ak_vindex *v, const void *user, size_t len, ak_err *err)
{
    reader r = {user, (const unsigned char *)user + len};
    uint32_t magic = 0, n_sys = 0, n = ak_hnsw_count(v->g);
    if (!take(&r, &magic, 4) || magic != BLOB_MAGIC || !take(&r, &n_sys, 4))
        return ak_err_set(err, AK_ERR_CORRUPT, "index file: bad key table");
    for (uint32_t i = 0; i < n_sys; i++) {
        uint16_t idlen = 0;
        uint32_t n_keys = 0, at = 0;
        char id[AK_SYSTEM_ID_MAX + 1];
        if (!take(&r, &idlen, 2) || idlen == 0 || idlen > AK_SYSTEM_ID_MAX ||
            !take(&r, id, idlen))
            return ak_err_set(err, AK_ERR_CORRUPT, "index file: bad system id");
        id[idlen] = '\0';
        sysent *e = find_sys(v, id, 0, &at) ? NULL : find_sys(v, id, 1, &at);
        if (!e || !take(&r, &n_keys, 4) || n_keys > (size_t)(r.end - r.p) / 12)
            return ak_err_set(err, AK_ERR_CORRUPT, "index file: bad system %s", id);
        if (!(e->keys = malloc((n_keys ? n_keys : 1) * sizeof *e->keys)))
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        uint64_t prev = 0; /* the key before, kept ascending */
        for (uint32_t k = 0; k < n_keys; k++) {
            keyed *kd = &e->keys[e->n_keys];
            if (!take(&r, &kd->key, 8) || !take(&r, &kd->label, 4) || kd->label >= n ||
                ak_hnsw_is_deleted(v->g, kd->label) || v->lab_sys[kd->label] != DEAD ||
                (e->n_keys && kd->key <= prev))
                return ak_err_set(err, AK_ERR_CORRUPT, "index file: bad key of system %s", id);
            v->lab_sys[kd->label] = at;
            prev = kd->key;
            e->n_keys++;
        }
    }
    if (r.p != r.end)
        return ak_err_set(err, AK_ERR_CORRUPT, "index file: bytes after the key table");
    /* nodes no key names are unreachable from any system: delete them */
    for (uint32_t l = 0; l < n; l++)
        if (v->lab_sys[l] == DEAD)
            ak_hnsw_delete(v->g, l);
    return AK_OK;
}

static void clear(ak_vindex *v)
{
    for (size_t i = 0; i < v->n_sys; i++) {
        ak_segment_unref(v->sys[i]->bound);
        free(v->sys[i]->keys);
        free(v->sys[i]);
    }
    free(v->sys);
    v->sys = NULL;
    v->n_sys = v->sys_cap = 0;
    ak_hnsw_free(v->g);
    v->g = NULL;
    if (v->sum_fd >= 0)
        close(v->sum_fd);
    v->sum_fd = -1;
}

/* Map the file into v; any damage found is AK_ERR_CORRUPT.  lazy: only
 * its header, sizes and key table are checked here (see vindex.h). */
static ak_code load(ak_vindex *v, int lazy, ak_err *err)
{
    void *user = NULL;
    size_t ulen = 0;
    ak_code rc = lazy ? ak_hnsw_load_lazy(v->path, &v->g, &user, &ulen, &v->sum_fd, err)
                      : ak_hnsw_load(v->path, &v->g, &user, &ulen, err);
    if (rc == AK_OK)
        rc = labels_fit(v, (size_t)ak_hnsw_count(v->g) + 1, err);
    if (rc == AK_OK) {
        for (uint32_t l = 0; l < ak_hnsw_count(v->g); l++)
            v->lab_sys[l] = DEAD;
        rc = read_keys(v, user, ulen, err);
    }
    free(user);
    if (rc)
        clear(v);
    return rc;
}

static ak_vindex *make(const char *path)
{
    ak_vindex *v = calloc(1, sizeof *v);
    if (!v || !(v->path = strdup(path))) {
        free(v);
        return NULL;
    }
    v->sum_fd = -1;
    pthread_rwlock_init(&v->rw, NULL);
    pthread_mutex_init(&v->sync_mu, NULL);
    return v;
}

ak_code ak_vindex_open(const char *path, int lazy, ak_vindex **out, int *rebuilt, ak_err *err)
{
    ak_vindex *v = make(path);
    if (!v)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_err why;
    ak_code rc = load(v, lazy, &why);
    if (rebuilt)
        *rebuilt = rc == AK_ERR_CORRUPT;
    v->dirty = rc == AK_ERR_CORRUPT; /* replace the bad file even if nothing is added */
    if (rc == AK_ERR_CORRUPT) {
        /* not removed here (a read-only search opens it too): the next
         * save replaces it whole */
        atomic_fetch_add(&v->damaged, 1);
        AK_WARN("vindex", "%s; rebuilding it from the databases", why.msg);
    } else if (rc && rc != AK_ERR_NOTFOUND) {
        AK_WARN("vindex", "%s; starting an empty index", why.msg);
    }
    if (rc && !(v->g = ak_hnsw_new())) {
        ak_vindex_free(v);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    pthread_rwlock_wrlock(&v->rw);
    recover(v);
    pthread_rwlock_unlock(&v->rw);
    *out = v;
    return AK_OK;
}

ak_code ak_vindex_check(const char *path, ak_err *err)
{
    ak_vindex *v = make(path);
    if (!v)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = load(v, 0, err);
    ak_vindex_free(v);
    return rc;
}

ak_code ak_vindex_open_in(const ak_datadir *dd, int lazy, ak_vindex **out, ak_err *err)
{
    char path[AK_PATH_MAX];
    if (ak_fmt(path, sizeof path, "%s/%s", ak_datadir_path(dd), AK_VINDEX_FILE))
        return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
    return ak_vindex_open(path, lazy, out, NULL, err);
}

void ak_vindex_free(ak_vindex *v)
{
    if (!v)
        return;
    clear(v);
    cover_unref(v->cover);
    free(v->lab_sys);
    free(v->lab_row);
    pthread_rwlock_destroy(&v->rw);
    pthread_mutex_destroy(&v->sync_mu);
    free(v->path);
    free(v);
}

static int put(unsigned char **p, const void *x, size_t n)
{
    memcpy(*p, x, n);
    *p += n;
    return 0;
}

ak_code ak_vindex_save(ak_vindex *v, ak_err *err)
{
    pthread_mutex_lock(&v->sync_mu);
    /* never write a graph over its file before that file's checksum was
     * checked: a new file's CRC would vouch for damage (and the save
     * writes the whole file anyway, more than the check reads) */
    ak_code rc = v->dirty ? sum_now(v, err) : AK_OK;
    if (rc == AK_ERR_CORRUPT)
        rc = AK_OK; /* replaced by an empty graph: that is what is saved */
    pthread_rwlock_rdlock(&v->rw);
    if (rc == AK_OK && v->dirty && !v->condemned) {
        size_t len = 8;
        uint32_t n_sys = 0;
        for (size_t i = 0; i < v->n_sys; i++)
            if (v->sys[i]->n_keys) {
                len += 2 + strlen(v->sys[i]->id) + 4 + v->sys[i]->n_keys * 12;
                n_sys++;
            }
        unsigned char *blob = malloc(len), *p = blob;
        uint32_t magic = BLOB_MAGIC;
        if (!blob)
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory saving the index");
        for (size_t i = 0; blob && i < v->n_sys; i++) {
            const sysent *e = v->sys[i];
            uint16_t idlen = (uint16_t)strlen(e->id);
            uint32_t nk = (uint32_t)e->n_keys;
            if (i == 0)
                put(&p, &magic, 4), put(&p, &n_sys, 4);
            if (!nk)
                continue;
            put(&p, &idlen, 2), put(&p, e->id, idlen), put(&p, &nk, 4);
            for (size_t k = 0; k < nk; k++)
                put(&p, &e->keys[k].key, 8), put(&p, &e->keys[k].label, 4);
        }
        if (blob && v->n_sys == 0)
            put(&p, &magic, 4), put(&p, &n_sys, 4);
        if (rc == AK_OK)
            rc = ak_hnsw_save(v->g, v->path, blob, len, err);
        free(blob);
    }
    pthread_rwlock_unlock(&v->rw);
    /* dirty is only set under sync_mu, which is still held */
    if (rc == AK_OK && !v->condemned)
        v->dirty = 0;
    pthread_mutex_unlock(&v->sync_mu);
    return rc;
}
