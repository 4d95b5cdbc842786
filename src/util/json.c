/*
 * json.c - the strict JSON parser behind json.h.
 *
 * A recursive-descent parser over a byte span.  Recursion depth is bounded by
 * the doc's max_depth, so the C stack is too.  All nodes and decoded strings
 * live in the doc's arena: a chain of blocks that ak_json_parse() rewinds,
 * keeping the first block so steady-state parsing does not touch malloc.
 */
#include "util/json.h"

#include "util/jsonnum.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- arena ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t cap, used;
    max_align_t data[]; /* aligned storage */
} arena_block;

struct ak_json_doc {
    arena_block *blocks; /* current block first */
    unsigned max_depth;
    size_t max_nodes;
    /* per-parse state */
    const char *text, *p, *end;
    size_t nodes;
    ak_err *err;
    ak_err scratch; /* err target when the caller passes none */
    int in_object;  /* an ak_json_obj_* walk is under way */
    size_t float_n; /* ak_json_doc_float_arrays(): arrays of this many numbers, 0: off */
    const char *float_key; /* ... that are members of this name */
    int float_here; /* the value about to be parsed is such a member */
};

#define ARENA_MIN_BLOCK (64 * 1024)
/* Blocks beyond this total are released on rewind so that one outsized
 * document does not pin its memory for the rest of the process. */
#define ARENA_KEEP_BYTES (4 * 1024 * 1024)

