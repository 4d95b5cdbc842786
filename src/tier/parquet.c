/*
 * parquet.c - see parquet.h.
 *
 * The reference is the Apache Parquet format specification: parquet.thrift
 * for the footer and page headers (the field ids below are its ids),
 * Encodings.md for PLAIN, dictionary and the RLE / bit-packed hybrid, and
 * Compression.md for the codecs.  A file is
 *
 *   "PAR1" | column chunks, row group after row group | footer | len | "PAR1"
 *
 * where each column chunk is a run of pages (a Thrift PageHeader, then the
 * page's bytes) and the footer is a Thrift FileMetaData of len bytes.
 *
 * The writer serializes each row group's metadata as soon as the group is
 * flushed (offsets are known then), so finishing only concatenates; the
 * reader validates the whole footer when a file is opened, so that reading
 * pages later only has page-level damage left to find.
 */
#include "tier/parquet.h"

#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "tier/thrift.h"
#include "util/json.h"

/* parquet.thrift enum values used here. */
enum { T_INT64 = 2, T_BYTE_ARRAY = 6 };                                    /* Type */
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1 };                               /* repetition */
enum { CT_UTF8 = 0, CT_TS_MILLIS = 9, CT_TS_MICROS = 10, CT_JSON = 19 };   /* ConvertedType */
enum { LT_STRING = 1, LT_TIMESTAMP = 8, LT_JSON = 12 };                    /* LogicalType */
enum { UNIT_MILLIS = 1, UNIT_MICROS = 2, UNIT_NANOS = 3 };                 /* TimeUnit */
enum { ENC_PLAIN = 0, ENC_PLAIN_DICT = 2, ENC_RLE = 3, ENC_RLE_DICT = 8 }; /* Encoding */
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICT = 2, PAGE_DATA_V2 = 3 };   /* PageType */

#define MAGIC "PAR1"
#define PAGE_TARGET ((size_t)1 << 20) /* writer: values per page, in bytes */
#define PAGE_MAX ((size_t)128 << 20)  /* reader: one decompressed page */
#define STAT_MAX 4096                 /* longer bounds are left out, as Arrow does */
#define SCHEMA_MAX 4096               /* schema elements a file may have */
#define MAX_BYTES_LIMIT ((size_t)1 << 30)
#define FORMAT_KEY "akosha.format"
#define FORMAT_VERSION "1"

/* ---- the schema ---- */

typedef enum { K_TEXT, K_TIMESTAMP, K_FINGERPRINT, K_HEX, K_CODE } kind;

static const struct {
    const char *name;
    kind kind;
    int optional; /* 2: optional, and a file may lack the column (all null) */
    size_t off; /* of the column's ak_pq_val in ak_pq_row (not the timestamp) */
} cols[AK_PQ_NCOLS] = {
    {"system_id", K_TEXT, 0, offsetof(ak_pq_row, system_id)},
    {"conversation_id", K_TEXT, 0, offsetof(ak_pq_row, conversation_id)},
    {"timestamp", K_TIMESTAMP, 0, 0},
    {"ultra_summary", K_TEXT, 0, offsetof(ak_pq_row, ultra_summary)},
    {"fingerprint", K_FINGERPRINT, 0, offsetof(ak_pq_row, fingerprint)},
    {"content_sha256", K_HEX, 0, offsetof(ak_pq_row, content_sha256)},
    {"metadata", K_TEXT, 1, offsetof(ak_pq_row, metadata)},
    {"daily_metrics", K_TEXT, 1, offsetof(ak_pq_row, daily_metrics)},
    {"embedding_code", K_CODE, 2, offsetof(ak_pq_row, embedding_code)},
};

const char *ak_pq_col_name(ak_pq_col c)
{
    return c < AK_PQ_NCOLS ? cols[c].name : "?";
}

const ak_pq_val *ak_pq_row_val(const ak_pq_row *row, ak_pq_col c)
{
    if (c >= AK_PQ_NCOLS || cols[c].kind == K_TIMESTAMP)
        return NULL;
    return (const ak_pq_val *)((const char *)row + cols[c].off);
}

static ak_pq_val *row_slot(ak_pq_row *row, int c)
{
    return (ak_pq_val *)((char *)row + cols[c].off);
}

static int is_hex64(const ak_pq_val *v)
{
    if (v->len != AK_PQ_SHA256_HEX_LEN)
        return 0;
    for (size_t i = 0; i < v->len; i++) {
        char ch = v->p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
    }
    return 1;
}

/* NULL if v is a valid value of column c (not the timestamp), else what is
 * wrong with it, as words that follow the column's name. */
static const char *value_problem(int c, const ak_pq_val *v, char *why, size_t n)
{
    if (!v->p)
        return cols[c].optional ? NULL : "is null, but the column is required";
    switch (cols[c].kind) {
    case K_FINGERPRINT:
        if (v->len == AK_PQ_FINGERPRINT_LEN || v->len == AK_PQ_FINGERPRINT_LEN_V1)
            return NULL;
        snprintf(why, n, "has %zu bytes, not %d (or %d)", v->len, AK_PQ_FINGERPRINT_LEN,
                 AK_PQ_FINGERPRINT_LEN_V1);
        return why;
    case K_HEX:
        return is_hex64(v) ? NULL : "is not 64 lowercase hex digits";
    case K_CODE:
        if (v->len == AK_PQ_CODE_LEN)
            return NULL;
        snprintf(why, n, "has %zu bytes, not %d", v->len, AK_PQ_CODE_LEN);
        return why;
    default:
        return ak_utf8_valid(v->p, v->len) ? NULL : "is not valid UTF-8";
    }
}

