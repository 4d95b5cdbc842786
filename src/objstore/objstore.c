/*
 * objstore.c - the backend-independent half of the object store.
 *
 * It picks a backend from the URL, enforces the key rules before any backend
 * sees a key (so no backend can be tricked into building a path or URL from
 * "../x"), puts every operation behind the handle's circuit breaker and
 * counts it, and builds the conveniences every backend shares on top of the
 * operations in objstore_impl.h: ak_store_get_small() and page release.
 *
 * Handle lifetime: a backend's open allocates the ak_store (zeroed) and its
 * url with malloc; ak_store_open() then sets up the breaker and counters.
 * ak_store_close() calls the backend's close to release the backend state,
 * then frees url and the handle here, so backends need not repeat it.
 */
#include "objstore/objstore_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

enum {
    DEFAULT_MAX_KEYS = 1000, /* S3's page size when none is asked for */
    DEFAULT_BREAKER_FAILURES = 5,
    DEFAULT_BREAKER_COOLDOWN_MS = 30000,
};

/* ---- key rules -------------------------------------------------------- */

static int is_control_byte(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* An empty segment comes from a leading "/" or "a//b"; "." and ".." would
 * let a key name something other than itself on a file system. */
static int segment_valid(const char *seg, size_t n)
{
    if (n == 0)
        return 0;
    if (seg[0] == '.' && (n == 1 || (n == 2 && seg[1] == '.')))
        return 0;
    return 1;
}

static int key_shape_valid(const char *key, int trailing_slash_ok)
{
    if (!key)
        return 0;
    size_t len = strnlen(key, AK_STORE_KEY_MAX + 1);
    if (len == 0 || len > AK_STORE_KEY_MAX)
        return 0;
    if (key[len - 1] == '/') {
        if (!trailing_slash_ok)
            return 0;
        len--; /* "a/" is checked as "a"; "/" becomes "", which fails below */
    }
    size_t seg = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || key[i] == '/') {
            if (!segment_valid(key + seg, i - seg))
                return 0;
            seg = i + 1;
        } else if (is_control_byte((unsigned char)key[i])) {
            return 0;
        }
    }
    return 1;
}

int ak_store_key_valid(const char *key) { return key_shape_valid(key, 0); }

/* A list prefix is "" or a key that may end in "/".  A partial last segment
 * ("systems/ab") is simply a short key, so it needs no special case. */
int ak_store_prefix_valid(const char *prefix)
{
    return prefix && (prefix[0] == '\0' || key_shape_valid(prefix, 1));
}

/* Tokens that are keys obey the prefix rules, so a forged one cannot name a
 * path; opaque ones only need to be printable and bounded. */
static int token_valid(const ak_store *s, const char *token)
{
    if (!s->ops->opaque_tokens)
        return ak_store_prefix_valid(token);
    size_t n = strnlen(token, AK_STORE_TOKEN_MAX + 1);
    for (size_t i = 0; i < n; i++)
        if (is_control_byte((unsigned char)token[i]))
            return 0;
    return n <= AK_STORE_TOKEN_MAX;
}

/* A rejected key may hold control bytes or be huge: escape and cut it so
 * the message stays one readable line. */
