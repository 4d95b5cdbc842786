/*
 * auth.h - bearer tokens and the per-caller rate limit of the HTTP API.
 *
 * Tokens come from AKOSHA_API_TOKENS (comma-separated) and/or a token file
 * (one per line, '#' comments).  A presented token is hashed and compared
 * with every configured token's hash in constant time (CRYPTO_memcmp), and
 * the loop never exits early, so the time taken does not tell how close a
 * guess was or which token matched.
 *
 * The rate limit is a token bucket per caller (per API token, or per client
 * address when no tokens are configured): `rate` requests a second with
 * bursts of `burst`.
 *
 * Ownership: ak_auth_new() / ak_auth_free().  Thread-safe.
 */
#ifndef AK_AUTH_H
#define AK_AUTH_H

#include "util/err.h"

typedef struct ak_auth ak_auth;

#define AK_AUTH_MAX_TOKENS 256 /* token numbers are 0 .. this - 1 */

/* tokens and token_file may be NULL; rate <= 0 disables the limit. */
ak_code ak_auth_new(const char *tokens, const char *token_file, double rate, double burst,
                    ak_auth **out, ak_err *err);
void ak_auth_free(ak_auth *a);
int ak_auth_has_tokens(const ak_auth *a);

/* The matching token's number (>= 0) for an "Authorization: Bearer X"
 * header value, or -1. */
int ak_auth_check(const ak_auth *a, const char *authorization);

/* 1 if the caller named by key may make a request now, else 0. */
int ak_auth_allow(ak_auth *a, const char *key);

#endif
