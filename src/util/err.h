/*
 * err.h - the one error convention every Akosha module follows.
 *
 * Functions that can fail return an ak_code (AK_OK == 0) and, when the caller
 * passes a non-NULL ak_err, fill it with the same code and a sentence naming
 * the problem.  The code decides what the caller does next (retry, reject,
 * give up); the message is for humans and ledgers.  Keeping both in one small
 * struct on the caller's stack means no allocation on the error path.
 */
#ifndef AK_ERR_H
#define AK_ERR_H

#include <stdarg.h>

typedef enum {
    AK_OK = 0,
    AK_ERR_INVALID,   /* bad input: permanent, retrying will not help       */
    AK_ERR_NOTFOUND,  /* the object, file or row does not exist              */
    AK_ERR_IO,        /* transient I/O or network failure: retry later        */
    AK_ERR_CORRUPT,   /* stored data does not decode (truncated, bad bytes)  */
    AK_ERR_NOMEM,     /* allocation failed                                    */
    AK_ERR_ABORTED,   /* a callback or a stop request ended the operation    */
    AK_ERR_UNSUPPORTED, /* valid but not something Akosha handles           */
    AK_ERR_AUTH,      /* credentials refused                                 */
    AK_ERR_BUSY,      /* held by someone else right now: try again later      */
    AK_ERR_INTERNAL   /* a bug or an impossible state; see the message       */
} ak_code;

#define AK_ERR_MSG_MAX 512

typedef struct {
    ak_code code;
    char msg[AK_ERR_MSG_MAX];
} ak_err;

/* Set *e (when non-NULL) to code and a printf-style message; returns code so
 * callers can write `return ak_err_set(e, AK_ERR_INVALID, "...")`. */
ak_code ak_err_set(ak_err *e, ak_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __clang_analyzer__
/* The static analyzer (make analyze) reads one file at a time and cannot
 * see that ak_err_set returns the code it was given: it would follow
 * `return ak_err_set(...)` paths as if AK_OK could come back and report the
 * outputs they leave unset.  Spell it out for the analyzer only. */
#define ak_err_set(e, code, ...) ((ak_err_set)((e), (code), __VA_ARGS__), (code))
#endif

/* Prefix an existing message with context ("payload x.json: " + msg). */
ak_code ak_err_prefix(ak_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ak_err_clear(ak_err *e);

/* A short lowercase name for a code ("invalid", "io", ...). */
const char *ak_code_name(ak_code code);

#endif
