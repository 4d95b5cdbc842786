/* test_time.c - util/time: every accepted ISO-8601 form, offsets, calendar
 * validation, rejects, formatting of known instants, and parse/format round
 * trips checked against the C library's own calendar (timegm, gmtime_r). */
#include "util/time.h"
#include "test.h"

#include <stdint.h>
#include <time.h>

#define US(s) ((int64_t)(s) * AK_US_PER_SEC)

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Parse from an exact-size heap copy so ASan sees any read past n. */
static int parse(const char *s, int64_t *us)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    int ok = ak_time_parse(copy, n, us);
    free(copy);
    return ok;
}

static int64_t parsed(const char *s)
{
    int64_t us = INT64_MIN;
    if (!parse(s, &us))
        fprintf(stderr, "  rejected: \"%s\"\n", s);
    return us;
}

static const char *fmt(int64_t us)
{
    static char out[AK_TIME_ISO_MAX];
    ak_time_format(us, out);
    return out;
}

/* Expected values computed with Python's datetime. */
#define T_2025_01_31 INT64_C(1738281600000000)
#define T_2025_01_31_1015 INT64_C(1738318500000000)
#define T_2025_01_31_101530 INT64_C(1738318530000000)

static void test_date_only(void)
{
    CHECK(parsed("2025-01-31") == T_2025_01_31);
    CHECK(parsed("1970-01-01") == 0);
    CHECK(parsed("2000-02-29") == INT64_C(951782400000000));
    CHECK(parsed("2024-02-29") == INT64_C(1709164800000000));
    CHECK(parsed("0001-01-01") == INT64_C(-62135596800000000));
    CHECK(parsed("1900-01-01") == INT64_C(-2208988800000000));
    CHECK(parsed("9999-12-31") == INT64_C(253402214400000000));
}

static void test_separators_and_precision(void)
{
    CHECK(parsed("2025-01-31T10:15") == T_2025_01_31_1015);
    CHECK(parsed("2025-01-31t10:15") == T_2025_01_31_1015);
    CHECK(parsed("2025-01-31 10:15") == T_2025_01_31_1015);
    CHECK(parsed("2025-01-31T10:15:30") == T_2025_01_31_101530);
    CHECK(parsed("2025-01-31 10:15:30") == T_2025_01_31_101530);
    CHECK(parsed("2025-01-31T10:15:30Z") == T_2025_01_31_101530);
    CHECK(parsed("2025-01-31T10:15:30z") == T_2025_01_31_101530);
    CHECK(parsed("2025-01-31T10:15Z") == T_2025_01_31_1015);
    CHECK(parsed("2025-01-31T00:00") == T_2025_01_31);
    CHECK(parsed("2025-01-31T23:59:59") == T_2025_01_31 + US(86399));
}

static void test_fractions(void)
{
    static const struct { const char *frac; int64_t us; } t[] = {
        {".1", 100000},         {".12", 120000},        {".123", 123000},
        {".1234", 123400},      {".12345", 123450},     {".123456", 123456},
        {".1234567", 123456},   {".12345678", 123456},  {".123456789", 123456},
        {".999999999", 999999}, {".000001", 1},         {".0000009", 0},
        {".0", 0},              {".500", 500000},
    };
    char s[64];
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        snprintf(s, sizeof s, "2025-01-31T10:15:30%s", t[i].frac);
        CHECK(parsed(s) == T_2025_01_31_101530 + t[i].us);
        snprintf(s, sizeof s, "2025-01-31T10:15:30%sZ", t[i].frac);
        CHECK(parsed(s) == T_2025_01_31_101530 + t[i].us);
        snprintf(s, sizeof s, "2025-01-31T10:15:30%s+01:00", t[i].frac);
        CHECK(parsed(s) == T_2025_01_31_101530 - US(3600) + t[i].us);
    }
}

