/* test_compress.c - util/compress: round trips, concatenation, truncation,
 * corruption, garbage, callback aborts, and interop with the gzip/zstd/lz4
 * command-line tools. */
#include "util/compress.h"
#include "util/buf.h"
#include "test.h"

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define MIB ((size_t)1024 * 1024)
#define OUT_MAX ((size_t)64 * 1024) /* compress.c's output buffer */
#define ALL SIZE_MAX                /* "feed everything at once" */

static const ak_codec real_codecs[] = {AK_CODEC_GZIP, AK_CODEC_ZSTD, AK_CODEC_LZ4};
static const ak_codec all_codecs[] = {AK_CODEC_NONE, AK_CODEC_GZIP, AK_CODEC_ZSTD,
                                      AK_CODEC_LZ4};
#define NCODECS(a) (sizeof(a) / sizeof(a)[0])

/* ---- helpers ---- */

typedef struct {
    ak_buf buf;
    size_t calls;
    size_t max_chunk;
    size_t abort_at; /* return AK_ERR_ABORTED on this call (1-based); 0 never */
} sink;

static ak_code collect(void *ctx, const void *p, size_t n)
{
    sink *k = ctx;
    k->calls++;
    if (n > k->max_chunk)
        k->max_chunk = n;
    if (k->abort_at && k->calls >= k->abort_at)
        return AK_ERR_ABORTED;
    return ak_buf_append(&k->buf, p, n);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* n bytes of 4 KiB blocks: every third random, the rest repetitive text. */
static unsigned char *mixed_data(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        size_t block = i / 4096;
        const char *text = "the quick brown fox, line ";
        p[i] = block % 3 ? (unsigned char)text[(i + block) % 26] : (unsigned char)rng();
    }
    return p;
}

/* Push p[0..n) through a new compressor (encode) or decompressor in
 * chunk-sized feeds, then finish; output is collected in k. */
static ak_code run_codec(int encode, ak_codec c, const void *data, size_t n,
                         size_t chunk, sink *k, ak_err *err)
{
    const unsigned char *p = data;
    ak_z *z = NULL;
    ak_unz *u = NULL;
    ak_code rc = encode ? ak_z_new(c, 0, collect, k, &z, err)
                        : ak_unz_new(c, collect, k, &u, err);
    for (size_t off = 0; rc == AK_OK && off < n; off += chunk) {
        size_t m = n - off < chunk ? n - off : chunk;
        rc = encode ? ak_z_feed(z, p + off, m, err) : ak_unz_feed(u, p + off, m, err);
    }
    if (rc == AK_OK)
        rc = encode ? ak_z_finish(z, err) : ak_unz_finish(u, err);
    ak_z_free(z);
    ak_unz_free(u);
    return rc;
}

static ak_code zip(ak_codec c, const void *p, size_t n, size_t chunk, sink *k,
                   ak_err *err)
{
    return run_codec(1, c, p, n, chunk, k, err);
}

static ak_code unzip(ak_codec c, const void *p, size_t n, size_t chunk, sink *k,
                     ak_err *err)
{
    return run_codec(0, c, p, n, chunk, k, err);
}

/* Compress with defaults into a fresh buffer (a failure fails the test). */
static ak_buf zip_all(ak_codec c, const void *p, size_t n)
{
    sink k = {0};
    ak_err err = {0};
    CHECK_INT(zip(c, p, n, ALL, &k, &err), AK_OK);
    return k.buf;
}

static int same(const ak_buf *b, const void *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

/* Run a shell command, collect its stdout; returns pclose()'s status. */
static int capture(const char *cmd, ak_buf *out)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    static char tmp[64 * 1024];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        CHECK_INT(ak_buf_append(out, tmp, n), AK_OK);
    return pclose(f);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_INT(fwrite(p, 1, n, f), n);
    CHECK_INT(fclose(f), 0);
}

static const char *const cli_tools[] = {
    [AK_CODEC_GZIP] = "/usr/bin/gzip",
    [AK_CODEC_ZSTD] = "/usr/bin/zstd",
    [AK_CODEC_LZ4] = "/usr/bin/lz4",
};

/* ---- tests ---- */

