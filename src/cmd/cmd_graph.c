/*
 * cmd_graph.c - `akosha graph neighbours|path|find|stats`: the knowledge
 * graph from the command line, through the same tools as MCP and HTTP
 * (graph/graph_tools.h).  --json prints the tool's answer as is.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "graph/graph.h"
#include "graph/graph_tools.h"
#include "util/json.h"
#include "util/jsonw.h"

typedef struct {
    const char *sub, *tool;
    int npos; /* positional arguments after the subcommand */
} subcommand;

static const subcommand subs[] = {
    {"neighbours", "query_knowledge_graph", 1},
    {"path", "find_path", 2},
    {"find", "find_entities", -1}, /* 0 or 1 */
    {"stats", "get_graph_statistics", 0},
};

typedef struct {
    const char *type;
    long long limit, hops;
} options;

/* The tool's arguments, as its JSON object. */
static void build_args(const subcommand *sc, char **pos, int npos, const options *o, ak_buf *b)
{
    ak_jw w;
    ak_jw_init(&w, b);
    ak_jw_obj(&w);
    if (!strcmp(sc->sub, "neighbours")) {
        ak_jw_kstr(&w, "entity_id", pos[0]);
        if (o->type)
            ak_jw_kstr(&w, "edge_type", o->type);
    } else if (!strcmp(sc->sub, "path")) {
        ak_jw_kstr(&w, "source_id", pos[0]);
        ak_jw_kstr(&w, "target_id", pos[1]);
        ak_jw_kint(&w, "max_hops", o->hops);
    } else if (!strcmp(sc->sub, "find")) {
        ak_jw_kstr(&w, "prefix", npos ? pos[0] : "");
        if (o->type)
            ak_jw_kstr(&w, "entity_type", o->type);
    }
    if (strcmp(sc->sub, "path") != 0 && strcmp(sc->sub, "stats") != 0)
        ak_jw_kint(&w, "limit", o->limit);
    ak_jw_end(&w);
}

static const char *str(const ak_json *o, const char *key)
{
    const ak_json *v = ak_json_get(o, key);
    return v && v->type == AK_JSON_STRING ? v->str : "";
}

static const ak_json *kids(const ak_json *o, const char *key)
{
    const ak_json *v = ak_json_get(o, key);
    return v && (v->type == AK_JSON_ARRAY || v->type == AK_JSON_OBJECT) ? v->first : NULL;
}

/* One line per neighbour, path step or entity; stats as "key value". */
static void human(const subcommand *sc, const ak_json *r, ak_buf *b)
{
    if (!strcmp(sc->sub, "neighbours")) {
        const ak_json *e = ak_json_get(r, "entity");
        ak_buf_printf(b, "%s", str(r, "entity_id"));
        for (const ak_json *o = kids(e, "observations"); o; o = o->next)
            ak_buf_printf(b, "\n  - %s", o->str);
        for (const ak_json *n = kids(r, "neighbors"); n; n = n->next)
            ak_buf_printf(b, "\n  %s %s %s", !strcmp(str(n, "direction"), "out") ? "->" : "<-",
                          str(n, "edge_type"), str(n, "entity_id"));
    } else if (!strcmp(sc->sub, "path")) {
        const ak_json *found = ak_json_get(r, "path_found");
        int64_t hops = 0;
        ak_json_int64(ak_json_get(r, "max_hops"), &hops);
        if (!found || found->type != AK_JSON_TRUE)
            ak_buf_printf(b, "no path from %s to %s within %lld hops", str(r, "source_id"),
                          str(r, "target_id"), (long long)hops);
        else
            ak_buf_printf(b, "%s", str(r, "source_id"));
        for (const ak_json *e = kids(r, "edges"); e; e = e->next)
            ak_buf_printf(b, "\n  %s %s %s (%s)", !strcmp(str(e, "direction"), "out") ? "->" : "<-",
                          str(e, "edge_type"), str(e, "to"), str(e, "system"));
    } else if (!strcmp(sc->sub, "find")) {
        for (const ak_json *e = kids(r, "entities"); e; e = e->next)
            ak_buf_printf(b, "%s%s", e == kids(r, "entities") ? "" : "\n", str(e, "entity_id"));
    } else {
        for (const ak_json *m = r->first; m; m = m->next)
            if (m->type == AK_JSON_NUMBER)
                ak_buf_printf(b, "%s%s %.*s", m == r->first ? "" : "\n", m->key, (int)m->raw_len,
                              m->raw);
    }
}

