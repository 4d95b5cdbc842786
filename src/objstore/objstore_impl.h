/*
 * objstore_impl.h - what a backend provides to objstore.c, and the few
 * helpers objstore.c offers backends in return.  Not for callers outside
 * src/objstore/.
 */
#ifndef AK_OBJSTORE_IMPL_H
#define AK_OBJSTORE_IMPL_H

#include <stdatomic.h>

#include "objstore/breaker.h"
#include "objstore/objstore.h"

typedef struct {
    ak_code (*list)(ak_store *s, const char *prefix, const char *delimiter,
                    const char *token, size_t max_keys, ak_store_page *out,
                    ak_err *err);
    ak_code (*get)(ak_store *s, const char *key, ak_store_sink sink, void *ctx,
                   ak_err *err);
    ak_code (*put)(ak_store *s, const char *key, const void *data, size_t len,
                   ak_err *err);
    /* NULL: ak_store_put2() makes two puts */
    ak_code (*put2)(ak_store *s, const char *key1, const void *data1, size_t len1,
                    const char *key2, const void *data2, size_t len2, ak_err *err);
    ak_code (*head)(ak_store *s, const char *key, ak_store_obj *info,
                    ak_err *err);
    ak_code (*del)(ak_store *s, const char *key, ak_err *err);
    void (*close)(ak_store *s);
    /* NULL: the backend leaves no temp files behind */
    ak_code (*temps)(ak_store *s, const char *prefix, int remove, ak_store_temp_fn fn,
                     void *ctx, size_t *found, ak_err *err);
    /* 0: continuation tokens are keys, checked like a list prefix; 1: they
     * are the backend's own opaque strings (S3's are base64, which may hold
     * "//" or start with "/"), checked only for length and control bytes */
    int opaque_tokens;
} ak_store_ops;

struct ak_store {
    const ak_store_ops *ops;
    char *url;     /* canonical URL, for messages */
    void *backend; /* backend-private state */
    /* objstore.c's, set up after the backend's open returns */
    ak_breaker breaker;
    atomic_uint_least64_t ok[AK_STORE_N_OPS], failed[AK_STORE_N_OPS];
    atomic_uint_least64_t rejected, requests, retries;
    const atomic_int *stop, *abort; /* ak_store_set_shutdown(); may be NULL */
    long long max_pages;            /* AKOSHA_STORE_LIST_MAX_PAGES */
};

/* Local directory backend: root must be an existing directory. */
ak_code ak_store_local_open(const char *root, ak_store **out, ak_err *err);

/* S3 backend: url is "s3://bucket[/prefix]"; the rest of its configuration
 * comes from the environment (docs/S3.md). */
ak_code ak_store_s3_open(const char *url, ak_store **out, ak_err *err);

/* A backend reports each request it sends to a remote store; retry is 1
 * when the request repeats one that failed. */
void ak_store_count_request(ak_store *s, int retry);

/* 1 if prefix is "" or key-shaped, a trailing "/" allowed. */
int ak_store_prefix_valid(const char *prefix);

/* *out = environment variable name as an integer in [min, max], or def when
 * it is unset or empty; AK_ERR_INVALID naming the variable otherwise. */
ak_code ak_store_env_int(const char *name, long long def, long long min,
                         long long max, long long *out, ak_err *err);

#endif
