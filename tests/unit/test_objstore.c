/*
 * test_objstore.c - unit tests for the object store (objstore.c) and its
 * local-directory backend (objstore_local.c).
 *
 * Listings are checked against a reference computed here from the plain key
 * list (sorted with strcmp, grouped at the delimiter by hand), so the
 * directory walk is held to S3's definition rather than to itself.
 */
#include "objstore/objstore.h"
#include "test.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- scratch buckets -------------------------------------------------- */

static void scratch_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", test_tmpdir(), name);
}

/* A fresh, empty bucket directory named name under the scratch dir. */
static ak_store *open_bucket(const char *name)
{
    char path[PATH_MAX];
    ak_store *s = NULL;
    ak_err err = {0};
    scratch_path(path, sizeof path, name);
    CHECK(mkdir(path, 0755) == 0);
    CHECK_OK(ak_store_open(path, &s, &err), err);
    return s;
}

/* Create a file or directory inside a bucket behind the store's back. */
static void make_raw_file(const char *bucket, const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", test_tmpdir(), bucket, rel);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void make_raw_dir(const char *bucket, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", test_tmpdir(), bucket, rel);
    CHECK(mkdir(path, 0755) == 0);
}

static int raw_exists(const char *bucket, const char *rel)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/%s", test_tmpdir(), bucket, rel);
    return stat(path, &st) == 0;
}

static void put_str(ak_store *s, const char *key, const char *text)
{
    ak_err err = {0};
    CHECK_OK(ak_store_put(s, key, text, strlen(text), &err), err);
}

static void put_all(ak_store *s, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_str(s, keys[i], keys[i]);
}

/* ---- string lists and the reference listing ---------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} strlist;

static void strlist_addn(strlist *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n++] = strndup(s, n);
}

static void strlist_add(strlist *l, const char *s) { strlist_addn(l, s, strlen(s)); }

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What S3 would list: keys under prefix, those with a delimiter after the
 * prefix folded into their common prefix, in byte order, each once. */
static void reference_listing(const char *const *keys, size_t n,
                              const char *prefix, const char *delim,
                              strlist *out)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(keys[i], prefix, plen) != 0)
            continue;
        const char *slash = delim ? strchr(keys[i] + plen, '/') : NULL;
        strlist_addn(out, keys[i], slash ? (size_t)(slash - keys[i]) + 1 : strlen(keys[i]));
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_str);
    size_t kept = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (kept && strcmp(out->v[kept - 1], out->v[i]) == 0)
            free(out->v[i]);
        else
            out->v[kept++] = out->v[i];
    }
    out->n = kept;
}

/* Append a page's objects and prefixes, merged in key order. */
static void append_page(const ak_store_page *p, strlist *out)
{
    size_t i = 0, j = 0;
    while (i < p->n_objs || j < p->n_prefixes) {
        int take_obj = j == p->n_prefixes ||
                       (i < p->n_objs && strcmp(p->objs[i].key, p->prefixes[j]) < 0);
        if (take_obj) {
            CHECK(p->objs[i].key[strlen(p->objs[i].key) - 1] != '/');
            strlist_add(out, p->objs[i++].key);
        } else {
            CHECK(p->prefixes[j][strlen(p->prefixes[j]) - 1] == '/');
            strlist_add(out, p->prefixes[j++]);
        }
    }
}

/* Everything under prefix, fetched max_keys at a time and checked page by
 * page: within the size cap, strictly after everything before it (no dupes,
 * byte order), and the token is the page's last entry.  Returns the page
 * count. */
static size_t list_all(ak_store *s, const char *prefix, const char *delim,
                       size_t max_keys, strlist *out)
{
    char *token = NULL;
    size_t pages = 0;
    do {
        ak_store_page p;
        ak_err err = {0};
        ak_code rc = ak_store_list(s, prefix, delim, token, max_keys, &p, &err);
        CHECK_OK(rc, err);
        if (rc != AK_OK)
            break;
        pages++;
        size_t first = out->n;
        CHECK(p.n_objs + p.n_prefixes <= (max_keys ? max_keys : 1000));
        append_page(&p, out);
        for (size_t i = first ? first : 1; i < out->n; i++)
            CHECK(strcmp(out->v[i - 1], out->v[i]) < 0);
        if (p.next_token) {
            CHECK(out->n > first);
            CHECK_STR(p.next_token, out->v[out->n - 1]);
        }
        free(token);
        token = p.next_token ? strdup(p.next_token) : NULL;
        ak_store_page_free(&p);
    } while (token && pages < 100000);
    free(token);
    return pages;
}

static void check_same_list(const strlist *got, const strlist *want,
                            const char *what)
{
    if (got->n != want->n)
        fprintf(stderr, "%s: %zu entries, expected %zu\n", what, got->n, want->n);
    CHECK_INT(got->n, want->n);
    for (size_t i = 0; i < got->n && i < want->n; i++)
        CHECK_STR(got->v[i], want->v[i]);
}

/* The paged listing equals the reference, in exactly ceil(n / max) pages
 * (so no empty page at the end). */
static void check_listing(ak_store *s, const char *const *keys, size_t n,
                          const char *prefix, const char *delim, size_t max_keys)
{
    strlist got = {0}, want = {0};
    char what[256];
    snprintf(what, sizeof what, "list prefix \"%s\" delim %s max %zu", prefix,
             delim ? "\"/\"" : "none", max_keys);
    reference_listing(keys, n, prefix, delim, &want);
    size_t pages = list_all(s, prefix, delim, max_keys, &got);
    check_same_list(&got, &want, what);
    size_t per_page = max_keys ? max_keys : 1000;
    size_t want_pages = want.n ? (want.n + per_page - 1) / per_page : 1;
    if (pages != want_pages)
        fprintf(stderr, "%s: %zu pages\n", what, pages);
    CHECK_INT(pages, want_pages);
    strlist_free(&got);
    strlist_free(&want);
}

