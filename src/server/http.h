/*
 * http.h - the HTTP server under `akosha serve`, on libmicrohttpd.
 *
 * This layer knows HTTP, not Akosha: it listens (loopback unless told
 * otherwise; HTTPS when given a certificate and key), bounds connections
 * (in total, per client address, and the time a request's headers may
 * take: see conns.h), reads request bodies up to a limit (413 beyond it),
 * asks the application whether a route is open or needs a bearer token
 * (401 without a valid one; a token may also come as a path prefix
 * /t/<token>/ on the routes that take one, and is then stripped, never
 * logged), applies the per-caller rate limit (429),
 * answers 503 while draining, counts requests in flight so shutdown can
 * wait for them, and hands each complete request to one handler.
 *
 * Ownership: ak_http_start() / ak_http_stop().
 */
#ifndef AK_HTTP_H
#define AK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "server/auth.h"
#include "server/conns.h"
#include "server/metrics.h"
#include "util/buf.h"

typedef struct {
    const char *method, *path; /* path without the query string */
    const char *query;         /* after '?', or "" */
    const char *body;          /* NUL-terminated */
    size_t body_len;
    const char *client;        /* remote address */
    const char *header_session; /* Mcp-Session-Id, or NULL */
    const char *header_accept;
    const char *header_authorization; /* raw, or NULL: for routes that judge it themselves */
    int token;                 /* the matching API token's number, or -1 */
} ak_request;

typedef struct {
    unsigned status;
    const char *content_type;  /* default application/json */
    ak_buf body;
    const char *extra_header, *extra_value; /* one optional response header */
    int jsonrpc;               /* errors as JSON-RPC 2.0 error objects (the route says) */
    char value_buf[64];        /* storage for an extra_value made per request */
} ak_response;

/* What a route needs before the handler sees it. */
typedef struct {
    ak_route route;
    int open;                  /* no token needed */
    size_t max_body;           /* body limit of this route; 0 = the server's */
    int jsonrpc;               /* errors answered as JSON-RPC error objects */
    int path_token;            /* takes the token as a path prefix: /t/<token>/... */
} ak_route_info;

typedef ak_route_info (*ak_http_classify_fn)(void *ctx, const char *method, const char *path);
typedef void (*ak_http_handler_fn)(void *ctx, const ak_request *req, ak_response *res);

typedef struct {
    const char *listen;        /* HOST:PORT, [IPv6]:PORT; port 0 picks a free one */
    size_t max_body;           /* bytes */
    unsigned threads;          /* 0: one per connection; N: a pool of N (http.c) */
    const char *tls_cert, *tls_key; /* PEM files; both or neither (NULL) */
    int allow_plain_http;      /* beyond loopback with tokens but without TLS */
    int64_t header_timeout_us; /* total time for a request's headers (0: 10 s) */
    unsigned max_conns;        /* connections open at most (0: 1000); see conns.h */
    unsigned max_conns_per_client; /* per client address (0: no bound) */
    ak_auth *auth;
    ak_metrics *metrics;
    ak_http_classify_fn classify;
    ak_http_handler_fn handle;
    void *ctx;
} ak_http_config;

typedef struct ak_http ak_http;

/* Refuses (AK_ERR_INVALID) to listen beyond loopback without API tokens,
 * or with tokens over plain HTTP unless allow_plain_http (a TLS-terminating
 * proxy in front); and a certificate or key that does not load.  *out is
 * set before the first request can arrive, so handlers may pass it to the
 * ak_http_* calls below; NULL again on failure. */
ak_code ak_http_start(const ak_http_config *cfg, ak_http **out, ak_err *err);
/* The port actually bound (useful with port 0). */
unsigned ak_http_port(const ak_http *h);
/* Stop accepting new connections; requests already received get 503 on
 * kept-alive connections, those in flight complete. */
void ak_http_drain(ak_http *h);
int ak_http_in_flight(const ak_http *h);
/* Connections closed by the slow-client guard (conns.h). */
void ak_http_conns_stats(ak_http *h, ak_conns_stats *out);
void ak_http_stop(ak_http *h);

/* Set res to {"error": message} with status (a JSON-RPC error object with
 * id null when res->jsonrpc). */
void ak_http_error(ak_response *res, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


#endif
