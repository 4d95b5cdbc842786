/*
 * coldmove.h - the SQL of aging warm -> cold (tier/tocold.c has the
 * protocol and its crash safety): the month's warm rows, the cold catalog's
 * small objects and months, the `cold_garbage` list, and the catalog switch
 * that, in one transaction, points rows at a new object.
 *
 * Ownership: handles are borrowed; ak_coldmove_switch is opened and ended
 * by the caller (ak_coldmove_switch_end() always frees it); lists filled
 * here are the caller's.
 */
#ifndef AK_COLDMOVE_H
#define AK_COLDMOVE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/sysdb.h"
#include "util/strlist.h"

/* A warm row as warm -> cold reads it; pointers are valid during the
 * callback (NULL for SQL NULL). */
typedef struct {
    int64_t id, ts_us, upload_at_us;
    int64_t bytes; /* its warm size (tiermove.h's AK_TIERMOVE_WARM_BYTES) */
    const char *conversation_id, *ultra_summary, *summary, *metadata, *upload_id;
    const void *fingerprint, *content_sha256, *embedding_q;
    size_t fingerprint_len, content_sha256_len, embedding_q_len;
    float embedding_scale;
} ak_coldmove_warm;

typedef ak_code (*ak_coldmove_warm_fn)(void *ctx, const ak_coldmove_warm *row, ak_err *err);
/* The warm rows with from <= ts < min(to, cutoff), up to limit, by
 * conversation id. */
ak_code ak_coldmove_warm_rows(ak_sysdb *db, int64_t from, int64_t to, int64_t cutoff,
                              int64_t limit, ak_coldmove_warm_fn fn, void *ctx, ak_err *err);

typedef ak_code (*ak_coldmove_object_fn)(void *ctx, const char *key, int64_t rows);
/* The objects with rows in [from, to) and fewer than target rows, fullest
 * first (then by key). */
ak_code ak_coldmove_small_objects(ak_sysdb *db, int64_t from, int64_t to, int64_t target,
                                  ak_coldmove_object_fn fn, void *ctx, ak_err *err);

typedef ak_code (*ak_coldmove_month_fn)(void *ctx, const char *month, int64_t from, int64_t to);
/* The months (YYYY-MM, [from, to) in microseconds) with warm rows older
 * than cutoff, or with two or more objects of fewer than target rows. */
ak_code ak_coldmove_months(ak_sysdb *db, int64_t cutoff, int64_t target, ak_coldmove_month_fn fn,
                           void *ctx, ak_err *err);

/* A prepared lookup of merged rows: is conversation conv (len bytes) still
 * catalogued in object key with content hash sha_hex (len bytes)?  Then
 * *found = 1 with its upload time, a heap copy of its upload id, and the
 * catalog's vector code in code (*code_len bytes, 0: none, or longer than
 * code_cap). */
typedef struct ak_coldmove_find ak_coldmove_find;
ak_code ak_coldmove_find_open(ak_sysdb *db, ak_coldmove_find **out, ak_err *err);
void ak_coldmove_find_close(ak_coldmove_find *f);
ak_code ak_coldmove_find_row(ak_coldmove_find *f, const char *conv, size_t conv_len,
                             const char *key, const char *sha_hex, size_t sha_len, int *found,
                             int64_t *upload_at_us, char **upload_id, uint8_t *code,
                             size_t code_cap, size_t *code_len, ak_err *err);

/* cold_garbage: keys of objects to delete once the catalog names none. */
ak_code ak_coldmove_garbage_add(ak_sysdb *db, const char *key, ak_err *err);
/* The listed keys the catalog does not name, by key, appended to out. */
ak_code ak_coldmove_garbage_list(ak_sysdb *db, ak_strlist *out, ak_err *err);
/* Empty the list (what is deleted, or still catalogued, is forgotten). */
ak_code ak_coldmove_garbage_clear(ak_sysdb *db, ak_err *err);

/* Merge the cold full-text index into one segment: a pass writes a small
 * segment per object, each partly filling pages of its own (on the aging
 * benchmark 47 bytes a cold row before, 31 after); one statement, so a
 * crash leaves the index as it was. */
ak_code ak_coldmove_fts_optimize(ak_sysdb *db, ak_err *err);

/* The catalog switch: one transaction (BEGIN IMMEDIATE) that points rows
 * at the new object `key`.  Each step sets *ok = 0 when a row is not as it
 * was read; the caller then ends without committing. */
typedef struct ak_coldmove_switch ak_coldmove_switch;
ak_code ak_coldmove_switch_begin(ak_sysdb *db, const char *key, ak_coldmove_switch **out,
                                 ak_err *err);
/* Warm row id (of conv) gets a catalog entry with its 1-sentence summary
 * (full-text indexed) and code (NULL: none) and leaves warm. */
ak_code ak_coldmove_switch_warm(ak_coldmove_switch *s, int64_t id, const char *conv,
                                const char *ultra, const uint8_t *code, size_t code_len, int *ok,
                                ak_err *err);
/* The entry of conv in object old_key with content hash sha_hex moves to
 * the new object, taking ultra and code where it has none. */
ak_code ak_coldmove_switch_merged(ak_coldmove_switch *s, const char *conv, const char *old_key,
                                  const char *sha_hex, const char *ultra, const uint8_t *code,
                                  size_t code_len, int *ok, ak_err *err);
/* Object old_key is replaced: with trimming, its rows older than keep_from
 * leave the catalog (*dropped grows by them); then *ok = 0 unless no entry
 * names it any more, else it is listed as garbage. */
ak_code ak_coldmove_switch_retire(ak_coldmove_switch *s, const char *old_key, int trimming,
                                  int64_t keep_from, int64_t *dropped, int *ok, ak_err *err);
/* With commit: the new key leaves cold_garbage and the transaction commits;
 * else (or on failure) it rolls back.  Frees s. */
ak_code ak_coldmove_switch_end(ak_coldmove_switch *s, int commit, ak_err *err);

#endif
