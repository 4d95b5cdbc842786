/*
 * snippet.h - a few hundred bytes of a result's text around where the
 * query's words occur, for MCP results (an assistant reads the snippet and
 * asks get_conversation for the whole text when it needs it).
 *
 * Ownership: nothing is allocated beyond what the writer buffers.
 */
#ifndef AK_SNIPPET_H
#define AK_SNIPPET_H

#include <stddef.h>

#include "util/jsonw.h"

/* Where the window of at most width bytes starts and how long it is: around
 * the first place a word of `words` begins a word of text (ASCII case
 * folded; words NULL or none found: the start), cut at UTF-8 boundaries. */
void ak_snippet_window(const char *text, size_t len, const char *words, size_t width,
                       size_t *start, size_t *n);

/* "snippet": the window, with "..." where text was cut off. */
void ak_snippet_json(ak_jw *w, const char *text, const char *words, size_t width);

#endif
