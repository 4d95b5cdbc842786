/*
 * objstore_local.c - the local-directory backend: a bucket is a directory and
 * a key is a path below it ("systems/a/u1" -> <root>/systems/a/u1).
 *
 * Every path is resolved against a directory fd opened once by
 * ak_store_local_open() with the *at() system calls.  The handle therefore
 * holds no mutable state and may be shared by threads, and a long root does
 * not eat into PATH_MAX.  objstore.c has validated every key and prefix
 * before it reaches this file.
 *
 * A bucket is untrusted input, and nothing outside its root may ever be
 * opened: paths are resolved one segment at a time with O_NOFOLLOW
 * (open_dir_beneath), so a symbolic link anywhere in a key - a system or
 * upload directory, a manifest, a payload - is never followed.  Getting such
 * a key fails with AK_ERR_INVALID naming the link; listing skips it with a
 * warning.  (S3 has no links, so a bucket that needs them is not portable
 * anyway; a link loop such as "loop -> ." is one more skipped entry.)
 *
 * Making a file system behave like S3:
 *  - A put writes ".akosha-tmp-<random>" beside the target, fsyncs it and
 *    renames it over the target, so readers see the old object or the new
 *    one, never a partial one.  Large objects skip the page cache on the
 *    way (write_direct()).  Temp names are never listed, and a key using
 *    one is refused, so a put in progress can neither be read nor deleted.
 *    The put holds an flock on its temp file until the rename: a temp file
 *    nobody holds is the leftover of a killed put, which ak_local_temps() may
 *    find and remove (ak_store_temps()).  A put2 of two keys in one
 *    directory writes and syncs both temp files, renames them in order and
 *    syncs the directory once (local_put2()).
 *  - S3 has no directories: put creates parents, delete removes the ones it
 *    leaves empty, and a directory holding no object is invisible to list.
 *  - Listing (objstore_local_walk.c) returns keys in byte order of the
 *    whole key.  Within a directory that means sorting a subdirectory "a" as
 *    "a/", which puts it after "a-b" and "a.b" but before "a0".
 *  - Keys the file system cannot hold although S3 could (a segment longer
 *    than NAME_MAX, "a/b" while object "a" exists, or the reverse) fail with
 *    AK_ERR_UNSUPPORTED, not AK_ERR_IO: retrying would never help.
 */
#include "objstore/objstore_local.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/testpoint.h"


enum {
    READ_CHUNK = 256 * 1024,
    TEMP_SUFFIX_BYTES = 8, /* random bytes, written as hex */
    /* A concurrent delete may prune the parent directories a put has just
     * created; the put re-creates them this many times before giving up. */
    PUT_ATTEMPTS = 16,
};

/* ---- errors ----------------------------------------------------------- */

/* strerror() may share one buffer between threads; the GNU strerror_r()
 * returns a pointer to static text or to buf. */
typedef struct {
    char buf[128];
} errno_text_buf;

static const char *errno_text(int errnum, errno_text_buf *t)
{
    return strerror_r(errnum, t->buf, sizeof t->buf);
}

ak_code ak_local_fail(const ak_store *s, ak_err *err, ak_code code,
                       const char *verb, const char *rel, int errnum)
{
    errno_text_buf t;
    const char *why = errno_text(errnum, &t);
    int at_root = rel[0] == '\0' || strcmp(rel, ".") == 0;
    return ak_err_set(err, code, "cannot %s %s%s%s: %s", verb, ak_local(s)->root,
                      at_root ? "" : "/", at_root ? "" : rel, why);
}

static ak_code not_found(const ak_store *s, const char *key, ak_err *err)
{
    return ak_err_set(err, AK_ERR_NOTFOUND, "object %s not found in %s", key,
                      s->url);
}

/* ELOOP from ak_local_open_dir() or an O_NOFOLLOW open: a link in the way. */
static ak_code link_refused(const ak_store *s, const char *key, ak_err *err)
{
    return ak_err_set(err, AK_ERR_INVALID, "object %s in %s is, or lies below, a symbolic "
                      "link; a local bucket never follows links", key, s->url);
}

/* errno values meaning "no object by that name": it, or a parent, is
 * missing; a parent is an object; the name cannot exist here; or it is a
 * directory, which is never an object. */
