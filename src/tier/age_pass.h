/*
 * age_pass.h - internal to aging (age.c, tocold.c): the state of one pass
 * over one system.  (The SQL is storage's: hot -> warm storage/tiermove.h,
 * warm -> cold storage/coldmove.h.)
 */
#ifndef AK_AGE_PASS_H
#define AK_AGE_PASS_H

#include "storage/sysdb.h"
#include "tier/age.h"

typedef struct {
    const ak_age_config *cfg;
    ak_age_stats *stats;
    int64_t now, hot_cutoff, warm_cutoff, retention_cutoff;
    const char *system_id;
    ak_sysdb *sdb;
    int changed;
} ak_age_pass;

int ak_age_stopping(const ak_age_pass *p);

/* warm -> cold for the pass's system (tocold.c). */
ak_code ak_age_warm_to_cold(ak_age_pass *p, ak_err *err);

/* Retention (an ak_retention_trim_fn; ctx is the ak_age_pass): rewrite
 * cold object old_key without its rows older than cutoff, as a merge does
 * (new object listed in cold_garbage, put, read back; one transaction moves
 * the kept rows' catalog entries to it, deletes the others' and lists the
 * old key as garbage; then the old object is deleted).  *dropped gets the
 * catalog rows deleted: 0 when nothing changed (the object is missing or
 * unreadable, or its rows changed meanwhile).  Test points
 * retention.cold_uploaded, retention.cold_committed. */
ak_code ak_age_cold_trim(void *ctx, const char *old_key, int64_t cutoff, int64_t *dropped,
                         ak_err *err);

#endif
