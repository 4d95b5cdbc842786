/*
 * match.c - see match.h.
 *
 * Requiring every word found nothing for "postgres vacuum" over text that
 * says "PostgreSQL ... vacuum", so words are OR-ed (Lucene's default).  A
 * document with an exact word matches both it and its prefix term, so BM25
 * ranks it above one with only a longer word.  Stop words are Lucene's
 * English set plus the question words and pronouns people start a question
 * with: "how did we fix the slow rebase" scored every conversation of every
 * system for "how", "did", "we" and "the" (BENCHMARKS.md, words).
 */
#include "query/match.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

#define MATCH_MAX_TERMS 64
#define PREFIX_MIN 3
#define STOP_WORD_MAX 8

/* Sorted, for bsearch. */
static const char *const STOP_WORDS[] = {
    "a", "about", "after", "an", "and", "are", "as", "at", "be", "before", "but", "by",
    "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i",
    "if", "in", "into", "is", "it", "me", "my", "no", "not", "of", "on", "or", "our",
    "should", "so", "such", "that", "the", "their", "then", "there", "these", "they",
    "this", "to", "us", "was", "we", "were", "what", "when", "where", "which", "who", "why",
    "will", "with", "would", "you", "your",
};

static int cmp_word(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static int is_stop_word(const char *w, size_t n)
{
    char low[STOP_WORD_MAX + 1];
    if (n > STOP_WORD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)w[i]);
    low[n] = '\0';
    return bsearch(low, STOP_WORDS, sizeof STOP_WORDS / sizeof *STOP_WORDS, sizeof *STOP_WORDS,
                   cmp_word) != NULL;
}

static int is_word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

/* The next word of *p (advancing it); 0 at the end of the text. */
static size_t next_word(const char **p, const char **start)
{
    while (**p && !is_word_byte((unsigned char)**p))
        (*p)++;
    *start = *p;
    while (**p && is_word_byte((unsigned char)**p))
        (*p)++;
    return (size_t)(*p - *start);
}

static int has_content_word(const char *text)
{
    const char *p = text, *w;
    size_t n;
    while ((n = next_word(&p, &w)) > 0)
        if (!is_stop_word(w, n))
            return 1;
    return 0;
}

char *ak_match_build(const char *text, int prefixes)
{
    ak_buf b = {0};
    int terms = 0, skip_stop = has_content_word(text);
    const char *p = text, *w;
    size_t n;
    while (terms < MATCH_MAX_TERMS && (n = next_word(&p, &w)) > 0) {
        if (skip_stop && is_stop_word(w, n))
            continue;
        ak_buf_printf(&b, "%s\"%.*s\"", terms++ ? " OR " : "", (int)n, w);
        if (prefixes && n >= PREFIX_MIN)
            ak_buf_printf(&b, " OR \"%.*s\"*", (int)n, w);
    }
    return b.data ? ak_buf_steal(&b) : NULL;
}
