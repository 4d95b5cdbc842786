/* retention.c - see retention.h. */
#include "tier/retention.h"

#include "storage/coldcat.h"
#include "storage/rollup.h"
#include "util/time.h"

int64_t ak_retention_cutoff(int64_t now_us, int64_t days)
{
    if (days <= 0)
        return 0;
    int64_t t = now_us - days * AK_US_PER_DAY;
    return t - (((t % AK_US_PER_DAY) + AK_US_PER_DAY) % AK_US_PER_DAY);
}

/* An object with rows on both sides of the cut: rewritten without the
 * older ones through trim (dry: counted as if). */
static ak_code straddling(const ak_coldcat_obj *o, int64_t cutoff, int dry,
                          ak_retention_trim_fn trim, void *trim_ctx, ak_retention_stats *st,
                          ak_err *err)
{
    int64_t dropped = dry ? o->expired : 0;
    ak_code rc = AK_OK;
    if (trim && !dry)
        rc = trim(trim_ctx, o->key, cutoff, &dropped, err);
    if (rc == AK_OK && trim && dropped) {
        st->cold += dropped;
        st->cold_rewritten++;
    } else if (rc == AK_OK) {
        st->cold_kept += o->expired;
    }
    return rc;
}

static ak_code drop_cold(ak_sysdb *db, ak_store *cold, int64_t cutoff, int dry,
                         ak_retention_trim_fn trim, void *trim_ctx, ak_retention_stats *st,
                         ak_err *err)
{
    ak_coldcat_obj *objs;
    size_t n;
    ak_code rc = ak_coldcat_expired(db, cutoff, &objs, &n, err);
    for (size_t i = 0; i < n && rc == AK_OK; i++) {
        if (objs[i].expired < objs[i].rows) {
            rc = straddling(&objs[i], cutoff, dry, trim, trim_ctx, st, err);
            continue;
        }
        if (!dry && (rc = ak_store_delete(cold, objs[i].key, err)) == AK_OK)
            rc = ak_coldcat_uncatalog(db, objs[i].key, err);
        if (rc == AK_OK) {
            st->cold += objs[i].rows;
            st->cold_objects++;
        }
    }
    ak_coldcat_objs_free(objs, n);
    return rc;
}

ak_code ak_retention_system(ak_sysdb *db, ak_store *cold, int64_t cutoff_us, int dry_run,
                            ak_retention_trim_fn trim, void *trim_ctx,
                            ak_retention_stats *st, ak_err *err)
{
    ak_code rc = ak_coldcat_expire_tier(db, AK_TIER_HOT, cutoff_us, dry_run, &st->hot, err);
    if (rc == AK_OK)
        rc = ak_coldcat_expire_tier(db, AK_TIER_WARM, cutoff_us, dry_run, &st->warm, err);
    if (rc == AK_OK && cold)
        rc = drop_cold(db, cold, cutoff_us, dry_run, trim, trim_ctx, st, err);
    if (rc == AK_OK && !dry_run) /* the daily series forget them too */
        rc = ak_rollup_expire(db, cutoff_us, err);
    return rc;
}
