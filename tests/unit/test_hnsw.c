/*
 * test_hnsw.c - the ANN graph (src/index/hnsw.c, hnsw_file.c): recall
 * against an exact scan on clustered and on random vectors, deletions and
 * filters never returning what they exclude, a save/map round trip that
 * answers identically and keeps growing, and every kind of damaged file
 * refused as corrupt; a lazy load (the server's) refuses to be searched
 * or grown until its structural check passes, that check refuses bad
 * links, levels and truncation, and the separate checksum finds what the
 * structure cannot show (a byte of a vector).
 */
#include "test.h"
#include "../tools/clustered.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "index/hnsw.h"

#define K 10

typedef struct {
    size_t n;
    int8_t *q;
    float *s;
} set;

static set make_set(size_t n, int clustered, uint64_t seed)
{
    cl_gen *g = cl_new(300, seed);
    set st = {n, malloc(n * AK_DIM), malloc(n * sizeof(float))};
    float v[AK_DIM];
    for (size_t i = 0; i < n; i++) {
        if (clustered)
            cl_draw(g, v);
        else
            cl_draw_random(g, v);
        ak_vec_quantize(v, st.q + i * AK_DIM, &st.s[i]);
    }
    /* fold 1/|q| in, as segments do, so dot * s * s is a cosine */
    for (size_t i = 0; i < n; i++) {
        double nn = sqrt((double)ak_vec_dot_i8(st.q + i * AK_DIM, st.q + i * AK_DIM));
        st.s[i] = (float)(1.0 / nn);
    }
    cl_free(g);
    return st;
}

static void free_set(set *s)
{
    free(s->q);
    free(s->s);
}

static ak_hnsw *build(const set *st)
{
    ak_hnsw *h = ak_hnsw_new();
    ak_err e;
    for (size_t i = 0; i < st->n; i++) {
        uint32_t id;
        CHECK_OK(ak_hnsw_add(h, st->q + i * AK_DIM, st->s[i], &id, &e), e);
        CHECK_INT(id, i);
    }
    return h;
}

typedef int (*pred)(uint32_t id);

/* The exact best K by the same similarity, among ids passing p. */
static size_t exact(const set *st, const int8_t *q, float qs, pred p, uint32_t *out)
{
    float best[K];
    size_t n = 0;
    for (uint32_t i = 0; i < st->n; i++) {
        if (p && !p(i))
            continue;
        float s = (float)ak_vec_dot_i8(q, st->q + (size_t)i * AK_DIM) * qs * st->s[i];
        size_t at = n < K ? n++ : K;
        if (at == K && s <= best[K - 1])
            continue;
        if (at == K)
            at = K - 1;
        while (at > 0 && best[at - 1] < s) {
            best[at] = best[at - 1];
            out[at] = out[at - 1];
            at--;
        }
        best[at] = s;
        out[at] = i;
    }
    return n;
}

static int accept_pred(void *ctx, uint32_t id) { return ((pred)ctx)(id); }

/* recall@K of the graph over queries drawn from qs. */
static double recall(const ak_hnsw *h, const set *st, const set *qs, size_t ef, pred p)
{
    size_t found = 0, total = 0;
    for (size_t qi = 0; qi < qs->n; qi++) {
        const int8_t *q = qs->q + qi * AK_DIM;
        uint32_t truth[K];
        ak_hnsw_hit got[K];
        size_t nt = exact(st, q, qs->s[qi], p, truth);
        size_t ng = ak_hnsw_search(h, q, qs->s[qi], K, ef, p ? accept_pred : NULL, (void *)p, got);
        for (size_t i = 0; i < ng; i++) {
            CHECK(!ak_hnsw_is_deleted(h, got[i].id));
            CHECK(!p || p(got[i].id));
            for (size_t j = 0; j < nt; j++)
                found += got[i].id == truth[j];
        }
        total += nt;
    }
    return total ? (double)found / (double)total : 1.0;
}

