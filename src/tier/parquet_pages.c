/*
 * parquet_pages.c - the Parquet reader's pages (see parquet_read.h): decompress
 * them (Snappy and gzip blocks in util/compress.c), decode definition
 * levels, dictionaries and PLAIN values, check each value, hand out rows.
 */
#include "tier/parquet_impl.h"

#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h> /* crc32 */
#include <zstd.h>

#include "util/compress.h"

/* ======================================================================
 * Reader: pages
 * ====================================================================== */

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
        why = ak_block_snappy_decode(p, n, buf, want);
        break;
    case AK_PQ_GZIP:
        why = ak_block_gzip_decode(p, n, buf, want);
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
            if (!ak_pq_cols[d->c].optional)
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
        const char *problem = ak_pq_value_problem(d->c, &d->vals[i], why, sizeof why);
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
    snprintf(d.where, sizeof d.where, "parquet: row group %zu, column %s", r->cur, ak_pq_cols[c].name);
    ak_code rc = ak_pq_cols[c].kind == K_TIMESTAMP ? hold(&d, d.rows * sizeof *d.ts, (void **)&d.ts)
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
        if (ak_pq_cols[c].kind == K_TIMESTAMP)
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
