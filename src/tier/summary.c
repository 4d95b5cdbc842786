/*
 * summary.c - see summary.h.
 *
 * Splitting is one left-to-right pass with the rules below; ranking builds
 * sparse TF-IDF term lists per sentence (terms hashed to 32 bits; collisions
 * are rare enough not to matter for ranking), a dense similarity matrix of
 * at most 400 x 400, and runs PageRank (damping 0.85) to convergence.
 */
#include "tier/summary.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/json.h"

#define DAMPING 0.85
#define PR_ITERATIONS 60
#define PR_EPSILON 1e-7

/* ---- splitting ---- */

/* A word list with each word's length, so a lookup compares lengths first. */
typedef struct {
    const char *w;
    size_t n;
} word;
#define W(s) {s, sizeof s - 1}

static int in_list(const word *list, size_t count, const char *w, size_t n)
{
    for (size_t i = 0; i < count; i++)
        if (list[i].n == n && strncasecmp(list[i].w, w, n) == 0)
            return 1;
    return 0;
}

static const word abbreviations[] = {
    W("e.g"), W("i.e"), W("etc"), W("vs"), W("mr"), W("mrs"), W("ms"), W("dr"), W("prof"),
    W("inc"), W("ltd"), W("jr"), W("sr"), W("st"), W("no"), W("fig"), W("approx"), W("cf"),
    W("al"), W("co"), W("corp"), W("dept"), W("est"), W("min"), W("max"), W("jan"), W("feb"),
    W("mar"), W("apr"), W("jun"), W("jul"), W("aug"), W("sep"), W("sept"), W("oct"), W("nov"),
    W("dec"), W("vol"), W("resp"), W("eq"), W("ref"), W("sec"), W("ch"),
};

/* The word that ends just before `dot` (letters and inner dots). */
static size_t word_before(const char *start, const char *dot, const char **w)
{
    const char *p = dot;
    while (p > start && (isalpha((unsigned char)p[-1]) || p[-1] == '.'))
        p--;
    *w = p;
    return (size_t)(dot - p);
}

static int is_abbreviation(const char *start, const char *dot)
{
    const char *w;
    size_t n = word_before(start, dot, &w);
    if (n == 1 && isupper((unsigned char)*w))
        return 1; /* an initial: "J. Smith", "U.S." */
    if (n >= 3 && w[1] == '.')
        return 1; /* "U.S", "e.g" spelled with inner dots */
    return in_list(abbreviations, sizeof abbreviations / sizeof *abbreviations, w, n);
}

/* Does a sentence end at text[i] (a '.', '!' or '?')?  Only when
 * whitespace follows the mark and any closing quotes (so decimals,
 * versions, URLs and file names never end one) and what comes next can
 * start a sentence.  Returns the end (past the closing marks), or 0. */
static size_t sentence_end(const char *text, size_t len, size_t i)
{
    size_t end = i + 1;
    while (end < len && (text[end] == '.' || text[end] == '!' || text[end] == '?' ||
                         text[end] == '"' || text[end] == '\'' || text[end] == ')'))
        end++;
    if (end < len && !isspace((unsigned char)text[end]))
        return 0;
    size_t j = end;
    while (j < len && isspace((unsigned char)text[j]))
        j++;
    if (j >= len)
        return end;
    if (text[i] == '.' && end == i + 1 && is_abbreviation(text, text + i))
        return 0;
    unsigned char c = (unsigned char)text[j];
    int starts = isupper(c) || isdigit(c) || c == '"' || c == '\'' || c == '(' || c == '`' ||
                 c == '-' || c == '*' || c >= 0x80;
    return starts ? end : 0;
}

static int at_fence(const char *text, size_t len, size_t i)
{
    return i + 3 <= len && memcmp(text + i, "```", 3) == 0 && (i == 0 || text[i - 1] == '\n');
}

static size_t fence_end(const char *text, size_t len, size_t i)
{
    const char *close = NULL;
    for (size_t k = i + 3; k + 3 <= len; k++)
        if (memcmp(text + k, "```", 3) == 0 && text[k - 1] == '\n') {
            close = text + k;
            break;
        }
    return close ? (size_t)(close - text) + 3 : len;
}

static void emit(ak_sentence_fn fn, void *ctx, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n)
        fn(ctx, s, n);
}

void ak_split_sentences(const char *text, size_t len, ak_sentence_fn fn, void *ctx)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (at_fence(text, len, i)) { /* code is not prose: skipped whole */
            emit(fn, ctx, text + start, i - start);
            i = fence_end(text, len, i);
            start = i;
            i = i ? i - 1 : 0;
            continue;
        }
        int paragraph = c == '\n' && i + 1 < len &&
                        (text[i + 1] == '\n' || text[i + 1] == '-' || text[i + 1] == '*');
        size_t end = paragraph ? i + 1
                     : c == '.' || c == '!' || c == '?' ? sentence_end(text, len, i) : 0;
        if (end) {
            emit(fn, ctx, text + start, end - start);
            start = end;
            i = end - 1;
        }
    }
    emit(fn, ctx, text + start, len - start);
}

