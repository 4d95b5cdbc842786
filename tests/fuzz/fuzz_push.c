/*
 * fuzz_push.c - libFuzzer target for ak_push_memory_record(): one of
 * Session-Buddy's pushed memories (or reflections) as an upload record
 * (src/server/push.h).
 *
 * The input is parsed as JSON (the request parser's tree, as the push
 * handler has it) and converted under both shapes.  A conversion that
 * succeeds must name a valid system id equal to metadata.source, and write
 * a line that parses as a JSON object whose members are the item's own
 * text (id, content, embedding, timestamp, metadata); the record parser
 * then accepts it or refuses it with a problem, never anything else, and
 * an accepted record's id is the memory's.  A refused conversion says why
 * with one of its two problems.
 *
 * Run with scripts/fuzz.sh push [seconds].
 */
#include "fuzz_common.h"

#include "server/push.h"
#include "util/buf.h"
#include "util/ids.h"

static ak_json_doc *in_doc, *line_doc, *rec_doc;

static const ak_json *given(const ak_json *obj, const char *key)
{
    const ak_json *v = obj && obj->type == AK_JSON_OBJECT ? ak_json_get(obj, key) : NULL;
    return v && v->type != AK_JSON_NULL ? v : NULL;
}

/* The line's member `key` is the item's value `want`, byte for byte. */
static void same_text(const ak_json *line, const char *key, const ak_json *want)
{
    const ak_json *got = ak_json_get(line, key);
    if (!want) {
        FUZZ_CHECK(!got, "line has %s but the memory gave none", key);
        return;
    }
    FUZZ_CHECK(got && got->raw_len == want->raw_len && memcmp(got->raw, want->raw, want->raw_len) == 0,
               "line's %s is not the memory's text", key);
}

static void convert(const ak_json *item, int reflection)
{
    ak_buf line = {0};
    char sid[AK_SYSTEM_ID_MAX + 1], why[512];
    why[0] = '\0';
    int ok = ak_push_memory_record(item, reflection, &line, sid, why, sizeof why);
    if (!ok) {
        FUZZ_CHECK(!strncmp(why, "not_object: ", 12) || !strncmp(why, "bad_source: ", 12),
                   "refused without one of its problems: \"%s\"", why);
        ak_buf_free(&line);
        return;
    }
    const ak_json *md = given(item, "metadata"), *src = given(md, "source");
    FUZZ_CHECK(src && src->type == AK_JSON_STRING && !strcmp(src->str, sid),
               "system id \"%s\" is not metadata.source", sid);
    FUZZ_CHECK(ak_id_system_valid(sid, NULL), "system id \"%s\" is not valid", sid);
    const ak_json *root;
    ak_err e;
    FUZZ_CHECK(ak_json_parse(line_doc, line.data, line.len, &root, &e) == AK_OK &&
                   root->type == AK_JSON_OBJECT,
               "the line is not a JSON object: %.200s", line.data);
    const ak_json *id = given(item, reflection ? "reflection_id" : "memory_id");
    same_text(root, "id", id);
    same_text(root, "content", given(item, reflection ? "content" : "text"));
    same_text(root, "embedding", given(item, "embedding"));
    same_text(root, "timestamp", given(md, "created_at"));
    same_text(root, "metadata", md);

    ak_record r;
    ak_rec_problem p = AK_REC_N_PROBLEMS;
    ak_code rc = ak_record_parse(rec_doc, line.data, line.len, FUZZ_NOW_US, &r, &p, &e);
    FUZZ_CHECK(rc == AK_OK || rc == AK_ERR_INVALID, "record parser: %s", e.msg);
    if (rc == AK_OK) {
        fuzz_check_record(&r);
        if (id)
            FUZZ_CHECK(id->type == AK_JSON_STRING && id->str_len == r.id_len &&
                           memcmp(id->str, r.id, r.id_len) == 0,
                       "the record's id is not the memory's");
    } else {
        fuzz_check_record_failure(rc, p, &e);
    }
    ak_buf_free(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!in_doc) {
        in_doc = ak_json_doc_new();
        line_doc = ak_json_doc_new();
        rec_doc = ak_json_doc_new();
        FUZZ_CHECK(in_doc && line_doc && rec_doc, "out of memory");
        ak_json_doc_limits(rec_doc, FUZZ_RECORD_DEPTH, FUZZ_RECORD_NODES);
    }
    const ak_json *item;
    ak_err e;
    if (ak_json_parse(in_doc, (const char *)data, size, &item, &e) != AK_OK)
        return 0;
    convert(item, 0);
    convert(item, 1);
    return 0;
}
