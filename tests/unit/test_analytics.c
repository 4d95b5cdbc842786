/* test_analytics.c - the statistics on series with known answers, and the
 * tools over real system databases: the rollup kept by ingestion (new,
 * duplicate, update, retention), a planted spike, a linear ramp, two
 * identical systems, a constant series, too little data. */
#include "test.h"
#include "test_sql.h"
#include "../tools/rec_test.h"

#include <math.h>
#include <sqlite3.h>

#include "analytics/analytics.h"
#include "storage/rollup.h"
#include "analytics/stats.h"
#include "util/time.h"

#define NEAR(a, b, eps) CHECK(fabs((double)(a) - (double)(b)) <= (eps))

/* ---- statistics ---- */

static void test_linreg(void)
{
    double ramp[10], flat[6] = {4, 4, 4, 4, 4, 4}, noisy[8] = {1, 3, 2, 4, 3, 5, 4, 6};
    ak_stats_fit f;
    for (int i = 0; i < 10; i++)
        ramp[i] = 5 + 2 * i;
    CHECK(ak_stats_linreg(ramp, 10, &f));
    NEAR(f.slope, 2, 1e-12);
    NEAR(f.intercept, 5, 1e-12);
    NEAR(f.r2, 1, 1e-12);
    NEAR(f.p_value, 0, 1e-12);
    CHECK(ak_stats_linreg(flat, 6, &f));
    CHECK(f.slope == 0 && f.r2 == 0 && f.p_value == 1);
    /* reference computed apart (sums by hand, the t density integrated
     * numerically): slope 4/7, r^2 16/21, t 4.38178, p 0.0046592 */
    CHECK(ak_stats_linreg(noisy, 8, &f));
    NEAR(f.slope, 4.0 / 7, 1e-12);
    NEAR(f.r2, 16.0 / 21, 1e-12);
    NEAR(f.p_value, 0.0046592149, 1e-8);
    CHECK(!ak_stats_linreg(ramp, 2, &f)); /* too little data */
}

static void test_tdist(void)
{
    /* two-sided critical values of Student's t */
    NEAR(ak_stats_t_pvalue(2.228138852, 10), 0.05, 1e-7);
    NEAR(ak_stats_t_pvalue(-2.228138852, 10), 0.05, 1e-7);
    NEAR(ak_stats_t_pvalue(12.70620474, 1), 0.05, 1e-7);
    NEAR(ak_stats_t_pvalue(1.959963985, 1e6), 0.05, 1e-5);
    NEAR(ak_stats_t_pvalue(0, 5), 1, 1e-12);
    CHECK(ak_stats_t_pvalue(INFINITY, 5) == 0);
}

static void test_pearson(void)
{
    double a[5] = {1, 5, 2, 8, 3}, b[5], c[5], flat[5] = {2, 2, 2, 2, 2}, r = 9;
    for (int i = 0; i < 5; i++)
        b[i] = 3 * a[i] + 1, c[i] = -a[i];
    CHECK(ak_stats_pearson(a, b, 5, &r));
    NEAR(r, 1, 1e-12);
    CHECK(ak_stats_pearson(a, c, 5, &r));
    NEAR(r, -1, 1e-12);
    r = 9;
    CHECK(!ak_stats_pearson(a, flat, 5, &r) && r == 9); /* undefined, not NaN */
    CHECK(!ak_stats_pearson(a, b, 2, &r));
    double m, sd;
    ak_stats_mean_sd(a, 5, &m, &sd);
    NEAR(m, 3.8, 1e-12);
    NEAR(sd, 2.774887385, 1e-8);
}

/* ---- the tools over databases ---- */

static ak_datadir *dd;
static ak_index *idx;
#define END_DAY 20000 /* 2024-10-04 */
#define DAY_US(d) ((int64_t)(d) * AK_US_PER_DAY)

/* n memories of system sid on day d (noon), ids "<tag>-<d>-<i>". */
static void put_day(ak_sysdb *db, const char *tag, int64_t d, int n, const char *upload,
                    const char *meta)
{
    for (int i = 0; i < n; i++) {
        char id[64], text[128];
        snprintf(id, sizeof id, "%s-%lld-%d", tag, (long long)d, i);
        snprintf(text, sizeof text, "memory %s of day %lld", id, (long long)d);
        ak_record r = test_record(id, text, DAY_US(d) + AK_US_PER_DAY / 2, "test");
        r.metadata = meta;
        r.metadata_len = meta ? strlen(meta) : 0;
        ak_upload_order up = {DAY_US(d), upload};
        ak_put_result res;
        ak_err err;
        CHECK_INT(ak_sysdb_put_record(db, &up, &r, &res, &err), AK_OK);
    }
}