/* The merged listing of one page-less call, for explicit expectations. */
static void check_listing_is(ak_store *s, const char *prefix, const char *delim,
                             const char *const *want, size_t n)
{
    strlist got = {0}, w = {0};
    for (size_t i = 0; i < n; i++)
        strlist_add(&w, want[i]);
    list_all(s, prefix, delim, 0, &got);
    check_same_list(&got, &w, prefix);
    strlist_free(&got);
    strlist_free(&w);
}

/* ---- sinks ------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len;
    size_t calls;
    size_t max_chunk;
} collect_ctx;

static ak_code collect_sink(void *ctx, const void *data, size_t len)
{
    collect_ctx *c = ctx;
    char *p = realloc(c->data, c->len + len + 1);
    if (!p)
        return AK_ERR_NOMEM;
    memcpy(p + c->len, data, len);
    c->data = p;
    c->len += len;
    c->calls++;
    if (len > c->max_chunk)
        c->max_chunk = len;
    return AK_OK;
}

static ak_code refuse_sink(void *ctx, const void *data, size_t len)
{
    size_t *calls = ctx;
    (void)data, (void)len;
    (*calls)++;
    return AK_ERR_IO;
}

static ak_code explaining_sink(void *ctx, const void *data, size_t len)
{
    (void)data, (void)len;
    return ak_err_set(ctx, AK_ERR_INVALID, "consumer says no");
}

static char *binary_blob(size_t len)
{
    char *b = malloc(len ? len : 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (char)(i % 7 == 0 ? 0 : x); /* plenty of NULs */
    }
    return b;
}

/* ---- tests: opening --------------------------------------------------- */

static void check_open_fails(const char *url, ak_code code, const char *msg)
{
    ak_store *s = (ak_store *)&s; /* must be reset to NULL */
    ak_err err = {0};
    CHECK_INT(ak_store_open(url, &s, &err), code);
    CHECK_INT(err.code, code);
    CHECK(s == NULL);
    CHECK_HAS(err.msg, msg);
}

static void test_open(void)
{
    char path[PATH_MAX], real[PATH_MAX], want_url[PATH_MAX + 16];
    char urls[4][PATH_MAX + 16], cwd[PATH_MAX];
    ak_err err = {0};
    scratch_path(path, sizeof path, "open");
    CHECK(mkdir(path, 0755) == 0);
    CHECK(realpath(path, real) != NULL);
    snprintf(want_url, sizeof want_url, "file://%s", real);
    snprintf(urls[0], sizeof urls[0], "%s", path);
    snprintf(urls[1], sizeof urls[1], "file://%s", path);
    snprintf(urls[2], sizeof urls[2], "%s/", path);
    snprintf(urls[3], sizeof urls[3], "file://%s/../open", path);
    const char *relative[] = {"open", "./open/../open/"}; /* from test_tmpdir() */

    for (size_t i = 0; i < 4 + sizeof relative / sizeof *relative; i++) {
        ak_store *s = NULL;
        const char *url = i < 4 ? urls[i] : relative[i - 4];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        CHECK(chdir(test_tmpdir()) == 0);
        CHECK_OK(ak_store_open(url, &s, &err), err);
        CHECK(chdir(cwd) == 0);
        if (s)
            CHECK_STR(ak_store_url(s), want_url); /* canonical whatever the form */
        ak_store_close(s);
    }

    char file[PATH_MAX + 16], missing[PATH_MAX];
    snprintf(file, sizeof file, "%s/plain-file", path);
    make_raw_file("open", "plain-file", "x");
    scratch_path(missing, sizeof missing, "no-such-bucket");
    check_open_fails(missing, AK_ERR_NOTFOUND, "does not exist");
    check_open_fails(missing, AK_ERR_NOTFOUND, missing);
    check_open_fails(file, AK_ERR_NOTFOUND, "does not exist");
    check_open_fails("http://example.com/b", AK_ERR_INVALID, "http://example.com/b");
    check_open_fails("ftp://host/path", AK_ERR_INVALID, "ftp://host/path");
    check_open_fails("file://relative/x", AK_ERR_INVALID, "file://relative/x");
    check_open_fails("", AK_ERR_INVALID, "empty");
    check_open_fails("s3:///prefix", AK_ERR_INVALID, "no bucket name"); /* see test_s3* */
    ak_store_close(NULL);
}

/* ---- tests: keys ------------------------------------------------------ */