static void *arena_alloc(ak_json_doc *d, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    arena_block *b = d->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_MIN_BLOCK ? n : ARENA_MIN_BLOCK;
        if (b && b->cap * 2 > cap && b->cap * 2 <= 16 * ARENA_KEEP_BYTES)
            cap = b->cap * 2;
        arena_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->cap = cap;
        nb->used = 0;
        nb->next = b;
        d->blocks = nb;
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

/* Keep the newest (largest) block if it is not oversized; free the rest. */
static void arena_rewind(ak_json_doc *d)
{
    arena_block *keep = d->blocks;
    if (!keep)
        return;
    arena_block *b = keep->next;
    keep->next = NULL;
    keep->used = 0;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    if (keep->cap > ARENA_KEEP_BYTES) {
        free(keep);
        d->blocks = NULL;
    }
}

ak_json_doc *ak_json_doc_new(void)
{
    ak_json_doc *d = calloc(1, sizeof *d);
    if (d) {
        d->max_depth = AK_JSON_DEFAULT_DEPTH;
        d->max_nodes = AK_JSON_DEFAULT_NODES;
    }
    return d;
}

void ak_json_doc_free(ak_json_doc *d)
{
    if (!d)
        return;
    arena_rewind(d);
    free(d->blocks);
    free(d);
}

void ak_json_doc_limits(ak_json_doc *d, unsigned max_depth, size_t max_nodes)
{
    d->max_depth = max_depth ? max_depth : AK_JSON_DEFAULT_DEPTH;
    d->max_nodes = max_nodes ? max_nodes : AK_JSON_DEFAULT_NODES;
}

void ak_json_doc_float_arrays(ak_json_doc *d, const char *key, size_t n)
{
    d->float_key = key;
    d->float_n = key ? n : 0;
}

/* ---- lexing helpers ---- */

static ak_code fail(ak_json_doc *d, const char *what)
{
    return ak_err_set(d->err, AK_ERR_INVALID, "invalid JSON at byte %zu: %s",
                      (size_t)(d->p - d->text), what);
}

static void skip_ws(ak_json_doc *d)
{
    while (d->p < d->end &&
           (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t'))
        d->p++;
}

static ak_json *new_node(ak_json_doc *d, ak_json_type t)
{
    if (d->nodes >= d->max_nodes) {
        ak_err_set(d->err, AK_ERR_INVALID,
                   "JSON too large: more than %zu values", d->max_nodes);
        return NULL;
    }
    ak_json *n = arena_alloc(d, sizeof *n);
    if (!n) {
        ak_err_set(d->err, AK_ERR_NOMEM, "out of memory parsing JSON");
        return NULL;
    }
    n->type = t;
    n->n_kids = 0;
    n->raw = d->p;
    n->first = n->next = NULL;
    n->key = n->str = NULL;
    n->key_len = n->str_len = 0;
    n->floats = NULL;
    d->nodes++;
    return n;
}

/* Length of the UTF-8 sequence at s (n bytes available), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; min = 0x10000; }
    else return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t ak_utf8_seq_len(const char *s, size_t n)
{
    return n ? utf8_seq((const unsigned char *)s, n) : 0;
}

int ak_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode the \u escape at d->p (pointing at 'u'), pairing surrogates. */
static ak_code unicode_escape(ak_json_doc *d, char *out, size_t *n)
{
    unsigned cp, lo;
    if (d->end - d->p < 5 || !hex4(d->p + 1, &cp))
        return fail(d, "bad \\u escape");
    d->p += 5;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(d, "lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u' ||
            !hex4(d->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return fail(d, "lone high surrogate in \\u escape");
        d->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    *n = put_utf8(out, cp);
    return AK_OK;
}

static ak_code escape_char(ak_json_doc *d, char *out, size_t *n)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (d->p >= d->end)
        return fail(d, "unterminated string");
    if (*d->p == 'u')
        return unicode_escape(d, out, n);
    const char *k = memchr(from, *d->p, sizeof from - 1);
    if (!k)
        return fail(d, "bad escape in string");
    *out = to[k - from];
    *n = 1;
    d->p++;
    return AK_OK;
}

/* How many bytes from p on are plain (ASCII from 0x20, not '"' or '\\'),
 * sixteen at a time with SSE2: a byte at a time was a fifth of a push's parse. */
static size_t plain_run(const char *p, const char *end)
{
    const char *at = p;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    for (; end - at >= 16; at += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)at);
        /* signed: bytes from 0x80 on are negative, so below 0x20 too */
        __m128i odd = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash));
        odd = _mm_or_si128(odd, _mm_cmplt_epi8(v, space));
        int mask = _mm_movemask_epi8(odd);
        if (mask)
            return (size_t)(at - p) + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    while (at < end && *at != '"' && *at != '\\' && (unsigned char)*at >= 0x20 &&
           (unsigned char)*at < 0x80)
        at++;
    return (size_t)(at - p);
}

/* Parse a string at d->p (the opening quote).  The decoded form is never
 * longer than the source, so one arena allocation of the source length
 * suffices, found by a first scan for the closing quote. */
static ak_code parse_string(ak_json_doc *d, const char **out, size_t *out_len)
{
    const char *start = ++d->p, *q = start;
    while ((q += plain_run(q, d->end)) < d->end && *q != '"')
        q += (*q == '\\' && q + 1 < d->end) ? 2 : 1;
    if (q >= d->end)
        return fail(d, "unterminated string");
    char *buf = arena_alloc(d, (size_t)(q - start) + 1);
    if (!buf)
        return ak_err_set(d->err, AK_ERR_NOMEM, "out of memory parsing JSON");
    size_t o = 0;
    for (;;) {
        size_t plain = plain_run(d->p, q);
        memcpy(buf + o, d->p, plain);
        o += plain;
        d->p += plain;
        unsigned char c = (unsigned char)*d->p;
        if (c == '"')
            break;
        if (c == '\\') {
            size_t n = 0;
            d->p++;
            ak_code rc = escape_char(d, buf + o, &n);
            if (rc)
                return rc;
            o += n;
        } else if (c < 0x20) {
            return fail(d, "control character in string");
        } else {
            size_t k = utf8_seq((const unsigned char *)d->p, (size_t)(d->end - d->p));
            if (!k)
                return fail(d, "invalid UTF-8 in string");
            memcpy(buf + o, d->p, k);
            o += k;
            d->p += k;
        }
    }
    d->p++; /* closing quote */
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return AK_OK;
}

static ak_code parse_number(ak_json_doc *d, ak_json *v)
{
    ak_jnum dec;
    const char *why = NULL;
    const char *p = ak_jnum_scan(d->p, d->end, &dec, &why);
    if (!p)
        return fail(d, why);
    v->num_digits = dec.digits;
    v->num_exp10 = dec.exp10;
    d->p = p;
    return AK_OK;
}

static ak_code parse_literal(ak_json_doc *d, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return fail(d, "unexpected character");
    d->p += n;
    return AK_OK;
}

static ak_code parse_value(ak_json_doc *d, unsigned depth, ak_json **out);

static ak_code parse_container(ak_json_doc *d, ak_json *node, unsigned depth)
{
    int is_obj = node->type == AK_JSON_OBJECT;
    char close = is_obj ? '}' : ']';
    ak_json **tail = &node->first;
    if (depth >= d->max_depth)
        return fail(d, "nested too deeply");
    d->p++;
    skip_ws(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        return AK_OK;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        ak_json *kid;
        ak_code rc;
        if (is_obj) {
            if (d->p >= d->end || *d->p != '"')
                return fail(d, "object key expected");
            if ((rc = parse_string(d, &key, &key_len)))
                return rc;
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return fail(d, "':' expected");
            d->p++;
        }
        d->float_here = is_obj && d->float_n && key_len == strlen(d->float_key) &&
                        !memcmp(key, d->float_key, key_len);
        if ((rc = parse_value(d, depth + 1, &kid)))
            return rc;
        kid->key = key;
        kid->key_len = key_len;
        *tail = kid;
        tail = &kid->next;
        node->n_kids++;
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            skip_ws(d);
            continue;
        }
        if (d->p < d->end && *d->p == close) {
            d->p++;
            return AK_OK;
        }
        return fail(d, is_obj ? "',' or '}' expected" : "',' or ']' expected");
    }
}


