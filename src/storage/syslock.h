/*
 * syslock.h - one system at a time: the fence between forgetting a system
 * and anything else that writes it (issue 19).
 *
 * The data directory's own lock (ak_datadir_lock) is shared by serve,
 * ingest and age, so a daemon forgetting a system (DELETE /v1/systems/{id})
 * could race a separate `akosha ingest` or `akosha age` process: one that
 * read "no tombstone" just before the tombstone was written would go on to
 * re-create the database (or put a cold object) after forget deleted it.
 * So forget holds the system's lock from before it writes the tombstone
 * until it is done, and every path that creates or writes a system's data
 * (an ingest of its uploads, a push, an aging pass) takes it and reads the
 * tombstone only after it has it.
 *
 * The lock is an open-file-description lock (F_OFD_SETLKW) on one byte of
 * <data>/systems.lock chosen by a hash of the system id: no file per
 * system, released by the kernel when the holder dies (kill -9 leaves no
 * stale lock), and it excludes threads of one process as well as other
 * processes.  Two systems may share a byte; they then merely wait for each
 * other.  Taking it blocks until the holder lets go.
 */
#ifndef AK_SYSLOCK_H
#define AK_SYSLOCK_H

#include "storage/datadir.h"
#include "util/err.h"

#define AK_SYSLOCK_FILE "systems.lock"

typedef struct ak_syslock ak_syslock;

/* Wait for and take system_id's lock; *out is released (and freed) by
 * ak_syslock_release().  AK_ERR_IO when the lock file cannot be opened. */
ak_code ak_syslock_take(const ak_datadir *dd, const char *system_id, ak_syslock **out,
                        ak_err *err);

/* Let go of it; NULL is a no-op. */
void ak_syslock_release(ak_syslock *l);

#endif
