/* strlist.c - see strlist.h. */
#include "util/strlist.h"

#include <stdlib.h>
#include <string.h>

ak_code ak_strlist_add(ak_strlist *l, const char *s, ak_err *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **grown = realloc(l->v, cap * sizeof *grown);
        if (!grown)
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        l->v = grown;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s ? s : "")))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    l->n++;
    return AK_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ak_strlist_sort(ak_strlist *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, cmp_str);
}

int ak_strlist_sorted_has(const ak_strlist *l, const char *s)
{
    return l->n && bsearch(&s, l->v, l->n, sizeof *l->v, cmp_str);
}

void ak_strlist_free(ak_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}
