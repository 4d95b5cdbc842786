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

#include <signal.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/syslock.h"
#include "storage/sysdb.h"
#include "storage/tombstone.h"
#include "tier/age_pass.h"
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

typedef ak_age_pass pass;

int ak_age_stopping(const pass *p) { return p->cfg->stop && atomic_load(p->cfg->stop); }

ak_code ak_age_sql_error(pass *p, ak_err *err, const char *what)
{
    return ak_err_set(err, AK_ERR_IO, "system %s: %s: %s", p->system_id, what, sqlite3_errmsg(p->db));
}

ak_code ak_age_exec(pass *p, const char *sql, ak_err *err)
{
    return sqlite3_exec(p->db, sql, NULL, NULL, NULL) == SQLITE_OK ? AK_OK
                                                                   : ak_age_sql_error(p, err, sql);
}

ak_code ak_age_prepare(pass *p, const char *sql, sqlite3_stmt **st, ak_err *err)
{
    return sqlite3_prepare_v2(p->db, sql, -1, st, NULL) == SQLITE_OK
               ? AK_OK
               : ak_age_sql_error(p, err, "prepare");
}

ak_code ak_age_scalar(pass *p, const char *sql, int64_t a, int64_t b, int64_t c, int64_t *out,
                      ak_err *err)
{
    sqlite3_stmt *st;
    ak_code rc = ak_age_prepare(p, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    sqlite3_bind_int64(st, 3, c);
    rc = sqlite3_step(st) == SQLITE_ROW ? AK_OK : ak_age_sql_error(p, err, "query");
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* ---- hot -> warm ---- */

#define HOT_BYTES AK_AGE_HOT_BYTES
#define WARM_BYTES AK_AGE_WARM_BYTES

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
            rc = ak_age_sql_error(p, err, "inserting a warm row");
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
    ak_code rc = ak_age_exec(p, "BEGIN IMMEDIATE", err);
    if (rc == AK_OK && (rc = ak_age_prepare(p, sel_sql, &sel, err)) == AK_OK)
        rc = ak_age_prepare(p, ins_sql, &ins, err);
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
        rc = ak_age_scalar(p, "SELECT count(*) FROM hot h JOIN warm w ON w.conversation_id = h.conversation_id"
                       " AND w.content_sha256 = h.content_sha256"
                       " WHERE h.id BETWEEN ?1 AND ?2 AND h.ts_us < ?3", first, last, p->hot_cutoff, &check, err);
    if (rc == AK_OK && *n && check != *n)
        rc = ak_err_set(err, AK_ERR_INTERNAL, "system %s: warm copies of %lld rows do not verify (%lld match)",
                        p->system_id, (long long)*n, (long long)check);
    if (rc == AK_OK && *n)
        rc = ak_age_scalar(p, "SELECT coalesce(sum(" HOT_BYTES "), 0) FROM hot WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3",
                    first, last, p->hot_cutoff, &before, err);
    if (rc == AK_OK && *n)
        rc = ak_age_scalar(p, "SELECT coalesce(sum(" WARM_BYTES "), 0) FROM warm WHERE conversation_id IN"
                       " (SELECT conversation_id FROM hot WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3)",
                    first, last, p->hot_cutoff, &after, err);
    if (rc == AK_OK && *n) {
        sqlite3_stmt *del;
        if ((rc = ak_age_prepare(p, "DELETE FROM hot WHERE id BETWEEN ?1 AND ?2 AND ts_us < ?3", &del, err)) == AK_OK) {
            sqlite3_bind_int64(del, 1, first);
            sqlite3_bind_int64(del, 2, last);
            sqlite3_bind_int64(del, 3, p->hot_cutoff);
            if (sqlite3_step(del) != SQLITE_DONE || sqlite3_changes(p->db) != *n)
                rc = ak_age_sql_error(p, err, "deleting moved hot rows");
            sqlite3_finalize(del);
        }
    }
    if (rc == AK_OK && *n)
        ak_testpoint("age.warm_moved"); /* rows in warm, deleted from hot, not committed */
    if (rc == AK_OK)
        rc = ak_age_exec(p, "COMMIT", err);
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
ak_code ak_age_dry_count(pass *p, const char *table, const char *bytes_expr, int64_t cutoff,
                         ak_age_move *mv, ak_err *err)
{
    char sql[512];
    int64_t n = 0, bytes = 0;
    ak_fmt(sql, sizeof sql, "SELECT count(*) FROM %s WHERE ts_us < ?1", table);
    ak_code rc = ak_age_scalar(p, sql, cutoff, 0, 0, &n, err);
    ak_fmt(sql, sizeof sql, "SELECT coalesce(sum(%s), 0) FROM %s WHERE ts_us < ?1", bytes_expr, table);
    if (rc == AK_OK)
        rc = ak_age_scalar(p, sql, cutoff, 0, 0, &bytes, err);
    mv->rows += n;
    mv->bytes_before += bytes;
    return rc;
}

static ak_code hot_to_warm(pass *p, ak_err *err)
{
    if (p->cfg->dry_run)
        return ak_age_dry_count(p, "hot", HOT_BYTES, p->hot_cutoff, &p->stats->hot_to_warm, err);
    int64_t n;
    ak_code rc;
    do {
        rc = hot_batch(p, &n, err);
    } while (rc == AK_OK && n == AK_AGE_HOT_BATCH && !ak_age_stopping(p));
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
                                     p->cfg->dry_run, ak_age_cold_trim, p, d, err);
    if (!p->cfg->dry_run && d->hot + d->warm + d->cold > before)
        p->changed = 1;
    return rc;
}

static ak_code age_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard;
    pass *p = ctx;
    ak_err err;
    if (ak_age_stopping(p))
        return AK_ERR_ABORTED;
    p->system_id = sid;
    p->changed = 0;
    ak_syslock *lock = NULL;
    ak_tomb t;
    ak_code rc = ak_syslock_take(p->cfg->data, sid, &lock, &err);
    if (rc == AK_OK && (access(path, F_OK) != 0 ||
                        (ak_tomb_get(p->cfg->data, sid, &t, &err) == AK_OK && !t.done))) {
        ak_syslock_release(lock); /* forgotten since it was listed, or being forgotten */
        return AK_OK;
    }
    if (rc == AK_OK)
        rc = ak_sysdb_open(path, 0, &p->sdb, &err);
    if (rc == AK_OK) {
        p->db = ak_sysdb_handle(p->sdb);
        rc = retain(p, &err);
        if (rc == AK_OK)
            rc = hot_to_warm(p, &err);
        if (rc == AK_OK && p->cfg->cold)
            rc = ak_age_warm_to_cold(p, &err);
        ak_sysdb_close(p->sdb);
    }
    ak_syslock_release(lock);
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