typedef int (*day_count)(int64_t i);
static int spike(int64_t i) { return i == 12 ? 50 : 5; }
static int ramp(int64_t i) { return (int)i + 1; }
static int twin(int64_t i) { return (int)((i * 7919) % 13) + 1; }
static int flat(int64_t i) { (void)i; return 5; }

static void make_system(const char *sid, int64_t days, day_count f)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_datadir_open_system(dd, sid, 1, &db, &err), AK_OK);
    CHECK_INT(ak_sysdb_begin(db, &err), AK_OK);
    for (int64_t i = 0; i < days; i++)
        put_day(db, sid, END_DAY - days + 1 + i, f(i), "u1", NULL);
    CHECK_INT(ak_sysdb_commit(db, &err), AK_OK);
    ak_sysdb_close(db);
}

static ak_json_doc *doc;

/* Run a tool; the answer parsed (valid until the next call). */
static const ak_json *run(ak_an_tool t, const char *metric, const char *sid, int64_t days,
                          double threshold)
{
    ak_an_params p;
    ak_an_params_init(&p, t, DAY_US(END_DAY) + 3600 * AK_US_PER_SEC);
    p.metric_name = metric;
    p.system_id = sid;
    p.days = days;
    if (threshold > 0)
        p.threshold_std = threshold;
    ak_buf b = {0};
    ak_jw w;
    ak_err err;
    const ak_json *root = NULL;
    ak_jw_init(&w, &b);
    CHECK_INT(ak_an_run(idx, t, &p, &w, &err), AK_OK);
    ak_json_doc_free(doc);
    doc = ak_json_doc_new();
    CHECK(b.len && !strstr(b.data, "nan") && !strstr(b.data, "inf"));
    CHECK_INT(ak_json_parse(doc, b.data, b.len, &root, &err), AK_OK);
    ak_buf_free(&b);
    return root;
}

static double num(const ak_json *o, const char *key)
{
    const ak_json *v = ak_json_get(o, key);
    CHECK(v && v->type == AK_JSON_NUMBER);
    char s[64];
    snprintf(s, sizeof s, "%.*s", v && v->raw_len < 63 ? (int)v->raw_len : 0, v ? v->raw : "");
    return strtod(s, NULL);
}

static const char *str(const ak_json *o, const char *key)
{
    const ak_json *v = ak_json_get(o, key);
    return v && v->type == AK_JSON_STRING ? v->str : NULL;
}

static void setup(void)
{
    char dir[600];
    ak_err err;
    snprintf(dir, sizeof dir, "%s/data", test_tmpdir());
    CHECK_INT(ak_datadir_open(dir, 1, 0, &dd, &err), AK_OK);
    make_system("spiky", 30, spike);
    make_system("ramp", 10, ramp);
    make_system("ramp-late", 6, ramp); /* ramp's last 6 days would be 5..10; this is 1..6 */
    make_system("twin-a", 30, twin);
    make_system("twin-b", 30, twin);
    make_system("flat", 30, flat);
    make_system("young", 2, flat);
    CHECK_INT(ak_index_new(dd, &idx, &err), AK_OK);
}

static void test_planted_spike(void)
{
    const ak_json *r = run(AK_AN_ANOMALIES, "conversation_count", "spiky", 30, 3.0);
    CHECK_INT(num(r, "anomaly_count"), 1);
    CHECK_INT(num(r, "total_points"), 30);
    const ak_json *a = ak_json_get(r, "anomalies");
    CHECK(a && a->n_kids == 1);
    if (a && a->first) {
        CHECK_STR(str(a->first, "date"), "2024-09-17"); /* END_DAY - 29 + 12 */
        CHECK_INT(num(a->first, "value"), 50);
        /* mean (29*5+50)/30 = 6.5; the spike lies 43.5 above it */
        NEAR(num(a->first, "deviation"), 43.5, 1e-9);
        CHECK(num(a->first, "z_score") > 5);
        CHECK_STR(str(a->first, "system_id"), "spiky");
    }
    /* the fleet: each system against its own baseline; flat has none */
    r = run(AK_AN_ANOMALIES, "conversation_count", NULL, 30, 3.0);
    CHECK_INT(num(r, "anomaly_count"), 1);
    /* 7 days can never show |z| >= 3: insufficient, not "no anomalies" */
    r = run(AK_AN_ANOMALIES, "conversation_count", "spiky", 7, 3.0);
    CHECK_STR(str(r, "error"), "Insufficient data for anomaly detection");
    CHECK_INT(num(r, "needed"), 11);
    r = run(AK_AN_ANOMALIES, "conversation_count", "flat", 30, 2.0);
    CHECK_INT(num(r, "anomaly_count"), 0);
}