static int errno_means_absent(int errnum)
{
    return errnum == ENOENT || errnum == ENOTDIR || errnum == ENAMETOOLONG ||
           errnum == EISDIR;
}

/* See the top of the file: shapes S3 accepts but a file system cannot hold. */
static ak_code put_errno_code(int errnum)
{
    return errnum == ENOTDIR || errnum == EISDIR || errnum == ENAMETOOLONG
               ? AK_ERR_UNSUPPORTED
               : AK_ERR_IO;
}

/* ---- keys and paths --------------------------------------------------- */

int ak_local_is_temp_name(const char *name)
{
    return strncmp(name, AK_LOCAL_TEMP_PREFIX, strlen(AK_LOCAL_TEMP_PREFIX)) == 0;
}

static int key_uses_temp_name(const char *key)
{
    for (const char *seg = key;; seg++) {
        if (ak_local_is_temp_name(seg))
            return 1;
        seg = strchr(seg, '/');
        if (!seg)
            return 0;
    }
}

/* Length of key's parent directory ("a/b/c" -> 3, "c" -> 0). */
static size_t parent_len(const char *key)
{
    const char *slash = strrchr(key, '/');
    return slash ? (size_t)(slash - key) : 0;
}

/* ---- resolving beneath the root -------------------------------------- */

/* fd of directory rel[0..len) ("" is the root itself) below the root,
 * opened one segment at a time with O_NOFOLLOW, so that no symbolic link is
 * ever followed: a link segment fails with ELOOP.  With create, missing
 * segments are made (mkdir -p).  -1 with errno on failure. */
