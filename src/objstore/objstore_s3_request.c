/*
 * objstore_s3_request.c - one S3 request (see objstore_s3.c for the
 * addressing, signing and retry rules): build the URL and signed headers,
 * run it on a pooled curl handle, judge the reply, and send it again after
 * a transient failure with backoff.
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

/* ---- one request ------------------------------------------------------ */

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
ak_code ak_s3_call(ak_store *s, const s3_request *req, s3_reply *r, ak_err *err)
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
