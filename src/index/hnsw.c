/*
 * hnsw.c - see hnsw.h: adding nodes, deleting them, searching.
 *
 * Similarity is the int8 dot product times both scales (a cosine), higher
 * is closer.  A node links to the neighbours the "heuristic" of the paper
 * keeps (a candidate is kept only if it is closer to the new node than to
 * every neighbour kept before it), which keeps long links between clusters
 * so clustered data (sentence embeddings) stays navigable.
 */
#include "index/hnsw_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- small tools: a binary heap of hits, a set of visited ids ---- */

typedef struct {
    ak_hnsw_hit *a;
    size_t n, cap;
    int max; /* 1: best on top (candidates), 0: worst on top (results) */
} heap;

static int above(const heap *hp, ak_hnsw_hit x, ak_hnsw_hit y)
{
    return hp->max ? x.score > y.score : x.score < y.score;
}

static int heap_push(heap *hp, ak_hnsw_hit x)
{
    if (hp->n == hp->cap) {
        size_t cap = hp->cap ? hp->cap * 2 : 64;
        ak_hnsw_hit *a = realloc(hp->a, cap * sizeof *a);
        if (!a)
            return -1;
        hp->a = a;
        hp->cap = cap;
    }
    size_t i = hp->n++;
    while (i > 0 && above(hp, x, hp->a[(i - 1) / 2])) {
        hp->a[i] = hp->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    hp->a[i] = x;
    return 0;
}

static ak_hnsw_hit heap_pop(heap *hp)
{
    ak_hnsw_hit top = hp->a[0], x = hp->a[--hp->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= hp->n)
            break;
        if (c + 1 < hp->n && above(hp, hp->a[c + 1], hp->a[c]))
            c++;
        if (!above(hp, hp->a[c], x))
            break;
        hp->a[i] = hp->a[c];
        i = c;
    }
    if (hp->n)
        hp->a[i] = x;
    return top;
}

typedef struct {
    uint32_t *slot; /* id + 1; 0 = empty */
    size_t mask, n;
} idset;

static int idset_init(idset *s, size_t cap)
{
    s->n = 0;
    s->mask = cap - 1;
    return (s->slot = calloc(cap, sizeof *s->slot)) ? 0 : -1;
}

static int idset_put(idset *s, uint32_t id);

static int idset_grow(idset *s)
{
    idset bigger;
    if (idset_init(&bigger, (s->mask + 1) * 2))
        return -1;
    for (size_t i = 0; i <= s->mask; i++)
        if (s->slot[i])
            idset_put(&bigger, s->slot[i] - 1);
    free(s->slot);
    *s = bigger;
    return 0;
}

/* 1 if id was new (now added), 0 if already there, -1 out of memory. */
static int idset_put(idset *s, uint32_t id)
{
    if (2 * (s->n + 1) > s->mask + 1 && idset_grow(s))
        return -1;
    size_t j = (id * 2654435761u) & s->mask;
    for (; s->slot[j]; j = (j + 1) & s->mask)
        if (s->slot[j] == id + 1)
            return 0;
    s->slot[j] = id + 1;
    s->n++;
    return 1;
}

/* What a search of one level has visited: building (one add at a time,
 * owning the graph) stamps an array of a word per node with an epoch, so
 * starting a level costs nothing and a check is one load; concurrent
 * searches cannot share that array and use a small hash set of their own. */
typedef struct {
    uint16_t *mark; /* the graph's stamps, or NULL: use set */
    uint16_t epoch;
    idset set;
} visited;

/* 1 if id was new (now marked), 0 if seen before, -1 out of memory. */
static inline int visit(visited *v, uint32_t id)
{
    if (v->mark) {
        if (v->mark[id] == v->epoch)
            return 0;
        v->mark[id] = v->epoch;
        return 1;
    }
    return idset_put(&v->set, id);
}

/* ---- the graph ---- */

