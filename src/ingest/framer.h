/*
 * framer.h - cut a streamed payload into one record at a time.
 *
 * Payloads can be far larger than memory, so they are never parsed whole.
 * The framer receives the decompressed bytes in arbitrary chunks and hands
 * each record's complete text to a callback, holding at most one record
 * (bounded by max_record) in memory:
 *
 *   AK_FRAME_JSON   {"conversations": [ {record}, ... ], ...other keys...}
 *                   The elements of the top-level "conversations" array are
 *                   the records; other top-level members are skipped.
 *   AK_FRAME_JSONL  one record per line (blank lines ignored, CRLF accepted)
 *
 * The framer checks the structure it relies on (brackets balance and match,
 * strings end, commas and colons where they belong); the text *inside* a
 * record is left to the record parser, so one bad record is one skipped
 * record.  Structural damage in a JSON payload (truncation, a missing
 * bracket) is an error for the whole payload, because after it no record
 * boundary can be trusted.  A JSONL line is its own unit: damage stays in it.
 *
 * A record longer than max_record is reported with problem set and its text
 * omitted; the framer skips to its end and carries on.
 *
 * Ownership: ak_framer_new() / ak_framer_free().
 */
#ifndef AK_FRAMER_H
#define AK_FRAMER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef enum { AK_FRAME_JSON, AK_FRAME_JSONL } ak_frame_kind;

typedef struct {
    uint64_t index;      /* 1-based ordinal of the record in the payload */
    uint64_t line;       /* JSONL: 1-based line number; JSON: 0 */
    const char *text;    /* NUL-terminated record text, NULL with a problem */
    size_t len;
    const char *problem; /* NULL, or why the record could not be framed */
} ak_frame;

typedef ak_code (*ak_frame_fn)(void *ctx, const ak_frame *rec);

typedef struct ak_framer ak_framer;

ak_code ak_framer_new(ak_frame_kind kind, size_t max_record, ak_frame_fn fn,
                      void *ctx, ak_framer **out);
/* A non-AK_OK code from the callback stops framing and is returned as is. */
ak_code ak_framer_feed(ak_framer *f, const char *data, size_t len, ak_err *err);
/* End of payload: AK_ERR_INVALID if the JSON structure is incomplete. */
ak_code ak_framer_finish(ak_framer *f, ak_err *err);
uint64_t ak_framer_records(const ak_framer *f);
void ak_framer_free(ak_framer *f);

#endif
