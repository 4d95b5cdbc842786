/*
 * sigv4.h - AWS Signature Version 4 for requests signed in the
 * Authorization header (what the S3 backend sends).
 *
 * The caller describes the request with decoded parts - the path and the
 * query names and values as bytes, every header it wants signed - and
 * ak_sigv4_sign() builds the canonical request, the string to sign and the
 * signature exactly as AWS specifies them.  Paths are encoded once and not
 * normalized ("a/./b" stays), which is S3's rule; other AWS services also
 * normalize, which this signer deliberately does not.
 *
 * ak_sigv4_canonical_query() is public so that a request's URL carries the
 * very query string that was signed.
 *
 * Ownership: ak_sigv4_result holds three ak_bufs released by
 * ak_sigv4_result_free(); everything passed in stays the caller's.
 */
#ifndef AK_SIGV4_H
#define AK_SIGV4_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* "YYYYMMDDTHHMMSSZ" plus NUL: the x-amz-date format. */
#define AK_SIGV4_DATE_LEN 17

typedef struct {
    const char *name, *value;
} ak_sigv4_pair;

typedef struct {
    const char *method;             /* "GET" */
    const char *path;               /* decoded, starting with "/" ("" = "/") */
    const ak_sigv4_pair *query;     /* decoded names and values, any order */
    size_t n_query;
    const ak_sigv4_pair *headers;   /* headers to sign, any case and order;
                                       host and x-amz-date included */
    size_t n_headers;
    const char *payload_sha256;     /* lowercase hex SHA-256 of the body */
} ak_sigv4_request;

typedef struct {
    const char *access_key, *secret_key;
    const char *region;             /* "us-east-1" */
    const char *service;            /* "s3" */
} ak_sigv4_credentials;

typedef struct {
    ak_buf canonical_request;
    ak_buf string_to_sign;
    ak_buf authorization;           /* the Authorization header's value */
    char signature[65];             /* lowercase hex */
} ak_sigv4_result;

/* Sign req at amz_date ("20150830T123600Z", the request's x-amz-date).
 * Fails only with AK_ERR_NOMEM, or AK_ERR_INVALID for a malformed date.
 * *out is zeroed first and must be released even on failure. */
ak_code ak_sigv4_sign(const ak_sigv4_request *req, const ak_sigv4_credentials *cred,
                      const char *amz_date, ak_sigv4_result *out);
void ak_sigv4_result_free(ak_sigv4_result *r);

/* Append s[0..n) URI-encoded as SigV4 wants: A-Z a-z 0-9 - . _ ~ as they
 * are, "/" as it is when keep_slash, every other byte as %XX (uppercase). */
ak_code ak_sigv4_encode(ak_buf *out, const char *s, size_t n, int keep_slash);

/* Append the canonical query string of q: each name and value encoded,
 * pairs sorted by encoded name then value, joined as "a=1&b=2". */
ak_code ak_sigv4_canonical_query(ak_buf *out, const ak_sigv4_pair *q, size_t n);

/* The x-amz-date of a Unix time (seconds). */
void ak_sigv4_date(long long unix_seconds, char out[AK_SIGV4_DATE_LEN]);

#endif
