/*
 * parquet_write.c - the Parquet writer (see parquet_write.h).
 *
 * A file is
 *
 *   "PAR1" | column chunks, row group after row group | footer | len | "PAR1"
 *
 * where each column chunk is a run of pages (a Thrift PageHeader, then the
 * page's bytes) and the footer is a Thrift FileMetaData of len bytes.  The
 * writer serializes each row group's metadata as soon as the group is
 * flushed (offsets are known then), so finishing only concatenates.
 */
#include "tier/parquet_impl.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* ======================================================================
 * Writer
 * ====================================================================== */

typedef struct {
    ak_buf vals;          /* PLAIN values of the open page */
    ak_buf levels;        /* its definition levels, a byte each (OPTIONAL) */
    uint32_t page_values; /* values in the open page, nulls included */
    ak_buf chunk;         /* finished pages of the open row group */
    int64_t raw_bytes;    /* those pages uncompressed, headers included */
    int64_t nulls;
    int has_bounds;
    ak_buf min, max;         /* byte-wise bounds (BYTE_ARRAY columns) */
    int64_t min_ts, max_ts;  /* the timestamp's bounds */
} wcol;

enum { W_OPEN, W_FAILED, W_DONE };

struct ak_pq_writer {
    ak_pq_opts o;
    char *created_by;
    int state;
    ak_buf file;         /* "PAR1" and the flushed row groups */
    ak_buf groups;       /* their RowGroup structs, encoded for the footer */
    uint32_t ngroups;
    uint32_t group_rows; /* rows in the open row group */
    uint64_t rows;
    wcol col[AK_PQ_NCOLS];
    ak_buf page, packed; /* scratch: one page, plain and compressed */
    ZSTD_CCtx *zc;
};

ak_code ak_pq_writer_new(const ak_pq_opts *opts, ak_pq_writer **out, ak_err *err)
{
    ak_pq_opts o = opts ? *opts : (ak_pq_opts){0};
    *out = NULL;
    if (!o.group_rows)
        o.group_rows = AK_PQ_GROUP_ROWS;
    if (!o.zstd_level)
        o.zstd_level = 3;
    if (!o.max_bytes)
        o.max_bytes = AK_PQ_MAX_BYTES;
    if (o.group_rows > AK_PQ_GROUP_ROWS_MAX)
        return ak_err_set(err, AK_ERR_INVALID,
                          "parquet: %u rows per row group exceeds the limit %u", o.group_rows,
                          AK_PQ_GROUP_ROWS_MAX);
    if (o.zstd_level < 1 || o.zstd_level > ZSTD_maxCLevel())
        return ak_err_set(err, AK_ERR_INVALID, "parquet: zstd level %d is not in 1..%d",
                          o.zstd_level, ZSTD_maxCLevel());
    if (o.max_bytes > MAX_BYTES_LIMIT)
        return ak_err_set(err, AK_ERR_INVALID, "parquet: a file limit of %zu bytes exceeds 1 GiB",
                          o.max_bytes);
    ak_pq_writer *w = calloc(1, sizeof *w);
    if (!w)
        return nomem(err);
    w->o = o;
    w->created_by = strdup(o.created_by ? o.created_by : "akosha");
    w->zc = o.uncompressed ? NULL : ZSTD_createCCtx();
    if (!w->created_by || (!o.uncompressed && !w->zc) || ak_buf_append(&w->file, MAGIC, 4)) {
        ak_pq_writer_free(w);
        return nomem(err);
    }
    *out = w;
    return AK_OK;
}

uint64_t ak_pq_writer_rows(const ak_pq_writer *w) { return w->rows; }

void ak_pq_writer_free(ak_pq_writer *w)
{
    if (!w)
        return;
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        wcol *k = &w->col[c];
        ak_buf_free(&k->vals);
        ak_buf_free(&k->levels);
        ak_buf_free(&k->chunk);
        ak_buf_free(&k->min);
        ak_buf_free(&k->max);
    }
    ak_buf_free(&w->file);
    ak_buf_free(&w->groups);
    ak_buf_free(&w->page);
    ak_buf_free(&w->packed);
    ZSTD_freeCCtx(w->zc);
    free(w->created_by);
    free(w);
}