/* Unsigned byte-wise order, a prefix first: Parquet's order for strings. */
static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int d = memcmp(a, b, an < bn ? an : bn);
    return d ? d : (an > bn) - (an < bn);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t le64(const uint8_t *p)
{
    return (int64_t)((uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, int64_t v)
{
    put_le32(p, (uint32_t)(uint64_t)v);
    put_le32(p + 4, (uint32_t)((uint64_t)v >> 32));
}

static ak_code nomem(ak_err *err)
{
    return ak_err_set(err, AK_ERR_NOMEM, "parquet: out of memory");
}

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
    if (cols[c].optional) {
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
    if (cols[c].kind == K_TIMESTAMP) {
        int64_t ts = row->ts_us;
        put_le64(le, ts);
        rc = ak_buf_append(&k->vals, le, 8);
        k->min_ts = !k->has_bounds || ts < k->min_ts ? ts : k->min_ts;
        k->max_ts = !k->has_bounds || ts > k->max_ts ? ts : k->max_ts;
        k->has_bounds = 1;
    } else {
        const ak_pq_val *v = ak_pq_row_val(row, (ak_pq_col)c);
        uint8_t present = v->p != NULL;
        rc = cols[c].optional ? ak_buf_append(&k->levels, &present, 1) : AK_OK;
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
    if (cols[c].kind == K_TIMESTAMP) {
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
    ak_tw_i32(t, 1, cols[c].kind == K_TIMESTAMP ? T_INT64 : T_BYTE_ARRAY);
    ak_tw_list(t, 2, AK_TT_I32, cols[c].optional ? 2 : 1);
    ak_tw_elem_i32(t, ENC_PLAIN);
    if (cols[c].optional)
        ak_tw_elem_i32(t, ENC_RLE);
    ak_tw_list(t, 3, AK_TT_BINARY, 1);
    ak_tw_elem_bin(t, cols[c].name, strlen(cols[c].name));
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
        const char *problem = v ? value_problem(c, v, why, sizeof why) : NULL;
        if (!problem && v && v->len > w->o.max_bytes)
            problem = "is longer than the file limit";
        if (problem)
            return ak_err_set(err, AK_ERR_INVALID, "parquet: row %llu: %s %s",
                              (unsigned long long)w->rows, cols[c].name, problem);
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
        ak_tw_i32(t, 1, cols[c].kind == K_TIMESTAMP ? T_INT64 : T_BYTE_ARRAY);
        ak_tw_i32(t, 3, cols[c].optional ? REP_OPTIONAL : REP_REQUIRED);
        ak_tw_str(t, 4, cols[c].name);
        if (cols[c].kind == K_TIMESTAMP) {
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
        } else if (cols[c].kind != K_FINGERPRINT && cols[c].kind != K_CODE) {
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

/* ======================================================================
 * Reader: the footer
 * ====================================================================== */

typedef struct { /* a SchemaElement; -1 for absent integers */
    const uint8_t *name;
    size_t name_len;
    int32_t type, repetition, num_children, converted;
    int logical; /* the LogicalType member set, 0 for none */
    int ts_utc, ts_unit;
    int type_order; /* column_orders says TYPE_ORDER */
} elem;

typedef struct { /* a ColumnChunk and its ColumnMetaData */
    int has_meta, external, encrypted;
    int32_t type, codec;
    int64_t num_values, raw_bytes, stored_bytes, data_off, dict_off;
    int64_t start; /* first page, set by check_groups() */
    int64_t null_count;
    const uint8_t *min, *max;
    size_t min_len, max_len;
} chunk;

typedef struct {
    int64_t rows;
    chunk *cols;
    uint32_t ncols;
} group;

typedef struct { /* how one of our columns is stored in this file */
    size_t leaf;    /* index among the file's leaf columns */
    int optional;   /* the file's repetition */
    int32_t type;   /* physical type */
    int unit;       /* timestamp: UNIT_* */
} rcol;

struct ak_pq_reader {
    const uint8_t *data;
    size_t len, footer_start;
    int64_t rows;
    int has_rows, foreign_format;
    elem *el; /* el[0] is the root; leaves follow */
    uint32_t nel;
    uint8_t *orders; /* column_orders: 1 = TYPE_ORDER */
    uint32_t norders;
    group *groups;
    uint32_t ngroups;
    rcol col[AK_PQ_NCOLS];

    /* the decoded row group */
    size_t cur;        /* its index, SIZE_MAX for none */
    unsigned decoded;  /* bit c: column c is decoded */
    ak_pq_val *vals[AK_PQ_NCOLS];
    int64_t *ts;
    void **blocks; /* everything allocated for it */
    size_t nblocks, blocks_cap, held;
    uint32_t *levels, *indices; /* scratch for one page */
    size_t levels_cap, indices_cap;
    ZSTD_DCtx *zd;
};

#define FOOTER "parquet: footer"

/* `while` over the fields of a struct: f.id and f.type inside. */
#define EACH_FIELD(tr, struct_type, f, rc)                                               \
    for (rc = ak_tr_begin(tr, struct_type, &f);                                          \
         !rc && !(rc = ak_tr_next(tr, &f)) && f.type != AK_TT_STOP;)

static ak_code read_time_unit(ak_tr *t, int type, elem *e)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        e->ts_unit = f.id; /* a union: the member's id is the unit */
        rc = ak_tr_skip(t, f.type);
    }
    return rc;
}

static ak_code read_timestamp_type(ak_tr *t, int type, elem *e)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1)
            rc = ak_tr_bool(t, f.type, &e->ts_utc);
        else if (f.id == 2)
            rc = read_time_unit(t, f.type, e);
        else
            rc = ak_tr_skip(t, f.type);
    }
    return rc;
}

static ak_code read_logical_type(ak_tr *t, int type, elem *e)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        e->logical = f.id;
        rc = f.id == LT_TIMESTAMP ? read_timestamp_type(t, f.type, e) : ak_tr_skip(t, f.type);
    }
    return rc;
}

static ak_code read_schema_element(ak_tr *t, int type, elem *e)
{
    ak_tf f;
    ak_code rc;
    e->type = e->repetition = e->num_children = e->converted = -1;
    EACH_FIELD(t, type, f, rc)
    {
        switch (f.id) {
        case 1: rc = ak_tr_i32(t, f.type, &e->type); break;
        case 3: rc = ak_tr_i32(t, f.type, &e->repetition); break;
        case 4: rc = ak_tr_bin(t, f.type, &e->name, &e->name_len); break;
        case 5: rc = ak_tr_i32(t, f.type, &e->num_children); break;
        case 6: rc = ak_tr_i32(t, f.type, &e->converted); break;
        case 10: rc = read_logical_type(t, f.type, e); break;
        default: rc = ak_tr_skip(t, f.type);
        }
    }
    if (!rc && !e->name)
        rc = ak_tr_fail(t, "a schema element has no name");
    return rc;
}

static ak_code read_statistics(ak_tr *t, int type, chunk *k)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        switch (f.id) {
        case 3: rc = ak_tr_i64(t, f.type, &k->null_count); break;
        case 5: rc = ak_tr_bin(t, f.type, &k->max, &k->max_len); break;
        case 6: rc = ak_tr_bin(t, f.type, &k->min, &k->min_len); break;
        default: rc = ak_tr_skip(t, f.type);
        }
    }
    return rc;
}

static ak_code read_column_meta(ak_tr *t, int type, chunk *k)
{
    ak_tf f;
    ak_code rc;
    unsigned seen = 0;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id > 0 && f.id < 16)
            seen |= 1u << f.id;
        switch (f.id) {
        case 1: rc = ak_tr_i32(t, f.type, &k->type); break;
        case 4: rc = ak_tr_i32(t, f.type, &k->codec); break;
        case 5: rc = ak_tr_i64(t, f.type, &k->num_values); break;
        case 6: rc = ak_tr_i64(t, f.type, &k->raw_bytes); break;
        case 7: rc = ak_tr_i64(t, f.type, &k->stored_bytes); break;
        case 9: rc = ak_tr_i64(t, f.type, &k->data_off); break;
        case 11: rc = ak_tr_i64(t, f.type, &k->dict_off); break;
        case 12: rc = read_statistics(t, f.type, k); break;
        default: rc = ak_tr_skip(t, f.type);
        }
    }
    const unsigned need = 1u << 1 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 9;
    if (!rc && (seen & need) != need)
        rc = ak_tr_fail(t, "a ColumnMetaData lacks a required field");
    k->has_meta = 1;
    return rc;
}

