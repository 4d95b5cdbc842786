/*
 * test_breaker.c - the circuit breaker's state machine (src/objstore/
 * breaker.c) with time passed in, and its wiring into every store handle
 * (objstore.c): fail-fast errors, counters, and the environment knobs.
 */
#include "objstore/breaker.h"
#include "objstore/objstore.h"
#include "test.h"

#include <unistd.h>

#define MS 1000 /* microseconds */

/* The state at time 0 (every test starts there; cool-downs end later). */
static ak_breaker_state state_of(ak_breaker *b)
{
    ak_breaker_info i;
    ak_breaker_get(b, 0, &i);
    return i.state;
}

/* Admit one operation at now and finish it with outcome. */
static int run_op(ak_breaker *b, int64_t now, ak_breaker_outcome outcome)
{
    int trial;
    if (!ak_breaker_admit(b, now, &trial))
        return 0;
    ak_breaker_done(b, trial, outcome, now);
    return 1;
}

static void test_opens_after_threshold(void)
{
    ak_breaker b;
    ak_breaker_init(&b, 3, 1000 * MS);
    CHECK(run_op(&b, 0, AK_BREAKER_FAILURE));
    CHECK(run_op(&b, 1, AK_BREAKER_FAILURE));
    CHECK_INT(state_of(&b), AK_BREAKER_CLOSED);
    CHECK(run_op(&b, 2, AK_BREAKER_FAILURE));
    CHECK_INT(state_of(&b), AK_BREAKER_OPEN);
    ak_breaker_info i;
    ak_breaker_get(&b, 0, &i);
    CHECK_INT(i.failures, 3);
    CHECK_INT(i.opened_at, 2);
    CHECK(i.ever_opened);
    /* fail fast until the cool-down is over */
    int trial = 7;
    CHECK(!ak_breaker_admit(&b, 3, &trial));
    CHECK_INT(trial, 0);
    CHECK(!ak_breaker_admit(&b, 2 + 999 * MS, &trial));
    ak_breaker_destroy(&b);
}

static void test_success_resets_the_count(void)
{
    ak_breaker b;
    ak_breaker_init(&b, 3, 1000 * MS);
    run_op(&b, 0, AK_BREAKER_FAILURE);
    run_op(&b, 0, AK_BREAKER_FAILURE);
    run_op(&b, 0, AK_BREAKER_SUCCESS); /* not three in a row */
    run_op(&b, 0, AK_BREAKER_FAILURE);
    run_op(&b, 0, AK_BREAKER_NEUTRAL); /* neither resets nor counts */
    run_op(&b, 0, AK_BREAKER_FAILURE);
    CHECK_INT(state_of(&b), AK_BREAKER_CLOSED);
    run_op(&b, 0, AK_BREAKER_FAILURE);
    CHECK_INT(state_of(&b), AK_BREAKER_OPEN);
    ak_breaker_destroy(&b);
}

static void open_breaker(ak_breaker *b, int64_t now)
{
    ak_breaker_init(b, 1, 100 * MS);
    run_op(b, now, AK_BREAKER_FAILURE);
    CHECK_INT(state_of(b), AK_BREAKER_OPEN);
}

static void test_half_open_trial_closes(void)
{
    ak_breaker b;
    int trial, other;
    open_breaker(&b, 0);
    CHECK(ak_breaker_admit(&b, 100 * MS, &trial)); /* cool-down over */
    CHECK_INT(trial, 1);
    CHECK_INT(state_of(&b), AK_BREAKER_HALF_OPEN);
    CHECK(!ak_breaker_admit(&b, 100 * MS, &other)); /* one trial at a time */
    CHECK(ak_breaker_done(&b, trial, AK_BREAKER_SUCCESS, 101 * MS));
    CHECK_INT(state_of(&b), AK_BREAKER_CLOSED);
    ak_breaker_info i;
    ak_breaker_get(&b, 0, &i);
    CHECK_INT(i.failures, 0);
    CHECK(ak_breaker_admit(&b, 102 * MS, &other));
    CHECK_INT(other, 0);
    ak_breaker_destroy(&b);
}

/* Once the cool-down is over an open breaker reads as half-open: the next
 * operation will be its trial (the daemon decides to try by this). */