static void test_recall_clustered(void)
{
    set st = make_set(6000, 1, 11), qs = make_set(100, 1, 12);
    ak_hnsw *h = build(&st);
    double r16 = recall(h, &st, &qs, 16, NULL), r64 = recall(h, &st, &qs, 100, NULL);
    printf("  clustered 6000: recall@10 ef=16 %.3f, ef=100 %.3f\n", r16, r64);
    CHECK(r64 >= 0.95);
    CHECK(r64 >= r16);
    ak_hnsw_free(h);
    free_set(&st);
    free_set(&qs);
}

static void test_recall_random(void)
{
    set st = make_set(3000, 0, 21), qs = make_set(50, 0, 22);
    ak_hnsw *h = build(&st);
    double r = recall(h, &st, &qs, 200, NULL);
    printf("  random 3000: recall@10 ef=200 %.3f\n", r);
    CHECK(r >= 0.9);
    ak_hnsw_free(h);
    free_set(&st);
    free_set(&qs);
}

static int odd(uint32_t id) { return id % 2 == 1; }
static int tenth(uint32_t id) { return id % 10 == 3; }

static void test_delete_and_filter(void)
{
    set st = make_set(4000, 1, 31), qs = make_set(60, 1, 32);
    ak_hnsw *h = build(&st);
    for (uint32_t i = 0; i < st.n; i += 2)
        ak_hnsw_delete(h, i);
    ak_hnsw_delete(h, 0); /* twice: counted once */
    CHECK_INT(ak_hnsw_deleted(h), 2000);
    double rd = recall(h, &st, &qs, 64, odd); /* the truth: the live (odd) ids */
    double rf = recall(h, &st, &qs, 200, tenth);
    printf("  half deleted: recall %.3f; 1-in-10 filter: recall %.3f\n", rd, rf);
    CHECK(rd >= 0.9);
    CHECK(rf >= 0.9);
    ak_hnsw_free(h);
    free_set(&st);
    free_set(&qs);
}

