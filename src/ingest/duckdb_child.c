/*
 * duckdb_child.c - see duckdb_child.h.
 *
 * The reading callbacks of duckdb.c, turned into frames: a key, a record,
 * a column or a text row is written out as it comes (buffered, 64 KiB at
 * a time); a question (settle, query) flushes what is buffered and waits
 * for the answer.  Strings longer than any record rule allows are cut one
 * byte past the limit, so the parent's rules still refuse them by length
 * while a frame stays bounded; a metadata object past AK_RECORD_TEXT_MAX
 * is sent as "{", which the rules refuse as not an object.
 */
#include "ingest/duckdb_child.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ingest/duckdb_frame.h"
#include "util/testpoint.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif

#define FLUSH_AT (64 * 1024)

typedef struct {
    ak_buf out, in;
    size_t in_used; /* bytes of in that reply was decoded from */
    ak_dframe reply;
} chan;

static ak_code flush_out(chan *l)
{
    size_t off = 0;
    while (off < l->out.len) {
        ssize_t n = write(1, l->out.data + off, l->out.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(3); /* the parent is gone or stopped listening */
        off += (size_t)n;
    }
    ak_buf_reset(&l->out);
    return AK_OK;
}

static ak_code send_frame(chan *l, const ak_dframe *f, ak_err *err)
{
    if (ak_dframe_encode(f, &l->out))
        return ak_err_set(err, AK_ERR_NOMEM, "cannot encode a %s frame", ak_dframe_name(f->type));
    return l->out.len >= FLUSH_AT ? flush_out(l) : AK_OK;
}

/* Wait for the parent's next frame, of type want, into l->reply.  The
 * pipe closing is the parent's end: exit (status eof_status).  The
 * previous reply (which may point into in) is dropped first; bytes a read
 * brought past it are the start of the next frame and are kept. */
static ak_code await_frame(chan *l, int want, int eof_status, ak_err *err)
{
    if (l->in_used) {
        memmove(l->in.data, l->in.data + l->in_used, l->in.len - l->in_used);
        l->in.len -= l->in_used;
        l->in_used = 0;
    }
    for (;;) {
        size_t used;
        int got = ak_dframe_decode(l->in.data, l->in.len, &l->reply, &used, err);
        if (got < 0)
            return AK_ERR_CORRUPT;
        if (got > 0) {
            l->in_used = used;
            return l->reply.type == want
                       ? AK_OK
                       : ak_err_set(err, AK_ERR_CORRUPT, "the parent answered a %s frame",
                                    ak_dframe_name(l->reply.type));
        }
        char chunk[65536];
        ssize_t n = read(0, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(eof_status);
        if (ak_buf_append(&l->in, chunk, (size_t)n))
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
}

/* Flush, then wait for the parent's answer of type want. */
static ak_code ask(chan *l, const ak_dframe *q, int want, ak_err *err)
{
    ak_code rc = send_frame(l, q, err);
    if (rc || (rc = flush_out(l)))
        return rc;
    return await_frame(l, want, 3, err);
}

static ak_dfstr cut(const char *p, size_t n, size_t max)
{
    return (ak_dfstr){p, n > max ? max + 1 : n};
}

static ak_dfstr whole(const char *p, size_t n)
{
    return (ak_dfstr){p ? p : "", n};
}

/* ---- memories ---- */

typedef struct {
    chan l;
    ak_err *err;
} child;

static ak_code on_key(void *ctx, const char *table, uint64_t row, const ak_record_parts *k,
                      int *want)
{
    child *c = ctx;
    ak_dframe f = {.type = AK_DF_KEY, .num = row};
    f.str[0] = whole(table, strlen(table));
    f.str[1] = k->id ? cut(k->id, k->id_len, AK_CONV_ID_MAX) : (ak_dfstr){0};
    f.str[2] = k->content ? cut(k->content, k->content_len, AK_CONTENT_MAX) : (ak_dfstr){0};
    *want = 1; /* the parent says which: settle */
    return send_frame(&c->l, &f, c->err);
}

static ak_code on_settle(void *ctx, const char *table, uint64_t rows, const unsigned char **bits)
{
    child *c = ctx;
    ak_dframe q = {.type = AK_DF_SETTLE, .num = rows};
    q.str[0] = whole(table, strlen(table));
    ak_code rc = ask(&c->l, &q, AK_DF_WANT, c->err);
    if (rc == AK_OK && c->l.reply.num != rows)
        rc = ak_err_set(c->err, AK_ERR_CORRUPT, "the parent answered for %llu rows, not %llu",
                        (unsigned long long)c->l.reply.num, (unsigned long long)rows);
    *bits = rc ? NULL : c->l.reply.bits;
    return rc;
}

static ak_code on_row(void *ctx, const char *table, uint64_t row, const ak_record_parts *p)
{
    child *c = ctx;
    ak_testpoint("duckdb.child_row"); /* a record read, in DuckDB's process */
    ak_dframe f = {.type = AK_DF_RECORD, .num = row, .has_ts = p->has_ts, .ts_us = p->ts_us};
    f.str[0] = whole(table, strlen(table));
    f.str[1] = p->id ? cut(p->id, p->id_len, AK_CONV_ID_MAX) : (ak_dfstr){0};
    f.str[2] = p->content ? cut(p->content, p->content_len, AK_CONTENT_MAX) : (ak_dfstr){0};
    if (p->metadata)
        f.str[3] = p->metadata_len > AK_RECORD_TEXT_MAX ? (ak_dfstr){"{", 1}
                                                        : whole(p->metadata, p->metadata_len);
    if (p->embedding) {
        f.has_emb = 1;
        f.n_emb = p->n_embedding > UINT32_MAX ? UINT32_MAX : (uint32_t)p->n_embedding;
        f.emb = (const unsigned char *)p->embedding; /* little-endian host: as is */
    }
    return send_frame(&c->l, &f, c->err);
}

/* ---- any other file, as text ---- */

static ak_code on_column(void *ctx, const char *table, size_t tlen, const char *col, size_t clen,
                         const char *type, size_t ylen)
{
    child *c = ctx;
    ak_dframe f = {.type = AK_DF_COLUMN};
    f.str[0] = whole(table, tlen);
    f.str[1] = whole(col, clen);
    f.str[2] = whole(type, ylen);
    return send_frame(&c->l, &f, c->err);
}

static int on_query(void *ctx, const char *catalog, unsigned q, ak_buf *sql)
{
    child *c = ctx;
    ak_dframe f = {.type = AK_DF_QUERY, .num = q};
    f.str[0] = whole(catalog, strlen(catalog));
    if (ask(&c->l, &f, AK_DF_SQL, c->err))
        return -1;
    if (!c->l.reply.str[0].p)
        return 0;
    return ak_buf_append(sql, c->l.reply.str[0].p, c->l.reply.str[0].n) ? -1 : 1;
}

static ak_code on_text(void *ctx, unsigned q, const char *text, size_t len)
{
    child *c = ctx;
    ak_dframe f = {.type = AK_DF_TEXT, .num = q};
    f.str[0] = cut(text, len, AK_RECORD_TEXT_MAX);
    return send_frame(&c->l, &f, c->err);
}

/* ---- the process ---- */

uint64_t ak_duckdb_child_as_limit(const char *s)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"", 1},          {"b", 1},          {"kb", 1000},       {"kib", 1024},
                 {"mb", 1000000},  {"mib", 1u << 20}, {"gb", 1000000000}, {"gib", 1u << 30},
                 {"tb", 1000000000000ull}, {"tib", 1ull << 40}};
    char *end;
    errno = 0;
    if (!s || !isdigit((unsigned char)*s))
        return 0;
    unsigned long long n = strtoull(s, &end, 10);
    while (*end == ' ')
        end++;
    for (size_t i = 0; errno == 0 && i < sizeof units / sizeof *units; i++)
        if (strcasecmp(end, units[i].unit) == 0 && n <= (UINT64_MAX >> 1) / units[i].mult)
            return n * units[i].mult + (1ull << 30);
    return 0;
}

