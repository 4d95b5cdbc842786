/*
 * payload.c - see payload.h.
 *
 * The stages are chained by callbacks (the object store pushes chunks).  A
 * stage that fails records the first error in the pipe's own ak_err and
 * returns its code; every earlier stage passes the code back unchanged, so
 * the caller sees the real cause, not "aborted by consumer".
 */
#include "ingest/payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/graph_intake.h"
#include "graph/graph_item.h"
#include "ingest/duckdb.h"
#include "ingest/framer.h"
#include "ingest/spool.h"
#include "util/buf.h"
#include "util/jsonw.h"
#include "util/testpoint.h"

#define MAGIC_LEN 4

typedef struct {
    ak_payload_ctx *ctx;
    const char *name;
    ak_codec codec;                   /* what the manifest says */
    unsigned char head[MAGIC_LEN];    /* first stored bytes, for the magic check */
    size_t head_len;
    int head_done;
    ak_unz *unz;
    ak_framer *framer;                /* JSON payloads */
    ak_spool spool;                   /* DuckDB payloads */
    int64_t spooled;
    int64_t listed, received; /* bytes: in the listing (-1: unknown), from the store */
    ak_err err; /* first error inside the pipe */
} pipe_state;

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

ak_payload_kind ak_payload_kind_of(const char *name, ak_codec codec, const char **why)
{
    size_t n = strlen(name);
    if (codec != AK_CODEC_NONE && ends_with(name, n, ak_codec_suffix(codec)))
        n -= strlen(ak_codec_suffix(codec));
    if (n == strlen("knowledge_graph.duckdb") && memcmp(name, "knowledge_graph.duckdb", n) == 0)
        return AK_PAYLOAD_GRAPH_DUCKDB;
    if (n == strlen(AK_GRAPH_PAYLOAD) && memcmp(name, AK_GRAPH_PAYLOAD, n) == 0)
        return AK_PAYLOAD_GRAPH_JSONL;
    if (ends_with(name, n, ".json"))
        return AK_PAYLOAD_JSON;
    if (ends_with(name, n, ".jsonl") || ends_with(name, n, ".ndjson"))
        return AK_PAYLOAD_JSONL;
    if (ends_with(name, n, ".duckdb"))
        return AK_PAYLOAD_DUCKDB;
    if (why)
        *why = "unsupported payload format (expected .json, .jsonl, .ndjson or .duckdb)";
    return AK_PAYLOAD_UNSUPPORTED;
}

/* where: "line 3", "record 7", "conversations_v2 row 2". */
static void note_problem(pipe_state *ps, const char *where, ak_rec_problem p, const char *msg)
{
    ak_tally *t = ps->ctx->tally;
    t->rejected++;
    if (t->problems[p]++ == 0)
        ak_fmt(t->example[p], AK_EXAMPLE_MAX, "%s %s: %s", ps->name, where, msg);
}

static void frame_where(const ak_frame *fr, char *where, size_t n)
{
    if (fr->line)
        snprintf(where, n, "line %llu", (unsigned long long)fr->line);
    else
        snprintf(where, n, "record %llu", (unsigned long long)fr->index);
}

static void count_put(ak_tally *t, ak_put_result r)
{
    switch (r) {
    case AK_PUT_NEW: t->new_count++; break;
    case AK_PUT_UPDATED: t->updated++; break;
    case AK_PUT_DUPLICATE: t->duplicates++; break;
    case AK_PUT_STALE: t->stale++; break;
    case AK_PUT_CONFLICT: break; /* counted as a problem by the caller */
    }
}

/* Every record, framed or read from DuckDB, starts here: counted, and the
 * stop request honoured. */
static ak_code start_record(pipe_state *ps)
{
    ak_payload_ctx *c = ps->ctx;
    c->tally->records++;
    if (c->live_records)
        atomic_fetch_add_explicit(c->live_records, 1, memory_order_relaxed);
    if (c->abort && atomic_load_explicit(c->abort, memory_order_relaxed))
        return ak_err_set(&ps->err, AK_ERR_ABORTED, "stopped before the upload finished");
    return AK_OK;
}

/* A parsed record (or why it was not one) into the database; *res says
 * what became of it. */
static ak_code store_record(pipe_state *ps, const char *where, ak_code rc, const ak_record *rec,
                            ak_rec_problem prob, const ak_err *perr, ak_put_result *res)
{
    ak_payload_ctx *c = ps->ctx;
    if (rc == AK_ERR_INVALID) {
        note_problem(ps, where, prob, perr->msg);
        return AK_OK;
    }
    if (rc)
        return ak_err_set(&ps->err, rc, "%s", perr->msg);
    ak_err dberr;
    if (ak_sysdb_put_record(c->db, &c->order, rec, res, &dberr))
        return ak_err_set(&ps->err, AK_ERR_IO, "database: %s", dberr.msg);
    if (*res == AK_PUT_CONFLICT)
        note_problem(ps, where, AK_REC_CONFLICT,
                     "id given twice in this upload with different content");
    count_put(c->tally, *res);
    return AK_OK;
}