/* An array of exactly float_n numbers read straight into floats (no node
 * per number), when that is what the text at d->p is and the limits would
 * let the tree be built: 1 and *out set, else 0 with nothing consumed (the
 * tree parse then accepts or refuses it exactly as without this). */
static int float_array(ak_json_doc *d, unsigned depth, ak_json **out)
{
    const char *q = d->p + 1;
    while (q < d->end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
        q++;
    if (depth >= d->max_depth || d->nodes + 1 + d->float_n > d->max_nodes || q >= d->end ||
        (*q != '-' && (*q < '0' || *q > '9')))
        return 0;
    float *f = arena_alloc(d, d->float_n * sizeof *f);
    const char *after = f ? ak_jnum_floats(d->p, d->end, f, d->float_n) : NULL;
    if (!after)
        return 0; /* (the arena keeps f until the next parse) */
    ak_json *v = new_node(d, AK_JSON_ARRAY);
    if (!v)
        return 0;
    v->n_kids = (uint32_t)d->float_n;
    v->floats = f;
    v->raw_len = (size_t)(after - d->p);
    d->nodes += d->float_n; /* counted as the tree would count them */
    d->p = after;
    *out = v;
    return 1;
}

static ak_code parse_value(ak_json_doc *d, unsigned depth, ak_json **out)
{
    int floats = d->float_here;
    d->float_here = 0;
    skip_ws(d);
    if (floats && d->p < d->end && *d->p == '[' && float_array(d, depth, out))
        return AK_OK;
    if (d->p >= d->end)
        return fail(d, "unexpected end of input");
    ak_json_type t;
    switch (*d->p) {
    case '{': t = AK_JSON_OBJECT; break;
    case '[': t = AK_JSON_ARRAY; break;
    case '"': t = AK_JSON_STRING; break;
    case 't': t = AK_JSON_TRUE; break;
    case 'f': t = AK_JSON_FALSE; break;
    case 'n': t = AK_JSON_NULL; break;
    default: t = AK_JSON_NUMBER; break;
    }
    ak_json *v = new_node(d, t);
    if (!v) /* new_node said why; never AK_OK, whatever the analyzer assumes */
        return d->err->code != AK_OK ? d->err->code : AK_ERR_INTERNAL;
    ak_code rc;
    switch (t) {
    case AK_JSON_OBJECT:
    case AK_JSON_ARRAY: rc = parse_container(d, v, depth); break;
    case AK_JSON_STRING: rc = parse_string(d, &v->str, &v->str_len); break;
    case AK_JSON_TRUE: rc = parse_literal(d, "true"); break;
    case AK_JSON_FALSE: rc = parse_literal(d, "false"); break;
    case AK_JSON_NULL: rc = parse_literal(d, "null"); break;
    default: rc = parse_number(d, v); break;
    }
    if (rc)
        return rc;
    v->raw_len = (size_t)(d->p - v->raw);
    *out = v;
    return AK_OK;
}

static void start(ak_json_doc *d, const char *text, size_t len, ak_err *err)
{
    arena_rewind(d);
    d->text = d->p = text;
    d->end = text + len;
    d->nodes = 0;
    d->err = err ? err : &d->scratch;
    d->in_object = 0;
    d->float_here = 0;
}

ak_code ak_json_parse(ak_json_doc *d, const char *text, size_t len,
                      const ak_json **root, ak_err *err)
{
    start(d, text, len, err);
    ak_json *v;
    ak_code rc = parse_value(d, 0, &v);
    if (rc == AK_OK) {
        skip_ws(d);
        if (d->p != d->end)
            rc = fail(d, "trailing characters after the value");
    }
    d->err = &d->scratch;
    if (rc)
        return rc;
    *root = v;
    return AK_OK;
}

/* ---- an object member by member ---- */

ak_code ak_json_obj_begin(ak_json_doc *d, const char *text, size_t len, ak_err *err)
{
    start(d, text, len, err);
    skip_ws(d);
    if (d->p >= d->end || *d->p != '{')
        return ak_err_set(d->err, AK_ERR_UNSUPPORTED, "not a JSON object");
    d->p++;
    d->in_object = 1; /* 1: before the first member, 2: after one */
    return AK_OK;
}

int ak_json_obj_next(ak_json_doc *d, const char **key, size_t *key_len)
{
    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        skip_ws(d);
        if (d->p != d->end)
            return fail(d, "trailing characters after the value"), -1;
        return 0;
    }
    if (d->in_object == 2) {
        if (d->p >= d->end || *d->p != ',')
            return fail(d, "',' or '}' expected"), -1;
        d->p++;
        skip_ws(d);
    }
    if (d->p >= d->end || *d->p != '"')
        return fail(d, "object key expected"), -1;
    if (parse_string(d, key, key_len))
        return -1;
    skip_ws(d);
    if (d->p >= d->end || *d->p != ':')
        return fail(d, "':' expected"), -1;
    d->p++;
    d->in_object = 2;
    return 1;
}