static void test_key_validation(void)
{
    char longest[AK_STORE_KEY_MAX + 2];
    memset(longest, 'k', AK_STORE_KEY_MAX);
    for (size_t i = 100; i < AK_STORE_KEY_MAX; i += 100)
        longest[i] = '/';
    longest[AK_STORE_KEY_MAX] = '\0';
    char too_long[AK_STORE_KEY_MAX + 2];
    memcpy(too_long, longest, AK_STORE_KEY_MAX);
    memcpy(too_long + AK_STORE_KEY_MAX, "k", 2);

    static const struct {
        const char *key;
        int valid;
    } table[] = {
        {"a", 1}, {"a/b", 1}, {"systems/sys1/u1/manifest.json", 1},
        {".hidden", 1}, {"..a", 1}, {"a..", 1}, {"a/.b/...", 1},
        {"a b", 1}, {"a\\b", 1}, {"\xc3\xa9t\xc3\xa9", 1}, {"a~", 1},
        {"", 0}, {"/abs", 0}, {"/", 0}, {"a//b", 0}, {"a/", 0}, {".", 0},
        {"..", 0}, {"a/../b", 0}, {"a/./b", 0}, {"./a", 0}, {"../a", 0},
        {"a/..", 0}, {"a/.", 0}, {"a\001b", 0}, {"a\x1f", 0}, {"a\x7f", 0},
        {"a\tb", 0}, {"a\nb", 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (ak_store_key_valid(table[i].key) != table[i].valid)
            fprintf(stderr, "key \"%s\": expected valid=%d\n", table[i].key,
                    table[i].valid);
        CHECK_INT(ak_store_key_valid(table[i].key), table[i].valid);
    }
    CHECK_INT(ak_store_key_valid(longest), 1);
    CHECK_INT(ak_store_key_valid(too_long), 0);
    CHECK_INT(ak_store_key_valid(NULL), 0);
}

static void test_invalid_keys_rejected(void)
{
    ak_store *s = open_bucket("badkeys");
    static const char *const bad[] = {"../escape", "/abs", "a//b", "a/../b",
                                      "a\001b", "dir/", ""};
    for (size_t i = 0; s && i < sizeof bad / sizeof *bad; i++) {
        ak_err err = {0};
        ak_store_obj info;
        char *out = (char *)bad; /* must be reset */
        CHECK_INT(ak_store_put(s, bad[i], "x", 1, &err), AK_ERR_INVALID);
        CHECK_HAS(err.msg, "invalid object key");
        CHECK_INT(ak_store_get(s, bad[i], collect_sink, NULL, &err), AK_ERR_INVALID);
        CHECK_INT(ak_store_get_small(s, bad[i], 10, &out, NULL, &err), AK_ERR_INVALID);
        CHECK(out == NULL);
        CHECK_INT(ak_store_head(s, bad[i], &info, &err), AK_ERR_INVALID);
        CHECK_INT(ak_store_delete(s, bad[i], &err), AK_ERR_INVALID);
        CHECK_HAS(err.msg, "invalid object key");
    }
    CHECK(!raw_exists("", "escape")); /* nothing was written beside the bucket */
    CHECK(!raw_exists("badkeys", "a"));

    ak_err err = {0};
    CHECK_INT(ak_store_put(s, "a\001b", "x", 1, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "a\\x01b"); /* control bytes are escaped */

    static const char *const bad_prefixes[] = {"/", "a//", "../", "a/../", "/a", "a\nb"};
    for (size_t i = 0; i < sizeof bad_prefixes / sizeof *bad_prefixes; i++) {
        ak_store_page p;
        CHECK_INT(ak_store_list(s, bad_prefixes[i], NULL, NULL, 0, &p, &err),
                  AK_ERR_INVALID);
        CHECK_HAS(err.msg, "invalid object key prefix");
        CHECK(p.n_objs == 0 && p.objs == NULL && p.next_token == NULL);
    }
    ak_store_page p;
    CHECK_INT(ak_store_list(s, "", NULL, "../x", 0, &p, &err), AK_ERR_INVALID);
    CHECK_INT(ak_store_list(s, "", ",", NULL, 0, &p, &err), AK_ERR_UNSUPPORTED);
    ak_store_close(s);
}

/* ---- tests: objects --------------------------------------------------- */

static void test_round_trip(void)
{
    ak_store *s = open_bucket("roundtrip");
    ak_err err = {0};
    const size_t big = 600 * 1024 + 17; /* three read chunks */
    char *blob = binary_blob(big);
    time_t before = time(NULL);

    CHECK_OK(ak_store_put(s, "x/y/blob.bin", blob, big, &err), err);
    collect_ctx c = {0};
    CHECK_OK(ak_store_get(s, "x/y/blob.bin", collect_sink, &c, &err), err);
    CHECK_INT(c.len, big);
    CHECK(c.data && memcmp(c.data, blob, big) == 0);
    CHECK(c.max_chunk <= 256 * 1024);
    CHECK(c.calls >= 3);
    free(c.data);

    ak_store_obj info;
    CHECK_OK(ak_store_head(s, "x/y/blob.bin", &info, &err), err);
    CHECK_INT(info.size, big);
    CHECK_STR(info.key, "x/y/blob.bin");
    CHECK(info.mtime_us >= ((int64_t)before - 2) * 1000000);
    CHECK(info.mtime_us <= ((int64_t)time(NULL) + 2) * 1000000);
    free(info.key);
    CHECK_OK(ak_store_head(s, "x/y/blob.bin", NULL, &err), err);

    /* around the direct-I/O threshold, its 8 MiB chunk and the block size:
     * each object has exactly its bytes (whole blocks direct, the rest
     * through the cache) */
    const size_t huge = 8 * 1024 * 1024 * 2 + 4096 + 8;
    char *hblob = binary_blob(huge);
    static const size_t sizes[] = {256 * 1024 - 1, 256 * 1024, 512 * 1024, 512 * 1024 + 4095,
                                   4096 * 3 + 1, 8 * 1024 * 1024, 8 * 1024 * 1024 + 4097,
                                   8 * 1024 * 1024 * 2 + 4096 + 1};
    for (size_t i = 0; hblob && i < sizeof sizes / sizeof *sizes; i++) {
        char *got = NULL;
        size_t got_len = 0;
        CHECK_OK(ak_store_put(s, "sized", hblob + i, sizes[i], &err), err);
        CHECK_OK(ak_store_get_small(s, "sized", huge, &got, &got_len, &err), err);
        CHECK_INT(got_len, sizes[i]);
        CHECK(got && memcmp(got, hblob + i, sizes[i]) == 0);
        free(got);
    }
    free(hblob);

    /* zero bytes: no sink call, get_small yields "" */
    CHECK_OK(ak_store_put(s, "empty", NULL, 0, &err), err);
    collect_ctx e = {0};
    CHECK_OK(ak_store_get(s, "empty", collect_sink, &e, &err), err);
    CHECK_INT(e.calls, 0);
    char *out = NULL;
    size_t len = 99;
    CHECK_OK(ak_store_get_small(s, "empty", 0, &out, &len, &err), err);
    CHECK(out && out[0] == '\0');
    CHECK_INT(len, 0);
    free(out);
    CHECK_OK(ak_store_head(s, "empty", &info, &err), err);
    CHECK_INT(info.size, 0);
    free(info.key);

    /* replacing with shorter data leaves no tail of the old object */
    CHECK_OK(ak_store_put(s, "x/y/blob.bin", "short", 5, &err), err);
    CHECK_OK(ak_store_get_small(s, "x/y/blob.bin", 100, &out, &len, &err), err);
    CHECK_INT(len, 5);
    CHECK_STR(out, "short");
    free(out);

    /* binary content with NULs through get_small; out_len may be NULL */
    CHECK_OK(ak_store_put(s, "bin", blob, 1000, &err), err);
    CHECK_OK(ak_store_get_small(s, "bin", 1000, &out, &len, &err), err);
    CHECK_INT(len, 1000);
    CHECK(out && memcmp(out, blob, 1000) == 0 && out[1000] == '\0');
    free(out);
    CHECK_OK(ak_store_get_small(s, "bin", 1000, &out, NULL, &err), err);
    free(out);
    free(blob);
    ak_store_close(s);
}

static void test_get_small_cap(void)
{
    ak_store *s = open_bucket("cap");
    ak_err err = {0};
    char *blob = binary_blob(600 * 1024);
    char *out = NULL;
    size_t len = 0;
    put_str(s, "hundred", "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789");
    CHECK_OK(ak_store_get_small(s, "hundred", 100, &out, &len, &err), err);
    CHECK_INT(len, 100);
    free(out);
    CHECK_INT(ak_store_get_small(s, "hundred", 99, &out, &len, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "larger than 99 bytes");
    CHECK_HAS(err.msg, "hundred");
    CHECK(out == NULL);
    CHECK_INT(ak_store_get_small(s, "hundred", 0, &out, &len, &err), AK_ERR_INVALID);

    CHECK_OK(ak_store_put(s, "big", blob, 600 * 1024, &err), err);
    CHECK_INT(ak_store_get_small(s, "big", 300 * 1024, &out, &len, &err), AK_ERR_INVALID);
    CHECK(out == NULL);
    free(blob);
    ak_store_close(s);
}

static void check_not_found(ak_store *s, const char *key)
{
    ak_err err = {0};
    ak_store_obj info;
    char *out = NULL;
    collect_ctx c = {0};
    CHECK_INT(ak_store_get(s, key, collect_sink, &c, &err), AK_ERR_NOTFOUND);
    CHECK_HAS(err.msg, key);
    CHECK_INT(ak_store_head(s, key, &info, &err), AK_ERR_NOTFOUND);
    CHECK_HAS(err.msg, key);
    CHECK_INT(ak_store_get_small(s, key, 100, &out, NULL, &err), AK_ERR_NOTFOUND);
    CHECK_INT(err.code, AK_ERR_NOTFOUND);
    CHECK(out == NULL);
    free(c.data);
}

static void test_missing_and_conflicts(void)
{
    ak_store *s = open_bucket("missing");
    ak_err err = {0};
    put_str(s, "dir/x", "x");
    put_str(s, "file", "f");
    check_not_found(s, "nope");
    check_not_found(s, "no/such/dir/key");
    check_not_found(s, "dir");        /* a directory is not an object */
    check_not_found(s, "file/below"); /* nor is anything below a file */

    /* S3 allows these; a file system cannot hold them: permanent, not IO */
    CHECK_INT(ak_store_put(s, "file/below", "x", 1, &err), AK_ERR_UNSUPPORTED);
    CHECK_HAS(err.msg, "file/below");
    CHECK_INT(ak_store_put(s, "dir", "x", 1, &err), AK_ERR_UNSUPPORTED);
    CHECK_HAS(err.msg, "put dir:");
    char seg[300];
    memset(seg, 's', sizeof seg - 1);
    seg[sizeof seg - 1] = '\0';
    CHECK_INT(ak_store_put(s, seg, "x", 1, &err), AK_ERR_UNSUPPORTED);
    check_not_found(s, seg);

    /* the temp-file name is reserved: never an object */
    CHECK_INT(ak_store_put(s, "d/.akosha-tmp-1234", "x", 1, &err), AK_ERR_UNSUPPORTED);
    make_raw_file("missing", ".akosha-tmp-0000", "partial");
    check_not_found(s, ".akosha-tmp-0000");
    CHECK_OK(ak_store_delete(s, ".akosha-tmp-0000", &err), err);
    CHECK(raw_exists("missing", ".akosha-tmp-0000")); /* a put in flight survives */

    /* a FIFO in the bucket is not an object, and get must not block on it */
    char fifo[PATH_MAX];
    snprintf(fifo, sizeof fifo, "%s/missing/fifo", test_tmpdir());
    CHECK(mkfifo(fifo, 0644) == 0);
    check_not_found(s, "fifo");
    ak_store_close(s);
}

static void check_text(ak_store *s, const char *key, const char *want)
{
    ak_err err = {0};
    char *got = NULL;
    size_t len = 0;
    CHECK_OK(ak_store_get_small(s, key, 1024, &got, &len, &err), err);
    CHECK_STR(got ? got : "", want);
    free(got);
}

/* ak_store_put2: two objects as two puts in a row would leave them, the
 * local backend's one directory sync aside. */
static void test_put2(void)
{
    ak_store *s = open_bucket("put2");
    ak_err err = {0};
    size_t n = 9;
    CHECK_OK(ak_store_put2(s, "u/1/data", "payload", 7, "u/1/manifest.json", "{}", 2, &err),
             err);
    check_text(s, "u/1/data", "payload");
    check_text(s, "u/1/manifest.json", "{}");
    CHECK_OK(ak_store_put2(s, "u/1/data", "again", 5, "u/1/manifest.json", "[]", 2, &err), err);
    check_text(s, "u/1/data", "again"); /* replaced, as by put */
    check_text(s, "u/1/manifest.json", "[]");
    /* in two directories it is two puts */
    CHECK_OK(ak_store_put2(s, "a/x", "ax", 2, "b/c/y", "by", 2, &err), err);
    check_text(s, "a/x", "ax");
    check_text(s, "b/c/y", "by");

    /* the second refused before either is renamed: neither is stored */
    CHECK_INT(ak_store_put2(s, "u/2/data", "p", 1, "u/2/.akosha-tmp-1", "m", 1, &err),
              AK_ERR_UNSUPPORTED);
    check_not_found(s, "u/2/data");
    /* the second's rename fails (a directory holds its name): the first
     * stays, as after a put and a failed put */
    make_raw_dir("put2", "u/3");
    make_raw_dir("put2", "u/3/manifest.json");
    CHECK_INT(ak_store_put2(s, "u/3/data", "p", 1, "u/3/manifest.json", "m", 1, &err),
              AK_ERR_UNSUPPORTED);
    CHECK_HAS(err.msg, "put u/3/manifest.json:");
    check_text(s, "u/3/data", "p");
    CHECK_INT(ak_store_put2(s, "ok", "p", 1, "bad//key", "m", 1, &err), AK_ERR_INVALID);
    check_not_found(s, "ok");
    CHECK_OK(ak_store_temps(s, "", 0, NULL, NULL, &n, &err), err);
    CHECK_INT(n, 0); /* no temp file is left behind */
    ak_store_close(s);
}

static void test_delete(void)
{
    ak_store *s = open_bucket("delete");
    ak_err err = {0};
    put_str(s, "d1/d2/d3/obj", "o");
    put_str(s, "d1/keep", "k");
    CHECK_OK(ak_store_delete(s, "d1/d2/d3/obj", &err), err);
    check_not_found(s, "d1/d2/d3/obj");
    CHECK(!raw_exists("delete", "d1/d2"));
    CHECK(raw_exists("delete", "d1/keep"));
    CHECK_OK(ak_store_delete(s, "d1/keep", &err), err);
    CHECK(!raw_exists("delete", "d1"));
    CHECK(raw_exists("delete", "")); /* the bucket itself stays */

    CHECK_OK(ak_store_delete(s, "never", &err), err);
    CHECK_OK(ak_store_delete(s, "never/was/here", &err), err);
    put_str(s, "top/obj", "o");
    CHECK_OK(ak_store_delete(s, "top", &err), err); /* a directory: no object */
    CHECK(raw_exists("delete", "top/obj"));
    CHECK_OK(ak_store_delete(s, "top/obj/below", &err), err);
    CHECK(raw_exists("delete", "top/obj"));
    ak_store_close(s);
}

static void test_sink_abort(void)
{
    ak_store *s = open_bucket("abort");
    ak_err err = {0};
    char *blob = binary_blob(600 * 1024);
    CHECK_OK(ak_store_put(s, "big", blob, 600 * 1024, &err), err);
    size_t calls = 0;
    CHECK_INT(ak_store_get(s, "big", refuse_sink, &calls, &err), AK_ERR_ABORTED);
    CHECK_INT(calls, 1);
    CHECK_INT(err.code, AK_ERR_ABORTED);
    CHECK_HAS(err.msg, "aborted by consumer");
    CHECK_HAS(err.msg, "big");

    /* a sink that explains itself keeps its own message */
    CHECK_INT(ak_store_get(s, "big", explaining_sink, &err, &err), AK_ERR_ABORTED);
    CHECK_STR(err.msg, "consumer says no");
    free(blob);
    ak_store_close(s);
}

/* ---- tests: listing --------------------------------------------------- */

/* Names whose directory walk order differs from naive name order: '-', ' ',
 * '!' and '.' sort before '/', '0' and '~' after it, "y-" before "y", and
 * bytes >= 0x80 after ASCII. */
static const char *const tricky_keys[] = {
    "a-b", "a/x", "a.b", "a0", "a/y/z", "a/x-y", "a b", "a!", "a~", "A", "b",
    "a/y-/q", "a/y0", "a/y/z/deeper-not", "\xc3\xa9t\xc3\xa9", "z/\xc3\xa9",
    "a/y-z", "bb/c/d/e/f", "bb/c/d/e-", "bb/c/d/e0",
};
#define N_TRICKY (sizeof tricky_keys / sizeof *tricky_keys)

/* "a/y/z" and "a/y/z/deeper-not" cannot both be files; drop the file form. */
static int tricky_storable(size_t i) { return strcmp(tricky_keys[i], "a/y/z") != 0; }

static size_t storable_tricky_keys(const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < N_TRICKY; i++)
        if (tricky_storable(i))
            out[n++] = tricky_keys[i];
    return n;
}

static void test_list_order(void)
{
    ak_store *s = open_bucket("order");
    ak_err err = {0};
    const char *keys[N_TRICKY];
    size_t n = storable_tricky_keys(keys);
    put_all(s, keys, n);
    CHECK_INT(ak_store_put(s, "a/", "x", 1, &err), AK_ERR_INVALID);
    check_listing(s, keys, n, "", NULL, 0);

    static const char *const want_flat[] = {"a-b", "a.b", "a/x", "a/x-y", "a0"};
    static const char *const want_delim[] = {"a-b", "a.b", "a/", "a0"};
    ak_store *small = open_bucket("order-small");
    static const char *const small_keys[] = {"a-b", "a/x", "a.b", "a0", "a/x-y"};
    put_all(small, small_keys, 5);
    check_listing_is(small, "", NULL, want_flat, 5);
    check_listing_is(small, "", "/", want_delim, 4);

    /* object metadata comes through the listing */
    ak_store_page p;
    CHECK_OK(ak_store_list(small, "a-", NULL, NULL, 0, &p, &err), err);
    CHECK_INT(p.n_objs, 1);
    if (p.n_objs == 1) {
        CHECK_STR(p.objs[0].key, "a-b");
        CHECK_INT(p.objs[0].size, 3);
        CHECK(p.objs[0].mtime_us > 0);
    }
    ak_store_page_free(&p);
    ak_store_close(small);
    ak_store_close(s);
}

static void test_list_delimiter(void)
{
    ak_store *s = open_bucket("delim");
    const char *keys[N_TRICKY];
    size_t n = storable_tricky_keys(keys);
    put_all(s, keys, n);
    static const char *const prefixes[] = {"", "a", "a/", "a/y", "a/y/", "bb/c/d/",
                                           "bb/c/d/e", "z", "nothing/", "nothing"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        check_listing(s, keys, n, prefixes[i], "/", 0);
        check_listing(s, keys, n, prefixes[i], NULL, 0);
    }
    ak_store_close(s);
}

static void test_list_partial_prefix(void)
{
    ak_store *s = open_bucket("partial");
    static const char *const keys[] = {
        "systems/sys1/u1/m.json", "systems/sys1/u2/m.json", "systems/sys2/u1/m.json",
        "systems/other/u/m", "systems/sy", "systems/syz", "systemsX/a", "sys",
    };
    put_all(s, keys, sizeof keys / sizeof *keys);
    static const char *const want_delim[] = {"systems/sy", "systems/sys1/",
                                             "systems/sys2/", "systems/syz"};
    static const char *const want_flat[] = {"systems/sy", "systems/sys1/u1/m.json",
                                            "systems/sys1/u2/m.json",
                                            "systems/sys2/u1/m.json", "systems/syz"};
    check_listing_is(s, "systems/sy", "/", want_delim, 4);
    check_listing_is(s, "systems/sy", NULL, want_flat, 5);
    static const char *const want_top[] = {"sys", "systems/", "systemsX/"};
    check_listing_is(s, "sy", "/", want_top, 3);
    check_listing_is(s, "systems/sys1/u", "/", (const char *const[]){"systems/sys1/u1/",
                                                                    "systems/sys1/u2/"}, 2);
    ak_store_close(s);
}

static void test_list_pagination(void)
{
    ak_store *s = open_bucket("pages");
    const char *keys[N_TRICKY];
    size_t n = storable_tricky_keys(keys);
    put_all(s, keys, n);
    /* empty directories at the start, middle and end must neither appear nor
     * cause a page with a token but nothing after it */
    make_raw_dir("pages", "0-empty");
    make_raw_dir("pages", "a/y/empty");
    make_raw_dir("pages", "zz-empty");
    make_raw_dir("pages", "zz-empty/inner");
    static const char *const prefixes[] = {"", "a", "a/", "a/y", "bb/", "nothing/"};
    for (size_t max = 1; max <= 3; max++)
        for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
            check_listing(s, keys, n, prefixes[i], NULL, max);
            check_listing(s, keys, n, prefixes[i], "/", max);
        }
    check_listing(s, keys, n, "", NULL, n);     /* exactly one full page */
    check_listing(s, keys, n, "", NULL, n - 1); /* one entry left over */

    /* a token past everything yields an empty last page */
    ak_store_page p;
    ak_err err = {0};
    CHECK_OK(ak_store_list(s, "", NULL, "\xff", 0, &p, &err), err);
    CHECK(p.n_objs == 0 && p.n_prefixes == 0 && p.next_token == NULL);
    ak_store_page_free(&p);
    ak_store_close(s);
}

static void test_list_default_page_size(void)
{
    ak_store *s = open_bucket("thousand");
    const size_t n = 1003;
    const char **keys = calloc(n, sizeof *keys);
    char name[32];
    for (size_t i = 0; i < n; i++) { /* written directly: put's fsyncs are slow */
        snprintf(name, sizeof name, "k%05zu", i);
        make_raw_file("thousand", name, "v");
        keys[i] = strdup(name);
    }
    check_listing(s, keys, n, "", NULL, 0);
    ak_store_page p;
    ak_err err = {0};
    CHECK_OK(ak_store_list(s, "", NULL, NULL, 0, &p, &err), err);
    CHECK_INT(p.n_objs, 1000);
    CHECK_STR(p.next_token, "k00999");
    ak_store_page_free(&p);
    for (size_t i = 0; i < n; i++)
        free((char *)keys[i]);
    free(keys);
    ak_store_close(s);
}

static void test_list_skips_non_objects(void)
{
    ak_store *s = open_bucket("hidden");
    put_str(s, "real/obj", "o");
    make_raw_dir("hidden", "empty");
    make_raw_dir("hidden", "empty/deeper");
    make_raw_file("hidden", ".akosha-tmp-0000", "partial");
    make_raw_file("hidden", "real/.akosha-tmp-1111", "partial");
    make_raw_dir("hidden", "onlytemp");
    make_raw_file("hidden", "onlytemp/.akosha-tmp-2222", "partial");
    make_raw_dir("hidden", ".akosha-tmp-dir");
    make_raw_file("hidden", ".akosha-tmp-dir/z", "z");
    make_raw_file("hidden", "bad\001name", "control byte: not a valid key");
    char fifo[PATH_MAX], link[PATH_MAX];
    snprintf(fifo, sizeof fifo, "%s/hidden/fifo", test_tmpdir());
    CHECK(mkfifo(fifo, 0644) == 0);
    /* a link is never followed, even to an object of the bucket */
    snprintf(link, sizeof link, "%s/hidden/link", test_tmpdir());
    CHECK(symlink("real/obj", link) == 0);

    static const char *const flat[] = {"real/obj"};
    static const char *const delim[] = {"real/"};
    check_listing_is(s, "", NULL, flat, 1);
    check_listing_is(s, "", "/", delim, 1);
    ak_store_close(s);
}

static void link_in_bucket(const char *bucket, const char *rel, const char *target)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", test_tmpdir(), bucket, rel);
    CHECK(symlink(target, path) == 0);
}

