/*
 * thrift.c - see thrift.h.
 *
 * Wire format (Thrift compact protocol): integers are zigzag varints
 * (LEB128), binaries a varint length and the bytes, a field header one byte
 * (id delta << 4 | type) or, when the delta is not 1..15, the type byte and
 * the id as a zigzag varint; bool fields carry their value in the type;
 * lists one byte (count << 4 | element type) with counts of 15 and more in
 * a following varint; a map a varint count and, when not empty, one byte of
 * key and value types.  A struct ends with a 0 byte.
 */
#include "tier/thrift.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *type_name(int t)
{
    static const char *names[] = {"stop",   "true",   "false", "i8",  "i16",
                                  "i32",    "i64",    "double", "binary", "list",
                                  "set",    "map",    "struct"};
    return t >= 0 && t <= AK_TT_STRUCT ? names[t] : "unknown";
}

/* ---- encoder ---- */

void ak_tw_init(ak_tw *w, ak_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

static void put(ak_tw *w, const void *p, size_t n)
{
    if (!w->rc)
        w->rc = ak_buf_append(w->out, p, n);
}

size_t ak_varint_encode(uint64_t v, uint8_t out[10])
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void put_varint(ak_tw *w, uint64_t v)
{
    uint8_t b[10];
    put(w, b, ak_varint_encode(v, b));
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}

static void put_header(ak_tw *w, int16_t id, int type)
{
    if (w->depth == 0) {
        w->rc = w->rc ? w->rc : AK_ERR_INTERNAL; /* a field outside any struct */
        return;
    }
    int16_t *last = &w->last[w->depth - 1];
    int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        uint8_t b = (uint8_t)(delta << 4 | type);
        put(w, &b, 1);
    } else {
        uint8_t b = (uint8_t)type;
        put(w, &b, 1);
        put_varint(w, zigzag(id));
    }
    *last = id;
}

void ak_tw_begin(ak_tw *w)
{
    if (w->depth == AK_THRIFT_DEPTH_MAX) {
        w->rc = w->rc ? w->rc : AK_ERR_INTERNAL;
        return;
    }
    w->last[w->depth++] = 0;
}

void ak_tw_struct(ak_tw *w, int16_t id)
{
    put_header(w, id, AK_TT_STRUCT);
    ak_tw_begin(w);
}

void ak_tw_end(ak_tw *w)
{
    uint8_t stop = AK_TT_STOP;
    put(w, &stop, 1);
    if (w->depth > 0)
        w->depth--;
    else
        w->rc = w->rc ? w->rc : AK_ERR_INTERNAL;
}

void ak_tw_i32(ak_tw *w, int16_t id, int32_t v)
{
    put_header(w, id, AK_TT_I32);
    put_varint(w, zigzag(v));
}

void ak_tw_i64(ak_tw *w, int16_t id, int64_t v)
{
    put_header(w, id, AK_TT_I64);
    put_varint(w, zigzag(v));
}

void ak_tw_bool(ak_tw *w, int16_t id, int v)
{
    put_header(w, id, v ? AK_TT_TRUE : AK_TT_FALSE);
}

void ak_tw_bin(ak_tw *w, int16_t id, const void *p, size_t n)
{
    put_header(w, id, AK_TT_BINARY);
    ak_tw_elem_bin(w, p, n);
}

void ak_tw_str(ak_tw *w, int16_t id, const char *s)
{
    ak_tw_bin(w, id, s, strlen(s));
}

void ak_tw_list(ak_tw *w, int16_t id, int elem_type, uint32_t n)
{
    put_header(w, id, AK_TT_LIST);
    if (n < 15) {
        uint8_t b = (uint8_t)(n << 4 | (uint32_t)elem_type);
        put(w, &b, 1);
    } else {
        uint8_t b = (uint8_t)(0xF0 | elem_type);
        put(w, &b, 1);
        put_varint(w, n);
    }
}

void ak_tw_elem_i32(ak_tw *w, int32_t v) { put_varint(w, zigzag(v)); }

void ak_tw_elem_bin(ak_tw *w, const void *p, size_t n)
{
    put_varint(w, n);
    put(w, p, n);
}

void ak_tw_raw(ak_tw *w, const void *p, size_t n) { put(w, p, n); }

ak_code ak_tw_finish(const ak_tw *w)
{
    if (w->rc)
        return w->rc;
    return w->depth ? AK_ERR_INTERNAL : AK_OK;
}

