/*
 * tombstone.h - the forgotten systems: <data>/forgotten.db, a small SQLite
 * database beside the shards (SPEC section 5, docs/OPERATIONS.md).
 *
 * A tombstone is kept outside the system's own database because forgetting
 * deletes that database: it is what stops the bucket's old uploads (and
 * pushes of memories stored before it) from bringing the system back.
 *
 *   forgotten(system_id PRIMARY KEY, forgotten_at_us, state, purge_bucket,
 *             finished_at_us)
 *
 * state is "forgetting" from the moment `akosha forget` starts deleting
 * until everything is gone, then "forgotten".  While "forgetting" nothing
 * of the system is ingested at all; once "forgotten", only uploads whose
 * manifest uploaded_at is later than forgotten_at (and pushed memories
 * newer than it) are.  Removing the row (`akosha forget --allow-return`)
 * lets everything back.
 *
 * The file is written with synchronous=FULL: a tombstone is durable before
 * anything it protects is deleted.  Every call opens and closes the file
 * (forgetting is rare; a missing file is answered by one stat), so the
 * functions are thread-safe and other processes see each change at once.
 */
#ifndef AK_TOMBSTONE_H
#define AK_TOMBSTONE_H

#include <stdint.h>

#include "storage/datadir.h"
#include "util/err.h"
#include "util/ids.h"

#define AK_TOMBSTONE_FILE "forgotten.db"

typedef struct {
    char system_id[AK_SYSTEM_ID_MAX + 1];
    int64_t at_us;          /* forgotten_at: the cut */
    int done;               /* 0 = "forgetting", 1 = "forgotten" */
    int purge_bucket;       /* its uploads are (being) deleted from the bucket too */
    int64_t finished_us;    /* when done, else 0 */
} ak_tomb;

/* system_id's tombstone; AK_ERR_NOTFOUND when it has none. */
ak_code ak_tomb_get(const ak_datadir *dd, const char *system_id, ak_tomb *out, ak_err *err);

/* Write (or renew) a "forgetting" tombstone: forgotten_at becomes the later
 * of at_us and any earlier one, purge_bucket sticks once set.  *out gets
 * the row as written and *resumed whether one was "forgetting" already. */
ak_code ak_tomb_begin(const ak_datadir *dd, const char *system_id, int64_t at_us,
                      int purge_bucket, ak_tomb *out, int *resumed, ak_err *err);

/* Mark it "forgotten" at finished_us. */
ak_code ak_tomb_finish(const ak_datadir *dd, const char *system_id, int64_t finished_us,
                       ak_err *err);

/* Delete the tombstone (the system may come back); AK_ERR_NOTFOUND when
 * there was none. */
ak_code ak_tomb_remove(const ak_datadir *dd, const char *system_id, ak_err *err);

typedef ak_code (*ak_tomb_fn)(void *ctx, const ak_tomb *t);
/* Every tombstone, by system id. */
ak_code ak_tomb_each(const ak_datadir *dd, ak_tomb_fn fn, void *ctx, ak_err *err);

/* 1 when a memory of system_id stored at ts_us (an upload's uploaded_at, a
 * pushed memory's timestamp) must not be ingested: the system is being
 * forgotten, or was forgotten at or after ts_us.  0 otherwise.  An
 * unreadable tombstone file answers 1 (never bring back what may have been
 * forgotten) and logs why.  This is the check for every way in: ingestion
 * calls it per upload, and the HTTP push must call it per memory. */
int ak_tomb_blocks(const ak_datadir *dd, const char *system_id, int64_t ts_us);

#endif
