/*
 * payload.h - stream one payload file from the bucket into a system database.
 *
 *   object store  --chunks-->  SHA-256 (manifest checksums, over stored bytes)
 *                 -->  magic check (the bytes are what the manifest claims)
 *                 -->  decompressor (gzip | zstd | lz4 | none)
 *                 -->  framer (.json | .jsonl/.ndjson)  --one record-->
 *                 -->  record parser  -->  ak_sysdb_put_record()
 *
 * Nothing is held but the chunk in flight and one record, so memory does not
 * grow with the payload.  A DuckDB payload (.duckdb) cannot be streamed:
 * its decompressed bytes go to a spool file in spool_dir (at most
 * spool_max bytes, so a gzip bomb stops there), which DuckDB then reads
 * (duckdb.h) row by row into the same record rules; the spool file is
 * removed whatever happens.  Knowledge-graph payloads (knowledge_graph.duckdb,
 * graph.jsonl: ingest/graph_intake.h) go to the graph database instead, in
 * a transaction opened on the first of them (ctx->graph) that the caller
 * commits just before its own, or rolls back; their counts are in the
 * tally's note.  The caller owns the transactions: on any error it rolls
 * back and nothing of the payload remains.
 */
#ifndef AK_PAYLOAD_H
#define AK_PAYLOAD_H

#include <stdatomic.h>
#include <stdint.h>

#include "graph/graph.h"
#include "ingest/record.h"
#include "objstore/objstore.h"
#include "storage/sysdb.h"
#include "util/compress.h"
#include "util/sha256.h"

#define AK_EXAMPLE_MAX 240

/* What happened to the records of an upload. */
typedef struct {
    int64_t records;          /* framed records, good and bad */
    int64_t new_count, updated, duplicates, stale, rejected;
    int64_t bytes;            /* stored (compressed) bytes read */
    double seconds;           /* time the upload took to apply */
    char note[AK_EXAMPLE_MAX]; /* what was skipped, or "" */
    ak_graph_tally graph;      /* knowledge-graph items */
    int64_t problems[AK_REC_N_PROBLEMS];
    char example[AK_REC_N_PROBLEMS][AK_EXAMPLE_MAX]; /* first of each kind */
} ak_tally;

typedef enum {
    AK_PAYLOAD_JSON,
    AK_PAYLOAD_JSONL,
    AK_PAYLOAD_DUCKDB,      /* a Session-Buddy reflection database */
    AK_PAYLOAD_GRAPH_DUCKDB, /* Session-Buddy's knowledge_graph.duckdb */
    AK_PAYLOAD_GRAPH_JSONL,  /* graph.jsonl: pushed entities and relations */
    AK_PAYLOAD_UNSUPPORTED
} ak_payload_kind;

/* The largest decompressed DuckDB payload, unless AKOSHA_DUCKDB_MAX_BYTES
 * says otherwise. */
#define AK_DUCKDB_MAX_BYTES (INT64_C(8) << 30)

/* Decide a payload's form from its name (a codec suffix such as ".gz" is
 * stripped first).  For unsupported forms *why explains. */
ak_payload_kind ak_payload_kind_of(const char *name, ak_codec codec, const char **why);

typedef struct {
    ak_sysdb *db;
    ak_upload_order order;
    int64_t default_ts_us;       /* records without a timestamp */
    ak_sha256_ctx *checksum;     /* fed every stored byte, or NULL */
    ak_sha256_ctx *file_checksum; /* fed this payload's stored bytes, or NULL */
    ak_json_doc *doc;            /* reused between records */
    const atomic_int *abort;     /* non-zero: stop at the next record */
    atomic_llong *live_records;  /* progress counter, or NULL */
    ak_tally *tally;
    const char *spool_dir;       /* DuckDB payloads are decompressed here */
    int64_t spool_max;           /* their largest decompressed size */
    const char *system_id;       /* the upload's system (graph items) */
    const char *graph_path;      /* <data>/graph.db, or NULL: no graph here */
    ak_graph *graph;             /* opened, in a transaction, by the first graph
                                  * payload; the caller commits and closes it */
} ak_payload_ctx;

/* Stream bucket object `key` (payload `name` of the upload), whose listing
 * gave it listed_size bytes (-1: unknown).  Errors: AK_ERR_IO /
 * AK_ERR_NOTFOUND from the store (transient), AK_ERR_INVALID or
 * AK_ERR_CORRUPT for a payload that can never be ingested, AK_ERR_NOTFOUND
 * when DuckDB's library is missing (transient too), AK_ERR_ABORTED when
 * *abort was set, or a database error.
 *
 * A store that delivers fewer or more bytes than listed lied in transit (a
 * 200 with a short or padded body): that is AK_ERR_IO, retried later, and
 * never held against the payload; the check comes before the decoder is
 * asked to finish, so a cut-off stream is not taken for a truncated one. */
ak_code ak_payload_ingest(ak_store *bucket, const char *key, const char *name,
                          ak_codec codec, int64_t listed_size, ak_payload_ctx *ctx,
                          ak_err *err);

/* Records already parsed and judged by the caller (a pushed batch, whose
 * staged JSONL payload `name` holds the same records as lines), put in
 * order as ak_payload_ingest() puts framed ones, with the same problem
 * notes: counted in ctx->tally (bytes: the payload's size), results[i]
 * says what became of recs[i] and, when hot_rowids is not NULL,
 * hot_rowids[i] the id of the hot row it wrote (0: none, see
 * ak_sysdb_put_rowid).  Errors: a database error (AK_ERR_IO) or
 * AK_ERR_ABORTED. */
ak_code ak_payload_put_records(const char *name, const ak_record *const *recs, size_t n,
                               int64_t bytes, ak_put_result *results, int64_t *hot_rowids,
                               ak_payload_ctx *ctx, ak_err *err);

/* The record-problem counts as a JSON object ({"bad_embedding": {"count": 2,
 * "example": "..."}}), or NULL when there were none.  Caller frees. */
char *ak_tally_problems_json(const ak_tally *t);

#endif
