/*
 * cmd_uploads.c - `akosha uploads`: the upload ledger of one or all systems.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "storage/sysdb.h"
#include "view/views.h"
#include "util/jsonw.h"
#include "util/time.h"

typedef struct {
    int json;
    ak_jw w;
    ak_buf out;
    const char *system_id;
    int broken;
} listing;

static void row_text(listing *l, const ak_ledger_row *r)
{
    char when[AK_TIME_ISO_MAX] = "-";
    if (r->status == AK_UPLOAD_INGESTED)
        ak_time_format(r->finished_us, when);
    ak_buf_printf(&l->out, "%-24s %-32s %-8s %7lld  %-27s %s\n", l->system_id, r->upload_id,
                  ak_upload_status_name(r->status), (long long)(r->new_count + r->updated),
                  when, r->reason ? r->reason : "");
}

static ak_code on_row(void *ctx, const ak_ledger_row *r)
{
    listing *l = ctx;
    if (l->json)
        ak_view_ledger_row(&l->w, l->system_id, r);
    else
        row_text(l, r);
    return AK_OK;
}

static ak_code list_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard;
    listing *l = ctx;
    ak_sysdb *db;
    ak_err err;
    l->system_id = sid;
    ak_code rc = ak_sysdb_open(path, 0, &db, &err);
    if (rc == AK_OK) {
        rc = ak_sysdb_ledger_each(db, on_row, l, &err);
        ak_sysdb_close(db);
    }
    if (rc) {
        ak_opts_error("uploads", AK_EXIT_FAIL, "system %s: %s", sid, err.msg); /* goes on */
        l->broken = 1;
    }
    return AK_OK;
}

/* --system: a system that has no database here is an error, not an
 * empty table. */
static ak_code one_system(const ak_datadir *dd, const char *sid, listing *l, ak_err *err)
{
    ak_sysdb *db;
    ak_code rc = ak_datadir_open_system(dd, sid, 0, &db, err);
    if (rc == AK_ERR_NOTFOUND)
        return ak_err_set(err, rc, "system %s has no data here", sid);
    if (rc)
        return rc;
    l->system_id = sid;
    rc = ak_sysdb_ledger_each(db, on_row, l, err);
    ak_sysdb_close(db);
    return rc;
}

int ak_cmd_uploads(int argc, char **argv)
{
    const char *data = NULL, *system = NULL;
    int json = 0;
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"system", NULL, AK_OPT_STR, &system, "ID", "only this system", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {"uploads", "--data DIR [--system ID] [--json]",
                              "List the upload ledger: each upload's outcome and reason.",
                              opts, 3, 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    if ((rc = ak_cmd_check_system(&spec, "--system", system)) >= 0)
        return rc;
    ak_datadir *dd = ak_cmd_open_data("uploads", data);
    if (!dd)
        return AK_EXIT_FAIL;
    listing l = {.json = json};
    ak_jw_init(&l.w, &l.out);
    if (json)
        ak_jw_arr(&l.w);
    else
        ak_buf_printf(&l.out, "%-24s %-32s %-8s %7s  %-27s %s\n", "SYSTEM", "UPLOAD", "STATUS",
                      "CONVS", "INGESTED AT", "REASON");
    ak_err err;
    ak_code c = system ? one_system(dd, system, &l, &err)
                       : ak_datadir_each_system(dd, list_system, &l, &err);
    if (json)
        ak_jw_end(&l.w);
    else if (l.out.len)
        l.out.data[--l.out.len] = '\0'; /* ak_cmd_print adds the last newline */
    rc = c ? ak_opts_error("uploads", AK_EXIT_FAIL, "%s", err.msg) : ak_cmd_print(&l.out);
    ak_buf_free(&l.out);
    ak_datadir_close(dd);
    return rc ? rc : l.broken ? AK_EXIT_FAIL : AK_EXIT_OK;
}
