/*
 * hnsw_seeds.c - writes the seed corpus of the hnsw fuzz target
 * (tests/fuzz/corpus/hnsw/): saved graphs of 0, 1, 3 and 40 nodes, the
 * larger ones with a deletion, each behind the harness's mode byte.
 *
 *   build/tools/hnsw_seeds tests/fuzz/corpus/hnsw
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/hnsw.h"

static int write_seed(const char *dir, int n, int mode)
{
    ak_hnsw *h = ak_hnsw_new();
    ak_err e;
    uint64_t r = 12345 + (uint64_t)n;
    for (int i = 0; h && i < n; i++) {
        int8_t v[AK_DIM];
        for (int d = 0; d < AK_DIM; d++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            v[d] = (int8_t)((int)(r % 255) - 127);
        }
        uint32_t id;
        if (ak_hnsw_add(h, v, 0.0005f, &id, &e))
            return -1;
    }
    if (!h)
        return -1;
    if (n > 2)
        ak_hnsw_delete(h, 1);
    char tmp[1024], out[1024];
    snprintf(tmp, sizeof tmp, "%s/graph-%d.idx", dir, n);
    snprintf(out, sizeof out, "%s/graph-%d", dir, n);
    int rc = ak_hnsw_save(h, tmp, "u", (size_t)(n % 3), &e) ? -1 : 0;
    ak_hnsw_free(h);
    FILE *in = rc ? NULL : fopen(tmp, "rb"), *f = in ? fopen(out, "wb") : NULL;
    if (!f) {
        if (in)
            fclose(in);
        return -1;
    }
    fputc(mode, f);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, got, f);
    fclose(in);
    rc = fclose(f) ? -1 : 0;
    remove(tmp);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hnsw_seeds DIR\n");
        return 2;
    }
    static const int sizes[] = {0, 1, 3, 40};
    for (int i = 0; i < 4; i++)
        if (write_seed(argv[1], sizes[i], i & 1 ? 0 : 2)) {
            fprintf(stderr, "hnsw_seeds: cannot write seed %d\n", sizes[i]);
            return 1;
        }
    return 0;
}