static void check_link_refused(ak_code rc, const ak_err *err)
{
    CHECK_INT(rc, AK_ERR_INVALID);
    CHECK_HAS(err->msg, "symbolic link");
}

/* A bucket is untrusted: nothing outside its root is ever opened, read,
 * written or deleted, whatever links it holds (issue 20, item 1). */
static void test_links_never_followed(void)
{
    char outside[PATH_MAX], secret[PATH_MAX + 8];
    scratch_path(outside, sizeof outside, "outside");
    CHECK(mkdir(outside, 0755) == 0);
    make_raw_file("outside", "secret", "not for the bucket");
    snprintf(secret, sizeof secret, "%s/secret", outside);
    ak_store *s = open_bucket("links");
    put_str(s, "real/obj", "o");
    link_in_bucket("links", "sysdir", outside);         /* a directory outside */
    link_in_bucket("links", "real/evil", secret);       /* a file outside */
    link_in_bucket("links", "real/inner", "obj");       /* even one inside */
    link_in_bucket("links", "real/loop", ".");          /* a loop */
    link_in_bucket("links", "environ", "/proc/self/environ");

    ak_err err = {0};
    char *data = NULL;
    size_t len = 0;
    static const char *const via_link[] = {"sysdir/secret", "real/evil", "real/inner",
                                           "real/loop/obj", "environ"};
    for (size_t i = 0; i < sizeof via_link / sizeof *via_link; i++) {
        check_link_refused(ak_store_get_small(s, via_link[i], 1024, &data, &len, &err), &err);
        CHECK(data == NULL);
        check_link_refused(ak_store_head(s, via_link[i], NULL, &err), &err);
    }
    /* listing shows the one object, and no link, loop or outside file */
    static const char *const flat[] = {"real/obj"};
    static const char *const delim[] = {"real/"};
    check_listing_is(s, "", NULL, flat, 1);
    check_listing_is(s, "", "/", delim, 1);
    check_listing_is(s, "sysdir/", NULL, NULL, 0);
    check_listing_is(s, "real/loop/", "/", NULL, 0);
    /* nothing is written or deleted through a link */
    check_link_refused(ak_store_put(s, "sysdir/new", "x", 1, &err), &err);
    CHECK(!raw_exists("outside", "new"));
    check_link_refused(ak_store_delete(s, "sysdir/secret", &err), &err);
    CHECK(raw_exists("outside", "secret"));
    CHECK_OK(ak_store_delete(s, "real/evil", &err), err); /* a link is no object */
    CHECK(raw_exists("outside", "secret"));
    ak_store_close(s);
}