static void test_linear_ramp(void)
{
    const ak_json *r = run(AK_AN_TRENDS, "conversation_count", "ramp", 30, 0);
    CHECK_STR(str(r, "trend_direction"), "increasing");
    NEAR(num(r, "trend_strength"), 1, 1e-12);
    NEAR(num(r, "confidence"), 1, 1e-12);
    NEAR(num(r, "slope_per_day"), 1, 1e-12);
    NEAR(num(r, "percent_change"), 900, 1e-9); /* 1 -> 10 */
    CHECK_INT(num(r, "data_points"), 10);     /* from its first day, not the window's */
    const ak_json *tr = ak_json_get(r, "time_range");
    CHECK(tr && tr->n_kids == 2 && !strcmp(tr->first->str, "2024-09-25"));
    /* content bytes follow the same ramp */
    r = run(AK_AN_TRENDS, "content_bytes", "ramp", 10, 0);
    CHECK_STR(str(r, "trend_direction"), "increasing");
    r = run(AK_AN_TRENDS, "conversation_count", "flat", 30, 0);
    CHECK_STR(str(r, "trend_direction"), "stable");
    CHECK(num(r, "trend_strength") == 0 && num(r, "confidence") == 0);
    NEAR(num(r, "percent_change"), 0, 1e-12);
}

/* The pair (s1, s2) among an answer's correlations, or NULL. */
static const ak_json *pair_of(const ak_json *r, const char *s1, const char *s2)
{
    const ak_json *c = ak_json_get(r, "correlations");
    for (const ak_json *x = c ? c->first : NULL; x; x = x->next)
        if (!strcmp(str(x, "system_1"), s1) && !strcmp(str(x, "system_2"), s2))
            return x;
    return NULL;
}

static void test_identical_systems(void)
{
    const ak_json *r = run(AK_AN_CORRELATE, "conversation_count", NULL, 30, 0);
    const ak_json *x = pair_of(r, "twin-a", "twin-b");
    CHECK(x);
    if (x) {
        NEAR(num(x, "correlation"), 1, 1e-12);
        CHECK_STR(str(x, "strength"), "strong");
    }
    /* ramp and ramp-late, over the 6 days both exist, rise together (r 1);
     * the days before ramp-late existed are not read as zeros */
    CHECK((x = pair_of(r, "ramp", "ramp-late")) != NULL);
    if (x)
        NEAR(num(x, "correlation"), 1, 1e-12);
    /* ties in name order: ramp/ramp-late before twin-a/twin-b */
    const ak_json *first = ak_json_get(r, "correlations")->first;
    CHECK_STR(str(first, "system_1"), "ramp");
    /* flat is constant over the window: no correlation is defined */
    CHECK(num(r, "constant_systems") >= 1);
    for (const ak_json *s = ak_json_get(r, "systems")->first; s; s = s->next)
        CHECK(strcmp(s->str, "flat") != 0);
}

static void test_insufficient(void)
{
    const ak_json *r = run(AK_AN_TRENDS, "conversation_count", "young", 30, 0);
    CHECK_STR(str(r, "error"), "Insufficient data for trend analysis");
    CHECK_INT(num(r, "data_points"), 2);
    CHECK(!ak_json_get(r, "trend_strength"));
    /* ramp never had a reflection: a known zero is data (stable at 0) */
    r = run(AK_AN_TRENDS, "reflection_count", "ramp", 30, 0);
    CHECK_STR(str(r, "trend_direction"), "stable");
    CHECK(ak_json_get(r, "percent_change")->type == AK_JSON_NULL);
    /* no ledger rows at all (records were put directly): nothing known */
    r = run(AK_AN_TRENDS, "upload_count", "ramp", 30, 0);
    CHECK_STR(str(r, "error"), "Insufficient data for trend analysis");
    CHECK_INT(num(r, "data_points"), 0);
    r = run(AK_AN_CORRELATE, "reflection_count", NULL, 30, 0);
    CHECK_STR(str(r, "error"), "Insufficient data for correlation analysis");
}