/* ---- decoder ---- */

void ak_tr_init(ak_tr *r, const void *p, size_t n, const char *what, ak_err *err)
{
    r->start = r->p = p;
    r->end = r->p + n;
    r->depth = 0;
    r->what = what;
    r->err = err;
}

size_t ak_tr_used(const ak_tr *r) { return (size_t)(r->p - r->start); }

ak_code (ak_tr_fail)(ak_tr *r, const char *fmt, ...)
{
    char msg[AK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ak_err_set(r->err, AK_ERR_CORRUPT, "%s: at byte %zu: %s", r->what, ak_tr_used(r),
                      msg);
}

static size_t left(const ak_tr *r) { return (size_t)(r->end - r->p); }

static ak_code get_byte(ak_tr *r, uint8_t *b)
{
    if (r->p == r->end)
        return ak_tr_fail(r, "the data ends in the middle of a value");
    *b = *r->p++;
    return AK_OK;
}

static ak_code get_varint(ak_tr *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b = 0;
        ak_code rc = get_byte(r, &b);
        if (rc)
            return rc;
        if (shift == 63 && b > 1)
            return ak_tr_fail(r, "varint overflows 64 bits");
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return AK_OK;
        }
    }
    return ak_tr_fail(r, "varint longer than 10 bytes");
}

static ak_code get_zigzag(ak_tr *r, int64_t *v)
{
    uint64_t u;
    ak_code rc = get_varint(r, &u);
    if (!rc)
        *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return rc;
}

static ak_code enter(ak_tr *r)
{
    if (r->depth >= AK_THRIFT_DEPTH_MAX)
        return ak_tr_fail(r, "structures nested deeper than %d", AK_THRIFT_DEPTH_MAX);
    r->depth++;
    return AK_OK;
}

ak_code ak_tr_begin(ak_tr *r, int type, ak_tf *f)
{
    if (type != AK_TT_STRUCT)
        return ak_tr_fail(r, "found a %s where a struct belongs", type_name(type));
    f->id = f->last = 0;
    f->type = AK_TT_STOP;
    return enter(r);
}

ak_code ak_tr_next(ak_tr *r, ak_tf *f)
{
    uint8_t b = 0;
    ak_code rc = get_byte(r, &b);
    if (rc)
        return rc;
    if (b == AK_TT_STOP) {
        f->type = AK_TT_STOP;
        r->depth--;
        return AK_OK;
    }
    int type = b & 0x0F, delta = b >> 4;
    if (type > AK_TT_STRUCT)
        return ak_tr_fail(r, "unknown field type %d", type);
    int64_t id = f->last + delta;
    if (!delta && (rc = get_zigzag(r, &id)))
        return rc;
    if (id < INT16_MIN || id > INT16_MAX)
        return ak_tr_fail(r, "field id %lld out of range", (long long)id);
    f->id = f->last = (int16_t)id;
    f->type = type;
    return AK_OK;
}

ak_code ak_tr_i64(ak_tr *r, int type, int64_t *v)
{
    if (type == AK_TT_I8) {
        uint8_t b = 0;
        ak_code rc = get_byte(r, &b);
        if (!rc)
            *v = (int8_t)b;
        return rc;
    }
    if (type != AK_TT_I16 && type != AK_TT_I32 && type != AK_TT_I64)
        return ak_tr_fail(r, "found a %s where an integer belongs", type_name(type));
    return get_zigzag(r, v);
}

ak_code ak_tr_i32(ak_tr *r, int type, int32_t *v)
{
    int64_t x;
    ak_code rc = ak_tr_i64(r, type, &x);
    if (rc)
        return rc;
    if (x < INT32_MIN || x > INT32_MAX)
        return ak_tr_fail(r, "integer %lld does not fit 32 bits", (long long)x);
    *v = (int32_t)x;
    return AK_OK;
}

ak_code ak_tr_bool(ak_tr *r, int type, int *v)
{
    if (type != AK_TT_TRUE && type != AK_TT_FALSE)
        return ak_tr_fail(r, "found a %s where a bool belongs", type_name(type));
    *v = type == AK_TT_TRUE;
    return AK_OK;
}

