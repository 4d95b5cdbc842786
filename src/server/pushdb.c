/*
 * pushdb.c - see pushdb.h.
 */
#include "server/pushdb.h"

#include <stdio.h>
#include <string.h>

#include "util/time.h"

void ak_pushdb_close(ak_pushdb *slot)
{
    ak_sysdb_close(slot->db);
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
    ak_sysdb_close(db); /* another system's, or its file was deleted or replaced */
    slot->sid[0] = '\0';
    return ak_datadir_open_system(dd, system_id, 1, out, err);
}

void ak_pushdb_done(ak_pushdb *slot, const char *system_id, ak_sysdb *db, int ok)
{
    if (!db)
        return;
    if (!ok) {
        ak_sysdb_close(db);
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
