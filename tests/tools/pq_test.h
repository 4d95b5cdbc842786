/*
 * pq_test.h - test support for tier/parquet: deterministic cold-tier rows,
 * and damaging a page without its CRC giving the damage away.
 *
 * Shared by tests/unit/test_parquet.c, tests/tools/pqtool.c (DuckDB
 * interop and the benchmark) and tests/fuzz/fuzz_parquet.c, so that every
 * test describes "row i of seed s" the same way.  Row i is a function of
 * (seed, i) alone, so a reader's output can be checked row by row without
 * keeping what was written.
 *
 * The rows look like real cold rows (a ~150-character one-sentence summary,
 * ~60 characters of metadata JSON, a 512-byte MinHash whose values are
 * minima and so lean small, a hex SHA-256) and carry the awkward cases on a
 * fixed pattern: non-ASCII text (accents, CJK, emoji), empty strings, null
 * metadata and daily_metrics in short and long runs, timestamps before
 * 1970, ids out of order.
 *
 * Everything is static: include it once per program.
 */
#ifndef AK_PQ_TEST_H
#define AK_PQ_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "tier/parquet_write.h"
#include "tier/thrift.h"
#include "util/sha256.h"

typedef struct {
    ak_pq_row row; /* points into the arrays below */
    char sid[40], cid[80], summary[400], sha[AK_SHA256_HEX], meta[160], metrics[96];
    uint8_t fp[AK_PQ_FINGERPRINT_LEN], code[AK_PQ_CODE_LEN];
} pq_gen_row;

static inline uint64_t pq_mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

static const char *const pq_words[] = {
    "the",    "session", "fixed",   "a",      "race",      "in",     "WAL",    "checkpoint",
    "after",  "review",  "café",    "naïve",  "日本語の", "テスト", "🙂",     "tuning",
    "SQLite", "pages",   "and",     "vector", "recall",    "über",   "résumé", "index",
    "shard",  "merge",   "latency", "p99",    "dropped",   "from",   "40ms",   "to",
};

/* Row i of seed: fills g and points g->row at it. */
static inline void pq_gen(uint64_t seed, uint64_t i, pq_gen_row *g)
{
    uint64_t h = pq_mix(seed * UINT64_C(1000003) + i);
    ak_pq_row *r = &g->row;
    memset(r, 0, sizeof *r);

    snprintf(g->sid, sizeof g->sid, "sys-%llu%s", (unsigned long long)seed,
             i % 50 == 49 ? "-other" : "");
    /* Unique, not in order; every 13th with non-ASCII bytes. */
    snprintf(g->cid, sizeof g->cid, "conv-%s%016llx-%llu", i % 13 == 0 ? "日本-" : "",
             (unsigned long long)h, (unsigned long long)i);

    int64_t ts = INT64_C(1700000000000000) + (int64_t)i * 1000003 + (int64_t)(h % 997);
    r->ts_us = i % 11 == 5 ? -(int64_t)(i * 12345 + 1) : ts;

    /* ~150 characters of words; every 17th summary empty. */
    size_t n = 0;
    uint64_t s = h;
    while (i % 17 != 3 && n < 150) {
        s = pq_mix(s);
        const char *w = pq_words[s % (sizeof pq_words / sizeof *pq_words)];
        n += (size_t)snprintf(g->summary + n, sizeof g->summary - n, "%s%s", n ? " " : "", w);
    }
    g->summary[n] = '\0';

    /* MinHash-like: each value the minimum of some hashes, so it leans small. */
    for (int k = 0; k < AK_PQ_FINGERPRINT_LEN; k++) { /* stored: two low nibbles */
        s = pq_mix(s);
        g->fp[k] = (uint8_t)((uint32_t)(s >> 32) / (uint32_t)(1 + (s & 127)));
    }

    for (int k = 0; k < AK_PQ_CODE_LEN; k++)
        g->code[k] = (uint8_t)pq_mix(s + (uint64_t)k);

    uint8_t digest[AK_SHA256_LEN];
    ak_sha256(g->cid, strlen(g->cid), digest);
    ak_hex(digest, AK_SHA256_LEN, g->sha);

    snprintf(g->meta, sizeof g->meta,
             "{\"source\":\"session-buddy\",\"project\":\"p%u\",\"tags\":[\"ü\"]}",
             (unsigned)(h % 40));
    if (i % 23 == 1) /* an empty string, which is not null */
        g->meta[0] = '\0';
    snprintf(g->metrics, sizeof g->metrics, "{\"views\":%u,\"day\":\"2025-01-%02u\"}",
             (unsigned)(h % 1000), (unsigned)(1 + i % 28));

    r->system_id = (ak_pq_val){g->sid, strlen(g->sid)};
    r->conversation_id = (ak_pq_val){g->cid, strlen(g->cid)};
    r->ultra_summary = (ak_pq_val){g->summary, n};
    r->fingerprint = (ak_pq_val){(const char *)g->fp, sizeof g->fp};
    r->content_sha256 = (ak_pq_val){g->sha, AK_PQ_SHA256_HEX_LEN};
    /* Nulls in short and long runs, so definition levels take both the
     * bit-packed and the RLE form. */
    if (i % 5 != 0 && (i / 100) % 7 != 3) /* every 5th null, and 100 in 700 */
        r->metadata = (ak_pq_val){g->meta, strlen(g->meta)};
    if (i % 3 == 0 || (i / 64) % 5 == 1) /* 2 in 3 null, but 64 in 320 present */
        r->daily_metrics = (ak_pq_val){g->metrics, strlen(g->metrics)};
    if (i % 7 != 2) /* a row without an embedding has no code */
        r->embedding_code = (ak_pq_val){(const char *)g->code, sizeof g->code};
}

