/*
 * segfile.c - see segfile.h.
 *
 * Layout (little-endian, sections aligned to 64 bytes):
 *
 *   header  160 bytes: magic "AKSEG\0\0\1", version, dim, n, n_hot,
 *           n_warm_end, id length, ids bytes, device, inode, epoch, file
 *           size, the database's hot, warm and cold rows, crc32 (of
 *           everything but itself, the floats and the file state), crc32
 *           of the floats; then the file state (ak_segfile_fs: six
 *           uint64) and its own crc32, rewritten in place when a start
 *           finds the file current under another file state
 *   sid     the system id         q       n * dim int8
 *   qscale  n float32             ts      n int64
 *   rowid   n int64               id_off  n + 1 uint32
 *   ids     NUL-separated ids     f       n_hot * dim float32
 *
 * Mapping checks the sizes, the checksum and every id offset, so no byte
 * of the file can make a scan read outside it; then it lets the pages go
 * (MADV_DONTNEED): the checksum touched them all, and only what searches
 * touch should stay resident.  The floats are checked by `akosha verify`
 * only: reading 1,536 bytes a vector at every start is what this file is
 * there to avoid, and a search reads them with pread(), never through the
 * map.
 */
#include "query/segfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "storage/datadir.h"
#include "util/afile.h"
#include "util/buf.h"
#include "util/filebytes.h"

#define MAGIC "AKSEG\0\0\1"
#define VERSION 2
#define HEADER 160
#define CRC_AT 96 /* two crc32: of the rest, of the floats */
#define FS_AT 104 /* the file state, outside both: rewritten in place */
#define FS_CRC_AT (FS_AT + 48)

typedef struct {
    uint32_t n, n_hot, n_warm_end, sid_len;
    uint64_t ids_len, dev, ino, epoch, size, rows[3];
} header;

typedef struct {
    size_t sid, q, qscale, ts, rowid, id_off, ids, f, end;
} layout;

static void plan(const header *hd, layout *L)
{
    size_t n = hd->n;
    L->sid = HEADER;
    L->q = ak_align64(L->sid + hd->sid_len);
    L->qscale = ak_align64(L->q + n * AK_DIM);
    L->ts = ak_align64(L->qscale + n * 4);
    L->rowid = ak_align64(L->ts + n * 8);
    L->id_off = ak_align64(L->rowid + n * 8);
    L->ids = ak_align64(L->id_off + (n + 1) * 4);
    L->f = ak_align64(L->ids + hd->ids_len);
    L->end = L->f + (size_t)hd->n_hot * AK_DIM * 4;
}

static uLong crc_more(uLong c, const void *p, size_t len)
{
    const unsigned char *b = p;
    while (len) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, b, chunk);
        b += chunk;
        len -= chunk;
    }
    return c;
}

ak_code ak_segfile_path(const char *db_path, char *out, size_t n, ak_err *err)
{
    if (ak_fmt(out, n, "%s-seg", db_path))
        return ak_err_set(err, AK_ERR_INVALID, "%s: path too long", db_path);
    return AK_OK;
}

/* ---- writing ---- */

typedef struct {
    ak_afile f;
    size_t at;
    uLong crc;
    int in_crc;
} writer;

static ak_code put(writer *w, const void *p, size_t len, ak_err *err)
{
    if (w->in_crc)
        w->crc = crc_more(w->crc, p, len);
    w->at += len;
    return ak_afile_write(&w->f, p, len, err);
}

/* Zeros up to offset `to`, then len bytes of p. */
static ak_code section(writer *w, size_t to, const void *p, size_t len, ak_err *err)
{
    static const unsigned char zero[64];
    ak_code rc = AK_OK;
    while (rc == AK_OK && w->at < to)
        rc = put(w, zero, to - w->at < 64 ? to - w->at : 64, err);
    return rc == AK_OK && len ? put(w, p, len, err) : rc;
}

static void encode_header(unsigned char *h, const header *hd)
{
    memset(h, 0, HEADER);
    memcpy(h, MAGIC, 8);
    ak_put32(h + 8, VERSION);
    ak_put32(h + 12, AK_DIM);
    ak_put32(h + 16, hd->n);
    ak_put32(h + 20, hd->n_hot);
    ak_put32(h + 24, hd->n_warm_end);
    ak_put32(h + 28, hd->sid_len);
    ak_put64(h + 32, hd->ids_len);
    ak_put64(h + 40, hd->dev);
    ak_put64(h + 48, hd->ino);
    ak_put64(h + 56, hd->epoch);
    ak_put64(h + 64, hd->size);
    for (int t = 0; t < 3; t++)
        ak_put64(h + 72 + 8 * t, hd->rows[t]);
}