static void test_bad_params(void)
{
    ak_an_params p;
    ak_buf b = {0};
    ak_jw w;
    ak_err err;
    ak_jw_init(&w, &b);
    ak_an_params_init(&p, AK_AN_TRENDS, 0);
    CHECK_INT(ak_an_run(idx, AK_AN_TRENDS, &p, &w, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "metric_name: required");
    p.metric_name = "bogus";
    CHECK_INT(ak_an_run(idx, AK_AN_TRENDS, &p, &w, &err), AK_ERR_INVALID);
    p.metric_name = "new_count";
    p.project = "x";
    CHECK_INT(ak_an_run(idx, AK_AN_TRENDS, &p, &w, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "project and category");
    p.project = NULL;
    p.system_id = "../etc";
    CHECK_INT(ak_an_run(idx, AK_AN_TRENDS, &p, &w, &err), AK_ERR_INVALID);
    p.system_id = "nobody";
    CHECK_INT(ak_an_run(idx, AK_AN_TRENDS, &p, &w, &err), AK_ERR_NOTFOUND);
    CHECK(b.len == 0);
    const char *bad[] = {"{\"metric_name\":3}", "{\"metric_name\":\"x\",\"bogus\":1}",
                         "{\"time_window_days\":0}", "{\"time_window_days\":1.5}",
                         "{\"threshold_std\":-1}", "{\"threshold_std\":\"3\"}",
                         "{\"end_date\":\"yesterday\"}", "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ak_json_doc *d = ak_json_doc_new();
        const ak_json *root;
        CHECK_INT(ak_json_parse(d, bad[i], strlen(bad[i]), &root, &err), AK_OK);
        ak_an_params_init(&p, AK_AN_ANOMALIES, 0);
        CHECK_INT(ak_an_params_from_json(root, AK_AN_ANOMALIES, &p, &err), AK_ERR_INVALID);
        ak_json_doc_free(d);
    }
}

/* The fact's metadata columns computed in C are exactly what the SQL
 * gives, and every case C is not sure of is left to the SQL. */
static void test_meta_in_c(void)
{
    static const char *const cases[] = {
        "{\"project\":\"akosha\",\"category\":\"context\",\"type\":\"conversation\"}",
        "{\"type\":\"reflection\",\"project\":\"p\"}",
        "{\"type\":\"reflectionx\"}", "{\"type\":\"Reflection\"}", "{}", "[]", "[1,2]", "7",
        "\"x\"", "null", "{\"project\":null,\"category\":\"\"}",
        "{\"project\":12,\"category\":true}", "{\"project\":{\"a\":1}}", "{\"project\":[1]}",
        "{\"project\":\"a\",\"project\":\"b\"}", "{\"proj\\u0065ct\":\"x\"}",
        "{\"project\":\"tab\\there\"}", "{\"project\":\"caf\xc3\xa9 \xe2\x82\xac\"}",
        "{\"project\":\"\xff\xfe\"}", "{\"project\":\"a\" ", "not json", "{\"a\":{\"project\":\"no\"}}",
        "  {\"category\" : \"spaced\" }  ", "{\"project\":\"\\u0000\"}", "{\"type\":\"reflection\",}",
        NULL,
    };
    char longer[1200];
    sqlite3 *h;
    sqlite3_stmt *st;
    ak_json_doc *d = ak_json_doc_new();
    CHECK_INT(sqlite3_open(":memory:", &h), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(h, "SELECT " AK_ROLLUP_META("?1", "project") ", "
                                 AK_ROLLUP_META("?1", "category") ", "
                                 AK_ROLLUP_IS_REFLECTION("?1"), -1, &st, NULL), SQLITE_OK);
    int computed = 0, n = (int)(sizeof cases / sizeof *cases);
    for (int i = 0; i < n + 2; i++) {
        const char *m = i < n ? cases[i] : longer;
        if (i == n) { /* 300 characters of two bytes and more: cut at 128 characters */
            size_t o = (size_t)snprintf(longer, sizeof longer, "{\"project\":\"");
            for (int k = 0; k < 300; k++)
                o += (size_t)snprintf(longer + o, sizeof longer - o, "%s", k % 3 ? "\xc3\xa9" : "\xe2\x82\xac");
            snprintf(longer + o, sizeof longer - o, "\",\"category\":\"%0200d\"}", 0);
        } else if (i == n + 1) { /* 128 ASCII characters exactly */
            snprintf(longer, sizeof longer, "{\"category\":\"%0128d\"}", 5);
        }
        ak_rollup_meta c;
        if (!ak_rollup_meta_of(d, m, m ? strlen(m) : 0, &c))
            continue;
        computed++;
        sqlite3_reset(st);
        if (m)
            sqlite3_bind_text(st, 1, m, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 1);
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        CHECK_INT((int)c.project_len, sqlite3_column_bytes(st, 0));
        CHECK(!memcmp(c.project, sqlite3_column_text(st, 0), c.project_len));
        CHECK_INT((int)c.category_len, sqlite3_column_bytes(st, 1));
        CHECK(!memcmp(c.category, sqlite3_column_text(st, 1), c.category_len));
        CHECK_INT(c.reflection, sqlite3_column_int(st, 2));
    }
    CHECK(computed >= 12); /* the plain cases do not fall back */
    ak_rollup_meta c;
    CHECK_INT(ak_rollup_meta_of(d, cases[1], strlen(cases[1]), &c), 1);
    CHECK_INT(c.reflection, 1);
    CHECK_INT(ak_rollup_meta_of(d, cases[14], strlen(cases[14]), &c), 0); /* repeated */
    CHECK_INT(ak_rollup_meta_of(d, cases[11], strlen(cases[11]), &c), 0); /* not strings */
    sqlite3_finalize(st);
    sqlite3_close(h);
    ak_json_doc_free(d);
}

/* The rollup follows what is stored: duplicates add nothing, an update
 * moves its memory, retention and reflections count right. */
static void test_rollup_exact(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_INT(ak_datadir_open_system(dd, "life", 1, &db, &err), AK_OK);
    const char *conv = "{\"project\":\"akosha\",\"category\":\"bug\"}";
    const char *refl = "{\"type\":\"reflection\",\"project\":\"akosha\"}";
    CHECK_INT(ak_sysdb_begin(db, &err), AK_OK);
    put_day(db, "c", END_DAY - 2, 3, "u1", conv);
    put_day(db, "r", END_DAY - 2, 2, "20240101_000000_000000_push_0000abcd", refl);
    put_day(db, "c", END_DAY - 2, 3, "u1", conv); /* the same again: duplicates */
    CHECK_INT(ak_sysdb_commit(db, &err), AK_OK);
    sqlite3 *h = test_sql_open(db);
    sqlite3_stmt *st;
    const char *q = "SELECT sum(conversations), sum(reflections), sum(pushed), sum(bytes),"
                    " count(DISTINCT project) FROM daily WHERE day = ?1";
    CHECK_INT(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, END_DAY - 2);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int64(st, 0), 3);
    CHECK_INT(sqlite3_column_int64(st, 1), 2);
    CHECK_INT(sqlite3_column_int64(st, 2), 2);
    CHECK(sqlite3_column_int64(st, 3) > 0);
    CHECK_INT(sqlite3_column_int64(st, 4), 1);
    sqlite3_reset(st);
    /* a later upload edits c-…-0 and moves it to another day */
    ak_record r = test_record("c-19998-0", "edited", DAY_US(END_DAY), "test");
    ak_upload_order up = {DAY_US(END_DAY), "u2"};
    ak_put_result res;
    CHECK_INT(ak_sysdb_begin(db, &err), AK_OK);
    CHECK_INT(ak_sysdb_put_record(db, &up, &r, &res, &err), AK_OK);
    CHECK_INT(ak_sysdb_commit(db, &err), AK_OK);
    CHECK_INT(res, AK_PUT_UPDATED);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int64(st, 0), 2);
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, END_DAY);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int64(st, 0), 1);
    CHECK_INT(sqlite3_column_int64(st, 3), 6); /* "edited" */
    sqlite3_reset(st);
    /* retention deletes END_DAY - 2's memories: its day leaves the series */
    CHECK_INT(sqlite3_exec(h, "DELETE FROM hot WHERE ts_us < 1727913600000000", NULL, NULL, NULL),
              SQLITE_OK); /* END_DAY - 1 */
    CHECK_INT(ak_rollup_expire(db, DAY_US(END_DAY - 1), &err), AK_OK);
    sqlite3_bind_int64(st, 1, END_DAY - 2);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK(sqlite3_column_type(st, 0) == SQLITE_NULL);
    sqlite3_finalize(st);
    sqlite3_close(h);
    ak_sysdb_close(db);
    CHECK_INT(ak_rollup_day(-1), -1);
    CHECK_INT(ak_rollup_day(0), 0);
    CHECK_INT(ak_rollup_day(AK_US_PER_DAY - 1), 0);
}

