/*
 * match.h - the FTS5 query a keyword search runs, built from a user's free
 * text so that no FTS syntax a user types ever reaches SQLite.
 *
 * Ownership: ak_match_build() returns a malloc'd string the caller frees.
 */
#ifndef AK_QUERY_MATCH_H
#define AK_QUERY_MATCH_H

/* The words of text, each quoted and OR-ed (any word matches; BM25 ranks
 * documents with more and rarer ones first).  English stop words ("the",
 * "how", "did" ...) are left out when the text has another word: they
 * match nearly every document, so BM25 would score the whole tier for a
 * ranking they barely change.  With prefixes, a word of 3 or more bytes
 * also matches the words it begins ("postgres"* finds "PostgreSQL").
 * NULL when text has no word (or for memory). */
char *ak_match_build(const char *text, int prefixes);

#endif
