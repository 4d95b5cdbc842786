/*
 * parquet_impl.h - what the parts of the Parquet writer and reader share
 * (private to src/tier/parquet*.c; the public surfaces are parquet.h,
 * parquet_write.h and parquet_read.h).
 *
 *   parquet.c         the schema: column table, value checks
 *   parquet_write.c   the writer
 *   parquet_footer.c  reader: decoding the footer (Thrift FileMetaData)
 *   parquet_check.c   reader: does the footer describe an Akosha cold file?
 *   parquet_pages.c   reader: pages, values, row access
 *
 * The reference is the Apache Parquet format specification: parquet.thrift
 * for the footer and page headers (the field ids in these files are its
 * ids), Encodings.md for PLAIN, dictionary and the RLE / bit-packed hybrid,
 * and Compression.md for the codecs.
 */
#ifndef AK_PARQUET_IMPL_H
#define AK_PARQUET_IMPL_H

#include <stdint.h>
#include <string.h>
#include <zstd.h>

#include "tier/parquet_read.h"
#include "tier/parquet_write.h"
#include "tier/thrift.h"

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

/* ---- the schema (parquet.c) ---- */

typedef enum { K_TEXT, K_TIMESTAMP, K_FINGERPRINT, K_HEX, K_CODE } kind;

typedef struct {
    const char *name;
    kind kind;
    int optional; /* 2: optional, and a file may lack the column (all null) */
    size_t off; /* of the column's ak_pq_val in ak_pq_row (not the timestamp) */
} ak_pq_colspec;

extern const ak_pq_colspec ak_pq_cols[AK_PQ_NCOLS];

/* NULL if v is a valid value of column c (not the timestamp), else what is
 * wrong with it, as words that follow the column's name. */
const char *ak_pq_value_problem(int c, const ak_pq_val *v, char *why, size_t n);

static inline ak_pq_val *row_slot(ak_pq_row *row, int c)
{
    return (ak_pq_val *)((char *)row + ak_pq_cols[c].off);
}

/* Unsigned byte-wise order, a prefix first: Parquet's order for strings. */
static inline int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int d = memcmp(a, b, an < bn ? an : bn);
    return d ? d : (an > bn) - (an < bn);
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline int64_t le64(const uint8_t *p)
{
    return (int64_t)((uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(uint8_t *p, int64_t v)
{
    put_le32(p, (uint32_t)(uint64_t)v);
    put_le32(p + 4, (uint32_t)((uint64_t)v >> 32));
}

static inline ak_code nomem(ak_err *err)
{
    return ak_err_set(err, AK_ERR_NOMEM, "parquet: out of memory");
}

/* ---- the reader (parquet_footer.c, parquet_check.c, parquet_pages.c) ---- */

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

/* Decode the footer's FileMetaData into r (parquet_footer.c). */
ak_code ak_pq_read_footer(ak_tr *t, ak_pq_reader *r, ak_err *err);

static inline const chunk *chunk_of(const ak_pq_reader *r, size_t g, int c)
{
    return &r->groups[g].cols[r->col[c].leaf];
}

/* A timestamp of the file's unit in microseconds; 0 if it does not fit. */
static inline int to_us(int unit, int64_t v, int64_t *us)
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

#endif
