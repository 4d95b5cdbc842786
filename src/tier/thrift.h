/*
 * thrift.h - the Thrift compact protocol, the encoding of Parquet's footer
 * (FileMetaData) and of every page header.
 *
 * Only what Parquet needs, without an IDL compiler: the caller writes and
 * reads each struct field by field, knowing the field ids from
 * parquet.thrift.
 *
 * Encoder (ak_tw): appends to a caller's ak_buf.  Errors are sticky: after
 * the first failed append every call does nothing and ak_tw_finish()
 * returns the failure, so encoding code reads as a plain list of fields.
 *
 *   ak_tw w; ak_tw_init(&w, &buf);
 *   ak_tw_begin(&w);                  the top-level struct
 *     ak_tw_i32(&w, 1, 42);
 *     ak_tw_struct(&w, 2); ... ak_tw_end(&w);
 *     ak_tw_list(&w, 3, AK_TT_STRUCT, 2);
 *       ak_tw_begin(&w); ... ak_tw_end(&w);   (twice)
 *   ak_tw_end(&w);
 *   rc = ak_tw_finish(&w);
 *
 * Decoder (ak_tr): a cursor over bytes that are not trusted.  Every length
 * and count is checked against the bytes left before anything is read or
 * allocated (a list element takes at least one byte, so a count above the
 * bytes left is a lie), varints are limited to their 10 bytes, and nesting
 * is capped at AK_THRIFT_DEPTH_MAX, so no input can over-read, loop or
 * exhaust the stack.  Unknown fields of any type are skipped.  Failures are
 * AK_ERR_CORRUPT with a message "<what>: at byte N: <problem>", where
 * `what` names the structure being decoded ("parquet: footer").
 *
 *   ak_tf f;
 *   ak_code rc = ak_tr_begin(&r, AK_TT_STRUCT, &f);
 *   while (!rc && !(rc = ak_tr_next(&r, &f)) && f.type != AK_TT_STOP)
 *       switch (f.id) {
 *       case 1: rc = ak_tr_i32(&r, f.type, &x); break;
 *       default: rc = ak_tr_skip(&r, f.type);
 *       }
 *
 * Ownership: both sides only borrow: the encoder its ak_buf, the decoder
 * its bytes; binary values it returns point into those bytes.
 */
#ifndef AK_THRIFT_H
#define AK_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Compact-protocol type codes (field headers and list element types). */
enum {
    AK_TT_STOP = 0,
    AK_TT_TRUE = 1, /* a bool field whose value is true; also "bool" in lists */
    AK_TT_FALSE = 2,
    AK_TT_I8 = 3,
    AK_TT_I16 = 4,
    AK_TT_I32 = 5,
    AK_TT_I64 = 6,
    AK_TT_DOUBLE = 7,
    AK_TT_BINARY = 8,
    AK_TT_LIST = 9,
    AK_TT_SET = 10,
    AK_TT_MAP = 11,
    AK_TT_STRUCT = 12
};

/* Parquet nests at most six deep; anything far deeper is hostile. */
#define AK_THRIFT_DEPTH_MAX 32

/* ---- encoder ---- */

typedef struct {
    ak_buf *out;
    ak_code rc; /* first failure, sticky */
    int depth;  /* open structs */
    int16_t last[AK_THRIFT_DEPTH_MAX]; /* last field id written per struct */
} ak_tw;

/* ULEB128: Thrift's varints and Parquet's RLE run headers share it.  Writes
 * at most 10 bytes into out and returns how many. */
size_t ak_varint_encode(uint64_t v, uint8_t out[10]);

void ak_tw_init(ak_tw *w, ak_buf *out);
/* A struct without a field header: the top-level one or a list element. */
void ak_tw_begin(ak_tw *w);
/* A struct-valued field; its fields follow, then ak_tw_end(). */
void ak_tw_struct(ak_tw *w, int16_t id);
void ak_tw_end(ak_tw *w); /* ends the innermost struct (writes STOP) */
void ak_tw_i32(ak_tw *w, int16_t id, int32_t v);
void ak_tw_i64(ak_tw *w, int16_t id, int64_t v);
void ak_tw_bool(ak_tw *w, int16_t id, int v);
void ak_tw_bin(ak_tw *w, int16_t id, const void *p, size_t n);
void ak_tw_str(ak_tw *w, int16_t id, const char *s);
/* A list field of n elements of elem_type; the n elements follow. */
void ak_tw_list(ak_tw *w, int16_t id, int elem_type, uint32_t n);
void ak_tw_elem_i32(ak_tw *w, int32_t v);
void ak_tw_elem_bin(ak_tw *w, const void *p, size_t n);
/* Bytes already encoded elsewhere (e.g. list elements built earlier). */
void ak_tw_raw(ak_tw *w, const void *p, size_t n);
/* AK_OK, the first append failure, or AK_ERR_INTERNAL if a struct is open. */
ak_code ak_tw_finish(const ak_tw *w);

/* ---- decoder ---- */

typedef struct {
    const uint8_t *start, *p, *end;
    int depth;
    const char *what; /* message prefix, e.g. "parquet: footer" */
    ak_err *err;
} ak_tr;

/* The field being read: ak_tr_next() fills it. */
typedef struct {
    int16_t id, last;
    int type; /* AK_TT_*; AK_TT_STOP at the end of the struct */
} ak_tf;

void ak_tr_init(ak_tr *r, const void *p, size_t n, const char *what, ak_err *err);
/* Enter a struct-typed value (type: the field's or the list's element
 * type, which must be AK_TT_STRUCT). */
ak_code ak_tr_begin(ak_tr *r, int type, ak_tf *f);
/* The next field header; at STOP f->type is AK_TT_STOP and the struct is
 * left. */
ak_code ak_tr_next(ak_tr *r, ak_tf *f);
/* Integer values of fields or list elements; any integer width is
 * accepted as long as the value fits. */
ak_code ak_tr_i64(ak_tr *r, int type, int64_t *v);
ak_code ak_tr_i32(ak_tr *r, int type, int32_t *v);
/* A bool field (its value travels in the type). */
ak_code ak_tr_bool(ak_tr *r, int type, int *v);
ak_code ak_tr_bin(ak_tr *r, int type, const uint8_t **p, size_t *n);
/* A list (or set) header; *n is at most the bytes left. */
ak_code ak_tr_list(ak_tr *r, int type, int *elem_type, uint32_t *n);
/* Skip a field's value of any type, nested containers included. */
ak_code ak_tr_skip(ak_tr *r, int type);
/* Fail with AK_ERR_CORRUPT and "<what>: at byte N: <message>". */
ak_code ak_tr_fail(ak_tr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__ /* it returns AK_ERR_CORRUPT, never AK_OK: see err.h */
#define ak_tr_fail(r, ...) ((ak_tr_fail)((r), __VA_ARGS__), AK_ERR_CORRUPT)
#endif
/* Bytes consumed so far. */
size_t ak_tr_used(const ak_tr *r);

#endif
