/* test_spool.c - ingest/spool: spool files are made in a private directory,
 * written, removed; cleanup removes only the files no live holder locks. */
#include "ingest/spool.h"
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_create_write_remove(void)
{
    char dir[AK_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/tmp", test_tmpdir());
    ak_spool s;
    ak_err e;
    CHECK_OK(ak_spool_create(dir, &s, &e), e);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(exists(s.path));
    CHECK_OK(ak_spool_write(&s, "hello", 5, &e), e);
    CHECK(stat(s.path, &st) == 0 && st.st_size == 5);
    char path[AK_PATH_MAX];
    snprintf(path, sizeof path, "%s", s.path);
    ak_spool_remove(&s);
    CHECK(!exists(path));
    CHECK_INT(s.fd, -1);
    ak_spool_remove(&s); /* twice is harmless */
}

static void test_cleanup(void)
{
    char dir[AK_PATH_MAX], left[AK_PATH_MAX + 32], other[AK_PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/tmp2", test_tmpdir());
    ak_spool held;
    ak_err e;
    CHECK_OK(ak_spool_create(dir, &held, &e), e);
    /* A spool file nobody holds: what a killed process leaves. */
    snprintf(left, sizeof left, "%s/spool-abandoned", dir);
    int fd = open(left, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    snprintf(other, sizeof other, "%s/not-a-spool-file", dir);
    fd = open(other, O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK_INT(ak_spool_cleanup(dir), 1);
    CHECK(!exists(left));
    CHECK(exists(held.path)); /* a live holder's file stays */
    CHECK(exists(other));
    ak_spool_remove(&held);
    CHECK_INT(ak_spool_cleanup(dir), 0);
    CHECK_INT(ak_spool_cleanup("/nonexistent/akosha-spool"), 0);
}

static void test_bad_dir(void)
{
    ak_spool s;
    ak_err e = {0};
    CHECK_INT(ak_spool_create("/proc/akosha-cannot-exist/tmp", &s, &e), AK_ERR_IO);
    CHECK_HAS(e.msg, "cannot make");
    CHECK_INT(s.fd, -1);
    ak_spool_remove(&s);
}

int main(void)
{
    RUN(test_create_write_remove);
    RUN(test_cleanup);
    RUN(test_bad_dir);
    return test_report("spool");
}
