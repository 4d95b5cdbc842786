/* compress.c - see compress.h.
 *
 * Both directions and all codecs share one engine.  A codec "step" makes a
 * single library call that consumes some input and writes at most `cap`
 * bytes into the stream's fixed output buffer; pump() repeats steps, handing
 * each filled buffer to the callback, until the input is used up and the
 * codec has nothing pending.  A completely full buffer means the library may
 * still hold output, so pump() only stops after a short one.
 *
 * Truncation: none of the libraries reports "input ended mid-stream" on its
 * own, so each decoder records whether its last call that moved data left a
 * member or frame open (zlib: no Z_STREAM_END yet; zstd and lz4: a non-zero
 * size hint), and ak_unz_finish() turns an open one into AK_ERR_CORRUPT.
 *
 * We compress with content checksums on (zstd and lz4 default to off) so
 * that damaged data fails to decode instead of decoding to wrong bytes.
 */
#include "util/compress.h"

#define ZLIB_CONST /* const next_in, so input never needs a cast */
#include <limits.h>
#include <stdint.h>
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* Output buffer size per stream, and the largest piece fed to lz4 at once. */
#define CHUNK ((size_t)64 * 1024)

typedef struct stream stream;

typedef struct {
    /* Set up the library state; may raise s->cap.  NULL: nothing to do. */
    ak_code (*init)(stream *s, int level, ak_err *err);
    /* One library call: consume input, write *produced bytes to buf. */
    ak_code (*step)(stream *s, const unsigned char **in, size_t *len,
                    size_t *produced, ak_err *err);
    void (*release)(stream *s); /* NULL: nothing to release */
} codec_ops;

struct stream {
    const codec_ops *ops; /* NULL until init succeeded */
    ak_codec codec;
    ak_chunk_fn out;
    void *ctx;
    unsigned char *buf;
    size_t cap;
    ak_code failed; /* sticky: every later call reports it */
    int finished;   /* finish() has run; later calls are misuse */
    int fed;        /* decode: some input arrived (else "empty") */
    int open;       /* decode: a member/frame is started but incomplete */
    int end;        /* encode: finishing, so write the trailer */
    int done;       /* encode: trailer written */
    union {
        z_stream gz;
        ZSTD_DCtx *zd;
        ZSTD_CCtx *zc;
        LZ4F_dctx *ld;
        struct {
            LZ4F_cctx *cctx;
            LZ4F_preferences_t prefs;
            int begun;
        } lc;
    } c;
};

struct ak_unz {
    stream s;
};

struct ak_z {
    stream s;
};

static const char *const codec_names[] = {"none", "gzip", "zstd", "lz4"};
static const char *const codec_suffixes[] = {"", ".gz", ".zst", ".lz4"};

static int codec_valid(ak_codec c) { return (unsigned)c <= AK_CODEC_LZ4; }

int ak_codec_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int c = AK_CODEC_GZIP; c <= AK_CODEC_LZ4; c++)
        if (strcmp(name, codec_names[c]) == 0)
            return c;
    return -1;
}

const char *ak_codec_name(ak_codec c)
{
    return codec_valid(c) ? codec_names[c] : "unknown";
}

const char *ak_codec_suffix(ak_codec c)
{
    return codec_valid(c) ? codec_suffixes[c] : "";
}

ak_codec ak_codec_sniff(const void *data, size_t len)
{
    static const unsigned char gz[] = {0x1f, 0x8b}, zs[] = {0x28, 0xb5, 0x2f, 0xfd},
                               lz[] = {0x04, 0x22, 0x4d, 0x18};
    if (len >= sizeof zs && memcmp(data, zs, sizeof zs) == 0)
        return AK_CODEC_ZSTD;
    if (len >= sizeof lz && memcmp(data, lz, sizeof lz) == 0)
        return AK_CODEC_LZ4;
    if (len >= 4 && memcmp(data, gz, sizeof gz) == 0)
        return AK_CODEC_GZIP;
    return AK_CODEC_NONE;
}

/* ---- shared helpers ---- */

static const char *sname(const stream *s) { return codec_names[s->codec]; }

static ak_code codec_err(const stream *s, ak_code code, const char *why, ak_err *err)
{
    return ak_err_set(err, code, "%s: %s", sname(s), why);
}

static ak_code nomem(const stream *s, ak_err *err)
{
    return codec_err(s, AK_ERR_NOMEM, "out of memory", err);
}

static void advance(const unsigned char **in, size_t *len, size_t used)
{
    *in += used;
    *len -= used;
}