static ak_code put_uvarint(ak_buf *b, uint64_t v)
{
    uint8_t x[10];
    return ak_buf_append(b, x, ak_varint_encode(v, x));
}

/* n levels (0 or 1) as one bit-packed run; the last group of 8 is padded
 * with zeros, which the reader never reaches. */
static ak_code put_bitpacked(ak_buf *out, const uint8_t *lv, size_t n)
{
    size_t groups = (n + 7) / 8;
    ak_code rc = n ? put_uvarint(out, (uint64_t)groups << 1 | 1) : AK_OK;
    if (!rc)
        rc = ak_buf_reserve(out, groups);
    for (size_t g = 0; g < groups && !rc; g++) {
        uint8_t byte = 0;
        for (size_t j = 0; j < 8 && g * 8 + j < n; j++)
            byte |= (uint8_t)(lv[g * 8 + j] << j);
        rc = ak_buf_append(out, &byte, 1);
    }
    return rc;
}

/* Definition levels as the RLE / bit-packed hybrid with bit width 1: runs of
 * 8 or more equal levels become RLE runs, the rest is bit-packed.  A
 * bit-packed run holds whole groups of 8, so the values before an RLE run
 * are first rounded up to a multiple of 8 with values taken from the run. */
static ak_code put_levels(ak_buf *out, const uint8_t *lv, size_t n)
{
    size_t lit = 0, i = 0; /* lv[lit..i) waits to be bit-packed */
    ak_code rc = AK_OK;
    while (i < n && !rc) {
        size_t run = 1;
        while (i + run < n && lv[i + run] == lv[i])
            run++;
        size_t pad = (8 - (i - lit) % 8) % 8;
        if (run < pad + 8) {
            i += run;
            continue;
        }
        i += pad;
        run -= pad;
        rc = put_bitpacked(out, lv + lit, i - lit);
        if (!rc)
            rc = put_uvarint(out, (uint64_t)run << 1);
        if (!rc)
            rc = ak_buf_putc(out, (char)lv[i]);
        i += run;
        lit = i;
    }
    return rc ? rc : put_bitpacked(out, lv + lit, n - lit);
}

/* Compress w->page into the open chunk of column c, behind its header. */
static ak_code flush_page(ak_pq_writer *w, int c, ak_err *err)
{
    wcol *k = &w->col[c];
    ak_buf *pg = &w->page;
    ak_code rc = AK_OK;
    ak_buf_reset(pg);
    if (ak_pq_cols[c].optional) {
        uint8_t len[4] = {0};
        rc = ak_buf_append(pg, len, 4);
        if (!rc)
            rc = put_levels(pg, (const uint8_t *)k->levels.data, k->page_values);
        if (!rc)
            put_le32((uint8_t *)pg->data, (uint32_t)(pg->len - 4));
    }
    if (!rc)
        rc = ak_buf_append(pg, k->vals.data, k->vals.len);
    if (rc)
        return nomem(err);

    const char *body = pg->data;
    size_t blen = pg->len;
    if (!w->o.uncompressed) {
        size_t bound = ZSTD_compressBound(pg->len);
        ak_buf_reset(&w->packed);
        if (ak_buf_reserve(&w->packed, bound))
            return nomem(err);
        blen = ZSTD_compressCCtx(w->zc, w->packed.data, bound, pg->data, pg->len,
                                 w->o.zstd_level);
        if (ZSTD_isError(blen))
            return ak_err_set(err, AK_ERR_INTERNAL, "parquet: zstd: %s",
                              ZSTD_getErrorName(blen));
        body = w->packed.data;
    }

    size_t before = k->chunk.len;
    ak_tw t;
    ak_tw_init(&t, &k->chunk);
    ak_tw_begin(&t); /* PageHeader */
    ak_tw_i32(&t, 1, PAGE_DATA);
    ak_tw_i32(&t, 2, (int32_t)pg->len);
    ak_tw_i32(&t, 3, (int32_t)blen);
    /* CRC-32 of the page as stored: zstd frames carry no checksum of their
     * own, so this is what lets a reader tell a damaged page. */
    ak_tw_i32(&t, 4, (int32_t)crc32(0, (const Bytef *)body, (uInt)blen));
    ak_tw_struct(&t, 5); /* DataPageHeader */
    ak_tw_i32(&t, 1, (int32_t)k->page_values);
    ak_tw_i32(&t, 2, ENC_PLAIN);
    ak_tw_i32(&t, 3, ENC_RLE);
    ak_tw_i32(&t, 4, ENC_RLE);
    ak_tw_end(&t);
    ak_tw_end(&t);
    if (ak_tw_finish(&t) || ak_buf_append(&k->chunk, body, blen))
        return nomem(err);
    k->raw_bytes += (int64_t)(k->chunk.len - before - blen + pg->len);
    ak_buf_reset(&k->vals);
    ak_buf_reset(&k->levels);
    k->page_values = 0;
    return AK_OK;
}

