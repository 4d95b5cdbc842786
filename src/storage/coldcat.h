/*
 * coldcat.h - the local cold catalog (the `cold` table and its
 * `cold_garbage` list of object keys to delete): the queries that aging,
 * retention and forget run on it.  The objects themselves are the tier's
 * (tier/cold.h); this module only reads and writes their catalog rows.
 *
 * Ownership: handles are borrowed; lists and arrays filled here are the
 * caller's (ak_strlist_free(), ak_coldcat_objs_free()).
 */
#ifndef AK_COLDCAT_H
#define AK_COLDCAT_H

#include <stddef.h>
#include <stdint.h>

#include "storage/sysdb.h"
#include "util/strlist.h"

/* Catalogued objects whose key is not under prefix (a layout this build
 * does not know put them elsewhere), appended to out. */
ak_code ak_coldcat_outside(ak_sysdb *db, const char *prefix, ak_strlist *out, ak_err *err);

/* A catalogued object and how many of its rows are older than a cut. */
typedef struct {
    char *key;
    int64_t rows, expired;
} ak_coldcat_obj;

/* The objects holding at least one row older than cutoff_us, by key. */
ak_code ak_coldcat_expired(ak_sysdb *db, int64_t cutoff_us, ak_coldcat_obj **out, size_t *n,
                           ak_err *err);
void ak_coldcat_objs_free(ak_coldcat_obj *objs, size_t n);

/* Delete every catalog row of object key (their full-text entries go by
 * trigger). */
ak_code ak_coldcat_uncatalog(ak_sysdb *db, const char *key, ak_err *err);

/* Retention of hot or warm rows: count (dry) or delete, in a transaction
 * of its own, the rows of tier older than cutoff_us; *n grows by them. */
ak_code ak_coldcat_expire_tier(ak_sysdb *db, ak_tier tier, int64_t cutoff_us, int dry,
                               int64_t *n, ak_err *err);

#endif
