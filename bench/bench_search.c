/*
 * bench_search.c - search latency, throughput, recall and memory.
 *
 *   bench_search DIR N TIER [VECTORS_OUT]
 *
 * Builds (once; reused when DIR already holds it) a data directory of N
 * conversations spread over 1,000 systems on 256 shards, with the sample
 * generator's clustered 384-d embeddings, stored in TIER (hot: float32;
 * warm: the 5-bit code aging stores (schema 8); cold: the cold catalog's vector
 * code and summary; mixed: a third in each, and the latencies are also
 * measured with the cold tier left out).  Then loads the index and
 * measures top-10 search: latency percentiles over all shards and for one
 * system, queries per second with concurrent clients, recall@10 against an
 * exact brute-force search done here in double precision (mixed: also
 * without the cold tier, against the exact search of hot and warm), and
 * against exact search of the vectors as stored (warm and cold rows'
 * codes decoded: what the codes allow; cold codes are made from the warm
 * code, as aging makes them), index
 * load time, resident memory, and the memory-bandwidth floor of one pass over the
 * bytes the scan reads.  With VECTORS_OUT it also writes the vectors as
 * JSONL (for DuckDB) and the query vectors to VECTORS_OUT.queries.
 * BENCH_SEARCH_VECTORS=clustered draws the vectors and queries from
 * tests/tools/clustered.h instead (3,000 centres in a 100-d latent space:
 * the realistic set the vector index is measured on; the sample
 * generator's 24 topics are isotropic noise around each centre, and its
 * queries lie near none of them, the case where an ANN index finds little).
 * BENCH_SEARCH_RECALL_QUERIES=N measures recall over N queries (default 40).
 * BENCH_SEARCH_GRAPH=1 builds (or reuses) the vector index in DIR and
 * searches through it, as akosha serve does once its graph is built;
 * without it every search scans every vector exactly.
 * Prints one JSON object.
 */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gen/sample.h"
#include "storage/warmcode.h"
#include "util/vcode.h"
#include "query/indexer.h"
#include "query/search.h"
#include "query/vindex.h"
#include "util/time.h"
#include "../tests/tools/clustered.h"

#define SYSTEMS 1000
#define QUERIES 200
#define RECALL_QUERIES 40
#define SEED 7

static uint32_t n_total;
static enum { HOT, WARM, COLD, MIXED } layout;
static int query_tiers = AK_TIER_ALL;

static ak_tier tier_of(uint32_t i)
{
    return layout == MIXED ? (ak_tier)(i % 3) : layout == COLD ? AK_TIER_COLD
                             : layout == WARM ? AK_TIER_WARM : AK_TIER_HOT;
}

static cl_gen *clustered; /* BENCH_SEARCH_VECTORS=clustered: its centres and projection */

/* Vector `key` of the clustered set, drawn from a copy of the generator
 * seeded by the key: any order, any thread. */
static void clustered_of(uint64_t key, float *v)
{
    cl_gen g = *clustered;
    g.rng = (key * 0x9E3779B97F4A7C15ULL) ^ 0xD1B54A32D192ED03ULL;
    g.rng |= 1;
    cl_draw(&g, v);
}

static void vector_of(uint32_t i, float *v)
{
    if (clustered)
        clustered_of(i, v);
    else
        ak_gen_embedding(SEED, i % SYSTEMS, i / SYSTEMS, 0, v);
}

static void query_of(int k, float *v)
{
    if (clustered)
        clustered_of(((uint64_t)1 << 40) + (uint64_t)k, v);
    else
        ak_gen_embedding(SEED + 1, (unsigned)k % 97, (unsigned)k, 1, v);
}

