/*
 * test_s3store.c - the S3 backend (src/objstore/objstore_s3.c) against a
 * real S3 server, through the object-store API.
 *
 * It needs a server, so it runs only when AKOSHA_TEST_S3_BUCKET names a
 * bucket to use (s3://bucket), with AKOSHA_S3_ENDPOINT and the AWS_*
 * credentials set; tests/integration/test_s3.sh starts Swift and runs it
 * so.  Without the variable it says so and passes.  Everything it writes
 * goes below a fresh prefix, removed again at the end.
 *
 * Covered: keys with spaces, unicode, '+', '%', '&', '=' and '~' through
 * put / head / list / get / delete; pagination with and without a
 * delimiter; a multipart put (AKOSHA_S3_MULTIPART_BYTES=5 MiB) read back;
 * a sink that stops a stream; not-found, a missing bucket and refused
 * credentials, none of which are retried or open the breaker.
 */
#include "objstore/objstore.h"
#include "test.h"

#include <time.h>
#include <unistd.h>

#include "util/sha256.h"

static char store_url[512];

static ak_store *open_store(void)
{
    ak_store *s = NULL;
    ak_err err = {0};
    CHECK_OK(ak_store_open(store_url, &s, &err), err);
    return s;
}

static void put_str(ak_store *s, const char *key, const char *text)
{
    ak_err err = {0};
    CHECK_OK(ak_store_put(s, key, text, strlen(text), &err), err);
}

static char *get_str(ak_store *s, const char *key)
{
    char *text = NULL;
    ak_err err = {0};
    CHECK_OK(ak_store_get_small(s, key, 1 << 20, &text, NULL, &err), err);
    return text;
}

/* Every key below prefix, page by page (max_keys per page). */
static size_t list_all(ak_store *s, const char *prefix, const char *delim, size_t max_keys,
                       char **keys, size_t cap, size_t *pages)
{
    size_t n = 0;
    char *token = NULL;
    *pages = 0;
    do {
        ak_store_page p;
        ak_err err = {0};
        ak_code rc = ak_store_list(s, prefix, delim, token, max_keys, &p, &err);
        CHECK_OK(rc, err);
        free(token);
        token = NULL;
        if (rc != AK_OK)
            break;
        (*pages)++;
        CHECK(p.n_objs + p.n_prefixes <= max_keys);
        for (size_t i = 0; i < p.n_objs && n < cap; i++)
            keys[n++] = strdup(p.objs[i].key);
        for (size_t i = 0; i < p.n_prefixes && n < cap; i++)
            keys[n++] = strdup(p.prefixes[i]);
        token = p.next_token ? strdup(p.next_token) : NULL;
        ak_store_page_free(&p);
    } while (token && *pages < 1000);
    free(token);
    return n;
}

static void free_keys(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
}

/* ---- keys that need encoding ------------------------------------------ */

static const char *const odd_keys[] = {
    "odd/a b/with space.json",
    "odd/caf\xc3\xa9/\xe2\x98\x83 snow\xe2\x80\x94man.txt",
    "odd/plus+sign",
    "odd/percent%41%zz",
    "odd/amp&eq=q?hash#semi;",
    "odd/tilde~star*quote'paren()",
};
#define N_ODD (sizeof odd_keys / sizeof *odd_keys)

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_odd_keys(void)
{
    ak_store *s = open_store();
    if (!s)
        return;
    for (size_t i = 0; i < N_ODD; i++)
        put_str(s, odd_keys[i], odd_keys[i]);
    for (size_t i = 0; i < N_ODD; i++) {
        char *text = get_str(s, odd_keys[i]);
        CHECK_STR(text, odd_keys[i]);
        free(text);
        ak_store_obj o;
        ak_err err = {0};
        CHECK_OK(ak_store_head(s, odd_keys[i], &o, &err), err);
        CHECK_INT(o.size, strlen(odd_keys[i]));
        CHECK(o.mtime_us > INT64_C(1600000000) * 1000000);
        free(o.key);
    }
    /* listed back byte for byte, in byte order */
    char *want[N_ODD], *got[N_ODD + 4];
    memcpy(want, odd_keys, sizeof want);
    qsort(want, N_ODD, sizeof *want, cmp_str);
    size_t pages, n = list_all(s, "odd/", NULL, 1000, got, N_ODD + 4, &pages);
    CHECK_INT(n, N_ODD);
    for (size_t i = 0; i < n && i < N_ODD; i++)
        CHECK_STR(got[i], want[i]);
    free_keys(got, n);
    /* a prefix that itself needs encoding */
    n = list_all(s, "odd/caf\xc3\xa9/", NULL, 1000, got, N_ODD + 4, &pages);
    CHECK_INT(n, 1);
    free_keys(got, n);
    n = list_all(s, "odd/", "/", 1000, got, N_ODD + 4, &pages);
    CHECK_INT(n, 6); /* four objects, two common prefixes */
    free_keys(got, n);

    ak_err err = {0};
    for (size_t i = 0; i < N_ODD; i++)
        CHECK_OK(ak_store_delete(s, odd_keys[i], &err), err);
    n = list_all(s, "odd/", NULL, 1000, got, N_ODD + 4, &pages);
    CHECK_INT(n, 0);
    ak_store_close(s);
}

