/*
 * discover.c - see discover.h.
 *
 * Each system is listed recursively in one paginated pass: one request per
 * 1000 keys instead of one per upload, and the payload files' presence and
 * sizes come with it, so no HEAD request per file is needed.
 */
#include "ingest/discover.h"

#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYSTEMS_PREFIX "systems/"

ak_code ak_discover_systems(ak_store *bucket, ak_discover_system_fn fn, void *ctx,
                            ak_err *err)
{
    ak_store_lister ls = {.prefix = SYSTEMS_PREFIX, .delimiter = "/"};
    ak_code rc = AK_OK;
    do {
        ak_store_page page;
        rc = ak_store_list_next(bucket, &ls, &page, err);
        if (rc)
            break;
        for (size_t i = 0; rc == AK_OK && i < page.n_prefixes; i++) {
            char *name = page.prefixes[i] + strlen(SYSTEMS_PREFIX);
            name[strlen(name) - 1] = '\0'; /* drop the trailing '/' */
            const char *why = NULL;
            ak_id_system_valid(name, &why);
            rc = fn(ctx, name, why);
        }
        ak_store_page_free(&page);
    } while (rc == AK_OK && !ls.done);
    ak_store_lister_free(&ls);
    return rc;
}

/* ---- building the upload list ---- */

