/* tls.c - see tls.h. */
#include "server/tls.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ak_code read_file(const char *what, const char *path, char **out, ak_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ak_err_set(err, AK_ERR_INVALID, "%s %s: %s", what, path, strerror(errno));
    char *buf = malloc(AK_TLS_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, AK_TLS_FILE_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (bad || n > AK_TLS_FILE_MAX) {
        free(buf);
        return ak_err_set(err, AK_ERR_INVALID, "%s %s: %s", what, path,
                          bad ? "read error" : "larger than 1 MiB");
    }
    buf[n] = '\0';
    *out = buf;
    return AK_OK;
}

/* An encrypted key would make OpenSSL ask for a passphrase on the
 * terminal; a daemon has none to give. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Parse both PEMs and check that the key belongs to the certificate. */
static ak_code check_pair(const ak_tls *t, const char *cert_path, const char *key_path,
                          ak_err *err)
{
    BIO *cb = BIO_new_mem_buf(t->cert_pem, -1), *kb = BIO_new_mem_buf(t->key_pem, -1);
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, no_passphrase, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL) : NULL;
    ak_code rc = AK_OK;
    if (!cert)
        rc = ak_err_set(err, AK_ERR_INVALID, "--tls-cert %s: not a PEM certificate", cert_path);
    else if (!key)
        rc = ak_err_set(err, AK_ERR_INVALID, "--tls-key %s: not a PEM private key "
                        "(an encrypted key is not supported)", key_path);
    else if (X509_check_private_key(cert, key) != 1)
        rc = ak_err_set(err, AK_ERR_INVALID, "--tls-key %s does not match the certificate %s",
                        key_path, cert_path);
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

ak_code ak_tls_load(const char *cert_path, const char *key_path, ak_tls *out, ak_err *err)
{
    memset(out, 0, sizeof *out);
    ak_code rc = read_file("--tls-cert", cert_path, &out->cert_pem, err);
    if (rc == AK_OK)
        rc = read_file("--tls-key", key_path, &out->key_pem, err);
    if (rc == AK_OK)
        rc = check_pair(out, cert_path, key_path, err);
    if (rc)
        ak_tls_free(out);
    return rc;
}

void ak_tls_free(ak_tls *t)
{
    if (t->key_pem) {
        OPENSSL_cleanse(t->key_pem, strlen(t->key_pem));
        free(t->key_pem);
    }
    free(t->cert_pem);
    t->cert_pem = t->key_pem = NULL;
}
