/*
 * test_embed.c - the embedding providers' wire formats (embed/parse.h), the
 * query cache (embed/cache.h), the provider configuration (embed/embed.h)
 * and result snippets (view/snippet.h).  The HTTP side is tested against a
 * real server in tests/integration/test_words.sh.
 */
#include <math.h>

#include "test.h"

#include "embed/cache.h"
#include "embed/embed.h"
#include "embed/parse.h"
#include "view/snippet.h"
#include "util/json.h"

static float out[3 * AK_DIM];

/* A JSON list of AK_DIM numbers: i-th is base + i/1000, except one slot. */
static void vec_json(ak_buf *b, double base, int dim, const char *slot0)
{
    ak_buf_putc(b, '[');
    for (int i = 0; i < dim; i++) {
        if (i == 0 && slot0)
            ak_buf_puts(b, slot0);
        else
            ak_buf_printf(b, "%g", base + i / 1000.0);
        if (i + 1 < dim)
            ak_buf_putc(b, ',');
    }
    ak_buf_putc(b, ']');
}

static ak_code parse(ak_embed_kind k, const ak_buf *b, size_t n, ak_err *e)
{
    return ak_embed_parse(k, b->data, b->len, n, out, e);
}

static void test_openai_answers(void)
{
    ak_buf b = {0};
    ak_err e;
    ak_buf_puts(&b, "{\"object\":\"list\",\"data\":[{\"index\":1,\"embedding\":");
    vec_json(&b, 2, AK_DIM, NULL);
    ak_buf_puts(&b, "},{\"index\":0,\"embedding\":");
    vec_json(&b, 1, AK_DIM, NULL);
    ak_buf_puts(&b, "}],\"model\":\"m\"}");
    CHECK_OK(parse(AK_EMBED_OPENAI, &b, 2, &e), e);
    CHECK(out[0] == 1.0f && out[AK_DIM] == 2.0f); /* placed by index */
    CHECK_INT(parse(AK_EMBED_OPENAI, &b, 3, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, "2 embeddings for 3 texts");
    CHECK_INT(parse(AK_EMBED_OLLAMA, &b, 2, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, "no \"embeddings\" list");
    ak_buf_free(&b);
    const char *bad[][2] = {
        {"{\"data\":[{\"index\":7,\"embedding\":[1]}]}", "index is not a fresh"},
        {"{\"data\":[{\"embedding\":\"x\"}]}", "not a list of numbers"},
        {"{\"data\":{}}", "no \"data\" list"},
        {"{\"error\":{\"message\":\"model not found\"}}", "the provider said: model not found"},
        {"{\"error\":\"overloaded\"}", "the provider said: overloaded"},
        {"[1,2]", "not a JSON object"},
        {"{\"data\":[", "malformed JSON"},
        {"", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(ak_embed_parse(AK_EMBED_OPENAI, bad[i][0], strlen(bad[i][0]), 1, out, &e),
                  AK_ERR_INVALID);
        CHECK_HAS(e.msg, bad[i][1]);
    }
    const char *twice = "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,\"embedding\":[1]}]}";
    CHECK_INT(ak_embed_parse(AK_EMBED_OPENAI, twice, strlen(twice), 2, out, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, "data[1].index is not a fresh position");
    CHECK_INT(ak_embed_parse(AK_EMBED_OPENAI, "{}", 2, 0, out, &e), AK_ERR_INVALID);
    CHECK_INT(ak_embed_parse(AK_EMBED_OPENAI, "{}", 2, AK_EMBED_BATCH_MAX + 1, out, &e),
              AK_ERR_INVALID);
}

static void test_ollama_answers(void)
{
    ak_buf b = {0};
    ak_err e;
    ak_buf_puts(&b, "{\"model\":\"nomic-embed-text\",\"embeddings\":[");
    vec_json(&b, 0.5, AK_DIM, NULL);
    ak_buf_puts(&b, "]}");
    CHECK_OK(parse(AK_EMBED_OLLAMA, &b, 1, &e), e);
    CHECK(fabsf(out[383] - (0.5f + 0.383f)) < 1e-6f);
    /* every wrong vector is refused with the reason */
    struct { int dim; const char *slot0, *why; } cases[] = {
        {768, NULL, "has 768 numbers, expected 384"},
        {383, NULL, "has 383 numbers, expected 384"},
        {AK_DIM, "1e999", "embedding 0[0] is not a finite number"},
        {AK_DIM, "-1e400", "is not a finite number"},
        {AK_DIM, "\"1\"", "is not a finite number"},
        {AK_DIM, "null", "is not a finite number"},
        {AK_DIM, "NaN", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ak_buf_reset(&b);
        ak_buf_puts(&b, "{\"embeddings\":[");
        vec_json(&b, 0.5, cases[i].dim, cases[i].slot0);
        ak_buf_puts(&b, "]}");
        CHECK_INT(parse(AK_EMBED_OLLAMA, &b, 1, &e), AK_ERR_INVALID);
        CHECK_HAS(e.msg, cases[i].why);
    }
    ak_buf_reset(&b);
    ak_buf_puts(&b, "{\"embeddings\":[");
    vec_json(&b, 0, AK_DIM, "0"); /* 0, 0.001, ... : not all zero */
    ak_buf_puts(&b, "]}");
    CHECK_OK(parse(AK_EMBED_OLLAMA, &b, 1, &e), e);
    ak_buf_reset(&b);
    ak_buf_puts(&b, "{\"embeddings\":[[");
    for (int i = 0; i < AK_DIM; i++)
        ak_buf_puts(&b, i ? ",0" : "0.0");
    ak_buf_puts(&b, "]]}");
    CHECK_INT(parse(AK_EMBED_OLLAMA, &b, 1, &e), AK_ERR_INVALID);
    CHECK_HAS(e.msg, "all zeros");
    ak_buf_free(&b);
}

static void test_requests(void)
{
    const char *texts[] = {"slow \"db\"", "tab\there"};
    size_t lens[] = {9, 8};
    ak_buf b = {0};
    CHECK_INT(ak_embed_request(AK_EMBED_OPENAI, NULL, texts, lens, 2, &b), AK_OK);
    CHECK_STR(b.data, "{\"input\":[\"slow \\\"db\\\"\",\"tab\\there\"]}");
    ak_buf_reset(&b);
    CHECK_INT(ak_embed_request(AK_EMBED_OLLAMA, "nomic-embed-text", texts, lens, 1, &b), AK_OK);
    CHECK_STR(b.data, "{\"model\":\"nomic-embed-text\",\"input\":[\"slow \\\"db\\\"\"],\"truncate\":true}");
    ak_buf_free(&b);
    ak_embed_kind k;
    CHECK(ak_embed_kind_parse("ollama", &k) == 0 && k == AK_EMBED_OLLAMA);
    CHECK(ak_embed_kind_parse("openai", &k) == 0 && k == AK_EMBED_OPENAI);
    CHECK(ak_embed_kind_parse("OpenAI", &k) == -1 && ak_embed_kind_parse(NULL, &k) == -1);
    CHECK_STR(ak_embed_kind_path(AK_EMBED_OLLAMA), "/api/embed");
    CHECK_STR(ak_embed_kind_path(AK_EMBED_OPENAI), "/embeddings");
}

static void fill(float *v, float x)
{
    for (int i = 0; i < AK_DIM; i++)
        v[i] = x;
}

static void test_cache_lru(void)
{
    ak_embed_cache *c;
    float v[AK_DIM], got[AK_DIM];
    CHECK_INT(ak_embed_cache_new(2, &c, NULL), AK_OK);
    fill(v, 1);
    ak_embed_cache_put(c, "a", 1, v);
    fill(v, 2);
    ak_embed_cache_put(c, "b", 1, v);
    CHECK(ak_embed_cache_get(c, "a", 1, got) && got[0] == 1); /* a is now the most recent */
    fill(v, 3);
    ak_embed_cache_put(c, "c", 1, v); /* evicts b, the least recent */
    CHECK(!ak_embed_cache_get(c, "b", 1, got));
    CHECK(ak_embed_cache_get(c, "a", 1, got) && got[0] == 1);
    CHECK(ak_embed_cache_get(c, "c", 1, got) && got[0] == 3);
    fill(v, 4);
    ak_embed_cache_put(c, "c", 1, v); /* replaces, no growth */
    CHECK(ak_embed_cache_get(c, "c", 1, got) && got[0] == 4);
    CHECK_INT(ak_embed_cache_size(c), 2);
    CHECK(!ak_embed_cache_get(c, "ab", 2, got) && !ak_embed_cache_get(c, "", 0, got));
    for (int i = 0; i < 100; i++) { /* churn: stays bounded */
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ak_embed_cache_put(c, k, strlen(k), v);
    }
    CHECK_INT(ak_embed_cache_size(c), 2);
    CHECK(ak_embed_cache_get(c, "k99", 3, got) && ak_embed_cache_get(c, "k98", 3, got));
    ak_embed_cache_free(c);
    CHECK_INT(ak_embed_cache_new(0, &c, NULL), AK_OK); /* capacity 0: holds nothing */
    ak_embed_cache_put(c, "a", 1, v);
    CHECK(!ak_embed_cache_get(c, "a", 1, got));
    ak_embed_cache_free(c);
}

static void test_config(void)
{
    ak_embed_config c;
    ak_embed *e = NULL;
    ak_err err;
    unsetenv("MAHAVISHNU__LLAMA_SERVER_URL");
    unsetenv("MAHAVISHNU__OLLAMA_URL");
    ak_embed_config_init(&c);
    CHECK(!ak_embed_config_resolve(&c));
    CHECK_OK(ak_embed_new(&c, &e, &err), err);
    CHECK(e == NULL); /* none configured */
    float v[AK_DIM];
    CHECK_INT(ak_embed_query(NULL, "words", v, &err), AK_ERR_UNSUPPORTED);
    CHECK_HAS(err.msg, "no embedding provider configured");
    setenv("MAHAVISHNU__OLLAMA_URL", "http://127.0.0.1:9/", 1);
    CHECK(ak_embed_config_resolve(&c));
    CHECK_STR(c.provider, "ollama");
    CHECK_OK(ak_embed_new(&c, &e, &err), err);
    CHECK_STR(ak_embed_describe(e), "ollama at http://127.0.0.1:9");
    ak_embed_free(e);
    ak_embed_config_init(&c);
    setenv("MAHAVISHNU__LLAMA_SERVER_URL", "http://127.0.0.1:9/v1", 1); /* Session-Buddy's order */
    CHECK(ak_embed_config_resolve(&c));
    CHECK_STR(c.provider, "openai");
    CHECK_STR(c.url, "http://127.0.0.1:9/v1");
    ak_embed_config_init(&c);
    c.url = "http://own:1";
    CHECK(ak_embed_config_resolve(&c) && !strcmp(c.url, "http://own:1")); /* ours wins */
    c.provider = "grpc";
    CHECK_INT(ak_embed_new(&c, &e, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "not openai or ollama");
    c.provider = NULL;
    c.url = "file:///etc/passwd";
    CHECK_INT(ak_embed_new(&c, &e, &err), AK_ERR_INVALID);
    unsetenv("MAHAVISHNU__LLAMA_SERVER_URL");
    unsetenv("MAHAVISHNU__OLLAMA_URL");
}

static void test_snippets(void)
{
    size_t s, n;
    const char *t = "alpha beta gamma delta epsilon PostgreSQL zeta eta theta";
    ak_snippet_window(t, strlen(t), "postgres", 20, &s, &n);
    CHECK(strncmp(t + s, "PostgreSQL", 10) == 0 && n == 20); /* the match, from a word start */
    ak_snippet_window(t, strlen(t), "nothing here", 10, &s, &n);
    CHECK_INT(s, 0);
    CHECK_INT(n, 10);
    ak_snippet_window(t, strlen(t), NULL, 1000, &s, &n);
    CHECK(s == 0 && n == strlen(t));
    ak_snippet_window(t, strlen(t), "ta", 1000, &s, &n); /* "ta" begins no word but... */
    CHECK_INT(s, 0);
    /* never cut inside a UTF-8 character */
    const char *u = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 word";
    ak_snippet_window(u, strlen(u), NULL, 3, &s, &n);
    CHECK(s == 0 && n == 2);
    ak_snippet_window(u, strlen(u), "word", 4, &s, &n);
    CHECK(ak_utf8_valid(u + s, n));
    ak_buf b = {0};
    ak_jw w;
    ak_jw_init(&w, &b);
    ak_jw_obj(&w);
    ak_snippet_json(&w, t, "zeta", 12);
    ak_snippet_json(&w, NULL, "x", 12);
    ak_jw_end(&w);
    CHECK_STR(b.data, "{\"snippet\":\"...zeta eta the...\",\"snippet\":\"\"}");
    ak_buf_free(&b);
}

int main(void)
{
    RUN(test_openai_answers);
    RUN(test_ollama_answers);
    RUN(test_requests);
    RUN(test_cache_lru);
    RUN(test_config);
    RUN(test_snippets);
    return test_report("embed");
}
