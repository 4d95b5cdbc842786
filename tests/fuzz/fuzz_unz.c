/*
 * fuzz_unz.c - libFuzzer target for streaming decompression (util/compress.h).
 *
 * Input layout:
 *   byte 0     bits 0-1: codec (0 gzip, 1 zstd, 2 lz4, 3 none)
 *              bits 2-3: 3 = round-trip mode (below), else decode mode
 *              bits 4-7: compression level (0-9) in round-trip mode
 *   byte 1     chunk size: < 128: 1 + b (small), else 1 + (b - 128) * 512
 *   the rest   decode mode: compressed bytes fed to ak_unz_new/feed/finish
 *              in chunks, output discarded (counted, capped at 32 MiB by
 *              stopping the stream from the callback: decompression bombs
 *              must not turn into timeouts);
 *              round-trip mode: plain bytes compressed with ak_z_*, then
 *              decoded again in chunks (must give the same bytes), cut
 *              short (must fail), and with one bit flipped (must fail or
 *              give the same bytes: the content checksums).
 *
 * Checked: no crash and no leak whatever the bytes; a callback's error comes
 * back unchanged; a failed or finished stream keeps refusing calls.
 *
 * Run with scripts/fuzz.sh unz [seconds].
 */
#include "fuzz_common.h"

#include "util/buf.h"
#include "util/compress.h"

#define OUTPUT_CAP ((size_t)32 * 1024 * 1024)

static const ak_codec codecs[4] = {AK_CODEC_GZIP, AK_CODEC_ZSTD, AK_CODEC_LZ4,
                                   AK_CODEC_NONE};

typedef struct {
    size_t total;
    ak_buf *keep; /* collect the output here (NULL: discard) */
    int stopped;
} sink;

static ak_code on_out(void *arg, const void *data, size_t len)
{
    sink *s = arg;
    FUZZ_CHECK(len > 0, "empty output chunk");
    FUZZ_CHECK(!s->stopped, "output after the callback stopped the stream");
    s->total += len;
    if (s->total > OUTPUT_CAP) {
        s->stopped = 1;
        return AK_ERR_ABORTED;
    }
    if (s->keep)
        FUZZ_CHECK(ak_buf_append(s->keep, data, len) == AK_OK, "out of memory");
    return AK_OK;
}

/* Decode p[0..n) in chunks; returns the first error code, else finish's. */
static ak_code decode(ak_codec codec, const uint8_t *p, size_t n, size_t chunk, ak_buf *keep)
{
    sink s = {.keep = keep};
    ak_unz *u = NULL;
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_unz_new(codec, on_out, &s, &u, &e);
    FUZZ_CHECK(rc == AK_OK && u, "ak_unz_new(%d): %s", (int)codec, e.msg);
    for (size_t off = 0; off < n && rc == AK_OK; off += chunk)
        rc = ak_unz_feed(u, p + off, n - off < chunk ? n - off : chunk, &e);
    if (rc == AK_OK)
        rc = ak_unz_finish(u, &e);

    if (s.stopped)
        FUZZ_CHECK(rc == AK_ERR_ABORTED, "callback stopped the stream but got %d: %s",
                   (int)rc, e.msg);
    else if (rc != AK_OK)
        FUZZ_CHECK(rc == e.code && e.msg[0] &&
                       (rc == AK_ERR_CORRUPT || rc == AK_ERR_UNSUPPORTED ||
                        rc == AK_ERR_NOMEM),
                   "decode failed with %d (%s)", (int)rc, e.msg);
    /* Whatever happened, the stream is over: later calls are refused. */
    uint8_t byte = 0;
    FUZZ_CHECK(ak_unz_feed(u, &byte, 1, NULL) != AK_OK, "feed after the end accepted");
    FUZZ_CHECK(ak_unz_finish(u, NULL) != AK_OK, "second finish accepted");
    ak_unz_free(u);
    return rc;
}

static ak_code collect(void *arg, const void *data, size_t len)
{
    return ak_buf_append(arg, data, len);
}

static void round_trip(ak_codec codec, int level, const uint8_t *p, size_t n, size_t chunk,
                       uint64_t seed)
{
    ak_buf packed = {0}, plain = {0};
    ak_z *z = NULL;
    ak_err e;
    ak_err_clear(&e);
    FUZZ_CHECK(ak_z_new(codec, level, collect, &packed, &z, &e) == AK_OK, "ak_z_new: %s",
               e.msg);
    ak_code rc = AK_OK;
    for (size_t off = 0; off < n && rc == AK_OK; off += chunk)
        rc = ak_z_feed(z, p + off, n - off < chunk ? n - off : chunk, &e);
    if (rc == AK_OK)
        rc = ak_z_finish(z, &e);
    FUZZ_CHECK(rc == AK_OK, "compression failed: %s", e.msg);
    ak_z_free(z);
    const uint8_t *c = (const uint8_t *)packed.data;
    size_t cn = packed.len;

    rc = decode(codec, c, cn, chunk, &plain);
    FUZZ_CHECK(rc == AK_OK, "decoding our own %s stream failed (%d)", ak_codec_name(codec),
               (int)rc);
    FUZZ_CHECK(plain.len == n && (n == 0 || memcmp(plain.data, p, n) == 0),
               "%s round trip changed the bytes (%zu -> %zu)", ak_codec_name(codec), n,
               plain.len);

    if (codec != AK_CODEC_NONE && cn > 0) {
        size_t cut = (size_t)(fuzz_rand(&seed) % cn); /* strictly shorter */
        FUZZ_CHECK(decode(codec, c, cut, chunk, NULL) != AK_OK,
                   "%s stream cut to %zu of %zu bytes decoded without error",
                   ak_codec_name(codec), cut, cn);

        uint8_t *bad = malloc(cn);
        FUZZ_CHECK(bad, "out of memory");
        memcpy(bad, c, cn);
        size_t at = (size_t)(fuzz_rand(&seed) % cn);
        bad[at] ^= (uint8_t)(1u << (fuzz_rand(&seed) % 8));
        ak_buf_reset(&plain);
        rc = decode(codec, bad, cn, chunk, &plain);
        FUZZ_CHECK(rc != AK_OK || (plain.len == n && (n == 0 || memcmp(plain.data, p, n) == 0)),
                   "%s stream with a bit flipped at byte %zu decoded to different bytes",
                   ak_codec_name(codec), at);
        free(bad);
    }
    ak_buf_free(&packed);
    ak_buf_free(&plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    ak_codec codec = codecs[data[0] & 3];
    int trip = ((data[0] >> 2) & 3) == 3;
    int level = (data[0] >> 4) % 10;
    size_t chunk = data[1] < 128 ? 1 + (size_t)data[1] : 1 + (size_t)(data[1] - 128) * 512;
    uint64_t seed = 0;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 131 + data[i];

    if (trip)
        round_trip(codec, level, data + 2, size - 2, chunk, seed);
    else
        decode(codec, data + 2, size - 2, chunk, NULL);
    return 0;
}
