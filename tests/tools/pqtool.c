/*
 * pqtool.c - a test-only driver of tier/parquet, for what a unit test
 * cannot do alone: interoperability with DuckDB and throughput figures.
 *
 *   pqtool write FILE [--rows N] [--seed S] [--group-rows G] [--uncompressed]
 *                [--expect JSONL]
 *       Write rows [0, N) of seed S (tests/tools/pq_test.h) to FILE, and
 *       what was written to JSONL, one row per line, in dump's format.
 *   pqtool dump FILE      every row of FILE as a JSON line
 *   pqtool find FILE ID   the row of conversation ID as a JSON line
 *   pqtool bench [--rows N] [--rounds R]
 *       Write and read an N-row batch R times; print the best figures.
 *
 * A JSON line: {"system_id": s, "conversation_id": s, "ts_us": "123",
 * "ultra_summary": s, "fingerprint": hex, "content_sha256": s,
 * "metadata": s|null, "daily_metrics": s|null, "embedding_code": hex|null}
 * (ts_us is a string so that
 * JavaScript keeps every digit).  Errors go to stderr; exit status 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq_test.h"
#include "tier/parquet_read.h"
#include "tier/parquet_write.h"
#include "util/buf.h"
#include "util/jsonw.h"
#include "util/time.h"

static int fail(const char *what, const ak_err *e)
{
    fprintf(stderr, "pqtool: %s: %s\n", what, e->msg);
    return 1;
}

static void json_val(ak_jw *w, const char *key, ak_pq_val v)
{
    ak_jw_key(w, key);
    if (v.p)
        ak_jw_strn(w, v.p, v.len);
    else
        ak_jw_null(w);
}

static ak_code print_row(void *ctx, const ak_pq_row *r)
{
    FILE *out = ctx;
    ak_buf b = {0};
    ak_jw w;
    char ts[24], hex[2 * AK_PQ_FINGERPRINT_LEN_V1 + 1];
    ak_jw_init(&w, &b);
    ak_jw_obj(&w);
    json_val(&w, "system_id", r->system_id);
    json_val(&w, "conversation_id", r->conversation_id);
    snprintf(ts, sizeof ts, "%lld", (long long)r->ts_us);
    ak_jw_kstr(&w, "ts_us", ts);
    json_val(&w, "ultra_summary", r->ultra_summary);
    ak_hex((const uint8_t *)r->fingerprint.p,
           r->fingerprint.len < AK_PQ_FINGERPRINT_LEN_V1 ? r->fingerprint.len
                                                         : AK_PQ_FINGERPRINT_LEN_V1,
           hex);
    ak_jw_kstr(&w, "fingerprint", hex);
    json_val(&w, "content_sha256", r->content_sha256);
    json_val(&w, "metadata", r->metadata);
    json_val(&w, "daily_metrics", r->daily_metrics);
    ak_jw_key(&w, "embedding_code");
    if (r->embedding_code.p && r->embedding_code.len <= AK_PQ_CODE_MAX) {
        ak_hex((const uint8_t *)r->embedding_code.p, r->embedding_code.len, hex);
        ak_jw_str(&w, hex);
    } else {
        ak_jw_null(&w);
    }
    ak_jw_end(&w);
    ak_code rc = ak_jw_error(&w);
    if (!rc && fprintf(out, "%s\n", b.data) < 0)
        rc = AK_ERR_IO;
    ak_buf_free(&b);
    return rc;
}

static int read_file(const char *path, ak_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "pqtool: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = ak_buf_append(out, chunk, n) != AK_OK;
    rc |= ferror(f);
    fclose(f);
    if (rc)
        fprintf(stderr, "pqtool: %s: read failed\n", path);
    return rc;
}

static int write_file(const char *path, const ak_buf *b)
{
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(b->data, 1, b->len, f) != b->len;
    if (f)
        bad |= fclose(f) != 0;
    if (bad)
        fprintf(stderr, "pqtool: %s: write failed\n", path);
    return bad;
}

/* "--name VALUE" at argv[*i]: the value, advancing *i; NULL if not it. */
static const char *flag(int argc, char **argv, int *i, const char *name)
{
    if (strcmp(argv[*i], name) != 0 || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int cmd_write(int argc, char **argv)
{
    const char *path = argv[2], *expect = NULL, *v;
    unsigned long long rows = 100, seed = 1;
    ak_pq_opts o = {.created_by = "akosha pqtool"};
    for (int i = 3; i < argc; i++) {
        if ((v = flag(argc, argv, &i, "--rows")))
            rows = strtoull(v, NULL, 10);
        else if ((v = flag(argc, argv, &i, "--seed")))
            seed = strtoull(v, NULL, 10);
        else if ((v = flag(argc, argv, &i, "--group-rows")))
            o.group_rows = (uint32_t)strtoul(v, NULL, 10);
        else if ((v = flag(argc, argv, &i, "--expect")))
            expect = v;
        else if (!strcmp(argv[i], "--uncompressed"))
            o.uncompressed = 1;
        else {
            fprintf(stderr, "pqtool: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    ak_buf file = {0};
    ak_err e;
    if (pq_gen_file(seed, rows, &o, &file, &e))
        return fail("write", &e);
    int rc = write_file(path, &file);
    ak_buf_free(&file);
    FILE *out = expect ? fopen(expect, "w") : NULL;
    if (expect && !out)
        return fprintf(stderr, "pqtool: %s: %s\n", expect, strerror(errno)), 1;
    pq_gen_row g;
    for (unsigned long long i = 0; out && !rc && i < rows; i++) {
        pq_gen(seed, i, &g);
        rc = print_row(out, &g.row) != AK_OK;
    }
    if (out)
        rc |= fclose(out) != 0;
    return rc;
}

static int cmd_read(int argc, char **argv, int find)
{
    ak_buf file = {0};
    ak_pq_reader *r = NULL;
    ak_err e;
    int rc = read_file(argv[2], &file);
    if (!rc && ak_pq_reader_open(file.data, file.len, &r, &e))
        rc = fail(argv[2], &e);
    if (!rc && find) {
        ak_pq_row row;
        if (ak_pq_reader_find(r, argv[3], strlen(argv[3]), &row, &e))
            rc = fail(argv[2], &e);
        else
            rc = print_row(stdout, &row) != AK_OK;
    } else if (!rc && ak_pq_reader_each(r, print_row, stdout, &e)) {
        rc = fail(argv[2], &e);
    }
    ak_pq_reader_free(r);
    ak_buf_free(&file);
    return rc;
}

/* ---- bench ---- */

typedef struct {
    size_t rows;
} counter;

static ak_code count_row(void *ctx, const ak_pq_row *r)
{
    ((counter *)ctx)->rows += r->fingerprint.len == AK_PQ_FINGERPRINT_LEN ||
                              r->fingerprint.len == AK_PQ_FINGERPRINT_LEN_V1;
    return AK_OK;
}

static size_t row_bytes(const ak_pq_row *r)
{
    return r->system_id.len + r->conversation_id.len + 8 + r->ultra_summary.len +
           r->fingerprint.len + r->content_sha256.len + r->metadata.len + r->daily_metrics.len;
}

static int cmd_bench(int argc, char **argv)
{
    size_t rows = AK_PQ_BATCH_ROWS, rounds = 5;
    const char *v;
    for (int i = 2; i < argc; i++) {
        if ((v = flag(argc, argv, &i, "--rows")))
            rows = strtoull(v, NULL, 10);
        else if ((v = flag(argc, argv, &i, "--rounds")))
            rounds = strtoull(v, NULL, 10);
        else
            return fprintf(stderr, "pqtool: unknown option %s\n", argv[i]), 2;
    }
    pq_gen_row *g = malloc((rows ? rows : 1) * sizeof *g);
    if (!g)
        return fprintf(stderr, "pqtool: out of memory\n"), 1;
    size_t raw = 0;
    for (size_t i = 0; i < rows; i++) {
        pq_gen(42, i, &g[i]);
        raw += row_bytes(&g[i].row);
    }
    int64_t best_w = INT64_MAX, best_r = INT64_MAX, best_f = INT64_MAX;
    size_t file_len = 0;
    ak_err e;
    for (size_t k = 0; k < rounds; k++) {
        ak_buf file = {0};
        ak_pq_writer *w = NULL;
        int64_t t0 = ak_time_mono_us();
        ak_code rc = ak_pq_writer_new(&(ak_pq_opts){.created_by = "akosha pqtool"}, &w, &e);
        for (size_t i = 0; !rc && i < rows; i++)
            rc = ak_pq_writer_add(w, &g[i].row, &e);
        if (!rc)
            rc = ak_pq_writer_finish(w, &file, &e);
        int64_t t1 = ak_time_mono_us();
        ak_pq_writer_free(w);
        ak_pq_reader *r = NULL;
        counter cnt = {0};
        if (!rc)
            rc = ak_pq_reader_open(file.data, file.len, &r, &e);
        if (!rc)
            rc = ak_pq_reader_each(r, count_row, &cnt, &e);
        int64_t t2 = ak_time_mono_us();
        /* Lookups in a freshly opened file: the cost of one `akosha get`. */
        ak_pq_reader_free(r);
        r = NULL;
        ak_pq_row row;
        for (size_t q = 0; !rc && q < 10; q++) {
            const ak_pq_row *want = &g[(q * 7919) % rows].row;
            rc = ak_pq_reader_open(file.data, file.len, &r, &e);
            if (!rc)
                rc = ak_pq_reader_find(r, want->conversation_id.p, want->conversation_id.len,
                                       &row, &e);
            ak_pq_reader_free(r);
            r = NULL;
        }
        int64_t t3 = ak_time_mono_us();
        if (rc || cnt.rows != rows) {
            free(g);
            ak_buf_free(&file);
            return rc ? fail("bench", &e) : (fprintf(stderr, "pqtool: rows lost\n"), 1);
        }
        file_len = file.len;
        best_w = t1 - t0 < best_w ? t1 - t0 : best_w;
        best_r = t2 - t1 < best_r ? t2 - t1 : best_r;
        best_f = (t3 - t2) / 10 < best_f ? (t3 - t2) / 10 : best_f;
        ak_buf_free(&file);
    }
    double ws = (double)best_w / 1e6, rs = (double)best_r / 1e6, mb = 1024.0 * 1024.0;
    printf("rows %zu, input %.1f MiB (%.0f B/row), file %.1f MiB (%.0f B/row), best of %zu\n",
           rows, (double)raw / mb, (double)raw / (double)rows, (double)file_len / mb,
           (double)file_len / (double)rows, rounds);
    printf("write: %.3f s, %.0f rows/s, %.1f MiB/s in, %.1f MiB/s out\n", ws, (double)rows / ws,
           (double)raw / mb / ws, (double)file_len / mb / ws);
    printf("read:  %.3f s, %.0f rows/s, %.1f MiB/s in, %.1f MiB/s out\n", rs, (double)rows / rs,
           (double)file_len / mb / rs, (double)raw / mb / rs);
    printf("find:  %.2f ms per lookup (open + one row group)\n", (double)best_f / 1e3);
    free(g);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "write"))
        return cmd_write(argc, argv);
    if (argc == 3 && !strcmp(argv[1], "dump"))
        return cmd_read(argc, argv, 0);
    if (argc == 4 && !strcmp(argv[1], "find"))
        return cmd_read(argc, argv, 1);
    if (argc >= 2 && !strcmp(argv[1], "bench"))
        return cmd_bench(argc, argv);
    fprintf(stderr, "usage: pqtool write FILE [--rows N] [--seed S] [--group-rows G] "
                    "[--uncompressed] [--expect JSONL]\n"
                    "       pqtool dump FILE | pqtool find FILE ID | "
                    "pqtool bench [--rows N] [--rounds R]\n");
    return 2;
}
