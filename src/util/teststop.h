/*
 * teststop.h - deterministic crash points for the tests.
 *
 * AKOSHA_TEST_STOP=<name> makes the process kill itself with SIGKILL the
 * moment it reaches ak_test_stop("<name>"): a kill -9 at a chosen instant,
 * without timing a kill from outside.  Unset (always, outside the tests)
 * it costs one getenv.
 */
#ifndef AK_TESTSTOP_H
#define AK_TESTSTOP_H

void ak_test_stop(const char *point);

#endif