static const char *printable_key(const char *key, char *out, size_t cap)
{
    static const char ellipsis[] = "...";
    size_t n = 0;
    if (!key)
        return "(null)";
    for (; *key; key++) {
        unsigned char c = (unsigned char)*key;
        size_t need = is_control_byte(c) ? 4 : 1;
        if (n + need + sizeof ellipsis > cap) {
            memcpy(out + n, ellipsis, sizeof ellipsis);
            return out;
        }
        if (need == 4) {
            static const char hex[] = "0123456789abcdef";
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return out;
}

static ak_code reject(ak_err *err, const char *what, const char *key)
{
    char shown[160];
    return ak_err_set(err, AK_ERR_INVALID, "invalid %s \"%s\"", what,
                      printable_key(key, shown, sizeof shown));
}

static ak_code reject_key(ak_err *err, const char *key)
{
    return reject(err, "object key", key);
}

/* ---- opening ---------------------------------------------------------- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* RFC 3986 scheme followed by "//": ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static int has_url_scheme(const char *url)
{
    const char *p = url;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return 0;
    p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789+-.");
    return starts_with(p, "://");
}

ak_code ak_store_env_int(const char *name, long long def, long long min,
                         long long max, long long *out, ak_err *err)
{
    const char *v = getenv(name);
    char *end;
    *out = def;
    if (!v || !v[0])
        return AK_OK;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return ak_err_set(err, AK_ERR_INVALID, "%s=%s: expected a whole number from "
                          "%lld to %lld", name, v, min, max);
    *out = x;
    return AK_OK;
}

static ak_code open_backend(const char *url, ak_store **out, ak_err *err)
{
    static const char file_scheme[] = "file://";
    if (!url || !url[0])
        return ak_err_set(err, AK_ERR_INVALID, "empty object store URL");
    if (starts_with(url, "s3://"))
        return ak_store_s3_open(url, out, err);
    if (starts_with(url, file_scheme)) {
        const char *path = url + strlen(file_scheme);
        if (path[0] != '/')
            return ak_err_set(err, AK_ERR_INVALID,
                              "object store URL %s: file:// needs an absolute "
                              "path (file:///dir)", url);
        return ak_store_local_open(path, out, err);
    }
    if (has_url_scheme(url))
        return ak_err_set(err, AK_ERR_INVALID,
                          "object store URL %s: unsupported scheme (use a "
                          "directory, file:///dir or s3://bucket)", url);
    return ak_store_local_open(url, out, err);
}

static void counters_init(ak_store *s)
{
    for (int op = 0; op < AK_STORE_N_OPS; op++) {
        atomic_init(&s->ok[op], 0);
        atomic_init(&s->failed[op], 0);
    }
    atomic_init(&s->rejected, 0);
    atomic_init(&s->requests, 0);
    atomic_init(&s->retries, 0);
}

ak_code ak_store_open(const char *url, ak_store **out, ak_err *err)
{
    long long failures, cooldown_ms, max_pages;
    *out = NULL;
    ak_code rc = ak_store_env_int("AKOSHA_STORE_BREAKER_FAILURES", DEFAULT_BREAKER_FAILURES,
                                  1, 1000000, &failures, err);
    if (rc == AK_OK)
        rc = ak_store_env_int("AKOSHA_STORE_BREAKER_COOLDOWN_MS", DEFAULT_BREAKER_COOLDOWN_MS,
                              0, 86400000, &cooldown_ms, err);
    if (rc == AK_OK)
        rc = ak_store_env_int("AKOSHA_STORE_LIST_MAX_PAGES", 100000, 1, 1000000000, &max_pages,
                              err);
    if (rc == AK_OK)
        rc = open_backend(url, out, err);
    if (rc != AK_OK)
        return rc;
    (*out)->max_pages = max_pages;
    ak_breaker_init(&(*out)->breaker, (unsigned)failures, cooldown_ms * 1000);
    counters_init(*out);
    return AK_OK;
}

/* At debug level, what the handle did: the figures ak_store_stats_get()
 * reports, for a command-line run that has no /metrics. */
static void log_summary(ak_store *s)
{
    ak_store_stats st;
    ak_buf ops = {0};
    if (!ak_log_enabled(AK_LOG_DEBUG))
        return;
    ak_store_stats_get(s, &st);
    for (int op = 0; op < AK_STORE_N_OPS; op++)
        ak_buf_printf(&ops, "%s%s %llu/%llu", op ? ", " : "", ak_store_op_name((ak_store_op)op),
                      (unsigned long long)st.ok[op], (unsigned long long)st.failed[op]);
    AK_DEBUG("objstore", "%s: closing; operations ok/failed: %s; %llu requests, %llu retries, "
             "%llu refused by the breaker", s->url, ops.data ? ops.data : "",
             (unsigned long long)st.requests, (unsigned long long)st.retries,
             (unsigned long long)st.rejected);
    ak_buf_free(&ops);
}

void ak_store_close(ak_store *s)
{
    if (!s)
        return;
    log_summary(s);
    s->ops->close(s);
    ak_breaker_destroy(&s->breaker);
    free(s->url);
    free(s);
}

/* ---- the breaker and the counters ------------------------------------- */

/* The breaker guards against transient failures, which backends report as
 * AK_ERR_IO once their own retries are spent.  A store that answers "not
 * found", "forbidden" or "bad request" is up, and a consumer that stops a
 * stream was being served; running out of memory says nothing either way. */
static ak_breaker_outcome outcome_of(ak_code rc)
{
    switch (rc) {
    case AK_ERR_IO: return AK_BREAKER_FAILURE;
    case AK_ERR_NOMEM:
    case AK_ERR_INTERNAL:
    case AK_ERR_CORRUPT: return AK_BREAKER_NEUTRAL;
    default: return AK_BREAKER_SUCCESS;
    }
}

/* The breaker keeps monotonic time; reports want the wall clock. */
static int64_t wall_time_of(int64_t mono_us)
{
    return ak_time_now_us() - (ak_time_mono_us() - mono_us);
}

static ak_code admit(ak_store *s, ak_store_op op, int *trial, ak_err *err)
{
    if (ak_breaker_admit(&s->breaker, ak_time_mono_us(), trial)) {
        if (*trial)
            AK_INFO("objstore", "%s: circuit half-open: letting one %s through", s->url,
                    ak_store_op_name(op));
        return AK_OK;
    }
    ak_breaker_info bi;
    char since[AK_TIME_ISO_MAX];
    ak_breaker_get(&s->breaker, ak_time_mono_us(), &bi);
    ak_time_format(wall_time_of(bi.opened_at), since);
    atomic_fetch_add(&s->rejected, 1);
    atomic_fetch_add(&s->failed[op], 1);
    return ak_err_set(err, AK_ERR_IO, "object store circuit open since %s after %u failures "
                      "(%s)", since, bi.failures, s->url);
}

static ak_code finish(ak_store *s, ak_store_op op, int trial, ak_code rc)
{
    atomic_fetch_add(rc == AK_OK ? &s->ok[op] : &s->failed[op], 1);
    if (!ak_breaker_done(&s->breaker, trial, outcome_of(rc), ak_time_mono_us()))
        return rc;
    ak_breaker_info bi;
    long long cooldown_ms = (long long)(s->breaker.cooldown_us / 1000);
    ak_breaker_get(&s->breaker, ak_time_mono_us(), &bi);
    if (bi.state != AK_BREAKER_OPEN)
        AK_INFO("objstore", "%s: circuit closed: the store answers again", s->url);
    else if (trial)
        AK_WARN("objstore", "%s: circuit open again: the trial %s failed; operations fail at "
                "once for %lld ms", s->url, ak_store_op_name(op), cooldown_ms);
    else
        AK_WARN("objstore", "%s: circuit open after %u failures in a row; operations fail "
                "at once for %lld ms", s->url, bi.failures, cooldown_ms);
    return rc;
}

void ak_store_count_request(ak_store *s, int retry)
{
    atomic_fetch_add(&s->requests, 1);
    if (retry)
        atomic_fetch_add(&s->retries, 1);
}

void ak_store_stats_get(ak_store *s, ak_store_stats *out)
{
    ak_breaker_info bi;
    memset(out, 0, sizeof *out);
    for (int op = 0; op < AK_STORE_N_OPS; op++) {
        out->ok[op] = atomic_load(&s->ok[op]);
        out->failed[op] = atomic_load(&s->failed[op]);
    }
    out->rejected = atomic_load(&s->rejected);
    out->requests = atomic_load(&s->requests);
    out->retries = atomic_load(&s->retries);
    ak_breaker_get(&s->breaker, ak_time_mono_us(), &bi);
    out->breaker = bi.state;
    out->consecutive_failures = bi.failures;
    out->opened_at_us = bi.ever_opened ? wall_time_of(bi.opened_at) : 0;
}

const char *ak_store_op_name(ak_store_op op)
{
    static const char *const names[AK_STORE_N_OPS] = {"list", "get", "put", "head", "delete"};
    return (unsigned)op < AK_STORE_N_OPS ? names[op] : "?";
}

const char *ak_breaker_state_name(ak_breaker_state st)
{
    switch (st) {
    case AK_BREAKER_CLOSED: return "closed";
    case AK_BREAKER_OPEN: return "open";
    case AK_BREAKER_HALF_OPEN: return "half-open";
    }
    return "?";
}

const char *ak_store_url(const ak_store *s) { return s->url; }

/* ---- operations: check the key, then hand over to the backend --------- */

ak_code ak_store_list(ak_store *s, const char *prefix, const char *delimiter,
                      const char *token, size_t max_keys, ak_store_page *out,
                      ak_err *err)
{
    memset(out, 0, sizeof *out); /* so ak_store_page_free() is always safe */
    if (!prefix)
        prefix = "";
    /* S3 treats an empty delimiter or token like an absent one. */
    if (delimiter && !delimiter[0])
        delimiter = NULL;
    if (token && !token[0])
        token = NULL;
    if (!ak_store_prefix_valid(prefix))
        return reject(err, "object key prefix", prefix);
    if (token && !token_valid(s, token))
        return reject(err, "list continuation token", token);
    if (delimiter && strcmp(delimiter, "/") != 0)
        return ak_err_set(err, AK_ERR_UNSUPPORTED,
                          "list delimiter \"%s\" is not supported (only \"/\")",
                          delimiter);
    if (max_keys == 0)
        max_keys = DEFAULT_MAX_KEYS;
    int trial;
    ak_code rc = admit(s, AK_STORE_OP_LIST, &trial, err);
    if (rc == AK_OK)
        rc = finish(s, AK_STORE_OP_LIST, trial,
                    s->ops->list(s, prefix, delimiter, token, max_keys, out, err));
    if (rc != AK_OK)
        ak_store_page_free(out);
    return rc;
}

void ak_store_page_free(ak_store_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_objs; i++)
        free(p->objs[i].key);
    for (size_t i = 0; i < p->n_prefixes; i++)
        free(p->prefixes[i]);
    free(p->objs);
    free(p->prefixes);
    free(p->next_token);
    memset(p, 0, sizeof *p);
}

void ak_store_set_shutdown(ak_store *s, const atomic_int *stop, const atomic_int *abort)
{
    s->stop = stop;
    s->abort = abort;
}

int ak_store_stopping(const ak_store *s) { return s->stop && atomic_load(s->stop); }
int ak_store_aborting(const ak_store *s) { return s->abort && atomic_load(s->abort); }

ak_code ak_store_list_next(ak_store *s, ak_store_lister *l, ak_store_page *out, ak_err *err)
{
    memset(out, 0, sizeof *out);
    const char *shown = l->prefix && l->prefix[0] ? l->prefix : "(all keys)";
    if (ak_store_stopping(s) || ak_store_aborting(s))
        return ak_err_set(err, AK_ERR_ABORTED, "listing %s of %s: shutting down", shown, s->url);
    if (l->pages >= (size_t)s->max_pages)
        return ak_err_set(err, AK_ERR_IO, "listing %s of %s never ends: more than %lld pages "
                          "(AKOSHA_STORE_LIST_MAX_PAGES)", shown, s->url, s->max_pages);
    ak_code rc = ak_store_list(s, l->prefix, l->delimiter, l->token, l->max_keys, out, err);
    if (rc != AK_OK)
        return rc;
    l->pages++;
    if (out->next_token && l->token && strcmp(out->next_token, l->token) == 0) {
        ak_store_page_free(out);
        return ak_err_set(err, AK_ERR_IO, "listing %s of %s never ends: page %zu gave back "
                          "the continuation token it was asked with", shown, s->url, l->pages);
    }
    free(l->token);
    l->token = NULL;
    if (out->next_token && !(l->token = strdup(out->next_token))) {
        ak_store_page_free(out);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory listing %s", s->url);
    }
    l->done = out->next_token == NULL;
    return AK_OK;
}

void ak_store_lister_free(ak_store_lister *l)
{
    free(l->token);
    l->token = NULL;
}

ak_code ak_store_get(ak_store *s, const char *key, ak_store_sink sink,
                     void *ctx, ak_err *err)
{
    if (!ak_store_key_valid(key))
        return reject_key(err, key);
    /* Cleared so that, after an abort, we can tell whether the sink already
     * explained itself (it owns its error reporting) or left err empty. */
    ak_err_clear(err);
    int trial;
    ak_code rc = admit(s, AK_STORE_OP_GET, &trial, err);
    if (rc == AK_OK)
        rc = finish(s, AK_STORE_OP_GET, trial, s->ops->get(s, key, sink, ctx, err));
    if (rc == AK_ERR_ABORTED && err && err->code == AK_OK)
        ak_err_set(err, AK_ERR_ABORTED, "get %s from %s: aborted by consumer",
                   key, s->url);
    return rc;
}

typedef struct {
    ak_buf buf;
    size_t max_bytes;
    int too_large;
} small_sink_ctx;

static ak_code small_sink(void *ctx, const void *data, size_t len)
{
    small_sink_ctx *c = ctx;
    if (len > c->max_bytes - c->buf.len) {
        c->too_large = 1;
        return AK_ERR_INVALID;
    }
    return ak_buf_append(&c->buf, data, len);
}

ak_code ak_store_get_small(ak_store *s, const char *key, size_t max_bytes,
                           char **out, size_t *out_len, ak_err *err)
{
    small_sink_ctx c = {.max_bytes = max_bytes};
    *out = NULL;
    if (out_len)
        *out_len = 0;
    ak_code rc = ak_store_get(s, key, small_sink, &c, err);
    if (rc == AK_ERR_ABORTED) /* only small_sink stops the stream */
        rc = c.too_large
                 ? ak_err_set(err, AK_ERR_INVALID,
                              "object %s in %s is larger than %zu bytes", key,
                              s->url, max_bytes)
                 : ak_err_set(err, AK_ERR_NOMEM,
                              "out of memory reading object %s from %s", key,
                              s->url);
    if (rc != AK_OK) {
        ak_buf_free(&c.buf);
        return rc;
    }
    size_t len = c.buf.len;
    *out = ak_buf_steal(&c.buf); /* a "" for an empty object, never NULL... */
    if (!*out)                   /* ...unless that allocation fails */
        return ak_err_set(err, AK_ERR_NOMEM,
                          "out of memory reading object %s from %s", key,
                          s->url);
    if (out_len)
        *out_len = len;
    return AK_OK;
}

ak_code ak_store_put(ak_store *s, const char *key, const void *data,
                     size_t len, ak_err *err)
{
    if (!ak_store_key_valid(key))
        return reject_key(err, key);
    int trial;
    ak_code rc = admit(s, AK_STORE_OP_PUT, &trial, err);
    return rc ? rc : finish(s, AK_STORE_OP_PUT, trial, s->ops->put(s, key, data, len, err));
}

ak_code ak_store_put2(ak_store *s, const char *key1, const void *data1, size_t len1,
                      const char *key2, const void *data2, size_t len2, ak_err *err)
{
    if (!s->ops->put2) {
        ak_code rc = ak_store_put(s, key1, data1, len1, err);
        return rc ? rc : ak_store_put(s, key2, data2, len2, err);
    }
    if (!ak_store_key_valid(key1))
        return reject_key(err, key1);
    if (!ak_store_key_valid(key2))
        return reject_key(err, key2);
    int trial;
    ak_code rc = admit(s, AK_STORE_OP_PUT, &trial, err);
    return rc ? rc
              : finish(s, AK_STORE_OP_PUT, trial,
                       s->ops->put2(s, key1, data1, len1, key2, data2, len2, err));
}

/* On success the backend sets info->key to a malloc'd copy of key, which the
 * caller frees. */
ak_code ak_store_head(ak_store *s, const char *key, ak_store_obj *info,
                      ak_err *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    if (!ak_store_key_valid(key))
        return reject_key(err, key);
    int trial;
    ak_code rc = admit(s, AK_STORE_OP_HEAD, &trial, err);
    return rc ? rc : finish(s, AK_STORE_OP_HEAD, trial, s->ops->head(s, key, info, err));
}

ak_code ak_store_temps(ak_store *s, const char *prefix, int remove, ak_store_temp_fn fn,
                       void *ctx, size_t *found, ak_err *err)
{
    *found = 0;
    if (!ak_store_prefix_valid(prefix) || (prefix[0] && prefix[strlen(prefix) - 1] != '/'))
        return reject(err, "temp file prefix", prefix);
    return s->ops->temps ? s->ops->temps(s, prefix, remove, fn, ctx, found, err) : AK_OK;
}

ak_code ak_store_delete(ak_store *s, const char *key, ak_err *err)
{
    if (!ak_store_key_valid(key))
        return reject_key(err, key);
    int trial;
    ak_code rc = admit(s, AK_STORE_OP_DELETE, &trial, err);
    return rc ? rc : finish(s, AK_STORE_OP_DELETE, trial, s->ops->del(s, key, err));
}
