/*
 * jsonw.h - a small JSON writer on top of ak_buf.
 *
 * The writer tracks nesting so callers never write commas themselves:
 *
 *   ak_jw w; ak_jw_init(&w, &buf);
 *   ak_jw_obj(&w); ak_jw_key(&w, "n"); ak_jw_int(&w, 3); ak_jw_end(&w);
 *
 * Strings are escaped per RFC 8259 (control characters as \u00XX; invalid
 * UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON).
 * Doubles print with the fewest digits (15-17) that round-trip; NaN and
 * Inf, which JSON cannot hold, print as null.
 * Memory errors are sticky: check ak_jw_error() once at the end.
 */
#ifndef AK_JSONW_H
#define AK_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/json.h"

#define AK_JW_MAX_DEPTH 64

typedef struct {
    ak_buf *out;
    int depth;
    unsigned char first[AK_JW_MAX_DEPTH]; /* no element yet at this level */
    char closer[AK_JW_MAX_DEPTH];         /* '}' or ']' for each open level */
    int after_key;
    ak_code error;
} ak_jw;

void ak_jw_init(ak_jw *w, ak_buf *out);
void ak_jw_obj(ak_jw *w);
void ak_jw_arr(ak_jw *w);
void ak_jw_end(ak_jw *w); /* closes the innermost object or array */
void ak_jw_key(ak_jw *w, const char *key);
void ak_jw_str(ak_jw *w, const char *s);
void ak_jw_strn(ak_jw *w, const char *s, size_t n);
void ak_jw_int(ak_jw *w, int64_t v);
void ak_jw_double(ak_jw *w, double v);
/* A float printed with the shortest precision that round-trips as float. */
void ak_jw_float(ak_jw *w, float v);
void ak_jw_bool(ak_jw *w, int v);
void ak_jw_null(ak_jw *w);
/* Already-valid JSON text, inserted as one value (e.g. stored metadata). */
void ak_jw_raw(ak_jw *w, const char *json, size_t n);
/* Microseconds since the epoch as an ISO-8601 UTC string. */
void ak_jw_time(ak_jw *w, int64_t us);
ak_code ak_jw_error(const ak_jw *w);

/* key + value shorthands */
void ak_jw_kstr(ak_jw *w, const char *key, const char *s);
void ak_jw_kint(ak_jw *w, const char *key, int64_t v);
void ak_jw_kdouble(ak_jw *w, const char *key, double v);
void ak_jw_kbool(ak_jw *w, const char *key, int v);

/* Append s[0..n) to b as a JSON string literal (with quotes). */
ak_code ak_json_quote(ak_buf *b, const char *s, size_t n);

/* Append the parsed value v to b compactly: no whitespace, members in
 * their order, strings re-quoted from their decoded text, numbers and
 * literals as written.  The same content written with other spacing gives
 * the same text.  AK_ERR_NOMEM on failure (b then holds a partial value). */
ak_code ak_json_write(ak_buf *b, const ak_json *v);

#endif
