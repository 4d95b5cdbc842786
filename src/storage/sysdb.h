/*
 * sysdb.h - one system's SQLite database: its rows in every tier, its upload
 * ledger and its cold catalog (SPEC section 5).
 *
 * The database is the truth; everything in memory is rebuilt from it.  It
 * runs in WAL mode, so readers (search) never block the writer (ingestion),
 * with synchronous=NORMAL: a committed upload survives the process being
 * killed; a power loss may undo the last commits, records and ledger row
 * together, and the next cycle applies those uploads again.
 *
 * Ingestion of one upload is:
 *     ak_sysdb_begin()                      BEGIN IMMEDIATE
 *     ak_sysdb_ledger_get()                 re-check inside the transaction
 *     ak_sysdb_put_record() per record
 *     ak_sysdb_ledger_put(status=ingested)
 *     ak_sysdb_commit()                     or ak_sysdb_rollback()
 * so records and ledger row become visible together or not at all.
 *
 * Ownership: ak_sysdb_open() / ak_sysdb_close().  A handle belongs to one
 * thread at a time.  Strings in an ak_ledger_row filled by this module are
 * heap copies released by ak_ledger_row_free(); rows passed in are borrowed.
 */
#ifndef AK_SYSDB_H
#define AK_SYSDB_H

#include <stdint.h>

#include "util/err.h"
#include "util/record.h"

typedef struct ak_sysdb ak_sysdb;

typedef enum {
    AK_UPLOAD_UNKNOWN = 0, /* no ledger row */
    AK_UPLOAD_INGESTED,
    AK_UPLOAD_REJECTED,
    AK_UPLOAD_FAILED
} ak_upload_status;

const char *ak_upload_status_name(ak_upload_status s);

typedef struct {
    char *upload_id;
    ak_upload_status status;
    char *reason;            /* why rejected / failed, else NULL */
    int64_t uploaded_at_us;  /* 0 when the manifest was unreadable */
    int64_t declared_count;  /* manifest conversation_count, -1 unknown */
    int64_t new_count, updated, duplicates, stale, records_rejected;
    char *record_errors;     /* JSON object: problem -> {count, example} */
    int64_t payload_bytes;
    int64_t attempts;
    int64_t first_seen_us, next_attempt_us, finished_us;
    char *system_type, *metadata;
} ak_ledger_row;

void ak_ledger_row_free(ak_ledger_row *row);

/* Position of an upload in its system's history: uploads are applied, and
 * records replaced, in (uploaded_at, upload_id) order. */
typedef struct {
    int64_t at_us;
    const char *upload_id;
} ak_upload_order;

typedef enum {
    AK_PUT_NEW,       /* a conversation not stored before */
    AK_PUT_UPDATED,   /* replaced an older upload's different version */
    AK_PUT_DUPLICATE, /* same key, same content: nothing written */
    AK_PUT_STALE,     /* a newer upload's version is stored: kept it */
    AK_PUT_CONFLICT   /* this upload already gave this key other content */
} ak_put_result;

typedef struct {
    int64_t hot, warm, cold;
    int64_t ingested, rejected, failed;
    int64_t last_upload_us; /* newest uploaded_at among ingested, or 0 */
    int64_t last_activity_us; /* newest conversation timestamp, any tier, or 0 */
} ak_sysdb_counts;

/* Open (and with create, make) the database at path, migrating its schema
 * to the current version.  Without create a missing file is
 * AK_ERR_NOTFOUND. */
ak_code ak_sysdb_open(const char *path, int create, ak_sysdb **out, ak_err *err);
/* The same for a connection that only reads (the index's loads and its
 * idle cache: searches, views, analytics): PRAGMA query_only, so a write
 * through it fails (SQLITE_READONLY) instead of leaving the vector epoch
 * unbumped, and none of the epoch triggers a writer's connection carries.
 * Migrations still run at open.  Missing file: AK_ERR_NOTFOUND. */
ak_code ak_sysdb_open_reader(const char *path, ak_sysdb **out, ak_err *err);
void ak_sysdb_close(ak_sysdb *db);
/* Give back the page cache of a handle that goes idle (SQLite keeps up to
 * cache_size of pages per connection, and a server keeps a connection per
 * system it has read: at 1,000 systems that was ~250 MB of heap for pages
 * no search was reading).  Returns the bytes its cache still holds. */