static float sim(const ak_hnsw *h, const int8_t *q, float qs, uint32_t id)
{
    return (float)ak_vec_dot_i8(q, h->vec + (size_t)id * AK_DIM) * qs * h->scale[id];
}

ak_hnsw *ak_hnsw_new(void)
{
    ak_hnsw *h = calloc(1, sizeof *h);
    if (h) {
        h->entry = NO_NODE;
        h->rng = 0x9e3779b97f4a7c15ull;
    }
    return h;
}

void ak_hnsw_free(ak_hnsw *h)
{
    if (!h)
        return;
    if (h->map) {
        munmap(h->map, h->map_len);
    } else {
        free(h->level);
        free(h->scale);
        free(h->upper_off);
        free(h->del);
        free(h->l0);
        free(h->vec);
        free(h->upper);
    }
    free(h->seen);
    free(h);
}

/* Copy a mapped graph's arrays to the heap (all or nothing), then unmap:
 * a graph that grows leaves its file. */
static ak_code thaw(ak_hnsw *h, ak_err *err)
{
    size_t words = (h->cap + 63) / 64;
    size_t sizes[7] = {h->cap, (size_t)h->cap * 4, (size_t)h->cap * 4, words * 8,
                       (size_t)h->cap * L0_WORDS * 4, (size_t)h->cap * AK_DIM, h->upper_len * 4};
    void **fields[7] = {(void **)&h->level, (void **)&h->scale, (void **)&h->upper_off,
                        (void **)&h->del, (void **)&h->l0, (void **)&h->vec, (void **)&h->upper};
    void *copy[7] = {0};
    for (int i = 0; i < 7; i++) {
        if (!(copy[i] = malloc(sizes[i] ? sizes[i] : 1))) {
            for (int j = 0; j < i; j++)
                free(copy[j]);
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory copying the graph");
        }
        if (sizes[i])
            memcpy(copy[i], *fields[i], sizes[i]);
    }
    for (int i = 0; i < 7; i++)
        *fields[i] = copy[i];
    h->upper_cap = h->upper_len;
    munmap(h->map, h->map_len);
    h->map = NULL;
    return AK_OK;
}

#define RESIZE(field, per)                                      \
    do {                                                        \
        void *p_ = realloc(h->field, (size_t)cap * (per));      \
        if (!p_)                                                \
            goto nomem;                                         \
        h->field = p_;                                          \
    } while (0)

/* Room for one more node and its upper links.  A failed realloc leaves the
 * arrays it did enlarge valid (only bigger), so the graph stays whole. */
static ak_code grow(ak_hnsw *h, size_t upper_words, ak_err *err)
{
    ak_code rc = h->map ? thaw(h, err) : AK_OK;
    if (rc)
        return rc;
    if (h->n >= UINT32_MAX - 1)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "the graph is full");
    if (h->n == h->cap) {
        uint32_t old_cap = h->cap;
        uint32_t cap = h->cap < 1024 ? 1024 : h->cap + h->cap / 2;
        if (cap < old_cap)
            cap = UINT32_MAX - 1;
        /* size_t: cap + 63 wraps in 32 bits near the cap of UINT32_MAX - 1 */
        size_t old_words = ((size_t)old_cap + 63) / 64, words = ((size_t)cap + 63) / 64;
        RESIZE(level, 1);
        RESIZE(scale, sizeof(float));
        RESIZE(upper_off, sizeof(uint32_t));
        RESIZE(l0, L0_WORDS * sizeof(uint32_t));
        RESIZE(vec, AK_DIM);
        uint64_t *d = realloc(h->del, words * 8);
        if (!d)
            goto nomem;
        memset(d + old_words, 0, (words - old_words) * 8);
        h->del = d;
        h->cap = cap;
    }
    if (h->upper_len + upper_words > h->upper_cap || !h->upper) {
        size_t cap = (h->upper_len + upper_words) * 2 + 1024;
        uint32_t *u = realloc(h->upper, cap * 4);
        if (!u)
            goto nomem;
        h->upper = u;
        h->upper_cap = cap;
    }
    return AK_OK;
