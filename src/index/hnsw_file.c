/*
 * hnsw_file.c - the graph on disk: one file, mapped back as it was written.
 *
 * Layout (little-endian, every section aligned to 64 bytes):
 *
 *   header   64 bytes: magic "AKHNSW\0\1", version, dim, M, M0, n, entry,
 *            max_level, n_deleted, upper_len, user_len, crc32, file size
 *   user     user_len bytes the caller keeps with the graph
 *   level    n bytes           scale     n float32
 *   upper_off n uint32         del       (n + 63) / 64 uint64
 *   l0       n * (M0 + 1) uint32
 *   upper    upper_len uint32  vec       n * dim int8
 *
 * The CRC-32 covers every byte but its own field.  Loading maps the file
 * privately (writes by later deletions stay in memory, copy-on-write) and
 * checks every count and link before the graph is used, so no byte of the
 * file can steer a search out of bounds.  The check reads every page; the
 * links and vectors are then released (ak_hnsw_release_pages), so what
 * stays resident is what searches touch, not the whole file.
 *
 * A server start does not wait for either pass over the file (0.36 s at
 * 1M vectors, growing with the graph): ak_hnsw_load_lazy() checks only
 * the header and the sizes, the caller runs the link check
 * (ak_hnsw_check) before the graph is searched or grown, which the graph
 * itself enforces, and the CRC-32 (ak_hnsw_file_sum) whenever it likes.
 */
#include "index/hnsw_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/buf.h"
#include "util/filebytes.h"
#include "util/testpoint.h"

#define MAGIC "AKHNSW\0\1"
#define VERSION 1
#define HEADER 64
#define CRC_AT 52

typedef struct {
    uint32_t n, entry, max_level, n_deleted, user_len;
    uint64_t upper_len;
} header;

typedef struct {
    size_t user, level, scale, upper_off, del, l0, upper, vec, end;
} layout;

static void plan(const header *hd, layout *L)
{
    size_t n = hd->n;
    L->user = HEADER;
    L->level = ak_align64(L->user + hd->user_len);
    L->scale = ak_align64(L->level + n);
    L->upper_off = ak_align64(L->scale + n * 4);
    L->del = ak_align64(L->upper_off + n * 4);
    L->l0 = ak_align64(L->del + (n + 63) / 64 * 8);
    L->upper = ak_align64(L->l0 + n * L0_WORDS * 4);
    L->vec = ak_align64(L->upper + hd->upper_len * 4);
    L->end = L->vec + n * AK_DIM;
}

static uint32_t file_crc(const unsigned char *p, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, p, CRC_AT);
    for (size_t off = CRC_AT + 4; off < len;) {
        size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
        c = crc32(c, p + off, (uInt)chunk);
        off += chunk;
    }
    return (uint32_t)c;
}

/* ---- saving ---- */

