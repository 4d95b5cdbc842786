/*
 * cmd_search.c - `akosha search`: load the index, run one query, print it.
 *
 * The query vector comes from a JSON file (or stdin): a list of 384 numbers,
 * or an object with a "vector" or "embedding" list.  --like SYSTEM/ID takes
 * a stored conversation's vector instead ("more like this").  --query
 * takes words, embedded by the configured provider (query/words.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "query/indexer.h"
#include "query/vindex.h"
#include "query/search.h"
#include "util/ids.h"
#include "query/words.h"
#include "util/json.h"
#include "util/time.h"
#include "view/search_json.h"

#define VECTOR_FILE_MAX (1024 * 1024)

static ak_code read_all(const char *path, char **out, size_t *len, ak_err *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return ak_err_set(err, AK_ERR_NOTFOUND, "cannot read %s", path);
    ak_buf b = {.limit = VECTOR_FILE_MAX};
    char chunk[65536];
    size_t n;
    ak_code rc = AK_OK;
    while (rc == AK_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = ak_buf_append(&b, chunk, n);
    if (f != stdin)
        fclose(f);
    if (rc) {
        ak_buf_free(&b);
        return ak_err_set(err, AK_ERR_INVALID, "%s is larger than 1 MiB", path);
    }
    *len = b.len;
    *out = ak_buf_steal(&b);
    return AK_OK;
}

/* The vector from a JSON document: a list, or {"vector"|"embedding": list}. */
static ak_code parse_vector(const char *text, size_t len, float *out, ak_err *err)
{
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root;
    ak_code rc = doc ? ak_json_parse(doc, text, len, &root, err) : AK_ERR_NOMEM;
    if (rc == AK_OK) {
        const ak_json *v = root;
        if (root->type == AK_JSON_OBJECT && !(v = ak_json_get(root, "vector")))
            v = ak_json_get(root, "embedding");
        rc = ak_query_vector_json(v, out, err);
    } else if (rc == AK_ERR_INVALID) {
        ak_err_prefix(err, "vector: ");
    }
    ak_json_doc_free(doc);
    return rc;
}

static ak_code like_vector(const ak_datadir *dd, const char *like, float *out, ak_err *err)
{
    const char *slash = strchr(like, '/');
    char sid[AK_SYSTEM_ID_MAX + 1];
    if (!slash || (size_t)(slash - like) >= sizeof sid)
        return ak_err_set(err, AK_ERR_INVALID, "--like: expected SYSTEM_ID/CONVERSATION_ID");
    memcpy(sid, like, (size_t)(slash - like));
    sid[slash - like] = '\0';
    ak_sysdb *db;
    ak_code rc = ak_datadir_open_system(dd, sid, 0, &db, err);
    if (rc == AK_OK) {
        rc = ak_sysdb_get_vector(db, slash + 1, out, err);
        ak_sysdb_close(db);
    }
    return rc;
}

static int parse_time(const char *s, int64_t *out)
{
    return s ? (ak_time_parse(s, strlen(s), out) ? 0 : -1) : 0;
}