nomem:
    return ak_err_set(err, AK_ERR_NOMEM, "out of memory for %u nodes", h->n + 1);
}

static uint32_t draw_level(ak_hnsw *h)
{
    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    double u = ((h->rng >> 11) + 0.5) / 9007199254740992.0;
    double l = -log(u) / log((double)AK_HNSW_M);
    return l >= AK_HNSW_MAX_LEVEL ? AK_HNSW_MAX_LEVEL : (uint32_t)l;
}

/* Greedy walk on one level towards q from *cur. */
static void greedy(const ak_hnsw *h, const int8_t *q, float qs, uint32_t lvl, uint32_t *cur,
                   float *best)
{
    for (int moved = 1; moved;) {
        moved = 0;
        const uint32_t *l = ak_hnsw_links(h, *cur, lvl);
        for (uint32_t i = 1; i <= l[0]; i++) {
            float s = sim(h, q, qs, l[i]);
            if (s > *best) {
                *best = s;
                *cur = l[i];
                moved = 1;
            }
        }
    }
}

typedef struct {
    ak_hnsw_accept_fn accept; /* NULL: every node (building) */
    void *ctx;
    int skip_deleted;         /* searches: deleted nodes route but are not kept */
} keep_rule;

static int keeps(const ak_hnsw *h, const keep_rule *r, uint32_t id)
{
    if (r->skip_deleted && ak_hnsw_is_deleted(h, id))
        return 0;
    return !r->accept || r->accept(r->ctx, id);
}

/* Best-first search of one level from ep: the best ef kept nodes go to res
 * (a worst-on-top heap).  -1 when out of memory. */
static int search_level(const ak_hnsw *h, const int8_t *q, float qs, uint32_t ep, float ep_s,
                        size_t ef, uint32_t lvl, const keep_rule *r, visited *seen, heap *res)
{
    heap cand = {NULL, 0, 0, 1};
    int rc = 0;
    float bound = -INFINITY; /* the worst result kept, once there are ef */
    if (visit(seen, ep) >= 0 && heap_push(&cand, (ak_hnsw_hit){ep_s, ep}) == 0) {
        if (keeps(h, r, ep) && (rc = heap_push(res, (ak_hnsw_hit){ep_s, ep})) == 0 && ef == 1)
            bound = ep_s;
    } else {
        rc = -1;
    }
    while (rc == 0 && cand.n) {
        ak_hnsw_hit c = heap_pop(&cand);
        if (res->n >= ef && c.score < bound)
            break;
        const uint32_t *l = ak_hnsw_links(h, c.id, lvl);
        for (uint32_t i = 1; i <= l[0]; i++)
            __builtin_prefetch(h->vec + (size_t)l[i] * AK_DIM);
        for (uint32_t i = 1; i <= l[0] && rc == 0; i++) {
            uint32_t nb = l[i];
            int fresh = visit(seen, nb);
            if (fresh <= 0) {
                rc = fresh;
                continue;
            }
            float s = sim(h, q, qs, nb);
            if (res->n >= ef && s <= bound)
                continue;
            rc = heap_push(&cand, (ak_hnsw_hit){s, nb});
            if (rc == 0 && keeps(h, r, nb)) {
                rc = heap_push(res, (ak_hnsw_hit){s, nb});
                if (res->n > ef)
                    heap_pop(res);
                if (res->n >= ef)
                    bound = res->a[0].score;
            }
        }
    }
    free(cand.a);
    return rc;
}

static int by_score_desc(const void *x, const void *y)
{
    const ak_hnsw_hit *a = x, *b = y;
    return a->score > b->score ? -1 : a->score < b->score ? 1 : (a->id > b->id) - (a->id < b->id);
}

