/*
 * test_vindex.c - the node's vector index (src/query/vindex.c) against
 * segments built here: a synced system is answered from the graph with
 * rows of the very segment it was bound to; a new version of the segment
 * is not covered until synced, and a sync keeps the nodes of unchanged
 * rows, adds changed and new ones and deletes the rest; a saved index
 * binds again without adding; drop and retain forget systems; a filter
 * keeping almost nothing declines (the caller scans instead).  Opened
 * lazily (the server): a damaged vector byte is served around until
 * ak_vindex_sum() finds it, which empties the graph for a rebuild; bad
 * levels are caught before the first bind; a save never writes over a
 * file whose checksum was not checked.  A sync calls its pause hook before
 * each batch of nodes it adds, and a stop set there aborts it unbound.
 */
#include <sys/stat.h>

#include "test.h"
#include "../tools/clustered.h"

#include "query/vindex.h"

typedef struct {
    size_t n;
    int64_t rowid[2000];
    int64_t ts[2000];
    float v[2000][AK_DIM];
} rows;

/* A segment of n rows (all hot): row i has rows->rowid[i] and vector v[i]. */
static ak_segment *make_seg(const char *sid, const rows *r)
{
    static uint64_t gen = 1000;
    ak_segment *s = calloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    s->gen = ++gen;
    snprintf(s->system_id, sizeof s->system_id, "%s", sid);
    s->n = s->n_hot = s->n_warm_end = (uint32_t)r->n;
    s->q = malloc(r->n * AK_DIM + 1);
    s->qscale = malloc(r->n * sizeof(float) + 1);
    s->ts = malloc(r->n * sizeof(int64_t) + 1);
    s->rowid = malloc(r->n * sizeof(int64_t) + 1);
    s->id_off = calloc(r->n + 1, sizeof(uint32_t));
    s->ids = calloc(1, 1);
    for (size_t i = 0; i < r->n; i++) {
        float sc;
        ak_vec_quantize(r->v[i], s->q + i * AK_DIM, &sc);
        double nn = sqrt((double)ak_vec_dot_i8(s->q + i * AK_DIM, s->q + i * AK_DIM));
        s->qscale[i] = (float)(1.0 / nn);
        s->ts[i] = r->ts[i];
        s->rowid[i] = r->rowid[i];
    }
    return s;
}

static rows *make_rows(size_t n, uint64_t seed)
{
    rows *r = calloc(1, sizeof *r);
    cl_gen *g = cl_new(50, seed);
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        r->rowid[i] = (int64_t)i + 1;
        r->ts[i] = (int64_t)i;
        cl_draw(g, r->v[i]);
    }
    cl_free(g);
    return r;
}

static const ak_scan_filter all = {AK_TIER_ALL, INT64_MIN, INT64_MAX};

/* Query with row `row`'s own vector: the best hit is that row of seg. */
static void expect_self(ak_vindex *v, ak_segment *seg, uint32_t row)
{
    int8_t q8[AK_DIM];
    memcpy(q8, seg->q + (size_t)row * AK_DIM, AK_DIM);
    ak_vindex_result r;
    CHECK_INT(ak_vindex_search(v, q8, seg->qscale[row], &all, 10, 64, 0, &r), 1);
    CHECK(ak_vindex_covers(&r, seg));
    CHECK(r.n >= 1 && r.hits[0].seg == seg && r.hits[0].row == row);
    if (r.n && (r.hits[0].seg != seg || r.hits[0].row != row))
        fprintf(stderr, "  row %u: got row %u (%s segment) score %f\n", row, r.hits[0].row,
                r.hits[0].seg == seg ? "same" : "other", r.hits[0].score);
    ak_vindex_result_free(&r);
}

