/* datadir.c - see datadir.h. */
#include "storage/datadir.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/shard.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strlist.h"

#define FORMAT_VERSION 1
#define FORMAT_FILE "akosha.json"

struct ak_datadir {
    char *path;
    uint32_t shards;
    int lock_fd; /* -1 until ak_datadir_lock() */
    ak_progress_fn progress; /* ak_datadir_set_progress */
    void *progress_ctx;
};

void ak_datadir_set_progress(ak_datadir *dd, ak_progress_fn fn, void *ctx)
{
    dd->progress = fn;
    dd->progress_ctx = ctx;
}

ak_code ak_mkdirs(const char *path, ak_err *err)
{
    char tmp[AK_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return ak_err_set(err, AK_ERR_INVALID, "path too long: %.64s...", path);
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return ak_err_set(err, AK_ERR_IO, "cannot create directory %s: %s", tmp,
                                  strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return AK_OK;
}

static ak_code read_format(const char *file, uint32_t *shards, ak_err *err)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return errno == ENOENT ? AK_ERR_NOTFOUND
                               : ak_err_set(err, AK_ERR_IO, "%s: %s", file, strerror(errno));
    char text[4096];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root;
    int64_t fmt = 0, sh = 0;
    ak_code rc = doc ? ak_json_parse(doc, text, n, &root, err) : AK_ERR_NOMEM;
    if (rc == AK_OK && (!ak_json_int64(ak_json_get(root, "format"), &fmt) ||
                        !ak_json_int64(ak_json_get(root, "shards"), &sh) || sh < 1 ||
                        sh > AK_MAX_SHARDS))
        rc = ak_err_set(err, AK_ERR_CORRUPT, "%s: expected {\"format\": 1, \"shards\": N}", file);
    else if (rc == AK_OK && fmt != FORMAT_VERSION)
        rc = ak_err_set(err, AK_ERR_UNSUPPORTED, "%s: data format %lld is not supported",
                        file, (long long)fmt);
    else if (rc)
        ak_err_prefix(err, "%s: ", file);
    ak_json_doc_free(doc);
    if (rc == AK_OK)
        *shards = (uint32_t)sh;
    return rc;
}

static ak_code write_format(const char *file, uint32_t shards, ak_err *err)
{
    char tmp[AK_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ak_err_set(err, AK_ERR_IO, "%s: %s", tmp, strerror(errno));
    int ok = fprintf(f, "{\"format\": %d, \"shards\": %u}\n", FORMAT_VERSION, shards) > 0;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, file) != 0)
        return ak_err_set(err, AK_ERR_IO, "%s: %s", file, strerror(errno));
    return AK_OK;
}

static ak_code settle_shards(const char *path, int create, uint32_t *shards, ak_err *err)
{
    char file[AK_PATH_MAX];
    if (snprintf(file, sizeof file, "%s/%s", path, FORMAT_FILE) >= (int)sizeof file)
        return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
    uint32_t have = 0;
    ak_code rc = read_format(file, &have, err);
    if (rc == AK_OK) {
        if (*shards && *shards != have)
            return ak_err_set(err, AK_ERR_INVALID,
                              "%s was written with %u shards; it cannot be opened with %u",
                              path, have, *shards);
        *shards = have;
        return AK_OK;
    }
    if (rc != AK_ERR_NOTFOUND)
        return rc;
    if (!create)
        return ak_err_set(err, AK_ERR_NOTFOUND,
                          "%s is not an Akosha data directory (no %s; run akosha ingest first)",
                          path, FORMAT_FILE);
    if (!*shards)
        *shards = AK_DEFAULT_SHARDS;
    return write_format(file, *shards, err);
}

