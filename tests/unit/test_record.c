/* test_record.c - ingest/record: a full record, id derivation, embeddings,
 * timestamps, defaults, and every rejection with its problem category and a
 * message naming the field. */
#include "ingest/record.h"
#include "util/buf.h"
#include "util/time.h"
#include "test.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define DFLT_TS INT64_C(1700000000123456) /* the manifest's uploaded_at */

static ak_json_doc *doc;
static ak_record rec;

/* ---- helpers ---- */

static ak_code parse_n(const char *text, size_t len, ak_rec_problem *pb, ak_err *e)
{
    memset(&rec, 0xA5, sizeof rec); /* stale garbage must not leak through */
    ak_code rc = ak_record_parse(doc, text, len, DFLT_TS, &rec, pb, e);
    if (rc != AK_OK)
        memset(&rec, 0, sizeof rec); /* so checks after a failure cannot crash */
    return rc;
}

/* 1 if text parses; otherwise prints why. */
static int accepts(const char *text)
{
    ak_rec_problem pb = AK_REC_N_PROBLEMS;
    ak_err e = {0};
    ak_code rc = parse_n(text, strlen(text), &pb, &e);
    if (rc != AK_OK || pb != AK_REC_OK)
        fprintf(stderr, "  unexpected rejection %s/%s: %s\n  of %.200s\n", ak_code_name(rc),
                ak_rec_problem_name(pb), e.msg, text);
    return rc == AK_OK && pb == AK_REC_OK;
}

/* 1 if text[0..len) is rejected as AK_ERR_INVALID with problem `want` and a
 * message starting with `prefix` (NULL: any message). */
static int rejects_n(const char *text, size_t len, ak_rec_problem want, const char *prefix)
{
    ak_rec_problem pb = AK_REC_N_PROBLEMS;
    ak_err e = {0};
    ak_code rc = parse_n(text, len, &pb, &e);
    int ok = rc == AK_ERR_INVALID && e.code == AK_ERR_INVALID && pb == want && e.msg[0] &&
             (!prefix || strncmp(e.msg, prefix, strlen(prefix)) == 0);
    if (!ok)
        fprintf(stderr, "  expected %s \"%s...\", got %s/%s: \"%s\"\n  for %.200s\n",
                ak_rec_problem_name(want), prefix ? prefix : "", ak_code_name(rc),
                ak_rec_problem_name(pb), e.msg, text);
    return ok;
}

static int rejects(const char *text, ak_rec_problem want, const char *prefix)
{
    return rejects_n(text, strlen(text), want, prefix);
}

/* The text of embedding element i, and a JSON list of n of them. */
static double emb_value(int i) { return (i - 191) / 97.0 * (i % 3 ? 1 : 1e-3); }

static void emb_list(ak_buf *b, int n, const char *override_at_7)
{
    ak_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            ak_buf_puts(b, ", ");
        if (i == 7 && override_at_7)
            ak_buf_puts(b, override_at_7);
        else
            ak_buf_printf(b, "%.9g", emb_value(i));
    }
    ak_buf_putc(b, ']');
}

/* {"content": "hello", "embedding": <list>} */
static int emb_rejects(int n, const char *at7, ak_rec_problem want, const char *prefix)
{
    ak_buf b = {0};
    ak_buf_puts(&b, "{\"content\": \"hello\", \"embedding\": ");
    emb_list(&b, n, at7);
    ak_buf_putc(&b, '}');
    int ok = rejects_n(b.data, b.len, want, prefix);
    ak_buf_free(&b);
    return ok;
}

static void hex_of(const char *s, size_t n, char out[AK_SHA256_HEX])
{
    uint8_t d[AK_SHA256_LEN];
    ak_sha256(s, n, d);
    ak_hex(d, AK_SHA256_LEN, out);
}

