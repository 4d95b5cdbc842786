/* conns.c - see conns.h. */
#include "server/conns.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "util/time.h"

typedef struct {
    ak_conn *head, *tail;     /* oldest first */
} conn_list;

struct ak_conn {
    int fd;
    conn_list *in;            /* waiting, receiving, or NULL: being answered */
    int cut;                  /* shut down by the guard, no longer counted open */
    int64_t since_us;         /* monotonic: when it started waiting for a request */
    ak_conn *prev, *next;
};

struct ak_conns {
    int64_t header_us;
    unsigned max_open;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit;
    conn_list waiting;        /* for headers: the deadline applies */
    conn_list receiving;      /* headers in, the body arriving: still evictable */
    long long open, closed_slow, evicted;
    pthread_t reaper;
};

static void list_remove(ak_conn *c)
{
    conn_list *l = c->in;
    if (!l)
        return;
    *(c->prev ? &c->prev->next : &l->head) = c->next;
    *(c->next ? &c->next->prev : &l->tail) = c->prev;
    c->prev = c->next = NULL;
    c->in = NULL;
}

static void list_append(conn_list *l, ak_conn *c)
{
    list_remove(c);
    c->prev = l->tail;
    *(l->tail ? &l->tail->next : &l->head) = c;
    l->tail = c;
    c->in = l;
}

static void start_waiting(ak_conns *g, ak_conn *c)
{
    if (!g->waiting.head) /* the reaper may be sleeping past this one's deadline */
        pthread_cond_signal(&g->cv);
    c->since_us = ak_time_mono_us();
    list_append(&g->waiting, c);
}

/* Make the library close c: it reads the end of the stream next.  From
 * now on c no longer counts as open, so the bound holds at once. */
static void cut(ak_conns *g, ak_conn *c)
{
    list_remove(c);
    shutdown(c->fd, SHUT_RDWR);
    c->cut = 1;
    g->open--;
}

/* The connection that has waited longest for its request to arrive. */
static ak_conn *longest_waiter(ak_conns *g)
{
    ak_conn *w = g->waiting.head, *r = g->receiving.head;
    return !w ? r : !r ? w : r->since_us <= w->since_us ? r : w;
}

static void *reaper(void *arg)
{
    ak_conns *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->quit) {
        int64_t now = ak_time_mono_us();
        ak_conn *oldest;
        while ((oldest = g->waiting.head) && now - oldest->since_us >= g->header_us) {
            cut(g, oldest);
            g->closed_slow++;
        }
        /* sleep until the oldest deadline, at most a second */
        int64_t wait = oldest ? oldest->since_us + g->header_us - now : AK_US_PER_SEC;
        wait = wait < AK_US_PER_SEC ? wait : AK_US_PER_SEC;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + (wait + 1) * 1000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

ak_code ak_conns_new(int64_t header_us, unsigned max_open, ak_conns **out, ak_err *err)
{
    ak_conns *g = calloc(1, sizeof *g);
    if (!g)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    g->header_us = header_us;
    g->max_open = max_open;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&g->mu, NULL);
    if (pthread_create(&g->reaper, NULL, reaper, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return ak_err_set(err, AK_ERR_NOMEM, "cannot start the connection reaper thread");
    }
    *out = g;
    return AK_OK;
}

void ak_conns_free(ak_conns *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->quit = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->reaper, NULL);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

ak_conn *ak_conns_opened(ak_conns *g, int fd)
{
    ak_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL; /* unguarded and uncounted; the library still bounds it */
    c->fd = fd;
    pthread_mutex_lock(&g->mu);
    g->open++;
    start_waiting(g, c);
    if (g->open > (long long)g->max_open) {
        /* full: the longest waiter makes room; when every other connection
         * is a request being answered, that is the newcomer itself */
        cut(g, longest_waiter(g));
        g->evicted++;
    }
    pthread_mutex_unlock(&g->mu);
    return c;
}

void ak_conns_closed(ak_conns *g, ak_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    list_remove(c);
    if (!c->cut)
        g->open--;
    pthread_mutex_unlock(&g->mu);
    free(c);
}

void ak_conns_headers_done(ak_conns *g, ak_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    if (c->in == &g->waiting) /* keeps its place in age: since_us stays */
        list_append(&g->receiving, c);
    pthread_mutex_unlock(&g->mu);
}

void ak_conns_request_read(ak_conns *g, ak_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    list_remove(c);
    pthread_mutex_unlock(&g->mu);
}

void ak_conns_request_done(ak_conns *g, ak_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    if (!c->cut) /* one cut while its request was already read stays cut */
        start_waiting(g, c);
    pthread_mutex_unlock(&g->mu);
}

void ak_conns_stats_get(ak_conns *g, ak_conns_stats *out)
{
    pthread_mutex_lock(&g->mu);
    out->closed_slow = g->closed_slow;
    out->evicted = g->evicted;
    out->open = g->open;
    pthread_mutex_unlock(&g->mu);
}
