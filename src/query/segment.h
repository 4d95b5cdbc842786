/*
 * segment.h - one system's vectors, in memory, laid out for scanning.
 *
 * A segment is built from a system database in one pass and never changes
 * afterwards: when the database changes (an upload ingested, rows aged),
 * the index builds a new segment and swaps it in.  Readers hold a reference,
 * so a query in flight keeps the segment it started with.
 *
 * Rows with a vector are numbered hot first [0, n_hot), then warm
 * [n_hot, n_warm_end), then cold [n_warm_end, n).  Every row has an int8
 * copy (hot rows quantized from their normalized float32, warm rows as
 * stored, cold rows decoded from their vector code, util/vcode.h) so
 * the first pass of a search reads 384 bytes a row instead of 1536; hot rows keep float32 for the exact
 * re-rank.  qscale[i] turns an int8 dot product into a cosine: it folds the
 * quantization scale and 1/|v| together.
 *
 * Ownership: ak_segment_load() returns a segment with one reference;
 * ak_segment_ref() / ak_segment_unref() (the last unref frees it).
 */
#ifndef AK_SEGMENT_H
#define AK_SEGMENT_H

#include <stdatomic.h>
#include <stdint.h>

#include "query/topk.h"
#include "storage/sysdb.h"
#include "util/ids.h"
#include "util/vec.h"

typedef struct ak_segment_s {
    atomic_int refs;
    uint64_t gen;       /* unique per segment built, never reused (query/vindex.h) */
    char system_id[AK_SYSTEM_ID_MAX + 1];
    uint32_t n, n_hot, n_warm_end;
    int8_t *q;          /* n * AK_DIM */
    float *qscale;      /* n */
    float *f;           /* n_hot * AK_DIM, unit length */
    int64_t *ts;        /* n */
    int64_t *rowid;     /* n: row id in its tier's table */
    uint32_t *id_off;   /* n + 1 offsets into ids */
    char *ids;          /* conversation ids, NUL-separated */
    size_t bytes;       /* memory held */
    /* Room to grow (ak_segment_patch): a patch that only adds hot rows to
     * an all-hot segment writes them past the end of the arrays and makes
     * a new segment over the same arrays; readers of the old one never
     * look past its n.  Segments made by a patch have room for as many
     * rows again; loads have none. */
    uint32_t cap;       /* rows the arrays hold */
    size_t ids_cap;     /* bytes ids holds */
    uint32_t tail;      /* rows written into the arrays so far (owner only) */
    size_t ids_tail;    /* bytes of ids written so far (owner only) */
    struct ak_segment_s *owner; /* the segment whose arrays these are (a reference), or NULL */
    /* A segment mapped from its file (query/segfile.h): the arrays point
     * into map, f is NULL and the hot rows' float32 vectors are read from
     * fd at f_off.  Otherwise map is NULL and fd -1. */
    void *map;
    size_t map_len;
    int fd;
    uint64_t f_off;
} ak_segment;

/* A new segment's identity: one reference, a fresh gen, the system id,
 * no mapping.  (For the builders: segment.c, segfile.c.) */
void ak_segment_init(ak_segment *s, const char *system_id);

ak_code ak_segment_load(ak_sysdb *db, const char *system_id, ak_segment **out, ak_err *err);

/* A changed conversation's current hot row as its writer holds it in
 * memory (a pushed batch just committed): what ak_segment_patch() would
 * otherwise read back from the database. */
typedef struct {
    int64_t rowid;      /* its id in the hot table */
    int64_t ts_us;
    const float *vec;   /* AK_DIM floats as stored, or NULL: no vector */
} ak_segment_row;

/* A new segment like old, with the rows of conversations ids[0..n)
 * renewed: their old hot rows are dropped and their current hot rows
 * (those with a vector) added, read again from db, or taken from rows[i]
 * (the current hot row of ids[i]) when rows is not NULL.  Costs a copy of
 * old plus the n rows, not a reload of the system; when none of ids is in
 * old, old is all hot and its arrays have room, only the n rows (appended
 * in place).  AK_ERR_UNSUPPORTED when one of them is a warm row of old
 * (load the system whole instead).  all_new: the caller knows none of ids
 * had a row (the database stored them as new), so old holds none of them
 * and is not searched for them: that search reads every row of old, per
 * batch, and grew with the system.  The caller serialises the patches of
 * one system and patches only the newest segment of it. */
ak_code ak_segment_patch(const ak_segment *old, ak_sysdb *db, const char *const *ids,
                         const ak_segment_row *rows, size_t n, int all_new, ak_segment **out,
                         ak_err *err);
void ak_segment_ref(ak_segment *s);
void ak_segment_unref(ak_segment *s);

static inline const char *ak_segment_conv_id(const ak_segment *s, uint32_t row)
{
    return s->ids + s->id_off[row];
}

static inline ak_tier ak_segment_tier(const ak_segment *s, uint32_t row)
{
    return row < s->n_hot ? AK_TIER_HOT : row < s->n_warm_end ? AK_TIER_WARM : AK_TIER_COLD;
}

/* What a scan keeps. */
typedef struct {
    int tiers;          /* AK_TIER_MASK bits of the tiers to scan */
    int64_t since, until;
} ak_scan_filter;

/* First pass: approximate cosine of every row passing the filter against
 * the quantized query; the best go into top with group = `group`.  Checks
 * the monotonic deadline every few thousand rows and returns AK_ERR_ABORTED
 * when it has passed (0 = none). */
ak_code ak_segment_scan(const ak_segment *s, const int8_t *q8, float q8scale,
                        const ak_scan_filter *f, uint32_t group, ak_topk *top,
                        int64_t deadline_us);

/* Exact cosine of one row against the unit-length float query: float32 for
 * hot rows, the dequantized int8 for warm rows and the decoded code for
 * cold rows (those tiers keep nothing more). */
float ak_segment_exact(const ak_segment *s, uint32_t row, const float *qf);
/* Hot row `row`'s unit-length float32 vector into out; 0 when it cannot be
 * read (a mapped segment's file failing). */
int ak_segment_hot_vector(const ak_segment *s, uint32_t row, float *out);
/* Let go of the resident pages of a mapped segment (after a pass over all
 * its rows: a bind of the vector index); they come back when touched. */
void ak_segment_release_pages(const ak_segment *s);

#endif
