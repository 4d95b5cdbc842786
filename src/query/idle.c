/*
 * idle.c - see idle.h.
 *
 * All cap nodes are allocated up front and recycled through a free list, so
 * a put never allocates.  Each cached node is on two lists: its hash
 * bucket's chain (newest first, so take finds the most recent) and the
 * put-order list that eviction reads from the oldest end.
 */
#include "query/idle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/ids.h"

typedef struct node {
    char system_id[AK_SYSTEM_ID_MAX + 1];
    ak_sysdb *db;
    struct node *older, *newer; /* put order */
    struct node *chain;         /* next in the bucket, or next free */
} node;

struct ak_idle {
    node *nodes, *free;
    node **buckets;
    size_t n_buckets; /* a power of two */
    node *oldest, *newest;
    size_t n;
};

ak_idle *ak_idle_new(size_t cap)
{
    ak_idle *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    cap = cap ? cap : 1;
    c->n_buckets = 16;
    while (c->n_buckets < 2 * cap)
        c->n_buckets *= 2;
    c->nodes = calloc(cap, sizeof *c->nodes);
    c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
    if (!c->nodes || !c->buckets) {
        free(c->nodes);
        free(c->buckets);
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < cap; i++) /* the free list: every node */
        c->nodes[i].chain = i + 1 < cap ? &c->nodes[i + 1] : NULL;
    c->free = c->nodes;
    return c;
}

void ak_idle_free(ak_idle *c)
{
    if (!c)
        return;
    for (node *n = c->oldest; n; n = n->newer)
        ak_sysdb_close(n->db);
    free(c->nodes);
    free(c->buckets);
    free(c);
}

size_t ak_idle_count(const ak_idle *c) { return c->n; }

static node **bucket_of(ak_idle *c, const char *sid)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sid; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &c->buckets[h & (c->n_buckets - 1)];
}

/* Unlink *link (a node in its bucket chain) from both lists; return its
 * connection and recycle the node. */
static ak_sysdb *remove_at(ak_idle *c, node **link)
{
    node *n = *link;
    *link = n->chain;
    if (n->older)
        n->older->newer = n->newer;
    else
        c->oldest = n->newer;
    if (n->newer)
        n->newer->older = n->older;
    else
        c->newest = n->older;
    ak_sysdb *db = n->db;
    n->db = NULL;
    n->chain = c->free;
    c->free = n;
    c->n--;
    return db;
}

/* The chain link that points at n (n is cached). */
static node **link_of(ak_idle *c, node *n)
{
    node **link = bucket_of(c, n->system_id);
    while (*link != n)
        link = &(*link)->chain;
    return link;
}

ak_sysdb *ak_idle_take(ak_idle *c, const char *system_id)
{
    for (node **link = bucket_of(c, system_id); *link; link = &(*link)->chain)
        if (strcmp((*link)->system_id, system_id) == 0)
            return remove_at(c, link);
    return NULL;
}

ak_sysdb *ak_idle_put(ak_idle *c, const char *system_id, ak_sysdb *db)
{
    ak_sysdb *evicted = NULL;
    if (!c->free) /* full: the oldest goes */
        evicted = remove_at(c, link_of(c, c->oldest));
    node *n = c->free;
    c->free = n->chain;
    ak_fmt(n->system_id, sizeof n->system_id, "%s", system_id);
    n->db = db;
    node **b = bucket_of(c, system_id);
    n->chain = *b;
    *b = n;
    n->older = c->newest;
    n->newer = NULL;
    if (c->newest)
        c->newest->newer = n;
    else
        c->oldest = n;
    c->newest = n;
    c->n++;
    return evicted;
}

size_t ak_idle_take_matching(ak_idle *c, const char *system_id, ak_sysdb **out, size_t max)
{
    size_t k = 0;
    if (!system_id) {
        while (k < max && c->oldest)
            out[k++] = remove_at(c, link_of(c, c->oldest));
        return k;
    }
    for (node **link = bucket_of(c, system_id); *link && k < max;) {
        if (strcmp((*link)->system_id, system_id) == 0)
            out[k++] = remove_at(c, link); /* *link is now the next node */
        else
            link = &(*link)->chain;
    }
    return k;
}
