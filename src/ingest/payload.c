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

#include "ingest/framer.h"
#include "util/buf.h"
#include "util/jsonw.h"

typedef struct {
    ak_payload_ctx *ctx;
    const char *name;
    ak_unz *unz;
    ak_framer *framer;
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
    if (ends_with(name, n, ".json"))
        return AK_PAYLOAD_JSON;
    if (ends_with(name, n, ".jsonl") || ends_with(name, n, ".ndjson"))
        return AK_PAYLOAD_JSONL;
    if (why)
        *why = ends_with(name, n, ".duckdb")
                   ? "raw DuckDB databases are not a supported payload format; "
                     "upload a .json or .jsonl export"
                   : "unsupported payload format (expected .json, .jsonl or .ndjson)";
    return AK_PAYLOAD_UNSUPPORTED;
}

static void note_problem(pipe_state *ps, const ak_frame *fr, ak_rec_problem p, const char *msg)
{
    ak_tally *t = ps->ctx->tally;
    t->rejected++;
    if (t->problems[p]++ == 0) {
        char where[48];
        if (fr->line)
            snprintf(where, sizeof where, "line %llu", (unsigned long long)fr->line);
        else
            snprintf(where, sizeof where, "record %llu", (unsigned long long)fr->index);
        snprintf(t->example[p], AK_EXAMPLE_MAX, "%s %s: %s", ps->name, where, msg);
    }
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

static ak_code on_record(void *arg, const ak_frame *fr)
{
    pipe_state *ps = arg;
    ak_payload_ctx *c = ps->ctx;
    c->tally->records++;
    if (c->live_records)
        atomic_fetch_add_explicit(c->live_records, 1, memory_order_relaxed);
    if (c->abort && atomic_load_explicit(c->abort, memory_order_relaxed))
        return ak_err_set(&ps->err, AK_ERR_ABORTED, "stopped before the upload finished");
    if (fr->problem) {
        note_problem(ps, fr, AK_REC_TOO_LARGE, fr->problem);
        return AK_OK;
    }
    ak_record rec;
    ak_rec_problem prob;
    ak_err perr;
    ak_code rc = ak_record_parse(c->doc, fr->text, fr->len, c->default_ts_us, &rec, &prob, &perr);
    if (rc == AK_ERR_INVALID) {
        note_problem(ps, fr, prob, perr.msg);
        return AK_OK;
    }
    if (rc)
        return ak_err_set(&ps->err, rc, "%s", perr.msg);
    ak_put_result res;
    ak_err dberr;
    if ((rc = ak_sysdb_put_record(c->db, &c->order, &rec, &res, &dberr)))
        return ak_err_set(&ps->err, AK_ERR_IO, "database: %s", dberr.msg);
    if (res == AK_PUT_CONFLICT)
        note_problem(ps, fr, AK_REC_CONFLICT,
                     "id given twice in this upload with different content");
    count_put(c->tally, res);
    return AK_OK;
}

static ak_code on_plain(void *arg, const void *data, size_t len)
{
    pipe_state *ps = arg;
    return ak_framer_feed(ps->framer, data, len, &ps->err);
}

static ak_code on_stored(void *arg, const void *data, size_t len)
{
    pipe_state *ps = arg;
    if (ps->listed >= 0 && (int64_t)len > ps->listed - ps->received)
        return ak_err_set(&ps->err, AK_ERR_IO, "the store sent more than the %lld bytes "
                          "listed for it", (long long)ps->listed);
    ps->received += (int64_t)len;
    ps->ctx->tally->bytes += (int64_t)len;
    if (ps->ctx->checksum)
        ak_sha256_update(ps->ctx->checksum, data, len);
    return ak_unz_feed(ps->unz, data, len, &ps->err);
}

/* End of the object: the decompressor and framer must both be complete. */
static ak_code finish_pipe(pipe_state *ps)
{
    ak_code rc = ak_unz_finish(ps->unz, &ps->err);
    return rc ? rc : ak_framer_finish(ps->framer, &ps->err);
}

ak_code ak_payload_ingest(ak_store *bucket, const char *key, const char *name,
                          ak_codec codec, int64_t listed_size, ak_payload_ctx *ctx,
                          ak_err *err)
{
    pipe_state ps = {.ctx = ctx, .name = name, .listed = listed_size};
    const char *why = NULL;
    ak_payload_kind kind = ak_payload_kind_of(name, codec, &why);
    if (kind == AK_PAYLOAD_UNSUPPORTED)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "%s: %s", name, why);
    ak_err_clear(&ps.err);
    ak_code rc = ak_unz_new(codec, on_plain, &ps, &ps.unz, err);
    if (rc == AK_OK &&
        ak_framer_new(kind == AK_PAYLOAD_JSON ? AK_FRAME_JSON : AK_FRAME_JSONL,
                      AK_RECORD_TEXT_MAX, on_record, &ps, &ps.framer) != AK_OK)
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK) {
        ak_err store_err;
        ak_err_clear(&store_err);
        rc = ak_store_get(bucket, key, on_stored, &ps, &store_err);
        if (rc == AK_OK && ps.listed >= 0 && ps.received != ps.listed)
            rc = ak_err_set(&ps.err, AK_ERR_IO, "the store sent %lld of the %lld bytes listed "
                            "for it", (long long)ps.received, (long long)ps.listed);
        if (rc == AK_OK)
            rc = finish_pipe(&ps);
        if (rc) {
            /* The stage that failed knows why; a failure of the store
             * itself (an outage, S3 refusing a request) is never the
             * payload's fault, so it is reported as one to retry. */
            if (err)
                *err = ps.err.code ? ps.err : store_err;
            rc = ps.err.code ? ps.err.code : AK_ERR_IO;
            if (err)
                err->code = rc;
            ak_err_prefix(err, "%s: ", name);
        }
    }
    ak_framer_free(ps.framer);
    ak_unz_free(ps.unz);
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
