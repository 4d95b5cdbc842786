/*
 * fuzz_parquet.c - libFuzzer target for the cold tier's Parquet files
 * (tier/parquet.h) and, through them, the Thrift compact decoder
 * (tier/thrift.h).
 *
 * Input layout, by the first byte:
 *   'P'     the input is a file: open it, read every row, look up an id.
 *           (The seeds in corpus/parquet/ are real files: Akosha's, made
 *           with `pqtool write`, and DuckDB's with snappy, gzip, lz4 and
 *           dictionaries, made with COPY ... TO (FORMAT parquet) from them.)
 *   'W'     a writer round trip: byte 1 picks rows per group (1..16), then
 *           each row takes a flag byte (nulls, which texts) and a length
 *           byte followed by that many bytes of text.  Rows the writer
 *           refuses (not UTF-8) must be AK_ERR_INVALID; the file written
 *           from the rest must read back equal, nulls and all.
 *   other   a structured mutation of a valid file that ak_pq_writer makes
 *           here: bits 0-1 pick the file (zstd or uncompressed, one or three
 *           row groups), bits 2-3 the mutation: 0 set bytes anywhere, 1 set
 *           bytes and make each damaged page's CRC match again (so the page
 *           decoders see the damage), 2 set bytes in the footer only, 3 cut
 *           the file at the first offset, then set bytes.  The rest is
 *           (offset: 2 bytes, value: 1 byte) triples.  With no triple the
 *           file must read back exactly as written.
 *
 * Checked beyond "no crash, no leak, no undefined behaviour": a failure is
 * AK_ERR_CORRUPT or AK_ERR_UNSUPPORTED (or AK_ERR_NOTFOUND from a lookup)
 * with a "parquet: " message; rows handed out keep the schema's promises
 * (required values present, 64- or 512-byte fingerprint, hex digest, UTF-8 text,
 * a 196-byte vector code the decoder takes or refuses)
 * and number what the footer says; a lookup returns the row asked for.
 *
 * Run with scripts/fuzz.sh parquet [seconds].
 */
#include "fuzz_common.h"

#include "../tools/pq_test.h"
#include "tier/parquet_read.h"
#include "tier/parquet_write.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/vcode.h"

#define FUZZ_SEED 11

static ak_buf base[4]; /* the valid files mutations start from */

static void make_bases(void)
{
    static const ak_pq_opts opts[4] = {
        {.group_rows = 4}, {.group_rows = 4, .uncompressed = 1}, {0}, {.uncompressed = 1}};
    ak_err e;
    for (int i = 0; i < 4; i++)
        FUZZ_CHECK(pq_gen_file(FUZZ_SEED, i < 2 ? 10 : 3, &opts[i], &base[i], &e) == AK_OK,
                   "cannot write base file %d: %s", i, e.msg);
}

static void check_failure(ak_code rc, const ak_err *e, int lookup)
{
    FUZZ_CHECK(rc == AK_ERR_CORRUPT || rc == AK_ERR_UNSUPPORTED ||
                   (lookup && rc == AK_ERR_NOTFOUND),
               "unexpected code %d (%s)", (int)rc, e->msg);
    FUZZ_CHECK(rc == e->code && strncmp(e->msg, "parquet: ", 9) == 0,
               "code %d with message \"%s\"", (int)rc, e->msg);
}

static void check_text(const ak_pq_val *v, int optional, const char *col)
{
    FUZZ_CHECK(v->p || optional, "%s is null", col);
    FUZZ_CHECK(!v->p || ak_utf8_valid(v->p, v->len), "%s is not UTF-8", col);
}

typedef struct {
    uint64_t rows;
    int exact; /* the rows must be the generator's rows 0, 1, ... */
} scan;

