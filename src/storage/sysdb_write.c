/*
 * sysdb_write.c - see sysdb.h: writing a record into a system's database
 * (ak_sysdb_put_record and ak_sysdb_stored_same).  A record is judged
 * against the copy stored in any tier (new, duplicate, update, stale), its
 * hot row written with its text queued for the full-text index
 * (sysdb_text.c), its rollup fact written (its daily sums at COMMIT,
 * sysdb_daily.c) and its source noted, all inside the caller's
 * transaction.  The schema, opening and the statements are
 * sysdb.c.
 */
#include "storage/sysdb_impl.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "storage/rollup.h"
#include "util/json.h"
#include "util/vec.h"

static ak_code write_hot(ak_sysdb *db, int which, const ak_upload_order *up,
                         const ak_record *r, ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, which, err);
    unsigned char emb[AK_VEC_LE_BYTES];
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    ak_code rc = ak_sysdb_hot_changing(db, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->content, (int)r->content_len, SQLITE_STATIC);
    if (r->has_embedding) {
        ak_vec_to_le(r->embedding, emb);
        sqlite3_bind_blob(st, 3, emb, sizeof emb, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 3);
    }
    sqlite3_bind_int64(st, 4, r->ts_us);
    sqlite3_bind_text(st, 5, r->source, (int)r->source_len, SQLITE_STATIC);
    if (r->metadata)
        sqlite3_bind_text(st, 6, r->metadata, (int)r->metadata_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_blob(st, 7, r->content_sha256, AK_SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, up->at_us);
    sqlite3_bind_text(st, 9, up->upload_id, -1, SQLITE_STATIC);
    return ak_sysdb_step_done(db, st, err, "writing a conversation");
}