static void encode_fs(unsigned char *h, const ak_segfile_fs *fs)
{
    const uint64_t v[6] = {fs->db.size, fs->db.mtime_ns, fs->db.ctime_ns,
                           fs->wal.size, fs->wal.mtime_ns, fs->wal.ctime_ns};
    for (int i = 0; i < 6; i++)
        ak_put64(h + FS_AT + 8 * i, v[i]);
    ak_put32(h + FS_CRC_AT, (uint32_t)crc32(crc32(0L, Z_NULL, 0), h + FS_AT, 48));
}

/* The file state in the header; all zero when none was recorded or its
 * bytes are damaged (then the file is merely not trusted unopened). */
static void decode_fs(const unsigned char *h, ak_segfile_fs *fs)
{
    memset(fs, 0, sizeof *fs);
    if (ak_get32(h + FS_CRC_AT) != (uint32_t)crc32(crc32(0L, Z_NULL, 0), h + FS_AT, 48))
        return;
    uint64_t *v[6] = {&fs->db.size, &fs->db.mtime_ns, &fs->db.ctime_ns,
                      &fs->wal.size, &fs->wal.mtime_ns, &fs->wal.ctime_ns};
    for (int i = 0; i < 6; i++)
        *v[i] = ak_get64(h + FS_AT + 8 * i);
}

static ak_code write_body(writer *w, const ak_segment *s, const layout *L, ak_err *err)
{
    size_t n = s->n;
    ak_code rc = section(w, L->sid, s->system_id, strlen(s->system_id), err);
    if (rc == AK_OK)
        rc = section(w, L->q, s->q, n * AK_DIM, err);
    if (rc == AK_OK)
        rc = section(w, L->qscale, s->qscale, n * 4, err);
    if (rc == AK_OK)
        rc = section(w, L->ts, s->ts, n * 8, err);
    if (rc == AK_OK)
        rc = section(w, L->rowid, s->rowid, n * 8, err);
    if (rc == AK_OK)
        rc = section(w, L->id_off, s->id_off, (n + 1) * 4, err);
    if (rc == AK_OK)
        rc = section(w, L->ids, s->ids, s->id_off[n] + 1, err);
    return rc == AK_OK ? section(w, L->f, NULL, 0, err) : rc; /* the padding is checksummed */
}

static ak_code write_floats(writer *w, const ak_segment *s, const layout *L, ak_err *err)
{
    (void)L;
    ak_code rc = AK_OK;
    float row[AK_DIM];
    for (uint32_t r = 0; rc == AK_OK && r < s->n_hot; r++)
        rc = ak_segment_hot_vector(s, r, row) ? put(w, row, sizeof row, err)
                                              : ak_err_set(err, AK_ERR_IO, "reading row %u", r);
    return rc;
}

ak_code ak_segfile_write(const ak_segment *s, const ak_segfile_stamp *st,
                         const ak_segfile_fs *fs, const char *path, ak_err *err)
{
    header hd = {s->n, s->n_hot, s->n_warm_end, (uint32_t)strlen(s->system_id),
                 (uint64_t)s->id_off[s->n] + 1, st->dev, st->ino, st->epoch, 0,
                 {st->rows[0], st->rows[1], st->rows[2]}};
    layout L;
    plan(&hd, &L);
    hd.size = L.end;
    unsigned char h[HEADER];
    encode_header(h, &hd);
    writer w = {.crc = crc32(0L, Z_NULL, 0)};
    ak_code rc = ak_afile_begin(&w.f, path, err);
    if (rc)
        return rc;
    w.crc = crc_more(w.crc, h, CRC_AT);
    w.at = HEADER; /* the header goes last, with the checksums */
    if (lseek(w.f.fd, HEADER, SEEK_SET) != HEADER)
        rc = ak_err_set(err, AK_ERR_IO, "%s: seek: %s", path, strerror(errno));
    w.in_crc = 1;
    if (rc == AK_OK)
        rc = write_body(&w, s, &L, err);
    uint32_t crc = (uint32_t)w.crc;
    w.crc = crc32(0L, Z_NULL, 0);
    if (rc == AK_OK)
        rc = write_floats(&w, s, &L, err);
    ak_put32(h + CRC_AT, crc);
    ak_put32(h + CRC_AT + 4, (uint32_t)w.crc);
    encode_fs(h, fs);
    if (rc == AK_OK && pwrite(w.f.fd, h, HEADER, 0) != HEADER)
        rc = ak_err_set(err, AK_ERR_IO, "%s: write: %s", path, strerror(errno));
    if (rc) {
        ak_afile_abort(&w.f);
        return rc;
    }
    return ak_afile_commit(&w.f, "segfile.saved_tmp", err);
}

