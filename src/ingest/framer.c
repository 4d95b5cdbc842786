/*
 * framer.c - see framer.h.
 *
 * The JSON framer is a byte-driven state machine, because a chunk boundary
 * may fall anywhere: inside a string, an escape, a key or a number.  A value
 * being skipped or captured is tracked by a `scan` (bracket stack + string
 * state); scalars end at the first delimiter, which is then re-read by the
 * enclosing state.  Captured bytes are appended in spans, not byte by byte.
 */
#include "ingest/framer.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define MAX_NESTING 256
#define KEY_KEEP 32 /* key bytes remembered: enough for "conversations" */

typedef enum {
    S_START,       /* before the top-level '{' */
    S_KEY_OR_END,  /* after '{': a key or '}' */
    S_KEY,         /* after ',': a key is required */
    S_KEY_STR,     /* inside a top-level key */
    S_COLON,
    S_VALUE,       /* start of a top-level member's value */
    S_SKIP,        /* inside a value we do not need */
    S_AFTER_MEMBER,
    S_ARR_FIRST,   /* after "conversations": '[' : an element or ']' */
    S_ARR_ELEM,    /* after ',' in the array: an element is required */
    S_CAPTURE,     /* inside a record */
    S_ARR_AFTER,   /* after a record: ',' or ']' */
    S_DONE
} state;

typedef struct {
    int depth;
    char stack[MAX_NESTING]; /* expected closers */
    int started, in_str, esc, scalar;
} scan;

struct ak_framer {
    ak_frame_kind kind;
    size_t max_record;
    ak_frame_fn fn;
    void *ctx;
    /* shared */
    ak_buf rec;
    int oversized;
    uint64_t records, offset;
    /* JSON */
    state st;
    scan sc;
    char key[KEY_KEEP + 1];
    size_t key_len;
    int key_esc, seen_conversations;
    /* JSONL */
    uint64_t line;
    /* UTF-8 byte order mark at the start, possibly split across chunks */
    unsigned bom_held; /* BOM bytes matched so far */
    int bom_done;
};

static const char BOM[] = "\xEF\xBB\xBF";

/* Match a BOM at the very start of the payload across chunk boundaries.
 * Returns how many bytes of data it consumed; when the start turns out not
 * to be a BOM, f->bom_held bytes (a BOM prefix) are left for the caller. */
static size_t bom_step(ak_framer *f, const char *data, size_t n)
{
    size_t i = 0;
    while (!f->bom_done && i < n) {
        if (data[i] != BOM[f->bom_held]) {
            f->bom_done = 1;
            break;
        }
        i++;
        if (++f->bom_held == 3) {
            f->bom_held = 0;
            f->bom_done = 1;
        }
    }
    return i;
}

ak_code ak_framer_new(ak_frame_kind kind, size_t max_record, ak_frame_fn fn,
                      void *ctx, ak_framer **out)
{
    ak_framer *f = calloc(1, sizeof *f);
    if (!f)
        return AK_ERR_NOMEM;
    f->kind = kind;
    f->max_record = max_record;
    f->fn = fn;
    f->ctx = ctx;
    *out = f;
    return AK_OK;
}

void ak_framer_free(ak_framer *f)
{
    if (!f)
        return;
    ak_buf_free(&f->rec);
    free(f);
}

uint64_t ak_framer_records(const ak_framer *f) { return f->records; }

static int is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static ak_code structure_error(ak_framer *f, size_t i, const char *what, ak_err *err)
{
    return ak_err_set(err, AK_ERR_INVALID, "not valid JSON at byte %llu: %s",
                      (unsigned long long)(f->offset + i), what);
}

/* ---- records ---- */

static void capture(ak_framer *f, const char *p, size_t n)
{
    if (f->oversized || n == 0)
        return;
    if (f->rec.len + n > f->max_record + (f->kind == AK_FRAME_JSONL)) {
        f->oversized = 1;
        return;
    }
    if (ak_buf_append(&f->rec, p, n))
        f->oversized = 1; /* out of memory: report the record, do not crash */
}

static ak_code emit(ak_framer *f)
{
    ak_frame fr = {.index = ++f->records, .line = f->line};
    if (f->oversized) {
        fr.problem = "record larger than the size limit";
    } else {
        fr.text = f->rec.data ? f->rec.data : "";
        fr.len = f->rec.len;
    }
    ak_code rc = f->fn(f->ctx, &fr);
    f->oversized = 0;
    ak_buf_reset(&f->rec);
    return rc;
}

/* ---- value scanning (skip and capture) ---- */

static void scan_begin(scan *s) { memset(s, 0, sizeof *s); }

static int is_value_end(char c) { return c == ',' || c == '}' || c == ']' || c == ':'; }

/* Bytes that can change the scan's state outside a string.  Everything else
 * (digits, letters, commas, spaces: most of a record) is skipped through
 * this table in a tight loop, which is what keeps framing cheap next to
 * parsing. */
