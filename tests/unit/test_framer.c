/* test_framer.c - ingest/framer: every payload is fed in chunks of 1, 2, 3,
 * 7, 64, 4096 bytes and whole, and every chunking must give the same
 * records, problems and result.  JSON and JSONL forms, structural errors,
 * truncation at every prefix, oversized records, callback aborts. */
#include "ingest/framer.h"
#include "util/buf.h"
#include "test.h"

#include <stddef.h>
#include <stdint.h>

#define MAX_REC ((size_t)1024 * 1024)
#define WHOLE SIZE_MAX

static const size_t chunk_sizes[] = {1, 2, 3, 7, 64, 4096, WHOLE};
#define N_CHUNK_SIZES (sizeof chunk_sizes / sizeof *chunk_sizes)

/* ---- the collector ---- */

typedef struct {
    char *text; /* copy, or NULL when the frame had a problem */
    size_t len;
    int problem;
    uint64_t index, line;
} frec;

typedef struct {
    ak_code rc; /* first non-OK code of feed or finish, else AK_OK */
    frec *r;
    size_t n, cap;
    uint64_t count; /* ak_framer_records() at the end */
    size_t abort_at; /* callback returns AK_ERR_ABORTED on this record (1-based) */
    int bad_frames;  /* frames breaking the framer.h contract */
    char msg[AK_ERR_MSG_MAX];
} outcome;

static ak_code on_record(void *ctx, const ak_frame *fr)
{
    outcome *o = ctx;
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->r = realloc(o->r, o->cap * sizeof *o->r);
    }
    frec *r = &o->r[o->n++];
    memset(r, 0, sizeof *r);
    r->index = fr->index;
    r->line = fr->line;
    r->problem = fr->problem != NULL;
    /* exactly one of text and problem; text NUL-terminated */
    if ((fr->text == NULL) == (fr->problem == NULL))
        o->bad_frames++;
    if (fr->text) {
        if (fr->text[fr->len] != '\0')
            o->bad_frames++;
        r->text = malloc(fr->len + 1);
        memcpy(r->text, fr->text, fr->len + 1);
        r->len = fr->len;
    }
    if (fr->index != o->n)
        o->bad_frames++;
    if (o->abort_at && o->n == o->abort_at)
        return AK_ERR_ABORTED;
    return AK_OK;
}

static void outcome_free(outcome *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->r[i].text);
    free(o->r);
    memset(o, 0, sizeof *o);
}

/* Frame payload[0..len) fed in chunks of k bytes, each chunk in its own
 * heap block so ASan sees any read past a chunk. */
static void run_k(outcome *o, ak_frame_kind kind, const char *payload, size_t len, size_t k,
                  size_t max_record, size_t abort_at)
{
    memset(o, 0, sizeof *o);
    o->abort_at = abort_at;
    ak_framer *f = NULL;
    ak_err e = {0};
    if (ak_framer_new(kind, max_record, on_record, o, &f) != AK_OK) {
        o->rc = AK_ERR_NOMEM;
        return;
    }
    size_t off = 0;
    ak_code rc = AK_OK;
    if (k == WHOLE || len == 0) {
        char *chunk = malloc(len ? len : 1);
        memcpy(chunk, payload, len);
        rc = ak_framer_feed(f, chunk, len, &e);
        free(chunk);
        off = len;
    }
    while (rc == AK_OK && off < len) {
        size_t n = len - off < k ? len - off : k;
        char *chunk = malloc(n);
        memcpy(chunk, payload + off, n);
        rc = ak_framer_feed(f, chunk, n, &e);
        free(chunk);
        off += n;
    }
    if (rc == AK_OK)
        rc = ak_framer_finish(f, &e);
    o->rc = rc;
    if (rc != AK_OK && rc != AK_ERR_ABORTED)
        memcpy(o->msg, e.msg, sizeof o->msg);
    o->count = ak_framer_records(f);
    ak_framer_free(f);
}

static int same_outcome(const outcome *a, const outcome *b)
{
    if (a->rc != b->rc || a->n != b->n || a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const frec *x = &a->r[i], *y = &b->r[i];
        if (x->problem != y->problem || x->index != y->index || x->line != y->line ||
            x->len != y->len || (x->text == NULL) != (y->text == NULL) ||
            (x->text && memcmp(x->text, y->text, x->len) != 0))
            return 0;
    }
    return 1;
}

