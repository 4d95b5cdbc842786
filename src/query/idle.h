/*
 * idle.h - the index's cache of open, idle system-database connections.
 *
 * A search over every system borrows one connection per system and gives
 * it back; with 1,000 systems that is 1,000 takes and puts a query, so both
 * are O(1): a hash of system ids for finding, a list in put order for
 * evicting the least recently returned connection when the cache is full.
 * A system may have several idle connections (concurrent searches each
 * returned one); take gives the most recently returned.
 *
 * Not thread-safe: the index calls it under its mutex.  Connections are
 * only ever closed by the caller (the cache hands back what it evicts or
 * drops), so no database is closed while the index mutex is held.
 *
 * Ownership: ak_idle_new() / ak_idle_free(); put hands a connection to the
 * cache, take, put's eviction and ak_idle_take_matching() hand one back.
 */
#ifndef AK_IDLE_H
#define AK_IDLE_H

#include <stddef.h>

#include "storage/sysdb.h"

typedef struct ak_idle ak_idle;

/* A cache of at most cap connections (cap >= 1); NULL when out of memory. */
ak_idle *ak_idle_new(size_t cap);
/* Closes every connection still cached. */
void ak_idle_free(ak_idle *c);

size_t ak_idle_count(const ak_idle *c);

/* A connection to system_id, removed from the cache; NULL when none. */
ak_sysdb *ak_idle_take(ak_idle *c, const char *system_id);

/* Cache db as system_id's.  When the cache was full, the least recently
 * returned connection is removed to make room and returned, for the
 * caller to close; else NULL. */
ak_sysdb *ak_idle_put(ak_idle *c, const char *system_id, ak_sysdb *db);

/* Remove up to max connections to system_id (every system's when NULL)
 * into out; returns how many.  Call again while it returns max. */
size_t ak_idle_take_matching(ak_idle *c, const char *system_id, ak_sysdb **out, size_t max);

#endif
