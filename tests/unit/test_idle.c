/* test_idle.c - the index's cache of idle connections: lookups by system,
 * eviction of the least recently returned, batches of matching ones. */
#include "test.h"

#include "query/idle.h"

static ak_sysdb *open_db(const char *name)
{
    char path[512];
    ak_sysdb *db = NULL;
    ak_err err;
    snprintf(path, sizeof path, "%s/%s.db", test_tmpdir(), name);
    CHECK_INT(ak_sysdb_open(path, 1, &db, &err), AK_OK);
    return db;
}

static void test_take_and_evict(void)
{
    ak_idle *c = ak_idle_new(3);
    ak_sysdb *a = open_db("a"), *b = open_db("b"), *c1 = open_db("c1"), *c2 = open_db("c2");
    CHECK(ak_idle_take(c, "a") == NULL);
    CHECK(ak_idle_put(c, "a", a) == NULL);
    CHECK(ak_idle_put(c, "b", b) == NULL);
    CHECK(ak_idle_put(c, "c", c1) == NULL);
    CHECK_INT(ak_idle_count(c), 3);
    CHECK(ak_idle_put(c, "c", c2) == a); /* full: the oldest goes */
    CHECK(ak_idle_take(c, "a") == NULL);
    CHECK(ak_idle_take(c, "c") == c2);   /* the most recently returned first */
    CHECK(ak_idle_take(c, "c") == c1);
    CHECK(ak_idle_take(c, "c") == NULL);
    CHECK(ak_idle_take(c, "b") == b);
    CHECK_INT(ak_idle_count(c), 0);
    CHECK(ak_idle_put(c, "a", a) == NULL); /* nodes are recycled */
    ak_idle_free(c);                       /* closes a */
    ak_sysdb_close(b);
    ak_sysdb_close(c1);
    ak_sysdb_close(c2);
}

/* Many systems sharing few buckets: each is still found, and batches of
 * one system's connections leave the others. */
static void test_many_and_matching(void)
{
    enum { N = 200 };
    ak_idle *c = ak_idle_new(N);
    ak_sysdb *dbs[N], *out[8];
    char sid[32];
    for (int i = 0; i < N; i++) {
        snprintf(sid, sizeof sid, "db%d", i);
        dbs[i] = open_db(sid);
        snprintf(sid, sizeof sid, "sys%d", i % 20); /* 10 connections per system */
        CHECK(ak_idle_put(c, sid, dbs[i]) == NULL);
    }
    size_t got = ak_idle_take_matching(c, "sys7", out, 8);
    CHECK_INT(got, 8);
    for (size_t k = 0; k < got; k++)
        ak_sysdb_close(out[k]);
    got = ak_idle_take_matching(c, "sys7", out, 8);
    CHECK_INT(got, 2);
    for (size_t k = 0; k < got; k++)
        ak_sysdb_close(out[k]);
    CHECK(ak_idle_take(c, "sys7") == NULL);
    CHECK_INT(ak_idle_count(c), N - 10);
    CHECK(ak_idle_take(c, "sys19") == dbs[199]);
    ak_sysdb_close(dbs[199]);
    size_t left = 0;
    while ((got = ak_idle_take_matching(c, NULL, out, 8)) > 0) {
        CHECK(left > 0 || out[0] == dbs[0]); /* oldest first */
        left += got;
        for (size_t k = 0; k < got; k++)
            ak_sysdb_close(out[k]);
    }
    CHECK_INT(left, N - 11);
    CHECK_INT(ak_idle_count(c), 0);
    ak_idle_free(c);
}

int main(void)
{
    RUN(test_take_and_evict);
    RUN(test_many_and_matching);
    return test_report("idle");
}
