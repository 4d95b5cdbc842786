/* test_json.c - util/json (strict parser, number conversions, UTF-8 checks)
 * and util/jsonw (writer): valid and invalid documents, escapes, limits,
 * arena reuse, float32 accuracy against strtod, and writer -> parser round
 * trips; float arrays scanned sixteen digits at a time give exactly what
 * the byte-at-a-time scan gives, in every shape of number. */
#include "util/json.h"
#include "util/jsonnum.h"
#include "util/jsonw.h"
#include "util/buf.h"
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

static ak_json_doc *D; /* shared by the one-shot helpers below */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double rnd01(void) { return (double)(rng() >> 11) / 9007199254740992.0; }

/* ---- helpers ---- */

/* Parse a string that outlives the tree (literals). */
static const ak_json *parse_lit(const char *s)
{
    const ak_json *root = NULL;
    ak_err err = {0};
    if (ak_json_parse(D, s, strlen(s), &root, &err) != AK_OK) {
        fprintf(stderr, "  unexpected parse error for %s: %s\n", s, err.msg);
        return NULL;
    }
    return root;
}

/* 1 if s[0..n) is rejected the documented way: AK_ERR_INVALID and a message
 * naming the byte offset.  The text is copied to an exact-size heap block so
 * ASan catches any read past n. */
static int rejects(const char *s, size_t n)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    const ak_json *root = NULL;
    ak_err err = {0};
    ak_code rc = ak_json_parse(D, copy, n, &root, &err);
    free(copy);
    int ok = rc == AK_ERR_INVALID && strstr(err.msg, "byte ") != NULL;
    if (!ok)
        fprintf(stderr, "  not rejected properly (rc %d, \"%s\"): %.*s\n", (int)rc,
                err.msg, (int)n, s);
    return ok;
}

static int accepts(const char *s, size_t n)
{
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    const ak_json *root = NULL;
    ak_err err = {0};
    ak_code rc = ak_json_parse(D, copy, n, &root, &err);
    free(copy);
    if (rc != AK_OK)
        fprintf(stderr, "  rejected (%s): %.*s\n", err.msg, (int)n, s);
    return rc == AK_OK;
}

#define REJECT(lit) CHECK(rejects(lit, sizeof(lit) - 1))
#define ACCEPT(lit) CHECK(accepts(lit, sizeof(lit) - 1))

static int raw_is(const ak_json *v, const char *text)
{
    return v && v->raw_len == strlen(text) && memcmp(v->raw, text, v->raw_len) == 0;
}

static int str_is(const ak_json *v, const char *bytes, size_t n)
{
    return v && v->type == AK_JSON_STRING && v->str_len == n &&
           memcmp(v->str, bytes, n) == 0 && v->str[n] == '\0';
}
#define STR_IS(v, lit) str_is(v, lit, sizeof(lit) - 1)

static const ak_json *kid(const ak_json *v, unsigned i)
{
    const ak_json *k = v ? v->first : NULL;
    while (k && i--)
        k = k->next;
    return k;
}

/* Well-formed UTF-8 per Unicode Table 3-7, written independently of json.c. */
static size_t ref_seq_len(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned b0 = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t len;
    if (b0 <= 0x7F) return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF) len = 2;
    else if (b0 == 0xE0) { len = 3; lo = 0xA0; }
    else if (b0 >= 0xE1 && b0 <= 0xEC) len = 3;
    else if (b0 == 0xED) { len = 3; hi = 0x9F; }
    else if (b0 >= 0xEE && b0 <= 0xEF) len = 3;
    else if (b0 == 0xF0) { len = 4; lo = 0x90; }
    else if (b0 >= 0xF1 && b0 <= 0xF3) len = 4;
    else if (b0 == 0xF4) { len = 4; hi = 0x8F; }
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

