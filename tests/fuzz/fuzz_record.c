/*
 * fuzz_record.c - libFuzzer target for ak_record_parse() (SPEC section 3).
 *
 * The whole input is one record's JSON text, parsed with one ak_json_doc
 * reused across inputs (as ingestion reuses it, so arena rewinding is
 * exercised) and ingestion's limits (depth 64, 200000 values).  An accepted
 * record must keep every promise of record.h; its content and embedding
 * are also compared with an independent parse of the same text.
 *
 * Run with scripts/fuzz.sh record [seconds].
 */
#include "fuzz_common.h"

static ak_json_doc *rec_doc, *ref_doc;

/* Fields of an accepted record against a second, independent parse. */
static void compare_with_json(const ak_record *r, const char *text, size_t len)
{
    const ak_json *root = NULL;
    ak_err e;
    FUZZ_CHECK(ak_json_parse(ref_doc, text, len, &root, &e) == AK_OK,
               "record accepted but its JSON does not parse: %s", e.msg);

    const ak_json *c = ak_json_get(root, "content");
    FUZZ_CHECK(c && c->type == AK_JSON_STRING && c->str_len == r->content_len &&
                   memcmp(c->str, r->content, r->content_len) == 0,
               "content is not the document's");

    const ak_json *id = ak_json_get(root, "id");
    if (!id || id->type == AK_JSON_NULL)
        id = ak_json_get(root, "conversation_id");
    if (id && id->type != AK_JSON_NULL)
        FUZZ_CHECK(id->type == AK_JSON_STRING && id->str_len == r->id_len &&
                       memcmp(id->str, r->id, r->id_len) == 0,
                   "id is not the document's");
    else
        FUZZ_CHECK(r->id == r->id_hex, "no id given but id not derived from content");

    const ak_json *emb = ak_json_get(root, "embedding");
    if (r->has_embedding) {
        FUZZ_CHECK(emb && emb->type == AK_JSON_ARRAY && emb->n_kids == AK_DIM,
                   "has_embedding without a 384-number list");
        int i = 0;
        for (const ak_json *x = emb->first; x; x = x->next, i++) {
            float ref = (float)ak_json_number(x);
            FUZZ_CHECK(fuzz_float_close(r->embedding[i], ref),
                       "embedding[%d] = %.9g but the text %.*s is %.9g", i,
                       (double)r->embedding[i], (int)x->raw_len, x->raw, (double)ref);
        }
    }

    const ak_json *ts = ak_json_get(root, "timestamp");
    if (!ts || ts->type == AK_JSON_NULL)
        FUZZ_CHECK(r->ts_us == FUZZ_NOW_US, "no timestamp but ts_us is not the default");
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
        fuzz_check_record(&r, FUZZ_NOW_US);
        compare_with_json(&r, text, size);
    } else {
        fuzz_check_record_failure(rc, p, &e);
    }
    return 0;
}