/* One line per result: rank, score, where, when, and the start of the text. */
static void print_table(const ak_results *r, ak_buf *b)
{
    ak_buf_printf(b, "%3s  %-8s %-16s %-24s %-5s %-20s %s\n", "#", "SCORE", "SYSTEM",
                  "CONVERSATION", "TIER", "TIME", "TEXT");
    for (size_t i = 0; i < r->n; i++) {
        const ak_result *x = &r->r[i];
        char when[AK_TIME_ISO_MAX], snippet[61];
        ak_time_format(x->ts_us - x->ts_us % AK_US_PER_SEC, when);
        const char *text = x->content ? x->content : x->summary ? x->summary : "";
        size_t k = 0;
        for (; k < sizeof snippet - 1 && text[k]; k++)
            snippet[k] = text[k] == '\n' || text[k] == '\t' ? ' ' : text[k];
        while (k > 0 && ((unsigned char)snippet[k - 1] & 0xC0) == 0x80)
            k--; /* do not cut a UTF-8 character in half */
        if (k > 0 && (unsigned char)snippet[k - 1] >= 0xC0)
            k--;
        snippet[k] = '\0';
        ak_buf_printf(b, "%3zu  %-8.4f %-16.16s %-24.24s %-5s %-20s %s\n", i + 1, x->score,
                      x->system_id, x->conversation_id, ak_tier_name(x->tier), when, snippet);
    }
    ak_buf_printf(b, "%zu results (%s); %u shards queried, %zu failed; %.1f ms", r->n,
                  r->mode, r->shards_queried, r->n_failed, r->took_ms);
    if (r->embed_error)
        ak_buf_printf(b, "\nsearched as keywords: %s", r->embed_error);
    for (size_t i = 0; i < r->n_failed; i++)
        ak_buf_printf(b, "\nshard %u failed: %s", r->failed[i].shard, r->failed[i].error);
}

typedef struct {
    const char *data, *vector, *like, *text, *words, *system, *tiers, *since, *until;
    ak_embed_config embed;
    long long limit, timeout_ms;
    double threshold;
    int json, has_threshold, exact;
} search_opts;

/* The data directory's vector index, bound to the segments just loaded
 * without adding anything (systems it does not hold whole are scanned);
 * NULL when --exact or it cannot be opened (then every vector is scanned). */
static ak_vindex *open_vindex(const search_opts *o, ak_datadir *dd, ak_index *idx)
{
    ak_vindex *v = NULL;
    ak_err err;
    if (o->exact || o->system || ak_vindex_open_in(dd, 0, &v, &err))
        return NULL;
    if (ak_indexer_sync_all(idx, v, 0, NULL, &err)) {
        ak_vindex_free(v);
        return NULL;
    }
    ak_index_set_vindex(idx, v);
    return v;
}

static int run(search_opts *o, ak_query *q)
{
    ak_datadir *dd = ak_cmd_open_data("search", o->data);
    if (!dd)
        return AK_EXIT_FAIL;
    ak_err err = {0}; /* the analyzer cannot see that every failure below fills it */
    ak_pool *pool = NULL;
    ak_index *idx = NULL;
    ak_vindex *vindex = NULL;
    ak_embed *embed = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = AK_EXIT_FAIL;
    if (o->vector && (read_all(o->vector, &text, &len, &err) ||
                      parse_vector(text, len, q->vector, &err)))
        goto done;
    if (o->like && like_vector(dd, o->like, q->vector, &err))
        goto done;
    q->has_vector = o->vector || o->like;
    if (ak_query_check(q, &err)) {
        rc = ak_opts_error("search", AK_EXIT_USAGE, "%s", err.msg);
        goto quiet;
    }
    if (ak_cmd_open_embed("search", &o->embed, &embed)) {
        rc = AK_EXIT_USAGE;
        goto quiet;
    }
    if (ak_pool_new(0, &pool, &err) || ak_index_new(dd, &idx, &err))
        goto done;
    ak_index_set_segfiles(idx, AK_SEGFILES_READ); /* akosha serve writes them */
    if (o->system ? ak_index_load_system(idx, o->system, &err) == AK_ERR_INVALID
                  : ak_index_load_all(idx, pool, &err) != AK_OK)
        goto done;
    vindex = open_vindex(o, dd, idx);
    ak_results res;
    if (ak_search_words(idx, pool, embed, q, &res, &err))
        goto done;
    ak_buf b = {0};
    if (o->json)
        ak_results_json(&res, &b);
    else
        print_table(&res, &b);
    rc = ak_cmd_print(&b);
    ak_buf_free(&b);
    ak_results_free(&res);
    goto quiet;
done:
    rc = ak_opts_error("search", err.code == AK_ERR_INVALID ? AK_EXIT_USAGE : AK_EXIT_FAIL, "%s",
                       err.msg);
quiet:
    free(text);
    ak_embed_free(embed);
    ak_pool_free(pool); /* first: a search's late shard jobs still read the index */
    ak_index_free(idx);
    ak_vindex_free(vindex);
    ak_datadir_close(dd);
    return rc;
}

