/* test_parquet.c - tier/parquet and tier/thrift: round trips of 0 to
 * 250,000 rows, nulls, unicode, empty strings, statistics, a hand-checked
 * tiny file, schema and format checks, other timestamp units, lookups that
 * skip row groups, bad rows, and damaged files (every truncation, every
 * removed byte, random flips in the footer) failing cleanly.  Also run under
 * `make SAN=1`: a damaged file must never make the reader read out of
 * bounds. */
#include "tier/parquet_read.h"
#include "tier/parquet_write.h"
#include "tier/thrift.h"
#include "util/buf.h"
#include "test.h"

#include "../tools/pq_test.h"

#define SEED 7

/* ---- helpers ---- */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void write_rows(uint64_t n, const ak_pq_opts *o, ak_buf *out)
{
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = pq_gen_file(SEED, n, o, out, &e);
    if (rc)
        fprintf(stderr, "write_rows(%llu): %s\n", (unsigned long long)n, e.msg);
    CHECK_INT(rc, AK_OK);
}

/* Rows are compared with want[i] if given, else with the generator's row i. */
typedef struct {
    const ak_pq_row *want;
    uint64_t seen, bad;
} verify_ctx;

static ak_code verify_row(void *arg, const ak_pq_row *row)
{
    verify_ctx *v = arg;
    pq_gen_row g;
    if (!v->want)
        pq_gen(SEED, v->seen, &g);
    const char *diff = pq_row_diff(row, v->want ? &v->want[v->seen] : &g.row);
    if (diff && v->bad++ < 5)
        fprintf(stderr, "row %llu differs in %s\n", (unsigned long long)v->seen, diff);
    v->seen++;
    return AK_OK;
}

/* Open b and check every row; returns the number of rows read. */
static uint64_t verify_file(const ak_buf *b, const ak_pq_row *want)
{
    ak_pq_reader *r = NULL;
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_pq_reader_open(b->data, b->len, &r, &e);
    if (rc) {
        fprintf(stderr, "open: %s\n", e.msg);
        CHECK_INT(rc, AK_OK);
        return 0;
    }
    verify_ctx v = {.want = want};
    rc = ak_pq_reader_each(r, verify_row, &v, &e);
    if (rc)
        fprintf(stderr, "each: %s\n", e.msg);
    CHECK_INT(rc, AK_OK);
    CHECK_INT(v.bad, 0);
    CHECK_INT(v.seen, ak_pq_reader_rows(r));
    ak_pq_reader_free(r);
    return v.seen;
}

static size_t find_bytes(const ak_buf *b, size_t from, const void *pat, size_t n)
{
    for (size_t i = from; i + n <= b->len; i++)
        if (memcmp(b->data + i, pat, n) == 0)
            return i;
    return SIZE_MAX;
}

/* Replace the footer bytes `from` (first match) with `to`, same length. */
static void patch_footer(ak_buf *b, const char *from, const char *to, size_t n)
{
    size_t at = find_bytes(b, pq_footer_start(b), from, n);
    CHECK(at != SIZE_MAX);
    if (at != SIZE_MAX)
        memcpy(b->data + at, to, n);
}

static void expect_open_fails(const ak_buf *b, ak_code code, const char *needle)
{
    ak_pq_reader *r = NULL;
    ak_err e;
    ak_err_clear(&e);
    CHECK_INT(ak_pq_reader_open(b->data, b->len, &r, &e), code);
    CHECK(r == NULL);
    CHECK_HAS(e.msg, needle);
    ak_pq_reader_free(r);
}

/* Open succeeds, reading all rows fails with code and needle. */
static void expect_read_fails(const ak_buf *b, ak_code code, const char *needle)
{
    ak_pq_reader *r = NULL;
    ak_err e;
    ak_err_clear(&e);
    CHECK_INT(ak_pq_reader_open(b->data, b->len, &r, &e), AK_OK);
    verify_ctx v = {0};
    if (r)
        CHECK_INT(ak_pq_reader_each(r, verify_row, &v, &e), code);
    CHECK_HAS(e.msg, needle);
    ak_pq_reader_free(r);
}

/* ---- round trips ---- */

static void roundtrip(uint64_t n, uint32_t group_rows, int uncompressed)
{
    ak_pq_opts o = {.group_rows = group_rows, .uncompressed = uncompressed};
    ak_buf b = {0};
    write_rows(n, &o, &b);
    CHECK_INT(verify_file(&b, NULL), n);

    ak_pq_reader *r = NULL;
    CHECK_INT(ak_pq_reader_open(b.data, b.len, &r, NULL), AK_OK);
    if (r) {
        uint32_t per = group_rows ? group_rows : AK_PQ_GROUP_ROWS;
        CHECK_INT(ak_pq_reader_rows(r), n);
        CHECK_INT(ak_pq_reader_groups(r), (n + per - 1) / per);
        int64_t sum = 0;
        for (size_t g = 0; g < ak_pq_reader_groups(r); g++)
            sum += ak_pq_reader_group_rows(r, g);
        CHECK_INT(sum, n);
        CHECK_INT(ak_pq_reader_group_rows(r, ak_pq_reader_groups(r)), 0);
        uint64_t probes[] = {0, n / 2, n - 1}; /* first, middle, last */
        for (size_t k = 0; n && k < 3; k++) {
            pq_gen_row g;
            ak_pq_row row;
            pq_gen(SEED, probes[k], &g);
            CHECK_INT(ak_pq_reader_find(r, g.cid, strlen(g.cid), &row, NULL), AK_OK);
            CHECK(pq_row_diff(&row, &g.row) == NULL);
        }
        ak_pq_row row;
        ak_err e;
        CHECK_INT(ak_pq_reader_find(r, "conv-missing", 12, &row, &e), AK_ERR_NOTFOUND);
        CHECK_HAS(e.msg, "no conversation conv-missing");
    }
    ak_pq_reader_free(r);
    ak_buf_free(&b);
}

