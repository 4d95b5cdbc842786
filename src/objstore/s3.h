/*
 * s3.h - what the two halves of the S3 backend share (private to
 * src/objstore/objstore_s3*.c): the backend's state, one request and its
 * reply.  objstore_s3.c is the operations (get, head, list, put in parts,
 * delete) and opening the store; objstore_s3_request.c sends one request:
 * signing, curl, judging the reply, retries.
 */
#ifndef AK_OBJSTORE_S3_H
#define AK_OBJSTORE_S3_H

#include <curl/curl.h>
#include <pthread.h>

#include "objstore/objstore_impl.h"
#include "objstore/s3xml.h"
#include "objstore/sigv4.h"
#include "util/buf.h"

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

static inline s3_store *backend(const ak_store *s) { return s->backend; }

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

static inline void ak_s3_reply_free(s3_reply *r) { ak_buf_free(&r->body); }

/* Send req, again after a transient failure (the retry loop in
 * objstore_s3_request.c); r holds the last reply (free it with
 * ak_s3_reply_free()). */
ak_code ak_s3_call(ak_store *s, const s3_request *req, s3_reply *r, ak_err *err);

#endif