/* ---- ranking ---- */

typedef struct {
    const char *s;
    size_t len;
    uint32_t *terms;  /* sorted, unique */
    float *weights;   /* tf-idf, L2-normalized */
    size_t n_terms;
} sentence;

typedef struct {
    sentence *v;
    size_t n;
} sentences;

static void collect(void *ctx, const char *s, size_t len)
{
    sentences *ss = ctx;
    if (ss->n < AK_SUMMARY_MAX_SENTENCES)
        ss->v[ss->n++] = (sentence){.s = s, .len = len};
}

static const word stopwords[] = {
    W("the"), W("a"), W("an"), W("and"), W("or"), W("of"), W("to"), W("in"), W("on"),
    W("for"), W("is"), W("was"), W("it"), W("that"), W("this"), W("with"), W("as"), W("at"),
    W("by"), W("be"), W("are"), W("we"), W("i"), W("you"), W("but"), W("not"), W("so"),
    W("then"), W("from"), W("how"), W("what"), W("about"), W("have"), W("has"), W("had"),
    W("there"), W("their"), W("its"),
};

static int is_stopword(const char *w, size_t n)
{
    return n <= 5 && in_list(stopwords, sizeof stopwords / sizeof *stopwords, w, n);
}

static uint32_t hash_word(const char *w, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint32_t)tolower((unsigned char)w[i])) * 16777619u;
    return h;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The sentence's distinct terms, sorted; weights hold their counts. */
static int terms_of(sentence *st)
{
    size_t cap = st->len / 2 + 1, n = 0;
    uint32_t *all = malloc(cap * sizeof *all);
    if (!all)
        return -1;
    for (size_t i = 0; i < st->len;) {
        while (i < st->len && !(isalnum((unsigned char)st->s[i]) || (unsigned char)st->s[i] >= 0x80))
            i++;
        size_t b = i;
        while (i < st->len && (isalnum((unsigned char)st->s[i]) || (unsigned char)st->s[i] >= 0x80))
            i++;
        if (i > b && !is_stopword(st->s + b, i - b) && n < cap)
            all[n++] = hash_word(st->s + b, i - b);
    }
    qsort(all, n, sizeof *all, cmp_u32);
    st->terms = all;
    st->weights = malloc((n ? n : 1) * sizeof *st->weights);
    if (!st->weights)
        return -1;
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && all[u - 1] == all[i]) {
            st->weights[u - 1] += 1;
            continue;
        }
        all[u] = all[i];
        st->weights[u++] = 1;
    }
    st->n_terms = u;
    return 0;
}

/* Document frequencies: every distinct term with the number of sentences it
 * appears in, sorted by term (one sort of all terms, rather than a search
 * of every sentence per term: the latter grew with the square of a text's
 * sentences). */
typedef struct {
    uint32_t term, df;
} term_df;

static int cmp_term_df(const void *a, const void *b)
{
    return cmp_u32(&((const term_df *)a)->term, &((const term_df *)b)->term);
}

static term_df *doc_freqs(const sentences *ss, size_t *n_out)
{
    size_t total = 0, n = 0;
    for (size_t i = 0; i < ss->n; i++)
        total += ss->v[i].n_terms;
    term_df *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return NULL;
    for (size_t i = 0; i < ss->n; i++) /* a sentence lists a term once */
        for (size_t t = 0; t < ss->v[i].n_terms; t++)
            all[n++] = (term_df){ss->v[i].terms[t], 1};
    qsort(all, n, sizeof *all, cmp_term_df);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && all[u - 1].term == all[i].term)
            all[u - 1].df++;
        else
            all[u++] = all[i];
    }
    *n_out = u;
    return all;
}

static int weigh(sentences *ss)
{
    size_t n_df;
    term_df *df = doc_freqs(ss, &n_df);
    if (!df)
        return -1;
    for (size_t i = 0; i < ss->n; i++) {
        sentence *st = &ss->v[i];
        double norm = 0;
        for (size_t t = 0; t < st->n_terms; t++) {
            term_df key = {st->terms[t], 0};
            const term_df *f = bsearch(&key, df, n_df, sizeof key, cmp_term_df);
            double idf = log((1.0 + (double)ss->n) / (1.0 + (double)f->df)) + 1;
            st->weights[t] = (float)(st->weights[t] * idf);
            norm += (double)st->weights[t] * st->weights[t];
        }
        for (size_t t = 0; t < st->n_terms && norm > 0; t++)
            st->weights[t] = (float)(st->weights[t] / sqrt(norm));
    }
    free(df);
    return 0;
}

static double similarity(const sentence *a, const sentence *b)
{
    double s = 0;
    size_t i = 0, j = 0;
    while (i < a->n_terms && j < b->n_terms) {
        if (a->terms[i] == b->terms[j])
            s += (double)a->weights[i++] * b->weights[j++];
        else if (a->terms[i] < b->terms[j])
            i++;
        else
            j++;
    }
    return s;
}

