/*
 * tiermove.h - the SQL that moves a system's rows between its tiers, owned
 * here beside the schema (sysdb.c) rather than by aging (tier/age.c), which
 * supplies what storage cannot make: each row's summaries and MinHash
 * fingerprint, through a callback.
 *
 * hot -> warm, one batch per call, in one BEGIN IMMEDIATE ... COMMIT: the
 * oldest hot rows become warm rows (summary, the 1-sentence summary as a
 * span of it, the 5-bit vector code of storage/warmcode.h, fingerprint,
 * full-text indexed), the copies are verified (same content hash) and the
 * hot rows deleted, all or nothing.  Test point "age.warm_moved" is the
 * instant the batch is written and not yet committed.
 *
 * Ownership: the callback's strings are heap copies the callee frees.
 */
#ifndef AK_TIERMOVE_H
#define AK_TIERMOVE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/sysdb.h"

/* Bytes a hot or warm row takes, as SQL over its table. */
#define AK_TIERMOVE_HOT_BYTES "length(content) + coalesce(length(embedding), 0)" \
    " + coalesce(length(metadata), 0) + length(conversation_id) + 32"
#define AK_TIERMOVE_WARM_BYTES "length(summary) + coalesce(length(ultra_summary), 0)" \
    " + coalesce(length(embedding_q), 0) + coalesce(length(fingerprint), 0)" \
    " + coalesce(length(metadata), 0) + length(conversation_id) + 32" \
    " + (ultra_at IS NOT NULL) * 4"

/* A warm row's 1-sentence summary, as SQL: its own column, or (schema 8)
 * its byte span in the 3-sentence summary; NULL for a row aged before warm
 * kept one. */
#define AK_TIERMOVE_WARM_ULTRA "coalesce(ultra_summary," \
    " CAST(substr(CAST(summary AS BLOB), ultra_at, ultra_len) AS TEXT))"

/* What aging makes of one hot row's content.  summary and ultra_summary
 * are malloc'ed by the callback and freed by ak_tiermove_hot_batch() (also
 * when the callback fails); fingerprint points at fingerprint_len bytes
 * that stay valid until the callback is called again. */
typedef struct {
    char *summary;
    char *ultra_summary;
    const uint8_t *fingerprint;
    size_t fingerprint_len;
} ak_warm_form;

typedef ak_code (*ak_warm_fn)(void *ctx, const char *content, size_t len, ak_warm_form *out,
                              ak_err *err);

typedef struct {
    int64_t rows, bytes_before, bytes_after;
} ak_tiermove_count;

/* Move at most limit hot rows older than cutoff_us (oldest id first) to
 * warm in one transaction.  out->rows is how many moved (0: none left),
 * with their bytes before and after.  On failure nothing moved. */
ak_code ak_tiermove_hot_batch(ak_sysdb *db, int64_t cutoff_us, int64_t limit, ak_warm_fn fn,
                              void *ctx, ak_tiermove_count *out, ak_err *err);

/* --dry-run: add the rows of tier (hot or warm) older than cutoff_us and
 * their bytes to out->rows and out->bytes_before. */
ak_code ak_tiermove_dry_count(ak_sysdb *db, ak_tier tier, int64_t cutoff_us,
                              ak_tiermove_count *out, ak_err *err);

#endif
