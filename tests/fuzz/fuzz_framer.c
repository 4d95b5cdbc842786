/*
 * fuzz_framer.c - libFuzzer target for the ingestion parsing pipeline:
 * ak_framer (JSON or JSONL) cutting a payload into records, each passed to
 * ak_record_parse() as ingestion does.
 *
 * Input layout:
 *   byte 0     bit 0: 0 = JSON payload, 1 = JSONL
 *              bit 1: vary the chunk sizes (1..chunk) instead of fixed ones
 *              bits 2-4: k > 0 makes the callback stop the framer at record k
 *   bytes 1-2  chunk size = 1 + (little-endian u16 % 4096)
 *   the rest   the payload, fed in chunks; max_record is 4096
 *
 * Checked, besides "no crash, no leak":
 *   - every record is <= max_record bytes and NUL-terminated, or has a
 *     problem and no text; index counts callbacks; ak_framer_records()
 *     agrees; JSONL line numbers increase, JSON ones are 0;
 *   - chunking does not matter: the payload fed in one piece gives the
 *     same records and the same outcome;
 *   - a callback's error stops framing and comes back unchanged;
 *   - JSONL: the records are exactly the non-blank lines (CR stripped);
 *   - JSON: when the payload is valid JSON with one "conversations" array,
 *     framing succeeds and the records are that array's elements' text.
 *
 * Run with scripts/fuzz.sh framer [seconds].
 */
#include "fuzz_common.h"

#include "ingest/framer.h"

#define MAX_RECORD 4096
#define HEADER 3

typedef struct {
    uint64_t index, line;
    const char *text; /* copy, or NULL with a problem */
    size_t len;
} seen_rec;

typedef struct {
    ak_frame_kind kind;
    int parse;           /* run ak_record_parse on each record */
    uint64_t stop_at;    /* return AK_ERR_ABORTED at this record (0: never) */
    seen_rec *recs;
    size_t n, cap;
} run_ctx;

static ak_json_doc *rec_doc, *whole_doc;

static ak_code on_record(void *arg, const ak_frame *fr)
{
    run_ctx *c = arg;
    FUZZ_CHECK(fr->index == c->n + 1, "index %llu for callback %zu",
               (unsigned long long)fr->index, c->n + 1);
    FUZZ_CHECK((fr->text == NULL) != (fr->problem == NULL),
               "a frame must have text or a problem, not both or neither");
    if (fr->text) {
        FUZZ_CHECK(fr->len <= MAX_RECORD, "record of %zu bytes > max_record", fr->len);
        FUZZ_CHECK(fr->text[fr->len] == '\0', "record text not NUL-terminated");
        FUZZ_CHECK(fr->len > 0, "empty record text");
    } else {
        FUZZ_CHECK(fr->len == 0, "problem frame with a length");
    }
    if (c->kind == AK_FRAME_JSON)
        FUZZ_CHECK(fr->line == 0, "JSON record with line %llu", (unsigned long long)fr->line);
    else
        FUZZ_CHECK(fr->line >= 1 && (c->n == 0 || fr->line > c->recs[c->n - 1].line),
                   "JSONL line %llu out of order", (unsigned long long)fr->line);

    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
        FUZZ_CHECK(c->recs, "out of memory");
    }
    seen_rec *s = &c->recs[c->n++];
    s->index = fr->index;
    s->line = fr->line;
    s->len = fr->len;
    s->text = NULL;
    if (fr->text) {
        char *copy = malloc(fr->len + 1);
        FUZZ_CHECK(copy, "out of memory");
        memcpy(copy, fr->text, fr->len + 1);
        s->text = copy;
    }

    if (c->parse && fr->text) {
        ak_record r;
        ak_rec_problem p;
        ak_err e;
        ak_err_clear(&e);
        ak_code rc = ak_record_parse(rec_doc, fr->text, fr->len, FUZZ_NOW_US, &r, &p, &e);
        if (rc == AK_OK)
            fuzz_check_record(&r);
        else
            fuzz_check_record_failure(rc, p, &e);
    }
    return fr->index == c->stop_at ? AK_ERR_ABORTED : AK_OK;
}

static void run_free(run_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        free((char *)c->recs[i].text);
    free(c->recs);
}

