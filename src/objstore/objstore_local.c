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
 *    one, never a partial one.  Temp names are never listed, and a key using
 *    one is refused, so a put in progress can neither be read nor deleted.
 *    The put holds an flock on its temp file until the rename: a temp file
 *    nobody holds is the leftover of a killed put, which local_temps() may
 *    find and remove (ak_store_temps()).
 *  - S3 has no directories: put creates parents, delete removes the ones it
 *    leaves empty, and a directory holding no object is invisible to list.
 *  - Listing returns keys in byte order of the whole key.  Within a
 *    directory that means sorting a subdirectory "a" as "a/", which puts it
 *    after "a-b" and "a.b" but before "a0".
 *  - Keys the file system cannot hold although S3 could (a segment longer
 *    than NAME_MAX, "a/b" while object "a" exists, or the reverse) fail with
 *    AK_ERR_UNSUPPORTED, not AK_ERR_IO: retrying would never help.
 */
#include "objstore/objstore_impl.h"

#include <dirent.h>
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

#define TEMP_PREFIX ".akosha-tmp-"

enum {
    READ_CHUNK = 256 * 1024,
    TEMP_SUFFIX_BYTES = 8, /* random bytes, written as hex */
    /* A concurrent delete may prune the parent directories a put has just
     * created; the put re-creates them this many times before giving up. */
    PUT_ATTEMPTS = 16,
};

typedef struct {
    int root_fd;
    char *root; /* realpath of the bucket directory, for messages */
} local_store;

static local_store *local(const ak_store *s) { return s->backend; }

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

/* "cannot <verb> <root>/<rel>: <errno text>"; rel "" or "." is the root. */
static ak_code fs_fail(const ak_store *s, ak_err *err, ak_code code,
                       const char *verb, const char *rel, int errnum)
{
    errno_text_buf t;
    const char *why = errno_text(errnum, &t);
    int at_root = rel[0] == '\0' || strcmp(rel, ".") == 0;
    return ak_err_set(err, code, "cannot %s %s%s%s: %s", verb, local(s)->root,
                      at_root ? "" : "/", at_root ? "" : rel, why);
}

static ak_code not_found(const ak_store *s, const char *key, ak_err *err)
{
    return ak_err_set(err, AK_ERR_NOTFOUND, "object %s not found in %s", key,
                      s->url);
}

/* ELOOP from open_dir_beneath() or an O_NOFOLLOW open: a link in the way. */
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

static int is_temp_name(const char *name)
{
    return strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0;
}

