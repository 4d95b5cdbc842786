/*
 * objstore_local_walk.c - the local backend's directory walks: listing in
 * S3's key order (pages, delimiter, continuation token) and the sweep for
 * temp files of killed puts.  See objstore_local.c for how a bucket maps to
 * a directory; neither walk ever follows a symbolic link.
 */
#include "objstore/objstore_local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"

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
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || ak_local_is_temp_name(name))
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
    int fd = ak_local_open_dir(ak_local(w->s), w->path.len ? w->path.data : "", w->path.len, 0);
    if (fd < 0 && errno == ELOOP)
        warn_link(w, rel);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
                   ? AK_OK
                   : ak_local_fail(w->s, w->err, AK_ERR_IO, "open directory", rel, errno);
    if (!(d->dir = fdopendir(fd))) {
        ak_code rc = ak_local_fail(w->s, w->err, AK_ERR_IO, "read directory", rel, errno);
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
        rc = ak_local_fail(w->s, w->err, AK_ERR_IO, "read directory", rel, errno);
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
    p->objs[p->n_objs++] = (ak_store_obj){key, (int64_t)st->st_size, ak_local_mtime_us(st)};
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
ak_code ak_local_list(ak_store *s, const char *prefix, const char *delimiter,
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
                             : ak_local_fail(w->s, w->err, AK_ERR_IO, "delete", w->path.data, errno);
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
        return ak_local_fail(w->s, w->err, AK_ERR_IO, "read directory", w->path.len ? w->path.data : ".",
                       errno);
    }
    ak_code rc = AK_OK;
    struct dirent *e;
    while (rc == AK_OK && (e = readdir(dir)) != NULL) {
        int kind = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0
                       ? KIND_OTHER
                       : entry_kind(dirfd(dir), e);
        size_t base = w->path.len;
        if (kind == KIND_FILE && ak_local_is_temp_name(e->d_name)) {
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

ak_code ak_local_temps(ak_store *s, const char *prefix, int remove, ak_store_temp_fn fn,
                           void *ctx, size_t *found, ak_err *err)
{
    temp_sweep w = {.s = s, .err = err, .remove = remove, .fn = fn, .ctx = ctx};
    int dfd = ak_local_open_dir(ak_local(s), prefix, strlen(prefix), 0);
    if (dfd < 0) /* no such directory holds nothing; one through a link is not ours */
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
                   ? AK_OK
                   : ak_local_fail(s, err, AK_ERR_IO, "open directory", prefix, errno);
    ak_code rc = ak_buf_puts(&w.path, prefix) == AK_OK
                     ? sweep_dir(&w, dfd)
                     : (close(dfd), ak_err_set(err, AK_ERR_NOMEM, "out of memory sweeping %s", s->url));
    ak_buf_free(&w.path);
    *found = w.found;
    return rc;
}