/* Frame payload in chunks (chunk == 0: all at once).  Returns the code of
 * the first failing feed, else of finish. */
static ak_code frame(run_ctx *c, const char *p, size_t n, size_t chunk, int vary,
                     uint64_t seed)
{
    ak_framer *f = NULL;
    ak_err e;
    ak_err_clear(&e);
    FUZZ_CHECK(ak_framer_new(c->kind, MAX_RECORD, on_record, c, &f) == AK_OK, "framer_new");
    ak_code rc = AK_OK;
    size_t off = 0;
    while (off < n && rc == AK_OK) {
        size_t k = chunk ? chunk : n;
        if (vary && chunk)
            k = 1 + (size_t)(fuzz_rand(&seed) % chunk);
        if (k > n - off)
            k = n - off;
        rc = ak_framer_feed(f, p + off, k, &e);
        off += k;
    }
    if (rc == AK_OK)
        rc = ak_framer_finish(f, &e);
    if (rc != AK_OK && rc != AK_ERR_ABORTED) {
        FUZZ_CHECK(rc == AK_ERR_INVALID, "framer code %d: %s", (int)rc, e.msg);
        FUZZ_CHECK(e.code == rc && e.msg[0], "framer error without message");
        FUZZ_CHECK(c->kind == AK_FRAME_JSON, "JSONL framing failed: %s", e.msg);
    }
    FUZZ_CHECK(ak_framer_records(f) == c->n, "ak_framer_records %llu, callbacks %zu",
               (unsigned long long)ak_framer_records(f), c->n);
    ak_framer_free(f);
    return rc;
}

static int is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static int has_bom(const char *p, size_t n)
{
    return n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0;
}

static void expect_rec(const run_ctx *c, size_t *i, const char *text, size_t len, int problem,
                       uint64_t line)
{
    FUZZ_CHECK(*i < c->n, "record %zu (line %llu) missing", *i + 1, (unsigned long long)line);
    const seen_rec *s = &c->recs[(*i)++];
    FUZZ_CHECK(s->line == line, "record %zu: line %llu, expected %llu", *i,
               (unsigned long long)s->line, (unsigned long long)line);
    if (problem) {
        FUZZ_CHECK(s->text == NULL, "record %zu: oversized record has text", *i);
    } else {
        FUZZ_CHECK(s->text && s->len == len && memcmp(s->text, text, len) == 0,
                   "record %zu: text differs from the line (%zu vs %zu bytes)", *i,
                   s->text ? s->len : 0, len);
    }
}

/* JSONL: one record per non-blank line, a CR before the LF stripped; a line
 * longer than max_record (not counting that CR) is a problem record even
 * when blank. */
static void check_jsonl_model(const run_ctx *c, const char *p, size_t n)
{
    size_t i = 0, pos = 0;
    uint64_t line = 0;
    if (has_bom(p, n))
        pos = 3;
    while (pos < n) {
        const char *nl = memchr(p + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - p) : n, len = end - pos;
        line++;
        if (len && p[pos + len - 1] == '\r')
            len--;
        if (len > MAX_RECORD) {
            expect_rec(c, &i, NULL, 0, 1, line);
        } else {
            size_t k = 0;
            while (k < len && is_ws(p[pos + k]))
                k++;
            if (k < len)
                expect_rec(c, &i, p + pos, len, 0, line);
        }
        pos = end + 1;
    }
    FUZZ_CHECK(i == c->n, "%zu records framed, %zu non-blank lines", c->n, i);
}

/* The key of an object member, as written in the text, is exactly
 * "conversations" (no escapes): the value's raw text is preceded by
 * "conversations" ws : ws.  (The framer never matches escaped keys.) */
static int plain_conversations_key(const ak_json *member, const char *text)
{
    static const char name[] = "conversations";
    const size_t n = sizeof name - 1;
    if (member->key_len != n || memcmp(member->key, name, n) != 0)
        return 0;
    const char *q = member->raw;
    while (q > text && is_ws(q[-1]))
        q--;
    if (q == text || *--q != ':')
        return 0;
    while (q > text && is_ws(q[-1]))
        q--;
    if (q == text || *--q != '"' || (size_t)(q - text) < n + 1)
        return 0;
    return memcmp(q - n, name, n) == 0 && q[-(ptrdiff_t)n - 1] == '"';
}

