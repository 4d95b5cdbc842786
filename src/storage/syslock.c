/* syslock.c - see syslock.h. */
#include "storage/syslock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

#define SLOTS (1u << 20) /* bytes of the lock file a system may hash to */

struct ak_syslock {
    int fd;
};

static off_t slot_of(const char *sid)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sid; *p; p++)
        h = (h ^ *p) * 16777619u;
    return (off_t)(h % SLOTS);
}

ak_code ak_syslock_take(const ak_datadir *dd, const char *system_id, ak_syslock **out,
                        ak_err *err)
{
    char path[AK_PATH_MAX];
    *out = NULL;
    if (ak_fmt(path, sizeof path, "%s/" AK_SYSLOCK_FILE, ak_datadir_path(dd)))
        return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
    ak_syslock *l = malloc(sizeof *l);
    if (!l)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if ((l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        free(l);
        return ak_err_set(err, AK_ERR_IO, "%s: %s", path, strerror(errno));
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = slot_of(system_id),
                       .l_len = 1};
    int rc;
    while ((rc = fcntl(l->fd, F_OFD_SETLKW, &fl)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        int e = errno;
        close(l->fd);
        free(l);
        return ak_err_set(err, AK_ERR_IO, "%s: cannot lock system %s: %s", path, system_id,
                          strerror(e));
    }
    *out = l;
    return AK_OK;
}

void ak_syslock_release(ak_syslock *l)
{
    if (l) {
        close(l->fd); /* closing the last descriptor of the description unlocks */
        free(l);
    }
}
