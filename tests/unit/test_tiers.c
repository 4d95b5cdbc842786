/* test_tiers.c - the cold tier's search side: the vector code
 * (util/vcode.c), and cold rows made by a real aging pass found by words and
 * by vector next to hot rows, with scores that rank across tiers. */
#include "test.h"
#include "../tools/rec_test.h"

#include <math.h>
#include <stdlib.h>
#include <sqlite3.h>

#include "query/search.h"
#include "tier/age.h"
#include "tier/cold.h"
#include "util/time.h"
#include "util/vcode.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void random_vec(float *v)
{
    for (int i = 0; i < AK_DIM; i++)
        v[i] = (float)(uniform() * 2 - 1);
}

static double cosine(const float *a, const float *b)
{
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < AK_DIM; i++)
        d += (double)a[i] * b[i], na += (double)a[i] * a[i], nb += (double)b[i] * b[i];
    return d / sqrt(na * nb);
}

static void decode(const uint8_t *code, float *out)
{
    int8_t q[AK_DIM];
    float scale = 0;
    CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    ak_vec_dequantize(q, scale, out);
}

/* The code keeps a vector's direction: random and spiky vectors, at any
 * scale, decode to a cosine near 1. */
static void test_vcode_roundtrip(void)
{
    uint8_t code[AK_VCODE_BYTES];
    float v[AK_DIM], back[AK_DIM];
    double worst = 1;
    for (int t = 0; t < 200; t++) {
        random_vec(v);
        if (t % 3 == 1)
            v[t % AK_DIM] *= 8; /* an outlier element, as real embeddings have */
        float mul = t % 5 == 0 ? 1e-20f : t % 5 == 1 ? 1e20f : 1;
        for (int i = 0; i < AK_DIM; i++)
            v[i] *= mul;
        CHECK(ak_vcode_encode(v, code));
        decode(code, back);
        double c = cosine(v, back);
        worst = c < worst ? c : worst;
    }
    if (!(worst > 0.9))
        fprintf(stderr, "worst cosine %f\n", worst);
    CHECK(worst > 0.9);
    random_vec(v);
    CHECK(ak_vcode_encode(v, code));
    decode(code, back);
    CHECK(cosine(v, back) > 0.98);
}

/* No code for vectors without a direction; no int8 form of a damaged code. */
static void test_vcode_rejects(void)
{
    uint8_t code[AK_VCODE_BYTES];
    float v[AK_DIM] = {0};
    int8_t q[AK_DIM];
    float scale;
    CHECK(!ak_vcode_encode(v, code));
    v[7] = NAN;
    CHECK(!ak_vcode_encode(v, code));
    v[7] = INFINITY;
    CHECK(!ak_vcode_encode(v, code));
    random_vec(v);
    CHECK(ak_vcode_encode(v, code));
    CHECK(!ak_vcode_to_i8(code, AK_VCODE_BYTES - 1, q, &scale));
    CHECK(!ak_vcode_to_i8(code, AK_DIM, q, &scale));
    static const float bad_steps[] = {0, -0.0f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_steps / sizeof *bad_steps; i++) {
        uint8_t bad[AK_VCODE_BYTES];
        memcpy(bad, code, sizeof bad);
        memcpy(bad, &bad_steps[i], 4); /* little-endian hosts only run these tests */
        CHECK(!ak_vcode_to_i8(bad, sizeof bad, q, &scale));
    }
    /* any nibbles decode into the int8 range the scan expects */
    for (int t = 0; t < 100; t++) {
        for (int i = 4; i < AK_VCODE_BYTES; i++)
            code[i] = (uint8_t)(uniform() * 256);
        CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
        for (int i = 0; i < AK_DIM; i++)
            CHECK(q[i] >= -127 && q[i] <= 127);
        code[0] ^= 0x80, code[1] ^= 0x80; /* the other version's decoding too */
        CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
        for (int i = 0; i < AK_DIM; i++)
            CHECK(q[i] >= -127 && q[i] <= 127);
    }
}

/* Codes of version 1 (a positive step, values -7..7; written before the
 * non-uniform levels) still decode as they did: x = value * step. */
static void test_vcode_v1(void)
{
    uint8_t code[AK_VCODE_BYTES] = {0};
    float step = 0.25f, scale = 0;
    int8_t q[AK_DIM];
    memcpy(code, &step, 4); /* little-endian hosts only run these tests */
    code[4] = 0x93;         /* element 0: 3, element 1: -7 */
    code[5] = 0x08;         /* element 2: nibble 8, never written: reads as -7 */
    CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    CHECK(q[0] * scale == 0.75f);
    CHECK(q[1] * scale == -1.75f);
    CHECK(q[2] * scale == -1.75f);
    CHECK(q[3] == 0 && q[AK_DIM - 1] == 0);
}

/* Version 2 (written now): the step is stored negative, each nibble is a
 * sign bit and one of 8 magnitudes, exact in int8. */
static void test_vcode_v2(void)
{
    uint8_t code[AK_VCODE_BYTES];
    float v[AK_DIM], step;
    int8_t q[AK_DIM];
    float scale;
    random_vec(v);
    CHECK(ak_vcode_encode(v, code));
    memcpy(&step, code, 4);
    CHECK(step < 0);
    CHECK(ak_vcode_to_i8(code, AK_VCODE_BYTES, q, &scale));
    CHECK(scale == -step);
    for (int i = 0; i < AK_DIM; i++) {
        int m = abs(q[i]);
        CHECK(m == 6 || m == 18 || m == 31 || m == 44 || m == 58 || m == 75 || m == 96 || m == 127);
        CHECK((q[i] < 0) == (v[i] < 0));
    }
}

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
    RUN(test_vcode_roundtrip);
    RUN(test_vcode_rejects);
    RUN(test_vcode_v1);
    RUN(test_vcode_v2);
    build();
    RUN(test_cold_found);
    RUN(test_cold_get);
    ak_store_close(cold);
    ak_pool_free(pool);
    ak_datadir_close(dd);
    return test_report("tiers");
}