static void describe(const char *what, size_t k, const outcome *o)
{
    char ks[32] = "whole";
    if (k != WHOLE)
        snprintf(ks, sizeof ks, "%zu", k);
    fprintf(stderr, "    %s (k=%s): rc=%s n=%zu count=%llu msg=\"%s\"\n", what, ks,
            ak_code_name(o->rc), o->n, (unsigned long long)o->count, o->msg);
    for (size_t i = 0; i < o->n && i < 8; i++)
        fprintf(stderr, "      #%llu line %llu %s: %.60s\n", (unsigned long long)o->r[i].index,
                (unsigned long long)o->r[i].line, o->r[i].problem ? "PROBLEM" : "ok",
                o->r[i].text ? o->r[i].text : "(null)");
}

/* Frame the payload with every chunk size; CHECK they agree, and return the
 * whole-payload outcome (caller frees). */
static outcome frame_n(ak_frame_kind kind, const char *payload, size_t len, size_t max_record,
                       size_t abort_at)
{
    outcome ref;
    run_k(&ref, kind, payload, len, WHOLE, max_record, abort_at);
    CHECK_INT(ref.bad_frames, 0);
    if (ref.rc != AK_OK && ref.rc != AK_ERR_ABORTED)
        CHECK(ref.msg[0] != '\0');
    for (size_t i = 0; i + 1 < N_CHUNK_SIZES; i++) {
        outcome o;
        run_k(&o, kind, payload, len, chunk_sizes[i], max_record, abort_at);
        int same = same_outcome(&o, &ref);
        CHECK(same);
        CHECK_INT(o.bad_frames, 0);
        if (!same) {
            fprintf(stderr, "  chunking changes the result for %.120s\n", payload);
            describe("whole", WHOLE, &ref);
            describe("chunked", chunk_sizes[i], &o);
        }
        outcome_free(&o);
    }
    return ref;
}

static outcome frame_json(const char *payload)
{
    return frame_n(AK_FRAME_JSON, payload, strlen(payload), MAX_REC, 0);
}

static outcome frame_jsonl(const char *payload)
{
    return frame_n(AK_FRAME_JSONL, payload, strlen(payload), MAX_REC, 0);
}

/* 1 if o succeeded with exactly the record texts want[0..n) (all without
 * problems, JSON line 0); prints the difference otherwise. */
static int json_records(const outcome *o, const char *const *want, size_t n)
{
    int ok = o->rc == AK_OK && o->n == n && o->count == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = o->r[i].text && !o->r[i].problem && o->r[i].len == strlen(want[i]) &&
             memcmp(o->r[i].text, want[i], o->r[i].len) == 0 && o->r[i].line == 0 &&
             o->r[i].index == i + 1;
    if (!ok) {
        fprintf(stderr, "  expected %zu records:\n", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "      %.60s\n", want[i]);
        describe("got", WHOLE, o);
    }
    return ok;
}

/* 1 if the whole payload is rejected (AK_ERR_INVALID) for every chunking. */
static int json_fails(const char *payload)
{
    outcome o = frame_json(payload);
    int ok = o.rc == AK_ERR_INVALID;
    if (!ok) {
        fprintf(stderr, "  expected AK_ERR_INVALID for %.120s\n", payload);
        describe("got", WHOLE, &o);
    }
    outcome_free(&o);
    return ok;
}

#define NWANT(a) (sizeof(a) / sizeof *(a))

/* ---- JSON form ---- */

static void test_json_zero_records(void)
{
    outcome o = frame_json("{\"conversations\": []}");
    CHECK(json_records(&o, NULL, 0));
    outcome_free(&o);
    o = frame_json("{\"conversations\":[ ]}");
    CHECK(json_records(&o, NULL, 0));
    outcome_free(&o);
}

static void test_json_one_record(void)
{
    static const char *const want[] = {"{\"id\": \"a\", \"content\": \"hello\"}"};
    outcome o = frame_json("{\"conversations\": [{\"id\": \"a\", \"content\": \"hello\"}]}");
    CHECK(json_records(&o, want, 1));
    outcome_free(&o);
}

static void test_json_three_records(void)
{
    static const char *const want[] = {"{\"content\": \"one\"}",
                                       "{\"content\": \"two\", \"embedding\": [0.1, -2e-3, 0]}",
                                       "{\"content\": \"three\", \"metadata\": {\"a\": {}}}"};
    outcome o = frame_json("{\"conversations\": [{\"content\": \"one\"},"
                           "{\"content\": \"two\", \"embedding\": [0.1, -2e-3, 0]},"
                           "{\"content\": \"three\", \"metadata\": {\"a\": {}}}]}");
    CHECK(json_records(&o, want, 3));
    outcome_free(&o);
}

