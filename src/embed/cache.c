/*
 * cache.c - see cache.h.
 *
 * A chained hash table (twice as many buckets as entries) for lookup and a
 * doubly linked list in use order for eviction: both O(1).
 */
#include "embed/cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry entry;
struct entry {
    entry *prev, *next; /* use order: head is the most recent */
    entry *chain;       /* next in the bucket */
    uint64_t hash;
    size_t len;
    char *text;
    float v[AK_DIM];
};

struct ak_embed_cache {
    pthread_mutex_t mu;
    size_t capacity, n, n_buckets;
    entry **buckets;
    entry *head, *tail;
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

ak_code ak_embed_cache_new(size_t capacity, ak_embed_cache **out, ak_err *err)
{
    ak_embed_cache *c = calloc(1, sizeof *c);
    size_t nb = capacity ? capacity * 2 : 1;
    if (c)
        c->buckets = calloc(nb, sizeof *c->buckets);
    if (!c || !c->buckets) {
        free(c);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&c->mu, NULL);
    c->capacity = capacity;
    c->n_buckets = nb;
    *out = c;
    return AK_OK;
}

void ak_embed_cache_free(ak_embed_cache *c)
{
    if (!c)
        return;
    for (entry *e = c->head, *next; e; e = next) {
        next = e->next;
        free(e->text);
        free(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->buckets);
    free(c);
}

static entry **slot_of(ak_embed_cache *c, const char *text, size_t len, uint64_t h)
{
    entry **p = &c->buckets[h % c->n_buckets];
    while (*p && !((*p)->hash == h && (*p)->len == len && memcmp((*p)->text, text, len) == 0))
        p = &(*p)->chain;
    return p;
}

static void unlink_use(ak_embed_cache *c, entry *e)
{
    *(e->prev ? &e->prev->next : &c->head) = e->next;
    *(e->next ? &e->next->prev : &c->tail) = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(ak_embed_cache *c, entry *e)
{
    e->next = c->head;
    e->prev = NULL;
    *(c->head ? &c->head->prev : &c->tail) = e;
    c->head = e;
}

int ak_embed_cache_get(ak_embed_cache *c, const char *text, size_t len, float out[AK_DIM])
{
    uint64_t h = fnv1a(text, len);
    pthread_mutex_lock(&c->mu);
    entry *e = *slot_of(c, text, len, h);
    if (e) {
        memcpy(out, e->v, sizeof e->v);
        unlink_use(c, e);
        push_front(c, e);
    }
    pthread_mutex_unlock(&c->mu);
    return e != NULL;
}

static void evict_oldest(ak_embed_cache *c)
{
    entry *old = c->tail;
    entry **p = slot_of(c, old->text, old->len, old->hash);
    *p = old->chain;
    unlink_use(c, old);
    free(old->text);
    free(old);
    c->n--;
}

void ak_embed_cache_put(ak_embed_cache *c, const char *text, size_t len, const float v[AK_DIM])
{
    if (!c->capacity)
        return;
    uint64_t h = fnv1a(text, len);
    pthread_mutex_lock(&c->mu);
    entry **p = slot_of(c, text, len, h);
    if (*p) {
        memcpy((*p)->v, v, sizeof (*p)->v);
        unlink_use(c, *p);
        push_front(c, *p);
    } else {
        entry *e = calloc(1, sizeof *e);
        if (e && (e->text = malloc(len ? len : 1))) {
            if (c->n == c->capacity)
                evict_oldest(c);
            memcpy(e->text, text, len);
            e->len = len;
            e->hash = h;
            memcpy(e->v, v, sizeof e->v);
            p = slot_of(c, text, len, h); /* eviction may have changed the chain */
            e->chain = *p;
            *p = e;
            push_front(c, e);
            c->n++;
        } else {
            free(e);
        }
    }
    pthread_mutex_unlock(&c->mu);
}

size_t ak_embed_cache_size(ak_embed_cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}