static ak_code read_column_chunk(ak_tr *t, int type, chunk *k)
{
    ak_tf f;
    ak_code rc;
    k->null_count = k->dict_off = -1;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1)
            k->external = 1; /* file_path: the data is in another file */
        else if (f.id == 8 || f.id == 9)
            k->encrypted = 1;
        rc = f.id == 3 ? read_column_meta(t, f.type, k) : ak_tr_skip(t, f.type);
    }
    return rc;
}

static ak_code read_row_group(ak_tr *t, int type, group *g, ak_err *err)
{
    ak_tf f;
    ak_code rc;
    int has_rows = 0;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1 && !g->cols) {
            int et;
            rc = ak_tr_list(t, f.type, &et, &g->ncols);
            if (!rc && !(g->cols = calloc(g->ncols ? g->ncols : 1, sizeof *g->cols)))
                return nomem(err);
            for (uint32_t i = 0; i < g->ncols && !rc; i++)
                rc = read_column_chunk(t, et, &g->cols[i]);
        } else if (f.id == 3) {
            has_rows = 1;
            rc = ak_tr_i64(t, f.type, &g->rows);
        } else {
            rc = ak_tr_skip(t, f.type);
        }
    }
    if (!rc && (!g->cols || !has_rows))
        rc = ak_tr_fail(t, "a RowGroup lacks its columns or num_rows");
    return rc;
}

static ak_code read_key_value(ak_tr *t, int type, ak_pq_reader *r)
{
    ak_tf f;
    ak_code rc;
    const uint8_t *key = NULL, *val = NULL;
    size_t key_len = 0, val_len = 0;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1)
            rc = ak_tr_bin(t, f.type, &key, &key_len);
        else if (f.id == 2)
            rc = ak_tr_bin(t, f.type, &val, &val_len);
        else
            rc = ak_tr_skip(t, f.type);
    }
    if (!rc && key && bytes_cmp(key, key_len, FORMAT_KEY, strlen(FORMAT_KEY)) == 0 &&
        (!val || bytes_cmp(val, val_len, FORMAT_VERSION, strlen(FORMAT_VERSION)) != 0))
        r->foreign_format = 1;
    return rc;
}

static ak_code read_column_order(ak_tr *t, int type, uint8_t *type_order)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        *type_order = f.id == 1;
        rc = ak_tr_skip(t, f.type);
    }
    return rc;
}

/* The header of a list field, and a zeroed array for its elements (NULL
 * with *rc set on failure).  `had` says the field was seen before. */
static void *read_list(ak_tr *t, int type, int had, uint32_t max, size_t size, int *et,
                       uint32_t *n, ak_code *rc, ak_err *err)
{
    void *arr = NULL;
    if (had)
        *rc = ak_tr_fail(t, "a list field appears twice");
    else if (!(*rc = ak_tr_list(t, type, et, n)) && *n > max)
        *rc = ak_tr_fail(t, "a list of %u elements exceeds the limit %u", *n, max);
    else if (!*rc && !(arr = calloc(*n ? *n : 1, size)))
        *rc = nomem(err);
    return arr;
}

static ak_code read_file_meta(ak_tr *t, ak_pq_reader *r, ak_err *err)
{
    ak_tf f;
    ak_code rc;
    int et;
    uint32_t n;
    EACH_FIELD(t, AK_TT_STRUCT, f, rc)
    {
        switch (f.id) {
        case 2:
            r->el = read_list(t, f.type, r->el != NULL, SCHEMA_MAX, sizeof *r->el, &et, &r->nel,
                              &rc, err);
            for (uint32_t i = 0; i < r->nel && !rc; i++)
                rc = read_schema_element(t, et, &r->el[i]);
            break;
        case 3:
            r->has_rows = 1;
            rc = ak_tr_i64(t, f.type, &r->rows);
            break;
        case 4:
            r->groups = read_list(t, f.type, r->groups != NULL, UINT32_MAX, sizeof *r->groups,
                                  &et, &r->ngroups, &rc, err);
            for (uint32_t i = 0; i < r->ngroups && !rc; i++)
                rc = read_row_group(t, et, &r->groups[i], err);
            break;
        case 5:
            rc = ak_tr_list(t, f.type, &et, &n);
            for (uint32_t i = 0; i < n && !rc; i++)
                rc = read_key_value(t, et, r);
            break;
        case 7:
            r->orders = read_list(t, f.type, r->orders != NULL, SCHEMA_MAX, 1, &et, &r->norders,
                                  &rc, err);
            for (uint32_t i = 0; i < r->norders && !rc; i++)
                rc = read_column_order(t, et, &r->orders[i]);
            break;
        default:
            rc = ak_tr_skip(t, f.type);
        }
    }
    if (!rc && (!r->el || !r->groups || !r->has_rows))
        rc = ak_tr_fail(t, "FileMetaData lacks its schema, num_rows or row_groups");
    if (!rc && ak_tr_used(t) != (size_t)(t->end - t->start))
        rc = ak_tr_fail(t, "%zu stray bytes after FileMetaData",
                        (size_t)(t->end - t->start) - ak_tr_used(t));
    return rc;
}

/* ======================================================================
 * Reader: does the footer describe an Akosha cold file?
 * ====================================================================== */

static const char *type_name(int32_t type)
{
    static const char *names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                  "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return type >= 0 && type <= 7 ? names[type] : "an unknown type";
}

static const char *encoding_name(int32_t enc)
{
    static const char *names[] = {"PLAIN",
                                  "GROUP_VAR_INT",
                                  "PLAIN_DICTIONARY",
                                  "RLE",
                                  "BIT_PACKED",
                                  "DELTA_BINARY_PACKED",
                                  "DELTA_LENGTH_BYTE_ARRAY",
                                  "DELTA_BYTE_ARRAY",
                                  "RLE_DICTIONARY",
                                  "BYTE_STREAM_SPLIT"};
    return enc >= 0 && enc <= 9 ? names[enc] : "an unknown encoding";
}

/* "INT64 TIMESTAMP(isAdjustedToUTC=false, NANOS)", "BYTE_ARRAY STRING", ... */
static const char *describe(const elem *e, char *buf, size_t n)
{
    static const char *units[] = {"?", "MILLIS", "MICROS", "NANOS"};
    int unit = e->ts_unit >= UNIT_MILLIS && e->ts_unit <= UNIT_NANOS ? e->ts_unit : 0;
    if (e->logical == LT_TIMESTAMP)
        snprintf(buf, n, "%s TIMESTAMP(isAdjustedToUTC=%s, %s)", type_name(e->type),
                 e->ts_utc ? "true" : "false", units[unit]);
    else if (e->logical == LT_STRING || e->logical == LT_JSON)
        snprintf(buf, n, "%s %s", type_name(e->type), e->logical == LT_JSON ? "JSON" : "STRING");
    else if (e->logical)
        snprintf(buf, n, "%s with logical type %d", type_name(e->type), e->logical);
    else if (e->converted >= 0)
        snprintf(buf, n, "%s with converted type %d", type_name(e->type), (int)e->converted);
    else
        snprintf(buf, n, "%s", type_name(e->type));
    return buf;
}

