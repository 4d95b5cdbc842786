/*
 * objstore_s3.c - the S3 backend (its operations here, one request with
 * its retries in objstore_s3_request.c): s3://bucket[/prefix] over libcurl, each
 * request signed with AWS Signature Version 4 (sigv4.c), replies read with
 * s3xml.c.  Configuration comes from the environment; docs/S3.md lists it.
 *
 * Addressing.  With AKOSHA_S3_ENDPOINT (http[s]://host[:port]) requests go
 * path-style to that endpoint: R2, MinIO, Ceph, Swift.  Without it they go
 * to AWS, virtual-hosted: https://<bucket>.s3.<region>.amazonaws.com/<key>,
 * or path-style on s3.<region>.amazonaws.com for a bucket name that is not
 * one DNS label (a dot would not match the certificate's wildcard).  A
 * store prefix is put in front of every key and taken off every listed one.
 *
 * Signing.  Every request carries x-amz-content-sha256 with the SHA-256 of
 * its body (Swift refuses signed requests without it; no aws-chunked
 * streaming), x-amz-date and, with temporary credentials,
 * x-amz-security-token; all of them and Host are signed.  The URL carries
 * the very path encoding and query string that were signed.
 *
 * Retries.  A request that fails in transit, or gets a 5xx, 429 or one of
 * S3's "try again" codes (SlowDown, RequestTimeout, ...), is sent again up
 * to AKOSHA_S3_ATTEMPTS times in all, after exponential backoff with
 * jitter from AKOSHA_S3_RETRY_BASE_MS.  Other 4xx replies are final at
 * once: 403 (and the 400s that are about credentials) is AK_ERR_AUTH, 404
 * AK_ERR_NOTFOUND, the rest AK_ERR_INVALID, each with S3's code and message
 * in the text.  What is left of a transient failure is AK_ERR_IO, which is
 * what objstore.c's circuit breaker counts.
 *
 * Connections.  Requests borrow a curl easy handle from a small pool and
 * return it, so its connections (and TLS sessions) are reused by the next
 * request of any thread; the handle itself is never shared by two threads.
 */
#include "objstore/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "objstore/s3xml.h"
#include "objstore/sigv4.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/sha256.h"

/* ---- the operations --------------------------------------------------- */

/* A reply that does not decode is the server's or the network's fault, not
 * the caller's: it is reported as transient (AK_ERR_IO). */
static ak_code unusable_reply(const s3_request *req, ak_code rc, ak_err *err)
{
    if (rc != AK_ERR_CORRUPT)
        return rc;
    ak_err_prefix(err, "s3 %s %s: unusable reply: ", req->what, req->shown);
    if (err)
        err->code = AK_ERR_IO;
    return AK_ERR_IO;
}

static ak_code s3_get(ak_store *s, const char *key, ak_store_sink sink, void *ctx, ak_err *err)
{
    s3_request req = {.verb = "GET", .what = "GET", .key = key, .shown = key, .sink = sink,
                      .sink_ctx = ctx};
    s3_reply r = {0};
    ak_code rc = ak_s3_call(s, &req, &r, err);
    ak_s3_reply_free(&r);
    return rc;
}

static ak_code s3_head(ak_store *s, const char *key, ak_store_obj *info, ak_err *err)
{
    s3_request req = {.verb = "HEAD", .what = "HEAD", .key = key, .shown = key};
    s3_reply r = {0};
    ak_code rc = ak_s3_call(s, &req, &r, err);
    if (rc == AK_OK && r.length < 0)
        rc = ak_err_set(err, AK_ERR_IO, "s3 HEAD %s: the reply has no Content-Length", key);
    if (rc == AK_OK && info) {
        info->size = r.length;
        info->mtime_us = r.mtime_us;
        if (!(info->key = strdup(key)))
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory in head %s", key);
    }
    ak_s3_reply_free(&r);
    return rc;
}

/* Deleting what is not there succeeds, as S3 itself has it; deleting from
 * a bucket that is not there is a configuration error worth saying. */