/* JSON: when the payload is valid JSON with exactly one (unescaped)
 * "conversations" member holding an array, framing must succeed and yield
 * the array's elements. */
static void check_json_model(const run_ctx *c, ak_code rc, const char *p, size_t n)
{
    const ak_json *root = NULL;
    if (ak_json_parse(whole_doc, p, n, &root, NULL) != AK_OK || root->type != AK_JSON_OBJECT)
        return;
    const ak_json *conv = NULL;
    int count = 0;
    for (const ak_json *m = root->first; m; m = m->next)
        if (plain_conversations_key(m, p)) {
            conv = m;
            count++;
        }
    if (count == 0) {
        FUZZ_CHECK(rc == AK_ERR_INVALID, "no \"conversations\" but framing returned %d",
                   (int)rc);
        return;
    }
    if (count > 1 || conv->type != AK_JSON_ARRAY)
        return; /* the framer must refuse these; which error is its business */
    FUZZ_CHECK(rc == AK_OK, "valid payload but framing returned %d", (int)rc);
    size_t i = 0;
    for (const ak_json *el = conv->first; el; el = el->next)
        expect_rec(c, &i, el->raw, el->raw_len, el->raw_len > MAX_RECORD, 0);
    FUZZ_CHECK(i == c->n, "%zu records framed, the array has %u", c->n, conv->n_kids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    if (!rec_doc) {
        rec_doc = ak_json_doc_new();
        whole_doc = ak_json_doc_new();
        FUZZ_CHECK(rec_doc && whole_doc, "out of memory");
        ak_json_doc_limits(rec_doc, FUZZ_RECORD_DEPTH, FUZZ_RECORD_NODES);
        ak_json_doc_limits(whole_doc, FUZZ_RECORD_DEPTH, FUZZ_RECORD_NODES);
    }
    ak_frame_kind kind = (data[0] & 1) ? AK_FRAME_JSONL : AK_FRAME_JSON;
    int vary = (data[0] >> 1) & 1;
    uint64_t stop_at = (data[0] >> 2) & 7;
    size_t chunk = 1 + (size_t)((data[1] | data[2] << 8) % 4096);
    const char *p = (const char *)data + HEADER;
    size_t n = size - HEADER;
    uint64_t seed = 0;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 131 + data[i];

    /* The pipeline under test: chunked, records parsed. */
    run_ctx chunked = {.kind = kind, .parse = 1, .stop_at = stop_at};
    ak_code rc_chunked = frame(&chunked, p, n, chunk, vary, seed);

    /* Reference: the same payload in one piece, never stopped. */
    run_ctx whole = {.kind = kind};
    ak_code rc_whole = frame(&whole, p, n, 0, 0, 0);

    if (stop_at && stop_at <= whole.n) {
        FUZZ_CHECK(rc_chunked == AK_ERR_ABORTED,
                   "callback stopped at record %llu but framing returned %d",
                   (unsigned long long)stop_at, (int)rc_chunked);
        FUZZ_CHECK(chunked.n == stop_at, "%zu callbacks after a stop at %llu", chunked.n,
                   (unsigned long long)stop_at);
    } else {
        FUZZ_CHECK(rc_chunked == rc_whole, "chunked framing returned %d, whole %d",
                   (int)rc_chunked, (int)rc_whole);
        FUZZ_CHECK(chunked.n == whole.n, "chunked framing gave %zu records, whole %zu",
                   chunked.n, whole.n);
    }
    /* Chunking never changes a record (nor, above, the outcome). */
    size_t common = chunked.n < whole.n ? chunked.n : whole.n;
    for (size_t i = 0; i < common; i++) {
        const seen_rec *a = &chunked.recs[i], *b = &whole.recs[i];
        FUZZ_CHECK(a->line == b->line && a->len == b->len &&
                       (a->text == NULL) == (b->text == NULL) &&
                       (!a->text || memcmp(a->text, b->text, a->len) == 0),
                   "record %zu differs between chunked and whole framing", i + 1);
    }

    if (kind == AK_FRAME_JSONL)
        check_jsonl_model(&whole, p, n);
    else
        check_json_model(&whole, rc_whole, p, n);

    run_free(&chunked);
    run_free(&whole);
    return 0;
}