static ak_code unsupported_column(int c, const elem *e, const char *expected, ak_err *err)
{
    char is[96];
    return ak_err_set(err, AK_ERR_UNSUPPORTED, "parquet: column %s is %s, expected %s",
                      cols[c].name, describe(e, is, sizeof is), expected);
}

/* Physical type and annotations of column c as the file stores it. */
static ak_code check_column(ak_pq_reader *r, int c, const elem *e, ak_err *err)
{
    rcol *col = &r->col[c];
    if (e->repetition != REP_REQUIRED && e->repetition != REP_OPTIONAL)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "parquet: column %s is %s, not a plain value",
                          cols[c].name, e->repetition < 0 ? "without repetition" : "REPEATED");
    col->optional = e->repetition == REP_OPTIONAL;
    col->type = e->type;
    switch (cols[c].kind) {
    case K_TIMESTAMP:
        if (e->type == T_INT64 && e->logical == LT_TIMESTAMP && e->ts_utc &&
            e->ts_unit >= UNIT_MILLIS && e->ts_unit <= UNIT_NANOS)
            col->unit = e->ts_unit;
        else if (e->type == T_INT64 && !e->logical &&
                 (e->converted == CT_TS_MICROS || e->converted == CT_TS_MILLIS))
            col->unit = e->converted == CT_TS_MICROS ? UNIT_MICROS : UNIT_MILLIS;
        else
            return unsupported_column(c, e, "INT64 TIMESTAMP(isAdjustedToUTC=true)", err);
        return AK_OK;
    case K_FINGERPRINT:
    case K_CODE:
        if (e->type != T_BYTE_ARRAY)
            return unsupported_column(c, e, "BYTE_ARRAY", err);
        return AK_OK;
    default:
        if (e->type != T_BYTE_ARRAY ||
            (e->logical && e->logical != LT_STRING && e->logical != LT_JSON) ||
            (e->converted >= 0 && e->converted != CT_UTF8 && e->converted != CT_JSON))
            return unsupported_column(c, e, "BYTE_ARRAY STRING", err);
        return AK_OK;
    }
}

static ak_code check_schema(ak_pq_reader *r, ak_err *err)
{
    if (r->nel < 1)
        return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": the schema has no root");
    size_t nleaves = r->nel - 1;
    for (size_t i = 1; i < r->nel; i++) {
        const elem *e = &r->el[i];
        if (e->num_children > 0)
            return ak_err_set(err, AK_ERR_UNSUPPORTED,
                              "parquet: column %.*s is a nested group; cold files are flat",
                              (int)e->name_len, e->name);
        if (e->type < 0)
            return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": column %.*s has no type",
                              (int)e->name_len, e->name);
    }
    if (r->el[0].num_children < 0 || (size_t)r->el[0].num_children != nleaves)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": the schema root has %d children but %zu columns follow",
                          (int)r->el[0].num_children, nleaves);
    if (r->orders && r->norders != nleaves)
        return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": %u column orders for %zu columns",
                          r->norders, nleaves);
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        size_t found = SIZE_MAX;
        for (size_t i = 0; i < nleaves; i++) {
            const elem *e = &r->el[i + 1];
            if (bytes_cmp(e->name, e->name_len, cols[c].name, strlen(cols[c].name)))
                continue;
            if (found != SIZE_MAX)
                return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": column %s appears twice",
                                  cols[c].name);
            found = i;
        }
        r->col[c].leaf = found;
        if (found == SIZE_MAX && cols[c].optional == 2)
            continue; /* read as all null */
        if (found == SIZE_MAX)
            return ak_err_set(err, AK_ERR_UNSUPPORTED,
                              "parquet: the file has no column %s, so it is not an Akosha "
                              "cold file",
                              cols[c].name);
        r->el[found + 1].type_order = r->orders && r->orders[found];
        ak_code rc = check_column(r, c, &r->el[found + 1], err);
        if (rc)
            return rc;
    }
    return AK_OK;
}

static int codec_known(int32_t codec)
{
    return codec == AK_PQ_UNCOMPRESSED || codec == AK_PQ_SNAPPY || codec == AK_PQ_GZIP ||
           codec == AK_PQ_ZSTD || codec == AK_PQ_LZ4_RAW;
}

static ak_code check_chunk(ak_pq_reader *r, size_t g, int c, chunk *k, ak_err *err)
{
    const char *name = cols[c].name;
    if (k->external || k->encrypted)
        return ak_err_set(err, AK_ERR_UNSUPPORTED,
                          "parquet: row group %zu, column %s is %s", g, name,
                          k->external ? "stored in another file" : "encrypted");
    if (!k->has_meta)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": row group %zu, column %s has no ColumnMetaData", g, name);
    if (k->type != r->col[c].type)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": row group %zu, column %s is %s but the schema says %s", g,
                          name, type_name(k->type), type_name(r->col[c].type));
    if (k->num_values != r->groups[g].rows)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": row group %zu, column %s has %lld values for %lld rows", g,
                          name, (long long)k->num_values, (long long)r->groups[g].rows);
    if (!codec_known(k->codec))
        return ak_err_set(err, AK_ERR_UNSUPPORTED,
                          "parquet: row group %zu, column %s uses compression codec %d, "
                          "which Akosha does not read",
                          g, name, (int)k->codec);
    /* Some writers put 0 in dictionary_page_offset for "none". */
    k->start = k->dict_off >= 4 && k->dict_off < k->data_off ? k->dict_off : k->data_off;
    if (k->start < 4 || k->stored_bytes < 0 || (uint64_t)k->start > r->footer_start ||
        (uint64_t)k->stored_bytes > r->footer_start - (uint64_t)k->start)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": row group %zu, column %s: pages at %lld (+%lld bytes) lie "
                          "outside the data (bytes 4 to %zu)",
                          g, name, (long long)k->start, (long long)k->stored_bytes,
                          r->footer_start);
    return AK_OK;
}

static ak_code check_groups(ak_pq_reader *r, ak_err *err)
{
    int64_t total = 0;
    for (size_t g = 0; g < r->ngroups; g++) {
        group *gr = &r->groups[g];
        if (gr->rows < 0)
            return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": row group %zu has %lld rows", g,
                              (long long)gr->rows);
        if (gr->rows > AK_PQ_GROUP_ROWS_MAX)
            return ak_err_set(err, AK_ERR_UNSUPPORTED,
                              "parquet: row group %zu has %lld rows; Akosha reads at most %u", g,
                              (long long)gr->rows, AK_PQ_GROUP_ROWS_MAX);
        if (gr->ncols != r->nel - 1)
            return ak_err_set(err, AK_ERR_CORRUPT,
                              FOOTER ": row group %zu has %u column chunks for %u columns", g,
                              gr->ncols, r->nel - 1);
        for (int c = 0; c < AK_PQ_NCOLS; c++) {
            if (r->col[c].leaf == SIZE_MAX)
                continue;
            ak_code rc = check_chunk(r, g, c, &gr->cols[r->col[c].leaf], err);
            if (rc)
                return rc;
        }
        total += gr->rows;
    }
    if (total != r->rows)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": num_rows is %lld but the row groups hold %lld",
                          (long long)r->rows, (long long)total);
    return AK_OK;
}

