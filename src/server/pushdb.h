/*
 * pushdb.h - a system's database kept open between its push batches.
 *
 * Opening a system's SQLite database (pragmas, the schema check, every
 * statement prepared anew) and closing it (a WAL checkpoint) cost about as
 * much CPU as storing a batch of 100 memories did (the profile in
 * docs/BENCHMARKS.md).  So each of the push's lock stripes keeps the last
 * system it wrote open in a slot, used only under that stripe's lock.
 *
 * A kept connection must never write a file that is no longer the
 * system's database: forget deletes it, reingest renames a rebuilt one
 * over it.  Both happen under the system's lock, which a batch takes
 * before it asks for its database, and the kept connection holds its
 * file open (so the inode cannot be reused); a connection is handed out
 * again only while the file at its path is still the one it opened
 * (device and inode), and otherwise closed and opened anew.  A slot
 * unused for AK_PUSHDB_IDLE_US is closed (ak_pushdb_close_idle), so idle
 * systems keep no page cache; its WAL is kept at its size only while the
 * connection is (AK_PUSHDB_WAL_KEEP).
 *
 * Ownership: a slot owns its connection.  ak_pushdb_open() lends it to
 * the caller until ak_pushdb_done(); the slot is zero-initialised and
 * released with ak_pushdb_close().
 */
#ifndef AK_PUSHDB_H
#define AK_PUSHDB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/datadir.h"
#include "storage/sysdb.h"
#include "util/err.h"
#include "util/ids.h"

#define AK_PUSHDB_IDLE_US (10 * 1000000LL)
/* A kept connection's WAL is kept to this size (ak_sysdb_wal_keep): more
 * than a checkpoint's worth (1000 pages of 16 KiB) and a batch. */
#define AK_PUSHDB_WAL_KEEP (24LL * 1024 * 1024)

typedef struct {
    char sid[AK_SYSTEM_ID_MAX + 1];
    ak_sysdb *db;     /* NULL: empty */
    int64_t used_us;  /* monotonic time it was last given back */
} ak_pushdb;

/* system_id's database (created if missing): the slot's kept connection
 * when it is that system's and its file is still the database, else a new
 * one (the slot's old connection is closed). */
ak_code ak_pushdb_open(ak_pushdb *slot, const ak_datadir *dd, const char *system_id,
                       ak_sysdb **out, ak_err *err);

/* Give system_id's db back: kept in the slot when ok, closed when not (after an error
 * the connection's state is not trusted). */
void ak_pushdb_done(ak_pushdb *slot, const char *system_id, ak_sysdb *db, int ok);

/* Close the kept connections of slots[0..n) unused for more than idle_us,
 * slot i under locks[i] (a slot whose lock is held is in use: skipped). */
void ak_pushdb_close_idle(ak_pushdb *slots, pthread_mutex_t *locks, size_t n, int64_t idle_us);

/* Close the kept connection, if any. */
void ak_pushdb_close(ak_pushdb *slot);

#endif
