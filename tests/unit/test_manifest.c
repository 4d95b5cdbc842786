/* test_manifest.c - ingest/manifest: a full manifest, defaults, nulls as
 * absent, and one test per rule of SPEC section 3 (each asserting
 * AK_ERR_INVALID and a message that starts with the field name). */
#include "ingest/manifest.h"
#include "util/buf.h"
#include "util/time.h"
#include "test.h"

#include <stddef.h>
#include <stdint.h>

#define MIN_US (60 * AK_US_PER_SEC)
#define T0 "2025-06-01T12:00:00Z"
#define T0_US INT64_C(1748779200000000) /* T0 in microseconds */
#define NOW (T0_US + MIN_US)           /* the clock most tests use */
#define BASE "{\"uploaded_at\": \"" T0 "\", \"conversation_count\": 10"
#define CHECKSUM_HEX "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210"

/* ---- helpers ---- */

/* 1 if text parses; otherwise prints the message and returns 0. */
static int accepts_at(const char *text, int64_t now)
{
    ak_manifest m;
    ak_err e = {0};
    ak_code rc = ak_manifest_parse(text, strlen(text), now, &m, &e);
    if (rc != AK_OK)
        fprintf(stderr, "  unexpected rejection (%s): %s\n  of %s\n", ak_code_name(rc),
                e.msg, text);
    ak_manifest_free(&m);
    return rc == AK_OK;
}

static int accepts(const char *text) { return accepts_at(text, NOW); }

/* 1 if parsing text[0..len) gives AK_ERR_INVALID with a message starting
 * with "<field>:" (or containing `field` when field starts with '~'). */
static int rejects_n(const char *text, size_t len, int64_t now, const char *field)
{
    ak_manifest m;
    ak_err e = {0};
    ak_code rc = ak_manifest_parse(text, len, now, &m, &e);
    int ok = rc == AK_ERR_INVALID && e.code == AK_ERR_INVALID;
    if (field[0] == '~')
        ok = ok && strstr(e.msg, field + 1) != NULL;
    else
        ok = ok && strncmp(e.msg, field, strlen(field)) == 0 && e.msg[strlen(field)] == ':';
    if (!ok)
        fprintf(stderr, "  expected %s rejection, got %s: \"%s\"\n  for %.200s\n", field,
                ak_code_name(rc), e.msg, text);
    /* Freed by the parser already; freeing again must be harmless. */
    if (rc != AK_OK)
        CHECK(m.files == NULL && m.system_type == NULL && m.metadata == NULL);
    ak_manifest_free(&m);
    return ok;
}

static int rejects_at(const char *text, int64_t now, const char *field)
{
    return rejects_n(text, strlen(text), now, field);
}

static int rejects(const char *text, const char *field)
{
    return rejects_at(text, NOW, field);
}

/* BASE + extra + "}" in a static buffer. */
static const char *with(const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s%s}", BASE, extra);
    return buf;
}

/* ---- valid manifests ---- */

static void test_t0_constant(void)
{
    int64_t us = 0;
    CHECK(ak_time_parse(T0, strlen(T0), &us));
    CHECK_INT(us, T0_US);
}

