/*
 * cmd_prune.c - `akosha prune-bucket`: delete ingested snapshot uploads
 * that newer ones make redundant, keeping the newest N per system
 * (src/ops/prune.h).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "objstore/objstore.h"
#include "ops/prune.h"
#include "util/jsonw.h"

static int report(const ak_prune_stats *s, int json)
{
    ak_buf b = {0};
    if (json) {
        ak_jw w;
        ak_jw_init(&w, &b);
        ak_jw_obj(&w);
        ak_prune_stats_json(&w, s);
        ak_jw_end(&w);
    } else {
        ak_buf_printf(&b, "%s %lld uploads (%lld objects, %.2f MB reclaimed); kept %lld newest "
                          "and %lld older that are the latest source of a stored memory; "
                          "%lld interrupted deletes finished; %lld systems (%lld failed)",
                      s->dry_run ? "would prune" : "pruned", (long long)s->uploads_pruned,
                      (long long)s->objects, s->bytes / 1e6, (long long)s->uploads_kept,
                      (long long)s->uploads_pinned, (long long)s->uploads_resumed,
                      (long long)s->systems, (long long)s->systems_failed);
        if (s->dry_run)
            ak_buf_printf(&b, "\nnothing was changed (dry run)");
    }
    int rc = ak_cmd_print(&b);
    ak_buf_free(&b);
    return rc;
}

int ak_cmd_prune_bucket(int argc, char **argv)
{
    const char *data = NULL, *bucket_url = NULL, *system = NULL;
    long long keep = 0;
    int dry = 0, json = 0;
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"bucket", "AKOSHA_BUCKET", AK_OPT_STR, &bucket_url, "URL", "the bucket (required)", 0, 0},
        {"keep", "AKOSHA_BUCKET_KEEP_SNAPSHOTS", AK_OPT_INT, &keep, "N", "ingested uploads kept per system, newest first (required; 0 = off)", 0, 1000000},
        {"system", NULL, AK_OPT_STR, &system, "ID", "only this system", 0, 0},
        {"dry-run", NULL, AK_OPT_FLAG, &dry, NULL, "say what would go; change nothing", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {
        "prune-bucket", "--data DIR --bucket URL --keep N [--system ID] [--dry-run] [--json]",
        "Delete ingested uploads from the bucket once newer ones of the same system are "
        "ingested, keeping the newest N per system and every older one that is the latest "
        "source of a stored memory (so reingest rebuilds the same memories).  Uploads not yet "
        "ingested are never touched.  Safe to run again after a crash.",
        opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    if (!bucket_url || !*bucket_url)
        return ak_opts_usage_error(&spec, "--bucket URL (or AKOSHA_BUCKET) is required");
    if (keep < 1)
        return ak_opts_usage_error(&spec, "pruning is off: give --keep N (or "
                                          "AKOSHA_BUCKET_KEEP_SNAPSHOTS) of at least 1");
    ak_datadir *dd = ak_cmd_open_data("prune-bucket", data);
    if (!dd || ak_cmd_lock_data("prune-bucket", dd, 0)) {
        ak_datadir_close(dd);
        return AK_EXIT_FAIL;
    }
    ak_store *bucket = NULL;
    ak_prune_stats st;
    ak_err err;
    ak_prune_config cfg = {.data = dd, .keep = keep, .dry_run = dry, .system_id = system};
    if (ak_store_open(bucket_url, &bucket, &err) ||
        (cfg.bucket = bucket, ak_prune_bucket(&cfg, &st, &err))) {
        fprintf(stderr, "akosha prune-bucket: %s\n", err.msg);
        rc = AK_EXIT_FAIL;
    } else {
        rc = report(&st, json);
        if (rc == AK_EXIT_OK && st.systems_failed)
            rc = AK_EXIT_FAIL;
    }
    ak_store_close(bucket);
    ak_datadir_close(dd);
    return rc;
}