/* ---- pages ------------------------------------------------------------ */

static void test_pagination(void)
{
    ak_store *s = open_store();
    if (!s)
        return;
    char key[64], *got[64];
    for (int i = 0; i < 25; i++) {
        snprintf(key, sizeof key, "page/d%d/k%02d", i % 5, i);
        put_str(s, key, "x");
    }
    size_t pages, n = list_all(s, "page/", NULL, 7, got, 64, &pages);
    CHECK_INT(n, 25);
    CHECK_INT(pages, 4);
    for (size_t i = 1; i < n; i++)
        CHECK(strcmp(got[i - 1], got[i]) < 0);
    free_keys(got, n);
    n = list_all(s, "page/", "/", 2, got, 64, &pages);
    CHECK_INT(n, 5);
    CHECK_INT(pages, 3);
    if (n == 5)
        CHECK_STR(got[4], "page/d4/");
    free_keys(got, n);
    ak_err err = {0};
    for (int i = 0; i < 25; i++) {
        snprintf(key, sizeof key, "page/d%d/k%02d", i % 5, i);
        CHECK_OK(ak_store_delete(s, key, &err), err);
    }
    ak_store_close(s);
}

/* ---- multipart -------------------------------------------------------- */

typedef struct {
    ak_sha256_ctx *sha;
    size_t len;
    int stop_after; /* stop at this call (0: never) */
    int calls;
} hash_sink_ctx;

static ak_code hash_sink(void *ctx, const void *data, size_t len)
{
    hash_sink_ctx *c = ctx;
    if (++c->calls == c->stop_after)
        return AK_ERR_INVALID;
    ak_sha256_update(c->sha, data, len);
    c->len += len;
    return AK_OK;
}

static void test_multipart(void)
{
    setenv("AKOSHA_S3_MULTIPART_BYTES", "5242880", 1);
    ak_store *s = open_store();
    unsetenv("AKOSHA_S3_MULTIPART_BYTES");
    if (!s)
        return;
    size_t len = 12 * 1024 * 1024 + 3; /* parts of 5, 5 and 2 MiB + 3 */
    unsigned char *blob = malloc(len);
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        blob[i] = (unsigned char)x;
    }
    uint8_t want[AK_SHA256_LEN], got[AK_SHA256_LEN];
    ak_sha256(blob, len, want);
    ak_err err = {0};
    ak_store_stats before, after;
    ak_store_stats_get(s, &before);
    CHECK_OK(ak_store_put(s, "big/blob.bin", blob, len, &err), err);
    ak_store_stats_get(s, &after);
    /* start, three parts, complete */
    CHECK_INT(after.requests - before.requests, 5);
    CHECK_INT(after.ok[AK_STORE_OP_PUT], 1);

    hash_sink_ctx c = {.sha = ak_sha256_new()};
    CHECK_OK(ak_store_get(s, "big/blob.bin", hash_sink, &c, &err), err);
    ak_sha256_final(c.sha, got);
    CHECK_INT(c.len, len);
    CHECK(memcmp(want, got, sizeof want) == 0);

    /* a sink that stops: AK_ERR_ABORTED, and no second request */
    c = (hash_sink_ctx){.sha = c.sha, .stop_after = 2};
    ak_store_stats_get(s, &before);
    CHECK_INT(ak_store_get(s, "big/blob.bin", hash_sink, &c, &err), AK_ERR_ABORTED);
    ak_store_stats_get(s, &after);
    CHECK_INT(after.requests - before.requests, 1);
    CHECK_INT(after.breaker, AK_BREAKER_CLOSED);

    ak_store_obj o;
    CHECK_OK(ak_store_head(s, "big/blob.bin", &o, &err), err);
    CHECK_INT(o.size, len);
    free(o.key);
    CHECK_OK(ak_store_delete(s, "big/blob.bin", &err), err);
    ak_sha256_free(c.sha);
    free(blob);
    ak_store_close(s);
}

