/* rcoder.c - see rcoder.h. */
#include "util/rcoder.h"

#include <string.h>

void ak_renc_init(ak_renc *e, uint8_t *out, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->range = 0xffffffffu;
    e->cache_n = 1;
    e->first = 1;
    e->out = out;
    e->cap = cap;
    memset(out, 0, cap);
}

static void renc_byte(ak_renc *e, uint8_t b)
{
    if (e->first) {
        e->first = 0;
        return;
    }
    if (e->n < e->cap)
        e->out[e->n] = b;
    e->n++;
    if (b)
        e->last = e->n;
}

static void renc_shift(ak_renc *e)
{
    if ((uint32_t)e->low < 0xff000000u || (e->low >> 32) != 0) {
        uint8_t carry = (uint8_t)(e->low >> 32), b = e->cache;
        do {
            renc_byte(e, (uint8_t)(b + carry));
            b = 0xff;
        } while (--e->cache_n);
        e->cache = (uint8_t)(e->low >> 24);
    }
    e->cache_n++;
    e->low = (e->low & 0x00ffffffu) << 8;
}

void ak_renc_put(ak_renc *e, uint32_t start, uint32_t size, int bits)
{
    uint32_t r = e->range >> bits;
    e->low += (uint64_t)r * start;
    e->range = r * size;
    while (e->range < (1u << 24)) {
        e->range <<= 8;
        renc_shift(e);
    }
}

size_t ak_renc_finish(ak_renc *e)
{
    /* any value in [low, low + range) decodes the same: the one with the
     * most zero bytes at its end, which need not be stored */
    for (int bits = 32; bits > 0; bits -= 8) {
        uint64_t mask = ((uint64_t)1 << bits) - 1, v = (e->low + mask) & ~mask;
        if (v < e->low + e->range) {
            e->low = v;
            break;
        }
    }
    for (int k = 0; k < 5; k++)
        renc_shift(e);
    return e->last;
}

static uint8_t rdec_next(ak_rdec *d)
{
    uint8_t b = d->pos < d->n ? d->in[d->pos] : 0; /* zeros past the end */
    d->pos++;
    return b;
}

void ak_rdec_init(ak_rdec *d, const uint8_t *in, size_t n)
{
    *d = (ak_rdec){.range = 0xffffffffu, .in = in, .n = n};
    for (int b = 0; b < 4; b++)
        d->code = d->code << 8 | rdec_next(d);
}

static void rdec_norm(ak_rdec *d)
{
    while (d->range < (1u << 24)) {
        d->range <<= 8;
        d->code = d->code << 8 | rdec_next(d);
    }
}

/* code / r compared with cum, without the division: r * cum never exceeds
 * the range, so no product overflows. */
int ak_rdec_symbol(ak_rdec *d, const uint16_t *f, int nsym, int bits)
{
    uint32_t r = d->range >> bits, low = 0, next = r * f[0];
    int m = 0;
    while (m < nsym - 1 && next <= d->code) {
        low = next;
        next += r * f[++m];
    }
    d->code -= low;
    d->range = r * f[m];
    rdec_norm(d);
    return m;
}

int ak_rdec_bit(ak_rdec *d)
{
    uint32_t r = d->range >> 1, one = d->code >= r;
    d->code -= one ? r : 0;
    d->range = r;
    rdec_norm(d);
    return (int)one;
}