ak_code ak_datadir_open(const char *path, int create, uint32_t shards,
                        ak_datadir **out, ak_err *err)
{
    struct stat sb;
    if (shards > AK_MAX_SHARDS)
        return ak_err_set(err, AK_ERR_INVALID, "shard count must be 1 to %d", AK_MAX_SHARDS);
    if (stat(path, &sb) != 0) {
        if (!create)
            return ak_err_set(err, AK_ERR_NOTFOUND, "data directory %s does not exist", path);
        ak_code rc = ak_mkdirs(path, err);
        if (rc)
            return rc;
    } else if (!S_ISDIR(sb.st_mode)) {
        return ak_err_set(err, AK_ERR_INVALID, "%s is not a directory", path);
    }
    ak_code rc = settle_shards(path, create, &shards, err);
    if (rc)
        return rc;
    ak_datadir *dd = calloc(1, sizeof *dd);
    if (!dd || !(dd->path = strdup(path))) {
        free(dd);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    dd->shards = shards;
    dd->lock_fd = -1;
    *out = dd;
    return AK_OK;
}

#define LOCK_FILE "akosha.lock"

ak_code ak_datadir_lock(ak_datadir *dd, int exclusive, ak_err *err)
{
    char path[AK_PATH_MAX];
    if (dd->lock_fd >= 0)
        return ak_err_set(err, AK_ERR_INTERNAL, "the data directory is locked already");
    if (snprintf(path, sizeof path, "%s/" LOCK_FILE, dd->path) >= (int)sizeof path)
        return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return ak_err_set(err, AK_ERR_IO, "%s: %s", path, strerror(errno));
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return ak_err_set(err, AK_ERR_BUSY, "%s is in use by %s", dd->path,
                              exclusive ? "another akosha process (serve, ingest or age)"
                                        : "akosha reingest");
        return ak_err_set(err, AK_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
    }
    dd->lock_fd = fd;
    return AK_OK;
}

void ak_datadir_close(ak_datadir *dd)
{
    if (dd) {
        if (dd->lock_fd >= 0)
            close(dd->lock_fd);
        free(dd->path);
        free(dd);
    }
}

const char *ak_datadir_path(const ak_datadir *dd) { return dd->path; }
uint32_t ak_datadir_shards(const ak_datadir *dd) { return dd->shards; }

ak_code ak_datadir_db_path(const ak_datadir *dd, const char *system_id, char *out,
                           size_t n, ak_err *err)
{
    const char *why;
    char rel[AK_SYSTEM_ID_MAX + 32];
    if (!ak_id_system_valid(system_id, &why))
        return ak_err_set(err, AK_ERR_INVALID, "system id \"%.100s\" %s", system_id, why);
    if (ak_shard_db_relpath(system_id, dd->shards, rel, sizeof rel) < 0)
        return ak_err_set(err, AK_ERR_INTERNAL, "path too long");
    int k = snprintf(out, n, "%s/%s", dd->path, rel);
    if (k < 0 || (size_t)k >= n)
        return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
    return AK_OK;
}

ak_code ak_datadir_open_system(const ak_datadir *dd, const char *system_id, int create,
                               ak_sysdb **out, ak_err *err)
{
    char path[AK_PATH_MAX];
    ak_code rc = ak_datadir_db_path(dd, system_id, path, sizeof path, err);
    if (rc)
        return rc;
    if (create) {
        char *slash = strrchr(path, '/');
        *slash = '\0';
        rc = ak_mkdirs(path, err);
        *slash = '/';
        if (rc)
            return rc;
    }
    return ak_sysdb_open(path, create, out, err);
}

/* Is name (in a shard directory, under the split directory prefix or "")
 * the database of a system of this shard, in the one place shard.h puts
 * it?  Then its id goes into id (size AK_SYSTEM_ID_MAX + 1). */
static int system_file(const ak_datadir *dd, uint32_t shard, const char *prefix,
                       const char *name, char *id)
{
    size_t len = strlen(name), plen = strlen(prefix);
    if (len < 4 || strcmp(name + len - 3, ".db") != 0 || plen + len - 3 > AK_SYSTEM_ID_MAX)
        return 0;
    snprintf(id, AK_SYSTEM_ID_MAX + 1, "%s%.*s", prefix, (int)(len - 3), name);
    size_t idlen = strlen(id);
    int placed_right = plen ? idlen > AK_SHARD_STEM_MAX : idlen <= AK_SHARD_STEM_MAX;
    return placed_right && ak_id_system_valid(id, NULL) && ak_shard_of(id, dd->shards) == shard;
}

/* A split directory ("<first AK_SHARD_SPLIT characters>~", see shard.h)? */
static int split_dir(const char *name)
{
    size_t len = strlen(name);
    return len == AK_SHARD_SPLIT + 1 && name[len - 1] == '~';
}

/* Add the systems stored in dir (a shard directory, or with a prefix one of
 * its split directories) to l. */
static ak_code scan_dir(const ak_datadir *dd, uint32_t shard, const char *dir,
                        const char *prefix, ak_strlist *l, ak_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? AK_OK
                               : ak_err_set(err, AK_ERR_IO, "%s: %s", dir, strerror(errno));
    ak_code rc = AK_OK;
    struct dirent *e;
    while (rc == AK_OK && (e = readdir(d))) {
        char id[AK_SYSTEM_ID_MAX + 1];
        if (!*prefix && split_dir(e->d_name)) {
            char sub[AK_PATH_MAX], pre[AK_SHARD_SPLIT + 1];
            snprintf(pre, sizeof pre, "%.*s", AK_SHARD_SPLIT, e->d_name);
            if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= (int)sizeof sub)
                rc = ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
            else
                rc = scan_dir(dd, shard, sub, pre, l, err);
        } else if (system_file(dd, shard, prefix, e->d_name, id)) {
            rc = ak_strlist_add(l, id, err);
        } else if (strlen(e->d_name) > 3 && !strcmp(e->d_name + strlen(e->d_name) - 3, ".db")) {
            AK_WARN("datadir", "%s/%s does not belong in this shard; ignored", dir, e->d_name);
        }
    }
    closedir(d);
    return rc;
}

