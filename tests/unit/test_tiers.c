/* test_tiers.c - the cold tier's search side: cold rows made by a real aging
 * pass found by words and by vector next to hot rows, with scores that rank
 * across tiers, and ranked by vector exactly as their codes allow (the
 * vector code itself: test_vcode.c). */
#include "test.h"
#include "../tools/rec_test.h"
#include "../tools/vec_test.h"
#include "../tools/clustered.h"
#include "test_sql.h"

#include <math.h>
#include <stdlib.h>
#include <sqlite3.h>

#include "query/search.h"
#include "storage/warmcode.h"
#include "tier/age.h"
#include "tier/cold.h"
#include "util/time.h"

/* ---- a system with hot rows and one aged to cold ---- */

#define NOW (INT64_C(1800000000) * 1000000)
#define N_NEAR 8
/* "sys-clu": clustered vectors, so dense that neighbours differ by less
 * than the codes' noise (about 100 a cluster) */
#define N_CLU 1200
#define CLU_CENTRES 12
#define CLU_QUERIES 20

static ak_datadir *dd;
static ak_store *cold;
static ak_pool *pool;
static float v_cold[AK_DIM], v_hot_poor[AK_DIM];
static cl_gen *clu;

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

/* sys-clu's rows c0.., 200 days old (one month), to age to cold with sys-a's */
static void build_clustered(void)
{
    ak_sysdb *db;
    ak_err err;
    if (!(clu = cl_new(CLU_CENTRES, 11)))
        exit(1);
    CHECK_OK(ak_datadir_open_system(dd, "sys-clu", 1, &db, &err), err);
    CHECK_OK(ak_sysdb_begin(db, &err), err);
    for (int n = 0; n < N_CLU; n++) {
        float v[AK_DIM];
        char id[32], text[64];
        cl_draw(clu, v);
        snprintf(id, sizeof id, "c%d", n);
        snprintf(text, sizeof text, "Clustered conversation number %d.", n);
        put(db, id, text, v, NOW - 200 * AK_US_PER_DAY + n * INT64_C(1000000));
    }
    CHECK_OK(ak_sysdb_commit(db, &err), err);
    ak_sysdb_close(db);
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
    build_clustered();
    ak_age_config cfg = {.data = dd, .cold = cold, .now_us = NOW};
    ak_age_stats st;
    CHECK_OK(ak_age_run(&cfg, &st, &err), err);
    CHECK_INT(st.warm_to_cold.rows, 1 + N_CLU);
    CHECK_INT(st.cold_objects, 2);
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
    CHECK_INT(rank_of(&r, "cold"), 0);
    for (size_t i = 0; i < r.n; i++)
        CHECK_INT(r.r[i].tier, AK_TIER_COLD);
    ak_results_free(&r);

    /* fusion: the near-exact cold match ranks above the hot row that
     * matches the words better but the vector poorly */
    search(idx, v_cold, "bundle size", 0, &r);
    CHECK_INT(rank_of(&r, "cold"), 0);
    CHECK(rank_of(&r, "poor") > 0);
    ak_results_free(&r);
    ak_index_free(idx);
}

/* The ids of the 10 of sys-clu's cold rows nearest q by their stored
 * (decoded) codes, in double precision, best first; scores into best. */
static void exact_by_codes(const float (*kept)[AK_DIM], const float *q, int id[10], double best[10])
{
    for (int j = 0; j < 10; j++)
        best[j] = -2, id[j] = -1;
    for (int n = 0; n < N_CLU; n++) {
        double d = cosine(q, kept[n]);
        int p = 10;
        while (p > 0 && best[p - 1] < d)
            p--;
        if (p == 10)
            continue;
        memmove(best + p + 1, best + p, (size_t)(9 - p) * sizeof *best);
        memmove(id + p + 1, id + p, (size_t)(9 - p) * sizeof *id);
        best[p] = d, id[p] = n;
    }
}

/* Cold-only search ranks cold rows exactly as their codes allow: its top
 * 10 are the exact top 10 of the decoded codes, at their exact cosines.
 * What fails this: scoring cold rows by the first pass's int8 product with
 * the int8 query (no re-rank on the code), or too few candidates kept for
 * the re-rank.  (How near the codes are to the original vectors: recall@10
 * in docs/BENCHMARKS.md.) */
static void test_cold_ranked_as_codes(void)
{
    static float kept[N_CLU][AK_DIM];
    ak_index *idx;
    ak_sysdb *db;
    ak_err err;
    CHECK_OK(ak_datadir_open_system(dd, "sys-clu", 0, &db, &err), err);
    for (int n = 0; n < N_CLU; n++) {
        char id[32];
        snprintf(id, sizeof id, "c%d", n);
        CHECK_OK(ak_sysdb_get_vector(db, id, kept[n], &err), err);
    }
    ak_sysdb_close(db);
    CHECK_OK(ak_index_new(dd, &idx, &err), err);
    CHECK_OK(ak_index_load_all(idx, pool, &err), err);
    int same = 0, close = 0;
    for (int k = 0; k < CLU_QUERIES; k++) {
        float q[AK_DIM];
        int want[10];
        double best[10];
        ak_results r;
        cl_draw(clu, q);
        exact_by_codes((const float(*)[AK_DIM])kept, q, want, best);
        search(idx, q, NULL, AK_TIER_MASK(AK_TIER_COLD), &r);
        CHECK_INT(r.n, 10);
        for (size_t j = 0; j < r.n && j < 10; j++) {
            char id[32];
            snprintf(id, sizeof id, "c%d", want[j]);
            same += !strcmp(r.r[j].conversation_id, id) && !strcmp(r.r[j].system_id, "sys-clu");
            close += fabs(r.r[j].score - best[j]) < 1e-4;
        }
        ak_results_free(&r);
    }
    CHECK_INT(same, 10 * CLU_QUERIES);
    CHECK_INT(close, 10 * CLU_QUERIES);
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

/* A row aged hot -> warm -> cold keeps its warm code: its cold code is
 * version 4, holding exactly the levels of the warm code of its vector. */
static void test_cold_code_is_warm_code(void)
{
    ak_sysdb *db;
    ak_err err;
    sqlite3_stmt *st;
    uint8_t wcode[AK_WCODE_BYTES], want[AK_DIM], got[AK_DIM];
    CHECK_OK(ak_datadir_open_system(dd, "sys-a", 0, &db, &err), err);
    sqlite3 *h = test_sql_open(db);
    CHECK(sqlite3_prepare_v2(h, "SELECT embedding_code FROM cold WHERE conversation_id = 'cold'",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    const uint8_t *code = sqlite3_column_blob(st, 0);
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    CHECK(len >= AK_VCODE_MIN && len <= AK_VCODE_MAX && len != AK_VCODE_BYTES);
    uint32_t head = (uint32_t)code[0] | (uint32_t)code[1] << 8 | (uint32_t)code[2] << 16 |
                    (uint32_t)code[3] << 24;
    CHECK((head & 0xffc00f00u) == 0x7fc00400u); /* version 4 */
    CHECK(ak_vcode_levels(code, len, got));
    CHECK(ak_wcode_encode(v_cold, wcode));
    ak_vcode_unpack5(wcode + 4, want);
    CHECK(memcmp(got, want, sizeof got) == 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    ak_sysdb_close(db);
}

int main(void)
{
    build();
    RUN(test_cold_found);
    RUN(test_cold_get);
    RUN(test_cold_code_is_warm_code);
    RUN(test_cold_ranked_as_codes);
    cl_free(clu);
    ak_store_close(cold);
    ak_pool_free(pool);
    ak_datadir_close(dd);
    return test_report("tiers");
}
