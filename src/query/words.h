/*
 * words.h - a search by words (`query`): embed them with the provider and
 * search hybrid (vector + BM25, rank fusion); when the provider is absent,
 * down, slow or wrong, search the words as keywords and say why.  A search
 * never fails because the embedder did.
 *
 * Ownership: as ak_search(); the embedder is borrowed (NULL: none).
 */
#ifndef AK_WORDS_H
#define AK_WORDS_H

#include "embed/embed.h"
#include "query/search.h"

/* ak_search() for any query; when q->words is set (and no vector was given)
 * the words are embedded first.  out->mode says how it was served and
 * out->embed_error why a words query fell back to text. */
ak_code ak_search_words(ak_index *idx, ak_pool *pool, ak_embed *embed, const ak_query *q,
                        ak_results *out, ak_err *err);

#endif