/* The heuristic: from cands (best first), keep up to m that are each closer
 * to the base than to any kept before.  Returns how many, in place. */
static size_t select_heuristic(const ak_hnsw *h, ak_hnsw_hit *cands, size_t n, size_t m)
{
    size_t kept = 0;
    for (size_t i = 0; i < n && kept < m; i++) {
        const int8_t *v = h->vec + (size_t)cands[i].id * AK_DIM;
        float vs = h->scale[cands[i].id];
        int good = 1;
        for (size_t j = 0; j < kept && good; j++)
            good = sim(h, v, vs, cands[j].id) < cands[i].score;
        if (good)
            cands[kept++] = cands[i];
    }
    return kept;
}

/* Link nb back to id on lvl; when nb is full, re-choose its links. */
static int link_back(ak_hnsw *h, uint32_t nb, uint32_t id, uint32_t lvl)
{
    uint32_t *l = ak_hnsw_links(h, nb, lvl);
    uint32_t max = lvl ? AK_HNSW_M : AK_HNSW_M0;
    if (l[0] < max) {
        l[++l[0]] = id;
        return 0;
    }
    ak_hnsw_hit c[AK_HNSW_M0 + 1];
    const int8_t *v = h->vec + (size_t)nb * AK_DIM;
    float vs = h->scale[nb];
    for (uint32_t i = 0; i < l[0]; i++)
        c[i] = (ak_hnsw_hit){sim(h, v, vs, l[i + 1]), l[i + 1]};
    c[l[0]] = (ak_hnsw_hit){sim(h, v, vs, id), id};
    qsort(c, l[0] + 1, sizeof *c, by_score_desc);
    size_t k = select_heuristic(h, c, l[0] + 1, max);
    for (size_t i = 0; i < k; i++)
        l[i + 1] = c[i].id;
    l[0] = (uint32_t)k;
    return 0;
}

/* Choose id's links on lvl among the results in res (emptied). */
static int connect(ak_hnsw *h, uint32_t id, uint32_t lvl, heap *res)
{
    size_t n = res->n;
    ak_hnsw_hit *c = res->a;
    qsort(c, n, sizeof *c, by_score_desc);
    size_t k = select_heuristic(h, c, n, AK_HNSW_M);
    uint32_t *l = ak_hnsw_links(h, id, lvl);
    for (size_t i = 0; i < k; i++)
        l[i + 1] = c[i].id;
    l[0] = (uint32_t)k;
    for (size_t i = 0; i < k; i++)
        link_back(h, c[i].id, id, lvl);
    res->n = 0;
    return 0;
}

