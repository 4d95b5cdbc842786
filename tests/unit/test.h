/*
 * test.h - the unit-test harness: a few macros, no framework.
 *
 * Each tests/unit/test_<module>.c has a main() that calls RUN(test_fn) for
 * each test and returns test_report().  A failed CHECK prints file:line and
 * the expression, marks the test failed and carries on, so one run shows
 * every broken assertion.  Tests create scratch files under test_tmpdir().
 */
#ifndef AK_TEST_H
#define AK_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static int test_failures;
static int test_count;
static const char *test_current;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__,         \
                    __LINE__, test_current, #cond);                            \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                        \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_) {                                                      \
            fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n",    \
                    __FILE__, __LINE__, test_current, #a, va_, #b, vb_);       \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                     \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                           \
            fprintf(stderr, "%s:%d: %s: %s == \"%s\", expected \"%s\"\n",      \
                    __FILE__, __LINE__, test_current, #a, sa_ ? sa_ : "(null)", \
                    sb_ ? sb_ : "(null)");                                     \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

/* CHECK that haystack contains needle (for error messages). */
#define CHECK_HAS(hay, needle)                                                 \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        if (!h_ || !strstr(h_, n_)) {                                          \
            fprintf(stderr, "%s:%d: %s: \"%s\" does not contain \"%s\"\n",     \
                    __FILE__, __LINE__, test_current, h_ ? h_ : "(null)", n_); \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

/* CHECK that an ak_code call succeeds, showing its message when not. */
#define CHECK_OK(expr, e)                                                      \
    do {                                                                       \
        ak_code rc_ = (expr);                                                  \
        if (rc_ != AK_OK) {                                                    \
            fprintf(stderr, "%s:%d: %s: %s -> %s: %s\n", __FILE__, __LINE__,   \
                    test_current, #expr, ak_code_name(rc_), (e).msg);          \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

#define RUN(fn)                                                                \
    do {                                                                       \
        test_current = #fn;                                                    \
        int before_ = test_failures;                                           \
        fn();                                                                  \
        test_count++;                                                          \
        if (test_failures != before_)                                          \
            fprintf(stderr, "FAIL %s\n", #fn);                                 \
    } while (0)

static inline int test_report(const char *suite)
{
    printf("%s: %d tests, %d failed checks\n", suite, test_count, test_failures);
    return test_failures ? 1 : 0;
}

/* A fresh scratch directory for this test process (removed by the caller's
 * harness, not here, so a failure leaves evidence). */
static inline const char *test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/akosha-unit-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return dir;
}

#endif