/* ---- reading ---- */

static ak_code corrupt(ak_err *err, const char *what)
{
    return ak_err_set(err, AK_ERR_CORRUPT, "segment file: %s", what);
}

/* The checksum of everything but itself, the floats and the file state. */
static uint32_t body_crc(const unsigned char *p, const layout *L)
{
    return (uint32_t)crc_more(crc_more(crc32(0L, Z_NULL, 0), p, CRC_AT), p + HEADER, L->f - HEADER);
}

static ak_code read_header(const unsigned char *p, size_t len, int sum, header *hd, layout *L,
                           ak_err *err)
{
    if (len < HEADER || memcmp(p, MAGIC, 8) != 0)
        return corrupt(err, "not an Akosha segment file (bad magic)");
    if (ak_get32(p + 8) == 1) /* before the row counts and file state */
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "segment file: stale (an older format)");
    if (ak_get32(p + 8) != VERSION || ak_get32(p + 12) != AK_DIM)
        return corrupt(err, "unknown version or dimensions");
    *hd = (header){ak_get32(p + 16), ak_get32(p + 20), ak_get32(p + 24), ak_get32(p + 28), ak_get64(p + 32),
                   ak_get64(p + 40), ak_get64(p + 48), ak_get64(p + 56), ak_get64(p + 64),
                   {ak_get64(p + 72), ak_get64(p + 80), ak_get64(p + 88)}};
    /* bound the counts by the length before planning, so nothing overflows */
    if (hd->n > len / AK_DIM || hd->ids_len > len || hd->sid_len > AK_SYSTEM_ID_MAX ||
        hd->n_hot > hd->n_warm_end || hd->n_warm_end > hd->n)
        return corrupt(err, "counts larger than the file");
    plan(hd, L);
    if (hd->size != len || L->end != len)
        return corrupt(err, "truncated or of the wrong size");
    if (sum && ak_get32(p + CRC_AT) != body_crc(p, L))
        return corrupt(err, "checksum mismatch");
    return AK_OK;
}

/* Every id offset inside the ids, ascending, the ids NUL-terminated. */
static ak_code check_ids(const unsigned char *p, const header *hd, const layout *L, ak_err *err)
{
    const unsigned char *off = p + L->id_off;
    uint32_t prev = 0;
    for (uint32_t i = 0; i <= hd->n; i++) {
        uint32_t o = ak_get32(off + (size_t)i * 4);
        if (o < prev || o >= hd->ids_len)
            return corrupt(err, "conversation id offsets out of order or range");
        prev = o;
    }
    if (hd->ids_len == 0 || p[L->ids + hd->ids_len - 1] != '\0')
        return corrupt(err, "conversation ids not terminated");
    return AK_OK;
}

ak_code ak_segfile_check_bytes(const void *data, size_t size, ak_err *err)
{
    header hd;
    layout L;
    ak_code rc = read_header(data, size, 1, &hd, &L, err);
    return rc ? rc : check_ids(data, &hd, &L, err);
}

static int stamp_eq(const header *hd, const ak_segfile_stamp *st)
{
    return hd->dev == st->dev && hd->ino == st->ino && hd->epoch == st->epoch;
}

/* Open and map path read-only; *fd stays open for pread of the floats. */
static ak_code map_file(const char *path, int *fd, unsigned char **map, size_t *len, ak_err *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return ak_err_set(err, errno == ENOENT ? AK_ERR_NOTFOUND : AK_ERR_IO, "%s: %s", path,
                          strerror(errno));
    struct stat sb;
    if (fstat(*fd, &sb) != 0 || sb.st_size < HEADER) {
        close(*fd);
        return ak_err_set(err, AK_ERR_CORRUPT, "%s: segment file: truncated", path);
    }
    *len = (size_t)sb.st_size;
    void *m = mmap(NULL, *len, PROT_READ, MAP_SHARED, *fd, 0);
    if (m == MAP_FAILED) {
        close(*fd);
        return ak_err_set(err, AK_ERR_IO, "%s: mmap: %s", path, strerror(errno));
    }
    *map = m;
    return AK_OK;
}

/* The checks common to map and verify: header, checksum, ids, the system
 * and the database state. */
