/*
 * age.c - see age.h.
 *
 * The tier transitions are this module's own SQL, run on the system
 * database's connection (sysdb.c owns the schema and the ingest and read
 * paths; moving rows between its tables is aging's job).  Every statement
 * runs inside BEGIN IMMEDIATE ... COMMIT, so ingestion of the same system
 * waits for a batch (or a batch waits for an upload) and nothing in between
 * is ever visible.
 */
#include "tier/age.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sysdb.h"
#include "tier/cold.h"
#include "tier/minhash.h"
#include "tier/parquet.h"
#include "tier/summary.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/testpoint.h"
#include "util/time.h"
#include "util/vec.h"
#include "version.h"

#define DAY_US AK_US_PER_DAY

typedef struct {
    const ak_age_config *cfg;
    ak_age_stats *stats;
    int64_t now, hot_cutoff, warm_cutoff, retention_cutoff;
    const char *system_id;
    ak_sysdb *sdb;
    sqlite3 *db;
    int changed;
} pass;

static int stopping(const pass *p) { return p->cfg->stop && atomic_load(p->cfg->stop); }

static ak_code sql_error(pass *p, ak_err *err, const char *what)
{
    return ak_err_set(err, AK_ERR_IO, "system %s: %s: %s", p->system_id, what, sqlite3_errmsg(p->db));
}

static ak_code exec(pass *p, const char *sql, ak_err *err)
{
    return sqlite3_exec(p->db, sql, NULL, NULL, NULL) == SQLITE_OK ? AK_OK : sql_error(p, err, sql);
}

static ak_code prepare(pass *p, const char *sql, sqlite3_stmt **st, ak_err *err)
{
    return sqlite3_prepare_v2(p->db, sql, -1, st, NULL) == SQLITE_OK ? AK_OK
                                                                     : sql_error(p, err, "prepare");
}

