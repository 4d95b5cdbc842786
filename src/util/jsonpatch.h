/*
 * jsonpatch.h - JSON Merge Patch (RFC 7396) of two JSON texts.
 *
 * DuckDB's reader builds a memory's metadata from the row's own metadata
 * object and its columns (ingest/duckdb.c).  DuckDB's json_merge_patch did
 * it in SQL, parsing the row's metadata three times and building mutable
 * documents: a quarter of a reader's time per row.  This does the same
 * merge with akosha's parser, writing compact JSON.  Same result as DuckDB's: the
 * target's members whose key the patch does not name, in order, then the
 * patch's members in order, a null one removing its key, an object one
 * merged into the target's object of that key.
 *
 * Ownership: the caller's docs (reused between calls) and out.
 */
#ifndef AK_JSONPATCH_H
#define AK_JSONPATCH_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

/* Append to out the merge of patch into target.  A target that is not a
 * JSON object (absent: NULL, invalid, an array ...) counts as {}.
 * AK_ERR_INVALID when patch is not a JSON object; AK_ERR_NOMEM. */
ak_code ak_json_merge_patch(ak_json_doc *target_doc, ak_json_doc *patch_doc, const char *target,
                            size_t target_len, const char *patch, size_t patch_len, ak_buf *out,
                            ak_err *err);

#endif