static ak_code check_mapped(const unsigned char *p, size_t len, const char *system_id,
                            const ak_segfile_stamp *want, int sum, header *hd, layout *L,
                            ak_err *err)
{
    ak_code rc = read_header(p, len, sum, hd, L, err);
    if (rc == AK_OK)
        rc = check_ids(p, hd, L, err);
    if (rc == AK_OK && (hd->sid_len != strlen(system_id) ||
                        memcmp(p + L->sid, system_id, hd->sid_len) != 0))
        rc = corrupt(err, "written for another system");
    if (rc == AK_OK && want && !stamp_eq(hd, want))
        rc = ak_err_set(err, AK_ERR_UNSUPPORTED,
                        "segment file: stale (the database changed since it was written)");
    return rc;
}

/* The arrays after the int8 vectors (scales, times, row ids, conversation
 * ids) are read a row at a time: a search reads them for its candidates and
 * results, scattered over every system's file.  Without this each such read
 * maps the 64 KB around it (the kernel's fault-around), which at 1M vectors
 * made ~85 MB of segment pages resident for a few hundred searches.  The
 * int8 vectors keep fault-around: scans read them in order. */
static void random_rows(unsigned char *p, size_t len, size_t from)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t at = from / page * page;
    if (at < len)
        madvise(p + at, len - at, MADV_RANDOM);
}

/* The float32 vectors are read with pread, never through the map; but a
 * fault on the row arrays just before them maps its neighbours (the
 * kernel's fault-around, up to 64 KB, MADV_RANDOM or not) and those are
 * float pages whenever the re-rank's pread brought them into the page
 * cache: at 200k vectors over 1,000 files, ~60 KB per file a search
 * touched, ~50 MB of floats resident after a few hundred searches.  So the
 * floats are unmapped: the map ends at the page holding their start.
 * Returns the length still mapped. */
static size_t mapped_prefix(unsigned char *p, size_t len, size_t floats_at)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t keep = (floats_at + page - 1) / page * page;
    if (keep >= len || munmap(p + keep, len - keep) != 0)
        return len;
    return keep;
}

static ak_code map_segment(const char *path, const char *system_id, const ak_segfile_stamp *want,
                           int sum, ak_segment **out, ak_segfile_info *info, ak_err *err)
{
    int fd;
    unsigned char *p;
    size_t len;
    header hd;
    layout L;
    ak_code rc = map_file(path, &fd, &p, &len, err);
    if (rc)
        return rc;
    rc = check_mapped(p, len, system_id, want, sum, &hd, &L, err);
    madvise(p, len, MADV_DONTNEED); /* the checks touched every page: let them go */
    ak_segment *s = rc ? NULL : calloc(1, sizeof *s);
    if (rc == AK_OK && !s)
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc) {
        munmap(p, len);
        close(fd);
        return ak_err_prefix(err, "%s: ", path);
    }
    if (info) {
        info->st = (ak_segfile_stamp){hd.dev, hd.ino, hd.epoch, {hd.rows[0], hd.rows[1], hd.rows[2]}};
        decode_fs(p, &info->fs);
    }
    ak_segment_init(s, system_id);
    s->n = s->cap = s->tail = hd.n;
    s->n_hot = hd.n_hot;
    s->n_warm_end = hd.n_warm_end;
    s->q = (int8_t *)(p + L.q);
    s->qscale = (float *)(void *)(p + L.qscale);
    s->ts = (int64_t *)(void *)(p + L.ts);
    s->rowid = (int64_t *)(void *)(p + L.rowid);
    s->id_off = (uint32_t *)(void *)(p + L.id_off);
    s->ids = (char *)(p + L.ids);
    s->ids_cap = s->ids_tail = hd.ids_len;
    s->map = p;
    s->map_len = mapped_prefix(p, len, L.f);
    random_rows(p, s->map_len, L.qscale);
    s->fd = fd;
    s->f_off = L.f;
    s->bytes = L.f; /* at most; the floats are never mapped in */
    *out = s;
    return AK_OK;
}

ak_code ak_segfile_map(const char *path, const char *system_id, const ak_segfile_stamp *want,
                       ak_segment **out, ak_segfile_info *info, ak_err *err)
{
    return map_segment(path, system_id, want, 1, out, info, err);
}

ak_code ak_segfile_map_unsummed(const char *path, const char *system_id,
                                const ak_segfile_stamp *want, ak_segment **out,
                                ak_segfile_info *info, ak_err *err)
{
    return map_segment(path, system_id, want, 0, out, info, err);
}

