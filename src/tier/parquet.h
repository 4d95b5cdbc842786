/*
 * parquet.h - the cold tier's Parquet files (SPEC section 6): write one
 * batch of rows into a complete Parquet file in memory, and read such a file
 * back (every row, or one conversation for `akosha get`).
 *
 * The schema, one row per conversation, columns in this order:
 *
 *   system_id        BYTE_ARRAY  STRING                          REQUIRED
 *   conversation_id  BYTE_ARRAY  STRING                          REQUIRED
 *   timestamp        INT64       TIMESTAMP(MICROS, UTC)          REQUIRED
 *   ultra_summary    BYTE_ARRAY  STRING                          REQUIRED
 *   fingerprint      BYTE_ARRAY  64 bytes: b-bit MinHash,        REQUIRED
 *                    tier/minhash.h (512 in files written before)
 *   content_sha256   BYTE_ARRAY  STRING, 64 lowercase hex digits REQUIRED
 *   metadata         BYTE_ARRAY  STRING, JSON text               OPTIONAL
 *   daily_metrics    BYTE_ARRAY  STRING, JSON text               OPTIONAL
 *   embedding_code   BYTE_ARRAY  196 bytes: the 4-bit vector code OPTIONAL
 *                    of util/vcode.h (null: no embedding); files
 *                    without this column (older Akosha, other writers)
 *                    read as all null
 *
 * What the writer produces: "PAR1"; row groups of at most group_rows rows,
 * each with one column chunk per column; v1 data pages (DataPageHeader) of
 * about 1 MiB of values, PLAIN encoded, compressed with ZSTD, each with the
 * CRC-32 of its stored bytes (PageHeader.crc); definition levels (RLE /
 * bit-packed hybrid) only in the two OPTIONAL columns; per chunk statistics
 * (null_count, and min_value/max_value: strings and the fingerprint by
 * unsigned byte-wise order, timestamp signed) with TYPE_ORDER column orders;
 * LogicalType plus ConvertedType annotations (UTF8, TIMESTAMP_MICROS);
 * key/value metadata akosha.format = "1"; the footer.  DuckDB reads these
 * files (tests/integration/test_parquet_duckdb.sh).
 *
 * What the reader reads: these files, and other writers' files of the same
 * schema: columns in any order (found by name; extra flat columns are
 * ignored), REQUIRED or OPTIONAL (a null where Akosha needs a value is an
 * error), v1 data pages with PLAIN or dictionary (PLAIN_DICTIONARY,
 * RLE_DICTIONARY) encoding, codecs UNCOMPRESSED, SNAPPY, GZIP, ZSTD and
 * LZ4_RAW, timestamps in MILLIS, MICROS or NANOS (handed out as
 * microseconds).  That covers DuckDB's, Arrow's and Spark's defaults.
 * Anything else (v2 data pages, DELTA_* or BYTE_STREAM_SPLIT encodings,
 * nested columns, encryption, other codecs, an akosha.format other than
 * "1") is AK_ERR_UNSUPPORTED naming what.  Page CRCs are verified when
 * present, and every value is checked as it is decoded (UTF-8, fingerprint
 * length, hex digest), as the writer checks its input.
 *
 * Errors: a bad row given to the writer is AK_ERR_INVALID ("parquet: row 17:
 * fingerprint has 100 bytes, not 64 (or 512)") and leaves the writer usable; a batch
 * over max_bytes is AK_ERR_INVALID too.  A damaged or truncated file is
 * AK_ERR_CORRUPT with a message saying what is wrong ("parquet: footer
 * length 123456 exceeds file size 900"): never a crash, never a read outside
 * the buffer.
 *
 * Memory: the writer holds the finished part of the file, the open row
 * group's compressed pages and one uncompressed page per column.  The
 * caller bounds a batch: at most AK_PQ_BATCH_ROWS rows per file is the
 * intended use (about 60 MiB with 512-byte fingerprints, 20 MiB with 64); the writer refuses
 * to grow a file past max_bytes.  The reader borrows the file's bytes and
 * decodes one row group at a time, holding at most AK_PQ_GROUP_BYTES_MAX
 * decompressed bytes (files asking for more are refused).
 *
 * Ownership: ak_pq_writer_new() / ak_pq_writer_free(); values passed to
 * ak_pq_writer_add() are copied; ak_pq_writer_finish() hands the file to the
 * caller's ak_buf.  ak_pq_reader_open() / ak_pq_reader_free(); the caller
 * keeps the file's bytes alive and unchanged until ak_pq_reader_free().  Row
 * values the reader hands out point into the file or into the reader and
 * stay valid until the next call on the reader (for ak_pq_reader_each():
 * until the callback returns).  A handle is used by one thread at a time.
 */
#ifndef AK_PARQUET_H
#define AK_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define AK_PQ_FINGERPRINT_LEN 64     /* AK_MINHASH_BYTES: b-bit MinHash */
#define AK_PQ_FINGERPRINT_LEN_V1 512 /* 128 x uint32, files written before */
#define AK_PQ_SHA256_HEX_LEN 64
#define AK_PQ_CODE_LEN 196        /* AK_VCODE_BYTES */

#define AK_PQ_BATCH_ROWS 100000             /* intended rows per file, at most */
#define AK_PQ_GROUP_ROWS 10000              /* default rows per row group */
#define AK_PQ_GROUP_ROWS_MAX (1u << 20)     /* read and write limit */
#define AK_PQ_MAX_BYTES ((size_t)256 << 20) /* default file size limit */
#define AK_PQ_GROUP_BYTES_MAX ((size_t)512 << 20) /* reader's decoded row group */

