/*
 * hnsw.h - Akosha's approximate nearest-neighbour graph: a hierarchical
 * navigable small world (Malkov & Yashunin) over int8-quantised vectors.
 *
 * Each node is an int8 vector of AK_DIM and a scale such that
 * dot_i8(a, b) * scale_a * scale_b is the cosine of the two vectors (the
 * scan's convention, query/segment.h).  Nodes are numbered 0, 1, 2... in
 * insertion order; a node can be marked deleted: it still routes searches
 * (removing it would cut paths) but never comes out of one.  Layout follows
 * hnswlib: level-0 links in one flat array (M0 + 1 words a node), upper
 * levels in a pool, vectors in one contiguous array, so the graph saves to
 * and maps from one file (hnsw_file.c) without pointer fixing.
 *
 * Thread safety: searches may run concurrently with each other; an add or
 * a delete must exclude searches (the caller holds a lock: query/vindex.c).
 *
 * Ownership: ak_hnsw_new() / ak_hnsw_load() return a graph freed by
 * ak_hnsw_free().
 */
#ifndef AK_HNSW_H
#define AK_HNSW_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/vec.h"

#define AK_HNSW_M 16          /* links a node keeps on levels >= 1 */
/* ... on level 0.  24, not hnswlib's 2 * M: at 1M clustered vectors it
 * costs no recall at the search's defaults and saves 32 B a node of what
 * stays resident (docs/BENCHMARKS.md, "Level-0 links 24"). */
#define AK_HNSW_M0 24
#define AK_HNSW_MAX_LEVEL 16
#ifndef AK_HNSW_EF_BUILD /* a -D for the benchmark's recall-vs-build-rate check */
#define AK_HNSW_EF_BUILD 128  /* candidates considered when linking a node */
#endif
#define AK_HNSW_EF_DEFAULT 64 /* candidates considered by a search (the recall knob) */

typedef struct ak_hnsw ak_hnsw;

typedef struct {
    float score; /* approximate cosine (int8) */
    uint32_t id;
} ak_hnsw_hit;

/* Which nodes a search may return (a filter); NULL accepts all. */
typedef int (*ak_hnsw_accept_fn)(void *ctx, uint32_t id);

ak_hnsw *ak_hnsw_new(void);
void ak_hnsw_free(ak_hnsw *h);

/* Add a node; its id goes to *id.  Levels are drawn from a fixed seed, so
 * the same insertions build the same graph. */
ak_code ak_hnsw_add(ak_hnsw *h, const int8_t *v, float scale, uint32_t *id, ak_err *err);
void ak_hnsw_delete(ak_hnsw *h, uint32_t id);
int ak_hnsw_is_deleted(const ak_hnsw *h, uint32_t id);
uint32_t ak_hnsw_count(const ak_hnsw *h);   /* nodes, deleted ones included */
uint32_t ak_hnsw_deleted(const ak_hnsw *h); /* nodes marked deleted */
const int8_t *ak_hnsw_vector(const ak_hnsw *h, uint32_t id);
float ak_hnsw_scale(const ak_hnsw *h, uint32_t id);
/* Bytes of memory the graph holds (or maps). */
size_t ak_hnsw_bytes(const ak_hnsw *h);

/* The best k accepted, live nodes for the query (q8, q8scale: quantised as
 * the nodes are), best first, into out[0..k); returns how many.  ef (at
 * least k) is how many candidates the bottom level keeps: higher is slower
 * and recalls more.  Deleted and refused nodes are traversed, not returned. */
size_t ak_hnsw_search(const ak_hnsw *h, const int8_t *q8, float q8scale, size_t k, size_t ef,
                      ak_hnsw_accept_fn accept, void *ctx, ak_hnsw_hit *out);

/* ---- persistence (hnsw_file.c) ---- */

/* Write the graph to path atomically (a temporary file, fsync, rename), so a
 * crash leaves the old file or the new one, never a torn one.  The caller's
 * user bytes are stored with it and checksummed too. */
ak_code ak_hnsw_save(const ak_hnsw *h, const char *path, const void *user, size_t user_len,
                     ak_err *err);
/* Map a saved graph.  Checks the header, the sizes, a CRC-32 of the whole
 * file and every link (each names an existing node on a level it has), so
 * a torn, truncated or foreign file is AK_ERR_CORRUPT, never a crash.  The
 * user bytes are copied to *user (malloc'ed; caller frees) when user is not
 * NULL. */
ak_code ak_hnsw_load(const char *path, ak_hnsw **out, void **user, size_t *user_len,
                     ak_err *err);
/* As ak_hnsw_load(), checking only the header and the sizes, so a start
 * does not read the file: the levels, links and checksum are not looked
 * at.  Until ak_hnsw_check() passes, the graph refuses searches (none
 * found) and insertions (AK_ERR_INTERNAL); deletions and the accessors
 * below stay in bounds.  *fd gets the file's descriptor, for
 * ak_hnsw_file_sum(); the caller closes it. */
ak_code ak_hnsw_load_lazy(const char *path, ak_hnsw **out, void **user, size_t *user_len,
                          int *fd, ak_err *err);
/* The structural checks ak_hnsw_load() makes (every node's levels and
 * link offsets, every link names a node with that level, the deletion
 * marks, the entry point): AK_ERR_CORRUPT saying what is wrong.  After it
 * passes, no byte of the graph can steer a search or an insertion out of
 * bounds.  Reads the levels and links (about 105 bytes a node), not the vectors.
 * A no-op for a graph already checked.  May run beside searches (they
 * find nothing until it passes), not beside insertions. */
ak_code ak_hnsw_check(ak_hnsw *h, ak_err *err);
/* The CRC-32 of the graph file open at fd, as saved: AK_ERR_CORRUPT when
 * it does not match.  Reads the file through a mapping of its own, dropped
 * after, whatever became of a graph mapped from it meanwhile. */
ak_code ak_hnsw_file_sum(int fd, ak_err *err);
/* Let the kernel drop the resident pages of a graph mapped from a file (its
 * links and vectors: a search faults back in the few it visits, from the
 * page cache).  The deletion marks, which may hold in-memory changes, are
 * kept.  A no-op for a graph on the heap.  Safe beside concurrent searches. */
void ak_hnsw_release_pages(const ak_hnsw *h);
/* The same from bytes in memory (the fuzz target); the graph copies them.
 * lazy: as ak_hnsw_load_lazy() (no checksum, ak_hnsw_check() before use). */
ak_code ak_hnsw_from_bytes(const void *data, size_t size, int lazy, ak_hnsw **out, void **user,
                           size_t *user_len, ak_err *err);

#endif
