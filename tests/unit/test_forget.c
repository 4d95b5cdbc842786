/* test_forget.c - tombstones (storage/tombstone.c), forgetting a system's
 * files and cold objects (ops/forget.c) and the retention cut
 * (tier/retention.c). */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore/objstore.h"
#include "ops/forget.h"
#include "storage/datadir.h"
#include "storage/syslock.h"
#include "storage/tombstone.h"
#include "tier/cold.h"
#include "tier/retention.h"
#include "util/time.h"

static ak_datadir *open_dd(const char *name)
{
    char p[512];
    ak_datadir *dd = NULL;
    ak_err e;
    snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
    CHECK_OK(ak_datadir_open(p, 1, 0, &dd, &e), e);
    return dd;
}

static void test_tombstones(void)
{
    ak_datadir *dd = open_dd("tomb");
    ak_tomb t;
    ak_err e;
    int resumed = -1;
    CHECK_INT(ak_tomb_get(dd, "a", &t, &e), AK_ERR_NOTFOUND); /* no file yet */
    CHECK_INT(ak_tomb_blocks(dd, "a", 5), 0);
    CHECK_INT(ak_tomb_remove(dd, "a", &e), AK_ERR_NOTFOUND);
    CHECK_OK(ak_tomb_begin(dd, "a", 1000, 0, &t, &resumed, &e), e);
    CHECK_INT(resumed, 0);
    CHECK_INT(t.done, 0);
    CHECK_INT(ak_tomb_blocks(dd, "a", 999999), 1); /* forgetting: everything held */
    CHECK_INT(ak_tomb_blocks(dd, "b", 1), 0);
    /* an interrupted forget resumed: the later time wins, purge sticks */
    CHECK_OK(ak_tomb_begin(dd, "a", 500, 1, &t, &resumed, &e), e);
    CHECK_INT(resumed, 1);
    CHECK_INT(t.at_us, 1000);
    CHECK_INT(t.purge_bucket, 1);
    CHECK_OK(ak_tomb_begin(dd, "a", 2000, 0, &t, &resumed, &e), e);
    CHECK_INT(t.at_us, 2000);
    CHECK_INT(t.purge_bucket, 1);
    CHECK_OK(ak_tomb_finish(dd, "a", 3000, &e), e);
    CHECK_OK(ak_tomb_get(dd, "a", &t, &e), e);
    CHECK_INT(t.done, 1);
    CHECK_INT(t.finished_us, 3000);
    CHECK_INT(ak_tomb_blocks(dd, "a", 2000), 1); /* at the tombstone: held */
    CHECK_INT(ak_tomb_blocks(dd, "a", 2001), 0); /* newer: comes back */
    /* forgetting again after it finished is a new forget, not a resume */
    CHECK_OK(ak_tomb_begin(dd, "a", 4000, 0, &t, &resumed, &e), e);
    CHECK_INT(resumed, 0);
    CHECK_INT(t.done, 0);
    CHECK_OK(ak_tomb_begin(dd, "b", 10, 0, &t, &resumed, &e), e);
    CHECK_OK(ak_tomb_remove(dd, "a", &e), e);
    CHECK_INT(ak_tomb_get(dd, "a", &t, &e), AK_ERR_NOTFOUND);
    CHECK_INT(ak_tomb_blocks(dd, "a", 1), 0);
    /* an unreadable file holds everything back */
    char p[600];
    snprintf(p, sizeof p, "%s/" AK_TOMBSTONE_FILE, ak_datadir_path(dd));
    FILE *f = fopen(p, "w");
    fputs("this is not a database, it is garbage........................................"
          "..............................................................................",
          f);
    fclose(f);
    CHECK_INT(ak_tomb_blocks(dd, "b", 1), 1);
    CHECK(ak_tomb_get(dd, "b", &t, &e) != AK_OK && ak_tomb_get(dd, "b", &t, &e) != AK_ERR_NOTFOUND);
    ak_datadir_close(dd);
}

static void touch(const char *dir, const char *name)
{
    char p[2100];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("x", f);
        fclose(f);
    }
}