/* zstd and lz4 answer with a size hint that is 0 once a frame is complete
 * and flushed.  Polled between frames they hint at the next frame's header,
 * so only a call that moved data says anything about the stream. */
static void note_hint(stream *s, int moved, size_t hint)
{
    if (moved)
        s->open = hint != 0;
}

/* ---- none: a plain copy, so callers can treat every payload alike ---- */

static ak_code none_step(stream *s, const unsigned char **in, size_t *len,
                         size_t *produced, ak_err *err)
{
    (void)err;
    size_t n = *len < s->cap ? *len : s->cap;
    if (n)
        memcpy(s->buf, *in, n);
    advance(in, len, n);
    *produced = n;
    s->done = s->end;
    return AK_OK;
}

/* ---- gzip (zlib) ---- */

#define GZIP_WBITS (15 + 16) /* 32 KiB window, gzip wrapper only */

/* inflate() and deflate() share a signature, so one wrapper drives both.
 * zlib counts in uInt, hence at most UINT_MAX bytes per call. */
static int gz_call(stream *s, int (*fn)(z_streamp, int), int flush,
                   const unsigned char **in, size_t *len, size_t *produced)
{
    z_stream *zs = &s->c.gz;
    uInt give = *len > UINT_MAX ? UINT_MAX : (uInt)*len;
    zs->next_in = *in;
    zs->avail_in = give;
    zs->next_out = s->buf;
    zs->avail_out = (uInt)s->cap;
    int zr = fn(zs, flush);
    advance(in, len, give - zs->avail_in);
    *produced = s->cap - zs->avail_out;
    return zr;
}

static ak_code gz_fail(stream *s, int zr, ak_code code, ak_err *err)
{
    if (zr == Z_MEM_ERROR)
        return nomem(s, err);
    return codec_err(s, code, s->c.gz.msg ? s->c.gz.msg : zError(zr), err);
}

static ak_code gzd_init(stream *s, int level, ak_err *err)
{
    (void)level;
    int zr = inflateInit2(&s->c.gz, GZIP_WBITS);
    return zr == Z_OK ? AK_OK : gz_fail(s, zr, AK_ERR_INTERNAL, err);
}

static ak_code gzd_step(stream *s, const unsigned char **in, size_t *len,
                        size_t *produced, ak_err *err)
{
    int zr = gz_call(s, inflate, Z_NO_FLUSH, in, len, produced);
    if (zr == Z_STREAM_END) {
        s->open = 0;
        inflateReset(&s->c.gz); /* another member may follow */
    } else if (zr == Z_OK) {
        s->open = 1;
    } else if (zr != Z_BUF_ERROR) { /* Z_BUF_ERROR: merely no progress */
        return gz_fail(s, zr, AK_ERR_CORRUPT, err);
    }
    return AK_OK;
}

static void gzd_release(stream *s) { inflateEnd(&s->c.gz); }

static ak_code gzc_init(stream *s, int level, ak_err *err)
{
    int zr = deflateInit2(&s->c.gz, level ? level : Z_DEFAULT_COMPRESSION,
                          Z_DEFLATED, GZIP_WBITS, 8, Z_DEFAULT_STRATEGY);
    if (zr == Z_STREAM_ERROR)
        return ak_err_set(err, AK_ERR_INVALID, "gzip: bad compression level %d", level);
    return zr == Z_OK ? AK_OK : gz_fail(s, zr, AK_ERR_INTERNAL, err);
}

static ak_code gzc_step(stream *s, const unsigned char **in, size_t *len,
                        size_t *produced, ak_err *err)
{
    int zr = gz_call(s, deflate, s->end ? Z_FINISH : Z_NO_FLUSH, in, len, produced);
    if (zr == Z_STREAM_END)
        s->done = 1;
    else if (zr != Z_OK && zr != Z_BUF_ERROR)
        return gz_fail(s, zr, AK_ERR_INTERNAL, err);
    return AK_OK;
}

static void gzc_release(stream *s) { deflateEnd(&s->c.gz); }

/* ---- zstd ---- */

static ak_code zstd_fail(stream *s, size_t r, ak_code code, ak_err *err)
{
    switch (ZSTD_getErrorCode(r)) {
    case ZSTD_error_memory_allocation:
        code = AK_ERR_NOMEM;
        break;
    case ZSTD_error_frameParameter_windowTooLarge:
        /* Beyond our memory bound (default windowLogMax, 128 MiB), e.g.
         * `zstd --long=31`: valid data, just not something we decode. */
        code = AK_ERR_UNSUPPORTED;
        break;
    default:
        break;
    }
    return codec_err(s, code, ZSTD_getErrorName(r), err);
}

