/* test_tiers.c - the cold tier's search side: cold rows made by a real aging
 * pass found by words and by vector next to hot rows, with scores that rank
 * across tiers (the vector code itself: test_vcode.c). */
#include "test.h"
#include "../tools/rec_test.h"
#include "../tools/vec_test.h"

#include <math.h>
#include <stdlib.h>
#include <sqlite3.h>

#include "query/search.h"
#include "tier/age.h"
#include "tier/cold.h"
#include "util/time.h"

/* ---- a system with hot rows and one aged to cold ---- */

#define NOW (INT64_C(1800000000) * 1000000)
#define N_NEAR 8

static ak_datadir *dd;
static ak_store *cold;
static ak_pool *pool;
static float v_cold[AK_DIM], v_hot_poor[AK_DIM];

static void put(ak_sysdb *db, const char *id, const char *content, const float *v, int64_t ts)
{
    ak_record r = test_record(id, content, ts, "test");
    r.has_embedding = 1;
    memcpy(r.embedding, v, sizeof r.embedding);
    ak_upload_order up = {1, "u1"};
    ak_put_result res;
    ak_err err;
    CHECK_OK(ak_sysdb_put_record(db, &up, &r, &res, &err), err);
}

/* "cold": 200 days old, about bundle size, vector v_cold.  "poor": hot,
 * about bundle size too, a vector unrelated to v_cold.  near0..: hot,
 * about other things, vectors half-way to v_cold (cosine ~0.7). */
static void build(void)
{
    char dir[512], id[32];
    ak_err err;
    ak_sysdb *db;
    snprintf(dir, sizeof dir, "%s/data", test_tmpdir());
    if (ak_datadir_open(dir, 1, 0, &dd, &err) || ak_pool_new(2, &pool, &err) ||
        ak_cold_open(dd, NULL, &cold, &err) || ak_datadir_open_system(dd, "sys-a", 1, &db, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        exit(1);
    }
    random_vec(v_cold);
    random_vec(v_hot_poor);
    put(db, "cold", "The bundle size dropped by half after tree shaking.", v_cold,
        NOW - 200 * AK_US_PER_DAY);
    put(db, "poor", "Our bundle size grew again; bundle size budgets failed the build.",
        v_hot_poor, NOW - AK_US_PER_DAY);
    for (int n = 0; n < N_NEAR; n++) {
        float v[AK_DIM];
        random_vec(v);
        for (int i = 0; i < AK_DIM; i++)
            v[i] = v[i] * 0.6f + v_cold[i];
        snprintf(id, sizeof id, "near%d", n);
        put(db, id, "A flaky integration test was retried until it passed.", v, NOW - AK_US_PER_DAY);
    }
    ak_sysdb_close(db);
    ak_age_config cfg = {.data = dd, .cold = cold, .now_us = NOW};
    ak_age_stats st;
    CHECK_OK(ak_age_run(&cfg, &st, &err), err);
    CHECK_INT(st.warm_to_cold.rows, 1);
    CHECK_INT(st.cold_objects, 1);
}

static void search(ak_index *idx, const float *v, const char *text, int tiers, ak_results *out)
{
    ak_query q;
    ak_err err;
    ak_query_init(&q);
    if (v) {
        q.has_vector = 1;
        memcpy(q.vector, v, sizeof q.vector);
    }
    q.text = text;
    if (tiers)
        q.tiers = tiers;
    CHECK_OK(ak_query_check(&q, &err), err);
    CHECK_OK(ak_search(idx, pool, &q, out, &err), err);
}

static int rank_of(const ak_results *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->r[i].conversation_id, id))
            return (int)i;
    return -1;
}

static void test_cold_found(void)
{
    ak_index *idx;
    ak_err err;
    ak_results r;
    CHECK_OK(ak_index_new(dd, &idx, &err), err);
    CHECK_OK(ak_index_load_all(idx, pool, &err), err);

    /* by words: the catalog's summary, tier cold, shown as the summary */
    search(idx, NULL, "tree shaking", 0, &r);
    CHECK_INT(r.n, 1);
    if (r.n) {
        CHECK_STR(r.r[0].conversation_id, "cold");
        CHECK_INT(r.r[0].tier, AK_TIER_COLD);
        CHECK_STR(r.r[0].summary, "The bundle size dropped by half after tree shaking.");
    }
    ak_results_free(&r);

    /* by vector: first, at the cosine of its code (near 1), above hot rows
     * of cosine ~0.7 -- the scores of both tiers are cosines */
    search(idx, v_cold, NULL, 0, &r);
    CHECK_INT(rank_of(&r, "cold"), 0);
    CHECK(r.n > 1 && r.r[0].score > 0.97 && r.r[1].score < 0.9 && r.r[1].tier == AK_TIER_HOT);
    ak_results_free(&r);

    /* only the tiers asked for */
    search(idx, v_cold, NULL, AK_TIER_MASK(AK_TIER_HOT) | AK_TIER_MASK(AK_TIER_WARM), &r);
    CHECK_INT(rank_of(&r, "cold"), -1);
    ak_results_free(&r);
    search(idx, v_cold, "bundle size", AK_TIER_MASK(AK_TIER_COLD), &r);
    CHECK_INT(r.n, 1);
    ak_results_free(&r);

    /* fusion: the near-exact cold match ranks above the hot row that
     * matches the words better but the vector poorly */
    search(idx, v_cold, "bundle size", 0, &r);
    CHECK_INT(rank_of(&r, "cold"), 0);
    CHECK(rank_of(&r, "poor") > 0);
    ak_results_free(&r);
    ak_index_free(idx);
}

/* `get` of a cold result: the catalog row, then its object. */
static void test_cold_get(void)
{
    ak_sysdb *db;
    ak_conv c;
    ak_err err;
    CHECK_OK(ak_datadir_open_system(dd, "sys-a", 0, &db, &err), err);
    CHECK_OK(ak_sysdb_get_conv(db, "cold", &c, &err), err);
    CHECK_INT(c.tier, AK_TIER_COLD);
    CHECK_OK(ak_cold_read(cold, &c, &err), err);
    CHECK_STR(c.summary, "The bundle size dropped by half after tree shaking.");
    CHECK_INT(c.ts_us, NOW - 200 * AK_US_PER_DAY);
    float v[AK_DIM];
    CHECK_OK(ak_sysdb_get_vector(db, "cold", v, &err), err);
    CHECK(cosine(v, v_cold) > 0.97);
    ak_conv_free(&c);
    ak_sysdb_close(db);
}

int main(void)
{
    build();
    RUN(test_cold_found);
    RUN(test_cold_get);
    ak_store_close(cold);
    ak_pool_free(pool);
    ak_datadir_close(dd);
    return test_report("tiers");
}