static size_t encode_utf8(unsigned cp, unsigned char *o)
{
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- documents ---- */

static void test_scalars(void)
{
    const ak_json *v;
    CHECK((v = parse_lit("null")) && v->type == AK_JSON_NULL && raw_is(v, "null"));
    CHECK((v = parse_lit("true")) && v->type == AK_JSON_TRUE && raw_is(v, "true"));
    CHECK((v = parse_lit("false")) && v->type == AK_JSON_FALSE && raw_is(v, "false"));
    CHECK((v = parse_lit("-12.5e1")) && v->type == AK_JSON_NUMBER && raw_is(v, "-12.5e1"));
    CHECK(v && ak_json_number(v) == -125.0);
    CHECK((v = parse_lit("\"hi\"")) && STR_IS(v, "hi") && raw_is(v, "\"hi\""));
    CHECK((v = parse_lit("\"\"")) && STR_IS(v, ""));
    CHECK((v = parse_lit("[]")) && v->type == AK_JSON_ARRAY && v->n_kids == 0 && !v->first);
    CHECK((v = parse_lit("{}")) && v->type == AK_JSON_OBJECT && v->n_kids == 0 && !v->first);
    CHECK(v && !v->key && !v->next);
    REJECT("nul");
    REJECT("tru");
    REJECT("True");
    REJECT("NULL");
    REJECT("'a'");
    REJECT("undefined");
}

static void test_nested(void)
{
    static const char doc[] =
        "{\"a\":[1,2,{\"b\":null}],\"c\":{},\"d\":[[[\"x\"]]],\"e\":true}";
    const ak_json *r = parse_lit(doc);
    CHECK(r && r->type == AK_JSON_OBJECT && r->n_kids == 4);
    if (!r)
        return;
    CHECK(raw_is(r, doc));
    const ak_json *a = ak_json_get(r, "a");
    CHECK(a && a->type == AK_JSON_ARRAY && a->n_kids == 3);
    CHECK(raw_is(a, "[1,2,{\"b\":null}]"));
    CHECK(a && a->key_len == 1 && strcmp(a->key, "a") == 0);
    CHECK(raw_is(kid(a, 0), "1") && raw_is(kid(a, 1), "2"));
    CHECK(kid(a, 0) && !kid(a, 0)->key); /* array elements have no key */
    const ak_json *o = kid(a, 2);
    CHECK(o && o->type == AK_JSON_OBJECT && o->n_kids == 1 && raw_is(o, "{\"b\":null}"));
    CHECK(o && ak_json_get(o, "b") && ak_json_get(o, "b")->type == AK_JSON_NULL);
    CHECK(!kid(a, 3));
    const ak_json *c = ak_json_get(r, "c");
    CHECK(c && c->type == AK_JSON_OBJECT && c->n_kids == 0 && raw_is(c, "{}"));
    const ak_json *d = ak_json_get(r, "d");
    CHECK(d && d->n_kids == 1 && kid(d, 0)->n_kids == 1);
    CHECK(d && STR_IS(kid(kid(kid(d, 0), 0), 0), "x"));
    CHECK(ak_json_get(r, "e") && ak_json_get(r, "e")->type == AK_JSON_TRUE);
    CHECK(ak_json_get(r, "e") && !ak_json_get(r, "e")->next);
}

static void test_whitespace(void)
{
    static const char doc[] = " \t\r\n[ 1 ,\n\t\"x\" , { \"k\" : [ ] } ]\r\n ";
    const ak_json *r = parse_lit(doc);
    CHECK(r && r->type == AK_JSON_ARRAY && r->n_kids == 3);
    /* raw spans start at the value and stop at its last byte */
    CHECK(r && r->raw == doc + 4 && r->raw[r->raw_len - 1] == ']');
    CHECK(raw_is(kid(r, 0), "1"));
    CHECK(raw_is(kid(r, 1), "\"x\""));
    CHECK(raw_is(kid(r, 2), "{ \"k\" : [ ] }"));
    CHECK(kid(r, 2) && raw_is(ak_json_get(kid(r, 2), "k"), "[ ]"));
    ACCEPT("  1  ");
    REJECT("\f1");     /* form feed is not JSON whitespace */
    REJECT("1\v");
    REJECT("[1,\xC2\xA0" "2]"); /* nor is NBSP */
}

static void test_get(void)
{
    const ak_json *r = parse_lit("{\"a\":1,\"b\":2,\"a\":3,\"ab\":4,\"\":5}");
    CHECK(r && r->n_kids == 5);
    CHECK(raw_is(ak_json_get(r, "a"), "1")); /* first match wins */
    CHECK(raw_is(ak_json_get(r, "ab"), "4"));
    CHECK(raw_is(ak_json_get(r, ""), "5"));
    CHECK(ak_json_get(r, "A") == NULL);
    CHECK(ak_json_get(r, "abc") == NULL);
    CHECK(ak_json_get(NULL, "a") == NULL);
    r = parse_lit("[{\"a\":1}]");
    CHECK(r && ak_json_get(r, "a") == NULL); /* not an object */
    CHECK(r && ak_json_get(kid(r, 0), "a") != NULL);
}

static void test_keys_decoded(void)
{
    const ak_json *r =
        parse_lit("{\"caf\\u00e9\":1,\"a\\\"b\":2,\"nul\\u0000x\":3,\"\\ud83d\\ude00\":4}");
    CHECK(r && r->n_kids == 4);
    CHECK(raw_is(ak_json_get(r, "caf\xC3\xA9"), "1"));
    CHECK(raw_is(ak_json_get(r, "a\"b"), "2"));
    CHECK(raw_is(ak_json_get(r, "\xF0\x9F\x98\x80"), "4"));
    const ak_json *k = kid(r, 2);
    CHECK(k && k->key_len == 5 && memcmp(k->key, "nul\0x", 5) == 0);
    CHECK(ak_json_get(r, "nul") == NULL); /* key_len is authoritative */
    REJECT("{1:2}");
    REJECT("{\"a\" 1}");
    REJECT("{\"a\":}");
    REJECT("{\"a\":1,}");
    REJECT("{,}");
    REJECT("{\"a\"}");
    REJECT("{'a':1}");
    REJECT("{a:1}");
    REJECT("[1,]");
    REJECT("[,1]");
    REJECT("[1 2]");
    REJECT("{\"a\":1 \"b\":2}");
    REJECT("{\"a\":1]");
    REJECT("[1}");
}

/* ---- strings ---- */

static void test_string_escapes(void)
{
    const ak_json *v;
    v = parse_lit("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
    CHECK(STR_IS(v, "\" \\ / \b \f \n \r \t"));
    CHECK((v = parse_lit("\"\\u0041\\u00e9\\u20AC\"")) && STR_IS(v, "A\xC3\xA9\xE2\x82\xAC"));
    CHECK((v = parse_lit("\"\\u007f\\u0080\\u07FF\\u0800\\uFFFF\"")) &&
          STR_IS(v, "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF"));
    /* surrogate pairs, hex digits in either case */
    CHECK((v = parse_lit("\"\\uD83D\\uDE00\"")) && STR_IS(v, "\xF0\x9F\x98\x80"));
    CHECK((v = parse_lit("\"\\ud83d\\uDe00\"")) && STR_IS(v, "\xF0\x9F\x98\x80"));
    CHECK((v = parse_lit("\"\\uD800\\uDC00\"")) && STR_IS(v, "\xF0\x90\x80\x80"));
    CHECK((v = parse_lit("\"\\uDBFF\\uDFFF\"")) && STR_IS(v, "\xF4\x8F\xBF\xBF"));
    CHECK((v = parse_lit("\"x\\uD834\\uDD1Ey\"")) && STR_IS(v, "x\xF0\x9D\x84\x9Ey"));
    /* \u0000 is legal and counted */
    CHECK((v = parse_lit("\"a\\u0000b\"")) && STR_IS(v, "a\0b") && v->str_len == 3);
    CHECK((v = parse_lit("\"\\u0000\"")) && v->str_len == 1 && v->str[0] == '\0');
    CHECK((v = parse_lit("\"\x7F\"")) && STR_IS(v, "\x7F")); /* DEL is not a control char to JSON */
    CHECK((v = parse_lit("\"'\"")) && STR_IS(v, "'"));
}

static void test_string_bad_escapes(void)
{
    REJECT("\"\\uD800\"");          /* lone high */
    REJECT("\"\\uDBFFx\"");
    REJECT("\"\\uD800\\u0041\"");   /* high + non-low */
    REJECT("\"\\uD800\\uD800\"");   /* high + high */
    REJECT("\"\\uD800\\n\"");
    REJECT("\"\\uD800\\");
    REJECT("\"\\uDC00\"");          /* lone low */
    REJECT("\"\\uDFFF\\uD800\"");   /* reversed pair */
    REJECT("\"\\x41\"");
    REJECT("\"\\'\"");
    REJECT("\"\\a\"");
    REJECT("\"\\U0041\"");
    REJECT("\"\\u12\"");
    REJECT("\"\\u12G4\"");
    REJECT("\"\\u 123\"");
    REJECT("\"\\u-123\"");
    REJECT("\"\\");
    REJECT("\"\\\"");
    REJECT("\"abc");
    REJECT("\"");
    REJECT("\"\\u0041");
    REJECT("\"\\uD83D\\uDE0");
}

static void test_string_control_chars(void)
{
    char doc[4] = {'"', 0, '"', 0};
    for (int c = 0; c < 0x20; c++) {
        doc[1] = (char)c;
        CHECK(rejects(doc, 3));
    }
    REJECT("\"line\nbreak\"");
    REJECT("\"tab\there\"");
    REJECT("{\"k\x01\":1}");
}

static void test_string_utf8(void)
{
    const ak_json *v;
    CHECK((v = parse_lit("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\"")) &&
          v->str_len == 19);
    ACCEPT("\"\xEF\xBF\xBF\xED\x9F\xBF\xEE\x80\x80\"");
    REJECT("\"\xC0\x80\"");         /* overlong NUL */
    REJECT("\"\xC1\xBF\"");         /* overlong */
    REJECT("\"\xE0\x80\x80\"");
    REJECT("\"\xE0\x9F\xBF\"");
    REJECT("\"\xF0\x80\x80\x80\"");
    REJECT("\"\xF0\x8F\xBF\xBF\"");
    REJECT("\"\xED\xA0\x80\"");     /* UTF-16 surrogate D800 */
    REJECT("\"\xED\xBF\xBF\"");
    REJECT("\"\xF4\x90\x80\x80\""); /* > U+10FFFF */
    REJECT("\"\xF5\x80\x80\x80\"");
    REJECT("\"\xF8\x88\x80\x80\x80\"");
    REJECT("\"\xFE\"");
    REJECT("\"\xFF\"");
    REJECT("\"\x80\"");             /* stray continuation */
    REJECT("\"a\xBF" "b\"");
    REJECT("\"\xC3\"");             /* truncated before the quote */
    REJECT("\"\xC3" "A\"");
    REJECT("\"\xE2\x82\"");
    REJECT("\"\xF0\x9F\x98\"");
    REJECT("\"\xF0\x9F\x98");       /* truncated at end of input */
    REJECT("\"\xE2");
    REJECT("{\"\xC0\xAF\":1}");     /* keys too */
}

/* ---- numbers ---- */

static void test_number_grammar(void)
{
    static const char *bad[] = {
        "01", "-01", "00", "1.", "-1.", ".5", "-.5", "-", "--1", "+1", "1e", "1E",
        "1e+", "1e-", "1.e5", "1.5.2", "1e5e5", "1e5.5", "0x10", "0X10", "NaN",
        "nan", "Infinity", "-Infinity", "inf", "1_000", "1,5", "- 1", "1 2", "0.",
        "[01]", "[1.]", "[.5]", "[-]", "[1e]", "{\"a\":+1}", "\xEF\xBC\x91", "e5",
        "1f", "1d", "0b1", "1e5x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(rejects(bad[i], strlen(bad[i])));
    static const char *good[] = {
        "0", "-0", "1", "-1", "0.0", "-0.0", "1.5", "10", "1e5", "1E5", "1e+5",
        "1e-5", "1E-05", "0e0", "-0.0e-0", "123456789012345678901234567890",
        "0.00000000000000000000000000000000000001", "1.7976931348623157e308",
        "4.9e-324", "1e400", "-1e400", "1e-400", "9223372036854775808",
        "1e99999999999999999999",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        CHECK(accepts(good[i], strlen(good[i])));
        const ak_json *v = parse_lit(good[i]);
        CHECK(v && v->type == AK_JSON_NUMBER && raw_is(v, good[i]));
    }
}

static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_number_exact(void)
{
    static const char *texts[] = {
        "0.1", "-0.1", "3.141592653589793", "2.2250738585072014e-308",
        "2.2250738585072011e-308", "4.9e-324", "2.4703282292062327e-324",
        "1e23", "8.98846567431158e307", "9007199254740993", "1.7976931348623157e308",
        "1.7976931348623159e308", "1e400", "-1e400", "1e-400", "-0", "-0.0",
        "123456789012345678901234567890123456789012345678901234567890e-40",
        "0.1000000000000000055511151231257827021181583404541015625",
        "0.30000000000000004440892098500626161694526672363281250000000000001",
        "2.22507385850720113605740979670913197593481954635164564e-308",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        const ak_json *v = parse_lit(texts[i]);
        CHECK(v && same_double(ak_json_number(v), strtod(texts[i], NULL)));
    }
    const ak_json *v = parse_lit("1e400");
    CHECK(v && isinf(ak_json_number(v)) && ak_json_number(v) > 0);
    CHECK((v = parse_lit("-0")) && signbit(ak_json_number(v)));
    /* random doubles, shortest-ish and long forms */
    char s[64];
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = rng();
        double x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x))
            continue;
        snprintf(s, sizeof s, i & 1 ? "%.17g" : "%.20e", x);
        v = parse_lit(s);
        bad += !v || !same_double(ak_json_number(v), x);
    }
    CHECK_INT(bad, 0);
}