ak_code ak_pq_reader_open(const void *data, size_t len, ak_pq_reader **out, ak_err *err)
{
    const uint8_t *d = data;
    *out = NULL;
    if (len < 12)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          "parquet: a file of %zu bytes is too short (at least 12)", len);
    if (memcmp(d, MAGIC, 4) != 0)
        return ak_err_set(err, AK_ERR_CORRUPT, "parquet: no PAR1 magic at the start");
    if (memcmp(d + len - 4, "PARE", 4) == 0)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "parquet: the footer is encrypted");
    if (memcmp(d + len - 4, MAGIC, 4) != 0)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          "parquet: no PAR1 magic at the end (truncated file?)");
    uint32_t flen = le32(d + len - 8);
    if (flen > len - 12)
        return ak_err_set(err, AK_ERR_CORRUPT, "parquet: footer length %u exceeds file size %zu",
                          flen, len);

    ak_pq_reader *r = calloc(1, sizeof *r);
    if (!r)
        return nomem(err);
    r->data = d;
    r->len = len;
    r->footer_start = len - 8 - flen;
    r->cur = SIZE_MAX;
    ak_tr t;
    ak_tr_init(&t, d + r->footer_start, flen, FOOTER, err);
    ak_code rc = read_file_meta(&t, r, err);
    if (!rc && r->foreign_format)
        rc = ak_err_set(err, AK_ERR_UNSUPPORTED,
                        "parquet: the file's " FORMAT_KEY " is not " FORMAT_VERSION
                        "; a newer Akosha wrote it");
    if (!rc)
        rc = check_schema(r, err);
    if (!rc)
        rc = check_groups(r, err);
    if (rc) {
        ak_pq_reader_free(r);
        return rc;
    }
    *out = r;
    return AK_OK;
}

int64_t ak_pq_reader_rows(const ak_pq_reader *r) { return r->rows; }

size_t ak_pq_reader_groups(const ak_pq_reader *r) { return r->ngroups; }

int64_t ak_pq_reader_group_rows(const ak_pq_reader *r, size_t g)
{
    return g < r->ngroups ? r->groups[g].rows : 0;
}

static const chunk *chunk_of(const ak_pq_reader *r, size_t g, int c)
{
    return &r->groups[g].cols[r->col[c].leaf];
}

/* A timestamp of the file's unit in microseconds; 0 if it does not fit. */
static int to_us(int unit, int64_t v, int64_t *us)
{
    if (unit == UNIT_MILLIS) {
        if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
            return 0;
        *us = v * 1000;
    } else if (unit == UNIT_NANOS) {
        *us = v / 1000 - (v % 1000 < 0); /* floor: 1 ns before the epoch is -1 us */
    } else {
        *us = v;
    }
    return 1;
}

void ak_pq_reader_chunk(const ak_pq_reader *r, size_t g, ak_pq_col c, ak_pq_chunk_info *out)
{
    memset(out, 0, sizeof *out);
    if (r->col[c].leaf == SIZE_MAX) { /* a column the file lacks: all null */
        out->num_values = out->null_count = r->groups[g].rows;
        return;
    }
    const chunk *k = chunk_of(r, g, c);
    out->num_values = k->num_values;
    out->null_count = k->null_count;
    out->codec = (ak_pq_codec)k->codec;
    out->compressed_bytes = k->stored_bytes;
    out->uncompressed_bytes = k->raw_bytes;
    if (!k->min || !k->max || !r->el[r->col[c].leaf + 1].type_order)
        return;
    out->min = (ak_pq_val){(const char *)k->min, k->min_len};
    out->max = (ak_pq_val){(const char *)k->max, k->max_len};
    out->has_min_max = 1;
    if (cols[c].kind == K_TIMESTAMP)
        out->has_min_max = k->min_len == 8 && k->max_len == 8 &&
                           to_us(r->col[c].unit, le64(k->min), &out->min_us) &&
                           to_us(r->col[c].unit, le64(k->max), &out->max_us);
}

/* ======================================================================
 * Reader: pages
 * ====================================================================== */

/* Decoding one column chunk of the current row group. */
typedef struct {
    ak_pq_reader *r;
    int c;
    const rcol *col;
    size_t rows, filled;
    ak_pq_val *vals; /* BYTE_ARRAY columns */
    int64_t *ts;     /* the timestamp */
    ak_pq_val *dict_vals;
    int64_t *dict_ts;
    size_t dict_n;
    int has_dict;
    char where[96]; /* "parquet: row group 3, column fingerprint" */
    ak_err *err;
} cdec;

