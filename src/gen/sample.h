/*
 * sample.h - generate a bucket of realistic Session-Buddy uploads.
 *
 * Used by the demo, the tests and the benchmarks.  Each system uploads
 * snapshots: its first upload holds `conversations` records; every later
 * upload repeats all earlier conversations (a share of them edited) and
 * adds `growth` new ones, exactly as Session-Buddy's periodic snapshots do.
 * Content is drawn from topic vocabularies and embeddings from per-topic
 * centroids plus noise, so text and vector search have something to find.
 *
 * With mixed forms, consecutive uploads cycle through every payload form
 * (.json, .jsonl, .ndjson x none, gzip, zstd, lz4), both bucket layouts,
 * one- and two-file uploads, with and without a checksum.
 *
 * Everything is a pure function of the seed and `now`, and the summary says
 * what ingesting the bucket must produce, so tests can check exact counts.
 */
#ifndef AK_SAMPLE_H
#define AK_SAMPLE_H

#include <stdint.h>

#include "util/err.h"

typedef struct {
    const char *out_dir;      /* local bucket directory (created) */
    unsigned systems;
    unsigned uploads;         /* per system */
    unsigned conversations;   /* in each system's first upload */
    unsigned growth;          /* new conversations per later upload */
    double edit_fraction;     /* share of repeated conversations edited */
    uint64_t seed;
    int64_t now_us;           /* the newest upload is dated just before this */
    unsigned span_days;       /* conversation timestamps reach this far back */
    int format;               /* -1 mixed, else 0 json, 1 jsonl, 2 ndjson */
    int codec;                /* -1 mixed, else an ak_codec */
    const char *system_prefix;
} ak_gen_config;

typedef struct {
    int64_t systems, uploads, records;
    int64_t expect_new, expect_updated, expect_duplicates;
    int64_t payload_bytes;
    int64_t records_with_embedding;
} ak_gen_summary;

void ak_gen_defaults(ak_gen_config *cfg);
ak_code ak_gen_bucket(const ak_gen_config *cfg, ak_gen_summary *sum, ak_err *err);

/* The deterministic embedding and content of one conversation version, for
 * tests and benchmarks that need to know what was uploaded.  content is
 * written to out (NUL-terminated, at most n bytes). */
void ak_gen_embedding(uint64_t seed, unsigned system, unsigned conv, unsigned version,
                      float out[384]);
unsigned ak_gen_topic(uint64_t seed, unsigned system, unsigned conv);

#endif
