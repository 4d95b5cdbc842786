/*
 * breaker.h - the circuit breaker objstore.c puts around every store handle
 * (see objstore.h for what it means to a caller).
 *
 *   closed    --threshold failures in a row-->            open
 *   open      --cool-down over, next operation admitted--> half-open (the trial)
 *   half-open --trial succeeds-->                          closed
 *   half-open --trial fails-->                             open (cool-down anew)
 *
 * While open, and while half-open with its trial in flight, operations are
 * refused.  Only the trial decides a half-open breaker: operations admitted
 * before it opened may still finish, and their outcomes are ignored then.
 * A neutral outcome (out of memory, say) says nothing about the store: it
 * leaves the count alone and, for the trial, lets the next operation try.
 *
 * Time is passed in (monotonic microseconds), so tests need no sleeping.
 * Thread-safe: one mutex guards the state.
 */
#ifndef AK_BREAKER_H
#define AK_BREAKER_H

#include <pthread.h>
#include <stdint.h>

#include "objstore/objstore.h"

typedef enum { AK_BREAKER_SUCCESS, AK_BREAKER_FAILURE, AK_BREAKER_NEUTRAL } ak_breaker_outcome;

typedef struct {
    pthread_mutex_t mu;
    unsigned threshold;
    int64_t cooldown_us;
    ak_breaker_state state;
    unsigned failures;   /* consecutive, while closed; the count that opened it after */
    int64_t opened_at;   /* monotonic time of the last opening */
    int ever_opened;
    int trial_in_flight; /* half-open: the trial is admitted and not back */
} ak_breaker;

typedef struct {
    ak_breaker_state state;
    unsigned failures;
    int64_t opened_at; /* monotonic; meaningful once it has opened */
    int ever_opened;
} ak_breaker_info;

void ak_breaker_init(ak_breaker *b, unsigned threshold, int64_t cooldown_us);
void ak_breaker_destroy(ak_breaker *b);

/* 1 if an operation may start at now; *trial is then 1 when it is the
 * half-open trial (a fresh half-open is reported this way), and must be
 * handed back to ak_breaker_done(). */
int ak_breaker_admit(ak_breaker *b, int64_t now, int *trial);

/* Record how an admitted operation ended.  Returns 1 when this changed the
 * state (opened or closed it), for the caller to log. */
int ak_breaker_done(ak_breaker *b, int trial, ak_breaker_outcome outcome, int64_t now);

/* The state as of now: an open breaker whose cool-down is over reports
 * half-open, since the next operation will be admitted as the trial (a
 * caller deciding whether to try at all must not wait for an admit that
 * only an attempt makes). */
void ak_breaker_get(ak_breaker *b, int64_t now, ak_breaker_info *out);

#endif
