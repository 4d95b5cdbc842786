/*
 * search_json.c - the search's face to its callers (see search_json.h): a query
 * read from a JSON body (the HTTP API and the MCP tools) or a tier list
 * (the CLI), and results written as JSON.  The engine (search.c) neither
 * parses requests nor writes JSON.
 */
#include "view/search_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "view/snippet.h"
#include "util/jsonw.h"
#include "util/time.h"

ak_code ak_query_vector_json(const ak_json *v, float *out, ak_err *err)
{
    if (!v || v->type != AK_JSON_ARRAY)
        return ak_err_set(err, AK_ERR_INVALID, "vector: expected a list of %d numbers", AK_DIM);
    if (v->n_kids != AK_DIM)
        return ak_err_set(err, AK_ERR_INVALID, "vector: has %u numbers, expected %d", v->n_kids,
                          AK_DIM);
    int i = 0;
    for (const ak_json *x = v->first; x; x = x->next, i++) {
        if (x->type != AK_JSON_NUMBER)
            return ak_err_set(err, AK_ERR_INVALID, "vector[%d]: not a number", i);
        out[i] = (float)ak_json_number(x);
    }
    return AK_OK;
}

/* One tier's name as a mask bit; 1 << 30 for anything else. */
static int tier_bit(const char *name)
{
    for (int t = AK_TIER_HOT; t <= AK_TIER_COLD; t++)
        if (strcmp(name, ak_tier_name((ak_tier)t)) == 0)
            return AK_TIER_MASK(t);
    return 1 << 30;
}

int ak_query_tiers_parse(const char *list, int *tiers)
{
    char buf[64];
    *tiers = 0;
    if (ak_fmt(buf, sizeof buf, "%s", list))
        return -1;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        *tiers |= tier_bit(t);
    return *tiers && !(*tiers & (1 << 30)) ? 0 : -1;
}

/* A list of tier names: nothing else, not a string (the schema the MCP
 * tool publishes says array, and a type error is the caller's). */
static ak_code tiers_from_json(const ak_json *v, int *tiers, ak_err *err)
{
    *tiers = 0;
    if (v->type != AK_JSON_ARRAY)
        return ak_err_set(err, AK_ERR_INVALID,
                          "tiers: must be a list like [\"hot\", \"warm\", \"cold\"]");
    for (const ak_json *t = v->first; t; t = t->next)
        *tiers |= t->type != AK_JSON_STRING ? 1 << 30 : tier_bit(t->str);
    if (!*tiers || (*tiers & (1 << 30)))
        return ak_err_set(err, AK_ERR_INVALID, "tiers: list any of \"hot\", \"warm\", \"cold\"");
    return AK_OK;
}

static ak_code time_field(const ak_json *v, const char *name, int64_t *out, ak_err *err)
{
    if (v->type != AK_JSON_STRING || !ak_time_parse(v->str, v->str_len, out))
        return ak_err_set(err, AK_ERR_INVALID, "%s: not an ISO-8601 time", name);
    return AK_OK;
}

static ak_code int_field(const ak_json *v, const char *name, int64_t *out, ak_err *err)
{
    if (!ak_json_int64(v, out))
        return ak_err_set(err, AK_ERR_INVALID, "%s: must be an integer", name);
    return AK_OK;
}

static ak_code string_field(const ak_json *v, const char **out, ak_err *err)
{
    if (v->type != AK_JSON_STRING || strlen(v->str) != v->str_len)
        return ak_err_set(err, AK_ERR_INVALID, "%s: must be a string", v->key);
    *out = v->str;
    return AK_OK;
}

/* limit: out of 0 .. 1,000,000 becomes -1, which ak_query_check() refuses
 * with the range. */
static ak_code limit_field(const ak_json *v, ak_query *q, ak_err *err)
{
    int64_t n;
    ak_code rc = int_field(v, v->key, &n, err);
    if (rc == AK_OK)
        q->limit = n < 0 || n > 1000000 ? -1 : (int)n;
    return rc;
}

/* timeout_ms: out of 1 .. 3,600,000 is the default (0). */
static ak_code timeout_field(const ak_json *v, ak_query *q, ak_err *err)
{
    int64_t n;
    ak_code rc = int_field(v, v->key, &n, err);
    if (rc == AK_OK)
        q->timeout_us = n < 1 || n > 3600000 ? 0 : n * 1000;
    return rc;
}

static ak_code threshold_field(const ak_json *v, ak_query *q, ak_err *err)
{
    if (v->type != AK_JSON_NUMBER)
        return ak_err_set(err, AK_ERR_INVALID, "threshold: must be a number");
    q->has_threshold = 1;
    q->threshold = ak_json_number(v);
    return AK_OK;
}