static ak_code chunk_error(cdec *d, ak_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ak_code chunk_error(cdec *d, ak_code code, const char *fmt, ...)
{
    char msg[AK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ak_err_set(d->err, code, "%s: %s", d->where, msg);
}

#define corrupt(d, ...) chunk_error(d, AK_ERR_CORRUPT, __VA_ARGS__)

/* n bytes that live as long as the current row group. */
static ak_code hold(cdec *d, size_t n, void **out)
{
    ak_pq_reader *r = d->r;
    if (n > AK_PQ_GROUP_BYTES_MAX - r->held)
        return chunk_error(d, AK_ERR_UNSUPPORTED, "the row group needs more than %zu MiB decoded",
                        AK_PQ_GROUP_BYTES_MAX >> 20);
    if (r->nblocks == r->blocks_cap) {
        size_t cap = r->blocks_cap ? r->blocks_cap * 2 : 32;
        void **b = realloc(r->blocks, cap * sizeof *b);
        if (!b)
            return nomem(d->err);
        r->blocks = b;
        r->blocks_cap = cap;
    }
    if (!(*out = malloc(n ? n : 1)))
        return nomem(d->err);
    r->blocks[r->nblocks++] = *out;
    r->held += n;
    return AK_OK;
}

static ak_code scratch(cdec *d, uint32_t **a, size_t *cap, size_t n)
{
    if (n <= *cap)
        return AK_OK;
    uint32_t *p = realloc(*a, n * sizeof *p);
    if (!p)
        return nomem(d->err);
    *a = p;
    *cap = n;
    return AK_OK;
}

/* Raw Snappy (the block format Parquet's SNAPPY uses): the uncompressed
 * length as a varint, then literals and back-references.  NULL, or what is
 * wrong. */
static const char *snappy_decode(const uint8_t *p, size_t n, uint8_t *out, size_t want)
{
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
            off = extra == 2 ? (size_t)p[0] | (size_t)p[1] << 8 : le32(p);
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

static const char *gzip_decode(const uint8_t *p, size_t n, uint8_t *out, size_t want)
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

/* A page's bytes as stored (n) -> its uncompressed bytes (want). */
static ak_code page_bytes(cdec *d, const uint8_t *p, size_t n, size_t want, const uint8_t **out)
{
    int32_t codec = chunk_of(d->r, d->r->cur, d->c)->codec;
    if (codec == AK_PQ_UNCOMPRESSED) {
        if (n != want)
            return corrupt(d, "an uncompressed page of %zu bytes claims %zu", n, want);
        *out = p;
        return AK_OK;
    }
    if (want > PAGE_MAX)
        return chunk_error(d, AK_ERR_UNSUPPORTED, "a page of %zu bytes exceeds the %zu MiB limit",
                        want, PAGE_MAX >> 20);
    /* Refuse sizes the data cannot produce before allocating them. */
    const char *why = NULL;
    if (codec == AK_PQ_ZSTD) {
        unsigned long long fs = ZSTD_getFrameContentSize(p, n);
        if (fs == ZSTD_CONTENTSIZE_ERROR || (fs != ZSTD_CONTENTSIZE_UNKNOWN && fs != want))
            return corrupt(d, "a zstd page does not decompress to its %zu bytes", want);
    } else if (codec == AK_PQ_LZ4_RAW && want > n * 255 + 16) {
        return corrupt(d, "an lz4 page of %zu bytes cannot hold %zu", n, want);
    }
    void *buf;
    ak_code rc = hold(d, want, &buf);
    if (rc)
        return rc;
    switch (codec) {
    case AK_PQ_SNAPPY:
        why = snappy_decode(p, n, buf, want);
        break;
    case AK_PQ_GZIP:
        why = gzip_decode(p, n, buf, want);
        break;
    case AK_PQ_LZ4_RAW:
        if (n > INT32_MAX || LZ4_decompress_safe((const char *)p, buf, (int)n, (int)want) !=
                                 (int)want)
            why = "it does not decompress to its size";
        break;
    default: { /* ZSTD */
        if (!d->r->zd && !(d->r->zd = ZSTD_createDCtx()))
            return nomem(d->err);
        size_t got = ZSTD_decompressDCtx(d->r->zd, buf, want, p, n);
        if (ZSTD_isError(got) || got != want)
            why = ZSTD_isError(got) ? ZSTD_getErrorName(got) : "it is shorter than its size";
    }
    }
    if (why)
        return corrupt(d, "a %s page does not decompress: %s",
                   codec == AK_PQ_SNAPPY ? "snappy" : codec == AK_PQ_GZIP ? "gzip"
                   : codec == AK_PQ_LZ4_RAW ? "lz4" : "zstd",
                   why);
    *out = buf;
    return AK_OK;
}

static uint32_t get_bits(const uint8_t *p, uint64_t bit, int w)
{
    uint64_t v = 0;
    size_t first = (size_t)(bit >> 3);
    int shift = (int)(bit & 7), nb = (shift + w + 7) >> 3;
    for (int j = 0; j < nb; j++)
        v |= (uint64_t)p[first + (size_t)j] << (8 * j);
    return (uint32_t)((v >> shift) & ((UINT64_C(1) << w) - 1));
}

/* n values of the RLE / bit-packed hybrid with bit width w (0..32) from
 * p[0..len) into out.  NULL, or what is wrong.  Run lengths are trusted only
 * as far as the bytes go: a run may claim more values than are needed. */
static const char *hybrid_decode(const uint8_t *p, size_t len, int w, uint32_t *out, size_t n)
{
    const uint8_t *end = p + len;
    size_t i = 0, width_bytes = (size_t)(w + 7) / 8;
    while (i < n) {
        uint64_t h = 0;
        for (int shift = 0;; shift += 7) {
            if (p == end || shift > 35)
                return p == end ? "the runs end before all values" : "a run header is too long";
            h |= (uint64_t)(*p & 0x7F) << shift;
            if (!(*p++ & 0x80))
                break;
        }
        size_t left = (size_t)(end - p), want = n - i;
        /* h < 2^42 (a 6-byte varint at most), so no product below overflows. */
        uint64_t count = h & 1 ? (h >> 1) * 8 : h >> 1;
        size_t take = count < want ? (size_t)count : want;
        if (h & 1) { /* bit-packed: h >> 1 groups of 8 values */
            if (((uint64_t)take * (uint64_t)w + 7) / 8 > left)
                return "a bit-packed run is cut short";
            for (size_t k = 0; k < take; k++)
                out[i + k] = get_bits(p, (uint64_t)k * (uint64_t)w, w);
            uint64_t used = (h >> 1) * (uint64_t)w;
            p += used < left ? used : left; /* the last run may lack its padding */
            i += take;
        } else { /* RLE: h >> 1 copies of one value */
            if (left < width_bytes)
                return "an RLE run is cut short";
            uint32_t v = 0;
            for (size_t b = 0; b < width_bytes; b++)
                v |= (uint32_t)p[b] << (8 * b);
            p += width_bytes;
            if (w < 32 && v >> w)
                return "an RLE value is wider than the bit width";
            for (size_t k = 0; k < take; k++)
                out[i + k] = v;
            i += take;
        }
    }
    return NULL;
}

typedef struct { /* a PageHeader, the parts the reader uses */
    int32_t type, usize, csize, crc;
    int has_crc;
    int32_t num_values, encoding, def_encoding; /* DataPageHeader or dictionary */
    int has_data, has_dict;
} page_hdr;

static ak_code read_data_page_header(ak_tr *t, int type, page_hdr *h)
{
    ak_tf f;
    ak_code rc;
    unsigned seen = 0;
    h->has_data = 1;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id >= 1 && f.id <= 3)
            seen |= 1u << f.id;
        switch (f.id) {
        case 1: rc = ak_tr_i32(t, f.type, &h->num_values); break;
        case 2: rc = ak_tr_i32(t, f.type, &h->encoding); break;
        case 3: rc = ak_tr_i32(t, f.type, &h->def_encoding); break;
        default: rc = ak_tr_skip(t, f.type);
        }
    }
    if (!rc && seen != 0xE)
        rc = ak_tr_fail(t, "a DataPageHeader lacks a required field");
    return rc;
}

static ak_code read_dict_page_header(ak_tr *t, int type, page_hdr *h)
{
    ak_tf f;
    ak_code rc;
    unsigned seen = 0;
    h->has_dict = 1;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1 || f.id == 2)
            seen |= 1u << f.id;
        if (f.id == 1)
            rc = ak_tr_i32(t, f.type, &h->num_values);
        else if (f.id == 2)
            rc = ak_tr_i32(t, f.type, &h->encoding);
        else
            rc = ak_tr_skip(t, f.type);
    }
    if (!rc && seen != 6)
        rc = ak_tr_fail(t, "a DictionaryPageHeader lacks a required field");
    return rc;
}