ak_code ak_hnsw_add(ak_hnsw *h, const int8_t *v, float scale, uint32_t *out_id, ak_err *err)
{
    if (atomic_load(&h->unchecked))
        return ak_err_set(err, AK_ERR_INTERNAL, "the graph's links are not checked yet");
    uint32_t lvl = draw_level(h);
    ak_code rc = grow(h, (size_t)lvl * UP_WORDS, err);
    if (rc)
        return rc;
    uint32_t id = h->n;
    memcpy(h->vec + (size_t)id * AK_DIM, v, AK_DIM);
    h->scale[id] = scale;
    h->level[id] = (uint8_t)lvl;
    h->upper_off[id] = (uint32_t)h->upper_len;
    memset(h->upper + h->upper_len, 0, (size_t)lvl * UP_WORDS * sizeof(uint32_t));
    h->upper_len += (size_t)lvl * UP_WORDS;
    h->l0[(size_t)id * L0_WORDS] = 0;
    h->del[id / 64] &= ~(1ull << (id % 64));
    h->n++;
    *out_id = id;
    if (h->entry == NO_NODE) {
        h->entry = id;
        h->max_level = lvl;
        return AK_OK;
    }
    if (h->seen_cap < h->cap) {
        uint16_t *s = calloc(h->cap, sizeof *s); /* fresh stamps: epoch restarts */
        if (!s)
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory linking node %u", id);
        free(h->seen);
        h->seen = s;
        h->seen_cap = h->cap;
        h->seen_epoch = 0;
    }
    uint32_t cur = h->entry;
    float best = sim(h, v, scale, cur);
    for (uint32_t l = h->max_level; l > lvl; l--)
        greedy(h, v, scale, l, &cur, &best);
    heap res = {NULL, 0, 0, 0};
    keep_rule all = {NULL, NULL, 0};
    for (uint32_t l = lvl < h->max_level ? lvl : h->max_level;; l--) {
        if (++h->seen_epoch == 0) { /* wrapped: clear the stamps once in 65,535 levels */
            memset(h->seen, 0, h->seen_cap * sizeof *h->seen);
            h->seen_epoch = 1;
        }
        visited seen = {h->seen, h->seen_epoch, {0}};
        if (search_level(h, v, scale, cur, best, AK_HNSW_EF_BUILD, l, &all, &seen, &res)) {
            free(res.a);
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory linking node %u", id);
        }
        /* the best result is the next level's entry */
        for (size_t i = 0; i < res.n; i++)
            if (res.a[i].score > best) {
                best = res.a[i].score;
                cur = res.a[i].id;
            }
        connect(h, id, l, &res);
        if (l == 0)
            break;
    }
    free(res.a);
    if (lvl > h->max_level) {
        h->entry = id;
        h->max_level = lvl;
    }
    return AK_OK;
}

void ak_hnsw_delete(ak_hnsw *h, uint32_t id)
{
    if (id < h->n && !ak_hnsw_is_deleted(h, id)) {
        h->del[id / 64] |= 1ull << (id % 64);
        h->n_deleted++;
    }
}

int ak_hnsw_is_deleted(const ak_hnsw *h, uint32_t id)
{
    return (h->del[id / 64] >> (id % 64)) & 1;
}

uint32_t ak_hnsw_count(const ak_hnsw *h) { return h->n; }
uint32_t ak_hnsw_deleted(const ak_hnsw *h) { return h->n_deleted; }
const int8_t *ak_hnsw_vector(const ak_hnsw *h, uint32_t id) { return h->vec + (size_t)id * AK_DIM; }
float ak_hnsw_scale(const ak_hnsw *h, uint32_t id) { return h->scale[id]; }

size_t ak_hnsw_bytes(const ak_hnsw *h)
{
    size_t stamps = h->seen_cap * sizeof *h->seen;
    if (h->map)
        return h->map_len + stamps;
    return (size_t)h->cap * (1 + 4 + 4 + L0_WORDS * 4 + AK_DIM) + (h->cap + 63) / 64 * 8 +
           h->upper_cap * 4 + stamps;
}

size_t ak_hnsw_search(const ak_hnsw *h, const int8_t *q8, float q8scale, size_t k, size_t ef,
                      ak_hnsw_accept_fn accept, void *ctx, ak_hnsw_hit *out)
{
    if (atomic_load(&h->unchecked) || h->entry == NO_NODE || k == 0)
        return 0;
    if (ef < k)
        ef = k;
    uint32_t cur = h->entry;
    float best = sim(h, q8, q8scale, cur);
    for (uint32_t l = h->max_level; l > 0; l--)
        greedy(h, q8, q8scale, l, &cur, &best);
    heap res = {NULL, 0, 0, 0};
    keep_rule rule = {accept, ctx, 1};
    size_t n = 0;
    visited seen = {NULL, 0, {0}};
    if (idset_init(&seen.set, 1024) == 0 &&
        search_level(h, q8, q8scale, cur, best, ef, 0, &rule, &seen, &res) == 0 && res.n) {
        qsort(res.a, res.n, sizeof *res.a, by_score_desc);
        n = res.n < k ? res.n : k;
        memcpy(out, res.a, n * sizeof *out);
    }
    free(seen.set.slot);
    free(res.a);
    return n;
}