static void test_offsets(void)
{
    CHECK(parsed("2025-01-31T10:15:30+02:00") == T_2025_01_31_101530 - US(2 * 3600));
    CHECK(parsed("2025-01-31T10:15:30+0200") == T_2025_01_31_101530 - US(2 * 3600));
    CHECK(parsed("2025-01-31T10:15:30+02") == T_2025_01_31_101530 - US(2 * 3600));
    CHECK(parsed("2025-01-31T10:15:30-05:30") == T_2025_01_31_101530 + US(5 * 3600 + 30 * 60));
    CHECK(parsed("2025-01-31T10:15:30-0530") == T_2025_01_31_101530 + US(5 * 3600 + 30 * 60));
    CHECK(parsed("2025-01-31T10:15:30-05") == T_2025_01_31_101530 + US(5 * 3600));
    CHECK(parsed("2025-01-31T10:15:30+00:00") == T_2025_01_31_101530);
    CHECK(parsed("2025-01-31T10:15:30-00:00") == T_2025_01_31_101530);
    CHECK(parsed("2025-01-31T10:15+05:45") == T_2025_01_31_1015 - US(5 * 3600 + 45 * 60));
    CHECK(parsed("2025-01-31T10:15:30.5+23:59") ==
          T_2025_01_31_101530 - US(23 * 3600 + 59 * 60) + 500000);
    /* offsets move the date across midnight and month/year ends */
    CHECK(parsed("2025-01-01T01:00:00+02:00") == parsed("2024-12-31T23:00:00Z"));
    CHECK(parsed("2024-02-28T22:00:00-03:00") == parsed("2024-02-29T01:00:00Z"));
    CHECK(parsed("1970-01-01T00:00:00+01:00") == -US(3600));
}

static void test_calendar(void)
{
    int64_t us;
    CHECK(!parse("2023-02-29", &us));
    CHECK(parse("2024-02-29", &us));
    CHECK(!parse("2100-02-29", &us));
    CHECK(parse("2000-02-29", &us));
    CHECK(!parse("1900-02-29", &us));
    CHECK(!parse("2024-02-30", &us));
    CHECK(!parse("2025-04-31", &us));
    CHECK(!parse("2025-06-31", &us));
    CHECK(!parse("2025-09-31", &us));
    CHECK(!parse("2025-11-31", &us));
    CHECK(parse("2025-12-31", &us));
    CHECK(!parse("2025-01-32", &us));
    CHECK(!parse("2025-01-00", &us));
    CHECK(!parse("2025-00-10", &us));
    CHECK(!parse("2025-13-01", &us));
    CHECK(!parse("0000-01-01", &us));
    CHECK(!parse("0000-01-01T00:00:00Z", &us));
    /* every day of every month of a leap and a common year, via timegm */
    static const int years[] = {2023, 2024, 1, 1969, 9999};
    long bad = 0;
    for (size_t yi = 0; yi < sizeof years / sizeof *years; yi++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= 32; d++) {
                struct tm tm = {.tm_year = years[yi] - 1900, .tm_mon = m - 1, .tm_mday = d};
                time_t t = timegm(&tm);
                int real = tm.tm_mon == m - 1; /* timegm normalised an impossible day */
                char s[16];
                snprintf(s, sizeof s, "%04d-%02d-%02d", years[yi], m, d);
                int ok = parse(s, &us);
                bad += ok != real || (ok && us != US(t));
            }
    CHECK_INT(bad, 0);
}

static void test_rejects(void)
{
    static const char *bad[] = {
        "", " ", "2025", "2025-01", "2025-01-3", "2025-1-31", "25-01-31", "20250131",
        "2025/01/31", "2025-01-31T", "2025-01-31T10", "2025-01-31T10:", "2025-01-31T1:15",
        "2025-01-31T10:1", "2025-01-31T1015", "2025-01-31T10:15:", "2025-01-31T10:15:3",
        "2025-01-31T10:15:30.", "2025-01-31T10:15.5", "2025-01-31T10:15:30.Z",
        "2025-01-31X10:15", "2025-01-31_10:15", "2025-01-31TT10:15", "2025-01-31T24:00",
        "2025-01-31T24:00:00Z", "2025-01-31T25:00", "2025-01-31T23:60", "2025-01-31T10:99",
        "2025-01-31T10:15:61", "2025-01-31T10:15+", "2025-01-31T10:15-",
        "2025-01-31T10:15+2", "2025-01-31T10:15+02:", "2025-01-31T10:15+02:0",
        "2025-01-31T10:15+020", "2025-01-31T10:15+24:00", "2025-01-31T10:15+02:60",
        "2025-01-31T10:15+02:00:00", "2025-01-31T10:15 +02:00", "2025-01-31T10:15UTC",
        "2025-01-31T10:15GMT", "2025-01-31T10:15Zx", "2025-01-31T10:15ZZ",
        "2025-01-31T10:15:30Z ", "2025-01-31T10:15:30+02:00x", "2025-01-31T10:15:30.123abc",
        "2025-01-31x", "2025-01-31 ", "2025-01-31Z", "2025-01-31+02:00", " 2025-01-31",
        "+2025-01-31", "-2025-01-31", "2025-01-31T10:15:30Z\n", "2025-O1-31", "abcd-ef-gh",
        "2025-01-31T-1:15", "2025-01-31T10:-1", "2025-01-31T10:15:30+-2:00",
    };
    int64_t us;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int ok = parse(bad[i], &us);
        if (ok)
            fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
        CHECK(!ok);
    }
    /* n bounds the input: an embedded NUL is garbage, not an end */
    CHECK(!ak_time_parse("2025-01-31\0", 11, &us));
    CHECK(!ak_time_parse("2025-01-31T10:15Z\0", 18, &us));
    CHECK(ak_time_parse("2025-01-31T10:15Zjunk", 17, &us) && us == T_2025_01_31_1015);
    CHECK(ak_time_parse("2025-01-31junk", 10, &us) && us == T_2025_01_31);
    CHECK(!ak_time_parse("2025-01-31", 9, &us));
}