static void test_int64(void)
{
    static const struct { const char *text; int ok; int64_t val; } t[] = {
        {"0", 1, 0},
        {"-0", 1, 0},
        {"42", 1, 42},
        {"-42", 1, -42},
        {"9223372036854775807", 1, INT64_MAX},
        {"-9223372036854775808", 1, INT64_MIN},
        {"9223372036854775806", 1, INT64_MAX - 1},
        {"-9223372036854775807", 1, -INT64_MAX},
        {"9223372036854775808", 0, 0},
        {"-9223372036854775809", 0, 0},
        {"9223372036854775817", 0, 0},
        {"18446744073709551615", 0, 0},
        {"18446744073709551616", 0, 0},
        {"99999999999999999999", 0, 0},
        {"1.0", 0, 0},
        {"1e3", 0, 0},
        {"1E3", 0, 0},
        {"-1.5", 0, 0},
        {"0.0", 0, 0},
        {"1e0", 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        const ak_json *v = parse_lit(t[i].text);
        int64_t out = -777;
        int ok = v ? ak_json_int64(v, &out) : -1;
        if (ok != t[i].ok || (ok && out != t[i].val))
            fprintf(stderr, "  int64(%s): ok %d out %" PRId64 "\n", t[i].text, ok, out);
        CHECK_INT(ok, t[i].ok);
        if (t[i].ok)
            CHECK(out == t[i].val);
    }
    int64_t out;
    CHECK(!ak_json_int64(parse_lit("\"1\""), &out));
    CHECK(!ak_json_int64(parse_lit("true"), &out));
    CHECK(!ak_json_int64(NULL, &out));
}

/* ---- float32 ---- */

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Floats as a monotone integer line (+0 and -0 both at 0; inf one past max). */
static int64_t ford(float f)
{
    uint32_t u = fbits(f);
    return u & 0x80000000u ? -(int64_t)(u & 0x7FFFFFFFu) : (int64_t)u;
}

static int64_t ulp_dist(float a, float b)
{
    int64_t d = ford(a) - ford(b);
    return d < 0 ? -d : d;
}

/* A random float of magnitude 1e-8..1e3, either sign. */
static float rand_float(void)
{
    float f = (float)pow(10.0, -8.0 + 11.0 * rnd01());
    return rng() & 1 ? -f : f;
}

/* The text Python's repr() gives (float)f as a double: the shortest %g that
 * reads back as the same double. */
static void shortest_repr(char *s, size_t n, double x)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(s, n, "%.*g", p, x);
        if (strtod(s, NULL) == x)
            return;
    }
}

static void long_digits(char *s, size_t n)
{
    int len = 25 + (int)(rng() % 21);
    int point = (int)(rng() % (uint64_t)(len + 1));
    size_t o = 0;
    if (rng() & 1)
        s[o++] = '-';
    if (point == 0) {
        s[o++] = '0';
        s[o++] = '.';
        for (int z = (int)(rng() % 12); z > 0; z--)
            s[o++] = '0';
    }
    for (int i = 0; i < len && o + 8 < n; i++) {
        if (i == point && point > 0)
            s[o++] = '.';
        s[o++] = (char)('0' + (i == 0 && point > 0 ? 1 + rng() % 9 : rng() % 10));
    }
    if (rng() % 4 == 0)
        o += (size_t)snprintf(s + o, n - o, "e%d", (int)(rng() % 61) - 30);
    s[o] = '\0';
}

static void make_number(int kind, char *s, size_t n)
{
    static const char *zeros[] = {"0", "-0", "0.0", "-0.0", "0e0", "-0E+3", "0.000e-5"};
    static const char *fixed[] = {"1e-30", "1e38", "1e39", "-1e39", "3.4028235e38",
                                  "3.4028236e38", "1e-45", "1.4e-45", "1e-46",
                                  "1.17549435e-38", "1e-38", "1e22", "1e23", "1e-22",
                                  "1e-23", "16777217", "0.1", "340282356779733661637539395458142568448"};
    float f = rand_float();
    switch (kind) {
    case 0: snprintf(s, n, "%.17g", (double)f); break;
    case 1: snprintf(s, n, "%.9g", (double)f); break;
    case 2: snprintf(s, n, "%.3e", (double)f); break;
    case 3: shortest_repr(s, n, (double)f); break;
    case 4: snprintf(s, n, "%lld", (long long)((int64_t)rng() >> (rng() % 63))); break;
    case 5: snprintf(s, n, "%s", zeros[rng() % (sizeof zeros / sizeof *zeros)]); break;
    case 6: long_digits(s, n); break;
    case 7:
        snprintf(s, n, "%s%llue%d", rng() & 1 ? "-" : "",
                 (unsigned long long)(rng() % 1000000000), (int)(rng() % 100) - 55);
        break;
    case 8: {
        uint32_t u = (uint32_t)rng() & 0x7F7FFFFFu; /* finite, incl. subnormal */
        float g;
        memcpy(&g, &u, sizeof g);
        snprintf(s, n, "%.17g", (double)g);
        break;
    }
    default: snprintf(s, n, "%s", fixed[rng() % (sizeof fixed / sizeof *fixed)]); break;
    }
}

#define F32_BATCH 1000
#define F32_CASES 200000

