/*
 * bench_words.c - what searching by words (`query`) adds over a keyword
 * search (`text`), leaving out the provider's own time.
 *
 *   bench_words DATA_DIR EMBED_URL [QUERIES] [ann]
 *
 * Loads the index of DATA_DIR (with "ann", also the vector index that
 * `akosha serve` searches, built or brought in step first as `akosha index`
 * does; without it every vector is scanned exactly), embeds the benchmark's
 * words once through the provider at EMBED_URL (OpenAI protocol) so that
 * every timed words query finds its vector in the cache, then times QUERIES
 * (default 300) rounds of three searches back to back: `text` (BM25 only),
 * `query` (cache lookup, vector search, BM25, rank fusion) and the vector
 * part alone.
 * Prints one JSON object: medians and 90th percentiles in milliseconds, the
 * median of the per-round differences query - text (robust to a machine
 * whose load drifts), the cache lookup in microseconds, and the provider's
 * uncached round trip for comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/indexer.h"
#include "query/vindex.h"
#include "query/words.h"
#include "util/time.h"

#define WORDS "how did we fix the slow rebase after the merge conflict"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(int)(p * (n - 1))];
}

static void die(const char *what, const ak_err *err)
{
    fprintf(stderr, "bench_words: %s: %s\n", what, err->msg);
    exit(1);
}

static double timed(ak_index *idx, ak_pool *pool, ak_embed *e, const ak_query *q, const char **mode)
{
    ak_results r;
    ak_err err;
    int64_t t0 = ak_time_mono_us();
    if (ak_search_words(idx, pool, e, q, &r, &err))
        die("search", &err);
    double ms = (double)(ak_time_mono_us() - t0) / 1000.0;
    *mode = r.mode;
    ak_results_free(&r);
    return ms;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_words DATA_DIR EMBED_URL [QUERIES]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 300;
    ak_err err;
    ak_datadir *dd;
    ak_pool *pool;
    ak_index *idx;
    ak_embed *e;
    ak_embed_config c;
    ak_embed_config_init(&c);
    c.url = argv[2];
    if (ak_datadir_open(argv[1], 0, 0, &dd, &err) || ak_pool_new(0, &pool, &err) ||
        ak_index_new(dd, &idx, &err) || ak_index_load_all(idx, pool, &err) ||
        ak_embed_new(&c, &e, &err))
        die("setup", &err);
    ak_vindex *vx = NULL;
    if (argc > 4 && strcmp(argv[4], "ann") == 0) {
        if (ak_vindex_open_in(dd, 0, &vx, &err) || ak_indexer_sync_all(idx, vx, 1, NULL, &err) ||
            ak_vindex_save(vx, &err))
            die("vector index", &err);
        ak_index_set_vindex(idx, vx);
    }
    float v[AK_DIM];
    int64_t t0 = ak_time_mono_us();
    if (ak_embed_query(e, WORDS, v, &err)) /* primes the cache */
        die("embedding", &err);
    double provider_ms = (double)(ak_time_mono_us() - t0) / 1000.0;
    ak_query text, words;
    ak_query_init(&text);
    ak_query_init(&words);
    text.text = WORDS;
    words.words = WORDS;
    ak_query vec;
    ak_query_init(&vec);
    vec.has_vector = 1;
    memcpy(vec.vector, v, sizeof v);
    double *tt = calloc((size_t)n, sizeof *tt), *tw = calloc((size_t)n, sizeof *tw);
    double *tv = calloc((size_t)n, sizeof *tv), *td = calloc((size_t)n, sizeof *td);
    const char *mt = "", *mw = "", *mv = "";
    for (int i = 0; i < 20; i++) /* warm the page cache and connections */
        timed(idx, pool, e, &text, &mt), timed(idx, pool, e, &words, &mw);
    for (int i = 0; i < n; i++) {
        tt[i] = timed(idx, pool, e, &text, &mt);
        tw[i] = timed(idx, pool, e, &words, &mw);
        tv[i] = timed(idx, pool, e, &vec, &mv);
        td[i] = tw[i] - tt[i];
    }
    t0 = ak_time_mono_us();
    for (int i = 0; i < 100000; i++)
        ak_embed_query(e, WORDS, v, &err);
    double lookup_us = (double)(ak_time_mono_us() - t0) / 100000.0;
    ak_index_stats st;
    ak_index_stats_get(idx, &st);
    double t50 = pct(tt, n, 0.5), t90 = pct(tt, n, 0.9), w50 = pct(tw, n, 0.5),
           w90 = pct(tw, n, 0.9);
    printf("{\"vectors\":%llu,\"ann\":%s,\"queries\":%d,\"text_mode\":\"%s\",\"words_mode\":\"%s\","
           "\"text_p50_ms\":%.3f,\"text_p90_ms\":%.3f,\"words_p50_ms\":%.3f,\"words_p90_ms\":%.3f,"
           "\"vector_p50_ms\":%.3f,\"added_median_ms\":%.3f,\"cache_lookup_us\":%.2f,"
           "\"provider_uncached_ms\":%.3f}\n",
           (unsigned long long)st.vectors, vx ? "true" : "false", n, mt, mw, t50, t90, w50, w90, pct(tv, n, 0.5),
           pct(td, n, 0.5), lookup_us, provider_ms);
    free(tt);
    free(tw);
    free(tv);
    free(td);
    ak_embed_free(e);
    ak_index_free(idx);
    ak_vindex_free(vx);
    ak_pool_free(pool);
    ak_datadir_close(dd);
    return 0;
}
