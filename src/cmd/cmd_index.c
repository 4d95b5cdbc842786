/*
 * cmd_index.c - `akosha index`: bring the data directory's vector index
 * (query/vindex.h) in step with the databases now, and save it, so the next
 * `akosha serve` or `akosha search` finds every system already in it.
 * `akosha serve` does the same in the background; this is for after a bulk
 * `akosha ingest`, and for measuring.  --check only reads the file.
 */
#include <stdio.h>

#include "cmd/cmd.h"
#include "query/indexer.h"
#include "query/vindex.h"
#include "util/jsonw.h"
#include "util/time.h"

static void print_stats(const ak_vindex_stats *st, double secs, int json)
{
    ak_buf b = {0};
    if (json) {
        ak_jw w;
        ak_jw_init(&w, &b);
        ak_jw_obj(&w);
        ak_jw_kint(&w, "nodes", (long long)st->nodes);
        ak_jw_kint(&w, "deleted", (long long)st->deleted);
        ak_jw_kint(&w, "added", (long long)st->added);
        ak_jw_kint(&w, "systems_bound", (long long)st->bound_systems);
        ak_jw_kint(&w, "bytes", (long long)st->bytes);
        ak_jw_kdouble(&w, "seconds", secs);
        ak_jw_end(&w);
    } else {
        ak_buf_printf(&b, "vector index: %llu nodes (%llu deleted, %llu added now), %llu systems "
                          "bound, %.1f MiB; %.2f s",
                      (unsigned long long)st->nodes, (unsigned long long)st->deleted,
                      (unsigned long long)st->added, (unsigned long long)st->bound_systems,
                      (double)st->bytes / 1048576.0, secs);
    }
    ak_cmd_print(&b);
    ak_buf_free(&b);
}

static int check(ak_datadir *dd)
{
    char path[AK_PATH_MAX];
    ak_err err;
    ak_fmt(path, sizeof path, "%s/%s", ak_datadir_path(dd), AK_VINDEX_FILE);
    ak_code rc = ak_vindex_check(path, &err);
    if (rc == AK_OK)
        printf("ok: %s\n", path);
    else
        fprintf(stderr, "akosha index: %s\n", err.msg);
    return rc ? AK_EXIT_FAIL : AK_EXIT_OK;
}

static int build(ak_datadir *dd, int json)
{
    ak_err err;
    ak_pool *pool = NULL;
    ak_index *idx = NULL;
    ak_vindex *v = NULL;
    int64_t t0 = ak_time_mono_us();
    ak_cmd_trap_signals();
    ak_code rc = ak_pool_new(0, &pool, &err);
    if (rc == AK_OK)
        rc = ak_index_new(dd, &idx, &err);
    if (rc == AK_OK) {
        ak_index_set_segfiles(idx, AK_SEGFILES_READ); /* akosha serve writes them */
        rc = ak_index_load_all(idx, pool, &err);
    }
    if (rc == AK_OK)
        rc = ak_vindex_open_in(dd, 0, &v, &err);
    if (rc == AK_OK)
        rc = ak_indexer_sync_all(idx, v, 1, &ak_cmd_stop, &err);
    if (rc == AK_OK)
        rc = ak_vindex_save(v, &err);
    if (rc == AK_OK) {
        ak_vindex_stats st;
        ak_vindex_stats_get(v, &st);
        print_stats(&st, (double)(ak_time_mono_us() - t0) / 1e6, json);
    } else {
        fprintf(stderr, "akosha index: %s\n", err.msg);
    }
    ak_pool_free(pool);
    ak_index_free(idx);
    ak_vindex_free(v);
    return rc ? AK_EXIT_FAIL : AK_EXIT_OK;
}

int ak_cmd_index(int argc, char **argv)
{
    const char *data = NULL;
    int json = 0, only_check = 0;
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"check", NULL, AK_OPT_FLAG, &only_check, NULL, "only check the index file (exit 1 when damaged)", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {
        "index", "--data DIR [--check] [--json]",
        "Bring the vector index in step with the databases now and save it "
        "(akosha serve does this in the background).",
        opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    ak_datadir *dd = ak_cmd_open_data("index", data);
    if (!dd)
        return AK_EXIT_FAIL;
    rc = only_check ? check(dd) : build(dd, json);
    ak_datadir_close(dd);
    return rc;
}
