/*
 * words.c - see words.h.
 */
#include "query/words.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

ak_code ak_search_words(ak_index *idx, ak_pool *pool, ak_embed *embed, const ak_query *q,
                        ak_results *out, ak_err *err)
{
    ak_query hybrid = *q;
    ak_err why = {0};
    int fell_back = 0;
    if (q->words) {
        hybrid.text = q->words;
        if (!q->has_vector) {
            hybrid.has_vector = ak_embed_query(embed, q->words, hybrid.vector, &why) == AK_OK;
            fell_back = !hybrid.has_vector;
        }
    }
    ak_code rc = ak_search(idx, pool, &hybrid, out, err);
    if (rc == AK_OK && fell_back) {
        out->embed_error = strdup(why.msg);
        if (embed) /* none configured is a choice, not a problem */
            AK_WARN("search", "words searched as keywords: %s", why.msg);
    }
    return rc;
}