static void test_json_other_keys_skipped(void)
{
    static const char *const want[] = {"{\"content\": \"x\"}", "{\"content\": \"y\"}"};
    outcome o = frame_json(
        "{\"system\": \"\\\"]}\", \"nested\": {\"a\": [1, [2, {\"b\": \"]\"}]], \"c\": {}},"
        " \"n\": -12.5e-3, \"t\": true, \"f\": false, \"z\": null, \"arr\": [\"[\", \"{\"],"
        " \"s\": \"conversations\", \"e\": \"\\\\\","
        " \"conversations\": [{\"content\": \"x\"}, {\"content\": \"y\"}],"
        " \"after\": \"\\\"]}\", \"deep\": [[[{\"conversations\": [1]}]]], \"num\": 0,"
        " \"last\": null}");
    CHECK(json_records(&o, want, 2));
    outcome_free(&o);
}

static void test_json_key_lookalikes(void)
{
    /* keys that are not exactly "conversations" are skipped, whatever their value */
    static const char *const want[] = {"{\"content\": \"real\"}"};
    outcome o = frame_json("{\"conversation\": [{\"content\": \"no\"}],"
                           " \"conversationsX\": [{\"content\": \"no\"}],"
                           " \"Conversations\": [{\"content\": \"no\"}],"
                           " \"a_very_long_key_name_conversations_longer_than_32\": [1],"
                           " \"conversations\": [{\"content\": \"real\"}]}");
    CHECK(json_records(&o, want, 1));
    outcome_free(&o);
}

static void test_json_tricky_strings_in_records(void)
{
    static const char *const want[] = {
        "{\"content\": \"close } and ] and { [ inside\"}",
        "{\"content\": \"quote \\\" and backslash \\\\\", \"x\": \"\\\\\"}",
        "{\"content\": \"ends in backslash \\\\\\\\\", \"k\\\"}\": [\"]\", \"}\"]}",
        "{\"content\": \"\\u005d\\u007d \\/ \\n\"}"};
    ak_buf b = {0};
    ak_buf_puts(&b, "{\"conversations\": [");
    for (size_t i = 0; i < NWANT(want); i++) {
        ak_buf_puts(&b, i ? ", " : "");
        ak_buf_puts(&b, want[i]);
    }
    ak_buf_puts(&b, "]}");
    outcome o = frame_json(b.data);
    CHECK(json_records(&o, want, NWANT(want)));
    outcome_free(&o);
    ak_buf_free(&b);
}

static void test_json_bom(void)
{
    static const char *const want[] = {"{\"content\": \"x\"}"};
    outcome o = frame_json("\xEF\xBB\xBF{\"conversations\": [{\"content\": \"x\"}]}");
    CHECK(json_records(&o, want, 1));
    outcome_free(&o);
    /* a BOM anywhere but the start is not whitespace */
    CHECK(json_fails(" \xEF\xBB\xBF{\"conversations\": []}"));
    CHECK(json_fails("{\"conversations\": []}\xEF\xBB\xBF"));
    /* half a BOM is garbage */
    CHECK(json_fails("\xEF\xBB{\"conversations\": []}"));
}

static void test_json_whitespace_everywhere(void)
{
    static const char *const want[] = {"{ \"content\" : \"a\" }", "{\"content\":\"b\"}", "7"};
    outcome o = frame_json(" \n\t\r\n{ \r\n\t\"pre\" \n: \t[ 1 , 2 ] \n, \"conversations\""
                           " \t\n:\r\n [ \n\t{ \"content\" : \"a\" } \r\n , \n"
                           "{\"content\":\"b\"}\t,\n7\n ] \n , \"post\" :\n\"x\" \n\t} \r\n\n ");
    CHECK(json_records(&o, want, 3));
    outcome_free(&o);
}

static void test_json_non_object_elements(void)
{
    static const char *const want[] = {"1",    "\"str ] }\"", "[1, [2], {\"a\": 3}]",
                                       "-2.5e3", "true", "false", "null", "{}", "\"\\\"\"",
                                       "[]"};
    outcome o = frame_json("{\"conversations\": [1, \"str ] }\", [1, [2], {\"a\": 3}], -2.5e3,"
                           " true,false , null,{},\"\\\"\",[]]}");
    CHECK(json_records(&o, want, NWANT(want)));
    outcome_free(&o);
}