static ak_code exact_field(const ak_json *v, ak_query *q, ak_err *err)
{
    if (v->type != AK_JSON_TRUE && v->type != AK_JSON_FALSE)
        return ak_err_set(err, AK_ERR_INVALID, "exact: must be true or false");
    q->exact = v->type == AK_JSON_TRUE;
    return AK_OK;
}

/* One member of the request body; null is as if it were absent. */
static ak_code query_field(const ak_json *v, ak_query *q, ak_err *err)
{
    const char *k = v->key;
    if (v->type == AK_JSON_NULL)
        return AK_OK;
    if (!strcmp(k, "vector")) {
        q->has_vector = 1;
        return ak_query_vector_json(v, q->vector, err);
    }
    if (!strcmp(k, "text"))
        return string_field(v, &q->text, err);
    if (!strcmp(k, "query"))
        return string_field(v, &q->words, err);
    if (!strcmp(k, "system_id"))
        return string_field(v, &q->system_id, err);
    if (!strcmp(k, "limit"))
        return limit_field(v, q, err);
    if (!strcmp(k, "timeout_ms"))
        return timeout_field(v, q, err);
    if (!strcmp(k, "threshold"))
        return threshold_field(v, q, err);
    if (!strcmp(k, "tiers"))
        return tiers_from_json(v, &q->tiers, err);
    if (!strcmp(k, "exact"))
        return exact_field(v, q, err);
    if (!strcmp(k, "since"))
        return time_field(v, k, &q->since, err);
    if (!strcmp(k, "until"))
        return time_field(v, k, &q->until, err);
    return ak_err_set(err, AK_ERR_INVALID, "unknown field \"%.64s\"", k);
}

ak_code ak_query_from_json(const ak_json *body, ak_query *q, ak_err *err)
{
    if (!body || body->type != AK_JSON_OBJECT)
        return ak_err_set(err, AK_ERR_INVALID, "the body must be a JSON object");
    for (const ak_json *v = body->first; v; v = v->next) {
        ak_code rc = query_field(v, q, err);
        if (rc)
            return rc;
    }
    return AK_OK;
}

void ak_results_json(const ak_results *r, ak_buf *out) { ak_results_json_snippets(r, NULL, 0, out); }

void ak_results_json_snippets(const ak_results *r, const char *words, size_t snippet_chars,
                              ak_buf *out)
{
    ak_jw w;
    ak_jw_init(&w, out);
    ak_jw_obj(&w);
    ak_jw_key(&w, "results");
    ak_jw_arr(&w);
    for (size_t i = 0; i < r->n; i++) {
        const ak_result *x = &r->r[i];
        ak_jw_obj(&w);
        ak_jw_kstr(&w, "system_id", x->system_id);
        ak_jw_kstr(&w, "conversation_id", x->conversation_id);
        ak_jw_kstr(&w, "tier", ak_tier_name(x->tier));
        ak_jw_kdouble(&w, "score", x->score);
        ak_jw_key(&w, "timestamp");
        ak_jw_time(&w, x->ts_us);
        if (snippet_chars)
            ak_snippet_json(&w, x->tier == AK_TIER_HOT ? x->content : x->summary, words,
                            snippet_chars);
        else if (x->tier == AK_TIER_HOT)
            ak_jw_kstr(&w, "content", x->content);
        else
            ak_jw_kstr(&w, "summary", x->summary);
        ak_jw_key(&w, "metadata");
        if (x->metadata)
            ak_jw_raw(&w, x->metadata, strlen(x->metadata));
        else
            ak_jw_null(&w);
        ak_jw_end(&w);
    }
    ak_jw_end(&w);
    ak_jw_kint(&w, "shards_queried", r->shards_queried);
    ak_jw_key(&w, "shards_failed");
    ak_jw_arr(&w);
    for (size_t i = 0; i < r->n_failed; i++) {
        ak_jw_obj(&w);
        ak_jw_kint(&w, "shard", r->failed[i].shard);
        ak_jw_kstr(&w, "error", r->failed[i].error);
        ak_jw_end(&w);
    }
    ak_jw_end(&w);
    ak_jw_kdouble(&w, "took_ms", round(r->took_ms * 1000) / 1000);
    ak_jw_kstr(&w, "mode", r->mode ? r->mode : "text");
    if (r->embed_error)
        ak_jw_kstr(&w, "embedding_error", r->embed_error);
    ak_jw_end(&w);
}