/* A database from before the rollup (schema 5) is upgraded once, its
 * rows' facts filled in: hot with bytes and metadata, cold counted. */
static void test_upgrade(void)
{
    char path[600];
    ak_sysdb *db;
    ak_err err;
    snprintf(path, sizeof path, "%s/old.db", test_tmpdir());
    CHECK_INT(ak_sysdb_open(path, 1, &db, &err), AK_OK);
    CHECK_INT(ak_sysdb_begin(db, &err), AK_OK);
    put_day(db, "h", END_DAY, 3, "u1", "{\"project\":\"p\",\"type\":\"reflection\"}");
    put_day(db, "k", END_DAY - 1, 2, "20240101_000000_000000_push_00000001", NULL);
    CHECK_INT(ak_sysdb_commit(db, &err), AK_OK);
    sqlite3 *h = test_sql_open(db);
    /* one of them cold, as aging leaves it: the catalog only */
    CHECK_INT(sqlite3_exec(h, TEST_SQL_UNDO_9 /* schema 9 */
                              "INSERT INTO cold(conversation_id, object_key, ts_us, content_sha256,"
                              " upload_at_us, upload_id) SELECT conversation_id, 'obj', ts_us,"
                              " content_sha256, upload_at_us, upload_id FROM hot WHERE"
                              " conversation_id = 'k-19999-1'; DELETE FROM hot WHERE"
                              " conversation_id = 'k-19999-1';"
                              "DROP TABLE conv_facts; DROP TABLE daily; DROP INDEX uploads_at;"
                              "DROP TABLE sources; DROP TABLE pruned;" /* schema 7 */
                              "ALTER TABLE warm DROP COLUMN ultra_at;" /* schema 8 */
                              "ALTER TABLE warm DROP COLUMN ultra_len;"
                              "PRAGMA user_version = 5;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    ak_sysdb_close(db);
    CHECK_INT(ak_sysdb_open(path, 0, &db, &err), AK_OK);
    h = test_sql_open(db);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(h, "SELECT day, project, conversations, reflections, pushed,"
                                    " bytes > 0 FROM daily ORDER BY day", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW); /* the pushed day: one hot, one cold (no bytes) */
    CHECK_INT(sqlite3_column_int64(st, 0), END_DAY - 1);
    CHECK_INT(sqlite3_column_int64(st, 2), 2);
    CHECK_INT(sqlite3_column_int64(st, 4), 2);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 1), "p");
    CHECK_INT(sqlite3_column_int64(st, 2), 0);
    CHECK_INT(sqlite3_column_int64(st, 3), 3);
    CHECK_INT(sqlite3_column_int64(st, 5), 1);
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);
    ak_sysdb_close(db);
}

