/*
 * cmd_reingest.c - `akosha reingest`: rebuild one system's database from
 * its uploads in the bucket (src/ops/reingest.h).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/report.h"
#include "objstore/objstore.h"
#include "ops/reingest.h"
#include "util/jsonw.h"
#include "util/time.h"

static void print_text(ak_buf *b, const char *sid, const void *result)
{
    const ak_reingest_result *r = result;
    ak_buf_printf(b, "%s: rebuilt from %lld uploads (%lld rejected, %lld failed): "
                     "%lld conversations, all hot until the next aging pass",
                  sid, (long long)r->uploads_ingested, (long long)r->uploads_rejected,
                  (long long)r->uploads_failed, (long long)r->conversations);
    if (r->old_conversations >= 0)
        ak_buf_printf(b, "\nthe old database held %lld", (long long)r->old_conversations);
    else
        ak_buf_printf(b, "\nthe old database: %s", r->old_state);
    if (r->backup[0])
        ak_buf_printf(b, "; kept as %s", r->backup);
}

static void print_json(ak_jw *w, const void *result) { ak_reingest_result_json(w, result); }

static int report(const char *sid, const ak_reingest_result *r, int json)
{
    return ak_cmd_report(sid, r, json, print_json, print_text);
}

int ak_cmd_reingest(int argc, char **argv)
{
    const char *data = NULL, *bucket_url = NULL, *sid = NULL, *now = NULL;
    long long grace = 3600;
    int force = 0, json = 0;
    const ak_opt opts[] = {
        {"system", NULL, AK_OPT_STR_REQUIRED, &sid, "ID", "the system to rebuild", 0, 0},
        AK_OPT_DATA(&data),
        {"bucket", "AKOSHA_BUCKET", AK_OPT_STR_REQUIRED, &bucket_url, "URL", "the bucket its uploads are in", 0, 0},
        {"force", NULL, AK_OPT_FLAG, &force, NULL, "swap even if uploads failed or the old database held more", 0, 0},
        {"grace-seconds", "AKOSHA_GRACE_SECONDS", AK_OPT_INT, &grace, "SECONDS", "as for ingest (default 3600)", 0, 1e9},
        {"now", NULL, AK_OPT_STR, &now, "ISO", "rebuild as if it were this time (default: now)", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {
        "reingest", "--system ID --data DIR --bucket URL [--force] [--json]",
        "Rebuild one system's database from its uploads in the bucket, then swap it in; the old "
        "one is kept beside it as <id>.db.replaced-<time>.  While akosha serve runs on the data "
        "directory, ask it instead: POST /v1/systems/ID/reingest.",
        opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    ak_reingest_config cfg = {.force = force, .grace_us = grace ? grace * AK_US_PER_SEC : 1};
    if ((rc = ak_cmd_check_system(&spec, "--system", sid)) >= 0)
        return rc;
    if (now && !ak_time_parse(now, strlen(now), &cfg.now_us))
        return ak_opts_usage_error(&spec, "--now must be an ISO-8601 time");
    ak_datadir *dd = ak_cmd_open_data("reingest", data);
    ak_store *bucket = NULL;
    ak_err err;
    if (!dd || ak_cmd_lock_data("reingest", dd, 1)) {
        if (dd)
            ak_opts_error("reingest", AK_EXIT_FAIL, "while akosha serve runs, ask it instead: "
                            "curl -X POST http://127.0.0.1:8682/v1/systems/%s/reingest", sid);
        ak_datadir_close(dd);
        return AK_EXIT_FAIL;
    }
    ak_reingest_result r;
    ak_cmd_progress prog;
    ak_cmd_trap_signals();
    cfg.stop = &ak_cmd_stop;
    cfg.data = dd;
    if ((rc = ak_cmd_open_store("reingest", bucket_url, &bucket)) < 0) {
        ak_store_set_shutdown(bucket, &ak_cmd_stop, &ak_cmd_abort);
        cfg.bucket = bucket;
        ak_cmd_progress_init(&prog, "reingest:", "uploads", json);
        cfg.on_progress = ak_cmd_progress_update;
        cfg.progress_ctx = &prog;
        ak_code c = ak_reingest_system(&cfg, sid, &r, &err);
        ak_cmd_progress_end(&prog);
        rc = c ? ak_opts_error("reingest", AK_EXIT_FAIL, "%s", err.msg) : report(sid, &r, json);
    }
    ak_store_close(bucket);
    ak_datadir_close(dd);
    return rc;
}
