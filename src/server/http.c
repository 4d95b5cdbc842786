/*
 * http.c - see http.h.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers, then once per chunk of body, then once with no data.
 * A per-request state (allocated on the first call, freed by the
 * completion callback) accumulates the body up to the limit; the request is
 * judged and answered on the last call.
 *
 * libmicrohttpd percent-decodes the path before we see it, so "%00" would
 * end it early (/v1/conversations/s/c1%00x reads c1).  The raw request
 * line is seen first by the URI log callback, whose return value becomes
 * the request's initial state: a marker that such a request is refused.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/tls.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/time.h"

struct ak_http {
    ak_http_config cfg;
    struct MHD_Daemon *d;
    ak_conns *conns;
    ak_tls tls;
    struct sockaddr_storage addr;
    unsigned port;
    atomic_int draining;
    atomic_int in_flight;
    pthread_mutex_t log_mu;   /* guards what follows: the library's log rate */
    int64_t log_second;
    int log_lines;
    long long log_dropped;
};

#define MHD_LOG_PER_SECOND 10

typedef struct {
    ak_buf body;
    int too_large;
    int64_t t0;
    char path[1024];      /* without the query and any /t/<token> prefix */
    int path_token;       /* a /t/<token> prefix: its token's number or -1; -2 none */
    ak_route_info ri;
} req_state;

/* The initial per-request state the URI log callback hands over: NULL, or
 * this marker when the raw URI holds an encoded NUL. */
static char nul_in_uri;

void ak_http_error(ak_response *res, unsigned status, const char *fmt, ...)
{
    char msg[AK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    res->status = status;
    ak_buf_reset(&res->body);
    ak_jw w;
    ak_jw_init(&w, &res->body);
    ak_jw_obj(&w);
    if (res->jsonrpc) { /* -32600: the request as HTTP delivered it is not acceptable */
        ak_jw_kstr(&w, "jsonrpc", "2.0");
        ak_jw_key(&w, "id");
        ak_jw_null(&w);
        ak_jw_key(&w, "error");
        ak_jw_obj(&w);
        ak_jw_kint(&w, "code", status == 413 ? -32600 : -32000);
        ak_jw_kstr(&w, "message", msg);
        ak_jw_key(&w, "data");
        ak_jw_obj(&w);
        ak_jw_kint(&w, "http_status", status);
        ak_jw_end(&w);
        ak_jw_end(&w);
    } else {
        ak_jw_kstr(&w, "error", msg);
    }
    ak_jw_end(&w);
}

/* ---- listen address ---- */

static ak_code parse_listen(const char *listen, struct sockaddr_storage *out, ak_err *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1])
        return ak_err_set(err, AK_ERR_INVALID, "listen address \"%s\": expected HOST:PORT", listen);
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') { /* [::1]:8682 */
        listen++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return ak_err_set(err, AK_ERR_INVALID, "listen address \"%s\": host too long", listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return ak_err_set(err, AK_ERR_INVALID, "listen address: bad port \"%s\"", colon + 1);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV}, *ai;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc)
        return ak_err_set(err, AK_ERR_INVALID, "listen address \"%s\": %s", host, gai_strerror(rc));
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return AK_OK;
}

static int addr_is_loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->ss_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(x) ||
               (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
    }
    return 0;
}

/* ---- requests ---- */

static void client_of(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

static enum MHD_Result send_response(struct MHD_Connection *c, ak_response *res)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        res->body.len, res->body.data ? res->body.data : (char *)"", MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", res->content_type ? res->content_type
                                                                 : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (res->extra_header)
        MHD_add_response_header(r, res->extra_header, res->extra_value);
    if (res->status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, res->status, r);
    MHD_destroy_response(r);
    return rc;
}

/* The path without its query string and without a /t/<token>/ prefix,
 * whose token is checked here (in constant time) and then forgotten: it
 * never reaches a log line, a metric label or the handler. */
static void split_url(ak_http *h, const char *url, req_state *st)
{
    const char *q = strchr(url, '?');
    size_t pl = q ? (size_t)(q - url) : strlen(url);
    st->path_token = -2;
    if (strncmp(url, "/t/", 3) == 0 && pl > 3) {
        const char *tok = url + 3, *end = memchr(tok, '/', pl - 3);
        size_t tl = end ? (size_t)(end - tok) : pl - 3;
        st->path_token = ak_auth_check_token(h->cfg.auth, tok, tl);
        pl -= 3 + tl;
        url = tok + tl;
    }
    snprintf(st->path, sizeof st->path, "%.*s",
             (int)(pl < sizeof st->path ? pl : sizeof st->path - 1), url);
}