static int exists(const char *dir, const char *name)
{
    char p[2100];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* Which files are the system's: its database and sidecars, leftovers,
 * backups; never another system's database that merely starts alike. */
static void test_forget_files(void)
{
    ak_datadir *dd = open_dd("files");
    ak_store *cold = NULL;
    ak_err e;
    char db[1024], dir[1024], key[512], prefix[AK_COLD_PREFIX_MAX];
    CHECK_OK(ak_cold_open(dd, NULL, &cold, &e), e);
    CHECK_OK(ak_datadir_db_path(dd, "x", db, sizeof db, &e), e);
    snprintf(dir, sizeof dir, "%s", db);
    *strrchr(dir, '/') = '\0';
    CHECK_OK(ak_mkdirs(dir, &e), e);
    const char *mine[] = {"x.db-wal", "x.db-shm", "x.db-journal", "x.db.reingest",
                          "x.db.reingest-wal", "x.db.replaced-20261201T000000Z",
                          "x.db.replaced-20261201T000000Z-wal",
                          "x.db.replaced-20261201T000000Z-2"};
    const char *theirs[] = {"x.dbx", "x.db.replaced-20261201T000000Z.y.db", "x.db.other",
                            "x.db.replaced-", "xx.db"};
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++)
        touch(dir, mine[i]);
    for (size_t i = 0; i < sizeof theirs / sizeof *theirs; i++)
        touch(dir, theirs[i]);
    ak_cold_system_prefix("x", prefix, sizeof prefix);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "%sdate=2026-01-0%d/b.parquet", prefix, i + 1);
        CHECK_OK(ak_store_put(cold, key, "p", 1, &e), e);
    }
    CHECK_OK(ak_store_put(cold, "system_id=xx/date=2026-01-01/b.parquet", "p", 1, &e), e);

    ak_forget_config cfg = {.data = dd, .cold = cold, .dry_run = 1};
    ak_forget_result r;
    CHECK_OK(ak_forget_system(&cfg, "x", &r, &e), e);
    CHECK_INT(r.db_files, 8);
    CHECK_INT(r.cold_objects, 3);
    CHECK(exists(dir, "x.db-wal"));
    CHECK_INT(ak_tomb_get(dd, "x", &(ak_tomb){0}, &e), AK_ERR_NOTFOUND);

    cfg.dry_run = 0;
    cfg.now_us = 77;
    CHECK_OK(ak_forget_system(&cfg, "x", &r, &e), e);
    CHECK_INT(r.db_files, 8);
    CHECK_INT(r.cold_objects, 3);
    CHECK_INT(r.tombstone_us, 77);
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++)
        CHECK(!exists(dir, mine[i]));
    for (size_t i = 0; i < sizeof theirs / sizeof *theirs; i++)
        CHECK(exists(dir, theirs[i]));
    CHECK_INT(ak_store_head(cold, "system_id=xx/date=2026-01-01/b.parquet", NULL, &e), AK_OK);
    CHECK_INT(ak_store_head(cold, key, NULL, &e), AK_ERR_NOTFOUND);
    ak_tomb t;
    CHECK_OK(ak_tomb_get(dd, "x", &t, &e), e);
    CHECK_INT(t.done, 1);
    /* a bad id is refused before anything is touched; purge needs a bucket */
    CHECK_INT(ak_forget_system(&cfg, "../x", &r, &e), AK_ERR_INVALID);
    cfg.purge_bucket = 1;
    CHECK_INT(ak_forget_system(&cfg, "x", &r, &e), AK_ERR_INVALID);
    ak_store_close(cold);
    ak_datadir_close(dd);
}

static void test_retention_cutoff(void)
{
    int64_t day = AK_US_PER_DAY, t;
    CHECK(ak_time_parse("2026-04-10T12:00:00Z", 20, &t));
    int64_t want;
    CHECK(ak_time_parse("2026-01-10T00:00:00Z", 20, &want));
    CHECK_INT(ak_retention_cutoff(t, 90), want);
    CHECK_INT(ak_retention_cutoff(want + 90 * day, 90), want); /* exactly at midnight */
    CHECK_INT(ak_retention_cutoff(want + 90 * day - 1, 90), want - day);
    CHECK_INT(ak_retention_cutoff(t, 0), 0);
    CHECK_INT(ak_retention_cutoff(-1, 1), -2 * day); /* before the epoch: floor, not truncation */
}

/* ---- the system lock (storage/syslock.c) ---- */

typedef struct {
    ak_datadir *dd;
    atomic_int got;
} lock_waiter;

static void *take_and_note(void *arg)
{
    lock_waiter *w = arg;
    ak_syslock *l = NULL;
    ak_err e;
    if (ak_syslock_take(w->dd, "sys-a", &l, &e) == AK_OK)
        atomic_store(&w->got, 1);
    ak_syslock_release(l);
    return NULL;
}

/* Blocked lock requests in the kernel's table (lines "N: -> OFDLCK ..."). */
static int blocked_locks(void)
{
    FILE *f = fopen("/proc/locks", "r");
    char line[256];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, "-> OFDLCK") != NULL;
    if (f)
        fclose(f);
    return n;
}

static void test_syslock(void)
{
    ak_datadir *dd = open_dd("syslock");
    ak_syslock *a = NULL, *b = NULL;
    ak_err e;
    CHECK_OK(ak_syslock_take(dd, "sys-a", &a, &e), e);
    /* another system is not held up (unless it hashes to the same byte:
     * these two do not) */
    CHECK_OK(ak_syslock_take(dd, "sys-b", &b, &e), e);
    ak_syslock_release(b);
    /* another thread waits for sys-a until it is released */
    int before = blocked_locks();
    lock_waiter w = {.dd = dd};
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, take_and_note, &w), 0);
    for (int i = 0; i < 20000 && blocked_locks() == before; i++)
        usleep(1000);
    CHECK(blocked_locks() > before); /* it is waiting in the kernel ... */
    CHECK_INT(atomic_load(&w.got), 0); /* ... without the lock */
    ak_syslock_release(a);
    pthread_join(th, NULL);
    CHECK_INT(atomic_load(&w.got), 1);
    ak_syslock_release(NULL);
    ak_datadir_close(dd);
    /* a data directory that cannot hold the lock file */
    ak_datadir *gone = open_dd("syslock-gone");
    char p[512];
    snprintf(p, sizeof p, "%s/syslock-gone/" AK_SYSLOCK_FILE, test_tmpdir());
    CHECK_INT(mkdir(p, 0755), 0); /* a directory where the file should be */
    CHECK_INT(ak_syslock_take(gone, "sys-a", &a, &e), AK_ERR_IO);
    CHECK(a == NULL);
    ak_datadir_close(gone);
}

int main(void)
{
    RUN(test_tombstones);
    RUN(test_forget_files);
    RUN(test_retention_cutoff);
    RUN(test_syslock);
    return test_report("forget");
}
