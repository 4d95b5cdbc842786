/*
 * fuzz_common.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * FUZZ_CHECK(cond, fmt, ...) is the harnesses' assert: when an invariant
 * breaks it prints what and where, then abort()s so libFuzzer records the
 * input as a crash.  (assert() would vanish under -DNDEBUG.)
 *
 * Everything here is static so that each target stays one translation unit
 * plus the library; build with scripts/fuzz.sh.
 */
#ifndef AK_FUZZ_COMMON_H
#define AK_FUZZ_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/record.h"
#include "util/json.h"
#include "util/sha256.h"
#include "util/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant broken: %s\n  ", __FILE__,       \
                    __LINE__, #cond);                                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* 2026-01-01T00:00:00Z: the fixed "now" of every target, so a crash
 * reproduces whatever the day. */
#define FUZZ_NOW_US (INT64_C(1767225600) * INT64_C(1000000))

/* Ingestion's limits for one record's JSON (src/ingest/ingest.c). */
#define FUZZ_RECORD_DEPTH 64
#define FUZZ_RECORD_NODES 200000

/* xorshift64*: deterministic chunk sizes derived from the input. */
static inline uint64_t fuzz_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : UINT64_C(0x9E3779B97F4A7C15);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(2685821657736338717);
}

/* f is ref or one float32 unit away from it (Inf counts as the unit after
 * FLT_MAX): the accuracy json.h promises for ak_json_float32(). */
static inline int fuzz_float_close(float f, float ref)
{
    if (f == ref)
        return 1;
    if (isnan(f) || isnan(ref))
        return 0;
    return f == nextafterf(ref, INFINITY) || f == nextafterf(ref, -INFINITY);
}

/* A parsed time written back as ISO-8601 reads as the same instant. */
static inline void fuzz_check_time_roundtrip(int64_t us)
{
    char iso[AK_TIME_ISO_MAX];
    int64_t back = 0;
    ak_time_format(us, iso);
    FUZZ_CHECK(ak_time_parse(iso, strlen(iso), &back) && back == us,
               "time %lld formats as \"%s\", which reads back as %lld", (long long)us, iso,
               (long long)back);
}

/* The promises of ak_record_parse() on success (record.h, SPEC section 3). */
static inline void fuzz_check_record(const ak_record *r)
{
    FUZZ_CHECK(r->content != NULL, "content is NULL");
    FUZZ_CHECK(r->content_len >= 1 && r->content_len <= AK_CONTENT_MAX,
               "content_len %zu", r->content_len);
    FUZZ_CHECK(memchr(r->content, '\0', r->content_len) == NULL, "NUL in content");
    FUZZ_CHECK(ak_utf8_valid(r->content, r->content_len), "content is not UTF-8");

    uint8_t sha[AK_SHA256_LEN];
    ak_sha256(r->content, r->content_len, sha);
    FUZZ_CHECK(memcmp(sha, r->content_sha256, AK_SHA256_LEN) == 0,
               "content_sha256 is not the SHA-256 of content");

    FUZZ_CHECK(r->id != NULL, "id is NULL");
    FUZZ_CHECK(r->id_len >= 1 && r->id_len <= AK_CONV_ID_MAX, "id_len %zu", r->id_len);
    for (size_t i = 0; i < r->id_len; i++)
        FUZZ_CHECK((unsigned char)r->id[i] >= 0x20, "control byte 0x%02x in id at %zu",
                   (unsigned char)r->id[i], i);
    if (r->id == r->id_hex) {
        char hex[AK_SHA256_HEX];
        ak_hex(r->content_sha256, AK_SHA256_LEN, hex);
        FUZZ_CHECK(r->id_len == 64 && memcmp(hex, r->id, 64) == 0,
                   "derived id is not the hex SHA-256 of content");
    }

    if (r->has_embedding) {
        int nonzero = 0;
        for (int i = 0; i < AK_DIM; i++) {
            FUZZ_CHECK(isfinite(r->embedding[i]), "embedding[%d] = %g", i,
                       (double)r->embedding[i]);
            nonzero |= r->embedding[i] != 0.0f;
        }
        FUZZ_CHECK(nonzero, "has_embedding set on an all-zero vector");
    }

    FUZZ_CHECK(r->source != NULL, "source is NULL");
    FUZZ_CHECK(r->source_len <= AK_SOURCE_MAX, "source_len %zu", r->source_len);
    for (size_t i = 0; i < r->source_len; i++)
        FUZZ_CHECK((unsigned char)r->source[i] >= 0x20, "control byte in source");

    FUZZ_CHECK((r->metadata == NULL) == (r->metadata_len == 0),
               "metadata pointer and length disagree");
    if (r->metadata)
        FUZZ_CHECK(r->metadata[0] == '{' && r->metadata[r->metadata_len - 1] == '}',
                   "metadata is not an object's text: %.*s",
                   (int)(r->metadata_len > 80 ? 80 : r->metadata_len), r->metadata);
    fuzz_check_time_roundtrip(r->ts_us);
}

/* A failed parse reports a code, a matching ak_err, and a category. */
static inline void fuzz_check_record_failure(ak_code rc, ak_rec_problem p, const ak_err *e)
{
    FUZZ_CHECK(rc == e->code, "returned %d but err.code is %d", (int)rc, (int)e->code);
    FUZZ_CHECK(e->msg[0] != '\0', "error without a message");
    if (rc == AK_ERR_INVALID)
        FUZZ_CHECK(p > AK_REC_OK && p < AK_REC_N_PROBLEMS, "invalid record with problem %d",
                   (int)p);
    else
        FUZZ_CHECK(rc == AK_ERR_NOMEM, "unexpected code %d (%s)", (int)rc, e->msg);
}

#endif
