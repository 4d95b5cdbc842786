/*
 * fuzz_hnsw.c - libFuzzer target for the vector index file loader
 * (src/index/hnsw_file.c): what is on disk may be torn, truncated or
 * anything at all, and the server maps it at start.
 *
 * The first byte picks the mode.  Bit 0: even, the rest is loaded as it is
 * (the checksum refuses nearly everything); odd, the harness first writes
 * the correct CRC-32 into it, as a forger would, so the structural checks
 * behind the checksum are what is fuzzed.  Bit 1: loaded lazily, as the
 * server does (header and sizes only, no checksum): the graph must find
 * nothing and refuse insertions until ak_hnsw_check() passes, and then be
 * as safe as a fully checked one.  Beyond "no crash, no leak, no
 * undefined behaviour" it checks, for a file that loads:
 *  - a search from every node's own vector returns at most k hits, each an
 *    existing, live node, best first;
 *  - the graph takes a new node (copied out of the mapping) and a search
 *    still keeps within the nodes;
 *  - a refused file says why (a non-empty message) and yields no graph.
 *
 * Run with scripts/fuzz.sh hnsw [seconds].
 */
#include "fuzz_common.h"

#include <zlib.h>

#include "index/hnsw.h"

#define K 5

static void check_search(const ak_hnsw *h, const int8_t *q)
{
    ak_hnsw_hit out[K];
    size_t n = ak_hnsw_search(h, q, 0.01f, K, 16, NULL, NULL, out);
    FUZZ_CHECK(n <= K, "%zu hits for k=%d", n, K);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(out[i].id < ak_hnsw_count(h), "hit %u of %u nodes", out[i].id,
                   ak_hnsw_count(h));
        FUZZ_CHECK(!ak_hnsw_is_deleted(h, out[i].id), "deleted node %u returned", out[i].id);
        FUZZ_CHECK(i == 0 || !(out[i].score > out[i - 1].score), "hits out of order");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int forge = data[0] & 1, lazy = (data[0] >> 1) & 1;
    size_t len = size - 1;
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return 0;
    memcpy(b, data + 1, len);
    if (forge && len >= 64) {
        uLong c = crc32(0L, Z_NULL, 0);
        c = crc32(c, b, 52);
        c = crc32(c, b + 56, (uInt)(len - 56));
        uint32_t v = (uint32_t)c;
        memcpy(b + 52, &v, 4);
    }
    ak_hnsw *h = NULL;
    void *user = NULL;
    size_t ulen = 0;
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_hnsw_from_bytes(b, len, lazy, &h, &user, &ulen, &e);
    if (rc == AK_OK && lazy) {
        int8_t q[AK_DIM] = {1};
        ak_hnsw_hit out[K];
        uint32_t id;
        FUZZ_CHECK(ak_hnsw_search(h, q, 0.01f, K, 16, NULL, NULL, out) == 0,
                   "an unchecked graph was searched");
        FUZZ_CHECK(ak_hnsw_add(h, q, 0.01f, &id, &e) != AK_OK, "an unchecked graph grew");
        for (uint32_t i = 0; i < ak_hnsw_count(h); i++) /* in bounds unchecked */
            (void)ak_hnsw_is_deleted(h, i);
        if ((rc = ak_hnsw_check(h, &e)) != AK_OK) {
            ak_hnsw_free(h);
            h = NULL;
            free(user);
        }
    }
    if (rc) {
        FUZZ_CHECK(h == NULL && e.msg[0], "refused (%d) without a message or with a graph", rc);
    } else {
        FUZZ_CHECK(ulen <= len, "user bytes %zu of a %zu-byte file", ulen, len);
        uint32_t n = ak_hnsw_count(h);
        for (uint32_t i = 0; i < n && i < 8; i++)
            check_search(h, ak_hnsw_vector(h, i));
        int8_t q[AK_DIM];
        memset(q, 3, sizeof q);
        uint32_t id;
        if (ak_hnsw_add(h, q, 0.01f, &id, &e) == AK_OK) {
            FUZZ_CHECK(id == n, "new node %u, expected %u", id, n);
            check_search(h, q);
        }
        ak_hnsw_free(h);
        free(user);
    }
    free(b);
    return 0;
}
