/*
 * objstore.h - the object-store interface: where uploads come from and where
 * the cold tier goes.
 *
 * One interface, several backends chosen by URL:
 *   /abs/path, rel/path, file:///abs/path   local directory (objstore_local.c)
 *   s3://bucket[/prefix]                    S3-compatible (objstore_s3.c;
 *                                           configuration in docs/S3.md)
 *
 * Semantics follow S3 so that every backend behaves alike: keys are byte
 * strings ("systems/a/u1/manifest.json"), listing is in byte order of keys,
 * a delimiter groups keys into common prefixes, pages are resumed with an
 * opaque continuation token, a put is atomic (readers see the old object or
 * the new one, never a partial one).
 *
 * Keys are validated by every backend (ak_store_key_valid) before they touch
 * a path or a URL: no empty segment, no "." or ".." segment, no leading "/",
 * no NUL or control character, at most 1024 bytes.
 *
 * Every handle has a circuit breaker: after AKOSHA_STORE_BREAKER_FAILURES
 * (default 5) operations in a row fail with AK_ERR_IO - what is left of a
 * transient failure once a backend has retried - it opens, and operations
 * fail at once with AK_ERR_IO for AKOSHA_STORE_BREAKER_COOLDOWN_MS (default
 * 30000); then one trial operation is let through, whose success closes it
 * and whose failure opens it again.  Any other outcome (not found, refused
 * credentials, bad request) shows that the store answers: it counts as a
 * success.  Operation counts and the breaker's state are read with
 * ak_store_stats_get().
 *
 * Ownership: ak_store_open() returns a handle the caller closes with
 * ak_store_close().  A handle may be used from several threads at once.
 * ak_store_list() fills an ak_store_page the caller releases with
 * ak_store_page_free().
 */
#ifndef AK_OBJSTORE_H
#define AK_OBJSTORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct ak_store ak_store;

#define AK_STORE_KEY_MAX 1024
#define AK_STORE_TOKEN_MAX 4096 /* bytes of a list continuation token */

typedef struct {
    char *key;
    int64_t size;     /* bytes */
    int64_t mtime_us; /* last modification, microseconds since the epoch */
} ak_store_obj;

typedef struct {
    ak_store_obj *objs;   /* keys in byte order */
    size_t n_objs;
    char **prefixes;      /* common prefixes (ending in the delimiter), byte order */
    size_t n_prefixes;
    char *next_token;     /* NULL when this is the last page */
} ak_store_page;

/* Receives a streamed object chunk by chunk.  Return AK_OK to continue; any
 * other code stops the transfer and ak_store_get() returns AK_ERR_ABORTED. */
typedef ak_code (*ak_store_sink)(void *ctx, const void *data, size_t len);

/* Open a store from a URL (see top of file).  A local directory must exist. */
ak_code ak_store_open(const char *url, ak_store **out, ak_err *err);
void ak_store_close(ak_store *s);

/* A printable description of the store ("file:///x/bucket"). */
const char *ak_store_url(const ak_store *s);

/* One page of keys starting with prefix ("" for all).  delimiter is NULL or
 * "/".  token is NULL for the first page, else the previous page's
 * next_token (opaque: a key for the local backend, S3's own token for S3).
 * max_keys caps keys + prefixes in the page (0 = 1000). */
ak_code ak_store_list(ak_store *s, const char *prefix, const char *delimiter,
                      const char *token, size_t max_keys, ak_store_page *out,
                      ak_err *err);
void ak_store_page_free(ak_store_page *p);

/* Every page of one listing, in turn.  A listing that never ends - a page
 * answered with the very token it was asked for, or more than
 * AKOSHA_STORE_LIST_MAX_PAGES pages (default 100000) - fails with AK_ERR_IO
 * for that listing; one cut short by shutdown (ak_store_set_shutdown) with
 * AK_ERR_ABORTED.  Set prefix and delimiter (borrowed), zero the rest; call
 * ak_store_list_next() until done is set, then ak_store_lister_free(). */
typedef struct {
    const char *prefix, *delimiter;
    size_t max_keys; /* per page, as for ak_store_list() (0 = 1000) */
    char *token;  /* the next page's continuation token (owned) */
    size_t pages; /* pages listed so far */
    int done;     /* the last page was listed */
} ak_store_lister;

ak_code ak_store_list_next(ak_store *s, ak_store_lister *l, ak_store_page *out, ak_err *err);
void ak_store_lister_free(ak_store_lister *l);