static ak_code set_bound(ak_buf *b, const ak_pq_val *v)
{
    ak_buf_reset(b);
    return ak_buf_append(b, v->p, v->len);
}

/* Append row's value of column c to the open page, keep the statistics. */
static ak_code put_value(ak_pq_writer *w, int c, const ak_pq_row *row)
{
    wcol *k = &w->col[c];
    uint8_t le[8];
    ak_code rc;
    if (ak_pq_cols[c].kind == K_TIMESTAMP) {
        int64_t ts = row->ts_us;
        put_le64(le, ts);
        rc = ak_buf_append(&k->vals, le, 8);
        k->min_ts = !k->has_bounds || ts < k->min_ts ? ts : k->min_ts;
        k->max_ts = !k->has_bounds || ts > k->max_ts ? ts : k->max_ts;
        k->has_bounds = 1;
    } else {
        const ak_pq_val *v = ak_pq_row_val(row, (ak_pq_col)c);
        uint8_t present = v->p != NULL;
        rc = ak_pq_cols[c].optional ? ak_buf_append(&k->levels, &present, 1) : AK_OK;
        if (!present) {
            k->nulls++;
        } else if (!rc) {
            put_le32(le, (uint32_t)v->len);
            rc = ak_buf_append(&k->vals, le, 4);
            if (!rc)
                rc = ak_buf_append(&k->vals, v->p, v->len);
            if (!rc && (!k->has_bounds || bytes_cmp(v->p, v->len, k->min.data, k->min.len) < 0))
                rc = set_bound(&k->min, v);
            if (!rc && (!k->has_bounds || bytes_cmp(v->p, v->len, k->max.data, k->max.len) > 0))
                rc = set_bound(&k->max, v);
            k->has_bounds = 1;
        }
    }
    k->page_values++;
    return rc;
}

/* Statistics: null_count always; the bounds when there are some and they
 * are short enough to be worth their bytes in the footer. */
static void put_stats(ak_tw *t, int c, const wcol *k)
{
    uint8_t lo[8], hi[8];
    const void *min = k->min.data, *max = k->max.data;
    size_t min_len = k->min.len, max_len = k->max.len;
    if (ak_pq_cols[c].kind == K_TIMESTAMP) {
        put_le64(lo, k->min_ts);
        put_le64(hi, k->max_ts);
        min = lo;
        max = hi;
        min_len = max_len = 8;
    }
    ak_tw_struct(t, 12); /* Statistics */
    ak_tw_i64(t, 3, k->nulls);
    if (k->has_bounds && min_len <= STAT_MAX && max_len <= STAT_MAX) {
        ak_tw_bin(t, 5, max, max_len);
        ak_tw_bin(t, 6, min, min_len);
        ak_tw_bool(t, 7, 1); /* is_max_value_exact */
        ak_tw_bool(t, 8, 1);
    }
    ak_tw_end(t);
}

static void put_column_chunk(ak_tw *t, int c, const wcol *k, int64_t offset, int64_t values,
                             int codec)
{
    ak_tw_begin(t);      /* ColumnChunk */
    ak_tw_i64(t, 2, 0);  /* file_offset: deprecated, 0 as the spec asks */
    ak_tw_struct(t, 3); /* ColumnMetaData */
    ak_tw_i32(t, 1, ak_pq_cols[c].kind == K_TIMESTAMP ? T_INT64 : T_BYTE_ARRAY);
    ak_tw_list(t, 2, AK_TT_I32, ak_pq_cols[c].optional ? 2 : 1);
    ak_tw_elem_i32(t, ENC_PLAIN);
    if (ak_pq_cols[c].optional)
        ak_tw_elem_i32(t, ENC_RLE);
    ak_tw_list(t, 3, AK_TT_BINARY, 1);
    ak_tw_elem_bin(t, ak_pq_cols[c].name, strlen(ak_pq_cols[c].name));
    ak_tw_i32(t, 4, codec);
    ak_tw_i64(t, 5, values);
    ak_tw_i64(t, 6, k->raw_bytes);
    ak_tw_i64(t, 7, (int64_t)k->chunk.len);
    ak_tw_i64(t, 9, offset);
    put_stats(t, c, k);
    ak_tw_end(t);
    ak_tw_end(t);
}

