/*
 * bench_graph.c - knowledge-graph query latency (bench/graph_bench.sh
 * builds the graph).  Usage: bench_graph GRAPH_DB QUERIES
 * Picks QUERIES random entity pairs and entities (fixed seed) and times
 * find_path at max_hops 3 and 4 (pairs split by outcome: a path found, none
 * within max_hops), find_path from a random entity to one of a small
 * separate component (unconnected: the bench adds it, system
 * "island.bench", 20 entities), query_knowledge_graph (limit 50) and
 * get_graph_statistics; prints p50 / p99 / max in milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/graph_query.h"
#include "util/buf.h"
#include "util/time.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n, int found)
{
    qsort(ms, (size_t)n, sizeof *ms, cmp);
    printf("%-28s p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms", what, ms[n / 2], ms[n * 99 / 100],
           ms[n - 1]);
    if (found >= 0)
        printf("  (%d pairs)", found);
    printf("\n");
}

#define ISLAND 20

/* A small component apart from the rest: a ring with chords. */
static int add_island(const char *path, ak_err *err)
{
    ak_graph *g;
    ak_gput res;
    char id[32], name[32], to[32];
    if (ak_graph_open(path, 0, &g, err) || ak_graph_begin(g, err))
        return -1;
    int rc = 0;
    for (int i = 0; i < ISLAND && !rc; i++) {
        snprintf(id, sizeof id, "i%d", i);
        snprintf(name, sizeof name, "isle%d", i);
        ak_graph_entity e = {.system = "island.bench", .id = id, .name = name, .type = "island"};
        rc = ak_graph_put_entity(g, &e, &res, err);
    }
    for (int i = 0; i < 2 * ISLAND && !rc; i++) {
        snprintf(id, sizeof id, "r%d", i);
        snprintf(name, sizeof name, "i%d", i % ISLAND);
        snprintf(to, sizeof to, "i%d", i < ISLAND ? (i + 1) % ISLAND : (i * 7) % ISLAND);
        ak_graph_relation r = {.system = "island.bench", .id = id, .from = name, .to = to,
                               .type = "near"};
        rc = ak_graph_put_relation(g, &r, &res, err);
    }
    rc = rc || ak_graph_commit(g, err);
    ak_graph_close(g);
    return rc ? -1 : 0;
}

typedef struct {
    double *ms;
    int n;
} sample;

static void path_round(ak_graph *g, char (*names)[64], int n, int hops, int island)
{
    sample found = {malloc((size_t)n * sizeof(double)), 0};
    sample missed = {malloc((size_t)n * sizeof(double)), 0};
    ak_buf b = {0};
    ak_err err;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char to[64];
        ak_jw w;
        ak_buf_reset(&b);
        ak_jw_init(&w, &b);
        if (island)
            snprintf(to, sizeof to, "island:isle%d", i % ISLAND);
        int64_t t0 = ak_time_mono_us();
        if (ak_graph_path_find(g, names[2 * i], island ? to : names[2 * i + 1], hops, 0, &w, &err))
            failed++;
        double ms = (double)(ak_time_mono_us() - t0) / 1000;
        ak_buf_putc(&b, '\0');
        sample *s = b.data && strstr(b.data, "\"path_found\":true") ? &found : &missed;
        s->ms[s->n++] = ms;
    }
    char what[64];
    if (island) {
        snprintf(what, sizeof what, "find_path %d hops unconnected", hops);
        report(what, missed.ms, missed.n, missed.n);
    } else {
        snprintf(what, sizeof what, "find_path %d hops, found", hops);
        if (found.n)
            report(what, found.ms, found.n, found.n);
        snprintf(what, sizeof what, "find_path %d hops, none", hops);
        if (missed.n)
            report(what, missed.ms, missed.n, missed.n);
    }
    if (failed)
        printf("  (%d hit the visited cap)\n", failed);
    free(found.ms);
    free(missed.ms);
    ak_buf_free(&b);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_graph GRAPH_DB QUERIES\n");
        return 2;
    }
    int n = atoi(argv[2]);
    ak_graph *g;
    ak_err err;
    int64_t t_open = ak_time_mono_us();
    if (n < 1 || add_island(argv[1], &err) || ak_graph_open(argv[1], 1, &g, &err)) {
        fprintf(stderr, "bench_graph: %s\n", n < 1 ? "bad count" : err.msg);
        return 1;
    }
    /* on a schema-0 file (graph_bench.sh's bulk mode) this is the migration */
    printf("%-28s %8.2f ms\n", "open (+ island)", (double)(ak_time_mono_us() - t_open) / 1000);
    sqlite3_stmt *st;
    int64_t nodes = 0;
    /* the island's nodes come last: random picks stay out of it */
    sqlite3_prepare_v2(ak_graph_db(g), "SELECT max(id) FROM g_node WHERE type <> 'island'", -1,
                       &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW)
        nodes = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_prepare_v2(ak_graph_db(g), "SELECT type || ':' || name FROM g_node WHERE id=?", -1, &st,
                       NULL);
    double *ms = malloc((size_t)n * sizeof *ms);
    char (*names)[64] = malloc((size_t)n * 2 * sizeof *names);
    srand(42);
    for (int i = 0; i < 2 * n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, 1 + rand() % nodes);
        snprintf(names[i], sizeof names[i], "%s",
                 sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : "");
    }
    sqlite3_finalize(st);
    for (int hops = 3; hops <= 4; hops++) {
        path_round(g, names, n, hops, 0);
        path_round(g, names, n, hops, 1);
    }
    ak_buf b = {0};
    for (int i = 0; i < n; i++) {
        ak_jw w;
        ak_buf_reset(&b);
        ak_jw_init(&w, &b);
        int64_t t0 = ak_time_mono_us();
        ak_graph_neighbours(g, names[i], NULL, 50, &w, &err);
        ms[i] = (double)(ak_time_mono_us() - t0) / 1000;
    }
    report("query_knowledge_graph", ms, n, -1);
    for (int i = 0; i < n; i++) {
        ak_jw w;
        ak_buf_reset(&b);
        ak_jw_init(&w, &b);
        int64_t t0 = ak_time_mono_us();
        ak_graph_stats(g, &w, &err);
        ms[i] = (double)(ak_time_mono_us() - t0) / 1000;
    }
    report("get_graph_statistics", ms, n, -1);
    ak_buf_free(&b);
    free(ms);
    free(names);
    ak_graph_close(g);
    return 0;
}
