/*
 * check.h - integrity checks of one system database, for `akosha verify`.
 *
 * A check opens the file with its own plain connection: no schema
 * migration and no configuration, so checking never changes what it
 * checks (the full-text checks are written as INSERTs, but write nothing).
 * Safe while the daemon or ingestion use the same database: SQLite's WAL
 * keeps the checks on a consistent snapshot.
 *
 * What is checked:
 *   schema     the file is an Akosha database this build can open
 *   integrity  PRAGMA quick_check (deep: integrity_check)
 *   fts        the full-text indexes match their tables (FTS5 integrity-check)
 *   tiers      no conversation is in two tiers at once
 *   ledger     every stored row came from an upload the ledger says was ingested
 *   vectors    stored embeddings have the right size
 *
 * Ownership: ak_dbcheck_open() / ak_dbcheck_close(); strings passed to the
 * callbacks are valid during the call only.
 */
#ifndef AK_CHECK_H
#define AK_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct ak_dbcheck ak_dbcheck;

/* One problem: which check found it and what it is. */
typedef void (*ak_problem_fn)(void *ctx, const char *check, const char *message);

/* AK_ERR_NOTFOUND when there is no such file. */
ak_code ak_dbcheck_open(const char *path, ak_dbcheck **out, ak_err *err);
void ak_dbcheck_close(ak_dbcheck *c);

/* Run every check, calling fn per problem; returns the number found. */
int ak_dbcheck_run(ak_dbcheck *c, int deep, ak_problem_fn fn, void *ctx);

/* The cold catalog, ordered by object key. */
typedef ak_code (*ak_cold_row_fn)(void *ctx, const char *object_key,
                                  const char *conversation_id,
                                  const char *content_sha256_hex, int64_t ts_us);
ak_code ak_dbcheck_each_cold(ak_dbcheck *c, ak_cold_row_fn fn, void *ctx, ak_err *err);

/* *found = 1 when a conversation of that id is stored in hot or warm, or
 * catalogued in a cold object other than other_than. */
ak_code ak_dbcheck_holds(ak_dbcheck *c, const char *conversation_id, size_t len,
                         const char *other_than, int *found, ak_err *err);

/* Whether object_key is listed in cold_garbage: replaced by a compaction
 * and deleted by the next aging pass (the database must be of the current
 * schema, as ak_dbcheck_run() requires for the cold checks). */
ak_code ak_dbcheck_garbage(ak_dbcheck *c, const char *object_key, int *found, ak_err *err);

/* *found = 1 when the cold catalog names the object (read now, not at the
 * snapshot of an earlier walk). */
ak_code ak_dbcheck_names_object(ak_dbcheck *c, const char *object_key, int *found, ak_err *err);

/* The database's vector epoch (storage/sysdb.h's ak_sysdb_vec_epoch()),
 * read without migrating or writing anything. */
ak_code ak_dbcheck_vec_epoch(ak_dbcheck *c, uint64_t *out, ak_err *err);

#endif
