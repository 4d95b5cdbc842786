/*
 * vindex.h - the node's vector index: one HNSW graph (hnsw.h) over the
 * vectors of every system, kept in step with the in-memory segments
 * (query/segment.h), which stay the truth a search is checked against.
 *
 * Each graph node is a row of some system, known by its (tier, row id) in
 * that system's database and its int8 vector.  A system is *bound* to one
 * version of its segment when every row of that version is a live node:
 * then a search takes the system's candidates from the graph.  A system
 * whose current segment is not the bound one (new rows, updates, aging,
 * a reingest, not yet synced) is scanned exactly, as before, and its graph
 * nodes are ignored, so no result is ever stale or missing.
 * ak_vindex_sync() binds a system to a new segment: rows whose key and
 * vector are unchanged keep their node, new ones are added (a few at a
 * time, so searches are not held up), the rest are marked deleted.
 *
 * The graph and its keys are saved in one file (ak_vindex_save) and mapped
 * back at start; binding a restarted system costs a comparison per row,
 * not an insertion.  A damaged file is refused (hnsw_file.c), removed and
 * rebuilt from the databases; the server checks most of the file after
 * its start (ak_vindex_open(), lazy).
 *
 * Thread safety: searches run concurrently with each other and with one
 * sync or save at a time (syncs and saves serialize on their own).
 *
 * Ownership: ak_vindex_open() / ak_vindex_free(); a result from
 * ak_vindex_search() holds references released by ak_vindex_result_free().
 */
#ifndef AK_VINDEX_H
#define AK_VINDEX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "query/segment.h"
#include "storage/datadir.h"

typedef struct ak_vindex ak_vindex;
typedef struct ak_vindex_cover ak_vindex_cover;

typedef struct {
    ak_segment *seg; /* a reference */
    uint32_t row;
    float score;     /* approximate (int8) cosine */
} ak_vindex_hit;

typedef struct ak_vindex_result_s {
    ak_vindex_hit *hits;
    size_t n;
    ak_vindex_cover *cover; /* the segments the graph answered for */
} ak_vindex_result;

typedef struct {
    uint64_t nodes, deleted, bound_systems, bytes;
    uint64_t bound_vectors; /* rows of the bound systems (searched through the graph) */
    uint64_t added; /* nodes added since open (0 after a restart that found all) */
    uint64_t exact_fallbacks; /* searches answered by the scan: no close match */
    uint64_t damaged; /* files found damaged (at open or by ak_vindex_sum) and rebuilt */
} ak_vindex_stats;

/* Open the index file at path, or start empty when there is none.  A file
 * that is damaged is logged and *rebuilt set: the index starts empty, the
 * databases fill it and the next save replaces the file; rebuilt may be
 * NULL.  Errors are for memory.
 *
 * lazy (the server): check only the file's header, sizes and key table
 * here, so a start reads a few bytes a vector, not the whole file (0.36 s
 * at 1M vectors).  The first ak_vindex_sync() checks the graph's levels
 * and links (ak_hnsw_check) before it binds a system, so no unchecked
 * link is ever walked: until a system is bound nothing searches the
 * graph.  The CRC-32 is ak_vindex_sum()'s, after the start; meanwhile the
 * graph serves unchecked.  That is safe: a damaged graph can only cost
 * recall, never return a wrong row or score.  A hit is a node of a bound
 * system, and binding gave each such node its row only when the row's
 * key and int8 vector equal the node's (match_rows); the filter reads the
 * segment's tier and time, not the graph; and search.c re-ranks every
 * candidate with ak_segment_exact() on the segment's own vector, so the
 * graph's approximate score ranks nothing.  Damage found later is counted,
 * every system unbound (searches scan) and the graph rebuilt, as at open. */
ak_code ak_vindex_open(const char *path, int lazy, ak_vindex **out, int *rebuilt, ak_err *err);
void ak_vindex_free(ak_vindex *v);
/* ak_vindex_open() of the data directory's file, AK_VINDEX_FILE. */
#define AK_VINDEX_FILE "vectors.akidx"
ak_code ak_vindex_open_in(const ak_datadir *dd, int lazy, ak_vindex **out, ak_err *err);

/* The CRC-32 a lazy open left, if it is still due (AK_OK when none is).
 * AK_ERR_CORRUPT: the file was damaged; it is counted, every system is
 * unbound and the graph emptied: sync every system again to rebuild it.
 * A save checks it first too, so no damage is ever written over with a
 * fresh checksum. */
ak_code ak_vindex_sum(ak_vindex *v, ak_err *err);

/* Check the file at path as open would: AK_OK, AK_ERR_NOTFOUND (none) or
 * AK_ERR_CORRUPT saying what is wrong.  (akosha verify) */
ak_code ak_vindex_check(const char *path, ak_err *err);

/* Bind seg's system to seg.  With add = 0 rows not already in the graph
 * are not added: the system is bound only if none is missing (a quick
 * check for a read-only process).  Returns AK_ERR_ABORTED when *stop
 * became non-zero meanwhile (stop may be NULL). */
ak_code ak_vindex_sync(ak_vindex *v, ak_segment *seg, int add, atomic_int *stop,
                       ak_err *err);
/* pause(ctx) is called by ak_vindex_sync() before each batch of nodes it
 * adds, holding no lock searches take, and may wait there (the indexer
 * lets requests being answered go first).  Set before syncs start. */
void ak_vindex_set_pause(ak_vindex *v, void (*pause)(void *ctx), void *ctx);

/* Forget a system: its nodes are deleted. */
void ak_vindex_drop(ak_vindex *v, const char *system_id);
/* Whether seg is the version its system is bound to (nothing to sync). */
int ak_vindex_is_bound(ak_vindex *v, const ak_segment *seg);
/* Delete the nodes of every system not in keep[0..n) (sorted by strcmp). */
void ak_vindex_retain(ak_vindex *v, const char *const *keep, size_t n);

/* Save to the path given at open, atomically.  Nothing is written when
 * nothing changed since the last save or open. */
ak_code ak_vindex_save(ak_vindex *v, ak_err *err);

/* The best k rows passing the filter among bound systems, ef candidates
 * (ef >= k; the recall knob).  Returns 1 when it answered, 0 when an exact
 * scan is the better plan: the filter keeps so few rows, or the best
 * candidate's approximate cosine is under exact_below (no close match,
 * where a graph's recall collapses; counted in the stats).  Then out is
 * empty and covers nothing.  A row's system must be checked with
 * ak_vindex_covers() against the caller's own segment. */
int ak_vindex_search(ak_vindex *v, const int8_t *q8, float q8scale, const ak_scan_filter *f,
                     size_t k, size_t ef, float exact_below, ak_vindex_result *out);
/* Whether the result's hits include seg's (seg was bound when it ran). */
int ak_vindex_covers(const ak_vindex_result *r, const ak_segment *seg);
void ak_vindex_result_free(ak_vindex_result *r);

void ak_vindex_stats_get(ak_vindex *v, ak_vindex_stats *out);

/* ef from AKOSHA_INDEX_EF (16..4096), else AK_HNSW_EF_DEFAULT. */
size_t ak_vindex_default_ef(void);
/* exact_below from AKOSHA_INDEX_EXACT_BELOW (0..1; 0 never falls back),
 * else this default: unrelated sentence embeddings score under it. */
#define AK_VINDEX_EXACT_BELOW_DEFAULT 0.3f
float ak_vindex_exact_below(void);

#endif