static void test_cooled_reads_half_open(void)
{
    ak_breaker b;
    ak_breaker_info i;
    open_breaker(&b, 0);
    ak_breaker_get(&b, 99 * MS, &i);
    CHECK_INT(i.state, AK_BREAKER_OPEN);
    ak_breaker_get(&b, 100 * MS, &i);
    CHECK_INT(i.state, AK_BREAKER_HALF_OPEN);
    ak_breaker_destroy(&b);
}

static void test_half_open_trial_reopens(void)
{
    ak_breaker b;
    int trial;
    open_breaker(&b, 0);
    CHECK(ak_breaker_admit(&b, 150 * MS, &trial) && trial);
    CHECK(ak_breaker_done(&b, trial, AK_BREAKER_FAILURE, 160 * MS));
    CHECK_INT(state_of(&b), AK_BREAKER_OPEN);
    /* the cool-down starts again from the failed trial */
    CHECK(!ak_breaker_admit(&b, 200 * MS, &trial));
    CHECK(ak_breaker_admit(&b, 260 * MS, &trial) && trial);
    ak_breaker_done(&b, trial, AK_BREAKER_SUCCESS, 261 * MS);
    CHECK_INT(state_of(&b), AK_BREAKER_CLOSED);
    ak_breaker_destroy(&b);
}

static void test_neutral_trial_frees_the_slot(void)
{
    ak_breaker b;
    int trial;
    open_breaker(&b, 0);
    CHECK(ak_breaker_admit(&b, 100 * MS, &trial) && trial);
    CHECK(!ak_breaker_done(&b, trial, AK_BREAKER_NEUTRAL, 100 * MS));
    CHECK_INT(state_of(&b), AK_BREAKER_HALF_OPEN);
    CHECK(ak_breaker_admit(&b, 100 * MS, &trial) && trial); /* the next one tries */
    ak_breaker_destroy(&b);
}

static void test_late_outcomes_are_ignored(void)
{
    ak_breaker b;
    int slow, trial;
    ak_breaker_init(&b, 1, 100 * MS);
    CHECK(ak_breaker_admit(&b, 0, &slow)); /* admitted while closed... */
    run_op(&b, 1, AK_BREAKER_FAILURE);     /* ...then the breaker opens */
    CHECK(!ak_breaker_done(&b, slow, AK_BREAKER_SUCCESS, 2)); /* no say now */
    CHECK_INT(state_of(&b), AK_BREAKER_OPEN);
    CHECK(ak_breaker_admit(&b, 101 * MS, &trial) && trial);
    CHECK(!ak_breaker_done(&b, 0, AK_BREAKER_FAILURE, 101 * MS)); /* not the trial */
    CHECK_INT(state_of(&b), AK_BREAKER_HALF_OPEN);
    ak_breaker_destroy(&b);
}

/* ---- the breaker around a store handle -------------------------------- */

static void test_not_found_is_no_failure(void)
{
    setenv("AKOSHA_STORE_BREAKER_FAILURES", "2", 1);
    ak_store *s = NULL;
    ak_err err = {0};
    CHECK_INT(ak_store_open(test_tmpdir(), &s, &err), AK_OK);
    if (!s)
        return;
    char *text;
    for (int i = 0; i < 5; i++)
        CHECK_INT(ak_store_get_small(s, "missing", 10, &text, NULL, &err), AK_ERR_NOTFOUND);
    CHECK_INT(ak_store_put(s, "a/b", "x", 1, &err), AK_OK);
    ak_store_stats st;
    ak_store_stats_get(s, &st);
    CHECK_INT(st.breaker, AK_BREAKER_CLOSED);
    CHECK_INT(st.failed[AK_STORE_OP_GET], 5);
    CHECK_INT(st.ok[AK_STORE_OP_PUT], 1);
    CHECK_INT(st.requests, 0); /* a local directory sends none */
    CHECK_INT(st.opened_at_us, 0);
    ak_store_close(s);
    unsetenv("AKOSHA_STORE_BREAKER_FAILURES");
}

/* An S3 store whose endpoint refuses connections (nothing listens on
 * port 1): every operation is a transient failure after its retries. */
