/*
 * duckdb_frame.c - see duckdb_frame.h.
 *
 * One table says each frame type's fields; the decoder and the encoder
 * both walk it, so they cannot disagree about a layout.
 */
#include "ingest/duckdb_frame.h"

#include <string.h>

#include "util/record.h" /* AK_DIM */

/* Field kinds: u num, s str (into the next slot), o optional str,
 * t timestamp, e embedding, b bitmap. */
static const struct {
    char type;
    const char *fields, *name;
} layouts[] = {
    {AK_DF_COLUMN, "sss", "column"}, {AK_DF_QUERY, "us", "query"},
    {AK_DF_TEXT, "us", "text"},      {AK_DF_KEY, "suoo", "key"},
    {AK_DF_SETTLE, "su", "settle"},  {AK_DF_RECORD, "suooote", "record"},
    {AK_DF_ERROR, "us", "error"},    {AK_DF_DONE, "", "done"},
    {AK_DF_SQL, "o", "sql"},         {AK_DF_WANT, "b", "want"},
    {AK_DF_START, "ss", "start"},
};
#define N_LAYOUTS (sizeof layouts / sizeof *layouts)
#define EMB_BYTES (AK_DIM * 4)

static int layout_of(int type)
{
    for (size_t i = 0; i < N_LAYOUTS; i++)
        if (layouts[i].type == type)
            return (int)i;
    return -1;
}

const char *ak_dframe_name(int type)
{
    int l = layout_of(type);
    return l < 0 ? "unknown" : layouts[l].name;
}

/* ---- decoding ---- */

typedef struct {
    const unsigned char *p, *end;
    ak_err *err;
    const char *frame;
} cursor;