static void test_json_error_empty(void)
{
    CHECK(json_fails(""));
    CHECK(json_fails("   \n\t "));
    CHECK(json_fails("\xEF\xBB\xBF"));
}

static void test_json_error_top_level(void)
{
    CHECK(json_fails("[{\"content\": \"x\"}]"));
    CHECK(json_fails("\"conversations\""));
    CHECK(json_fails("42"));
    CHECK(json_fails("null"));
    CHECK(json_fails("{\"a\": 1}"));
    CHECK(json_fails("{}"));
    CHECK(json_fails("{\"conversations\": {}}"));
    CHECK(json_fails("{\"conversations\": {\"content\": \"x\"}}"));
    CHECK(json_fails("{\"conversations\": \"[]\"}"));
    CHECK(json_fails("{\"conversations\": null}"));
    CHECK(json_fails("{\"conversations\": 0}"));
    CHECK(json_fails("{\"conversations\": [], \"conversations\": []}"));
    CHECK(json_fails("{\"conversations\": [{\"content\": \"x\"}], \"a\": 1, "
                     "\"conversations\": [{\"content\": \"y\"}]}"));
    /* structure of the top-level object itself */
    CHECK(json_fails("{conversations: []}"));
    CHECK(json_fails("{\"conversations\" []}"));
    CHECK(json_fails("{\"conversations\": [] \"a\": 1}"));
    CHECK(json_fails("{\"conversations\": [],}"));
    CHECK(json_fails("{,\"conversations\": []}"));
    CHECK(json_fails("{\"a\": , \"conversations\": []}"));
    CHECK(json_fails("{\"a\" 1, \"conversations\": []}"));
}

static void test_json_error_two_keys_records_before(void)
{
    /* the records of the first array still came out before the error */
    outcome o = frame_json("{\"conversations\": [{\"content\": \"x\"}], "
                           "\"conversations\": [{\"content\": \"y\"}]}");
    CHECK_INT(o.rc, AK_ERR_INVALID);
    CHECK_INT(o.n, 1);
    outcome_free(&o);
}

static const char sample[] =
    "{\"version\": \"1.0\", \"meta\": {\"s\": \"\\\"]}\\\\\", \"a\": [1, -2.5e+3, true, null]},"
    " \"conversations\": [{\"id\": \"a\", \"content\": \"x } ] \\\" y\"},"
    " {\"content\": \"b\", \"embedding\": [0.25, -1e-3]}, 17, \"s\","
    " {\"content\": \"\\u00e9\", \"metadata\": {\"k\": [{}]}}],"
    " \"count\": 5, \"flag\": false, \"tail\": \"t\"}";

static void test_json_truncation_every_prefix(void)
{
    size_t len = strlen(sample);
    outcome full = frame_json(sample);
    CHECK_INT(full.rc, AK_OK);
    CHECK_INT(full.n, 5);
    for (size_t cut = 0; cut < len; cut++) {
        outcome o = frame_n(AK_FRAME_JSON, sample, cut, MAX_REC, 0);
        if (o.rc != AK_ERR_INVALID)
            fprintf(stderr, "  prefix of %zu bytes: %s\n", cut, ak_code_name(o.rc));
        CHECK_INT(o.rc, AK_ERR_INVALID);
        /* what came out is a prefix of the full record list */
        CHECK(o.n <= full.n);
        for (size_t i = 0; i < o.n && i < full.n; i++)
            CHECK(o.r[i].len == full.r[i].len &&
                  memcmp(o.r[i].text, full.r[i].text, o.r[i].len) == 0);
        outcome_free(&o);
    }
    outcome_free(&full);
}

static void test_json_trailing_garbage(void)
{
    CHECK(json_fails("{\"conversations\": []} x"));
    CHECK(json_fails("{\"conversations\": []}}"));
    CHECK(json_fails("{\"conversations\": []}]"));
    CHECK(json_fails("{\"conversations\": []}{}"));
    CHECK(json_fails("{\"conversations\": []}{\"conversations\": []}"));
    CHECK(json_fails("{\"conversations\": []},"));
    CHECK(json_fails("{\"conversations\": []}\"\""));
    CHECK(json_fails("{\"conversations\": []}\n0"));
    /* trailing whitespace is fine */
    outcome o = frame_json("{\"conversations\": []} \n\r\n\t");
    CHECK_INT(o.rc, AK_OK);
    outcome_free(&o);
}

