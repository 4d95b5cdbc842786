/*
 * cmd_stats.c - `akosha stats`: systems, conversations per tier, uploads.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "ingest/outbox.h"
#include "storage/sysdb.h"
#include "storage/vecfill.h"
#include "util/jsonw.h"

typedef struct {
    int64_t systems, hot, warm, cold, ingested, rejected, failed, shards_nonempty;
    int64_t last_shard;
    int64_t unshipped; /* pushed batches in <data>/outbox, in no bucket yet */
    int64_t novec[3]; /* rows without a vector, by ak_tier */
    int broken;
} totals;

/* Pushed batches no bucket holds yet: of those the data directory is the
 * only copy (all of them in a push-only deployment). */
static int64_t unshipped(const ak_datadir *dd)
{
    ak_store *ob = NULL;
    ak_err err;
    int64_t n = 0;
    if (ak_outbox_open_existing(dd, &ob, &err) == AK_OK && ob &&
        ak_outbox_count(ob, NULL, &n, &err) != AK_OK)
        ak_opts_error("stats", AK_EXIT_FAIL, "the push outbox: %s", err.msg);
    ak_store_close(ob);
    return n;
}

static ak_code add_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    totals *t = ctx;
    ak_sysdb *db;
    ak_sysdb_counts c;
    ak_err err;
    ak_code rc = ak_sysdb_open(path, 0, &db, &err);
    if (rc == AK_OK) {
        rc = ak_sysdb_counts_get(db, &c, &err);
        int64_t missing[3];
        if (rc == AK_OK && (rc = ak_vecfill_missing(db, missing, &err)) == AK_OK)
            for (int k = 0; k < 3; k++)
                t->novec[k] += missing[k];
        ak_sysdb_close(db);
    }
    if (rc) {
        ak_opts_error("stats", AK_EXIT_FAIL, "system %s: %s", sid, err.msg);
        t->broken = 1;
        return AK_OK; /* count the rest */
    }
    t->systems++;
    t->hot += c.hot;
    t->warm += c.warm;
    t->cold += c.cold;
    t->ingested += c.ingested;
    t->rejected += c.rejected;
    t->failed += c.failed;
    if ((int64_t)shard != t->last_shard)
        t->shards_nonempty++;
    t->last_shard = shard;
    return AK_OK;
}

static void write_json(ak_buf *b, const totals *t)
{
    ak_jw w;
    ak_jw_init(&w, b);
    ak_jw_obj(&w);
    ak_jw_kint(&w, "systems", t->systems);
    ak_jw_kint(&w, "hot", t->hot);
    ak_jw_kint(&w, "warm", t->warm);
    ak_jw_kint(&w, "cold", t->cold);
    ak_jw_key(&w, "uploads");
    ak_jw_obj(&w);
    ak_jw_kint(&w, "ingested", t->ingested);
    ak_jw_kint(&w, "rejected", t->rejected);
    ak_jw_kint(&w, "failed", t->failed);
    ak_jw_end(&w);
    ak_jw_kint(&w, "shards_nonempty", t->shards_nonempty);
    ak_jw_kint(&w, "push_unshipped", t->unshipped);
    ak_jw_key(&w, "without_vector");
    ak_jw_obj(&w);
    for (int k = AK_TIER_HOT; k <= AK_TIER_COLD; k++)
        ak_jw_kint(&w, ak_tier_name((ak_tier)k), t->novec[k]);
    ak_jw_end(&w);
    ak_jw_end(&w);
}

int ak_cmd_stats(int argc, char **argv)
{
    const char *data = NULL;
    int json = 0;
    const ak_opt opts[] = {AK_OPT_DATA(&data), AK_OPT_JSON(&json)};
    const ak_cmd_spec spec = {"stats", "--data DIR [--json]",
                              "Count systems, conversations in each tier, and uploads by outcome.",
                              opts, 2, 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    ak_datadir *dd = ak_cmd_open_data("stats", data);
    if (!dd)
        return AK_EXIT_FAIL;
    totals t = {.last_shard = -1};
    ak_err err;
    if (ak_datadir_each_system(dd, add_system, &t, &err)) {
        ak_opts_error("stats", AK_EXIT_FAIL, "%s", err.msg);
        ak_datadir_close(dd);
        return AK_EXIT_FAIL;
    }
    t.unshipped = unshipped(dd);
    ak_buf b = {0};
    if (json)
        write_json(&b, &t);
    else {
        ak_buf_printf(&b,
                      "systems          %lld (on %lld of %u shards)\n"
                      "conversations    %lld hot, %lld warm, %lld cold\n"
                      "uploads          %lld ingested, %lld rejected, %lld failed\n"
                      "without a vector %lld hot, %lld warm, %lld cold (akosha embed --missing)",
                      (long long)t.systems, (long long)t.shards_nonempty,
                      ak_datadir_shards(dd), (long long)t.hot, (long long)t.warm,
                      (long long)t.cold, (long long)t.ingested, (long long)t.rejected,
                      (long long)t.failed, (long long)t.novec[AK_TIER_HOT], (long long)t.novec[AK_TIER_WARM],
                      (long long)t.novec[AK_TIER_COLD]);
        if (t.unshipped)
            ak_buf_printf(&b, "\npushed           %lld batches in no bucket yet: the data "
                              "directory is their only copy (%s/outbox)",
                          (long long)t.unshipped, ak_datadir_path(dd));
    }
    rc = ak_cmd_print(&b);
    ak_buf_free(&b);
    ak_datadir_close(dd);
    return rc ? rc : t.broken ? AK_EXIT_FAIL : AK_EXIT_OK;
}
