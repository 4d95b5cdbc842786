/*
 * buf.h - a growable byte buffer (always NUL-terminated for convenience).
 *
 * Ownership: the ak_buf struct lives wherever the caller puts it; its data is
 * heap memory released by ak_buf_free().  A zeroed struct is an empty buffer.
 * Growth is capped by `limit` when non-zero, so a hostile input cannot make a
 * buffer grow without bound: appends beyond it fail with AK_ERR_INVALID.
 */
#ifndef AK_BUF_H
#define AK_BUF_H

#include <stddef.h>
#include "util/err.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0 = unlimited */
} ak_buf;

ak_code ak_buf_reserve(ak_buf *b, size_t extra);
ak_code ak_buf_append(ak_buf *b, const void *p, size_t n);
ak_code ak_buf_puts(ak_buf *b, const char *s);
ak_code ak_buf_putc(ak_buf *b, char c);
ak_code ak_buf_printf(ak_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ak_buf_reset(ak_buf *b); /* len = 0, keeps memory */
void ak_buf_free(ak_buf *b);
/* Hand the data to the caller (who frees it) and reset the buffer. */
char *ak_buf_steal(ak_buf *b);

/* snprintf into a fixed array that reports truncation: AK_OK, or
 * AK_ERR_INVALID when the result did not fit (out is then truncated).  Used
 * for every path and key so an over-long name fails loudly, never silently. */
ak_code ak_fmt(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
