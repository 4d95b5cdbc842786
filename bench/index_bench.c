/*
 * index_bench.c - the ANN graph (src/index/hnsw.c) on realistic vectors:
 * build rate, file size, start (map + check) time and RSS, recall@10
 * against exact float32 search with p50/p99 latency for several ef, and
 * QPS with 1 and 4 client threads.  Writes the same vectors, queries and
 * exact answers to DIR so bench/ann_npm.mjs measures USearch, hnswlib and
 * DuckDB on exactly them.
 *
 *   index_bench N QUERIES DIR        -> one JSON object on stdout
 *
 * Vectors: tests/tools/clustered.h (3,000 centres in a 100-d latent space
 * projected to 384).  A search is what Akosha's does: the graph returns
 * min(ef, 64) candidates by int8 score and they are re-ranked by exact
 * float32 cosine (search.c keeps max(4 x limit, 64) candidates).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/tools/clustered.h"
#include "index/hnsw.h"
#include "util/time.h"

#define K 10
#define CANDIDATES 64

static size_t n_base, n_q;
static float *base, *qs;
static int32_t *truth;
static ak_hnsw *g;

static double now_s(void) { return (double)ak_time_mono_us() / 1e6; }

/* CPU time of this thread: on a shared, overloaded machine the work a
 * query costs, where wall time mostly measures the wait for a core. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void quantize(const float *v, int8_t *q, float *s)
{
    ak_vec_quantize(v, q, s);
    double nn = sqrt((double)ak_vec_dot_i8(q, q));
    *s = nn > 0 ? (float)(1.0 / nn) : 0;
}

/* Exact top K by float32 cosine (vectors are unit length). */
static void exact(const float *q, int32_t *out)
{
    float best[K];
    int n = 0;
    for (size_t i = 0; i < n_base; i++) {
        float s = ak_vec_dot_f32(q, base + i * AK_DIM);
        if (n == K && s <= best[K - 1])
            continue;
        int at = n < K ? n++ : K - 1;
        while (at > 0 && best[at - 1] < s) {
            best[at] = best[at - 1];
            out[at] = out[at - 1];
            at--;
        }
        best[at] = s;
        out[at] = (int32_t)i;
    }
}

/* One Akosha search: candidates from the graph, re-ranked in float32. */
static void search(const float *q, size_t ef, uint32_t *out)
{
    int8_t q8[AK_DIM];
    float s8;
    quantize(q, q8, &s8);
    ak_hnsw_hit hits[CANDIDATES];
    size_t kc = ef < CANDIDATES ? ef : CANDIDATES;
    size_t n = ak_hnsw_search(g, q8, s8, kc, ef, NULL, NULL, hits);
    for (size_t i = 0; i < n; i++)
        hits[i].score = ak_vec_dot_f32(q, base + (size_t)hits[i].id * AK_DIM);
    for (size_t i = 0; i < K && i < n; i++) {
        size_t b = i;
        for (size_t j = i + 1; j < n; j++)
            if (hits[j].score > hits[b].score)
                b = j;
        ak_hnsw_hit t = hits[i];
        hits[i] = hits[b];
        hits[b] = t;
        out[i] = hits[i].id;
    }
    for (size_t i = n; i < K; i++)
        out[i] = UINT32_MAX;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    size_t ef, from, step, done;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    uint32_t out[K];
    for (size_t i = w->from; i < n_q; i += w->step, w->done++)
        search(qs + i * AK_DIM, w->ef, out);
    return NULL;
}

static double measure_qps(size_t ef, int threads)
{
    pthread_t t[8];
    worker w[8];
    double t0 = now_s();
    size_t total = 0;
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < threads; i++) {
            w[i] = (worker){ef, (size_t)i, (size_t)threads, 0};
            pthread_create(&t[i], NULL, run_worker, &w[i]);
        }
        for (int i = 0; i < threads; i++) {
            pthread_join(t[i], NULL);
            total += w[i].done;
        }
    }
    return (double)total / (now_s() - t0);
}

