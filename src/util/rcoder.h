/*
 * rcoder.h - a range coder (LZMA's: a 32-bit range, carries propagated into
 * the bytes already written) over fixed frequency tables, for the compact
 * vector codes (util/vcode.c).  Tables are part of a stored format: each
 * symbol's frequency is at least 1 and they sum to 2^bits.
 *
 * The encoder writes into a caller's buffer of cap bytes and counts bytes
 * past it instead of storing them, so a caller can try a code and learn its
 * size.  Its first byte is always 0 and is not stored; zeros at the end
 * need not be stored either (the decoder reads zeros past its input), so a
 * code's length is ak_renc_finish's, which ends it on the value of its last
 * interval with the most zero bytes at its end.  The decoder cannot tell a
 * cut or damaged code: a format that must, codes what it decoded again and
 * compares (util/vcode.c).
 *
 * Both are plain structs owned by the caller; nothing is allocated.
 */
#ifndef AK_RCODER_H
#define AK_RCODER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t low;
    uint32_t range, cache_n;
    uint8_t cache, *out;
    int first;
    size_t n, last, cap; /* bytes written; one past the last nonzero one */
} ak_renc;

/* Start a code into out (cap bytes; zeroed here). */
void ak_renc_init(ak_renc *e, uint8_t *out, size_t cap);

/* A symbol taking [start, start + size) of a table of 2^bits. */
void ak_renc_put(ak_renc *e, uint32_t start, uint32_t size, int bits);

/* Flush; returns the code's length (to its last nonzero byte), which may
 * exceed cap (then only cap bytes were stored). */
size_t ak_renc_finish(ak_renc *e);

typedef struct {
    uint32_t range, code;
    const uint8_t *in;
    size_t n, pos; /* pos counts the zeros read past the end too */
} ak_rdec;

void ak_rdec_init(ak_rdec *d, const uint8_t *in, size_t n);

/* The symbol m of f (nsym frequencies summing to 2^bits) with
 * cum[m] <= value < cum[m + 1].  Damaged input decodes to some symbol below
 * nsym, never more: the arithmetic is unsigned and the range stays >= 2^24. */
int ak_rdec_symbol(ak_rdec *d, const uint16_t *f, int nsym, int bits);

/* One bit of probability 1/2. */
int ak_rdec_bit(ak_rdec *d);

#endif