static void collect_temp(void *ctx, const char *path, int64_t size)
{
    strlist_add(ctx, path);
    CHECK(size > 0);
}

/* Temp files of killed puts are found and removed; one a put holds (its
 * lock) is neither (issue 20, item 7). */
static void test_temps(void)
{
    ak_store *s = open_bucket("temps");
    ak_err err = {0};
    strlist got = {0};
    size_t n = 99;
    put_str(s, "system_id=a/date=x/obj", "o");
    make_raw_file("temps", "system_id=a/date=x/.akosha-tmp-00000000000000aa", "killed");
    make_raw_dir("temps", "system_id=b");
    make_raw_file("temps", "system_id=b/.akosha-tmp-00000000000000bb", "killed");
    make_raw_file("temps", "system_id=a/date=x/.akosha-tmp-00000000000000cc", "in flight");
    char held[PATH_MAX + 64];
    snprintf(held, sizeof held, "%s/temps/system_id=a/date=x/.akosha-tmp-00000000000000cc",
             test_tmpdir());
    int fd = open(held, O_RDONLY);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0); /* as a put in flight holds it */

    CHECK_OK(ak_store_temps(s, "system_id=a/", 0, collect_temp, &got, &n, &err), err);
    CHECK_INT(n, 1);
    CHECK_INT(got.n, 1);
    if (got.n == 1)
        CHECK_STR(got.v[0], "system_id=a/date=x/.akosha-tmp-00000000000000aa");
    CHECK_OK(ak_store_temps(s, "", 1, NULL, NULL, &n, &err), err);
    CHECK_INT(n, 2);
    CHECK(!raw_exists("temps", "system_id=a/date=x/.akosha-tmp-00000000000000aa"));
    CHECK(!raw_exists("temps", "system_id=b/.akosha-tmp-00000000000000bb"));
    CHECK(raw_exists("temps", "system_id=a/date=x/.akosha-tmp-00000000000000cc"));
    CHECK(raw_exists("temps", "system_id=a/date=x/obj"));
    close(fd); /* the put "died": now it is a leftover */
    CHECK_OK(ak_store_temps(s, "system_id=a/", 1, NULL, NULL, &n, &err), err);
    CHECK_INT(n, 1);
    CHECK_OK(ak_store_temps(s, "no/such/", 1, NULL, NULL, &n, &err), err);
    CHECK_INT(n, 0);
    CHECK_INT(ak_store_temps(s, "../", 0, NULL, NULL, &n, &err), AK_ERR_INVALID);
    strlist_free(&got);
    ak_store_close(s);
}

