/* auth.c - see auth.h. */
#include "server/auth.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp.h"
#include "util/sha256.h"
#include "util/time.h"

/* Token numbers are MCP session owners. */
_Static_assert(AK_AUTH_MAX_TOKENS <= AK_MCP_OWNERS_MAX, "token numbers must fit MCP owners");

#define TOKEN_MAX 512
#define BUCKETS_MAX 4096

typedef struct {
    char key[64];
    double tokens;
    int64_t last_us;
} bucket;

struct ak_auth {
    uint8_t digest[AK_AUTH_MAX_TOKENS][AK_SHA256_LEN];
    int n;
    double rate, burst;
    pthread_mutex_t mu;
    bucket *buckets;
    size_t n_buckets;
};

static ak_code add_token(ak_auth *a, const char *t, size_t len, ak_err *err)
{
    while (len && isspace((unsigned char)*t))
        t++, len--;
    while (len && isspace((unsigned char)t[len - 1]))
        len--;
    if (!len || *t == '#')
        return AK_OK;
    if (len > TOKEN_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "an API token is longer than %d bytes", TOKEN_MAX);
    if (len < 16)
        return ak_err_set(err, AK_ERR_INVALID, "an API token is shorter than 16 characters; use a long random one");
    if (a->n == AK_AUTH_MAX_TOKENS)
        return ak_err_set(err, AK_ERR_INVALID, "more than %d API tokens", AK_AUTH_MAX_TOKENS);
    ak_sha256(t, len, a->digest[a->n++]);
    return AK_OK;
}

static ak_code add_list(ak_auth *a, const char *s, char sep, ak_err *err)
{
    ak_code rc = AK_OK;
    while (rc == AK_OK && s && *s) {
        const char *end = strchr(s, sep);
        size_t len = end ? (size_t)(end - s) : strlen(s);
        rc = add_token(a, s, len, err);
        s = end ? end + 1 : NULL;
    }
    return rc;
}

static ak_code add_file(ak_auth *a, const char *path, ak_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ak_err_set(err, AK_ERR_NOTFOUND, "token file %s: %s", path, strerror(errno));
    char line[TOKEN_MAX + 64];
    ak_code rc = AK_OK;
    while (rc == AK_OK && fgets(line, sizeof line, f))
        rc = add_token(a, line, strcspn(line, "\r\n"), err);
    fclose(f);
    return rc;
}

ak_code ak_auth_new(const char *tokens, const char *token_file, double rate, double burst,
                    ak_auth **out, ak_err *err)
{
    ak_auth *a = calloc(1, sizeof *a);
    if (!a || !(a->buckets = calloc(BUCKETS_MAX, sizeof *a->buckets))) {
        free(a);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&a->mu, NULL);
    a->rate = rate;
    a->burst = burst > 0 ? burst : rate > 0 ? rate * 2 : 0;
    ak_code rc = add_list(a, tokens, ',', err);
    if (rc == AK_OK && token_file && *token_file)
        rc = add_file(a, token_file, err);
    if (rc) {
        ak_auth_free(a);
        return rc;
    }
    *out = a;
    return AK_OK;
}

void ak_auth_free(ak_auth *a)
{
    if (!a)
        return;
    OPENSSL_cleanse(a->digest, sizeof a->digest);
    pthread_mutex_destroy(&a->mu);
    free(a->buckets);
    free(a);
}

int ak_auth_has_tokens(const ak_auth *a) { return a->n > 0; }

int ak_auth_check(const ak_auth *a, const char *h)
{
    static const char prefix[] = "Bearer ";
    if (!h || strncasecmp(h, prefix, sizeof prefix - 1) != 0)
        return -1;
    h += sizeof prefix - 1;
    while (*h == ' ')
        h++;
    size_t len = strnlen(h, TOKEN_MAX + 1);
    while (len && h[len - 1] == ' ')
        len--;
    return ak_auth_check_token(a, h, len);
}

int ak_auth_check_token(const ak_auth *a, const char *tok, size_t len)
{
    if (!len || len > TOKEN_MAX)
        return -1;
    uint8_t d[AK_SHA256_LEN];
    ak_sha256(tok, len, d);
    int found = -1;
    for (int i = 0; i < a->n; i++) { /* every token, always: constant time */
        int same = CRYPTO_memcmp(d, a->digest[i], AK_SHA256_LEN) == 0;
        found = same && found < 0 ? i : found;
    }
    return found;
}

int ak_auth_allow(ak_auth *a, const char *key)
{
    if (a->rate <= 0)
        return 1;
    int64_t now = ak_time_mono_us();
    pthread_mutex_lock(&a->mu);
    bucket *b = NULL;
    size_t oldest = 0;
    for (size_t i = 0; i < a->n_buckets && !b; i++) {
        if (strcmp(a->buckets[i].key, key) == 0)
            b = &a->buckets[i];
        else if (a->buckets[i].last_us < a->buckets[oldest].last_us)
            oldest = i;
    }
    if (!b) { /* a new caller starts with a full bucket; the oldest makes room */
        b = &a->buckets[a->n_buckets < BUCKETS_MAX ? a->n_buckets++ : oldest];
        snprintf(b->key, sizeof b->key, "%s", key);
        b->tokens = a->burst;
        b->last_us = now;
    }
    b->tokens += (double)(now - b->last_us) / 1e6 * a->rate;
    if (b->tokens > a->burst)
        b->tokens = a->burst;
    b->last_us = now;
    int ok = b->tokens >= 1;
    if (ok)
        b->tokens -= 1;
    pthread_mutex_unlock(&a->mu);
    return ok;
}
