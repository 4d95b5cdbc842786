/*
 * s3xml.c - see s3xml.h.
 */
#include "objstore/s3xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore_impl.h"
#include "objstore/xml.h"
#include "util/time.h"

/* A ListBucketResult nests four deep (Contents/Owner/ID); a page holds at
 * most 1000 entries of about ten elements. */
static const ak_xml_limits limits = {AK_S3XML_MAX_BYTES, 16, 100000};

static ak_code parse_root(const char *body, size_t len, const char *root_name,
                          ak_xml_doc **doc, const ak_xml_node **root, ak_err *err)
{
    ak_code rc = ak_xml_parse(body, len, &limits, doc, err);
    if (rc != AK_OK)
        return rc;
    *root = ak_xml_root(*doc);
    if (strcmp(ak_xml_name(*root), root_name) == 0)
        return AK_OK;
    rc = ak_err_set(err, AK_ERR_CORRUPT, "expected an S3 <%s> document, got <%s>", root_name,
                    ak_xml_name(*root));
    ak_xml_free(*doc);
    *doc = NULL;
    return rc;
}

/* ---- <Error> ---------------------------------------------------------- */

/* Copy src into dst[0..cap) on one line: line ends and tabs become spaces. */
static void copy_line(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; src && *src && n + 1 < cap; src++)
        dst[n++] = (unsigned char)*src < 0x20 ? ' ' : *src;
    dst[n] = '\0';
}

int ak_s3xml_error(const char *body, size_t len, ak_s3_error *e)
{
    ak_xml_doc *doc = NULL;
    const ak_xml_node *root;
    memset(e, 0, sizeof *e);
    if (len == 0 || parse_root(body, len, "Error", &doc, &root, NULL) != AK_OK)
        return 0;
    copy_line(e->code, sizeof e->code, ak_xml_child_text(root, "Code"));
    copy_line(e->message, sizeof e->message, ak_xml_child_text(root, "Message"));
    ak_xml_free(doc);
    return e->code[0] != '\0';
}

/* ---- ListBucketResult ------------------------------------------------- */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode s in place and return the decoded length, which is less
 * than strlen(s) afterwards if a "%00" became a NUL; (size_t)-1 for a
 * malformed escape.  "+" is a space: AWS encodes keys the way HTML forms
 * do, and servers that write "%20" and "%2B" instead (Swift) decode the
 * same either way. */
