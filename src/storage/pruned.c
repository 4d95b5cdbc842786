/*
 * pruned.c - see pruned.h.
 */
#include "storage/pruned.h"

#include "storage/sysdb_impl.h"

/* Every row of sql's first column (text). */
static ak_code column(ak_sysdb *db, const char *sql, ak_strlist *out, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    int s;
    while (rc == AK_OK && (s = sqlite3_step(st)) == SQLITE_ROW)
        rc = ak_strlist_add(out, (const char *)sqlite3_column_text(st, 0), err);
    if (rc == AK_OK && s != SQLITE_DONE)
        rc = ak_sysdb_db_error(db, err, "prune");
    sqlite3_finalize(st);
    return rc;
}

/* One statement binding ?1..?n as the texts and ?n+1.. as the integers. */
static ak_code exec(ak_sysdb *db, const char *sql, const char *const *texts, int nt,
                    const int64_t *ints, int ni, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    ak_code rc = ak_sysdb_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    for (int i = 0; i < nt; i++)
        sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    for (int i = 0; i < ni; i++)
        sqlite3_bind_int64(st, nt + i + 1, ints[i]);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? AK_OK : ak_sysdb_db_error(db, err, "prune");
}

ak_code ak_pruned_resuming(ak_sysdb *db, ak_strlist *ids, ak_strlist *prefixes, ak_err *err)
{
    ak_code rc = column(db, "SELECT upload_id FROM pruned WHERE state = 'pruning'"
                            " ORDER BY upload_id", ids, err);
    if (rc == AK_OK)
        rc = column(db, "SELECT prefix FROM pruned WHERE state = 'pruning' ORDER BY upload_id",
                    prefixes, err);
    return rc;
}

ak_code ak_pruned_mark(ak_sysdb *db, const char *upload_id, const char *prefix, int64_t objects,
                       int64_t bytes, int64_t at_us, ak_err *err)
{
    const char *t[] = {upload_id, prefix};
    int64_t n[] = {objects, bytes, at_us};
    return exec(db, "INSERT INTO pruned(upload_id, prefix, state, objects, bytes, at_us)"
                    " VALUES(?1, ?2, 'pruning', ?3, ?4, ?5)", t, 2, n, 3, err);
}

ak_code ak_pruned_finish(ak_sysdb *db, const char *upload_id, ak_err *err)
{
    const char *t[] = {upload_id};
    return exec(db, "UPDATE pruned SET state = 'pruned' WHERE upload_id = ?1", t, 1, NULL, 0,
                err);
}

ak_code ak_pruned_candidates(ak_sysdb *db, ak_strlist *out, ak_err *err)
{
    return column(db, "SELECT upload_id FROM uploads WHERE status = 'ingested' AND upload_id"
                      " NOT IN (SELECT upload_id FROM pruned)"
                      " ORDER BY uploaded_at_us DESC, upload_id DESC", out, err);
}

ak_code ak_pruned_pinned(ak_sysdb *db, ak_strlist *out, ak_err *err)
{
    ak_code rc = column(db,
        "SELECT DISTINCT coalesce(s.upload_id, t.upload_id) FROM"
        " (SELECT conversation_id, upload_id FROM hot UNION ALL"
        "  SELECT conversation_id, upload_id FROM warm UNION ALL"
        "  SELECT conversation_id, upload_id FROM cold) t"
        " LEFT JOIN sources s USING (conversation_id)", out, err);
    ak_strlist_sort(out);
    return rc;
}