/* A listing with more pages than AKOSHA_STORE_LIST_MAX_PAGES fails as one
 * that never ends; shutdown ends it before its next page (issue 20,
 * item 2). */
static void test_lister_bounds(void)
{
    static const char *const keys[] = {"k1", "k2", "k3", "k4", "k5"};
    ak_store *s = open_bucket("bounded");
    put_all(s, keys, 5);
    ak_store_close(s);
    char path[PATH_MAX];
    ak_err err = {0};
    ak_store_page page;
    scratch_path(path, sizeof path, "bounded");
    setenv("AKOSHA_STORE_LIST_MAX_PAGES", "3", 1);
    CHECK_OK(ak_store_open(path, &s, &err), err);
    unsetenv("AKOSHA_STORE_LIST_MAX_PAGES");
    ak_code rc = AK_OK;
    size_t seen = 0;
    ak_store_lister ls = {.prefix = "", .max_keys = 2}; /* 3 pages: within the bound */
    while (rc == AK_OK && !ls.done) {
        rc = ak_store_list_next(s, &ls, &page, &err);
        seen += page.n_objs;
        ak_store_page_free(&page);
    }
    CHECK_OK(rc, err);
    CHECK_INT(seen, 5);
    CHECK_INT(ls.pages, 3);
    ak_store_lister_free(&ls);
    ak_store_lister one = {.prefix = "", .max_keys = 1}; /* 5 pages: beyond it */
    while ((rc = ak_store_list_next(s, &one, &page, &err)) == AK_OK && !one.done)
        ak_store_page_free(&page);
    if (rc == AK_OK)
        ak_store_page_free(&page);
    CHECK_INT(rc, AK_ERR_IO);
    CHECK_HAS(err.msg, "never ends: more than 3 pages");
    ak_store_lister_free(&one);

    atomic_int stop = 0;
    ak_store_set_shutdown(s, &stop, NULL);
    ak_store_lister again = {.prefix = ""};
    stop = 1;
    CHECK_INT(ak_store_list_next(s, &again, &page, &err), AK_ERR_ABORTED);
    CHECK_HAS(err.msg, "shutting down");
    ak_store_lister_free(&again);
    ak_store_close(s);
}

