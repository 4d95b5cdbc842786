/*
 * coldmatch.h - a full-text query for the cold index, which keeps no
 * positions (schema 10: detail=none) and so refuses a quoted word that its
 * tokenizer splits in two ("don’t", "a—b"): each such word becomes the AND
 * of its pieces, as unicode61 cuts them.  The query's other words and
 * operators are kept as they are.
 *
 * Ownership: the handle is borrowed; *out is malloc'd, the caller frees it.
 */
#ifndef AK_COLDMATCH_H
#define AK_COLDMATCH_H

#include <sqlite3.h>

#include "util/err.h"

/* match: a query as query/match.h builds it ("w" OR "w"* ...). */
ak_code ak_coldmatch_rewrite(sqlite3 *db, const char *match, char **out, ak_err *err);

#endif
