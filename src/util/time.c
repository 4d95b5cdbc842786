/* time.c - see time.h.  Calendar arithmetic is done by hand (days from
 * civil date, after H. Hinnant) because timegm() is not in C11 or POSIX and
 * mktime() depends on the process time zone. */
#include "util/time.h"

#include <stdio.h>
#include <time.h>

#define MIN_SECS INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define MAX_SECS INT64_C(253402300799)  /* 9999-12-31T23:59:59Z */

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Read exactly `count` digits at *p (bounded by end) into *out. */
static int digits(const char **p, const char *end, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return 0;
        v = v * 10 + (*(*p)++ - '0');
    }
    *out = v;
    return 1;
}

static int expect(const char **p, const char *end, char c)
{
    if (*p < end && **p == c) {
        (*p)++;
        return 1;
    }
    return 0;
}

/* Parse "[.fraction]" into microseconds. */
static int parse_fraction(const char **p, const char *end, int64_t *us)
{
    *us = 0;
    if (!expect(p, end, '.') && !expect(p, end, ','))
        return 1;
    int n = 0;
    int64_t scale = 100000;
    while (*p < end && **p >= '0' && **p <= '9') {
        if (n < 6)
            *us += (**p - '0') * scale;
        scale /= 10;
        n++;
        (*p)++;
    }
    return n > 0;
}

/* Parse the zone designator; *offset_s is seconds east of UTC. */
static int parse_zone(const char **p, const char *end, int *offset_s)
{
    *offset_s = 0;
    if (*p == end)
        return 1;
    if (expect(p, end, 'Z') || expect(p, end, 'z'))
        return *p == end;
    int sign = **p == '+' ? 1 : **p == '-' ? -1 : 0;
    int hh, mm = 0;
    if (!sign)
        return 0;
    (*p)++;
    if (!digits(p, end, 2, &hh) || hh > 23)
        return 0;
    if (*p < end) {
        expect(p, end, ':');
        if (!digits(p, end, 2, &mm) || mm > 59)
            return 0;
    }
    *offset_s = sign * (hh * 3600 + mm * 60);
    return *p == end;
}

int ak_time_parse(const char *s, size_t n, int64_t *out)
{
    const char *p = s, *end = s + n;
    int y, mo, d, hh = 0, mi = 0, ss = 0, off = 0;
    int64_t frac = 0;
    if (!digits(&p, end, 4, &y) || !expect(&p, end, '-') ||
        !digits(&p, end, 2, &mo) || !expect(&p, end, '-') ||
        !digits(&p, end, 2, &d))
        return 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
        return 0;
    if (p < end) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return 0;
        p++;
        if (!digits(&p, end, 2, &hh) || !expect(&p, end, ':') ||
            !digits(&p, end, 2, &mi))
            return 0;
        if (expect(&p, end, ':') &&
            (!digits(&p, end, 2, &ss) || !parse_fraction(&p, end, &frac)))
            return 0;
        if (hh > 23 || mi > 59 || ss > 60 || !parse_zone(&p, end, &off))
            return 0;
    }
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
                   hh * 3600 + mi * 60 + ss - off;
    /* an offset or a leap second must not carry the instant out of the
     * years 0001-9999 that ak_time_format() can write back */
    if (secs < MIN_SECS || secs > MAX_SECS)
        return 0;
    *out = secs * AK_US_PER_SEC + frac;
    return 1;
}

void ak_time_format(int64_t us, char out[AK_TIME_ISO_MAX])
{
    int64_t secs = us / AK_US_PER_SEC, frac = us % AK_US_PER_SEC;
    if (frac < 0) {
        frac += AK_US_PER_SEC;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, AK_TIME_ISO_MAX, "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (frac && n > 0 && n < AK_TIME_ISO_MAX)
        n += snprintf(out + n, (size_t)(AK_TIME_ISO_MAX - n), ".%06d", (int)frac);
    if (n > 0 && n < AK_TIME_ISO_MAX - 1)
        snprintf(out + n, (size_t)(AK_TIME_ISO_MAX - n), "Z");
}

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * AK_US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t ak_time_now_us(void) { return clock_us(CLOCK_REALTIME); }
int64_t ak_time_mono_us(void) { return clock_us(CLOCK_MONOTONIC); }