/* One zstd call through ZSTD_inBuffer/ZSTD_outBuffer views of our pointers. */
static size_t zstd_call(stream *s, int encode, const unsigned char **in,
                        size_t *len, size_t *produced)
{
    ZSTD_inBuffer ib = {*in, *len, 0};
    ZSTD_outBuffer ob = {s->buf, s->cap, 0};
    size_t r = encode ? ZSTD_compressStream2(s->c.zc, &ob, &ib,
                                             s->end ? ZSTD_e_end : ZSTD_e_continue)
                      : ZSTD_decompressStream(s->c.zd, &ob, &ib);
    advance(in, len, ib.pos);
    *produced = ob.pos;
    return r;
}

static ak_code zstdd_init(stream *s, int level, ak_err *err)
{
    (void)level;
    s->c.zd = ZSTD_createDCtx();
    return s->c.zd ? AK_OK : nomem(s, err);
}

static ak_code zstdd_step(stream *s, const unsigned char **in, size_t *len,
                          size_t *produced, ak_err *err)
{
    size_t before = *len;
    size_t r = zstd_call(s, 0, in, len, produced);
    if (ZSTD_isError(r))
        return zstd_fail(s, r, AK_ERR_CORRUPT, err);
    note_hint(s, before != *len || *produced, r);
    return AK_OK;
}

static void zstdd_release(stream *s) { ZSTD_freeDCtx(s->c.zd); }

