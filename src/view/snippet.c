/*
 * snippet.c - see snippet.h.
 */
#include "view/snippet.h"

#include <ctype.h>
#include <string.h>

#include "util/buf.h"

static int word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

/* Does the word w[0..wn) begin text at i (case folded)? */
static int begins_at(const char *text, size_t len, size_t i, const char *w, size_t wn)
{
    if (i + wn > len)
        return 0;
    for (size_t k = 0; k < wn; k++)
        if (tolower((unsigned char)text[i + k]) != tolower((unsigned char)w[k]))
            return 0;
    return 1;
}

/* The earliest start of a text word that one of the query words begins. */
static size_t first_match(const char *text, size_t len, const char *words)
{
    for (size_t i = 0; words && i < len; i++) {
        if (!word_byte((unsigned char)text[i]) || (i > 0 && word_byte((unsigned char)text[i - 1])))
            continue;
        for (const char *p = words; *p;) {
            while (*p && !word_byte((unsigned char)*p))
                p++;
            const char *w = p;
            while (*p && word_byte((unsigned char)*p))
                p++;
            if (p > w && begins_at(text, len, i, w, (size_t)(p - w)))
                return i;
        }
    }
    return 0;
}

static size_t char_start(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

void ak_snippet_window(const char *text, size_t len, const char *words, size_t width,
                       size_t *start, size_t *n)
{
    size_t at = first_match(text, len, words), s = 0;
    if (len > width && at > width / 4) {
        s = at - width / 4; /* a little context before the match */
        size_t space = s;
        while (space < at && text[space] != ' ' && text[space] != '\n')
            space++;
        s = space < at ? space + 1 : char_start(text, s); /* start on a word when near */
    }
    size_t end = len - s > width ? char_start(text, s + width) : len;
    *start = s;
    *n = end - s;
}

void ak_snippet_json(ak_jw *w, const char *text, const char *words, size_t width)
{
    const char *t = text ? text : "";
    size_t len = strlen(t), s, n;
    ak_snippet_window(t, len, words, width, &s, &n);
    ak_buf b = {0};
    if (s > 0)
        ak_buf_puts(&b, "...");
    ak_buf_append(&b, t + s, n);
    if (s + n < len)
        ak_buf_puts(&b, "...");
    ak_jw_key(w, "snippet");
    ak_jw_strn(w, b.data ? b.data : "", b.len);
    ak_buf_free(&b);
}
