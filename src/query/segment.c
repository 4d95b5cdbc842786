/*
 * segment.c - see segment.h.
 *
 * Loading counts the rows first so every array is allocated once at its
 * final size: a system with 100,000 vectors is 40 MB in one piece, not a
 * long chain of reallocations.
 */
#include "query/segment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/warmcode.h"
#include "util/vcode.h"
#include "util/buf.h"
#include "util/time.h"

#define SCAN_BLOCK 1024 /* rows scored per kernel call; deadline checked per block */

typedef struct {
    ak_segment *s;
    uint32_t next;       /* next row to fill */
    ak_buf ids;
    int fixed;           /* ids is the arrays' own buffer: never reallocated */
} loader;

static ak_code add_id(loader *l, uint32_t row, const char *id)
{
    size_t n = (id ? strlen(id) : 0) + 1;
    if (l->fixed && n >= l->ids.cap - l->ids.len) /* ak_buf keeps a NUL after len */
        return AK_ERR_UNSUPPORTED; /* no room in place: the caller copies instead */
    l->s->id_off[row] = (uint32_t)l->ids.len;
    return ak_buf_append(&l->ids, id ? id : "", n);
}

/* A hot row whose float32 vector is in place at l->next: normalised,
 * quantised, its time, row id and conversation id. */
static ak_code add_hot(loader *l, int64_t rowid, int64_t ts_us, const char *id)
{
    ak_segment *s = l->s;
    float *f = s->f + (size_t)l->next * AK_DIM;
    if (!ak_vec_normalize(f))
        return AK_OK; /* zero or non-finite: not indexable (ingestion keeps these out) */
    float scale;
    ak_vec_quantize(f, s->q + (size_t)l->next * AK_DIM, &scale);
    s->qscale[l->next] = scale;
    s->ts[l->next] = ts_us;
    s->rowid[l->next] = rowid;
    return add_id(l, l->next++, id);
}

static ak_code load_hot(void *ctx, const ak_vec_row *r)
{
    loader *l = ctx;
    if (l->next >= l->s->n_hot)
        return AK_OK; /* rows added since counting: the next reload has them */
    ak_vec_from_le(r->vec, l->s->f + (size_t)l->next * AK_DIM);
    return add_hot(l, r->rowid, r->ts_us, r->conversation_id);
}

/* The patch's renewed hot rows: from memory when the caller holds them,
 * else read back from db. */
static ak_code load_changed(loader *l, ak_sysdb *db, const char *const *ids,
                            const ak_segment_row *rows, size_t n, ak_err *err)
{
    if (!rows)
        return ak_sysdb_hot_vectors_of(db, ids, n, load_hot, l, err);
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < n && l->next < l->s->n_hot; i++) {
        if (!rows[i].vec)
            continue;
        memcpy(l->s->f + (size_t)l->next * AK_DIM, rows[i].vec, AK_DIM * sizeof(float));
        rc = add_hot(l, rows[i].rowid, rows[i].ts_us, ids[i]);
    }
    return rc;
}

/* An int8 row already in place at l->next: its scale, time, id. */
static ak_code add_i8(loader *l, const ak_vec_row *r, float scale)
{
    ak_segment *s = l->s;
    const int8_t *q = s->q + (size_t)l->next * AK_DIM;
    double norm = sqrt((double)ak_vec_dot_i8(q, q)) * scale;
    if (!(norm > 0) || !isfinite(norm))
        return AK_OK;
    s->qscale[l->next] = (float)(scale / norm); /* int8 dot * this = cosine */
    s->ts[l->next] = r->ts_us;
    s->rowid[l->next] = r->rowid;
    return add_id(l, l->next++, r->conversation_id);
}

static ak_code load_warm(void *ctx, const ak_vec_row *r)
{
    loader *l = ctx;
    float scale;
    if (l->next >= l->s->n_warm_end ||
        !ak_wcode_to_i8(r->vec, r->len, l->s->q + (size_t)l->next * AK_DIM, &scale))
        return AK_OK; /* not a code this build reads: not indexable */
    return add_i8(l, r, scale);
}

