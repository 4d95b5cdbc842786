/*
 * parse.c - see parse.h.
 */
#include "embed/parse.h"

#include <math.h>
#include <string.h>

#include "util/json.h"
#include "util/jsonw.h"

int ak_embed_kind_parse(const char *name, ak_embed_kind *out)
{
    if (name && !strcmp(name, "openai"))
        *out = AK_EMBED_OPENAI;
    else if (name && !strcmp(name, "ollama"))
        *out = AK_EMBED_OLLAMA;
    else
        return -1;
    return 0;
}

const char *ak_embed_kind_name(ak_embed_kind k) { return k == AK_EMBED_OLLAMA ? "ollama" : "openai"; }

const char *ak_embed_kind_path(ak_embed_kind k)
{
    return k == AK_EMBED_OLLAMA ? "/api/embed" : "/embeddings";
}

ak_code ak_embed_request(ak_embed_kind k, const char *model, const char *const *texts,
                         const size_t *lens, size_t n, ak_buf *out)
{
    ak_jw w;
    ak_jw_init(&w, out);
    ak_jw_obj(&w);
    if (model && *model)
        ak_jw_kstr(&w, "model", model);
    ak_jw_key(&w, "input");
    ak_jw_arr(&w);
    for (size_t i = 0; i < n; i++)
        ak_jw_strn(&w, texts[i], lens[i]);
    ak_jw_end(&w);
    if (k == AK_EMBED_OLLAMA)
        ak_jw_kbool(&w, "truncate", 1); /* a long memory is cut, not refused */
    ak_jw_end(&w);
    return ak_jw_error(&w);
}

static ak_code one_vector(const ak_json *v, size_t i, float *out, ak_err *err)
{
    if (!v || v->type != AK_JSON_ARRAY)
        return ak_err_set(err, AK_ERR_INVALID, "embedding %zu is not a list of numbers", i);
    if (v->n_kids != AK_DIM)
        return ak_err_set(err, AK_ERR_INVALID, "embedding %zu has %u numbers, expected %d", i,
                          v->n_kids, AK_DIM);
    int k = 0, zero = 1;
    for (const ak_json *x = v->first; x; x = x->next, k++) {
        double d = x->type == AK_JSON_NUMBER ? ak_json_number(x) : NAN;
        if (!isfinite(d) || !isfinite((float)d))
            return ak_err_set(err, AK_ERR_INVALID, "embedding %zu[%d] is not a finite number", i,
                              k);
        out[k] = (float)d;
        zero &= out[k] == 0.0f;
    }
    if (zero)
        return ak_err_set(err, AK_ERR_INVALID, "embedding %zu is all zeros", i);
    return AK_OK;
}

/* {"error": "text"} or {"error": {"message": "text"}}: say what it said. */
static ak_code provider_error(const ak_json *root, ak_err *err)
{
    const ak_json *e = ak_json_get(root, "error");
    if (e && e->type == AK_JSON_OBJECT)
        e = ak_json_get(e, "message");
    if (e && e->type == AK_JSON_STRING)
        return ak_err_set(err, AK_ERR_INVALID, "the provider said: %.200s", e->str);
    return AK_OK;
}

/* OpenAI: data[i].embedding, placed by data[i].index when given. */
static ak_code parse_openai(const ak_json *root, size_t n, float *out, ak_err *err)
{
    const ak_json *data = ak_json_get(root, "data");
    if (!data || data->type != AK_JSON_ARRAY)
        return ak_err_set(err, AK_ERR_INVALID, "the answer has no \"data\" list");
    if (data->n_kids != n)
        return ak_err_set(err, AK_ERR_INVALID, "the answer has %u embeddings for %zu texts",
                          data->n_kids, n);
    unsigned char seen[AK_EMBED_BATCH_MAX] = {0};
    size_t at[AK_EMBED_BATCH_MAX], i = 0;
    for (const ak_json *d = data->first; d; d = d->next, i++) { /* positions first */
        const ak_json *ix = ak_json_get(d, "index");
        int64_t pos = (int64_t)i;
        if (ix && (!ak_json_int64(ix, &pos) || pos < 0 || (size_t)pos >= n || seen[pos]))
            return ak_err_set(err, AK_ERR_INVALID, "data[%zu].index is not a fresh position", i);
        seen[pos] = 1;
        at[i] = (size_t)pos;
    }
    i = 0;
    for (const ak_json *d = data->first; d; d = d->next, i++) {
        ak_code rc = one_vector(ak_json_get(d, "embedding"), at[i], out + at[i] * AK_DIM, err);
        if (rc)
            return rc;
    }
    return AK_OK;
}

static ak_code parse_ollama(const ak_json *root, size_t n, float *out, ak_err *err)
{
    const ak_json *e = ak_json_get(root, "embeddings");
    if (!e || e->type != AK_JSON_ARRAY)
        return ak_err_set(err, AK_ERR_INVALID, "the answer has no \"embeddings\" list");
    if (e->n_kids != n)
        return ak_err_set(err, AK_ERR_INVALID, "the answer has %u embeddings for %zu texts",
                          e->n_kids, n);
    size_t i = 0;
    for (const ak_json *v = e->first; v; v = v->next, i++) {
        ak_code rc = one_vector(v, i, out + i * AK_DIM, err);
        if (rc)
            return rc;
    }
    return AK_OK;
}

ak_code ak_embed_parse(ak_embed_kind k, const char *body, size_t len, size_t n, float *out,
                       ak_err *err)
{
    if (n < 1 || n > AK_EMBED_BATCH_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "%zu texts in one request (1 to %d)", n,
                          AK_EMBED_BATCH_MAX);
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root;
    if (!doc)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = ak_json_parse(doc, body, len, &root, err);
    if (rc == AK_ERR_INVALID)
        ak_err_prefix(err, "malformed JSON: ");
    else if (rc == AK_OK && root->type != AK_JSON_OBJECT)
        rc = ak_err_set(err, AK_ERR_INVALID, "the answer is not a JSON object");
    if (rc == AK_OK)
        rc = provider_error(root, err);
    if (rc == AK_OK)
        rc = k == AK_EMBED_OLLAMA ? parse_ollama(root, n, out, err)
                                  : parse_openai(root, n, out, err);
    ak_json_doc_free(doc);
    return rc;
}