size_t ak_sysdb_release_memory(ak_sysdb *db);
/* What SQLite holds for a connection (sqlite3_db_status): its parsed
 * schemas, its prepared statements, its page caches (the pager's own page
 * buffer included), in bytes. */
typedef struct {
    size_t schema, stmt, cache;
} ak_sysdb_mem;
void ak_sysdb_memory(ak_sysdb *db, ak_sysdb_mem *out);
/* The schema version this build writes (PRAGMA user_version). */
int ak_sysdb_schema_version(void);
const char *ak_sysdb_path(const ak_sysdb *db);

/* Which file a path names (device and inode).  A handle remembers the
 * identity its path had just before it opened, so when a database is
 * replaced by rename (akosha reingest) handles on the old file can be told
 * from handles on the new one (a database the open created: its identity
 * just after).  {0, 0} when the path does not exist. */
typedef struct {
    uint64_t dev, ino;
} ak_file_id;
ak_file_id ak_file_id_of(const char *path);
ak_file_id ak_sysdb_file_id(const ak_sysdb *db);
int ak_file_id_eq(ak_file_id a, ak_file_id b);

/* The database's vector epoch: bumped in the same transaction by every
 * insert, update or delete of a vector table's row made through a handle
 * of this module (0 before the first).  A cache of those tables is valid
 * while the epoch it was read at is current (query/segfile.h). */
ak_code ak_sysdb_vec_epoch(ak_sysdb *db, uint64_t *out, ak_err *err);

/* How much of the WAL file to keep when it is reset after a checkpoint:
 * 0 (the default) truncates it.  A writer that commits batch after batch
 * (server/pushdb.h) keeps it, so its frames go into pages already cached
 * instead of the file growing anew from zero every ~16 MB.  The WAL is
 * truncated to zero all the same when the last connection closes. */
ak_code ak_sysdb_wal_keep(ak_sysdb *db, int64_t bytes, ak_err *err);

/* Copy every commit from the WAL into the database file and truncate the
 * WAL to zero bytes, so the database file alone is the whole database.
 * AK_ERR_BUSY when another connection kept it from finishing. */
ak_code ak_sysdb_checkpoint(ak_sysdb *db, ak_err *err);

/* A transaction that puts records ends by ak_sysdb_commit() or
 * ak_sysdb_rollback(), never a bare COMMIT: puts defer the full-text index
 * of their rows and the daily rollup's sums to the commit, which writes
 * them first. */
ak_code ak_sysdb_begin(ak_sysdb *db, ak_err *err);
ak_code ak_sysdb_commit(ak_sysdb *db, ak_err *err);
void ak_sysdb_rollback(ak_sysdb *db);

ak_code ak_sysdb_put_record(ak_sysdb *db, const ak_upload_order *up,
                            const ak_record *rec, ak_put_result *result,
                            ak_err *err);
/* The id of the hot row the last ak_sysdb_put_record() wrote (a new or
 * updated conversation), 0 when it wrote none: what lets a caller holding
 * the record patch the index without reading the row back. */
int64_t ak_sysdb_put_rowid(const ak_sysdb *db);

/* *same = 1 when r's id is stored (any tier) with r's content hash: what
 * ak_sysdb_put_record() would call a duplicate, asked before the rest of
 * the record is read (only id and content_sha256 of r are used).  When it
 * is, upload up becomes the row's latest source (ops/prune.h) by content:
 * its other fields are not compared. */
ak_code ak_sysdb_stored_same(ak_sysdb *db, const ak_upload_order *up, const ak_record *r,
                             int *same, ak_err *err);

/* Ledger.  get fills row (status AK_UPLOAD_UNKNOWN when there is none). */
ak_code ak_sysdb_ledger_get(ak_sysdb *db, const char *upload_id,
                            ak_ledger_row *row, ak_err *err);
ak_code ak_sysdb_ledger_put(ak_sysdb *db, const ak_ledger_row *row, ak_err *err);
typedef ak_code (*ak_ledger_fn)(void *ctx, const ak_ledger_row *row);
/* Every row, in (uploaded_at, upload_id) order. */
ak_code ak_sysdb_ledger_each(ak_sysdb *db, ak_ledger_fn fn, void *ctx, ak_err *err);

ak_code ak_sysdb_counts_get(ak_sysdb *db, ak_sysdb_counts *out, ak_err *err);

/* ---- reading for search and `akosha get` ---- */