/* ---- daily kept exact by its writers (issue 18) ---- */

/* Rows in which daily and the sums of conv_facts differ, either way: 0
 * when daily is exact (a row of daily that counts nothing differs too). */
static int daily_off(const char *path)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(h,
        "WITH f AS (SELECT day, project, category, sum(1 - reflection), sum(reflection),"
        " sum(bytes), sum(pushed) FROM conv_facts GROUP BY 1, 2, 3)"
        " SELECT (SELECT count(*) FROM (SELECT * FROM f EXCEPT SELECT * FROM daily))"
        " + (SELECT count(*) FROM (SELECT * FROM daily EXCEPT SELECT * FROM f))",
        -1, &st, NULL), SQLITE_OK);
    int off = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return off;
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ULL;
static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13, rnd_state ^= rnd_state >> 7, rnd_state ^= rnd_state << 17;
    return (unsigned)(rnd_state >> 33) % n;
}

/* Put memory "x<id>" on day END_DAY - day with metadata meta and content
 * of len characters (from a fixed text: equal lengths are duplicates). */
static ak_put_result put_one(ak_sysdb *db, const ak_upload_order *up, unsigned id, unsigned day,
                             const char *meta, unsigned len)
{
    static const char text[] = "a memory of a coding session, its words and its bytes";
    char sid[16], content[sizeof text];
    snprintf(sid, sizeof sid, "x%u", id);
    snprintf(content, sizeof content, "%.*s", (int)len, text);
    ak_record r = test_record(sid, content, DAY_US(END_DAY - day) + 1000, "test");
    r.metadata = meta;
    r.metadata_len = meta ? strlen(meta) : 0;
    ak_put_result res = AK_PUT_STALE;
    ak_err err;
    CHECK_OK(ak_sysdb_put_record(db, up, &r, &res, &err), err);
    return res;
}

/* A random put: new ids, updates of stored ones (another day, project,
 * category, type or length), duplicates and conflicts in one upload, and
 * metadata only the SQL reads (an escape). */
