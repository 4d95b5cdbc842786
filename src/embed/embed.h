/*
 * embed.h - turning words into vectors through an embedding provider, the
 * way Session-Buddy does (../shared/session-buddy.md section 4), so a
 * query lands in the same space as the stored memories.
 *
 * Configuration (flags beat variables; see ak_embed_config_resolve):
 *   AKOSHA_EMBED_URL        base URL (".../v1" for llama-server, the host for Ollama)
 *   AKOSHA_EMBED_PROVIDER   openai | ollama (default: openai, or ollama when
 *                           the URL came from MAHAVISHNU__OLLAMA_URL)
 *   AKOSHA_EMBED_MODEL      model name (Ollama default: nomic-embed-text)
 *   AKOSHA_EMBED_API_KEY    sent as "Authorization: Bearer"; never logged
 *   AKOSHA_EMBED_TIMEOUT_MS per request (default 2000)
 * With no URL set, Session-Buddy's own MAHAVISHNU__LLAMA_SERVER_URL, then
 * MAHAVISHNU__OLLAMA_URL, are used; with none, there is no provider and
 * searches by words are keyword searches that say why.
 *
 * Every call: a timeout, one retry on a transport error, a 5xx or 429, a
 * circuit breaker (objstore/breaker.h: after 5 failures in a row calls
 * fail at once for 30 s, then one trial decides) and counters.  Queries go
 * through an LRU cache of 1,024 texts; batches (backfill) do not.
 *
 * Ownership: ak_embed_new() / ak_embed_free().  Thread-safe: every call
 * uses its own curl handle.
 */
#ifndef AK_EMBED_H
#define AK_EMBED_H

#include <stdint.h>

#include "embed/parse.h"
#include "objstore/objstore.h"
#include "util/buf.h"
#include "util/opts.h"

typedef struct {
    const char *url, *provider, *model, *api_key;
    long long timeout_ms;          /* per attempt */
    long long retries;             /* further attempts after a transient failure */
    long long breaker_failures;    /* in a row, to open the breaker */
    long long breaker_cooldown_ms;
    long long cache_entries;
} ak_embed_config;

/* Defaults, before the options table fills it. */
void ak_embed_config_init(ak_embed_config *c);

/* The option-table entries every command that embeds takes (flags and
 * their AKOSHA_EMBED_* variables). */
#define AK_OPT_EMBED(c)                                                                              \
    {"embed-url", "AKOSHA_EMBED_URL", AK_OPT_STR, &(c)->url, "URL",                                  \
     "embedding provider base URL (else MAHAVISHNU__LLAMA_SERVER_URL / MAHAVISHNU__OLLAMA_URL)", 0, 0}, \
    {"embed-provider", "AKOSHA_EMBED_PROVIDER", AK_OPT_STR, &(c)->provider, "NAME",                  \
     "openai (llama-server, vLLM, TEI, OpenAI) or ollama", 0, 0},                                    \
    {"embed-model", "AKOSHA_EMBED_MODEL", AK_OPT_STR, &(c)->model, "NAME", "embedding model name", 0, 0}, \
    {"embed-api-key", "AKOSHA_EMBED_API_KEY", AK_OPT_STR, &(c)->api_key, "KEY",                      \
     "bearer token for the provider (prefer the variable)", 0, 0},                                  \
    {"embed-timeout-ms", "AKOSHA_EMBED_TIMEOUT_MS", AK_OPT_INT, &(c)->timeout_ms, "MS",              \
     "per provider request (default 2000)", 1, 600000},                                              \
    {"embed-breaker-failures", "AKOSHA_EMBED_BREAKER_FAILURES", AK_OPT_INT, &(c)->breaker_failures,  \
     "N", "failures in a row that open the provider's breaker (default 5)", 1, 1000},                \
    {"embed-breaker-cooldown-ms", "AKOSHA_EMBED_BREAKER_COOLDOWN_MS", AK_OPT_INT,                    \
     &(c)->breaker_cooldown_ms, "MS", "how long an open breaker refuses (default 30000)", 0, 86400000}

/* Fill url and provider from Session-Buddy's variables when url is unset.
 * Returns 1 when a provider is configured. */
int ak_embed_config_resolve(ak_embed_config *c);

typedef struct ak_embed ak_embed;

/* AK_ERR_INVALID for a bad provider name or URL.  With no URL configured,
 * *out is NULL and AK_OK: callers treat a NULL embedder as "none". */
ak_code ak_embed_new(const ak_embed_config *c, ak_embed **out, ak_err *err);
void ak_embed_free(ak_embed *e);

/* One query's vector, unit length, through the cache.  Errors are the
 * reason a search falls back to keywords: AK_ERR_IO (down, slow, 5xx,
 * breaker open), AK_ERR_INVALID (a wrong answer), AK_ERR_AUTH (401/403).
 * e may be NULL: "no embedding provider configured". */
ak_code ak_embed_query(ak_embed *e, const char *text, float out[AK_DIM], ak_err *err);

/* n (1..AK_EMBED_BATCH_MAX) texts in one request into out[n * AK_DIM]
 * (not normalized; not cached).  Texts longer than AK_EMBED_TEXT_MAX bytes
 * are cut at a character boundary. */
#define AK_EMBED_TEXT_MAX 8192
ak_code ak_embed_batch(ak_embed *e, const char *const *texts, const size_t *lens, size_t n,
                       float *out, ak_err *err);

typedef struct {
    long long calls, failures, cache_hits, texts;
    double seconds; /* total time spent in provider calls */
    ak_breaker_state breaker;
} ak_embed_stats;

/* "openai at http://host:8080/v1 (model m)": for logs, without the key. */
const char *ak_embed_describe(const ak_embed *e);
/* Prometheus lines for the counters (akosha_embed_*). */
void ak_embed_metrics(ak_embed *e, ak_buf *out);

#endif
