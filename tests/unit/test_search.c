/* test_search.c - the index and the fan-out search against references
 * computed here, independently of the code under test. */
#include "test.h"
#include "../tools/rec_test.h"

#include <math.h>
#include <sqlite3.h>
#include <stdint.h>

#include "query/search.h"
#include "query/topk.h"
#include "view/search_json.h"
#include "storage/shard.h"
#include "util/time.h"

#define N_SYSTEMS 6
#define PER_SYSTEM 300

static ak_datadir *dd;
static ak_pool *pool;
static float vecs[N_SYSTEMS][PER_SYSTEM][AK_DIM]; /* as stored, not normalized */
static char data_dir[512];

static uint64_t rng = 88172645463325252ULL;
static double uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void sid_of(int s, char *out) { snprintf(out, 32, "sys-%d", s); }

/* How many of the 256 shards hold one of the systems: what a search over
 * all of them queries. */
static int shards_in_use(void)
{
    int used[256] = {0}, n = 0;
    for (int s = 0; s < N_SYSTEMS; s++) {
        char sid[32];
        sid_of(s, sid);
        uint32_t shard = ak_shard_of(sid, 256);
        n += !used[shard]++;
    }
    return n;
}

static void put(ak_sysdb *db, const char *id, const char *content, const float *v, int64_t ts)
{
    ak_record r = test_record(id, content, ts, "test");
    r.has_embedding = v != NULL;
    if (v)
        memcpy(r.embedding, v, sizeof r.embedding);
    ak_upload_order up = {1, "u1"};
    ak_put_result res;
    ak_err err;
    CHECK_INT(ak_sysdb_put_record(db, &up, &r, &res, &err), AK_OK);
}

/* Six systems of random vectors; conversation c of system s has timestamp
 * c seconds and text naming its parity. */