static void test_names(void)
{
    CHECK_INT(ak_codec_from_name("gzip"), AK_CODEC_GZIP);
    CHECK_INT(ak_codec_from_name("zstd"), AK_CODEC_ZSTD);
    CHECK_INT(ak_codec_from_name("lz4"), AK_CODEC_LZ4);
    CHECK_INT(ak_codec_from_name("none"), -1);
    CHECK_INT(ak_codec_from_name("GZIP"), -1);
    CHECK_INT(ak_codec_from_name("gz"), -1);
    CHECK_INT(ak_codec_from_name(""), -1);
    CHECK_INT(ak_codec_from_name(NULL), -1);
    CHECK_STR(ak_codec_name(AK_CODEC_NONE), "none");
    CHECK_STR(ak_codec_name(AK_CODEC_GZIP), "gzip");
    CHECK_STR(ak_codec_name(AK_CODEC_ZSTD), "zstd");
    CHECK_STR(ak_codec_name(AK_CODEC_LZ4), "lz4");
    CHECK_STR(ak_codec_suffix(AK_CODEC_NONE), "");
    CHECK_STR(ak_codec_suffix(AK_CODEC_GZIP), ".gz");
    CHECK_STR(ak_codec_suffix(AK_CODEC_ZSTD), ".zst");
    CHECK_STR(ak_codec_suffix(AK_CODEC_LZ4), ".lz4");
}

static void test_bad_args(void)
{
    ak_err err = {0};
    static max_align_t dummy; /* a failed _new() must set the handle to NULL */
    ak_unz *u = (ak_unz *)(void *)&dummy;
    ak_z *z = (ak_z *)(void *)&dummy;
    sink k = {0};
    CHECK_INT(ak_unz_new((ak_codec)42, collect, &k, &u, &err), AK_ERR_INVALID);
    CHECK(u == NULL);
    CHECK_INT(ak_z_new(AK_CODEC_GZIP, 0, NULL, &k, &z, &err), AK_ERR_INVALID);
    CHECK(z == NULL);
    CHECK_INT(ak_z_new(AK_CODEC_GZIP, 42, collect, &k, &z, &err), AK_ERR_INVALID);
    CHECK(z == NULL);
    CHECK_HAS(err.msg, "level");
    ak_unz_free(NULL);
    ak_z_free(NULL);
}

static void roundtrip_one(ak_codec c, const unsigned char *data, size_t n, size_t chunk)
{
    sink zk = {0}, uk = {0};
    ak_err err = {0};
    CHECK_INT(zip(c, data, n, chunk, &zk, &err), AK_OK);
    if (c == AK_CODEC_NONE)
        CHECK(same(&zk.buf, data, n));
    CHECK_INT(unzip(c, zk.buf.data, zk.buf.len, chunk, &uk, &err), AK_OK);
    if (!same(&uk.buf, data, n))
        fprintf(stderr, "  %s size %zu chunk %zu: got %zu bytes (%s)\n",
                ak_codec_name(c), n, chunk, uk.buf.len, err.msg);
    CHECK(same(&uk.buf, data, n));
    CHECK(uk.max_chunk <= OUT_MAX);
    ak_buf_free(&zk.buf);
    ak_buf_free(&uk.buf);
}

/* Empty, one byte, 1 MiB mixed, and 1 MiB of zeros (which decodes to far
 * more than the input chunk, so output is still pending after a feed's
 * input is used up). */
static void test_roundtrip(void)
{
    static const size_t chunks[] = {1, 7, 64 * 1024, ALL};
    unsigned char *mixed = mixed_data(MIB);
    unsigned char *zeros = calloc(1, MIB);
    for (size_t ci = 0; ci < NCODECS(all_codecs); ci++) {
        for (size_t ki = 0; ki < sizeof chunks / sizeof chunks[0]; ki++) {
            roundtrip_one(all_codecs[ci], mixed, 0, chunks[ki]);
            roundtrip_one(all_codecs[ci], mixed, 1, chunks[ki]);
            roundtrip_one(all_codecs[ci], mixed, MIB, chunks[ki]);
            roundtrip_one(all_codecs[ci], zeros, MIB, chunks[ki]);
        }
    }
    free(mixed);
    free(zeros);
}

