/*
 * upload.c - see upload.h.
 *
 * The order of checks matters: everything that can be decided without
 * reading payloads (formats, presence) is decided first, so an incomplete
 * upload costs one listing, not a download.  The payloads are then applied
 * inside one transaction that also writes the ledger row, which is what
 * makes ingestion exactly-once: a crash before COMMIT leaves no trace, a
 * crash after it leaves the upload settled.
 */
#include "ingest/upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/duckdb.h"
#include "util/log.h"
#include "util/testpoint.h"
#include "util/time.h"

#define DEFAULT_GRACE_US (3600 * AK_US_PER_SEC)
#define DEFAULT_RETRY_BASE_US (30 * AK_US_PER_SEC)
#define MAX_RETRY_US (3600 * AK_US_PER_SEC)

/* Exponential backoff with a jitter of up to 20% derived from the upload id,
 * so many uploads that failed together do not retry in lockstep. */
static int64_t retry_delay(const ak_ingest_config *cfg, const char *upload_id, int64_t attempts)
{
    int64_t base = cfg->retry_base_us ? cfg->retry_base_us : DEFAULT_RETRY_BASE_US;
    if (base < 0)
        return 0;
    int64_t d = base;
    for (int64_t i = 1; i < attempts && d < MAX_RETRY_US; i++)
        d *= 2;
    if (d > MAX_RETRY_US)
        d = MAX_RETRY_US;
    unsigned h = 5381;
    for (const char *p = upload_id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return d + d * (int64_t)(h % 21) / 100;
}

int64_t ak_upload_retry_due(const ak_ingest_config *cfg, const ak_ledger_row *prev)
{
    return prev->finished_us + retry_delay(cfg, prev->upload_id, prev->attempts);
}

/* Fill the ledger fields common to every outcome. */
static void base_row(const ak_upload_env *env, const ak_upload_ref *u, const ak_manifest *m,
                     const ak_ledger_row *prev, ak_ledger_row *row)
{
    memset(row, 0, sizeof *row);
    row->upload_id = (char *)u->upload_id;
    row->declared_count = m ? m->conversation_count : -1;
    row->uploaded_at_us = m ? m->uploaded_at_us : 0;
    row->system_type = m ? m->system_type : NULL;
    row->metadata = m ? m->metadata : NULL;
    row->attempts = prev->attempts + 1;
    row->first_seen_us = prev->first_seen_us ? prev->first_seen_us : env->now_us;
    row->finished_us = env->cfg->now_us ? env->now_us : ak_time_now_us();
}

/* May the outcome's ledger row be written? (ak_upload_env.before_ledger) */
static int may_settle(const ak_upload_env *env)
{
    return !env->before_ledger || env->before_ledger(env->hook_ctx) == AK_OK;
}

static ak_outcome write_row(const ak_upload_env *env, const ak_ledger_row *row, ak_outcome o)
{
    ak_err err;
    if (!may_settle(env))
        return AK_OUTCOME_ABORTED;
    if (ak_sysdb_ledger_put(env->db, row, &err))
        AK_ERROR("ingest", "%s/%s: cannot record the outcome in the ledger: %s",
                 env->system_id, row->upload_id, err.msg);
    return o;
}

/* A failure that may heal: failed with backoff, or, for an upload whose
 * payload never arrived, rejected once the grace period has passed. */
static ak_outcome settle_failure(const ak_upload_env *env, const ak_upload_ref *u,
                                 const ak_manifest *m, const ak_ledger_row *prev,
                                 int incomplete, const char *reason, char **reason_out)
{
    ak_ledger_row row;
    base_row(env, u, m, prev, &row);
    int64_t grace = env->cfg->grace_us ? env->cfg->grace_us : DEFAULT_GRACE_US;
    char msg[AK_ERR_MSG_MAX + 96];
    if (incomplete && env->now_us - row.first_seen_us >= grace) {
        snprintf(msg, sizeof msg, "%s, and the %lld s grace period is over", reason,
                 (long long)(grace / AK_US_PER_SEC));
        row.status = AK_UPLOAD_REJECTED;
    } else {
        snprintf(msg, sizeof msg, "%s", reason);
        row.status = AK_UPLOAD_FAILED;
        row.next_attempt_us = env->now_us + retry_delay(env->cfg, u->upload_id, row.attempts);
    }
    row.reason = msg;
    *reason_out = strdup(msg);
    return write_row(env, &row, row.status == AK_UPLOAD_FAILED ? AK_OUTCOME_FAILED
                                                                : AK_OUTCOME_REJECTED);
}

static ak_outcome settle_rejected(const ak_upload_env *env, const ak_upload_ref *u,
                                  const ak_manifest *m, const ak_ledger_row *prev,
                                  const char *reason, char **reason_out)
{
    ak_ledger_row row;
    base_row(env, u, m, prev, &row);
    row.status = AK_UPLOAD_REJECTED;
    row.reason = (char *)reason;
    *reason_out = strdup(reason);
    return write_row(env, &row, AK_OUTCOME_REJECTED);
}

ak_outcome ak_upload_settle_early(const ak_upload_env *env, const ak_upload_ref *u,
                                  const ak_ledger_row *prev, ak_upload_status status,
                                  const char *reason)
{
    char *r = NULL;
    ak_outcome o = status == AK_UPLOAD_REJECTED
                       ? settle_rejected(env, u, NULL, prev, reason, &r)
                       : settle_failure(env, u, NULL, prev, 0, reason, &r);
    free(r);
    return o;
}

typedef enum { PRE_OK, PRE_REJECT, PRE_NOT_ARRIVED, PRE_RETRY } precheck_result;

/* Payload formats, presence and sizes, decided from the manifest and the
 * listing; and, for DuckDB payloads, whether DuckDB's library is here
 * (when not, the upload waits for it). */
static precheck_result precheck(const ak_upload_ref *u, const ak_manifest *m, char *why,
                                size_t n)
{
    int duckdb = 0;
    for (size_t i = 0; i < m->n_files; i++) {
        const ak_manifest_file *f = &m->files[i];
        const char *reason;
        ak_payload_kind kind = ak_payload_kind_of(f->name, f->codec, &reason);
        if (kind == AK_PAYLOAD_UNSUPPORTED) {
            snprintf(why, n, "%s: %s", f->name, reason);
            return PRE_REJECT;
        }
        duckdb |= kind == AK_PAYLOAD_DUCKDB;
    }
    for (size_t i = 0; i < m->n_files; i++) {
        const ak_manifest_file *f = &m->files[i];
        int64_t size = ak_upload_file_size(u, f->name);
        if (size < 0) {
            snprintf(why, n, "payload %s named in the manifest has not arrived", f->name);
            return PRE_NOT_ARRIVED;
        }
        if (f->size_bytes >= 0 && size != f->size_bytes) {
            snprintf(why, n, "%s: size_bytes: manifest says %lld but the object has %lld bytes",
                     f->name, (long long)f->size_bytes, (long long)size);
            return PRE_REJECT;
        }
    }
    ak_err err;
    if (duckdb && ak_duckdb_installed(&err) != AK_OK) {
        snprintf(why, n, "%s", err.msg);
        return PRE_RETRY;
    }
    return PRE_OK;
}

/* The largest decompressed DuckDB payload (AKOSHA_DUCKDB_MAX_BYTES). */
static int64_t spool_max(void)
{
    const char *v = getenv("AKOSHA_DUCKDB_MAX_BYTES");
    char *end;
    long long n = v ? strtoll(v, &end, 10) : 0;
    return v && *v && !*end && n > 0 ? (int64_t)n : AK_DUCKDB_MAX_BYTES;
}

const char *ak_upload_spool_dir(const ak_ingest_config *cfg, char *buf, size_t n)
{
    if (!cfg->data)
        return NULL;
    int len = snprintf(buf, n, "%s/tmp", ak_datadir_path(cfg->data));
    return len > 0 && (size_t)len < n ? buf : NULL;
}

/* A finished SHA-256 against the one the manifest gave. */
static ak_code check_sum(ak_sha256_ctx *ctx, const uint8_t *want, const char *what,
                         ak_err *err)
{
    uint8_t got[AK_SHA256_LEN];
    ak_sha256_final(ctx, got);
    if (memcmp(got, want, AK_SHA256_LEN) == 0)
        return AK_OK;
    char want_hex[AK_SHA256_HEX], got_hex[AK_SHA256_HEX];
    ak_hex(want, AK_SHA256_LEN, want_hex);
    ak_hex(got, AK_SHA256_LEN, got_hex);
    return ak_err_set(err, AK_ERR_INVALID, "%s: manifest says %s but the bytes hash to %s",
                      what, want_hex, got_hex);
}

/* One payload, with its own checksum when the manifest gave one. */
static ak_code stream_file(const ak_upload_env *env, const ak_upload_ref *u,
                           const ak_manifest_file *f, ak_payload_ctx *pc, ak_err *err)
{
    char key[AK_STORE_KEY_MAX + 1], what[AK_FILE_NAME_MAX + 16];
    snprintf(key, sizeof key, "%s%s", u->prefix, f->name);
    pc->file_checksum = f->has_checksum ? ak_sha256_new() : NULL;
    if (f->has_checksum && !pc->file_checksum)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = ak_payload_ingest(env->cfg->bucket, key, f->name, f->codec,
                                   ak_upload_file_size(u, f->name), pc, err);
    if (rc == AK_OK && pc->file_checksum) {
        snprintf(what, sizeof what, "%s: checksum", f->name);
        rc = check_sum(pc->file_checksum, f->checksum, what, err);
    }
    ak_sha256_free(pc->file_checksum);
    pc->file_checksum = NULL;
    /* A graph payload commits as soon as it is read and checked: the
     * graph's write lock is held while its items are written, not for the
     * rest of the upload.  Its writes are idempotent, so a crash or a later
     * payload's failure before the ledger's commit only makes them
     * duplicates when the upload is applied again. */
    if (rc == AK_OK && pc->graph && (rc = ak_graph_commit(pc->graph, err)) == AK_OK) {
        ak_testpoint("ingest.graph_committed");
        ak_graph_close(pc->graph);
        pc->graph = NULL;
    }
    return rc;
}

/* The knowledge graph of the upload's data directory (NULL without one). */
static const char *graph_path(const ak_ingest_config *cfg, char *buf, size_t n)
{
    return cfg->data && ak_graph_path(cfg->data, buf, n, NULL) == AK_OK ? buf : NULL;
}

/* *graph: the graph's open transaction when a graph payload failed part
 * way, for the caller to roll back. */
static ak_code stream_payloads(const ak_upload_env *env, const ak_upload_ref *u,
                               const ak_manifest *m, ak_tally *tally, ak_graph **graph,
                               ak_err *err)
{
    char spool_dir[AK_PATH_MAX], gpath[AK_PATH_MAX];
    ak_payload_ctx pc = {
        .db = env->db,
        .order = {.at_us = m->uploaded_at_us, .upload_id = u->upload_id},
        .default_ts_us = m->uploaded_at_us,
        .checksum = m->has_checksum ? ak_sha256_new() : NULL,
        .doc = env->doc,
        .abort = env->cfg->abort,
        .live_records = env->live_records,
        .tally = tally,
        .spool_dir = ak_upload_spool_dir(env->cfg, spool_dir, sizeof spool_dir),
        .spool_max = spool_max(),
        .system_id = env->system_id,
        .graph_path = graph_path(env->cfg, gpath, sizeof gpath),
    };
    if (m->has_checksum && !pc.checksum)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = AK_OK;
    if (env->records) /* the bytes were hashed from these very records */
        rc = ak_payload_put_records(m->n_files ? m->files[0].name : "records", env->records,
                                    env->n_records, env->records_bytes, env->results,
                                    env->hot_rowids, &pc, err);
    for (size_t i = 0; !env->records && rc == AK_OK && i < m->n_files; i++)
        rc = stream_file(env, u, &m->files[i], &pc, err);
    if (rc == AK_OK && pc.checksum && !env->records)
        rc = check_sum(pc.checksum, m->checksum, "checksum", err);
    if (rc == AK_OK && m->conversation_count >= 0 && tally->records != m->conversation_count)
        rc = ak_err_set(err, AK_ERR_INVALID,
                        "conversation_count: manifest says %lld but the payloads hold %lld records",
                        (long long)m->conversation_count, (long long)tally->records);
    ak_sha256_free(pc.checksum);
    *graph = pc.graph;
    return rc;
}

static ak_code write_ingested(const ak_upload_env *env, const ak_upload_ref *u,
                              const ak_manifest *m, const ak_ledger_row *prev,
                              const ak_tally *t, ak_err *err)
{
    ak_ledger_row row;
    base_row(env, u, m, prev, &row);
    row.status = AK_UPLOAD_INGESTED;
    row.new_count = t->new_count;
    row.updated = t->updated;
    row.duplicates = t->duplicates;
    row.stale = t->stale;
    row.records_rejected = t->rejected;
    row.payload_bytes = t->bytes;
    row.record_errors = ak_tally_problems_json(t);
    row.reason = t->note[0] ? (char *)t->note : NULL;
    ak_code rc = ak_sysdb_ledger_put(env->db, &row, err);
    free(row.record_errors);
    return rc;
}

/* Inside the transaction: has someone else settled this upload already? */
static ak_code settled_meanwhile(const ak_upload_env *env, const char *uid, int *settled,
                                 ak_err *err)
{
    ak_ledger_row now;
    ak_code rc = ak_sysdb_ledger_get(env->db, uid, &now, err);
    *settled = rc == AK_OK && (now.status == AK_UPLOAD_INGESTED || now.status == AK_UPLOAD_REJECTED);
    ak_ledger_row_free(&now);
    return rc;
}

static int permanent(ak_code rc)
{
    return rc == AK_ERR_INVALID || rc == AK_ERR_CORRUPT || rc == AK_ERR_UNSUPPORTED;
}

ak_outcome ak_upload_apply(const ak_upload_env *env, const ak_upload_ref *u,
                           const ak_manifest *m, const ak_ledger_row *prev,
                           ak_tally *tally, char **reason)
{
    char why[AK_ERR_MSG_MAX];
    int settled = 0;
    memset(tally, 0, sizeof *tally);
    *reason = NULL;
    switch (precheck(u, m, why, sizeof why)) {
    case PRE_OK: break;
    case PRE_REJECT: return settle_rejected(env, u, m, prev, why, reason);
    case PRE_NOT_ARRIVED: return settle_failure(env, u, m, prev, 1, why, reason);
    case PRE_RETRY: return settle_failure(env, u, m, prev, 0, why, reason);
    }
    /* Only the payloads' own verdict (bad JSON, checksum, counts) rejects an
     * upload; database errors (payload.c reports them as AK_ERR_IO) and a
     * failed commit are retried: a full disk says nothing about the upload. */
    ak_err err;
    int verdict = 0;
    ak_graph *graph = NULL;
    ak_code rc = ak_sysdb_begin(env->db, &err);
    if (rc == AK_OK)
        rc = settled_meanwhile(env, u->upload_id, &settled, &err);
    if (rc == AK_OK && settled) {
        ak_sysdb_rollback(env->db);
        return AK_OUTCOME_ALREADY_DONE;
    }
    if (rc == AK_OK) {
        rc = stream_payloads(env, u, m, tally, &graph, &err);
        verdict = permanent(rc);
    }
    if (rc == AK_OK)
        ak_testpoint("ingest.streamed"); /* records written, not committed */
    /* graph payloads committed as they were read (stream_file) */
    if (rc == AK_OK && !may_settle(env))
        rc = ak_err_set(&err, AK_ERR_ABORTED, "%s: not settled", u->upload_id);
    if (rc == AK_OK && (rc = write_ingested(env, u, m, prev, tally, &err)) == AK_OK)
        rc = ak_sysdb_commit(env->db, &err);
    if (graph) {
        ak_graph_rollback(graph);
        ak_graph_close(graph);
    }
    if (rc == AK_OK) {
        ak_testpoint("ingest.committed");
        return AK_OUTCOME_INGESTED;
    }
    ak_sysdb_rollback(env->db);
    if (rc == AK_ERR_ABORTED)
        return AK_OUTCOME_ABORTED;
    if (verdict)
        return settle_rejected(env, u, m, prev, err.msg, reason);
    return settle_failure(env, u, m, prev, 0, err.msg, reason);
}
