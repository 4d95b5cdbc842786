/*
 * vecfill.h - the rows of each tier still without a vector, and the write
 * that gives them one (embed/backfill.c embeds the text in between).
 *
 * What each tier embeds is the text it keeps: hot content, warm 3-sentence
 * summary, cold 1-sentence summary.  A vector lands only if the row's
 * content is unchanged and it still has none, in the tier's form: hot
 * float32, warm int8 and its scale (SPEC section 6 quantization, as aging
 * makes them), cold the vector code (util/vcode.h).
 *
 * Ownership: rows filled by ak_vecfill_next() hold heap text released by
 * ak_vecfill_rows_free().
 */
#ifndef AK_VECFILL_H
#define AK_VECFILL_H

#include <stddef.h>
#include <stdint.h>

#include "storage/sysdb.h"
#include "util/sha256.h"

typedef struct {
    int64_t id;
    char *text;
    size_t len;
    unsigned char sha[AK_SHA256_LEN];
} ak_vecfill_row;

/* How many rows of each tier (ak_tier order) have no vector. */
ak_code ak_vecfill_missing(ak_sysdb *db, int64_t missing[3], ak_err *err);
/* Up to max rows of tier t without a vector, after row id `after`, in id
 * order; *n gets how many. */
ak_code ak_vecfill_next(ak_sysdb *db, ak_tier t, int64_t after, ak_vecfill_row *rows, size_t max,
                        size_t *n, ak_err *err);
void ak_vecfill_rows_free(ak_vecfill_row *rows, size_t n);
/* In one transaction, give rows[i] vector v[i * AK_DIM ..] where ok[i] is
 * set; *written grows by the rows that took one. */
ak_code ak_vecfill_store(ak_sysdb *db, ak_tier t, const ak_vecfill_row *rows, const float *v,
                         const int *ok, size_t n, int64_t *written, ak_err *err);

#endif
