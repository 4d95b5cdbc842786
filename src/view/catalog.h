/*
 * catalog.h - what Akosha holds, as JSON: systems with their counts, a
 * system's upload ledger, one conversation from any tier.
 *
 * Shared by the HTTP API and the MCP tools so both say the same thing the
 * same way; connections come from the index's cache.  Each function writes
 * one JSON value at the writer's position, or returns an error (the writer
 * is then untouched): AK_ERR_INVALID for a bad id, AK_ERR_NOTFOUND when
 * there is no such system or conversation.
 */
#ifndef AK_CATALOG_H
#define AK_CATALOG_H

#include "objstore/objstore.h"
#include "query/index.h"
#include "util/jsonw.h"

/* [{system_id, shard, hot, warm, cold, uploads{...}, last_upload}, ...];
 * only_system NULL for all. */
ak_code ak_catalog_systems(ak_index *idx, const char *only_system, ak_jw *w, ak_err *err);
/* {system_id, uploads: [ledger rows]}. */
ak_code ak_catalog_uploads(ak_index *idx, const char *system_id, ak_jw *w, ak_err *err);
/* The conversation view; cold rows are read from their object in cold. */
ak_code ak_catalog_conversation(ak_index *idx, ak_store *cold, const char *system_id,
                                const char *conversation_id, ak_jw *w, ak_err *err);

/* Visit every ledger row of every system (or one). */
typedef ak_code (*ak_catalog_upload_fn)(void *ctx, const char *system_id, const ak_ledger_row *r);
ak_code ak_catalog_each_upload(ak_index *idx, const char *only_system, ak_catalog_upload_fn fn,
                               void *ctx, ak_err *err);

#endif
