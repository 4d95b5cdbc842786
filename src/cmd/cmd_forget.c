/*
 * cmd_forget.c - `akosha forget`: remove one system completely and leave a
 * tombstone (src/ops/forget.h); `--allow-return` lifts the tombstone.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/report.h"
#include "objstore/objstore.h"
#include "ops/forget.h"
#include "storage/tombstone.h"
#include "tier/cold.h"
#include "util/jsonw.h"
#include "util/time.h"

static void print_text(ak_buf *b, const char *sid, const void *result)
{
    const ak_forget_result *r = result;
    const char *verb = r->dry_run ? "would remove" : "removed";
    ak_buf_printf(b, "%s: %s%s %lld conversations (%lld hot, %lld warm, %lld cold) and %lld "
                     "uploads' ledger rows; %lld database files (%.2f MB); %lld cold objects "
                     "(%.2f MB)",
                  sid, r->resumed ? "finished an interrupted forget: " : "", verb,
                  (long long)(r->hot + r->warm + r->cold), (long long)r->hot,
                  (long long)r->warm, (long long)r->cold, (long long)r->uploads,
                  (long long)r->db_files, r->db_bytes / 1e6, (long long)r->cold_objects,
                  r->cold_bytes / 1e6);
    if (r->bucket_objects || !r->dry_run)
        ak_buf_printf(b, "; %lld bucket objects (%.2f MB)", (long long)r->bucket_objects,
                      r->bucket_bytes / 1e6);
    if (r->dry_run) {
        ak_buf_printf(b, "\nnothing was changed (dry run)");
    } else {
        char when[AK_TIME_ISO_MAX];
        ak_time_format(r->tombstone_us, when);
        ak_buf_printf(b, "\ntombstone at %s: uploads made before it are not ingested again "
                         "(akosha forget --allow-return %s lets them back)", when, sid);
    }
}

static void print_json(ak_jw *w, const void *result) { ak_forget_result_json(w, result); }

static int report(const char *sid, const ak_forget_result *r, int json)
{
    return ak_cmd_report(sid, r, json, print_json, print_text);
}

static int allow_return(ak_datadir *dd, const char *sid, int json)
{
    ak_err err;
    ak_tomb t;
    ak_code rc = ak_tomb_get(dd, sid, &t, &err);
    if (rc == AK_OK && !t.done)
        rc = ak_err_set(&err, AK_ERR_INVALID, "forgetting %s did not finish: run akosha forget "
                        "%s first, then allow it back", sid, sid);
    if (rc == AK_OK)
        rc = ak_tomb_remove(dd, sid, &err);
    if (rc == AK_ERR_NOTFOUND)
        ak_err_set(&err, rc, "%s is not forgotten", sid);
    if (rc) {
        ak_opts_error("forget", AK_EXIT_FAIL, "%s", err.msg);
        return AK_EXIT_FAIL;
    }
    ak_buf b = {0};
    if (json)
        ak_buf_printf(&b, "{\"system_id\":\"%s\",\"tombstone\":\"removed\"}", sid);
    else
        ak_buf_printf(&b, "%s: tombstone removed; the next cycle ingests its uploads again", sid);
    int out = ak_cmd_print(&b);
    ak_buf_free(&b);
    return out;
}

int ak_cmd_forget(int argc, char **argv)
{
    const char *data = NULL, *bucket_url = NULL, *cold_url = NULL, *now = NULL;
    int dry = 0, purge = 0, back = 0, json = 0;
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"cold", "AKOSHA_COLD_URL", AK_OPT_STR, &cold_url, "URL", "cold store (default file://DATA/cold)", 0, 0},
        {"bucket", "AKOSHA_BUCKET", AK_OPT_STR, &bucket_url, "URL", "the bucket (needed with --purge-bucket)", 0, 0},
        {"dry-run", NULL, AK_OPT_FLAG, &dry, NULL, "say what would go; change nothing", 0, 0},
        {"purge-bucket", NULL, AK_OPT_FLAG, &purge, NULL, "also delete its uploads from the bucket", 0, 0},
        {"allow-return", NULL, AK_OPT_FLAG, &back, NULL, "remove its tombstone: its uploads are ingested again", 0, 0},
        {"now", NULL, AK_OPT_STR, &now, "ISO", "the tombstone's time (default: now)", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {
        "forget", "--data DIR SYSTEM_ID [--dry-run] [--purge-bucket --bucket URL] [--cold URL] "
        "[--allow-return] [--json]",
        "Remove one system completely: its database (every tier, full-text index, ledger), "
        "its backups, its cold objects, and with --purge-bucket its uploads; leave a tombstone "
        "so uploads made before now are not ingested again.  Safe to run again after a crash.  "
        "While akosha serve runs on the data directory, ask it instead: DELETE /v1/systems/ID.",
        opts, (int)(sizeof opts / sizeof *opts), 1, 1};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    ak_forget_config cfg = {.dry_run = dry, .purge_bucket = purge};
    if (now && !ak_time_parse(now, strlen(now), &cfg.now_us))
        return ak_opts_usage_error(&spec, "--now must be an ISO-8601 time");
    if (back && (dry || purge))
        return ak_opts_usage_error(&spec, "--allow-return goes alone");
    if (purge && !bucket_url)
        return ak_opts_usage_error(&spec, "--purge-bucket needs --bucket URL (or AKOSHA_BUCKET)");
    if ((rc = ak_cmd_check_system(&spec, "SYSTEM_ID", pos[0])) >= 0)
        return rc;
    ak_datadir *dd = ak_cmd_open_data("forget", data);
    if (!dd || ak_cmd_lock_data("forget", dd, !dry)) {
        if (dd)
            ak_opts_error("forget", AK_EXIT_FAIL, "while akosha serve runs, ask it instead: "
                            "curl -X DELETE -H 'Authorization: Bearer ADMIN_TOKEN' "
                            "http://127.0.0.1:8682/v1/systems/%s", pos[0]);
        ak_datadir_close(dd);
        return AK_EXIT_FAIL;
    }
    if (back) {
        rc = allow_return(dd, pos[0], json);
        ak_datadir_close(dd);
        return rc;
    }
    ak_store *cold = NULL, *bucket = NULL;
    ak_forget_result r;
    ak_err err;
    cfg.data = dd;
    rc = ak_cmd_open_cold("forget", dd, cold_url, &cold);
    if (rc < 0 && bucket_url)
        rc = ak_cmd_open_store("forget", bucket_url, &bucket);
    if (rc < 0) {
        cfg.cold = cold;
        cfg.bucket = bucket;
        rc = ak_forget_system(&cfg, pos[0], &r, &err)
                 ? ak_opts_error("forget", AK_EXIT_FAIL, "%s", err.msg)
                 : report(pos[0], &r, json);
    }
    ak_store_close(bucket);
    ak_store_close(cold);
    ak_datadir_close(dd);
    return rc;
}
