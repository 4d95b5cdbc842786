/* record.c - see record.h.  Field checks are small functions that each name
 * their field in the message and their category in *problem. */
#include "ingest/record.h"

#include <math.h>
#include <string.h>

#include "util/time.h"

static const char *const problem_names[AK_REC_N_PROBLEMS] = {
    [AK_REC_OK] = "ok",
    [AK_REC_INVALID_JSON] = "invalid_json",
    [AK_REC_NOT_OBJECT] = "not_an_object",
    [AK_REC_TOO_LARGE] = "too_large",
    [AK_REC_BAD_ID] = "bad_id",
    [AK_REC_BAD_CONTENT] = "bad_content",
    [AK_REC_BAD_EMBEDDING] = "bad_embedding",
    [AK_REC_BAD_TIMESTAMP] = "bad_timestamp",
    [AK_REC_BAD_SOURCE] = "bad_source",
    [AK_REC_BAD_METADATA] = "bad_metadata",
    [AK_REC_CONFLICT] = "conflicting_duplicate",
};

const char *ak_rec_problem_name(ak_rec_problem p)
{
    return p < AK_REC_N_PROBLEMS ? problem_names[p] : "unknown";
}

static ak_code reject(ak_rec_problem *problem, ak_rec_problem p, ak_err *err,
                      const char *msg)
{
    *problem = p;
    return ak_err_set(err, AK_ERR_INVALID, "%s", msg);
}

static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

static ak_code take_content(const ak_json *root, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
    const ak_json *v = ak_json_get(root, "content");
    if (!v || v->type == AK_JSON_NULL)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: required field is missing");
    if (v->type != AK_JSON_STRING)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: must be a string");
    if (v->str_len == 0)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: is empty");
    if (v->str_len > AK_CONTENT_MAX)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: longer than 1 MiB");
    if (memchr(v->str, '\0', v->str_len))
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: contains a NUL character");
    r->content = v->str;
    r->content_len = v->str_len;
    ak_sha256(r->content, r->content_len, r->content_sha256);
    return AK_OK;
}

/* "id" wins over "conversation_id" when both are given. */
static ak_code take_id(const ak_json *root, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
    const char *key = "id";
    const ak_json *v = ak_json_get(root, key);
    if (!v || v->type == AK_JSON_NULL)
        v = ak_json_get(root, key = "conversation_id");
    if (!v || v->type == AK_JSON_NULL) {
        ak_hex(r->content_sha256, AK_SHA256_LEN, r->id_hex);
        r->id = r->id_hex;
        r->id_len = 64;
        return AK_OK;
    }
    const char *why = v->type != AK_JSON_STRING ? "must be a string"
                      : v->str_len == 0 ? "is empty"
                      : v->str_len > AK_CONV_ID_MAX ? "longer than 256 bytes"
                      : has_control(v->str, v->str_len) ? "contains a control character"
                                                        : NULL;
    if (why) {
        *pb = AK_REC_BAD_ID;
        return ak_err_set(e, AK_ERR_INVALID, "%s: %s", key, why);
    }
    r->id = v->str;
    r->id_len = v->str_len;
    return AK_OK;
}

static ak_code take_embedding(const ak_json *root, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
    const ak_json *v = ak_json_get(root, "embedding");
    r->has_embedding = 0;
    if (!v || v->type == AK_JSON_NULL)
        return AK_OK;
    if (v->type != AK_JSON_ARRAY)
        return reject(pb, AK_REC_BAD_EMBEDDING, e, "embedding: must be a list of 384 numbers");
    if (v->n_kids != AK_DIM) {
        *pb = AK_REC_BAD_EMBEDDING;
        return ak_err_set(e, AK_ERR_INVALID, "embedding: has %u numbers, expected %d",
                          v->n_kids, AK_DIM);
    }
    int nonzero = 0, i = 0;
    for (const ak_json *x = v->first; x; x = x->next, i++) {
        if (x->type != AK_JSON_NUMBER) {
            *pb = AK_REC_BAD_EMBEDDING;
            return ak_err_set(e, AK_ERR_INVALID, "embedding[%d]: not a number", i);
        }
        float f = ak_json_float32(x);
        if (!isfinite(f)) {
            *pb = AK_REC_BAD_EMBEDDING;
            return ak_err_set(e, AK_ERR_INVALID, "embedding[%d]: not finite in float32", i);
        }
        r->embedding[i] = f;
        nonzero |= f != 0.0f;
    }
    r->has_embedding = nonzero;
    return AK_OK;
}

static ak_code take_timestamp(const ak_json *root, int64_t dflt, ak_record *r,
                              ak_rec_problem *pb, ak_err *e)
{
    const ak_json *v = ak_json_get(root, "timestamp");
    r->ts_us = dflt;
    if (!v || v->type == AK_JSON_NULL)
        return AK_OK;
    if (v->type != AK_JSON_STRING || !ak_time_parse(v->str, v->str_len, &r->ts_us))
        return reject(pb, AK_REC_BAD_TIMESTAMP, e, "timestamp: not an ISO-8601 time");
    return AK_OK;
}

static ak_code take_source(const ak_json *root, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
    const ak_json *v = ak_json_get(root, "source");
    r->source = "session-buddy";
    r->source_len = strlen(r->source);
    if (!v || v->type == AK_JSON_NULL)
        return AK_OK;
    if (v->type != AK_JSON_STRING)
        return reject(pb, AK_REC_BAD_SOURCE, e, "source: must be a string");
    if (v->str_len > AK_SOURCE_MAX || has_control(v->str, v->str_len))
        return reject(pb, AK_REC_BAD_SOURCE, e,
                      "source: longer than 256 bytes or has control characters");
    r->source = v->str;
    r->source_len = v->str_len;
    return AK_OK;
}

static ak_code take_metadata(const ak_json *root, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
    const ak_json *v = ak_json_get(root, "metadata");
    r->metadata = NULL;
    r->metadata_len = 0;
    if (!v || v->type == AK_JSON_NULL)
        return AK_OK;
    if (v->type != AK_JSON_OBJECT)
        return reject(pb, AK_REC_BAD_METADATA, e, "metadata: must be an object");
    r->metadata = v->raw;
    r->metadata_len = v->raw_len;
    return AK_OK;
}

ak_code ak_record_parse(ak_json_doc *doc, const char *text, size_t len,
                        int64_t default_ts_us, ak_record *r,
                        ak_rec_problem *pb, ak_err *e)
{
    const ak_json *root;
    ak_code rc;
    *pb = AK_REC_OK;
    if (len > AK_RECORD_TEXT_MAX)
        return reject(pb, AK_REC_TOO_LARGE, e, "record larger than 8 MiB");
    if ((rc = ak_json_parse(doc, text, len, &root, e))) {
        *pb = rc == AK_ERR_INVALID ? AK_REC_INVALID_JSON : AK_REC_OK;
        return rc;
    }
    if (root->type != AK_JSON_OBJECT)
        return reject(pb, AK_REC_NOT_OBJECT, e, "record must be a JSON object");
    if ((rc = take_content(root, r, pb, e)) || (rc = take_id(root, r, pb, e)) ||
        (rc = take_embedding(root, r, pb, e)) ||
        (rc = take_timestamp(root, default_ts_us, r, pb, e)) ||
        (rc = take_source(root, r, pb, e)) || (rc = take_metadata(root, r, pb, e)))
        return rc;
    return AK_OK;
}