static void test_roundtrip_small(void)
{
    roundtrip(0, 0, 0);
    roundtrip(1, 0, 0);
    roundtrip(1000, 0, 0);
    roundtrip(1000, 300, 0); /* several groups, the last one short */
    roundtrip(1000, 1, 1);   /* a group per row, uncompressed */
}

static void test_roundtrip_250k(void)
{
    roundtrip(250000, 0, 0); /* 25 row groups of several pages each */
}

/* Empty strings stay empty (not null), nulls stay null, any UTF-8 goes,
 * timestamps at the int64 limits survive. */
static void test_nulls_unicode_empty(void)
{
    static const char *texts[] = {"", "é", "日本語テキスト", "🙂🙃", "a\tb\nc", "\x7f"};
    static uint8_t fp[AK_PQ_FINGERPRINT_LEN];
    memset(fp, 0xFF, sizeof fp);
    const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    ak_pq_row rows[12];
    for (int i = 0; i < 12; i++) {
        ak_pq_val v = {texts[i % 6], strlen(texts[i % 6])};
        rows[i] = (ak_pq_row){.system_id = v, .conversation_id = v, .ts_us = INT64_MIN + i,
                              .ultra_summary = v, .fingerprint = {(const char *)fp, sizeof fp},
                              .content_sha256 = {hex, 64}};
        if (i >= 6) /* rows 0-5: both null; 6-11: set, "" at row 6 */
            rows[i].metadata = rows[i].daily_metrics = v;
    }
    rows[11].ts_us = INT64_MAX;
    ak_pq_writer *w;
    ak_buf b = {0};
    CHECK_INT(ak_pq_writer_new(&(ak_pq_opts){.group_rows = 5}, &w, NULL), AK_OK);
    for (int i = 0; i < 12; i++)
        CHECK_INT(ak_pq_writer_add(w, &rows[i], NULL), AK_OK);
    CHECK_INT(ak_pq_writer_rows(w), 12);
    CHECK_INT(ak_pq_writer_finish(w, &b, NULL), AK_OK);
    ak_pq_writer_free(w);
    CHECK_INT(verify_file(&b, rows), 12);

    ak_pq_reader *r;
    CHECK_INT(ak_pq_reader_open(b.data, b.len, &r, NULL), AK_OK);
    ak_pq_chunk_info st;
    ak_pq_reader_chunk(r, 0, AK_PQ_METADATA, &st); /* rows 0-4 */
    CHECK_INT(st.null_count, 5);
    CHECK(!st.has_min_max); /* all null: no bounds */
    ak_pq_reader_chunk(r, 1, AK_PQ_METADATA, &st); /* rows 5-9 */
    CHECK_INT(st.null_count, 1);
    CHECK(st.has_min_max && st.min.len == 0 && pq_val_eq(st.max, (ak_pq_val){"🙂🙃", 8}));
    ak_pq_reader_chunk(r, 2, AK_PQ_TIMESTAMP, &st); /* rows 10-11 */
    CHECK(st.has_min_max && st.min_us == INT64_MIN + 10 && st.max_us == INT64_MAX);
    ak_pq_row got;
    CHECK_INT(ak_pq_reader_find(r, "", 0, &got, NULL), AK_OK); /* the first, row 0 */
    CHECK(got.ts_us == INT64_MIN && got.metadata.p == NULL && got.system_id.p != NULL);
    ak_pq_reader_free(r);
    ak_buf_free(&b);
}

/* The bounds and null count of one column over some rows. */
typedef struct {
    ak_buf min, max;
    int has;
    int64_t nulls, tmin, tmax;
} bounds;

static int bytes_lt(const void *a, size_t an, const ak_buf *b)
{
    int d = memcmp(a, b->data, an < b->len ? an : b->len);
    return d ? d < 0 : an < b->len;
}

static void bounds_add(bounds *x, const ak_pq_row *row, ak_pq_col c)
{
    const ak_pq_val *v = ak_pq_row_val(row, c);
    if (!v) {
        x->tmin = !x->has || row->ts_us < x->tmin ? row->ts_us : x->tmin;
        x->tmax = !x->has || row->ts_us > x->tmax ? row->ts_us : x->tmax;
    } else if (!v->p) {
        x->nulls++;
        return;
    } else {
        if (!x->has || bytes_lt(v->p, v->len, &x->min)) {
            ak_buf_reset(&x->min);
            ak_buf_append(&x->min, v->p, v->len);
        }
        if (!x->has || !bytes_lt(v->p, v->len, &x->max)) {
            ak_buf_reset(&x->max);
            ak_buf_append(&x->max, v->p, v->len);
        }
    }
    x->has = 1;
}

/* Statistics of every chunk equal what the rows say. */
static void test_statistics(void)
{
    const uint32_t per = 300, n = 1000;
    ak_buf b = {0};
    write_rows(n, &(ak_pq_opts){.group_rows = per}, &b);
    ak_pq_reader *r;
    CHECK_INT(ak_pq_reader_open(b.data, b.len, &r, NULL), AK_OK);
    if (!r)
        return;
    for (size_t g = 0; g < ak_pq_reader_groups(r); g++) {
        for (int c = 0; c < AK_PQ_NCOLS; c++) {
            bounds x = {0};
            pq_gen_row row;
            for (uint64_t i = g * per; i < n && i < (g + 1) * per; i++) {
                pq_gen(SEED, i, &row);
                bounds_add(&x, &row.row, (ak_pq_col)c);
            }
            ak_pq_chunk_info st;
            ak_pq_reader_chunk(r, g, (ak_pq_col)c, &st);
            CHECK_INT(st.codec, AK_PQ_ZSTD);
            CHECK_INT(st.null_count, x.nulls);
            CHECK_INT(st.num_values, ak_pq_reader_group_rows(r, g));
            CHECK(st.compressed_bytes > 0 && st.uncompressed_bytes > st.compressed_bytes / 2);
            CHECK(st.has_min_max);
            if (c == AK_PQ_TIMESTAMP) {
                CHECK(st.min_us == x.tmin && st.max_us == x.tmax);
                CHECK(x.tmin < 0); /* the generator's pre-1970 rows are in every group */
            } else {
                CHECK(st.min.len == x.min.len && !memcmp(st.min.p, x.min.data, x.min.len));
                CHECK(st.max.len == x.max.len && !memcmp(st.max.p, x.max.data, x.max.len));
            }
            ak_buf_free(&x.min);
            ak_buf_free(&x.max);
        }
    }
    ak_pq_reader_free(r);
    ak_buf_free(&b);
}