static void test_float32_accuracy(void)
{
    static char texts[F32_BATCH][96];
    ak_buf doc = {0};
    long not_identical = 0, not_identical_strtof = 0, over_1ulp = 0, cases = 0;
    for (int batch = 0; batch < F32_CASES / F32_BATCH; batch++) {
        ak_buf_reset(&doc);
        ak_buf_putc(&doc, '[');
        for (int i = 0; i < F32_BATCH; i++) {
            make_number((batch * F32_BATCH + i) % 10, texts[i], sizeof texts[i]);
            if (i)
                ak_buf_putc(&doc, ',');
            ak_buf_puts(&doc, texts[i]);
        }
        ak_buf_putc(&doc, ']');
        const ak_json *root = NULL;
        CHECK(ak_json_parse(D, doc.data, doc.len, &root, NULL) == AK_OK);
        if (!root)
            break;
        CHECK_INT(root->n_kids, F32_BATCH);
        int i = 0;
        for (const ak_json *v = root->first; v; v = v->next, i++) {
            float got = ak_json_float32(v);
            float ref = (float)strtod(texts[i], NULL);
            float ref2 = strtof(texts[i], NULL);
            cases++;
            if (fbits(got) != fbits(ref))
                not_identical++;
            if (fbits(got) != fbits(ref2))
                not_identical_strtof++;
            int bad = isinf(ref) ? got != ref : ulp_dist(got, ref) > 1 || signbit(got) != signbit(ref);
            if (bad && over_1ulp++ < 10)
                fprintf(stderr, "  float32(%s) = %.9g, strtod gives %.9g\n", texts[i],
                        (double)got, (double)ref);
        }
    }
    ak_buf_free(&doc);
    CHECK_INT(over_1ulp, 0);
    CHECK_INT(cases, F32_CASES);
    printf("json: float32 %ld cases, %ld not bit-identical to (float)strtod, "
           "%ld to strtof\n", cases, not_identical, not_identical_strtof);
    /* the fast path is rarely off; more than 0.01% would mean a real defect */
    CHECK(not_identical <= cases / 10000);
}

/* Decimal texts at (or a hair off) the midpoint between two adjacent floats:
 * the only inputs where the fast path may land one ulp away. */
static void test_float32_halfway(void)
{
    char s[64];
    const ak_json *v;
    int off = 0, over = 0;
    for (int i = 0; i < 20000; i++) {
        float f = rand_float();
        double mid = ((double)f + (double)nextafterf(f, f > 0 ? INFINITY : -INFINITY)) / 2;
        snprintf(s, sizeof s, i & 1 ? "%.17g" : "%.25g", mid);
        if (!(v = parse_lit(s)))
            continue;
        float got = ak_json_float32(v), ref = (float)strtod(s, NULL);
        off += fbits(got) != fbits(ref);
        over += ulp_dist(got, ref) > 1;
    }
    printf("json: float32 halfway cases: %d of 20000 one ulp off\n", off);
    CHECK_INT(over, 0);
}

static void test_float32_special(void)
{
    static const struct { const char *text; float want; } t[] = {
        {"0", 0.0f}, {"1", 1.0f}, {"-1", -1.0f}, {"0.5", 0.5f}, {"1e-30", 1e-30f},
        {"1e38", 1e38f}, {"3.4028235e38", FLT_MAX}, {"-3.4028235e38", -FLT_MAX},
        {"1.17549435e-38", FLT_MIN}, {"1.4e-45", 1.4e-45f}, {"1e-50", 0.0f},
        {"16777217", 16777216.0f}, {"0.1", 0.1f}, {"-0.30000001192092896", -0.3f},
        {"12345678901234567890123456789", 1.2345679e28f},
        {"0.000000000000000000000000000000123456789", 1.23456789e-31f},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        const ak_json *v = parse_lit(t[i].text);
        float got = v ? ak_json_float32(v) : NAN;
        if (fbits(got) != fbits(t[i].want))
            fprintf(stderr, "  float32(%s) = %.9g\n", t[i].text, (double)got);
        CHECK(fbits(got) == fbits(t[i].want));
    }
    const ak_json *v = parse_lit("1e39");
    CHECK(v && isinf(ak_json_float32(v)) && ak_json_float32(v) > 0);
    CHECK((v = parse_lit("-1e39")) && isinf(ak_json_float32(v)) && ak_json_float32(v) < 0);
    CHECK((v = parse_lit("3.5e38")) && isinf(ak_json_float32(v)));
    CHECK((v = parse_lit("-0.0")) && ak_json_float32(v) == 0 && signbit(ak_json_float32(v)));
    CHECK((v = parse_lit("-0")) && signbit(ak_json_float32(v)));
    CHECK((v = parse_lit("0.0")) && !signbit(ak_json_float32(v)));
    CHECK((v = parse_lit("-1e-60")) && ak_json_float32(v) == 0 && signbit(ak_json_float32(v)));
}

/* ---- limits and errors ---- */

static void test_depth_limit(void)
{
    size_t n = 10000;
    char *deep = malloc(2 * n);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    ak_err err = {0};
    const ak_json *root;
    CHECK(ak_json_parse(D, deep, n, &root, &err) == AK_ERR_INVALID);
    CHECK_HAS(err.msg, "deep");
    CHECK(ak_json_parse(D, deep, 2 * n, &root, &err) == AK_ERR_INVALID);
    /* the default allows exactly AK_JSON_DEFAULT_DEPTH levels */
    size_t k = AK_JSON_DEFAULT_DEPTH;
    CHECK(ak_json_parse(D, deep + n - k, 2 * k, &root, &err) == AK_OK);
    CHECK(ak_json_parse(D, deep + n - k - 1, 2 * k + 2, &root, &err) == AK_ERR_INVALID);

    ak_json_doc *d = ak_json_doc_new();
    ak_json_doc_limits(d, 3, 0);
    CHECK(ak_json_parse(d, "[[[]]]", 6, &root, NULL) == AK_OK);
    CHECK(ak_json_parse(d, "[[[[]]]]", 8, &root, &err) == AK_ERR_INVALID);
    CHECK(ak_json_parse(d, "{\"a\":[{}]}", 10, &root, NULL) == AK_OK);
    CHECK(ak_json_parse(d, "{\"a\":[{\"b\":[]}]}", 16, &root, NULL) == AK_ERR_INVALID);
    ak_json_doc_limits(d, 2000, 0);
    CHECK(ak_json_parse(d, deep + n - 2000, 4000, &root, NULL) == AK_OK);
    CHECK(ak_json_parse(d, deep + n - 2001, 4002, &root, NULL) == AK_ERR_INVALID);
    ak_json_doc_limits(d, 0, 0); /* back to the default */
    CHECK(ak_json_parse(d, deep + n - k, 2 * k, &root, NULL) == AK_OK);
    CHECK(ak_json_parse(d, deep + n - k - 1, 2 * k + 2, &root, NULL) == AK_ERR_INVALID);
    ak_json_doc_free(d);
    free(deep);
}

static void test_node_limit(void)
{
    ak_json_doc *d = ak_json_doc_new();
    const ak_json *root;
    ak_err err = {0};
    ak_json_doc_limits(d, 0, 10);
    CHECK(ak_json_parse(d, "[1,2,3,4,5,6,7,8,9]", 19, &root, &err) == AK_OK); /* 10 values */
    CHECK(ak_json_parse(d, "[1,2,3,4,5,6,7,8,9,0]", 21, &root, &err) == AK_ERR_INVALID);
    CHECK_HAS(err.msg, "10");
    CHECK(ak_json_parse(d, "{\"a\":{\"b\":{\"c\":{\"d\":[1,2,3,4,5,6]}}}}", 37, &root, &err) ==
          AK_ERR_INVALID);
    ak_json_doc_limits(d, 0, 0);
    /* default: a 2 MB array of zeros is refused rather than becoming 1M nodes */
    size_t n = AK_JSON_DEFAULT_NODES;
    char *big = malloc(2 * n + 2);
    big[0] = '[';
    for (size_t i = 0; i < n; i++) {
        big[1 + 2 * i] = '0';
        big[2 + 2 * i] = ',';
    }
    big[2 * n] = ']';
    CHECK(ak_json_parse(d, big, 2 * n + 1, &root, &err) == AK_ERR_INVALID);
    CHECK_HAS(err.msg, "1000000");
    /* one fewer element fits exactly */
    big[2 * n - 2] = ']';
    CHECK(ak_json_parse(d, big, 2 * n - 1, &root, &err) == AK_OK);
    CHECK(root && root->n_kids == n - 1);
    free(big);
    ak_json_doc_free(d);
}

