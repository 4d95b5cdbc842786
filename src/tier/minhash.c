/*
 * minhash.c - see minhash.h.
 *
 * Each shingle is hashed once to 64 bits; the 128 hash functions are then
 * cheap derivations of that value (xor with a per-slot constant, then a
 * 64-bit finalizer), which behave as independent hash functions for MinHash
 * while costing one multiply-shift mix per slot.
 */
#include "tier/minhash.h"

#include <ctype.h>
#include <string.h>

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static int word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

/* FNV-1a over a lowercased word, folded into the running shingle hash. */
static uint64_t hash_word(const char *w, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)tolower((unsigned char)w[i])) * 1099511628211ULL;
    return h;
}

/* Fold one shingle's hash into every slot's minimum. */
static void take(uint32_t *sig, uint64_t h)
{
    for (int i = 0; i < AK_MINHASH_SLOTS; i++) {
        uint32_t v = (uint32_t)(mix64(h ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1))) >> 32);
        if (v < sig[i])
            sig[i] = v;
    }
}

/* The hash of the `n` words ending at word number `last` (ring holds the
 * most recent AK_MINHASH_SHINGLE word hashes), in order. */
static uint64_t shingle(const uint64_t *ring, size_t last, size_t n)
{
    uint64_t h = 0;
    for (size_t k = 0; k < n; k++)
        h = mix64(h ^ ring[(last + 1 - n + k) % AK_MINHASH_SHINGLE]) + k;
    return h;
}

void ak_minhash(const char *text, size_t len, uint32_t sig[AK_MINHASH_SLOTS])
{
    uint64_t ring[AK_MINHASH_SHINGLE];
    size_t words = 0;
    for (int i = 0; i < AK_MINHASH_SLOTS; i++)
        sig[i] = UINT32_MAX;
    for (size_t i = 0; i < len;) {
        while (i < len && !word_byte((unsigned char)text[i]))
            i++;
        size_t b = i;
        while (i < len && word_byte((unsigned char)text[i]))
            i++;
        if (i == b)
            break;
        ring[words % AK_MINHASH_SHINGLE] = hash_word(text + b, i - b);
        if (++words >= AK_MINHASH_SHINGLE)
            take(sig, shingle(ring, words - 1, AK_MINHASH_SHINGLE));
    }
    if (words > 0 && words < AK_MINHASH_SHINGLE)
        take(sig, shingle(ring, words - 1, words)); /* a short text is one shingle */
}

void ak_minhash_bytes(const uint32_t sig[AK_MINHASH_SLOTS], uint8_t out[AK_MINHASH_BYTES])
{
    for (int i = 0; i < AK_MINHASH_BYTES; i++)
        out[i] = (uint8_t)((sig[2 * i] & 0xf) | (sig[2 * i + 1] & 0xf) << 4);
}

int ak_minhash_stored(const void *in, size_t len, uint8_t out[AK_MINHASH_BYTES])
{
    const uint8_t *b = in;
    if (len == AK_MINHASH_BYTES)
        memcpy(out, b, AK_MINHASH_BYTES);
    else if (len == AK_MINHASH_BYTES_V1) /* the low byte of each slot comes first */
        for (int i = 0; i < AK_MINHASH_BYTES; i++)
            out[i] = (uint8_t)((b[8 * i] & 0xf) | (b[8 * i + 4] & 0xf) << 4);
    else
        return 0;
    return 1;
}

double ak_minhash_bytes_similarity(const uint8_t *a, const uint8_t *b)
{
    int same = 0;
    for (int i = 0; i < AK_MINHASH_BYTES; i++)
        same += ((a[i] ^ b[i]) & 0xf) == 0, same += ((a[i] ^ b[i]) >> 4) == 0;
    double p = (double)same / AK_MINHASH_SLOTS, chance = 1.0 / 16;
    return p <= chance ? 0 : (p - chance) / (1 - chance);
}

double ak_minhash_similarity(const uint32_t *a, const uint32_t *b)
{
    int same = 0;
    for (int i = 0; i < AK_MINHASH_SLOTS; i++)
        same += a[i] == b[i];
    return (double)same / AK_MINHASH_SLOTS;
}