static int key_uses_temp_name(const char *key)
{
    for (const char *seg = key;; seg++) {
        if (is_temp_name(seg))
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
static int open_dir_beneath(const local_store *l, const char *rel, size_t len, int create)
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
static int open_parent(const local_store *l, const char *key, int create, const char **name)
{
    size_t n = parent_len(key);
    *name = n ? key + n + 1 : key;
    return open_dir_beneath(l, key, n, create);
}

static int64_t mtime_us(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000 + st->st_mtim.tv_nsec / 1000;
}

/* ---- get and head ----------------------------------------------------- */

/* A failed lookup of key (errno set): absent, a link, or trouble. */
static ak_code lookup_fail(ak_store *s, const char *key, const char *verb, ak_err *err)
{
    if (errno == ELOOP)
        return link_refused(s, key, err);
    return errno_means_absent(errno) ? not_found(s, key, err)
                                     : fs_fail(s, err, AK_ERR_IO, verb, key, errno);
}

/* key's status, its own and its directories' links not followed; only a
 * regular file is an object. */
static ak_code stat_object(ak_store *s, const char *key, struct stat *st, ak_err *err)
{
    const char *name;
    if (key_uses_temp_name(key)) /* a put in progress is not an object */
        return not_found(s, key, err);
    int dfd = open_parent(local(s), key, 0, &name);
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
    int dfd = open_parent(local(s), key, 0, &name);
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
        rc = fs_fail(s, err, AK_ERR_IO, "stat", key, errno);
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
            rc = fs_fail(s, err, AK_ERR_IO, "read", key, errno);
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
    info->mtime_us = mtime_us(&st);
    return AK_OK;
}

/* ---- put -------------------------------------------------------------- */

/* ".akosha-tmp-<16 hex digits>"; tmp has room for
 * sizeof TEMP_PREFIX + 2 * TEMP_SUFFIX_BYTES bytes. */
static ak_code temp_name(ak_store *s, const char *key, char *tmp, ak_err *err)
{
    unsigned char rnd[TEMP_SUFFIX_BYTES];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return fs_fail(s, err, AK_ERR_IO, "draw a temp name for", key, errno);
    size_t n = (size_t)sprintf(tmp, "%s", TEMP_PREFIX);
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
        int dfd = open_parent(local(s), key, 1, &name);
        if (dfd < 0 && errno == ELOOP)
            return link_refused(s, key, err);
        if (dfd < 0 && errno != ENOENT)
            return fs_fail(s, err, put_errno_code(errno), "create the directory of", key, errno);
        if (dfd < 0)
            continue;
        ak_code rc = temp_name(s, key, tmp, err);
        int fd = rc == AK_OK ? openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
        int e = errno;
        if (fd >= 0 && flock(fd, LOCK_EX) != 0)
            rc = fs_fail(s, err, AK_ERR_IO, "lock a temp file for", key, errno);
        else if (fd >= 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
            *dfd_out = dfd;
            *fd_out = fd;
            return AK_OK;
        } else if (fd < 0 && rc == AK_OK && e != EEXIST && e != ENOENT)
            rc = fs_fail(s, err, put_errno_code(e), "create a temp file for", key, e);
        if (fd >= 0)
            close(fd);
        close(dfd);
        if (rc != AK_OK)
            return rc;
    }
    return ak_err_set(err, AK_ERR_IO,
                      "cannot create a temp file for %s in %s: its directory "
                      "kept disappearing", key, local(s)->root);
}

static ak_code write_all(ak_store *s, const char *key, int fd,
                         const char *data, size_t len, ak_err *err)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fs_fail(s, err, AK_ERR_IO, "write a temp file for", key, errno);
        data += n;
        len -= (size_t)n;
    }
    return AK_OK;
}

/* The temp file is only renamed into place once its content is durable,
 * else a crash could expose a torn object; the rename is durable once the
 * directory is synced. */
static ak_code local_put(ak_store *s, const char *key, const void *data,
                         size_t len, ak_err *err)
{
    char tmp[sizeof TEMP_PREFIX + 2 * TEMP_SUFFIX_BYTES];
    size_t plen = parent_len(key);
    const char *name = plen ? key + plen + 1 : key;
    int dfd = -1, fd = -1;
    if (key_uses_temp_name(key))
        return ak_err_set(err, AK_ERR_UNSUPPORTED,
                          "object key %s uses the name prefix %s, which the "
                          "local backend reserves for temp files", key,
                          TEMP_PREFIX);
    ak_code rc = create_temp_beside(s, key, tmp, &dfd, &fd, err);
    if (rc != AK_OK)
        return rc;
    rc = write_all(s, key, fd, data, len, err);
    if (rc == AK_OK && fsync(fd) != 0)
        rc = fs_fail(s, err, AK_ERR_IO, "fsync a temp file for", key, errno);
    if (rc == AK_OK)
        ak_testpoint("store.temp_written"); /* durable, not yet renamed */
    if (rc == AK_OK && renameat(dfd, tmp, dfd, name) != 0)
        rc = fs_fail(s, err, put_errno_code(errno), "rename a temp file to", key, errno);
    if (rc != AK_OK)
        unlinkat(dfd, tmp, 0);
    close(fd); /* after the rename: the lock marks a put in flight */
    if (rc == AK_OK && fsync(dfd) != 0)
        rc = fs_fail(s, err, AK_ERR_IO, "fsync the directory of", key, errno);
    close(dfd);
    if (rc != AK_OK)
        ak_err_prefix(err, "put %s: ", key);
    return rc;
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
        int pfd = open_parent(local(s), dir, 0, &name);
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
    int dfd = open_parent(local(s), key, 0, &name), e = errno;
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
        return fs_fail(s, err, AK_ERR_IO, "delete", key, e);
    /* Also when the object was already gone: that heals an earlier delete
     * that was interrupted before it pruned. */
    prune_empty_parents(s, key);
    return AK_OK;
}