static ak_code check_row(void *arg, const ak_pq_row *r)
{
    scan *s = arg;
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        const ak_pq_val *v = ak_pq_row_val(r, (ak_pq_col)c);
        if (v && c != AK_PQ_FINGERPRINT && c != AK_PQ_EMBEDDING_CODE)
            check_text(v, c == AK_PQ_METADATA || c == AK_PQ_DAILY_METRICS,
                       ak_pq_col_name((ak_pq_col)c));
    }
    /* a code is null or 4-244 bytes, and whatever its bytes, the decoder
     * refuses it or gives int8 values the scan can take ([-127, 127]: the
     * v2 and v4 codes' largest level is 127; v3's magnitudes stop at 40,
     * util/vcode.c) with a positive scale */
    FUZZ_CHECK(!r->embedding_code.p || (r->embedding_code.len >= AK_PQ_CODE_MIN &&
                                        r->embedding_code.len <= AK_PQ_CODE_MAX),
               "embedding_code of %zu bytes", r->embedding_code.len);
    int8_t q[AK_DIM];
    float scale;
    if (r->embedding_code.p &&
        ak_vcode_to_i8(r->embedding_code.p, r->embedding_code.len, q, &scale))
        for (int i = 0; i < AK_DIM; i++)
            FUZZ_CHECK(q[i] >= -127 && q[i] <= 127 && scale > 0, "code value %d", q[i]);
    FUZZ_CHECK(r->fingerprint.p && (r->fingerprint.len == AK_PQ_FINGERPRINT_LEN ||
                                    r->fingerprint.len == AK_PQ_FINGERPRINT_LEN_V1),
               "fingerprint of %zu bytes", r->fingerprint.len);
    FUZZ_CHECK(r->content_sha256.len == AK_PQ_SHA256_HEX_LEN, "digest of %zu bytes",
               r->content_sha256.len);
    if (s->exact) {
        pq_gen_row g;
        pq_gen(FUZZ_SEED, s->rows, &g);
        FUZZ_CHECK(pq_row_diff(r, &g.row) == NULL, "row %llu differs in %s",
                   (unsigned long long)s->rows, pq_row_diff(r, &g.row));
    }
    s->rows++;
    return AK_OK;
}

/* Read everything in data[0..n); returns 1 if it read as a whole. */
static int read_all(const uint8_t *data, size_t n, int exact)
{
    ak_pq_reader *r = NULL;
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_pq_reader_open(data, n, &r, &e);
    if (rc) {
        FUZZ_CHECK(r == NULL, "a failed open returned a reader");
        check_failure(rc, &e, 0);
        return 0;
    }
    for (size_t g = 0; g < ak_pq_reader_groups(r); g++) {
        ak_pq_chunk_info st;
        for (int c = 0; c < AK_PQ_NCOLS; c++)
            ak_pq_reader_chunk(r, g, (ak_pq_col)c, &st);
    }
    scan s = {.exact = exact};
    rc = ak_pq_reader_each(r, check_row, &s, &e);
    if (rc)
        check_failure(rc, &e, 0);
    else
        FUZZ_CHECK(s.rows == (uint64_t)ak_pq_reader_rows(r), "%llu rows of %lld",
                   (unsigned long long)s.rows, (long long)ak_pq_reader_rows(r));

    /* A lookup of an id the file may hold (the generator's row 1). */
    pq_gen_row g;
    ak_pq_row row;
    pq_gen(FUZZ_SEED, 1, &g);
    ak_err e2;
    ak_code frc = ak_pq_reader_find(r, g.cid, strlen(g.cid), &row, &e2);
    if (frc)
        check_failure(frc, &e2, 1);
    else
        FUZZ_CHECK(pq_val_eq(row.conversation_id, g.row.conversation_id),
                   "find returned another row");
    ak_pq_reader_free(r);
    return rc == AK_OK;
}

