/*
 * fuzz_embed.c - libFuzzer target for the embedding providers' answers
 * (src/embed/parse.c): what an OpenAI-compatible server or Ollama, or
 * anything posing as one, sends back.
 *
 * The whole input is one answer body, read as both protocols expecting 1,
 * 2 and 3 vectors.  Beyond "no crash, no leak, no undefined behaviour" it
 * checks that an accepted answer holds only finite numbers and no zero
 * vector, that a refused one says why with AK_ERR_INVALID, and that a
 * request written for the input as a text reads back as that text.
 *
 * Run with scripts/fuzz.sh embed [seconds].
 */
#include <math.h>

#include "fuzz_common.h"

#include "embed/parse.h"
#include "util/json.h"

static void read_answer(ak_embed_kind k, const char *data, size_t size, size_t n)
{
    static float v[3 * AK_DIM];
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_embed_parse(k, data, size, n, v, &e);
    if (rc != AK_OK) {
        FUZZ_CHECK(rc == e.code && e.msg[0], "failure without its message");
        FUZZ_CHECK(rc == AK_ERR_INVALID || rc == AK_ERR_NOMEM, "code %d: %s", (int)rc, e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int zero = 1;
        for (int d = 0; d < AK_DIM; d++) {
            FUZZ_CHECK(isfinite(v[i * AK_DIM + d]), "vector %zu[%d] not finite", i, d);
            zero &= v[i * AK_DIM + d] == 0.0f;
        }
        FUZZ_CHECK(!zero, "vector %zu accepted all zeros", i);
    }
}

static void round_trip(const char *data, size_t size)
{
    if (!ak_utf8_valid(data, size))
        return;
    ak_buf b = {0};
    const char *texts[1] = {data};
    FUZZ_CHECK(ak_embed_request(AK_EMBED_OLLAMA, "m", texts, &size, 1, &b) == AK_OK, "request");
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root;
    ak_err e;
    FUZZ_CHECK(ak_json_parse(doc, b.data, b.len, &root, &e) == AK_OK, "our request: %s", e.msg);
    const ak_json *in = ak_json_get(root, "input");
    FUZZ_CHECK(in && in->n_kids == 1 && in->first->str_len == size &&
                   memcmp(in->first->str, data, size) == 0, "the text does not read back");
    ak_json_doc_free(doc);
    ak_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    for (size_t n = 1; n <= 3; n++) {
        read_answer(AK_EMBED_OPENAI, text, size, n);
        read_answer(AK_EMBED_OLLAMA, text, size, n);
    }
    round_trip(text, size);
    return 0;
}
