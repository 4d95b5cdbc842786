/*
 * breaker.c - see breaker.h.
 */
#include "objstore/breaker.h"

void ak_breaker_init(ak_breaker *b, unsigned threshold, int64_t cooldown_us)
{
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = threshold ? threshold : 1;
    b->cooldown_us = cooldown_us;
    b->state = AK_BREAKER_CLOSED;
    b->failures = 0;
    b->opened_at = 0;
    b->ever_opened = 0;
    b->trial_in_flight = 0;
}

void ak_breaker_destroy(ak_breaker *b) { pthread_mutex_destroy(&b->mu); }

static void trip(ak_breaker *b, int64_t now)
{
    b->state = AK_BREAKER_OPEN;
    b->opened_at = now;
    b->ever_opened = 1;
    b->trial_in_flight = 0;
}

int ak_breaker_admit(ak_breaker *b, int64_t now, int *trial)
{
    int go = 1;
    *trial = 0;
    pthread_mutex_lock(&b->mu);
    if (b->state == AK_BREAKER_OPEN && now - b->opened_at >= b->cooldown_us)
        b->state = AK_BREAKER_HALF_OPEN;
    if (b->state == AK_BREAKER_OPEN)
        go = 0;
    else if (b->state == AK_BREAKER_HALF_OPEN)
        go = *trial = !b->trial_in_flight;
    if (*trial)
        b->trial_in_flight = 1;
    pthread_mutex_unlock(&b->mu);
    return go;
}

int ak_breaker_done(ak_breaker *b, int trial, ak_breaker_outcome outcome, int64_t now)
{
    int changed = 0;
    pthread_mutex_lock(&b->mu);
    if (trial) {
        b->trial_in_flight = 0;
        if (outcome == AK_BREAKER_SUCCESS) {
            b->state = AK_BREAKER_CLOSED;
            b->failures = 0;
            changed = 1;
        } else if (outcome == AK_BREAKER_FAILURE) {
            trip(b, now);
            changed = 1;
        }
    } else if (b->state == AK_BREAKER_CLOSED) {
        if (outcome == AK_BREAKER_SUCCESS) {
            b->failures = 0;
        } else if (outcome == AK_BREAKER_FAILURE && ++b->failures >= b->threshold) {
            trip(b, now);
            changed = 1;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return changed;
}

void ak_breaker_get(ak_breaker *b, int64_t now, ak_breaker_info *out)
{
    pthread_mutex_lock(&b->mu);
    int cooled = b->state == AK_BREAKER_OPEN && now - b->opened_at >= b->cooldown_us;
    out->state = cooled ? AK_BREAKER_HALF_OPEN : b->state;
    out->failures = b->failures;
    out->opened_at = b->opened_at;
    out->ever_opened = b->ever_opened;
    pthread_mutex_unlock(&b->mu);
}
