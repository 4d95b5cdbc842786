/*
 * rollup.h - the daily rollup of a system's memories, kept in the system's
 * own database by the transaction that stores them (docs/ANALYTICS.md).
 *
 * Two tables, added by schema migration 6 (storage/sysdb.c):
 *   conv_facts(conversation_id, day, project, category, reflection, pushed,
 *              bytes)   one small row per stored memory, whatever its tier:
 *              what analytics needs of it, taken from the full record while
 *              it is at hand (a cold row keeps no metadata or content)
 *   daily(day, project, category, conversations, reflections, bytes,
 *         pushed)       sums of conv_facts per (day, project, category),
 *              no row where both counts are 0
 * day = floor(timestamp / 86400 s) in UTC.  ak_sysdb_put_record() writes
 * the fact of every new or updated memory in its upload's transaction, so
 * the rollup is exactly once like the memories (a duplicate writes
 * nothing; an update moves its memory's counts to its new day and
 * project).  Aging moves rows between tiers and leaves facts alone;
 * retention deletes the facts of what it deleted (ak_rollup_expire); a
 * forgotten system's database, rollup included, is gone.
 *
 * Who keeps daily exact: the code that writes conv_facts, in the same
 * transaction.  Until schema 11 triggers on conv_facts did, an UPSERT into
 * daily per memory: a trigger program and a statement journal each, a
 * tenth of a push's request thread.  Now a put adds its fact's counts
 * (and takes away the old fact's, on an update) to a map per (day,
 * project, category) on the handle, written into daily once per key just
 * before COMMIT (storage/sysdb_daily.c); retention, rare, counts the days
 * it touched again from the facts.
 */
#ifndef AK_ROLLUP_H
#define AK_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct ak_sysdb ak_sysdb;

#define AK_ROLLUP_DAY_US "86400000000"
/* floor(x / day) for any sign of x. */
#define AK_ROLLUP_DAY_OF(x) \
    "((" x " - ((" x " % " AK_ROLLUP_DAY_US ") + " AK_ROLLUP_DAY_US ") % " AK_ROLLUP_DAY_US \
    ") / " AK_ROLLUP_DAY_US ")"
/* A metadata member as text (at most 128 characters; '' when absent or
 * when the metadata is not JSON SQLite accepts). */
#define AK_ROLLUP_META(m, key) \
    "coalesce(substr(CASE WHEN json_valid(" m ") THEN json_extract(" m ", '$." key "') END," \
    " 1, 128), '')"
#define AK_ROLLUP_IS_REFLECTION(m) "(" AK_ROLLUP_META(m, "type") " = 'reflection')"
#define AK_ROLLUP_IS_PUSH(u) "(instr(" u ", '_push_') > 0)"

#define AK_ROLLUP_SUB(o)                                                                      \
    "UPDATE daily SET conversations = conversations - 1 + " o ".reflection,"                  \
    " reflections = reflections - " o ".reflection, bytes = bytes - " o ".bytes,"             \
    " pushed = pushed - " o ".pushed"                                                         \
    " WHERE day = " o ".day AND project = " o ".project AND category = " o ".category;"       \
    " DELETE FROM daily WHERE day = " o ".day AND project = " o ".project"                    \
    " AND category = " o ".category AND conversations = 0 AND reflections = 0;"
#define AK_ROLLUP_ADD(n)                                                                      \
    "INSERT INTO daily VALUES(" n ".day, " n ".project, " n ".category, 1 - " n ".reflection," \
    " " n ".reflection, " n ".bytes, " n ".pushed) ON CONFLICT(day, project, category) DO"    \
    " UPDATE SET conversations = conversations + excluded.conversations,"                    \
    " reflections = reflections + excluded.reflections, bytes = bytes + excluded.bytes,"      \
    " pushed = pushed + excluded.pushed;"

/* Facts of rows already stored when a database is upgraded: content bytes
 * are known only for hot rows, project and category not for cold ones. */
#define AK_ROLLUP_BACKFILL(table, bytes, meta)                                                \
    "INSERT OR IGNORE INTO conv_facts SELECT conversation_id, " AK_ROLLUP_DAY_OF("ts_us") "," \
    " " AK_ROLLUP_META(meta, "project") ", " AK_ROLLUP_META(meta, "category") ","             \
    " " AK_ROLLUP_IS_REFLECTION(meta) ", " AK_ROLLUP_IS_PUSH("upload_id") ", " bytes          \
    " FROM " table ";"

/* The triggers that kept daily from schema 6 to 10 (dropped by 11). */
#define AK_ROLLUP_TRIGGERS_SQL                                                                \
    "CREATE TRIGGER conv_facts_ai AFTER INSERT ON conv_facts BEGIN " AK_ROLLUP_ADD("new")     \
    " END;"                                                                                   \
    "CREATE TRIGGER conv_facts_ad AFTER DELETE ON conv_facts BEGIN " AK_ROLLUP_SUB("old")     \
    " END;"                                                                                   \
    "CREATE TRIGGER conv_facts_au AFTER UPDATE ON conv_facts BEGIN " AK_ROLLUP_SUB("old")     \
    " " AK_ROLLUP_ADD("new") " END;"

