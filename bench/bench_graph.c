/*
 * bench_graph.c - knowledge-graph query latency (bench/graph_bench.sh
 * builds the graph).  Usage: bench_graph GRAPH_DB QUERIES
 * Picks QUERIES random entity pairs and entities (fixed seed) and times
 * find_path at max_hops 3 and 4 and query_knowledge_graph (limit 50);
 * prints p50 / p99 / max in milliseconds and how many paths were found.
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
        printf("  (%d of %d found)", found, n);
    printf("\n");
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
    if (n < 1 || ak_graph_open(argv[1], 1, &g, &err)) {
        fprintf(stderr, "bench_graph: %s\n", n < 1 ? "bad count" : err.msg);
        return 1;
    }
    sqlite3_stmt *st;
    int64_t nodes = 0;
    sqlite3_prepare_v2(ak_graph_db(g), "SELECT max(id) FROM g_node", -1, &st, NULL);
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
    ak_buf b = {0};
    for (int hops = 3; hops <= 4; hops++) {
        int found = 0, failed = 0;
        for (int i = 0; i < n; i++) {
            ak_jw w;
            ak_buf_reset(&b);
            ak_jw_init(&w, &b);
            int64_t t0 = ak_time_mono_us();
            if (ak_graph_path_find(g, names[2 * i], names[2 * i + 1], hops, 0, &w, &err))
                failed++;
            ms[i] = (double)(ak_time_mono_us() - t0) / 1000;
            ak_buf_putc(&b, '\0');
            found += b.data && strstr(b.data, "\"path_found\":true") != NULL;
        }
        char what[64];
        snprintf(what, sizeof what, "find_path max_hops=%d", hops);
        report(what, ms, n, found);
        if (failed)
            printf("  (%d hit the visited cap)\n", failed);
    }
    for (int i = 0; i < n; i++) {
        ak_jw w;
        ak_buf_reset(&b);
        ak_jw_init(&w, &b);
        int64_t t0 = ak_time_mono_us();
        ak_graph_neighbours(g, names[i], NULL, 50, &w, &err);
        ms[i] = (double)(ak_time_mono_us() - t0) / 1000;
    }
    report("query_knowledge_graph", ms, n, -1);
    int64_t t0 = ak_time_mono_us();
    ak_jw w;
    ak_buf_reset(&b);
    ak_jw_init(&w, &b);
    ak_graph_stats(g, &w, &err);
    printf("%-28s %8.2f ms\n", "get_graph_statistics", (double)(ak_time_mono_us() - t0) / 1000);
    ak_buf_free(&b);
    free(ms);
    free(names);
    ak_graph_close(g);
    return 0;
}
