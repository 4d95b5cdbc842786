/*
 * testpoint.h - named instants at which a test can stop the process.
 *
 * Crash-safety tests must kill the process at an exact instant (mid
 * transaction, after a commit, between writing a temp file and renaming
 * it), not after a guessed sleep that lands somewhere else on a slower
 * machine.  Code marks such instants with ak_testpoint("name"); the
 * environment variable
 *
 *   AKOSHA_TEST_STOP=<name>[:<n>[:<signal>]]
 *
 * makes the n-th passage (default 1, counted across threads) through the
 * point named <name> print "akosha: test stop point <name>#<n>" on stderr
 * and send the process <signal>: KILL (the default), TERM, STOP, SEGV or
 * ABRT (the last two: a crash, as a bug in a library would cause).  A TERM
 * is process-directed, so it is handled as an operator's would be and the
 * program goes on; a STOP (sent to the thread at the point, which so stops
 * right there) freezes the whole process (holding what it holds) until the
 * test sends it SIGCONT, so another process can be run against it at that
 * exact instant.  Unset, a test point costs a pthread_once() check.
 *
 * The points and their names are listed in docs/TESTING.md.
 */
#ifndef AK_TESTPOINT_H
#define AK_TESTPOINT_H

void ak_testpoint(const char *name);

#endif