static void test_full(void)
{
    const char *text =
        "{\n"
        "  \"uploaded_at\": \"2025-06-01T14:00:00+02:00\",\n"
        "  \"conversation_count\": 1234,\n"
        "  \"total_size_bytes\": 5678901,\n"
        "  \"version\": \"1.7\",\n"
        "  \"system_type\": \"session-buddy/linux\",\n"
        "  \"checksum\": \"" CHECKSUM_HEX "\",\n"
        "  \"compressed\": true,\n"
        "  \"compression_format\": \"zstd\",\n"
        "  \"files\": [\"part-2.jsonl\", \"part-1.json\", \"a_b.ndjson\"],\n"
        "  \"metadata\": {\"host\": \"box\",  \"n\" : [1, 2]},\n"
        "  \"unknown_field\": {\"ignored\": true}\n"
        "}\n";
    static const uint8_t want_sum[32] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
        0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
        0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
    ak_manifest m;
    ak_err e = {0};
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, &e), AK_OK);
    CHECK_INT(m.uploaded_at_us, T0_US);
    CHECK_INT(m.conversation_count, 1234);
    CHECK_INT(m.total_size_bytes, 5678901);
    CHECK_STR(m.version, "1.7");
    CHECK_STR(m.system_type, "session-buddy/linux");
    CHECK_INT(m.has_checksum, 1);
    CHECK(memcmp(m.checksum, want_sum, 32) == 0);
    CHECK_INT(m.codec, AK_CODEC_ZSTD);
    CHECK_INT(m.n_files, 3);
    if (m.n_files == 3) {
        CHECK_STR(m.files[0].name, "part-2.jsonl");
        CHECK_STR(m.files[1].name, "part-1.json");
        CHECK_STR(m.files[2].name, "a_b.ndjson");
    }
    CHECK_STR(m.metadata, "{\"host\": \"box\",  \"n\" : [1, 2]}");
    ak_manifest_free(&m);
    CHECK(m.files == NULL && m.metadata == NULL && m.system_type == NULL);
    ak_manifest_free(&m); /* twice is harmless */
}

static void test_codecs(void)
{
    static const struct { const char *name; ak_codec codec; } cases[] = {
        {"gzip", AK_CODEC_GZIP}, {"zstd", AK_CODEC_ZSTD}, {"lz4", AK_CODEC_LZ4}};
    for (size_t i = 0; i < 3; i++) {
        char extra[128];
        snprintf(extra, sizeof extra, ", \"compressed\": true, \"compression_format\": \"%s\"",
                 cases[i].name);
        const char *text = with(extra);
        ak_manifest m;
        CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, NULL), AK_OK);
        CHECK_INT(m.codec, cases[i].codec);
        ak_manifest_free(&m);
    }
}

static void check_defaults(const char *text)
{
    ak_manifest m;
    ak_err e = {0};
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, &e), AK_OK);
    CHECK_INT(m.uploaded_at_us, T0_US);
    CHECK_INT(m.conversation_count, 10);
    CHECK_INT(m.total_size_bytes, -1);
    CHECK_STR(m.version, "1.0");
    CHECK(m.system_type == NULL);
    CHECK_INT(m.has_checksum, 0);
    CHECK_INT(m.codec, AK_CODEC_NONE);
    CHECK_INT(m.n_files, 1);
    if (m.n_files == 1)
        CHECK_STR(m.files[0].name, "memories.json");
    CHECK(m.metadata == NULL);
    ak_manifest_free(&m);
}

static void test_defaults(void) { check_defaults(with("")); }

static void test_nulls_are_absent(void)
{
    check_defaults(with(", \"total_size_bytes\": null, \"version\": null, "
                        "\"system_type\": null, \"checksum\": null, \"compressed\": null, "
                        "\"compression_format\": null, \"files\": null, \"metadata\": null"));
    /* compressed false is the default too */
    check_defaults(with(", \"compressed\": false, \"compression_format\": null"));
    /* required fields given as null are missing */
    CHECK(rejects("{\"uploaded_at\": null, \"conversation_count\": 1}", "uploaded_at"));
    CHECK(rejects("{\"uploaded_at\": \"" T0 "\", \"conversation_count\": null}",
                  "conversation_count"));
}

static void test_unknown_fields_ignored(void)
{
    CHECK(accepts(with(", \"extra\": [1, {\"x\": null}], \"Version\": 7")));
}

/* ---- uploaded_at ---- */

static void test_uploaded_at_missing(void)
{
    CHECK(rejects("{\"conversation_count\": 10}", "uploaded_at"));
}

static void test_uploaded_at_not_string(void)
{
    CHECK(rejects("{\"uploaded_at\": 1748779200, \"conversation_count\": 10}", "uploaded_at"));
    CHECK(rejects("{\"uploaded_at\": true, \"conversation_count\": 10}", "uploaded_at"));
    CHECK(rejects("{\"uploaded_at\": [\"" T0 "\"], \"conversation_count\": 10}", "uploaded_at"));
}

