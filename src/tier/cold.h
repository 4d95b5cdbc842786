/*
 * cold.h - reading the cold tier: one conversation from its Parquet object,
 * found through the cold catalog (no scan of the bucket).
 *
 * Also where the default cold store lives: file://<data>/cold.
 */
#ifndef AK_COLD_H
#define AK_COLD_H

#include "objstore/objstore.h"
#include "storage/datadir.h"
#include "storage/sysdb.h"

#define AK_COLD_OBJECT_MAX ((size_t)1 << 30)
#define AK_COLD_PREFIX_MAX 256

/* "system_id=<id>/", the key prefix of a system's cold objects.  A path
 * segment holds at most 255 bytes (a local cold store makes each segment a
 * directory), so an id too long for that is cut to 200 characters and
 * followed by '~' and 16 hex digits of its SHA-256 ('~' is in no id, so the
 * two forms never meet).  Returns the length written, -1 if n is too small. */
int ak_cold_system_prefix(const char *system_id, char *out, size_t n);

/* Fill conv (a cold catalog row from ak_sysdb_get_conv) with what its
 * object holds: the 1-sentence summary, metadata and timestamp. */
ak_code ak_cold_read(ak_store *cold, ak_conv *conv, ak_err *err);

/* Open the cold store: url, or when NULL/empty the default under the data
 * directory (created if missing). */
ak_code ak_cold_open(const ak_datadir *dd, const char *url, ak_store **out, ak_err *err);

#endif
