/*
 * cmd_age.c - `akosha age`: one aging pass, hot -> warm -> cold.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "tier/age.h"
#include "util/jsonw.h"
#include "util/time.h"

static void move_json(ak_jw *w, const char *key, const ak_age_move *m)
{
    ak_jw_key(w, key);
    ak_jw_obj(w);
    ak_jw_kint(w, "conversations", m->rows);
    ak_jw_kint(w, "bytes_before", m->bytes_before);
    ak_jw_kint(w, "bytes_after", m->bytes_after);
    ak_jw_end(w);
}

/* The cold store's requests during the pass, by operation. */
static void requests_json(ak_jw *w, const ak_store_stats *before, const ak_store_stats *after)
{
    ak_jw_key(w, "cold_requests");
    ak_jw_obj(w);
    for (int op = 0; op < AK_STORE_N_OPS; op++)
        ak_jw_kint(w, ak_store_op_name((ak_store_op)op),
                   (int64_t)(after->ok[op] + after->failed[op] - before->ok[op] - before->failed[op]));
    ak_jw_end(w);
}

static void stats_json(ak_buf *b, const ak_age_stats *s, int64_t now, int dry,
                       int64_t retention_days, const ak_store_stats *before,
                       const ak_store_stats *after)
{
    ak_jw w;
    ak_jw_init(&w, b);
    ak_jw_obj(&w);
    ak_jw_key(&w, "now");
    ak_jw_time(&w, now);
    ak_jw_kbool(&w, "dry_run", dry);
    ak_jw_kint(&w, "systems", s->systems);
    ak_jw_kint(&w, "systems_failed", s->systems_failed);
    move_json(&w, "hot_to_warm", &s->hot_to_warm);
    move_json(&w, "warm_to_cold", &s->warm_to_cold);
    ak_jw_kint(&w, "cold_objects", s->cold_objects);
    ak_jw_kint(&w, "cold_objects_merged", s->cold_merged);
    ak_jw_kint(&w, "cold_objects_deleted", s->cold_deleted);
    requests_json(&w, before, after);
    ak_jw_kint(&w, "cold_failures", s->cold_failures);
    ak_jw_kint(&w, "cold_temps_removed", s->cold_temps_removed);
    ak_jw_key(&w, "retention");
    if (retention_days) {
        const ak_retention_stats *d = &s->dropped;
        ak_jw_obj(&w);
        ak_jw_kint(&w, "days", retention_days);
        ak_jw_key(&w, "cutoff");
        ak_jw_time(&w, ak_retention_cutoff(now, retention_days));
        ak_jw_kint(&w, "hot", d->hot);
        ak_jw_kint(&w, "warm", d->warm);
        ak_jw_kint(&w, "cold", d->cold);
        ak_jw_kint(&w, "cold_objects", d->cold_objects);
        ak_jw_kint(&w, "cold_rewritten", d->cold_rewritten);
        ak_jw_kint(&w, "cold_kept", d->cold_kept);
        ak_jw_end(&w);
    } else {
        ak_jw_null(&w);
    }
    ak_jw_kdouble(&w, "seconds", s->seconds);
    ak_jw_end(&w);
}

static void stats_text(ak_buf *b, const ak_age_stats *s, int dry)
{
    const ak_age_move *h = &s->hot_to_warm, *c = &s->warm_to_cold;
    ak_buf_printf(b, "%shot -> warm: %lld conversations, %.2f MB -> %.2f MB\n"
                     "%swarm -> cold: %lld conversations, %.2f MB -> %.2f MB in %lld objects"
                     " (%lld smaller ones merged into them)\n"
                     "%lld systems (%lld failed), %lld cold uploads failed, %.2f s",
                  dry ? "would move " : "", (long long)h->rows, h->bytes_before / 1e6,
                  h->bytes_after / 1e6, dry ? "would move " : "", (long long)c->rows,
                  c->bytes_before / 1e6, c->bytes_after / 1e6, (long long)s->cold_objects,
                  (long long)s->cold_merged,
                  (long long)s->systems, (long long)s->systems_failed,
                  (long long)s->cold_failures, s->seconds);
    const ak_retention_stats *d = &s->dropped;
    if (d->hot + d->warm + d->cold + d->cold_kept)
        ak_buf_printf(b, "\nretention: %s %lld hot, %lld warm, %lld cold conversations "
                         "(%lld cold objects deleted, %lld rewritten)%s",
                      dry ? "would drop" : "dropped", (long long)d->hot, (long long)d->warm,
                      (long long)d->cold, (long long)d->cold_objects, (long long)d->cold_rewritten,
                      d->cold_kept ? "; some kept in objects holding newer ones" : "");
}