static ak_code on_record(void *arg, const ak_frame *fr)
{
    pipe_state *ps = arg;
    char where[48];
    ak_code rc = start_record(ps);
    if (rc)
        return rc;
    frame_where(fr, where, sizeof where);
    if (fr->problem) {
        note_problem(ps, where, AK_REC_TOO_LARGE, fr->problem);
        return AK_OK;
    }
    ak_record rec;
    ak_rec_problem prob;
    ak_err perr;
    ak_put_result res;
    rc = ak_record_parse(ps->ctx->doc, fr->text, fr->len, ps->ctx->default_ts_us, &rec, &prob,
                         &perr);
    return store_record(ps, where, rc, &rec, prob, &perr, &res);
}

static ak_code on_row(void *arg, const char *table, uint64_t row, const ak_record_parts *parts)
{
    pipe_state *ps = arg;
    char where[64];
    ak_code rc = start_record(ps);
    if (rc)
        return rc;
    snprintf(where, sizeof where, "%s row %llu", table, (unsigned long long)row);
    ak_record rec;
    ak_rec_problem prob;
    ak_err perr;
    ak_put_result res;
    rc = ak_record_from_parts(parts, ps->ctx->default_ts_us, &rec, &prob, &perr);
    return store_record(ps, where, rc, &rec, prob, &perr, &res);
}

/* A DuckDB row's id and content first: a row whose id is stored with this
 * content is a duplicate whatever its other columns hold, so they are not
 * read (a repeated snapshot is mostly such rows).  A row the record rules
 * refuse is read whole, so that it is refused with the whole record's
 * reason. */
static ak_code on_key(void *arg, const char *table, uint64_t row, const ak_record_parts *key,
                      int *want)
{
    pipe_state *ps = arg;
    ak_record rec;
    ak_rec_problem prob;
    ak_err e;
    int same = 0;
    (void)table, (void)row;
    *want = 1;
    if (ak_record_from_parts(key, 0, &rec, &prob, &e) != AK_OK)
        return AK_OK;
    if (ak_sysdb_stored_same(ps->ctx->db, &ps->ctx->order, &rec, &same, &e))
        return ak_err_set(&ps->err, AK_ERR_IO, "database: %s", e.msg);
    if (!same)
        return AK_OK;
    *want = 0;
    ak_code rc = start_record(ps);
    if (rc == AK_OK)
        count_put(ps->ctx->tally, AK_PUT_DUPLICATE);
    return rc;
}

static ak_code on_plain(void *arg, const void *data, size_t len)
{
    pipe_state *ps = arg;
    if (ps->framer)
        return ak_framer_feed(ps->framer, data, len, &ps->err);
    ps->spooled += (int64_t)len;
    if (ps->spooled > ps->ctx->spool_max)
        return ak_err_set(&ps->err, AK_ERR_INVALID,
                          "decompresses to more than %lld bytes, the limit for a DuckDB payload "
                          "(AKOSHA_DUCKDB_MAX_BYTES)",
                          (long long)ps->ctx->spool_max);
    return ak_spool_write(&ps->spool, data, len, &ps->err);
}

/* The stored bytes must be what the manifest says they are: a payload it
 * calls gzip starts with gzip's magic number, one it calls uncompressed
 * starts with no compressor's. */
static ak_code check_magic(pipe_state *ps)
{
    ak_codec found = ak_codec_sniff(ps->head, ps->head_len);
    ps->head_done = 1;
    if (found == ps->codec)
        return AK_OK;
    if (ps->codec == AK_CODEC_NONE)
        return ak_err_set(&ps->err, AK_ERR_INVALID,
                          "compression: the manifest says none but the bytes are %s-compressed",
                          ak_codec_name(found));
    return ak_err_set(&ps->err, AK_ERR_INVALID,
                      "compression: the manifest says %s but the bytes are not %s%s%s%s",
                      ak_codec_name(ps->codec), ak_codec_name(ps->codec),
                      found != AK_CODEC_NONE ? " (they are " : "",
                      found != AK_CODEC_NONE ? ak_codec_name(found) : "",
                      found != AK_CODEC_NONE ? ")" : "");
}

/* Hold the first bytes back until the magic check has seen them. */
static ak_code sniff(pipe_state *ps, const unsigned char **data, size_t *len)
{
    size_t take = MAGIC_LEN - ps->head_len < *len ? MAGIC_LEN - ps->head_len : *len;
    memcpy(ps->head + ps->head_len, *data, take);
    ps->head_len += take;
    *data += take;
    *len -= take;
    if (ps->head_len < MAGIC_LEN)
        return AK_OK;
    ak_code rc = check_magic(ps);
    return rc ? rc : ak_unz_feed(ps->unz, ps->head, ps->head_len, &ps->err);
}

