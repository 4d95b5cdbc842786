/*
 * orchestrator.c - see orchestrator.h.
 *
 * The call is plain libcurl, one easy handle per call (a call per interval
 * does not need connection reuse), with connect and total timeouts so a
 * hung Mahavishnu cannot hold the scheduler.
 */
#include "server/orchestrator.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#define REPLY_MAX (64 * 1024)

struct ak_orch {
    char *url;
    int64_t interval_us;
    long timeout_ms;
    pthread_mutex_t mu;
    ak_orch_mode mode;
    int64_t last_contact_us; /* wall clock of the last answered call, 0: never */
    int64_t last_cycle_mono; /* monotonic time of the last cycle that ran */
    long next_id;
    long long failures;
};

ak_code ak_orch_new(const char *url, int64_t interval_us, long timeout_ms, ak_orch **out,
                    ak_err *err)
{
    ak_orch *o = calloc(1, sizeof *o);
    if (!o)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (url && *url && !(o->url = strdup(url))) {
        free(o);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    o->interval_us = interval_us;
    o->timeout_ms = timeout_ms > 0 ? timeout_ms : 3000;
    o->mode = o->url ? AK_ORCH_NORMAL : AK_ORCH_STANDALONE;
    o->last_cycle_mono = ak_time_mono_us();
    pthread_mutex_init(&o->mu, NULL);
    *out = o;
    return AK_OK;
}

void ak_orch_free(ak_orch *o)
{
    if (!o)
        return;
    free(o->url);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

static size_t keep_reply(char *data, size_t size, size_t n, void *arg)
{
    ak_buf *b = arg;
    return ak_buf_append(b, data, size * n) == AK_OK ? size * n : 0;
}

/* The JSON-RPC answer must be a result, not an error. */
static int answered(const ak_buf *reply)
{
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root;
    int ok = doc && reply->data && ak_json_parse(doc, reply->data, reply->len, &root, NULL) == AK_OK &&
             ak_json_get(root, "result") && !ak_json_get(root, "error");
    ak_json_doc_free(doc);
    return ok;
}

static int offer(ak_orch *o, long id)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"workflow-trigger\",\"arguments\":{\"workflow\":\"akosha-daily-ingest\"}}}", id);
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    ak_buf reply = {.limit = REPLY_MAX};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_reply);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int ok = rc == CURLE_OK && status == 200 && answered(&reply);
    if (!ok)
        AK_WARN("orchestrator", "Mahavishnu at %s did not take the cycle: %s", o->url,
                rc != CURLE_OK ? curl_easy_strerror(rc) : status != 200 ? "HTTP error" : "JSON-RPC error");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    ak_buf_free(&reply);
    return ok;
}

int ak_orch_tick(ak_orch *o)
{
    if (!o->url)
        return 1;
    pthread_mutex_lock(&o->mu);
    long id = ++o->next_id;
    pthread_mutex_unlock(&o->mu);
    int ok = offer(o, id); /* outside the lock: it may take the whole timeout */
    pthread_mutex_lock(&o->mu);
    int64_t quiet = ak_time_mono_us() - o->last_cycle_mono;
    ak_orch_mode was = o->mode;
    if (ok)
        o->last_contact_us = ak_time_now_us();
    else
        o->failures++;
    /* Answered but never called back for two intervals counts as down too. */
    o->mode = ok && quiet <= 2 * o->interval_us ? AK_ORCH_NORMAL : AK_ORCH_FALLBACK;
    if (ok && was == AK_ORCH_FALLBACK)
        o->mode = AK_ORCH_NORMAL; /* give the callback a fresh chance */
    ak_orch_mode now = o->mode;
    if (now == AK_ORCH_NORMAL && was == AK_ORCH_FALLBACK)
        o->last_cycle_mono = ak_time_mono_us();
    pthread_mutex_unlock(&o->mu);
    if (now != was)
        AK_INFO("orchestrator", "mode %s -> %s", ak_orch_mode_name(was), ak_orch_mode_name(now));
    return now == AK_ORCH_FALLBACK;
}

void ak_orch_cycle_ran(ak_orch *o)
{
    pthread_mutex_lock(&o->mu);
    o->last_cycle_mono = ak_time_mono_us();
    pthread_mutex_unlock(&o->mu);
}

void ak_orch_counts(ak_orch *o, long long *calls, long long *failures)
{
    pthread_mutex_lock(&o->mu);
    *calls = o->next_id;
    *failures = o->failures;
    pthread_mutex_unlock(&o->mu);
}

ak_orch_mode ak_orch_mode_get(ak_orch *o)
{
    pthread_mutex_lock(&o->mu);
    ak_orch_mode m = o->mode;
    pthread_mutex_unlock(&o->mu);
    return m;
}

const char *ak_orch_mode_name(ak_orch_mode m)
{
    return m == AK_ORCH_NORMAL ? "normal" : m == AK_ORCH_FALLBACK ? "fallback" : "standalone";
}

void ak_orch_report(ak_orch *o, ak_jw *w)
{
    pthread_mutex_lock(&o->mu);
    ak_orch_mode m = o->mode;
    int64_t contact = o->last_contact_us;
    pthread_mutex_unlock(&o->mu);
    ak_jw_kstr(w, "status", ak_orch_mode_name(m));
    ak_jw_kbool(w, "fallback_mode", m == AK_ORCH_FALLBACK);
    ak_jw_key(w, "last_mahavishnu_contact");
    if (contact)
        ak_jw_time(w, contact);
    else
        ak_jw_null(w);
    ak_jw_key(w, "timestamp");
    ak_jw_time(w, ak_time_now_us());
}
