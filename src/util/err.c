/* err.c - see err.h. */
#include "util/err.h"

#include <stdio.h>
#include <string.h>

ak_code (ak_err_set)(ak_err *e, ak_code code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

ak_code ak_err_prefix(ak_err *e, const char *fmt, ...)
{
    if (!e)
        return AK_OK;
    char old[AK_ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof e->msg) {
        size_t room = sizeof e->msg - (size_t)n - 1, len = strnlen(old, sizeof old - 1);
        memcpy(e->msg + n, old, len < room ? len : room);
        e->msg[(size_t)n + (len < room ? len : room)] = '\0';
    }
    return e->code;
}

void ak_err_clear(ak_err *e)
{
    if (e) {
        e->code = AK_OK;
        e->msg[0] = '\0';
    }
}

const char *ak_code_name(ak_code code)
{
    switch (code) {
    case AK_OK: return "ok";
    case AK_ERR_INVALID: return "invalid";
    case AK_ERR_NOTFOUND: return "not found";
    case AK_ERR_IO: return "io";
    case AK_ERR_CORRUPT: return "corrupt";
    case AK_ERR_NOMEM: return "out of memory";
    case AK_ERR_ABORTED: return "aborted";
    case AK_ERR_UNSUPPORTED: return "unsupported";
    case AK_ERR_AUTH: return "auth";
    case AK_ERR_BUSY: return "busy";
    case AK_ERR_INTERNAL: return "internal";
    }
    return "unknown";
}