static void test_sync_and_resync(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/v.akidx", test_tmpdir());
    ak_vindex *v = NULL;
    ak_err e;
    int rebuilt = 1;
    CHECK_OK(ak_vindex_open(path, 0, &v, &rebuilt, &e), e);
    CHECK_INT(rebuilt, 0);
    rows *r = make_rows(1500, 7);
    ak_segment *a = make_seg("sysA", r);
    CHECK_OK(ak_vindex_sync(v, a, 1, NULL, &e), e);
    CHECK(ak_vindex_is_bound(v, a));
    expect_self(v, a, 3);
    expect_self(v, a, 1400);

    /* a new version: row 10's vector changed, row 20 gone, one row added */
    r->v[10][0] += 0.5f;
    ak_vec_normalize(r->v[10]);
    memmove(&r->rowid[20], &r->rowid[21], (r->n - 21) * sizeof r->rowid[0]);
    memmove(&r->v[20], &r->v[21], (r->n - 21) * sizeof r->v[0]);
    r->rowid[r->n - 1] = 9999;
    cl_gen *g = cl_new(5, 99);
    cl_draw_random(g, r->v[r->n - 1]);
    cl_free(g);
    ak_segment *b = make_seg("sysA", r);
    int8_t q8[AK_DIM];
    memcpy(q8, b->q, AK_DIM);
    ak_vindex_result res;
    CHECK_INT(ak_vindex_search(v, q8, b->qscale[0], &all, 10, 64, 0, &res), 1);
    CHECK(!ak_vindex_covers(&res, b)); /* not synced: the caller scans b */
    ak_vindex_result_free(&res);
    ak_vindex_stats before, after;
    ak_vindex_stats_get(v, &before);
    CHECK_OK(ak_vindex_sync(v, b, 1, NULL, &e), e);
    ak_vindex_stats_get(v, &after);
    CHECK_INT(after.added - before.added, 2); /* the changed row and the new one */
    CHECK_INT(after.deleted, 2);              /* the changed row's old node, row 20's */
    expect_self(v, b, 10);
    expect_self(v, b, (uint32_t)(r->n - 1));
    CHECK(!ak_vindex_is_bound(v, a));

    /* saved and opened again: binds by comparison, adds nothing */
    rows *r2 = make_rows(300, 8);
    ak_segment *c = make_seg("sysB", r2);
    CHECK_OK(ak_vindex_sync(v, c, 1, NULL, &e), e);
    CHECK_OK(ak_vindex_save(v, &e), e);
    ak_vindex_free(v);
    CHECK_OK(ak_vindex_check(path, &e), e);
    CHECK_OK(ak_vindex_open(path, 0, &v, &rebuilt, &e), e);
    CHECK_OK(ak_vindex_sync(v, b, 0, NULL, &e), e);
    CHECK_OK(ak_vindex_sync(v, c, 0, NULL, &e), e);
    ak_vindex_stats_get(v, &after);
    CHECK_INT(after.added, 0);
    CHECK_INT(after.bound_systems, 2);
    /* nothing changed: saving leaves the file as it was (same inode; a save
     * writes a new file and renames it over) */
    struct stat st0, st1;
    CHECK(stat(path, &st0) == 0);
    CHECK_OK(ak_vindex_save(v, &e), e);
    CHECK(stat(path, &st1) == 0 && st0.st_ino == st1.st_ino);
    expect_self(v, b, 10);
    expect_self(v, c, 299);

    /* a time filter keeping 3 rows in 1,800: declined, the caller scans */
    ak_scan_filter few = {AK_TIER_ALL, 0, 2};
    CHECK_INT(ak_vindex_search(v, q8, b->qscale[0], &few, 10, 64, 0, &res), 0);
    ak_vindex_result_free(&res);
    /* one keeping half: answered, every hit inside it */
    ak_scan_filter half = {AK_TIER_ALL, 0, 750};
    CHECK_INT(ak_vindex_search(v, q8, b->qscale[0], &half, 10, 64, 0, &res), 1);
    for (size_t i = 0; i < res.n; i++)
        CHECK(res.hits[i].seg->ts[res.hits[i].row] <= 750);
    ak_vindex_result_free(&res);
    /* no close match: the best hit (the row itself, cosine ~1) under the
     * bound is declined and counted; at the bound it is answered */
    ak_vindex_stats_get(v, &before);
    CHECK_INT(ak_vindex_search(v, q8, b->qscale[0], &all, 10, 64, 1.01f, &res), 0);
    CHECK(res.n == 0 && !ak_vindex_covers(&res, b));
    ak_vindex_result_free(&res);
    CHECK_INT(ak_vindex_search(v, q8, b->qscale[0], &all, 10, 64, 0.9f, &res), 1);
    CHECK(res.n >= 1 && res.hits[0].score >= 0.9f);
    ak_vindex_result_free(&res);
    ak_vindex_stats_get(v, &after);
    CHECK_INT(after.exact_fallbacks - before.exact_fallbacks, 1);

    /* drop and retain */
    ak_vindex_drop(v, "sysA");
    CHECK(!ak_vindex_is_bound(v, b));
    const char *keep[] = {"sysC"};
    ak_vindex_retain(v, keep, 1);
    ak_vindex_stats_get(v, &after);
    CHECK_INT(after.bound_systems, 0);
    CHECK_INT(after.deleted, after.nodes);
    ak_vindex_free(v);

    /* a damaged file: opened empty, said to need a rebuild */
    FILE *f = fopen(path, "r+b");
    fseek(f, 300, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    CHECK_INT(ak_vindex_check(path, &e), AK_ERR_CORRUPT);
    CHECK_OK(ak_vindex_open(path, 0, &v, &rebuilt, &e), e);
    CHECK_INT(rebuilt, 1);
    ak_vindex_stats_get(v, &after);
    CHECK_INT(after.nodes, 0);
    ak_vindex_free(v);
    ak_segment_unref(a);
    ak_segment_unref(b);
    ak_segment_unref(c);
    free(r);
    free(r2);
}

/* Byte at offset `at` of the file at path, xor x. */
static void poke(const char *path, long at, int x)
{
    FILE *f = fopen(path, "r+b");
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ x, f);
    fclose(f);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void test_lazy_open(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/lazy.akidx", test_tmpdir());
    ak_vindex *v = NULL;
    ak_err e;
    int rebuilt = 1;
    rows *r = make_rows(600, 11), *r2 = make_rows(400, 12);
    ak_segment *a = make_seg("sysA", r), *b = make_seg("sysB", r2);
    CHECK_OK(ak_vindex_open(path, 1, &v, &rebuilt, &e), e);
    CHECK_OK(ak_vindex_sum(v, &e), e); /* no file: nothing due */
    CHECK_OK(ak_vindex_sync(v, a, 1, NULL, &e), e);
    CHECK_OK(ak_vindex_sync(v, b, 1, NULL, &e), e);
    CHECK_OK(ak_vindex_save(v, &e), e);
    ak_vindex_free(v);

    /* the last node's vector (the file's tail) damaged: the lazy open does
     * not see it; binding re-adds that one row (its vector differs), so
     * the graph serves right; the checksum then finds the damage */
    long len = file_size(path);
    poke(path, len - 10, 0x21);
    CHECK_OK(ak_vindex_open(path, 1, &v, &rebuilt, &e), e);
    CHECK_INT(rebuilt, 0);
    CHECK_OK(ak_vindex_sync(v, a, 1, NULL, &e), e);
    CHECK_OK(ak_vindex_sync(v, b, 1, NULL, &e), e);
    ak_vindex_stats st;
    ak_vindex_stats_get(v, &st);
    CHECK_INT(st.added, 1);
    CHECK_INT(st.bound_systems, 2);
    CHECK_INT(st.damaged, 0);
    expect_self(v, a, 17);
    expect_self(v, b, 399);
    CHECK_INT(ak_vindex_sum(v, &e), AK_ERR_CORRUPT);
    CHECK_HAS(e.msg, "checksum");
    ak_vindex_stats_get(v, &st);
    CHECK_INT(st.damaged, 1);
    CHECK_INT(st.bound_systems, 0);
    CHECK_INT(st.nodes, 0);
    CHECK_OK(ak_vindex_sum(v, &e), e); /* done: nothing due any more */
    CHECK_OK(ak_vindex_sync(v, a, 1, NULL, &e), e);
    CHECK_OK(ak_vindex_sync(v, b, 1, NULL, &e), e);
    ak_vindex_stats_get(v, &st);
    CHECK_INT(st.nodes, 1000);
    CHECK_INT(st.bound_systems, 2);
    expect_self(v, a, 17);
    expect_self(v, b, 399);
    CHECK_OK(ak_vindex_save(v, &e), e);
    ak_vindex_free(v);
    CHECK_OK(ak_vindex_check(path, &e), e);

    /* damaged again; a save (something changed) before the checksum pass
     * checks it first and writes the emptied graph, never the damage */
    poke(path, file_size(path) - 10, 0x21);
    CHECK_OK(ak_vindex_open(path, 1, &v, &rebuilt, &e), e);
    CHECK_OK(ak_vindex_sync(v, b, 1, NULL, &e), e); /* re-adds its last row: dirty */
    CHECK_OK(ak_vindex_save(v, &e), e);
    ak_vindex_stats_get(v, &st);
    CHECK_INT(st.damaged, 1);
    CHECK_INT(st.nodes, 0);
    ak_vindex_free(v);
    CHECK_OK(ak_vindex_check(path, &e), e);

    /* a node's level out of range (no checksum forged): the first sync's
     * structural check refuses the graph before binding anything */
    CHECK_OK(ak_vindex_open(path, 1, &v, &rebuilt, &e), e);
    CHECK_OK(ak_vindex_sync(v, a, 1, NULL, &e), e);
    CHECK_OK(ak_vindex_sync(v, b, 1, NULL, &e), e);
    CHECK_OK(ak_vindex_save(v, &e), e);
    ak_vindex_free(v);
    FILE *f = fopen(path, "rb");
    unsigned char hd[64];
    CHECK(f && fread(hd, 1, 64, f) == 64);
    fclose(f);
    uint32_t user_len;
    memcpy(&user_len, hd + 48, 4);
    poke(path, (long)((64 + user_len + 63) / 64 * 64), 0x70); /* node 0's level */
    CHECK_OK(ak_vindex_open(path, 1, &v, &rebuilt, &e), e);
    CHECK_INT(rebuilt, 0);
    CHECK_OK(ak_vindex_sync(v, a, 1, NULL, &e), e);
    ak_vindex_stats_get(v, &st);
    CHECK_INT(st.damaged, 1);
    CHECK_INT(st.nodes, 600);
    CHECK_INT(st.added, 600);
    expect_self(v, a, 0);
    ak_vindex_free(v);
    /* the same file opened fully (a read-only search): refused at open */
    CHECK_OK(ak_vindex_open(path, 0, &v, &rebuilt, &e), e);
    CHECK_INT(rebuilt, 1);
    ak_vindex_stats_get(v, &st);
    CHECK_INT(st.damaged, 1);
    ak_vindex_free(v);
    ak_segment_unref(a);
    ak_segment_unref(b);
    free(r);
    free(r2);
}

typedef struct {
    int calls, stop_at;
    atomic_int *stop;
} pause_log;

static void count_pause(void *ctx)
{
    pause_log *p = ctx;
    if (++p->calls == p->stop_at)
        atomic_store(p->stop, 1);
}

static void test_pause(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/p.akidx", test_tmpdir());
    ak_vindex *v = NULL;
    ak_err e;
    atomic_int stop = 0;
    pause_log log = {0, 0, &stop};
    CHECK_OK(ak_vindex_open(path, 0, &v, NULL, &e), e);
    ak_vindex_set_pause(v, count_pause, &log);
    rows *r = make_rows(200, 11);
    ak_segment *a = make_seg("sysP", r);
    CHECK_OK(ak_vindex_sync(v, a, 1, &stop, &e), e);
    CHECK_INT(log.calls, 4); /* 64 + 64 + 64 + 8 nodes */
    CHECK(ak_vindex_is_bound(v, a));
    /* stopped from the pause (the indexer's stop ends its wait there) */
    r->n = 150;
    ak_segment *b = make_seg("sysQ", r);
    log = (pause_log){0, 2, &stop};
    CHECK_INT(ak_vindex_sync(v, b, 1, &stop, &e), AK_ERR_ABORTED);
    CHECK_INT(log.calls, 2);
    CHECK(!ak_vindex_is_bound(v, b));
    ak_vindex_set_pause(v, NULL, NULL);
    atomic_store(&stop, 0);
    CHECK_OK(ak_vindex_sync(v, b, 1, &stop, &e), e);
    CHECK(ak_vindex_is_bound(v, b));
    CHECK_INT(log.calls, 2);
    ak_vindex_free(v);
    ak_segment_unref(a);
    ak_segment_unref(b);
    free(r);
}

int main(void)
{
    RUN(test_sync_and_resync);
    RUN(test_lazy_open);
    RUN(test_pause);
    return test_report("vindex");
}