ak_code ak_json_obj_value(ak_json_doc *d, const ak_json **v)
{
    ak_json *node;
    ak_code rc = parse_value(d, 1, &node);
    if (rc == AK_OK)
        *v = node;
    return rc;
}

int ak_json_obj_floats(ak_json_doc *d, float *out, size_t n)
{
    skip_ws(d);
    const char *after = d->p < d->end && *d->p == '[' ? ak_jnum_floats(d->p, d->end, out, n) : NULL;
    if (!after)
        return 0; /* nothing consumed: ak_json_obj_value() will say what is wrong */
    d->p = after;
    return 1;
}

const ak_json *ak_json_get(const ak_json *obj, const char *key)
{
    if (!obj || obj->type != AK_JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (const ak_json *k = obj->first; k; k = k->next)
        if (k->key_len == n && memcmp(k->key, key, n) == 0)
            return k;
    return NULL;
}

double ak_json_number(const ak_json *v) { return ak_jnum_strtod(v->raw, v->raw_len); }

static float to_float32(const ak_json *v)
{
    ak_jnum dec = {v->num_digits, v->num_exp10};
    return ak_jnum_float(dec, v->raw, v->raw_len);
}

float ak_json_float32(const ak_json *v) { return to_float32(v); }

int ak_json_int64(const ak_json *v, int64_t *out)
{
    if (!v || v->type != AK_JSON_NUMBER)
        return 0;
    const char *p = v->raw, *end = v->raw + v->raw_len;
    int neg = 0;
    if (p < end && *p == '-') { neg = 1; p++; }
    uint64_t m = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (p == end)
        return 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0; /* fraction or exponent: not written as an integer */
        unsigned dgt = (unsigned)(*p - '0');
        if (m > (limit - dgt) / 10)
            return 0;
        m = m * 10 + dgt;
    }
    *out = neg ? (int64_t)(0 - m) : (int64_t)m;
    return 1;
}