static void test_uploaded_at_not_iso(void)
{
    CHECK(rejects("{\"uploaded_at\": \"yesterday\", \"conversation_count\": 10}", "uploaded_at"));
    CHECK(rejects("{\"uploaded_at\": \"\", \"conversation_count\": 10}", "uploaded_at"));
    CHECK(rejects("{\"uploaded_at\": \"2025-13-01T00:00:00Z\", \"conversation_count\": 10}",
                  "uploaded_at"));
    CHECK(rejects("{\"uploaded_at\": \"01/06/2025\", \"conversation_count\": 10}", "uploaded_at"));
}

static void test_uploaded_at_future(void)
{
    CHECK(rejects_at(with(""), T0_US - 6 * MIN_US, "uploaded_at"));
    CHECK(accepts_at(with(""), T0_US - 4 * MIN_US));
    CHECK(accepts_at(with(""), T0_US - 5 * MIN_US)); /* exactly 5 minutes */
    CHECK(rejects_at(with(""), T0_US - 5 * MIN_US - 1, "uploaded_at"));
    CHECK(accepts_at(with(""), T0_US));
}

static void test_uploaded_at_too_old(void)
{
    CHECK(rejects_at(with(""), T0_US + 366 * AK_US_PER_DAY, "uploaded_at"));
    CHECK(accepts_at(with(""), T0_US + 364 * AK_US_PER_DAY));
    CHECK(accepts_at(with(""), T0_US + 365 * AK_US_PER_DAY)); /* exactly 365 days */
    CHECK(rejects_at(with(""), T0_US + 365 * AK_US_PER_DAY + 1, "uploaded_at"));
}

/* ---- conversation_count ---- */

static const char *count_manifest(const char *count)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "{\"uploaded_at\": \"" T0 "\", \"conversation_count\": %s}", count);
    return buf;
}

static void test_count_missing(void)
{
    CHECK(rejects("{\"uploaded_at\": \"" T0 "\"}", "conversation_count"));
}

static void test_count_rules(void)
{
    static const char *const bad[] = {"-1", "1000001", "1.5", "\"10\"", "1e3", "true",
                                      "[10]", "10.0", "-0.0", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(rejects(count_manifest(bad[i]), "conversation_count"));
    static const char *const good[] = {"0", "1", "1000000", "-0"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(accepts(count_manifest(good[i])));
}

static void test_count_value(void)
{
    ak_manifest m;
    const char *text = count_manifest("1000000");
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, NULL), AK_OK);
    CHECK_INT(m.conversation_count, 1000000);
    ak_manifest_free(&m);
}

/* ---- total_size_bytes ---- */

static void test_total_size(void)
{
    CHECK(rejects(with(", \"total_size_bytes\": -1"), "total_size_bytes"));
    CHECK(rejects(with(", \"total_size_bytes\": 100000000001"), "total_size_bytes"));
    CHECK(rejects(with(", \"total_size_bytes\": 1.5"), "total_size_bytes"));
    CHECK(rejects(with(", \"total_size_bytes\": \"5\""), "total_size_bytes"));
    CHECK(rejects(with(", \"total_size_bytes\": 1e3"), "total_size_bytes"));
    CHECK(accepts(with(", \"total_size_bytes\": 0")));
    ak_manifest m;
    const char *text = with(", \"total_size_bytes\": 100000000000");
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, NULL), AK_OK);
    CHECK_INT(m.total_size_bytes, INT64_C(100000000000));
    ak_manifest_free(&m);
}

/* ---- version ---- */

static void test_version_rules(void)
{
    static const char *const bad[] = {"\"2.0\"", "\"1\"", "\"1.0.0\"", "\"a.b\"", "1.0",
                                      "\"\"", "\"1.\"", "\".5\"", "\" 1.0\"", "\"1.0 \"",
                                      "\"0.9\"", "\"11.0\"", "\"1.0a\"", "\"-1.0\"",
                                      "\"1.0\\u0000\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ", \"version\": %s", bad[i]);
        CHECK(rejects(with(extra), "version"));
    }
}

static void test_version_accepted(void)
{
    static const char *const good[] = {"1.0", "1.5", "01.5", "1.123", "001.0"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ", \"version\": \"%s\"", good[i]);
        const char *text = with(extra);
        ak_manifest m;
        ak_err e = {0};
        CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, &e), AK_OK);
        CHECK_STR(m.version, good[i]);
        ak_manifest_free(&m);
    }
    /* longer than the struct's version buffer: rejected, never overflowed */
    CHECK(rejects(with(", \"version\": \"1.00000000000000000000\""), "version"));
}