/* Write the open row group's chunks to the file and its RowGroup struct to
 * w->groups. */
static ak_code flush_group(ak_pq_writer *w, ak_err *err)
{
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        ak_code rc = w->col[c].page_values ? flush_page(w, c, err) : AK_OK;
        if (rc)
            return rc;
    }
    int64_t first = (int64_t)w->file.len, raw = 0, stored = 0;
    ak_tw t;
    ak_tw_init(&t, &w->groups);
    ak_tw_begin(&t); /* RowGroup */
    ak_tw_list(&t, 1, AK_TT_STRUCT, AK_PQ_NCOLS);
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        wcol *k = &w->col[c];
        int64_t offset = (int64_t)w->file.len;
        if (ak_buf_append(&w->file, k->chunk.data, k->chunk.len))
            return nomem(err);
        put_column_chunk(&t, c, k, offset, w->group_rows,
                         w->o.uncompressed ? AK_PQ_UNCOMPRESSED : AK_PQ_ZSTD);
        raw += k->raw_bytes;
        stored += (int64_t)k->chunk.len;
        ak_buf_reset(&k->chunk);
        k->raw_bytes = k->nulls = 0;
        k->has_bounds = 0;
    }
    ak_tw_i64(&t, 2, raw); /* total_byte_size */
    ak_tw_i64(&t, 3, w->group_rows);
    ak_tw_i64(&t, 5, first);
    ak_tw_i64(&t, 6, stored);
    ak_tw_end(&t);
    if (ak_tw_finish(&t))
        return nomem(err);
    w->ngroups++;
    w->group_rows = 0;
    return AK_OK;
}

static size_t pending_bytes(const ak_pq_writer *w)
{
    size_t n = w->file.len + w->groups.len;
    for (int c = 0; c < AK_PQ_NCOLS; c++)
        n += w->col[c].chunk.len + w->col[c].vals.len;
    return n;
}

static ak_code refuse(const ak_pq_writer *w, ak_err *err)
{
    return ak_err_set(err, AK_ERR_INVALID, "parquet: the writer is %s",
                      w->state == W_DONE ? "finished" : "unusable after an earlier failure");
}

ak_code ak_pq_writer_add(ak_pq_writer *w, const ak_pq_row *row, ak_err *err)
{
    if (w->state != W_OPEN)
        return refuse(w, err);
    /* Check everything first, so a bad row changes nothing. */
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        const ak_pq_val *v = ak_pq_row_val(row, (ak_pq_col)c);
        char why[64];
        const char *problem = v ? ak_pq_value_problem(c, v, why, sizeof why) : NULL;
        if (!problem && v && v->len > w->o.max_bytes)
            problem = "is longer than the file limit";
        if (problem)
            return ak_err_set(err, AK_ERR_INVALID, "parquet: row %llu: %s %s",
                              (unsigned long long)w->rows, ak_pq_cols[c].name, problem);
    }
    ak_code rc = AK_OK;
    for (int c = 0; c < AK_PQ_NCOLS && !rc; c++) {
        rc = put_value(w, c, row);
        if (rc)
            rc = nomem(err);
        else if (w->col[c].vals.len >= PAGE_TARGET)
            rc = flush_page(w, c, err);
    }
    if (!rc) {
        w->rows++;
        if (++w->group_rows == w->o.group_rows)
            rc = flush_group(w, err);
    }
    if (!rc && pending_bytes(w) > w->o.max_bytes)
        rc = ak_err_set(err, AK_ERR_INVALID,
                        "parquet: the batch outgrew the file limit of %zu bytes at row %llu; "
                        "write fewer rows per file",
                        w->o.max_bytes, (unsigned long long)w->rows);
    if (rc)
        w->state = W_FAILED;
    return rc;
}

