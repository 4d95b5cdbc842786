/*
 * fuzz_json.c - libFuzzer target for the JSON parser (util/json.h) and,
 * through a round trip, the JSON writer (util/jsonw.h).
 *
 * The whole input is one JSON text, parsed with small limits.  When it
 * parses:
 *   - tree invariants: counts and depth within the limits, n_kids matches
 *     the children, raw spans inside the input and shaped like their type,
 *     strings NUL-terminated valid UTF-8, keys on object members only,
 *     ak_json_get() finds the first member of a name;
 *   - numbers: ak_json_float32() within one float unit of the exact value,
 *     ak_json_int64() agrees with ak_json_number();
 *   - round trip: the tree written with ak_jw_* and parsed again is the
 *     same tree (types, decoded strings, numbers by ak_json_number(), keys
 *     in order), and writing that second tree gives the same bytes.
 * When it does not parse: AK_ERR_INVALID with a message, and an error
 * offset inside the input.
 * Either way, the member-by-member API (ak_json_obj_begin/next/value/floats,
 * the record parser's fast path) must agree with the tree: same members,
 * same values, floats within one float32 unit, and failure exactly when
 * the text is not valid JSON.  The input as a merge patch's target
 * (util/jsonpatch.h) always gives an object that parses.  And a parse
 * with ak_json_doc_float_arrays()
 * (members "e" of 3 numbers) must accept and refuse exactly the same texts
 * with the same message, and give the same tree but for those arrays, whose
 * floats are bit for bit ak_json_float32() of the tree's numbers.
 *
 * Run with scripts/fuzz.sh json [seconds].
 */
#include "fuzz_common.h"

#include "util/buf.h"
#include "util/jsonpatch.h"
#include "util/jsonw.h"

#define MAX_DEPTH 32
#define MAX_NODES 10000

static ak_json_doc *doc1, *doc2, *doc3, *doc4;
#define FLOAT_KEY "e"
#define FLOAT_N 3
static float floats[MAX_NODES + 1];

typedef struct {
    const char *text;
    size_t len;
    size_t nodes;
} walk_ctx;

static void check_number(const ak_json *v)
{
    double d = ak_json_number(v);
    FUZZ_CHECK(!isnan(d), "number %.*s converts to NaN", (int)v->raw_len, v->raw);
    float f = ak_json_float32(v);
    FUZZ_CHECK(fuzz_float_close(f, (float)d), "ak_json_float32(%.*s) = %.9g, exact %.9g",
               (int)(v->raw_len > 200 ? 200 : v->raw_len), v->raw, (double)f, (double)(float)d);
    int64_t i;
    if (ak_json_int64(v, &i)) {
        FUZZ_CHECK((double)i == d, "ak_json_int64(%.*s) = %lld but the number is %.17g",
                   (int)v->raw_len, v->raw, (long long)i, d);
        for (size_t k = v->raw[0] == '-'; k < v->raw_len; k++)
            FUZZ_CHECK(v->raw[k] >= '0' && v->raw[k] <= '9', "ak_json_int64 accepted %.*s",
                       (int)v->raw_len, v->raw);
    }
}

