/*
 * hnsw_impl.h - the graph's layout, shared by hnsw.c (building, searching)
 * and hnsw_file.c (saving, mapping).  Not for other modules.
 *
 * Arrays hold cap nodes; n are used.  Node i's level-0 links are
 * l0[i * L0_WORDS]: a count then up to AK_HNSW_M0 ids.  Its links on level
 * l >= 1 are upper[upper_off[i] + (l - 1) * UP_WORDS], laid out the same
 * with up to AK_HNSW_M ids.  When the graph was mapped from a file (map !=
 * NULL) the arrays point into the private mapping until the graph grows;
 * growing copies them to the heap and unmaps.
 */
#ifndef AK_HNSW_IMPL_H
#define AK_HNSW_IMPL_H

#include <stdatomic.h>

#include "index/hnsw.h"

#define L0_WORDS (AK_HNSW_M0 + 1)
#define UP_WORDS (AK_HNSW_M + 1)
#define NO_NODE UINT32_MAX

struct ak_hnsw {
    uint32_t n, cap;
    uint32_t entry;     /* top-level entry point, NO_NODE when empty */
    uint32_t max_level; /* level of the entry point */
    uint32_t n_deleted;
    uint8_t *level;     /* cap */
    float *scale;       /* cap */
    uint32_t *upper_off;/* cap */
    uint64_t *del;      /* (cap + 63) / 64 words: deletion bitmap */
    uint32_t *l0;       /* cap * L0_WORDS */
    int8_t *vec;        /* cap * AK_DIM */
    uint32_t *upper;    /* upper_len words used of upper_cap */
    size_t upper_len, upper_cap;
    void *map;          /* the file mapping the arrays point into, or NULL */
    size_t map_len;
    atomic_int unchecked; /* loaded lazily, ak_hnsw_check() not passed yet:
                             no search, no insertion (hnsw_file.c) */
    uint64_t rng;       /* level draws */
    uint16_t *seen;     /* building: seen[i] == seen_epoch when node i was visited */
    size_t seen_cap;
    uint16_t seen_epoch;
};

static inline uint32_t *ak_hnsw_links(const ak_hnsw *h, uint32_t id, uint32_t lvl)
{
    return lvl == 0 ? h->l0 + (size_t)id * L0_WORDS
                    : h->upper + h->upper_off[id] + (size_t)(lvl - 1) * UP_WORDS;
}

#endif
