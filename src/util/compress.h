/*
 * compress.h - streaming compression and decompression (gzip, zstd, lz4),
 * and the Snappy and gzip block decoders of Parquet pages.
 *
 * Push model: the caller feeds input chunks, the stream hands output chunks
 * to a callback as they are produced.  Memory stays bounded by the codec's
 * window and a fixed output buffer whatever the total size, which is what
 * lets Akosha ingest uploads far larger than RAM.
 *
 *   gzip  zlib with a gzip header (RFC 1952); concatenated members accepted
 *   zstd  zstd frames (libzstd streaming API); concatenated frames accepted
 *   lz4   LZ4 frame format (liblz4 lz4frame.h), not the raw block format
 *
 * Errors: corrupt input is AK_ERR_CORRUPT with a message naming the codec;
 * input that stops mid-stream is detected by ak_unz_finish() (AK_ERR_CORRUPT,
 * "truncated").  A non-AK_OK return from the output callback stops the
 * stream and is returned unchanged.
 *
 * Ownership: *_new() allocates, *_free() releases (NULL is fine).
 */
#ifndef AK_COMPRESS_H
#define AK_COMPRESS_H

#include <stddef.h>
#include "util/err.h"

typedef enum { AK_CODEC_NONE = 0, AK_CODEC_GZIP, AK_CODEC_ZSTD, AK_CODEC_LZ4 } ak_codec;

/* "gzip" / "zstd" / "lz4" -> codec; returns -1 for anything else. */
int ak_codec_from_name(const char *name);
const char *ak_codec_name(ak_codec c);
/* The usual file suffix (".gz", ".zst", ".lz4"; "" for none). */
const char *ak_codec_suffix(ak_codec c);

/* The codec whose magic number data starts with; AK_CODEC_NONE when none
 * does (or len is under 4). */
ak_codec ak_codec_sniff(const void *data, size_t len);

typedef ak_code (*ak_chunk_fn)(void *ctx, const void *data, size_t len);

/* ---- decompression ---- */
typedef struct ak_unz ak_unz;

ak_code ak_unz_new(ak_codec codec, ak_chunk_fn out, void *ctx, ak_unz **u,
                   ak_err *err);
ak_code ak_unz_feed(ak_unz *u, const void *data, size_t len, ak_err *err);
/* End of input: AK_ERR_CORRUPT if the stream is incomplete or empty. */
ak_code ak_unz_finish(ak_unz *u, ak_err *err);
void ak_unz_free(ak_unz *u);

/* ---- compression ---- */
typedef struct ak_z ak_z;

/* level 0 = codec default. */
ak_code ak_z_new(ak_codec codec, int level, ak_chunk_fn out, void *ctx,
                 ak_z **z, ak_err *err);
ak_code ak_z_feed(ak_z *z, const void *data, size_t len, ak_err *err);
ak_code ak_z_finish(ak_z *z, ak_err *err); /* flush and write the trailer */
void ak_z_free(ak_z *z);

/* ---- whole blocks ----
 * One block in[0..n) that decompresses to exactly want bytes into
 * out[0..want) (the caller's buffer, sized from a header it trusts no
 * further): NULL on success, else a few words saying what is wrong.  Used
 * for Parquet pages (tier/parquet_pages.c). */

/* Raw Snappy (the block format Parquet's SNAPPY uses): the uncompressed
 * length as a varint, then literals and back-references. */
const char *ak_block_snappy_decode(const void *in, size_t n, void *out, size_t want);
/* One gzip member (zlib). */
const char *ak_block_gzip_decode(const void *in, size_t n, void *out, size_t want);

#endif