static ak_code s3_delete(ak_store *s, const char *key, ak_err *err)
{
    s3_request req = {.verb = "DELETE", .what = "DELETE", .key = key, .shown = key};
    s3_reply r = {0};
    ak_code rc = ak_s3_call(s, &req, &r, err);
    if (rc == AK_ERR_NOTFOUND && strcmp(r.error.code, "NoSuchBucket") != 0)
        rc = AK_OK;
    ak_s3_reply_free(&r);
    return rc;
}

static ak_code s3_list(ak_store *s, const char *prefix, const char *delimiter,
                       const char *token, size_t max_keys, ak_store_page *out, ak_err *err)
{
    s3_store *b = backend(s);
    ak_buf full = {0};
    char max[24];
    snprintf(max, sizeof max, "%zu", max_keys);
    if (ak_buf_printf(&full, "%s%s", b->prefix, prefix) != AK_OK)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory listing %s", s->url);
    ak_sigv4_pair q[6] = {{"list-type", "2"}, {"encoding-type", "url"}, {"max-keys", max},
                          {"prefix", full.data}};
    size_t nq = 4;
    if (delimiter)
        q[nq++] = (ak_sigv4_pair){"delimiter", delimiter};
    if (token)
        q[nq++] = (ak_sigv4_pair){"continuation-token", token};
    s3_request req = {.verb = "GET", .what = "LIST", .shown = prefix[0] ? prefix : "(all keys)",
                      .query = q, .n_query = nq};
    s3_reply r = {0};
    ak_code rc = ak_s3_call(s, &req, &r, err);
    if (rc == AK_OK)
        rc = unusable_reply(&req, ak_s3xml_list(r.body.data, r.body.len, b->prefix, out, err),
                            err);
    ak_s3_reply_free(&r);
    ak_buf_free(&full);
    return rc;
}

/* ---- put, in one request or in parts ---------------------------------- */

static ak_code put_single(ak_store *s, const char *key, const void *data, size_t len,
                          ak_err *err)
{
    s3_request req = {.verb = "PUT", .what = "PUT", .key = key, .shown = key, .body = data,
                      .body_len = len};
    s3_reply r = {0};
    ak_code rc = ak_s3_call(s, &req, &r, err);
    ak_s3_reply_free(&r);
    return rc;
}

static ak_code start_upload(ak_store *s, const char *key, char **upload_id, ak_err *err)
{
    ak_sigv4_pair q[] = {{"uploads", ""}};
    s3_request req = {.verb = "POST", .what = "PUT (start multipart)", .key = key, .shown = key,
                      .query = q, .n_query = 1};
    s3_reply r = {0};
    ak_code rc = ak_s3_call(s, &req, &r, err);
    if (rc == AK_OK)
        rc = unusable_reply(&req, ak_s3xml_upload_id(r.body.data, r.body.len, upload_id, err),
                            err);
    ak_s3_reply_free(&r);
    return rc;
}

static ak_code put_part(ak_store *s, const char *key, const char *upload_id, size_t number,
                        const char *data, size_t len, char **etag, ak_err *err)
{
    char num[24], what[48];
    snprintf(num, sizeof num, "%zu", number);
    snprintf(what, sizeof what, "PUT (part %zu)", number);
    ak_sigv4_pair q[] = {{"partNumber", num}, {"uploadId", upload_id}};
    s3_request req = {.verb = "PUT", .what = what, .key = key, .shown = key, .query = q,
                      .n_query = 2, .body = data, .body_len = len};
    s3_reply r = {0};
    ak_code rc = ak_s3_call(s, &req, &r, err);
    if (rc == AK_OK && !r.etag[0])
        rc = ak_err_set(err, AK_ERR_IO, "s3 %s %s: the reply has no ETag", what, key);
    if (rc == AK_OK && !(*etag = strdup(r.etag)))
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory in put %s", key);
    ak_s3_reply_free(&r);
    return rc;
}

/* When the reply to a completion is lost, the retry finds the upload gone
 * (NoSuchUpload) although it did complete: the object's size tells. */
static int completed_meanwhile(ak_store *s, const char *key, size_t len)
{
    ak_store_obj o = {0};
    int done = s3_head(s, key, &o, NULL) == AK_OK && o.size == (int64_t)len;
    free(o.key);
    return done;
}

