/* jsonw.c - see jsonw.h. */
#include "util/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/time.h"

void ak_jw_init(ak_jw *w, ak_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->first[0] = 1;
}

static void track(ak_jw *w, ak_code rc)
{
    if (rc && !w->error)
        w->error = rc;
}

/* Write the separator a new value needs at the current level. */
static void begin_value(ak_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first[w->depth])
        track(w, ak_buf_putc(w->out, ','));
    w->first[w->depth] = 0;
}

static void open_level(ak_jw *w, char open, char close)
{
    begin_value(w);
    track(w, ak_buf_putc(w->out, open));
    if (w->depth + 1 >= AK_JW_MAX_DEPTH) {
        track(w, AK_ERR_INTERNAL);
        return;
    }
    w->depth++;
    w->first[w->depth] = 1;
    w->closer[w->depth] = close;
}

void ak_jw_obj(ak_jw *w) { open_level(w, '{', '}'); }
void ak_jw_arr(ak_jw *w) { open_level(w, '[', ']'); }

void ak_jw_end(ak_jw *w)
{
    if (w->depth <= 0) {
        track(w, AK_ERR_INTERNAL);
        return;
    }
    track(w, ak_buf_putc(w->out, w->closer[w->depth]));
    w->depth--;
}

ak_code ak_json_quote(ak_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    ak_code rc = ak_buf_reserve(b, n + 2);
    if (rc)
        return rc;
    rc = ak_buf_putc(b, '"');
    size_t run = 0; /* start of a span of bytes copied verbatim */
    for (size_t i = 0; i < n && !rc;) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char ubuf[7];
        size_t skip = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c < 0x20) {
            snprintf(ubuf, sizeof ubuf, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            esc = ubuf;
        } else if (c >= 0x80) {
            size_t k = ak_utf8_seq_len(s + i, n - i);
            if (k) {
                i += k;
                continue;
            }
            esc = "\xEF\xBF\xBD"; /* U+FFFD for a broken byte */
        } else {
            i++;
            continue;
        }
        rc = ak_buf_append(b, s + run, i - run);
        if (!rc)
            rc = ak_buf_puts(b, esc);
        i += skip;
        run = i;
    }
    if (!rc)
        rc = ak_buf_append(b, s + run, n - run);
    if (!rc)
        rc = ak_buf_putc(b, '"');
    return rc;
}

void ak_jw_key(ak_jw *w, const char *key)
{
    begin_value(w);
    track(w, ak_json_quote(w->out, key, strlen(key)));
    track(w, ak_buf_putc(w->out, ':'));
    w->after_key = 1;
}

void ak_jw_strn(ak_jw *w, const char *s, size_t n)
{
    begin_value(w);
    track(w, ak_json_quote(w->out, s, n));
}

void ak_jw_str(ak_jw *w, const char *s)
{
    if (!s) {
        ak_jw_null(w);
        return;
    }
    ak_jw_strn(w, s, strlen(s));
}

void ak_jw_int(ak_jw *w, int64_t v)
{
    begin_value(w);
    track(w, ak_buf_printf(w->out, "%lld", (long long)v));
}

void ak_jw_double(ak_jw *w, double v)
{
    begin_value(w);
    if (!isfinite(v)) {
        track(w, ak_buf_puts(w->out, "null"));
        return;
    }
    /* the shortest of 15, 16, 17 digits that reads back as the same double */
    char s[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            break;
    }
    track(w, ak_buf_puts(w->out, s));
}

void ak_jw_float(ak_jw *w, float v)
{
    begin_value(w);
    if (!isfinite(v)) {
        track(w, ak_buf_puts(w->out, "null"));
        return;
    }
    /* the shortest of 6..9 digits that reads back as the same float */
    char s[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, (double)v);
        if (strtof(s, NULL) == v)
            break;
    }
    track(w, ak_buf_puts(w->out, s));
}

void ak_jw_bool(ak_jw *w, int v)
{
    begin_value(w);
    track(w, ak_buf_puts(w->out, v ? "true" : "false"));
}

void ak_jw_null(ak_jw *w)
{
    begin_value(w);
    track(w, ak_buf_puts(w->out, "null"));
}

void ak_jw_raw(ak_jw *w, const char *json, size_t n)
{
    begin_value(w);
    track(w, ak_buf_append(w->out, json, n));
}

void ak_jw_time(ak_jw *w, int64_t us)
{
    char iso[AK_TIME_ISO_MAX];
    ak_time_format(us, iso);
    ak_jw_str(w, iso);
}

ak_code ak_jw_error(const ak_jw *w) { return w->error; }

void ak_jw_kstr(ak_jw *w, const char *key, const char *s) { ak_jw_key(w, key); ak_jw_str(w, s); }
void ak_jw_kint(ak_jw *w, const char *key, int64_t v) { ak_jw_key(w, key); ak_jw_int(w, v); }
void ak_jw_kdouble(ak_jw *w, const char *key, double v) { ak_jw_key(w, key); ak_jw_double(w, v); }
void ak_jw_kbool(ak_jw *w, const char *key, int v) { ak_jw_key(w, key); ak_jw_bool(w, v); }

ak_code ak_json_write(ak_buf *b, const ak_json *v)
{
    ak_code rc = AK_OK;
    switch (v->type) {
    case AK_JSON_NULL: return ak_buf_puts(b, "null");
    case AK_JSON_FALSE: return ak_buf_puts(b, "false");
    case AK_JSON_TRUE: return ak_buf_puts(b, "true");
    case AK_JSON_NUMBER: return ak_buf_append(b, v->raw, v->raw_len);
    case AK_JSON_STRING: return ak_json_quote(b, v->str, v->str_len);
    case AK_JSON_ARRAY:
        rc = ak_buf_putc(b, '[');
        for (const ak_json *k = v->first; rc == AK_OK && k; k = k->next)
            if ((rc = k != v->first ? ak_buf_putc(b, ',') : AK_OK) == AK_OK)
                rc = ak_json_write(b, k);
        return rc ? rc : ak_buf_putc(b, ']');
    default:
        rc = ak_buf_putc(b, '{');
        for (const ak_json *k = v->first; rc == AK_OK && k; k = k->next) {
            if (k != v->first)
                rc = ak_buf_putc(b, ',');
            if (rc == AK_OK && (rc = ak_json_quote(b, k->key, k->key_len)) == AK_OK &&
                (rc = ak_buf_putc(b, ':')) == AK_OK)
                rc = ak_json_write(b, k);
        }
        return rc ? rc : ak_buf_putc(b, '}');
    }
}
