/*
 * json.h - a strict JSON (RFC 8259) parser into a read-only tree, and value
 * accessors.
 *
 * Akosha parses many small documents (manifests, one conversation record at
 * a time, HTTP bodies), so the parser is built for reuse: an ak_json_doc owns
 * an arena that every parse resets, so parsing record after record allocates
 * nothing once the arena has grown to the largest record.  Limits on nesting
 * depth and on the number of values bound the memory a hostile document can
 * claim (a 1 MB array of zeros would otherwise become 500,000 nodes).
 *
 * Strings are decoded (escapes, surrogate pairs) into the arena, checked to
 * be valid UTF-8, and NUL-terminated; `len` is authoritative because "\u0000"
 * is legal JSON.  Numbers keep their source text; ak_json_number() converts
 * exactly, ak_json_float32() takes a fast path for embedding vectors.
 *
 * Ownership: ak_json_doc_new() / ak_json_doc_free().  Every ak_json pointer
 * from a parse stays valid until the next parse with, or free of, that doc.
 * The input text must outlive the tree too (raw spans point into it).
 */
#ifndef AK_JSON_H
#define AK_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef enum {
    AK_JSON_NULL,
    AK_JSON_FALSE,
    AK_JSON_TRUE,
    AK_JSON_NUMBER,
    AK_JSON_STRING,
    AK_JSON_ARRAY,
    AK_JSON_OBJECT
} ak_json_type;

typedef struct ak_json ak_json;
struct ak_json {
    ak_json_type type;
    uint32_t n_kids;        /* array elements or object members */
    const char *raw;        /* this value's text in the input */
    size_t raw_len;
    const char *str;        /* STRING: decoded, NUL-terminated */
    size_t str_len;
    uint64_t num_digits;    /* NUMBER: up to 19 significant digits ... */
    int32_t num_exp10;      /* ... times 10^num_exp10 (sign in raw[0]) */
    const char *key;        /* member of an object: its decoded key */
    size_t key_len;
    ak_json *first;         /* ARRAY/OBJECT: first child (NULL when floats is set) */
    const float *floats;    /* ARRAY read by ak_json_doc_float_arrays(): its n_kids
                             * numbers as ak_json_float32() gives them; else NULL */
    ak_json *next;          /* next sibling */
};

typedef struct ak_json_doc ak_json_doc;

#define AK_JSON_DEFAULT_DEPTH 64
#define AK_JSON_DEFAULT_NODES 1000000

ak_json_doc *ak_json_doc_new(void);
void ak_json_doc_free(ak_json_doc *doc);
/* Bound the next parses (0 keeps the default). */
void ak_json_doc_limits(ak_json_doc *doc, unsigned max_depth, size_t max_nodes);

/* From the next parse on, an array of exactly n numbers (n > 0) that is
 * the value of an object member named key (NULL: off; the string must
 * outlive the doc's parses) gets no node per number: its node has
 * n_kids = n, first = NULL and floats = the numbers as float32 (a request
 * carrying embeddings builds no tree of 384 nodes each).  Acceptance,
 * errors and the node count limit are as without it; readers of such a
 * doc must look at floats where such a member can be. */
void ak_json_doc_float_arrays(ak_json_doc *doc, const char *key, size_t n);

/* Parse text[0..len) as one JSON value (surrounding whitespace allowed).
 * On error returns AK_ERR_INVALID with a message giving the byte offset. */
ak_code ak_json_parse(ak_json_doc *doc, const char *text, size_t len,
                      const ak_json **root, ak_err *err);

/*
 * Member by member: walk one object without building a node per member
 * value, for the record parser's hot path.  ak_json_obj_begin() resets the
 * doc like ak_json_parse() (AK_ERR_UNSUPPORTED when the text is not an
 * object, so the caller can parse it whole for a precise error).  Then
 * ak_json_obj_next() returns 1 with the next decoded key (the value must
 * then be consumed by ak_json_obj_value() or ak_json_obj_floats()), 0 after
 * the closing brace (trailing text checked), -1 on invalid JSON (message in
 * the err given to begin).  ak_json_obj_floats() reads the value as an array
 * of exactly n numbers into out and returns 1, or returns 0 and consumes
 * nothing when it is anything else.
 */
ak_code ak_json_obj_begin(ak_json_doc *doc, const char *text, size_t len, ak_err *err);
int ak_json_obj_next(ak_json_doc *doc, const char **key, size_t *key_len);
ak_code ak_json_obj_value(ak_json_doc *doc, const ak_json **v);
int ak_json_obj_floats(ak_json_doc *doc, float *out, size_t n);

/* First member named key of an object (NULL if absent or not an object). */
const ak_json *ak_json_get(const ak_json *obj, const char *key);

/* Exact conversion of a NUMBER (strtod semantics; may be +-Inf on overflow). */
double ak_json_number(const ak_json *v);
/* Fast conversion to float32 for embeddings: exact to within one unit in
 * the last place of float32, -> +-Inf when out of float range. */
float ak_json_float32(const ak_json *v);
/* 1 and *out set when v is a NUMBER written as an integer within int64. */
int ak_json_int64(const ak_json *v, int64_t *out);

/* Length of the valid UTF-8 sequence starting at s (n bytes available), or
 * 0 if the bytes there are not one. */
size_t ak_utf8_seq_len(const char *s, size_t n);
/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int ak_utf8_valid(const char *s, size_t n);

#endif
