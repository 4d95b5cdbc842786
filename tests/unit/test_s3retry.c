/*
 * test_s3retry.c - the S3 backend's handling of what a server answers
 * (src/objstore/objstore_s3.c), against a scripted HTTP server on a
 * loopback port: each test lists the replies, runs one operation and looks
 * at the requests that arrived.
 *
 * What a real server cannot be made to do on cue is covered here: 5xx, 429
 * and SlowDown retried with backoff, 4xx final at once, a stream cut short
 * after bytes reached the sink (not retried) and before (retried), a 200
 * carrying an <Error> when a multipart upload completes, an abandoned
 * multipart upload aborted, and the exact shape of the requests (encoded
 * path, sorted query, payload hash).  test_s3store.c covers a real server.
 */
#include "objstore/objstore.h"
#include "test.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/sha256.h"

/* ---- the scripted server ---------------------------------------------- */

enum { MAX_STEPS = 16 };

typedef struct {
    const char *reply; /* raw HTTP reply bytes */
    int close_after;   /* close the connection once it is written */
} step;

typedef struct {
    int listen_fd, port;
    step script[MAX_STEPS];
    int n_steps, next;
    ak_buf requests[MAX_STEPS + 4]; /* request line + headers + body, as received */
    int n_requests;
    volatile int stop;
    pthread_t thread;
} server;

static server srv;

/* Read one request (headers, then Content-Length bytes of body) into b.
 * 0 when the peer closed or the server is stopping. */
static int read_request(int fd, ak_buf *b)
{
    char chunk[65536];
    size_t need = 0;
    for (;;) {
        char *end = b->data ? strstr(b->data, "\r\n\r\n") : NULL;
        if (end && !need) {
            const char *cl = strcasestr(b->data, "\r\nContent-Length:");
            need = (size_t)(end + 4 - b->data) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (need && b->len >= need)
            return 1;
        struct pollfd p = {fd, POLLIN, 0};
        if (srv.stop)
            return 0;
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0)
            return 0;
        ak_buf_append(b, chunk, (size_t)n);
    }
}

static void serve_connection(int fd)
{
    while (!srv.stop && srv.n_requests < MAX_STEPS + 4) {
        ak_buf *b = &srv.requests[srv.n_requests];
        if (!read_request(fd, b))
            break;
        srv.n_requests++;
        step s = srv.next < srv.n_steps
                     ? srv.script[srv.next++]
                     : (step){"HTTP/1.1 599 Unscripted\r\nContent-Length: 0\r\n\r\n", 1};
        size_t len = strlen(s.reply);
        if (write(fd, s.reply, len) != (ssize_t)len || s.close_after)
            break;
    }
    close(fd);
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!srv.stop) {
        struct pollfd p = {srv.listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv.listen_fd, NULL, NULL);
        if (fd >= 0)
            serve_connection(fd);
    }
    return NULL;
}

/* A reply with a body and its Content-Length (static storage per slot). */
static const char *reply(const char *status, const char *headers, const char *body)
{
    static char slots[MAX_STEPS * 2][2048];
    static int next;
    char *out = slots[next++ % (MAX_STEPS * 2)];
    snprintf(out, sizeof slots[0], "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n\r\n%s", status,
             headers, strlen(body), body);
    return out;
}

static const char *s3_error(const char *status, const char *code)
{
    char body[512];
    snprintf(body, sizeof body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s"
             "</Code><Message>Message of %s.</Message></Error>", code, code);
    return reply(status, "", body);
}

static void start_server(const step *script, int n)
{
    memset(&srv, 0, sizeof srv);
    memcpy(srv.script, script, (size_t)n * sizeof *script);
    srv.n_steps = n;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(srv.listen_fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(srv.listen_fd, 8) == 0);
    getsockname(srv.listen_fd, (struct sockaddr *)&a, &alen);
    srv.port = ntohs(a.sin_port);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", srv.port);
    setenv("AKOSHA_S3_ENDPOINT", ep, 1);
    pthread_create(&srv.thread, NULL, server_main, NULL);
}

static void stop_server(void)
{
    srv.stop = 1;
    pthread_join(srv.thread, NULL);
    close(srv.listen_fd);
    CHECK_INT(srv.next, srv.n_steps); /* every scripted reply was asked for */
    for (int i = 0; i < MAX_STEPS + 4; i++)
        ak_buf_free(&srv.requests[i]);
}