/* ---- system_type ---- */

static void test_system_type(void)
{
    char extra[512], name[256];
    CHECK(rejects(with(", \"system_type\": \"\""), "system_type"));
    CHECK(rejects(with(", \"system_type\": 5"), "system_type"));
    memset(name, 'x', 51);
    name[51] = '\0';
    snprintf(extra, sizeof extra, ", \"system_type\": \"%s\"", name);
    CHECK(rejects(with(extra), "system_type"));
    name[50] = '\0';
    snprintf(extra, sizeof extra, ", \"system_type\": \"%s\"", name);
    CHECK(accepts(with(extra)));

    /* 50 two-byte characters (100 bytes) are 50 characters */
    name[0] = '\0';
    for (int i = 0; i < 50; i++)
        strcat(name, "\xC3\xA9");
    snprintf(extra, sizeof extra, ", \"system_type\": \"%s\"", name);
    const char *text = with(extra);
    ak_manifest m;
    ak_err e = {0};
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, &e), AK_OK);
    CHECK_STR(m.system_type, name);
    ak_manifest_free(&m);
    /* 51 of them are too many */
    strcat(name, "\xC3\xA9");
    snprintf(extra, sizeof extra, ", \"system_type\": \"%s\"", name);
    CHECK(rejects(with(extra), "system_type"));
    /* escaped form counts the same: 50 x \u00e9 */
    char esc[512] = "";
    for (int i = 0; i < 50; i++)
        strcat(esc, "\\u00e9");
    snprintf(extra, sizeof extra, ", \"system_type\": \"%s\"", esc);
    CHECK(accepts(with(extra)));
}

/* A NUL cannot survive in the C string the struct holds: "\u0000abc" would
 * be kept as "" (breaking the 1-50 rule after the check), "a\u0000b" as "a". */
static void test_system_type_nul(void)
{
    CHECK(rejects(with(", \"system_type\": \"\\u0000abc\""), "system_type"));
    CHECK(rejects(with(", \"system_type\": \"a\\u0000b\""), "system_type"));
}

/* ---- checksum ---- */

static void test_checksum(void)
{
    char hex[80], extra[128];
    strcpy(hex, CHECKSUM_HEX);
    hex[10] = 'A';
    snprintf(extra, sizeof extra, ", \"checksum\": \"%s\"", hex);
    CHECK(rejects(with(extra), "checksum"));
    strcpy(hex, CHECKSUM_HEX);
    hex[63] = '\0';
    snprintf(extra, sizeof extra, ", \"checksum\": \"%s\"", hex);
    CHECK(rejects(with(extra), "checksum"));
    strcpy(hex, CHECKSUM_HEX);
    strcat(hex, "0");
    snprintf(extra, sizeof extra, ", \"checksum\": \"%s\"", hex);
    CHECK(rejects(with(extra), "checksum"));
    strcpy(hex, CHECKSUM_HEX);
    hex[63] = 'g';
    snprintf(extra, sizeof extra, ", \"checksum\": \"%s\"", hex);
    CHECK(rejects(with(extra), "checksum"));
    strcpy(hex, CHECKSUM_HEX);
    hex[0] = ' ';
    snprintf(extra, sizeof extra, ", \"checksum\": \"%s\"", hex);
    CHECK(rejects(with(extra), "checksum"));
    CHECK(rejects(with(", \"checksum\": 12"), "checksum"));
    CHECK(rejects(with(", \"checksum\": \"\""), "checksum"));
    /* all uppercase is still uppercase */
    CHECK(rejects(with(", \"checksum\": "
                       "\"00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210\""),
                  "checksum"));
}

/* ---- compression ---- */

static void test_compressed_not_bool(void)
{
    CHECK(rejects(with(", \"compressed\": \"true\", \"compression_format\": \"gzip\""),
                  "compressed"));
    CHECK(rejects(with(", \"compressed\": 1, \"compression_format\": \"gzip\""), "compressed"));
    CHECK(rejects(with(", \"compressed\": 0"), "compressed"));
}