static void test_levels(void)
{
    static const int levels[] = {1, 9, -1};
    size_t n = 200 * 1024;
    unsigned char *data = mixed_data(n);
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++) {
            ak_codec c = real_codecs[ci];
            int level = levels[li];
            sink zk = {0}, uk = {0};
            ak_err err = {0};
            ak_z *z = NULL;
            CHECK_INT(ak_z_new(c, level, collect, &zk, &z, &err), AK_OK);
            CHECK_INT(ak_z_feed(z, data, n, &err), AK_OK);
            CHECK_INT(ak_z_finish(z, &err), AK_OK);
            ak_z_free(z);
            CHECK_INT(unzip(c, zk.buf.data, zk.buf.len, 4096, &uk, &err), AK_OK);
            CHECK(same(&uk.buf, data, n));
            ak_buf_free(&zk.buf);
            ak_buf_free(&uk.buf);
        }
    }
    free(data);
}

/* Output reaches the callback during the feed that made it decodable, even
 * when that is more than one buffer (a few bytes of zstd RLE block header
 * stand for 128 KiB): all of it is out before the trailer's last byte. */
static void test_prompt(void)
{
    unsigned char *zeros = calloc(1, MIB);
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        ak_codec c = real_codecs[ci];
        ak_buf comp = zip_all(c, zeros, MIB);
        sink k = {0};
        ak_err err = {0};
        ak_unz *u = NULL;
        size_t most = 0;
        CHECK_INT(ak_unz_new(c, collect, &k, &u, &err), AK_OK);
        for (size_t off = 0; off < comp.len - 1; off++) {
            size_t before = k.buf.len;
            CHECK_INT(ak_unz_feed(u, comp.data + off, 1, &err), AK_OK);
            if (k.buf.len - before > most)
                most = k.buf.len - before;
        }
        CHECK_INT(k.buf.len, MIB);
        if (c == AK_CODEC_ZSTD)
            CHECK(most > OUT_MAX);
        CHECK_INT(ak_unz_feed(u, comp.data + comp.len - 1, 1, &err), AK_OK);
        CHECK_INT(ak_unz_finish(u, &err), AK_OK);
        ak_unz_free(u);
        ak_buf_free(&k.buf);
        ak_buf_free(&comp);
    }
    free(zeros);
}

/* Members/frames (one of them empty) glued together decode to the glued
 * plain text; a cut inside the second one is still "truncated". */
static void test_concat(void)
{
    size_t big = 100 * 1024;
    unsigned char *data = mixed_data(big);
    const char *first = "first member\n";
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        ak_codec c = real_codecs[ci];
        ak_buf a = zip_all(c, first, strlen(first));
        ak_buf e = zip_all(c, "", 0);
        ak_buf b = zip_all(c, data, big);
        ak_buf joined = {0}, plain = {0};
        ak_buf_append(&joined, a.data, a.len);
        ak_buf_append(&joined, e.data, e.len);
        ak_buf_append(&joined, b.data, b.len);
        ak_buf_append(&plain, first, strlen(first));
        ak_buf_append(&plain, data, big);
        static const size_t chunks[] = {1, 7, ALL};
        for (size_t ki = 0; ki < sizeof chunks / sizeof chunks[0]; ki++) {
            sink k = {0};
            ak_err err = {0};
            CHECK_INT(unzip(c, joined.data, joined.len, chunks[ki], &k, &err), AK_OK);
            CHECK(same(&k.buf, plain.data, plain.len));
            ak_buf_free(&k.buf);
        }
        sink k = {0};
        ak_err err = {0};
        size_t cut = a.len + e.len + 3;
        CHECK_INT(unzip(c, joined.data, cut, ALL, &k, &err), AK_ERR_CORRUPT);
        CHECK_HAS(err.msg, "truncated");
        CHECK(same(&k.buf, first, strlen(first)));
        ak_buf_free(&k.buf);
        ak_buf_free(&a);
        ak_buf_free(&e);
        ak_buf_free(&b);
        ak_buf_free(&joined);
        ak_buf_free(&plain);
    }
    free(data);
}

/* A prefix of a valid stream feeds fine and fails at finish. */
static void test_truncated(void)
{
    size_t n = 100 * 1024;
    unsigned char *data = mixed_data(n);
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        ak_codec c = real_codecs[ci];
        ak_buf comp = zip_all(c, data, n);
        size_t clen = comp.len;
        size_t cuts[] = {1, 3, 6, 12, clen / 3, clen / 2, clen - 5, clen - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            static const size_t chunks[] = {1, ALL};
            for (size_t ki = 0; ki < sizeof chunks / sizeof chunks[0]; ki++) {
                sink k = {0};
                ak_err err = {0};
                ak_code rc = unzip(c, comp.data, cuts[i], chunks[ki], &k, &err);
                CHECK_INT(rc, AK_ERR_CORRUPT);
                CHECK_HAS(err.msg, "truncated");
                CHECK_HAS(err.msg, ak_codec_name(c));
                ak_buf_free(&k.buf);
            }
        }
        ak_buf_free(&comp);
    }
    free(data);
}

