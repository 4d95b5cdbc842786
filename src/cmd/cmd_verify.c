/*
 * cmd_verify.c - `akosha verify`: check every system database and the cold
 * catalog (src/ops/verify.h); exit 1 with a report when anything is wrong.
 */
#include <stdio.h>

#include "cmd/cmd.h"
#include "ops/verify.h"
#include "storage/sysdb.h"
#include "util/jsonw.h"

typedef struct {
    int json;
    ak_jw w;       /* JSON: the "problems" array being written */
    ak_buf *text;  /* text: one line per problem */
    ak_buf notes;  /* notices: JSON, the "notices" array; text, one line each */
    ak_jw nw;
} out_ctx;

static void problem_json(ak_jw *w, const ak_verify_problem *p)
{
    ak_jw_obj(w);
    ak_jw_kstr(w, "system_id", p->system_id);
    ak_jw_kstr(w, "path", p->path);
    ak_jw_kstr(w, "check", p->check);
    ak_jw_kstr(w, "message", p->message);
    ak_jw_end(w);
}

static void on_problem(void *ctx, const ak_verify_problem *p)
{
    out_ctx *o = ctx;
    if (o->json)
        problem_json(p->notice ? &o->nw : &o->w, p);
    else
        ak_buf_printf(p->notice ? &o->notes : o->text, "%s%s: %s: %s (%s)\n",
                      p->notice ? "notice: " : "", p->system_id, p->check, p->message, p->path);
}

static void summary_json(out_ctx *o, const ak_verify_stats *s, int deep)
{
    ak_jw *w = &o->w;
    ak_jw_end(w); /* problems */
    ak_jw_end(&o->nw);
    ak_jw_key(w, "notices");
    ak_jw_raw(w, o->notes.data, o->notes.len);
    ak_jw_kbool(w, "ok", s->problems == 0);
    ak_jw_kbool(w, "deep", deep);
    ak_jw_kint(w, "schema_version", ak_sysdb_schema_version());
    ak_jw_kint(w, "systems", s->systems);
    ak_jw_kint(w, "systems_bad", s->systems_bad);
    ak_jw_kint(w, "cold_objects", s->cold_objects);
    ak_jw_kint(w, "cold_conversations", s->cold_rows);
    ak_jw_kint(w, "cold_leftovers", s->cold_leftovers);
    ak_jw_kint(w, "push_unshipped", s->push_unshipped);
    ak_jw_kint(w, "cold_temps", s->cold_temps);
    ak_jw_kdouble(w, "seconds", s->seconds);
    ak_jw_end(w);
}

static void summary_text(ak_buf *b, const ak_verify_stats *s, int deep)
{
    ak_buf_printf(b, "%s: %lld systems checked%s, %lld with problems; %lld cold objects "
                     "(%lld conversations) %s; %.2f s",
                  s->problems ? "PROBLEMS" : "ok", (long long)s->systems,
                  deep ? " in depth" : "", (long long)s->systems_bad,
                  (long long)s->cold_objects, (long long)s->cold_rows,
                  deep ? "read back" : "present", s->seconds);
    if (s->cold_leftovers)
        ak_buf_printf(b, "\n%lld cold objects are leftovers of a rebuild (notices above)",
                      (long long)s->cold_leftovers);
    if (s->push_unshipped)
        ak_buf_printf(b, "\n%lld pushed batches are not yet in the bucket (notices above)",
                      (long long)s->push_unshipped);
    if (s->cold_temps)
        ak_buf_printf(b, "\n%lld temp files of interrupted exports are in the cold store "
                         "(notices above; the next aging pass removes them)",
                      (long long)s->cold_temps);
    if (s->problems)
        ak_buf_printf(b, "\nrepair a damaged system with: akosha reingest --system ID "
                         "(docs/runbooks/hot-store-failure.md)");
}

static int report(out_ctx *o, ak_buf *b, const ak_verify_stats *st, int deep)
{
    if (o->json) {
        summary_json(o, st, deep);
    } else {
        ak_buf_append(b, o->notes.data, o->notes.len);
        summary_text(b, st, deep);
    }
    int rc = ak_cmd_print(b);
    return rc == AK_EXIT_OK && st->problems ? AK_EXIT_FAIL : rc;
}

int ak_cmd_verify(int argc, char **argv)
{
    const char *data = NULL, *cold_url = NULL, *sid = NULL;
    int deep = 0, json = 0, no_cold = 0;
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"cold", "AKOSHA_COLD_URL", AK_OPT_STR, &cold_url, "URL", "cold store (default file://DATA/cold)", 0, 0},
        {"system", NULL, AK_OPT_STR, &sid, "ID", "check this system only", 0, 0},
        {"deep", NULL, AK_OPT_FLAG, &deep, NULL, "full integrity check; read every cold object back", 0, 0},
        {"no-cold", NULL, AK_OPT_FLAG, &no_cold, NULL, "skip the cold catalog", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {
        "verify", "--data DIR [--cold URL] [--system ID] [--deep] [--no-cold] [--json]",
        "Check every system database (SQLite integrity, full-text indexes, schema, tiers, "
        "ledger, vectors) and the cold catalog.  Exit 0 when all is well, 1 with a report of "
        "each problem.  Changes nothing.",
        opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0 || (rc = ak_cmd_check_system(&spec, "--system", sid)) >= 0)
        return rc;
    ak_datadir *dd = ak_cmd_open_data("verify", data);
    if (!dd)
        return AK_EXIT_FAIL;
    ak_err err;
    ak_store *cold = NULL;
    ak_buf b = {0};
    out_ctx o = {.json = json, .text = &b};
    ak_verify_stats st;
    if (json) {
        ak_jw_init(&o.w, &b);
        ak_jw_obj(&o.w);
        ak_jw_key(&o.w, "problems");
        ak_jw_arr(&o.w);
        ak_jw_init(&o.nw, &o.notes);
        ak_jw_arr(&o.nw);
    }
    ak_verify_config cfg = {.data = dd, .system_id = sid, .deep = deep};
    ak_cmd_progress prog;
    if (no_cold || (rc = ak_cmd_open_cold("verify", dd, cold_url, &cold)) < 0) {
        ak_cmd_progress_init(&prog, "verify:", "systems", json || !deep);
        ak_datadir_set_progress(dd, ak_cmd_progress_update, &prog);
        cfg.cold = cold;
        ak_code c = ak_verify_run(&cfg, on_problem, &o, &st, &err);
        ak_cmd_progress_end(&prog);
        rc = c ? ak_opts_error("verify", AK_EXIT_FAIL, "%s", err.msg) : report(&o, &b, &st, deep);
    }
    ak_buf_free(&b);
    ak_buf_free(&o.notes);
    ak_store_close(cold);
    ak_datadir_close(dd);
    return rc;
}