ak_code ak_tr_bin(ak_tr *r, int type, const uint8_t **p, size_t *n)
{
    if (type != AK_TT_BINARY)
        return ak_tr_fail(r, "found a %s where a string belongs", type_name(type));
    uint64_t len;
    ak_code rc = get_varint(r, &len);
    if (rc)
        return rc;
    if (len > left(r))
        return ak_tr_fail(r, "string of %llu bytes but only %zu bytes left",
                          (unsigned long long)len, left(r));
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return AK_OK;
}

ak_code ak_tr_list(ak_tr *r, int type, int *elem_type, uint32_t *n)
{
    if (type != AK_TT_LIST && type != AK_TT_SET)
        return ak_tr_fail(r, "found a %s where a list belongs", type_name(type));
    uint8_t b = 0;
    ak_code rc = get_byte(r, &b);
    if (rc)
        return rc;
    uint64_t count = b >> 4;
    if (count == 15 && (rc = get_varint(r, &count)))
        return rc;
    *elem_type = b & 0x0F;
    if (*elem_type == AK_TT_STOP || *elem_type > AK_TT_STRUCT)
        return ak_tr_fail(r, "unknown list element type %d", *elem_type);
    /* Every element takes at least one byte. */
    if (count > left(r))
        return ak_tr_fail(r, "list of %llu elements but only %zu bytes left",
                          (unsigned long long)count, left(r));
    *n = (uint32_t)count;
    return AK_OK;
}

static ak_code skip_value(ak_tr *r, int type, int in_container);

static ak_code skip_bytes(ak_tr *r, size_t n)
{
    if (left(r) < n)
        return ak_tr_fail(r, "the data ends in the middle of a value");
    r->p += n;
    return AK_OK;
}

/* n elements (or n key/value pairs when vtype >= 0) of a list or map. */
static ak_code skip_elements(ak_tr *r, uint64_t n, int ktype, int vtype)
{
    ak_code rc = enter(r);
    for (uint64_t i = 0; i < n && !rc; i++) {
        rc = skip_value(r, ktype, 1);
        if (!rc && vtype >= 0)
            rc = skip_value(r, vtype, 1);
    }
    if (!rc)
        r->depth--;
    return rc;
}

static ak_code skip_map(ak_tr *r)
{
    uint64_t n;
    uint8_t kv = 0;
    ak_code rc = get_varint(r, &n);
    if (rc || n == 0)
        return rc;
    if ((rc = get_byte(r, &kv)))
        return rc;
    int kt = kv >> 4, vt = kv & 0x0F;
    if (kt == AK_TT_STOP || kt > AK_TT_STRUCT || vt == AK_TT_STOP || vt > AK_TT_STRUCT)
        return ak_tr_fail(r, "unknown map key or value type 0x%02x", kv);
    if (n > left(r) / 2)
        return ak_tr_fail(r, "map of %llu entries but only %zu bytes left",
                          (unsigned long long)n, left(r));
    return skip_elements(r, n, kt, vt);
}

/* A bool is a type-only field in a struct but one byte in a container. */
static ak_code skip_value(ak_tr *r, int type, int in_container)
{
    uint64_t u;
    switch (type) {
    case AK_TT_TRUE:
    case AK_TT_FALSE:
        return in_container ? skip_bytes(r, 1) : AK_OK;
    case AK_TT_I8:
        return skip_bytes(r, 1);
    case AK_TT_I16:
    case AK_TT_I32:
    case AK_TT_I64:
        return get_varint(r, &u);
    case AK_TT_DOUBLE:
        return skip_bytes(r, 8);
    case AK_TT_BINARY: {
        const uint8_t *p;
        size_t n;
        return ak_tr_bin(r, type, &p, &n);
    }
    case AK_TT_LIST:
    case AK_TT_SET: {
        int et;
        uint32_t n;
        ak_code rc = ak_tr_list(r, type, &et, &n);
        return rc ? rc : skip_elements(r, n, et, -1);
    }
    case AK_TT_MAP:
        return skip_map(r);
    case AK_TT_STRUCT: {
        ak_tf f;
        ak_code rc = ak_tr_begin(r, type, &f);
        while (!rc && !(rc = ak_tr_next(r, &f)) && f.type != AK_TT_STOP)
            rc = skip_value(r, f.type, 0);
        return rc;
    }
    default:
        return ak_tr_fail(r, "cannot skip a value of unknown type %d", type);
    }
}

ak_code ak_tr_skip(ak_tr *r, int type) { return skip_value(r, type, 0); }