int ak_local_open_dir(const ak_local_store *l, const char *rel, size_t len, int create)
{
    int fd = openat(l->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; fd >= 0 && i < len;) {
        size_t n = strcspn(rel + i, "/");
        if (n > len - i)
            n = len - i;
        char name[NAME_MAX + 1];
        int next = -1, e = ENAMETOOLONG;
        struct stat st;
        if (n > 0 && n <= NAME_MAX) {
            memcpy(name, rel + i, n);
            name[n] = '\0';
            if (create && mkdirat(fd, name, 0755) != 0 && errno != EEXIST)
                e = errno;
            else if ((next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                e = errno == ENOTDIR && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISLNK(st.st_mode)
                        ? ELOOP /* O_DIRECTORY reports a link as ENOTDIR */
                        : errno;
        }
        close(fd);
        fd = next;
        errno = e;
        i += n + 1;
    }
    return fd;
}

/* The directory holding key, opened beneath the root; *name is key's last
 * segment within it. */
static int open_parent(const ak_local_store *l, const char *key, int create, const char **name)
{
    size_t n = parent_len(key);
    *name = n ? key + n + 1 : key;
    return ak_local_open_dir(l, key, n, create);
}

/* ---- get and head ----------------------------------------------------- */

/* A failed lookup of key (errno set): absent, a link, or trouble. */
static ak_code lookup_fail(ak_store *s, const char *key, const char *verb, ak_err *err)
{
    if (errno == ELOOP)
        return link_refused(s, key, err);
    return errno_means_absent(errno) ? not_found(s, key, err)
                                     : ak_local_fail(s, err, AK_ERR_IO, verb, key, errno);
}

/* key's status, its own and its directories' links not followed; only a
 * regular file is an object. */
static ak_code stat_object(ak_store *s, const char *key, struct stat *st, ak_err *err)
{
    const char *name;
    if (key_uses_temp_name(key)) /* a put in progress is not an object */
        return not_found(s, key, err);
    int dfd = open_parent(ak_local(s), key, 0, &name);
    if (dfd < 0)
        return lookup_fail(s, key, "open", err);
    int r = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
    if (r != 0 || S_ISLNK(st->st_mode))
        errno = r != 0 ? errno : ELOOP;
    ak_code rc = r == 0 && !S_ISLNK(st->st_mode) ? AK_OK : lookup_fail(s, key, "stat", err);
    close(dfd);
    if (rc == AK_OK && !S_ISREG(st->st_mode))
        rc = not_found(s, key, err);
    return rc;
}

static ak_code open_object(ak_store *s, const char *key, int *fd_out,
                           ak_err *err)
{
    const char *name;
    struct stat st;
    /* Looked at before it is opened: opening a device planted in the
     * bucket could have side effects. */
    ak_code rc = stat_object(s, key, &st, err);
    if (rc != AK_OK)
        return rc;
    int dfd = open_parent(ak_local(s), key, 0, &name);
    /* O_NONBLOCK: a FIFO swapped in meanwhile must not hang the open; it
     * has no effect on the regular files we go on to read. */
    int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        rc = lookup_fail(s, key, "open", err);
        if (dfd >= 0)
            close(dfd);
        return rc;
    }
    close(dfd);
    if (fstat(fd, &st) != 0) {
        rc = ak_local_fail(s, err, AK_ERR_IO, "stat", key, errno);
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return not_found(s, key, err);
    }
    *fd_out = fd;
    return AK_OK;
}

static ak_code stream_to_sink(ak_store *s, const char *key, int fd,
                              ak_store_sink sink, void *ctx, ak_err *err)
{
    char *chunk = malloc(READ_CHUNK); /* heap: threads may have small stacks */
    if (!chunk)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory reading %s", key);
    ak_code rc = AK_OK;
    for (;;) {
        ssize_t n = read(fd, chunk, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ak_local_fail(s, err, AK_ERR_IO, "read", key, errno);
            break;
        }
        if (n == 0)
            break;
        if (sink(ctx, chunk, (size_t)n) != AK_OK) {
            rc = AK_ERR_ABORTED; /* objstore.c fills err if the sink did not */
            break;
        }
    }
    free(chunk);
    return rc;
}

static ak_code local_get(ak_store *s, const char *key, ak_store_sink sink,
                         void *ctx, ak_err *err)
{
    int fd = -1;
    ak_code rc = open_object(s, key, &fd, err);
    if (rc != AK_OK)
        return rc;
    rc = stream_to_sink(s, key, fd, sink, ctx, err);
    close(fd);
    return rc;
}

static ak_code local_head(ak_store *s, const char *key, ak_store_obj *info,
                          ak_err *err)
{
    struct stat st;
    ak_code rc = stat_object(s, key, &st, err);
    if (rc != AK_OK || !info)
        return rc;
    info->key = strdup(key);
    if (!info->key)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory in head %s", key);
    info->size = (int64_t)st.st_size;
    info->mtime_us = ak_local_mtime_us(&st);
    return AK_OK;
}

/* ---- put -------------------------------------------------------------- */

/* ".akosha-tmp-<16 hex digits>"; tmp has room for
 * sizeof AK_LOCAL_TEMP_PREFIX + 2 * TEMP_SUFFIX_BYTES bytes. */
static ak_code temp_name(ak_store *s, const char *key, char *tmp, ak_err *err)
{
    unsigned char rnd[TEMP_SUFFIX_BYTES];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return ak_local_fail(s, err, AK_ERR_IO, "draw a temp name for", key, errno);
    size_t n = (size_t)sprintf(tmp, "%s", AK_LOCAL_TEMP_PREFIX);
    for (size_t i = 0; i < sizeof rnd; i++)
        n += (size_t)sprintf(tmp + n, "%02x", rnd[i]);
    return AK_OK;
}

/* A new temp file in key's directory (made if missing), locked for the
 * length of the put (see the top of the file); *dfd_out is the directory.
 * A concurrent delete may prune the directories just made, and a sweep may
 * take the temp file for a leftover in the instant before it is locked:
 * either way the put starts over. */
static ak_code create_temp_beside(ak_store *s, const char *key, char *tmp, int *dfd_out,
                                  int *fd_out, ak_err *err)
{
    const char *name;
    struct stat st;
    for (int attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
        int dfd = open_parent(ak_local(s), key, 1, &name);
        if (dfd < 0 && errno == ELOOP)
            return link_refused(s, key, err);
        if (dfd < 0 && errno != ENOENT)
            return ak_local_fail(s, err, put_errno_code(errno), "create the directory of", key, errno);
        if (dfd < 0)
            continue;
        ak_code rc = temp_name(s, key, tmp, err);
        int fd = rc == AK_OK ? openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
        int e = errno;
        if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
            rc = ak_local_fail(s, err, AK_ERR_IO, "lock a temp file for", key, errno);
            unlinkat(dfd, tmp, 0);
        } else if (fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
            *dfd_out = dfd;
            *fd_out = fd;
            return AK_OK;
        } else if (fd < 0 && rc == AK_OK && e != EEXIST && e != ENOENT)
            rc = ak_local_fail(s, err, put_errno_code(e), "create a temp file for", key, e);
        if (fd >= 0)
            close(fd);
        close(dfd);
        if (rc != AK_OK)
            return rc;
    }
    return ak_err_set(err, AK_ERR_IO,
                      "cannot create a temp file for %s in %s: its directory "
                      "kept disappearing", key, ak_local(s)->root);
}