/* PageRank over the weighted similarity graph. */
static void textrank(const sentences *ss, double *score)
{
    size_t n = ss->n;
    double *w = calloc(n * n, sizeof *w), *out = calloc(n, sizeof *out), *next = calloc(n, sizeof *next);
    if (!w || !out || !next) {
        for (size_t i = 0; i < n; i++)
            score[i] = (double)(n - i); /* no memory: lead sentences first */
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double s = similarity(&ss->v[i], &ss->v[j]);
            w[i * n + j] = w[j * n + i] = s;
            out[i] += s;
            out[j] += s;
        }
    for (size_t j = 0; j < n; j++) /* w becomes the transition probability j -> i */
        for (size_t i = 0; i < n; i++)
            w[j * n + i] = out[j] > 0 ? w[j * n + i] / out[j] : 0;
    for (size_t i = 0; i < n; i++)
        score[i] = 1.0 / (double)n;
    for (int it = 0; it < PR_ITERATIONS; it++) {
        double delta = 0;
        for (size_t i = 0; i < n; i++) {
            double sum = 0;
            for (size_t j = 0; j < n; j++)
                sum += w[j * n + i] * score[j];
            next[i] = (1 - DAMPING) / (double)n + DAMPING * sum;
            delta += fabs(next[i] - score[i]);
        }
        memcpy(score, next, n * sizeof *score);
        if (delta < PR_EPSILON)
            break;
    }
done:
    free(w);
    free(out);
    free(next);
}

/* Append one chosen sentence, cut on a character boundary if too long. */
static void append_sentence(ak_buf *b, const sentence *st)
{
    size_t n = st->len;
    int cut = 0;
    if (n > AK_SUMMARY_MAX_SENTENCE_BYTES) {
        n = AK_SUMMARY_MAX_SENTENCE_BYTES;
        while (n > 0 && ((unsigned char)st->s[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    if (b->len)
        ak_buf_putc(b, ' ');
    for (size_t i = 0; i < n; i++) /* line breaks inside a sentence become spaces */
        ak_buf_putc(b, st->s[i] == '\n' || st->s[i] == '\r' || st->s[i] == '\t' ? ' ' : st->s[i]);
    if (cut)
        ak_buf_puts(b, "\xE2\x80\xA6");
}

static void choose(const sentences *ss, const double *score, int n, ak_buf *b)
{
    char *chosen = calloc(ss->n, 1);
    for (int k = 0; k < n && chosen && (size_t)k < ss->n; k++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < ss->n; i++) /* ties: the earlier sentence */
            if (!chosen[i] && (best == SIZE_MAX || score[i] > score[best] + 1e-12))
                best = i;
        chosen[best] = 1;
    }
    for (size_t i = 0; i < ss->n; i++)
        if (!chosen || chosen[i])
            append_sentence(b, &ss->v[i]);
    free(chosen);
}

/* One summary from the ranked sentences (or the text's start when it has
 * no prose); *out malloc'd on success. */
static ak_code summary_of(const char *text, size_t len, const sentences *ss, const double *score,
                          int n, char **out)
{
    ak_buf b = {0};
    if (ss->n) {
        choose(ss, score, n, &b);
    } else {
        sentence whole = {.s = text, .len = len}; /* only code: show its start */
        append_sentence(&b, &whole);
    }
    if (!ak_utf8_valid(b.data ? b.data : "", b.len)) {
        ak_buf_free(&b);
        return AK_ERR_INTERNAL;
    }
    *out = ak_buf_steal(&b);
    return *out ? AK_OK : AK_ERR_NOMEM;
}

ak_code ak_summarize_many(const char *text, size_t len, const int *n, char **out, int count,
                          ak_err *err)
{
    sentences ss = {malloc(AK_SUMMARY_MAX_SENTENCES * sizeof(sentence)), 0};
    double *score = malloc(AK_SUMMARY_MAX_SENTENCES * sizeof *score);
    ak_code rc = ss.v && score ? AK_OK : AK_ERR_NOMEM;
    if (rc == AK_OK)
        ak_split_sentences(text, len, collect, &ss);
    for (size_t i = 0; rc == AK_OK && i < ss.n; i++)
        if (terms_of(&ss.v[i]))
            rc = AK_ERR_NOMEM;
    if (rc == AK_OK && ss.n && weigh(&ss))
        rc = AK_ERR_NOMEM;
    if (rc == AK_OK && ss.n)
        textrank(&ss, score);
    int made = 0; /* out[0..made) are allocated */
    while (rc == AK_OK && made < count)
        if ((rc = summary_of(text, len, &ss, score, n[made], &out[made])) == AK_OK)
            made++;
    for (size_t i = 0; i < ss.n; i++) {
        free(ss.v[i].terms);
        free(ss.v[i].weights);
    }
    free(ss.v);
    free(score);
    if (rc) {
        while (made-- > 0)
            free(out[made]), out[made] = NULL;
        return ak_err_set(err, rc, rc == AK_ERR_NOMEM ? "summarizing: out of memory"
                                                      : "summarizing: produced invalid UTF-8");
    }
    return AK_OK;
}

ak_code ak_summarize(const char *text, size_t len, int n, char **out, ak_err *err)
{
    return ak_summarize_many(text, len, &n, out, 1, err);
}
