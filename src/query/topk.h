/*
 * topk.h - keep the k best hits of a scan in a bounded min-heap.
 *
 * The heap lives in caller-provided storage, so a scan over millions of rows
 * allocates nothing.  Ties are broken by (group, row) so that the same query
 * over the same data always returns the same hits in the same order.
 */
#ifndef AK_TOPK_H
#define AK_TOPK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float score;
    uint32_t group; /* e.g. which segment */
    uint32_t row;   /* row within the group */
} ak_hit;

typedef struct {
    ak_hit *heap; /* heap[0] is the worst hit kept */
    size_t n, cap;
} ak_topk;

void ak_topk_init(ak_topk *t, ak_hit *storage, size_t cap);

/* 1 if a hit with this score could enter (cheap pre-check for scans). */
static inline int ak_topk_wants(const ak_topk *t, float score)
{
    return t->n < t->cap || score >= t->heap[0].score;
}

/* A hit whose score is not finite is dropped. */
void ak_topk_push(ak_topk *t, ak_hit h);

/* Sort the kept hits best first (the heap is consumed). */
void ak_topk_sort(ak_topk *t);

/* The order of hits: 1 if a is better than b (higher score; then lower
 * group, then lower row). */
int ak_hit_better(const ak_hit *a, const ak_hit *b);

#endif
