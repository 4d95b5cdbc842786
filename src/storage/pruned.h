/*
 * pruned.h - a system's `pruned` table (the uploads prune-bucket deletes
 * or deleted) and the ledger and source queries that choose them; the
 * protocol is ops/prune.h's.
 *
 * Ownership: lists filled here are the caller's (ak_strlist_free()).
 */
#ifndef AK_PRUNED_H
#define AK_PRUNED_H

#include <stdint.h>

#include "storage/sysdb.h"
#include "util/strlist.h"

/* The uploads listed as "pruning" (a run died deleting them) and their
 * prefixes, in upload id order, appended to ids and prefixes. */
ak_code ak_pruned_resuming(ak_sysdb *db, ak_strlist *ids, ak_strlist *prefixes, ak_err *err);
/* List an upload as "pruning" (committed before anything is deleted). */
ak_code ak_pruned_mark(ak_sysdb *db, const char *upload_id, const char *prefix, int64_t objects,
                       int64_t bytes, int64_t at_us, ak_err *err);
/* The upload is gone: "pruned". */
ak_code ak_pruned_finish(ak_sysdb *db, const char *upload_id, ak_err *err);
/* Ingested uploads never listed, newest first (uploaded_at, then id). */
ak_code ak_pruned_candidates(ak_sysdb *db, ak_strlist *out, ak_err *err);
/* The uploads that are the latest source of a stored memory, sorted
 * (ak_strlist_sorted_has()). */
ak_code ak_pruned_pinned(ak_sysdb *db, ak_strlist *out, ak_err *err);

#endif
