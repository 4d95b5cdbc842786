/*
 * cmd_mcp.c - `akosha mcp`: the MCP tools over stdio (src/mcp/mcp.h).
 *
 * One JSON-RPC message per line on stdin, one reply per line on stdout;
 * logs go to stderr.  The index loads in the background so `initialize`
 * answers at once; a search waits for it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "graph/graph.h"
#include "mcp/mcp.h"
#include "util/log.h"

#define LINE_MAX_BYTES (16 * 1024 * 1024)

typedef struct {
    ak_index *idx;
    ak_pool *pool;
    atomic_int ready;
} loading;

static void *load(void *arg)
{
    loading *l = arg;
    ak_err err;
    if (ak_index_load_all(l->idx, l->pool, &err))
        AK_ERROR("mcp", "loading the index: %s", err.msg);
    atomic_store(&l->ready, 1);
    return NULL;
}

static int serve_stdio(ak_mcp *m)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    ak_buf out = {0};
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n)
            continue;
        int initialized;
        ak_buf_reset(&out);
        if (n > LINE_MAX_BYTES)
            ak_buf_puts(&out, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
                              "\"message\":\"message larger than 16 MiB\"}}");
        else if (!ak_mcp_handle(m, line, (size_t)n, &out, &initialized))
            continue;
        ak_buf_putc(&out, '\n');
        if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)
            break; /* the client went away */
    }
    free(line);
    ak_buf_free(&out);
    return AK_EXIT_OK;
}

int ak_cmd_mcp(int argc, char **argv)
{
    const char *data = NULL, *cold_url = NULL;
    ak_embed_config ec;
    ak_embed_config_init(&ec);
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"cold", "AKOSHA_COLD_URL", AK_OPT_STR, &cold_url, "URL", "cold store (default file://DATA/cold)", 0, 0},
        AK_OPT_EMBED(&ec),
    };
    const ak_cmd_spec spec = {"mcp", "--data DIR [--cold URL] [--embed-url URL ...]",
                              "Serve Akosha's search and status as MCP tools over stdio.",
                              opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    ak_embed *embed = NULL;
    if (ak_cmd_open_embed("mcp", &ec, &embed))
        return AK_EXIT_USAGE;
    ak_datadir *dd = ak_cmd_open_data("mcp", data);
    if (!dd) {
        ak_embed_free(embed);
        return AK_EXIT_FAIL;
    }
    ak_err err;
    ak_store *cold = NULL;
    ak_mcp *m = NULL;
    loading l = {0};
    pthread_t th;
    int started = 0;
    rc = ak_cmd_open_cold("mcp", dd, cold_url, &cold);
    if (rc < 0 && (ak_pool_new(0, &l.pool, &err) || ak_index_new(dd, &l.idx, &err)))
        rc = ak_opts_error("mcp", AK_EXIT_FAIL, "%s", err.msg);
    if (rc < 0) {
        char graph[AK_PATH_MAX];
        ak_mcp_env env = {l.idx, l.pool, cold, &l.ready, embed,
                          ak_graph_path(dd, graph, sizeof graph, NULL) ? NULL : graph};
        started = pthread_create(&th, NULL, load, &l) == 0;
        if (!started || ak_mcp_new(&env, &m, &err))
            rc = ak_opts_error("mcp", AK_EXIT_FAIL, "%s", started ? err.msg : "cannot start a thread");
        else
            rc = serve_stdio(m);
    }
    if (started)
        pthread_join(th, NULL);
    ak_mcp_free(m);
    ak_store_close(cold);
    ak_pool_free(l.pool); /* first: a search's late shard jobs still read the index */
    ak_index_free(l.idx);
    ak_datadir_close(dd);
    ak_embed_free(embed);
    return rc;
}