/* Damage inside our own (checksummed) output is always caught. */
static void test_corrupt(void)
{
    size_t n = 200 * 1024;
    unsigned char *data = mixed_data(n);
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        ak_codec c = real_codecs[ci];
        ak_buf comp = zip_all(c, data, n);
        for (int i = 1; i < 32; i++) {
            ak_buf bad = {0};
            ak_buf_append(&bad, comp.data, comp.len);
            size_t pos = comp.len * (size_t)i / 32;
            if (i % 2)
                bad.data[pos] ^= 0x5a;
            else
                memset(bad.data + pos, 0, comp.len - pos < 16 ? comp.len - pos : 16);
            sink k = {0};
            ak_err err = {0};
            ak_code rc = unzip(c, bad.data, bad.len, 4096, &k, &err);
            if (rc != AK_ERR_CORRUPT)
                fprintf(stderr, "  %s damage at %zu/%zu: rc %d\n", ak_codec_name(c), pos,
                        comp.len, rc);
            CHECK_INT(rc, AK_ERR_CORRUPT);
            CHECK_HAS(err.msg, ak_codec_name(c));
            ak_buf_free(&k.buf);
            ak_buf_free(&bad);
        }
        ak_buf_free(&comp);
    }
    free(data);
}

static void check_garbage(ak_codec c, const void *p, size_t n, const char *msg)
{
    sink k = {0};
    ak_err err = {0};
    CHECK_INT(unzip(c, p, n, ALL, &k, &err), AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, msg);
    ak_buf_free(&k.buf);
}

static void test_garbage(void)
{
    unsigned char noise[1000];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)rng();
    check_garbage(AK_CODEC_GZIP, "hello", 5, "gzip: ");
    check_garbage(AK_CODEC_ZSTD, "hello", 5, "zstd: Unknown frame descriptor");
    /* lz4 buffers up to a minimal header (7 bytes) before judging it. */
    check_garbage(AK_CODEC_LZ4, "hello", 5, "lz4 stream truncated");
    check_garbage(AK_CODEC_LZ4, "hello world", 11, "lz4: ERROR_frameType_unknown");
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        ak_codec c = real_codecs[ci];
        check_garbage(c, noise, sizeof noise, ak_codec_name(c));
        /* A complete stream followed by junk that is not another member. */
        ak_buf comp = zip_all(c, "payload", 7);
        ak_buf_puts(&comp, "trailing junk");
        check_garbage(c, comp.data, comp.len, ak_codec_name(c));
        ak_buf_free(&comp);
    }
    /* gzip means gzip: the zlib wrapper is refused. */
    unsigned char zl[64];
    uLongf zlen = sizeof zl;
    CHECK_INT(compress2(zl, &zlen, (const Bytef *)"hello hello", 11, 6), Z_OK);
    check_garbage(AK_CODEC_GZIP, zl, zlen, "gzip: ");
}

static void test_empty(void)
{
    for (size_t ci = 0; ci < NCODECS(all_codecs); ci++) {
        ak_codec c = all_codecs[ci];
        for (int zero_feed = 0; zero_feed < 2; zero_feed++) {
            sink k = {0};
            ak_err err = {0};
            ak_unz *u = NULL;
            CHECK_INT(ak_unz_new(c, collect, &k, &u, &err), AK_OK);
            if (zero_feed)
                CHECK_INT(ak_unz_feed(u, NULL, 0, &err), AK_OK);
            ak_code rc = ak_unz_finish(u, &err);
            if (c == AK_CODEC_NONE) {
                CHECK_INT(rc, AK_OK);
            } else {
                CHECK_INT(rc, AK_ERR_CORRUPT);
                CHECK_HAS(err.msg, ak_codec_name(c));
                CHECK_HAS(err.msg, "stream is empty");
            }
            CHECK_INT(k.calls, 0);
            ak_unz_free(u);
        }
    }
}