static ak_code on_stored(void *arg, const void *data, size_t len)
{
    pipe_state *ps = arg;
    const unsigned char *p = data;
    if (ps->listed >= 0 && (int64_t)len > ps->listed - ps->received)
        return ak_err_set(&ps->err, AK_ERR_IO, "the store sent more than the %lld bytes "
                          "listed for it", (long long)ps->listed);
    ps->received += (int64_t)len;
    ps->ctx->tally->bytes += (int64_t)len;
    if (ps->ctx->checksum)
        ak_sha256_update(ps->ctx->checksum, data, len);
    if (ps->ctx->file_checksum)
        ak_sha256_update(ps->ctx->file_checksum, data, len);
    ak_code rc = ps->head_done ? AK_OK : sniff(ps, &p, &len);
    return rc || !len ? rc : ak_unz_feed(ps->unz, p, len, &ps->err);
}

/* End of the object: the decompressor and framer must both be complete. */
static ak_code finish_pipe(pipe_state *ps)
{
    ak_code rc = AK_OK;
    if (!ps->head_done && (rc = check_magic(ps)) == AK_OK)
        rc = ak_unz_feed(ps->unz, ps->head, ps->head_len, &ps->err);
    if (rc == AK_OK)
        rc = ak_unz_finish(ps->unz, &ps->err);
    return rc || !ps->framer ? rc : ak_framer_finish(ps->framer, &ps->err);
}

/* The object through the pipe; the error of the stage that failed. */
static ak_code pump(ak_store *bucket, const char *key, pipe_state *ps, ak_err *err)
{
    ak_err store_err;
    ak_err_clear(&store_err);
    ak_code rc = ak_store_get(bucket, key, on_stored, ps, &store_err);
    if (rc == AK_OK && ps->listed >= 0 && ps->received != ps->listed)
        rc = ak_err_set(&ps->err, AK_ERR_IO, "the store sent %lld of the %lld bytes listed "
                        "for it", (long long)ps->received, (long long)ps->listed);
    if (rc == AK_OK)
        rc = finish_pipe(ps);
    if (rc) {
        /* The stage that failed knows why; a failure of the store itself
         * (an outage, S3 refusing a request) is never the payload's
         * fault, so it is reported as one to retry. */
        if (err)
            *err = ps->err.code ? ps->err : store_err;
        rc = ps->err.code ? ps->err.code : AK_ERR_IO;
        if (err)
            err->code = rc;
    }
    return rc;
}

/* Spool the decompressed database, then read its rows: memories, or with
 * graph its entities and relations. */
static ak_code ingest_duckdb(ak_store *bucket, const char *key, pipe_state *ps, int graph,
                             ak_err *err)
{
    ak_code rc = ak_duckdb_installed(err);
    if (rc == AK_OK && !ps->ctx->spool_dir)
        rc = ak_err_set(err, AK_ERR_INTERNAL, "no spool directory for DuckDB payloads");
    if (rc == AK_OK)
        rc = ak_spool_create(ps->ctx->spool_dir, &ps->spool, err);
    if (rc == AK_OK)
        rc = pump(bucket, key, ps, err);
    if (rc == AK_OK) {
        ak_testpoint("ingest.spooled"); /* spool file complete, not yet read */
        ak_err_clear(&ps->err);
        /* into an empty store every row is new: no first pass */
        ak_sysdb_counts n = {0};
        ak_err cerr;
        int empty = !graph && ak_sysdb_counts_get(ps->ctx->db, &n, &cerr) == AK_OK && !n.hot &&
                    !n.warm && !n.cold;
        rc = graph ? ak_graph_read_duckdb(ps->spool.path, ps->ctx->graph, ps->ctx->system_id,
                                          &ps->ctx->tally->graph, err)
                   : ak_duckdb_read(ps->spool.path, empty ? NULL : on_key, on_row, ps, err);
        /* a callback's failure is in the pipe's error, DuckDB's in err */
        if (rc && ps->err.code && err)
            *err = ps->err;
    }
    ak_spool_remove(&ps->spool);
    return rc;
}

/* ---- knowledge-graph payloads ---- */

/* The graph, opened and in a transaction, on the first graph payload. */
static ak_code graph_ready(ak_payload_ctx *c, ak_err *err)
{
    if (c->graph)
        return AK_OK;
    if (!c->graph_path || !c->system_id)
        return ak_err_set(err, AK_ERR_INTERNAL, "no knowledge graph database for this upload");
    ak_code rc = ak_graph_open(c->graph_path, 0, &c->graph, err);
    if (rc == AK_OK && (rc = ak_graph_begin(c->graph, err))) {
        ak_graph_close(c->graph);
        c->graph = NULL;
    }
    return rc;
}

