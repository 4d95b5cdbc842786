/* sha256.c - see sha256.h.  EVP rather than the deprecated SHA256_* calls so
 * OpenSSL 3 picks its fastest implementation (SHA-NI where present). */
#include "util/sha256.h"

#include <openssl/evp.h>

struct ak_sha256_ctx {
    EVP_MD_CTX *md;
};

ak_sha256_ctx *ak_sha256_new(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return NULL;
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    ak_sha256_ctx *c = OPENSSL_malloc(sizeof *c);
    if (!c) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    c->md = md;
    return c;
}

void ak_sha256_update(ak_sha256_ctx *c, const void *data, size_t len)
{
    EVP_DigestUpdate(c->md, data, len);
}

void ak_sha256_final(ak_sha256_ctx *c, uint8_t out[AK_SHA256_LEN])
{
    unsigned n = 0;
    EVP_DigestFinal_ex(c->md, out, &n);
    EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
}

void ak_sha256_free(ak_sha256_ctx *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    OPENSSL_free(c);
}

void ak_sha256(const void *data, size_t len, uint8_t out[AK_SHA256_LEN])
{
    unsigned n = 0;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void ak_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}