static ak_code read_page_header(ak_tr *t, page_hdr *h)
{
    ak_tf f;
    ak_code rc;
    unsigned seen = 0;
    memset(h, 0, sizeof *h);
    EACH_FIELD(t, AK_TT_STRUCT, f, rc)
    {
        if (f.id >= 1 && f.id <= 3)
            seen |= 1u << f.id;
        switch (f.id) {
        case 1: rc = ak_tr_i32(t, f.type, &h->type); break;
        case 2: rc = ak_tr_i32(t, f.type, &h->usize); break;
        case 3: rc = ak_tr_i32(t, f.type, &h->csize); break;
        case 4:
            h->has_crc = 1;
            rc = ak_tr_i32(t, f.type, &h->crc);
            break;
        case 5: rc = read_data_page_header(t, f.type, h); break;
        case 7: rc = read_dict_page_header(t, f.type, h); break;
        default: rc = ak_tr_skip(t, f.type);
        }
    }
    if (!rc && seen != 0xE)
        rc = ak_tr_fail(t, "a PageHeader lacks a required field");
    if (!rc && (h->usize < 0 || h->csize < 0))
        rc = ak_tr_fail(t, "a page has a negative size");
    return rc;
}

typedef struct {
    const uint8_t *p, *end;
} span;

static int plain_bytes(span *s, ak_pq_val *v)
{
    if (s->end - s->p < 4)
        return 0;
    size_t n = le32(s->p);
    s->p += 4;
    if ((size_t)(s->end - s->p) < n)
        return 0;
    v->p = (const char *)s->p;
    v->len = n;
    s->p += n;
    return 1;
}

static int plain_i64(span *s, int64_t *v)
{
    if (s->end - s->p < 8)
        return 0;
    *v = le64(s->p);
    s->p += 8;
    return 1;
}

static ak_code dict_page(cdec *d, const page_hdr *h, const uint8_t *p, size_t n)
{
    if (!h->has_dict)
        return corrupt(d, "a dictionary page without a DictionaryPageHeader");
    if (d->has_dict || d->filled)
        return corrupt(d, "a dictionary page after the first page");
    if (h->encoding != ENC_PLAIN && h->encoding != ENC_PLAIN_DICT)
        return chunk_error(d, AK_ERR_UNSUPPORTED, "a dictionary in encoding %s",
                        encoding_name(h->encoding));
    /* Every entry takes at least 4 bytes: refuse a count the page cannot hold. */
    if (h->num_values < 0 || (size_t)h->num_values > n / 4)
        return corrupt(d, "a dictionary of %d entries in %zu bytes", (int)h->num_values, n);
    size_t count = (size_t)h->num_values;
    span s = {p, p + n};
    void *arr;
    ak_code rc = hold(d, count * (d->ts ? sizeof(int64_t) : sizeof(ak_pq_val)), &arr);
    if (rc)
        return rc;
    for (size_t i = 0; i < count; i++)
        if (d->ts ? !plain_i64(&s, (int64_t *)arr + i)
                  : !plain_bytes(&s, (ak_pq_val *)arr + i))
            return corrupt(d, "the dictionary ends after %zu of %zu entries", i, count);
    d->dict_ts = d->ts ? arr : NULL;
    d->dict_vals = d->ts ? NULL : arr;
    d->dict_n = count;
    d->has_dict = 1;
    return AK_OK;
}

/* Definition levels of a v1 page: a 4-byte length, then the hybrid with bit
 * width 1.  Sets *present to the count of non-null values. */
static ak_code def_levels(cdec *d, const page_hdr *h, span *s, size_t nv, size_t *present)
{
    ak_pq_reader *r = d->r;
    if (h->def_encoding != ENC_RLE)
        return chunk_error(d, AK_ERR_UNSUPPORTED, "definition levels in encoding %s",
                        encoding_name(h->def_encoding));
    if (s->end - s->p < 4)
        return corrupt(d, "a page too short for its definition levels");
    size_t len = le32(s->p);
    s->p += 4;
    if (len > (size_t)(s->end - s->p))
        return corrupt(d, "definition levels of %zu bytes overrun their page", len);
    ak_code rc = scratch(d, &r->levels, &r->levels_cap, nv);
    if (rc)
        return rc;
    const char *why = hybrid_decode(s->p, len, 1, r->levels, nv);
    if (why)
        return corrupt(d, "definition levels: %s", why);
    s->p += len;
    *present = 0;
    for (size_t i = 0; i < nv; i++)
        *present += r->levels[i];
    return AK_OK;
}

/* Dictionary indices: a byte of bit width, then the hybrid. */
static ak_code dict_indices(cdec *d, span *s, size_t present)
{
    ak_pq_reader *r = d->r;
    if (!d->has_dict)
        return corrupt(d, "a dictionary-encoded page without a dictionary");
    if (!present)
        return AK_OK;
    if (s->p == s->end || *s->p > 32)
        return corrupt(d, "a dictionary-encoded page without a valid bit width");
    int w = *s->p++;
    ak_code rc = scratch(d, &r->indices, &r->indices_cap, present);
    if (rc)
        return rc;
    const char *why = hybrid_decode(s->p, (size_t)(s->end - s->p), w, r->indices, present);
    if (why)
        return corrupt(d, "dictionary indices: %s", why);
    for (size_t i = 0; i < present; i++)
        if (r->indices[i] >= d->dict_n)
            return corrupt(d, "dictionary index %u of %zu entries", r->indices[i], d->dict_n);
    return AK_OK;
}

static ak_code data_page(cdec *d, const page_hdr *h, const uint8_t *p, size_t n)
{
    if (!h->has_data)
        return corrupt(d, "a data page without a DataPageHeader");
    if (h->num_values < 0 || (size_t)h->num_values > d->rows - d->filled)
        return corrupt(d, "a page of %d values where %zu are left", (int)h->num_values,
                   d->rows - d->filled);
    size_t nv = (size_t)h->num_values, present = nv;
    span s = {p, p + n};
    int dict = h->encoding == ENC_PLAIN_DICT || h->encoding == ENC_RLE_DICT;
    if (!dict && h->encoding != ENC_PLAIN)
        return chunk_error(d, AK_ERR_UNSUPPORTED,
                        "values in encoding %s (Akosha reads PLAIN and dictionary pages)",
                        encoding_name(h->encoding));
    ak_code rc = d->col->optional ? def_levels(d, h, &s, nv, &present) : AK_OK;
    if (!rc && dict)
        rc = dict_indices(d, &s, present);
    if (rc)
        return rc;
    const uint32_t *lv = d->col->optional ? d->r->levels : NULL;
    const uint32_t *ix = d->r->indices;
    size_t j = 0; /* non-null values taken */
    for (size_t i = 0; i < nv; i++) {
        size_t row = d->filled + i;
        if (lv && !lv[i]) {
            if (!cols[d->c].optional)
                return corrupt(d, "row %zu is null, but the column is required", row);
            d->vals[row] = (ak_pq_val){NULL, 0};
            continue;
        }
        int ok = 1;
        if (dict && d->ts)
            d->ts[row] = d->dict_ts[ix[j]];
        else if (dict)
            d->vals[row] = d->dict_vals[ix[j]];
        else
            ok = d->ts ? plain_i64(&s, &d->ts[row]) : plain_bytes(&s, &d->vals[row]);
        if (!ok)
            return corrupt(d, "the page's values end after %zu of %zu", j, present);
        j++;
    }
    d->filled += nv;
    return AK_OK;
}