/* ---- list ------------------------------------------------------------- */

typedef struct {
    char *name; /* the entry's name, plus "/" for a directory: its sort key */
    int is_dir;
} dir_entry;

typedef struct {
    dir_entry *v;
    size_t n, cap;
    DIR *dir; /* open while its entries are visited; NULL: none */
} dir_entries;

/* A directory walk that fills one page.  path is the directory being read,
 * as a key prefix ("" or "a/b/"); entries are appended to it while visited. */
typedef struct {
    ak_store *s;
    ak_err *err;
    const char *token; /* only entries strictly after it; NULL = from start */
    int delimited;     /* "/" delimiter: do not descend, report prefixes */
    int probe;         /* only find out whether the subtree holds an object */
    size_t max_keys;
    ak_store_page *page;
    size_t objs_cap, prefixes_cap; /* allocated lengths of the page's arrays */
    ak_buf path;
    const char *last; /* last key or prefix put in the page */
    int stop;         /* page complete (or probe answered): walk no further */
    int truncated;    /* stopped with entries left over */
} list_walk;

/* arr, holding n items of elem bytes in room for *cap, grown if needed to
 * take one more.  NULL when out of memory (arr is then left as it was). */
static void *room_for_one_more(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

static ak_code walk_nomem(list_walk *w)
{
    return ak_err_set(w->err, AK_ERR_NOMEM, "out of memory listing %s",
                      w->s->url);
}

static void free_entries(dir_entries *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].name);
    free(d->v);
    if (d->dir)
        closedir(d->dir);
}

static int cmp_entries(const void *a, const void *b)
{
    return strcmp(((const dir_entry *)a)->name, ((const dir_entry *)b)->name);
}

/* Only regular files are objects and only directories hold more; anything
 * else (a socket, an entry deleted meanwhile) is skipped, and a symbolic
 * link is reported as it is skipped.  d_type saves the stat where the file
 * system provides it. */
enum { KIND_OTHER, KIND_FILE, KIND_DIR, KIND_LINK };

static int entry_kind(int dir_fd, const struct dirent *e)
{
    struct stat st;
    switch (e->d_type) {
    case DT_REG: return KIND_FILE;
    case DT_DIR: return KIND_DIR;
    case DT_LNK: return KIND_LINK;
    case DT_UNKNOWN: break;
    default: return KIND_OTHER;
    }
    if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return KIND_OTHER;
    return S_ISREG(st.st_mode)   ? KIND_FILE
           : S_ISDIR(st.st_mode) ? KIND_DIR
           : S_ISLNK(st.st_mode) ? KIND_LINK
                                 : KIND_OTHER;
}

static void warn_link(const list_walk *w, const char *rel)
{
    if (!w->probe) /* the walk that lists the entry says it once */
        AK_WARN("objstore", "%s: skipping %s: a symbolic link, which a local bucket never "
                "follows", w->s->url, rel);
}

/* A name that cannot be part of a valid key is not listed: the caller could
 * not get it anyway. */
static int name_is_listable(const char *name)
{
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || is_temp_name(name))
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static ak_code add_entry(list_walk *w, dir_entries *d, const char *name, int is_dir)
{
    dir_entry *v = room_for_one_more(d->v, &d->cap, d->n, sizeof *v);
    if (!v)
        return walk_nomem(w);
    d->v = v;
    size_t len = strlen(name);
    char *sort_key = malloc(len + 2);
    if (!sort_key)
        return walk_nomem(w);
    memcpy(sort_key, name, len);
    memcpy(sort_key + len, is_dir ? "/" : "", is_dir ? 2 : 1);
    d->v[d->n++] = (dir_entry){sort_key, is_dir};
    return AK_OK;
}