static ak_code zstdc_init(stream *s, int level, ak_err *err)
{
    s->c.zc = ZSTD_createCCtx();
    if (!s->c.zc)
        return nomem(s, err);
    /* Neither can fail: zstd clamps levels, and its level 0 is "default". */
    ZSTD_CCtx_setParameter(s->c.zc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(s->c.zc, ZSTD_c_checksumFlag, 1);
    return AK_OK;
}

static ak_code zstdc_step(stream *s, const unsigned char **in, size_t *len,
                          size_t *produced, ak_err *err)
{
    size_t r = zstd_call(s, 1, in, len, produced);
    if (ZSTD_isError(r))
        return zstd_fail(s, r, AK_ERR_INTERNAL, err);
    s->done = s->end && r == 0;
    return AK_OK;
}

static void zstdc_release(stream *s) { ZSTD_freeCCtx(s->c.zc); }

/* ---- lz4 (frame format) ---- */

static ak_code lz4_fail(stream *s, size_t r, ak_code code, ak_err *err)
{
    return codec_err(s, code, LZ4F_getErrorName(r), err);
}

static ak_code lz4d_init(stream *s, int level, ak_err *err)
{
    (void)level;
    size_t r = LZ4F_createDecompressionContext(&s->c.ld, LZ4F_VERSION);
    return LZ4F_isError(r) ? lz4_fail(s, r, AK_ERR_NOMEM, err) : AK_OK;
}

static ak_code lz4d_step(stream *s, const unsigned char **in, size_t *len,
                         size_t *produced, ak_err *err)
{
    size_t dst = s->cap, src = *len;
    size_t r = LZ4F_decompress(s->c.ld, s->buf, &dst, *in, &src, NULL);
    if (LZ4F_isError(r))
        return lz4_fail(s, r, AK_ERR_CORRUPT, err);
    advance(in, len, src);
    *produced = dst;
    note_hint(s, src || dst, r);
    return AK_OK;
}

static void lz4d_release(stream *s) { LZ4F_freeDecompressionContext(s->c.ld); }

static ak_code lz4c_init(stream *s, int level, ak_err *err)
{
    LZ4F_preferences_t *p = &s->c.lc.prefs;
    memset(p, 0, sizeof *p);
    p->compressionLevel = level; /* 0 is lz4's default (fast) */
    p->frameInfo.blockSizeID = LZ4F_max64KB;
    p->frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    /* LZ4F wants room for the worst case of every call, not just progress:
     * size the buffer for one CHUNK-sized update (which also covers the
     * header and the end mark) and never feed it more than that. */
    s->cap = LZ4F_compressBound(CHUNK, p);
    size_t r = LZ4F_createCompressionContext(&s->c.lc.cctx, LZ4F_VERSION);
    return LZ4F_isError(r) ? lz4_fail(s, r, AK_ERR_NOMEM, err) : AK_OK;
}

static ak_code lz4c_step(stream *s, const unsigned char **in, size_t *len,
                         size_t *produced, ak_err *err)
{
    size_t r = 0, n = 0;
    if (!s->c.lc.begun) {
        r = LZ4F_compressBegin(s->c.lc.cctx, s->buf, s->cap, &s->c.lc.prefs);
        s->c.lc.begun = 1;
    } else if (*len) {
        n = *len < CHUNK ? *len : CHUNK;
        r = LZ4F_compressUpdate(s->c.lc.cctx, s->buf, s->cap, *in, n, NULL);
    } else if (s->end) {
        r = LZ4F_compressEnd(s->c.lc.cctx, s->buf, s->cap, NULL);
        s->done = 1;
    }
    if (LZ4F_isError(r))
        return lz4_fail(s, r, AK_ERR_INTERNAL, err);
    advance(in, len, n);
    *produced = r;
    return AK_OK;
}

static void lz4c_release(stream *s) { LZ4F_freeCompressionContext(s->c.lc.cctx); }

/* ---- the engine ---- */

static const codec_ops unz_ops[] = {
    [AK_CODEC_NONE] = {NULL, none_step, NULL},
    [AK_CODEC_GZIP] = {gzd_init, gzd_step, gzd_release},
    [AK_CODEC_ZSTD] = {zstdd_init, zstdd_step, zstdd_release},
    [AK_CODEC_LZ4] = {lz4d_init, lz4d_step, lz4d_release},
};

static const codec_ops z_ops[] = {
    [AK_CODEC_NONE] = {NULL, none_step, NULL},
    [AK_CODEC_GZIP] = {gzc_init, gzc_step, gzc_release},
    [AK_CODEC_ZSTD] = {zstdc_init, zstdc_step, zstdc_release},
    [AK_CODEC_LZ4] = {lz4c_init, lz4c_step, lz4c_release},
};

static void stream_close(stream *s)
{
    if (s->ops && s->ops->release)
        s->ops->release(s);
    free(s->buf);
}

static ak_code stream_open(stream *s, const codec_ops *table, ak_codec codec,
                           int level, ak_chunk_fn out, void *ctx, ak_err *err)
{
    if (!codec_valid(codec))
        return ak_err_set(err, AK_ERR_INVALID, "unknown codec %d", (int)codec);
    if (!out)
        return ak_err_set(err, AK_ERR_INVALID, "%s: no output callback",
                          codec_names[codec]);
    s->codec = codec;
    s->out = out;
    s->ctx = ctx;
    s->cap = CHUNK;
    const codec_ops *ops = &table[codec];
    ak_code rc = ops->init ? ops->init(s, level, err) : AK_OK;
    if (rc)
        return rc;
    s->ops = ops;
    s->buf = malloc(s->cap);
    if (!s->buf) {
        stream_close(s);
        return nomem(s, err);
    }
    return AK_OK;
}

/* Calls on a stream that failed or finished get an error, never a crash. */
static ak_code stream_usable(const stream *s, ak_err *err)
{
    if (s->failed)
        return ak_err_set(err, s->failed, "%s stream already failed", sname(s));
    if (s->finished)
        return ak_err_set(err, AK_ERR_INVALID, "%s stream already finished", sname(s));
    return AK_OK;
}

/* Step until the input is consumed, the buffer came back short (nothing
 * pending) and, when finishing, the trailer is out.  A callback's non-OK
 * code is returned as is, leaving err alone. */
static ak_code pump(stream *s, const unsigned char *p, size_t len, ak_err *err)
{
    for (;;) {
        size_t before = len, produced = 0;
        ak_code rc = s->ops->step(s, &p, &len, &produced, err);
        if (rc == AK_OK && produced)
            rc = s->out(s->ctx, s->buf, produced);
        if (rc)
            return s->failed = rc;
        if (len == 0 && produced < s->cap && (!s->end || s->done))
            return AK_OK;
        if (len == before && produced == 0) /* would spin forever */
            return s->failed =
                       codec_err(s, AK_ERR_INTERNAL, "codec made no progress", err);
    }
}

static ak_code stream_feed(stream *s, const void *data, size_t len, ak_err *err)
{
    ak_code rc = stream_usable(s, err);
    if (rc || len == 0)
        return rc;
    s->fed = 1;
    return pump(s, data, len, err);
}

/* ---- decompression ---- */

ak_code ak_unz_new(ak_codec codec, ak_chunk_fn out, void *ctx, ak_unz **u,
                   ak_err *err)
{
    ak_unz *n = calloc(1, sizeof *n);
    ak_code rc = n ? stream_open(&n->s, unz_ops, codec, 0, out, ctx, err)
                   : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc) {
        free(n);
        n = NULL;
    }
    *u = n;
    return rc;
}