static void write_file(const char *dir, const char *name, const void *p, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
        fprintf(stderr, "index_bench: cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: index_bench N QUERIES DIR\n");
        return 2;
    }
    n_base = strtoul(argv[1], NULL, 10);
    n_q = strtoul(argv[2], NULL, 10);
    const char *dir = argv[3];
    cl_gen *gen = cl_new(3000, 42);
    base = malloc(n_base * AK_DIM * sizeof *base);
    qs = malloc(n_q * AK_DIM * sizeof *qs);
    truth = malloc(n_q * K * sizeof *truth);
    for (size_t i = 0; i < n_base; i++)
        cl_draw(gen, base + i * AK_DIM);
    for (size_t i = 0; i < n_q; i++)
        cl_draw(gen, qs + i * AK_DIM);
    for (size_t i = 0; i < n_q; i++)
        exact(qs + i * AK_DIM, truth + i * K);
    write_file(dir, "base.f32", base, n_base * AK_DIM * sizeof *base);
    write_file(dir, "queries.f32", qs, n_q * AK_DIM * sizeof *qs);
    write_file(dir, "truth.i32", truth, n_q * K * sizeof *truth);

    /* build */
    ak_err err;
    g = ak_hnsw_new();
    double t0 = now_s(), c0 = cpu_s();
    for (size_t i = 0; i < n_base; i++) {
        int8_t q8[AK_DIM];
        float s;
        uint32_t id;
        quantize(base + i * AK_DIM, q8, &s);
        if (ak_hnsw_add(g, q8, s, &id, &err)) {
            fprintf(stderr, "index_bench: %s\n", err.msg);
            return 1;
        }
    }
    double build_s = now_s() - t0, build_cpu = cpu_s() - c0;
    char path[1024];
    snprintf(path, sizeof path, "%s/graph.akidx", dir);
    t0 = now_s();
    if (ak_hnsw_save(g, path, NULL, 0, &err)) {
        fprintf(stderr, "index_bench: %s\n", err.msg);
        return 1;
    }
    double save_s = now_s() - t0;
    ak_hnsw_free(g);
    /* start: map and check the file, as serve does */
    long rss0 = rss_kb();
    t0 = now_s();
    if (ak_hnsw_load(path, &g, NULL, NULL, &err)) {
        fprintf(stderr, "index_bench: %s\n", err.msg);
        return 1;
    }
    double load_s = now_s() - t0;
    long rss1 = rss_kb();
    printf("{\"n\": %zu, \"queries\": %zu, \"build_s\": %.1f, \"build_cpu_s\": %.1f, "
           "\"build_per_cpu_s\": %.0f, \"build_per_s\": %.0f, "
           "\"save_s\": %.2f, \"file_bytes_per_vector\": %.0f, \"load_s\": %.3f, "
           "\"load_rss_bytes_per_vector\": %.0f, \"kernels\": \"%s\", \"runs\": [",
           n_base, n_q, build_s, build_cpu, n_base / build_cpu, n_base / build_s, save_s,
           (double)ak_hnsw_bytes(g) / n_base, load_s, (rss1 - rss0) * 1024.0 / n_base,
           ak_vec_impl());
    static const size_t efs[] = {16, 32, 64, 128, 256};
    double *lat = malloc(n_q * sizeof *lat), *cpu = malloc(n_q * sizeof *cpu);
    for (size_t e = 0; e < sizeof efs / sizeof *efs; e++) {
        size_t found = 0;
        for (size_t i = 0; i < n_q; i++) {
            uint32_t out[K];
            double t = now_s(), c = cpu_s();
            search(qs + i * AK_DIM, efs[e], out);
            lat[i] = (now_s() - t) * 1e3;
            cpu[i] = (cpu_s() - c) * 1e3;
            for (int a = 0; a < K; a++)
                for (int b = 0; b < K; b++)
                    found += out[a] == (uint32_t)truth[i * K + b];
        }
        qsort(lat, n_q, sizeof *lat, cmp_d);
        qsort(cpu, n_q, sizeof *cpu, cmp_d);
        printf("%s{\"ef\": %zu, \"recall10\": %.4f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
               "\"cpu_p50_ms\": %.3f, \"cpu_p99_ms\": %.3f, \"qps1\": %.0f, \"qps4\": %.0f}",
               e ? ", " : "", efs[e], (double)found / (double)(n_q * K), lat[n_q / 2],
               lat[(size_t)(n_q * 0.99)], cpu[n_q / 2], cpu[(size_t)(n_q * 0.99)],
               measure_qps(efs[e], 1), measure_qps(efs[e], 4));
        fflush(stdout);
    }
    printf("]}\n");
    free(lat);
    free(cpu);
    ak_hnsw_free(g);
    cl_free(gen);
    free(base);
    free(qs);
    free(truth);
    return 0;
}