static const char sample_doc[] =
    "{\"uploaded_at\": \"2025-01-31T10:15:30Z\", \"n\": -12.5e-3, \"ok\": true,\n"
    " \"no\": false, \"nil\": null, \"esc\": \"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\",\n"
    " \"utf8\": \"caf\xC3\xA9\", \"list\": [1, [2, {\"k\": []}], {}],\n"
    " \"emb\": [0.1, -2e-5, 3]}";

static void test_truncated(void)
{
    size_t len = sizeof sample_doc - 1;
    CHECK(accepts(sample_doc, len));
    int bad = 0;
    for (size_t n = 0; n < len; n++)
        bad += !rejects(sample_doc, n);
    CHECK_INT(bad, 0);
}

static void test_trailing(void)
{
    REJECT("1 2");
    REJECT("{} x");
    REJECT("[]]");
    REJECT("{}}");
    REJECT("nullx");
    REJECT("true false");
    REJECT("\"a\"\"b\"");
    REJECT("[1],");
    REJECT("1\0");
    REJECT("{}\0");
    ACCEPT("1 ");
    ACCEPT("{}\n\t ");
}

static void test_empty(void)
{
    REJECT("");
    REJECT(" ");
    REJECT(" \n\t\r ");
    ak_err err = {0};
    const ak_json *root;
    CHECK(ak_json_parse(D, "", 0, &root, &err) == AK_ERR_INVALID);
    CHECK_HAS(err.msg, "byte 0");
    CHECK(ak_json_parse(D, "", 0, &root, NULL) == AK_ERR_INVALID); /* err is optional */
}

static void test_error_offsets(void)
{
    static const struct { const char *text; const char *where; } t[] = {
        {"[1,2,x]", "byte 5"},
        {"{\"a\" 1}", "byte 5"},
        {"  tru", "byte 2"},
        {"1 2", "byte 2"},
        {"[1,]", "byte 3"},
        {"\"ab\x01\"", "byte 3"},
        {"\"ab\xC0\x80\"", "byte 3"},
        {"[01]", "byte 2"},
        {"{\"k\":1,}", "byte 7"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        ak_err err = {0};
        const ak_json *root;
        CHECK(ak_json_parse(D, t[i].text, strlen(t[i].text), &root, &err) == AK_ERR_INVALID);
        CHECK_HAS(err.msg, t[i].where);
    }
}

/* ---- arena ---- */

static void test_arena_reuse(void)
{
    ak_json_doc *d = ak_json_doc_new();
    char text[256];
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(text, sizeof text,
                         "{\"n\":%d,\"s\":\"str-%d-\\u00e9\",\"a\":[%d,%d,{\"x\":\"%*s\"}]}", i,
                         i, i * 2, -i, i % 97, "");
        const ak_json *r = NULL;
        int64_t v = -1, v2 = -1;
        char want[64];
        int wn = snprintf(want, sizeof want, "str-%d-\xC3\xA9", i);
        const ak_json *s, *a;
        if (ak_json_parse(d, text, (size_t)n, &r, NULL) != AK_OK || !ak_json_int64(ak_json_get(r, "n"), &v) ||
            v != i || !(s = ak_json_get(r, "s")) || !str_is(s, want, (size_t)wn) ||
            !(a = ak_json_get(r, "a")) || a->n_kids != 3 || !ak_json_int64(kid(a, 1), &v2) ||
            v2 != -i || ak_json_get(kid(a, 2), "x")->str_len != (size_t)(i % 97))
            bad++;
    }
    CHECK_INT(bad, 0);

    /* a document of several MB grows the arena; small ones still work after */
    ak_buf big = {0};
    ak_buf_puts(&big, "{\"items\":[");
    for (int i = 0; i < 60000; i++)
        ak_buf_printf(&big, "%s{\"id\":\"id-%06d\",\"v\":[1.5,-2,true,null]}", i ? "," : "", i);
    ak_buf_puts(&big, "],\"blob\":\"");
    size_t blob = 3 * 1024 * 1024;
    ak_buf_reserve(&big, blob);
    memset(big.data + big.len, 'z', blob);
    big.len += blob;
    ak_buf_puts(&big, "\"}");
    CHECK(big.len > 5 * 1024 * 1024);
    for (int round = 0; round < 2; round++) {
        const ak_json *r = NULL;
        CHECK(ak_json_parse(d, big.data, big.len, &r, NULL) == AK_OK);
        const ak_json *items = ak_json_get(r, "items");
        CHECK(items && items->n_kids == 60000);
        CHECK(ak_json_get(r, "blob") && ak_json_get(r, "blob")->str_len == blob);
        const ak_json *last = items ? kid(items, 59999) : NULL;
        CHECK(last && STR_IS(ak_json_get(last, "id"), "id-059999"));
        for (int i = 0; i < 100; i++) {
            CHECK(ak_json_parse(d, "{\"a\":[1,\"two\"]}", 15, &r, NULL) == AK_OK);
            CHECK(r && STR_IS(kid(ak_json_get(r, "a"), 1), "two"));
        }
    }
    ak_buf_free(&big);
    ak_json_doc_free(d);
    ak_json_doc_free(NULL);
}

/* ---- UTF-8 ---- */

