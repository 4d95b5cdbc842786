/* shard.c - see shard.h. */
#include "storage/shard.h"

#include <stdio.h>
#include <string.h>

#include "util/sha256.h"

uint32_t ak_shard_of(const char *system_id, uint32_t n_shards)
{
    uint8_t d[AK_SHA256_LEN];
    ak_sha256(system_id, strlen(system_id), d);
    uint32_t be = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
                  (uint32_t)d[2] << 8 | (uint32_t)d[3];
    return be % n_shards;
}

int ak_shard_dirname(uint32_t shard, char *out, size_t n)
{
    int k = snprintf(out, n, "shard_%03u", (unsigned)shard);
    return k < 0 || (size_t)k >= n ? -1 : k;
}

int ak_shard_db_relpath(const char *system_id, uint32_t n_shards, char *out, size_t n)
{
    uint32_t s = ak_shard_of(system_id, n_shards);
    size_t len = strlen(system_id);
    int k = len <= AK_SHARD_STEM_MAX
                ? snprintf(out, n, "shard_%03u/%s.db", (unsigned)s, system_id)
                : snprintf(out, n, "shard_%03u/%.*s~/%s.db", (unsigned)s, AK_SHARD_SPLIT,
                           system_id, system_id + AK_SHARD_SPLIT);
    return k < 0 || (size_t)k >= n ? -1 : k;
}