typedef enum {
    AK_PQ_SYSTEM_ID,
    AK_PQ_CONVERSATION_ID,
    AK_PQ_TIMESTAMP,
    AK_PQ_ULTRA_SUMMARY,
    AK_PQ_FINGERPRINT,
    AK_PQ_CONTENT_SHA256,
    AK_PQ_METADATA,
    AK_PQ_DAILY_METRICS,
    AK_PQ_EMBEDDING_CODE,
    AK_PQ_NCOLS
} ak_pq_col;

/* Parquet CompressionCodec numbers of the codecs the reader knows. */
typedef enum {
    AK_PQ_UNCOMPRESSED = 0,
    AK_PQ_SNAPPY = 1,
    AK_PQ_GZIP = 2,
    AK_PQ_ZSTD = 6,
    AK_PQ_LZ4_RAW = 7
} ak_pq_codec;

/* A string or binary value, not NUL-terminated.  p == NULL is null (only
 * metadata and daily_metrics may be); an empty value has p != NULL. */
typedef struct {
    const char *p;
    size_t len;
} ak_pq_val;

typedef struct {
    ak_pq_val system_id;
    ak_pq_val conversation_id;
    int64_t ts_us; /* microseconds since the epoch, UTC */
    ak_pq_val ultra_summary;
    ak_pq_val fingerprint;    /* AK_PQ_FINGERPRINT_LEN bytes (or _V1 read) */
    ak_pq_val content_sha256; /* AK_PQ_SHA256_HEX_LEN lowercase hex digits */
    ak_pq_val metadata;       /* JSON text, or null */
    ak_pq_val daily_metrics;  /* JSON text, or null */
    ak_pq_val embedding_code; /* AK_PQ_CODE_LEN bytes, or null */
} ak_pq_row;

/* The column's name in the schema ("system_id", ...). */
const char *ak_pq_col_name(ak_pq_col c);
/* Column c's value in row; NULL for AK_PQ_TIMESTAMP (that is row->ts_us). */
const ak_pq_val *ak_pq_row_val(const ak_pq_row *row, ak_pq_col c);

/* ---- writer ---- */

typedef struct {
    uint32_t group_rows;    /* rows per row group; 0: AK_PQ_GROUP_ROWS */
    int zstd_level;         /* 0: 3 */
    int uncompressed;       /* 1: pages stored uncompressed (tests, debugging) */
    size_t max_bytes;       /* file size limit, at most 1 GiB; 0: AK_PQ_MAX_BYTES */
    const char *created_by; /* "akosha <version>"; NULL: "akosha" (copied) */
} ak_pq_opts;

typedef struct ak_pq_writer ak_pq_writer;

/* opts may be NULL for the defaults. */
ak_code ak_pq_writer_new(const ak_pq_opts *opts, ak_pq_writer **out, ak_err *err);
/* Append one row (copied).  AK_ERR_INVALID for a row breaking the schema,
 * which is not added (the writer stays usable).  Any other failure, and a
 * batch growing past max_bytes, leaves the writer refusing further calls. */
ak_code ak_pq_writer_add(ak_pq_writer *w, const ak_pq_row *row, ak_err *err);
uint64_t ak_pq_writer_rows(const ak_pq_writer *w);
/* Finish the file and hand it over: *out must be an empty ak_buf; on
 * success it holds the whole file (the caller frees it).  The writer is then
 * spent: only ak_pq_writer_free() remains. */
ak_code ak_pq_writer_finish(ak_pq_writer *w, ak_buf *out, ak_err *err);
void ak_pq_writer_free(ak_pq_writer *w);

/* ---- reader ---- */

typedef struct ak_pq_reader ak_pq_reader;

/* Footer facts about one column chunk, for verification. */
typedef struct {
    int64_t num_values;       /* values in the chunk, nulls included */
    int64_t null_count;       /* -1 when the file does not say */
    int has_min_max;          /* min_value/max_value present, in TYPE_ORDER */
    ak_pq_val min, max;       /* the bounds' bytes (PLAIN, no length prefix) */
    int64_t min_us, max_us;   /* timestamp column: the bounds in microseconds */
    ak_pq_codec codec;
    int64_t compressed_bytes; /* pages with their headers, as stored */
    int64_t uncompressed_bytes;
} ak_pq_chunk_info;

/* Validate the magic, footer and schema of data[0..len) (borrowed). */
ak_code ak_pq_reader_open(const void *data, size_t len, ak_pq_reader **out, ak_err *err);
int64_t ak_pq_reader_rows(const ak_pq_reader *r);
size_t ak_pq_reader_groups(const ak_pq_reader *r);
int64_t ak_pq_reader_group_rows(const ak_pq_reader *r, size_t group);
/* group < ak_pq_reader_groups(r), c < AK_PQ_NCOLS. */
void ak_pq_reader_chunk(const ak_pq_reader *r, size_t group, ak_pq_col c,
                        ak_pq_chunk_info *out);

typedef ak_code (*ak_pq_row_fn)(void *ctx, const ak_pq_row *row);

/* Every row in file order.  A non-AK_OK code from fn stops the scan and is
 * returned as is. */
ak_code ak_pq_reader_each(ak_pq_reader *r, ak_pq_row_fn fn, void *ctx, ak_err *err);
/* The first row whose conversation_id is id[0..len); AK_ERR_NOTFOUND if
 * none.  Row groups whose statistics exclude the id are not decoded. */
ak_code ak_pq_reader_find(ak_pq_reader *r, const char *id, size_t len, ak_pq_row *row,
                          ak_err *err);
void ak_pq_reader_free(ak_pq_reader *r);

#endif
