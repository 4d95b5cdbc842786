/* spool.c - see spool.h. */
#include "ingest/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

#define PREFIX "spool-"

ak_code ak_spool_create(const char *dir, ak_spool *s, ak_err *err)
{
    s->fd = -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ak_err_set(err, AK_ERR_IO, "cannot make %s: %s", dir, strerror(errno));
    int n = snprintf(s->path, sizeof s->path, "%s/" PREFIX "XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof s->path)
        return ak_err_set(err, AK_ERR_INVALID, "spool directory path too long");
    s->fd = mkostemp(s->path, O_CLOEXEC);
    if (s->fd < 0)
        return ak_err_set(err, AK_ERR_IO, "cannot create a spool file in %s: %s", dir,
                          strerror(errno));
    if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
        ak_code rc = ak_err_set(err, AK_ERR_IO, "cannot lock %s: %s", s->path, strerror(errno));
        ak_spool_remove(s);
        return rc;
    }
    return AK_OK;
}

ak_code ak_spool_write(ak_spool *s, const void *data, size_t len, ak_err *err)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(s->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ak_err_set(err, AK_ERR_IO, "writing %s: %s", s->path,
                              w < 0 ? strerror(errno) : "no space written");
        p += w;
        len -= (size_t)w;
    }
    return AK_OK;
}

void ak_spool_remove(ak_spool *s)
{
    if (s->fd < 0)
        return;
    unlink(s->path);
    close(s->fd);
    s->fd = -1;
}

int ak_spool_cleanup(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, PREFIX, strlen(PREFIX)) != 0)
            continue;
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        /* Unlinked while still locked: its owner is gone, nobody else can
         * have reopened it by name in between without the lock. */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(dirfd(d), de->d_name, 0) == 0) {
            AK_INFO("ingest", "removed %s/%s, left by a process that stopped mid-upload", dir,
                    de->d_name);
            removed++;
        }
        close(fd);
    }
    closedir(d);
    return removed;
}