/* Judge and answer a complete request. */
static void serve(ak_http *h, struct MHD_Connection *c, const char *method, const char *url,
                  req_state *st, ak_response *res, ak_route *route)
{
    char client[64];
    const char *q = strchr(url, '?');
    ak_route_info ri = st->ri;
    *route = ri.route;
    res->jsonrpc = ri.jsonrpc;
    client_of(c, client, sizeof client);
    const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    int token = ak_auth_has_tokens(h->cfg.auth) ? ak_auth_check(h->cfg.auth, authz) : -1;
    if (token < 0 && st->path_token >= 0)
        token = st->path_token;
    char who[80]; /* whose rate limit: the token's, or the client address's */
    if (token >= 0)
        snprintf(who, sizeof who, "token:%d", token);
    else
        snprintf(who, sizeof who, "addr:%s", client);
    if (st->path_token != -2 && !ri.path_token)
        ak_http_error(res, 404, "no such endpoint (a /t/<token>/ prefix is taken only by the "
                                "push routes)");
    else if (atomic_load(&h->draining) && ri.route != AK_ROUTE_HEALTH)
        ak_http_error(res, 503, "draining: akosha is shutting down");
    else if (st->too_large)
        ak_http_error(res, 413, "request body larger than %zu bytes",
                      ri.max_body ? ri.max_body : h->cfg.max_body);
    else if (!ri.open && ak_auth_has_tokens(h->cfg.auth) && token < 0 &&
             !ak_auth_allow(h->cfg.auth, who)) { /* guessing is rate-limited too */
        atomic_fetch_add(&h->cfg.metrics->rate_limited, 1);
        ak_http_error(res, 429, "rate limit exceeded; slow down");
    } else if (st->path_token == -1) {
        atomic_fetch_add(&h->cfg.metrics->unauthorized, 1);
        ak_http_error(res, 401, "invalid token in the path");
    } else if (!ri.open && ak_auth_has_tokens(h->cfg.auth) && token < 0) {
        atomic_fetch_add(&h->cfg.metrics->unauthorized, 1);
        ak_http_error(res, 401, authz ? "invalid bearer token" : "missing Authorization: Bearer token");
    } else if (!ri.open && !ak_auth_allow(h->cfg.auth, who)) {
        atomic_fetch_add(&h->cfg.metrics->rate_limited, 1);
        ak_http_error(res, 429, "rate limit exceeded; slow down");
    } else {
        ak_request req = {
            .method = method, .path = st->path, .query = q ? q + 1 : "",
            .body = st->body.data ? st->body.data : "", .body_len = st->body.len,
            .client = client, .token = token, .header_authorization = authz,
            .header_session = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mcp-Session-Id"),
            .header_accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"),
        };
        h->cfg.handle(h->cfg.ctx, &req, res);
    }
}

/* The guard's handle of a connection (conns.h), or NULL. */
static ak_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode what)
{
    ak_http *h = cls;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? ak_conns_opened(h->conns, ci->connect_fd) : NULL;
    } else if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
        ak_conns_closed(h->conns, *socket_context);
        *socket_context = NULL;
    }
}

/* Answer now, before any body is read (the connection then closes). */
static enum MHD_Result refuse_on(ak_http *h, struct MHD_Connection *c, const ak_route_info *ri,
                                 unsigned status, const char *why)
{
    ak_response res = {.jsonrpc = ri->jsonrpc};
    ak_http_error(&res, status, "%s", why);
    enum MHD_Result rc = send_response(c, &res);
    ak_metrics_http(h->cfg.metrics, ri->route, status, 0);
    ak_buf_free(&res.body);
    return rc;
}

static enum MHD_Result refuse(ak_http *h, struct MHD_Connection *c, unsigned status,
                              const char *why)
{
    ak_route_info other = {.route = AK_ROUTE_OTHER};
    return refuse_on(h, c, &other, status, why);
}

