/*
 * time.h - ISO-8601 timestamps <-> microseconds since the Unix epoch (UTC).
 *
 * Akosha stores every time as int64 microseconds UTC and speaks ISO-8601 at
 * its edges.  Accepted input forms (RFC 3339 and the common relaxations
 * Session-Buddy's Python isoformat() produces):
 *
 *   2025-01-31                       midnight UTC
 *   2025-01-31T10:15[:30[.123456]]   'T', 't' or ' ' between date and time
 *   ...Z | ...+02:00 | ...-0530 | ...+02   offset; none means UTC
 *
 * Fractions keep microsecond precision (further digits are truncated).
 * Years 0001-9999.  Output is always "YYYY-MM-DDTHH:MM:SS[.ffffff]Z".
 */
#ifndef AK_TIME_H
#define AK_TIME_H

#include <stddef.h>
#include <stdint.h>

#define AK_TIME_ISO_MAX 32
#define AK_US_PER_SEC INT64_C(1000000)
#define AK_US_PER_DAY (INT64_C(86400) * AK_US_PER_SEC)

/* 1 and *us set on success, 0 if s[0..n) is not an accepted timestamp. */
int ak_time_parse(const char *s, size_t n, int64_t *us);
/* Writes at most AK_TIME_ISO_MAX bytes including the NUL. */
void ak_time_format(int64_t us, char out[AK_TIME_ISO_MAX]);
/* Wall clock now, microseconds since the epoch. */
int64_t ak_time_now_us(void);
/* Monotonic clock, microseconds (for durations and deadlines). */
int64_t ak_time_mono_us(void);

#endif
