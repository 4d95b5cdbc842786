/*
 * parquet_read.h - read a cold Parquet file back: every row, or one
 * conversation (the files it reads: parquet.h).
 *
 * Ownership: ak_pq_reader_open() / ak_pq_reader_free(); the caller keeps the
 * file's bytes alive and unchanged until ak_pq_reader_free().  Row values
 * the reader hands out point into the file or into the reader and stay
 * valid until the next call on the reader (for ak_pq_reader_each(): until
 * the callback returns).  A reader is used by one thread at a time.
 */
#ifndef AK_PARQUET_READ_H
#define AK_PARQUET_READ_H

#include "tier/parquet.h"

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