static void test_compression_format(void)
{
    CHECK(rejects(with(", \"compressed\": true"), "compression_format"));
    CHECK(rejects(with(", \"compressed\": true, \"compression_format\": null"),
                  "compression_format"));
    CHECK(rejects(with(", \"compressed\": false, \"compression_format\": \"gzip\""),
                  "compression_format"));
    CHECK(rejects(with(", \"compression_format\": \"gzip\""), "compression_format"));
    CHECK(rejects(with(", \"compressed\": true, \"compression_format\": \"bzip2\""),
                  "compression_format"));
    CHECK(rejects(with(", \"compressed\": true, \"compression_format\": \"GZIP\""),
                  "compression_format"));
    CHECK(rejects(with(", \"compressed\": true, \"compression_format\": \"\""),
                  "compression_format"));
    CHECK(rejects(with(", \"compressed\": true, \"compression_format\": 1"),
                  "compression_format"));
    CHECK(rejects(with(", \"compressed\": true, \"compression_format\": \"gzip\\u0000x\""),
                  "compression_format"));
}

/* ---- files ---- */

static void test_files_not_list(void)
{
    CHECK(rejects(with(", \"files\": \"memories.json\""), "files"));
    CHECK(rejects(with(", \"files\": {\"a\": \"b.json\"}"), "files"));
    CHECK(rejects(with(", \"files\": [\"a.json\", 3]"), "files"));
    CHECK(rejects(with(", \"files\": [null]"), "files"));
    CHECK(rejects(with(", \"files\": [[\"a.json\"]]"), "files"));
}

static void test_files_bad_names(void)
{
    static const char *const bad[] = {"a..json", "..", "../x.json", "a/b.json", "/etc",
                                      "~x.json", "a~", "a b.json", "a\\u0000b", "\\u0000",
                                      "", "a\\\\b", "a:b", "\\u00e9.json", "a\\nb"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char extra[128];
        snprintf(extra, sizeof extra, ", \"files\": [\"ok.json\", \"%s\"]", bad[i]);
        CHECK(rejects(with(extra), "files"));
    }
}

static void test_files_name_length(void)
{
    char name[300], extra[400];
    memset(name, 'n', 256);
    name[256] = '\0';
    snprintf(extra, sizeof extra, ", \"files\": [\"%s\"]", name);
    CHECK(rejects(with(extra), "files"));
    name[255] = '\0';
    snprintf(extra, sizeof extra, ", \"files\": [\"%s\"]", name);
    CHECK(accepts(with(extra)));
}

static void test_files_too_many(void)
{
    ak_buf b = {0};
    ak_buf_puts(&b, BASE ", \"files\": [");
    for (int i = 0; i < AK_MANIFEST_MAX_FILES; i++)
        ak_buf_printf(&b, "%s\"f%05d.json\"", i ? "," : "", i);
    size_t mark = b.len;
    ak_buf_puts(&b, "]}");
    ak_manifest m;
    ak_err e = {0};
    CHECK_INT(ak_manifest_parse(b.data, b.len, NOW, &m, &e), AK_OK);
    CHECK_INT(m.n_files, AK_MANIFEST_MAX_FILES);
    if (m.n_files == AK_MANIFEST_MAX_FILES)
        CHECK_STR(m.files[AK_MANIFEST_MAX_FILES - 1].name, "f09999.json");
    ak_manifest_free(&m);
    b.len = mark;
    ak_buf_puts(&b, ",\"one-more.json\"]}");
    CHECK(rejects_n(b.data, b.len, NOW, "files"));
    ak_buf_free(&b);
}

static void test_files_duplicates(void)
{
    CHECK(rejects(with(", \"files\": [\"a.json\", \"b.json\", \"a.json\"]"), "files"));
    /* names differing only in case are different files */
    CHECK(accepts(with(", \"files\": [\"a.json\", \"A.json\"]")));
}