/* Objects from DIRECT_MIN bytes up are written around the page cache
 * (O_DIRECT), through an aligned buffer of at most DIRECT_CHUNK bytes.
 * Why: a pushed batch is ~1 MB staged once and read back at most once
 * (when it is shipped), and copying it into fresh page-cache pages was a
 * fifth of a push's CPU (on a virtual machine every new page also faults
 * in the host).  The last partial block goes through the cache: padding
 * it and cutting the file back made ext4 read that block to zero its
 * tail, and 256 KiB chunks were as many round trips to the disk (a
 * push's stage waited 6 ms where one write takes 1.5).  The fsync that
 * follows makes it durable as before. */
#define DIRECT_MIN ((size_t)256 * 1024)
#define DIRECT_ALIGN ((size_t)4096) /* a multiple of any device's block size */
#define DIRECT_CHUNK ((size_t)8 * 1024 * 1024)

static int pwrite_all(int fd, const char *buf, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, buf, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? (errno = EIO, -1) : -1;
        buf += w, n -= (size_t)w, off += w;
    }
    return 0;
}

/* data[0..len) into the empty file fd: its whole blocks with O_DIRECT,
 * the rest through the cache.  1 when written, 0 when the file system
 * takes no direct I/O (nothing written: write it all through the cache),
 * -1 with errno on an I/O error. */
static int write_direct(int fd, const char *data, size_t len)
{
    size_t body = len & ~(DIRECT_ALIGN - 1);
    size_t chunk = body < DIRECT_CHUNK ? body : DIRECT_CHUNK;
    int fl = fcntl(fd, F_GETFL);
    char *buf = NULL;
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_DIRECT) != 0)
        return 0; /* tmpfs, for one */
    if (posix_memalign((void **)&buf, DIRECT_ALIGN, chunk) != 0) {
        fcntl(fd, F_SETFL, fl);
        return 0;
    }
    int r = 1;
    for (size_t off = 0; r == 1 && off < body; off += chunk) {
        size_t n = body - off < chunk ? body - off : chunk;
        memcpy(buf, data + off, n);
        if (pwrite_all(fd, buf, n, (off_t)off) != 0)
            r = off == 0 && errno == EINVAL ? 0 : -1; /* refused outright: cached */
    }
    int e = errno;
    free(buf);
    if (fcntl(fd, F_SETFL, fl) != 0 && r == 1)
        r = -1, e = errno;
    if (r == 1 && pwrite_all(fd, data + body, len - body, (off_t)body) != 0)
        r = -1, e = errno;
    errno = e;
    return r;
}

static ak_code write_all(ak_store *s, const char *key, int fd,
                         const char *data, size_t len, ak_err *err)
{
    int direct = len >= DIRECT_MIN ? write_direct(fd, data, len) : 0;
    if (direct < 0)
        return ak_local_fail(s, err, AK_ERR_IO, "write a temp file for", key, errno);
    if (direct)
        return AK_OK;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ak_local_fail(s, err, AK_ERR_IO, "write a temp file for", key, errno);
        data += n;
        len -= (size_t)n;
    }
    return AK_OK;
}

/* One put in flight: its temp file, durable, locked, not yet renamed. */
typedef struct {
    const char *key, *name;
    char tmp[sizeof AK_LOCAL_TEMP_PREFIX + 2 * TEMP_SUFFIX_BYTES];
    int dfd, fd; /* the key's directory and the temp file */
} local_pending;

static ak_code put_failed(const char *key, ak_code rc, ak_err *err)
{
    ak_err_prefix(err, "put %s: ", key);
    return rc;
}