static void test_json_mismatched_brackets(void)
{
    CHECK(json_fails("{\"conversations\": [[1}]}"));
    CHECK(json_fails("{\"conversations\": [{\"a\": [1}]}"));
    CHECK(json_fails("{\"conversations\": [{\"a\": 1]]}"));
    CHECK(json_fails("{\"conversations\": [{\"a\": {\"b\": 1]}}]}"));
    /* in a skipped value */
    CHECK(json_fails("{\"x\": [1}, \"conversations\": []}"));
    CHECK(json_fails("{\"x\": {\"y\": [}]}, \"conversations\": []}"));
    CHECK(json_fails("{\"conversations\": [], \"x\": {]}"));
}

static void test_json_record_separators(void)
{
    /* missing comma */
    CHECK(json_fails("{\"conversations\": [{\"content\": \"a\"} {\"content\": \"b\"}]}"));
    CHECK(json_fails("{\"conversations\": [{\"content\": \"a\"}{\"content\": \"b\"}]}"));
    CHECK(json_fails("{\"conversations\": [\"a\" \"b\"]}"));
    /* trailing, leading, doubled comma */
    CHECK(json_fails("{\"conversations\": [{\"content\": \"a\"},]}"));
    CHECK(json_fails("{\"conversations\": [{\"content\": \"a\"}, ]}"));
    CHECK(json_fails("{\"conversations\": [,{\"content\": \"a\"}]}"));
    CHECK(json_fails("{\"conversations\": [{\"content\": \"a\"},,{\"content\": \"b\"}]}"));
    CHECK(json_fails("{\"conversations\": [{\"content\": \"a\"}:{}]}"));
}

static char *nested_payload(size_t depth, int in_record)
{
    /* depth levels alternating {"k": and [ around a 0 */
    ak_buf b = {0};
    ak_buf_puts(&b, in_record ? "{\"conversations\": [" : "{\"x\": ");
    for (size_t i = 0; i < depth; i++)
        ak_buf_puts(&b, i % 2 ? "[" : "{\"k\":");
    ak_buf_puts(&b, "0");
    for (size_t i = depth; i-- > 0;)
        ak_buf_putc(&b, i % 2 ? ']' : '}');
    ak_buf_puts(&b, in_record ? "]}" : ", \"conversations\": [{\"content\": \"c\"}]}");
    return ak_buf_steal(&b);
}

static void test_json_nesting_limit(void)
{
    for (int in_record = 0; in_record <= 1; in_record++) {
        char *p = nested_payload(256, in_record);
        outcome o = frame_json(p);
        CHECK_INT(o.rc, AK_OK);
        CHECK_INT(o.n, 1);
        outcome_free(&o);
        free(p);
        p = nested_payload(257, in_record);
        CHECK(json_fails(p));
        free(p);
    }
    /* very deep: an error, not a crash */
    size_t deep = 100000;
    char *p = malloc(deep + 64);
    strcpy(p, "{\"conversations\": [");
    memset(p + strlen(p), '[', deep);
    p[19 + deep] = '\0';
    CHECK(json_fails(p));
    free(p);
}

static void test_json_unterminated_string_in_record(void)
{
    CHECK(json_fails("{\"conversations\": [{\"content\": \"abc}]}"));
    CHECK(json_fails("{\"conversations\": [{\"content\": \"abc\\\"}]}"));
    CHECK(json_fails("{\"conversations\": [\"abc]}"));
}

/* ---- JSONL form ---- */

/* 1 if o succeeded with records want[i] on lines lines[i]. */
static int jsonl_records(const outcome *o, const char *const *want, const uint64_t *lines,
                         size_t n)
{
    int ok = o->rc == AK_OK && o->n == n && o->count == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = o->r[i].text && !o->r[i].problem && o->r[i].len == strlen(want[i]) &&
             memcmp(o->r[i].text, want[i], o->r[i].len) == 0 && o->r[i].line == lines[i] &&
             o->r[i].index == i + 1;
    if (!ok) {
        fprintf(stderr, "  expected %zu records:\n", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "      line %llu: %.60s\n", (unsigned long long)lines[i], want[i]);
        describe("got", WHOLE, o);
    }
    return ok;
}

static void test_jsonl_basic(void)
{
    static const char *const want[] = {"{\"content\": \"a\"}", "{\"content\": \"b\"}",
                                       "{\"content\": \"c\"}"};
    static const uint64_t lines[] = {1, 2, 3};
    outcome o = frame_jsonl("{\"content\": \"a\"}\n{\"content\": \"b\"}\n{\"content\": \"c\"}\n");
    CHECK(jsonl_records(&o, want, lines, 3));
    outcome_free(&o);
}

