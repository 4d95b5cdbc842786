/*
 * xml.c - see xml.h.
 *
 * One pass over the input, no recursion (depth is a counter, not stack
 * frames).  Elements come from an arena of fixed-size blocks and strings
 * from one buffer of input size + 1, allocated once: every name costs at
 * most its start tag's bytes and every kept text at most its raw bytes plus
 * the end tag's, so the buffer never needs to grow and pointers into it stay
 * valid while parsing.
 *
 * Character data is written straight into that buffer as it is decoded.
 * It belongs to the innermost open element; when a child element starts
 * (or an element with children ends) the pending text must be whitespace
 * and is dropped again, which is how mixed content is refused.
 */
#include "objstore/xml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json.h"

enum { NODE_BLOCK = 256 };

struct ak_xml_node {
    const char *name;
    const char *text;
    ak_xml_node *parent, *first, *last, *next;
};

typedef struct node_block {
    struct node_block *next;
    size_t used;
    ak_xml_node nodes[NODE_BLOCK];
} node_block;

struct ak_xml_doc {
    node_block *blocks;
    char *strings;
    size_t str_len, str_cap;
    ak_xml_node *root;
};

typedef struct {
    const char *start, *p, *end;
    ak_xml_doc *doc;
    const ak_xml_limits *lim;
    ak_err *err;
    ak_xml_node *cur;  /* innermost open element; NULL outside the root */
    size_t text_start; /* where cur's pending character data began in strings */
    size_t depth, nodes;
} parser;

