/*
 * pushdb.c - see pushdb.h.
 */
#include "server/pushdb.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/time.h"

/* Back to truncating the WAL, then closed: the last connection's close
 * cuts the WAL anyway, but while readers keep the database open it stays,
 * and is then cut at its next reset. */
static void close_db(ak_sysdb *db)
{
    if (db)
        ak_sysdb_wal_keep(db, 0, NULL);
    ak_sysdb_close(db);
}

void ak_pushdb_close(ak_pushdb *slot)
{
    close_db(slot->db);
    slot->db = NULL;
    slot->sid[0] = '\0';
}

ak_code ak_pushdb_open(ak_pushdb *slot, const ak_datadir *dd, const char *system_id,
                       ak_sysdb **out, ak_err *err)
{
    ak_sysdb *db = slot->db;
    slot->db = NULL;
    if (db && !strcmp(slot->sid, system_id) && ak_sysdb_file_id(db).ino &&
        ak_file_id_eq(ak_sysdb_file_id(db), ak_file_id_of(ak_sysdb_path(db)))) {
        *out = db;
        return AK_OK;
    }
    close_db(db); /* another system's, or its file was deleted or replaced */
    slot->sid[0] = '\0';
    ak_code rc = ak_datadir_open_system(dd, system_id, 1, out, err);
    ak_err e;
    if (rc == AK_OK && ak_sysdb_wal_keep(*out, AK_PUSHDB_WAL_KEEP, &e))
        AK_WARN("push", "keeping the WAL of %s: %s", system_id, e.msg); /* only slower */
    return rc;
}

void ak_pushdb_done(ak_pushdb *slot, const char *system_id, ak_sysdb *db, int ok)
{
    if (!db)
        return;
    if (!ok) {
        close_db(db);
        return;
    }
    ak_pushdb_close(slot); /* open() emptied it: a no-op unless open() was skipped */
    snprintf(slot->sid, sizeof slot->sid, "%s", system_id);
    slot->db = db;
    slot->used_us = ak_time_mono_us();
}

void ak_pushdb_close_idle(ak_pushdb *slots, pthread_mutex_t *locks, size_t n, int64_t idle_us)
{
    int64_t now = ak_time_mono_us();
    for (size_t i = 0; i < n; i++) {
        if (pthread_mutex_trylock(&locks[i]) != 0)
            continue; /* in use: not idle */
        if (slots[i].db && now - slots[i].used_us > idle_us)
            ak_pushdb_close(&slots[i]);
        pthread_mutex_unlock(&locks[i]);
    }
}
