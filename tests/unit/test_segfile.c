/*
 * test_segfile.c - segment files (src/query/segfile.c): a segment written
 * and mapped back has the same rows, ids and exact scores (float32 read
 * from the file); a file from another database state is stale, one of
 * another system refused; every flipped byte outside the float section,
 * every truncation and random garbage is refused as corrupt, never a
 * crash; a flipped float is caught by the full check (verify).
 */
#include "test.h"

#include <fcntl.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "query/segfile.h"

#define N 50

/* A segment of N rows: 30 hot (with float32), 10 warm, 10 cold. */
static ak_segment *make_seg(const char *sid)
{
    ak_segment *s = calloc(1, sizeof *s);
    ak_segment_init(s, sid);
    s->n = s->cap = N;
    s->n_hot = 30;
    s->n_warm_end = 40;
    s->q = malloc(N * AK_DIM);
    s->qscale = malloc(N * sizeof(float));
    s->f = malloc(30 * AK_DIM * sizeof(float));
    s->ts = malloc(N * sizeof(int64_t));
    s->rowid = malloc(N * sizeof(int64_t));
    s->id_off = malloc((N + 1) * sizeof(uint32_t));
    s->ids = malloc(N * 16 + 1);
    uint64_t x = 88172645463325252ull;
    size_t at = 0;
    for (uint32_t i = 0; i < N; i++) {
        float v[AK_DIM];
        for (int d = 0; d < AK_DIM; d++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            v[d] = (float)(x % 2001) / 1000.0f - 1.0f;
        }
        ak_vec_normalize(v);
        if (i < 30)
            memcpy(s->f + (size_t)i * AK_DIM, v, sizeof v);
        ak_vec_quantize(v, s->q + (size_t)i * AK_DIM, &s->qscale[i]);
        s->ts[i] = 1000 + i;
        s->rowid[i] = 7 * i + 1;
        s->id_off[i] = (uint32_t)at;
        at += (size_t)sprintf(s->ids + at, "conv-%u", i) + 1;
    }
    s->id_off[N] = (uint32_t)at;
    s->ids[at] = '\0';
    return s;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*len);
    CHECK(fread(b, 1, *len, f) == *len);
    fclose(f);
    return b;
}

static void spill(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(fwrite(b, 1, len, f) == len);
    fclose(f);
}

static const ak_segfile_stamp stamp = {1, 2, 3, {30, 12, 10}};
static const ak_segfile_fs fs0 = {{0, 0, 0}, {0, 0, 0}};

static void test_round_trip(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/a.db-seg", test_tmpdir());
    ak_segment *s = make_seg("sys-a"), *m = NULL;
    ak_segfile_info info;
    ak_err err;
    CHECK_INT(ak_segfile_write(s, &stamp, &fs0, path, &err), AK_OK);
    CHECK_INT(ak_segfile_map(path, "sys-a", &stamp, &m, &info, &err), AK_OK);
    CHECK(m && m->map && !m->f);
    CHECK_INT(info.st.rows[0], 30);
    CHECK_INT(info.st.rows[2], 10);
    CHECK_INT(info.fs.db.mtime_ns, 0); /* none recorded */
    CHECK_INT(m->n, N);
    CHECK_INT(m->n_hot, 30);
    CHECK_INT(m->n_warm_end, 40);
    CHECK(memcmp(m->q, s->q, N * AK_DIM) == 0);
    CHECK(memcmp(m->rowid, s->rowid, N * sizeof(int64_t)) == 0);
    CHECK(memcmp(m->ts, s->ts, N * sizeof(int64_t)) == 0);
    for (uint32_t i = 0; i < N; i++) {
        CHECK_STR(ak_segment_conv_id(m, i), ak_segment_conv_id(s, i));
        const float *qf = s->f + (size_t)(i % 30) * AK_DIM;
        CHECK(ak_segment_exact(m, i, qf) == ak_segment_exact(s, i, qf));
    }
    CHECK_INT(ak_segfile_check(path, "sys-a", &stamp, &err), AK_OK);
    /* the floats (read with pread, above) are not mapped: a fault on the
     * row arrays cannot bring their pages in; the checksum still checks */
    struct stat sb;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    CHECK(stat(path, &sb) == 0 && m->map_len < (size_t)sb.st_size);
    CHECK(m->map_len >= m->f_off && m->map_len - m->f_off < page);
    CHECK_INT(ak_segfile_sum(m, &err), AK_OK);
    ak_segment_unref(m);
    m = NULL;
    ak_segfile_stamp later = {1, 2, 4, {0, 0, 0}}, other = {1, 9, 3, {0, 0, 0}};
    CHECK_INT(ak_segfile_map(path, "sys-a", &later, &m, NULL, &err), AK_ERR_UNSUPPORTED);
    CHECK_INT(ak_segfile_map(path, "sys-a", &other, &m, NULL, &err), AK_ERR_UNSUPPORTED);
    CHECK_INT(ak_segfile_map(path, "sys-b", &stamp, &m, NULL, &err), AK_ERR_CORRUPT);
    snprintf(path, sizeof path, "%s/none.db-seg", test_tmpdir());
    CHECK_INT(ak_segfile_map(path, "sys-a", &stamp, &m, NULL, &err), AK_ERR_NOTFOUND);
    ak_segment_unref(s);
}

