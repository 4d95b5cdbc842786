/*
 * stage_bench.c - what the push's outbox staging costs on this disk: a
 * batch's payload (0.9 MB, as push_bench.py's) and manifest put into a
 * local store, as one ak_store_put2() (three fsyncs) or as two puts in a
 * row (four), batch by batch alternately.
 *
 *   stage_bench DIR [BATCHES]
 *
 * DIR must not exist (it is made, and left for the caller to remove; it
 * holds 2 x BATCHES x 0.9 MB, default 300).  Prints each way's mean, median
 * and 90th percentile milliseconds a batch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "objstore/objstore.h"
#include "util/time.h"

enum { PAYLOAD = 900 * 1024 };

static const char MANIFEST[] =
    "{\"version\":\"1.0\",\"files\":[\"memories.jsonl\"],\"checksum\":"
    "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}";

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Microseconds to stage batch i one way (pair: put2). */
static int64_t stage_us(ak_store *s, const char *payload, int i, int pair)
{
    ak_err err = {0};
    char k1[128], k2[128];
    snprintf(k1, sizeof k1, "systems/s/b%d_%d/memories.jsonl", i, pair);
    snprintf(k2, sizeof k2, "systems/s/b%d_%d/manifest.json", i, pair);
    int64_t t0 = ak_time_mono_us();
    ak_code rc = pair ? ak_store_put2(s, k1, payload, PAYLOAD, k2, MANIFEST,
                                      sizeof MANIFEST - 1, &err)
                      : ak_store_put(s, k1, payload, PAYLOAD, &err);
    if (rc == AK_OK && !pair)
        rc = ak_store_put(s, k2, MANIFEST, sizeof MANIFEST - 1, &err);
    if (rc != AK_OK) {
        fprintf(stderr, "stage_bench: %s\n", err.msg);
        exit(1);
    }
    return ak_time_mono_us() - t0;
}

static void report(const char *way, int64_t *us, int n)
{
    int64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += us[i];
    qsort(us, (size_t)n, sizeof *us, cmp_i64);
    printf("%-9s mean %6.2f ms, median %6.2f ms, p90 %6.2f ms a batch\n", way,
           (double)sum / n / 1000.0, (double)us[n / 2] / 1000.0,
           (double)us[n * 9 / 10] / 1000.0);
}

int main(int argc, char **argv)
{
    ak_store *s = NULL;
    ak_err err = {0};
    int n = argc > 2 ? atoi(argv[2]) : 300;
    if (argc < 2 || n <= 0) {
        fprintf(stderr, "usage: stage_bench DIR [BATCHES]\n");
        return 2;
    }
    if (mkdir(argv[1], 0755) != 0 || ak_store_open(argv[1], &s, &err) != AK_OK) {
        fprintf(stderr, "stage_bench: cannot make the store %s %s\n", argv[1], err.msg);
        return 1;
    }
    char *payload = malloc(PAYLOAD);
    int64_t *two = calloc((size_t)n, sizeof *two), *one = calloc((size_t)n, sizeof *one);
    if (!payload || !two || !one)
        return 1;
    memset(payload, 'x', PAYLOAD);
    for (int i = 0; i < n; i++) { /* alternating: drifting load falls on both */
        two[i] = stage_us(s, payload, i, 0);
        one[i] = stage_us(s, payload, i, 1);
    }
    report("two puts", two, n);
    report("put2", one, n);
    free(payload);
    free(two);
    free(one);
    ak_store_close(s);
    return 0;
}
