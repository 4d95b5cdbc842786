/*
 * sysdb_impl.h - what the parts of the system database share (private to
 * src/storage/sysdb*.c; the public surface is sysdb.h).
 *
 *   sysdb.c         schema, migrations, opening, statements, writing records
 *   sysdb_ledger.c  the upload ledger and the counts
 *   sysdb_read.c    reading rows and vectors for search and `akosha get`
 *   sysdb_text.c    the full-text index of a transaction's new hot rows,
 *                   written at its commit
 *   sysdb_daily.c   the daily rollup's sums a transaction changed, written
 *                   at its commit
 */
#ifndef AK_SYSDB_IMPL_H
#define AK_SYSDB_IMPL_H

#include <sqlite3.h>

#include "storage/rollup.h"
#include "storage/sysdb.h"
#include "util/buf.h"

/* The statements prepared once per handle (sysdb.c's stmt_sql). */
enum {
    ST_LOOKUP,
    ST_INSERT_HOT,
    ST_UPDATE_HOT,
    ST_DELETE_WARM,
    ST_DELETE_COLD,
    ST_LEDGER_GET,
    ST_LEDGER_PUT,
    ST_HOT_ROW,
    ST_WARM_ROW,
    ST_TEXT_HOT,
    ST_TEXT_WARM,
    ST_HOT_TEXT_OF,
    ST_FTS_ADD_HOT,
    ST_FTS_ADD_WARM,
    ST_FTS_DROP_HOT,
    ST_COLD_ROW,
    ST_TEXT_COLD,
    ST_FTS_ADD_COLD,
    ST_FACT_META,
    ST_FACT_ADD,
    ST_FACT_OF,
    ST_FACT_MOVE,
    ST_DAILY_ADD,
    ST_DAILY_DROP,
    ST_SOURCE_SET,
    ST_SOURCE_SEEN,
    ST_SOURCE_HELD,
    ST_HOT_VEC_OF,
    ST_EPOCH_BUMP,
    ST_COUNT
};

/* Columns: rowid, conversation_id, text (content or summary), metadata,
 * source, upload_id, object_key, ts_us, content_sha256. */
#define CONV_COLUMNS_HOT \
    "id, conversation_id, content, metadata, source, upload_id, NULL, ts_us, content_sha256"
#define CONV_COLUMNS_WARM \
    "id, conversation_id, summary, metadata, source, upload_id, NULL, ts_us, content_sha256"
#define CONV_COLUMNS_COLD \
    "rowid, conversation_id, ultra_summary, NULL, NULL, upload_id, " AK_COLD_KEY ", ts_us," \
    " content_sha256"

extern const char *const ak_sysdb_stmt_sql[ST_COUNT];

typedef struct ak_sysdb_textq ak_sysdb_textq;
typedef struct ak_sysdb_daily ak_sysdb_daily;

struct ak_sysdb {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    char *path;
    ak_file_id file_id; /* of path, just before opening */
    struct ak_json_doc *scratch; /* put_fact's metadata parse, made on first use */
    ak_sysdb_textq *textq;       /* hot rows whose text is indexed at COMMIT (sysdb_text.c) */
    ak_sysdb_daily *daily;       /* daily's sums changed, written at COMMIT (sysdb_daily.c) */
    int64_t put_rowid;           /* the hot row the last put wrote, 0: none */
    int epoch_bumped;            /* vec_epoch bumped in the open transaction */
};

/* Before a write of hot rows: bump vec_epoch once in the open transaction
 * (hot's inserts and updates have no epoch trigger, which cost a meta
 * write and a statement journal per row).  Every INSERT or UPDATE of hot
 * calls it. */
ak_code ak_sysdb_hot_changing(ak_sysdb *db, ak_err *err);

/* The database's error as an ak_code and a message naming path and what. */
ak_code ak_sysdb_db_error(ak_sysdb *db, ak_err *err, const char *what);
/* Statement `which`, prepared on first use; NULL with err set. */
sqlite3_stmt *ak_sysdb_stmt(ak_sysdb *db, int which, ak_err *err);
/* Run a bound statement that returns no rows, then reset it. */
ak_code ak_sysdb_step_done(ak_sysdb *db, sqlite3_stmt *st, ak_err *err, const char *what);
/* A heap copy of a text column, NULL for SQL NULL. */
char *ak_sysdb_column_dup(sqlite3_stmt *st, int col);
/* Step st (a statement of ak_sysdb_prepare(), finalized here), calling
 * row for each row. */
ak_code ak_sysdb_each_row(ak_sysdb *db, sqlite3_stmt *st, ak_code (*row)(sqlite3_stmt *, void *),
                        void *ctx, ak_err *err, const char *what);
ak_code ak_sysdb_prepare(ak_sysdb *db, const char *sql, sqlite3_stmt **st, ak_err *err);

/* The deferred full-text index of hot rows (sysdb_text.c).  _queue copies
 * text (outside a transaction it indexes it at once); _flush indexes every queued row (ak_sysdb_index_text) and empties
 * the queue, also on failure; it must run before anything reads or drops
 * a queued row's index entry in the same transaction, and before COMMIT.
 * _drop forgets the queue (ROLLBACK, BEGIN); _free releases it (close). */
ak_code ak_sysdb_text_queue(ak_sysdb *db, int64_t rowid, const char *text, size_t len,
                            ak_err *err);
ak_code ak_sysdb_text_flush(ak_sysdb *db, ak_err *err);
void ak_sysdb_text_drop(ak_sysdb *db);
void ak_sysdb_text_free(ak_sysdb *db);

/* A memory's fact as conv_facts holds it (storage/rollup.h); m.project and
 * m.category need not be NUL-terminated. */
typedef struct {
    int64_t day, bytes;
    ak_rollup_meta m;
    int pushed;
} ak_sysdb_fact;

/* The daily rollup's changes in the open transaction (sysdb_daily.c).
 * _add counts fact f into its (day, project, category) (sign 1) or out of
 * it (sign -1), copying the key; _flush writes every changed key into
 * daily and empties the map, also on failure: it must run before COMMIT
 * and before anything reads daily in the same transaction (outside a
 * transaction, right after the write of the facts).  _drop forgets the
 * changes (ROLLBACK, BEGIN); _free releases the map (close). */
ak_code ak_sysdb_daily_add(ak_sysdb *db, const ak_sysdb_fact *f, int sign, ak_err *err);
ak_code ak_sysdb_daily_flush(ak_sysdb *db, ak_err *err);
void ak_sysdb_daily_drop(ak_sysdb *db);
void ak_sysdb_daily_free(ak_sysdb *db);

#endif
