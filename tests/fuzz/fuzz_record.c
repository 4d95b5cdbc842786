/*
 * fuzz_record.c - libFuzzer target for ak_record_parse() (SPEC section 3).
 *
 * The whole input is one record's JSON text, parsed with one ak_json_doc
 * reused across inputs (as ingestion reuses it, so arena rewinding is
 * exercised) and ingestion's limits (depth 64, 200000 values).  An accepted
 * record must keep every promise of record.h.  A reference validator, the
 * rules of record.h applied to the plain ak_json_parse() tree, must reach
 * the same verdict (ok or which problem), and an accepted record's fields
 * must be the tree's (embedding values within one float32 unit of the
 * exact ones).  This pins the record parser's member-by-member fast path
 * (ak_json_obj_*) to the simple tree semantics.
 *
 * Run with scripts/fuzz.sh record [seconds].
 */
#include "fuzz_common.h"

static ak_json_doc *rec_doc, *ref_doc;

/* ---- a reference validator: record.h's rules over the plain JSON tree ---- */

static const ak_json *member(const ak_json *root, const char *name)
{
    const ak_json *v = ak_json_get(root, name); /* the first one counts */
    return v && v->type != AK_JSON_NULL ? v : NULL;
}

static int has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* The problem of the first record field given twice (a record holding a
 * member twice is refused under that member's category), or AK_REC_OK. */
static ak_rec_problem duplicate(const ak_json *root)
{
    static const char *const names[] = {"id", "conversation_id", "content", "embedding",
                                        "timestamp", "source", "metadata"};
    static const ak_rec_problem problems[] = {
        AK_REC_BAD_ID, AK_REC_BAD_ID, AK_REC_BAD_CONTENT, AK_REC_BAD_EMBEDDING,
        AK_REC_BAD_TIMESTAMP, AK_REC_BAD_SOURCE, AK_REC_BAD_METADATA};
    int seen = 0;
    for (const ak_json *m = root->first; m; m = m->next)
        for (int f = 0; f < 7; f++)
            if (m->key_len == strlen(names[f]) && !memcmp(m->key, names[f], m->key_len)) {
                if (seen & (1 << f))
                    return problems[f];
                seen |= 1 << f;
            }
    return AK_REC_OK;
}

static ak_rec_problem rules(const ak_json *root, int *unsure);

/* What ak_record_parse() must conclude about a text that parsed as root.
 * *unsure is set when the answer hinges on float rounding at FLT_MAX, or
 * on the order of members: a field given twice beside another problem is
 * reported by whichever the parser meets first. */
static ak_rec_problem reference(const ak_json *root, int *unsure)
{
    *unsure = 0;
    if (root->type != AK_JSON_OBJECT)
        return AK_REC_NOT_OBJECT;
    ak_rec_problem dup = duplicate(root), rest = rules(root, unsure);
    if (dup == AK_REC_OK)
        return rest;
    if (rest != AK_REC_OK && rest != dup)
        *unsure = 1;
    return dup;
}

/* record.h's rules for a member-unique object (the first one counts). */
static ak_rec_problem rules(const ak_json *root, int *unsure)
{
    const ak_json *v = member(root, "content");
    if (!v || v->type != AK_JSON_STRING || v->str_len == 0 || v->str_len > AK_CONTENT_MAX ||
        memchr(v->str, '\0', v->str_len))
        return AK_REC_BAD_CONTENT;
    if (!(v = member(root, "id")))
        v = member(root, "conversation_id");
    if (v && (v->type != AK_JSON_STRING || v->str_len == 0 || v->str_len > AK_CONV_ID_MAX ||
              has_ctl(v->str, v->str_len)))
        return AK_REC_BAD_ID;
    if ((v = member(root, "embedding"))) {
        if (v->type != AK_JSON_ARRAY || v->n_kids != AK_DIM)
            return AK_REC_BAD_EMBEDDING;
        int inf = 0;
        for (const ak_json *x = v->first; x; x = x->next) {
            if (x->type != AK_JSON_NUMBER)
                return AK_REC_BAD_EMBEDDING;
            double d = fabs(ak_json_number(x));
            if (!isfinite((float)d))
                inf = 1;
            if (d > 3.40282e38 && d < 3.40283e38)
                *unsure = 1; /* at FLT_MAX, one unit off is Inf */
        }
        if (inf)
            return AK_REC_BAD_EMBEDDING;
    }
    int64_t us;
    if ((v = member(root, "timestamp")) &&
        (v->type != AK_JSON_STRING || !ak_time_parse(v->str, v->str_len, &us)))
        return AK_REC_BAD_TIMESTAMP;
    if ((v = member(root, "source")) &&
        (v->type != AK_JSON_STRING || v->str_len > AK_SOURCE_MAX || has_ctl(v->str, v->str_len)))
        return AK_REC_BAD_SOURCE;
    if ((v = member(root, "metadata")) && v->type != AK_JSON_OBJECT)
        return AK_REC_BAD_METADATA;
    return AK_REC_OK;
}

/* An accepted record's fields against the tree. */
static void compare_fields(const ak_record *r, const ak_json *root)
{
    const ak_json *c = member(root, "content");
    FUZZ_CHECK(c->str_len == r->content_len && memcmp(c->str, r->content, r->content_len) == 0,
               "content is not the document's");

    const ak_json *id = member(root, "id");
    if (!id)
        id = member(root, "conversation_id");
    if (id)
        FUZZ_CHECK(id->str_len == r->id_len && memcmp(id->str, r->id, r->id_len) == 0,
                   "id is not the document's");
    else
        FUZZ_CHECK(r->id == r->id_hex, "no id given but id not derived from content");

    const ak_json *emb = member(root, "embedding");
    int nonzero = 0, i = 0;
    for (const ak_json *x = emb ? emb->first : NULL; x; x = x->next, i++) {
        float ref = (float)ak_json_number(x);
        nonzero |= ref != 0.0f;
        if (r->has_embedding)
            FUZZ_CHECK(fuzz_float_close(r->embedding[i], ref),
                       "embedding[%d] = %.9g but the text %.*s is %.9g", i,
                       (double)r->embedding[i], (int)x->raw_len, x->raw, (double)ref);
    }
    FUZZ_CHECK(r->has_embedding == nonzero, "has_embedding %d, but the vector is %s",
               r->has_embedding, nonzero ? "not all zeros" : "absent or all zeros");

    const ak_json *ts = member(root, "timestamp");
    int64_t us = FUZZ_NOW_US;
    if (ts)
        ak_time_parse(ts->str, ts->str_len, &us);
    FUZZ_CHECK(r->ts_us == us, "ts_us %lld, expected %lld", (long long)r->ts_us, (long long)us);

    const ak_json *src = member(root, "source");
    const char *want = src ? src->str : "session-buddy";
    size_t want_len = src ? src->str_len : strlen(want);
    FUZZ_CHECK(r->source_len == want_len && memcmp(r->source, want, want_len) == 0,
               "source is not the document's");

    const ak_json *md = member(root, "metadata");
    FUZZ_CHECK(md ? r->metadata_len == md->raw_len &&
                        memcmp(r->metadata, md->raw, md->raw_len) == 0
                  : r->metadata == NULL,
               "metadata is not the document's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rec_doc) {
        rec_doc = ak_json_doc_new();
        ref_doc = ak_json_doc_new();
        FUZZ_CHECK(rec_doc && ref_doc, "out of memory");
        ak_json_doc_limits(rec_doc, FUZZ_RECORD_DEPTH, FUZZ_RECORD_NODES);
        ak_json_doc_limits(ref_doc, FUZZ_RECORD_DEPTH, FUZZ_RECORD_NODES);
    }
    const char *text = (const char *)data;
    ak_record r;
    ak_rec_problem p = AK_REC_N_PROBLEMS;
    ak_err e;
    ak_err_clear(&e);
    memset(&r, 0xA5, sizeof r); /* nothing may depend on the caller zeroing it */
    ak_code rc = ak_record_parse(rec_doc, text, size, FUZZ_NOW_US, &r, &p, &e);
    if (rc == AK_OK) {
        FUZZ_CHECK(p == AK_REC_OK, "accepted with problem %d", (int)p);
        fuzz_check_record(&r);
    } else {
        fuzz_check_record_failure(rc, p, &e);
    }

    /* The same verdict as the rules applied to the plain tree. */
    const ak_json *root = NULL;
    ak_err re;
    ak_rec_problem want = AK_REC_INVALID_JSON;
    int unsure = 0;
    if (ak_json_parse(ref_doc, text, size, &root, &re) == AK_OK)
        want = reference(root, &unsure);
    else if (rc && strstr(e.msg, "given more than once"))
        unsure = 1; /* the parser stops at a field given twice, before the text breaks */
    if (!unsure)
        FUZZ_CHECK(p == want, "ak_record_parse says %s (%s), the rules say %s",
                   ak_rec_problem_name(p), rc ? e.msg : "accepted", ak_rec_problem_name(want));
    if (rc == AK_OK && want == AK_REC_OK)
        compare_fields(&r, root);
    return 0;
}