static void mutate(const uint8_t *data, size_t size)
{
    const ak_buf *b = &base[data[0] & 3];
    int mode = (data[0] >> 2) & 3;
    size_t len = b->len, fstart = pq_footer_start(b);
    ak_buf m = {0};
    FUZZ_CHECK(ak_buf_append(&m, b->data, b->len) == AK_OK, "out of memory");
    size_t ntriples = (size - 1) / 3;
    for (size_t i = 0; i < ntriples; i++) {
        const uint8_t *t = data + 1 + 3 * i;
        size_t off = (size_t)t[0] | (size_t)t[1] << 8;
        if (mode == 3 && i == 0) { /* cut */
            m.len = off % (len + 1);
            continue;
        }
        if (!m.len)
            break;
        off = mode == 2 ? fstart + off % (len - fstart) : off % m.len;
        if (off >= m.len)
            continue;
        pq_page pg;
        int in_page = mode == 1 && pq_find_page(&m, off, &pg);
        m.data[off] = (char)t[2];
        if (in_page)
            pq_fix_crc(&m, &pg);
    }
    /* An exact-size copy, so that ASan sees any read past the end. */
    uint8_t *copy = malloc(m.len ? m.len : 1);
    FUZZ_CHECK(copy, "out of memory");
    memcpy(copy, m.data, m.len);
    int whole = read_all(copy, m.len, ntriples == 0);
    FUZZ_CHECK(whole || ntriples, "an untouched file did not read back");
    free(copy);
    ak_buf_free(&m);
}

/* 'W': rows from the input through the writer and back. */
static void round_trip(const uint8_t *data, size_t size)
{
    static const uint8_t fp[AK_PQ_FINGERPRINT_LEN];
    const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    uint32_t group = 1 + (size > 1 ? data[1] % 16 : 0);
    ak_pq_writer *w;
    ak_err e;
    FUZZ_CHECK(ak_pq_writer_new(&(ak_pq_opts){.group_rows = group}, &w, &e) == AK_OK, "new: %s",
               e.msg);
    ak_pq_row kept[512];
    size_t n = 0, at = 2;
    while (at + 2 <= size && n < 512) {
        uint8_t flags = data[at], tl = data[at + 1];
        at += 2;
        size_t len = tl <= size - at ? tl : size - at;
        ak_pq_val text = {(const char *)data + at, len};
        at += len;
        ak_pq_row r = {.system_id = {"s", 1}, .conversation_id = text, .ts_us = (int64_t)n * flags,
                       .ultra_summary = flags & 4 ? text : (ak_pq_val){"", 0},
                       .fingerprint = {(const char *)fp, sizeof fp}, .content_sha256 = {hex, 64}};
        if (flags & 1)
            r.metadata = text;
        if (flags & 2)
            r.daily_metrics = flags & 8 ? (ak_pq_val){"{}", 2} : text;
        ak_code rc = ak_pq_writer_add(w, &r, &e);
        if (rc) {
            FUZZ_CHECK(rc == AK_ERR_INVALID && !ak_utf8_valid(text.p, text.len),
                       "a row was refused: %s", e.msg);
            continue;
        }
        kept[n++] = r;
    }
    ak_buf file = {0};
    FUZZ_CHECK(ak_pq_writer_finish(w, &file, &e) == AK_OK, "finish: %s", e.msg);
    ak_pq_writer_free(w);
    ak_pq_reader *r;
    FUZZ_CHECK(ak_pq_reader_open(file.data, file.len, &r, &e) == AK_OK, "open: %s", e.msg);
    FUZZ_CHECK(ak_pq_reader_rows(r) == (int64_t)n, "%lld rows, wrote %zu",
               (long long)ak_pq_reader_rows(r), n);
    for (size_t i = 0; i < n; i++) {
        ak_pq_row got;
        FUZZ_CHECK(ak_pq_reader_find(r, kept[i].conversation_id.p, kept[i].conversation_id.len,
                                     &got, &e) == AK_OK,
                   "row %zu not found: %s", i, e.msg);
        /* Ids may repeat: the first row with this id is the one found. */
        size_t first = 0;
        while (!pq_val_eq(kept[first].conversation_id, kept[i].conversation_id))
            first++;
        const char *diff = pq_row_diff(&got, &kept[first]);
        FUZZ_CHECK(diff == NULL, "row %zu differs in %s", first, diff);
    }
    ak_pq_reader_free(r);
    ak_buf_free(&file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base[0].data)
        make_bases();
    if (size == 0)
        return 0;
    if (data[0] == 'P') {
        uint8_t *copy = malloc(size);
        FUZZ_CHECK(copy, "out of memory");
        memcpy(copy, data, size);
        read_all(copy, size, 0);
        free(copy);
    } else if (data[0] == 'W') {
        round_trip(data, size);
    } else {
        mutate(data, size);
    }
    return 0;
}
