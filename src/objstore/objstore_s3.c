/*
 * objstore_s3.c - the S3 backend: s3://bucket[/prefix] over libcurl, each
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
#include "objstore/objstore_impl.h"

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

enum {
    POOL_MAX = 16,          /* idle handles kept; more are closed when returned */
    MAX_PARTS = 10000,      /* S3's limit on the parts of one upload */
    LOW_SPEED_BYTES = 1024, /* slower than this per second, for too long: abandon */
    MAX_BACKOFF_MS = 10000,
    SHUTDOWN_POLL_MS = 50, /* a backoff wait looks for shutdown this often */
};

#define MIB (1024LL * 1024)

typedef struct {
    char *bucket;
    char *prefix; /* "" or ending in "/": put in front of every key */
    char *base;   /* "https://host[:port]", no trailing "/" */
    char *host;   /* the Host header, as signed */
    int path_style;
    char *access_key, *secret_key, *session_token, *region;
    long long attempts, retry_base_ms, connect_timeout_ms, low_speed_seconds, part_bytes;
    pthread_mutex_t pool_mu;
    CURL *idle[POOL_MAX];
    size_t n_idle;
} s3_store;

static s3_store *backend(const ak_store *s) { return s->backend; }

/* ---- one request ------------------------------------------------------ */

typedef struct {
    const char *verb;  /* the HTTP method */
    const char *what;  /* the operation, for messages: "GET", "LIST", ... */
    const char *key;   /* the object's key below the store's prefix; NULL: the bucket */
    const char *shown; /* what messages name (the key, a list prefix) */
    const ak_sigv4_pair *query;
    size_t n_query;
    const char *body;
    size_t body_len;
    const char *content_type;  /* NULL: none sent */
    ak_store_sink sink;        /* where a 2xx body goes; NULL: the reply's body */
    void *sink_ctx;
} s3_request;

typedef struct {
    long status;
    char reason[64];     /* the status line's phrase ("Service Unavailable") */
    ak_buf body;         /* the body when not streamed to a sink, capped */
    ak_s3_error error;   /* S3's <Error>, when the reply was one */
    char etag[256];
    int64_t length;      /* Content-Length, -1 if unknown (HEAD) */
    int64_t mtime_us;    /* Last-Modified (HEAD) */
    int attempts;        /* requests made */
} s3_reply;

/* The state of one attempt, shared with curl's callbacks. */
typedef struct {
    ak_store *s;
    CURL *curl;
    const s3_request *req;
    s3_reply *reply;
    size_t sent;       /* bytes of the request body handed to curl */
    int delivered;     /* the sink has seen bytes of the object */
    int aborted;       /* the sink asked to stop */
    int overflow;      /* the reply body went over its cap */
    char errbuf[CURL_ERROR_SIZE];
} xfer;

/* Ready for attempt number `attempt`, keeping the body's memory. */
static void reply_reset(s3_reply *r, int attempt)
{
    ak_buf body = r->body;
    memset(r, 0, sizeof *r);
    r->body = body;
    ak_buf_reset(&r->body);
    r->body.limit = AK_S3XML_MAX_BYTES;
    r->length = -1;
    r->attempts = attempt;
}

static void reply_free(s3_reply *r) { ak_buf_free(&r->body); }

/* The value of a header line ("ETag: \"x\"\r\n" with name_len 5), trimmed. */
static void copy_header_value(const char *p, size_t len, size_t name_len, char *out, size_t cap)
{
    p += name_len;
    len -= name_len;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
        len--;
    snprintf(out, cap, "%.*s", (int)len, p);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new reply: "HTTP/1.1 200 OK" */
        const char *sp = memchr(p, ' ', len);
        sp = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p)) : NULL;
        x->reply->reason[0] = x->reply->etag[0] = '\0';
        if (sp)
            copy_header_value(sp, len - (size_t)(sp - p), 1, x->reply->reason,
                              sizeof x->reply->reason);
    } else if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
        copy_header_value(p, len, 5, x->reply->etag, sizeof x->reply->etag);
    }
    return len;
}