static void test_utf8_seq_len(void)
{
    static const struct { const char *s; size_t n, want; } t[] = {
        {"A", 1, 1}, {"\0", 1, 1}, {"\x7F", 1, 1}, {"", 0, 0},
        {"\xC2\x80", 2, 2}, {"\xDF\xBF", 2, 2}, {"\xC0\x80", 2, 0}, {"\xC1\xBF", 2, 0},
        {"\xC2\x41", 2, 0}, {"\xC2", 1, 0}, {"\xC2\x80", 1, 0},
        {"\xE0\xA0\x80", 3, 3}, {"\xE0\x9F\xBF", 3, 0}, {"\xE2\x82\xAC", 3, 3},
        {"\xE2\x82\xAC", 2, 0}, {"\xED\x9F\xBF", 3, 3}, {"\xED\xA0\x80", 3, 0},
        {"\xED\xBF\xBF", 3, 0}, {"\xEE\x80\x80", 3, 3}, {"\xEF\xBF\xBF", 3, 3},
        {"\xE2\x28\xA1", 3, 0}, {"\xF0\x90\x80\x80", 4, 4}, {"\xF0\x8F\xBF\xBF", 4, 0},
        {"\xF4\x8F\xBF\xBF", 4, 4}, {"\xF4\x90\x80\x80", 4, 0}, {"\xF5\x80\x80\x80", 4, 0},
        {"\xF0\x9F\x98\x80", 3, 0}, {"\xF8\x88\x80\x80", 4, 0}, {"\xFF", 1, 0},
        {"\x80", 1, 0}, {"\xBF", 1, 0}, {"\xC3\xA9xyz", 5, 2},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        size_t got = ak_utf8_seq_len(t[i].s, t[i].n);
        if (got != t[i].want)
            fprintf(stderr, "  case %zu: seq_len %zu, want %zu\n", i, got, t[i].want);
        CHECK(got == t[i].want);
    }
    /* every lead and second byte, with third/fourth bytes around the edges */
    static const unsigned char tail[] = {0x00, 0x41, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    long bad = 0;
    unsigned char s[4];
    for (unsigned b0 = 0; b0 < 256; b0++)
        for (unsigned b1 = 0; b1 < 256; b1++)
            for (size_t i2 = 0; i2 < sizeof tail; i2++)
                for (size_t i3 = 0; i3 < sizeof tail; i3++) {
                    s[0] = (unsigned char)b0;
                    s[1] = (unsigned char)b1;
                    s[2] = tail[i2];
                    s[3] = tail[i3];
                    for (size_t n = 1; n <= 4; n++)
                        bad += ak_utf8_seq_len((const char *)s, n) != ref_seq_len(s, n);
                }
    CHECK_INT(bad, 0);
}

static void test_utf8_valid(void)
{
    static const struct { const char *s; size_t n; int want; } t[] = {
        {"", 0, 1}, {"hello", 5, 1}, {"a\0b", 3, 1}, {"caf\xC3\xA9", 5, 1},
        {"\xE2\x82\xAC\xF0\x9F\x98\x80", 7, 1}, {"\xF4\x8F\xBF\xBF", 4, 1},
        {"abc\xC3", 4, 0}, {"\xC3" "abc", 4, 0}, {"ab\xC0\x80", 4, 0}, {"\xED\xA0\x80", 3, 0},
        {"\xED\xB0\x80", 3, 0}, {"\xF5\x80\x80\x80", 4, 0}, {"x\xFF", 2, 0},
        {"\x80" "abc", 4, 0}, {"\xE2\x82", 2, 0}, {"\xE2\x82\xAC", 2, 0},
        {"\xF0\x9F\x98", 3, 0}, {"ok\xEF\xBF\xBDok", 7, 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        int got = ak_utf8_valid(t[i].s, t[i].n);
        if (got != t[i].want)
            fprintf(stderr, "  case %zu: valid %d, want %d\n", i, got, t[i].want);
        CHECK_INT(got, t[i].want);
    }
    /* all code points, one by one, are valid */
    unsigned char s[4];
    long bad = 0;
    for (unsigned cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        size_t n = encode_utf8(cp, s);
        bad += !ak_utf8_valid((const char *)s, n) || ak_utf8_seq_len((const char *)s, n) != n;
    }
    CHECK_INT(bad, 0);
}

/* ---- writer ---- */

static void test_jw_structure(void)
{
    ak_buf b = {0};
    ak_jw w;
    ak_jw_init(&w, &b);
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "s", "x");
    ak_jw_kint(&w, "n", -3);
    ak_jw_kdouble(&w, "d", 1.5);
    ak_jw_kbool(&w, "t", 1);
    ak_jw_kbool(&w, "f", 0);
    ak_jw_key(&w, "z");
    ak_jw_null(&w);
    ak_jw_key(&w, "a");
    ak_jw_arr(&w);
    ak_jw_int(&w, 1);
    ak_jw_arr(&w);
    ak_jw_end(&w);
    ak_jw_obj(&w);
    ak_jw_end(&w);
    ak_jw_str(&w, NULL);
    ak_jw_raw(&w, "{\"k\":[1]}", 9);
    ak_jw_end(&w);
    ak_jw_key(&w, "r");
    ak_jw_raw(&w, "[true]", 6);
    ak_jw_kstr(&w, "q\"", "");
    ak_jw_end(&w);
    CHECK_INT(ak_jw_error(&w), AK_OK);
    CHECK_STR(b.data, "{\"s\":\"x\",\"n\":-3,\"d\":1.5,\"t\":true,\"f\":false,\"z\":null,"
                      "\"a\":[1,[],{},null,{\"k\":[1]}],\"r\":[true],\"q\\\"\":\"\"}");

    ak_buf_reset(&b);
    ak_jw_init(&w, &b);
    ak_jw_arr(&w);
    ak_jw_int(&w, INT64_MAX);
    ak_jw_int(&w, INT64_MIN);
    ak_jw_int(&w, 0);
    ak_jw_arr(&w);
    ak_jw_arr(&w);
    ak_jw_end(&w);
    ak_jw_str(&w, "y");
    ak_jw_end(&w);
    ak_jw_end(&w);
    CHECK_INT(ak_jw_error(&w), AK_OK);
    CHECK_STR(b.data, "[9223372036854775807,-9223372036854775808,0,[[],\"y\"]]");
    ak_buf_free(&b);
}

static void test_jw_errors(void)
{
    ak_buf b = {0};
    ak_jw w;
    ak_jw_init(&w, &b);
    ak_jw_end(&w); /* nothing open */
    CHECK(ak_jw_error(&w) != AK_OK);

    ak_buf_reset(&b);
    ak_jw_init(&w, &b);
    for (int i = 0; i < 32; i++)
        ak_jw_arr(&w);
    for (int i = 0; i < 32; i++)
        ak_jw_end(&w);
    CHECK_INT(ak_jw_error(&w), AK_OK);
    ak_jw_init(&w, &b);
    for (int i = 0; i <= AK_JW_MAX_DEPTH; i++)
        ak_jw_arr(&w);
    CHECK(ak_jw_error(&w) != AK_OK);
    ak_buf_free(&b);

    /* a buffer limit makes the error sticky */
    ak_buf lim = {0};
    lim.limit = 16;
    ak_jw_init(&w, &lim);
    ak_jw_arr(&w);
    ak_jw_str(&w, "a string longer than the limit");
    ak_jw_int(&w, 1);
    ak_jw_end(&w);
    CHECK_INT(ak_jw_error(&w), AK_ERR_INVALID);
    ak_buf_free(&lim);
}

static const char *quoted(ak_buf *b, const char *s, size_t n)
{
    ak_buf_reset(b);
    if (ak_json_quote(b, s, n) != AK_OK)
        return "(error)";
    return b->data;
}
#define QUOTED(b, lit) quoted(b, lit, sizeof(lit) - 1)

static void test_jw_escaping(void)
{
    ak_buf b = {0};
    CHECK_STR(QUOTED(&b, ""), "\"\"");
    CHECK_STR(QUOTED(&b, "plain text"), "\"plain text\"");
    CHECK_STR(QUOTED(&b, "a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
    CHECK_STR(QUOTED(&b, "\n\r\t"), "\"\\n\\r\\t\"");
    CHECK_STR(QUOTED(&b, "\b\f\x01\x1F\x7F"), "\"\\u0008\\u000c\\u0001\\u001f\x7F\"");
    CHECK_STR(QUOTED(&b, "a\0b"), "\"a\\u0000b\"");
    CHECK_STR(QUOTED(&b, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
              "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
    CHECK_STR(QUOTED(&b, "\xFF"), "\"\xEF\xBF\xBD\"");
    CHECK_STR(QUOTED(&b, "a\xC3"), "\"a\xEF\xBF\xBD\"");
    CHECK_STR(QUOTED(&b, "\xC0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    CHECK_STR(QUOTED(&b, "\xED\xA0\x80!"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!\"");
    CHECK_STR(QUOTED(&b, "\xE2\x82\x41"), "\"\xEF\xBF\xBD\xEF\xBF\xBD" "A\"");
    CHECK_STR(QUOTED(&b, "x\xF4\x90\x80\x80y"),
              "\"x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDy\"");
    /* keys go through the same escaping */
    ak_buf_reset(&b);
    ak_jw w;
    ak_jw_init(&w, &b);
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "k\n\xFF", "v\t");
    ak_jw_end(&w);
    CHECK_STR(b.data, "{\"k\\n\xEF\xBF\xBD\":\"v\\t\"}");
    ak_buf_free(&b);
}

static const char *jw_double(ak_buf *b, double x)
{
    ak_jw w;
    ak_buf_reset(b);
    ak_jw_init(&w, b);
    ak_jw_double(&w, x);
    return b->data;
}

static int sig_digits(const char *s)
{
    int n = 0, started = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') {
            started |= *s != '0';
            n += started;
        }
    return n;
}

static void test_jw_double(void)
{
    ak_buf b = {0};
    CHECK_STR(jw_double(&b, 0.1), "0.1");
    CHECK_STR(jw_double(&b, 1.0), "1");
    CHECK_STR(jw_double(&b, 0.0), "0");
    CHECK_STR(jw_double(&b, -0.0), "-0");
    CHECK_STR(jw_double(&b, 1e300), "1e+300");
    CHECK_STR(jw_double(&b, -2.5e-7), "-2.5e-07");
    CHECK_STR(jw_double(&b, 1.0 / 3), "0.3333333333333333");
    CHECK_STR(jw_double(&b, 0.1 + 0.2), "0.30000000000000004");
    CHECK_STR(jw_double(&b, 123456789.0), "123456789");
    CHECK_STR(jw_double(&b, NAN), "null");
    CHECK_STR(jw_double(&b, INFINITY), "null");
    CHECK_STR(jw_double(&b, -INFINITY), "null");
    CHECK(strtod(jw_double(&b, DBL_MAX), NULL) == DBL_MAX);
    CHECK(strtod(jw_double(&b, 5e-324), NULL) == 5e-324);
    long bad = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = rng();
        double x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x))
            continue;
        const char *s = jw_double(&b, x);
        char shorter[400];
        int nd = sig_digits(s);
        snprintf(shorter, sizeof shorter, "%.*g", nd - 1, x);
        if (strtod(s, NULL) != x || nd > 17 || !accepts(s, strlen(s)) ||
            (nd > 15 && strtod(shorter, NULL) == x))
            bad++;
    }
    CHECK_INT(bad, 0);
    ak_buf_free(&b);
}

static const char *jw_float(ak_buf *b, float x)
{
    ak_jw w;
    ak_buf_reset(b);
    ak_jw_init(&w, b);
    ak_jw_float(&w, x);
    return b->data;
}

static void test_jw_float(void)
{
    ak_buf b = {0};
    CHECK_STR(jw_float(&b, NAN), "null");
    CHECK_STR(jw_float(&b, -INFINITY), "null");
    long bad = 0;
    for (int i = 0; i < 20000; i++) {
        float f = rand_float();
        bad += strtof(jw_float(&b, f), NULL) != f;
    }
    CHECK_INT(bad, 0);
    ak_buf_free(&b);
}

/* jsonw.h: "A float printed with the shortest precision that round-trips as
 * float" - embeddings are written 384 at a time, so this matters for size. */
static void test_jw_float_shortest(void)
{
    ak_buf b = {0};
    CHECK_STR(jw_float(&b, 0.1f), "0.1");
    CHECK_STR(jw_float(&b, 1.5f), "1.5");
    CHECK_STR(jw_float(&b, -0.3f), "-0.3");
    CHECK_STR(jw_float(&b, 1e-5f), "1e-05");
    ak_buf_free(&b);
}

static void test_jw_time(void)
{
    ak_buf b = {0};
    ak_jw w;
    ak_jw_init(&w, &b);
    ak_jw_arr(&w);
    ak_jw_time(&w, 0);
    ak_jw_time(&w, 1);
    ak_jw_time(&w, -1);
    ak_jw_time(&w, INT64_C(1738318530123456));
    ak_jw_end(&w);
    CHECK_INT(ak_jw_error(&w), AK_OK);
    CHECK_STR(b.data, "[\"1970-01-01T00:00:00Z\",\"1970-01-01T00:00:00.000001Z\","
                      "\"1969-12-31T23:59:59.999999Z\",\"2025-01-31T10:15:30.123456Z\"]");
    ak_buf_free(&b);
}

/* Random bytes (controls, quotes, valid and broken UTF-8) through the writer
 * and back through the parser: valid text comes back byte for byte, each
 * byte that does not start a valid sequence comes back as U+FFFD. */
static size_t random_bytes(unsigned char *s, size_t max)
{
    size_t n = (size_t)(rng() % max), o = 0;
    while (o + 4 <= n) {
        unsigned r = (unsigned)(rng() % 10);
        if (r < 4)
            s[o++] = (unsigned char)(0x20 + rng() % 0x5F);
        else if (r == 4)
            s[o++] = (unsigned char)(rng() % 0x20);
        else if (r == 5)
            s[o++] = rng() & 1 ? '"' : '\\';
        else if (r < 8) {
            unsigned cp = (unsigned)(rng() % 0x110000);
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD;
            o += encode_utf8(cp, s + o);
        } else
            s[o++] = (unsigned char)(0x80 + rng() % 0x80);
    }
    return o;
}

static size_t sanitized(const unsigned char *s, size_t n, unsigned char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = ref_seq_len(s + i, n - i);
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    return o;
}

#define RT_STRINGS 200

static void test_jw_roundtrip(void)
{
    static unsigned char keys[RT_STRINGS][64], vals[RT_STRINGS][64];
    static size_t klen[RT_STRINGS], vlen[RT_STRINGS];
    static double dbl[RT_STRINGS];
    static int64_t ints[RT_STRINGS];
    unsigned char want[64 * 3];
    long bad = 0;
    for (int round = 0; round < 50; round++) {
        ak_buf b = {0};
        ak_jw w;
        ak_jw_init(&w, &b);
        ak_jw_arr(&w);
        for (int i = 0; i < RT_STRINGS; i++) {
            klen[i] = random_bytes(keys[i], 40);
            keys[i][klen[i]] = '\0';
            vlen[i] = random_bytes(vals[i], 64);
            uint64_t bits = rng();
            memcpy(&dbl[i], &bits, sizeof(double));
            if (!isfinite(dbl[i]))
                dbl[i] = (double)i;
            ints[i] = (int64_t)rng() >> (rng() % 64);
            ak_jw_obj(&w);
            /* ak_jw_key takes a C string: cut the key at its first NUL */
            klen[i] = strlen((const char *)keys[i]);
            ak_jw_key(&w, (const char *)keys[i]);
            ak_jw_strn(&w, (const char *)vals[i], vlen[i]);
            ak_jw_kdouble(&w, "d", dbl[i]);
            ak_jw_kint(&w, "i", ints[i]);
            ak_jw_end(&w);
        }
        ak_jw_end(&w);
        CHECK_INT(ak_jw_error(&w), AK_OK);
        CHECK(ak_utf8_valid(b.data, b.len));
        const ak_json *root = NULL;
        ak_err err = {0};
        if (ak_json_parse(D, b.data, b.len, &root, &err) != AK_OK) {
            fprintf(stderr, "  writer output does not parse: %s\n", err.msg);
            bad++;
            ak_buf_free(&b);
            continue;
        }
        const ak_json *o = root->first;
        for (int i = 0; i < RT_STRINGS && o; i++, o = o->next) {
            const ak_json *m = o->first;
            size_t wn = sanitized(keys[i], klen[i], want);
            if (!m || m->key_len != wn || memcmp(m->key, want, wn) != 0)
                bad++;
            wn = sanitized(vals[i], vlen[i], want);
            if (!m || !str_is(m, (const char *)want, wn))
                bad++;
            int64_t iv;
            const ak_json *dv = kid(o, 1); /* by position: a random key may be "d" */
            if (!dv || ak_json_number(dv) != dbl[i] || !ak_json_int64(kid(o, 2), &iv) ||
                iv != ints[i])
                bad++;
        }
        CHECK(root->n_kids == RT_STRINGS);
        ak_buf_free(&b);
    }
    CHECK_INT(bad, 0);
}

/* Members "embedding" of exactly n numbers read straight into floats: the
 * same values as the tree's, the same errors, other arrays untouched. */
static void test_float_arrays(void)
{
    ak_json_doc *plain = ak_json_doc_new(), *fast = ak_json_doc_new();
    const ak_json *a, *b;
    ak_err ea, eb;
    ak_json_doc_float_arrays(fast, "embedding", 3);
    const char *ok = "{\"m\":[{\"embedding\": [ 1.5, -2e-3 ,7 ],\"x\":[1,2,3]},"
                     "{\"embedding\":[1,2]},{\"embedding\":[1,2,\"3\"]},{\"embedding\":[1,2,3,4]},"
                     "{\"embedding\":3},{\"a\":{\"embedding\":[0.1,0.2,0.3]}}]}";
    CHECK_INT(ak_json_parse(plain, ok, strlen(ok), &a, &ea), AK_OK);
    CHECK_INT(ak_json_parse(fast, ok, strlen(ok), &b, &eb), AK_OK);
    const ak_json *m = ak_json_get(b, "m"), *pm = ak_json_get(a, "m");
    const ak_json *e0 = ak_json_get(m->first, "embedding"), *p0 = ak_json_get(pm->first, "embedding");
    CHECK(e0->floats != NULL && e0->first == NULL);
    CHECK_INT((int)e0->n_kids, 3);
    CHECK_INT((int)e0->raw_len, (int)p0->raw_len);
    int i = 0;
    for (const ak_json *x = p0->first; x; x = x->next, i++)
        CHECK(e0->floats[i] == ak_json_float32(x));
    CHECK(ak_json_get(m->first, "x")->floats == NULL); /* another name */
    for (const ak_json *it = m->first->next; it; it = it->next) {
        const ak_json *e = ak_json_get(it, "embedding");
        CHECK(!e || e->floats == NULL); /* not 3 numbers */
    }
    const ak_json *deep = ak_json_get(ak_json_get(m->first->next->next->next->next->next, "a"),
                                      "embedding");
    CHECK(deep && deep->floats && deep->floats[2] == 0.3f);
    static const char *const bad[] = {"{\"embedding\":[1,2,]}", "{\"embedding\":[1,2,3}",
                                      "{\"embedding\":[1,2,03]}", "{\"embedding\":[1,2,3] x",
                                      "{\"embedding\":[-,2,3]}"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        CHECK_INT(ak_json_parse(plain, bad[k], strlen(bad[k]), &a, &ea), AK_ERR_INVALID);
        CHECK_INT(ak_json_parse(fast, bad[k], strlen(bad[k]), &b, &eb), AK_ERR_INVALID);
        CHECK_STR(ea.msg, eb.msg);
    }
    /* the node limit counts the numbers as the tree does */
    const char *three = "{\"embedding\":[1,2,3]}";
    ak_json_doc_limits(plain, 0, 4);
    ak_json_doc_limits(fast, 0, 4);
    CHECK_INT(ak_json_parse(plain, three, strlen(three), &a, &ea), AK_ERR_INVALID);
    CHECK_INT(ak_json_parse(fast, three, strlen(three), &b, &eb), AK_ERR_INVALID);
    CHECK_STR(ea.msg, eb.msg);
    ak_json_doc_limits(fast, 0, 5);
    CHECK_INT(ak_json_parse(fast, three, strlen(three), &b, &eb), AK_OK);
    ak_json_doc_free(plain);
    ak_json_doc_free(fast);
}


/* One random number of the shapes Python and other writers produce, and
 * some no writer would (long fractions, leading zeros, exponents). */
static void random_number(ak_buf *b)
{
    static const char *const specials[] = {"0", "-0", "0.0", "-0.0", "1", "9.5", "12.25",
                                           "1e-5", "1.5E+3", "0.000", "-1.0e0", "7.",
                                           "0.1234567890123456789012345", "00.5", "-.5"};
    unsigned k = (unsigned)(rng() % 16);
    double x = (rnd01() * 2 - 1) * (k < 8 ? 1.0 : k < 11 ? 1e-3 : k < 13 ? 10.0 : 1e-6);
    if (k == 15) {
        ak_buf_puts(b, specials[rng() % (sizeof specials / sizeof *specials)]);
    } else if (k == 14) { /* a fraction of 1..40 digits, leading zeros likely */
        int n = 1 + (int)(rng() % 40), z = (int)(rng() % 25);
        ak_buf_puts(b, rng() & 1 ? "-" : "");
        ak_buf_printf(b, "%d.", (int)(rng() % 3 == 0 ? rng() % 10 : 0));
        for (int i = 0; i < n; i++)
            ak_buf_putc(b, i < z ? '0' : (char)('0' + rng() % 10));
    } else {
        ak_buf_printf(b, "%.*g", 1 + (int)(rng() % 17), x);
    }
}

/* Arrays scanned with and without the vector scan: the same floats
 * (bit for bit) and the same end, or both refused. */
static void test_float_arrays_simd(void)
{
    if (!ak_jnum_use_simd(1)) {
        printf("  (no SSE4.1 here: nothing to compare)\n");
        return;
    }
    ak_buf b = {0};
    float a[64], c[64];
    int refused = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = 1 + rng() % 64;
        ak_buf_reset(&b);
        ak_buf_putc(&b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                ak_buf_puts(&b, rng() % 8 ? "," : " ,\n ");
            random_number(&b);
        }
        ak_buf_putc(&b, ']');
        const char *end = b.data + b.len;
        ak_jnum_use_simd(1);
        const char *e1 = ak_jnum_floats(b.data, end, a, n);
        ak_jnum_use_simd(0);
        const char *e0 = ak_jnum_floats(b.data, end, c, n);
        CHECK(e1 == e0);
        refused += !e0;
        for (size_t i = 0; e0 && e1 && i < n; i++)
            if (memcmp(&a[i], &c[i], sizeof *a) != 0) {
                CHECK(0);
                fprintf(stderr, "  number %zu differs: %.9g, not %.9g, in %.300s\n", i, a[i], c[i],
                        b.data);
                round = 20000;
                break;
            }
    }
    CHECK(refused > 0 && refused < 20000); /* both kinds were seen */
    ak_jnum_use_simd(1);
    ak_buf_free(&b);
}