static size_t url_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r != '%') {
            *w++ = *r;
        } else {
            int hi = hex_digit(r[1]), lo = hi < 0 ? -1 : hex_digit(r[2]);
            if (lo < 0)
                return (size_t)-1;
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

typedef struct {
    const char *strip;
    size_t strip_len;
    int url_encoded;
    ak_err *err;
} list_ctx;

/* The key or prefix text of one entry, decoded and with the store's prefix
 * removed, in *out (malloc'd); *out stays NULL when it is no valid key (or
 * prefix, for is_prefix) and so is left out. */
static ak_code entry_name(const list_ctx *c, const char *text, int is_prefix, char **out)
{
    *out = NULL;
    if (!text)
        return ak_err_set(c->err, AK_ERR_CORRUPT, "S3 list entry without a %s",
                          is_prefix ? "Prefix" : "Key");
    char *s = strdup(text);
    if (!s)
        return ak_err_set(c->err, AK_ERR_NOMEM, "out of memory reading an S3 listing");
    size_t len = c->url_encoded ? url_decode(s) : strlen(s);
    ak_code rc = AK_OK;
    if (len == (size_t)-1)
        rc = ak_err_set(c->err, AK_ERR_CORRUPT, "S3 listed a malformed percent-encoded "
                        "name \"%.200s\"", text);
    else if (strncmp(s, c->strip, c->strip_len) != 0)
        rc = ak_err_set(c->err, AK_ERR_CORRUPT, "S3 listed \"%.200s\", which is outside "
                        "the requested prefix %s", s, c->strip);
    if (rc != AK_OK) {
        free(s);
        return rc;
    }
    memmove(s, s + c->strip_len, len - c->strip_len + 1);
    int whole = strlen(s) == len - c->strip_len; /* no NUL decoded inside */
    if (whole && (is_prefix ? s[0] && ak_store_prefix_valid(s) : ak_store_key_valid(s)))
        *out = s;
    else
        free(s);
    return AK_OK;
}

static ak_code parse_size(const list_ctx *c, const char *text, int64_t *size)
{
    char *end;
    errno = 0;
    long long v = text ? strtoll(text, &end, 10) : -1;
    if (!text || end == text || *end || errno || v < 0)
        return ak_err_set(c->err, AK_ERR_CORRUPT, "S3 list entry with a bad Size \"%.40s\"",
                          text ? text : "(none)");
    *size = v;
    return AK_OK;
}

static ak_code parse_object(const list_ctx *c, const ak_xml_node *n, ak_store_page *p)
{
    char *key;
    ak_store_obj o = {0};
    const char *mtime = ak_xml_child_text(n, "LastModified");
    ak_code rc = entry_name(c, ak_xml_child_text(n, "Key"), 0, &key);
    if (rc == AK_OK)
        rc = parse_size(c, ak_xml_child_text(n, "Size"), &o.size);
    if (rc == AK_OK && mtime && !ak_time_parse(mtime, strlen(mtime), &o.mtime_us))
        rc = ak_err_set(c->err, AK_ERR_CORRUPT, "S3 list entry with a bad LastModified "
                        "\"%.40s\"", mtime);
    if (rc != AK_OK || !key) {
        free(key);
        return rc;
    }
    o.key = key;
    p->objs[p->n_objs++] = o;
    return AK_OK;
}

static ak_code parse_prefix(const list_ctx *c, const ak_xml_node *n, ak_store_page *p)
{
    char *prefix;
    ak_code rc = entry_name(c, ak_xml_child_text(n, "Prefix"), 1, &prefix);
    if (rc == AK_OK && prefix)
        p->prefixes[p->n_prefixes++] = prefix;
    return rc;
}

static size_t count_named(const ak_xml_node *root, const char *name)
{
    size_t n = 0;
    for (const ak_xml_node *e = ak_xml_child(root, name); e; e = ak_xml_next(e, name))
        n++;
    return n;
}

/* The token S3 gave for the next page, when there is one. */
static ak_code next_token(const list_ctx *c, const ak_xml_node *root, ak_store_page *p)
{
    const char *truncated = ak_xml_child_text(root, "IsTruncated");
    const char *token = ak_xml_child_text(root, "NextContinuationToken");
    if (!truncated || (strcmp(truncated, "true") != 0 && strcmp(truncated, "false") != 0))
        return ak_err_set(c->err, AK_ERR_CORRUPT, "S3 listing without a valid IsTruncated");
    if (strcmp(truncated, "false") == 0)
        return AK_OK;
    if (!token || !token[0] || strlen(token) > AK_STORE_TOKEN_MAX)
        return ak_err_set(c->err, AK_ERR_CORRUPT, "S3 listing is truncated but gives %s "
                          "continuation token", token && token[0] ? "an over-long" : "no");
    if (!(p->next_token = strdup(token)))
        return ak_err_set(c->err, AK_ERR_NOMEM, "out of memory reading an S3 listing");
    return AK_OK;
}

static ak_code parse_page(const list_ctx *c, const ak_xml_node *root, ak_store_page *p)
{
    size_t n_objs = count_named(root, "Contents"), n_prefixes = count_named(root, "CommonPrefixes");
    if ((n_objs && !(p->objs = calloc(n_objs, sizeof *p->objs))) ||
        (n_prefixes && !(p->prefixes = calloc(n_prefixes, sizeof *p->prefixes))))
        return ak_err_set(c->err, AK_ERR_NOMEM, "out of memory reading an S3 listing");
    ak_code rc = AK_OK;
    for (const ak_xml_node *e = ak_xml_child(root, "Contents"); rc == AK_OK && e;
         e = ak_xml_next(e, "Contents"))
        rc = parse_object(c, e, p);
    for (const ak_xml_node *e = ak_xml_child(root, "CommonPrefixes"); rc == AK_OK && e;
         e = ak_xml_next(e, "CommonPrefixes"))
        rc = parse_prefix(c, e, p);
    return rc == AK_OK ? next_token(c, root, p) : rc;
}

ak_code ak_s3xml_list(const char *body, size_t len, const char *strip, ak_store_page *out,
                      ak_err *err)
{
    ak_xml_doc *doc;
    const ak_xml_node *root;
    memset(out, 0, sizeof *out);
    ak_code rc = parse_root(body, len, "ListBucketResult", &doc, &root, err);
    if (rc != AK_OK)
        return rc;
    const char *encoding = ak_xml_child_text(root, "EncodingType");
    list_ctx c = {strip, strlen(strip), encoding && strcmp(encoding, "url") == 0, err};
    rc = parse_page(&c, root, out);
    ak_xml_free(doc);
    return rc;
}

/* ---- multipart uploads ------------------------------------------------ */

ak_code ak_s3xml_upload_id(const char *body, size_t len, char **upload_id, ak_err *err)
{
    ak_xml_doc *doc;
    const ak_xml_node *root;
    *upload_id = NULL;
    ak_code rc = parse_root(body, len, "InitiateMultipartUploadResult", &doc, &root, err);
    if (rc != AK_OK)
        return rc;
    const char *id = ak_xml_child_text(root, "UploadId");
    if (!id || !id[0])
        rc = ak_err_set(err, AK_ERR_CORRUPT, "S3 started a multipart upload without an UploadId");
    else if (!(*upload_id = strdup(id)))
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory starting a multipart upload");
    ak_xml_free(doc);
    return rc;
}

static ak_code put_escaped(ak_buf *out, const char *s)
{
    ak_code rc = AK_OK;
    for (; rc == AK_OK && *s; s++) {
        switch (*s) {
        case '&': rc = ak_buf_puts(out, "&amp;"); break;
        case '<': rc = ak_buf_puts(out, "&lt;"); break;
        case '>': rc = ak_buf_puts(out, "&gt;"); break;
        case '"': rc = ak_buf_puts(out, "&quot;"); break;
        default: rc = ak_buf_putc(out, *s);
        }
    }
    return rc;
}

ak_code ak_s3xml_complete(ak_buf *out, char *const *etags, size_t n)
{
    ak_code rc = ak_buf_puts(out, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/"
                                  "doc/2006-03-01/\">");
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        rc = ak_buf_printf(out, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        if (rc == AK_OK)
            rc = put_escaped(out, etags[i]);
        if (rc == AK_OK)
            rc = ak_buf_puts(out, "</ETag></Part>");
    }
    return rc == AK_OK ? ak_buf_puts(out, "</CompleteMultipartUpload>") : rc;
}