/* The objects and subdirectories of w->path whose names start with
 * name_prefix, sorted in key order; d->dir stays open for the visit.  A
 * directory that does not exist (never did, or a delete just pruned it) is
 * simply empty, and so is one reached through a link. */
static ak_code read_dir(list_walk *w, const char *name_prefix, dir_entries *d)
{
    const char *rel = w->path.len ? w->path.data : ".";
    size_t plen = strlen(name_prefix);
    int fd = open_dir_beneath(local(w->s), w->path.len ? w->path.data : "", w->path.len, 0);
    if (fd < 0 && errno == ELOOP)
        warn_link(w, rel);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
                   ? AK_OK
                   : fs_fail(w->s, w->err, AK_ERR_IO, "open directory", rel, errno);
    if (!(d->dir = fdopendir(fd))) {
        ak_code rc = fs_fail(w->s, w->err, AK_ERR_IO, "read directory", rel, errno);
        close(fd);
        return rc;
    }
    ak_code rc = AK_OK;
    struct dirent *e;
    while (rc == AK_OK && (errno = 0, e = readdir(d->dir)) != NULL) {
        if (strncmp(e->d_name, name_prefix, plen) != 0 || !name_is_listable(e->d_name))
            continue;
        int kind = entry_kind(fd, e);
        if (kind == KIND_LINK && !w->probe) {
            size_t base = w->path.len;
            if (ak_buf_puts(&w->path, e->d_name) != AK_OK)
                return walk_nomem(w);
            warn_link(w, w->path.data);
            w->path.len = base;
            w->path.data[base] = '\0';
        } else if (kind == KIND_FILE || kind == KIND_DIR) {
            rc = add_entry(w, d, e->d_name, kind == KIND_DIR);
        }
    }
    if (rc == AK_OK && errno != 0)
        rc = fs_fail(w->s, w->err, AK_ERR_IO, "read directory", rel, errno);
    if (rc == AK_OK && d->n > 1) /* qsort(NULL, 0) is undefined */
        qsort(d->v, d->n, sizeof *d->v, cmp_entries);
    return rc;
}

/* Room for one more entry?  If not, another entry exists beyond the page:
 * that is what makes the page truncated, so no empty last page is served. */
static int page_has_room(list_walk *w)
{
    if (w->page->n_objs + w->page->n_prefixes < w->max_keys)
        return 1;
    w->truncated = 1;
    w->stop = 1;
    return 0;
}

static ak_code emit_object(list_walk *w, const struct stat *st)
{
    ak_store_page *p = w->page;
    if (!page_has_room(w))
        return AK_OK;
    ak_store_obj *objs = room_for_one_more(p->objs, &w->objs_cap, p->n_objs,
                                           sizeof *objs);
    if (!objs)
        return walk_nomem(w);
    p->objs = objs;
    char *key = strdup(w->path.data);
    if (!key)
        return walk_nomem(w);
    p->objs[p->n_objs++] = (ak_store_obj){key, (int64_t)st->st_size, mtime_us(st)};
    w->last = key;
    return AK_OK;
}

static ak_code emit_prefix(list_walk *w)
{
    ak_store_page *p = w->page;
    if (!page_has_room(w))
        return AK_OK;
    char **prefixes = room_for_one_more(p->prefixes, &w->prefixes_cap,
                                        p->n_prefixes, sizeof *prefixes);
    if (!prefixes)
        return walk_nomem(w);
    p->prefixes = prefixes;
    char *prefix = strdup(w->path.data);
    if (!prefix)
        return walk_nomem(w);
    p->prefixes[p->n_prefixes++] = prefix;
    w->last = prefix;
    return AK_OK;
}

static int after_token(const list_walk *w)
{
    return !w->token || strcmp(w->path.data, w->token) > 0;
}

/* Every key below directory prefix "d/" is "d/" + something, so if the token
 * is already past "d/" at a byte inside it, the whole subtree was listed. */
static int subtree_before_token(const list_walk *w)
{
    return w->token && strncmp(w->path.data, w->token, w->path.len) < 0;
}

