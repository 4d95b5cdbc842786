/*
 * afile.c - see afile.h.
 */
#include "util/afile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/testpoint.h"

ak_code ak_afile_begin(ak_afile *f, const char *path, ak_err *err)
{
    f->fd = -1;
    if (ak_fmt(f->path, sizeof f->path, "%s", path) ||
        ak_fmt(f->tmp, sizeof f->tmp, "%s.tmp", path))
        return ak_err_set(err, AK_ERR_INVALID, "%s: path too long", path);
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0)
        return ak_err_set(err, AK_ERR_IO, "%s: %s", f->tmp, strerror(errno));
    return AK_OK;
}

ak_code ak_afile_write(ak_afile *f, const void *p, size_t len, ak_err *err)
{
    const unsigned char *b = p;
    while (len) {
        ssize_t w = write(f->fd, b, len > (1u << 30) ? (1u << 30) : len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ak_err_set(err, AK_ERR_IO, "%s: write: %s", f->tmp, strerror(errno));
        b += w;
        len -= (size_t)w;
    }
    return AK_OK;
}

ak_code ak_afile_commit(ak_afile *f, const char *point, ak_err *err)
{
    ak_code rc = AK_OK;
    if (fsync(f->fd) != 0)
        rc = ak_err_set(err, AK_ERR_IO, "%s: fsync: %s", f->tmp, strerror(errno));
    if (close(f->fd) != 0 && rc == AK_OK)
        rc = ak_err_set(err, AK_ERR_IO, "%s: close: %s", f->tmp, strerror(errno));
    f->fd = -1;
    if (rc == AK_OK && point)
        ak_testpoint(point);
    if (rc == AK_OK && rename(f->tmp, f->path) != 0)
        rc = ak_err_set(err, AK_ERR_IO, "%s: rename: %s", f->path, strerror(errno));
    if (rc)
        unlink(f->tmp);
    return rc;
}

void ak_afile_abort(ak_afile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    unlink(f->tmp);
}