static ak_code fail(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static ak_code fail(parser *ps, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ak_err_set(ps->err, AK_ERR_CORRUPT, "malformed XML at byte %zu: %s",
                      (size_t)(ps->p - ps->start), what);
}

/* ---- the cursor ------------------------------------------------------- */

static size_t left(const parser *ps) { return (size_t)(ps->end - ps->p); }

static int at(const parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    return left(ps) >= n && memcmp(ps->p, lit, n) == 0;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int skip_ws(parser *ps)
{
    const char *from = ps->p;
    while (ps->p < ps->end && is_ws(*ps->p))
        ps->p++;
    return ps->p != from;
}

static int name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Length of the name starting at s (0 if none). */
static size_t name_len(const parser *ps, const char *s)
{
    const char *q = s;
    if (q >= ps->end || !name_start((unsigned char)*q))
        return 0;
    while (q < ps->end && name_char((unsigned char)*q))
        q++;
    return (size_t)(q - s);
}

/* XML forbids control characters other than tab and line ends anywhere,
 * and this reader takes UTF-8 only: one check up front covers every
 * construct. */
static ak_code check_chars(parser *ps)
{
    for (const char *q = ps->start; q < ps->end;) {
        unsigned char c = (unsigned char)*q;
        size_t k = c < 0x80 ? 1 : ak_utf8_seq_len(q, (size_t)(ps->end - q));
        ps->p = q;
        if (k == 0)
            return fail(ps, "bytes that are not UTF-8");
        if (c < 0x20 && !is_ws((char)c))
            return fail(ps, "control character 0x%02x", c);
        q += k;
    }
    ps->p = ps->start;
    return AK_OK;
}

/* ---- the string buffer ------------------------------------------------ */

static ak_code put(parser *ps, const char *s, size_t n)
{
    ak_xml_doc *d = ps->doc;
    if (n > d->str_cap - d->str_len) /* cannot happen: see the top of the file */
        return ak_err_set(ps->err, AK_ERR_INTERNAL, "XML reader: string buffer overrun");
    memcpy(d->strings + d->str_len, s, n);
    d->str_len += n;
    return AK_OK;
}

/* Text of cur not yet kept must be whitespace; it is dropped. */
static ak_code drop_blank_text(parser *ps)
{
    ak_xml_doc *d = ps->doc;
    for (size_t i = ps->text_start; i < d->str_len; i++)
        if (!is_ws(d->strings[i]))
            return fail(ps, "text mixed with elements in <%s>", ps->cur->name);
    d->str_len = ps->text_start;
    return AK_OK;
}

/* ---- markup that carries no data -------------------------------------- */

static ak_code comment(parser *ps)
{
    const char *body = ps->p + 4;
    const char *dashes = memmem(body, (size_t)(ps->end - body), "--", 2);
    if (!dashes)
        return fail(ps, "unterminated comment");
    if (dashes + 2 >= ps->end || dashes[2] != '>') {
        ps->p = dashes;
        return fail(ps, "\"--\" inside a comment");
    }
    ps->p = dashes + 3;
    return AK_OK;
}

/* The XML declaration is a processing instruction allowed only first. */
static ak_code processing_instruction(parser *ps, int first)
{
    size_t n = name_len(ps, ps->p + 2);
    if (n == 0)
        return fail(ps, "processing instruction without a target");
    if (n == 3 && strncasecmp(ps->p + 2, "xml", 3) == 0 && !first)
        return fail(ps, "XML declaration not at the start");
    const char *close = memmem(ps->p + 2 + n, (size_t)(ps->end - ps->p) - 2 - n, "?>", 2);
    if (!close)
        return fail(ps, "unterminated processing instruction");
    ps->p = close + 2;
    return AK_OK;
}

/* ---- character data --------------------------------------------------- */

static int xml_char(unsigned long c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static size_t utf8_encode(unsigned long c, char out[4])
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* "&#123;" or "&#x7B;" between '&' and ';' (body excludes both). */
static ak_code char_reference(parser *ps, const char *body, size_t n, char out[4], size_t *len)
{
    int hex = n > 1 && body[1] == 'x';
    size_t i = hex ? 2 : 1;
    unsigned long c = 0;
    if (i == n)
        return fail(ps, "empty character reference");
    for (; i < n; i++) {
        char d = body[i];
        int v = d >= '0' && d <= '9' ? d - '0'
                : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10 : -1;
        if (v < 0)
            return fail(ps, "bad digit in a character reference");
        c = c * (hex ? 16 : 10) + (unsigned long)v;
        if (c > 0x10FFFF)
            break;
    }
    if (!xml_char(c))
        return fail(ps, "character reference to a character XML does not allow");
    *len = utf8_encode(c, out);
    return AK_OK;
}

/* Decode the reference at ps->p ('&') into out[0..*len) and move past it. */
static ak_code reference(parser *ps, char out[4], size_t *len)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    enum { REF_MAX = 12 }; /* "&#x10FFFF;" with room for leading zeros */
    const char *body = ps->p + 1;
    const char *semi = memchr(body, ';', left(ps) - 1 < REF_MAX ? left(ps) - 1 : REF_MAX);
    if (!semi)
        return fail(ps, "'&' that starts no entity or character reference");
    size_t n = (size_t)(semi - body);
    ak_code rc = AK_OK;
    if (n > 0 && body[0] == '#') {
        rc = char_reference(ps, body, n, out, len);
    } else {
        size_t i = 0;
        while (i < sizeof named / sizeof *named &&
               !(strlen(named[i].name) == n && memcmp(named[i].name, body, n) == 0))
            i++;
        if (i == sizeof named / sizeof *named)
            return fail(ps, "unknown entity &%.*s;", (int)n, body);
        out[0] = named[i].c;
        *len = 1;
    }
    if (rc == AK_OK)
        ps->p = semi + 1;
    return rc;
}

/* Copy text up to stop (exclusive), turning "\r\n" and lone "\r" into "\n". */
static ak_code put_normalized(parser *ps, const char *from, const char *stop)
{
    ak_code rc = AK_OK;
    while (rc == AK_OK && from < stop) {
        const char *cr = memchr(from, '\r', (size_t)(stop - from));
        const char *run_end = cr ? cr : stop;
        rc = put(ps, from, (size_t)(run_end - from));
        if (rc == AK_OK && cr) {
            rc = put(ps, "\n", 1);
            run_end = cr + 1 < stop && cr[1] == '\n' ? cr + 2 : cr + 1;
        }
        from = run_end;
    }
    return rc;
}

static ak_code text_outside_root(parser *ps)
{
    skip_ws(ps);
    return ps->p < ps->end && *ps->p != '<' ? fail(ps, "text outside the root element") : AK_OK;
}

/* Character data up to the next '<'. */
static ak_code char_data(parser *ps)
{
    if (!ps->cur)
        return text_outside_root(ps);
    ak_code rc = AK_OK;
    while (rc == AK_OK && ps->p < ps->end && *ps->p != '<') {
        const char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '<' && *ps->p != '&' &&
               !(*ps->p == ']' && at(ps, "]]>")))
            ps->p++;
        rc = put_normalized(ps, run, ps->p);
        if (rc != AK_OK || ps->p == ps->end || *ps->p == '<')
            break;
        if (*ps->p != '&')
            return fail(ps, "\"]]>\" in text");
        char c[4];
        size_t n = 0;
        rc = reference(ps, c, &n);
        if (rc == AK_OK)
            rc = put(ps, c, n);
    }
    return rc;
}

static ak_code cdata(parser *ps)
{
    if (!ps->cur)
        return fail(ps, "CDATA section outside the root element");
    const char *body = ps->p + 9; /* after "<![CDATA[" */
    const char *close = memmem(body, (size_t)(ps->end - body), "]]>", 3);
    if (!close)
        return fail(ps, "unterminated CDATA section");
    ps->p = close + 3;
    return put_normalized(ps, body, close);
}

/* ---- elements --------------------------------------------------------- */

/* Attributes are checked for form and their references for validity, then
 * forgotten: S3 replies carry only xmlns. */
static ak_code attributes(parser *ps)
{
    for (;;) {
        int spaced = skip_ws(ps);
        if (at(ps, ">") || at(ps, "/>"))
            return AK_OK;
        size_t n = name_len(ps, ps->p);
        if (n == 0 || !spaced)
            return fail(ps, n ? "no space before an attribute" : "expected an attribute or '>'");
        ps->p += n;
        skip_ws(ps);
        if (!at(ps, "="))
            return fail(ps, "expected '=' after an attribute name");
        ps->p++;
        skip_ws(ps);
        char quote = ps->p < ps->end ? *ps->p : 0;
        if (quote != '"' && quote != '\'')
            return fail(ps, "attribute value without quotes");
        for (ps->p++; ps->p < ps->end && *ps->p != quote;) {
            if (*ps->p == '<')
                return fail(ps, "'<' in an attribute value");
            if (*ps->p != '&') {
                ps->p++;
                continue;
            }
            char c[4];
            size_t len;
            ak_code rc = reference(ps, c, &len); /* checked, then dropped */
            if (rc != AK_OK)
                return rc;
        }
        if (ps->p == ps->end)
            return fail(ps, "unterminated attribute value");
        ps->p++;
    }
}

static ak_xml_node *new_node(parser *ps)
{
    node_block *b = ps->doc->blocks;
    if (!b || b->used == NODE_BLOCK) {
        node_block *nb = calloc(1, sizeof *nb);
        if (!nb)
            return NULL;
        nb->next = b;
        ps->doc->blocks = b = nb;
    }
    return &b->nodes[b->used++];
}

static ak_code open_element(parser *ps, size_t n, ak_xml_node **out)
{
    ak_xml_node *e = *out = new_node(ps);
    if (!e)
        return ak_err_set(ps->err, AK_ERR_NOMEM, "out of memory parsing XML");
    e->name = ps->doc->strings + ps->doc->str_len;
    e->text = "";
    ak_code rc = put(ps, ps->p + 1, n);
    if (rc == AK_OK)
        rc = put(ps, "", 1);
    e->parent = ps->cur;
    if (!ps->cur)
        ps->doc->root = e;
    else if (ps->cur->last)
        ps->cur->last = ps->cur->last->next = e;
    else
        ps->cur->first = ps->cur->last = e;
    ps->nodes++;
    ps->p += 1 + n;
    return rc == AK_OK ? attributes(ps) : rc;
}

static ak_code start_tag(parser *ps)
{
    if (!ps->cur && ps->doc->root)
        return fail(ps, "a second root element");
    size_t n = name_len(ps, ps->p + 1);
    if (n == 0)
        return fail(ps, "'<' that starts no element");
    if (ps->depth >= ps->lim->max_depth)
        return fail(ps, "elements nested deeper than %zu", ps->lim->max_depth);
    if (ps->nodes >= ps->lim->max_nodes)
        return fail(ps, "more than %zu elements", ps->lim->max_nodes);
    ak_xml_node *e = NULL;
    ak_code rc = ps->cur ? drop_blank_text(ps) : AK_OK;
    if (rc == AK_OK)
        rc = open_element(ps, n, &e);
    if (rc != AK_OK)
        return rc;
    if (at(ps, "/>")) {
        ps->p += 2;
    } else {
        ps->p++; /* '>' */
        ps->cur = e;
        ps->depth++;
    }
    ps->text_start = ps->doc->str_len;
    return AK_OK;
}

static ak_code end_tag(parser *ps)
{
    ak_xml_node *e = ps->cur;
    if (!e)
        return fail(ps, "end tag outside the root element");
    size_t n = name_len(ps, ps->p + 2);
    if (n != strlen(e->name) || memcmp(ps->p + 2, e->name, n) != 0)
        return fail(ps, "</%.*s> does not close <%s>", (int)n, ps->p + 2, e->name);
    ps->p += 2 + n;
    skip_ws(ps);
    if (!at(ps, ">"))
        return fail(ps, "expected '>' to end </%s", e->name);
    ps->p++;
    ak_code rc;
    if (e->first) {
        rc = drop_blank_text(ps);
    } else {
        e->text = ps->doc->strings + ps->text_start;
        rc = put(ps, "", 1);
    }
    ps->cur = e->parent;
    ps->depth--;
    ps->text_start = ps->doc->str_len;
    return rc;
}

static ak_code document(parser *ps)
{
    static const char bom[] = "\xEF\xBB\xBF";
    if (at(ps, bom))
        ps->p += strlen(bom);
    const char *first = ps->p;
    ak_code rc = check_chars(ps);
    ps->p = first;
    while (rc == AK_OK && ps->p < ps->end) {
        if (*ps->p != '<')
            rc = char_data(ps);
        else if (at(ps, "</"))
            rc = end_tag(ps);
        else if (at(ps, "<!--"))
            rc = comment(ps);
        else if (at(ps, "<![CDATA["))
            rc = cdata(ps);
        else if (at(ps, "<?"))
            rc = processing_instruction(ps, ps->p == first);
        else if (at(ps, "<!"))
            rc = fail(ps, "declarations such as DOCTYPE are not accepted");
        else
            rc = start_tag(ps);
    }
    if (rc == AK_OK && ps->cur)
        rc = fail(ps, "input ends inside <%s>", ps->cur->name);
    if (rc == AK_OK && !ps->doc->root)
        rc = fail(ps, "no root element");
    return rc;
}

/* ---- the API ---------------------------------------------------------- */

ak_code ak_xml_parse(const char *data, size_t len, const ak_xml_limits *lim,
                     ak_xml_doc **out, ak_err *err)
{
    *out = NULL;
    if (len > lim->max_bytes)
        return ak_err_set(err, AK_ERR_CORRUPT, "XML document of %zu bytes is over the "
                          "limit of %zu", len, lim->max_bytes);
    ak_xml_doc *d = calloc(1, sizeof *d);
    if (d)
        d->strings = malloc(len + 1);
    if (!d || !d->strings) {
        ak_xml_free(d);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory parsing XML");
    }
    d->str_cap = len + 1;
    parser ps = {.start = data, .p = data, .end = data + len, .doc = d, .lim = lim, .err = err};
    ak_code rc = document(&ps);
    if (rc != AK_OK) {
        ak_xml_free(d);
        return rc;
    }
    *out = d;
    return AK_OK;
}

void ak_xml_free(ak_xml_doc *d)
{
    if (!d)
        return;
    while (d->blocks) {
        node_block *next = d->blocks->next;
        free(d->blocks);
        d->blocks = next;
    }
    free(d->strings);
    free(d);
}

const ak_xml_node *ak_xml_root(const ak_xml_doc *d) { return d->root; }

const char *ak_xml_name(const ak_xml_node *n) { return n->name; }

const char *ak_xml_text(const ak_xml_node *n) { return n->text; }

static const ak_xml_node *first_named(const ak_xml_node *c, const char *name)
{
    while (c && name && strcmp(c->name, name) != 0)
        c = c->next;
    return c;
}

const ak_xml_node *ak_xml_child(const ak_xml_node *n, const char *name)
{
    return first_named(n->first, name);
}

const ak_xml_node *ak_xml_next(const ak_xml_node *n, const char *name)
{
    return first_named(n->next, name);
}

const char *ak_xml_child_text(const ak_xml_node *n, const char *name)
{
    const ak_xml_node *c = ak_xml_child(n, name);
    return c ? c->text : NULL;
}
