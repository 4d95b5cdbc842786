/*
 * conns.h - the HTTP server's guard against slow clients (slowloris).
 *
 * libmicrohttpd's connection timeout is an idle timeout: every byte
 * received restarts it, so a client that sends its request one byte every
 * few seconds holds a connection forever, and a thousand of them hold every
 * connection the server has (issue 20: /health timed out for everyone).
 *
 * This guard keeps, for every open connection whose request has not fully
 * arrived, the instant it started waiting for it, in lists ordered by that
 * instant: one of connections waiting for headers, one of connections
 * whose headers are in and whose body is arriving.  Two things close such
 * a connection (shutdown(2) of its socket; the library then sees the end
 * of the stream and closes it):
 *
 *   - its total header deadline passes (header_us after the connection
 *     opened, or after the previous response on a kept-alive one), checked
 *     by a reaper thread however the bytes trickle in;
 *   - more than max_open connections are open: the one that has waited
 *     longest for its request (headers or body) makes room, so a new
 *     client (a health check) is served while slow ones wait their turn
 *     out, whether they trickle headers or a body.  Requests already read
 *     and being answered are never evicted; when every connection is such
 *     a request the newcomer itself is closed.
 *
 * A body has no deadline of its own here (the library's idle timeout and
 * the eviction above bound it).
 *
 * Connections per client address are bounded by libmicrohttpd
 * (MHD_OPTION_PER_IP_CONNECTION_LIMIT), not here.
 *
 * Thread-safe: the library's worker threads call the hooks, the reaper runs
 * beside them.  A socket is only ever shut down under the guard's lock and
 * while its connection is registered; the library calls closed() before it
 * closes the descriptor, so a reused descriptor number is never touched.
 *
 * Ownership: ak_conns_new() / ak_conns_free() (after the HTTP daemon has
 * stopped).  The handle opened() returns belongs to the guard until
 * closed() (NULL when out of memory: that connection is not guarded).
 */
#ifndef AK_CONNS_H
#define AK_CONNS_H

#include <stdint.h>

#include "util/err.h"

typedef struct ak_conns ak_conns;
typedef struct ak_conn ak_conn;

typedef struct {
    long long closed_slow;    /* header deadline passed */
    long long evicted;        /* made room for a newer connection */
    long long open;           /* connections open now, not counting those being closed */
} ak_conns_stats;

ak_code ak_conns_new(int64_t header_us, unsigned max_open, ak_conns **out, ak_err *err);
void ak_conns_free(ak_conns *g);

/* A connection was accepted on socket fd: it waits for headers from now.
 * NULL when out of memory (the connection is then not guarded). */
ak_conn *ak_conns_opened(ak_conns *g, int fd);
void ak_conns_closed(ak_conns *g, ak_conn *c);
/* Its headers arrived: no deadline from now, but evictable while the body
 * arrives. */
void ak_conns_headers_done(ak_conns *g, ak_conn *c);
/* The whole request arrived: it is answered, never evicted. */
void ak_conns_request_read(ak_conns *g, ak_conn *c);
/* Its response is done; a kept-alive connection waits for headers again. */
void ak_conns_request_done(ak_conns *g, ak_conn *c);

void ak_conns_stats_get(ak_conns *g, ak_conns_stats *out);

#endif