static inline int pq_val_eq(ak_pq_val a, ak_pq_val b)
{
    if (!a.p || !b.p)
        return !a.p && !b.p;
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* NULL if a and b hold the same values, else the first column that differs. */
static inline const char *pq_row_diff(const ak_pq_row *a, const ak_pq_row *b)
{
    if (!pq_val_eq(a->system_id, b->system_id)) return "system_id";
    if (!pq_val_eq(a->conversation_id, b->conversation_id)) return "conversation_id";
    if (a->ts_us != b->ts_us) return "timestamp";
    if (!pq_val_eq(a->ultra_summary, b->ultra_summary)) return "ultra_summary";
    if (!pq_val_eq(a->fingerprint, b->fingerprint)) return "fingerprint";
    if (!pq_val_eq(a->content_sha256, b->content_sha256)) return "content_sha256";
    if (!pq_val_eq(a->metadata, b->metadata)) return "metadata";
    if (!pq_val_eq(a->daily_metrics, b->daily_metrics)) return "daily_metrics";
    if (!pq_val_eq(a->embedding_code, b->embedding_code)) return "embedding_code";
    return NULL;
}

/* Write rows [0, n) of seed into *out (an empty ak_buf). */
static inline ak_code pq_gen_file(uint64_t seed, uint64_t n, const ak_pq_opts *opts, ak_buf *out,
                                  ak_err *err)
{
    ak_pq_writer *w;
    ak_code rc = ak_pq_writer_new(opts, &w, err);
    pq_gen_row g;
    for (uint64_t i = 0; !rc && i < n; i++) {
        pq_gen(seed, i, &g);
        rc = ak_pq_writer_add(w, &g.row, err);
    }
    if (!rc)
        rc = ak_pq_writer_finish(w, out, err);
    ak_pq_writer_free(w);
    return rc;
}

/* ---- pages ---- */

/* Where a page lies in a file: its body, and the value of its header's
 * crc field (field 4, a zigzag varint). */
typedef struct {
    size_t body, body_len, crc_at, crc_len;
} pq_page;

/* Where the footer starts: the file ends in its 4-byte length and PAR1.
 * 0 when that length cannot be right (a damaged file). */
static inline size_t pq_footer_start(const ak_buf *b)
{
    if (b->len < 12)
        return 0;
    const uint8_t *p = (const uint8_t *)b->data + b->len - 8;
    uint32_t flen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24;
    return flen <= b->len - 12 ? b->len - 8 - flen : 0;
}

/* The CRC-32 of a page body as its header stores it: the int32 as a
 * zigzag varint.  Returns the varint's length. */
static inline size_t pq_crc_varint(const void *body, size_t n, uint8_t out[10])
{
    int32_t v = (int32_t)crc32(0, (const Bytef *)body, (uInt)n);
    uint64_t zz = v < 0 ? ((uint64_t)(-(int64_t)v) << 1) - 1 : (uint64_t)v << 1;
    size_t len = 0;
    for (; zz >= 0x80; zz >>= 7)
        out[len++] = (uint8_t)(zz | 0x80);
    out[len++] = (uint8_t)zz;
    return len;
}

/* The page whose body holds file byte `at`, walking the pages from byte 4
 * as ak_pq_writer lays them out (column chunks back to back).  0 if `at`
 * is in no page body (a header, the footer) or the page has no CRC. */
static inline int pq_find_page(const ak_buf *b, size_t at, pq_page *pg)
{
    size_t pos = 4, end = pq_footer_start(b);
    while (pos < end && pos <= at) {
        ak_tr t;
        ak_tf f;
        int32_t csize = -1;
        ak_code rc;
        memset(pg, 0, sizeof *pg);
        ak_tr_init(&t, b->data + pos, end - pos, "page", NULL);
        for (rc = ak_tr_begin(&t, AK_TT_STRUCT, &f);
             !rc && !(rc = ak_tr_next(&t, &f)) && f.type != AK_TT_STOP;) {
            size_t before = ak_tr_used(&t);
            rc = f.id == 3 ? ak_tr_i32(&t, f.type, &csize) : ak_tr_skip(&t, f.type);
            if (f.id == 4) {
                pg->crc_at = pos + before;
                pg->crc_len = ak_tr_used(&t) - before;
            }
        }
        if (rc || csize < 0 || (size_t)csize > end - pos - ak_tr_used(&t))
            return 0; /* a damaged header */
        pg->body = pos + ak_tr_used(&t);
        pg->body_len = (size_t)csize;
        if (at >= pg->body && at < pg->body + pg->body_len)
            return pg->crc_len > 0;
        pos = pg->body + pg->body_len;
    }
    return 0;
}

/* Store the CRC of pg's body as it is now.  0 if the new value's varint is
 * not as long as the old one (the file would have to be laid out anew). */
static inline int pq_fix_crc(ak_buf *b, const pq_page *pg)
{
    uint8_t var[10];
    size_t n = pq_crc_varint(b->data + pg->body, pg->body_len, var);
    if (n != pg->crc_len)
        return 0;
    memcpy(b->data + pg->crc_at, var, n);
    return 1;
}

#endif