static ak_store *unreachable_store(void)
{
    setenv("AKOSHA_S3_ENDPOINT", "http://127.0.0.1:1", 1);
    setenv("AWS_ACCESS_KEY_ID", "test:tester", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
    setenv("AKOSHA_S3_ATTEMPTS", "2", 1);
    setenv("AKOSHA_S3_RETRY_BASE_MS", "1", 1);
    setenv("AKOSHA_STORE_BREAKER_FAILURES", "3", 1);
    setenv("AKOSHA_STORE_BREAKER_COOLDOWN_MS", "100", 1);
    ak_store *s = NULL;
    ak_err err = {0};
    CHECK_INT(ak_store_open("s3://bucket/pre", &s, &err), AK_OK);
    return s;
}

static void test_store_fails_fast(void)
{
    ak_store *s = unreachable_store();
    if (!s)
        return;
    ak_err err = {0};
    ak_store_obj o;
    for (int i = 0; i < 3; i++) {
        CHECK_INT(ak_store_head(s, "systems/a/manifest.json", &o, &err), AK_ERR_IO);
        CHECK_HAS(err.msg, "s3 HEAD systems/a/manifest.json: http://127.0.0.1:1: ");
        CHECK_HAS(err.msg, "(gave up after 2 attempts)");
    }
    ak_store_stats st;
    ak_store_stats_get(s, &st);
    CHECK_INT(st.breaker, AK_BREAKER_OPEN);
    CHECK_INT(st.consecutive_failures, 3);
    CHECK_INT(st.requests, 6);
    CHECK_INT(st.retries, 3);
    CHECK(st.opened_at_us > 0);

    /* open: fail at once, no request sent */
    CHECK_INT(ak_store_delete(s, "x", &err), AK_ERR_IO);
    CHECK_HAS(err.msg, "object store circuit open since ");
    CHECK_HAS(err.msg, " after 3 failures (s3://bucket/pre)");
    ak_store_stats_get(s, &st);
    CHECK_INT(st.requests, 6);
    CHECK_INT(st.rejected, 1);
    CHECK_INT(st.failed[AK_STORE_OP_DELETE], 1);

    /* after the cool-down one trial goes out; it fails, so open again */
    usleep(150 * 1000);
    ak_store_page p;
    CHECK_INT(ak_store_list(s, "systems/", "/", NULL, 0, &p, &err), AK_ERR_IO);
    CHECK_HAS(err.msg, "s3 LIST systems/: ");
    ak_store_stats_get(s, &st);
    CHECK_INT(st.requests, 8);
    CHECK_INT(st.breaker, AK_BREAKER_OPEN);
    CHECK_INT(ak_store_list(s, "systems/", "/", NULL, 0, &p, &err), AK_ERR_IO);
    CHECK_HAS(err.msg, "circuit open");
    ak_store_close(s);
    unsetenv("AKOSHA_STORE_BREAKER_FAILURES");
    unsetenv("AKOSHA_STORE_BREAKER_COOLDOWN_MS");
}

static void test_bad_settings(void)
{
    ak_store *s = NULL;
    ak_err err = {0};
    setenv("AKOSHA_STORE_BREAKER_FAILURES", "0", 1);
    CHECK_INT(ak_store_open(test_tmpdir(), &s, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "AKOSHA_STORE_BREAKER_FAILURES=0");
    setenv("AKOSHA_STORE_BREAKER_FAILURES", "3x", 1);
    CHECK_INT(ak_store_open(test_tmpdir(), &s, &err), AK_ERR_INVALID);
    unsetenv("AKOSHA_STORE_BREAKER_FAILURES");
    CHECK(s == NULL);
}

static void test_names(void)
{
    CHECK_STR(ak_breaker_state_name(AK_BREAKER_HALF_OPEN), "half-open");
    CHECK_STR(ak_store_op_name(AK_STORE_OP_DELETE), "delete");
}

int main(void)
{
    RUN(test_opens_after_threshold);
    RUN(test_success_resets_the_count);
    RUN(test_half_open_trial_closes);
    RUN(test_cooled_reads_half_open);
    RUN(test_half_open_trial_reopens);
    RUN(test_neutral_trial_frees_the_slot);
    RUN(test_late_outcomes_are_ignored);
    RUN(test_not_found_is_no_failure);
    RUN(test_store_fails_fast);
    RUN(test_bad_settings);
    RUN(test_names);
    return test_report("breaker");
}