static void test_jsonl_blank_lines_and_numbers(void)
{
    static const char *const want[] = {"{\"content\": \"a\"}", "{\"content\": \"b\"}",
                                       "{\"content\": \"c\"}", "{\"content\": \"d\"}"};
    static const uint64_t lines[] = {2, 5, 6, 9};
    outcome o = frame_jsonl("\n{\"content\": \"a\"}\n\n \t \n{\"content\": \"b\"}\n"
                            "{\"content\": \"c\"}\n\r\n   \r\n{\"content\": \"d\"}\n\n\n");
    CHECK(jsonl_records(&o, want, lines, 4));
    outcome_free(&o);
}

static void test_jsonl_crlf(void)
{
    static const char *const want[] = {"{\"content\": \"a\"}", "{\"content\": \"b\\r\"}",
                                       "{\"content\": \"c\"}"};
    static const uint64_t lines[] = {1, 3, 4};
    outcome o = frame_jsonl("{\"content\": \"a\"}\r\n\r\n{\"content\": \"b\\r\"}\r\n"
                            "{\"content\": \"c\"}\r\n");
    CHECK(jsonl_records(&o, want, lines, 3));
    for (size_t i = 0; i < o.n; i++)
        CHECK(o.r[i].text && !memchr(o.r[i].text, '\r', o.r[i].len));
    outcome_free(&o);
}

static void test_jsonl_last_line_without_newline(void)
{
    static const char *const want[] = {"{\"content\": \"a\"}", "{\"content\": \"b\"}"};
    static const uint64_t lines[] = {1, 3};
    outcome o = frame_jsonl("{\"content\": \"a\"}\n\n{\"content\": \"b\"}");
    CHECK(jsonl_records(&o, want, lines, 2));
    outcome_free(&o);
    o = frame_jsonl("{\"content\": \"a\"}\n\n{\"content\": \"b\"}\r");
    CHECK(jsonl_records(&o, want, lines, 2));
    outcome_free(&o);
    /* trailing blank text without a newline is not a record */
    o = frame_jsonl("{\"content\": \"a\"}\n  \t");
    CHECK(jsonl_records(&o, want, lines, 1));
    outcome_free(&o);
}

static void test_jsonl_empty(void)
{
    outcome o = frame_jsonl("");
    CHECK(jsonl_records(&o, NULL, NULL, 0));
    outcome_free(&o);
    o = frame_jsonl("\n\n \r\n\t\n");
    CHECK(jsonl_records(&o, NULL, NULL, 0));
    outcome_free(&o);
}

static void test_jsonl_bom(void)
{
    static const char *const want[] = {"{\"content\": \"a\"}", "{\"content\": \"b\"}"};
    static const uint64_t lines[] = {1, 2};
    outcome o = frame_jsonl("\xEF\xBB\xBF{\"content\": \"a\"}\n{\"content\": \"b\"}\n");
    CHECK(jsonl_records(&o, want, lines, 2));
    outcome_free(&o);
}

static void test_jsonl_damage_stays_in_line(void)
{
    /* a broken line is passed on as a record; the framer does not judge it */
    static const char *const want[] = {"{\"content\": \"a\"}", "{\"content\": [1}",
                                       "not json at all", "[1, 2]", "{\"content\": \"d\"}"};
    static const uint64_t lines[] = {1, 2, 3, 4, 5};
    outcome o = frame_jsonl("{\"content\": \"a\"}\n{\"content\": [1}\nnot json at all\n"
                            "[1, 2]\n{\"content\": \"d\"}\n");
    CHECK(jsonl_records(&o, want, lines, 5));
    outcome_free(&o);
}

/* ---- oversized records ---- */

static void check_oversized(const outcome *o, const char *first, const char *third,
                            int jsonl)
{
    CHECK_INT(o->rc, AK_OK);
    CHECK_INT(o->n, 3);
    CHECK_INT(o->count, 3);
    if (o->n != 3)
        return;
    CHECK(!o->r[0].problem && o->r[0].text);
    CHECK_STR(o->r[0].text, first);
    CHECK(o->r[1].problem);
    CHECK(o->r[1].text == NULL);
    CHECK_INT(o->r[1].index, 2);
    CHECK(!o->r[2].problem && o->r[2].text);
    CHECK_STR(o->r[2].text, third);
    CHECK_INT(o->r[2].index, 3);
    if (jsonl) {
        CHECK_INT(o->r[0].line, 1);
        CHECK_INT(o->r[1].line, 3);
        CHECK_INT(o->r[2].line, 4);
    }
}