static ak_put_result put_random(ak_sysdb *db, const ak_upload_order *up)
{
    static const char *const metas[] = {
        NULL,
        "{\"project\":\"akosha\",\"category\":\"bug\"}",
        "{\"project\":\"akosha\",\"category\":\"feature\",\"type\":\"reflection\"}",
        "{\"project\":\"buddy\"}",
        "{\"type\":\"reflection\"}",
        "{\"project\":\"\\u0062uddy\",\"category\":\"bug\"}", /* SQL: "buddy" */
        "not json",
    };
    static const unsigned lens[] = {7, 20, 33, 41};
    return put_one(db, up, rnd(16), rnd(4), metas[rnd(7)], lens[rnd(4)]);
}

/* A random walk of puts (in transactions committed or rolled back, and
 * outside any), conversations deleted with their facts kept, and
 * retention: daily equals the facts' sums after every step. */
static void test_daily_exact_random(void)
{
    char path[600];
    ak_sysdb *db;
    ak_err err;
    int kinds[6] = {0};
    snprintf(path, sizeof path, "%s/daily-random.db", test_tmpdir());
    CHECK_INT(ak_sysdb_open(path, 1, &db, &err), AK_OK);
    for (int step = 0, seq = 1; step < 300; step++, seq++) {
        char uid[64];
        snprintf(uid, sizeof uid, rnd(2) ? "20240101_000000_000000_push_%08d" : "u%08d", seq);
        ak_upload_order up = {seq, uid};
        unsigned what = rnd(10);
        if (what < 6) { /* a transaction, one in four rolled back */
            CHECK_OK(ak_sysdb_begin(db, &err), err);
            for (unsigned n = 1 + rnd(8); n; n--)
                kinds[put_random(db, &up)]++;
            if (rnd(4))
                CHECK_OK(ak_sysdb_commit(db, &err), err);
            else
                ak_sysdb_rollback(db);
        } else if (what < 8) {
            kinds[put_random(db, &up)]++; /* outside a transaction */
        } else if (what < 9) { /* removed from the tiers; the fact waits for retention */
            sqlite3 *h = test_sql_open(db);
            char sql[96];
            snprintf(sql, sizeof sql, "DELETE FROM hot WHERE conversation_id = 'x%u'", rnd(16));
            CHECK_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
            sqlite3_close(h);
        } else { /* retention of the days before END_DAY - d, which may keep some
                  * (a cold object it could not rewrite): x1* here */
            int64_t cut = DAY_US(END_DAY - (int64_t)rnd(4));
            sqlite3 *h = test_sql_open(db);
            char sql[128];
            snprintf(sql, sizeof sql, "DELETE FROM hot WHERE ts_us < %lld"
                     " AND conversation_id NOT LIKE 'x1%%'", (long long)cut);
            CHECK_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
            sqlite3_close(h);
            CHECK_OK(ak_rollup_expire(db, cut, &err), err);
        }
        int off = daily_off(path);
        CHECK_INT(off, 0);
        if (off)
            break; /* the first step that broke it is the one to read */
    }
    /* the walk did each kind of put */
    CHECK(kinds[AK_PUT_NEW] && kinds[AK_PUT_UPDATED] && kinds[AK_PUT_DUPLICATE] &&
          kinds[AK_PUT_CONFLICT]);
    ak_sysdb_close(db);
}

/* A transaction of more keys than the map holds writes daily early, and
 * stays exact: updates after that move counts already written. */
static void test_daily_exact_many_keys(void)
{
    char path[600];
    ak_sysdb *db;
    ak_err err;
    snprintf(path, sizeof path, "%s/daily-many.db", test_tmpdir());
    CHECK_INT(ak_sysdb_open(path, 1, &db, &err), AK_OK);
    ak_upload_order u1 = {1, "u1"}, u2 = {2, "u2"};
    CHECK_OK(ak_sysdb_begin(db, &err), err);
    for (unsigned i = 0; i < 5000; i++) /* a day each: 5000 keys */
        CHECK_INT(put_one(db, &u1, i, i, NULL, 20), AK_PUT_NEW);
    for (unsigned i = 0; i < 20; i++) /* the first keys, written early, lose theirs */
        CHECK_INT(put_one(db, &u2, i, 4999, NULL, 33), AK_PUT_UPDATED);
    CHECK_OK(ak_sysdb_commit(db, &err), err);
    CHECK_INT(daily_off(path), 0);
    sqlite3 *h = test_sql_open(db);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(h, "SELECT count(*), sum(conversations) FROM daily", -1, &st,
                                 NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 4980);
    CHECK_INT(sqlite3_column_int(st, 1), 5000);
    sqlite3_finalize(st);
    sqlite3_close(h);
    ak_sysdb_close(db);
}

