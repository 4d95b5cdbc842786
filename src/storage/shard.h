/*
 * shard.h - routing a system to its shard (SPEC section 2).
 *
 *   shard = be32(SHA-256(system_id)[0..3]) mod N
 *
 * Every Akosha node and tool shares this; it must never change.  The
 * database of a system lives at <data>/shard_NNN/<system_id>.db.
 *
 * A file name holds at most 255 bytes, and a database grows suffixes
 * (".db.replaced-<stamp>-wal" is 40 more), so a system id longer than
 * AK_SHARD_STEM_MAX is split: its first AK_SHARD_SPLIT characters name a
 * directory marked with '~' (a character no id may hold, so it can never be
 * mistaken for an id), the rest the file:
 *   <data>/shard_NNN/<first 128 characters>~/<the rest>.db
 */
#ifndef AK_SHARD_H
#define AK_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define AK_DEFAULT_SHARDS 256
#define AK_MAX_SHARDS 65536
#define AK_SHARD_STEM_MAX 200
#define AK_SHARD_SPLIT 128

uint32_t ak_shard_of(const char *system_id, uint32_t n_shards);

/* "shard_042/<system_id>.db" (or the split form above) into out (size n);
 * the caller has validated system_id.  Returns the length written, or -1 if
 * it did not fit. */
int ak_shard_db_relpath(const char *system_id, uint32_t n_shards, char *out, size_t n);
/* "shard_042" for a shard number. */
int ak_shard_dirname(uint32_t shard, char *out, size_t n);

#endif