static ak_code write_all(int fd, const void *p, size_t len, size_t *at, ak_err *err)
{
    const unsigned char *b = p;
    while (len) {
        ssize_t w = write(fd, b, len > (1u << 30) ? (1u << 30) : len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ak_err_set(err, AK_ERR_IO, "writing the index: %s", strerror(errno));
        b += w;
        len -= (size_t)w;
        *at += (size_t)w;
    }
    return AK_OK;
}

ak_code ak_hnsw_save(const ak_hnsw *h, const char *path, const void *user, size_t user_len,
                     ak_err *err)
{
    if (user_len > UINT32_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "index user data too large");
    header hd = {h->n, h->entry, h->max_level, h->n_deleted, (uint32_t)user_len, h->upper_len};
    layout L;
    plan(&hd, &L);
    unsigned char *buf = malloc(L.end); /* built whole so the CRC is one pass */
    if (!buf)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory saving the index");
    memset(buf, 0, L.end);
    memcpy(buf, MAGIC, 8);
    ak_put32(buf + 8, VERSION);
    ak_put32(buf + 12, AK_DIM);
    ak_put32(buf + 16, AK_HNSW_M);
    ak_put32(buf + 20, AK_HNSW_M0);
    ak_put32(buf + 24, hd.n);
    ak_put32(buf + 28, hd.entry);
    ak_put32(buf + 32, hd.max_level);
    ak_put32(buf + 36, hd.n_deleted);
    ak_put64(buf + 40, hd.upper_len);
    ak_put32(buf + 48, hd.user_len);
    ak_put64(buf + 56, L.end);
    size_t n = h->n;
    if (user_len)
        memcpy(buf + L.user, user, user_len);
    if (n) {
        memcpy(buf + L.level, h->level, n);
        memcpy(buf + L.scale, h->scale, n * 4);
        memcpy(buf + L.upper_off, h->upper_off, n * 4);
        memcpy(buf + L.del, h->del, (n + 63) / 64 * 8);
        memcpy(buf + L.l0, h->l0, n * L0_WORDS * 4);
        memcpy(buf + L.vec, h->vec, n * AK_DIM);
    }
    if (h->upper_len)
        memcpy(buf + L.upper, h->upper, h->upper_len * 4);
    ak_put32(buf + CRC_AT, file_crc(buf, L.end));

    char tmp[4096];
    if (ak_fmt(tmp, sizeof tmp, "%s.tmp", path)) {
        free(buf);
        return ak_err_set(err, AK_ERR_INVALID, "index path too long");
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(buf);
        return ak_err_set(err, AK_ERR_IO, "%s: %s", tmp, strerror(errno));
    }
    size_t at = 0;
    ak_code rc = write_all(fd, buf, L.end, &at, err);
    free(buf);
    if (rc == AK_OK && fsync(fd) != 0)
        rc = ak_err_set(err, AK_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == AK_OK)
        rc = ak_err_set(err, AK_ERR_IO, "%s: close: %s", tmp, strerror(errno));
    if (rc == AK_OK)
        ak_testpoint("vindex.saved_tmp"); /* written and synced, not yet in place */
    if (rc == AK_OK && rename(tmp, path) != 0)
        rc = ak_err_set(err, AK_ERR_IO, "%s: rename: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

/* ---- loading ---- */

static ak_code corrupt(ak_err *err, const char *what)
{
    return ak_err_set(err, AK_ERR_CORRUPT, "index file: %s", what);
}

/* The header and the sizes; the CRC-32 too when sum. */
static ak_code read_header(const unsigned char *p, size_t len, int sum, header *hd, layout *L,
                           ak_err *err)
{
    if (len < HEADER || memcmp(p, MAGIC, 8) != 0)
        return corrupt(err, "not an Akosha vector index (bad magic)");
    if (ak_get32(p + 8) != VERSION)
        return corrupt(err, "unknown version");
    if (ak_get32(p + 12) != AK_DIM || ak_get32(p + 16) != AK_HNSW_M || ak_get32(p + 20) != AK_HNSW_M0)
        return corrupt(err, "built with other dimensions or links");
    hd->n = ak_get32(p + 24);
    hd->entry = ak_get32(p + 28);
    hd->max_level = ak_get32(p + 32);
    hd->n_deleted = ak_get32(p + 36);
    hd->upper_len = ak_get64(p + 40);
    hd->user_len = ak_get32(p + 48);
    /* bound the counts by the length before planning, so nothing overflows */
    if (hd->n > len / AK_DIM || hd->upper_len > len / 4 || hd->user_len > len)
        return corrupt(err, "counts larger than the file");
    plan(hd, L);
    if (ak_get64(p + 56) != len || L->end != len)
        return corrupt(err, "truncated or of the wrong size");
    if (sum && ak_get32(p + CRC_AT) != file_crc(p, len))
        return corrupt(err, "checksum mismatch");
    return AK_OK;
}

/* Every link of node i on level lvl names a node that has that level. */
static int links_ok(const ak_hnsw *h, uint32_t i, uint32_t lvl)
{
    const uint32_t *l = ak_hnsw_links(h, i, lvl);
    if (l[0] > (lvl ? AK_HNSW_M : AK_HNSW_M0))
        return 0;
    for (uint32_t k = 1; k <= l[0]; k++)
        if (l[k] >= h->n || h->level[l[k]] < lvl)
            return 0;
    return 1;
}

static ak_code check_graph(const ak_hnsw *h, ak_err *err)
{
    uint32_t dels = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        if (h->level[i] > AK_HNSW_MAX_LEVEL ||
            (uint64_t)h->upper_off[i] + (uint64_t)h->level[i] * UP_WORDS > h->upper_len)
            return corrupt(err, "a node's levels are out of range");
        if (!isfinite(h->scale[i]))
            return corrupt(err, "a vector scale is not finite");
        dels += (uint32_t)ak_hnsw_is_deleted(h, i);
    }
    for (uint32_t i = h->n; i % 64; i++)
        if (ak_hnsw_is_deleted(h, i))
            return corrupt(err, "deletion marks past the last node");
    if (dels != h->n_deleted)
        return corrupt(err, "deletion count does not match the marks");
    if (h->n == 0 ? h->entry != NO_NODE || h->max_level != 0
                  : h->entry >= h->n || h->level[h->entry] != h->max_level)
        return corrupt(err, "bad entry point");
    for (uint32_t i = 0; i < h->n; i++)
        for (uint32_t l = 0; l <= h->level[i]; l++)
            if (!links_ok(h, i, l))
                return corrupt(err, "a link names a missing node");
    return AK_OK;
}

ak_code ak_hnsw_check(ak_hnsw *h, ak_err *err)
{
    /* a search reads the flag beside this write: atomic; the check itself
     * only reads, as searches do (and they do not walk until it passes) */
    ak_code rc = atomic_load(&h->unchecked) ? check_graph(h, err) : AK_OK;
    if (rc == AK_OK)
        atomic_store(&h->unchecked, 0);
    return rc;
}

/* Take ownership of a private writable mapping of a whole file image;
 * lazy: check only the header and the sizes (ak_hnsw_check() later). */
static ak_code adopt(void *map, size_t len, int lazy, ak_hnsw **out, void **user,
                     size_t *user_len, ak_err *err)
{
    unsigned char *p = map;
    header hd = {0};
    layout L = {0};
    ak_code rc = read_header(p, len, !lazy, &hd, &L, err);
    ak_hnsw *h = rc ? NULL : calloc(1, sizeof *h);
    if (!rc && !h)
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc) {
        munmap(map, len);
        return rc;
    }
    *h = (ak_hnsw){.n = hd.n, .cap = hd.n, .entry = hd.entry, .max_level = hd.max_level,
                   .n_deleted = hd.n_deleted, .level = p + L.level,
                   .scale = (float *)(void *)(p + L.scale),
                   .upper_off = (uint32_t *)(void *)(p + L.upper_off),
                   .del = (uint64_t *)(void *)(p + L.del), .l0 = (uint32_t *)(void *)(p + L.l0),
                   .vec = (int8_t *)(p + L.vec), .upper = (uint32_t *)(void *)(p + L.upper),
                   .upper_len = hd.upper_len, .upper_cap = hd.upper_len, .map = map,
                   .map_len = len, .rng = 0x9e3779b97f4a7c15ull ^ hd.n};
    atomic_store(&h->unchecked, 1);
    if (!lazy)
        rc = ak_hnsw_check(h, err);
    if (rc == AK_OK && user) {
        *user_len = hd.user_len;
        if (!(*user = malloc(hd.user_len ? hd.user_len : 1)))
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        else
            memcpy(*user, p + L.user, hd.user_len);
    }
    if (rc) {
        ak_hnsw_free(h);
        return rc;
    }
    *out = h;
    return AK_OK;
}

void ak_hnsw_release_pages(const ak_hnsw *h)
{
    if (!h->map || !h->n)
        return;
    /* l0, upper and vec are the file's tail; del (which deletions write,
     * copy-on-write) ends before l0 begins, so rounding up keeps it */
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)h->l0 + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    uintptr_t end = (uintptr_t)h->map + h->map_len;
    if (from < end)
        madvise((void *)from, end - from, MADV_DONTNEED);
}

