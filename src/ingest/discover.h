/*
 * discover.h - find systems and their uploads in the bucket (SPEC section 3).
 *
 *   systems/<system_id>/<upload_id>/manifest.json            layout 1
 *   systems/<system_id>/uploads/<upload_id>/manifest.json    layout 2
 *
 * An upload exists once its manifest.json exists; its payload files sit
 * beside the manifest.  When the same upload id appears in both layouts the
 * layout-1 copy is used and the other is reported.  Keys that fit neither
 * layout are ignored.  Ids are validated here, before anything is built
 * from them; an invalid one is reported (with the reason) and never used.
 *
 * Ownership: ak_discover_uploads() fills an ak_upload_list that
 * ak_upload_list_free() releases.
 */
#ifndef AK_DISCOVER_H
#define AK_DISCOVER_H

#include <stddef.h>
#include <stdint.h>

#include "objstore/objstore.h"
#include "util/err.h"
#include "util/ids.h"

typedef struct {
    char name[AK_FILE_NAME_MAX + 1]; /* file name relative to the upload */
    int64_t size;
} ak_upload_file;

typedef struct {
    char upload_id[AK_UPLOAD_ID_MAX + 1];
    char *prefix;           /* "systems/<sid>/[uploads/]<uid>/" */
    ak_upload_file *files;  /* every object under the prefix, manifest included */
    size_t n_files;
} ak_upload_ref;

typedef struct {
    ak_upload_ref *ups;     /* sorted by upload id */
    size_t n;
    char **problems;        /* "systems/x/bad id/: upload id ... contains a space" */
    size_t n_problems;
} ak_upload_list;

/* Called for each system prefix in the bucket; why is non-NULL (and
 * system_id the raw, unvalidated name) when the id is invalid. */
typedef ak_code (*ak_discover_system_fn)(void *ctx, const char *system_id, const char *why);

ak_code ak_discover_systems(ak_store *bucket, ak_discover_system_fn fn, void *ctx,
                            ak_err *err);

/* All uploads (with a manifest) of one valid system id. */
ak_code ak_discover_uploads(ak_store *bucket, const char *system_id,
                            ak_upload_list *out, ak_err *err);
void ak_upload_list_free(ak_upload_list *l);

/* The file's size in the listing, or -1 when it is not there. */
int64_t ak_upload_file_size(const ak_upload_ref *u, const char *name);

#endif