/* ---- tests: threads --------------------------------------------------- */

enum { THREADS = 4, ROUNDS = 150 };

typedef struct {
    ak_store *s;
    int id;
    int failures;
    char msg[AK_ERR_MSG_MAX + 64];
} worker;

/* Shared-key versions: every byte is letter, and the length follows from
 * it, so a reader can tell a whole version from a torn one. */
static size_t version_len(char letter) { return 1000 + (size_t)(letter - 'A') * 4111; }

static void fail(worker *w, const char *what, const ak_err *err)
{
    if (!w->failures++)
        snprintf(w->msg, sizeof w->msg, "thread %d: %s: %s", w->id, what,
                 err ? err->msg : "");
}

static int is_whole_version(const char *data, size_t len)
{
    if (len == 0 || data[0] < 'A' || data[0] > 'Z' || len != version_len(data[0]))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (data[i] != data[0])
            return 0;
    return 1;
}

static void own_key_round(worker *w, int round)
{
    char key[64], text[64], *out = NULL;
    ak_err err = {0};
    snprintf(key, sizeof key, "own/t%d", w->id);
    snprintf(text, sizeof text, "thread %d round %d", w->id, round);
    if (ak_store_put(w->s, key, text, strlen(text), &err) != AK_OK)
        return fail(w, "put own", &err);
    if (ak_store_get_small(w->s, key, 100, &out, NULL, &err) != AK_OK)
        return fail(w, "get own", &err);
    if (strcmp(out, text) != 0)
        fail(w, "own key content", NULL);
    free(out);
}

