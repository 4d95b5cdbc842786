/*
 * retention.h - AKOSHA_RETENTION_DAYS: conversations older than N days
 * leave every tier during aging (off by default; docs/AGING.md).
 *
 * The cut is at a UTC day boundary: cutoff = start of the UTC day of
 * (now - N days); a conversation whose timestamp is before it goes.  Cold
 * objects hold one system's conversations of one month (tier/tocold.c), so
 * the object of the cut's month holds conversations on both sides of it:
 * the trim function rewrites it without those past the cut (crash-safely,
 * as a merge: tier/age_pass.h ak_age_cold_trim), counted in cold_rewritten.
 * Without one (or when the rewrite changed nothing) it is kept whole, with
 * its catalog rows, and counted in cold_kept.
 *
 * Order, for crash safety: hot and warm rows are deleted in one
 * transaction each (their full-text entries go by trigger); a cold object
 * is deleted from the store before its catalog rows, so a crash in between
 * leaves catalog rows the next pass finds again and finishes.
 */
#ifndef AK_RETENTION_H
#define AK_RETENTION_H

#include <stdint.h>

#include "objstore/objstore.h"
#include "storage/sysdb.h"

typedef struct {
    int64_t hot, warm, cold;  /* conversations dropped (or, dry, that would be) */
    int64_t cold_objects;     /* cold objects deleted */
    int64_t cold_rewritten;   /* cold objects rewritten without their rows past the cut */
    int64_t cold_kept;        /* past retention but in an object still holding newer ones */
} ak_retention_stats;

/* Rewrite cold object key without its rows older than cutoff_us; *dropped
 * gets the catalog rows that left (0: nothing changed). */
typedef ak_code (*ak_retention_trim_fn)(void *ctx, const char *key, int64_t cutoff_us,
                                        int64_t *dropped, ak_err *err);

/* The cut for a retention of days at now_us (0 days: none, returns 0). */
int64_t ak_retention_cutoff(int64_t now_us, int64_t days);

/* Drop db's conversations older than cutoff_us from hot and warm, and from
 * cold when cold is non-NULL (objects straddling the cut through trim, with
 * trim_ctx, when trim is non-NULL).  Counts are added to *st. */
ak_code ak_retention_system(ak_sysdb *db, ak_store *cold, int64_t cutoff_us, int dry_run,
                            ak_retention_trim_fn trim, void *trim_ctx,
                            ak_retention_stats *st, ak_err *err);

#endif
