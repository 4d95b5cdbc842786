/* rollup.c - see rollup.h. */
#include "storage/rollup.h"

#include <stdio.h>
#include <string.h>

#include "storage/sysdb_impl.h"
#include "util/json.h"

#include "util/time.h"

int64_t ak_rollup_day(int64_t ts_us)
{
    int64_t r = ((ts_us % AK_US_PER_DAY) + AK_US_PER_DAY) % AK_US_PER_DAY;
    return (ts_us - r) / AK_US_PER_DAY;
}

/* The first 128 characters of s[0..n) (valid UTF-8), as substr() counts them. */
static size_t first_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && ++chars > 128)
            return i;
    return n;
}

/* One member's column: 1 when certain (absent and null give ''). */
static int meta_text(const ak_json *v, const char **s, size_t *n)
{
    *s = "";
    *n = 0;
    if (!v || v->type == AK_JSON_NULL)
        return 1;
    if (v->type != AK_JSON_STRING || memchr(v->str, '\0', v->str_len) ||
        !ak_utf8_valid(v->str, v->str_len))
        return 0;
    *s = v->str;
    *n = first_chars(v->str, v->str_len);
    return 1;
}

int ak_rollup_meta_of(ak_json_doc *doc, const char *m, size_t len, ak_rollup_meta *out)
{
    static const char *const keys[3] = {"project", "category", "type"};
    const ak_json *root, *found[3] = {NULL, NULL, NULL};
    const char *type = "";
    size_t type_len = 0;
    memset(out, 0, sizeof *out);
    out->project = out->category = "";
    if (!m)
        return 1;
    /* SQLite and we decode escapes (in keys too) alike only as far as tested */
    if (memchr(m, '\\', len) || ak_json_parse(doc, m, len, &root, NULL) != AK_OK)
        return 0;
    if (root->type != AK_JSON_OBJECT)
        return 1; /* json_extract of '$.key' on a non-object: NULL */
    for (const ak_json *c = root->first; c; c = c->next)
        for (int k = 0; k < 3; k++)
            if (c->key_len == strlen(keys[k]) && !memcmp(c->key, keys[k], c->key_len)) {
                if (found[k])
                    return 0; /* a repeated member */
                found[k] = c;
            }
    if (!meta_text(found[0], &out->project, &out->project_len) ||
        !meta_text(found[1], &out->category, &out->category_len) ||
        !meta_text(found[2], &type, &type_len))
        return 0;
    out->reflection = type_len == 10 && !memcmp(type, "reflection", 10);
    return 1;
}

/* Retention's cut is a day boundary: every day through ?1 lost its
 * memories, so their facts go (but of those a tier holds still) and those
 * days' rows of daily are counted again from the facts left: simpler than
 * subtracting, and the days are few, the pass rare. */
static const char *const expire_sql[] = {
    "DELETE FROM conv_facts WHERE day <= ?1"
    " AND NOT EXISTS(SELECT 1 FROM hot h WHERE h.conversation_id = conv_facts.conversation_id)"
    " AND NOT EXISTS(SELECT 1 FROM warm w WHERE w.conversation_id = conv_facts.conversation_id)"
    " AND NOT EXISTS(SELECT 1 FROM cold c WHERE c.conversation_id = conv_facts.conversation_id)",
    "DELETE FROM daily WHERE day <= ?1",
    AK_ROLLUP_RECOUNT_SQL("day <= ?1"),
};