static ak_code complete_upload(ak_store *s, const char *key, const char *upload_id,
                               char *const *etags, size_t n, size_t len, ak_err *err)
{
    ak_buf body = {0};
    if (ak_s3xml_complete(&body, etags, n) != AK_OK) {
        ak_buf_free(&body);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory in put %s", key);
    }
    ak_sigv4_pair q[] = {{"uploadId", upload_id}};
    s3_request req = {.verb = "POST", .what = "PUT (complete multipart)", .key = key,
                      .shown = key, .query = q, .n_query = 1, .body = body.data,
                      .body_len = body.len, .content_type = "application/xml"};
    s3_reply r = {0};
    ak_code rc = ak_s3_call(s, &req, &r, err);
    if (rc == AK_ERR_NOTFOUND && r.attempts > 1 && strcmp(r.error.code, "NoSuchUpload") == 0 &&
        completed_meanwhile(s, key, len))
        rc = AK_OK;
    ak_s3_reply_free(&r);
    ak_buf_free(&body);
    return rc;
}

/* Best effort: parts of an abandoned upload cost storage until aborted (or
 * until a lifecycle rule removes them). */
static void abort_upload(ak_store *s, const char *key, const char *upload_id)
{
    ak_sigv4_pair q[] = {{"uploadId", upload_id}};
    s3_request req = {.verb = "DELETE", .what = "PUT (abort multipart)", .key = key,
                      .shown = key, .query = q, .n_query = 1};
    s3_reply r = {0};
    ak_err err;
    if (ak_s3_call(s, &req, &r, &err) != AK_OK)
        AK_WARN("s3", "%s", err.msg);
    ak_s3_reply_free(&r);
}

/* Parts of part_bytes (more if that would make over MAX_PARTS), each sent
 * and retried on its own; S3 assembles them when told the list. */
static ak_code put_multipart(ak_store *s, const char *key, const char *data, size_t len,
                             ak_err *err)
{
    size_t part = (size_t)backend(s)->part_bytes;
    if (len / part >= MAX_PARTS)
        part = len / MAX_PARTS + 1;
    size_t n = (len + part - 1) / part;
    char *upload_id = NULL;
    char **etags = calloc(n, sizeof *etags);
    if (!etags)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory in put %s", key);
    ak_code rc = start_upload(s, key, &upload_id, err);
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        size_t off = i * part;
        rc = put_part(s, key, upload_id, i + 1, data + off, len - off < part ? len - off : part,
                      &etags[i], err);
    }
    if (rc == AK_OK)
        rc = complete_upload(s, key, upload_id, etags, n, len, err);
    if (rc != AK_OK && upload_id)
        abort_upload(s, key, upload_id);
    for (size_t i = 0; i < n; i++)
        free(etags[i]);
    free(etags);
    free(upload_id);
    return rc;
}

static ak_code s3_put(ak_store *s, const char *key, const void *data, size_t len, ak_err *err)
{
    if (len > (size_t)backend(s)->part_bytes)
        return put_multipart(s, key, data, len, err);
    return put_single(s, key, data, len, err);
}

/* ---- open and close --------------------------------------------------- */

static void free_secret(char *p)
{
    if (p)
        memset(p, 0, strlen(p));
    free(p);
}

static void s3_free(s3_store *b)
{
    for (size_t i = 0; i < b->n_idle; i++)
        curl_easy_cleanup(b->idle[i]);
    pthread_mutex_destroy(&b->pool_mu);
    free(b->bucket);
    free(b->prefix);
    free(b->base);
    free(b->host);
    free(b->access_key);
    free_secret(b->secret_key);
    free_secret(b->session_token);
    free(b->region);
    free(b);
}

static void s3_close(ak_store *s)
{
    if (s->backend)
        s3_free(s->backend);
}

static const ak_store_ops s3_ops = {
    .list = s3_list,
    .get = s3_get,
    .put = s3_put,
    .head = s3_head,
    .del = s3_delete,
    .close = s3_close,
    .opaque_tokens = 1,
};

static ak_code nomem(ak_err *err, const char *url)
{
    return ak_err_set(err, AK_ERR_NOMEM, "out of memory opening %s", url);
}