static ak_code walk_dir(list_walk *w, const char *name_prefix);

static ak_code visit_object(list_walk *w, int dir_fd, const char *name)
{
    struct stat st;
    if (!after_token(w))
        return AK_OK;
    if (w->probe) {
        w->stop = 1;
        return AK_OK;
    }
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
        return AK_OK; /* deleted or replaced since readdir */
    return emit_object(w, &st);
}

/* S3 reports a common prefix only when some object lies below it. */
static ak_code subtree_has_object(list_walk *w, int *found)
{
    list_walk probe = {.s = w->s, .err = w->err, .probe = 1};
    ak_code rc = ak_buf_append(&probe.path, w->path.data, w->path.len);
    if (rc == AK_OK)
        rc = walk_dir(&probe, "");
    else
        rc = walk_nomem(w);
    *found = probe.stop;
    ak_buf_free(&probe.path);
    return rc;
}

static ak_code visit_common_prefix(list_walk *w)
{
    int found;
    if (!after_token(w))
        return AK_OK;
    ak_code rc = subtree_has_object(w, &found);
    if (rc != AK_OK || !found)
        return rc;
    return emit_prefix(w);
}

static ak_code visit_entry(list_walk *w, int dir_fd, const dir_entry *e)
{
    size_t base = w->path.len;
    if (ak_buf_puts(&w->path, e->name) != AK_OK)
        return walk_nomem(w);
    ak_code rc = AK_OK;
    /* Keys longer than the limit are invalid, so not listed (which also
     * bounds the depth of the walk, and the directories it holds open). */
    if (w->path.len > AK_STORE_KEY_MAX)
        rc = AK_OK;
    else if (!e->is_dir)
        rc = visit_object(w, dir_fd, e->name);
    else if (w->delimited)
        rc = visit_common_prefix(w);
    else if (!subtree_before_token(w))
        rc = walk_dir(w, "");
    w->path.len = base;
    w->path.data[base] = '\0';
    return rc;
}

static ak_code walk_dir(list_walk *w, const char *name_prefix)
{
    dir_entries d = {0};
    ak_code rc = read_dir(w, name_prefix, &d);
    for (size_t i = 0; rc == AK_OK && !w->stop && i < d.n; i++)
        rc = visit_entry(w, dirfd(d.dir), &d.v[i]);
    free_entries(&d);
    return rc;
}

/* The prefix's directory part ("systems/" of "systems/sy") is where the walk
 * starts; its last, partial segment filters that directory's names. */
static ak_code local_list(ak_store *s, const char *prefix, const char *delimiter,
                          const char *token, size_t max_keys, ak_store_page *out,
                          ak_err *err)
{
    list_walk w = {.s = s, .err = err, .token = token,
                   .delimited = delimiter != NULL, .max_keys = max_keys,
                   .page = out};
    const char *slash = strrchr(prefix, '/');
    size_t dir_len = slash ? (size_t)(slash - prefix) + 1 : 0;
    ak_code rc = ak_buf_append(&w.path, prefix, dir_len) == AK_OK
                     ? walk_dir(&w, prefix + dir_len)
                     : walk_nomem(&w);
    if (rc == AK_OK && w.truncated && !(out->next_token = strdup(w.last)))
        rc = walk_nomem(&w);
    ak_buf_free(&w.path);
    return rc;
}

/* ---- leftovers of interrupted puts ------------------------------------ */

typedef struct {
    ak_store *s;
    ak_err *err;
    int remove;
    ak_store_temp_fn fn;
    void *ctx;
    size_t found;
    ak_buf path; /* the directory being swept, as a key prefix */
} temp_sweep;

/* A temp file no put holds locked is a leftover.  Its lock is taken before
 * it is deleted, so no put can be writing it meanwhile; a put that renamed
 * it just now leaves another file under the name, or none. */
