/* buf.c - see buf.h. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ak_code ak_buf_reserve(ak_buf *b, size_t extra)
{
    if (extra > (size_t)-1 - b->len - 1)
        return AK_ERR_NOMEM;
    size_t need = b->len + extra + 1;
    if (b->limit && need > b->limit + 1)
        return AK_ERR_INVALID;
    if (need <= b->cap)
        return AK_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return AK_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return AK_OK;
}

ak_code ak_buf_append(ak_buf *b, const void *p, size_t n)
{
    ak_code rc = ak_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return AK_OK;
}

ak_code ak_buf_puts(ak_buf *b, const char *s) { return ak_buf_append(b, s, strlen(s)); }

ak_code ak_buf_putc(ak_buf *b, char c) { return ak_buf_append(b, &c, 1); }

ak_code ak_buf_printf(ak_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return AK_ERR_INTERNAL;
    ak_code rc = ak_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return AK_OK;
}

void ak_buf_reset(ak_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ak_buf_free(ak_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *ak_buf_steal(ak_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

ak_code ak_fmt(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    return k < 0 || (size_t)k >= n ? AK_ERR_INVALID : AK_OK;
}