static const char *request(int i) { return i < srv.n_requests ? srv.requests[i].data : ""; }

/* CHECK that a request starts with the given text (its request line). */
#define CHECK_STARTS(req, lit)                                                 \
    do {                                                                       \
        const char *r_ = (req);                                                \
        if (strncmp(r_, lit, strlen(lit)) != 0) {                              \
            fprintf(stderr, "%s:%d: %s: request \"%.120s\" does not start "     \
                    "with \"%s\"\n", __FILE__, __LINE__, test_current, r_, lit); \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

static ak_store *open_store(void)
{
    ak_store *s = NULL;
    ak_err err = {0};
    CHECK_INT(ak_store_open("s3://bkt/pre", &s, &err), AK_OK);
    return s;
}

static uint64_t requests_sent(ak_store *s)
{
    ak_store_stats st;
    ak_store_stats_get(s, &st);
    return st.requests;
}

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- retried ---------------------------------------------------------- */

static void test_retries_then_succeeds(void)
{
    step script[] = {{s3_error("503 Slow Down", "SlowDown"), 0},
                     {s3_error("500 Internal Server Error", "InternalError"), 0},
                     {reply("429 Too Many Requests", "", ""), 0},
                     {reply("200 OK", "", "hello"), 0}};
    start_server(script, 4);
    ak_store *s = open_store();
    char *text = NULL;
    ak_err err = {0};
    CHECK_INT(ak_store_get_small(s, "systems/a b+c%/m.json", 100, &text, NULL, &err), AK_OK);
    CHECK_STR(text, "hello");
    free(text);
    ak_store_stats st;
    ak_store_stats_get(s, &st);
    CHECK_INT(st.requests, 4);
    CHECK_INT(st.retries, 3);
    CHECK_INT(st.ok[AK_STORE_OP_GET], 1);
    for (int i = 0; i < 4; i++) {
        CHECK_STARTS(request(i), "GET /bkt/pre/systems/a%20b%2Bc%25/m.json HTTP/1.1\r\n");
        CHECK_HAS(request(i), "\r\nx-amz-content-sha256: " EMPTY_SHA256 "\r\n");
        CHECK_HAS(request(i), "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/");
        CHECK_HAS(request(i), "/us-east-1/s3/aws4_request, SignedHeaders=host;"
                              "x-amz-content-sha256;x-amz-date, Signature=");
    }
    ak_store_close(s);
    stop_server();
}

static void test_gives_up(void)
{
    step script[] = {{s3_error("503 Service Unavailable", "ServiceUnavailable"), 0},
                     {s3_error("503 Service Unavailable", "ServiceUnavailable"), 0},
                     {s3_error("503 Service Unavailable", "ServiceUnavailable"), 0}};
    start_server(script, 3);
    ak_store *s = open_store();
    ak_err err = {0};
    CHECK_INT(ak_store_put(s, "k", "body", 4, &err), AK_ERR_IO);
    CHECK_STR(err.msg, "s3 PUT k: 503 ServiceUnavailable: Message of ServiceUnavailable. "
                       "(gave up after 3 attempts)");
    CHECK_INT(requests_sent(s), 3);
    ak_store_close(s);
    stop_server();
}

/* ---- final at once ---------------------------------------------------- */

static void check_final(const char *status, const char *code, ak_code want, const char *msg)
{
    step script[] = {{s3_error(status, code), 0}};
    start_server(script, 1);
    ak_store *s = open_store();
    ak_err err = {0};
    char *text = NULL;
    CHECK_INT(ak_store_get_small(s, "systems/x/manifest.json", 100, &text, NULL, &err), want);
    CHECK_STR(err.msg, msg);
    CHECK_INT(requests_sent(s), 1);
    ak_store_close(s);
    stop_server();
}

static void test_final_at_once(void)
{
    check_final("403 Forbidden", "SignatureDoesNotMatch", AK_ERR_AUTH,
                "s3 GET systems/x/manifest.json: 403 SignatureDoesNotMatch: Message of "
                "SignatureDoesNotMatch.");
    check_final("403 Forbidden", "InvalidAccessKeyId", AK_ERR_AUTH,
                "s3 GET systems/x/manifest.json: 403 InvalidAccessKeyId: Message of "
                "InvalidAccessKeyId.");
    check_final("400 Bad Request", "ExpiredToken", AK_ERR_AUTH,
                "s3 GET systems/x/manifest.json: 400 ExpiredToken: Message of ExpiredToken.");
    check_final("400 Bad Request", "InvalidArgument", AK_ERR_INVALID,
                "s3 GET systems/x/manifest.json: 400 InvalidArgument: Message of "
                "InvalidArgument.");
    check_final("404 Not Found", "NoSuchKey", AK_ERR_NOTFOUND,
                "object systems/x/manifest.json not found in s3://bkt/pre");
    check_final("404 Not Found", "NoSuchBucket", AK_ERR_NOTFOUND,
                "s3 GET systems/x/manifest.json: bucket bkt does not exist (404 NoSuchBucket)");
    check_final("301 Moved Permanently", "PermanentRedirect", AK_ERR_INVALID,
                "s3 GET systems/x/manifest.json: 301 PermanentRedirect: Message of "
                "PermanentRedirect.");
}

static void test_delete_missing(void)
{
    step script[] = {{s3_error("404 Not Found", "NoSuchKey"), 0},
                     {reply("204 No Content", "", ""), 0},
                     {s3_error("404 Not Found", "NoSuchBucket"), 0}};
    start_server(script, 3);
    ak_store *s = open_store();
    ak_err err = {0};
    CHECK_INT(ak_store_delete(s, "gone", &err), AK_OK);
    CHECK_INT(ak_store_delete(s, "there", &err), AK_OK);
    CHECK_INT(ak_store_delete(s, "x", &err), AK_ERR_NOTFOUND);
    CHECK_HAS(err.msg, "bucket bkt does not exist");
    CHECK_STARTS(request(0), "DELETE /bkt/pre/gone HTTP/1.1\r\n");
    ak_store_close(s);
    stop_server();
}

/* ---- streams ---------------------------------------------------------- */

typedef struct {
    size_t got;
} count_ctx;

static ak_code count_sink(void *ctx, const void *data, size_t len)
{
    (void)data;
    ((count_ctx *)ctx)->got += len;
    return AK_OK;
}

static void test_stream_cut_short(void)
{
    /* bytes reached the sink: the consumer saw them, so no second try */
    step cut_late[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", 1}};
    start_server(cut_late, 1);
    ak_store *s = open_store();
    ak_err err = {0};
    count_ctx c = {0};
    CHECK_INT(ak_store_get(s, "obj", count_sink, &c, &err), AK_ERR_IO);
    CHECK_INT(c.got, 10);
    CHECK_INT(requests_sent(s), 1);
    CHECK_HAS(err.msg, "s3 GET obj: http://127.0.0.1:");
    ak_store_close(s);
    stop_server();

    /* cut before any byte of the body: tried again */
    step cut_early[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 1},
                        {reply("200 OK", "", "whole"), 0}};
    start_server(cut_early, 2);
    s = open_store();
    c.got = 0;
    CHECK_INT(ak_store_get(s, "obj", count_sink, &c, &err), AK_OK);
    CHECK_INT(c.got, 5);
    CHECK_INT(requests_sent(s), 2);
    ak_store_close(s);
    stop_server();
}

/* ---- multipart -------------------------------------------------------- */

static char *big_body(size_t len)
{
    char *b = malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (char)('a' + i % 26);
    return b;
}

static void test_multipart_error_in_200(void)
{
    step script[] = {
        {reply("200 OK", "", "<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key>"
                             "<UploadId>U+1/x</UploadId></InitiateMultipartUploadResult>"), 0},
        {reply("200 OK", "ETag: \"e1\"\r\n", ""), 0},
        {reply("200 OK", "ETag: \"e2\"\r\n", ""), 0},
        {s3_error("200 OK", "InternalError"), 0},
        {reply("200 OK", "", "<CompleteMultipartUploadResult><ETag>\"e-2\"</ETag>"
                             "</CompleteMultipartUploadResult>"), 0}};
    start_server(script, 5);
    setenv("AKOSHA_S3_MULTIPART_BYTES", "5242880", 1);
    ak_store *s = open_store();
    unsetenv("AKOSHA_S3_MULTIPART_BYTES");
    size_t len = 5242880 + 10;
    char *body = big_body(len);
    ak_err err = {0};
    CHECK_INT(ak_store_put(s, "k", body, len, &err), AK_OK);
    CHECK_INT(requests_sent(s), 5);
    CHECK_STARTS(request(0), "POST /bkt/pre/k?uploads= HTTP/1.1");
    CHECK_STARTS(request(1), "PUT /bkt/pre/k?partNumber=1&uploadId=U%2B1%2Fx HTTP/1.1");
    CHECK_STARTS(request(2), "PUT /bkt/pre/k?partNumber=2&uploadId=U%2B1%2Fx HTTP/1.1");
    CHECK_STARTS(request(3), "POST /bkt/pre/k?uploadId=U%2B1%2Fx HTTP/1.1");
    CHECK_HAS(request(4), "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"
                          "<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>");
    CHECK_HAS(request(4), "\r\nContent-Type: application/xml\r\n");
    /* each part is signed with its own payload hash */
    uint8_t d[AK_SHA256_LEN];
    char hex[AK_SHA256_HEX], want[128];
    ak_sha256(body + 5242880, 10, d);
    ak_hex(d, sizeof d, hex);
    snprintf(want, sizeof want, "\r\nx-amz-content-sha256: %s\r\n", hex);
    CHECK_HAS(request(2), want);
    CHECK(srv.n_requests > 2 && memcmp(srv.requests[2].data + srv.requests[2].len - 10,
                                       body + 5242880, 10) == 0);
    free(body);
    ak_store_close(s);
    stop_server();
}

static void test_multipart_aborted(void)
{
    step script[] = {
        {reply("200 OK", "", "<InitiateMultipartUploadResult><UploadId>U</UploadId>"
                             "</InitiateMultipartUploadResult>"), 0},
        {s3_error("400 Bad Request", "InvalidArgument"), 0},
        {reply("204 No Content", "", ""), 0}};
    start_server(script, 3);
    setenv("AKOSHA_S3_MULTIPART_BYTES", "5242880", 1);
    ak_store *s = open_store();
    unsetenv("AKOSHA_S3_MULTIPART_BYTES");
    size_t len = 5242880 + 1;
    char *body = big_body(len);
    ak_err err = {0};
    CHECK_INT(ak_store_put(s, "k", body, len, &err), AK_ERR_INVALID);
    CHECK_STR(err.msg, "s3 PUT (part 1) k: 400 InvalidArgument: Message of InvalidArgument.");
    CHECK_STARTS(request(2), "DELETE /bkt/pre/k?uploadId=U HTTP/1.1");
    free(body);
    ak_store_close(s);
    stop_server();
}

/* ---- listing ---------------------------------------------------------- */

static void test_list_request(void)
{
    step script[] = {
        {reply("200 OK", "", "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>"
                             "true</IsTruncated><NextContinuationToken>t//2+=</NextContinuation"
                             "Token><CommonPrefixes><Prefix>pre%2Fsystems%2Fa+b%2F</Prefix>"
                             "</CommonPrefixes></ListBucketResult>"), 0},
        {reply("200 OK", "", "<ListBucketResult><IsTruncated>"), 0}};
    start_server(script, 2);
    ak_store *s = open_store();
    ak_store_page p;
    ak_err err = {0};
    CHECK_INT(ak_store_list(s, "systems/", "/", "t//1=", 5, &p, &err), AK_OK);
    CHECK_STARTS(request(0), "GET /bkt?continuation-token=t%2F%2F1%3D&delimiter=%2F&"
                              "encoding-type=url&list-type=2&max-keys=5&prefix=pre%2Fsystems%2F "
                              "HTTP/1.1\r\n");
    CHECK_INT(p.n_prefixes, 1);
    if (p.n_prefixes)
        CHECK_STR(p.prefixes[0], "systems/a b/");
    CHECK_STR(p.next_token, "t//2+=");
    ak_store_page_free(&p);
    /* a page that does not decode is the server's fault: transient */
    CHECK_INT(ak_store_list(s, "", NULL, NULL, 0, &p, &err), AK_ERR_IO);
    CHECK_HAS(err.msg, "s3 LIST (all keys): unusable reply: malformed XML at byte ");
    ak_store_close(s);
    stop_server();
}

int main(void)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AKOSHA_S3_ATTEMPTS", "4", 1);
    setenv("AKOSHA_S3_RETRY_BASE_MS", "1", 1);
    RUN(test_retries_then_succeeds);
    setenv("AKOSHA_S3_ATTEMPTS", "3", 1);
    RUN(test_gives_up);
    RUN(test_final_at_once);
    RUN(test_delete_missing);
    RUN(test_stream_cut_short);
    RUN(test_multipart_error_in_200);
    RUN(test_multipart_aborted);
    RUN(test_list_request);
    return test_report("s3retry");
}