/* The temp file is only renamed into place once its content is durable,
 * else a crash could expose a torn object.  On failure nothing is left. */
static ak_code write_temp(ak_store *s, const char *key, const void *data, size_t len,
                          local_pending *p, ak_err *err)
{
    size_t plen = parent_len(key);
    p->key = key;
    p->name = plen ? key + plen + 1 : key;
    p->dfd = p->fd = -1;
    if (key_uses_temp_name(key))
        return ak_err_set(err, AK_ERR_UNSUPPORTED,
                          "object key %s uses the name prefix %s, which the "
                          "local backend reserves for temp files", key,
                          AK_LOCAL_TEMP_PREFIX);
    ak_code rc = create_temp_beside(s, key, p->tmp, &p->dfd, &p->fd, err);
    if (rc != AK_OK)
        return put_failed(key, rc, err);
    rc = write_all(s, key, p->fd, data, len, err);
    if (rc == AK_OK && fsync(p->fd) != 0)
        rc = ak_local_fail(s, err, AK_ERR_IO, "fsync a temp file for", key, errno);
    if (rc == AK_OK) {
        ak_testpoint("store.temp_written"); /* durable, not yet renamed */
        return AK_OK;
    }
    unlinkat(p->dfd, p->tmp, 0);
    close(p->fd);
    close(p->dfd);
    p->fd = p->dfd = -1;
    return put_failed(key, rc, err);
}

/* Renames p's temp file over its key when rc is AK_OK, else removes it, and
 * closes the file (after the rename: the lock marks a put in flight).  The
 * directory stays open for the caller to sync. */
static ak_code rename_temp(ak_store *s, local_pending *p, ak_code rc, ak_err *err)
{
    ak_code mine = AK_OK;
    if (rc == AK_OK && renameat(p->dfd, p->tmp, p->dfd, p->name) != 0)
        mine = ak_local_fail(s, err, put_errno_code(errno), "rename a temp file to", p->key,
                             errno);
    if (rc != AK_OK || mine != AK_OK)
        unlinkat(p->dfd, p->tmp, 0);
    close(p->fd);
    p->fd = -1;
    return mine ? put_failed(p->key, mine, err) : rc;
}

/* A rename is durable once its directory is synced; closes the directory. */
static ak_code sync_dir(ak_store *s, local_pending *p, ak_code rc, ak_err *err)
{
    if (rc == AK_OK && fsync(p->dfd) != 0)
        rc = put_failed(p->key, ak_local_fail(s, err, AK_ERR_IO, "fsync the directory of",
                                              p->key, errno), err);
    close(p->dfd);
    p->dfd = -1;
    return rc;
}

static ak_code local_put(ak_store *s, const char *key, const void *data,
                         size_t len, ak_err *err)
{
    local_pending p;
    ak_code rc = write_temp(s, key, data, len, &p, err);
    if (rc != AK_OK)
        return rc;
    return sync_dir(s, &p, rename_temp(s, &p, AK_OK, err), err);
}

/* Both temp files are written and synced before either is renamed, and
 * the two renames share one directory sync (three fsyncs, not four).  A
 * journaling file system (ext4, xfs) commits one directory's renames in
 * the order they were made, so after a crash the second object exists
 * only if the first does, as with two puts in a row. */
static ak_code local_put2(ak_store *s, const char *key1, const void *data1, size_t len1,
                          const char *key2, const void *data2, size_t len2, ak_err *err)
{
    size_t plen = parent_len(key1);
    if (plen != parent_len(key2) || memcmp(key1, key2, plen) != 0) {
        ak_code rc = local_put(s, key1, data1, len1, err);
        return rc ? rc : local_put(s, key2, data2, len2, err);
    }
    local_pending a, b;
    ak_code rc = write_temp(s, key1, data1, len1, &a, err);
    if (rc != AK_OK)
        return rc;
    ak_code rc2 = write_temp(s, key2, data2, len2, &b, err);
    if (rc2 == AK_OK)
        ak_testpoint("store.pair_written"); /* both durable, neither renamed */
    rc = rename_temp(s, &a, rc2, err);
    if (rc == AK_OK)
        ak_testpoint("store.pair_renamed"); /* the first renamed, not the second */
    if (rc2 == AK_OK) {
        rc = rename_temp(s, &b, rc, err);
        close(b.dfd); /* the same directory as a's */
    }
    return sync_dir(s, &a, rc, err);
}