static void test_files_good_names(void)
{
    ak_manifest m;
    const char *text = with(", \"files\": [\".hidden\", \"a.b.c\", \"-_.\", \"x\"]");
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, NULL), AK_OK);
    CHECK_INT(m.n_files, 4);
    if (m.n_files == 4) {
        CHECK_STR(m.files[0].name, ".hidden");
        CHECK_STR(m.files[3].name, "x");
    }
    ak_manifest_free(&m);
}

/* ---- metadata ---- */

static void test_metadata(void)
{
    CHECK(rejects(with(", \"metadata\": [1, 2]"), "metadata"));
    CHECK(rejects(with(", \"metadata\": \"x\""), "metadata"));
    CHECK(rejects(with(", \"metadata\": 5"), "metadata"));
    CHECK(rejects(with(", \"metadata\": true"), "metadata"));
    ak_manifest m;
    const char *text = with(", \"metadata\": {}");
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, NULL), AK_OK);
    CHECK_STR(m.metadata, "{}");
    ak_manifest_free(&m);
}

/* ---- document-level rules ---- */

static void test_field_twice(void)
{
    CHECK(rejects("{\"uploaded_at\": \"" T0 "\", \"uploaded_at\": \"" T0 "\", "
                  "\"conversation_count\": 1}",
                  "uploaded_at"));
    CHECK(rejects(with(", \"conversation_count\": 10"), "conversation_count"));
    CHECK(rejects(with(", \"files\": [\"a.json\"], \"files\": [\"b.json\"]"), "files"));
    CHECK(rejects(with(", \"metadata\": null, \"metadata\": {}"), "metadata"));
    /* unknown fields may repeat */
    CHECK(accepts(with(", \"x\": 1, \"x\": 2")));
}

static void test_root_not_object(void)
{
    static const char *const bad[] = {"[]", "\"manifest\"", "42", "null", "true",
                                      "[{\"uploaded_at\": \"" T0 "\", \"conversation_count\": 1}]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(rejects(bad[i], "~object"));
}

static void test_invalid_json(void)
{
    static const char *const bad[] = {"", " ", "{", "{\"uploaded_at\": }", BASE,
                                      BASE ",}", BASE "} x", "{'a': 1}",
                                      BASE ", \"x\": NaN}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ak_manifest m;
        ak_err e = {0};
        CHECK_INT(ak_manifest_parse(bad[i], strlen(bad[i]), NOW, &m, &e), AK_ERR_INVALID);
        CHECK(e.msg[0] != '\0');
        ak_manifest_free(&m);
    }
}

static void test_too_large(void)
{
    size_t max = AK_MANIFEST_MAX_BYTES;
    char *text = malloc(max + 2);
    const char *base = with("");
    size_t n = strlen(base);
    /* exactly 1 MiB: a valid manifest padded with whitespace is accepted */
    memcpy(text, base, n);
    memset(text + n, ' ', max - n);
    text[max] = '\0';
    ak_manifest m;
    ak_err e = {0};
    CHECK_INT(ak_manifest_parse(text, max, NOW, &m, &e), AK_OK);
    ak_manifest_free(&m);
    /* one byte more is rejected */
    text[max] = ' ';
    text[max + 1] = '\0';
    CHECK(rejects_n(text, max + 1, NOW, "~1 MiB"));
    free(text);
}

static void test_free_safe(void)
{
    ak_manifest m;
    memset(&m, 0, sizeof m);
    ak_manifest_free(&m);
    ak_manifest_free(&m);
    CHECK(m.files == NULL && m.n_files == 0);

    /* A failure after files/system_type were allocated (metadata is checked
     * last) must not leak: run under ASan to prove it. */
    const char *text = with(", \"system_type\": \"t\", \"files\": [\"a.json\", \"b.json\"], "
                            "\"metadata\": 7");
    ak_err e = {0};
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, &e), AK_ERR_INVALID);
    CHECK(m.files == NULL && m.n_files == 0 && m.system_type == NULL);
    ak_manifest_free(&m);
    ak_manifest_free(&m);
    /* a failure in the middle of the files list */
    text = with(", \"files\": [\"a.json\", \"b.json\", \"c/d\"]");
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, &e), AK_ERR_INVALID);
    ak_manifest_free(&m);
    /* a NULL err is allowed */
    CHECK_INT(ak_manifest_parse("[]", 2, NOW, &m, NULL), AK_ERR_INVALID);
    ak_manifest_free(&m);
}