/* Map the file at path; *fd gets its descriptor (or it is closed when fd
 * is NULL). */
static ak_code load(const char *path, int lazy, ak_hnsw **out, void **user, size_t *user_len,
                    int *fd_out, ak_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ak_err_set(err, errno == ENOENT ? AK_ERR_NOTFOUND : AK_ERR_IO, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < HEADER) {
        close(fd);
        return ak_err_set(err, AK_ERR_CORRUPT, "%s: truncated index file", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return ak_err_set(err, AK_ERR_IO, "%s: mmap: %s", path, strerror(errno));
    }
    ak_code rc = adopt(map, (size_t)st.st_size, lazy, out, user, user_len, err);
    if (rc || !fd_out)
        close(fd);
    if (rc)
        return ak_err_prefix(err, "%s: ", path);
    if (fd_out)
        *fd_out = fd;
    if (!lazy)
        ak_hnsw_release_pages(*out); /* the checks read them all */
    return AK_OK;
}

ak_code ak_hnsw_load(const char *path, ak_hnsw **out, void **user, size_t *user_len,
                     ak_err *err)
{
    return load(path, 0, out, user, user_len, NULL, err);
}

ak_code ak_hnsw_load_lazy(const char *path, ak_hnsw **out, void **user, size_t *user_len,
                          int *fd, ak_err *err)
{
    return load(path, 1, out, user, user_len, fd, err);
}

ak_code ak_hnsw_file_sum(int fd, ak_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ak_err_set(err, AK_ERR_IO, "index file: fstat: %s", strerror(errno));
    if (st.st_size < HEADER)
        return corrupt(err, "truncated");
    size_t len = (size_t)st.st_size;
    unsigned char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return ak_err_set(err, AK_ERR_IO, "index file: mmap: %s", strerror(errno));
    madvise(p, len, MADV_SEQUENTIAL);
    header hd;
    layout L;
    ak_code rc = read_header(p, len, 1, &hd, &L, err);
    munmap(p, len); /* what the CRC read is not kept resident */
    return rc;
}

ak_code ak_hnsw_from_bytes(const void *data, size_t size, int lazy, ak_hnsw **out, void **user,
                           size_t *user_len, ak_err *err)
{
    if (size < HEADER)
        return corrupt(err, "truncated");
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    memcpy(map, data, size);
    return adopt(map, size, lazy, out, user, user_len, err);
}
