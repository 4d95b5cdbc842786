/*
 * jsonpatch.c - see jsonpatch.h.
 */
#include "util/jsonpatch.h"

#include <string.h>

#include "util/jsonw.h"

static const ak_json *member(const ak_json *obj, const char *key, size_t n)
{
    for (const ak_json *m = obj ? obj->first : NULL; m; m = m->next)
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

static ak_code put_key(ak_buf *b, const ak_json *m, int *first)
{
    ak_code rc = *first ? AK_OK : ak_buf_putc(b, ',');
    *first = 0;
    if (rc == AK_OK)
        rc = ak_json_quote(b, m->key, m->key_len);
    return rc ? rc : ak_buf_putc(b, ':');
}

/* target: an object or NULL ({}); patch: an object. */
static ak_code merge(ak_buf *b, const ak_json *target, const ak_json *patch)
{
    int first = 1;
    ak_code rc = ak_buf_putc(b, '{');
    for (const ak_json *m = target ? target->first : NULL; rc == AK_OK && m; m = m->next)
        if (!member(patch, m->key, m->key_len) && (rc = put_key(b, m, &first)) == AK_OK)
            rc = ak_json_write(b, m);
    for (const ak_json *m = patch->first; rc == AK_OK && m; m = m->next) {
        if (m->type == AK_JSON_NULL || (rc = put_key(b, m, &first)))
            continue;
        const ak_json *t = m->type == AK_JSON_OBJECT ? member(target, m->key, m->key_len) : NULL;
        rc = m->type == AK_JSON_OBJECT
                 ? merge(b, t && t->type == AK_JSON_OBJECT ? t : NULL, m)
                 : ak_json_write(b, m);
    }
    return rc ? rc : ak_buf_putc(b, '}');
}

ak_code ak_json_merge_patch(ak_json_doc *target_doc, ak_json_doc *patch_doc, const char *target,
                            size_t target_len, const char *patch, size_t patch_len, ak_buf *out,
                            ak_err *err)
{
    const ak_json *t = NULL, *p = NULL;
    ak_err scratch;
    if (ak_json_parse(patch_doc, patch, patch_len, &p, err))
        return AK_ERR_INVALID;
    if (p->type != AK_JSON_OBJECT)
        return ak_err_set(err, AK_ERR_INVALID, "a merge patch must be a JSON object");
    if (target && ak_json_parse(target_doc, target, target_len, &t, &scratch))
        t = NULL;
    size_t start = out->len;
    ak_code rc = merge(out, t && t->type == AK_JSON_OBJECT ? t : NULL, p);
    if (rc) {
        out->len = start;
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    return AK_OK;
}