static void shared_key_round(worker *w, int round, char *version)
{
    ak_err err = {0};
    char *out = NULL;
    size_t len = 0;
    char letter = (char)('A' + (w->id * 7 + round) % 26);
    memset(version, letter, version_len(letter));
    if (ak_store_put(w->s, "shared/obj", version, version_len(letter), &err) != AK_OK)
        return fail(w, "put shared", &err);
    if (ak_store_get_small(w->s, "shared/obj", 1 << 20, &out, &len, &err) != AK_OK)
        return fail(w, "get shared", &err);
    if (!is_whole_version(out, len))
        fail(w, "torn read of the shared key", NULL);
    free(out);
}

/* put + delete under a parent directory the other threads also create and
 * prune, racing mkdir against rmdir */
static void churn_round(worker *w)
{
    char key[64];
    ak_err err = {0};
    snprintf(key, sizeof key, "churn/sub/t%d", w->id);
    if (ak_store_put(w->s, key, "c", 1, &err) != AK_OK)
        return fail(w, "put churn", &err);
    if (ak_store_delete(w->s, key, &err) != AK_OK)
        return fail(w, "delete churn", &err);
    ak_store_page p;
    if (ak_store_list(w->s, "", NULL, NULL, 2, &p, &err) != AK_OK)
        fail(w, "list during churn", &err);
    ak_store_page_free(&p);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    char *version = malloc(version_len('Z'));
    for (int round = 0; round < ROUNDS && version; round++) {
        own_key_round(w, round);
        shared_key_round(w, round, version);
        churn_round(w);
    }
    free(version);
    return NULL;
}

static void test_threads(void)
{
    ak_store *s = open_bucket("threads");
    pthread_t tid[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.s = s, .id = i};
        CHECK(pthread_create(&tid[i], NULL, worker_main, &w[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        if (w[i].failures)
            fprintf(stderr, "%s (%d failures)\n", w[i].msg, w[i].failures);
        CHECK_INT(w[i].failures, 0);
    }
    CHECK(!raw_exists("threads", "churn")); /* the last delete pruned it */
    static const char *const left[] = {"own/t0", "own/t1", "own/t2", "own/t3",
                                       "shared/obj"};
    check_listing_is(s, "", NULL, left, 5); /* no temp file left behind */
    ak_store_close(s);
}

int main(void)
{
    RUN(test_open);
    RUN(test_key_validation);
    RUN(test_invalid_keys_rejected);
    RUN(test_round_trip);
    RUN(test_get_small_cap);
    RUN(test_missing_and_conflicts);
    RUN(test_put2);
    RUN(test_delete);
    RUN(test_sink_abort);
    RUN(test_list_order);
    RUN(test_list_delimiter);
    RUN(test_list_partial_prefix);
    RUN(test_list_pagination);
    RUN(test_list_default_page_size);
    RUN(test_list_skips_non_objects);
    RUN(test_links_never_followed);
    RUN(test_temps);
    RUN(test_lister_bounds);
    RUN(test_threads);
    return test_report("objstore");
}
