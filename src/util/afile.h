/*
 * afile.h - a file replaced atomically: written to <path>.tmp, synced,
 * then renamed over <path>, so a crash at any instant leaves the old file
 * or the new one, never a torn one (a torn .tmp is overwritten next time).
 *
 * Ownership: ak_afile_begin() opens the temporary file; exactly one of
 * ak_afile_commit() or ak_afile_abort() closes it.
 */
#ifndef AK_AFILE_H
#define AK_AFILE_H

#include <stddef.h>

#include "util/err.h"

typedef struct {
    int fd;
    char path[4096], tmp[4096];
} ak_afile;

ak_code ak_afile_begin(ak_afile *f, const char *path, ak_err *err);
ak_code ak_afile_write(ak_afile *f, const void *p, size_t len, ak_err *err);
/* fsync, close, pass the test stop point `point` (written and synced, not
 * yet in place), rename.  On failure the temporary file is removed. */
ak_code ak_afile_commit(ak_afile *f, const char *point, ak_err *err);
void ak_afile_abort(ak_afile *f);

#endif