/* Every value decoded: convert timestamps, check the rest. */
static ak_code check_values(cdec *d)
{
    for (size_t i = 0; i < d->rows; i++) {
        if (d->ts) {
            if (!to_us(d->col->unit, d->ts[i], &d->ts[i]))
                return corrupt(d, "row %zu: the timestamp is out of range", i);
            continue;
        }
        char why[64];
        const char *problem = value_problem(d->c, &d->vals[i], why, sizeof why);
        if (problem)
            return corrupt(d, "row %zu %s", i, problem);
    }
    return AK_OK;
}

/* A column the file lacks: every value null. */
static ak_code null_column(ak_pq_reader *r, int c, ak_err *err)
{
    size_t rows = (size_t)r->groups[r->cur].rows;
    cdec d = {.r = r, .c = c, .col = &r->col[c], .rows = rows, .err = err};
    ak_code rc = hold(&d, rows * sizeof *d.vals, (void **)&d.vals);
    if (rc == AK_OK) {
        memset(d.vals, 0, rows * sizeof *d.vals);
        r->vals[c] = d.vals;
    }
    return rc;
}

static ak_code decode_column(ak_pq_reader *r, int c, ak_err *err)
{
    if (r->col[c].leaf == SIZE_MAX)
        return null_column(r, c, err);
    const chunk *k = chunk_of(r, r->cur, c);
    cdec d = {.r = r, .c = c, .col = &r->col[c], .rows = (size_t)r->groups[r->cur].rows,
              .err = err};
    snprintf(d.where, sizeof d.where, "parquet: row group %zu, column %s", r->cur, cols[c].name);
    ak_code rc = cols[c].kind == K_TIMESTAMP ? hold(&d, d.rows * sizeof *d.ts, (void **)&d.ts)
                                             : hold(&d, d.rows * sizeof *d.vals,
                                                    (void **)&d.vals);
    char hdr_what[112];
    snprintf(hdr_what, sizeof hdr_what, "%s: page header", d.where);
    const uint8_t *p = r->data + k->start, *end = p + k->stored_bytes;
    while (!rc && d.filled < d.rows) {
        if (p == end)
            return corrupt(&d, "the pages end after %zu of %zu values", d.filled, d.rows);
        ak_tr t;
        page_hdr h;
        ak_tr_init(&t, p, (size_t)(end - p), hdr_what, err);
        if ((rc = read_page_header(&t, &h)))
            return rc;
        p += ak_tr_used(&t);
        if ((size_t)h.csize > (size_t)(end - p))
            return corrupt(&d, "a page of %d bytes overruns its column chunk", (int)h.csize);
        if (h.has_crc && crc32(0, p, (uInt)h.csize) != (uint32_t)h.crc)
            return corrupt(&d, "a page's CRC does not match its bytes (the page is damaged)");
        const uint8_t *body = NULL;
        if (h.type == PAGE_DATA || h.type == PAGE_DICT)
            rc = page_bytes(&d, p, (size_t)h.csize, (size_t)h.usize, &body);
        if (!rc && h.type == PAGE_DATA)
            rc = data_page(&d, &h, body, (size_t)h.usize);
        else if (!rc && h.type == PAGE_DICT)
            rc = dict_page(&d, &h, body, (size_t)h.usize);
        else if (!rc && h.type == PAGE_DATA_V2)
            rc = chunk_error(&d, AK_ERR_UNSUPPORTED, "v2 data pages are not supported");
        else if (!rc && h.type != PAGE_INDEX)
            rc = corrupt(&d, "a page of unknown type %d", (int)h.type);
        p += h.csize;
    }
    if (!rc)
        rc = check_values(&d);
    if (!rc && d.ts)
        r->ts = d.ts;
    else if (!rc)
        r->vals[c] = d.vals;
    return rc;
}

static void release(ak_pq_reader *r)
{
    for (size_t i = 0; i < r->nblocks; i++)
        free(r->blocks[i]);
    r->nblocks = r->held = 0;
    r->decoded = 0;
    r->cur = SIZE_MAX;
}

/* Decode the columns in mask of row group g (dropping any other group). */
static ak_code load(ak_pq_reader *r, size_t g, unsigned mask, ak_err *err)
{
    if (r->cur != g) {
        release(r);
        r->cur = g;
    }
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        if (!(mask & ~r->decoded & 1u << c))
            continue;
        ak_code rc = decode_column(r, c, err);
        if (rc) {
            release(r);
            return rc;
        }
        r->decoded |= 1u << c;
    }
    return AK_OK;
}

#define ALL_COLUMNS ((1u << AK_PQ_NCOLS) - 1)

static void make_row(const ak_pq_reader *r, size_t i, ak_pq_row *row)
{
    for (int c = 0; c < AK_PQ_NCOLS; c++)
        if (cols[c].kind == K_TIMESTAMP)
            row->ts_us = r->ts[i];
        else
            *row_slot(row, c) = r->vals[c][i];
}

ak_code ak_pq_reader_each(ak_pq_reader *r, ak_pq_row_fn fn, void *ctx, ak_err *err)
{
    for (size_t g = 0; g < r->ngroups; g++) {
        ak_code rc = load(r, g, ALL_COLUMNS, err);
        for (size_t i = 0; !rc && i < (size_t)r->groups[g].rows; i++) {
            ak_pq_row row;
            make_row(r, i, &row);
            rc = fn(ctx, &row);
        }
        if (rc)
            return rc;
    }
    return AK_OK;
}

ak_code ak_pq_reader_find(ak_pq_reader *r, const char *id, size_t len, ak_pq_row *row,
                          ak_err *err)
{
    for (size_t g = 0; g < r->ngroups; g++) {
        ak_pq_chunk_info st;
        ak_pq_reader_chunk(r, g, AK_PQ_CONVERSATION_ID, &st);
        if (st.has_min_max && (bytes_cmp(id, len, st.min.p, st.min.len) < 0 ||
                               bytes_cmp(id, len, st.max.p, st.max.len) > 0))
            continue;
        ak_code rc = load(r, g, 1u << AK_PQ_CONVERSATION_ID, err);
        if (rc)
            return rc;
        const ak_pq_val *ids = r->vals[AK_PQ_CONVERSATION_ID];
        for (size_t i = 0; i < (size_t)r->groups[g].rows; i++) {
            if (ids[i].len != len || memcmp(ids[i].p, id, len) != 0)
                continue;
            if ((rc = load(r, g, ALL_COLUMNS, err)))
                return rc;
            make_row(r, i, row);
            return AK_OK;
        }
    }
    return ak_err_set(err, AK_ERR_NOTFOUND, "parquet: no conversation %.*s in the file",
                      (int)(len > 200 ? 200 : len), id);
}

void ak_pq_reader_free(ak_pq_reader *r)
{
    if (!r)
        return;
    release(r);
    for (size_t g = 0; r->groups && g < r->ngroups; g++)
        free(r->groups[g].cols);
    free(r->groups);
    free(r->el);
    free(r->orders);
    free(r->blocks);
    free(r->levels);
    free(r->indices);
    ZSTD_freeDCtx(r->zd);
    free(r);
}
