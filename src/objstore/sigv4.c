/*
 * sigv4.c - see sigv4.h.  Written against AWS's description of the
 * algorithm and checked with its published test vectors
 * (tests/unit/test_sigv4.c).
 *
 *   canonical request = method \n canonical URI \n canonical query \n
 *                       canonical headers \n signed headers \n payload hash
 *   string to sign    = AWS4-HMAC-SHA256 \n date \n scope \n hex(SHA-256(canonical request))
 *   signing key       = HMAC chain "AWS4"+secret -> day -> region -> service -> "aws4_request"
 */
#include "objstore/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/sha256.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

/* ---- encoding --------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

ak_code ak_sigv4_encode(ak_buf *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (c == '/' && keep_slash)) {
            rc = ak_buf_putc(out, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = ak_buf_append(out, esc, 3);
        }
    }
    return rc;
}

/* ---- the canonical query ---------------------------------------------- */

typedef struct {
    const char *base; /* the buffer holding every encoded name and value */
    size_t name, name_len, value, value_len;
} enc_pair;

static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static int cmp_enc_pair(const void *x, const void *y)
{
    const enc_pair *a = x, *b = y;
    int c = cmp_bytes(a->base + a->name, a->name_len, b->base + b->name, b->name_len);
    return c ? c : cmp_bytes(a->base + a->value, a->value_len, b->base + b->value,
                             b->value_len);
}

/* Encode every name and value into enc, recording where each landed. */
static ak_code encode_pairs(const ak_sigv4_pair *q, size_t n, ak_buf *enc, enc_pair *v)
{
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        v[i].name = enc->len;
        rc = ak_sigv4_encode(enc, q[i].name, strlen(q[i].name), 0);
        v[i].name_len = enc->len - v[i].name;
        v[i].value = enc->len;
        if (rc == AK_OK)
            rc = ak_sigv4_encode(enc, q[i].value, strlen(q[i].value), 0);
        v[i].value_len = enc->len - v[i].value;
    }
    return rc;
}

ak_code ak_sigv4_canonical_query(ak_buf *out, const ak_sigv4_pair *q, size_t n)
{
    if (n == 0)
        return AK_OK;
    enc_pair *v = calloc(n, sizeof *v);
    ak_buf enc = {0};
    if (!v)
        return AK_ERR_NOMEM;
    ak_code rc = encode_pairs(q, n, &enc, v);
    if (rc == AK_OK) {
        for (size_t i = 0; i < n; i++) /* enc.data is final only now */
            v[i].base = enc.data;
        qsort(v, n, sizeof *v, cmp_enc_pair);
    }
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        if (i > 0)
            rc = ak_buf_putc(out, '&');
        if (rc == AK_OK)
            rc = ak_buf_append(out, enc.data + v[i].name, v[i].name_len);
        if (rc == AK_OK)
            rc = ak_buf_putc(out, '=');
        if (rc == AK_OK)
            rc = ak_buf_append(out, enc.data + v[i].value, v[i].value_len);
    }
    ak_buf_free(&enc);
    free(v);
    return rc;
}

/* ---- the canonical headers -------------------------------------------- */

typedef struct {
    const ak_sigv4_pair *h;
    size_t order; /* position in the request: repeated names keep it */
} header_ref;

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Header names compare by their lowercase bytes. */
static int cmp_name(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = lower((unsigned char)*a), y = lower((unsigned char)*b);
        if (x != y || !x)
            return x - y;
    }
}

static int cmp_header_ref(const void *x, const void *y)
{
    const header_ref *a = x, *b = y;
    int c = cmp_name(a->h->name, b->h->name);
    return c ? c : (a->order > b->order) - (a->order < b->order);
}

static ak_code put_lower(ak_buf *b, const char *s)
{
    ak_code rc = AK_OK;
    for (; rc == AK_OK && *s; s++)
        rc = ak_buf_putc(b, (char)lower((unsigned char)*s));
    return rc;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* A value with its ends trimmed and each run of blanks made one space. */
static ak_code put_trimmed(ak_buf *b, const char *v)
{
    while (is_blank(*v))
        v++;
    size_t n = strlen(v);
    while (n > 0 && is_blank(v[n - 1]))
        n--;
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < n; i++)
        if (!is_blank(v[i]))
            rc = ak_buf_putc(b, v[i]);
        else if (!is_blank(v[i - 1])) /* v[0] is not blank, so i > 0 here */
            rc = ak_buf_putc(b, ' ');
    return rc;
}

/* "name:value\n" per distinct name, repeated names' values joined with ","
 * in request order; and the signed-headers list "a;b;c". */
