/*
 * cmd_shard.c - `akosha shard ID`: where a system's data lives.
 */
#include <stdio.h>

#include "cmd/cmd.h"
#include "storage/shard.h"
#include "util/ids.h"
#include "util/jsonw.h"

int ak_cmd_shard(int argc, char **argv)
{
    long long shards = AK_DEFAULT_SHARDS;
    int json = 0;
    const ak_opt opts[] = {
        {"shards", "AKOSHA_SHARDS", AK_OPT_INT, &shards, "N", "number of shards (default 256)", 1, AK_MAX_SHARDS},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {"shard", "SYSTEM_ID [--shards N] [--json]",
                              "Print the shard of a system and its database path relative to the data directory.",
                              opts, 2, 1, 1};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    const char *why;
    if (!ak_id_system_valid(pos[0], &why))
        return ak_opts_usage_error(&spec, "system id \"%.100s\" %s", pos[0], why);
    char rel[AK_SYSTEM_ID_MAX + 32];
    ak_shard_db_relpath(pos[0], (uint32_t)shards, rel, sizeof rel);
    uint32_t shard = ak_shard_of(pos[0], (uint32_t)shards);
    ak_buf b = {0};
    if (json) {
        ak_jw w;
        ak_jw_init(&w, &b);
        ak_jw_obj(&w);
        ak_jw_kstr(&w, "system_id", pos[0]);
        ak_jw_kint(&w, "shard", shard);
        ak_jw_kint(&w, "shards", shards);
        ak_jw_kstr(&w, "path", rel);
        ak_jw_end(&w);
    } else {
        ak_buf_printf(&b, "%u %s", shard, rel);
    }
    rc = ak_cmd_print(&b);
    ak_buf_free(&b);
    return rc;
}