static ak_code load_cold(void *ctx, const ak_vec_row *r)
{
    loader *l = ctx;
    float scale;
    if (l->next >= l->s->n ||
        !ak_vcode_to_i8(r->vec, r->len, l->s->q + (size_t)l->next * AK_DIM, &scale))
        return AK_OK; /* not a code this build reads: not indexable */
    return add_i8(l, r, scale);
}

/* Arrays for n_hot + n_warm + n_cold rows and `room` more hot ones. */
static ak_code allocate(ak_segment *s, int64_t n_hot, int64_t n_warm, int64_t n_cold,
                        int64_t room, ak_err *err)
{
    s->n_hot = (uint32_t)n_hot;
    s->n_warm_end = (uint32_t)(n_hot + n_warm);
    s->n = (uint32_t)(n_hot + n_warm + n_cold);
    s->cap = (uint32_t)(s->n + room);
    size_t n = s->cap ? s->cap : 1;
    s->q = malloc(n * AK_DIM);
    s->qscale = malloc(n * sizeof *s->qscale);
    s->f = malloc(((size_t)(n_hot + room) ? (size_t)(n_hot + room) : 1) * AK_DIM * sizeof *s->f);
    s->ts = malloc(n * sizeof *s->ts);
    s->rowid = malloc(n * sizeof *s->rowid);
    s->id_off = malloc((n + 1) * sizeof *s->id_off);
    if (!s->q || !s->qscale || !s->f || !s->ts || !s->rowid || !s->id_off)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory for %u vectors", s->n);
    return AK_OK;
}

/* ---- building: a whole load, or a patch of a few changed rows ---- */

typedef struct {
    const char **slot; /* open addressing; NULL = empty */
    size_t mask;
} id_set;

static uint32_t id_hash(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

static int id_set_init(id_set *set, const char *const *ids, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    if (!(set->slot = calloc(cap, sizeof *set->slot)))
        return 0;
    set->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        size_t j = id_hash(ids[i]) & set->mask;
        while (set->slot[j] && strcmp(set->slot[j], ids[i]) != 0)
            j = (j + 1) & set->mask;
        set->slot[j] = ids[i];
    }
    return 1;
}

static int id_set_has(const id_set *set, const char *id)
{
    for (size_t j = id_hash(id) & set->mask; set->slot[j]; j = (j + 1) & set->mask)
        if (strcmp(set->slot[j], id) == 0)
            return 1;
    return 0;
}

/* Append old's row r as the loader's next row. */
static ak_code copy_row(loader *l, const ak_segment *old, uint32_t r)
{
    ak_segment *s = l->s;
    uint32_t w = l->next++;
    memcpy(s->q + (size_t)w * AK_DIM, old->q + (size_t)r * AK_DIM, AK_DIM);
    if (r < old->n_hot && !ak_segment_hot_vector(old, r, s->f + (size_t)w * AK_DIM))
        return AK_ERR_IO;
    s->qscale[w] = old->qscale[r];
    s->ts[w] = old->ts[r];
    s->rowid[w] = old->rowid[r];
    return add_id(l, w, ak_segment_conv_id(old, r));
}

static void finish(ak_segment *s, loader *l)
{
    s->n = l->next;
    s->id_off[s->n] = (uint32_t)l->ids.len;
    s->tail = s->n;
    s->ids_tail = l->ids.len;
    s->bytes = (size_t)s->n * (AK_DIM + sizeof(float) + 2 * sizeof(int64_t) + sizeof(uint32_t)) +
               (size_t)s->n_hot * AK_DIM * sizeof(float) + s->id_off[s->n];
}

void ak_segment_init(ak_segment *s, const char *system_id)
{
    static atomic_uint_fast64_t next_gen;
    atomic_init(&s->refs, 1);
    s->gen = atomic_fetch_add(&next_gen, 1) + 1;
    ak_fmt(s->system_id, sizeof s->system_id, "%s", system_id);
    s->fd = -1;
}

/* Allocate s for at most n_hot + n_warm + n_cold rows (and room more hot
 * ones), fill it by fill(), and finish it as ak_segment_load() does. */