_Noreturn static void die(const char *what, const ak_err *err)
{
    fprintf(stderr, "bench_search: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static void insert_system(ak_sysdb *db, uint32_t sys)
{
    sqlite3 *h = NULL; /* the bench's own connection: rows as aging would leave them */
    sqlite3_stmt *st[3], *fts[3];
    static const char *const sql[3] = {
        "INSERT INTO hot(conversation_id, content, embedding, ts_us, source, content_sha256,"
        " upload_at_us, upload_id) VALUES(?1, ?2, ?3, ?5, 'bench', ?6, 1, 'u')",
        "INSERT INTO warm(conversation_id, summary, embedding_q, embedding_scale, ts_us, source,"
        " content_sha256, upload_at_us, upload_id) VALUES(?1, ?2, ?3, ?4, ?5, 'bench', ?6, 1, 'u')",
        "INSERT INTO cold(conversation_id, ultra_summary, embedding_code, object_id, ts_us,"
        " content_sha256, upload_at_us, upload_id) VALUES(?1, ?2, ?3, 1, ?5, ?6, 1, 'u')",
    };
    static const char *const fts_sql[3] = {
        "INSERT INTO hot_fts(rowid, content) VALUES(?1, ?2)",
        "INSERT INTO warm_fts(rowid, summary) VALUES(?1, ?2)",
        "INSERT INTO cold_fts(rowid, ultra_summary) VALUES(?1, ?2)",
    };
    if (sqlite3_open_v2(ak_sysdb_path(db), &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(h, "BEGIN IMMEDIATE; INSERT OR IGNORE INTO cold_objects(id, key)"
                        " VALUES(1, 'bench')", NULL, NULL, NULL) != SQLITE_OK)
        die(sqlite3_errmsg(h), NULL);
    for (int t = 0; t < 3; t++)
        if (sqlite3_prepare_v2(h, sql[t], -1, &st[t], NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(h, fts_sql[t], -1, &fts[t], NULL) != SQLITE_OK)
            die(sqlite3_errmsg(h), NULL);
    for (uint32_t i = sys; i < n_total; i += SYSTEMS) {
        float v[AK_DIM];
        uint8_t code[AK_VCODE_MAX];
        size_t len;
        char id[32], text[96];
        uint8_t sha[32] = {0}, wcode[AK_WCODE_BYTES];
        ak_tier tier = tier_of(i);
        sqlite3_stmt *s = st[tier];
        vector_of(i, v);
        snprintf(id, sizeof id, "c%u", i);
        snprintf(text, sizeof text, "bench conversation %u about topic %u", i,
                 ak_gen_topic(SEED, i % SYSTEMS, i / SYSTEMS));
        memcpy(sha, &i, sizeof i);
        sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, text, -1, SQLITE_TRANSIENT);
        if (tier == AK_TIER_WARM) { /* the 5-bit code of schema 8 (int8 is not read) */
            ak_wcode_encode(v, wcode);
            sqlite3_bind_blob(s, 3, wcode, sizeof wcode, SQLITE_TRANSIENT);
            sqlite3_bind_double(s, 4, 0);
        } else if (tier == AK_TIER_COLD) { /* as aging makes it: from the warm code */
            if (!ak_wcode_encode(v, wcode) || !(len = ak_wcode_to_vcode(wcode, sizeof wcode, code)))
                die("no vector code", NULL);
            sqlite3_bind_blob(s, 3, code, (int)len, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_blob(s, 3, v, sizeof v, SQLITE_TRANSIENT); /* little-endian hosts */
        }
        sqlite3_bind_int64(s, 5, (int64_t)i * 1000);
        sqlite3_bind_blob(s, 6, sha, 32, SQLITE_TRANSIENT);
        if (sqlite3_step(s) != SQLITE_DONE)
            die(sqlite3_errmsg(h), NULL);
        sqlite3_reset(s);
        sqlite3_bind_int64(fts[tier], 1, sqlite3_last_insert_rowid(h));
        sqlite3_bind_text(fts[tier], 2, text, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(fts[tier]) != SQLITE_DONE)
            die(sqlite3_errmsg(h), NULL);
        sqlite3_reset(fts[tier]);
    }
    for (int t = 0; t < 3; t++) {
        sqlite3_finalize(st[t]);
        sqlite3_finalize(fts[t]);
    }
    if (sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die(sqlite3_errmsg(h), NULL);
    sqlite3_close(h);
}

static void build(ak_datadir *dd)
{
    for (uint32_t s = 0; s < SYSTEMS; s++) {
        char sid[32];
        ak_sysdb *db;
        ak_err err;
        snprintf(sid, sizeof sid, "bench%04u", s);
        if (ak_datadir_open_system(dd, sid, 1, &db, &err))
            die("open", &err);
        insert_system(db, s);
        ak_sysdb_close(db);
    }
}

static int cmp(const void *a, const void *b);

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[(int)(p * (n - 1) + 0.5)];
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double one_query(ak_index *idx, ak_pool *pool, int k, const char *system, ak_results *keep)
{
    ak_query q;
    ak_err err;
    ak_query_init(&q);
    query_of(k, q.vector);
    q.has_vector = 1;
    q.system_id = system;
    q.tiers = query_tiers;
    if (ak_query_check(&q, &err))
        die("query", &err);
    ak_results res;
    if (ak_search(idx, pool, &q, &res, &err))
        die("search", &err);
    double ms = res.took_ms;
    if (keep)
        *keep = res;
    else
        ak_results_free(&res);
    return ms;
}

/* The vector as the index holds it: hot float32; warm and cold their codes
 * decoded (cold made from the warm code, as aging makes it). */
static void stored_of(uint32_t i, float *v)
{
    uint8_t wcode[AK_WCODE_BYTES], code[AK_VCODE_MAX];
    size_t len = 0;
    int8_t q[AK_DIM];
    float scale;
    ak_tier t = tier_of(i);
    vector_of(i, v);
    if (t == AK_TIER_HOT)
        return;
    int ok = ak_wcode_encode(v, wcode);
    if (t == AK_TIER_COLD)
        ok = ok && (len = ak_wcode_to_vcode(wcode, sizeof wcode, code)) &&
             ak_vcode_to_i8(code, len, q, &scale);
    else
        ok = ok && ak_wcode_to_i8(wcode, sizeof wcode, q, &scale);
    if (!ok)
        die("no vector code", NULL);
    ak_vec_dequantize(q, scale, v);
}

/* The ids of the 10 rows of `all` (unit vectors) nearest qv, by brute
 * force in doubles, over the tiers the queries search (query_tiers). */
static void exact_top10(const float *all, const float *qv, uint32_t id[10])
{
    double best[10];
    for (int j = 0; j < 10; j++)
        best[j] = -2, id[j] = 0;
    for (uint32_t i = 0; i < n_total; i++) {
        if (!(query_tiers & AK_TIER_MASK(tier_of(i))))
            continue;
        const float *x = all + (size_t)i * AK_DIM;
        double d = 0;
        for (int j = 0; j < AK_DIM; j++)
            d += (double)qv[j] * x[j];
        if (d <= best[9])
            continue;
        int p = 9;
        while (p > 0 && best[p - 1] < d) {
            best[p] = best[p - 1];
            id[p] = id[p - 1];
            p--;
        }
        best[p] = d;
        id[p] = i;
    }
}

static int recall_queries(void)
{
    const char *e = getenv("BENCH_SEARCH_RECALL_QUERIES");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : RECALL_QUERIES;
}

static int hits_of(const ak_results *res, const uint32_t id[10])
{
    int hits = 0;
    for (int j = 0; j < 10; j++) {
        char want[32];
        snprintf(want, sizeof want, "c%u", id[j]);
        for (size_t r = 0; r < res->n; r++)
            hits += strcmp(res->r[r].conversation_id, want) == 0;
    }
    return hits;
}

/* Recall@10 of the search against exact search of the original vectors,
 * and into *of_codes (unless NULL) against exact search of the vectors as stored (the
 * decoded codes): what the codes allow, so 1.0 there means the search
 * loses nothing beyond its codes. */
static double recall_at_10(ak_index *idx, ak_pool *pool, double *of_codes)
{
    int hits = 0, code_hits = 0, nq = recall_queries();
    float *all = malloc((size_t)n_total * AK_DIM * sizeof *all);
    float *kept = malloc((size_t)n_total * AK_DIM * sizeof *kept);
    if (!all || !kept)
        die("out of memory", NULL);
    for (uint32_t i = 0; i < n_total; i++) {
        vector_of(i, all + (size_t)i * AK_DIM);
        ak_vec_normalize(all + (size_t)i * AK_DIM);
        stored_of(i, kept + (size_t)i * AK_DIM);
        ak_vec_normalize(kept + (size_t)i * AK_DIM);
    }
    for (int k = 0; k < nq; k++) {
        float qv[AK_DIM];
        uint32_t id[10], code_id[10];
        query_of(k, qv);
        ak_vec_normalize(qv);
        exact_top10(all, qv, id);
        exact_top10(kept, qv, code_id);
        ak_results res;
        one_query(idx, pool, k, NULL, &res);
        hits += hits_of(&res, id);
        code_hits += hits_of(&res, code_id);
        ak_results_free(&res);
    }
    free(all);
    free(kept);
    if (of_codes)
        *of_codes = code_hits / (10.0 * nq);
    return hits / (10.0 * nq);
}

typedef struct {
    ak_index *idx;
    ak_pool *pool;
    int64_t until;
    long done;
    int id;
} client;

static void *client_run(void *arg)
{
    client *c = arg;
    for (int k = c->id * 1000; ak_time_mono_us() < c->until; k++, c->done++)
        one_query(c->idx, c->pool, k % QUERIES, NULL, NULL);
    return NULL;
}

static double qps(ak_index *idx, ak_pool *pool, int clients)
{
    client c[16];
    pthread_t th[16];
    int64_t t0 = ak_time_mono_us();
    for (int i = 0; i < clients; i++) {
        c[i] = (client){idx, pool, t0 + 3000000, 0, i};
        pthread_create(&th[i], NULL, client_run, &c[i]);
    }
    long total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        total += c[i].done;
    }
    return total / ((double)(ak_time_mono_us() - t0) / 1e6);
}

/* Sequential read bandwidth over a buffer larger than the caches, with as
 * many threads as the pool: the floor for one pass of the scan. */
static double bandwidth_gbs(size_t bytes, unsigned threads);

static void write_vectors(const char *path)
{
    FILE *f = fopen(path, "w");
    char qpath[1024];
    snprintf(qpath, sizeof qpath, "%s.queries", path);
    FILE *qf = fopen(qpath, "w");
    if (!f || !qf)
        die("cannot write vectors", NULL);
    for (uint32_t i = 0; i < n_total; i++) {
        float v[AK_DIM];
        vector_of(i, v);
        fprintf(f, "{\"id\":%u,\"embedding\":[", i);
        for (int j = 0; j < AK_DIM; j++)
            fprintf(f, "%s%.7g", j ? "," : "", (double)v[j]);
        fputs("]}\n", f);
    }
    for (int k = 0; k < 20; k++) {
        float v[AK_DIM];
        query_of(k, v);
        fputc('[', qf);
        for (int j = 0; j < AK_DIM; j++)
            fprintf(qf, "%s%.7g", j ? "," : "", (double)v[j]);
        fputs("]\n", qf);
    }
    fclose(f);
    fclose(qf);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return fprintf(stderr, "usage: bench_search DIR N hot|warm|cold|mixed [VECTORS_OUT]\n"), 2;
    n_total = (uint32_t)strtoul(argv[2], NULL, 10);
    const char *set = getenv("BENCH_SEARCH_VECTORS");
    if (set && strcmp(set, "clustered") == 0 && !(clustered = cl_new(3000, SEED)))
        die("out of memory", NULL);
    static const char *const layouts[] = {"hot", "warm", "cold", "mixed"};
    for (int l = 0; l < 4; l++)
        if (strcmp(argv[3], layouts[l]) == 0)
            layout = l;
    ak_datadir *dd;
    ak_pool *pool;
    ak_index *idx;
    ak_err err;
    char stamp[1024];
    snprintf(stamp, sizeof stamp, "%s/BUILT", argv[1]);
    FILE *f = fopen(stamp, "r");
    if (ak_datadir_open(argv[1], 1, 0, &dd, &err) || ak_pool_new(0, &pool, &err))
        die("open", &err);
    if (!f) {
        build(dd);
        fclose(fopen(stamp, "w"));
    } else {
        fclose(f);
    }
    if (argc > 4)
        write_vectors(argv[4]);
    int64_t t0 = ak_time_mono_us();
    if (ak_index_new(dd, &idx, &err) || ak_index_load_all(idx, pool, &err))
        die("load", &err);
    double load_s = (double)(ak_time_mono_us() - t0) / 1e6;
    const char *graph = getenv("BENCH_SEARCH_GRAPH");
    ak_vindex *vindex = NULL; /* BENCH_SEARCH_GRAPH=1: searches ask the graph, as serve's do */
    double graph_s = 0;
    if (graph && strcmp(graph, "1") == 0) {
        t0 = ak_time_mono_us();
        if (ak_vindex_open_in(dd, 0, &vindex, &err) ||
            ak_indexer_sync_all(idx, vindex, 1, NULL, &err) || ak_vindex_save(vindex, &err))
            die("vector index", &err);
        ak_index_set_vindex(idx, vindex);
        graph_s = (double)(ak_time_mono_us() - t0) / 1e6;
    }
    ak_index_stats st;
    ak_index_stats_get(idx, &st);

    double all[QUERIES], one[QUERIES];
    /* warm up as a running daemon is: the connections results are read
     * through are opened once, then reused */
    for (int k = 0; k < QUERIES; k++)
        one_query(idx, pool, k, NULL, NULL);
    for (int k = 0; k < QUERIES; k++)
        all[k] = one_query(idx, pool, k, NULL, NULL);
    for (int k = 0; k < QUERIES; k++) {
        char sid[32];
        snprintf(sid, sizeof sid, "bench%04u", (unsigned)k * 37 % SYSTEMS);
        one[k] = one_query(idx, pool, k, sid, NULL);
    }
    double of_codes;
    double recall = recall_at_10(idx, pool, &of_codes);
    double no_cold[QUERIES]; /* mixed: the same queries without the cold tier */
    query_tiers = AK_TIER_MASK(AK_TIER_HOT) | AK_TIER_MASK(AK_TIER_WARM);
    for (int k = 0; k < QUERIES; k++)
        no_cold[k] = one_query(idx, pool, k, NULL, NULL);
    double recall_no_cold = layout == MIXED ? recall_at_10(idx, pool, NULL) : recall;
    query_tiers = AK_TIER_ALL;
    double q1 = qps(idx, pool, 1), q4 = qps(idx, pool, 4);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    size_t scanned = (size_t)st.vectors * AK_DIM; /* the int8 first pass */
    double bw = bandwidth_gbs(512u << 20, ak_pool_threads(pool));
    double floor_ms = (double)scanned / (bw * 1e9) * 1e3;
    double p50 = pct(all, QUERIES, 0.5);
    printf("{\"vectors\": %llu, \"tier\": \"%s\", \"systems\": %llu, \"index_load_s\": %.2f,"
           " \"index_mib\": %.1f, \"rss_mib\": %.1f, \"p50_ms\": %.2f, \"p99_ms\": %.2f,"
           " \"one_system_p50_ms\": %.3f, \"one_system_p99_ms\": %.3f, \"qps_1_client\": %.1f,"
           " \"qps_4_clients\": %.1f, \"recall_at_10\": %.4f, \"bandwidth_gbs\": %.1f,"
           " \"scan_floor_ms\": %.2f, \"kernels\": \"%s\", \"p50_ms_without_cold\": %.2f,"
           " \"cold_vectors\": %llu, \"recall_at_10_without_cold\": %.4f,"
           " \"recall_queries\": %d, \"recall_at_10_of_stored_codes\": %.4f, \"graph\": %d,"
           " \"graph_build_s\": %.1f}\n",
           (unsigned long long)st.vectors, layouts[layout], (unsigned long long)st.systems,
           load_s, st.bytes / 1048576.0, ru.ru_maxrss / 1024.0, p50, pct(all, QUERIES, 0.99),
           pct(one, QUERIES, 0.5), pct(one, QUERIES, 0.99), q1, q4, recall, bw, floor_ms,
           ak_vec_impl(), pct(no_cold, QUERIES, 0.5), (unsigned long long)st.cold_vectors,
           recall_no_cold, recall_queries(), of_codes, vindex != NULL, graph_s);
    ak_pool_free(pool);
    ak_index_free(idx);
    ak_vindex_free(vindex);
    ak_datadir_close(dd);
    return 0;
}

typedef struct {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} bw_job;

static void *bw_run(void *arg)
{
    bw_job *j = arg;
    uint64_t s = 0;
    for (size_t i = 0; i < j->n; i++)
        s += j->p[i];
    j->sum = s;
    return NULL;
}

static double bandwidth_gbs(size_t bytes, unsigned threads)
{
    uint64_t *buf = malloc(bytes);
    memset(buf, 1, bytes);
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t th[16];
        bw_job jobs[16];
        size_t per = bytes / 8 / threads;
        int64_t t0 = ak_time_mono_us();
        for (unsigned t = 0; t < threads && t < 16; t++) {
            jobs[t] = (bw_job){buf + t * per, per, 0};
            pthread_create(&th[t], NULL, bw_run, &jobs[t]);
        }
        for (unsigned t = 0; t < threads && t < 16; t++)
            pthread_join(th[t], NULL);
        double gbs = (double)bytes / ((double)(ak_time_mono_us() - t0) * 1e3);
        if (gbs > best)
            best = gbs;
    }
    free(buf);
    return best;
}
