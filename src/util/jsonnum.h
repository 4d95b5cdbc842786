/*
 * jsonnum.h - JSON numbers, for util/json.c: a number is scanned in one
 * pass into a decimal (up to 19 significant digits and a power of ten) and
 * converted to float32 without strtod; an array of them (an embedding) is
 * read straight into floats, its common numbers (Python's repr of a float:
 * "-0.0123456789012345") sixteen digits at a time where the CPU can.
 *
 * Internal to util/ (json.c) and its tests.
 */
#ifndef AK_JSONNUM_H
#define AK_JSONNUM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t digits;
    int32_t exp10;
} ak_jnum;

/* Scan one number at p, checking the grammar and collecting its value in
 * the same pass: its end, or NULL with *why set when the text at p is not
 * a JSON number. */
const char *ak_jnum_scan(const char *p, const char *end, ak_jnum *dec, const char **why);

/* dec, scanned from raw[0..raw_len), as float32 (jsonnum.c: accuracy). */
float ak_jnum_float(ak_jnum dec, const char *raw, size_t raw_len);

/* strtod() of raw[0..len), which need not be NUL-terminated. */
double ak_jnum_strtod(const char *raw, size_t len);

/* p at '[': the end of an array of exactly n numbers, each into out[i] as
 * ak_jnum_float() converts it; NULL when the text is anything else. */
const char *ak_jnum_floats(const char *p, const char *end, float *out, size_t n);

/* Scan arrays 32 bytes at a time (on = 1, the default where the CPU
 * has AVX2) or a byte at a time (0): 1 when that is what is used now.
 * The results are the same either way (tests compare them). */
int ak_jnum_use_simd(int on);

#endif