int main(void)
{
    D = ak_json_doc_new();
    if (!D)
        return 2;
    RUN(test_scalars);
    RUN(test_nested);
    RUN(test_whitespace);
    RUN(test_get);
    RUN(test_keys_decoded);
    RUN(test_string_escapes);
    RUN(test_string_bad_escapes);
    RUN(test_string_control_chars);
    RUN(test_string_utf8);
    RUN(test_number_grammar);
    RUN(test_number_exact);
    RUN(test_int64);
    RUN(test_float32_accuracy);
    RUN(test_float32_halfway);
    RUN(test_float32_special);
    RUN(test_depth_limit);
    RUN(test_node_limit);
    RUN(test_truncated);
    RUN(test_trailing);
    RUN(test_empty);
    RUN(test_error_offsets);
    RUN(test_arena_reuse);
    RUN(test_utf8_seq_len);
    RUN(test_utf8_valid);
    RUN(test_jw_structure);
    RUN(test_jw_errors);
    RUN(test_jw_escaping);
    RUN(test_jw_double);
    RUN(test_jw_float);
    RUN(test_jw_float_shortest);
    RUN(test_jw_time);
    RUN(test_jw_roundtrip);
    RUN(test_float_arrays);
    RUN(test_float_arrays_simd);
    ak_json_doc_free(D);
    return test_report("json");
}