static void test_json_oversized_record(void)
{
    /* limit 64: a 64-byte record fits, a 200-byte one does not */
    char rec64[65], big[201];
    memcpy(rec64, "{\"content\": \"", 13);
    memset(rec64 + 13, 'a', 64 - 15);
    strcpy(rec64 + 62, "\"}");
    CHECK_INT(strlen(rec64), 64);
    memcpy(big, "{\"content\": \"", 13);
    memset(big + 13, 'b', 200 - 15);
    strcpy(big + 198, "\"}");
    /* brackets and quotes inside the skipped part must still be tracked */
    memcpy(big + 20, "] } \\\" [", 8);
    ak_buf b = {0};
    ak_buf_printf(&b, "{\"conversations\": [%s, %s, {\"content\": \"c\"}], \"x\": 1}", rec64,
                  big);
    outcome o = frame_n(AK_FRAME_JSON, b.data, b.len, 64, 0);
    check_oversized(&o, rec64, "{\"content\": \"c\"}", 0);
    outcome_free(&o);
    /* 65 bytes is one too many */
    ak_buf_reset(&b);
    ak_buf_printf(&b, "{\"conversations\": [%s ]}", rec64);
    outcome o2 = frame_n(AK_FRAME_JSON, b.data, b.len, 63, 0);
    CHECK_INT(o2.rc, AK_OK);
    CHECK_INT(o2.n, 1);
    if (o2.n == 1)
        CHECK(o2.r[0].problem && o2.r[0].text == NULL);
    outcome_free(&o2);
    ak_buf_free(&b);
    /* an oversized scalar element too */
    const char *p = "{\"conversations\": [12345678901234567890, 1]}";
    outcome o3 = frame_n(AK_FRAME_JSON, p, strlen(p), 8, 0);
    CHECK_INT(o3.rc, AK_OK);
    CHECK_INT(o3.n, 2);
    if (o3.n == 2) {
        CHECK(o3.r[0].problem && !o3.r[0].text);
        CHECK_STR(o3.r[1].text, "1");
    }
    outcome_free(&o3);
}

static void test_jsonl_oversized_record(void)
{
    char big[201];
    memset(big, 'x', 200);
    big[200] = '\0';
    ak_buf b = {0};
    ak_buf_printf(&b, "{\"content\": \"a\"}\n\n%s\n{\"content\": \"c\"}\n", big);
    outcome o = frame_n(AK_FRAME_JSONL, b.data, b.len, 64, 0);
    check_oversized(&o, "{\"content\": \"a\"}", "{\"content\": \"c\"}", 1);
    outcome_free(&o);
    /* oversized last line without a newline */
    ak_buf_reset(&b);
    ak_buf_printf(&b, "{\"content\": \"a\"}\n%s", big);
    o = frame_n(AK_FRAME_JSONL, b.data, b.len, 64, 0);
    CHECK_INT(o.rc, AK_OK);
    CHECK_INT(o.n, 2);
    if (o.n == 2) {
        CHECK(o.r[1].problem && !o.r[1].text);
        CHECK_INT(o.r[1].line, 2);
    }
    outcome_free(&o);
    ak_buf_free(&b);
}

static void test_jsonl_limit_is_on_record_not_line_ending(void)
{
    /* a 16-byte record under a 16-byte limit fits with LF and with CRLF */
    const char *lf = "{\"content\":\"ab\"}\n";
    const char *crlf = "{\"content\":\"ab\"}\r\n";
    CHECK_INT(strlen(lf), 17);
    outcome o = frame_n(AK_FRAME_JSONL, lf, strlen(lf), 16, 0);
    CHECK_INT(o.n, 1);
    if (o.n == 1)
        CHECK(!o.r[0].problem);
    outcome_free(&o);
    o = frame_n(AK_FRAME_JSONL, crlf, strlen(crlf), 16, 0);
    CHECK_INT(o.n, 1);
    if (o.n == 1)
        CHECK(!o.r[0].problem);
    outcome_free(&o);
}

/* ---- callback abort ---- */

static void test_abort_json(void)
{
    const char *p = "{\"conversations\": [{\"content\": \"a\"}, {\"content\": \"b\"},"
                    " {\"content\": \"c\"}, {\"content\": \"d\"}]}";
    outcome o = frame_n(AK_FRAME_JSON, p, strlen(p), MAX_REC, 2);
    CHECK_INT(o.rc, AK_ERR_ABORTED);
    CHECK_INT(o.n, 2);
    CHECK_INT(o.count, 2);
    outcome_free(&o);
    /* abort on the last record: still aborted, not success */
    o = frame_n(AK_FRAME_JSON, p, strlen(p), MAX_REC, 4);
    CHECK_INT(o.rc, AK_ERR_ABORTED);
    CHECK_INT(o.n, 4);
    outcome_free(&o);
}