static int same(const char *p, size_t n, const char *want)
{
    return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

/* ---- valid records ---- */

static void test_full(void)
{
    ak_buf b = {0};
    ak_buf_puts(&b, "{\"id\": \"conv-42\", \"content\": \"Hello, \\\"world\\\" \\u00e9\\n\","
                    " \"embedding\": ");
    emb_list(&b, AK_DIM, NULL);
    ak_buf_puts(&b, ", \"timestamp\": \"2025-01-31T10:15:30.5Z\", \"source\": \"cli\","
                    " \"metadata\": {\"k\": [1, 2], \"s\": \"v\"}, \"extra\": 1}");
    ak_rec_problem pb = AK_REC_N_PROBLEMS;
    ak_err e = {0};
    CHECK_INT(parse_n(b.data, b.len, &pb, &e), AK_OK);
    CHECK_INT(pb, AK_REC_OK);
    CHECK(same(rec.id, rec.id_len, "conv-42"));
    CHECK(same(rec.content, rec.content_len, "Hello, \"world\" \xC3\xA9\n"));
    CHECK_INT(rec.has_embedding, 1);
    int64_t ts;
    CHECK(ak_time_parse("2025-01-31T10:15:30.5Z", 22, &ts));
    CHECK_INT(rec.ts_us, ts);
    CHECK(same(rec.source, rec.source_len, "cli"));
    CHECK(same(rec.metadata, rec.metadata_len, "{\"k\": [1, 2], \"s\": \"v\"}"));
    char want[AK_SHA256_HEX], got[AK_SHA256_HEX];
    hex_of("Hello, \"world\" \xC3\xA9\n", strlen("Hello, \"world\" \xC3\xA9\n"), want);
    ak_hex(rec.content_sha256, AK_SHA256_LEN, got);
    CHECK_STR(got, want);
    ak_buf_free(&b);
}

static void test_id_wins_over_conversation_id(void)
{
    CHECK(accepts("{\"conversation_id\": \"c1\", \"id\": \"i1\", \"content\": \"x\"}"));
    CHECK(same(rec.id, rec.id_len, "i1"));
    CHECK(accepts("{\"id\": \"i1\", \"conversation_id\": \"c1\", \"content\": \"x\"}"));
    CHECK(same(rec.id, rec.id_len, "i1"));
    CHECK(accepts("{\"conversation_id\": \"c1\", \"content\": \"x\"}"));
    CHECK(same(rec.id, rec.id_len, "c1"));
    /* id null counts as absent: conversation_id is used */
    CHECK(accepts("{\"id\": null, \"conversation_id\": \"c2\", \"content\": \"x\"}"));
    CHECK(same(rec.id, rec.id_len, "c2"));
    /* a bad id is not rescued by a good conversation_id */
    CHECK(rejects("{\"id\": 5, \"conversation_id\": \"c1\", \"content\": \"x\"}",
                  AK_REC_BAD_ID, "id"));
}

static void test_derived_id(void)
{
    const char *content = "some memory text \xE2\x9C\x93";
    char want[AK_SHA256_HEX];
    hex_of(content, strlen(content), want);
    CHECK_INT(strlen(want), 64);
    CHECK(accepts("{\"content\": \"some memory text \\u2713\"}"));
    CHECK(same(rec.id, rec.id_len, want));
    CHECK_INT(rec.id_len, 64);
    char got[AK_SHA256_HEX];
    ak_hex(rec.content_sha256, AK_SHA256_LEN, got);
    CHECK_STR(got, want);
    /* stable: the same content in a different record text gives the same id */
    CHECK(accepts("{ \"source\": \"x\", \"content\":\"some memory text \xE2\x9C\x93\","
                  " \"id\": null, \"conversation_id\": null }"));
    CHECK(same(rec.id, rec.id_len, want));
    /* different content, different id */
    CHECK(accepts("{\"content\": \"some memory text\"}"));
    CHECK(!same(rec.id, rec.id_len, want));
    hex_of("some memory text", 16, want);
    CHECK(same(rec.id, rec.id_len, want));
}

static void test_content_sha256_with_given_id(void)
{
    CHECK(accepts("{\"id\": \"a\", \"content\": \"abc\"}"));
    char got[AK_SHA256_HEX];
    ak_hex(rec.content_sha256, AK_SHA256_LEN, got);
    CHECK_STR(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_embedding_values(void)
{
    ak_buf b = {0};
    ak_buf_puts(&b, "{\"content\": \"v\", \"embedding\": ");
    emb_list(&b, AK_DIM, NULL);
    ak_buf_putc(&b, '}');
    ak_rec_problem pb;
    CHECK_INT(parse_n(b.data, b.len, &pb, NULL), AK_OK);
    CHECK_INT(rec.has_embedding, 1);
    int bad = 0;
    for (int i = 0; i < AK_DIM; i++) {
        char txt[32];
        snprintf(txt, sizeof txt, "%.9g", emb_value(i));
        float want = strtof(txt, NULL);
        if (fabsf(rec.embedding[i] - want) > 1e-6f * fabsf(want) + 1e-30f)
            bad++;
    }
    CHECK_INT(bad, 0);
    ak_buf_free(&b);
}

static void test_embedding_number_forms(void)
{
    /* exponents, negative zero, long digit strings, float range limits */
    static const char *const forms[] = {"1e-3", "-2.5E+2", "0.000001", "123456789012345678901234",
                                        "0.12345678901234567890123", "3.4e38", "-3.4e38",
                                        "1e-50", "-0", "7"};
    static const float want[] = {1e-3f, -250.0f, 1e-6f, 1.2345679e23f, 0.12345679f, 3.4e38f,
                                 -3.4e38f, 0.0f, 0.0f, 7.0f};
    for (size_t k = 0; k < sizeof forms / sizeof *forms; k++) {
        ak_buf b = {0};
        ak_buf_puts(&b, "{\"content\": \"v\", \"embedding\": ");
        emb_list(&b, AK_DIM, forms[k]);
        ak_buf_putc(&b, '}');
        ak_rec_problem pb;
        CHECK_INT(parse_n(b.data, b.len, &pb, NULL), AK_OK);
        float got = rec.embedding[7];
        if (!(fabsf(got - want[k]) <= 1e-6f * fabsf(want[k])))
            fprintf(stderr, "  embedding form %s -> %.9g, want %.9g\n", forms[k], got,
                    want[k]);
        CHECK(fabsf(got - want[k]) <= 1e-6f * fabsf(want[k]));
        ak_buf_free(&b);
    }
}

static void test_no_embedding(void)
{
    CHECK(accepts("{\"content\": \"x\"}"));
    CHECK_INT(rec.has_embedding, 0);
    CHECK(accepts("{\"content\": \"x\", \"embedding\": null}"));
    CHECK_INT(rec.has_embedding, 0);
    ak_buf b = {0};
    ak_buf_puts(&b, "{\"content\": \"x\", \"embedding\": [");
    for (int i = 0; i < AK_DIM; i++)
        ak_buf_puts(&b, i == 0 ? "0" : i % 3 == 0 ? ", -0.0" : i % 3 == 1 ? ", 0e5" : ", 0.000");
    ak_buf_puts(&b, "]}");
    ak_rec_problem pb;
    CHECK_INT(parse_n(b.data, b.len, &pb, NULL), AK_OK);
    CHECK_INT(rec.has_embedding, 0);
    ak_buf_free(&b);
    /* one non-zero element is enough */
    b = (ak_buf){0};
    ak_buf_puts(&b, "{\"content\": \"x\", \"embedding\": [");
    for (int i = 0; i < AK_DIM; i++)
        ak_buf_puts(&b, i == 0 ? "0" : i == 383 ? ", 1e-9" : ", 0");
    ak_buf_puts(&b, "]}");
    CHECK_INT(parse_n(b.data, b.len, &pb, NULL), AK_OK);
    CHECK_INT(rec.has_embedding, 1);
    ak_buf_free(&b);
}

static void test_timestamps(void)
{
    static const struct { const char *text; const char *utc; } cases[] = {
        {"2025-01-31", "2025-01-31T00:00:00Z"},
        {"2025-01-31T10:15:30", "2025-01-31T10:15:30Z"},
        {"2025-01-31 10:15:30.123456", "2025-01-31T10:15:30.123456Z"},
        {"2025-01-31T10:15:30+02:00", "2025-01-31T08:15:30Z"},
        {"2025-01-31T10:15:30-0530", "2025-01-31T15:45:30Z"},
        {"2025-01-31T10:15Z", "2025-01-31T10:15:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[160];
        snprintf(text, sizeof text, "{\"content\": \"x\", \"timestamp\": \"%s\"}", cases[i].text);
        CHECK(accepts(text));
        int64_t want = 0;
        CHECK(ak_time_parse(cases[i].utc, strlen(cases[i].utc), &want));
        CHECK_INT(rec.ts_us, want);
    }
    CHECK(accepts("{\"content\": \"x\"}"));
    CHECK_INT(rec.ts_us, DFLT_TS);
    CHECK(accepts("{\"content\": \"x\", \"timestamp\": null}"));
    CHECK_INT(rec.ts_us, DFLT_TS);
    /* 2025-01-31T08:15:30Z as an absolute number */
    CHECK(accepts("{\"content\": \"x\", \"timestamp\": \"2025-01-31T10:15:30+02:00\"}"));
    CHECK_INT(rec.ts_us, INT64_C(1738311330) * AK_US_PER_SEC);
}

static void test_source(void)
{
    CHECK(accepts("{\"content\": \"x\"}"));
    CHECK(same(rec.source, rec.source_len, "session-buddy"));
    CHECK(accepts("{\"content\": \"x\", \"source\": null}"));
    CHECK(same(rec.source, rec.source_len, "session-buddy"));
    CHECK(accepts("{\"content\": \"x\", \"source\": \"claude-code\"}"));
    CHECK(same(rec.source, rec.source_len, "claude-code"));
    char text[400], src[300];
    memset(src, 's', 256);
    src[256] = '\0';
    snprintf(text, sizeof text, "{\"content\": \"x\", \"source\": \"%s\"}", src);
    CHECK(accepts(text));
    CHECK_INT(rec.source_len, 256);
}

static void test_metadata_raw(void)
{
    const char *meta = "{ \"a\" :\t[ 1,2 ,\n3 ], \"b\": {\"c\": \"\\u00e9 \\\" }\"} }";
    char text[256];
    snprintf(text, sizeof text, "{\"content\": \"x\", \"metadata\": %s  }", meta);
    CHECK(accepts(text));
    CHECK(same(rec.metadata, rec.metadata_len, meta));
    CHECK(rec.metadata >= text && rec.metadata < text + strlen(text));
    CHECK(accepts("{\"content\": \"x\", \"metadata\": {}}"));
    CHECK(same(rec.metadata, rec.metadata_len, "{}"));
    CHECK(accepts("{\"content\": \"x\", \"metadata\": null}"));
    CHECK(rec.metadata == NULL);
    CHECK_INT(rec.metadata_len, 0);
    CHECK(accepts("{\"content\": \"x\"}"));
    CHECK(rec.metadata == NULL);
}

/* ---- rejections ---- */

static void test_invalid_json(void)
{
    static const char *const bad[] = {"", "   ", "{", "{\"content\": \"x\"", "{content: 1}",
                                      "{\"content\": \"x\",}", "{\"content\": \"x\"} {}",
                                      "{\"content\": 'x'}", "{\"content\": \"\xFF\"}",
                                      "{\"content\": \"\\ud800\"}", "{\"content\": \"a\nb\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(rejects(bad[i], AK_REC_INVALID_JSON, NULL));
}

static void test_not_an_object(void)
{
    static const char *const bad[] = {"[{\"content\": \"x\"}]", "\"content\"", "42", "null",
                                      "true", "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(rejects(bad[i], AK_REC_NOT_OBJECT, NULL));
}

static void test_content_rules(void)
{
    CHECK(rejects("{\"id\": \"a\"}", AK_REC_BAD_CONTENT, "content:"));
    CHECK(rejects("{\"content\": null}", AK_REC_BAD_CONTENT, "content:"));
    CHECK(rejects("{\"content\": \"\"}", AK_REC_BAD_CONTENT, "content:"));
    CHECK(rejects("{\"content\": 5}", AK_REC_BAD_CONTENT, "content:"));
    CHECK(rejects("{\"content\": [\"x\"]}", AK_REC_BAD_CONTENT, "content:"));
    CHECK(rejects("{\"content\": {\"text\": \"x\"}}", AK_REC_BAD_CONTENT, "content:"));
    CHECK(rejects("{\"content\": \"a\\u0000b\"}", AK_REC_BAD_CONTENT, "content:"));
    CHECK(rejects("{\"content\": \"\\u0000\"}", AK_REC_BAD_CONTENT, "content:"));
}

static char *content_record(size_t content_len, const char *unit, size_t pad)
{
    size_t ulen = strlen(unit), n = content_len * ulen + pad + 32;
    char *t = malloc(n), *p = t;
    p += sprintf(p, "{\"content\": \"");
    for (size_t i = 0; i < content_len; i++, p += ulen)
        memcpy(p, unit, ulen);
    memset(p, ' ', pad);
    p += pad;
    strcpy(p, "\"}");
    return t;
}

static void test_content_size(void)
{
    char *t = content_record(AK_CONTENT_MAX, "a", 0);
    CHECK(accepts(t));
    CHECK_INT(rec.content_len, AK_CONTENT_MAX);
    free(t);
    t = content_record(AK_CONTENT_MAX + 1, "a", 0);
    CHECK(rejects(t, AK_REC_BAD_CONTENT, "content:"));
    free(t);
    /* the limit is on decoded bytes: 1 MiB written as \u0041 (6 MiB of text) */
    t = content_record(AK_CONTENT_MAX, "\\u0041", 0);
    CHECK(accepts(t));
    CHECK_INT(rec.content_len, AK_CONTENT_MAX);
    CHECK(rec.content && rec.content[0] == 'A' && rec.content[AK_CONTENT_MAX - 1] == 'A');
    free(t);
    /* 2-byte characters: 512 Ki of them is exactly 1 MiB; one more is over */
    t = content_record(AK_CONTENT_MAX / 2, "\xC3\xA9", 0);
    CHECK(accepts(t));
    free(t);
    t = content_record(AK_CONTENT_MAX / 2 + 1, "\xC3\xA9", 0);
    CHECK(rejects(t, AK_REC_BAD_CONTENT, "content:"));
    free(t);
}

static void test_id_rules(void)
{
    CHECK(rejects("{\"id\": \"\", \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"id\": 7, \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"id\": [\"a\"], \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"id\": true, \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"id\": \"a\\u0001b\", \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"id\": \"a\\nb\", \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"id\": \"a\\tb\", \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"id\": \"a\\u0000b\", \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"conversation_id\": \"\", \"content\": \"x\"}", AK_REC_BAD_ID, NULL));
    CHECK(rejects("{\"conversation_id\": 3, \"content\": \"x\"}", AK_REC_BAD_ID, NULL));
    char id[300], text[400];
    memset(id, 'i', 257);
    id[257] = '\0';
    snprintf(text, sizeof text, "{\"id\": \"%s\", \"content\": \"x\"}", id);
    CHECK(rejects(text, AK_REC_BAD_ID, "id:"));
    id[256] = '\0';
    snprintf(text, sizeof text, "{\"id\": \"%s\", \"content\": \"x\"}", id);
    CHECK(accepts(text));
    CHECK(same(rec.id, rec.id_len, id));
    /* 256 bytes is bytes, not characters: 128 two-byte characters fit, 129 do not */
    char u[600] = "";
    for (int i = 0; i < 128; i++)
        strcat(u, "\xC3\xA9");
    snprintf(text, sizeof text, "{\"id\": \"%s\", \"content\": \"x\"}", u);
    CHECK(accepts(text));
    strcat(u, "\xC3\xA9");
    snprintf(text, sizeof text, "{\"id\": \"%s\", \"content\": \"x\"}", u);
    CHECK(rejects(text, AK_REC_BAD_ID, "id:"));
}

/* DEL (U+007F) is a control character too (record.h: "no control
 * characters"); only bytes below 0x20 are refused today. */
static void test_id_del_is_control(void)
{
    CHECK(rejects("{\"id\": \"a\\u007fb\", \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
    CHECK(rejects("{\"id\": \"a\x7f\", \"content\": \"x\"}", AK_REC_BAD_ID, "id:"));
}

static void test_embedding_length(void)
{
    CHECK(emb_rejects(383, NULL, AK_REC_BAD_EMBEDDING, "embedding"));
    CHECK(emb_rejects(385, NULL, AK_REC_BAD_EMBEDDING, "embedding"));
    CHECK(emb_rejects(0, NULL, AK_REC_BAD_EMBEDDING, "embedding"));
    CHECK(emb_rejects(1, NULL, AK_REC_BAD_EMBEDDING, "embedding"));
    CHECK(emb_rejects(768, NULL, AK_REC_BAD_EMBEDDING, "embedding"));
}

static void test_embedding_not_list(void)
{
    CHECK(rejects("{\"content\": \"x\", \"embedding\": \"[0.1]\"}", AK_REC_BAD_EMBEDDING,
                  "embedding"));
    CHECK(rejects("{\"content\": \"x\", \"embedding\": {\"0\": 1}}", AK_REC_BAD_EMBEDDING,
                  "embedding"));
    CHECK(rejects("{\"content\": \"x\", \"embedding\": 0}", AK_REC_BAD_EMBEDDING, "embedding"));
    CHECK(rejects("{\"content\": \"x\", \"embedding\": false}", AK_REC_BAD_EMBEDDING,
                  "embedding"));
}

static void test_embedding_bad_elements(void)
{
    CHECK(emb_rejects(AK_DIM, "\"0.5\"", AK_REC_BAD_EMBEDDING, "embedding[7]"));
    CHECK(emb_rejects(AK_DIM, "null", AK_REC_BAD_EMBEDDING, "embedding[7]"));
    CHECK(emb_rejects(AK_DIM, "true", AK_REC_BAD_EMBEDDING, "embedding[7]"));
    CHECK(emb_rejects(AK_DIM, "[0.5]", AK_REC_BAD_EMBEDDING, "embedding[7]"));
    CHECK(emb_rejects(AK_DIM, "{}", AK_REC_BAD_EMBEDDING, "embedding[7]"));
}

static void test_embedding_not_finite(void)
{
    /* NaN and Infinity are not JSON */
    CHECK(emb_rejects(AK_DIM, "NaN", AK_REC_INVALID_JSON, NULL));
    CHECK(emb_rejects(AK_DIM, "Infinity", AK_REC_INVALID_JSON, NULL));
    CHECK(emb_rejects(AK_DIM, "-Infinity", AK_REC_INVALID_JSON, NULL));
    CHECK(emb_rejects(AK_DIM, "nan", AK_REC_INVALID_JSON, NULL));
    /* valid JSON numbers outside float32 */
    static const char *const huge[] = {"1e39", "-1e39", "3.5e38", "1e400",
                                       "1000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        ak_buf b = {0};
        ak_buf_puts(&b, "{\"content\": \"hello\", \"embedding\": ");
        emb_list(&b, AK_DIM, huge[i]);
        ak_buf_putc(&b, '}');
        ak_err e = {0};
        ak_rec_problem pb;
        CHECK_INT(parse_n(b.data, b.len, &pb, &e), AK_ERR_INVALID);
        CHECK_INT(pb, AK_REC_BAD_EMBEDDING);
        CHECK_HAS(e.msg, "embedding[7]");
        CHECK_HAS(e.msg, "not finite");
        ak_buf_free(&b);
    }
}

static void test_timestamp_rules(void)
{
    CHECK(rejects("{\"content\": \"x\", \"timestamp\": \"yesterday\"}", AK_REC_BAD_TIMESTAMP,
                  "timestamp:"));
    CHECK(rejects("{\"content\": \"x\", \"timestamp\": 1738311330}", AK_REC_BAD_TIMESTAMP,
                  "timestamp:"));
    CHECK(rejects("{\"content\": \"x\", \"timestamp\": \"\"}", AK_REC_BAD_TIMESTAMP,
                  "timestamp:"));
    CHECK(rejects("{\"content\": \"x\", \"timestamp\": \"2025-02-30T00:00:00Z\"}",
                  AK_REC_BAD_TIMESTAMP, "timestamp:"));
    CHECK(rejects("{\"content\": \"x\", \"timestamp\": \"2025-01-31T10:15:30Zx\"}",
                  AK_REC_BAD_TIMESTAMP, "timestamp:"));
    CHECK(rejects("{\"content\": \"x\", \"timestamp\": \" 2025-01-31\"}", AK_REC_BAD_TIMESTAMP,
                  "timestamp:"));
    CHECK(rejects("{\"content\": \"x\", \"timestamp\": [\"2025-01-01\"]}", AK_REC_BAD_TIMESTAMP,
                  "timestamp:"));
}

static void test_source_rules(void)
{
    CHECK(rejects("{\"content\": \"x\", \"source\": 5}", AK_REC_BAD_SOURCE, "source:"));
    CHECK(rejects("{\"content\": \"x\", \"source\": {}}", AK_REC_BAD_SOURCE, "source:"));
    CHECK(rejects("{\"content\": \"x\", \"source\": \"a\\u0007\"}", AK_REC_BAD_SOURCE,
                  "source:"));
    char text[400], src[300];
    memset(src, 's', 257);
    src[257] = '\0';
    snprintf(text, sizeof text, "{\"content\": \"x\", \"source\": \"%s\"}", src);
    CHECK(rejects(text, AK_REC_BAD_SOURCE, "source:"));
}

static void test_metadata_rules(void)
{
    CHECK(rejects("{\"content\": \"x\", \"metadata\": [1, 2]}", AK_REC_BAD_METADATA,
                  "metadata:"));
    CHECK(rejects("{\"content\": \"x\", \"metadata\": \"{}\"}", AK_REC_BAD_METADATA,
                  "metadata:"));
    CHECK(rejects("{\"content\": \"x\", \"metadata\": 1}", AK_REC_BAD_METADATA, "metadata:"));
}

/* A member given twice was silently first-wins (issue 20): now the
 * record is rejected, under that member's problem. */
static void test_duplicate_members(void)
{
    CHECK(rejects("{\"content\": \"a\", \"content\": \"b\"}", AK_REC_BAD_CONTENT,
                  "content: given more than once"));
    CHECK(rejects("{\"id\": \"x\", \"content\": \"a\", \"id\": \"y\"}", AK_REC_BAD_ID,
                  "id: given more than once"));
    CHECK(rejects("{\"content\": \"a\", \"timestamp\": null, \"timestamp\": null}",
                  AK_REC_BAD_TIMESTAMP, "timestamp: given more than once"));
    CHECK(rejects("{\"content\": \"a\", \"embedding\": null, \"embedding\": null}",
                  AK_REC_BAD_EMBEDDING, "embedding: given more than once"));
    /* unknown members are ignored, twice as once */
    static const char twice[] = "{\"content\": \"a\", \"extra\": 1, \"extra\": 2}";
    ak_rec_problem pb;
    CHECK_INT(parse_n(twice, sizeof twice - 1, &pb, NULL), AK_OK);
}

static void test_problem_names(void)
{
    CHECK_STR(ak_rec_problem_name(AK_REC_OK), "ok");
    CHECK_STR(ak_rec_problem_name(AK_REC_INVALID_JSON), "invalid_json");
    CHECK_STR(ak_rec_problem_name(AK_REC_NOT_OBJECT), "not_an_object");
    CHECK_STR(ak_rec_problem_name(AK_REC_TOO_LARGE), "too_large");
    CHECK_STR(ak_rec_problem_name(AK_REC_BAD_EMBEDDING), "bad_embedding");
    for (int p = 0; p < AK_REC_N_PROBLEMS; p++)
        CHECK(ak_rec_problem_name((ak_rec_problem)p) != NULL);
    CHECK_STR(ak_rec_problem_name(AK_REC_N_PROBLEMS), "unknown");
}

/* ---- size and reuse ---- */

static void test_too_large(void)
{
    size_t max = AK_RECORD_TEXT_MAX;
    /* exactly the limit: 1 MiB of content padded with whitespace is fine */
    char *t = malloc(max + 2);
    const char *head = "{\"content\": \"";
    size_t h = strlen(head);
    memcpy(t, head, h);
    memset(t + h, 'c', AK_CONTENT_MAX);
    size_t p = h + AK_CONTENT_MAX;
    t[p++] = '"';
    memset(t + p, ' ', max - 1 - p);
    t[max - 1] = '}';
    t[max] = '\0';
    CHECK(accepts(t));
    CHECK_INT(rec.content_len, AK_CONTENT_MAX);
    /* one byte more is too large */
    t[max - 1] = ' ';
    t[max] = '}';
    t[max + 1] = '\0';
    CHECK(rejects_n(t, max + 1, AK_REC_TOO_LARGE, NULL));
    free(t);
}

static void test_many_records_one_doc(void)
{
    ak_buf b = {0};
    int ok = 0, emb = 0;
    for (int i = 0; i < 10000; i++) {
        ak_buf_reset(&b);
        ak_buf_printf(&b, "{\"id\": \"r%d\", \"content\": \"record number %d\"", i, i);
        if (i % 4 == 0) {
            ak_buf_puts(&b, ", \"embedding\": [");
            for (int k = 0; k < AK_DIM; k++)
                ak_buf_printf(&b, k ? ",%d.5" : "%d.5", (i + k) % 7);
            ak_buf_putc(&b, ']');
        }
        ak_buf_putc(&b, '}');
        ak_rec_problem pb;
        if (parse_n(b.data, b.len, &pb, NULL) != AK_OK)
            continue;
        char id[32], content[64];
        snprintf(id, sizeof id, "r%d", i);
        snprintf(content, sizeof content, "record number %d", i);
        if (same(rec.id, rec.id_len, id) && same(rec.content, rec.content_len, content) &&
            rec.has_embedding == (i % 4 == 0) &&
            (i % 4 || rec.embedding[383] == (float)((i + 383) % 7) + 0.5f))
            ok++;
        emb += rec.has_embedding;
    }
    CHECK_INT(ok, 10000);
    CHECK_INT(emb, 2500);
    ak_buf_free(&b);
}

static void test_reject_then_accept(void)
{
    /* a rejected record leaves the doc usable for the next one */
    CHECK(rejects("{\"content\": ", AK_REC_INVALID_JSON, NULL));
    CHECK(accepts("{\"content\": \"after\"}"));
    CHECK(same(rec.content, rec.content_len, "after"));
    CHECK(emb_rejects(383, NULL, AK_REC_BAD_EMBEDDING, "embedding"));
    CHECK(accepts("{\"content\": \"again\"}"));
    CHECK_INT(rec.has_embedding, 0);
    /* a NULL err is allowed */
    ak_rec_problem pb;
    CHECK_INT(ak_record_parse(doc, "[]", 2, 0, &rec, &pb, NULL), AK_ERR_INVALID);
    CHECK_INT(pb, AK_REC_NOT_OBJECT);
}

/* ---- typed parts (DuckDB rows) ---- */

/* The problem a record from parts gets (AK_REC_OK when accepted). */
static ak_rec_problem parts_problem(const ak_record_parts *p, const char *prefix)
{
    ak_rec_problem pb = AK_REC_N_PROBLEMS;
    ak_err e = {0};
    memset(&rec, 0xA5, sizeof rec);
    ak_code rc = ak_record_from_parts(p, DFLT_TS, &rec, &pb, &e);
    CHECK_INT(rc, pb == AK_REC_OK ? AK_OK : AK_ERR_INVALID);
    if (prefix && strncmp(e.msg, prefix, strlen(prefix)) != 0)
        fprintf(stderr, "  expected \"%s...\", got \"%s\"\n", prefix, e.msg), test_failures++;
    return pb;
}

static void test_parts(void)
{
    float v[AK_DIM];
    for (int i = 0; i < AK_DIM; i++)
        v[i] = (float)i / AK_DIM;
    ak_record_parts p = {.id = "conv-1", .id_len = 6, .content = "hello", .content_len = 5,
                         .embedding = v, .n_embedding = AK_DIM, .has_ts = 1, .ts_us = 42,
                         .metadata = "{\"type\":\"reflection\"}", .metadata_len = 20};
    CHECK_INT(parts_problem(&p, NULL), AK_REC_OK);
    CHECK(rec.id_len == 6 && memcmp(rec.id, "conv-1", 6) == 0);
    CHECK_INT(rec.has_embedding, 1);
    CHECK(rec.embedding[AK_DIM - 1] == v[AK_DIM - 1]);
    CHECK_INT(rec.ts_us, 42);
    CHECK(rec.source_len == 13 && memcmp(rec.source, "session-buddy", 13) == 0);
    CHECK_INT(rec.metadata_len, 20);
    /* The same content parsed from JSON hashes the same (dedup across forms). */
    uint8_t sha[AK_SHA256_LEN];
    memcpy(sha, rec.content_sha256, sizeof sha);
    CHECK(accepts("{\"id\": \"conv-1\", \"content\": \"hello\"}"));
    CHECK(memcmp(sha, rec.content_sha256, sizeof sha) == 0);

    ak_record_parts q = {.content = "hello", .content_len = 5};
    CHECK_INT(parts_problem(&q, NULL), AK_REC_OK); /* no id, embedding, time, metadata */
    CHECK_INT(rec.id_len, 64);
    CHECK_INT(rec.has_embedding, 0);
    CHECK_INT(rec.ts_us, DFLT_TS);
    CHECK(rec.metadata == NULL);
}

static void test_parts_rules(void)
{
    float v[AK_DIM] = {0};
    ak_record_parts p = {.content = NULL};
    CHECK_INT(parts_problem(&p, "content: required"), AK_REC_BAD_CONTENT);
    p.content = "";
    CHECK_INT(parts_problem(&p, "content: is empty"), AK_REC_BAD_CONTENT);
    p.content = "a\0b", p.content_len = 3;
    CHECK_INT(parts_problem(&p, "content: contains a NUL"), AK_REC_BAD_CONTENT);
    p.content = "ok", p.content_len = 2;
    p.id = "", p.id_len = 0;
    CHECK_INT(parts_problem(&p, "id: is empty"), AK_REC_BAD_ID);
    p.id = "a\nb", p.id_len = 3;
    CHECK_INT(parts_problem(&p, "id: contains a control"), AK_REC_BAD_ID);
    p.id = "x", p.id_len = 1;
    p.embedding = v, p.n_embedding = 3;
    CHECK_INT(parts_problem(&p, "embedding: has 3 numbers"), AK_REC_BAD_EMBEDDING);
    p.n_embedding = AK_DIM;
    CHECK_INT(parts_problem(&p, NULL), AK_REC_OK);
    CHECK_INT(rec.has_embedding, 0); /* all zeros: no vector */
    v[7] = NAN; /* a NULL element of a DuckDB list */
    CHECK_INT(parts_problem(&p, "embedding[7]: not finite"), AK_REC_BAD_EMBEDDING);
    v[7] = 0;
    p.metadata = "[1]", p.metadata_len = 3;
    CHECK_INT(parts_problem(&p, "metadata: must be an object"), AK_REC_BAD_METADATA);
}


/* ---- a record from an already parsed document's values ---- */

/* Judge text both ways: parsed, and from the values of its tree
 * (ak_record_from_values); the outcome, message and record must agree. */
static void same_both_ways(const char *text)
{
    ak_json_doc *tdoc = ak_json_doc_new();
    const ak_json *root;
    ak_err e1 = {0}, e2 = {0};
    ak_rec_problem p1 = AK_REC_N_PROBLEMS, p2 = AK_REC_N_PROBLEMS;
    static ak_record r2;
    CHECK_OK(ak_json_parse(tdoc, text, strlen(text), &root, &e1), e1);
    ak_record_values v = {ak_json_get(root, "id"), ak_json_get(root, "content"),
                          ak_json_get(root, "embedding"), ak_json_get(root, "timestamp"),
                          ak_json_get(root, "metadata")};
    memset(&r2, 0x5A, sizeof r2);
    ak_code rc2 = ak_record_from_values(&v, DFLT_TS, &r2, &p2, &e2);
    ak_code rc1 = parse_n(text, strlen(text), &p1, &e1);
    CHECK_INT(rc2, rc1);
    CHECK_INT(p2, p1);
    if (rc1 != AK_OK) {
        CHECK_STR(e2.msg, e1.msg);
    } else if (rc2 == AK_OK) {
        CHECK(r2.id_len == rec.id_len && memcmp(r2.id, rec.id, rec.id_len) == 0);
        CHECK(r2.content_len == rec.content_len && memcmp(r2.content, rec.content, rec.content_len) == 0);
        CHECK(memcmp(r2.content_sha256, rec.content_sha256, AK_SHA256_LEN) == 0);
        CHECK_INT(r2.has_embedding, rec.has_embedding);
        CHECK(!rec.has_embedding || memcmp(r2.embedding, rec.embedding, sizeof rec.embedding) == 0);
        CHECK_INT(r2.ts_us, rec.ts_us);
        CHECK(r2.metadata_len == rec.metadata_len &&
              (!rec.metadata || memcmp(r2.metadata, rec.metadata, rec.metadata_len) == 0));
    }
    if (rc1 != rc2 || p1 != p2)
        fprintf(stderr, "  differs on %.200s\n", text);
    ak_json_doc_free(tdoc);
}

static void test_from_values(void)
{
    ak_buf emb = {0}, t = {0};
    ak_buf_puts(&emb, "[");
    for (int i = 0; i < AK_DIM; i++)
        ak_buf_printf(&emb, "%s%.17g", i ? "," : "", sin((double)i) * 0.731);
    ak_buf_puts(&emb, "]");
    const char *ids[] = {"", "\"id\":\"m-1\",", "\"id\":7,", "\"id\":\"\",", "\"id\":\"a\\u0001\","};
    const char *contents[] = {"", "\"content\":\"hello \\u00e9 \\\"q\\\"\",", "\"content\":3,",
                              "\"content\":\"\","};
    const char *times[] = {"", "\"timestamp\":\"2026-11-01T10:00:00\",", "\"timestamp\":5,",
                           "\"timestamp\":\"not a time\","};
    const char *metas[] = {"", ",\"metadata\":{\"a\":[1,{\"b\":null}]}", ",\"metadata\":[1]"};
    const char *embs[] = {NULL, "[1,2]", "[\"x\"]", "{}", "[1e999]"};
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t c = 0; c < 4; c++)
                for (size_t d = 0; d < 3; d++)
                    for (size_t k = 0; k <= 5; k++) {
                        ak_buf_reset(&t);
                        ak_buf_printf(&t, "{%s%s%s\"embedding\":%s%s}", ids[a], contents[b],
                                      times[c], k == 5 ? "null" : k ? embs[k] : emb.data,
                                      metas[d]);
                        same_both_ways(t.data);
                    }
    /* all zeros: no vector, both ways */
    ak_buf_reset(&t);
    ak_buf_puts(&t, "{\"content\":\"z\",\"embedding\":[");
    for (int i = 0; i < AK_DIM; i++)
        ak_buf_puts(&t, i ? ",0" : "0");
    ak_buf_puts(&t, "]}");
    same_both_ways(t.data);
    ak_buf_free(&t);
    ak_buf_free(&emb);
}

int main(void)
{
    doc = ak_json_doc_new();
    if (!doc)
        return 2;
    RUN(test_full);
    RUN(test_from_values);
    RUN(test_id_wins_over_conversation_id);
    RUN(test_derived_id);
    RUN(test_content_sha256_with_given_id);
    RUN(test_embedding_values);
    RUN(test_embedding_number_forms);
    RUN(test_no_embedding);
    RUN(test_timestamps);
    RUN(test_source);
    RUN(test_metadata_raw);
    RUN(test_invalid_json);
    RUN(test_not_an_object);
    RUN(test_content_rules);
    RUN(test_content_size);
    RUN(test_id_rules);
    RUN(test_id_del_is_control);
    RUN(test_embedding_length);
    RUN(test_embedding_not_list);
    RUN(test_embedding_bad_elements);
    RUN(test_embedding_not_finite);
    RUN(test_timestamp_rules);
    RUN(test_source_rules);
    RUN(test_metadata_rules);
    RUN(test_duplicate_members);
    RUN(test_problem_names);
    RUN(test_too_large);
    RUN(test_many_records_one_doc);
    RUN(test_reject_then_accept);
    RUN(test_parts);
    RUN(test_parts_rules);
    ak_json_doc_free(doc);
    return test_report("record");
}