/* Shutdown.  Once *stop is non-zero, listings end before their next page
 * and a failed request is not retried (the backoff wait ends at once); once
 * *abort is non-zero, requests in flight are abandoned with AK_ERR_IO (what
 * they were for - an upload, an export - is retried by a later run).
 * Either may be NULL.  Call before the handle is shared between threads. */
void ak_store_set_shutdown(ak_store *s, const atomic_int *stop, const atomic_int *abort);

/* 1 once the abort of ak_store_set_shutdown() is set (for backends). */
int ak_store_aborting(const ak_store *s);
int ak_store_stopping(const ak_store *s);

/* Stream an object to sink.  AK_ERR_NOTFOUND if absent. */
ak_code ak_store_get(ak_store *s, const char *key, ak_store_sink sink,
                     void *ctx, ak_err *err);

/* Read a whole object into memory, failing with AK_ERR_INVALID when it is
 * larger than max_bytes.  *out is malloc'd, NUL-terminated; caller frees. */
ak_code ak_store_get_small(ak_store *s, const char *key, size_t max_bytes,
                           char **out, size_t *out_len, ak_err *err);

/* Store an object atomically (replacing any previous one). */
ak_code ak_store_put(ak_store *s, const char *key, const void *data,
                     size_t len, ak_err *err);

/* Store two objects as two ak_store_put() calls in a row would: each
 * atomically, and key2 never without key1, also after a crash.  A backend
 * may do it in one step (the local one syncs a shared directory once); it
 * counts as one put in the statistics. */
ak_code ak_store_put2(ak_store *s, const char *key1, const void *data1, size_t len1,
                      const char *key2, const void *data2, size_t len2, ak_err *err);

/* Size and mtime of one object.  AK_ERR_NOTFOUND if absent; info may be NULL. */
ak_code ak_store_head(ak_store *s, const char *key, ak_store_obj *info,
                      ak_err *err);

/* Delete an object.  Deleting an absent object succeeds (as in S3). */
ak_code ak_store_delete(ak_store *s, const char *key, ak_err *err);

/* Leftovers of interrupted puts.  The local backend writes a put to a temp
 * file (".akosha-tmp-<hex>") that it renames over the key, holding a lock
 * on it meanwhile; a process killed in between leaves the temp file, which
 * is never listed nor read.  ak_store_temps() calls fn (may be NULL) with
 * the path of each temp file below prefix (a key prefix ending in "/", or
 * "" for all) that no put holds, deleting it first when remove is 1, and
 * sets *found to their number.  Other backends leave no such files behind:
 * AK_OK, *found 0. */
typedef void (*ak_store_temp_fn)(void *ctx, const char *path, int64_t size);
ak_code ak_store_temps(ak_store *s, const char *prefix, int remove, ak_store_temp_fn fn,
                       void *ctx, size_t *found, ak_err *err);

/* 1 if key obeys the rules above, else 0. */
int ak_store_key_valid(const char *key);

/* ---- observability ---------------------------------------------------- */

typedef enum {
    AK_STORE_OP_LIST,
    AK_STORE_OP_GET,
    AK_STORE_OP_PUT,
    AK_STORE_OP_HEAD,
    AK_STORE_OP_DELETE,
    AK_STORE_N_OPS
} ak_store_op;

typedef enum { AK_BREAKER_CLOSED, AK_BREAKER_OPEN, AK_BREAKER_HALF_OPEN } ak_breaker_state;

typedef struct {
    uint64_t ok[AK_STORE_N_OPS];     /* operations that succeeded, by operation */
    uint64_t failed[AK_STORE_N_OPS]; /* ... that failed, not-found and fail-fast included */
    uint64_t rejected;   /* operations the open breaker failed at once */
    uint64_t requests;   /* requests sent to a remote store (S3: every HTTP
                            request, retries and multipart parts included) */
    uint64_t retries;    /* requests that repeated a failed one */
    ak_breaker_state breaker;
    unsigned consecutive_failures;
    int64_t opened_at_us; /* wall clock of the last opening; 0 if never opened */
} ak_store_stats;

/* A consistent enough snapshot: each counter is read atomically. */
void ak_store_stats_get(ak_store *s, ak_store_stats *out);
const char *ak_store_op_name(ak_store_op op);          /* "list", "get", ... */
const char *ak_breaker_state_name(ak_breaker_state st); /* "closed", "open", "half-open" */

#endif
