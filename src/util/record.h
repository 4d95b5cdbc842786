/*
 * record.h - the plain conversation record (ARCHITECTURE.md, "Words"):
 * what ingestion fills (ingest/record.h: the parser and its rules) and the
 * system database stores (storage/sysdb.h).  It lives here, below both, so
 * storage need not know the ingestion rules.
 *
 * Ownership: the pointers point into whatever the filler says (for the
 * parser: the JSON doc's arena or the input text); the record owns only its
 * fixed arrays.
 */
#ifndef AK_UTIL_RECORD_H
#define AK_UTIL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "util/sha256.h"
#include "util/vec.h" /* AK_DIM */

typedef struct {
    const char *id;
    size_t id_len;
    char id_hex[AK_SHA256_HEX]; /* backing store when id is derived */
    const char *content;
    size_t content_len;
    uint8_t content_sha256[AK_SHA256_LEN];
    int has_embedding;
    float embedding[AK_DIM];
    int64_t ts_us;
    const char *source;
    size_t source_len;
    const char *metadata; /* raw JSON object, or NULL */
    size_t metadata_len;
} ak_record;

#endif