/* After an error, or after finish, every call reports an error. */
static void test_sticky(void)
{
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        ak_codec c = real_codecs[ci];
        ak_buf good = zip_all(c, "ok", 2);
        sink k = {0};
        ak_err err = {0};
        ak_unz *u = NULL;
        CHECK_INT(ak_unz_new(c, collect, &k, &u, &err), AK_OK);
        CHECK_INT(ak_unz_feed(u, "garbage!", 8, &err), AK_ERR_CORRUPT);
        CHECK_INT(ak_unz_feed(u, good.data, good.len, &err), AK_ERR_CORRUPT);
        CHECK_INT(ak_unz_finish(u, &err), AK_ERR_CORRUPT);
        ak_unz_free(u);

        CHECK_INT(ak_unz_new(c, collect, &k, &u, &err), AK_OK);
        CHECK_INT(ak_unz_feed(u, good.data, good.len, &err), AK_OK);
        CHECK_INT(ak_unz_finish(u, &err), AK_OK);
        CHECK_INT(ak_unz_feed(u, good.data, good.len, &err), AK_ERR_INVALID);
        CHECK_INT(ak_unz_finish(u, &err), AK_ERR_INVALID);
        ak_unz_free(u);

        ak_z *z = NULL;
        CHECK_INT(ak_z_new(c, 0, collect, &k, &z, &err), AK_OK);
        CHECK_INT(ak_z_finish(z, &err), AK_OK);
        CHECK_INT(ak_z_feed(z, "x", 1, &err), AK_ERR_INVALID);
        CHECK_INT(ak_z_finish(z, &err), AK_ERR_INVALID);
        ak_z_free(z);
        ak_buf_free(&k.buf);
        ak_buf_free(&good);
    }
}

/* The callback's code comes back unchanged, err untouched, and sticks. */
static void test_abort(void)
{
    unsigned char *data = mixed_data(MIB);
    for (size_t ci = 0; ci < NCODECS(all_codecs); ci++) {
        ak_codec c = all_codecs[ci];
        ak_buf comp = zip_all(c, data, MIB);
        sink k = {.abort_at = 2};
        ak_err err = {0};
        strcpy(err.msg, "untouched");
        ak_unz *u = NULL;
        CHECK_INT(ak_unz_new(c, collect, &k, &u, &err), AK_OK);
        CHECK_INT(ak_unz_feed(u, comp.data, comp.len, &err), AK_ERR_ABORTED);
        CHECK_STR(err.msg, "untouched");
        CHECK_INT(k.calls, 2);
        CHECK_INT(ak_unz_feed(u, comp.data, 1, &err), AK_ERR_ABORTED);
        CHECK_INT(ak_unz_finish(u, &err), AK_ERR_ABORTED);
        CHECK_INT(k.calls, 2);
        ak_unz_free(u);
        ak_buf_free(&k.buf);

        sink zk = {.abort_at = 1};
        ak_z *z = NULL;
        strcpy(err.msg, "untouched");
        CHECK_INT(ak_z_new(c, 0, collect, &zk, &z, &err), AK_OK);
        CHECK_INT(ak_z_feed(z, data, MIB, &err), AK_ERR_ABORTED);
        CHECK_STR(err.msg, "untouched");
        CHECK_INT(ak_z_finish(z, &err), AK_ERR_ABORTED);
        CHECK_INT(zk.calls, 1);
        ak_z_free(z);
        ak_buf_free(&zk.buf);
        ak_buf_free(&comp);
    }
    free(data);
}

/* The system tools' output decodes, including concatenated runs. */
static void test_cli_decode(void)
{
    size_t n = 300 * 1024;
    unsigned char *data = mixed_data(n);
    char plain[512], cmd[2048];
    snprintf(plain, sizeof plain, "%s/plain.bin", test_tmpdir());
    write_file(plain, data, n);
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        ak_codec c = real_codecs[ci];
        const char *tool = cli_tools[c];

        ak_buf comp = {0};
        snprintf(cmd, sizeof cmd, "printf 'hello from printf\\n' | %s -q -c", tool);
        CHECK_INT(capture(cmd, &comp), 0);
        sink k = {0};
        ak_err err = {0};
        CHECK_INT(unzip(c, comp.data, comp.len, 7, &k, &err), AK_OK);
        CHECK_STR(k.buf.data, "hello from printf\n");
        ak_buf_free(&k.buf);
        ak_buf_free(&comp);

        snprintf(cmd, sizeof cmd, "{ %s -q -c < '%s'; %s -q -c -9 < '%s'; }", tool, plain,
                 tool, plain);
        CHECK_INT(capture(cmd, &comp), 0);
        CHECK_INT(unzip(c, comp.data, comp.len, 4096, &k, &err), AK_OK);
        CHECK(k.buf.len == 2 * n && memcmp(k.buf.data, data, n) == 0 &&
              memcmp(k.buf.data + n, data, n) == 0);
        ak_buf_free(&k.buf);
        ak_buf_free(&comp);
    }
    free(data);
}

