/*
 * cmd_embed.c - `akosha embed --missing`: give a vector to every stored
 * memory that arrived without one, through the configured embedding
 * provider (embed/backfill.h).  `akosha serve` does the same in the
 * background after each ingestion cycle; this is the on-demand pass.
 */
#include <stdio.h>

#include "cmd/cmd.h"
#include "embed/backfill.h"
#include "util/jsonw.h"

static void report(const ak_backfill_stats *st, int json, ak_buf *b)
{
    if (!json) {
        ak_buf_printf(b, "%lld embedded, %lld failed, %lld hot, %lld warm and %lld cold still "
                      "without a vector, %lld systems changed in %.2f s (%.0f embeddings/s)%s%s",
                      (long long)st->embedded, (long long)st->failed,
                      (long long)st->missing[AK_TIER_HOT], (long long)st->missing[AK_TIER_WARM],
                      (long long)st->missing[AK_TIER_COLD], (long long)st->systems_changed,
                      st->seconds,
                      st->seconds > 0 ? (double)st->embedded / st->seconds : 0.0,
                      st->error[0] ? "\nprovider: " : "", st->error);
        return;
    }
    ak_jw w;
    ak_jw_init(&w, b);
    ak_jw_obj(&w);
    ak_jw_kint(&w, "embedded", st->embedded);
    ak_jw_kint(&w, "failed", st->failed);
    ak_jw_kint(&w, "remaining", st->remaining);
    ak_jw_key(&w, "without_vector");
    ak_jw_obj(&w);
    for (int t = AK_TIER_HOT; t <= AK_TIER_COLD; t++)
        ak_jw_kint(&w, ak_tier_name((ak_tier)t), st->missing[t]);
    ak_jw_end(&w);
    ak_jw_kint(&w, "systems_changed", st->systems_changed);
    ak_jw_kdouble(&w, "seconds", st->seconds);
    ak_jw_key(&w, "error");
    if (st->error[0])
        ak_jw_str(&w, st->error);
    else
        ak_jw_null(&w);
    ak_jw_end(&w);
}

int ak_cmd_embed(int argc, char **argv)
{
    const char *data = NULL, *system = NULL;
    long long batch = AK_BACKFILL_DEFAULT_BATCH, concurrency = AK_BACKFILL_DEFAULT_CONCURRENCY;
    int missing = 0, json = 0;
    ak_embed_config ec;
    ak_embed_config_init(&ec);
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"missing", NULL, AK_OPT_FLAG, &missing, NULL, "embed the memories stored without a vector", 0, 0},
        {"system", NULL, AK_OPT_STR, &system, "ID", "only this system", 0, 0},
        {"batch", "AKOSHA_EMBED_BATCH", AK_OPT_INT, &batch, "N", "texts per provider request (1-64, default 32)", 1, AK_EMBED_BATCH_MAX},
        {"concurrency", "AKOSHA_EMBED_CONCURRENCY", AK_OPT_INT, &concurrency, "N", "systems embedded at once (default 2)", 1, 64},
        AK_OPT_JSON(&json),
        AK_OPT_EMBED(&ec),
    };
    const ak_cmd_spec spec = {"embed", "--data DIR --missing [--system ID] [--batch N] [--embed-url URL ...] [--json]",
                              "Embed the stored memories that have no vector, through the embedding provider.",
                              opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    if (!missing)
        return ak_opts_usage_error(&spec, "say what to embed: --missing");
    if ((rc = ak_cmd_check_system(&spec, "--system", system)) >= 0)
        return rc;
    ak_embed *embed = NULL;
    if (ak_cmd_open_embed("embed", &ec, &embed))
        return AK_EXIT_USAGE;
    if (!embed)
        return ak_opts_usage_error(&spec, "no embedding provider configured: give --embed-url "
                                          "or AKOSHA_EMBED_URL");
    ak_datadir *dd = ak_cmd_open_data("embed", data);
    if (!dd || ak_cmd_lock_data("embed", dd, 0)) {
        ak_datadir_close(dd);
        ak_embed_free(embed);
        return AK_EXIT_FAIL;
    }
    ak_cmd_trap_signals();
    ak_cmd_progress prog;
    ak_cmd_progress_init(&prog, "embed:", "systems", json);
    ak_backfill_config c = {.dd = dd, .embed = embed, .system_id = system,
                            .concurrency = (unsigned)concurrency, .batch = (unsigned)batch,
                            .stop = &ak_cmd_stop, .on_progress = ak_cmd_progress_update,
                            .progress_ctx = &prog};
    ak_backfill_stats st;
    ak_err err;
    ak_code c1 = ak_backfill_run(&c, &st, &err);
    ak_cmd_progress_end(&prog);
    if (c1) {
        rc = ak_opts_error("embed", err.code == AK_ERR_INVALID ? AK_EXIT_USAGE : AK_EXIT_FAIL,
                           "%s", err.msg);
    } else {
        ak_buf b = {0};
        report(&st, json, &b);
        rc = ak_cmd_print(&b);
        ak_buf_free(&b);
        if (rc == AK_EXIT_OK && st.error[0] && st.embedded == 0 && st.remaining > 0)
            rc = AK_EXIT_FAIL; /* nothing could be done: say so in the status too */
    }
    ak_datadir_close(dd);
    ak_embed_free(embed);
    return rc;
}