ak_code ak_rollup_expire(ak_sysdb *db, int64_t cutoff_us, ak_err *err)
{
    sqlite3 *h = db->db;
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return ak_err_set(err, AK_ERR_IO, "rollup: begin: %s", sqlite3_errmsg(h));
    int s = SQLITE_DONE;
    for (size_t i = 0; s == SQLITE_DONE && i < sizeof expire_sql / sizeof *expire_sql; i++) {
        sqlite3_stmt *st = NULL;
        s = sqlite3_prepare_v2(h, expire_sql[i], -1, &st, NULL);
        if (s == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, ak_rollup_day(cutoff_us - 1));
            s = sqlite3_step(st);
        }
        sqlite3_finalize(st);
    }
    if (s == SQLITE_DONE && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return AK_OK;
    ak_code rc = ak_err_set(err, AK_ERR_IO, "rollup: forgetting expired memories: %s",
                            sqlite3_errmsg(h));
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- reading a series ---- */

#define FILTERS "(?3 IS NULL OR project = ?3) AND (?4 IS NULL OR category = ?4)"

static ak_code sql_error(sqlite3 *h, ak_err *err)
{
    return ak_err_set(err, AK_ERR_IO, "analytics: %s", sqlite3_errmsg(h));
}

static ak_code prepare(sqlite3 *h, const char *sql, const ak_rollup_query *q, int64_t a, int64_t b,
                       sqlite3_stmt **st, ak_err *err)
{
    if (sqlite3_prepare_v2(h, sql, -1, st, NULL) != SQLITE_OK)
        return sql_error(h, err);
    sqlite3_bind_int64(*st, 1, a);
    sqlite3_bind_int64(*st, 2, b);
    if (q->stored) {
        if (q->project)
            sqlite3_bind_text(*st, 3, q->project, -1, SQLITE_STATIC);
        if (q->category)
            sqlite3_bind_text(*st, 4, q->category, -1, SQLITE_STATIC);
    }
    return AK_OK;
}

/* Rows of (day, value) into v; one row of (first) into *first_day. */
static ak_code run(sqlite3 *h, sqlite3_stmt *st, const ak_rollup_query *q, double *v,
                   int64_t *first_day, ak_err *err)
{
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (first_day) {
            if (sqlite3_column_type(st, 0) != SQLITE_NULL)
                *first_day = sqlite3_column_int64(st, 0);
            continue;
        }
        int64_t d = sqlite3_column_int64(st, 0);
        if (d >= q->from_day && d <= q->to_day)
            v[d - q->from_day] = sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? AK_OK : sql_error(h, err);
}

ak_code ak_rollup_series(ak_sysdb *db, const ak_rollup_query *q, double *v, int64_t *first_day,
                         ak_err *err)
{
    sqlite3 *h = db->db;
    char sql[512];
    sqlite3_stmt *st = NULL;
    int stored = q->stored;
    memset(v, 0, (size_t)(q->to_day - q->from_day + 1) * sizeof *v);
    *first_day = INT64_MAX;
    if (stored)
        snprintf(sql, sizeof sql, "SELECT day, %s FROM daily WHERE day BETWEEN ?1 AND ?2 AND "
                 FILTERS " GROUP BY day", q->expr);
    else
        snprintf(sql, sizeof sql, "SELECT d, %s FROM (SELECT %s AS d, * FROM uploads"
                 " WHERE status = 'ingested' AND uploaded_at_us >= ?1 AND uploaded_at_us < ?2)"
                 " GROUP BY d", q->expr, AK_ROLLUP_DAY_OF("uploaded_at_us"));
    int64_t a = stored ? q->from_day : q->from_day * AK_US_PER_DAY;
    int64_t b = stored ? q->to_day : (q->to_day + 1) * AK_US_PER_DAY;
    ak_code rc = prepare(h, sql, q, a, b, &st, err);
    if (rc == AK_OK)
        rc = run(h, st, q, v, NULL, err);
    const char *first = stored ? "SELECT min(day) FROM daily WHERE ?1 = ?2 AND " FILTERS
                               : "SELECT " AK_ROLLUP_DAY_OF("min(uploaded_at_us)")
                                 " FROM uploads WHERE status = 'ingested' AND ?1 = ?2";
    if (rc == AK_OK && (rc = prepare(h, first, q, 0, 0, &st, err)) == AK_OK)
        rc = run(h, st, q, v, first_day, err);
    return rc;
}
