/*
 * testpoint.c - see testpoint.h.
 */
#include "util/testpoint.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char point[128];  /* "" when no stop is asked for */
static long target = 1;  /* which passage stops */
static int signo = SIGKILL;
static atomic_long passages;

/* A malformed value is a broken test: say so and stop at once. */
static void bad_value(const char *v)
{
    fprintf(stderr, "akosha: AKOSHA_TEST_STOP=%s: expected <point>[:<n>[:KILL|TERM|STOP|SEGV|ABRT]]\n", v);
    _exit(2);
}

static void parse(void)
{
    const char *v = getenv("AKOSHA_TEST_STOP");
    if (!v || !v[0])
        return;
    size_t n = strcspn(v, ":");
    if (n == 0 || n >= sizeof point)
        bad_value(v);
    const char *rest = v + n;
    if (*rest == ':') {
        char *end;
        target = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || target < 1)
            bad_value(v);
        rest = end;
    }
    if (strcmp(rest, ":TERM") == 0)
        signo = SIGTERM;
    else if (strcmp(rest, ":STOP") == 0)
        signo = SIGSTOP;
    else if (strcmp(rest, ":SEGV") == 0)
        signo = SIGSEGV;
    else if (strcmp(rest, ":ABRT") == 0)
        signo = SIGABRT;
    else if (rest[0] && strcmp(rest, ":KILL") != 0)
        bad_value(v);
    memcpy(point, v, n);
    point[n] = '\0';
}

void ak_testpoint(const char *name)
{
    pthread_once(&once, parse);
    if (!point[0] || strcmp(name, point) != 0)
        return;
    if (atomic_fetch_add(&passages, 1) + 1 != target)
        return;
    fprintf(stderr, "akosha: test stop point %s#%ld\n", name, target);
    fflush(stderr);
    /* A STOP goes to this thread: sent to the process, it may be taken by
     * another thread, and this one runs on past the point until that one
     * has stopped the rest (a test saw a batch dropped after the stop). */
    if (signo == SIGSTOP)
        raise(signo);
    else
        kill(getpid(), signo);
}