static void test_reuse_struct(void)
{
    /* parse over a struct that still holds an earlier result's pointers
     * after free, many times: no leaks, no stale data */
    ak_manifest m;
    for (int i = 0; i < 100; i++) {
        const char *text = i % 2 ? with(", \"files\": [\"x.json\"], \"metadata\": {\"i\": 1}")
                                 : with(", \"files\": [\"x.json\"], \"metadata\": 1");
        ak_code rc = ak_manifest_parse(text, strlen(text), NOW, &m, NULL);
        CHECK_INT(rc, i % 2 ? AK_OK : AK_ERR_INVALID);
        ak_manifest_free(&m);
    }
}

/* ---- Session-Buddy's form ---- */

/* Exactly what session_buddy/storage/cloud_sync.py writes (json.dumps,
 * indent=2), plus the manifest's own entry some versions add. */
#define SB_MANIFEST(files)                                                              \
    "{\n  \"upload_id\": \"20250601_115900_les-box\",\n"                               \
    "  \"system_id\": \"les-box\",\n"                                                  \
    "  \"timestamp\": \"2025-06-01T11:59:00.123456+00:00\",\n"                         \
    "  \"files\": [" files "],\n"                                                      \
    "  \"metadata\": {\n    \"uploader\": \"session-buddy\",\n    \"version\": \"1.0.0\"\n  }\n}"
#define SB_FILE(name, size, comp, sum)                                                  \
    "\n    {\n      \"name\": \"" name "\",\n"                                           \
    "      \"path\": \"systems/les-box/uploads/20250601_115900_les-box/" name "\",\n"     \
    "      \"size_bytes\": " size ",\n      \"compression\": \"" comp "\",\n"              \
    "      \"checksum\": \"" sum "\"\n    }"

static void test_session_buddy_form(void)
{
    const char *text = SB_MANIFEST(SB_FILE("reflection.duckdb", "0", "gzip", "") ","
                                   SB_FILE("knowledge_graph.duckdb", "0", "gzip", "") ","
                                   SB_FILE("manifest.json", "0", "none", ""));
    ak_manifest m;
    ak_err e = {0};
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, &e), AK_OK);
    CHECK_INT(m.uploaded_at_us, T0_US - MIN_US + 123456);
    CHECK_INT(m.conversation_count, -1);
    CHECK_STR(m.system_id, "les-box");
    CHECK_STR(m.upload_id, "20250601_115900_les-box");
    CHECK_INT(m.n_files, 2); /* the manifest's own entry is not a payload */
    for (size_t i = 0; i < m.n_files && i < 2; i++) {
        CHECK_INT(m.files[i].codec, AK_CODEC_GZIP);
        CHECK_INT(m.files[i].size_bytes, -1); /* 0 = not given */
        CHECK_INT(m.files[i].has_checksum, 0); /* "" = not given */
    }
    if (m.n_files == 2) {
        CHECK_STR(m.files[0].name, "reflection.duckdb");
        CHECK_STR(m.files[1].name, "knowledge_graph.duckdb");
    }
    CHECK_STR(m.metadata, "{\n    \"uploader\": \"session-buddy\",\n    \"version\": \"1.0.0\"\n  }");
    ak_manifest_free(&m);
    CHECK(m.system_id == NULL && m.upload_id == NULL && m.files == NULL);
}

static void test_session_buddy_files(void)
{
    ak_manifest m;
    const char *text = SB_MANIFEST(SB_FILE("a.duckdb", "1234", "none", CHECKSUM_HEX) ","
                                   SB_FILE("b.jsonl", "7", "zstd", ""));
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, NULL), AK_OK);
    CHECK_INT(m.n_files, 2);
    if (m.n_files == 2) {
        CHECK_INT(m.files[0].codec, AK_CODEC_NONE);
        CHECK_INT(m.files[0].size_bytes, 1234);
        CHECK_INT(m.files[0].has_checksum, 1);
        CHECK_INT(m.files[0].checksum[1], 0x11);
        CHECK_INT(m.files[1].codec, AK_CODEC_ZSTD);
    }
    ak_manifest_free(&m);
    /* A name in a list of objects keeps the manifest-wide codec. */
    text = with(", \"compressed\": true, \"compression_format\": \"lz4\", "
                "\"files\": [\"x.json\", {\"name\": \"y.json\"}]");
    CHECK_INT(ak_manifest_parse(text, strlen(text), NOW, &m, NULL), AK_OK);
    CHECK(m.n_files == 2 && m.files[0].codec == AK_CODEC_LZ4 && m.files[1].codec == AK_CODEC_LZ4);
    ak_manifest_free(&m);
}