typedef enum { AK_TIER_HOT = 0, AK_TIER_WARM = 1, AK_TIER_COLD = 2 } ak_tier;
#define AK_TIER_MASK(t) (1 << (t))
#define AK_TIER_ALL (AK_TIER_MASK(AK_TIER_HOT) | AK_TIER_MASK(AK_TIER_WARM) | AK_TIER_MASK(AK_TIER_COLD))
const char *ak_tier_name(ak_tier t);

/* One stored vector, as the index loads it.  For hot rows `vec` points at
 * AK_DIM little-endian float32 and scale is 0; for warm rows at the 5-bit
 * code of storage/warmcode.h (AK_WCODE_BYTES, scale 0); for cold rows at
 * the compact code of util/vcode.h (len bytes, unchecked here).  Pointers are valid during the
 * callback. */
typedef struct {
    int64_t rowid;
    size_t len;
    const char *conversation_id;
    const void *vec;
    float scale;
    int64_t ts_us;
} ak_vec_row;

typedef ak_code (*ak_vec_fn)(void *ctx, const ak_vec_row *row);
ak_code ak_sysdb_count_vectors(ak_sysdb *db, ak_tier tier, int64_t *n, ak_err *err);
ak_code ak_sysdb_each_vector(ak_sysdb *db, ak_tier tier, ak_vec_fn fn, void *ctx, ak_err *err);
/* The hot rows with a vector among conversations ids[0..n), in that order
 * (ids not in hot, or without a vector, give nothing). */
ak_code ak_sysdb_hot_vectors_of(ak_sysdb *db, const char *const *ids, size_t n, ak_vec_fn fn,
                                void *ctx, ak_err *err);

/* SQL over the cold catalog (schema 9): a row names its object by number,
 * the key is in cold_objects.  AK_COLD_KEY is the key of the `cold` row at
 * hand; AK_COLD_IN_OBJECT(p) is true of the rows of the object whose key is
 * bound to parameter p. */
#define AK_COLD_KEY "(SELECT key FROM cold_objects WHERE id = cold.object_id)"
#define AK_COLD_IN_OBJECT(p) "cold.object_id = (SELECT id FROM cold_objects WHERE key = " p ")"

/* A conversation as `get` and search results show it.  Heap strings,
 * released by ak_conv_free(); content is NULL outside hot, summary NULL
 * in hot, object_key set only for cold. */
typedef struct {
    ak_tier tier;
    int64_t rowid;
    char *conversation_id, *content, *summary, *metadata, *source, *upload_id, *object_key;
    int64_t ts_us;
    char content_sha256[65];
} ak_conv;

void ak_conv_free(ak_conv *c);
/* By key, from whichever tier holds it; AK_ERR_NOTFOUND when none does. */
ak_code ak_sysdb_get_conv(ak_sysdb *db, const char *conversation_id, ak_conv *out, ak_err *err);
/* By row id within a tier, as search hits name them (for cold: the catalog
 * row, its summary from the catalog, no object read). */
ak_code ak_sysdb_get_row(ak_sysdb *db, ak_tier tier, int64_t rowid, ak_conv *out, ak_err *err);

/* The stored vector of a conversation (cold: decoded from its code), unit
 * length in out.
 * AK_ERR_NOTFOUND when there is no such conversation or it has no vector. */
ak_code ak_sysdb_get_vector(ak_sysdb *db, const char *conversation_id, float *out, ak_err *err);

/* Add a hot row's content, a warm row's summary or a cold row's 1-sentence
 * summary to its tier's full-text index.  Whoever inserts or rewrites hot or warm text calls this in the same
 * transaction (ak_sysdb_put_record does; deletes unindex themselves by
 * trigger): a trigger would make FTS5 write a segment per row. */
ak_code ak_sysdb_index_text(ak_sysdb *db, ak_tier tier, int64_t rowid, const char *text,
                            size_t len, ak_err *err);

/* Full-text search (FTS5, BM25) in one tier: match is an FTS5 query,
 * rows limited to since <= ts_us <= until; fn gets each hit best first with
 * score = -bm25 (higher is better). */
typedef ak_code (*ak_text_fn)(void *ctx, int64_t rowid, const char *conversation_id,
                              int64_t ts_us, double score);
ak_code ak_sysdb_text_search(ak_sysdb *db, ak_tier tier, const char *match, int64_t since,
                             int64_t until, int limit, ak_text_fn fn, void *ctx, ak_err *err);

#endif