/* ---- the bytes of a tiny file, worked out by hand from parquet.thrift ---- */

static void put_bytes(ak_buf *x, const void *p, size_t n) { ak_buf_append(x, p, n); }

/* One page as the writer must store it: PageHeader{1: DATA_PAGE (0),
 * 2: uncompressed size, 3: compressed size (both `size`, a zigzag varint
 * given by hand), 4: CRC-32 of the body, 5: DataPageHeader{1: num_values 1,
 * 2: PLAIN (0), 3: RLE (3), 4: RLE}}, then the body.  0x15 is a field
 * header "id + 1, i32", 0x1c "id + 1, struct"; zigzag(1) = 2, zigzag(3) = 6. */
static void expect_page(ak_buf *x, const char *size, const void *body, size_t n)
{
    uint8_t crc[10];
    put_bytes(x, "\x15\x00\x15", 3);
    put_bytes(x, size, strlen(size));
    put_bytes(x, "\x15", 1);
    put_bytes(x, size, strlen(size));
    put_bytes(x, "\x15", 1);
    put_bytes(x, crc, pq_crc_varint(body, n, crc));
    put_bytes(x, "\x1c\x15\x02\x15\x00\x15\x06\x15\x06\x00\x00", 11);
    put_bytes(x, body, n);
}

