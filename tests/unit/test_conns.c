/* test_conns.c - the slow-client guard (src/server/conns.c) on socket
 * pairs: the peer of a connection the guard closes reads end-of-stream. */
#include "test.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/conns.h"
#include "util/time.h"

typedef struct {
    int mine, peer;
} pair;

static pair mkpair(void)
{
    int sv[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    return (pair){sv[0], sv[1]};
}

/* 1 if the peer reads end-of-stream within ms milliseconds. */
static int cut_within(pair p, int ms)
{
    struct pollfd pf = {.fd = p.peer, .events = POLLIN};
    char c;
    return poll(&pf, 1, ms) == 1 && read(p.peer, &c, 1) == 0;
}

static void closepair(pair p)
{
    close(p.mine);
    close(p.peer);
}

/* Full: the connection that has waited longest for its headers makes room,
 * never one whose request is being answered. */
static void test_eviction_order(void)
{
    ak_conns *g;
    ak_err err;
    CHECK_INT(ak_conns_new(3600 * AK_US_PER_SEC, 3, &g, &err), AK_OK);
    pair p[5];
    ak_conn *c[5];
    for (int i = 0; i < 3; i++)
        c[i] = ak_conns_opened(g, (p[i] = mkpair()).mine);
    ak_conns_headers_done(g, c[0]);
    ak_conns_request_read(g, c[0]); /* being answered: not evictable */
    c[3] = ak_conns_opened(g, (p[3] = mkpair()).mine);
    CHECK(cut_within(p[1], 0));    /* the longest waiter */
    CHECK(!cut_within(p[0], 0));
    CHECK(!cut_within(p[2], 0));
    ak_conns_closed(g, c[1]);
    ak_conns_request_done(g, c[0]); /* kept alive: waits again, youngest now */
    c[4] = ak_conns_opened(g, (p[4] = mkpair()).mine);
    CHECK(cut_within(p[2], 0));
    CHECK(!cut_within(p[0], 0));
    ak_conns_stats st;
    ak_conns_stats_get(g, &st);
    CHECK_INT(st.evicted, 2);
    CHECK_INT(st.open, 3); /* the bound holds at once: cut ones are not counted */
    CHECK_INT(st.closed_slow, 0);
    for (int i = 0; i < 5; i++)
        if (i != 1)
            ak_conns_closed(g, c[i]);
    for (int i = 0; i < 5; i++)
        closepair(p[i]);
    ak_conns_free(g);
}

/* When every other connection is a request being answered, the newcomer
 * is the one closed. */
static void test_newcomer_cut_when_all_busy(void)
{
    ak_conns *g;
    ak_err err;
    CHECK_INT(ak_conns_new(3600 * AK_US_PER_SEC, 1, &g, &err), AK_OK);
    pair busy = mkpair(), late = mkpair();
    ak_conn *cb = ak_conns_opened(g, busy.mine);
    ak_conns_headers_done(g, cb);
    ak_conns_request_read(g, cb);
    ak_conn *cl = ak_conns_opened(g, late.mine);
    CHECK(cut_within(late, 0));
    CHECK(!cut_within(busy, 0));
    ak_conns_request_done(g, cl); /* its request was read anyway: it stays cut */
    ak_conns_stats st;
    ak_conns_stats_get(g, &st);
    CHECK_INT(st.open, 1);
    CHECK_INT(st.evicted, 1);
    ak_conns_closed(g, cl);
    ak_conns_closed(g, cb);
    ak_conns_stats_get(g, &st);
    CHECK_INT(st.open, 0);
    closepair(busy);
    closepair(late);
    ak_conns_free(g);
}

/* A connection whose headers are in but whose body trickles is still
 * evictable (slow POST), by how long it has waited for its request. */
static void test_slow_body_evictable(void)
{
    ak_conns *g;
    ak_err err;
    CHECK_INT(ak_conns_new(3600 * AK_US_PER_SEC, 2, &g, &err), AK_OK);
    pair body = mkpair(), hdr = mkpair(), late = mkpair();
    ak_conn *cb = ak_conns_opened(g, body.mine);
    ak_conn *ch = ak_conns_opened(g, hdr.mine);
    ak_conns_headers_done(g, cb); /* the body arrives, slowly */
    ak_conn *cl = ak_conns_opened(g, late.mine);
    CHECK(cut_within(body, 0)); /* it waited longest, body or not */
    CHECK(!cut_within(hdr, 0));
    CHECK(!cut_within(late, 0));
    ak_conns_closed(g, cb);
    ak_conns_closed(g, ch);
    ak_conns_closed(g, cl);
    closepair(body);
    closepair(hdr);
    closepair(late);
    ak_conns_free(g);
}

/* The header deadline is total: bytes arriving do not extend it, and a
 * connection whose headers arrived has none. */
static void test_header_deadline(void)
{
    ak_conns *g;
    ak_err err;
    CHECK_INT(ak_conns_new(200 * 1000, 100, &g, &err), AK_OK); /* 200 ms */
    pair slow = mkpair(), done = mkpair();
    int64_t t0 = ak_time_mono_us();
    ak_conn *cs = ak_conns_opened(g, slow.mine), *cd = ak_conns_opened(g, done.mine);
    ak_conns_headers_done(g, cd); /* its body may take longer: no header deadline */
    CHECK(cut_within(slow, 10000)); /* a bound for a broken guard, not a measurement */
    CHECK(ak_time_mono_us() - t0 >= 200 * 1000);
    CHECK(!cut_within(done, 0));
    ak_conns_stats st;
    ak_conns_stats_get(g, &st);
    CHECK_INT(st.closed_slow, 1);
    ak_conns_closed(g, cs);
    ak_conns_closed(g, cd);
    ak_conns_stats_get(g, &st);
    CHECK_INT(st.open, 0);
    closepair(slow);
    closepair(done);
    ak_conns_free(g);
}

int main(void)
{
    RUN(test_eviction_order);
    RUN(test_newcomer_cut_when_all_busy);
    RUN(test_slow_body_evictable);
    RUN(test_header_deadline);
    return test_report("conns");
}