ak_code ak_segfile_sum(const ak_segment *s, ak_err *err)
{
    const unsigned char *p = s->map;
    header hd;
    layout L;
    struct stat sb;
    if (!p)
        return AK_OK;
    /* the header is checked against the file's length: the map stops
     * before the floats (mapped_prefix), which the checksum leaves out */
    ak_code rc = fstat(s->fd, &sb) != 0 ? ak_err_set(err, AK_ERR_IO, "segment file: fstat: %s",
                                                     strerror(errno))
                                        : read_header(p, (size_t)sb.st_size, 1, &hd, &L, err);
    madvise(s->map, s->map_len, MADV_DONTNEED); /* only what searches touch stays */
    return rc;
}

ak_code ak_segfile_check(const char *path, const char *system_id,
                         const ak_segfile_stamp *want, ak_err *err)
{
    int fd;
    unsigned char *p;
    size_t len;
    header hd;
    layout L;
    ak_code rc = map_file(path, &fd, &p, &len, err);
    if (rc)
        return rc;
    rc = check_mapped(p, len, system_id, want, 1, &hd, &L, err);
    if (rc == AK_OK &&
        ak_get32(p + CRC_AT + 4) != (uint32_t)crc_more(crc32(0L, Z_NULL, 0), p + L.f, len - L.f))
        rc = corrupt(err, "checksum mismatch in the float32 vectors");
    munmap(p, len);
    close(fd);
    return rc ? ak_err_prefix(err, "%s: ", path) : AK_OK;
}

/* ---- the file state (segfile.h) ---- */

static void fstat_of(const char *path, ak_segfile_fstat *out)
{
    struct stat sb;
    memset(out, 0, sizeof *out);
    if (stat(path, &sb) != 0)
        return;
    out->size = (uint64_t)sb.st_size;
    out->mtime_ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec;
    out->ctime_ns = (uint64_t)sb.st_ctim.tv_sec * 1000000000u + (uint64_t)sb.st_ctim.tv_nsec;
}

void ak_segfile_fs_of(const char *db_path, int64_t t0_ns, ak_segfile_fs *out)
{
    char wal[AK_PATH_MAX];
    memset(out, 0, sizeof *out);
    if (ak_fmt(wal, sizeof wal, "%s-wal", db_path))
        return;
    fstat_of(db_path, &out->db);
    fstat_of(wal, &out->wal);
    /* SQLite run as root chowns the WAL to the database's owner at every
     * open, which sets its ctime: only its size and mtime say a write */
    out->wal.ctime_ns = 0;
    uint64_t settled = t0_ns > AK_SEGFILE_SETTLE_NS ? (uint64_t)(t0_ns - AK_SEGFILE_SETTLE_NS) : 0;
    if (t0_ns > 0 && (out->db.mtime_ns >= settled || out->wal.mtime_ns >= settled))
        memset(out, 0, sizeof *out);
}

int ak_segfile_fs_same(const ak_segfile_fs *a, const ak_segfile_fs *b)
{
    return a->db.mtime_ns != 0 && memcmp(a, b, sizeof *a) == 0;
}

ak_code ak_segfile_peek(const char *path, ak_segfile_info *info, ak_err *err)
{
    unsigned char h[HEADER];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ak_err_set(err, errno == ENOENT ? AK_ERR_NOTFOUND : AK_ERR_IO, "%s: %s", path,
                          strerror(errno));
    ssize_t got = pread(fd, h, HEADER, 0);
    close(fd);
    if (got != HEADER || memcmp(h, MAGIC, 8) != 0)
        return ak_err_set(err, AK_ERR_CORRUPT, "%s: segment file: not one, or truncated", path);
    if (ak_get32(h + 8) != VERSION)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "%s: segment file: another format", path);
    info->st = (ak_segfile_stamp){ak_get64(h + 40), ak_get64(h + 48), ak_get64(h + 56),
                                  {ak_get64(h + 72), ak_get64(h + 80), ak_get64(h + 88)}};
    decode_fs(h, &info->fs);
    return AK_OK;
}

ak_code ak_segfile_restamp(const char *path, const ak_segfile_fs *fs, ak_err *err)
{
    unsigned char h[HEADER] = {0};
    encode_fs(h, fs);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return ak_err_set(err, AK_ERR_IO, "%s: %s", path, strerror(errno));
    ssize_t put = pwrite(fd, h + FS_AT, HEADER - FS_AT, FS_AT);
    int saved = errno;
    close(fd);
    return put == HEADER - FS_AT ? AK_OK
                                 : ak_err_set(err, AK_ERR_IO, "%s: write: %s", path, strerror(saved));
}