/* Limits first: nothing of the parent's but 0-2, a bounded address
 * space.  The child needs no death signal: its parent's end closes the
 * pipes, and the next read or write ends it. */
static void confine(void)
{
    close_range(3, ~0u, 0);
#ifndef UNDER_ASAN
    const char *mem = getenv("AKOSHA_DUCKDB_MEMORY");
    uint64_t as = ak_duckdb_child_as_limit(mem && *mem ? mem : AK_DUCKDB_DEFAULT_MEMORY);
    struct rlimit rl = {as, as};
    if (as)
        setrlimit(RLIMIT_AS, &rl);
#endif
}

/* One read: the start frame's mode and file, to a done or an error frame. */
static void serve_one(child *c, const ak_dframe *start)
{
    char mode[8] = "", path[4096];
    ak_err err;
    ak_code rc = AK_OK;
    ak_err_clear(&err);
    c->err = &err;
    if (start->str[0].n >= sizeof mode || start->str[1].n >= sizeof path ||
        memchr(start->str[1].p, '\0', start->str[1].n))
        rc = ak_err_set(&err, AK_ERR_INTERNAL, "a start frame with a bad mode or path");
    else {
        memcpy(mode, start->str[0].p, start->str[0].n);
        mode[start->str[0].n] = '\0';
        memcpy(path, start->str[1].p, start->str[1].n);
        path[start->str[1].n] = '\0';
    }
    ak_testpoint("duckdb.child_start");
    if (rc == AK_OK && strcmp(mode, "text") == 0) {
        ak_duckdb_text_reader r = {on_column, on_query, on_text, c};
        rc = ak_duckdb_read_text_here(path, &r, &err);
    } else if (rc == AK_OK) {
        int keys = strcmp(mode, "keys") == 0;
        rc = ak_duckdb_read_here(path, keys ? on_key : NULL, keys ? on_settle : NULL, on_row, c,
                                 &err);
    }
    ak_dframe end = {.type = rc ? AK_DF_ERROR : AK_DF_DONE, .num = (uint64_t)rc};
    end.str[0] = whole(err.msg, rc ? strlen(err.msg) : 0);
    ak_err scratch;
    if (send_frame(&c->l, &end, &scratch) == AK_OK)
        flush_out(&c->l);
}

int ak_duckdb_child_main(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "akosha: " AK_DUCKDB_CHILD_CMD " is internal (DuckDB's reader)\n");
        return 2;
    }
    confine();
    child c = {0};
    ak_err err;
    for (;;) { /* a read at a time, until the parent closes the pipe */
        if (await_frame(&c.l, AK_DF_START, 0, &err))
            return 3;
        ak_dframe start = c.l.reply;
        serve_one(&c, &start);
    }
}
