/* topk.c - see topk.h. */
#include "query/topk.h"

#include <math.h>
#include <stdlib.h>

int ak_hit_better(const ak_hit *a, const ak_hit *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->group != b->group)
        return a->group < b->group;
    return a->row < b->row;
}

void ak_topk_init(ak_topk *t, ak_hit *storage, size_t cap)
{
    t->heap = storage;
    t->n = 0;
    t->cap = cap;
}

static void swap(ak_hit *a, ak_hit *b)
{
    ak_hit x = *a;
    *a = *b;
    *b = x;
}

/* The heap's root is the worst hit: a node is "worse" than its children. */
static void sift_down(ak_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && ak_hit_better(&h[w], &h[l]))
            w = l;
        if (r < n && ak_hit_better(&h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        swap(&h[i], &h[w]);
        i = w;
    }
}

void ak_topk_push(ak_topk *t, ak_hit h)
{
    if (t->cap == 0 || !isfinite(h.score))
        return; /* a NaN would break the heap order; it ranks nowhere */
    if (t->n < t->cap) {
        size_t i = t->n++;
        t->heap[i] = h;
        while (i > 0 && ak_hit_better(&t->heap[(i - 1) / 2], &t->heap[i])) {
            swap(&t->heap[(i - 1) / 2], &t->heap[i]);
            i = (i - 1) / 2;
        }
        return;
    }
    if (!ak_hit_better(&h, &t->heap[0]))
        return;
    t->heap[0] = h;
    sift_down(t->heap, t->n, 0);
}

static int cmp_best_first(const void *a, const void *b)
{
    return ak_hit_better(a, b) ? -1 : ak_hit_better(b, a) ? 1 : 0;
}

void ak_topk_sort(ak_topk *t)
{
    qsort(t->heap, t->n, sizeof *t->heap, cmp_best_first);
}
