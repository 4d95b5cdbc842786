/*
 * parse.h - the two embedding wire protocols Session-Buddy uses, as bytes:
 * the request body each wants and the vectors each answers.
 *
 *   openai  POST <url>/embeddings   {"input": [...], "model"?}
 *           -> {"data": [{"embedding": [...], "index": i}, ...]}
 *           (llama-server, vLLM, TEI, OpenAI)
 *   ollama  POST <url>/api/embed    {"model": ..., "input": [...]}
 *           -> {"embeddings": [[...], ...]}
 *
 * A vector is accepted only with exactly AK_DIM finite numbers, not all
 * zero.  Pure functions, no I/O: unit-tested and fuzzed on their own.
 *
 * Ownership: the caller owns every buffer passed in.
 */
#ifndef AK_EMBED_PARSE_H
#define AK_EMBED_PARSE_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/vec.h"

#define AK_EMBED_BATCH_MAX 64 /* texts per request, at most */

typedef enum { AK_EMBED_OPENAI, AK_EMBED_OLLAMA } ak_embed_kind;

/* "openai" / "ollama" -> kind; 0 on success, -1 for anything else. */
int ak_embed_kind_parse(const char *name, ak_embed_kind *out);
const char *ak_embed_kind_name(ak_embed_kind k);
/* The path appended to the base URL: "/embeddings" or "/api/embed". */
const char *ak_embed_kind_path(ak_embed_kind k);

/* The request body for n texts (model may be NULL: omitted for openai). */
ak_code ak_embed_request(ak_embed_kind k, const char *model, const char *const *texts,
                         const size_t *lens, size_t n, ak_buf *out);

/* Parse an answer expected to carry n (1..AK_EMBED_BATCH_MAX) vectors into out[n * AK_DIM].
 * AK_ERR_INVALID with the reason ("malformed JSON at byte 3", "embedding 0
 * has 768 numbers, expected 384", "embedding 2[17] is not a finite
 * number", "the provider said: model not found") otherwise. */
ak_code ak_embed_parse(ak_embed_kind k, const char *body, size_t len, size_t n, float *out,
                       ak_err *err);

#endif
