/*
 * verify.h - `akosha verify`: check every system database and the cold
 * catalog, and report what is wrong (runbook docs/runbooks/hot-store-failure.md).
 *
 * For each system database (or just one): the checks of storage/check.h.
 * For each cold catalog entry: its object exists in the cold store; deep
 * also reads every object back and checks that it holds each catalogued
 * conversation with the catalogued content SHA-256 and timestamp.
 * Objects under a system's prefix that its catalog does not name (older
 * than AK_VERIFY_ORPHAN_AGE_US, so not an export in flight) are read: one
 * holding conversations the system stores nowhere else is a problem
 * ("cold-orphan": keep it, the store lost them); one whose conversations
 * are all stored elsewhere is a leftover of a rebuild, reported as a
 * notice ("cold-leftover", not a problem) that may be deleted.  Temp files
 * that an interrupted export left below the prefix (ak_store_temps()) are
 * notices too ("cold-temp"): the next aging pass removes them.
 *
 * Then the leftovers of forgotten systems ("forgotten") and cold prefixes
 * that belong to no system ("cold-unowned"): ops/forget.h.
 *
 * Read-only: nothing is repaired here (`akosha reingest` repairs), so it
 * is safe to run at any time, daemon running or not.
 */
#ifndef AK_VERIFY_H
#define AK_VERIFY_H

#include <stdint.h>

#include "objstore/objstore.h"
#include "storage/datadir.h"

typedef struct {
    const ak_datadir *data;
    ak_store *cold;            /* NULL: skip the cold catalog */
    const char *system_id;     /* NULL: every system */
    int deep;
} ak_verify_config;

#define AK_VERIFY_ORPHAN_AGE_US (3600LL * 1000000) /* an hour */

typedef struct {
    const char *system_id;
    const char *path;          /* its database */
    const char *check;         /* "open", "schema", "integrity", "fts", "tiers", "ledger",
                                  "vectors", "cold", "cold-orphan", "forgotten",
                                  "cold-unowned"; notices: "cold-leftover", "cold-temp" */
    const char *message;
    int notice;                /* 1: for information, not a problem */
} ak_verify_problem;

/* Called once per problem or notice; the strings live during the call only. */
typedef void (*ak_verify_fn)(void *ctx, const ak_verify_problem *p);

typedef struct {
    int64_t systems, systems_bad;
    int64_t cold_objects, cold_rows;
    int64_t cold_leftovers;    /* notices: uncatalogued objects stored elsewhere too */
    int64_t cold_temps;        /* notices: temp files of interrupted exports */
    int64_t problems;
    double seconds;
} ak_verify_stats;

/* Returns AK_OK when the checks ran (problems are in the stats and the
 * callback); an error when the data directory itself could not be read. */
ak_code ak_verify_run(const ak_verify_config *cfg, ak_verify_fn fn, void *ctx,
                      ak_verify_stats *out, ak_err *err);

#endif