static int success(long status) { return status >= 200 && status < 300; }

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->req->sink && success(status)) {
        x->delivered = 1;
        if (x->req->sink(x->req->sink_ctx, p, len) != AK_OK) {
            x->aborted = 1;
            return 0; /* curl stops with CURLE_WRITE_ERROR */
        }
        return len;
    }
    if (ak_buf_append(&x->reply->body, p, len) != AK_OK) {
        x->overflow = 1;
        return 0;
    }
    return len;
}

static size_t on_read(char *out, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t room = size * n, left = x->req->body_len - x->sent;
    size_t len = left < room ? left : room;
    memcpy(out, x->req->body + x->sent, len);
    x->sent += len;
    return len;
}

/* curl rewinds the body when it must send it again on a new connection. */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
    xfer *x = arg;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->sent = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* Called by curl at least once a second, even while nothing arrives: a
 * request in flight is abandoned at shutdown (ak_store_set_shutdown). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const xfer *x = arg;
    return ak_store_aborting(x->s);
}

/* ---- building and sending --------------------------------------------- */

/* The decoded path: "/bucket/prefix/key" path-style, "/prefix/key" else. */
static ak_code request_path(const s3_store *b, const s3_request *req, ak_buf *path)
{
    ak_code rc = b->path_style ? ak_buf_printf(path, "/%s", b->bucket) : AK_OK;
    if (rc == AK_OK && req->key)
        rc = ak_buf_printf(path, "/%s%s", b->prefix, req->key);
    if (rc == AK_OK && !path->len)
        rc = ak_buf_putc(path, '/');
    return rc;
}

static ak_code build_url(const s3_store *b, const s3_request *req, const char *path,
                         ak_buf *url)
{
    ak_code rc = ak_buf_puts(url, b->base);
    if (rc == AK_OK)
        rc = ak_sigv4_encode(url, path, strlen(path), 1);
    if (rc == AK_OK && req->n_query)
        rc = ak_buf_putc(url, '?');
    if (rc == AK_OK)
        rc = ak_sigv4_canonical_query(url, req->query, req->n_query);
    return rc;
}

static int append_header(struct curl_slist **list, const char *name, const char *value)
{
    ak_buf line = {0};
    struct curl_slist *l = NULL;
    if (ak_buf_printf(&line, "%s: %s", name, value) == AK_OK)
        l = curl_slist_append(*list, line.data);
    ak_buf_free(&line);
    if (l)
        *list = l;
    return l != NULL;
}

/* Sign the request as of now and list the headers to send. */
static ak_code sign_headers(const s3_store *b, const s3_request *req, const char *path,
                            const char *payload_sha256, struct curl_slist **out)
{
    char date[AK_SIGV4_DATE_LEN];
    ak_sigv4_date((long long)time(NULL), date);
    ak_sigv4_pair h[] = {{"Host", b->host},
                         {"x-amz-content-sha256", payload_sha256},
                         {"x-amz-date", date},
                         {"x-amz-security-token", b->session_token}};
    size_t nh = b->session_token ? 4 : 3;
    ak_sigv4_request sr = {req->verb, path, req->query, req->n_query, h, nh, payload_sha256};
    ak_sigv4_credentials cred = {b->access_key, b->secret_key, b->region, "s3"};
    ak_sigv4_result sig;
    ak_code rc = ak_sigv4_sign(&sr, &cred, date, &sig);
    int ok = rc == AK_OK;
    for (size_t i = 0; ok && i < nh; i++)
        ok = append_header(out, h[i].name, h[i].value);
    ok = ok && append_header(out, "Authorization", sig.authorization.data);
    if (ok && req->content_type)
        ok = append_header(out, "Content-Type", req->content_type);
    /* no "Expect: 100-continue" round trip before a body */
    struct curl_slist *l = ok ? curl_slist_append(*out, "Expect:") : NULL;
    if (l)
        *out = l;
    ak_sigv4_result_free(&sig);
    return l ? AK_OK : AK_ERR_NOMEM;
}

static void set_method(xfer *x)
{
    CURL *c = x->curl;
    const s3_request *req = x->req;
    if (strcmp(req->verb, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
    } else if (strcmp(req->verb, "PUT") == 0 || strcmp(req->verb, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->verb);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, x);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->verb, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->verb);
    }
}