static void build_data(void)
{
    ak_err err;
    snprintf(data_dir, sizeof data_dir, "%s/data", test_tmpdir());
    if (ak_datadir_open(data_dir, 1, 0, &dd, &err) || ak_pool_new(2, &pool, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        exit(1);
    }
    for (int s = 0; s < N_SYSTEMS; s++) {
        char sid[32], id[64], text[128];
        sid_of(s, sid);
        ak_sysdb *db;
        CHECK_INT(ak_datadir_open_system(dd, sid, 1, &db, &err), AK_OK);
        ak_sysdb_begin(db, &err);
        for (int c = 0; c < PER_SYSTEM; c++) {
            for (int i = 0; i < AK_DIM; i++)
                vecs[s][c][i] = (float)(uniform() * 2 - 1);
            snprintf(id, sizeof id, "c%03d", c);
            snprintf(text, sizeof text, "conversation %d is %s", c, c % 2 ? "odd" : "even");
            put(db, id, text, vecs[s][c], (int64_t)c * 1000000);
        }
        put(db, "textonly", "a zebra without a vector", NULL, 5);
        ak_sysdb_commit(db, &err);
        ak_sysdb_close(db);
    }
}

static ak_index *load_index(void)
{
    ak_index *idx;
    ak_err err;
    CHECK_INT(ak_index_new(dd, &idx, &err), AK_OK);
    CHECK_INT(ak_index_load_all(idx, pool, &err), AK_OK);
    return idx;
}

static double ref_cosine(const float *a, const float *b)
{
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < AK_DIM; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return dot / sqrt(na * nb);
}

typedef struct {
    double score;
    int s, c;
} ref_hit;

static int cmp_ref(const void *x, const void *y)
{
    const ref_hit *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->s != b->s ? a->s - b->s : a->c - b->c;
}

/* Brute force over everything, in doubles: the answer search must give. */
static int reference(const float *q, int only_system, int64_t since, int64_t until,
                     double threshold, ref_hit *out)
{
    int n = 0;
    for (int s = 0; s < N_SYSTEMS; s++)
        for (int c = 0; c < PER_SYSTEM; c++) {
            int64_t ts = (int64_t)c * 1000000;
            double sc = ref_cosine(q, vecs[s][c]);
            if ((only_system >= 0 && s != only_system) || ts < since || ts > until || sc < threshold)
                continue;
            out[n++] = (ref_hit){sc, s, c};
        }
    qsort(out, (size_t)n, sizeof *out, cmp_ref);
    return n;
}

static void random_query(float *q)
{
    for (int i = 0; i < AK_DIM; i++)
        q[i] = (float)(uniform() * 2 - 1);
}

/* Top-k equals brute force (ids and scores) for many random queries. */
static void test_topk_matches_brute_force(void)
{
    ak_index *idx = load_index();
    static ref_hit ref[N_SYSTEMS * PER_SYSTEM];
    int exact = 0, total = 0;
    for (int t = 0; t < 40; t++) {
        ak_query q;
        ak_query_init(&q);
        random_query(q.vector);
        float raw[AK_DIM];
        memcpy(raw, q.vector, sizeof raw);
        q.has_vector = 1;
        q.limit = 1 + t % 20;
        ak_err err;
        CHECK_INT(ak_query_check(&q, &err), AK_OK);
        ak_results res;
        CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
        int n = reference(raw, -1, INT64_MIN, INT64_MAX, -2, ref);
        CHECK_INT(res.n, q.limit < n ? q.limit : n);
        for (size_t i = 0; i < res.n; i++) {
            char sid[32], cid[16];
            sid_of(ref[i].s, sid);
            snprintf(cid, sizeof cid, "c%03d", ref[i].c);
            total++;
            exact += strcmp(res.r[i].system_id, sid) == 0 && strcmp(res.r[i].conversation_id, cid) == 0;
            CHECK(fabs(res.r[i].score - ref[i].score) < 1e-5 || strcmp(res.r[i].conversation_id, cid));
        }
        CHECK_INT(res.n_failed, 0);
        CHECK_INT(res.shards_queried, shards_in_use());
        ak_results_free(&res);
    }
    /* the int8 first pass re-ranked in float32 must find the exact top-k */
    printf("search: %d of %d hits identical to brute force\n", exact, total);
    CHECK(exact >= total * 99 / 100);
    ak_index_free(idx);
}

static void test_filters(void)
{
    ak_index *idx = load_index();
    static ref_hit ref[N_SYSTEMS * PER_SYSTEM];
    ak_query q;
    ak_query_init(&q);
    random_query(q.vector);
    float raw[AK_DIM];
    memcpy(raw, q.vector, sizeof raw);
    q.has_vector = 1;
    q.limit = 15;
    q.system_id = "sys-3";
    q.since = 100 * 1000000LL;
    q.until = 199 * 1000000LL;
    q.has_threshold = 1;
    q.threshold = 0.0;
    ak_err err;
    CHECK_INT(ak_query_check(&q, &err), AK_OK);
    ak_results res;
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    int n = reference(raw, 3, q.since, q.until, 0.0, ref);
    CHECK_INT(res.shards_queried, 1);
    CHECK_INT(res.n, n < 15 ? n : 15);
    for (size_t i = 0; i < res.n; i++) {
        CHECK_STR(res.r[i].system_id, "sys-3");
        CHECK(res.r[i].ts_us >= q.since && res.r[i].ts_us <= q.until);
        CHECK(res.r[i].score >= 0.0);
        char cid[16];
        snprintf(cid, sizeof cid, "c%03d", ref[i].c);
        CHECK_STR(res.r[i].conversation_id, cid);
    }
    ak_results_free(&res);
    /* a threshold nothing reaches: no results, no error */
    q.threshold = 0.99;
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    CHECK_INT(res.n, 0);
    ak_results_free(&res);
    ak_index_free(idx);
}

/* The same vector stored under two keys scores the same: order by key. */
static void test_ties_and_dedup(void)
{
    ak_err err;
    ak_sysdb *db;
    float v[AK_DIM];
    for (int i = 0; i < AK_DIM; i++)
        v[i] = (float)(i % 7) - 3;
    CHECK_INT(ak_datadir_open_system(dd, "twins", 1, &db, &err), AK_OK);
    put(db, "b-twin", "twin b", v, 1);
    put(db, "a-twin", "twin a", v, 1);
    ak_sysdb_close(db);
    ak_index *idx = load_index();
    ak_query q;
    ak_query_init(&q);
    memcpy(q.vector, v, sizeof v);
    q.has_vector = 1;
    q.limit = 3;
    CHECK_INT(ak_query_check(&q, &err), AK_OK);
    for (int rep = 0; rep < 3; rep++) {
        ak_results res;
        CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
        CHECK(res.n >= 2);
        CHECK_STR(res.r[0].conversation_id, "a-twin");
        CHECK_STR(res.r[1].conversation_id, "b-twin");
        CHECK(fabs(res.r[0].score - 1.0) < 1e-5 && res.r[0].score == res.r[1].score);
        ak_results_free(&res);
    }
    /* a reload of a system replaces its segment: no duplicates appear */
    CHECK_INT(ak_index_load_system(idx, "twins", &err), AK_OK);
    ak_results res;
    q.text = "twin";
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    int twins = 0;
    for (size_t i = 0; i < res.n; i++)
        twins += strstr(res.r[i].conversation_id, "twin") != NULL;
    CHECK_INT(twins, 2);
    ak_results_free(&res);
    ak_index_free(idx);
}

static void test_text_and_hybrid(void)
{
    ak_index *idx = load_index();
    ak_query q;
    ak_query_init(&q);
    q.text = "zebra";
    q.limit = 10;
    ak_err err;
    CHECK_INT(ak_query_check(&q, &err), AK_OK);
    ak_results res;
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    CHECK_INT(res.n, N_SYSTEMS); /* the text-only record of each system */
    for (size_t i = 0; i < res.n; i++)
        CHECK_STR(res.r[i].conversation_id, "textonly");
    ak_results_free(&res);
    /* hybrid: a conversation that is both the nearest vector and a text
     * match outranks ones that are only one of the two */
    q.text = "conversation 7 odd";
    memcpy(q.vector, vecs[2][7], sizeof q.vector);
    q.has_vector = 1;
    CHECK_INT(ak_query_check(&q, &err), AK_OK);
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    CHECK(res.n > 0);
    CHECK_STR(res.r[0].system_id, "sys-2");
    CHECK_STR(res.r[0].conversation_id, "c007");
    CHECK(res.r[0].score > 1.0 / 61 && res.r[0].score <= 2.0 / 61 + 1e-9);
    ak_results_free(&res);
    ak_index_free(idx);
}

static void expect_bad(ak_query *q, const char *msg)
{
    ak_err err;
    CHECK_INT(ak_query_check(q, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, msg);
}

/* A non-finite score ranks nowhere: it neither enters the heap nor breaks
 * its order (issue 20: NaN scores passed every threshold). */
static void test_topk_drops_nan(void)
{
    ak_hit store[3];
    ak_topk t;
    ak_topk_init(&t, store, 3);
    const float scores[] = {0.5f, NAN, 0.9f, -NAN, INFINITY, 0.7f, NAN, 0.1f, -INFINITY, 0.8f};
    for (uint32_t i = 0; i < sizeof scores / sizeof *scores; i++) {
        if (!ak_topk_wants(&t, scores[i]))
            continue;
        ak_topk_push(&t, (ak_hit){scores[i], 0, i});
    }
    ak_topk_sort(&t);
    CHECK_INT(t.n, 3);
    CHECK(t.n == 3 && store[0].score == 0.9f && store[1].score == 0.8f && store[2].score == 0.7f);
}

static void test_bad_queries(void)
{
    ak_query q;
    ak_query_init(&q);
    expect_bad(&q, "give a vector, a text, or both");
    q.has_vector = 1; /* all zeros */
    expect_bad(&q, "vector: all zeros");
    q.vector[3] = NAN;
    expect_bad(&q, "vector: element 3 is not a finite number");
    q.vector[3] = INFINITY;
    expect_bad(&q, "not a finite number");
    for (int i = 0; i < AK_DIM; i++) /* subnormal: the norm underflows (issue 20) */
        q.vector[i] = 1e-45f;
    expect_bad(&q, "vector: its norm underflows");
    memset(q.vector, 0, sizeof q.vector);
    q.vector[3] = 1;
    q.limit = 0;
    expect_bad(&q, "limit: must be 1 to 1000");
    q.limit = 1001;
    expect_bad(&q, "limit");
    q.limit = 10;
    q.has_threshold = 1;
    q.threshold = 1.5;
    expect_bad(&q, "threshold");
    q.has_threshold = 0;
    q.text = "   ";
    expect_bad(&q, "text: empty");
    q.text = "ok";
    q.system_id = "../etc";
    expect_bad(&q, "system_id");
    q.system_id = NULL;
    q.tiers = 0;
    expect_bad(&q, "tiers");
    q.tiers = AK_TIER_MASK(AK_TIER_HOT);
    q.since = 10, q.until = 5;
    expect_bad(&q, "since");
    q.since = INT64_MIN, q.until = INT64_MAX;
    ak_err err;
    CHECK_INT(ak_query_check(&q, &err), AK_OK);
    /* vectors from JSON */
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root;
    float v[AK_DIM];
    ak_json_parse(doc, "[1, 2, 3]", 9, &root, &err);
    CHECK_INT(ak_query_vector_json(root, v, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "has 3 numbers, expected 384");
    CHECK_INT(ak_query_vector_json(NULL, v, &err), AK_ERR_INVALID);
    ak_json_doc_free(doc);
}

static void corrupt(const char *sid)
{
    char path[1024];
    ak_err err;
    CHECK_INT(ak_datadir_db_path(dd, sid, path, sizeof path, &err), AK_OK);
    FILE *f = fopen(path, "r+");
    CHECK(f != NULL);
    for (int i = 0; i < 100; i++)
        fputs("garbage!", f);
    fclose(f);
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", path);
    remove(wal);
}

/* System sid holding one conversation whose vector, also put in v, is all
 * ones. */
static void one_row_system(const char *sid, const char *id, const char *content, float *v)
{
    ak_err err;
    ak_sysdb *db;
    for (int i = 0; i < AK_DIM; i++)
        v[i] = 1;
    CHECK_INT(ak_datadir_open_system(dd, sid, 1, &db, &err), AK_OK);
    put(db, id, content, v, 1);
    ak_sysdb_close(db);
}

/* A broken shard and a slow shard are named; the rest still answer. */
static void test_failed_and_slow_shards(void)
{
    ak_err err;
    float v[AK_DIM];
    one_row_system("broken", "x", "soon unreadable", v);
    corrupt("broken");
    uint32_t broken_shard = ak_shard_of("broken", 256);
    ak_index *idx = load_index();
    ak_query q;
    ak_query_init(&q);
    random_query(q.vector);
    q.has_vector = 1;
    q.limit = 5;
    CHECK_INT(ak_query_check(&q, &err), AK_OK);
    ak_results res;
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    CHECK_INT(res.n, 5);
    CHECK_INT(res.n_failed, 1);
    if (res.n_failed) {
        CHECK_INT(res.failed[0].shard, broken_shard);
        CHECK_HAS(res.failed[0].error, "system broken");
    }
    ak_results_free(&res);

    /* slow: shard of sys-1 waits 5 s against a 1 s deadline (the other
     * shards get a whole second, so a loaded machine does not fail them) */
    char hook[32];
    uint32_t slow = ak_shard_of("sys-1", 256);
    snprintf(hook, sizeof hook, "%u:5000", slow);
    setenv("AKOSHA_TEST_SLOW_SHARD", hook, 1);
    q.timeout_us = 1000000;
    int64_t t0 = ak_time_mono_us();
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    int64_t took = ak_time_mono_us() - t0;
    unsetenv("AKOSHA_TEST_SLOW_SHARD");
    CHECK(took < 4000000); /* did not wait for the slow shard */
    int named = 0;
    for (size_t i = 0; i < res.n_failed; i++)
        if (res.failed[i].shard == slow) {
            named = 1;
            CHECK_HAS(res.failed[i].error, "1000 ms");
        }
    CHECK(named);
    CHECK_INT(res.n, 5);
    for (size_t i = 0; i < res.n; i++)
        CHECK(strcmp(res.r[i].system_id, "sys-1") != 0);
    ak_results_free(&res);
    ak_index_free(idx);
}

static int64_t hot_rows(ak_index *idx, const char *sid)
{
    ak_sysdb *db;
    ak_sysdb_counts c = {0};
    ak_err err;
    if (ak_index_db_get(idx, sid, &db, &err) != AK_OK)
        return -1;
    CHECK_INT(ak_sysdb_counts_get(db, &c, &err), AK_OK);
    ak_index_db_put(idx, sid, db);
    return c.hot;
}

/* A fenced system has no connections; a database replaced by rename is
 * picked up by a refresh, and cached connections to the old file are not
 * handed out again; a removed one is forgotten.  (Changes sys-2: run last.) */
static void test_fence_and_file_swap(void)
{
    ak_err err;
    ak_sysdb *db;
    ak_index *idx = load_index();
    size_t reloaded = 9, removed = 9;
    CHECK_INT(hot_rows(idx, "sys-2"), PER_SYSTEM + 1);
    ak_index_fence(idx, "sys-2", 1);
    CHECK_INT(ak_index_db_get(idx, "sys-2", &db, &err), AK_ERR_BUSY);
    CHECK_HAS(err.msg, "being rebuilt");
    ak_index_fence(idx, "sys-2", 0);
    CHECK_INT(hot_rows(idx, "sys-2"), PER_SYSTEM + 1); /* leaves a cached connection */

    char path[1024], fresh[1100];
    CHECK_INT(ak_datadir_db_path(dd, "sys-2", path, sizeof path, &err), AK_OK);
    snprintf(fresh, sizeof fresh, "%s.new", path);
    CHECK_INT(ak_sysdb_open(fresh, 1, &db, &err), AK_OK);
    put(db, "only", "the one conversation of the new file", vecs[0][0], 1);
    ak_sysdb_close(db);
    CHECK(rename(fresh, path) == 0);
    CHECK_INT(ak_index_refresh(idx, pool, 0, &reloaded, &removed, &err), AK_OK);
    CHECK_INT(reloaded, 1);
    CHECK_INT(removed, 0);
    CHECK_INT(hot_rows(idx, "sys-2"), 1); /* the cached old connection was dropped */
    CHECK_INT(ak_index_refresh(idx, pool, 0, &reloaded, &removed, &err), AK_OK);
    CHECK_INT(reloaded, 0); /* nothing changed since */

    ak_index_stats st;
    ak_index_stats_get(idx, &st);
    uint64_t before = st.systems;
    CHECK(remove(path) == 0);
    CHECK_INT(ak_index_refresh(idx, pool, 0, &reloaded, &removed, &err), AK_OK);
    CHECK_INT(removed, 1);
    ak_index_stats_get(idx, &st);
    CHECK_INT(st.systems, before - 1);
    CHECK_INT(ak_index_refresh(idx, pool, 1, &reloaded, &removed, &err), AK_OK);
    CHECK_INT(reloaded, before - 1); /* all: every system again */
    ak_index_free(idx);
}

/* Failures naming the shard of system sid (test_failed_and_slow_shards
 * leaves "broken" broken). */
static size_t failures_of(const ak_results *res, const char *sid)
{
    size_t n = 0;
    for (size_t i = 0; i < res->n_failed; i++)
        n += res->failed[i].shard == ak_shard_of(sid, 256);
    return n;
}

/* A hit whose database fails when it is read back is named as a failed
 * shard, not dropped in silence; a hit gone since the index was built
 * (its row deleted) is dropped. */
static void test_unreadable_hit(void)
{
    ak_err err;
    float v[AK_DIM];
    one_row_system("vanish", "top", "the best match", v);
    ak_index *idx = load_index();
    char path[1024];
    CHECK_INT(ak_datadir_db_path(dd, "vanish", path, sizeof path, &err), AK_OK);
    sqlite3 *h;
    CHECK_INT(sqlite3_open(path, &h), SQLITE_OK);
    CHECK_INT(sqlite3_exec(h, "ALTER TABLE hot RENAME TO hot_away", NULL, NULL, NULL), SQLITE_OK);

    ak_query q;
    ak_query_init(&q);
    memcpy(q.vector, v, sizeof v);
    q.has_vector = 1;
    q.limit = 3;
    CHECK_INT(ak_query_check(&q, &err), AK_OK);
    ak_results res;
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    CHECK_INT(failures_of(&res, "vanish"), 1);
    for (size_t i = 0; i < res.n_failed; i++)
        if (res.failed[i].shard == ak_shard_of("vanish", 256))
            CHECK_HAS(res.failed[i].error, "system vanish: conversation top cannot be read back");
    for (size_t i = 0; i < res.n; i++)
        CHECK(strcmp(res.r[i].system_id, "vanish") != 0);
    ak_results_free(&res);

    /* readable again, the row deleted: gone, dropped without a failure */
    CHECK_INT(sqlite3_exec(h, "ALTER TABLE hot_away RENAME TO hot; DELETE FROM hot", NULL, NULL,
                           NULL),
              SQLITE_OK);
    CHECK_INT(ak_search(idx, pool, &q, &res, &err), AK_OK);
    CHECK_INT(failures_of(&res, "vanish"), 0);
    CHECK(res.n >= 1);
    for (size_t i = 0; i < res.n; i++)
        CHECK(strcmp(res.r[i].system_id, "vanish") != 0);
    ak_results_free(&res);
    sqlite3_close(h);
    ak_index_free(idx);
}

int main(void)
{
    build_data();
    RUN(test_topk_matches_brute_force);
    RUN(test_filters);
    RUN(test_ties_and_dedup);
    RUN(test_text_and_hybrid);
    RUN(test_topk_drops_nan);
    RUN(test_bad_queries);
    RUN(test_failed_and_slow_shards);
    RUN(test_fence_and_file_swap);
    RUN(test_unreadable_hit);
    ak_pool_free(pool);
    ak_datadir_close(dd);
    return test_report("search");
}