static int bad(cursor *c, const char *what)
{
    ak_err_set(c->err, AK_ERR_CORRUPT, "malformed %s frame: %s", c->frame, what);
    return -1;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* n bytes, or NULL (and the error) when the body has fewer left. */
static const unsigned char *take(cursor *c, size_t n, const char *what)
{
    if ((size_t)(c->end - c->p) < n) {
        bad(c, what);
        return NULL;
    }
    const unsigned char *at = c->p;
    c->p += n;
    return at;
}

static int take_flag(cursor *c, int *flag, const char *what)
{
    const unsigned char *b = take(c, 1, what);
    if (!b)
        return -1;
    if (*b > 1)
        return bad(c, "a presence byte is neither 0 nor 1");
    *flag = *b;
    return 0;
}

static int take_str(cursor *c, ak_dfstr *s)
{
    const unsigned char *n = take(c, 4, "a string's length is cut off"), *p;
    if (!n)
        return -1;
    s->n = (size_t)le(n, 4);
    if (!(p = take(c, s->n, "a string runs past the frame")))
        return -1;
    s->p = (const char *)p;
    return 0;
}

static int take_embedding(cursor *c, ak_dframe *f)
{
    const unsigned char *n;
    if (take_flag(c, &f->has_emb, "the embedding is cut off"))
        return -1;
    if (!f->has_emb)
        return 0;
    if (!(n = take(c, 4, "the embedding's length is cut off")))
        return -1;
    f->n_emb = (uint32_t)le(n, 4);
    if (f->n_emb == AK_DIM && !(f->emb = take(c, EMB_BYTES, "the embedding is cut off")))
        return -1;
    return 0;
}

static int take_bits(cursor *c, ak_dframe *f)
{
    const unsigned char *n = take(c, 8, "the bitmap's length is cut off");
    if (!n)
        return -1;
    f->num = le(n, 8);
    uint64_t bytes = f->num / 8 + (f->num % 8 != 0);
    if (bytes > (uint64_t)(c->end - c->p))
        return bad(c, "the bitmap runs past the frame");
    f->bits = c->p;
    c->p += bytes;
    if (f->num % 8 && f->bits[bytes - 1] >> (f->num % 8))
        return bad(c, "bits past the bitmap's length are set");
    return 0;
}

static int take_field(cursor *c, char kind, ak_dframe *f, int *slot)
{
    const unsigned char *b;
    int present;
    switch (kind) {
    case 'u':
        if (!(b = take(c, 8, "a number is cut off")))
            return -1;
        f->num = le(b, 8);
        return 0;
    case 's': return take_str(c, &f->str[(*slot)++]);
    case 'o':
        if (take_flag(c, &present, "a string is cut off"))
            return -1;
        if (!present) {
            (*slot)++;
            return 0;
        }
        return take_str(c, &f->str[(*slot)++]);
    case 't':
        if (take_flag(c, &f->has_ts, "the timestamp is cut off"))
            return -1;
        if (f->has_ts && !(b = take(c, 8, "the timestamp is cut off")))
            return -1;
        f->ts_us = f->has_ts ? (int64_t)le(b, 8) : 0;
        return 0;
    case 'e': return take_embedding(c, f);
    default: return take_bits(c, f);
    }
}

int ak_dframe_decode(const void *buf, size_t len, ak_dframe *f, size_t *used, ak_err *err)
{
    const unsigned char *p = buf;
    memset(f, 0, sizeof *f);
    if (len < 4)
        return 0;
    uint64_t body = le(p, 4);
    if (body == 0 || body > AK_DFRAME_MAX) {
        ak_err_set(err, AK_ERR_CORRUPT, "malformed frame: a body of %llu bytes (1 to %u allowed)",
                   (unsigned long long)body, AK_DFRAME_MAX);
        return -1;
    }
    if (len - 4 < body)
        return 0;
    int l = layout_of(p[4]);
    if (l < 0) {
        ak_err_set(err, AK_ERR_CORRUPT, "malformed frame: unknown type 0x%02x", p[4]);
        return -1;
    }
    cursor c = {p + 5, p + 4 + body, err, layouts[l].name};
    f->type = p[4];
    int slot = 0;
    for (const char *k = layouts[l].fields; *k; k++)
        if (take_field(&c, *k, f, &slot))
            return -1;
    if (c.p != c.end)
        return bad(&c, "bytes after its last field");
    *used = 4 + (size_t)body;
    return 1;
}

/* ---- encoding ---- */

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

static ak_code put_num(ak_buf *b, uint64_t v, int n)
{
    unsigned char tmp[8];
    put_le(tmp, v, n);
    return ak_buf_append(b, tmp, (size_t)n);
}

static ak_code put_str(ak_buf *b, const ak_dfstr *s)
{
    ak_code rc = s->n > AK_DFRAME_MAX ? AK_ERR_INVALID : put_num(b, s->n, 4);
    return rc ? rc : ak_buf_append(b, s->p, s->n);
}

static ak_code put_field(ak_buf *b, char kind, const ak_dframe *f, int *slot)
{
    ak_code rc = AK_OK;
    const ak_dfstr *s;
    switch (kind) {
    case 'u': return put_num(b, f->num, 8);
    case 's': return put_str(b, &f->str[(*slot)++]);
    case 'o':
        s = &f->str[(*slot)++];
        rc = ak_buf_putc(b, s->p != NULL);
        return rc || !s->p ? rc : put_str(b, s);
    case 't':
        rc = ak_buf_putc(b, f->has_ts != 0);
        return rc || !f->has_ts ? rc : put_num(b, (uint64_t)f->ts_us, 8);
    case 'e':
        if ((rc = ak_buf_putc(b, f->has_emb != 0)) || !f->has_emb)
            return rc;
        if ((rc = put_num(b, f->n_emb, 4)) || f->n_emb != AK_DIM)
            return rc;
        return ak_buf_append(b, f->emb, EMB_BYTES);
    default:
        if (f->num > (uint64_t)AK_DFRAME_MAX * 8)
            return AK_ERR_INVALID;
        rc = put_num(b, f->num, 8);
        return rc ? rc : ak_buf_append(b, f->bits, f->num / 8 + (f->num % 8 != 0));
    }
}

ak_code ak_dframe_encode(const ak_dframe *f, ak_buf *out)
{
    int l = layout_of(f->type), slot = 0;
    if (l < 0)
        return AK_ERR_INVALID;
    size_t start = out->len;
    ak_code rc = put_num(out, 0, 4);
    if (rc == AK_OK)
        rc = ak_buf_putc(out, (char)f->type);
    for (const char *k = layouts[l].fields; rc == AK_OK && *k; k++)
        rc = put_field(out, *k, f, &slot);
    size_t body = out->len - start - 4;
    if (rc == AK_OK && body > AK_DFRAME_MAX)
        rc = AK_ERR_INVALID;
    if (rc) {
        out->len = start;
        out->data[start] = '\0';
        return rc;
    }
    put_le((unsigned char *)out->data + start, body, 4);
    return AK_OK;
}