static int run(const subcommand *sc, ak_datadir *dd, char **pos, int npos, const options *o,
               int json)
{
    char path[AK_PATH_MAX];
    ak_buf args = {0}, out = {0}, text = {0};
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *a = NULL, *r = NULL;
    ak_err err;
    ak_jw w;
    ak_jw_init(&w, &out);
    build_args(sc, pos, npos, o, &args);
    ak_code rc = doc ? ak_graph_path(dd, path, sizeof path, &err)
                     : ak_err_set(&err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK)
        rc = ak_json_parse(doc, args.data, args.len, &a, &err);
    if (rc == AK_OK)
        rc = ak_graph_tool_run(path, sc->tool, a, &w, &err);
    int status = AK_EXIT_OK;
    if (rc) {
        fprintf(stderr, "akosha graph %s: %s\n", sc->sub, err.msg);
        status = rc == AK_ERR_INVALID ? AK_EXIT_USAGE : AK_EXIT_FAIL;
    } else if (json) {
        status = ak_cmd_print(&out);
    } else if (ak_json_parse(doc, out.data, out.len, &r, &err) == AK_OK) {
        human(sc, r, &text);
        status = ak_cmd_print(&text);
    }
    ak_buf_free(&args);
    ak_buf_free(&out);
    ak_buf_free(&text);
    ak_json_doc_free(doc);
    return status;
}

int ak_cmd_graph(int argc, char **argv)
{
    const char *data = NULL;
    options o = {.limit = 50, .hops = 3};
    int json = 0;
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"type", NULL, AK_OPT_STR, &o.type, "TYPE", "neighbours: relation type; find: entity type", 0, 0},
        {"limit", NULL, AK_OPT_INT, &o.limit, "N", "most answers (default 50)", 1, 1000},
        {"max-hops", NULL, AK_OPT_INT, &o.hops, "N", "path: longest path (default 3)", 1, 10},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {
        "graph",
        "neighbours ENTITY [--type T] | path FROM TO [--max-hops N] | find [PREFIX] [--type T] | "
        "stats  [--data DIR] [--limit N] [--json]",
        "Ask the knowledge graph: an entity's neighbours, a path between two entities, entities "
        "by name prefix, statistics.  Entities are TYPE:NAME (or a name only one has).",
        opts, (int)(sizeof opts / sizeof *opts), 1, 3};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    const subcommand *sc = NULL;
    for (size_t i = 0; i < sizeof subs / sizeof *subs && !sc; i++)
        if (!strcmp(subs[i].sub, pos[0]))
            sc = &subs[i];
    if (!sc)
        return ak_opts_usage_error(&spec, "unknown graph question \"%.64s\"", pos[0]);
    int want = sc->npos;
    if (want >= 0 ? npos - 1 != want : npos - 1 > 1)
        return ak_opts_usage_error(&spec, "graph %s takes %s", sc->sub,
                                   want == 1 ? "one entity" : want == 2 ? "two entities"
                                   : want == 0 ? "no arguments" : "at most a prefix");
    if (!data)
        return ak_opts_usage_error(&spec, "--data is required");
    ak_datadir *dd = ak_cmd_open_data("graph", data);
    if (!dd)
        return AK_EXIT_FAIL;
    rc = run(sc, dd, pos + 1, npos - 1, &o, json);
    ak_datadir_close(dd);
    return rc;
}