/* SELECT of one integer (count, sum). */
static ak_code scalar(pass *p, const char *sql, int64_t a, int64_t b, int64_t c, int64_t *out,
                      ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = prepare(p, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    sqlite3_bind_int64(st, 3, c);
    rc = sqlite3_step(st) == SQLITE_ROW ? AK_OK : sql_error(p, err, "query");
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* ---- hot -> warm ---- */

#define HOT_BYTES "length(content) + coalesce(length(embedding), 0) + coalesce(length(metadata), 0)" \
                  " + length(conversation_id) + 32"
#define WARM_BYTES "length(summary) + coalesce(length(ultra_summary), 0) + coalesce(length(embedding_q), 0)" \
                   " + coalesce(length(fingerprint), 0) + coalesce(length(metadata), 0) + length(conversation_id) + 32"

/* Insert the warm form of the hot row under st's cursor. */
static ak_code warm_row(pass *p, sqlite3_stmt *hot, sqlite3_stmt *ins, ak_err *err)
{
    const char *content = (const char *)sqlite3_column_text(hot, 2);
    size_t len = (size_t)sqlite3_column_bytes(hot, 2);
    static const int sentences[2] = {3, 1}; /* warm summary, cold's ultra summary */
    char *summaries[2] = {NULL, NULL};
    ak_code rc = ak_summarize_many(content, len, sentences, summaries, 2, err);
    char *summary = summaries[0], *ultra = summaries[1];
    uint32_t sig[AK_MINHASH_SLOTS];
    uint8_t fp[AK_MINHASH_BYTES];
    ak_minhash(content, len, sig);
    ak_minhash_bytes(sig, fp);
    int8_t q[AK_DIM];
    float scale = 0;
    if (sqlite3_column_bytes(hot, 3) == AK_DIM * 4) {
        float v[AK_DIM];
        const unsigned char *b = sqlite3_column_blob(hot, 3);
        for (int i = 0; i < AK_DIM; i++) {
            uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                         (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
            memcpy(&v[i], &u, 4);
        }
        ak_vec_quantize(v, q, &scale);
        sqlite3_bind_blob(ins, 3, q, AK_DIM, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(ins, 3);
    }
    if (rc == AK_OK) {
        sqlite3_bind_value(ins, 1, sqlite3_column_value(hot, 1)); /* conversation_id */
        sqlite3_bind_text(ins, 2, summary, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 4, scale);
        for (int c = 4; c <= 9; c++) /* ts_us, source, metadata, sha, upload_at, upload_id */
            sqlite3_bind_value(ins, c + 1, sqlite3_column_value(hot, c));
        sqlite3_bind_text(ins, 11, ultra, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(ins, 12, fp, sizeof fp, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE)
            rc = sql_error(p, err, "inserting a warm row");
        sqlite3_reset(ins);
    }
    if (rc == AK_OK)
        rc = ak_sysdb_index_text(p->sdb, AK_TIER_WARM, sqlite3_last_insert_rowid(p->db), summary,
                                 strlen(summary), err);
    free(summary);
    free(ultra);
    return rc;
}

/* One batch in one transaction.  *n: rows moved (0: nothing left). */
static ak_code hot_batch(pass *p, int64_t *n, ak_err *err)
{
    static const char sel_sql[] =
        "SELECT id, conversation_id, content, embedding, ts_us, source, metadata, content_sha256,"
        " upload_at_us, upload_id FROM hot WHERE ts_us < ?1 ORDER BY id LIMIT ?2";
    static const char ins_sql[] =
        "INSERT INTO warm(conversation_id, summary, embedding_q, embedding_scale, ts_us, source,"
        " metadata, content_sha256, upload_at_us, upload_id, ultra_summary, fingerprint)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
    sqlite3_stmt *sel = NULL, *ins = NULL;
    int64_t first = 0, last = 0, before = 0, check = 0, after = 0;
    *n = 0;
    ak_code rc = exec(p, "BEGIN IMMEDIATE", err);
    if (rc == AK_OK && (rc = prepare(p, sel_sql, &sel, err)) == AK_OK)
        rc = prepare(p, ins_sql, &ins, err);
    if (rc == AK_OK) {
        sqlite3_bind_int64(sel, 1, p->hot_cutoff);
        sqlite3_bind_int64(sel, 2, AK_AGE_HOT_BATCH);
        while (rc == AK_OK && sqlite3_step(sel) == SQLITE_ROW) {
            last = sqlite3_column_int64(sel, 0);
            first = *n ? first : last;
            rc = warm_row(p, sel, ins, err);
            (*n)++;
        }
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    /* verify: every row of the batch is in warm with the same content hash */
    if (rc == AK_OK && *n)
        rc = scalar(p, "SELECT count(*) FROM hot h JOIN warm w ON w.conversation_id = h.conversation_id"
                       " AND w.content_sha256 = h.content_sha256"
                       " WHERE h.id BETWEEN ?1 AND ?2 AND h.ts_us < ?3", first, last, p->hot_cutoff, &check, err);
    if (rc == AK_OK && *n && check != *n)
        rc = ak_err_set(err, AK_ERR_INTERNAL, "system %s: warm copies of %lld rows do not verify (%lld match)",
                        p->system_id, (long long)*n, (long long)check);
    if (rc == AK_OK && *n)
        rc = scalar(p, "SELECT coalesce(sum(" HOT_BYTES "), 0) FROM hot WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3",
                    first, last, p->hot_cutoff, &before, err);
    if (rc == AK_OK && *n)
        rc = scalar(p, "SELECT coalesce(sum(" WARM_BYTES "), 0) FROM warm WHERE conversation_id IN"
                       " (SELECT conversation_id FROM hot WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3)",
                    first, last, p->hot_cutoff, &after, err);
    if (rc == AK_OK && *n) {
        sqlite3_stmt *del;
        if ((rc = prepare(p, "DELETE FROM hot WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3", &del, err)) == AK_OK) {
            sqlite3_bind_int64(del, 1, first);
            sqlite3_bind_int64(del, 2, last);
            sqlite3_bind_int64(del, 3, p->hot_cutoff);
            if (sqlite3_step(del) != SQLITE_DONE || sqlite3_changes(p->db) != *n)
                rc = sql_error(p, err, "deleting moved hot rows");
            sqlite3_finalize(del);
        }
    }
    if (rc == AK_OK && *n)
        ak_testpoint("age.warm_moved"); /* rows in warm, deleted from hot, not committed */
    if (rc == AK_OK)
        rc = exec(p, "COMMIT", err);
    if (rc) {
        ak_sysdb_rollback(p->sdb);
        *n = 0;
        return rc;
    }
    p->stats->hot_to_warm.rows += *n;
    p->stats->hot_to_warm.bytes_before += before;
    p->stats->hot_to_warm.bytes_after += after;
    p->changed |= *n > 0;
    return AK_OK;
}

/* --dry-run: what a transition would move, counted and not moved. */
static ak_code dry_count(pass *p, const char *table, const char *bytes_expr, int64_t cutoff,
                         ak_age_move *mv, ak_err *err)
{
    char sql[512];
    int64_t n = 0, bytes = 0;
    ak_fmt(sql, sizeof sql, "SELECT count(*) FROM %s WHERE ts_us < ?1", table);
    ak_code rc = scalar(p, sql, cutoff, 0, 0, &n, err);
    ak_fmt(sql, sizeof sql, "SELECT coalesce(sum(%s), 0) FROM %s WHERE ts_us < ?1", bytes_expr, table);
    if (rc == AK_OK)
        rc = scalar(p, sql, cutoff, 0, 0, &bytes, err);
    mv->rows += n;
    mv->bytes_before += bytes;
    return rc;
}

static ak_code hot_to_warm(pass *p, ak_err *err)
{
    if (p->cfg->dry_run)
        return dry_count(p, "hot", HOT_BYTES, p->hot_cutoff, &p->stats->hot_to_warm, err);
    int64_t n;
    ak_code rc;
    do {
        rc = hot_batch(p, &n, err);
    } while (rc == AK_OK && n == AK_AGE_HOT_BATCH && !stopping(p));
    return rc;
}

/* ---- warm -> cold ---- */

ak_code ak_age_cold_key(const char *system_id, int64_t day_us, const uint8_t digest[32],
                        char *out, size_t n)
{
    char date[AK_TIME_ISO_MAX], hex[17], prefix[AK_COLD_PREFIX_MAX];
    if (ak_cold_system_prefix(system_id, prefix, sizeof prefix) < 0)
        return AK_ERR_INVALID;
    ak_time_format(day_us, date);
    ak_hex(digest, 8, hex);
    return ak_fmt(out, n, "%sdate=%.10s/batch-%s.parquet", prefix, date, hex);
}

typedef struct {
    int64_t id;
    char *conversation_id, *ultra, *metadata, *upload_id;
    uint8_t fingerprint[AK_MINHASH_BYTES];
    char sha_hex[AK_SHA256_HEX];
    int64_t ts, upload_at, bytes;
} cold_row;

typedef struct {
    cold_row *r;
    size_t n;
    int64_t bytes;
} cold_batch;

static void batch_free(cold_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->r[i].conversation_id);
        free(b->r[i].ultra);
        free(b->r[i].metadata);
        free(b->r[i].upload_id);
    }
    free(b->r);
    memset(b, 0, sizeof *b);
}

static char *col_dup(sqlite3_stmt *st, int c)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? strdup((const char *)t) : NULL;
}

/* Rows aged into warm before the warm tier kept them (or inserted by other
 * tools) may lack the ultra summary or fingerprint: derive them from the
 * 3-sentence summary, the best text warm has. */
static ak_code fill_missing(cold_row *r, const char *summary, ak_err *err)
{
    size_t len = summary ? strlen(summary) : 0;
    if (!r->ultra) {
        ak_code rc = ak_summarize(summary ? summary : "", len, 1, &r->ultra, err);
        if (rc)
            return rc;
    }
    return AK_OK;
}

static ak_code load_batch(pass *p, int64_t day, cold_batch *b, ak_err *err)
{
    static const char sql[] =
        "SELECT id, conversation_id, ts_us, ultra_summary, fingerprint, content_sha256, metadata,"
        " upload_at_us, upload_id, summary, " WARM_BYTES " FROM warm"
        " WHERE ts_us >= ?1 AND ts_us < ?2 AND ts_us < ?3 ORDER BY conversation_id LIMIT ?4";
    sqlite3_stmt *st;
    ak_code rc = prepare(p, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, day);
    sqlite3_bind_int64(st, 2, day + DAY_US);
    sqlite3_bind_int64(st, 3, p->warm_cutoff);
    sqlite3_bind_int64(st, 4, AK_AGE_COLD_BATCH);
    size_t cap = 0;
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW) {
        /* grown as rows come: most batches are one day of one system, a few
         * rows, and zeroing room for a full batch each time cost more than
         * writing them */
        if (b->n == cap) {
            cold_row *grown = realloc(b->r, (cap = cap ? cap * 2 : 64) * sizeof *grown);
            if (!grown) {
                rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
                break;
            }
            b->r = grown;
        }
        cold_row *r = &b->r[b->n++];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        r->conversation_id = col_dup(st, 1);
        r->ts = sqlite3_column_int64(st, 2);
        r->ultra = col_dup(st, 3);
        if (sqlite3_column_bytes(st, 4) == AK_MINHASH_BYTES) {
            memcpy(r->fingerprint, sqlite3_column_blob(st, 4), AK_MINHASH_BYTES);
        } else {
            const char *s = (const char *)sqlite3_column_text(st, 9);
            uint32_t sig[AK_MINHASH_SLOTS];
            ak_minhash(s ? s : "", s ? strlen(s) : 0, sig);
            ak_minhash_bytes(sig, r->fingerprint);
        }
        if (sqlite3_column_bytes(st, 5) == AK_SHA256_LEN)
            ak_hex(sqlite3_column_blob(st, 5), AK_SHA256_LEN, r->sha_hex);
        r->metadata = col_dup(st, 6);
        r->upload_at = sqlite3_column_int64(st, 7);
        r->upload_id = col_dup(st, 8);
        r->bytes = sqlite3_column_int64(st, 10);
        b->bytes += r->bytes;
        rc = fill_missing(r, (const char *)sqlite3_column_text(st, 9), err);
        if (rc == AK_OK && (!r->conversation_id || !r->upload_id || !r->sha_hex[0]))
            rc = ak_err_set(err, AK_ERR_CORRUPT, "system %s: warm row %lld is incomplete",
                            p->system_id, (long long)r->id);
    }
    sqlite3_finalize(st);
    return rc;
}

static ak_pq_val val(const char *s) { return (ak_pq_val){s, s ? strlen(s) : 0}; }

/* The batch as one Parquet file; *digest identifies the batch. */
static ak_code build_parquet(pass *p, const cold_batch *b, int64_t day, ak_buf *file,
                             uint8_t digest[32], ak_err *err)
{
    char date[AK_TIME_ISO_MAX];
    ak_buf metrics = {0};
    ak_time_format(day, date);
    ak_buf_printf(&metrics, "{\"date\":\"%.10s\",\"conversations\":%zu}", date, b->n);
    ak_sha256_ctx *h = ak_sha256_new();
    ak_pq_writer *w = NULL;
    ak_pq_opts opts = {.created_by = "akosha " AKOSHA_VERSION};
    ak_code rc = h ? ak_pq_writer_new(&opts, &w, err) : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == AK_OK && i < b->n; i++) {
        const cold_row *r = &b->r[i];
        ak_pq_row row = {
            .system_id = val(p->system_id),
            .conversation_id = val(r->conversation_id),
            .ts_us = r->ts,
            .ultra_summary = val(r->ultra),
            .fingerprint = {(const char *)r->fingerprint, AK_MINHASH_BYTES},
            .content_sha256 = val(r->sha_hex),
            .metadata = val(r->metadata),
            .daily_metrics = val(metrics.data),
        };
        ak_sha256_update(h, r->sha_hex, 64);
        rc = ak_pq_writer_add(w, &row, err);
    }
    if (rc == AK_OK)
        rc = ak_pq_writer_finish(w, file, err);
    if (h)
        ak_sha256_final(h, digest);
    ak_sha256_free(h);
    ak_pq_writer_free(w);
    ak_buf_free(&metrics);
    return rc;
}

/* Put the file, read it back, compare.  A store failure is AK_ERR_IO. */
static ak_code upload_verified(pass *p, const char *key, const ak_buf *file, int64_t rows,
                               ak_err *err)
{
    ak_store *cold = p->cfg->cold;
    char *back = NULL;
    size_t back_len = 0;
    uint8_t want[32], got[32];
    ak_code rc = ak_store_put(cold, key, file->data, file->len, err);
    if (rc == AK_OK)
        rc = ak_store_get_small(cold, key, file->len + 1, &back, &back_len, err);
    if (rc == AK_OK) {
        ak_sha256(file->data, file->len, want);
        ak_sha256(back, back_len, got);
        if (back_len != file->len || memcmp(want, got, 32) != 0)
            rc = ak_err_set(err, AK_ERR_IO, "cold object %s reads back different from what was written", key);
    }
    ak_pq_reader *r = NULL;
    if (rc == AK_OK && (rc = ak_pq_reader_open(back, back_len, &r, err)) == AK_OK &&
        ak_pq_reader_rows(r) != rows)
        rc = ak_err_set(err, AK_ERR_IO, "cold object %s holds %lld rows, not %lld", key,
                        (long long)ak_pq_reader_rows(r), (long long)rows);
    ak_pq_reader_free(r);
    free(back);
    return rc;
}

/* Catalog the object and drop the warm rows, if every row is still as it
 * was read (an upload may have replaced one meanwhile: then nothing moves
 * and the next pass retries with the current rows). */
static ak_code commit_cold(pass *p, const cold_batch *b, const char *key, int *moved, ak_err *err)
{
    static const char ins_sql[] =
        "INSERT INTO cold(conversation_id, object_key, ts_us, content_sha256, upload_at_us, upload_id)"
        " SELECT conversation_id, ?2, ts_us, content_sha256, upload_at_us, upload_id FROM warm"
        " WHERE id = ?1 AND conversation_id = ?3";
    sqlite3_stmt *ins = NULL, *del = NULL;
    int64_t inserted = 0;
    *moved = 0;
    ak_code rc = exec(p, "BEGIN IMMEDIATE", err);
    if (rc == AK_OK)
        rc = prepare(p, ins_sql, &ins, err);
    for (size_t i = 0; rc == AK_OK && i < b->n; i++) {
        sqlite3_bind_int64(ins, 1, b->r[i].id);
        sqlite3_bind_text(ins, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, b->r[i].conversation_id, -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            rc = sql_error(p, err, "cataloguing a cold row");
        inserted += sqlite3_changes(p->db);
        sqlite3_reset(ins);
    }
    if (rc == AK_OK && (rc = prepare(p, "DELETE FROM warm WHERE conversation_id IN"
                                        " (SELECT conversation_id FROM cold WHERE object_key = ?1)",
                                     &del, err)) == AK_OK) {
        sqlite3_bind_text(del, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(del) != SQLITE_DONE)
            rc = sql_error(p, err, "deleting moved warm rows");
        else if (sqlite3_changes(p->db) != inserted)
            rc = ak_err_set(err, AK_ERR_INTERNAL, "system %s: %d warm rows deleted for %lld catalogued",
                            p->system_id, sqlite3_changes(p->db), (long long)inserted);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    if (rc == AK_OK && inserted != (int64_t)b->n) {
        ak_sysdb_rollback(p->sdb); /* rows changed since they were read */
        return AK_OK;
    }
    if (rc == AK_OK)
        rc = exec(p, "COMMIT", err);
    if (rc)
        ak_sysdb_rollback(p->sdb);
    else
        *moved = 1;
    return rc;
}

/* One batch of one day; *n rows moved (0: the day is done). */
static ak_code cold_batch_run(pass *p, int64_t day, int64_t *n, ak_err *err)
{
    cold_batch b = {0};
    ak_buf file = {0};
    uint8_t digest[32];
    char key[AK_STORE_KEY_MAX + 1];
    int moved = 0;
    *n = 0;
    ak_code rc = load_batch(p, day, &b, err);
    if (rc == AK_OK && b.n)
        rc = build_parquet(p, &b, day, &file, digest, err);
    if (rc == AK_OK && b.n && ak_age_cold_key(p->system_id, day, digest, key, sizeof key))
        rc = ak_err_set(err, AK_ERR_INVALID, "cold object key too long");
    if (rc == AK_OK && b.n && (rc = upload_verified(p, key, &file, (int64_t)b.n, err)) != AK_OK) {
        p->stats->cold_failures++;
        ak_err_prefix(err, "system %s: warm rows kept: ", p->system_id);
    }
    if (rc == AK_OK && b.n) {
        ak_testpoint("age.cold_uploaded"); /* object in the store, rows still warm */
        rc = commit_cold(p, &b, key, &moved, err);
    }
    if (rc == AK_OK && moved) {
        *n = (int64_t)b.n;
        p->stats->cold_objects++;
        p->stats->warm_to_cold.rows += *n;
        p->stats->warm_to_cold.bytes_before += b.bytes;
        p->stats->warm_to_cold.bytes_after += (int64_t)file.len;
        p->changed = 1;
    }
    batch_free(&b);
    ak_buf_free(&file);
    return rc;
}

/* The UTC days that hold warm rows old enough, ascending. */
static ak_code cold_days(pass *p, int64_t **days, size_t *n, ak_err *err)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    *days = NULL;
    *n = 0;
    ak_code rc = prepare(p, "SELECT DISTINCT ts_us - ((ts_us % 86400000000) + 86400000000) % 86400000000"
                            " AS day FROM warm WHERE ts_us < ?1 ORDER BY day", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, p->warm_cutoff);
    while (rc == AK_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *grown = realloc(*days, cap * sizeof *grown);
            if (!grown) {
                rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
                break;
            }
            *days = grown;
        }
        (*days)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Temp files that a pass killed mid-put left below this system's prefix
 * (see age.h).  Any trouble here only leaves them for the next pass. */
static void sweep_leftovers(pass *p)
{
    char prefix[AK_COLD_PREFIX_MAX];
    size_t n = 0;
    ak_err err;
    ak_cold_system_prefix(p->system_id, prefix, sizeof prefix);
    if (ak_store_temps(p->cfg->cold, prefix, 1, NULL, NULL, &n, &err) != AK_OK)
        AK_WARN("age", "system %s: %s", p->system_id, err.msg);
    else if (n)
        AK_INFO("age", "system %s: removed %zu temp files that an interrupted pass left in %s",
                p->system_id, n, ak_store_url(p->cfg->cold));
    p->stats->cold_temps_removed += (int64_t)n;
}

static ak_code warm_to_cold(pass *p, ak_err *err)
{
    if (p->cfg->dry_run) { /* what is warm now, and what passes through warm in this run */
        ak_age_move through = {0};
        ak_code rc = dry_count(p, "warm", WARM_BYTES, p->warm_cutoff, &p->stats->warm_to_cold, err);
        if (rc == AK_OK)
            rc = dry_count(p, "hot", HOT_BYTES, p->warm_cutoff, &through, err);
        p->stats->warm_to_cold.rows += through.rows; /* their warm size is not known yet */
        return rc;
    }
    int64_t *days;
    size_t n_days;
    sweep_leftovers(p);
    ak_code rc = cold_days(p, &days, &n_days, err);
    for (size_t d = 0; rc == AK_OK && d < n_days && !stopping(p); d++) {
        int64_t n;
        do {
            rc = cold_batch_run(p, days[d], &n, err);
        } while (rc == AK_OK && n == AK_AGE_COLD_BATCH && !stopping(p));
    }
    free(days);
    return rc;
}

/* ---- the pass ---- */

static ak_code retain(pass *p, ak_err *err)
{
    if (!p->retention_cutoff)
        return AK_OK;
    ak_retention_stats *d = &p->stats->dropped;
    int64_t before = d->hot + d->warm + d->cold;
    ak_code rc = ak_retention_system(p->sdb, p->cfg->cold, p->retention_cutoff,
                                     p->cfg->dry_run, d, err);
    if (!p->cfg->dry_run && d->hot + d->warm + d->cold > before)
        p->changed = 1;
    return rc;
}

static ak_code age_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard;
    pass *p = ctx;
    ak_err err;
    if (stopping(p))
        return AK_ERR_ABORTED;
    p->system_id = sid;
    p->changed = 0;
    ak_code rc = ak_sysdb_open(path, 0, &p->sdb, &err);
    if (rc == AK_OK) {
        p->db = ak_sysdb_handle(p->sdb);
        rc = retain(p, &err);
        if (rc == AK_OK)
            rc = hot_to_warm(p, &err);
        if (rc == AK_OK && p->cfg->cold)
            rc = warm_to_cold(p, &err);
        ak_sysdb_close(p->sdb);
    }
    p->stats->systems++;
    if (rc) {
        p->stats->systems_failed++;
        AK_WARN("age", "%s", err.msg);
    }
    if (p->changed && p->cfg->on_changed)
        p->cfg->on_changed(p->cfg->ctx, sid);
    return AK_OK; /* one system's trouble never stops the others */
}

ak_code ak_age_run(const ak_age_config *cfg, ak_age_stats *stats, ak_err *err)
{
    int64_t t0 = ak_time_mono_us();
    memset(stats, 0, sizeof *stats);
    pass p = {.cfg = cfg, .stats = stats};
    p.now = cfg->now_us ? cfg->now_us : ak_time_now_us();
    p.hot_cutoff = p.now - (cfg->hot_days ? cfg->hot_days : AK_AGE_DEFAULT_HOT_DAYS) * DAY_US;
    p.warm_cutoff = p.now - (cfg->warm_days ? cfg->warm_days : AK_AGE_DEFAULT_WARM_DAYS) * DAY_US;
    p.retention_cutoff = ak_retention_cutoff(p.now, cfg->retention_days);
    ak_code rc = ak_datadir_each_system(cfg->data, age_system, &p, err);
    stats->seconds = (double)(ak_time_mono_us() - t0) / 1e6;
    return rc == AK_ERR_ABORTED ? AK_OK : rc;
}
