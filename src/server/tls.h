/*
 * tls.h - the certificate and key `akosha serve` offers over HTTPS.
 *
 * libmicrohttpd (GnuTLS, as Debian builds it) takes them as PEM in memory.
 * They are read and checked here first, with OpenSSL, so that a wrong file
 * is refused at start with a sentence naming it (not a certificate, not a
 * key, the key does not match the certificate) instead of a bare failure
 * to listen.
 *
 * Ownership: ak_tls_load() fills an ak_tls; ak_tls_free() wipes the key
 * and frees both.
 */
#ifndef AK_TLS_H
#define AK_TLS_H

#include "util/err.h"

typedef struct {
    char *cert_pem, *key_pem; /* NUL-terminated */
} ak_tls;

#define AK_TLS_FILE_MAX (1024 * 1024) /* a PEM file larger than this is refused */

ak_code ak_tls_load(const char *cert_path, const char *key_path, ak_tls *out, ak_err *err);
void ak_tls_free(ak_tls *t);

#endif