/* Migration 6 (its backfill counted into daily by those triggers). */
#define AK_ROLLUP_SCHEMA_SQL                                                                  \
    "CREATE TABLE conv_facts(conversation_id TEXT PRIMARY KEY, day INTEGER NOT NULL,"         \
    " project TEXT NOT NULL, category TEXT NOT NULL, reflection INTEGER NOT NULL,"            \
    " pushed INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;"                        \
    "CREATE INDEX conv_facts_day ON conv_facts(day);"                                         \
    "CREATE TABLE daily(day INTEGER NOT NULL, project TEXT NOT NULL, category TEXT NOT NULL," \
    " conversations INTEGER NOT NULL, reflections INTEGER NOT NULL, bytes INTEGER NOT NULL,"  \
    " pushed INTEGER NOT NULL, PRIMARY KEY(day, project, category)) WITHOUT ROWID;"           \
    AK_ROLLUP_TRIGGERS_SQL                                                                    \
    "CREATE INDEX uploads_at ON uploads(uploaded_at_us);"                                     \
    AK_ROLLUP_BACKFILL("hot", "length(CAST(content AS BLOB))", "metadata")                    \
    AK_ROLLUP_BACKFILL("warm", "0", "metadata")                                               \
    AK_ROLLUP_BACKFILL("cold", "0", "NULL")

/* A memory's metadata columns by the SQL (?1 metadata or NULL): project,
 * category, reflection. */
#define AK_ROLLUP_META_SQL                                                                    \
    "SELECT " AK_ROLLUP_META("?1", "project") ", " AK_ROLLUP_META("?1", "category") ","      \
    " " AK_ROLLUP_IS_REFLECTION("?1")

/* A memory's fact, every column given: ?1 conversation id, ?2 day,
 * ?3 project, ?4 category, ?5 reflection, ?6 pushed, ?7 content bytes.
 * _ADD writes a new one (nothing when the memory has one: sqlite3_changes
 * tells), _OF reads the one it has (its metadata columns first, as
 * AK_ROLLUP_META_SQL's), _MOVE overwrites it. */
#define AK_ROLLUP_FACT_ADD_SQL                                                                \
    "INSERT INTO conv_facts VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"                               \
    " ON CONFLICT(conversation_id) DO NOTHING"
#define AK_ROLLUP_FACT_OF_SQL                                                                 \
    "SELECT project, category, reflection, day, pushed, bytes FROM conv_facts"               \
    " WHERE conversation_id = ?1"
#define AK_ROLLUP_FACT_MOVE_SQL                                                               \
    "UPDATE conv_facts SET day = ?2, project = ?3, category = ?4, reflection = ?5,"          \
    " pushed = ?6, bytes = ?7 WHERE conversation_id = ?1"

/* A change of daily's sums for one key: ?1 day, ?2 project, ?3 category,
 * ?4 conversations, ?5 reflections, ?6 bytes, ?7 pushed (each may be
 * negative); _DROP then removes the row if it counts nothing any more. */
#define AK_ROLLUP_DAILY_ADD_SQL                                                               \
    "INSERT INTO daily VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(day, project, category)" \
    " DO UPDATE SET conversations = conversations + excluded.conversations,"                 \
    " reflections = reflections + excluded.reflections, bytes = bytes + excluded.bytes,"      \
    " pushed = pushed + excluded.pushed"
#define AK_ROLLUP_DAILY_DROP_SQL                                                              \
    "DELETE FROM daily WHERE day = ?1 AND project = ?2 AND category = ?3"                    \
    " AND conversations = 0 AND reflections = 0"

/* daily's rows counted from the facts, for the days where w holds (their
 * old rows deleted first). */
#define AK_ROLLUP_RECOUNT_SQL(w)                                                              \
    "INSERT INTO daily SELECT day, project, category, sum(1 - reflection), sum(reflection),"  \
    " sum(bytes), sum(pushed) FROM conv_facts WHERE " w " GROUP BY day, project, category"

/* A fact's metadata columns, computed in C (a push stores thousands of
 * memories a second, and three json_extract per memory in SQL were a tenth
 * of its CPU).  Pointers point into the metadata text. */
typedef struct {
    const char *project, *category;
    size_t project_len, category_len;
    int reflection;
} ak_rollup_meta;

/* Fill *out with exactly what AK_ROLLUP_META_SQL gives for
 * metadata m[0..len) (NULL: none) and return 1; or return 0 when that is
 * not certain (escapes, a repeated or non-string member, JSON our parser
 * refuses), and the caller uses AK_ROLLUP_META_SQL.  doc is scratch. */
typedef struct ak_json_doc ak_json_doc;
int ak_rollup_meta_of(ak_json_doc *doc, const char *m, size_t len, ak_rollup_meta *out);

/* The day (UTC) holding a time in microseconds. */
int64_t ak_rollup_day(int64_t ts_us);

/* After retention deleted every memory older than cutoff_us: delete the
 * facts of those no tier holds any more and count daily's rows of their
 * days again (one transaction of its own, none may be open). */
ak_code ak_rollup_expire(ak_sysdb *db, int64_t cutoff_us, ak_err *err);

/* One daily series (analytics/series.h says what the metrics are): expr is
 * an SQL aggregate over the daily rollup (stored = 1, filtered by project
 * and category, NULL: any) or over the ingested uploads (stored = 0, by
 * the day of their upload); days from_day .. to_day, inclusive. */
typedef struct {
    const char *expr;
    int stored;
    const char *project, *category;
    int64_t from_day, to_day;
} ak_rollup_query;

/* v[0 .. to_day - from_day] gets the value per day (0 where there is
 * none); *first_day the first day with any data of that kind at all
 * (INT64_MAX when none). */
ak_code ak_rollup_series(ak_sysdb *db, const ak_rollup_query *q, double *v, int64_t *first_day,
                         ak_err *err);

#endif