static void walk(walk_ctx *c, const ak_json *v, unsigned depth, int in_object)
{
    c->nodes++;
    FUZZ_CHECK(c->nodes <= MAX_NODES, "more than %d values accepted", MAX_NODES);
    FUZZ_CHECK(v->raw >= c->text && v->raw_len >= 1 &&
                   v->raw_len <= (size_t)(c->text + c->len - v->raw),
               "raw span outside the input");
    FUZZ_CHECK((v->key != NULL) == in_object, "key on a non-member or member without key");
    if (v->key) {
        FUZZ_CHECK(v->key[v->key_len] == '\0', "key not NUL-terminated");
        FUZZ_CHECK(ak_utf8_valid(v->key, v->key_len), "key is not valid UTF-8");
    }
    char first = v->raw[0], last = v->raw[v->raw_len - 1];
    switch (v->type) {
    case AK_JSON_NULL:
        FUZZ_CHECK(v->raw_len == 4 && memcmp(v->raw, "null", 4) == 0, "null raw");
        break;
    case AK_JSON_TRUE:
        FUZZ_CHECK(v->raw_len == 4 && memcmp(v->raw, "true", 4) == 0, "true raw");
        break;
    case AK_JSON_FALSE:
        FUZZ_CHECK(v->raw_len == 5 && memcmp(v->raw, "false", 5) == 0, "false raw");
        break;
    case AK_JSON_NUMBER:
        FUZZ_CHECK(first == '-' || (first >= '0' && first <= '9'), "number raw");
        FUZZ_CHECK(last >= '0' && last <= '9', "number raw ends with %c", last);
        check_number(v);
        break;
    case AK_JSON_STRING:
        FUZZ_CHECK(first == '"' && last == '"' && v->raw_len >= 2, "string raw");
        FUZZ_CHECK(v->str && v->str[v->str_len] == '\0', "string not NUL-terminated");
        FUZZ_CHECK(v->str_len <= v->raw_len - 2, "decoded string longer than its source");
        FUZZ_CHECK(ak_utf8_valid(v->str, v->str_len), "string is not valid UTF-8");
        break;
    case AK_JSON_ARRAY:
    case AK_JSON_OBJECT: {
        int obj = v->type == AK_JSON_OBJECT;
        FUZZ_CHECK(first == (obj ? '{' : '[') && last == (obj ? '}' : ']'), "container raw");
        FUZZ_CHECK(depth < MAX_DEPTH, "nesting %u accepted, limit %d", depth + 1, MAX_DEPTH);
        uint32_t n = 0;
        for (const ak_json *k = v->first; k; k = k->next, n++) {
            FUZZ_CHECK(k->raw >= v->raw && k->raw + k->raw_len <= v->raw + v->raw_len,
                       "child outside its parent's raw span");
            walk(c, k, depth + 1, obj);
            /* ak_json_get() returns the first member of that name. */
            if (obj && n < 32 && !memchr(k->key, '\0', k->key_len)) {
                const ak_json *want = v->first;
                while (want->key_len != k->key_len || memcmp(want->key, k->key, k->key_len))
                    want = want->next;
                FUZZ_CHECK(ak_json_get(v, k->key) == want, "ak_json_get(\"%s\")", k->key);
            }
        }
        FUZZ_CHECK(n == v->n_kids, "n_kids %u but %u children", v->n_kids, n);
        break;
    }
    default:
        FUZZ_CHECK(0, "unknown type %d", (int)v->type);
    }
}

/* ak_jw_key() takes a C string; a key holding "\u0000" goes in as raw text
 * (quoted with ak_json_quote) followed by the writer's after-key state. */
static void write_key(ak_jw *w, const char *key, size_t len)
{
    if (!memchr(key, '\0', len)) {
        ak_jw_key(w, key);
        return;
    }
    ak_buf q = {0};
    FUZZ_CHECK(ak_json_quote(&q, key, len) == AK_OK && ak_buf_putc(&q, ':') == AK_OK, "quote");
    ak_jw_raw(w, q.data, q.len);
    w->after_key = 1;
    ak_buf_free(&q);
}

static void write_value(ak_jw *w, const ak_json *v)
{
    switch (v->type) {
    case AK_JSON_NULL: ak_jw_null(w); break;
    case AK_JSON_TRUE: ak_jw_bool(w, 1); break;
    case AK_JSON_FALSE: ak_jw_bool(w, 0); break;
    case AK_JSON_STRING: ak_jw_strn(w, v->str, v->str_len); break;
    case AK_JSON_NUMBER: {
        double d = ak_json_number(v);
        if (isfinite(d))
            ak_jw_double(w, d);
        else /* 1e999: JSON text the writer cannot print from a double */
            ak_jw_raw(w, v->raw, v->raw_len);
        break;
    }
    case AK_JSON_ARRAY:
    case AK_JSON_OBJECT:
        if (v->type == AK_JSON_ARRAY)
            ak_jw_arr(w);
        else
            ak_jw_obj(w);
        for (const ak_json *k = v->first; k; k = k->next) {
            if (v->type == AK_JSON_OBJECT)
                write_key(w, k->key, k->key_len);
            write_value(w, k);
        }
        ak_jw_end(w);
        break;
    }
}

static void serialize(const ak_json *v, ak_buf *out)
{
    ak_jw w;
    ak_jw_init(&w, out);
    write_value(&w, v);
    FUZZ_CHECK(ak_jw_error(&w) == AK_OK, "writer error %d", (int)ak_jw_error(&w));
    FUZZ_CHECK(w.depth == 0, "writer left %d levels open", w.depth);
}

static void same_tree(const ak_json *a, const ak_json *b, const char *out)
{
    FUZZ_CHECK(a->type == b->type, "type %d became %d in %s", (int)a->type, (int)b->type, out);
    switch (a->type) {
    case AK_JSON_STRING:
        FUZZ_CHECK(a->str_len == b->str_len && memcmp(a->str, b->str, a->str_len) == 0,
                   "string changed in the round trip: %s", out);
        break;
    case AK_JSON_NUMBER: {
        double x = ak_json_number(a), y = ak_json_number(b);
        FUZZ_CHECK(x == y && signbit(x) == signbit(y), "number %.*s became %.*s",
                   (int)a->raw_len, a->raw, (int)b->raw_len, b->raw);
        break;
    }
    case AK_JSON_ARRAY:
    case AK_JSON_OBJECT: {
        FUZZ_CHECK(a->n_kids == b->n_kids, "%u children became %u", a->n_kids, b->n_kids);
        const ak_json *x = a->first, *y = b->first;
        for (; x && y; x = x->next, y = y->next) {
            if (a->type == AK_JSON_OBJECT)
                FUZZ_CHECK(x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0,
                           "key changed in the round trip: %s", out);
            same_tree(x, y, out);
        }
        FUZZ_CHECK(!x && !y, "child lists differ in length");
        break;
    }
    default:
        break;
    }
}

