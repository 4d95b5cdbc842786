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

static ak_code check_content(const char *s, size_t n, ak_record *r, ak_rec_problem *pb,
                             ak_err *e)
{
    if (n == 0)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: is empty");
    if (n > AK_CONTENT_MAX)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: longer than 1 MiB");
    if (memchr(s, '\0', n))
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: contains a NUL character");
    r->content = s;
    r->content_len = n;
    ak_sha256(r->content, r->content_len, r->content_sha256);
    return AK_OK;
}

static ak_code take_content(const ak_json *v, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
    if (!v || v->type == AK_JSON_NULL)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: required field is missing");
    if (v->type != AK_JSON_STRING)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: must be a string");
    return check_content(v->str, v->str_len, r, pb, e);
}

/* No id given: the hex SHA-256 of the content. */
static void derive_id(ak_record *r)
{
    ak_hex(r->content_sha256, AK_SHA256_LEN, r->id_hex);
    r->id = r->id_hex;
    r->id_len = 64;
}

static ak_code check_id(const char *key, const char *s, size_t n, ak_record *r,
                        ak_rec_problem *pb, ak_err *e)
{
    const char *why = n == 0 ? "is empty"
                      : n > AK_CONV_ID_MAX ? "longer than 256 bytes"
                      : has_control(s, n) ? "contains a control character"
                                          : NULL;
    if (why) {
        *pb = AK_REC_BAD_ID;
        return ak_err_set(e, AK_ERR_INVALID, "%s: %s", key, why);
    }
    r->id = s;
    r->id_len = n;
    return AK_OK;
}

/* "id" wins over "conversation_id" when both are given. */
static ak_code take_id(const ak_json *id, const ak_json *conv_id, ak_record *r,
                       ak_rec_problem *pb, ak_err *e)
{
    const char *key = "id";
    const ak_json *v = id;
    if (!v || v->type == AK_JSON_NULL)
        v = conv_id, key = "conversation_id";
    if (!v || v->type == AK_JSON_NULL) {
        derive_id(r);
        return AK_OK;
    }
    if (v->type != AK_JSON_STRING) {
        *pb = AK_REC_BAD_ID;
        return ak_err_set(e, AK_ERR_INVALID, "%s: must be a string", key);
    }
    return check_id(key, v->str, v->str_len, r, pb, e);
}

/* Finite values; all zeros, or a norm that underflows float (subnormal
 * elements), means "no vector": the record is stored text-only. */
static ak_code check_embedding(ak_record *r, ak_rec_problem *pb, ak_err *e)
{
    for (int i = 0; i < AK_DIM; i++) {
        if (!isfinite(r->embedding[i])) {
            *pb = AK_REC_BAD_EMBEDDING;
            return ak_err_set(e, AK_ERR_INVALID, "embedding[%d]: not finite in float32", i);
        }
    }
    r->has_embedding = ak_vec_has_direction(r->embedding);
    return AK_OK;
}

static ak_code take_embedding(const ak_json *v, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
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
    if (v->floats) { /* read straight into floats (ak_json_doc_float_arrays) */
        memcpy(r->embedding, v->floats, sizeof r->embedding);
        return check_embedding(r, pb, e);
    }
    int i = 0;
    for (const ak_json *x = v->first; x; x = x->next, i++) {
        if (x->type != AK_JSON_NUMBER) {
            *pb = AK_REC_BAD_EMBEDDING;
            return ak_err_set(e, AK_ERR_INVALID, "embedding[%d]: not a number", i);
        }
        r->embedding[i] = ak_json_float32(x);
    }
    return check_embedding(r, pb, e);
}

static ak_code take_timestamp(const ak_json *v, int64_t dflt, ak_record *r,
                              ak_rec_problem *pb, ak_err *e)
{
    r->ts_us = dflt;
    if (!v || v->type == AK_JSON_NULL)
        return AK_OK;
    if (v->type != AK_JSON_STRING || !ak_time_parse(v->str, v->str_len, &r->ts_us))
        return reject(pb, AK_REC_BAD_TIMESTAMP, e, "timestamp: not an ISO-8601 time");
    return AK_OK;
}

