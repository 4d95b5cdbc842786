/*
 * coldmatch.c - see coldmatch.h.
 *
 * The pieces come from FTS5's own unicode61 tokenizer (found through the
 * fts5() SQL function, FTS5's documented way to reach its API; sqlite3.h
 * declares it), so a word
 * is cut exactly where the index cut the summaries: a guess at Unicode's
 * punctuation here would miss some and make the whole query fail.
 */
#include "storage/coldmatch.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static fts5_api *fts5_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return api && api->iVersion >= 2 ? api : NULL;
}

typedef struct {
    int at[2 * 32]; /* start and end of each piece, at most 32 kept */
    int n;
} pieces;

static int on_token(void *ctx, int tflags, const char *tok, int ntok, int start, int end)
{
    pieces *p = ctx;
    (void)tflags, (void)tok, (void)ntok;
    if (p->n < 32) {
        p->at[2 * p->n] = start;
        p->at[2 * p->n + 1] = end;
    }
    p->n++;
    return SQLITE_OK;
}

/* Append the quoted word w (n bytes, no quote inside) and its prefix star,
 * as pieces when the tokenizer cuts it. */
static ak_code put_word(ak_buf *b, fts5_tokenizer *tk, Fts5Tokenizer *t, const char *w, int n,
                        int star)
{
    pieces p = {.n = 0};
    tk->xTokenize(t, &p, FTS5_TOKENIZE_QUERY, w, n, on_token);
    if (p.n <= 1)
        return ak_buf_printf(b, "\"%.*s\"%s", n, w, star ? "*" : "");
    int kept = p.n < 32 ? p.n : 32; /* a word of more pieces: its first 32 */
    ak_code rc = ak_buf_putc(b, '(');
    for (int i = 0; rc == AK_OK && i < kept; i++)
        rc = ak_buf_printf(b, "%s\"%.*s\"%s", i ? " AND " : "", p.at[2 * i + 1] - p.at[2 * i],
                           w + p.at[2 * i], star && i == p.n - 1 ? "*" : "");
    return rc ? rc : ak_buf_putc(b, ')');
}

ak_code ak_coldmatch_rewrite(sqlite3 *db, const char *match, char **out, ak_err *err)
{
    fts5_api *api = fts5_of(db);
    fts5_tokenizer tk;
    void *user;
    Fts5Tokenizer *t = NULL;
    *out = NULL;
    if (!api || api->xFindTokenizer(api, "unicode61", &user, &tk) != SQLITE_OK ||
        tk.xCreate(user, NULL, 0, &t) != SQLITE_OK)
        return ak_err_set(err, AK_ERR_INTERNAL, "SQLite's FTS5 unicode61 tokenizer is missing");
    ak_buf b = {0};
    ak_code rc = AK_OK;
    for (const char *p = match; rc == AK_OK && *p;) {
        const char *close = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (!close) {
            rc = ak_buf_putc(&b, *p++);
            continue;
        }
        int star = close[1] == '*';
        rc = put_word(&b, &tk, t, p + 1, (int)(close - p - 1), star);
        p = close + 1 + star;
    }
    tk.xDelete(t);
    if (rc == AK_OK && !b.data)
        rc = ak_buf_puts(&b, "");
    if (rc) {
        ak_buf_free(&b);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    *out = ak_buf_steal(&b);
    return AK_OK;
}
