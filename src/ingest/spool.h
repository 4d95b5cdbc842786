/*
 * spool.h - temporary files for payloads that must be files on disk.
 *
 * DuckDB opens files, not streams, so a DuckDB payload is decompressed into
 * a spool file in <data>/tmp/ first.  Each spool file is held under an
 * exclusive flock by the process that made it, so a spool file whose lock
 * can be taken belongs to a process that is gone (killed mid-upload) and
 * ak_spool_cleanup() removes it, without touching the files of a sibling
 * process (serve and ingest may run side by side on one data directory).
 *
 * Ownership: ak_spool_create() fills a caller-provided struct;
 * ak_spool_remove() unlinks and closes (safe on a zeroed or removed one).
 */
#ifndef AK_SPOOL_H
#define AK_SPOOL_H

#include "storage/datadir.h" /* AK_PATH_MAX */
#include "util/err.h"

typedef struct {
    int fd; /* open for writing, flock'ed; -1 when none */
    char path[AK_PATH_MAX];
} ak_spool;

/* Make dir (mode 0700) when missing and a new spool file in it. */
ak_code ak_spool_create(const char *dir, ak_spool *s, ak_err *err);
/* Append len bytes (retrying short writes); AK_ERR_IO on failure. */
ak_code ak_spool_write(ak_spool *s, const void *data, size_t len, ak_err *err);
void ak_spool_remove(ak_spool *s);

/* Remove the spool files in dir that no live process holds.  Returns how
 * many were removed. */
int ak_spool_cleanup(const char *dir);

#endif