int ak_cmd_age(int argc, char **argv)
{
    const char *data = NULL, *cold_url = NULL, *now = NULL;
    long long hot_days = AK_AGE_DEFAULT_HOT_DAYS, warm_days = AK_AGE_DEFAULT_WARM_DAYS;
    long long retention = 0;
    int json = 0, dry = 0;
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"cold", "AKOSHA_COLD_URL", AK_OPT_STR, &cold_url, "URL", "cold store (default file://DATA/cold)", 0, 0},
        {"now", NULL, AK_OPT_STR, &now, "ISO", "age as if it were this time (default: now)", 0, 0},
        {"hot-days", "AKOSHA_HOT_DAYS", AK_OPT_INT, &hot_days, "N", "hot rows older than this go warm (default 7)", 1, 36500},
        {"warm-days", "AKOSHA_WARM_DAYS", AK_OPT_INT, &warm_days, "N", "warm rows older than this go cold (default 90)", 1, 36500},
        {"retention-days", "AKOSHA_RETENTION_DAYS", AK_OPT_INT, &retention, "N", "drop conversations older than this from every tier (default 0: keep all)", 0, 365000},
        {"dry-run", NULL, AK_OPT_FLAG, &dry, NULL, "count what would move; change nothing", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {"age", "--data DIR [--cold URL] [--now ISO] [--hot-days N] [--warm-days N] [--dry-run] [--json]",
                              "Move conversations hot -> warm -> cold by age, never losing one.",
                              opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    ak_age_config cfg = {.hot_days = hot_days, .warm_days = warm_days, .dry_run = dry,
                         .retention_days = retention};
    if (now && !ak_time_parse(now, strlen(now), &cfg.now_us))
        return ak_opts_usage_error(&spec, "--now must be an ISO-8601 time");
    if (warm_days < hot_days)
        return ak_opts_usage_error(&spec, "--warm-days (%lld) is less than --hot-days (%lld)",
                                   warm_days, hot_days);
    ak_datadir *dd = ak_cmd_open_data("age", data);
    if (!dd || ak_cmd_lock_data("age", dd, 0)) {
        ak_datadir_close(dd);
        return AK_EXIT_FAIL;
    }
    ak_err err;
    ak_store *cold = NULL;
    ak_age_stats s;
    ak_store_stats before, after;
    ak_cmd_progress prog;
    cfg.data = dd;
    ak_cmd_trap_signals();
    cfg.stop = &ak_cmd_stop;
    if ((rc = ak_cmd_open_cold("age", dd, cold_url, &cold)) >= 0) {
        ak_datadir_close(dd);
        return rc;
    }
    ak_store_set_shutdown(cold, &ak_cmd_stop, &ak_cmd_abort);
    cfg.cold = cold;
    ak_store_stats_get(cold, &before);
    ak_cmd_progress_init(&prog, "age:", "systems", json);
    ak_datadir_set_progress(dd, ak_cmd_progress_update, &prog);
    ak_code c = ak_age_run(&cfg, &s, &err);
    ak_cmd_progress_end(&prog);
    if (c) {
        rc = ak_opts_error("age", AK_EXIT_FAIL, "%s", err.msg);
    } else {
        ak_buf b = {0};
        ak_store_stats_get(cold, &after);
        if (json)
            stats_json(&b, &s, cfg.now_us ? cfg.now_us : ak_time_now_us(), dry, retention, &before,
                       &after);
        else
            stats_text(&b, &s, dry);
        rc = ak_cmd_print(&b);
        ak_buf_free(&b);
        if (rc == AK_EXIT_OK && (s.systems_failed || s.cold_failures))
            rc = ak_opts_error("age", AK_EXIT_FAIL, "%lld systems failed and %lld cold uploads "
                               "failed; their rows stay where they were and the next pass retries",
                               (long long)s.systems_failed, (long long)s.cold_failures);
    }
    ak_store_close(cold);
    ak_datadir_close(dd);
    return rc;
}