static ak_code canonical_headers(const ak_sigv4_request *req, ak_buf *canon, ak_buf *signed_list)
{
    size_t n = req->n_headers;
    header_ref *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return AK_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = (header_ref){&req->headers[i], i};
    qsort(v, n, sizeof *v, cmp_header_ref);
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        int repeat = i > 0 && cmp_name(v[i - 1].h->name, v[i].h->name) == 0;
        if (repeat) {
            rc = ak_buf_putc(canon, ',');
        } else {
            if (i > 0 && (rc = ak_buf_putc(canon, '\n')) == AK_OK)
                rc = ak_buf_putc(signed_list, ';');
            if (rc == AK_OK)
                rc = put_lower(signed_list, v[i].h->name);
            if (rc == AK_OK)
                rc = put_lower(canon, v[i].h->name);
            if (rc == AK_OK)
                rc = ak_buf_putc(canon, ':');
        }
        if (rc == AK_OK)
            rc = put_trimmed(canon, v[i].h->value);
    }
    if (rc == AK_OK && n > 0)
        rc = ak_buf_putc(canon, '\n');
    free(v);
    return rc;
}

/* ---- signing ---------------------------------------------------------- */

static int date_valid(const char *d)
{
    if (strlen(d) != AK_SIGV4_DATE_LEN - 1 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

static void hmac(const void *key, size_t key_len, const char *msg,
                 unsigned char out[AK_SHA256_LEN])
{
    unsigned int len = AK_SHA256_LEN;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &len);
}

static ak_code signing_key(const ak_sigv4_credentials *cred, const char *day,
                           unsigned char key[AK_SHA256_LEN])
{
    ak_buf secret = {0};
    if (ak_buf_printf(&secret, "AWS4%s", cred->secret_key) != AK_OK)
        return AK_ERR_NOMEM;
    hmac(secret.data, secret.len, day, key);
    hmac(key, AK_SHA256_LEN, cred->region, key);
    hmac(key, AK_SHA256_LEN, cred->service, key);
    hmac(key, AK_SHA256_LEN, "aws4_request", key);
    memset(secret.data, 0, secret.len); /* do not leave the secret in freed memory */
    ak_buf_free(&secret);
    return AK_OK;
}

static ak_code canonical_request(const ak_sigv4_request *req, ak_buf *out, ak_buf *signed_list)
{
    const char *path = req->path[0] ? req->path : "/";
    ak_code rc = ak_buf_printf(out, "%s\n", req->method);
    if (rc == AK_OK)
        rc = ak_sigv4_encode(out, path, strlen(path), 1);
    if (rc == AK_OK)
        rc = ak_buf_putc(out, '\n');
    if (rc == AK_OK)
        rc = ak_sigv4_canonical_query(out, req->query, req->n_query);
    if (rc == AK_OK)
        rc = ak_buf_putc(out, '\n');
    if (rc == AK_OK)
        rc = canonical_headers(req, out, signed_list);
    if (rc == AK_OK)
        rc = ak_buf_printf(out, "\n%s\n%s", signed_list->data ? signed_list->data : "",
                           req->payload_sha256);
    return rc;
}

ak_code ak_sigv4_sign(const ak_sigv4_request *req, const ak_sigv4_credentials *cred,
                      const char *amz_date, ak_sigv4_result *out)
{
    memset(out, 0, sizeof *out);
    if (!date_valid(amz_date))
        return AK_ERR_INVALID;
    char day[9], hash_hex[AK_SHA256_HEX];
    uint8_t hash[AK_SHA256_LEN];
    unsigned char key[AK_SHA256_LEN], sig[AK_SHA256_LEN];
    memcpy(day, amz_date, 8);
    day[8] = '\0';

    ak_buf signed_list = {0};
    ak_code rc = canonical_request(req, &out->canonical_request, &signed_list);
    if (rc == AK_OK) {
        ak_sha256(out->canonical_request.data, out->canonical_request.len, hash);
        ak_hex(hash, sizeof hash, hash_hex);
        rc = ak_buf_printf(&out->string_to_sign, ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s",
                           amz_date, day, cred->region, cred->service, hash_hex);
    }
    if (rc == AK_OK)
        rc = signing_key(cred, day, key);
    if (rc == AK_OK) {
        hmac(key, sizeof key, out->string_to_sign.data, sig);
        ak_hex(sig, sizeof sig, out->signature);
        rc = ak_buf_printf(&out->authorization,
                           ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, "
                           "SignedHeaders=%s, Signature=%s",
                           cred->access_key, day, cred->region, cred->service,
                           signed_list.data ? signed_list.data : "", out->signature);
    }
    ak_buf_free(&signed_list);
    return rc;
}

void ak_sigv4_result_free(ak_sigv4_result *r)
{
    ak_buf_free(&r->canonical_request);
    ak_buf_free(&r->string_to_sign);
    ak_buf_free(&r->authorization);
}

void ak_sigv4_date(long long unix_seconds, char out[AK_SIGV4_DATE_LEN])
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, AK_SIGV4_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm);
}