static void test_session_buddy_rules(void)
{
    CHECK(rejects(SB_MANIFEST(SB_FILE("r.duckdb", "0", "brotli", "")), "files"));
    CHECK(rejects(SB_MANIFEST(SB_FILE("r.duckdb", "-1", "gzip", "")), "files"));
    CHECK(rejects(SB_MANIFEST(SB_FILE("r.duckdb", "1.5", "gzip", "")), "files"));
    CHECK(rejects(SB_MANIFEST(SB_FILE("r.duckdb", "0", "gzip", "abc")), "files"));
    CHECK(rejects(SB_MANIFEST(SB_FILE("../r.duckdb", "0", "gzip", "")), "files"));
    CHECK(rejects(SB_MANIFEST(SB_FILE("r.duckdb", "0", "gzip", "") "," SB_FILE("r.duckdb", "0", "none", "")),
                  "files"));
    CHECK(rejects(SB_MANIFEST("{\"path\": \"x\"}"), "files"));
    CHECK(rejects(SB_MANIFEST("{\"name\": 5}"), "files"));
    CHECK(rejects("{\"timestamp\": \"yesterday\", \"files\": []}", "timestamp"));
    CHECK(rejects("{\"timestamp\": \"2030-01-01T00:00:00Z\", \"files\": []}", "timestamp"));
    CHECK(rejects("{\"timestamp\": \"" T0 "\", \"system_id\": \"a/b\"}", "system_id"));
    CHECK(rejects("{\"timestamp\": \"" T0 "\", \"system_id\": 7}", "system_id"));
    CHECK(rejects("{\"timestamp\": \"" T0 "\", \"upload_id\": \"..\"}", "upload_id"));
    CHECK(rejects("{\"timestamp\": \"" T0 "\", \"upload_id\": \"a\\u0000b\"}", "upload_id"));
    /* Akosha's form still needs its count; uploaded_at wins over timestamp. */
    CHECK(rejects("{\"uploaded_at\": \"" T0 "\", \"timestamp\": \"" T0 "\"}",
                  "conversation_count"));
    CHECK(accepts("{\"timestamp\": \"" T0 "\"}"));
}

int main(void)
{
    RUN(test_t0_constant);
    RUN(test_full);
    RUN(test_codecs);
    RUN(test_defaults);
    RUN(test_nulls_are_absent);
    RUN(test_unknown_fields_ignored);
    RUN(test_uploaded_at_missing);
    RUN(test_uploaded_at_not_string);
    RUN(test_uploaded_at_not_iso);
    RUN(test_uploaded_at_future);
    RUN(test_uploaded_at_too_old);
    RUN(test_count_missing);
    RUN(test_count_rules);
    RUN(test_count_value);
    RUN(test_total_size);
    RUN(test_version_rules);
    RUN(test_version_accepted);
    RUN(test_system_type);
    RUN(test_system_type_nul);
    RUN(test_checksum);
    RUN(test_compressed_not_bool);
    RUN(test_compression_format);
    RUN(test_files_not_list);
    RUN(test_files_bad_names);
    RUN(test_files_name_length);
    RUN(test_files_too_many);
    RUN(test_files_duplicates);
    RUN(test_files_good_names);
    RUN(test_metadata);
    RUN(test_field_twice);
    RUN(test_root_not_object);
    RUN(test_invalid_json);
    RUN(test_too_large);
    RUN(test_free_safe);
    RUN(test_reuse_struct);
    RUN(test_session_buddy_form);
    RUN(test_session_buddy_files);
    RUN(test_session_buddy_rules);
    return test_report("manifest");
}