static int number_array(const ak_json *v)
{
    if (v->type != AK_JSON_ARRAY)
        return 0;
    for (const ak_json *k = v->first; k; k = k->next)
        if (k->type != AK_JSON_NUMBER)
            return 0;
    return 1;
}

/* The member-by-member API (ak_json_obj_*) against the tree: root is the
 * tree of the same text, or NULL when it is not valid JSON.  Number arrays
 * are read with ak_json_obj_floats() (every other member: with the right
 * count, else with a wrong one, which must consume nothing); everything
 * else with ak_json_obj_value(). */
static void check_members(const char *text, size_t len, const ak_json *root)
{
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_json_obj_begin(doc3, text, len, &e);
    if (root && root->type != AK_JSON_OBJECT) {
        FUZZ_CHECK(rc == AK_ERR_UNSUPPORTED, "ak_json_obj_begin on a non-object: %d", (int)rc);
        return;
    }
    if (rc != AK_OK) {
        FUZZ_CHECK(rc == AK_ERR_UNSUPPORTED && !root, "ak_json_obj_begin: %d %s", (int)rc, e.msg);
        return;
    }
    const ak_json *m = root ? root->first : NULL;
    for (unsigned k = 0;; k++, m = m ? m->next : NULL) {
        const char *key;
        size_t key_len;
        int r = ak_json_obj_next(doc3, &key, &key_len);
        if (r <= 0) {
            FUZZ_CHECK(r == 0 || e.msg[0], "ak_json_obj_next failed without a message");
            FUZZ_CHECK(root ? r == 0 && !m : r < 0,
                       "ak_json_obj_next returned %d at member %u; the text is %s", r, k,
                       root ? "a valid object" : "not valid JSON");
            return;
        }
        FUZZ_CHECK(!root || m, "ak_json_obj_next found a member the tree does not have");
        FUZZ_CHECK(!m || (key_len == m->key_len && memcmp(key, m->key, key_len) == 0),
                   "member %u: key differs from the tree's", k);
        if (m && number_array(m)) {
            size_t n = m->n_kids + (k & 1);
            int got = ak_json_obj_floats(doc3, floats, n);
            if (n == m->n_kids) {
                FUZZ_CHECK(got == 1, "ak_json_obj_floats(%zu) refused %zu numbers", n, n);
                size_t i = 0;
                for (const ak_json *x = m->first; x; x = x->next, i++)
                    FUZZ_CHECK(fuzz_float_close(floats[i], (float)ak_json_number(x)),
                               "ak_json_obj_floats: %.*s read as %.9g", (int)x->raw_len,
                               x->raw, (double)floats[i]);
                continue;
            }
            FUZZ_CHECK(got == 0, "ak_json_obj_floats(%zu) accepted %u numbers", n, m->n_kids);
        }
        const ak_json *v = NULL;
        rc = ak_json_obj_value(doc3, &v);
        if (rc != AK_OK) {
            FUZZ_CHECK(!root, "ak_json_obj_value failed on valid JSON: %s", e.msg);
            return;
        }
        if (m)
            same_tree(m, v, text);
    }
}

/* The input as the target of a merge patch (util/jsonpatch.h: a DuckDB
 * row's metadata, any text): the result is always an object that parses,
 * the patch's member last, its null member gone. */
static void merge_into(const char *text, size_t size)
{
    static const char patch[] = "{\"zz_gone\":null,\"zz_type\":\"c\"}";
    ak_buf out = {0};
    ak_err e;
    const ak_json *root = NULL;
    ak_code rc = ak_json_merge_patch(doc2, doc3, text, size, patch, sizeof patch - 1, &out, &e);
    FUZZ_CHECK(rc == AK_OK, "merge patch failed: %s", e.msg);
    rc = ak_json_parse(doc2, out.data, out.len, &root, &e);
    FUZZ_CHECK(rc == AK_OK && root->type == AK_JSON_OBJECT, "merge output is not an object: %s",
               out.data);
    const ak_json *last = root->first;
    while (last && last->next)
        last = last->next;
    FUZZ_CHECK(last && strcmp(last->key, "zz_type") == 0, "the patch's member is not last: %s",
               out.data);
    FUZZ_CHECK(!ak_json_get(root, "zz_gone"), "a null member was kept: %s", out.data);
    ak_buf_free(&out);
}

