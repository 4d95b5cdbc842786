/*
 * age.c - see age.h.
 *
 * hot -> warm runs storage's SQL (storage/tiermove.c) with this module's
 * summaries and MinHash; warm -> cold is tocold.c.  Every batch runs
 * inside BEGIN IMMEDIATE ... COMMIT, so ingestion of the same system waits
 * for a batch (or a batch waits for an upload) and nothing in between is
 * ever visible.
 */
#include "tier/age.h"

#include <signal.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/syslock.h"
#include "storage/sysdb.h"
#include "storage/tombstone.h"
#include "tier/age_pass.h"
#include "tier/minhash.h"
#include "tier/summary.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/testpoint.h"
#include "util/time.h"
#include "util/vec.h"
#include "version.h"

#define DAY_US AK_US_PER_DAY

typedef ak_age_pass pass;

int ak_age_stopping(const pass *p) { return p->cfg->stop && atomic_load(p->cfg->stop); }

/* ---- hot -> warm ---- */

/* What aging makes of a hot row's content: a 3-sentence warm summary, the
 * 1-sentence summary cold rows keep, and the MinHash fingerprint.  The SQL
 * that moves the row is storage's (storage/tiermove.c). */
static ak_code warm_form(void *ctx, const char *content, size_t len, ak_warm_form *out,
                         ak_err *err)
{
    uint8_t *fp = ctx;
    static const int sentences[2] = {3, 1}; /* warm summary, cold's ultra summary */
    char *summaries[2] = {NULL, NULL};
    ak_code rc = ak_summarize_many(content, len, sentences, summaries, 2, err);
    uint32_t sig[AK_MINHASH_SLOTS];
    ak_minhash(content, len, sig);
    ak_minhash_bytes(sig, fp);
    out->summary = summaries[0];
    out->ultra_summary = summaries[1];
    out->fingerprint = fp;
    out->fingerprint_len = AK_MINHASH_BYTES;
    return rc;
}

static ak_code hot_to_warm(pass *p, ak_err *err)
{
    if (p->cfg->dry_run)
        return ak_tiermove_dry_count(p->sdb, AK_TIER_HOT, p->hot_cutoff, &p->stats->hot_to_warm,
                                     err);
    uint8_t fp[AK_MINHASH_BYTES];
    ak_tiermove_count n;
    ak_code rc;
    do {
        rc = ak_tiermove_hot_batch(p->sdb, p->hot_cutoff, AK_AGE_HOT_BATCH, warm_form, fp, &n,
                                   err);
        p->stats->hot_to_warm.rows += n.rows;
        p->stats->hot_to_warm.bytes_before += n.bytes_before;
        p->stats->hot_to_warm.bytes_after += n.bytes_after;
        p->changed |= n.rows > 0;
    } while (rc == AK_OK && n.rows == AK_AGE_HOT_BATCH && !ak_age_stopping(p));
    return rc;
}

/* ---- the pass ---- */

static ak_code retain(pass *p, ak_err *err)
{
    if (!p->retention_cutoff)
        return AK_OK;
    ak_retention_stats *d = &p->stats->dropped;
    int64_t before = d->hot + d->warm + d->cold;
    ak_code rc = ak_retention_system(p->sdb, p->cfg->cold, p->retention_cutoff,
                                     p->cfg->dry_run, ak_age_cold_trim, p, d, err);
    if (!p->cfg->dry_run && d->hot + d->warm + d->cold > before)
        p->changed = 1;
    return rc;
}

static ak_code age_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard;
    pass *p = ctx;
    ak_err err;
    if (ak_age_stopping(p))
        return AK_ERR_ABORTED;
    p->system_id = sid;
    p->changed = 0;
    ak_syslock *lock = NULL;
    ak_tomb t;
    ak_code rc = ak_syslock_take(p->cfg->data, sid, &lock, &err);
    if (rc == AK_OK && (access(path, F_OK) != 0 ||
                        (ak_tomb_get(p->cfg->data, sid, &t, &err) == AK_OK && !t.done))) {
        ak_syslock_release(lock); /* forgotten since it was listed, or being forgotten */
        return AK_OK;
    }
    if (rc == AK_OK)
        rc = ak_sysdb_open(path, 0, &p->sdb, &err);
    if (rc == AK_OK) {
        rc = retain(p, &err);
        if (rc == AK_OK)
            rc = hot_to_warm(p, &err);
        if (rc == AK_OK && p->cfg->cold)
            rc = ak_age_warm_to_cold(p, &err);
        ak_sysdb_close(p->sdb);
    }
    ak_syslock_release(lock);
    p->stats->systems++;
    if (rc) {
        p->stats->systems_failed++;
        AK_WARN("age", "%s", err.msg);
    }
    if (p->changed && p->cfg->on_changed)
        p->cfg->on_changed(p->cfg->ctx, sid);
    return AK_OK; /* one system's trouble never stops the others */
}

ak_code ak_age_run(const ak_age_config *cfg, ak_age_stats *stats, ak_err *err)
{
    int64_t t0 = ak_time_mono_us();
    memset(stats, 0, sizeof *stats);
    pass p = {.cfg = cfg, .stats = stats};
    p.now = cfg->now_us ? cfg->now_us : ak_time_now_us();
    p.hot_cutoff = p.now - (cfg->hot_days ? cfg->hot_days : AK_AGE_DEFAULT_HOT_DAYS) * DAY_US;
    p.warm_cutoff = p.now - (cfg->warm_days ? cfg->warm_days : AK_AGE_DEFAULT_WARM_DAYS) * DAY_US;
    p.retention_cutoff = ak_retention_cutoff(p.now, cfg->retention_days);
    ak_code rc = ak_datadir_each_system(cfg->data, age_system, &p, err);
    stats->seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    return rc == AK_ERR_ABORTED ? AK_OK : rc;
}