static void shard_lists_free(ak_strlist *l, uint32_t n)
{
    for (uint32_t s = 0; s < n; s++)
        ak_strlist_free(&l[s]);
    free(l);
}

/* Every shard listed first, so a progress line knows the total. */
static ak_code list_all(const ak_datadir *dd, ak_strlist **out, int64_t *total, ak_err *err)
{
    ak_strlist *l = calloc(dd->shards, sizeof *l);
    ak_code rc = l ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    *total = 0;
    for (uint32_t s = 0; rc == AK_OK && s < dd->shards; s++) {
        char dir[AK_PATH_MAX], name[32];
        ak_shard_dirname(s, name, sizeof name);
        if (snprintf(dir, sizeof dir, "%s/%s", dd->path, name) >= (int)sizeof dir)
            rc = ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
        else
            rc = scan_dir(dd, s, dir, "", &l[s], err);
        ak_strlist_sort(&l[s]);
        *total += (int64_t)l[s].n;
    }
    if (rc && l) {
        shard_lists_free(l, dd->shards);
        l = NULL;
    }
    *out = l;
    return rc;
}

ak_code ak_datadir_each_system(const ak_datadir *dd, ak_system_fn fn, void *ctx, ak_err *err)
{
    ak_strlist *l;
    int64_t done = 0, total;
    ak_code rc = list_all(dd, &l, &total, err);
    for (uint32_t s = 0; rc == AK_OK && s < dd->shards; s++)
        for (size_t i = 0; rc == AK_OK && i < l[s].n; i++) {
            char path[AK_PATH_MAX];
            rc = ak_datadir_db_path(dd, l[s].v[i], path, sizeof path, err);
            if (rc == AK_OK)
                rc = fn(ctx, l[s].v[i], s, path);
            if (rc == AK_OK && dd->progress)
                dd->progress(dd->progress_ctx, ++done, total);
        }
    if (l)
        shard_lists_free(l, dd->shards);
    return rc;
}