static const unsigned char structural[256] = {['"'] = 1, ['{'] = 1, ['}'] = 1,
                                              ['['] = 1, [']'] = 1};

/* Advance a string scan; returns 1 at its closing quote. */
static int string_step(scan *s, const char *data, size_t n, size_t *i)
{
    while (*i < n) {
        size_t j = *i;
        if (!s->esc)
            while (j < n && data[j] != '"' && data[j] != '\\')
                j++;
        if (j >= n) {
            *i = n;
            return 0;
        }
        *i = j + 1;
        if (s->esc)
            s->esc = 0;
        else if (data[j] == '\\')
            s->esc = 1;
        else {
            s->in_str = 0;
            return 1;
        }
    }
    return 0;
}

/* Advance the scan over data[*i..n).  Returns 1 when the value ended
 * (*i is then just past its last byte), 0 when more input is needed, -1 on
 * a structural error (*why set). */
static int scan_step(scan *s, const char *data, size_t n, size_t *i, const char **why)
{
    while (*i < n) {
        if (s->in_str) {
            if (string_step(s, data, n, i) && s->depth == 0)
                return 1; /* a top-level string value */
            continue;
        }
        if (s->scalar) {
            char c = data[*i];
            if (is_value_end(c) || is_ws(c))
                return 1;
            (*i)++;
            continue;
        }
        if (!s->started) {
            char c = data[*i];
            s->started = 1;
            if (c != '{' && c != '[' && c != '"') {
                s->scalar = 1; /* number or literal: ends at a delimiter */
                continue;
            }
        }
        size_t j = *i;
        while (j < n && !structural[(unsigned char)data[j]])
            j++;
        if (j >= n) {
            *i = n;
            return 0;
        }
        char c = data[j];
        *i = j + 1;
        if (c == '"') {
            s->in_str = 1;
        } else if (c == '{' || c == '[') {
            if (s->depth >= MAX_NESTING) {
                *why = "nested deeper than 256 levels";
                return -1;
            }
            s->stack[s->depth++] = c == '{' ? '}' : ']';
        } else {
            if (c != s->stack[s->depth - 1]) {
                *why = "mismatched closing bracket";
                return -1;
            }
            if (--s->depth == 0)
                return 1;
        }
    }
    return 0;
}

/* ---- the JSON state machine ---- */

static int key_is_conversations(const ak_framer *f)
{
    return !f->key_esc && f->key_len == strlen("conversations") &&
           memcmp(f->key, "conversations", f->key_len) == 0;
}

/* Read a top-level key's characters; returns 1 at the closing quote. */
static int key_step(ak_framer *f, const char *data, size_t n, size_t *i)
{
    while (*i < n) {
        char c = data[(*i)++];
        if (f->key_esc == 2) { /* byte after a backslash */
            f->key_esc = 1;
            continue;
        }
        if (c == '\\') {
            f->key_esc = 2; /* escaped keys never equal "conversations" */
            continue;
        }
        if (c == '"')
            return 1;
        if (f->key_len < KEY_KEEP)
            f->key[f->key_len] = c;
        f->key_len++;
    }
    return 0;
}

/* One step of the element scan inside the conversations array. */
static ak_code capture_step(ak_framer *f, const char *data, size_t n, size_t *i, ak_err *err)
{
    size_t start = *i;
    const char *why = NULL;
    int r = scan_step(&f->sc, data, n, i, &why);
    capture(f, data + start, *i - start);
    if (r < 0)
        return structure_error(f, *i, why, err);
    if (r == 1) {
        f->st = S_ARR_AFTER;
        return emit(f);
    }
    return AK_OK;
}

/* Handle one byte c at data[*i] in a "between tokens" state. */
static ak_code token_step(ak_framer *f, char c, size_t *i, ak_err *err)
{
    if (is_ws(c)) {
        (*i)++;
        return AK_OK;
    }
    switch (f->st) {
    case S_START:
        if (c != '{')
            return structure_error(f, *i, "a payload must be a JSON object {\"conversations\": [...]}", err);
        f->st = S_KEY_OR_END;
        break;
    case S_KEY_OR_END:
    case S_KEY:
        if (c == '}' && f->st == S_KEY_OR_END) {
            f->st = S_DONE;
            break;
        }
        if (c != '"')
            return structure_error(f, *i, "object key expected", err);
        f->key_len = 0;
        f->key_esc = 0;
        f->st = S_KEY_STR;
        break;
    case S_COLON:
        if (c != ':')
            return structure_error(f, *i, "':' expected", err);
        f->st = S_VALUE;
        break;
    case S_VALUE:
        if (key_is_conversations(f)) {
            if (f->seen_conversations)
                return structure_error(f, *i, "\"conversations\" given twice", err);
            if (c != '[')
                return structure_error(f, *i, "\"conversations\" must be an array", err);
            f->seen_conversations = 1;
            f->st = S_ARR_FIRST;
            break;
        }
        if (is_value_end(c))
            return structure_error(f, *i, "a value expected", err);
        scan_begin(&f->sc);
        f->st = S_SKIP;
        return AK_OK; /* the scan consumes c */
    case S_AFTER_MEMBER:
        if (c == ',')
            f->st = S_KEY;
        else if (c == '}')
            f->st = S_DONE;
        else
            return structure_error(f, *i, "',' or '}' expected", err);
        break;
    case S_ARR_FIRST:
    case S_ARR_ELEM:
        if (c == ']' && f->st == S_ARR_FIRST) {
            f->st = S_AFTER_MEMBER;
            break;
        }
        if (is_value_end(c))
            return structure_error(f, *i, "a record expected", err);
        scan_begin(&f->sc);
        f->st = S_CAPTURE;
        return AK_OK;
    case S_ARR_AFTER:
        if (c == ',')
            f->st = S_ARR_ELEM;
        else if (c == ']')
            f->st = S_AFTER_MEMBER;
        else
            return structure_error(f, *i, "',' or ']' expected between records", err);
        break;
    case S_DONE:
        return structure_error(f, *i, "data after the end of the JSON object", err);
    default:
        return ak_err_set(err, AK_ERR_INTERNAL, "framer in an impossible state");
    }
    (*i)++;
    return AK_OK;
}

