/*
 * cmd_get.c - `akosha get SYSTEM_ID CONVERSATION_ID`: one conversation,
 * from whichever tier holds it.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "storage/sysdb.h"
#include "view/views.h"
#include "tier/cold.h"
#include "util/jsonw.h"
#include "util/time.h"

static void conv_text(ak_buf *b, const char *sid, const ak_conv *c)
{
    char when[AK_TIME_ISO_MAX];
    ak_time_format(c->ts_us, when);
    ak_buf_printf(b, "system        %s\nconversation  %s\ntier          %s\ntimestamp     %s\n"
                     "source        %s\nupload        %s\nsha256        %s\nmetadata      %s\n",
                  sid, c->conversation_id, ak_tier_name(c->tier), when, c->source ? c->source : "-",
                  c->upload_id ? c->upload_id : "-", c->content_sha256,
                  c->metadata ? c->metadata : "-");
    if (c->object_key)
        ak_buf_printf(b, "object        %s\n", c->object_key);
    ak_buf_printf(b, "\n%s", c->content ? c->content : c->summary ? c->summary : "");
}

int ak_cmd_get(int argc, char **argv)
{
    const char *data = NULL, *cold_url = NULL;
    int json = 0;
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"cold", "AKOSHA_COLD_URL", AK_OPT_STR, &cold_url, "URL", "cold store (default file://DATA/cold)", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {"get", "--data DIR SYSTEM_ID CONVERSATION_ID [--cold URL] [--json]",
                              "Show one conversation from whichever tier holds it.", opts, 3, 2, 2};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0 || (rc = ak_cmd_check_system(&spec, "SYSTEM_ID", pos[0])) >= 0)
        return rc;
    ak_datadir *dd = ak_cmd_open_data("get", data);
    if (!dd)
        return AK_EXIT_FAIL;
    ak_sysdb *db = NULL;
    ak_conv c = {0};
    ak_err err;
    ak_code c1 = ak_datadir_open_system(dd, pos[0], 0, &db, &err);
    if (c1 == AK_ERR_NOTFOUND)
        ak_err_set(&err, AK_ERR_NOTFOUND, "system %s has no data here", pos[0]);
    if (c1 == AK_OK)
        c1 = ak_sysdb_get_conv(db, pos[1], &c, &err);
    if (c1 == AK_ERR_NOTFOUND && db)
        ak_err_set(&err, AK_ERR_NOTFOUND, "system %s has no conversation %.256s", pos[0], pos[1]);
    ak_store *cold = NULL;
    if (c1 == AK_OK && c.tier == AK_TIER_COLD &&
        (c1 = ak_cold_open(dd, cold_url, &cold, &err)) == AK_OK)
        c1 = ak_cold_read(cold, &c, &err);
    ak_store_close(cold);
    if (c1) {
        rc = ak_opts_error("get", c1 == AK_ERR_INVALID ? AK_EXIT_USAGE : AK_EXIT_FAIL, "%s",
                           err.msg);
    } else {
        ak_buf b = {0};
        ak_jw w;
        ak_jw_init(&w, &b);
        if (json)
            ak_view_conversation(&w, pos[0], &c);
        else
            conv_text(&b, pos[0], &c);
        rc = ak_cmd_print(&b);
        ak_buf_free(&b);
    }
    ak_conv_free(&c);
    ak_sysdb_close(db);
    ak_datadir_close(dd);
    return rc;
}