static ak_code build(const char *system_id, int64_t n_hot, int64_t n_warm, int64_t n_cold,
                     int64_t room, size_t ids_room,
                     ak_code (*fill)(loader *, void *, ak_err *), void *arg, ak_segment **out,
                     ak_err *err)
{
    ak_segment *s = calloc(1, sizeof *s);
    if (!s)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_segment_init(s, system_id);
    loader l = {.s = s};
    int64_t rows = n_hot + n_warm + n_cold;
    ak_code rc = rows + room > UINT32_MAX / 2
                     ? ak_err_set(err, AK_ERR_UNSUPPORTED, "system %s has too many vectors",
                                  system_id)
                     : allocate(s, n_hot, n_warm, n_cold, room, err);
    if (rc == AK_OK && ids_room && ak_buf_reserve(&l.ids, ids_room))
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK)
        rc = fill(&l, arg, err);
    if (rc == AK_OK && ak_buf_putc(&l.ids, '\0'))
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc) {
        ak_buf_free(&l.ids);
        s->ids = NULL;
        ak_segment_unref(s);
        return rc;
    }
    finish(s, &l);
    s->ids_cap = l.ids.cap;
    s->ids = ak_buf_steal(&l.ids);
    *out = s;
    return AK_OK;
}

typedef struct {
    const ak_segment *old;
    ak_sysdb *db;
    const char *const *ids;
    const ak_segment_row *rows;
    size_t n_ids;
    const id_set *set;
} patch_job;

/* Kept hot rows, the changed rows read again, then every warm and cold row. */
static ak_code fill_patch(loader *l, void *arg, ak_err *err)
{
    patch_job *j = arg;
    ak_code rc = AK_OK;
    for (uint32_t r = 0; rc == AK_OK && r < j->old->n_hot; r++)
        if (!id_set_has(j->set, ak_segment_conv_id(j->old, r)))
            rc = copy_row(l, j->old, r);
    if (rc == AK_OK)
        rc = load_changed(l, j->db, j->ids, j->rows, j->n_ids, err);
    l->s->n_hot = l->next;
    for (uint32_t r = j->old->n_hot; rc == AK_OK && r < j->old->n_warm_end; r++)
        rc = copy_row(l, j->old, r);
    l->s->n_warm_end = l->next;
    for (uint32_t r = j->old->n_warm_end; rc == AK_OK && r < j->old->n; r++)
        rc = copy_row(l, j->old, r);
    return rc;
}

/* The hot rows of ids, appended in place over old's arrays: a new segment
 * sharing them.  AK_ERR_UNSUPPORTED when they do not fit (copy instead). */
static ak_code append(const ak_segment *old, ak_sysdb *db, const char *const *ids,
                      const ak_segment_row *rows, size_t n, ak_segment **out, ak_err *err)
{
    ak_segment *own = old->owner ? old->owner : (ak_segment *)old;
    ak_segment *s = malloc(sizeof *s);
    if (!s)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    *s = *own;
    atomic_init(&s->refs, 1);
    s->owner = own;
    s->n_hot = s->n_warm_end = old->n + (uint32_t)n; /* at most one hot row an id */
    loader l = {.s = s, .next = old->n, .fixed = 1,
                .ids = {.data = own->ids, .len = own->ids_tail, .cap = own->ids_cap}};
    ak_err e;
    ak_code rc = load_changed(&l, db, ids, rows, n, &e);
    if (rc) { /* rows past old's end are nobody's yet: nothing to undo */
        free(s);
        if (rc != AK_ERR_UNSUPPORTED && err)
            *err = e;
        return rc;
    }
    ak_segment_ref(own);
    s->n_hot = s->n_warm_end = l.next;
    finish(s, &l);
    own->tail = s->n;
    own->ids_tail = l.ids.len;
    *out = s;
    return AK_OK;
}

static int fits(const ak_segment *old, const id_set *set, size_t n, int all_new)
{
    const ak_segment *own = old->owner ? old->owner : old;
    if (old->n_hot != old->n || own->tail != old->n || n > own->cap - old->n)
        return 0;
    for (uint32_t r = 0; !all_new && r < old->n; r++)
        if (id_set_has(set, ak_segment_conv_id(old, r)))
            return 0; /* a row to drop: copy */
    return 1;
}

