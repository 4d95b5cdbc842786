/*
 * parquet_write.h - write one batch of cold rows into a complete Parquet
 * file in memory (the format: parquet.h).
 *
 * Ownership: ak_pq_writer_new() / ak_pq_writer_free(); values passed to
 * ak_pq_writer_add() are copied; ak_pq_writer_finish() hands the file to the
 * caller's ak_buf.  A writer is used by one thread at a time.
 */
#ifndef AK_PARQUET_WRITE_H
#define AK_PARQUET_WRITE_H

#include "tier/parquet.h"
#include "util/buf.h"

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

#endif
