/*
 * embed.c - see embed.h.
 */
#include "embed/embed.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embed/cache.h"
#include "objstore/breaker.h"
#include "util/json.h"
#include "util/time.h"

#define ANSWER_MAX (8 << 20) /* bytes of one provider answer */
#define RETRY_PAUSE_US 100000
#define OLLAMA_DEFAULT_MODEL "nomic-embed-text"

struct ak_embed {
    ak_embed_kind kind;
    char *endpoint, *model, *auth_header, *describe;
    long timeout_ms;
    int retries;
    int curl_ready; /* curl_global_init() was called for this handle */
    ak_breaker breaker;
    ak_embed_cache *cache;
    atomic_llong calls, failures, cache_hits, texts, micros;
};

void ak_embed_config_init(ak_embed_config *c)
{
    memset(c, 0, sizeof *c);
    c->timeout_ms = 2000;
    c->retries = 1;
    c->breaker_failures = 5;
    c->breaker_cooldown_ms = 30000;
    c->cache_entries = 1024;
}

int ak_embed_config_resolve(ak_embed_config *c)
{
    const char *llama = getenv("MAHAVISHNU__LLAMA_SERVER_URL");
    const char *ollama = getenv("MAHAVISHNU__OLLAMA_URL");
    if (c->url && *c->url)
        return 1;
    if (llama && *llama) {
        c->url = llama;
        c->provider = c->provider ? c->provider : "openai";
    } else if (ollama && *ollama) {
        c->url = ollama;
        c->provider = c->provider ? c->provider : "ollama";
    }
    return c->url && *c->url;
}

static char *dup_printf(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, fmt, a, b);
    return s;
}

ak_code ak_embed_new(const ak_embed_config *c, ak_embed **out, ak_err *err)
{
    ak_embed_kind kind = AK_EMBED_OPENAI;
    *out = NULL;
    if (!c->url || !*c->url)
        return AK_OK;
    if (c->provider && ak_embed_kind_parse(c->provider, &kind))
        return ak_err_set(err, AK_ERR_INVALID, "embed provider: \"%.64s\" is not openai or ollama",
                          c->provider);
    if (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8))
        return ak_err_set(err, AK_ERR_INVALID, "embed URL: must start with http:// or https://");
    ak_embed *e = calloc(1, sizeof *e);
    if (!e)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    size_t ul = strlen(c->url);
    while (ul > 0 && c->url[ul - 1] == '/')
        ul--;
    char base[2048];
    ak_fmt(base, sizeof base, "%.*s", (int)ul, c->url);
    e->kind = kind;
    e->timeout_ms = (long)c->timeout_ms;
    e->retries = (int)c->retries;
    e->endpoint = dup_printf("%s%s", base, ak_embed_kind_path(kind));
    const char *model = c->model && *c->model ? c->model
                        : kind == AK_EMBED_OLLAMA ? OLLAMA_DEFAULT_MODEL : "";
    e->model = strdup(model);
    if (c->api_key && *c->api_key)
        e->auth_header = dup_printf("Authorization: Bearer %s%s", c->api_key, "");
    e->describe = dup_printf("%s at %s", ak_embed_kind_name(kind), base);
    ak_breaker_init(&e->breaker, (unsigned)c->breaker_failures, c->breaker_cooldown_ms * 1000);
    ak_code rc = ak_embed_cache_new((size_t)c->cache_entries, &e->cache, err);
    if (rc == AK_OK && (!e->endpoint || !e->model || !e->describe ||
                        (c->api_key && *c->api_key && !e->auth_header)))
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc) {
        ak_embed_free(e);
        return rc;
    }
    e->curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; /* counted; undone in free */
    *out = e;
    return AK_OK;
}

void ak_embed_free(ak_embed *e)
{
    if (!e)
        return;
    if (e->curl_ready)
        curl_global_cleanup();
    ak_embed_cache_free(e->cache);
    ak_breaker_destroy(&e->breaker);
    if (e->auth_header) /* a secret: do not leave it in freed memory */
        memset(e->auth_header, 0, strlen(e->auth_header));
    free(e->auth_header);
    free(e->endpoint);
    free(e->model);
    free(e->describe);
    free(e);
}

/* ---- one HTTP exchange ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    ak_buf *b = arg;
    return ak_buf_append(b, p, size * n) == AK_OK ? size * n : 0;
}

typedef struct {
    long status;        /* HTTP status, 0 when none came */
    int transient;      /* worth another try */
} exchange;