/* A database of schema 10, whose daily triggers kept, is brought to this
 * schema on open: the triggers go (counting twice else) and daily stays
 * exact through puts and retention. */
static void test_daily_upgrade_from_triggers(void)
{
    char path[600];
    ak_sysdb *db;
    ak_err err;
    snprintf(path, sizeof path, "%s/daily-v10.db", test_tmpdir());
    CHECK_INT(ak_sysdb_open(path, 1, &db, &err), AK_OK);
    ak_upload_order u1 = {1, "u1"}, u2 = {2, "20240101_000000_000000_push_00000002"};
    CHECK_OK(ak_sysdb_begin(db, &err), err);
    for (unsigned i = 0; i < 8; i++)
        put_one(db, &u1, i, i % 3, i % 2 ? "{\"project\":\"p\"}" : NULL, 20);
    CHECK_OK(ak_sysdb_commit(db, &err), err);
    sqlite3 *h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h, TEST_SQL_UNDO_11 "PRAGMA user_version = 10;"
                              /* what schema 10 did: the triggers follow the facts */
                              "UPDATE conv_facts SET day = day + 1 WHERE conversation_id = 'x1';"
                              "DELETE FROM conv_facts WHERE conversation_id = 'x2';",
                           NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    ak_sysdb_close(db);
    CHECK_INT(daily_off(path), 0);

    CHECK_INT(ak_sysdb_open(path, 0, &db, &err), AK_OK);
    h = test_sql_open(db);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM sqlite_master WHERE type ="
                                    " 'trigger' AND tbl_name = 'conv_facts'),"
                                    " (SELECT user_version FROM pragma_user_version)",
                                 -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 0);
    CHECK_INT(sqlite3_column_int(st, 1), ak_sysdb_schema_version());
    sqlite3_finalize(st);
    sqlite3_close(h);
    CHECK_INT(daily_off(path), 0);
    CHECK_OK(ak_sysdb_begin(db, &err), err);
    CHECK_INT(put_one(db, &u2, 1, 3, "{\"type\":\"reflection\"}", 33), AK_PUT_UPDATED);
    CHECK_INT(put_one(db, &u2, 2, 0, NULL, 41), AK_PUT_UPDATED); /* its fact was deleted */
    CHECK_INT(put_one(db, &u2, 20, 1, NULL, 7), AK_PUT_NEW);
    CHECK_OK(ak_sysdb_commit(db, &err), err);
    CHECK_INT(daily_off(path), 0);
    h = test_sql_open(db);
    CHECK_INT(sqlite3_exec(h, "DELETE FROM hot", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    CHECK_OK(ak_rollup_expire(db, DAY_US(END_DAY - 1), &err), err);
    CHECK_INT(daily_off(path), 0);
    ak_sysdb_close(db);
}

/* An unreadable system is counted and named as such; the rest answer. */
static void test_unreadable_system(void)
{
    char path[1024];
    ak_err err;
    ak_sysdb *db;
    CHECK_INT(ak_datadir_open_system(dd, "broken", 1, &db, &err), AK_OK); /* its shard */
    ak_sysdb_close(db);
    CHECK_INT(ak_datadir_db_path(dd, "broken", path, sizeof path, &err), AK_OK);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not a database, not even close; long enough to be read as a header ......", f);
        fclose(f);
    }
    const ak_json *r = run(AK_AN_TRENDS, "conversation_count", NULL, 30, 0);
    CHECK_INT(num(r, "systems_unreadable"), 1);
    CHECK(num(r, "systems") >= 7);
    r = run(AK_AN_METRICS, NULL, NULL, 30, 0);
    CHECK_INT(num(r, "systems_unreadable"), 1);
    remove(path);
}

int main(void)
{
    RUN(test_linreg);
    RUN(test_tdist);
    RUN(test_pearson);
    setup();
    RUN(test_planted_spike);
    RUN(test_linear_ramp);
    RUN(test_identical_systems);
    RUN(test_insufficient);
    RUN(test_bad_params);
    RUN(test_meta_in_c);
    RUN(test_rollup_exact);
    RUN(test_upgrade);
    RUN(test_daily_exact_random);
    RUN(test_daily_exact_many_keys);
    RUN(test_daily_upgrade_from_triggers);
    RUN(test_unreadable_system);
    ak_json_doc_free(doc);
    ak_index_free(idx);
    ak_datadir_close(dd);
    return test_report("analytics");
}
