/*
 * datadir.h - the data directory: where the shards and their system
 * databases live (SPEC section 5).
 *
 *   <data>/akosha.json               {"format": 1, "shards": 256}
 *   <data>/shard_NNN/<system_id>.db  one SQLite database per system
 *
 * akosha.json pins the shard count: routing depends on it, so a directory
 * written with 256 shards refuses to open with another count.
 *
 * Ownership: ak_datadir_open() / ak_datadir_close().  The handle is
 * read-only after open (and ak_datadir_lock()) and may be shared between
 * threads.
 */
#ifndef AK_DATADIR_H
#define AK_DATADIR_H

#include <stddef.h>
#include <stdint.h>

#include "storage/sysdb.h"
#include "util/err.h"
#include "util/progress.h"

typedef struct ak_datadir ak_datadir;

#define AK_PATH_MAX 4096

/* shards: 0 = whatever the directory says (256 for a new one).  With create
 * a missing directory is made; without, it is AK_ERR_NOTFOUND. */
ak_code ak_datadir_open(const char *path, int create, uint32_t shards,
                        ak_datadir **out, ak_err *err);
void ak_datadir_close(ak_datadir *dd);

const char *ak_datadir_path(const ak_datadir *dd);
uint32_t ak_datadir_shards(const ak_datadir *dd);

/* Validates system_id, then writes <data>/shard_NNN/<id>.db into out. */
ak_code ak_datadir_db_path(const ak_datadir *dd, const char *system_id, char *out,
                           size_t n, ak_err *err);

/* Open a system's database; with create its shard directory and database
 * are made when missing (else AK_ERR_NOTFOUND). */
ak_code ak_datadir_open_system(const ak_datadir *dd, const char *system_id,
                               int create, ak_sysdb **out, ak_err *err);

typedef ak_code (*ak_system_fn)(void *ctx, const char *system_id, uint32_t shard,
                                const char *db_path);
/* Call fn for every system database, shard by shard, systems in name order.
 * Files that are not <valid id>.db in the right shard are skipped with a
 * warning. */
ak_code ak_datadir_each_system(const ak_datadir *dd, ak_system_fn fn, void *ctx,
                               ak_err *err);

/* Have every ak_datadir_each_system walk over dd report after each system
 * (done, total: the systems counted when the walk began); fn NULL: none.
 * For the command line's progress line; ctx stays the caller's. */
void ak_datadir_set_progress(ak_datadir *dd, ak_progress_fn fn, void *ctx);

/* The writers' lock, <data>/akosha.lock (flock, released by close or
 * exit).  serve, ingest and age hold it shared, so they run side by side
 * (SQLite orders their writes); reingest holds it exclusive, because
 * swapping a database under another process's open connections would
 * hide its writes.  Never waits: AK_ERR_BUSY when held the other way. */
ak_code ak_datadir_lock(ak_datadir *dd, int exclusive, ak_err *err);

/* mkdir -p (mode 0755). */
ak_code ak_mkdirs(const char *path, ak_err *err);

#endif