/* ---- delete ----------------------------------------------------------- */

/* S3 has no directories, so none should outlive its last object.  Stops at
 * the first directory that will not go: usually it is not empty, and any
 * other failure only leaves an empty directory, which list ignores. */
static void prune_empty_parents(ak_store *s, const char *key)
{
    char dir[AK_STORE_KEY_MAX + 1];
    size_t n = parent_len(key);
    memcpy(dir, key, n);
    dir[n] = '\0';
    while (n > 0) {
        const char *name;
        int pfd = open_parent(ak_local(s), dir, 0, &name);
        int gone = pfd >= 0 && unlinkat(pfd, name, AT_REMOVEDIR) == 0;
        if (pfd >= 0)
            close(pfd);
        if (!gone)
            return;
        n = parent_len(dir);
        dir[n] = '\0';
    }
}

/* Only an object is deleted: a link or anything else that is no object is
 * left alone, as absent. */
static ak_code local_delete(ak_store *s, const char *key, ak_err *err)
{
    const char *name;
    struct stat st;
    if (key_uses_temp_name(key)) /* never an object; may be a put in flight */
        return AK_OK;
    int dfd = open_parent(ak_local(s), key, 0, &name), e = errno;
    if (dfd >= 0) {
        e = 0;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            unlinkat(dfd, name, 0) != 0)
            e = errno;
        close(dfd);
    }
    if (e == ELOOP)
        return link_refused(s, key, err);
    if (e && !errno_means_absent(e))
        return ak_local_fail(s, err, AK_ERR_IO, "delete", key, e);
    /* Also when the object was already gone: that heals an earlier delete
     * that was interrupted before it pruned. */
    prune_empty_parents(s, key);
    return AK_OK;
}

/* ---- open and close --------------------------------------------------- */

static void local_close(ak_store *s)
{
    ak_local_store *l = s->backend;
    if (!l)
        return;
    close(l->root_fd);
    free(l->root);
    free(l);
}

static const ak_store_ops local_ops = {
    .list = ak_local_list,
    .get = local_get,
    .put = local_put,
    .put2 = local_put2,
    .head = local_head,
    .del = local_delete,
    .close = local_close,
    .temps = ak_local_temps,
};

static ak_code open_root(const char *root, char **real_out, int *fd_out,
                         ak_err *err)
{
    errno_text_buf t;
    char *real = realpath(root, NULL);
    if (!real)
        return errno == ENOENT || errno == ENOTDIR
                   ? ak_err_set(err, AK_ERR_NOTFOUND,
                                "store directory %s does not exist", root)
                   : ak_err_set(err, AK_ERR_IO,
                                "cannot resolve store directory %s: %s", root,
                                errno_text(errno, &t));
    int fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        ak_code rc = errno == ENOTDIR
                         ? ak_err_set(err, AK_ERR_NOTFOUND,
                                      "store directory %s does not exist (it "
                                      "is not a directory)", root)
                         : ak_err_set(err, AK_ERR_IO,
                                      "cannot open store directory %s: %s",
                                      root, errno_text(errno, &t));
        free(real);
        return rc;
    }
    *real_out = real;
    *fd_out = fd;
    return AK_OK;
}

ak_code ak_store_local_open(const char *root, ak_store **out, ak_err *err)
{
    char *real = NULL;
    int fd = -1;
    *out = NULL;
    ak_code rc = open_root(root, &real, &fd, err);
    if (rc != AK_OK)
        return rc;
    char *url;
    if (asprintf(&url, "file://%s", real) < 0)
        url = NULL;
    ak_store *s = calloc(1, sizeof *s);
    ak_local_store *l = calloc(1, sizeof *l);
    if (!url || !s || !l) {
        close(fd);
        free(real);
        free(url);
        free(l);
        free(s);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory opening %s", root);
    }
    *l = (ak_local_store){.root_fd = fd, .root = real};
    *s = (ak_store){.ops = &local_ops, .url = url, .backend = l};
    *out = s;
    return AK_OK;
}
