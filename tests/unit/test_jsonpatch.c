/* test_jsonpatch.c - util/jsonpatch: the merge gives what DuckDB's
 * json_merge_patch gave for the same inputs (the expected strings are
 * DuckDB 1.5's output, whitespace aside); a target that is not an object
 * counts as {}; a patch that is not one is refused; garbage as the target
 * gives the patch. */
#include "test.h"

#include <string.h>

#include "util/jsonpatch.h"

static ak_json_doc *td, *pd;

/* merge(target, patch) as a string ("" after an error). */
static const char *merge(const char *target, const char *patch, ak_code *rc)
{
    static ak_buf out;
    ak_err e;
    ak_buf_reset(&out);
    ak_buf_puts(&out, "");
    *rc = ak_json_merge_patch(td, pd, target, target ? strlen(target) : 0, patch, strlen(patch),
                              &out, &e);
    return *rc ? "" : out.data;
}

static void test_like_duckdb(void)
{
    static const char *const cases[][3] = {
        /* a null column removes the key; new members after the target's */
        {"{\"a\": 1, \"project\": \"x\", \"b\" : [1, 2]}",
         "{\"type\":\"conversation\",\"project\":null,\"tags\":[\"t1\",\"t2\"],\"imp\":0.5}",
         "{\"a\":1,\"b\":[1,2],\"type\":\"conversation\",\"tags\":[\"t1\",\"t2\"],\"imp\":0.5}"},
        /* a replaced member moves to the patch's place */
        {"{\"a\":1,\"type\":\"mine\",\"z\":{\"k\":1}}", "{\"type\":\"conversation\",\"z\":null}",
         "{\"a\":1,\"type\":\"conversation\"}"},
        {"{\"a\":1,\"a\":2}", "{\"type\":\"c\"}", "{\"a\":1,\"a\":2,\"type\":\"c\"}"},
        /* an object value merges (its nulls dropped) */
        {"{\"a\":1}", "{\"type\":\"c\",\"rel\":{\"x\":null,\"y\":1}}",
         "{\"a\":1,\"type\":\"c\",\"rel\":{\"y\":1}}"},
        {"{\"rel\":{\"x\":5,\"w\":1}}", "{\"type\":\"c\",\"rel\":{\"x\":null,\"y\":1}}",
         "{\"type\":\"c\",\"rel\":{\"w\":1,\"y\":1}}"},
        /* escapes decoded and written again */
        {"{\"a\": \"x\\u00e9\\n\"}", "{\"type\":\"c\"}", "{\"a\":\"x\xc3\xa9\\n\",\"type\":\"c\"}"},
        /* not an object, or not JSON: {} */
        {NULL, "{\"type\":\"c\"}", "{\"type\":\"c\"}"},
        {"[1,2]", "{\"type\":\"c\"}", "{\"type\":\"c\"}"},
        {"{\"a\":", "{\"type\":\"c\"}", "{\"type\":\"c\"}"},
        {"", "{}", "{}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ak_code rc;
        CHECK_STR(merge(cases[i][0], cases[i][1], &rc), cases[i][2]);
        CHECK_INT(rc, AK_OK);
    }
}

static void test_patch_must_be_object(void)
{
    ak_code rc;
    merge("{}", "[1]", &rc);
    CHECK_INT(rc, AK_ERR_INVALID);
    merge("{}", "{\"a\":", &rc);
    CHECK_INT(rc, AK_ERR_INVALID);
}

/* Garbage as the row's metadata (another program's file): {} and the patch. */
static void test_garbage_target(void)
{
    char junk[64];
    unsigned seed = 12;
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(seed % sizeof junk);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = "{}[]\":,0 a\\n-e.tu"[(seed >> 16) % 18];
        }
        junk[n] = '\0';
        seed = seed * 1103515245u + 12345u;
        ak_code rc;
        const char *got = merge(junk, "{\"type\":\"c\"}", &rc);
        CHECK_INT(rc, AK_OK);
        CHECK(got[0] == '{' && strstr(got, "\"type\":\"c\"}") != NULL);
    }
}

int main(void)
{
    td = ak_json_doc_new();
    pd = ak_json_doc_new();
    RUN(test_like_duckdb);
    RUN(test_patch_must_be_object);
    RUN(test_garbage_target);
    ak_json_doc_free(td);
    ak_json_doc_free(pd);
    return test_report("jsonpatch");
}