ak_code ak_unz_feed(ak_unz *u, const void *data, size_t len, ak_err *err)
{
    return stream_feed(&u->s, data, len, err);
}

ak_code ak_unz_finish(ak_unz *u, ak_err *err)
{
    stream *s = &u->s;
    ak_code rc = stream_usable(s, err);
    if (rc)
        return rc;
    if (!s->fed && s->codec != AK_CODEC_NONE)
        rc = ak_err_set(err, AK_ERR_CORRUPT, "%s stream is empty", sname(s));
    else if (s->open)
        rc = ak_err_set(err, AK_ERR_CORRUPT, "%s stream truncated", sname(s));
    s->failed = rc;
    s->finished = 1;
    return rc;
}

void ak_unz_free(ak_unz *u)
{
    if (!u)
        return;
    stream_close(&u->s);
    free(u);
}

/* ---- compression ---- */

ak_code ak_z_new(ak_codec codec, int level, ak_chunk_fn out, void *ctx,
                 ak_z **z, ak_err *err)
{
    ak_z *n = calloc(1, sizeof *n);
    ak_code rc = n ? stream_open(&n->s, z_ops, codec, level, out, ctx, err)
                   : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc) {
        free(n);
        n = NULL;
    }
    *z = n;
    return rc;
}

ak_code ak_z_feed(ak_z *z, const void *data, size_t len, ak_err *err)
{
    return stream_feed(&z->s, data, len, err);
}

ak_code ak_z_finish(ak_z *z, ak_err *err)
{
    static const unsigned char nothing[1]; /* pump() must not offset NULL */
    stream *s = &z->s;
    ak_code rc = stream_usable(s, err);
    if (rc)
        return rc;
    s->end = 1;
    rc = pump(s, nothing, 0, err);
    s->finished = 1;
    return rc;
}

void ak_z_free(ak_z *z)
{
    if (!z)
        return;
    stream_close(&z->s);
    free(z);
}

/* ---- whole blocks (Parquet pages) ---- */

const char *ak_block_snappy_decode(const void *in, size_t n, void *dst, size_t want)
{
    const uint8_t *p = in;
    uint8_t *out = dst;
    const uint8_t *end = p + n;
    uint64_t total = 0;
    for (int shift = 0;; shift += 7) {
        if (p == end || shift > 28)
            return "its length header is damaged";
        total |= (uint64_t)(*p & 0x7F) << shift;
        if (!(*p++ & 0x80))
            break;
    }
    if (total != want)
        return "its length disagrees with the page header";
    size_t o = 0;
    while (p < end) {
        uint8_t tag = *p++;
        size_t len, off;
        if ((tag & 3) == 0) { /* literal */
            len = tag >> 2;
            if (len >= 60) {
                size_t k = len - 59;
                if ((size_t)(end - p) < k)
                    return "a literal's length is cut short";
                len = 0;
                for (size_t i = 0; i < k; i++)
                    len |= (size_t)p[i] << (8 * i);
                p += k;
            }
            len++;
            if ((size_t)(end - p) < len || want - o < len)
                return "a literal runs past the end";
            memcpy(out + o, p, len);
            o += len;
            p += len;
            continue;
        }
        size_t extra = (tag & 3) == 1 ? 1 : (tag & 3) == 2 ? 2 : 4;
        if ((size_t)(end - p) < extra)
            return "a back-reference is cut short";
        if ((tag & 3) == 1) {
            len = 4 + ((tag >> 2) & 7);
            off = (size_t)(tag >> 5) << 8 | p[0];
        } else {
            len = 1 + (size_t)(tag >> 2);
            off = extra == 2 ? (size_t)p[0] | (size_t)p[1] << 8
                             : (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
                                   (size_t)p[3] << 24;
        }
        p += extra;
        if (off == 0 || off > o)
            return "a back-reference points before the start";
        if (want - o < len)
            return "a back-reference runs past the end";
        for (size_t i = 0; i < len; i++) /* may overlap itself */
            out[o + i] = out[o + i - off];
        o += len;
    }
    return o == want ? NULL : "it ends early";
}

const char *ak_block_gzip_decode(const void *p, size_t n, void *out, size_t want)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return "zlib would not start";
    zs.next_in = (Bytef *)(uintptr_t)p; /* zlib's API is not const */
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)want;
    int zrc = inflate(&zs, Z_FINISH);
    size_t got = zs.total_out;
    inflateEnd(&zs);
    return zrc == Z_STREAM_END && got == want ? NULL : "it does not inflate to its size";
}
