/*
 * objstore_impl.h - what a backend provides to objstore.c.  Not for callers
 * outside src/objstore/.
 */
#ifndef AK_OBJSTORE_IMPL_H
#define AK_OBJSTORE_IMPL_H

#include "objstore/objstore.h"

typedef struct {
    ak_code (*list)(ak_store *s, const char *prefix, const char *delimiter,
                    const char *token, size_t max_keys, ak_store_page *out,
                    ak_err *err);
    ak_code (*get)(ak_store *s, const char *key, ak_store_sink sink, void *ctx,
                   ak_err *err);
    ak_code (*put)(ak_store *s, const char *key, const void *data, size_t len,
                   ak_err *err);
    ak_code (*head)(ak_store *s, const char *key, ak_store_obj *info,
                    ak_err *err);
    ak_code (*del)(ak_store *s, const char *key, ak_err *err);
    void (*close)(ak_store *s);
} ak_store_ops;

struct ak_store {
    const ak_store_ops *ops;
    char *url;     /* canonical URL, for messages */
    void *backend; /* backend-private state */
};

/* Local directory backend: root must be an existing directory. */
ak_code ak_store_local_open(const char *root, ak_store **out, ak_err *err);

#endif