ak_code ak_segment_patch(const ak_segment *old, ak_sysdb *db, const char *const *ids,
                         const ak_segment_row *rows, size_t n, int all_new, ak_segment **out,
                         ak_err *err)
{
    id_set set;
    if (!id_set_init(&set, ids, n))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = AK_OK;
    for (uint32_t r = old->n_hot; !all_new && rc == AK_OK && r < old->n; r++)
        if (id_set_has(&set, ak_segment_conv_id(old, r)))
            rc = ak_err_set(err, AK_ERR_UNSUPPORTED, "a changed row is warm or cold: load it whole");
    int copy = rc == AK_OK &&
               !(fits(old, &set, n, all_new) && (rc = append(old, db, ids, rows, n, out, err)) == AK_OK);
    if (copy && rc == AK_ERR_UNSUPPORTED)
        rc = AK_OK; /* no room after all */
    if (copy && rc == AK_OK) {
        /* a copy, with room for as many rows again: growth by copies costs
         * about one copy of each row in all (half as many again: two), and
         * the room is address space until rows are written into it */
        int64_t total = (int64_t)old->n + (int64_t)n, room = total > 256 ? total : 256;
        size_t per_id = old->n ? old->id_off[old->n] / old->n + 1 : 64;
        patch_job j = {old, db, ids, rows, n, &set};
        rc = build(old->system_id, (int64_t)old->n_hot + (int64_t)n,
                   old->n_warm_end - old->n_hot, old->n - old->n_warm_end, room,
                   (size_t)(total + room) * per_id, fill_patch, &j, out, err);
    }
    free(set.slot);
    return rc;
}

typedef struct {
    ak_sysdb *db;
} load_job;

static ak_code fill_load(loader *l, void *arg, ak_err *err)
{
    load_job *j = arg;
    ak_segment *s = l->s;
    uint32_t n_warm = s->n_warm_end - s->n_hot;
    ak_code rc = ak_sysdb_each_vector(j->db, AK_TIER_HOT, load_hot, l, err);
    /* hot rows skipped as unindexable shrink the hot range ... */
    s->n_hot = l->next;
    s->n_warm_end = l->next + n_warm;
    if (rc == AK_OK)
        rc = ak_sysdb_each_vector(j->db, AK_TIER_WARM, load_warm, l, err);
    s->n_warm_end = l->next; /* ... and likewise warm rows */
    return rc ? rc : ak_sysdb_each_vector(j->db, AK_TIER_COLD, load_cold, l, err);
}

ak_code ak_segment_load(ak_sysdb *db, const char *system_id, ak_segment **out, ak_err *err)
{
    int64_t n_hot = 0, n_warm = 0, n_cold = 0;
    ak_code rc = ak_sysdb_count_vectors(db, AK_TIER_HOT, &n_hot, err);
    if (rc == AK_OK)
        rc = ak_sysdb_count_vectors(db, AK_TIER_WARM, &n_warm, err);
    if (rc == AK_OK)
        rc = ak_sysdb_count_vectors(db, AK_TIER_COLD, &n_cold, err);
    load_job j = {db};
    return rc ? rc : build(system_id, n_hot, n_warm, n_cold, 0, 0, fill_load, &j, out, err);
}

void ak_segment_ref(ak_segment *s) { atomic_fetch_add(&s->refs, 1); }

void ak_segment_unref(ak_segment *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    if (s->owner) { /* the arrays are the owner's */
        ak_segment_unref(s->owner);
        free(s);
        return;
    }
    if (s->map) { /* the arrays are the file's */
        munmap(s->map, s->map_len);
        close(s->fd);
        free(s);
        return;
    }
    free(s->q);
    free(s->qscale);
    free(s->f);
    free(s->ts);
    free(s->rowid);
    free(s->id_off);
    free(s->ids);
    free(s);
}