static ak_code add_problem(ak_upload_list *l, ak_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ak_code add_problem(ak_upload_list *l, ak_err *err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char **grown = realloc(l->problems, (l->n_problems + 1) * sizeof *grown);
    if (!grown)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    l->problems = grown;
    if (!(grown[l->n_problems] = strdup(msg)))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    l->n_problems++;
    return AK_OK;
}

static ak_upload_ref *find_upload(ak_upload_list *l, const char *prefix)
{
    for (size_t i = l->n; i-- > 0;) /* keys arrive grouped: the last is likeliest */
        if (strcmp(l->ups[i].prefix, prefix) == 0)
            return &l->ups[i];
    return NULL;
}

static ak_code add_file(ak_upload_list *l, const char *prefix, const char *uid,
                        const char *name, int64_t size, ak_err *err)
{
    ak_upload_ref *u = find_upload(l, prefix);
    if (!u) {
        ak_upload_ref *grown = realloc(l->ups, (l->n + 1) * sizeof *grown);
        if (!grown)
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        l->ups = grown;
        u = &l->ups[l->n];
        memset(u, 0, sizeof *u);
        if (!(u->prefix = strdup(prefix)))
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        ak_fmt(u->upload_id, sizeof u->upload_id, "%s", uid); /* validated: fits */
        l->n++;
    }
    ak_upload_file *files = realloc(u->files, (u->n_files + 1) * sizeof *files);
    if (!files)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    u->files = files;
    ak_fmt(files[u->n_files].name, sizeof files[u->n_files].name, "%s", name);
    files[u->n_files].size = size;
    u->n_files++;
    return AK_OK;
}

/* Place one key (relative to "systems/<sid>/") into the list:
 *   "<uid>/<file>"           layout 1
 *   "uploads/<uid>/<file>"   layout 2
 * Keys of any other shape are ignored. */
static ak_code place_key(ak_upload_list *l, const char *sys_prefix, const char *rel,
                         int64_t size, ak_err *err)
{
    const char *s1 = strchr(rel, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    int layout2 = s2 && !strchr(s2 + 1, '/') && s1 - rel == 7 && memcmp(rel, "uploads", 7) == 0;
    if (!s1 || (s2 && !layout2))
        return AK_OK;
    const char *uid_start = layout2 ? s1 + 1 : rel, *uid_end = layout2 ? s2 : s1;
    const char *name = uid_end + 1;
    char uid[AK_FILE_NAME_MAX + 1], prefix[AK_STORE_KEY_MAX + 1];
    if (uid_end - uid_start > AK_FILE_NAME_MAX || strlen(name) > AK_FILE_NAME_MAX)
        return AK_OK;
    snprintf(uid, sizeof uid, "%.*s", (int)(uid_end - uid_start), uid_start);
    snprintf(prefix, sizeof prefix, "%s%.*s", sys_prefix, (int)(name - rel), rel);
    const char *why;
    if (!ak_id_upload_valid(uid, &why))
        return strcmp(name, "manifest.json") == 0
                   ? add_problem(l, err, "%s: upload id %s", prefix, why)
                   : AK_OK;
    return add_file(l, prefix, uid, name, size, err);
}

static int has_manifest(const ak_upload_ref *u) { return ak_upload_file_size(u, "manifest.json") >= 0; }

static int cmp_upload(const void *a, const void *b)
{
    const ak_upload_ref *x = a, *y = b;
    int c = strcmp(x->upload_id, y->upload_id);
    /* layout 1 ("systems/s/u/") sorts before layout 2 for the same id */
    return c ? c : (int)strlen(x->prefix) - (int)strlen(y->prefix);
}

static void free_ref(ak_upload_ref *u)
{
    free(u->prefix);
    free(u->files);
    u->prefix = NULL; /* settle() reads a NULL prefix as "dropped" */
    u->files = NULL;
}

/* Drop uploads without a manifest, and second copies of an upload id.
 * Two passes: the first frees the dropped (free_ref leaves their prefix
 * NULL) and compares with the last kept in place, so no entry is moved
 * while another may still be freed; the second closes the gaps. */
static ak_code settle(ak_upload_list *l, ak_err *err)
{
    if (l->n > 1)
        qsort(l->ups, l->n, sizeof *l->ups, cmp_upload);
    const ak_upload_ref *kept = NULL;
    ak_code rc = AK_OK;
    for (size_t i = 0; i < l->n; i++) {
        ak_upload_ref *u = &l->ups[i];
        int dup = kept && strcmp(kept->upload_id, u->upload_id) == 0;
        if (has_manifest(u) && !dup) {
            kept = u;
            continue;
        }
        if (dup && rc == AK_OK)
            rc = add_problem(l, err, "%s: upload id also present at %s; that one is used",
                             u->prefix, kept->prefix);
        free_ref(u);
    }
    size_t keep = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->ups[i].prefix)
            l->ups[keep++] = l->ups[i];
    l->n = keep;
    return rc;
}

ak_code ak_discover_uploads(ak_store *bucket, const char *system_id, ak_upload_list *out,
                            ak_err *err)
{
    char sys_prefix[AK_SYSTEM_ID_MAX + 16];
    snprintf(sys_prefix, sizeof sys_prefix, SYSTEMS_PREFIX "%s/", system_id);
    memset(out, 0, sizeof *out);
    ak_store_lister ls = {.prefix = sys_prefix};
    ak_code rc;
    do {
        ak_store_page page;
        rc = ak_store_list_next(bucket, &ls, &page, err);
        if (rc)
            break;
        for (size_t i = 0; rc == AK_OK && i < page.n_objs; i++)
            rc = place_key(out, sys_prefix, page.objs[i].key + strlen(sys_prefix),
                           page.objs[i].size, err);
        ak_store_page_free(&page);
    } while (rc == AK_OK && !ls.done);
    ak_store_lister_free(&ls);
    if (rc == AK_OK)
        rc = settle(out, err);
    if (rc)
        ak_upload_list_free(out);
    return rc;
}

void ak_upload_list_free(ak_upload_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free_ref(&l->ups[i]);
    free(l->ups);
    for (size_t i = 0; i < l->n_problems; i++)
        free(l->problems[i]);
    free(l->problems);
    memset(l, 0, sizeof *l);
}

int64_t ak_upload_file_size(const ak_upload_ref *u, const char *name)
{
    for (size_t i = 0; i < u->n_files; i++)
        if (strcmp(u->files[i].name, name) == 0)
            return u->files[i].size;
    return -1;
}
