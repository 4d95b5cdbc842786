/*
 * strlist.h - a growable list of heap strings: the ids, keys and prefixes
 * that a walk or a query collects before acting on them.
 *
 * Ownership: the list owns its strings (copies made by ak_strlist_add());
 * ak_strlist_free() releases them and the array and empties the list.  A
 * zeroed ak_strlist is an empty list.
 */
#ifndef AK_STRLIST_H
#define AK_STRLIST_H

#include <stddef.h>

#include "util/err.h"

typedef struct {
    char **v;
    size_t n, cap;
} ak_strlist;

/* Append a copy of s (NULL counts as ""). */
ak_code ak_strlist_add(ak_strlist *l, const char *s, ak_err *err);
/* Sort the strings in strcmp order. */
void ak_strlist_sort(ak_strlist *l);
/* 1 when a list sorted by ak_strlist_sort() holds s. */
int ak_strlist_sorted_has(const ak_strlist *l, const char *s);
void ak_strlist_free(ak_strlist *l);

#endif