static ak_code feed_json(ak_framer *f, const char *data, size_t n, ak_err *err)
{
    /* A UTF-8 byte order mark is tolerated at the very start. */
    size_t i = bom_step(f, data, n);
    if (f->bom_done && f->bom_held)
        return structure_error(f, 0, "a payload must be a JSON object {\"conversations\": [...]}", err);
    while (i < n) {
        ak_code rc = AK_OK;
        const char *why = NULL;
        int r;
        switch (f->st) {
        case S_KEY_STR:
            if (key_step(f, data, n, &i))
                f->st = S_COLON;
            break;
        case S_SKIP:
            r = scan_step(&f->sc, data, n, &i, &why);
            if (r < 0)
                rc = structure_error(f, i, why, err);
            else if (r == 1)
                f->st = S_AFTER_MEMBER;
            break;
        case S_CAPTURE:
            rc = capture_step(f, data, n, &i, err);
            break;
        default:
            rc = token_step(f, data[i], &i, err);
            break;
        }
        if (rc)
            return rc;
    }
    f->offset += n;
    return AK_OK;
}

static ak_code finish_json(ak_framer *f, ak_err *err)
{
    if (f->st == S_DONE) {
        if (!f->seen_conversations)
            return ak_err_set(err, AK_ERR_INVALID, "no \"conversations\" array in the payload");
        return AK_OK;
    }
    if (f->st == S_START)
        return ak_err_set(err, AK_ERR_INVALID, "payload is empty");
    /* A scalar at the very end of input (no delimiter seen) still cannot
     * complete the object, so every other state means truncation. */
    return ak_err_set(err, AK_ERR_INVALID,
                      "JSON ends early after %llu bytes (truncated payload?)",
                      (unsigned long long)f->offset);
}

/* ---- JSONL ---- */

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_ws(p[i]))
            return 0;
    return 1;
}

static ak_code end_line(ak_framer *f)
{
    f->line++;
    if (!f->oversized && f->rec.len && f->rec.data[f->rec.len - 1] == '\r')
        f->rec.data[--f->rec.len] = '\0';
    if (f->rec.len > f->max_record)
        f->oversized = 1; /* a '\r' is allowed past the limit, nothing else */
    if (!f->oversized && blank(f->rec.data, f->rec.len)) {
        ak_buf_reset(&f->rec);
        return AK_OK;
    }
    return emit(f);
}

static ak_code feed_jsonl(ak_framer *f, const char *data, size_t n)
{
    size_t i = bom_step(f, data, n);
    if (f->bom_done && f->bom_held) { /* not a BOM after all: keep the bytes */
        capture(f, BOM, f->bom_held);
        f->bom_held = 0;
    }
    f->offset += n;
    while (i < n) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - data) : n;
        capture(f, data + i, end - i);
        i = end;
        if (nl) {
            i++;
            ak_code rc = end_line(f);
            if (rc)
                return rc;
        }
    }
    return AK_OK;
}

ak_code ak_framer_feed(ak_framer *f, const char *data, size_t len, ak_err *err)
{
    return f->kind == AK_FRAME_JSON ? feed_json(f, data, len, err) : feed_jsonl(f, data, len);
}

ak_code ak_framer_finish(ak_framer *f, ak_err *err)
{
    if (f->kind == AK_FRAME_JSON)
        return finish_json(f, err);
    if (!f->bom_done && f->bom_held) { /* input ended inside a BOM prefix */
        capture(f, BOM, f->bom_held);
        f->bom_held = 0;
        f->bom_done = 1;
    }
    if (f->oversized || f->rec.len)
        return end_line(f);
    return AK_OK;
}