static void test_damage(void)
{
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/d.db-seg", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.db-seg", test_tmpdir());
    ak_segment *s = make_seg("sys-d"), *m = NULL;
    ak_err err;
    CHECK_INT(ak_segfile_write(s, &stamp, &fs0, path, &err), AK_OK);
    size_t len;
    unsigned char *b = slurp(path, &len);
    size_t floats = len - 30 * AK_DIM * sizeof(float);
    /* every flipped byte before the floats but the floats' checksum and
     * the file state (its own checksum: tested below) */
    for (size_t at = 0; at < floats; at += (at < 160 ? 1 : 97)) {
        if (at >= 100 && at < 160)
            continue;
        b[at] ^= 0x20;
        CHECK_INT(ak_segfile_check_bytes(b, len, &err), AK_ERR_CORRUPT);
        b[at] ^= 0x20;
    }
    CHECK_INT(ak_segfile_check_bytes(b, len, &err), AK_OK);
    for (size_t cut = 0; cut < len; cut += 211)
        CHECK_INT(ak_segfile_check_bytes(b, cut, &err), AK_ERR_CORRUPT);
    spill(bad, b, len - 1);
    CHECK_INT(ak_segfile_map(bad, "sys-d", &stamp, &m, NULL, &err), AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, "truncated");
    /* a flipped float: mapping does not read them; the full check does */
    b[floats + 100] ^= 1;
    spill(bad, b, len);
    CHECK_INT(ak_segfile_map(bad, "sys-d", &stamp, &m, NULL, &err), AK_OK);
    ak_segment_unref(m);
    CHECK_INT(ak_segfile_check(bad, "sys-d", &stamp, &err), AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, "float32");
    /* garbage */
    uint64_t x = 2463534242ull;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (unsigned char)x;
    }
    CHECK_INT(ak_segfile_check_bytes(b, len, &err), AK_ERR_CORRUPT);
    memcpy(b, "AKSEG\0\0\1", 8);
    CHECK_INT(ak_segfile_check_bytes(b, len, &err), AK_ERR_CORRUPT);
    free(b);
    ak_segment_unref(s);
}

static void touch_old(const char *path)
{
    struct timespec t[2] = {{1000000000, 0}, {1000000000, 0}}; /* 2001 */
    CHECK(utimensat(AT_FDCWD, path, t, 0) == 0);
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    CHECK(f && fputs(text, f) >= 0);
    fclose(f);
}

/* The database files' state: recorded in place, compared exactly, none
 * when recently written or when its bytes are damaged; a write changes it. */
static void test_file_state(void)
{
    char path[512], db[512], wal[512];
    snprintf(path, sizeof path, "%s/f.db-seg", test_tmpdir());
    snprintf(db, sizeof db, "%s/f.db", test_tmpdir());
    snprintf(wal, sizeof wal, "%s/f.db-wal", test_tmpdir());
    append(db, "database");
    append(wal, "wal");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t t0 = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    ak_segfile_fs fs, again;
    ak_segfile_fs_of(db, t0, &fs);
    CHECK_INT(fs.db.mtime_ns, 0); /* just written: racy, none */
    touch_old(db);
    ak_segfile_fs_of(db, t0, &fs);
    CHECK_INT(fs.db.mtime_ns, 0); /* the WAL still is */
    touch_old(wal);
    ak_segfile_fs_of(db, t0, &fs);
    CHECK(fs.db.mtime_ns && fs.db.size == 8 && fs.wal.size == 3 && fs.db.ctime_ns && !fs.wal.ctime_ns);
    ak_segfile_fs_of(db, 0, &again);
    CHECK(ak_segfile_fs_same(&fs, &again));
    CHECK(!ak_segfile_fs_same(&fs0, &fs0)); /* none is never the same */

    ak_segment *s = make_seg("sys-f"), *m = NULL;
    ak_segfile_info info;
    ak_err err;
    CHECK_INT(ak_segfile_write(s, &stamp, &fs, path, &err), AK_OK);
    CHECK_INT(ak_segfile_peek(path, &info, &err), AK_OK);
    CHECK(ak_segfile_fs_same(&info.fs, &again) && info.st.epoch == 3 && info.st.rows[1] == 12);
    append(wal, "commit"); /* a write: size and times change */
    ak_segfile_fs_of(db, 0, &again);
    CHECK(!ak_segfile_fs_same(&info.fs, &again));
    CHECK_INT(ak_segfile_restamp(path, &again, &err), AK_OK);
    CHECK_INT(ak_segfile_peek(path, &info, &err), AK_OK);
    CHECK(ak_segfile_fs_same(&info.fs, &again));
    CHECK_INT(ak_segfile_check(path, "sys-f", &stamp, &err), AK_OK); /* the rest untouched */
    /* a damaged state is none, and the file still maps */
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0 && pwrite(fd, "x", 1, 110) == 1);
    close(fd);
    CHECK_INT(ak_segfile_peek(path, &info, &err), AK_OK);
    CHECK_INT(info.fs.db.mtime_ns, 0);
    CHECK_INT(ak_segfile_map(path, "sys-f", &stamp, &m, NULL, &err), AK_OK);
    ak_segment_unref(m);
    /* an older format is stale, not damaged */
    fd = open(path, O_RDWR);
    uint32_t v1 = 1;
    CHECK(fd >= 0 && pwrite(fd, &v1, 4, 8) == 4);
    close(fd);
    CHECK_INT(ak_segfile_peek(path, &info, &err), AK_ERR_UNSUPPORTED);
    CHECK_INT(ak_segfile_map(path, "sys-f", &stamp, &m, NULL, &err), AK_ERR_UNSUPPORTED);
    snprintf(path, sizeof path, "%s/none.db-seg", test_tmpdir());
    CHECK_INT(ak_segfile_peek(path, &info, &err), AK_ERR_NOTFOUND);
    ak_segment_unref(s);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_damage);
    RUN(test_file_state);
    return test_report("segfile");
}