static ak_code post(ak_embed *e, const ak_buf *body, ak_buf *answer, exchange *x, ak_err *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE] = "";
    memset(x, 0, sizeof *x);
    if (h && e->auth_header)
        h = curl_slist_append(h, e->auth_header);
    if (!c || !h) {
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    curl_easy_setopt(c, CURLOPT_URL, e->endpoint);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "akosha");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
    CURLcode cc = curl_easy_perform(c);
    ak_code rc = AK_OK;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status);
    if (cc == CURLE_WRITE_ERROR && answer->len >= ANSWER_MAX) {
        rc = ak_err_set(err, AK_ERR_INVALID, "the answer is larger than %d MiB", ANSWER_MAX >> 20);
    } else if (cc != CURLE_OK) {
        x->transient = 1;
        rc = ak_err_set(err, AK_ERR_IO, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    } else if (x->status == 401 || x->status == 403) {
        rc = ak_err_set(err, AK_ERR_AUTH, "HTTP %ld: the API key was refused", x->status);
    } else if (x->status != 200) {
        x->transient = x->status >= 500 || x->status == 429;
        rc = ak_err_set(err, x->transient ? AK_ERR_IO : AK_ERR_INVALID, "HTTP %ld: %.120s",
                        x->status, answer->len ? answer->data : "(no body)");
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

/* The request through the breaker, with retries; out gets n vectors. */
static ak_code call(ak_embed *e, const char *const *texts, const size_t *lens, size_t n,
                    float *out, ak_err *err)
{
    ak_buf body = {0}, answer = {.limit = ANSWER_MAX};
    ak_code rc = ak_embed_request(e->kind, e->model[0] ? e->model : NULL, texts, lens, n, &body);
    if (rc) {
        ak_buf_free(&body);
        return ak_err_set(err, rc, "out of memory");
    }
    int64_t t0 = ak_time_mono_us();
    for (int attempt = 0;; attempt++) {
        int trial;
        if (!ak_breaker_admit(&e->breaker, ak_time_mono_us(), &trial)) {
            rc = ak_err_set(err, AK_ERR_IO, "the provider's circuit breaker is open after "
                                            "repeated failures");
            break;
        }
        exchange x;
        ak_buf_reset(&answer);
        rc = post(e, &body, &answer, &x, err);
        if (rc == AK_OK)
            rc = ak_embed_parse(e->kind, answer.data ? answer.data : "", answer.len, n, out, err);
        ak_breaker_done(&e->breaker, trial,
                        rc == AK_OK ? AK_BREAKER_SUCCESS
                        : rc == AK_ERR_NOMEM ? AK_BREAKER_NEUTRAL : AK_BREAKER_FAILURE,
                        ak_time_mono_us());
        if (rc == AK_OK || !x.transient || attempt >= e->retries)
            break;
        struct timespec ts = {0, RETRY_PAUSE_US * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&e->calls, 1);
    atomic_fetch_add(&e->texts, (long long)n);
    atomic_fetch_add(&e->micros, ak_time_mono_us() - t0);
    if (rc) {
        atomic_fetch_add(&e->failures, 1);
        ak_err_prefix(err, "embedding provider %s: ", e->describe);
    }
    ak_buf_free(&body);
    ak_buf_free(&answer);
    return rc;
}

/* Cut at most AK_EMBED_TEXT_MAX bytes, never inside a UTF-8 character. */
static size_t cut(const char *s, size_t len)
{
    if (len <= AK_EMBED_TEXT_MAX)
        return len;
    size_t n = AK_EMBED_TEXT_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

ak_code ak_embed_batch(ak_embed *e, const char *const *texts, const size_t *lens, size_t n,
                       float *out, ak_err *err)
{
    if (!e)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "no embedding provider configured "
                                                   "(AKOSHA_EMBED_URL)");
    if (n < 1 || n > AK_EMBED_BATCH_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "a batch holds 1 to %d texts", AK_EMBED_BATCH_MAX);
    size_t cut_lens[AK_EMBED_BATCH_MAX];
    for (size_t i = 0; i < n; i++)
        cut_lens[i] = cut(texts[i], lens[i]);
    return call(e, texts, cut_lens, n, out, err);
}

ak_code ak_embed_query(ak_embed *e, const char *text, float out[AK_DIM], ak_err *err)
{
    size_t len = strlen(text);
    if (e && ak_embed_cache_get(e->cache, text, len, out)) {
        atomic_fetch_add(&e->cache_hits, 1);
        return AK_OK;
    }
    ak_code rc = ak_embed_batch(e, &text, &len, 1, out, err);
    if (rc == AK_OK && !ak_vec_normalize(out))
        rc = ak_err_set(err, AK_ERR_INVALID, "embedding provider %s: the vector cannot be "
                                             "normalized", e->describe);
    if (rc == AK_OK)
        ak_embed_cache_put(e->cache, text, len, out);
    return rc;
}

static void stats_get(ak_embed *e, ak_embed_stats *out)
{
    ak_breaker_info bi;
    ak_breaker_get(&e->breaker, ak_time_mono_us(), &bi);
    out->calls = atomic_load(&e->calls);
    out->failures = atomic_load(&e->failures);
    out->cache_hits = atomic_load(&e->cache_hits);
    out->texts = atomic_load(&e->texts);
    out->seconds = (double)atomic_load(&e->micros) / 1e6;
    out->breaker = bi.state;
}

const char *ak_embed_describe(const ak_embed *e) { return e ? e->describe : "(none)"; }

void ak_embed_metrics(ak_embed *e, ak_buf *out)
{
    ak_embed_stats s;
    if (!e)
        return;
    stats_get(e, &s);
    ak_buf_printf(out,
                  "# HELP akosha_embed_calls_total Requests to the embedding provider.\n"
                  "# TYPE akosha_embed_calls_total counter\nakosha_embed_calls_total %lld\n"
                  "# HELP akosha_embed_failures_total Provider requests that failed (after retries).\n"
                  "# TYPE akosha_embed_failures_total counter\nakosha_embed_failures_total %lld\n"
                  "# HELP akosha_embed_texts_total Texts sent to the provider.\n"
                  "# TYPE akosha_embed_texts_total counter\nakosha_embed_texts_total %lld\n"
                  "# HELP akosha_embed_cache_hits_total Query embeddings served from the cache.\n"
                  "# TYPE akosha_embed_cache_hits_total counter\nakosha_embed_cache_hits_total %lld\n"
                  "# HELP akosha_embed_seconds_total Time spent waiting for the provider.\n"
                  "# TYPE akosha_embed_seconds_total counter\nakosha_embed_seconds_total %.6f\n"
                  "# HELP akosha_embed_breaker_open 1 while the provider's circuit breaker refuses calls.\n"
                  "# TYPE akosha_embed_breaker_open gauge\nakosha_embed_breaker_open %d\n",
                  s.calls, s.failures, s.texts, s.cache_hits, s.seconds,
                  s.breaker == AK_BREAKER_OPEN);
}