static ak_code on_graph_line(void *arg, const ak_frame *fr)
{
    pipe_state *ps = arg;
    char where[80];
    ak_payload_ctx *c = ps->ctx;
    if (c->abort && atomic_load_explicit(c->abort, memory_order_relaxed))
        return ak_err_set(&ps->err, AK_ERR_ABORTED, "stopped before the upload finished");
    snprintf(where, sizeof where, "%s line %llu", ps->name, (unsigned long long)fr->line);
    if (fr->problem) {
        if (c->tally->graph.rejected++ == 0)
            ak_fmt(c->tally->graph.example, sizeof c->tally->graph.example, "%s: %s", where,
                   fr->problem);
        return AK_OK;
    }
    return ak_graph_apply_line(c->graph, c->doc, fr->text, fr->len, c->system_id, where,
                               &c->tally->graph, &ps->err);
}

/* After a graph payload: its counts, so far, in the note. */
static void graph_note(ak_payload_ctx *c)
{
    ak_graph_tally_note(&c->tally->graph, c->tally->note, sizeof c->tally->note);
}

ak_code ak_payload_ingest(ak_store *bucket, const char *key, const char *name,
                          ak_codec codec, int64_t listed_size, ak_payload_ctx *ctx,
                          ak_err *err)
{
    pipe_state ps = {.ctx = ctx, .name = name, .codec = codec, .listed = listed_size,
                     .spool = {.fd = -1}};
    const char *why = NULL;
    ak_payload_kind kind = ak_payload_kind_of(name, codec, &why);
    if (kind == AK_PAYLOAD_UNSUPPORTED)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "%s: %s", name, why);
    int graph = kind == AK_PAYLOAD_GRAPH_DUCKDB || kind == AK_PAYLOAD_GRAPH_JSONL;
    ak_err_clear(&ps.err);
    ak_code rc = graph ? graph_ready(ctx, err) : AK_OK;
    if (rc == AK_OK)
        rc = ak_unz_new(codec, on_plain, &ps, &ps.unz, err);
    if (rc == AK_OK && (kind == AK_PAYLOAD_DUCKDB || kind == AK_PAYLOAD_GRAPH_DUCKDB)) {
        rc = ingest_duckdb(bucket, key, &ps, kind == AK_PAYLOAD_GRAPH_DUCKDB, err);
    } else if (rc == AK_OK) {
        if (ak_framer_new(kind == AK_PAYLOAD_JSON ? AK_FRAME_JSON : AK_FRAME_JSONL,
                          AK_RECORD_TEXT_MAX, graph ? on_graph_line : on_record, &ps,
                          &ps.framer) != AK_OK)
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        else
            rc = pump(bucket, key, &ps, err);
    }
    if (rc == AK_OK && graph)
        graph_note(ctx);
    if (rc)
        ak_err_prefix(err, "%s: ", name);
    ak_framer_free(ps.framer);
    ak_unz_free(ps.unz);
    return rc;
}

ak_code ak_payload_put_records(const char *name, const ak_record *const *recs, size_t n,
                               int64_t bytes, ak_put_result *results, int64_t *hot_rowids,
                               ak_payload_ctx *ctx, ak_err *err)
{
    pipe_state ps = {.ctx = ctx, .name = name, .spool = {.fd = -1}};
    char where[48];
    ak_code rc = AK_OK;
    ak_err_clear(&ps.err);
    ctx->tally->bytes += bytes;
    for (size_t i = 0; rc == AK_OK && i < n; i++) {
        snprintf(where, sizeof where, "line %zu", i + 1); /* as if framed from name */
        if ((rc = start_record(&ps)) == AK_OK)
            rc = store_record(&ps, where, AK_OK, recs[i], AK_REC_OK, NULL, &results[i]);
        if (hot_rowids)
            hot_rowids[i] = rc == AK_OK ? ak_sysdb_put_rowid(ctx->db) : 0;
    }
    if (rc && err)
        *err = ps.err;
    return rc;
}

char *ak_tally_problems_json(const ak_tally *t)
{
    if (!t->rejected)
        return NULL;
    ak_buf b = {0};
    ak_jw w;
    ak_jw_init(&w, &b);
    ak_jw_obj(&w);
    for (int p = 1; p < AK_REC_N_PROBLEMS; p++) {
        if (!t->problems[p])
            continue;
        ak_jw_key(&w, ak_rec_problem_name((ak_rec_problem)p));
        ak_jw_obj(&w);
        ak_jw_kint(&w, "count", t->problems[p]);
        ak_jw_kstr(&w, "example", t->example[p]);
        ak_jw_end(&w);
    }
    ak_jw_end(&w);
    if (ak_jw_error(&w)) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}