/* ---- what is final at once -------------------------------------------- */

static void test_not_found(void)
{
    ak_store *s = open_store();
    if (!s)
        return;
    ak_err err = {0};
    char *text;
    ak_store_obj o;
    CHECK_INT(ak_store_get_small(s, "no/such key", 10, &text, NULL, &err), AK_ERR_NOTFOUND);
    CHECK_HAS(err.msg, "object no/such key not found in s3://");
    CHECK_INT(ak_store_head(s, "no/such key", &o, &err), AK_ERR_NOTFOUND);
    CHECK_OK(ak_store_delete(s, "no/such key", &err), err);
    put_str(s, "small", "0123456789abc");
    CHECK_INT(ak_store_get_small(s, "small", 10, &text, NULL, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "larger than 10 bytes");
    CHECK_OK(ak_store_delete(s, "small", &err), err);
    ak_store_stats st;
    ak_store_stats_get(s, &st);
    CHECK_INT(st.retries, 0);
    CHECK_INT(st.breaker, AK_BREAKER_CLOSED);
    ak_store_close(s);
}

static void test_missing_bucket(void)
{
    ak_store *s = NULL;
    ak_err err = {0};
    CHECK_OK(ak_store_open("s3://akosha-no-such-bucket/p", &s, &err), err);
    if (!s)
        return;
    ak_store_page p;
    CHECK_INT(ak_store_list(s, "systems/", "/", NULL, 0, &p, &err), AK_ERR_NOTFOUND);
    CHECK_STR(err.msg, "s3 LIST systems/: bucket akosha-no-such-bucket does not exist "
                       "(404 NoSuchBucket)");
    ak_store_close(s);
}

static void test_wrong_secret(void)
{
    char *saved = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    setenv("AKOSHA_STORE_BREAKER_FAILURES", "2", 1);
    ak_store *s = open_store();
    setenv("AWS_SECRET_ACCESS_KEY", saved, 1);
    unsetenv("AKOSHA_STORE_BREAKER_FAILURES");
    free(saved);
    if (!s)
        return;
    ak_err err = {0};
    ak_store_page p;
    char *text;
    for (int i = 0; i < 3; i++) {
        CHECK_INT(ak_store_list(s, "systems/", "/", NULL, 0, &p, &err), AK_ERR_AUTH);
        CHECK_HAS(err.msg, "s3 LIST systems/: 403 ");
        CHECK(strstr(err.msg, "SignatureDoesNotMatch") || strstr(err.msg, "InvalidAccessKeyId"));
        CHECK_INT(ak_store_get_small(s, "systems/x/manifest.json", 10, &text, NULL, &err),
                  AK_ERR_AUTH);
        CHECK_HAS(err.msg, "s3 GET systems/x/manifest.json: 403 ");
    }
    ak_store_stats st;
    ak_store_stats_get(s, &st);
    CHECK_INT(st.retries, 0);
    CHECK_INT(st.requests, 6);
    CHECK_INT(st.breaker, AK_BREAKER_CLOSED); /* refused credentials are no outage */
    ak_store_close(s);
}

int main(void)
{
    const char *bucket = getenv("AKOSHA_TEST_S3_BUCKET");
    if (!bucket || !bucket[0]) {
        printf("s3store: skipped (AKOSHA_TEST_S3_BUCKET is not set; "
               "tests/integration/test_s3.sh runs it against Swift)\n");
        return 0;
    }
    snprintf(store_url, sizeof store_url, "%s/unit-%ld-%ld", bucket, (long)getpid(),
             (long)time(NULL));
    RUN(test_odd_keys);
    RUN(test_pagination);
    RUN(test_multipart);
    RUN(test_not_found);
    RUN(test_missing_bucket);
    RUN(test_wrong_secret);
    return test_report("s3store");
}