static ak_code take_source(const ak_json *v, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
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

static ak_code take_metadata(const ak_json *v, ak_record *r, ak_rec_problem *pb, ak_err *e)
{
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

/* The members a record may have, each at most once: a member given twice
 * is ambiguous (which did the sender mean?), so the record is rejected
 * under that member's problem, as a manifest is. */
enum { F_ID, F_CONV_ID, F_CONTENT, F_EMBEDDING, F_TIMESTAMP, F_SOURCE, F_METADATA, F_COUNT };
static const char *const field_names[F_COUNT] = {
    "id", "conversation_id", "content", "embedding", "timestamp", "source", "metadata"};
static const ak_rec_problem field_problems[F_COUNT] = {
    AK_REC_BAD_ID, AK_REC_BAD_ID, AK_REC_BAD_CONTENT, AK_REC_BAD_EMBEDDING,
    AK_REC_BAD_TIMESTAMP, AK_REC_BAD_SOURCE, AK_REC_BAD_METADATA};

static int field_of(const char *key, size_t len)
{
    for (int f = 0; f < F_COUNT; f++)
        if (strlen(field_names[f]) == len && memcmp(field_names[f], key, len) == 0)
            return f;
    return -1;
}

/* Walk the record member by member (json.h), reading a well-formed
 * embedding straight into floats: building a node for each of its 384
 * numbers was most of the cost of ingestion.  Every other value, including
 * an embedding that is not a plain array of 384 numbers, becomes a tree
 * node, so the checks below see the same thing whichever way it came. */
static ak_code collect(ak_json_doc *doc, const ak_json *v[F_COUNT], int *floats_done,
                       float *floats, ak_rec_problem *pb, ak_err *e)
{
    const char *key;
    size_t key_len;
    int seen = 0, more;
    while ((more = ak_json_obj_next(doc, &key, &key_len)) == 1) {
        int f = field_of(key, key_len);
        const ak_json *value;
        if (f >= 0 && (seen & (1 << f))) {
            *pb = field_problems[f];
            return ak_err_set(e, AK_ERR_INVALID, "%s: given more than once", field_names[f]);
        }
        if (f >= 0) {
            seen |= 1 << f;
            if (f == F_EMBEDDING && ak_json_obj_floats(doc, floats, AK_DIM)) {
                *floats_done = 1;
                continue;
            }
            if (ak_json_obj_value(doc, &v[f]))
                return e ? e->code : AK_ERR_INVALID;
        } else if (ak_json_obj_value(doc, &value)) {
            return e ? e->code : AK_ERR_INVALID;
        }
    }
    return more == 0 ? AK_OK : e ? e->code : AK_ERR_INVALID;
}

/* Not an object: say whether it is JSON at all. */
static ak_code not_an_object(ak_json_doc *doc, const char *text, size_t len,
                             ak_rec_problem *pb, ak_err *e)
{
    const ak_json *root;
    ak_code rc = ak_json_parse(doc, text, len, &root, e);
    if (rc) {
        *pb = rc == AK_ERR_INVALID ? AK_REC_INVALID_JSON : AK_REC_OK;
        return rc;
    }
    return reject(pb, AK_REC_NOT_OBJECT, e, "record must be a JSON object");
}

/* The members found, judged in a fixed order (the first problem names the
 * record's). */
static ak_code take_all(const ak_json *const v[F_COUNT], int floats_done, int64_t default_ts_us,
                        ak_record *r, ak_rec_problem *pb, ak_err *e)
{
    ak_code rc;
    if ((rc = take_content(v[F_CONTENT], r, pb, e)) ||
        (rc = take_id(v[F_ID], v[F_CONV_ID], r, pb, e)) ||
        (rc = floats_done ? check_embedding(r, pb, e) : take_embedding(v[F_EMBEDDING], r, pb, e)) ||
        (rc = take_timestamp(v[F_TIMESTAMP], default_ts_us, r, pb, e)) ||
        (rc = take_source(v[F_SOURCE], r, pb, e)) || (rc = take_metadata(v[F_METADATA], r, pb, e)))
        return rc;
    return AK_OK;
}

ak_code ak_record_parse(ak_json_doc *doc, const char *text, size_t len,
                        int64_t default_ts_us, ak_record *r,
                        ak_rec_problem *pb, ak_err *e)
{
    const ak_json *v[F_COUNT] = {0};
    int floats_done = 0;
    ak_err local;
    ak_code rc;
    *pb = AK_REC_OK;
    if (!e)
        e = &local;
    if (len > AK_RECORD_TEXT_MAX)
        return reject(pb, AK_REC_TOO_LARGE, e, "record larger than 8 MiB");
    if (ak_json_obj_begin(doc, text, len, e))
        return not_an_object(doc, text, len, pb, e);
    if ((rc = collect(doc, v, &floats_done, r->embedding, pb, e))) {
        if (*pb == AK_REC_OK)
            *pb = rc == AK_ERR_INVALID ? AK_REC_INVALID_JSON : AK_REC_OK;
        return rc;
    }
    return take_all(v, floats_done, default_ts_us, r, pb, e);
}

ak_code ak_record_from_values(const ak_record_values *in, int64_t default_ts_us, ak_record *r,
                              ak_rec_problem *pb, ak_err *e)
{
    const ak_json *v[F_COUNT] = {[F_ID] = in->id, [F_CONTENT] = in->content,
                                 [F_EMBEDDING] = in->embedding, [F_TIMESTAMP] = in->timestamp,
                                 [F_METADATA] = in->metadata};
    ak_err local;
    *pb = AK_REC_OK;
    return take_all(v, 0, default_ts_us, r, pb, e ? e : &local);
}

static ak_code parts_embedding(const ak_record_parts *p, ak_record *r, ak_rec_problem *pb,
                               ak_err *e)
{
    r->has_embedding = 0;
    if (!p->embedding)
        return AK_OK;
    if (p->n_embedding != AK_DIM) {
        *pb = AK_REC_BAD_EMBEDDING;
        return ak_err_set(e, AK_ERR_INVALID, "embedding: has %zu numbers, expected %d",
                          p->n_embedding, AK_DIM);
    }
    memcpy(r->embedding, p->embedding, sizeof r->embedding);
    return check_embedding(r, pb, e);
}

ak_code ak_record_from_parts(const ak_record_parts *p, int64_t default_ts_us, ak_record *r,
                             ak_rec_problem *pb, ak_err *e)
{
    ak_err local;
    ak_code rc;
    *pb = AK_REC_OK;
    if (!e)
        e = &local;
    if (!p->content)
        return reject(pb, AK_REC_BAD_CONTENT, e, "content: required field is missing");
    if ((rc = check_content(p->content, p->content_len, r, pb, e)))
        return rc;
    if (p->id)
        rc = check_id("id", p->id, p->id_len, r, pb, e);
    else
        derive_id(r);
    if (rc || (rc = parts_embedding(p, r, pb, e)))
        return rc;
    r->ts_us = p->has_ts ? p->ts_us : default_ts_us;
    r->source = "session-buddy";
    r->source_len = strlen(r->source);
    r->metadata = p->metadata;
    r->metadata_len = p->metadata ? p->metadata_len : 0;
    if (p->metadata && (p->metadata_len < 2 || p->metadata[0] != '{'))
        return reject(pb, AK_REC_BAD_METADATA, e, "metadata: must be an object");
    return AK_OK;
}