/* b (parsed with float arrays) against a, the plain tree of the same text. */
static void same_but_floats(const ak_json *a, const ak_json *b)
{
    FUZZ_CHECK(a->type == b->type && a->n_kids == b->n_kids && a->raw == b->raw &&
                   a->raw_len == b->raw_len, "the float-array parse differs from the tree");
    if (b->floats) {
        FUZZ_CHECK(a->type == AK_JSON_ARRAY && a->n_kids == FLOAT_N && !b->first &&
                       a->key && !strcmp(a->key, FLOAT_KEY) && a->key_len == 1,
                   "floats on a node that is not a member \"e\" of 3 numbers");
        size_t i = 0;
        for (const ak_json *x = a->first; x; x = x->next, i++) {
            float f = ak_json_float32(x);
            FUZZ_CHECK(x->type == AK_JSON_NUMBER && !memcmp(&f, &b->floats[i], sizeof f),
                       "float %zu of a float array differs from ak_json_float32", i);
        }
        return;
    }
    FUZZ_CHECK(!(a->key && a->key_len == 1 && a->key[0] == 'e' && a->type == AK_JSON_ARRAY &&
                 a->n_kids == FLOAT_N && number_array(a)),
               "a member \"e\" of 3 numbers was not read as floats");
    const ak_json *x = a->first, *y = b->first;
    for (; x && y; x = x->next, y = y->next)
        same_but_floats(x, y);
    FUZZ_CHECK(!x && !y, "child lists differ in length");
}

static void check_float_arrays(const char *text, size_t size, const ak_json *root, ak_code rc,
                               const ak_err *e)
{
    const ak_json *r4 = NULL;
    ak_err e4;
    ak_err_clear(&e4);
    ak_code rc4 = ak_json_parse(doc4, text, size, &r4, &e4);
    FUZZ_CHECK(rc4 == rc && !strcmp(e4.msg, e->msg), "float arrays: %d %s, without: %d %s",
               (int)rc4, e4.msg, (int)rc, e->msg);
    if (rc == AK_OK)
        same_but_floats(root, r4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!doc1) {
        doc1 = ak_json_doc_new();
        doc2 = ak_json_doc_new();
        doc3 = ak_json_doc_new();
        doc4 = ak_json_doc_new();
        FUZZ_CHECK(doc1 && doc2 && doc3 && doc4, "out of memory");
        ak_json_doc_limits(doc4, MAX_DEPTH, MAX_NODES);
        ak_json_doc_float_arrays(doc4, FLOAT_KEY, FLOAT_N);
        ak_json_doc_limits(doc1, MAX_DEPTH, MAX_NODES);
        ak_json_doc_limits(doc2, MAX_DEPTH, MAX_NODES);
        ak_json_doc_limits(doc3, MAX_DEPTH, MAX_NODES);
    }
    const char *text = (const char *)data;
    const ak_json *root = NULL;
    ak_err e;
    ak_err_clear(&e);
    merge_into(text, size);
    ak_code rc = ak_json_parse(doc1, text, size, &root, &e);
    check_float_arrays(text, size, root, rc, &e);
    if (rc != AK_OK) {
        FUZZ_CHECK(rc == AK_ERR_INVALID && e.code == rc && e.msg[0], "parse failed with %d: %s",
                   (int)rc, e.msg);
        unsigned long long at;
        if (sscanf(e.msg, "invalid JSON at byte %llu", &at) == 1)
            FUZZ_CHECK(at <= size, "error offset %llu beyond the input (%zu)", at, size);
        if (strncmp(e.msg, "JSON too large", 14) != 0) /* obj_* make fewer nodes */
            check_members(text, size, NULL);
        return 0;
    }
    check_members(text, size, root);

    walk_ctx c = {.text = text, .len = size};
    walk(&c, root, 0, 0);

    ak_buf out1 = {0}, out2 = {0};
    serialize(root, &out1);
    const ak_json *root2 = NULL;
    rc = ak_json_parse(doc2, out1.data, out1.len, &root2, &e);
    FUZZ_CHECK(rc == AK_OK, "writer output does not parse (%s): %s", e.msg, out1.data);
    same_tree(root, root2, out1.data);
    serialize(root2, &out2);
    FUZZ_CHECK(out1.len == out2.len && memcmp(out1.data, out2.data, out1.len) == 0,
               "writing is not stable:\n  %s\n  %s", out1.data, out2.data);
    ak_buf_free(&out1);
    ak_buf_free(&out2);
    return 0;
}