static void set_options(const s3_store *b, xfer *x, const char *url, struct curl_slist *headers)
{
    CURL *c = x->curl;
    curl_easy_reset(c); /* keeps the handle's open connections */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "akosha");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)b->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)b->low_speed_seconds);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    set_method(x);
}

static void read_head_info(xfer *x)
{
    curl_off_t length = -1, mtime = -1;
    curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    curl_easy_getinfo(x->curl, CURLINFO_FILETIME_T, &mtime);
    x->reply->length = length;
    x->reply->mtime_us = mtime > 0 ? (int64_t)mtime * 1000000 : 0;
}

/* ---- judging a reply -------------------------------------------------- */

/* S3 error codes that mean "the same request may succeed later". */
static int transient_code(const char *code)
{
    static const char *const codes[] = {"SlowDown", "InternalError", "ServiceUnavailable",
                                        "RequestTimeout", "OperationAborted", "Throttling"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

/* 400s that are about the credentials or the signature, not the request. */
static int auth_code(const char *code)
{
    static const char *const codes[] = {"AuthorizationHeaderMalformed", "InvalidToken",
                                        "ExpiredToken", "TokenRefreshRequired",
                                        "InvalidAccessKeyId", "SignatureDoesNotMatch"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

static ak_code final_code(long status, const char *code)
{
    if (status == 401 || status == 403 || auth_code(code))
        return AK_ERR_AUTH;
    return status == 404 ? AK_ERR_NOTFOUND : AK_ERR_INVALID;
}

/* A reply that is no success: set err from the status and S3's <Error>. */
static ak_code judge_failure(ak_store *s, const s3_request *req, s3_reply *r, int *transient,
                             ak_err *err)
{
    const char *code = r->error.code, *msg = r->error.message;
    *transient = r->status >= 500 || r->status == 429 || transient_code(code);
    if (strcmp(code, "NoSuchBucket") == 0)
        return ak_err_set(err, AK_ERR_NOTFOUND, "s3 %s %s: bucket %s does not exist (%ld "
                          "NoSuchBucket)", req->what, req->shown, backend(s)->bucket, r->status);
    if (r->status == 404 && req->key && (!code[0] || strcmp(code, "NoSuchKey") == 0))
        return ak_err_set(err, AK_ERR_NOTFOUND, "object %s not found in %s", req->key, s->url);
    ak_code rc = *transient ? AK_ERR_IO : final_code(r->status, code);
    if (!code[0]) /* HEAD replies and proxies carry no S3 error */
        return ak_err_set(err, rc, "s3 %s %s: %ld %s", req->what, req->shown, r->status,
                          r->reason[0] ? r->reason : "(no reason given)");
    return ak_err_set(err, rc, "s3 %s %s: %ld %s%s%s", req->what, req->shown, r->status, code,
                      msg[0] ? ": " : "", msg);
}

/* AK_OK for a success.  A POST's 200 may still carry an <Error> (S3 does
 * that when completing a multipart upload fails late), so it is looked at. */
static ak_code judge(ak_store *s, const s3_request *req, s3_reply *r, int *transient,
                     ak_err *err)
{
    int post = strcmp(req->verb, "POST") == 0;
    if (post || !success(r->status))
        ak_s3xml_error(r->body.data, r->body.len, &r->error);
    if (success(r->status) && !(post && r->error.code[0]))
        return AK_OK;
    return judge_failure(s, req, r, transient, err);
}

/* ---- the retry loop --------------------------------------------------- */

static CURL *take_handle(s3_store *b)
{
    CURL *c = NULL;
    pthread_mutex_lock(&b->pool_mu);
    if (b->n_idle)
        c = b->idle[--b->n_idle];
    pthread_mutex_unlock(&b->pool_mu);
    return c ? c : curl_easy_init();
}

static void give_back(s3_store *b, CURL *c)
{
    pthread_mutex_lock(&b->pool_mu);
    if (b->n_idle < POOL_MAX) {
        b->idle[b->n_idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&b->pool_mu);
    if (c)
        curl_easy_cleanup(c);
}

/* One request on the wire.  AK_OK means a reply came back (r->status);
 * otherwise the transfer failed, *transient saying whether to retry. */
static ak_code send_once(ak_store *s, CURL *c, const s3_request *req, const char *payload_sha256,
                         s3_reply *r, int *delivered, int *transient, ak_err *err)
{
    s3_store *b = backend(s);
    xfer x = {.s = s, .curl = c, .req = req, .reply = r};
    ak_buf path = {0}, url = {0};
    struct curl_slist *headers = NULL;
    ak_code rc = request_path(b, req, &path);
    if (rc == AK_OK)
        rc = build_url(b, req, path.data, &url);
    if (rc == AK_OK)
        rc = sign_headers(b, req, path.data, payload_sha256, &headers);
    if (rc != AK_OK) {
        rc = ak_err_set(err, AK_ERR_NOMEM, "s3 %s %s: out of memory", req->what, req->shown);
    } else {
        set_options(b, &x, url.data, headers);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        if (cc == CURLE_OK && strcmp(req->verb, "HEAD") == 0)
            read_head_info(&x);
        if (x.aborted)
            rc = AK_ERR_ABORTED; /* objstore.c words it if the sink did not */
        else if (x.overflow)
            rc = ak_err_set(err, AK_ERR_IO, "s3 %s %s: reply larger than %u bytes", req->what,
                            req->shown, AK_S3XML_MAX_BYTES);
        else if (cc == CURLE_ABORTED_BY_CALLBACK)
            rc = ak_err_set(err, AK_ERR_IO, "s3 %s %s: abandoned at shutdown", req->what,
                            req->shown);
        else if (cc != CURLE_OK)
            rc = ak_err_set(err, cc == CURLE_OUT_OF_MEMORY ? AK_ERR_NOMEM : AK_ERR_IO,
                            "s3 %s %s: %s: %s", req->what, req->shown, b->base,
                            x.errbuf[0] ? x.errbuf : curl_easy_strerror(cc));
        *transient = cc != CURLE_OK && cc != CURLE_ABORTED_BY_CALLBACK && rc == AK_ERR_IO &&
                     !x.overflow;
    }
    *delivered = x.delivered;
    curl_slist_free_all(headers);
    ak_buf_free(&path);
    ak_buf_free(&url);
    return rc;
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = (uint32_t)time(NULL) * 2654435761u; /* any spread will do */
    return v;
}

/* Wait before retry number `retry` (1, 2, ...): base * 2^(retry-1), capped,
 * of which a random half is taken off ("equal jitter") so that clients
 * failing together do not come back together.  The wait is cut short by
 * shutdown: 0 then, and the request is not retried. */
static int backoff(const ak_store *s, int retry, const ak_err *why)
{
    const s3_store *b = backend(s);
    long long ceiling = b->retry_base_ms;
    for (int i = 1; i < retry && ceiling < MAX_BACKOFF_MS; i++)
        ceiling *= 2;
    if (ceiling > MAX_BACKOFF_MS)
        ceiling = MAX_BACKOFF_MS;
    long long ms = ceiling - (long long)(random_u32() % (uint32_t)(ceiling / 2 + 1));
    AK_DEBUG("s3", "%s; retry %d of %lld in %lld ms", why ? why->msg : "request failed", retry,
             b->attempts - 1, ms);
    for (; ms > 0 && !ak_store_stopping(s); ms -= SHUTDOWN_POLL_MS) {
        long long slice = ms < SHUTDOWN_POLL_MS ? ms : SHUTDOWN_POLL_MS;
        struct timespec ts = {0, slice * 1000000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    return !ak_store_stopping(s);
}

static void body_sha256(const s3_request *req, char hex[AK_SHA256_HEX])
{
    uint8_t d[AK_SHA256_LEN];
    ak_sha256(req->body ? req->body : "", req->body_len, d);
    ak_hex(d, sizeof d, hex);
}

/* Send req, retrying transient failures.  A streamed GET is not retried
 * once bytes have reached the sink: the consumer has seen them and cannot
 * take them back, so the failure is its to handle (ingestion marks the
 * upload failed and reads it again in a later cycle). */
static ak_code s3_call(ak_store *s, const s3_request *req, s3_reply *r, ak_err *err)
{
    s3_store *b = backend(s);
    char hash[AK_SHA256_HEX];
    CURL *c = take_handle(b);
    if (!c)
        return ak_err_set(err, AK_ERR_NOMEM, "s3 %s %s: cannot create a curl handle", req->what,
                          req->shown);
    body_sha256(req, hash);
    ak_code rc;
    for (int attempt = 1;; attempt++) {
        int delivered = 0, transient = 0;
        reply_reset(r, attempt);
        ak_store_count_request(s, attempt > 1);
        rc = send_once(s, c, req, hash, r, &delivered, &transient, err);
        if (rc == AK_OK)
            rc = judge(s, req, r, &transient, err);
        if (rc == AK_OK || !transient || delivered || r->attempts >= b->attempts ||
            !backoff(s, r->attempts, err))
            break;
    }
    give_back(b, c);
    if (rc == AK_ERR_IO && r->attempts > 1 && err) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (gave up after %d attempts)", r->attempts);
    }
    return rc;
}

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
    ak_code rc = s3_call(s, &req, &r, err);
    reply_free(&r);
    return rc;
}

static ak_code s3_head(ak_store *s, const char *key, ak_store_obj *info, ak_err *err)
{
    s3_request req = {.verb = "HEAD", .what = "HEAD", .key = key, .shown = key};
    s3_reply r = {0};
    ak_code rc = s3_call(s, &req, &r, err);
    if (rc == AK_OK && r.length < 0)
        rc = ak_err_set(err, AK_ERR_IO, "s3 HEAD %s: the reply has no Content-Length", key);
    if (rc == AK_OK && info) {
        info->size = r.length;
        info->mtime_us = r.mtime_us;
        if (!(info->key = strdup(key)))
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory in head %s", key);
    }
    reply_free(&r);
    return rc;
}

/* Deleting what is not there succeeds, as S3 itself has it; deleting from
 * a bucket that is not there is a configuration error worth saying. */
static ak_code s3_delete(ak_store *s, const char *key, ak_err *err)
{
    s3_request req = {.verb = "DELETE", .what = "DELETE", .key = key, .shown = key};
    s3_reply r = {0};
    ak_code rc = s3_call(s, &req, &r, err);
    if (rc == AK_ERR_NOTFOUND && strcmp(r.error.code, "NoSuchBucket") != 0)
        rc = AK_OK;
    reply_free(&r);
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
    ak_code rc = s3_call(s, &req, &r, err);
    if (rc == AK_OK)
        rc = unusable_reply(&req, ak_s3xml_list(r.body.data, r.body.len, b->prefix, out, err),
                            err);
    reply_free(&r);
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
    ak_code rc = s3_call(s, &req, &r, err);
    reply_free(&r);
    return rc;
}

static ak_code start_upload(ak_store *s, const char *key, char **upload_id, ak_err *err)
{
    ak_sigv4_pair q[] = {{"uploads", ""}};
    s3_request req = {.verb = "POST", .what = "PUT (start multipart)", .key = key, .shown = key,
                      .query = q, .n_query = 1};
    s3_reply r = {0};
    ak_code rc = s3_call(s, &req, &r, err);
    if (rc == AK_OK)
        rc = unusable_reply(&req, ak_s3xml_upload_id(r.body.data, r.body.len, upload_id, err),
                            err);
    reply_free(&r);
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
    ak_code rc = s3_call(s, &req, &r, err);
    if (rc == AK_OK && !r.etag[0])
        rc = ak_err_set(err, AK_ERR_IO, "s3 %s %s: the reply has no ETag", what, key);
    if (rc == AK_OK && !(*etag = strdup(r.etag)))
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory in put %s", key);
    reply_free(&r);
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
    ak_code rc = s3_call(s, &req, &r, err);
    if (rc == AK_ERR_NOTFOUND && r.attempts > 1 && strcmp(r.error.code, "NoSuchUpload") == 0 &&
        completed_meanwhile(s, key, len))
        rc = AK_OK;
    reply_free(&r);
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
    if (s3_call(s, &req, &r, &err) != AK_OK)
        AK_WARN("s3", "%s", err.msg);
    reply_free(&r);
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