static int all_of(const char *s, const char *set) { return s[strspn(s, set)] == '\0'; }

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

/* "s3://bucket[/prefix]": the bucket's name must be safe in a host name or
 * path, the prefix a valid key prefix; it is kept with a trailing "/". */
static ak_code parse_url(s3_store *b, const char *url, ak_err *err)
{
    const char *name = url + strlen("s3://"), *slash = strchr(name, '/');
    size_t n = slash ? (size_t)(slash - name) : strlen(name);
    if (n == 0 || n > 255)
        return ak_err_set(err, AK_ERR_INVALID, "object store URL %s: no bucket name "
                          "(use s3://bucket[/prefix])", url);
    if (!(b->bucket = strndup(name, n)))
        return nomem(err, url);
    if (!all_of(b->bucket, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-"))
        return ak_err_set(err, AK_ERR_INVALID, "object store URL %s: bucket name \"%s\" may "
                          "only hold letters, digits, '.', '_' and '-'", url, b->bucket);
    const char *prefix = slash ? slash + 1 : "";
    size_t plen = strlen(prefix);
    while (plen && prefix[plen - 1] == '/')
        plen--;
    if (plen >= AK_STORE_KEY_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "object store URL %s: prefix too long", url);
    if (asprintf(&b->prefix, "%.*s%s", (int)plen, prefix, plen ? "/" : "") < 0) {
        b->prefix = NULL;
        return nomem(err, url);
    }
    if (!ak_store_prefix_valid(b->prefix))
        return ak_err_set(err, AK_ERR_INVALID, "object store URL %s: prefix \"%.*s\" is no "
                          "valid key prefix", url, (int)plen, prefix);
    return AK_OK;
}

/* A copy of environment variable name, or NULL when it is unset or empty. */
static ak_code env_copy(const char *name, char **out, ak_err *err)
{
    const char *v = getenv(name);
    *out = NULL;
    if (!v || !v[0])
        return AK_OK;
    if (!(*out = strdup(v)))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory reading %s", name);
    return AK_OK;
}

static ak_code read_credentials(s3_store *b, const char *url, ak_err *err)
{
    ak_code rc = env_copy("AWS_ACCESS_KEY_ID", &b->access_key, err);
    if (rc == AK_OK)
        rc = env_copy("AWS_SECRET_ACCESS_KEY", &b->secret_key, err);
    if (rc == AK_OK)
        rc = env_copy("AWS_SESSION_TOKEN", &b->session_token, err);
    if (rc == AK_OK)
        rc = env_copy("AWS_REGION", &b->region, err);
    if (rc == AK_OK && !b->region)
        rc = env_copy("AWS_DEFAULT_REGION", &b->region, err);
    if (rc == AK_OK && !b->region && !(b->region = strdup("us-east-1")))
        rc = nomem(err, url);
    if (rc != AK_OK)
        return rc;
    if (!b->access_key || !b->secret_key)
        return ak_err_set(err, AK_ERR_AUTH, "%s: no credentials: set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)",
                          url);
    if (!all_of(b->region, LOWER_DIGITS "-"))
        return ak_err_set(err, AK_ERR_INVALID, "AWS_REGION=%s: not a region name", b->region);
    return AK_OK;
}

static ak_code read_tuning(s3_store *b, ak_err *err)
{
    ak_code rc = ak_store_env_int("AKOSHA_S3_ATTEMPTS", 4, 1, 20, &b->attempts, err);
    if (rc == AK_OK)
        rc = ak_store_env_int("AKOSHA_S3_RETRY_BASE_MS", 100, 0, 60000, &b->retry_base_ms, err);
    if (rc == AK_OK)
        rc = ak_store_env_int("AKOSHA_S3_CONNECT_TIMEOUT_MS", 5000, 1, 600000,
                              &b->connect_timeout_ms, err);
    if (rc == AK_OK)
        rc = ak_store_env_int("AKOSHA_S3_LOW_SPEED_SECONDS", 30, 1, 3600,
                              &b->low_speed_seconds, err);
    /* S3 refuses parts under 5 MiB (but the last) and objects over 5 TiB */
    if (rc == AK_OK)
        rc = ak_store_env_int("AKOSHA_S3_MULTIPART_BYTES", 16 * MIB, 5 * MIB, 5 * 1024 * MIB,
                              &b->part_bytes, err);
    return rc;
}

/* AKOSHA_S3_ENDPOINT: "http[s]://host[:port]" with nothing after but "/". */
static ak_code parse_endpoint(s3_store *b, const char *ep, ak_err *err)
{
    const char *host = strstr(ep, "://");
    int scheme_ok = host && ((host - ep == 4 && strncmp(ep, "http", 4) == 0) ||
                             (host - ep == 5 && strncmp(ep, "https", 5) == 0));
    host = scheme_ok ? host + 3 : NULL;
    size_t n = host ? strcspn(host, "/") : 0;
    if (!host || n == 0 || memchr(host, '@', n) || (host[n] && strcmp(host + n, "/") != 0))
        return ak_err_set(err, AK_ERR_INVALID, "AKOSHA_S3_ENDPOINT=%s: expected "
                          "http[s]://host[:port]", ep);
    if (!(b->host = strndup(host, n)) ||
        asprintf(&b->base, "%.*s", (int)(host + n - ep), ep) < 0) {
        b->base = NULL;
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory reading AKOSHA_S3_ENDPOINT");
    }
    b->path_style = 1;
    return AK_OK;
}

/* A bucket name that is one DNS label, usable as a TLS host name. */
static int dns_label(const char *s)
{
    size_t n = strlen(s);
    return n >= 3 && n <= 63 && all_of(s, LOWER_DIGITS "-") && s[0] != '-' && s[n - 1] != '-';
}

static ak_code addressing(s3_store *b, ak_err *err)
{
    const char *ep = getenv("AKOSHA_S3_ENDPOINT");
    if (ep && ep[0])
        return parse_endpoint(b, ep, err);
    b->path_style = !dns_label(b->bucket);
    int n = b->path_style ? asprintf(&b->host, "s3.%s.amazonaws.com", b->region)
                          : asprintf(&b->host, "%s.s3.%s.amazonaws.com", b->bucket, b->region);
    if (n < 0 || asprintf(&b->base, "https://%s", b->host) < 0) {
        b->host = b->base = NULL;
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory opening s3://%s", b->bucket);
    }
    return AK_OK;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

/* Once per process, never undone: libcurl's global state lives as long as
 * the program, which may open stores from several threads. */
static void curl_init(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

static ak_code configure(s3_store *b, const char *url, ak_err *err)
{
    ak_code rc = parse_url(b, url, err);
    if (rc == AK_OK)
        rc = read_credentials(b, url, err);
    if (rc == AK_OK)
        rc = read_tuning(b, err);
    if (rc == AK_OK)
        rc = addressing(b, err);
    pthread_once(&curl_once, curl_init);
    if (rc == AK_OK && curl_init_result != CURLE_OK)
        rc = ak_err_set(err, AK_ERR_INTERNAL, "cannot initialize libcurl: %s",
                        curl_easy_strerror(curl_init_result));
    return rc;
}

ak_code ak_store_s3_open(const char *url, ak_store **out, ak_err *err)
{
    *out = NULL;
    s3_store *b = calloc(1, sizeof *b);
    if (!b)
        return nomem(err, url);
    pthread_mutex_init(&b->pool_mu, NULL);
    ak_code rc = configure(b, url, err);
    ak_store *s = rc == AK_OK ? calloc(1, sizeof *s) : NULL;
    char *canonical = NULL; /* "s3://bucket" or "s3://bucket/prefix" */
    if (s && asprintf(&canonical, "s3://%s/%s", b->bucket, b->prefix) >= 0)
        canonical[strlen(canonical) - 1] = '\0';
    else
        canonical = NULL;
    if (rc == AK_OK && (!s || !canonical))
        rc = nomem(err, url);
    if (rc != AK_OK) {
        free(s);
        free(canonical);
        s3_free(b);
        return rc;
    }
    *s = (ak_store){.ops = &s3_ops, .url = canonical, .backend = b};
    *out = s;
    return AK_OK;
}