static void test_empty(void)
{
    ak_hnsw *h = ak_hnsw_new();
    int8_t q[AK_DIM] = {1};
    ak_hnsw_hit out[K];
    CHECK_INT(ak_hnsw_search(h, q, 1.0f, K, 64, NULL, NULL, out), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/empty.idx", test_tmpdir());
    ak_err e;
    CHECK_OK(ak_hnsw_save(h, path, NULL, 0, &e), e);
    ak_hnsw_free(h);
    h = NULL;
    void *user = NULL;
    size_t ulen = 1;
    CHECK_OK(ak_hnsw_load(path, &h, &user, &ulen, &e), e);
    CHECK_INT(ulen, 0);
    CHECK(h && ak_hnsw_count(h) == 0);
    free(user);
    ak_hnsw_free(h);
}

static void test_persist(void)
{
    set st = make_set(3000, 1, 41), qs = make_set(30, 1, 42);
    ak_hnsw *h = build(&st);
    ak_hnsw_delete(h, 7);
    char path[512];
    snprintf(path, sizeof path, "%s/g.idx", test_tmpdir());
    ak_err e;
    CHECK_OK(ak_hnsw_save(h, path, "hello", 5, &e), e);
    ak_hnsw *m = NULL;
    void *user = NULL;
    size_t ulen = 0;
    CHECK_OK(ak_hnsw_load(path, &m, &user, &ulen, &e), e);
    if (!m) {
        ak_hnsw_free(h);
        return;
    }
    CHECK(ulen == 5 && memcmp(user, "hello", 5) == 0);
    free(user);
    CHECK_INT(ak_hnsw_count(m), 3000);
    CHECK(ak_hnsw_is_deleted(m, 7));
    for (size_t qi = 0; qi < qs.n; qi++) {
        ak_hnsw_hit a[K], b[K];
        size_t na = ak_hnsw_search(h, qs.q + qi * AK_DIM, qs.s[qi], K, 32, NULL, NULL, a);
        size_t nb = ak_hnsw_search(m, qs.q + qi * AK_DIM, qs.s[qi], K, 32, NULL, NULL, b);
        CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
    }
    /* a deletion made in the mapping survives its pages being released
     * (only the links and vectors are dropped, then read back) */
    ak_hnsw_delete(m, 9);
    ak_hnsw_delete(h, 9);
    ak_hnsw_release_pages(m);
    CHECK(ak_hnsw_is_deleted(m, 9) && !ak_hnsw_is_deleted(m, 10));
    for (size_t qi = 0; qi < qs.n; qi++) {
        ak_hnsw_hit a[K], b[K];
        size_t na = ak_hnsw_search(h, qs.q + qi * AK_DIM, qs.s[qi], K, 32, NULL, NULL, a);
        size_t nb = ak_hnsw_search(m, qs.q + qi * AK_DIM, qs.s[qi], K, 32, NULL, NULL, b);
        CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
    }
    /* a mapped graph keeps taking nodes and deletions */
    uint32_t id;
    CHECK_OK(ak_hnsw_add(m, st.q, st.s[0], &id, &e), e);
    CHECK_INT(id, 3000);
    ak_hnsw_delete(m, 8);
    CHECK_INT(ak_hnsw_deleted(m), 3);
    ak_hnsw_hit top[1];
    CHECK_INT(ak_hnsw_search(m, st.q, st.s[0], 1, 64, NULL, NULL, top), 1);
    CHECK(top[0].id == 0 || top[0].id == 3000);
    ak_hnsw_free(m);
    ak_hnsw_free(h);
    free_set(&st);
    free_set(&qs);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    if (b && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* Recompute the CRC (all bytes but offset 52..55), as a forger would. */
static void fix_crc(unsigned char *b, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, b, 52);
    c = crc32(c, b + 56, (uInt)(len - 56));
    uint32_t v = (uint32_t)c;
    memcpy(b + 52, &v, 4);
}

static void expect_corrupt(const unsigned char *b, size_t len, const char *why)
{
    ak_hnsw *h = NULL;
    ak_err e;
    ak_code rc = ak_hnsw_from_bytes(b, len, 0, &h, NULL, NULL, &e);
    if (rc != AK_ERR_CORRUPT)
        fprintf(stderr, "  %s: got %s\n", why, ak_code_name(rc));
    CHECK_INT(rc, AK_ERR_CORRUPT);
    CHECK(h == NULL);
    ak_hnsw_free(h);
}

static void test_corrupt(void)
{
    set st = make_set(500, 1, 51);
    ak_hnsw *h = build(&st);
    char path[512];
    snprintf(path, sizeof path, "%s/c.idx", test_tmpdir());
    ak_err e;
    CHECK_OK(ak_hnsw_save(h, path, "u", 1, &e), e);
    ak_hnsw_free(h);
    size_t len = 0;
    unsigned char *b = slurp(path, &len);
    CHECK(b != NULL);
    if (!b)
        return;
    ak_hnsw *ok = NULL;
    CHECK_OK(ak_hnsw_from_bytes(b, len, 0, &ok, NULL, NULL, &e), e);
    ak_hnsw_free(ok);
    /* any flipped byte: the checksum */
    for (size_t at = 0; at < len; at += len / 37 + 1) {
        b[at] ^= 0x40;
        expect_corrupt(b, len, "flipped byte");
        b[at] ^= 0x40;
    }
    expect_corrupt(b, len - 1, "truncated");
    expect_corrupt(b, 63, "shorter than a header");
    /* forged checksums over bad structure: a link to a missing node, a
     * count over the limit, a node count larger than the file */
    uint32_t n;
    memcpy(&n, b + 24, 4);
    size_t l0 = 0; /* find the level-0 links: the first section after del */
    for (size_t off = 64; off + 4 <= len; off += 64) {
        uint32_t c;
        memcpy(&c, b + off, 4);
        if (c >= 1 && c <= 32 && off > 64 + 1 + (size_t)n * 9) {
            l0 = off;
            break;
        }
    }
    CHECK(l0 != 0);
    unsigned char *bad = malloc(len);
    memcpy(bad, b, len);
    uint32_t missing = n + 5, big = 999;
    memcpy(bad + l0 + 4, &missing, 4);
    fix_crc(bad, len);
    expect_corrupt(bad, len, "link to a missing node");
    memcpy(bad, b, len);
    memcpy(bad + l0, &big, 4);
    fix_crc(bad, len);
    expect_corrupt(bad, len, "link count over M0");
    memcpy(bad, b, len);
    uint32_t huge = 0x7fffffff;
    memcpy(bad + 24, &huge, 4);
    fix_crc(bad, len);
    expect_corrupt(bad, len, "node count past the file");
    memcpy(bad, b, len);
    bad[0] = 'X';
    fix_crc(bad, len);
    expect_corrupt(bad, len, "magic");
    free(bad);
    /* a torn file on disk: load refuses it */
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len / 2, f);
    fclose(f);
    ak_hnsw *t = NULL;
    CHECK_INT(ak_hnsw_load(path, &t, NULL, NULL, &e), AK_ERR_CORRUPT);
    CHECK_HAS(e.msg, "c.idx");
    snprintf(path, sizeof path, "%s/none.idx", test_tmpdir());
    CHECK_INT(ak_hnsw_load(path, &t, NULL, NULL, &e), AK_ERR_NOTFOUND);
    free(b);
    free_set(&st);
}

/* The first level-0 link list: the first 64-aligned word after the
 * per-node arrays that holds a plausible count. */
static size_t find_l0(const unsigned char *b, size_t len)
{
    uint32_t n;
    memcpy(&n, b + 24, 4);
    for (size_t off = 64; off + 4 <= len; off += 64) {
        uint32_t c;
        memcpy(&c, b + off, 4);
        if (c >= 1 && c <= 32 && off > 64 + 1 + (size_t)n * 9)
            return off;
    }
    return 0;
}

/* Loaded lazily from bytes: taken, then refused by ak_hnsw_check(), and
 * never searched meanwhile. */
static void expect_check_refuses(const unsigned char *b, size_t len, const char *what)
{
    ak_hnsw *h = NULL;
    ak_err e;
    CHECK_OK(ak_hnsw_from_bytes(b, len, 1, &h, NULL, NULL, &e), e);
    if (!h)
        return;
    int8_t q[AK_DIM] = {1};
    ak_hnsw_hit out[K];
    CHECK_INT(ak_hnsw_search(h, q, 1.0f, K, 64, NULL, NULL, out), 0);
    CHECK_INT(ak_hnsw_check(h, &e), AK_ERR_CORRUPT);
    CHECK_HAS(e.msg, what);
    CHECK_INT(ak_hnsw_search(h, q, 1.0f, K, 64, NULL, NULL, out), 0);
    ak_hnsw_free(h);
}

static void test_lazy(void)
{
    set st = make_set(800, 1, 61), qs = make_set(20, 1, 62);
    ak_hnsw *h = build(&st);
    char path[512];
    snprintf(path, sizeof path, "%s/lazy.idx", test_tmpdir());
    ak_err e;
    CHECK_OK(ak_hnsw_save(h, path, "user", 4, &e), e);
    ak_hnsw *m = NULL;
    void *user = NULL;
    size_t ulen = 0;
    int fd = -1;
    CHECK_OK(ak_hnsw_load_lazy(path, &m, &user, &ulen, &fd, &e), e);
    if (!m) {
        ak_hnsw_free(h);
        return;
    }
    CHECK(fd >= 0 && ulen == 4 && memcmp(user, "user", 4) == 0);
    free(user);
    /* unchecked: nothing found, nothing added; deletions work */
    ak_hnsw_hit a[K], b[K];
    uint32_t id;
    CHECK_INT(ak_hnsw_search(m, qs.q, qs.s[0], K, 64, NULL, NULL, a), 0);
    CHECK_INT(ak_hnsw_add(m, st.q, st.s[0], &id, &e), AK_ERR_INTERNAL);
    CHECK_INT(ak_hnsw_count(m), 800);
    ak_hnsw_delete(m, 5);
    ak_hnsw_delete(h, 5);
    CHECK_OK(ak_hnsw_check(m, &e), e);
    CHECK_OK(ak_hnsw_check(m, &e), e); /* a no-op the second time */
    for (size_t qi = 0; qi < qs.n; qi++) {
        size_t na = ak_hnsw_search(h, qs.q + qi * AK_DIM, qs.s[qi], K, 32, NULL, NULL, a);
        size_t nb = ak_hnsw_search(m, qs.q + qi * AK_DIM, qs.s[qi], K, 32, NULL, NULL, b);
        CHECK(na == K && na == nb && memcmp(a, b, na * sizeof *a) == 0);
    }
    /* the file's checksum, by its descriptor, after the graph grew (and
     * so left its mapping) */
    CHECK_OK(ak_hnsw_add(m, st.q, st.s[0], &id, &e), e);
    CHECK_OK(ak_hnsw_file_sum(fd, &e), e);
    close(fd);
    ak_hnsw_free(m);
    ak_hnsw_free(h);

    size_t len = 0;
    unsigned char *bytes = slurp(path, &len);
    CHECK(bytes != NULL);
    if (!bytes)
        return;
    /* a byte of a vector (the file's tail): the structure cannot show it,
     * the checksum does */
    FILE *f = fopen(path, "r+b");
    fseek(f, (long)len - 100, SEEK_SET);
    fputc(bytes[len - 100] ^ 0x11, f);
    fclose(f);
    m = NULL;
    CHECK_OK(ak_hnsw_load_lazy(path, &m, NULL, NULL, &fd, &e), e);
    if (m) {
        CHECK_OK(ak_hnsw_check(m, &e), e);
        CHECK_INT(ak_hnsw_file_sum(fd, &e), AK_ERR_CORRUPT);
        CHECK_HAS(e.msg, "checksum");
        close(fd);
        ak_hnsw_free(m);
    }
    CHECK_INT(ak_hnsw_load(path, &m, NULL, NULL, &e), AK_ERR_CORRUPT);
    /* the structural check, without any checksum: a link to a missing
     * node, a count over M0, a level out of range */
    size_t l0 = find_l0(bytes, len);
    CHECK(l0 != 0);
    unsigned char *bad = malloc(len);
    uint32_t n = 800, missing = n + 3, big = 999;
    memcpy(bad, bytes, len);
    memcpy(bad + l0 + 4, &missing, 4);
    expect_check_refuses(bad, len, "link names a missing node");
    memcpy(bad, bytes, len);
    memcpy(bad + l0, &big, 4);
    expect_check_refuses(bad, len, "link names a missing node");
    memcpy(bad, bytes, len);
    bad[128] = 200; /* level of node 0 (user bytes 4: levels at 128) */
    expect_check_refuses(bad, len, "levels are out of range");
    /* truncated, or with a header that does not match the size: refused
     * at the lazy load already */
    ak_hnsw *t = NULL;
    CHECK_INT(ak_hnsw_from_bytes(bytes, len - 1, 1, &t, NULL, NULL, &e), AK_ERR_CORRUPT);
    CHECK_INT(ak_hnsw_from_bytes(bytes, 63, 1, &t, NULL, NULL, &e), AK_ERR_CORRUPT);
    memcpy(bad, bytes, len);
    uint32_t huge = 0x7fffffff;
    memcpy(bad + 24, &huge, 4);
    CHECK_INT(ak_hnsw_from_bytes(bad, len, 1, &t, NULL, NULL, &e), AK_ERR_CORRUPT);
    CHECK(t == NULL);
    f = fopen(path, "wb");
    fwrite(bytes, 1, len / 2, f);
    fclose(f);
    fd = -1;
    CHECK_INT(ak_hnsw_load_lazy(path, &t, NULL, NULL, &fd, &e), AK_ERR_CORRUPT);
    CHECK(t == NULL && fd == -1);
    free(bad);
    free(bytes);
    free_set(&st);
    free_set(&qs);
}

int main(void)
{
    RUN(test_recall_clustered);
    RUN(test_recall_random);
    RUN(test_delete_and_filter);
    RUN(test_empty);
    RUN(test_persist);
    RUN(test_corrupt);
    RUN(test_lazy);
    return test_report("hnsw");
}