ak_code ak_sysdb_index_text(ak_sysdb *db, ak_tier tier, int64_t rowid, const char *text,
                            size_t len, ak_err *err)
{
    if (tier != AK_TIER_HOT && tier != AK_TIER_WARM && tier != AK_TIER_COLD)
        return ak_err_set(err, AK_ERR_INVALID, "no such tier");
    sqlite3_stmt *st = ak_sysdb_stmt(db, tier == AK_TIER_HOT ? ST_FTS_ADD_HOT : tier == AK_TIER_WARM ? ST_FTS_ADD_WARM : ST_FTS_ADD_COLD,
                              err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_text(st, 2, text, (int)len, SQLITE_STATIC);
    return ak_sysdb_step_done(db, st, err, "indexing a conversation's text");
}

static ak_code insert_hot(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                          ak_err *err)
{
    ak_code rc = write_hot(db, ST_INSERT_HOT, up, r, err);
    if (rc == AK_OK)
        db->put_rowid = sqlite3_last_insert_rowid(db->db);
    return rc ? rc : ak_sysdb_text_queue(db, db->put_rowid, r->content, r->content_len, err);
}

/* An external-content FTS5 index forgets a row only when told the text it
 * indexed, so the old content is read back before it is overwritten. */
static ak_code unindex_hot(ak_sysdb *db, const ak_record *r, int64_t *rowid, ak_err *err)
{
    sqlite3_stmt *old = ak_sysdb_stmt(db, ST_HOT_TEXT_OF, err);
    sqlite3_stmt *drop = old ? ak_sysdb_stmt(db, ST_FTS_DROP_HOT, err) : NULL;
    if (!drop)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(old, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    ak_code rc;
    int step = sqlite3_step(old);
    if (step == SQLITE_ROW) {
        *rowid = sqlite3_column_int64(old, 0);
        sqlite3_bind_int64(drop, 1, *rowid);
        sqlite3_bind_value(drop, 2, sqlite3_column_value(old, 1));
        rc = ak_sysdb_step_done(db, drop, err, "unindexing a conversation's old text");
    } else if (step == SQLITE_DONE) {
        rc = ak_err_set(err, AK_ERR_INTERNAL, "%s: conversation %.*s left hot during its update",
                        db->path, (int)r->id_len, r->id);
    } else {
        rc = ak_sysdb_db_error(db, err, "reading a conversation's old text");
    }
    sqlite3_reset(old);
    sqlite3_clear_bindings(old);
    return rc;
}

static ak_code update_hot(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                          ak_err *err)
{
    int64_t rowid = 0;
    ak_code rc = ak_sysdb_text_flush(db, err); /* the row may be one queued in this transaction */
    if (rc == AK_OK)
        rc = unindex_hot(db, r, &rowid, err);
    if (rc == AK_OK)
        rc = write_hot(db, ST_UPDATE_HOT, up, r, err);
    if (rc == AK_OK)
        db->put_rowid = rowid;
    return rc ? rc : ak_sysdb_text_queue(db, rowid, r->content, r->content_len, err);
}

typedef struct {
    int found, tier;
    int same_content, same_upload, older; /* older: stored version predates `up` */
} existing;

static ak_code lookup(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                      existing *ex, ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, ST_LOOKUP, err);
    memset(ex, 0, sizeof *ex);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ex->found = 1;
        ex->tier = sqlite3_column_int(st, 0);
        const void *sha = sqlite3_column_blob(st, 1);
        ex->same_content = sqlite3_column_bytes(st, 1) == AK_SHA256_LEN &&
                           memcmp(sha, r->content_sha256, AK_SHA256_LEN) == 0;
        int64_t at = sqlite3_column_int64(st, 2);
        const char *uid = (const char *)sqlite3_column_text(st, 3);
        int cmp = uid ? strcmp(uid, up->upload_id) : -1;
        ex->same_upload = cmp == 0;
        ex->older = at < up->at_us || (at == up->at_us && cmp < 0);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? AK_OK : ak_sysdb_db_error(db, err, "looking up a conversation");
}

/* Move a newer version into hot, dropping the older one from whatever tier
 * held it. */
static ak_code replace(ak_sysdb *db, const existing *ex, const ak_upload_order *up,
                       const ak_record *r, ak_err *err)
{
    if (ex->tier == AK_TIER_HOT)
        return update_hot(db, up, r, err);
    sqlite3_stmt *del = ak_sysdb_stmt(db, ex->tier == 1 ? ST_DELETE_WARM : ST_DELETE_COLD, err);
    if (!del)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(del, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    ak_code rc = ak_sysdb_step_done(db, del, err, "removing an older version");
    return rc ? rc : insert_hot(db, up, r, err);
}

/* Columns 0-2 of st's row, project, category and reflection, into *m;
 * AK_ERR_NOMEM when SQLite could not give the texts. */
static ak_code row_meta(sqlite3_stmt *st, ak_rollup_meta *m, ak_err *err)
{
    m->project = (const char *)sqlite3_column_text(st, 0);
    m->project_len = (size_t)sqlite3_column_bytes(st, 0);
    m->category = (const char *)sqlite3_column_text(st, 1);
    m->category_len = (size_t)sqlite3_column_bytes(st, 1);
    m->reflection = sqlite3_column_int(st, 2);
    return m->project && m->category ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
}

/* A memory's metadata columns, computed here when that is certain to give
 * what the SQL would (storage/rollup.h), else by the SQL: *sql is then
 * that statement, stepped, whose row f's texts point into until the
 * caller resets it. */
static ak_code meta_of(ak_sysdb *db, const ak_record *r, ak_sysdb_fact *f, sqlite3_stmt **sql,
                       ak_err *err)
{
    *sql = NULL;
    if (!db->scratch)
        db->scratch = ak_json_doc_new();
    if (db->scratch && ak_rollup_meta_of(db->scratch, r->metadata, r->metadata_len, &f->m))
        return AK_OK;
    sqlite3_stmt *st = *sql = ak_sysdb_stmt(db, ST_FACT_META, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    if (r->metadata)
        sqlite3_bind_text(st, 1, r->metadata, (int)r->metadata_len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        return ak_sysdb_db_error(db, err, "reading a memory's metadata");
    return row_meta(st, &f->m, err);
}

/* Bind a fact's columns (AK_ROLLUP_FACT_ADD_SQL, _MOVE_SQL). */
static void bind_fact(sqlite3_stmt *st, const ak_record *r, const ak_sysdb_fact *f)
{
    sqlite3_bind_text(st, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, f->day);
    sqlite3_bind_text(st, 3, f->m.project, (int)f->m.project_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, f->m.category, (int)f->m.category_len, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, f->m.reflection);
    sqlite3_bind_int(st, 6, f->pushed);
    sqlite3_bind_int64(st, 7, f->bytes);
}

/* The memory has a fact already (an update, or a conversation deleted
 * since, whose fact waits for retention): count the old one out of daily
 * and overwrite it. */
static ak_code move_fact(ak_sysdb *db, const ak_record *r, const ak_sysdb_fact *f, ak_err *err)
{
    sqlite3_stmt *old = ak_sysdb_stmt(db, ST_FACT_OF, err);
    sqlite3_stmt *set = old ? ak_sysdb_stmt(db, ST_FACT_MOVE, err) : NULL;
    if (!set)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(old, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    ak_code rc;
    int step = sqlite3_step(old);
    if (step == SQLITE_ROW) {
        ak_sysdb_fact o = {.day = sqlite3_column_int64(old, 3),
                           .bytes = sqlite3_column_int64(old, 5),
                           .pushed = sqlite3_column_int(old, 4)};
        rc = row_meta(old, &o.m, err);
        if (rc == AK_OK)
            rc = ak_sysdb_daily_add(db, &o, -1, err);
    } else if (step == SQLITE_DONE) { /* the INSERT just met it */
        rc = ak_err_set(err, AK_ERR_INTERNAL, "%s: the fact of %.*s vanished", db->path,
                        (int)r->id_len, r->id);
    } else {
        rc = ak_sysdb_db_error(db, err, "reading a memory's old fact");
    }
    sqlite3_reset(old);
    sqlite3_clear_bindings(old);
    if (rc)
        return rc;
    bind_fact(set, r, f);
    return ak_sysdb_step_done(db, set, err, "moving a memory's fact");
}

/* The memory's fact, in the same transaction, and its counts into daily
 * (at COMMIT: sysdb_daily.c).  A new memory, nearly every put, costs the
 * one INSERT. */
static ak_code write_fact(ak_sysdb *db, const ak_record *r, const ak_sysdb_fact *f, ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, ST_FACT_ADD, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    bind_fact(st, r, f);
    ak_code rc = ak_sysdb_step_done(db, st, err, "writing a memory's fact");
    if (rc == AK_OK && sqlite3_changes(db->db) == 0)
        rc = move_fact(db, r, f, err);
    return rc ? rc : ak_sysdb_daily_add(db, f, 1, err);
}

static ak_code put_fact(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                        ak_err *err)
{
    ak_sysdb_fact f = {.day = ak_rollup_day(r->ts_us), .bytes = (int64_t)r->content_len,
                       .pushed = strstr(up->upload_id, "_push_") != NULL};
    sqlite3_stmt *sql;
    ak_code rc = meta_of(db, r, &f, &sql, err);
    if (rc == AK_OK)
        rc = write_fact(db, r, &f, err);
    if (sql) {
        sqlite3_reset(sql);
        sqlite3_clear_bindings(sql);
    }
    /* outside a transaction the fact committed alone: so do its sums */
    if (rc == AK_OK && sqlite3_get_autocommit(db->db))
        rc = ak_sysdb_daily_flush(db, err);
    return rc;
}

/* A digest of everything a record stores: what an upload must hold to
 * rebuild the stored version exactly. */
static void record_version(const ak_record *r, uint8_t out[AK_SHA256_LEN])
{
    ak_sha256_ctx *h = ak_sha256_new();
    uint8_t ts[8], flag = (uint8_t)(r->has_embedding != 0);
    if (!h) { /* an impossible version: the upload is never counted as holding it */
        memset(out, 0, AK_SHA256_LEN);
        return;
    }
    for (int i = 0; i < 8; i++)
        ts[i] = (uint8_t)((uint64_t)r->ts_us >> (8 * i));
    ak_sha256_update(h, r->content_sha256, AK_SHA256_LEN);
    ak_sha256_update(h, ts, sizeof ts);
    ak_sha256_update(h, r->source ? r->source : "", r->source ? r->source_len : 0);
    ak_sha256_update(h, "", 1);
    ak_sha256_update(h, r->metadata ? r->metadata : "", r->metadata ? r->metadata_len : 0);
    ak_sha256_update(h, "", 1);
    ak_sha256_update(h, &flag, 1);
    if (r->has_embedding)
        ak_sha256_update(h, r->embedding, sizeof r->embedding);
    ak_sha256_final(h, out);
    ak_sha256_free(h);
}

/* Note that upload up holds r's stored version (wrote: it stored it). */
static ak_code note_source(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                           int wrote, ak_err *err)
{
    uint8_t version[AK_SHA256_LEN];
    sqlite3_stmt *st = ak_sysdb_stmt(db, wrote ? ST_SOURCE_SET : ST_SOURCE_SEEN, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    record_version(r, version);
    sqlite3_bind_text(st, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, up->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, up->at_us);
    sqlite3_bind_blob(st, 4, version, AK_SHA256_LEN, SQLITE_TRANSIENT);
    return ak_sysdb_step_done(db, st, err, "noting a conversation's source");
}

static ak_code put(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                   const existing *ex, ak_put_result *result, ak_err *err)
{
    if (!ex->found) {
        *result = AK_PUT_NEW;
        ak_code rc = insert_hot(db, up, r, err);
        return rc ? rc : put_fact(db, up, r, err);
    }
    if (ex->same_content) {
        *result = AK_PUT_DUPLICATE;
        return AK_OK;
    }
    if (ex->same_upload) {
        *result = AK_PUT_CONFLICT;
        return AK_OK;
    }
    if (!ex->older) {
        *result = AK_PUT_STALE;
        return AK_OK;
    }
    *result = AK_PUT_UPDATED;
    ak_code rc = replace(db, ex, up, r, err);
    return rc ? rc : put_fact(db, up, r, err);
}

/* A row seen again with the stored content, its other fields not read (a
 * DuckDB snapshot's first pass, ingest/payload.c): this upload now holds it
 * as far as its content goes, so pruning may let older snapshots go. */
static ak_code note_held(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                         ak_err *err)
{
    sqlite3_stmt *st = ak_sysdb_stmt(db, ST_SOURCE_HELD, err);
    if (!st)
        return err ? err->code : AK_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, r->id, (int)r->id_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, up->upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, up->at_us);
    return ak_sysdb_step_done(db, st, err, "noting a conversation's source");
}

int64_t ak_sysdb_put_rowid(const ak_sysdb *db) { return db->put_rowid; }

ak_code ak_sysdb_stored_same(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                             int *same, ak_err *err)
{
    existing ex;
    ak_upload_order any = {0, ""};
    ak_code rc = lookup(db, &any, r, &ex, err);
    *same = rc == AK_OK && ex.found && ex.same_content;
    if (rc == AK_OK && *same)
        rc = note_held(db, up, r, err);
    return rc;
}

ak_code ak_sysdb_put_record(ak_sysdb *db, const ak_upload_order *up,
                            const ak_record *r, ak_put_result *result, ak_err *err)
{
    existing ex;
    db->put_rowid = 0;
    ak_code rc = lookup(db, up, r, &ex, err);
    if (rc == AK_OK)
        rc = put(db, up, r, &ex, result, err);
    if (rc == AK_OK && (*result == AK_PUT_NEW || *result == AK_PUT_UPDATED ||
                        *result == AK_PUT_DUPLICATE))
        rc = note_source(db, up, r, *result != AK_PUT_DUPLICATE, err);
    return rc;
}