static void test_abort_jsonl(void)
{
    const char *p = "{\"content\": \"a\"}\n{\"content\": \"b\"}\n{\"content\": \"c\"}";
    outcome o = frame_n(AK_FRAME_JSONL, p, strlen(p), MAX_REC, 1);
    CHECK_INT(o.rc, AK_ERR_ABORTED);
    CHECK_INT(o.n, 1);
    CHECK_INT(o.count, 1);
    outcome_free(&o);
    /* the last line is emitted by finish, which returns the code */
    o = frame_n(AK_FRAME_JSONL, p, strlen(p), MAX_REC, 3);
    CHECK_INT(o.rc, AK_ERR_ABORTED);
    CHECK_INT(o.n, 3);
    outcome_free(&o);
}

static void test_abort_on_oversized(void)
{
    char big[101];
    memset(big, 'x', 100);
    big[100] = '\0';
    ak_buf b = {0};
    ak_buf_printf(&b, "%s\n{}\n", big);
    outcome o = frame_n(AK_FRAME_JSONL, b.data, b.len, 10, 1);
    CHECK_INT(o.rc, AK_ERR_ABORTED);
    CHECK_INT(o.n, 1);
    outcome_free(&o);
    ak_buf_free(&b);
}

static void test_many_records_count(void)
{
    ak_buf json = {0}, jsonl = {0};
    ak_buf_puts(&json, "{\"conversations\": [");
    for (int i = 0; i < 2000; i++) {
        ak_buf_printf(&json, "%s{\"id\": \"r%d\", \"content\": \"c%d\"}", i ? "," : "", i, i);
        ak_buf_printf(&jsonl, "{\"id\": \"r%d\", \"content\": \"c%d\"}\n", i, i);
    }
    ak_buf_puts(&json, "]}");
    outcome o = frame_n(AK_FRAME_JSON, json.data, json.len, MAX_REC, 0);
    CHECK_INT(o.rc, AK_OK);
    CHECK_INT(o.n, 2000);
    CHECK_INT(o.count, 2000);
    if (o.n == 2000)
        CHECK_STR(o.r[1999].text, "{\"id\": \"r1999\", \"content\": \"c1999\"}");
    outcome_free(&o);
    o = frame_n(AK_FRAME_JSONL, jsonl.data, jsonl.len, MAX_REC, 0);
    CHECK_INT(o.rc, AK_OK);
    CHECK_INT(o.count, 2000);
    if (o.n == 2000)
        CHECK_INT(o.r[1999].line, 2000);
    outcome_free(&o);
    ak_buf_free(&json);
    ak_buf_free(&jsonl);
}

int main(void)
{
    RUN(test_json_zero_records);
    RUN(test_json_one_record);
    RUN(test_json_three_records);
    RUN(test_json_other_keys_skipped);
    RUN(test_json_key_lookalikes);
    RUN(test_json_tricky_strings_in_records);
    RUN(test_json_bom);
    RUN(test_json_whitespace_everywhere);
    RUN(test_json_non_object_elements);
    RUN(test_json_error_empty);
    RUN(test_json_error_top_level);
    RUN(test_json_error_two_keys_records_before);
    RUN(test_json_truncation_every_prefix);
    RUN(test_json_trailing_garbage);
    RUN(test_json_mismatched_brackets);
    RUN(test_json_record_separators);
    RUN(test_json_nesting_limit);
    RUN(test_json_unterminated_string_in_record);
    RUN(test_jsonl_basic);
    RUN(test_jsonl_blank_lines_and_numbers);
    RUN(test_jsonl_crlf);
    RUN(test_jsonl_last_line_without_newline);
    RUN(test_jsonl_empty);
    RUN(test_jsonl_bom);
    RUN(test_jsonl_damage_stays_in_line);
    RUN(test_json_oversized_record);
    RUN(test_jsonl_oversized_record);
    RUN(test_jsonl_limit_is_on_record_not_line_ending);
    RUN(test_abort_json);
    RUN(test_abort_jsonl);
    RUN(test_abort_on_oversized);
    RUN(test_many_records_count);
    return test_report("framer");
}