/* One SchemaElement per column, after the root. */
static void put_schema(ak_tw *t)
{
    ak_tw_list(t, 2, AK_TT_STRUCT, AK_PQ_NCOLS + 1);
    ak_tw_begin(t);
    ak_tw_str(t, 4, "schema");
    ak_tw_i32(t, 5, AK_PQ_NCOLS);
    ak_tw_end(t);
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        ak_tw_begin(t);
        ak_tw_i32(t, 1, ak_pq_cols[c].kind == K_TIMESTAMP ? T_INT64 : T_BYTE_ARRAY);
        ak_tw_i32(t, 3, ak_pq_cols[c].optional ? REP_OPTIONAL : REP_REQUIRED);
        ak_tw_str(t, 4, ak_pq_cols[c].name);
        if (ak_pq_cols[c].kind == K_TIMESTAMP) {
            ak_tw_i32(t, 6, CT_TS_MICROS);
            ak_tw_struct(t, 10);           /* LogicalType */
            ak_tw_struct(t, LT_TIMESTAMP); /* TimestampType */
            ak_tw_bool(t, 1, 1);           /* isAdjustedToUTC */
            ak_tw_struct(t, 2);            /* TimeUnit */
            ak_tw_struct(t, UNIT_MICROS);
            ak_tw_end(t);
            ak_tw_end(t);
            ak_tw_end(t);
            ak_tw_end(t);
        } else if (ak_pq_cols[c].kind != K_FINGERPRINT && ak_pq_cols[c].kind != K_CODE) {
            ak_tw_i32(t, 6, CT_UTF8);
            ak_tw_struct(t, 10);
            ak_tw_struct(t, LT_STRING);
            ak_tw_end(t);
            ak_tw_end(t);
        }
        ak_tw_end(t);
    }
}

static void put_footer(ak_pq_writer *w, ak_tw *t)
{
    ak_tw_begin(t);     /* FileMetaData */
    ak_tw_i32(t, 1, 1); /* version */
    put_schema(t);
    ak_tw_i64(t, 3, (int64_t)w->rows);
    ak_tw_list(t, 4, AK_TT_STRUCT, w->ngroups);
    ak_tw_raw(t, w->groups.data, w->groups.len);
    ak_tw_list(t, 5, AK_TT_STRUCT, 1); /* key_value_metadata */
    ak_tw_begin(t);
    ak_tw_str(t, 1, FORMAT_KEY);
    ak_tw_str(t, 2, FORMAT_VERSION);
    ak_tw_end(t);
    ak_tw_str(t, 6, w->created_by);
    /* column_orders: without them min_value/max_value mean nothing. */
    ak_tw_list(t, 7, AK_TT_STRUCT, AK_PQ_NCOLS);
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        ak_tw_begin(t);
        ak_tw_struct(t, 1); /* TYPE_ORDER */
        ak_tw_end(t);
        ak_tw_end(t);
    }
    ak_tw_end(t);
}

ak_code ak_pq_writer_finish(ak_pq_writer *w, ak_buf *out, ak_err *err)
{
    if (w->state != W_OPEN)
        return refuse(w, err);
    w->state = W_FAILED; /* until the file is complete */
    ak_code rc = w->group_rows ? flush_group(w, err) : AK_OK;
    if (rc)
        return rc;
    size_t start = w->file.len;
    ak_tw t;
    ak_tw_init(&t, &w->file);
    put_footer(w, &t);
    uint8_t tail[8];
    put_le32(tail, (uint32_t)(w->file.len - start));
    memcpy(tail + 4, MAGIC, 4);
    if (ak_tw_finish(&t) || ak_buf_append(&w->file, tail, 8))
        return nomem(err);
    if (w->file.len > w->o.max_bytes)
        return ak_err_set(err, AK_ERR_INVALID,
                          "parquet: the file of %zu bytes exceeds the limit of %zu bytes",
                          w->file.len, w->o.max_bytes);
    ak_buf_free(out);
    *out = w->file;
    memset(&w->file, 0, sizeof w->file);
    w->state = W_DONE;
    return AK_OK;
}
