/*
 * objstore_local.h - what the two files of the local-directory backend
 * share (objstore_local.c: open, get, head, put, delete; objstore_local_walk.c:
 * list and the temp-file sweep).  Not for callers outside src/objstore/.
 */
#ifndef AK_OBJSTORE_LOCAL_H
#define AK_OBJSTORE_LOCAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "objstore/objstore_impl.h"

/* A put writes to "<dir>/.akosha-tmp-<hex>", then renames it over its key. */
#define AK_LOCAL_TEMP_PREFIX ".akosha-tmp-"

typedef struct {
    int root_fd;
    char *root; /* realpath of the bucket directory, for messages */
} ak_local_store;

static inline ak_local_store *ak_local(const ak_store *s) { return s->backend; }

static inline int64_t ak_local_mtime_us(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000 + st->st_mtim.tv_nsec / 1000;
}

/* "cannot <verb> <root>/<rel>: <errno text>" into err, returning code; rel
 * "" or "." is the root. */
ak_code ak_local_fail(const ak_store *s, ak_err *err, ak_code code, const char *verb,
                      const char *rel, int errnum);

/* 1 if name starts with AK_LOCAL_TEMP_PREFIX. */
int ak_local_is_temp_name(const char *name);

/* fd of directory rel[0..len) ("" is the root) below the root, opened one
 * segment at a time with O_NOFOLLOW: a symbolic link segment fails with
 * ELOOP.  With create, missing segments are made.  -1 with errno on
 * failure; the caller closes the fd. */
int ak_local_open_dir(const ak_local_store *l, const char *rel, size_t len, int create);

/* The backend's list and temps operations (objstore_impl.h). */
ak_code ak_local_list(ak_store *s, const char *prefix, const char *delimiter, const char *token,
                      size_t max_keys, ak_store_page *out, ak_err *err);
ak_code ak_local_temps(ak_store *s, const char *prefix, int remove, ak_store_temp_fn fn,
                       void *ctx, size_t *found, ak_err *err);

#endif