static ak_code sweep_temp(temp_sweep *w, int dfd, const char *name)
{
    struct stat st, now;
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return AK_OK; /* renamed into place or removed meanwhile */
    int leftover = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                   flock(fd, LOCK_EX | LOCK_NB) == 0 &&
                   fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
                   now.st_ino == st.st_ino && now.st_dev == st.st_dev;
    ak_code rc = AK_OK;
    size_t base = w->path.len;
    if (leftover && ak_buf_puts(&w->path, name) != AK_OK)
        rc = ak_err_set(w->err, AK_ERR_NOMEM, "out of memory sweeping %s", w->s->url);
    else if (leftover && w->remove && unlinkat(dfd, name, 0) != 0)
        rc = errno == ENOENT ? AK_OK
                             : fs_fail(w->s, w->err, AK_ERR_IO, "delete", w->path.data, errno);
    else if (leftover) {
        w->found++;
        if (w->fn)
            w->fn(w->ctx, w->path.data, (int64_t)st.st_size);
    }
    w->path.len = base;
    if (w->path.data)
        w->path.data[base] = '\0';
    close(fd);
    return rc;
}

/* Every directory below dfd (which this closes), links not followed. */
static ak_code sweep_dir(temp_sweep *w, int dfd)
{
    DIR *dir = fdopendir(dfd);
    if (!dir) {
        close(dfd);
        return fs_fail(w->s, w->err, AK_ERR_IO, "read directory", w->path.len ? w->path.data : ".",
                       errno);
    }
    ak_code rc = AK_OK;
    struct dirent *e;
    while (rc == AK_OK && (e = readdir(dir)) != NULL) {
        int kind = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0
                       ? KIND_OTHER
                       : entry_kind(dirfd(dir), e);
        size_t base = w->path.len;
        if (kind == KIND_FILE && is_temp_name(e->d_name)) {
            rc = sweep_temp(w, dirfd(dir), e->d_name);
        } else if (kind == KIND_DIR && base + strlen(e->d_name) < AK_STORE_KEY_MAX) {
            int sub = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0 && ak_buf_printf(&w->path, "%s/", e->d_name) == AK_OK)
                rc = sweep_dir(w, sub);
            else if (sub >= 0) {
                close(sub);
                rc = ak_err_set(w->err, AK_ERR_NOMEM, "out of memory sweeping %s", w->s->url);
            }
            w->path.len = base;
            if (w->path.data)
                w->path.data[base] = '\0';
        }
    }
    closedir(dir);
    return rc;
}

static ak_code local_temps(ak_store *s, const char *prefix, int remove, ak_store_temp_fn fn,
                           void *ctx, size_t *found, ak_err *err)
{
    temp_sweep w = {.s = s, .err = err, .remove = remove, .fn = fn, .ctx = ctx};
    int dfd = open_dir_beneath(local(s), prefix, strlen(prefix), 0);
    if (dfd < 0) /* no such directory holds nothing; one through a link is not ours */
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
                   ? AK_OK
                   : fs_fail(s, err, AK_ERR_IO, "open directory", prefix, errno);
    ak_code rc = ak_buf_puts(&w.path, prefix) == AK_OK
                     ? sweep_dir(&w, dfd)
                     : (close(dfd), ak_err_set(err, AK_ERR_NOMEM, "out of memory sweeping %s", s->url));
    ak_buf_free(&w.path);
    *found = w.found;
    return rc;
}

/* ---- open and close --------------------------------------------------- */

static void local_close(ak_store *s)
{
    local_store *l = s->backend;
    if (!l)
        return;
    close(l->root_fd);
    free(l->root);
    free(l);
}

static const ak_store_ops local_ops = {
    .list = local_list,
    .get = local_get,
    .put = local_put,
    .head = local_head,
    .del = local_delete,
    .close = local_close,
    .temps = local_temps,
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
    local_store *l = calloc(1, sizeof *l);
    if (!url || !s || !l) {
        close(fd);
        free(real);
        free(url);
        free(l);
        free(s);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory opening %s", root);
    }
    *l = (local_store){.root_fd = fd, .root = real};
    *s = (ak_store){.ops = &local_ops, .url = url, .backend = l};
    *out = s;
    return AK_OK;
}