/* Score rows [from, to) in blocks; only rows in [since, until] compete. */
static ak_code scan_range(const ak_segment *s, uint32_t from, uint32_t to, const int8_t *q8,
                          float q8scale, const ak_scan_filter *f, uint32_t group, ak_topk *top,
                          int64_t deadline_us)
{
    int32_t dots[SCAN_BLOCK];
    int all_times = f->since == INT64_MIN && f->until == INT64_MAX;
    for (uint32_t b = from; b < to; b += SCAN_BLOCK) {
        if (deadline_us && ak_time_mono_us() > deadline_us)
            return AK_ERR_ABORTED;
        uint32_t n = to - b < SCAN_BLOCK ? to - b : SCAN_BLOCK;
        ak_vec_dots_i8(q8, s->q + (size_t)b * AK_DIM, n, dots);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t row = b + i;
            float score = (float)dots[i] * q8scale * s->qscale[row];
            if (!ak_topk_wants(top, score))
                continue;
            if (!all_times && (s->ts[row] < f->since || s->ts[row] > f->until))
                continue;
            ak_topk_push(top, (ak_hit){score, group, row});
        }
    }
    return AK_OK;
}

ak_code ak_segment_scan(const ak_segment *s, const int8_t *q8, float q8scale,
                        const ak_scan_filter *f, uint32_t group, ak_topk *top,
                        int64_t deadline_us)
{
    ak_code rc = AK_OK;
    if (f->tiers & AK_TIER_MASK(AK_TIER_HOT))
        rc = scan_range(s, 0, s->n_hot, q8, q8scale, f, group, top, deadline_us);
    if (rc == AK_OK && (f->tiers & AK_TIER_MASK(AK_TIER_WARM)))
        rc = scan_range(s, s->n_hot, s->n_warm_end, q8, q8scale, f, group, top, deadline_us);
    if (rc == AK_OK && (f->tiers & AK_TIER_MASK(AK_TIER_COLD)))
        rc = scan_range(s, s->n_warm_end, s->n, q8, q8scale, f, group, top, deadline_us);
    return rc;
}

int ak_segment_hot_vector(const ak_segment *s, uint32_t row, float *out)
{
    if (s->f) {
        memcpy(out, s->f + (size_t)row * AK_DIM, AK_DIM * sizeof *out);
        return 1;
    }
    size_t len = AK_DIM * sizeof *out;
    return s->map && pread(s->fd, out, len, (off_t)(s->f_off + (uint64_t)row * len)) == (ssize_t)len;
}

void ak_segment_release_pages(const ak_segment *s)
{
    if (s->map)
        madvise(s->map, s->map_len, MADV_DONTNEED);
}

/* A mapped segment's int8 row read with pread, not through the map: the
 * re-rank of warm and cold candidates touches a few dozen rows scattered
 * over every file, and each fault through the map would make up to 64 KB
 * of neighbours resident (the kernel's fault-around), so a few hundred
 * searches left every file's int8 array in the process (~384 B a vector
 * at 1M warm rows).  pread leaves them in the page cache.  0 when the file
 * cannot be read (the caller reads the map). */
static int read_int8_row(const ak_segment *s, uint32_t row, int8_t *out)
{
    if (!s->map)
        return 0;
    uint64_t at = (uint64_t)((const char *)s->q - (const char *)s->map) + (uint64_t)row * AK_DIM;
    return pread(s->fd, out, AK_DIM, (off_t)at) == AK_DIM;
}

float ak_segment_exact(const ak_segment *s, uint32_t row, const float *qf)
{
    float f[AK_DIM];
    int8_t q[AK_DIM];
    if (row < s->n_hot && s->f)
        return ak_vec_dot_f32(qf, s->f + (size_t)row * AK_DIM);
    if (row < s->n_hot && ak_segment_hot_vector(s, row, f))
        return ak_vec_dot_f32(qf, f);
    /* warm, cold (their int8 is all they keep), or a hot row whose file
     * cannot be read: the int8 score, never a missing row */
    const int8_t *v = read_int8_row(s, row, q) ? q : s->q + (size_t)row * AK_DIM;
    return ak_vec_dot_f32_i8(qf, v) * s->qscale[row];
}