static void test_format_known(void)
{
    CHECK_STR(fmt(0), "1970-01-01T00:00:00Z");
    CHECK_STR(fmt(1), "1970-01-01T00:00:00.000001Z");
    CHECK_STR(fmt(INT64_C(946684800000000)), "2000-01-01T00:00:00Z");
    CHECK_STR(fmt(INT64_C(951782400000000)), "2000-02-29T00:00:00Z");
    CHECK_STR(fmt(T_2025_01_31_101530 + 123456), "2025-01-31T10:15:30.123456Z");
    CHECK_STR(fmt(T_2025_01_31_101530 + 1500), "2025-01-31T10:15:30.001500Z");
    CHECK_STR(fmt(T_2025_01_31_101530 + 500000), "2025-01-31T10:15:30.500000Z");
    CHECK_STR(fmt(-1), "1969-12-31T23:59:59.999999Z");
    CHECK_STR(fmt(-US(1)), "1969-12-31T23:59:59Z");
    CHECK_STR(fmt(-US(86400)), "1969-12-31T00:00:00Z");
    CHECK_STR(fmt(-US(1) - 1), "1969-12-31T23:59:58.999999Z");
    CHECK_STR(fmt(INT64_C(-14182940000000)), "1969-07-20T20:17:40Z");
    CHECK_STR(fmt(INT64_C(-2208988800000000)), "1900-01-01T00:00:00Z");
    CHECK_STR(fmt(INT64_C(-62135596800000000)), "0001-01-01T00:00:00Z");
    CHECK_STR(fmt(INT64_C(253402300799999999)), "9999-12-31T23:59:59.999999Z");
    CHECK_STR(fmt(INT64_C(253402300799000000)), "9999-12-31T23:59:59Z");
    /* extremes of int64 do not overflow the buffer */
    char out[AK_TIME_ISO_MAX];
    ak_time_format(INT64_MAX, out);
    CHECK(strlen(out) < AK_TIME_ISO_MAX && out[strlen(out) - 1] == 'Z');
    ak_time_format(INT64_MIN, out);
    CHECK(strlen(out) < AK_TIME_ISO_MAX && out[strlen(out) - 1] == 'Z');
}

/* Random instants in years 1..9999: format against gmtime_r, and parse back. */
static void test_roundtrip(void)
{
    const int64_t lo = INT64_C(-62135596800000000), hi = INT64_C(253402300799999999);
    long bad_fmt = 0, bad_rt = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t x = lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
        if (i % 4 == 0)
            x -= x % AK_US_PER_SEC; /* whole seconds: no fraction printed */
        const char *s = fmt(x);
        int64_t secs = x / AK_US_PER_SEC, frac = x % AK_US_PER_SEC;
        if (frac < 0) {
            frac += AK_US_PER_SEC;
            secs--;
        }
        time_t t = (time_t)secs;
        struct tm tm;
        char want[64];
        gmtime_r(&t, &tm);
        int n = snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (frac)
            n += snprintf(want + n, sizeof want - (size_t)n, ".%06d", (int)frac);
        snprintf(want + n, sizeof want - (size_t)n, "Z");
        if (strcmp(s, want) != 0 && bad_fmt++ < 5)
            fprintf(stderr, "  format(%" PRId64 ") = %s, want %s\n", x, s, want);
        int64_t back = 0;
        if ((!parse(s, &back) || back != x) && bad_rt++ < 5)
            fprintf(stderr, "  parse(%s) = %" PRId64 ", want %" PRId64 "\n", s, back, x);
    }
    CHECK_INT(bad_fmt, 0);
    CHECK_INT(bad_rt, 0);
}

