/*
 * summary.h - extractive summaries for the warm and cold tiers (SPEC 6).
 *
 * The text is split into sentences by a splitter that knows abbreviations
 * ("e.g.", "Dr.", "U.S."), decimals and versions ("3.14", "v2.3.1"), URLs
 * and file names ("example.com/a.html"), list items and paragraphs, and
 * keeps fenced code blocks (```...```) out of the summary.  Sentences are
 * ranked by TextRank: PageRank over the graph whose edges are the TF-IDF
 * cosine similarities between sentences, so the most central sentences -
 * those that say what the others say - win.  The chosen sentences are
 * returned in their original order, joined by spaces.
 *
 * Long texts: only the first AK_SUMMARY_MAX_SENTENCES sentences compete
 * (the graph is quadratic), and each chosen sentence is cut at
 * AK_SUMMARY_MAX_SENTENCE_BYTES on a character boundary, marked with "…".
 */
#ifndef AK_SUMMARY_H
#define AK_SUMMARY_H

#include <stddef.h>

#include "util/err.h"

#define AK_SUMMARY_MAX_SENTENCES 400
#define AK_SUMMARY_MAX_SENTENCE_BYTES 600

/* Summary of text[0..len) in at most n sentences; *out is malloc'd and
 * NUL-terminated (never NULL on success: a text without prose gives its
 * first characters). */
ak_code ak_summarize(const char *text, size_t len, int n, char **out, ak_err *err);

/* Several summaries of one text (out[i] in at most n[i] sentences) from one
 * ranking: aging needs a 3- and a 1-sentence one of each conversation.  On
 * failure no out[i] is left allocated. */
ak_code ak_summarize_many(const char *text, size_t len, const int *n, char **out, int count,
                          ak_err *err);

/* The sentence boundaries the splitter finds (for tests and tools): calls
 * fn for each sentence span in order. */
typedef void (*ak_sentence_fn)(void *ctx, const char *s, size_t len);
void ak_split_sentences(const char *text, size_t len, ak_sentence_fn fn, void *ctx);

#endif
