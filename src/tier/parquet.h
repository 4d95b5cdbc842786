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
 *   embedding_code   BYTE_ARRAY  4-244 bytes: the vector code OPTIONAL
 *                    of util/vcode.h (null: no embedding; 196
 *                    bytes: code versions 1-3); files
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
 * This header is the schema and its row; the writer is parquet_write.h,
 * the reader parquet_read.h (ownership in each).
 */
#ifndef AK_PARQUET_H
#define AK_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define AK_PQ_FINGERPRINT_LEN 64     /* AK_MINHASH_BYTES: b-bit MinHash */
#define AK_PQ_FINGERPRINT_LEN_V1 512 /* 128 x uint32, files written before */
#define AK_PQ_SHA256_HEX_LEN 64
#define AK_PQ_CODE_LEN 196        /* AK_VCODE_BYTES: code versions 1-3 */
#define AK_PQ_CODE_MIN 4          /* AK_VCODE_MIN .. AK_VCODE_MAX: version 4 */
#define AK_PQ_CODE_MAX 244

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
    ak_pq_val embedding_code; /* AK_PQ_CODE_MIN .. _MAX bytes, or null */
} ak_pq_row;

/* The column's name in the schema ("system_id", ...). */
const char *ak_pq_col_name(ak_pq_col c);
/* Column c's value in row; NULL for AK_PQ_TIMESTAMP (that is row->ts_us). */
const ak_pq_val *ak_pq_row_val(const ak_pq_row *row, ak_pq_col c);

#endif