/* The body length the request announces, or 0 when it announces none. */
static unsigned long long announced(struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (!cl)
        return 0;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl ? n : 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *data_size, void **con_cls)
{
    (void)version;
    ak_http *h = cls;
    req_state *st = *con_cls;
    if (st == (void *)&nul_in_uri) {
        *con_cls = NULL;
        ak_conns_request_read(h->conns, conn_of(c));
        return refuse(h, c, 400, "the URL contains %00 (an encoded NUL)");
    }
    if (!st) { /* headers only so far */
        ak_conns_headers_done(h->conns, conn_of(c));
        if (!(st = calloc(1, sizeof *st)))
            return MHD_NO;
        split_url(h, url, st); /* the route decides the body limit */
        st->ri = h->cfg.classify(h->cfg.ctx, method, st->path);
        st->body.limit = st->ri.max_body ? st->ri.max_body : h->cfg.max_body;
        /* Why wait for a body we refuse - except on JSON-RPC routes, whose
         * clients (Session-Buddy) write the whole body before reading: a
         * refusal now reaches them as a broken pipe, not the 413 they can
         * act on.  Such a body is discarded as it arrives (too_large). */
        if (!st->ri.jsonrpc && announced(c) > st->body.limit) {
            ak_route_info ri = st->ri;
            char why[64];
            snprintf(why, sizeof why, "request body larger than %zu bytes", st->body.limit);
            free(st);
            ak_conns_request_read(h->conns, conn_of(c));
            return refuse_on(h, c, &ri, 413, why);
        }
        st->t0 = ak_time_mono_us();
        atomic_fetch_add(&h->in_flight, 1);
        *con_cls = st;
        return MHD_YES;
    }
    if (*data_size) { /* a chunk of body */
        unsigned long long len = st->body.cap ? 0 : announced(c);
        /* the whole announced body at once (within the limit): no copies
         * as it grows (a push is ~1 MB) */
        if (len && len <= st->body.limit)
            ak_buf_reserve(&st->body, (size_t)len);
        if (!st->too_large && ak_buf_append(&st->body, data, *data_size) != AK_OK)
            st->too_large = 1;
        *data_size = 0;
        return MHD_YES;
    }
    ak_conns_request_read(h->conns, conn_of(c)); /* all in: answered, never evicted */
    ak_response res = {.status = 200};
    ak_route route = AK_ROUTE_OTHER;
    serve(h, c, method, url, st, &res, &route);
    enum MHD_Result rc = send_response(c, &res);
    double secs = (double)(ak_time_mono_us() - st->t0) / 1e6;
    ak_metrics_http(h->cfg.metrics, route, res.status, secs);
    AK_DEBUG("http", "%s %s%s -> %u in %.1f ms", method, st->path_token != -2 ? "/t/<redacted>" : "",
             st->path, res.status, secs * 1e3);
    ak_buf_free(&res.body);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    ak_http *h = cls;
    req_state *st = *con_cls;
    ak_conns_request_done(h->conns, conn_of(c)); /* kept alive: wait for headers again */
    if (!st || st == (void *)&nul_in_uri)
        return;
    ak_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
    atomic_fetch_sub(&h->in_flight, 1);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls, (void)c;
    return strcasestr(uri, "%00") ? &nul_in_uri : NULL;
}

/* libmicrohttpd's own messages, as our log lines (not plain text in a
 * JSON log).  It must be the first option given, or the library prints the
 * messages about the options before it itself.  The library logs a line
 * per misbehaving connection, so a thousand slow clients would flood the
 * log too: at most MHD_LOG_PER_SECOND lines a second, and the next line
 * says how many were suppressed. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    ak_http *h = cls;
    int64_t second = ak_time_mono_us() / AK_US_PER_SEC;
    long long dropped = 0;
    pthread_mutex_lock(&h->log_mu);
    if (second != h->log_second)
        h->log_second = second, h->log_lines = 0;
    int ok = h->log_lines++ < MHD_LOG_PER_SECOND;
    if (ok)
        dropped = h->log_dropped, h->log_dropped = 0;
    else
        h->log_dropped++;
    pthread_mutex_unlock(&h->log_mu);
    if (!ok)
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    if (dropped)
        AK_WARN("http", "libmicrohttpd: %s (%lld similar lines suppressed)", msg, dropped);
    else
        AK_WARN("http", "libmicrohttpd: %s", msg);
}

/* Who may reach the port, and with what: beyond loopback, tokens are
 * required, and they must not cross the network in clear text unless the
 * operator says a proxy in front terminates TLS. */
static ak_code check_exposure(const ak_http_config *cfg, int loopback, ak_err *err)
{
    if (!cfg->tls_cert != !cfg->tls_key)
        return ak_err_set(err, AK_ERR_INVALID, "--tls-cert and --tls-key go together");
    if (cfg->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS))
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "this libmicrohttpd was built without TLS");
    if (loopback)
        return AK_OK;
    if (!ak_auth_has_tokens(cfg->auth))
        return ak_err_set(err, AK_ERR_INVALID,
                          "refusing to listen on %s beyond loopback without API tokens "
                          "(set AKOSHA_API_TOKENS or --token-file)", cfg->listen);
    if (!cfg->tls_cert && !cfg->allow_plain_http)
        return ak_err_set(err, AK_ERR_INVALID,
                          "refusing to listen on %s beyond loopback over plain HTTP: bearer "
                          "tokens would cross the network in clear text; give --tls-cert and "
                          "--tls-key, or --allow-plain-http when a proxy in front terminates TLS",
                          cfg->listen);
    return AK_OK;
}

/* Bind once ourselves before libmicrohttpd does, so a taken port is one
 * clear sentence rather than its log line followed by ours. */