static void test_hand_checked_bytes(void)
{
    static uint8_t fp[4 + AK_PQ_FINGERPRINT_LEN] = {0x40, 0x00, 0x00, 0x00}; /* length 64 */
    memset(fp + 4, 0xAB, AK_PQ_FINGERPRINT_LEN);
    char sha[4 + 64] = {64, 0, 0, 0};
    memset(sha + 4, '0', 64);
    ak_pq_row row = {.system_id = {"s", 1}, .conversation_id = {"c", 1}, .ts_us = 1,
                     .ultra_summary = {"", 0}, .fingerprint = {(const char *)fp + 4, AK_PQ_FINGERPRINT_LEN},
                     .content_sha256 = {sha + 4, 64}, .daily_metrics = {"{}", 2}};
    ak_pq_writer *w;
    ak_buf b = {0}, x = {0};
    CHECK_INT(ak_pq_writer_new(&(ak_pq_opts){.uncompressed = 1, .created_by = "akosha test"},
                               &w, NULL),
              AK_OK);
    CHECK_INT(ak_pq_writer_add(w, &row, NULL), AK_OK);
    CHECK_INT(ak_pq_writer_finish(w, &b, NULL), AK_OK);
    ak_pq_writer_free(w);

    put_bytes(&x, "PAR1", 4);
    /* PLAIN BYTE_ARRAY: a 4-byte little-endian length, then the bytes. */
    expect_page(&x, "\x0a", "\x01\x00\x00\x00s", 5);              /* system_id */
    expect_page(&x, "\x0a", "\x01\x00\x00\x00" "c", 5);           /* conversation_id */
    expect_page(&x, "\x10", "\x01\x00\x00\x00\x00\x00\x00\x00", 8); /* timestamp: int64 1 */
    expect_page(&x, "\x08", "\x00\x00\x00\x00", 4);               /* ultra_summary "" */
    expect_page(&x, "\x88\x01", fp, sizeof fp);                   /* fingerprint: 68 bytes */
    expect_page(&x, "\x88\x01", sha, sizeof sha);                 /* content_sha256: 68 */
    /* metadata null: definition levels only: their 4-byte length 2, a
     * bit-packed run header (1 group << 1 | 1) and the group's byte, level 0 */
    expect_page(&x, "\x0c", "\x02\x00\x00\x00\x03\x00", 6);
    /* daily_metrics "{}": level 1, then the value */
    expect_page(&x, "\x18", "\x02\x00\x00\x00\x03\x01\x02\x00\x00\x00{}", 12);
    expect_page(&x, "\x0c", "\x02\x00\x00\x00\x03\x00", 6); /* embedding_code null */
    size_t data_end = x.len;
    /* FileMetaData{1: version 1, 2: list of 10 structs: the root {4: "schema",
     * 5: 9 children}, then system_id {1: BYTE_ARRAY (6), 3: REQUIRED (0),
     * 4: name, 6: UTF8 (0), 10: LogicalType{1: StringType{}}} ... */
    put_bytes(&x, "\x15\x02\x19\xac\x48\x06schema\x15\x12\x00", 15);
    put_bytes(&x, "\x15\x0c\x25\x00\x18\x09system_id\x25\x00\x4c\x1c\x00\x00\x00", 22);

    CHECK(b.len > x.len);
    for (size_t i = 0; i < x.len && i < b.len; i++)
        if (b.data[i] != x.data[i]) {
            fprintf(stderr, "byte %zu is 0x%02x, expected 0x%02x\n", i,
                    (unsigned char)b.data[i], (unsigned char)x.data[i]);
            CHECK(0);
            break;
        }
    /* The footer starts where the data ends; the file ends in its length
     * and PAR1. */
    CHECK_INT(pq_footer_start(&b), data_end);
    CHECK(!memcmp(b.data + b.len - 4, "PAR1", 4));
    /* The timestamp's annotation: 6: TIMESTAMP_MICROS (10), 10: LogicalType{
     * 8: TimestampType{1: true, 2: TimeUnit{2: MicroSeconds{}}}}. */
    static const uint8_t ts_type[] = {0x25, 0x14, 0x4c, 0x8c, 0x11, 0x1c, 0x2c,
                                      0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(find_bytes(&b, data_end, ts_type, sizeof ts_type) != SIZE_MAX);
    CHECK(find_bytes(&b, data_end, "\x18\x0d" "akosha.format\x18\x01\x31", 18) != SIZE_MAX);
    CHECK(find_bytes(&b, data_end, "\x18\x0b" "akosha test", 13) != SIZE_MAX);
    CHECK_INT(verify_file(&b, &row), 1);
    ak_buf_free(&b);
    ak_buf_free(&x);
}

/* ---- the writer refuses what breaks the schema ---- */

static void expect_bad_row(ak_pq_writer *w, const ak_pq_row *row, const char *needle)
{
    ak_err e;
    ak_err_clear(&e);
    CHECK_INT(ak_pq_writer_add(w, row, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, needle);
}

static void test_bad_rows(void)
{
    pq_gen_row g;
    pq_gen(SEED, 1, &g);
    ak_pq_writer *w;
    CHECK_INT(ak_pq_writer_new(NULL, &w, NULL), AK_OK);
    ak_pq_row r = g.row;
    r.system_id.p = NULL;
    expect_bad_row(w, &r, "parquet: row 0: system_id is null, but the column is required");
    r = g.row;
    r.ultra_summary = (ak_pq_val){"caf\xc3", 4};
    expect_bad_row(w, &r, "ultra_summary is not valid UTF-8");
    r = g.row;
    r.fingerprint.len = 100;
    expect_bad_row(w, &r, "fingerprint has 100 bytes, not 64 (or 512)");
    r = g.row;
    r.content_sha256.p = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789";
    expect_bad_row(w, &r, "content_sha256 is not 64 lowercase hex digits");
    r = g.row;
    r.content_sha256.len = 63;
    expect_bad_row(w, &r, "content_sha256 is not 64 lowercase hex digits");
    r = g.row;
    r.metadata = (ak_pq_val){"\xff", 1};
    expect_bad_row(w, &r, "metadata is not valid UTF-8");
    /* Nothing was added; the writer goes on. */
    CHECK_INT(ak_pq_writer_rows(w), 0);
    CHECK_INT(ak_pq_writer_add(w, &g.row, NULL), AK_OK);
    ak_buf b = {0};
    CHECK_INT(ak_pq_writer_finish(w, &b, NULL), AK_OK);
    ak_err e;
    CHECK_INT(ak_pq_writer_add(w, &g.row, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, "the writer is finished");
    CHECK_INT(ak_pq_writer_finish(w, &b, &e), AK_ERR_INVALID);
    ak_pq_writer_free(w);
    ak_pq_row one;
    ak_pq_reader *rd;
    CHECK_INT(ak_pq_reader_open(b.data, b.len, &rd, NULL), AK_OK);
    CHECK_INT(ak_pq_reader_find(rd, g.cid, strlen(g.cid), &one, NULL), AK_OK);
    ak_pq_reader_free(rd);
    ak_buf_free(&b);
}

static void test_limits(void)
{
    ak_pq_writer *w = NULL;
    ak_err e;
    CHECK_INT(ak_pq_writer_new(&(ak_pq_opts){.group_rows = AK_PQ_GROUP_ROWS_MAX + 1}, &w, &e),
              AK_ERR_INVALID);
    CHECK_HAS(e.msg, "rows per row group");
    CHECK_INT(ak_pq_writer_new(&(ak_pq_opts){.zstd_level = 99}, &w, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, "zstd level 99");
    CHECK_INT(ak_pq_writer_new(&(ak_pq_opts){.max_bytes = (size_t)2 << 30}, &w, &e),
              AK_ERR_INVALID);
    CHECK(w == NULL);

    /* A batch that outgrows max_bytes fails, and the writer stays failed. */
    CHECK_INT(ak_pq_writer_new(&(ak_pq_opts){.max_bytes = 20000, .uncompressed = 1}, &w, NULL),
              AK_OK);
    pq_gen_row g;
    ak_code rc = AK_OK;
    uint64_t i;
    for (i = 0; i < 100 && !rc; i++) {
        pq_gen(SEED, i, &g);
        rc = ak_pq_writer_add(w, &g.row, &e);
    }
    CHECK_INT(rc, AK_ERR_INVALID);
    CHECK(i > 10 && i < 40);
    CHECK_HAS(e.msg, "outgrew the file limit of 20000 bytes");
    CHECK_INT(ak_pq_writer_add(w, &g.row, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, "unusable after an earlier failure");
    ak_buf b = {0};
    CHECK_INT(ak_pq_writer_finish(w, &b, &e), AK_ERR_INVALID);
    CHECK(b.data == NULL);
    ak_pq_writer_free(w);
    ak_pq_writer_free(NULL);

    /* One value longer than the limit is a bad row, not a failed writer. */
    CHECK_INT(ak_pq_writer_new(&(ak_pq_opts){.max_bytes = 100}, &w, NULL), AK_OK);
    pq_gen(SEED, 1, &g);
    CHECK_INT(ak_pq_writer_add(w, &g.row, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, "is longer than the file limit");
    ak_pq_writer_free(w);
}

/* ---- the reader: schema, format, units ---- */

static void small_file(ak_buf *b, int uncompressed)
{
    write_rows(30, &(ak_pq_opts){.group_rows = 10, .uncompressed = uncompressed}, b);
}

static void test_schema_checks(void)
{
    ak_buf b = {0};
    small_file(&b, 0);
    patch_footer(&b, "ultra_summary", "ultra_summarx", 13);
    expect_open_fails(&b, AK_ERR_UNSUPPORTED,
                      "parquet: the file has no column ultra_summary, so it is not an Akosha "
                      "cold file");
    ak_buf_free(&b);

    /* timestamp stored as INT32 (type 1): 0x15 0x04 -> 0x15 0x02 before its name */
    small_file(&b, 0);
    patch_footer(&b, "\x15\x04\x25\x00\x18\x09timestamp", "\x15\x02\x25\x00\x18\x09timestamp",
                 15);
    expect_open_fails(&b, AK_ERR_UNSUPPORTED,
                      "parquet: column timestamp is INT32 TIMESTAMP(isAdjustedToUTC=true, "
                      "MICROS), expected INT64 TIMESTAMP(isAdjustedToUTC=true)");
    ak_buf_free(&b);

    /* isAdjustedToUTC false (bool field type 2 instead of 1) */
    small_file(&b, 0);
    patch_footer(&b, "\x8c\x11\x1c\x2c", "\x8c\x12\x1c\x2c", 4);
    expect_open_fails(&b, AK_ERR_UNSUPPORTED,
                      "column timestamp is INT64 TIMESTAMP(isAdjustedToUTC=false, MICROS)");
    ak_buf_free(&b);

    /* REPEATED system_id */
    small_file(&b, 0);
    patch_footer(&b, "\x25\x00\x18\x09system_id", "\x25\x04\x18\x09system_id", 13);
    expect_open_fails(&b, AK_ERR_UNSUPPORTED, "column system_id is REPEATED");
    ak_buf_free(&b);

    /* the same name twice */
    small_file(&b, 0);
    patch_footer(&b, "\x18\x0d" "daily_metrics", "\x18\x0d" "ultra_summary", 15);
    expect_open_fails(&b, AK_ERR_CORRUPT, "parquet: footer: column ultra_summary appears twice");
    ak_buf_free(&b);

    /* a newer Akosha's format */
    small_file(&b, 0);
    patch_footer(&b, "akosha.format\x18\x01\x31", "akosha.format\x18\x01\x32", 16);
    expect_open_fails(&b, AK_ERR_UNSUPPORTED, "akosha.format is not 1");
    ak_buf_free(&b);
}

/* The same file with the timestamp's unit patched: values and bounds are
 * converted to microseconds. */
static void check_unit(char unit_byte, int64_t mul, int64_t div)
{
    ak_buf b = {0};
    small_file(&b, 0);
    char to[4] = {'\x8c', '\x11', '\x1c', unit_byte};
    patch_footer(&b, "\x8c\x11\x1c\x2c", to, 4);
    ak_pq_reader *r;
    CHECK_INT(ak_pq_reader_open(b.data, b.len, &r, NULL), AK_OK);
    if (!r)
        return;
    pq_gen_row g;
    ak_pq_row got;
    for (uint64_t i = 0; i < 30; i++) {
        pq_gen(SEED, i, &g);
        CHECK_INT(ak_pq_reader_find(r, g.cid, strlen(g.cid), &got, NULL), AK_OK);
        int64_t v = g.row.ts_us, want = mul ? v * mul : v / div - (v % div < 0);
        CHECK_INT(got.ts_us, want);
    }
    ak_pq_chunk_info st;
    ak_pq_reader_chunk(r, 0, AK_PQ_TIMESTAMP, &st);
    CHECK(st.has_min_max && st.min_us < 0 && st.max_us > 0);
    ak_pq_reader_free(r);
    ak_buf_free(&b);
}

static void test_timestamp_units(void)
{
    check_unit('\x1c', 1000, 0); /* MILLIS */
    check_unit('\x3c', 0, 1000); /* NANOS: floor to microseconds */
}

/* Row groups whose conversation_id bounds exclude the id are not decoded:
 * with ids in order, a damaged first group does not stop finding a row of
 * the last. */
static void test_find_skips_groups(void)
{
    static uint8_t fp[AK_PQ_FINGERPRINT_LEN_V1];
    const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    ak_pq_writer *w;
    CHECK_INT(ak_pq_writer_new(&(ak_pq_opts){.group_rows = 10, .uncompressed = 1}, &w, NULL),
              AK_OK);
    char ids[30][8];
    for (int i = 0; i < 30; i++) {
        snprintf(ids[i], sizeof ids[i], "id-%03d", i);
        ak_pq_row row = {.system_id = {"s", 1}, .conversation_id = {ids[i], 6}, .ts_us = i,
                         .ultra_summary = {"x", 1},
                         .fingerprint = {(const char *)fp, /* both lengths: files written before */
                                         i % 2 ? AK_PQ_FINGERPRINT_LEN_V1 : AK_PQ_FINGERPRINT_LEN},
                         .content_sha256 = {hex, 64}};
        CHECK_INT(ak_pq_writer_add(w, &row, NULL), AK_OK);
    }
    ak_buf b = {0};
    CHECK_INT(ak_pq_writer_finish(w, &b, NULL), AK_OK);
    ak_pq_writer_free(w);
    /* Damage "id-000"'s length prefix in the first group's page. */
    size_t at = find_bytes(&b, 0, "id-000", 6);
    CHECK(at != SIZE_MAX && at >= 4);
    b.data[at - 1] = 0x7f;
    expect_read_fails(&b, AK_ERR_CORRUPT,
                      "parquet: row group 0, column conversation_id: a page's CRC does not "
                      "match its bytes (the page is damaged)");
    ak_pq_reader *r;
    ak_pq_row got;
    ak_err e;
    CHECK_INT(ak_pq_reader_open(b.data, b.len, &r, NULL), AK_OK);
    CHECK_INT(ak_pq_reader_find(r, "id-025", 6, &got, &e), AK_OK);
    CHECK_INT(got.ts_us, 25);
    CHECK_INT(got.fingerprint.len, AK_PQ_FINGERPRINT_LEN_V1);
    CHECK_INT(ak_pq_reader_find(r, "id-024", 6, &got, &e), AK_OK);
    CHECK_INT(got.fingerprint.len, AK_PQ_FINGERPRINT_LEN);
    CHECK_INT(ak_pq_reader_find(r, "id-005", 6, &got, &e), AK_ERR_CORRUPT);
    CHECK_INT(ak_pq_reader_find(r, "id-0255", 7, &got, &e), AK_ERR_NOTFOUND);
    ak_pq_reader_free(r);
    ak_buf_free(&b);
}

static ak_code stop_at_third(void *arg, const ak_pq_row *row)
{
    (void)row;
    return ++*(int *)arg == 3 ? AK_ERR_ABORTED : AK_OK;
}

static void test_callback_stops(void)
{
    ak_buf b = {0};
    small_file(&b, 0);
    ak_pq_reader *r;
    int calls = 0;
    CHECK_INT(ak_pq_reader_open(b.data, b.len, &r, NULL), AK_OK);
    CHECK_INT(ak_pq_reader_each(r, stop_at_third, &calls, NULL), AK_ERR_ABORTED);
    CHECK_INT(calls, 3);
    ak_pq_reader_free(r);
    ak_buf_free(&b);
}

/* ---- damaged files ---- */

/* Whatever the bytes: no crash, and a failure is a clean one. */
static int try_read(const void *data, size_t len)
{
    ak_pq_reader *r = NULL;
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_pq_reader_open(data, len, &r, &e);
    if (!rc) {
        verify_ctx v = {0};
        rc = ak_pq_reader_each(r, verify_row, &v, &e);
        ak_pq_row row;
        ak_err e2;
        ak_code frc = ak_pq_reader_find(r, "conv-x", 6, &row, &e2);
        CHECK(frc == AK_ERR_NOTFOUND || frc == AK_ERR_CORRUPT || frc == AK_ERR_UNSUPPORTED);
    }
    if (rc) {
        CHECK(rc == AK_ERR_CORRUPT || rc == AK_ERR_UNSUPPORTED);
        CHECK_INT(e.code, rc);
        CHECK(strncmp(e.msg, "parquet: ", 9) == 0);
    }
    ak_pq_reader_free(r);
    return rc != AK_OK;
}

static void test_every_truncation(void)
{
    for (int unc = 0; unc <= 1; unc++) {
        ak_buf b = {0};
        small_file(&b, unc);
        for (size_t n = 0; n < b.len; n++) {
            /* An exact-size copy, so ASan sees any read past the end. */
            char *copy = malloc(n ? n : 1);
            memcpy(copy, b.data, n);
            CHECK(try_read(copy, n));
            free(copy);
        }
        ak_buf_free(&b);
    }
    static const char *cases[][2] = {
        {"", "a file of 0 bytes is too short"},
        {"PAR1PAR1PAR", "a file of 11 bytes is too short"},
        {"PAR2\0\0\0\0\0\0\0\0PAR1", "no PAR1 magic at the start"},
        {"PAR1\0\0\0\0\0\0\0\0PAR2", "no PAR1 magic at the end"},
        {"PAR1\0\0\0\0\0\0\0\0PARE", "the footer is encrypted"},
        {"PAR1\0\0\0\0\0\0\0\0\x40\xe2\x01\0PAR1", "footer length 123456 exceeds file size 20"},
        {"PAR1\0\0\0\0\0\0\0\0\0\0\0\0PAR1", "footer: at byte 0: the data ends"},
    };
    size_t lens[] = {0, 11, 16, 16, 16, 20, 20};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        ak_buf b = {0};
        ak_buf_append(&b, cases[i][0], lens[i]);
        expect_open_fails(&b, strstr(cases[i][1], "encrypted") ? AK_ERR_UNSUPPORTED
                                                               : AK_ERR_CORRUPT,
                          cases[i][1]);
        ak_buf_free(&b);
    }
}

/* Every single byte taken out: the footer length no longer matches, or the
 * offsets point at the wrong bytes, or a page is short. */
static void test_every_removed_byte(void)
{
    ak_buf b = {0};
    small_file(&b, 0);
    char *copy = malloc(b.len);
    int failed = 0;
    for (size_t i = 0; i < b.len; i++) {
        memcpy(copy, b.data, i);
        memcpy(copy + i, b.data + i + 1, b.len - i - 1);
        failed += try_read(copy, b.len - 1);
    }
    CHECK_INT(failed, b.len); /* no damaged file reads as if whole */
    free(copy);
    ak_buf_free(&b);
}

static void test_footer_flips(void)
{
    for (int unc = 0; unc <= 1; unc++) {
        ak_buf b = {0};
        small_file(&b, unc);
        size_t start = pq_footer_start(&b), flen = b.len - 8 - start;
        char *copy = malloc(b.len);
        for (int round = 0; round < 3000; round++) {
            memcpy(copy, b.data, b.len);
            int flips = 1 + (int)(rng() % 3);
            for (int k = 0; k < flips; k++)
                copy[start + rng() % flen] ^= (char)(1 + rng() % 255);
            try_read(copy, b.len);
        }
        /* And flips anywhere, the length and magic included. */
        for (int round = 0; round < 2000; round++) {
            memcpy(copy, b.data, b.len);
            copy[rng() % b.len] ^= (char)(1u << (rng() % 8));
            try_read(copy, b.len);
        }
        free(copy);
        ak_buf_free(&b);
    }
}

/* Damage inside a page whose CRC is made to match again, so that the
 * decoders themselves must find it.  The page is the one holding the first
 * `pat` in a fresh file; the byte `delta` after the match (or after the
 * start of the page's body, with from_body) becomes the first value in
 * [lo, hi] whose CRC keeps its varint length. */
static void expect_page_damage(int uncompressed, const char *pat, size_t patn, int from_body,
                               int delta, uint8_t lo, uint8_t hi, const char *needle)
{
    ak_buf b = {0};
    small_file(&b, uncompressed);
    size_t at = find_bytes(&b, 0, pat, patn);
    pq_page pg;
    CHECK(at != SIZE_MAX && pq_find_page(&b, at, &pg));
    if (at == SIZE_MAX)
        return;
    at = (from_body ? pg.body : at) + (size_t)delta;
    int fixed = 0;
    for (unsigned v = lo; v <= hi && !fixed; v++) {
        b.data[at] = (char)v;
        fixed = pq_fix_crc(&b, &pg);
    }
    CHECK(fixed);
    expect_read_fails(&b, AK_ERR_CORRUPT, needle);
    ak_buf_free(&b);
}

static void test_page_damage(void)
{
    pq_gen_row g;
    pq_gen(SEED, 2, &g);
    expect_page_damage(1, g.summary, strlen(g.summary), 0, 0, 0x80, 0xbf, /* continuation */
                       "parquet: row group 0, column ultra_summary: row 2 is not valid UTF-8");
    expect_page_damage(1, g.meta, strlen(g.meta), 1, 3, 0x10, 0x7f, /* the levels' length */
                       "column metadata: definition levels of");
    pq_gen(SEED, 0, &g);
    expect_page_damage(1, g.cid, strlen(g.cid), 0, -1, 0x10, 0x7f, /* row 0's length */
                       "column conversation_id: the page's values end after 0 of 10");
    expect_page_damage(1, g.sha, 64, 0, 0, 'A', 'F',
                       "column content_sha256: row 0 is not 64 lowercase hex digits");
    expect_page_damage(0, "\x28\xb5\x2f\xfd", 4, 0, 5, 0x80, 0xff, /* zstd: content size */
                       "parquet: row group 0, column system_id: a zstd page does not");
}

/* Footer damage that names its problem. */
static void test_footer_messages(void)
{
    ak_buf b = {0};
    small_file(&b, 0);
    size_t start = pq_footer_start(&b);
    /* The row count: FileMetaData field 3 (0x16 after the schema list). */
    patch_footer(&b, "\x16\x3c\x19", "\x16\x3e\x19", 3); /* 30 -> 31 rows */
    expect_open_fails(&b, AK_ERR_CORRUPT, "footer: num_rows is 31 but the row groups hold 30");
    ak_buf_free(&b);

    /* A list that claims more elements than there are bytes. */
    small_file(&b, 0);
    memcpy(b.data + start + 3, "\xfc\xff\xff\x7f", 4); /* schema: 2^21 - 1 elements */
    expect_open_fails(&b, AK_ERR_CORRUPT,
                      "parquet: footer: at byte 7: list of 2097151 elements but only");
    ak_buf_free(&b);

    /* A chunk whose pages lie past the footer. */
    small_file(&b, 0);
    ak_pq_reader *r;
    CHECK_INT(ak_pq_reader_open(b.data, b.len, &r, NULL), AK_OK);
    ak_pq_reader_free(r);
    ak_buf cut = {0};
    ak_buf_append(&cut, b.data, 4);
    ak_buf_append(&cut, b.data + start, b.len - start); /* the footer without the data */
    expect_open_fails(&cut, AK_ERR_CORRUPT, "lie outside the data (bytes 4 to 4)");
    ak_buf_free(&cut);
    ak_buf_free(&b);
}

/* ---- the Thrift layer ---- */

static void test_thrift_values(void)
{
    ak_buf b = {0};
    ak_tw w;
    ak_tw_init(&w, &b);
    ak_tw_begin(&w);
    ak_tw_i64(&w, 1, INT64_MIN);
    ak_tw_i64(&w, 2, INT64_MAX);
    ak_tw_i32(&w, 20, -1);       /* long field header: delta 18 */
    ak_tw_i32(&w, 3, INT32_MIN); /* backwards: long header */
    ak_tw_bool(&w, 4, 0);
    ak_tw_list(&w, 5, AK_TT_BINARY, 20); /* long list header */
    for (int i = 0; i < 20; i++)
        ak_tw_elem_bin(&w, "ab", (size_t)(i % 3));
    ak_tw_end(&w);
    CHECK_INT(ak_tw_finish(&w), AK_OK);

    ak_tr r;
    ak_tf f;
    ak_err e;
    int64_t v = 0;
    int32_t v32 = 0;
    int bo = 1, et = 0;
    uint32_t n = 0;
    const uint8_t *p;
    size_t len;
    ak_tr_init(&r, b.data, b.len, "test", &e);
    CHECK_INT(ak_tr_begin(&r, AK_TT_STRUCT, &f), AK_OK);
    CHECK_INT(ak_tr_next(&r, &f), AK_OK);
    CHECK(f.id == 1 && ak_tr_i64(&r, f.type, &v) == AK_OK && v == INT64_MIN);
    CHECK_INT(ak_tr_next(&r, &f), AK_OK);
    CHECK(f.id == 2 && ak_tr_i64(&r, f.type, &v) == AK_OK && v == INT64_MAX);
    CHECK_INT(ak_tr_next(&r, &f), AK_OK);
    CHECK(f.id == 20 && ak_tr_i32(&r, f.type, &v32) == AK_OK && v32 == -1);
    CHECK_INT(ak_tr_next(&r, &f), AK_OK);
    CHECK(f.id == 3 && ak_tr_i32(&r, f.type, &v32) == AK_OK && v32 == INT32_MIN);
    CHECK_INT(ak_tr_next(&r, &f), AK_OK);
    CHECK(f.id == 4 && ak_tr_bool(&r, f.type, &bo) == AK_OK && bo == 0);
    CHECK_INT(ak_tr_next(&r, &f), AK_OK);
    CHECK(f.id == 5 && ak_tr_list(&r, f.type, &et, &n) == AK_OK && n == 20);
    for (uint32_t i = 0; i < n; i++)
        CHECK(ak_tr_bin(&r, et, &p, &len) == AK_OK && len == i % 3);
    CHECK_INT(ak_tr_next(&r, &f), AK_OK);
    CHECK_INT(f.type, AK_TT_STOP);
    CHECK_INT(ak_tr_used(&r), b.len);
    /* Reading a value as the wrong type fails with the offset. */
    ak_tr_init(&r, b.data, b.len, "test", &e);
    ak_tr_begin(&r, AK_TT_STRUCT, &f);
    ak_tr_next(&r, &f);
    CHECK_INT(ak_tr_bin(&r, f.type, &p, &len), AK_ERR_CORRUPT);
    CHECK_HAS(e.msg, "test: at byte 1: found a i64 where a string belongs");
    /* i64 extremes do not fit i32. */
    ak_tr_init(&r, b.data, b.len, "test", &e);
    ak_tr_begin(&r, AK_TT_STRUCT, &f);
    ak_tr_next(&r, &f);
    CHECK_INT(ak_tr_i32(&r, f.type, &v32), AK_ERR_CORRUPT);
    CHECK_HAS(e.msg, "does not fit 32 bits");
    ak_buf_free(&b);
}

/* Unknown fields of every type, nested, are skipped; damage in them is
 * still found. */
static void test_thrift_skip(void)
{
    static const uint8_t unknown[] = {
        0x13, 0x7f,                                      /* 1: i8 */
        0x14, 0x03,                                      /* 2: i16 -2 */
        0x17, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,              /* 3: double 1.0 */
        0x11,                                            /* 4: bool true */
        0x19, 0x21, 0x01, 0x02,                          /* 5: list<bool> [t, f] */
        0x1a, 0x55, 0x02, 0x04, 0x06, 0x08, 0x0a,       /* 6: set<i32> of 5 */
        0x1b, 0x02, 0x35, 0x01, 0x02, 0x03, 0x04,       /* 7: map<i8, i32> of 2 */
        0x1c, 0x19, 0x1c, 0x11, 0x00, 0x00,             /* 8: struct{list<struct{bool}>} */
        0x1b, 0x00,                                      /* 9: empty map */
        0x09, 0xc8, 0x01, 0x18, 0x01, 'x',              /* id 100: list<binary> ["x"] */
        0x00,
    };
    ak_tr r;
    ak_tf f;
    ak_err e;
    ak_tr_init(&r, unknown, sizeof unknown, "test", &e);
    ak_code rc;
    int fields = 0;
    for (rc = ak_tr_begin(&r, AK_TT_STRUCT, &f); !rc && !(rc = ak_tr_next(&r, &f)) &&
                                                  f.type != AK_TT_STOP;) {
        fields++;
        rc = ak_tr_skip(&r, f.type);
    }
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    CHECK_INT(rc, AK_OK);
    CHECK_INT(fields, 10);
    CHECK_INT(ak_tr_used(&r), sizeof unknown);
    /* Every truncation of it fails cleanly. */
    for (size_t n = 0; n < sizeof unknown; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, unknown, n);
        ak_tr_init(&r, copy, n, "test", &e);
        for (rc = ak_tr_begin(&r, AK_TT_STRUCT, &f); !rc && !(rc = ak_tr_next(&r, &f)) &&
                                                      f.type != AK_TT_STOP;)
            rc = ak_tr_skip(&r, f.type);
        CHECK_INT(rc, AK_ERR_CORRUPT);
        free(copy);
    }
}

static void test_thrift_limits(void)
{
    uint8_t deep[80];
    memset(deep, 0x1c, sizeof deep); /* struct field 1 inside struct field 1 ... */
    ak_tr r;
    ak_tf f;
    ak_err e;
    ak_tr_init(&r, deep, sizeof deep, "test", &e);
    ak_tr_begin(&r, AK_TT_STRUCT, &f);
    ak_tr_next(&r, &f);
    CHECK_INT(ak_tr_skip(&r, f.type), AK_ERR_CORRUPT);
    CHECK_HAS(e.msg, "nested deeper than 32");

    static const uint8_t cases[][12] = {
        {0x19, 0xf5, 0xff, 0xff, 0xff, 0xff, 0x0f}, /* list of 2^32-1 i32 in 0 bytes */
        {0x18, 0x80, 0x80, 0x80, 0x80, 0x10},       /* binary of 2^32 bytes */
        {0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* varint > 64 bits */
        {0x1b, 0x7f, 0x55},                         /* map of 127 entries in 0 bytes */
        {0x1d},                                     /* type 13: unknown */
        {0x19, 0x10},                               /* list of element type 0 */
    };
    static const char *needles[] = {"list of 4294967295 elements but only 0 bytes left",
                                    "string of 4294967296 bytes but only 0 bytes left",
                                    "varint overflows 64 bits",
                                    "map of 127 entries but only 0 bytes left",
                                    "unknown field type 13", "unknown list element type 0"};
    static const size_t lens[] = {7, 6, 11, 3, 1, 2};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        ak_tr_init(&r, cases[i], lens[i], "test", &e);
        ak_code rc = ak_tr_begin(&r, AK_TT_STRUCT, &f);
        if (!rc)
            rc = ak_tr_next(&r, &f);
        if (!rc)
            rc = ak_tr_skip(&r, f.type);
        CHECK_INT(rc, AK_ERR_CORRUPT);
        CHECK_HAS(e.msg, needles[i]);
    }
}

int main(void)
{
    RUN(test_roundtrip_small);
    RUN(test_roundtrip_250k);
    RUN(test_nulls_unicode_empty);
    RUN(test_statistics);
    RUN(test_hand_checked_bytes);
    RUN(test_bad_rows);
    RUN(test_limits);
    RUN(test_schema_checks);
    RUN(test_timestamp_units);
    RUN(test_find_skips_groups);
    RUN(test_callback_stops);
    RUN(test_every_truncation);
    RUN(test_every_removed_byte);
    RUN(test_footer_flips);
    RUN(test_page_damage);
    RUN(test_footer_messages);
    RUN(test_thrift_values);
    RUN(test_thrift_skip);
    RUN(test_thrift_limits);
    return test_report("parquet");
}