/* A zstd window beyond the decoder's memory bound is refused as valid but
 * unsupported, not reported as damage. */
static void test_zstd_window(void)
{
    ak_buf comp = {0};
    const char *cmd = "head -c 1000 /dev/zero | /usr/bin/zstd -q -c --long=31";
    CHECK_INT(capture(cmd, &comp), 0);
    sink k = {0};
    ak_err err = {0};
    ak_code rc = unzip(AK_CODEC_ZSTD, comp.data, comp.len, ALL, &k, &err);
    CHECK_INT(rc, AK_ERR_UNSUPPORTED);
    CHECK_HAS(err.msg, "zstd: ");
    ak_buf_free(&k.buf);
    ak_buf_free(&comp);
}

/* Our output decodes with the system tools. */
static void test_cli_encode(void)
{
    size_t n = 300 * 1024;
    unsigned char *data = mixed_data(n);
    char path[512], cmd[2048];
    for (size_t ci = 0; ci < NCODECS(real_codecs); ci++) {
        ak_codec c = real_codecs[ci];
        sink k = {0};
        ak_err err = {0};
        CHECK_INT(zip(c, data, n, 7, &k, &err), AK_OK);
        snprintf(path, sizeof path, "%s/ours%s", test_tmpdir(), ak_codec_suffix(c));
        write_file(path, k.buf.data, k.buf.len);
        ak_buf plain = {0};
        snprintf(cmd, sizeof cmd, "%s -q -dc < '%s'", cli_tools[c], path);
        CHECK_INT(capture(cmd, &plain), 0);
        CHECK(same(&plain, data, n));
        ak_buf_free(&plain);
        ak_buf_free(&k.buf);
    }
    free(data);
}

/* The magic numbers the payload check relies on, and no false alarms on
 * text. */
static void test_sniff(void)
{
    static const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00}, zs[] = {0x28, 0xb5, 0x2f, 0xfd},
                               lz[] = {0x04, 0x22, 0x4d, 0x18}, duck[16] = "\x94-\x89ZH\x09\xa8(DUCK";
    CHECK_INT(ak_codec_sniff(gz, sizeof gz), AK_CODEC_GZIP);
    CHECK_INT(ak_codec_sniff(zs, sizeof zs), AK_CODEC_ZSTD);
    CHECK_INT(ak_codec_sniff(lz, sizeof lz), AK_CODEC_LZ4);
    CHECK_INT(ak_codec_sniff(gz, 3), AK_CODEC_NONE); /* too short to tell */
    CHECK_INT(ak_codec_sniff(duck, sizeof duck), AK_CODEC_NONE);
    CHECK_INT(ak_codec_sniff("{\"conversations\": []}", 20), AK_CODEC_NONE);
    CHECK_INT(ak_codec_sniff("", 0), AK_CODEC_NONE);
    /* What our own compressors write is recognized. */
    for (int c = AK_CODEC_GZIP; c <= AK_CODEC_LZ4; c++) {
        sink out = {0};
        ak_z *z = NULL;
        CHECK_INT(ak_z_new((ak_codec)c, 0, collect, &out, &z, NULL), AK_OK);
        CHECK_INT(ak_z_feed(z, "hello", 5, NULL), AK_OK);
        CHECK_INT(ak_z_finish(z, NULL), AK_OK);
        CHECK_INT(ak_codec_sniff(out.buf.data, out.buf.len), c);
        ak_z_free(z);
        ak_buf_free(&out.buf);
    }
}

int main(void)
{
    RUN(test_sniff);
    RUN(test_names);
    RUN(test_bad_args);
    RUN(test_roundtrip);
    RUN(test_levels);
    RUN(test_prompt);
    RUN(test_concat);
    RUN(test_truncated);
    RUN(test_corrupt);
    RUN(test_garbage);
    RUN(test_empty);
    RUN(test_sticky);
    RUN(test_abort);
    RUN(test_cli_decode);
    RUN(test_zstd_window);
    RUN(test_cli_encode);
    return test_report("compress");
}