static ak_code check_bind(const struct sockaddr_storage *a, const char *listen, ak_err *err)
{
    int fd = socket(a->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return ak_err_set(err, AK_ERR_IO, "cannot listen on %s: %s", listen, strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* as libmicrohttpd does */
    socklen_t len = a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int rc = bind(fd, (const struct sockaddr *)a, len), e = errno;
    close(fd);
    if (rc == 0)
        return AK_OK;
    if (e == EADDRINUSE)
        return ak_err_set(err, AK_ERR_BUSY, "cannot listen on %s: the address is already in use "
                          "(another akosha serve? choose another with --listen)", listen);
    return ak_err_set(err, AK_ERR_IO, "cannot listen on %s: %s", listen, strerror(e));
}

ak_code ak_http_start(const ak_http_config *cfg, ak_http **out, ak_err *err)
{
    ak_http *h = calloc(1, sizeof *h);
    if (!h)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    h->cfg = *cfg;
    ak_code rc = parse_listen(cfg->listen, &h->addr, err);
    if (rc == AK_OK)
        rc = check_exposure(cfg, addr_is_loopback(&h->addr), err);
    if (rc == AK_OK)
        rc = check_bind(&h->addr, cfg->listen, err);
    if (rc == AK_OK && cfg->tls_cert)
        rc = ak_tls_load(cfg->tls_cert, cfg->tls_key, &h->tls, err);
    unsigned max_conns = cfg->max_conns ? cfg->max_conns : 1000;
    unsigned threads = cfg->threads;
    if (rc == AK_OK)
        rc = ak_conns_new(cfg->header_timeout_us > 0 ? cfg->header_timeout_us : 10 * AK_US_PER_SEC,
                          max_conns, &h->conns, err);
    if (rc) {
        ak_tls_free(&h->tls);
        free(h);
        return rc;
    }
    pthread_mutex_init(&h->log_mu, NULL);
    /* Published before the daemon starts: its threads answer requests at
     * once, and a handler (GET /metrics) reads the connections' counts
     * through the caller's copy of this pointer.  Creating those threads
     * orders this store before their reads. */
    *out = h;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (h->tls.cert_pem)
        flags |= MHD_USE_TLS;
    if (h->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* Handlers block (SQLite, a push's fsyncs, a long search), so by default
     * every connection has a thread of its own.  A pool thread holds many
     * connections and answers them one after another, and a connection
     * goes to whichever thread accepts it first: four pushing clients on
     * eight threads shared one 59% of the time, and the pushed rate swung
     * between 10,000 and 18,500 memories/s (docs/BENCHMARKS.md, tenth pass). */
    if (!threads)
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
#ifdef __linux__
    else
        flags |= MHD_USE_EPOLL;
#endif
    /* a pool's size; none for a thread per connection (the library warns) */
    struct MHD_OptionItem pool[] = {{threads ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
                                     (intptr_t)threads, NULL},
                                    {MHD_OPTION_END, 0, NULL}};
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->addr,
                            MHD_OPTION_ARRAY, pool,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                            /* idle: bodies and responses; headers have their own deadline */
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                            /* the guard bounds the total (evicting the slowest): the
                             * library's limit is only room above it, for all on any
                             * one pool thread, or for connections being evicted */
                            MHD_OPTION_CONNECTION_LIMIT, threads ? max_conns * threads + threads
                                                                 : 2 * max_conns,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_client,
                            /* the TLS options last: without TLS the list ends here */
                            h->tls.cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
                            h->tls.cert_pem,
                            MHD_OPTION_HTTPS_MEM_KEY, h->tls.key_pem,
                            MHD_OPTION_END);
    if (!h->d) {
        *out = NULL;
        pthread_mutex_destroy(&h->log_mu);
        ak_conns_free(h->conns);
        ak_tls_free(&h->tls);
        free(h);
        return ak_err_set(err, AK_ERR_IO, "cannot listen on %s (address in use?)", cfg->listen);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : 0;
    return AK_OK;
}

unsigned ak_http_port(const ak_http *h) { return h->port; }

void ak_http_drain(ak_http *h)
{
    atomic_store(&h->draining, 1);
    MHD_socket s = MHD_quiesce_daemon(h->d); /* no new connections */
    if (s != MHD_INVALID_SOCKET)
        close(s);
}

int ak_http_in_flight(const ak_http *h) { return atomic_load(&h->in_flight); }

void ak_http_conns_stats(ak_http *h, ak_conns_stats *out) { ak_conns_stats_get(h->conns, out); }

void ak_http_stop(ak_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    pthread_mutex_destroy(&h->log_mu);
    ak_conns_free(h->conns);
    ak_tls_free(&h->tls);
    free(h);
}