int ak_cmd_search(int argc, char **argv)
{
    search_opts o = {.limit = 10, .timeout_ms = 5000, .tiers = "hot,warm,cold"};
    ak_embed_config_init(&o.embed);
    const ak_opt opts[] = {
        AK_OPT_DATA(&o.data),
        {"vector", NULL, AK_OPT_STR, &o.vector, "FILE", "query vector: JSON list of 384 numbers (- for stdin)", 0, 0},
        {"like", NULL, AK_OPT_STR, &o.like, "SYSTEM/ID", "use a stored conversation's vector as the query", 0, 0},
        {"query", NULL, AK_OPT_STR, &o.words, "WORDS", "words: embedded by the provider, searched hybrid (keywords when it fails)", 0, 0},
        {"text", NULL, AK_OPT_STR, &o.text, "Q", "keywords only (BM25); with a vector: hybrid", 0, 0},
        {"system", NULL, AK_OPT_STR, &o.system, "ID", "only this system (only its shard is read)", 0, 0},
        {"limit", NULL, AK_OPT_INT, &o.limit, "N", "results (default 10)", 1, AK_SEARCH_LIMIT_MAX},
        {"threshold", NULL, AK_OPT_DOUBLE, &o.threshold, "X", "minimum cosine similarity", -1, 1},
        {"tiers", NULL, AK_OPT_STR, &o.tiers, "LIST", "hot,warm,cold (default all)", 0, 0},
        {"since", NULL, AK_OPT_STR, &o.since, "ISO", "conversations at or after this time", 0, 0},
        {"until", NULL, AK_OPT_STR, &o.until, "ISO", "conversations at or before this time", 0, 0},
        {"timeout-ms", "AKOSHA_SHARD_TIMEOUT_MS", AK_OPT_INT, &o.timeout_ms, "MS", "per-shard deadline (default 5000)", 1, 3600000},
        {"exact", NULL, AK_OPT_FLAG, &o.exact, NULL, "scan every vector (not the ANN index)", 0, 0},
        AK_OPT_JSON(&o.json),
        AK_OPT_EMBED(&o.embed),
    };
    const ak_cmd_spec spec = {"search", "--data DIR [--query WORDS] [--vector FILE|-] [--like SYS/ID] [--text Q] [--system ID] [--limit N] [--threshold X] [--tiers hot,warm,cold] [--exact] [--json]",
                              "Search every system's conversations by words, vector, keywords or both.",
                              opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    /* the threshold option has no "unset" value: look for it on the command line */
    for (int i = 1; i < argc; i++)
        o.has_threshold |= strncmp(argv[i], "--threshold", 11) == 0;
    ak_query q;
    ak_query_init(&q);
    q.text = o.text;
    q.words = o.words;
    q.system_id = o.system;
    q.limit = (int)o.limit;
    q.has_threshold = o.has_threshold;
    q.threshold = o.threshold;
    q.timeout_us = o.timeout_ms * 1000;
    q.exact = o.exact;
    if (o.vector && o.like)
        return ak_opts_usage_error(&spec, "give --vector or --like, not both");
    if ((rc = ak_cmd_check_system(&spec, "--system", o.system)) >= 0)
        return rc;
    if (ak_query_tiers_parse(o.tiers, &q.tiers))
        return ak_opts_usage_error(&spec, "--tiers must list hot, warm and/or cold, not '%s'", o.tiers);
    if (parse_time(o.since, &q.since) || parse_time(o.until, &q.until))
        return ak_opts_usage_error(&spec, "--since and --until must be ISO-8601 times");
    return run(&o, &q);
}