/* Random fields in random accepted spellings, against timegm. */
static void test_parse_random_forms(void)
{
    long bad = 0;
    for (int i = 0; i < 50000; i++) {
        struct tm tm = {0};
        int y = 1 + (int)(rng() % 9999), mo = 1 + (int)(rng() % 12), d = 1 + (int)(rng() % 28);
        int hh = (int)(rng() % 24), mi = (int)(rng() % 60), ss = (int)(rng() % 60);
        int oh = (int)(rng() % 24), om = (int)(rng() % 60), sign = rng() & 1 ? 1 : -1;
        int fdigits = (int)(rng() % 10), form = (int)(rng() % 6);
        char frac[16] = "";
        int64_t frac_us = 0;
        if (fdigits) {
            frac[0] = '.';
            for (int k = 0; k < fdigits; k++) {
                int dg = (int)(rng() % 10);
                frac[1 + k] = (char)('0' + dg);
                if (k < 6) {
                    int64_t scale = 100000;
                    for (int j = 0; j < k; j++)
                        scale /= 10;
                    frac_us += dg * scale;
                }
            }
            frac[1 + fdigits] = '\0';
        }
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = hh;
        tm.tm_min = mi;
        tm.tm_sec = ss;
        int64_t want = US(timegm(&tm)) + frac_us;
        char s[64];
        const char *sep = (const char *[]){"T", "t", " "}[rng() % 3];
        switch (form) {
        case 0: /* no offset */
            snprintf(s, sizeof s, "%04d-%02d-%02d%s%02d:%02d:%02d%s", y, mo, d, sep, hh, mi, ss, frac);
            break;
        case 1:
            snprintf(s, sizeof s, "%04d-%02d-%02d%s%02d:%02d:%02d%sZ", y, mo, d, sep, hh, mi, ss, frac);
            break;
        case 2:
            snprintf(s, sizeof s, "%04d-%02d-%02d%s%02d:%02d:%02d%s%c%02d:%02d", y, mo, d, sep, hh,
                     mi, ss, frac, sign > 0 ? '+' : '-', oh, om);
            want -= sign * US(oh * 3600 + om * 60);
            break;
        case 3:
            snprintf(s, sizeof s, "%04d-%02d-%02d%s%02d:%02d:%02d%s%c%02d%02d", y, mo, d, sep, hh, mi,
                     ss, frac, sign > 0 ? '+' : '-', oh, om);
            want -= sign * US(oh * 3600 + om * 60);
            break;
        case 4:
            snprintf(s, sizeof s, "%04d-%02d-%02d%s%02d:%02d%c%02d", y, mo, d, sep, hh, mi,
                     sign > 0 ? '+' : '-', oh);
            want -= frac_us + US(ss) + sign * US(oh * 3600);
            break;
        default:
            snprintf(s, sizeof s, "%04d-%02d-%02d", y, mo, d);
            want = US(timegm(&(struct tm){.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d}));
            break;
        }
        int64_t got = 0;
        if ((!parse(s, &got) || got != want) && bad++ < 5)
            fprintf(stderr, "  parse(%s) = %" PRId64 ", want %" PRId64 "\n", s, got, want);
    }
    CHECK_INT(bad, 0);
}

/* time.h promises years 0001-9999 and output "YYYY-..."; an accepted input
 * whose offset (or leap second) carries it outside that range formats as a
 * year the parser itself refuses. */
static void test_accepted_instants_stay_in_range(void)
{
    static const char *edge[] = {
        "0001-01-01T00:00:00+01:00", "0001-01-01T00:59+01", "9999-12-31T23:00:00-01:00",
        "9999-12-31T23:59:60Z",
    };
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        int64_t us, back;
        if (!parse(edge[i], &us))
            continue; /* rejecting is fine */
        const char *s = fmt(us);
        int ok = parse(s, &back) && back == us;
        if (!ok)
            fprintf(stderr, "  \"%s\" accepted as %s, which does not parse back\n", edge[i], s);
        CHECK(ok);
    }
}

static void test_clocks(void)
{
    int64_t now = ak_time_now_us();
    CHECK(now > INT64_C(1700000000000000)); /* after Nov 2023 */
    CHECK(now < INT64_C(4102444800000000)); /* before 2100 */
    int64_t a = ak_time_mono_us(), b = ak_time_mono_us();
    CHECK(b >= a);
}

int main(void)
{
    RUN(test_date_only);
    RUN(test_separators_and_precision);
    RUN(test_fractions);
    RUN(test_offsets);
    RUN(test_calendar);
    RUN(test_rejects);
    RUN(test_format_known);
    RUN(test_roundtrip);
    RUN(test_parse_random_forms);
    RUN(test_accepted_instants_stay_in_range);
    RUN(test_clocks);
    return test_report("time");
}
