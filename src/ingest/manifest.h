/*
 * manifest.h - parse and validate an upload's manifest.json (SPEC section 3).
 *
 * Every rule of the contract is checked here and a broken one is reported
 * as AK_ERR_INVALID with a message that starts with the field name
 * ("uploaded_at: more than 5 minutes in the future").  Optional fields that
 * are JSON null count as absent.  Unknown fields are ignored.
 *
 * Two forms are accepted (SPEC section 3):
 *   Akosha's         uploaded_at, conversation_count (required), files as
 *                    names, one compression for all of them;
 *   Session-Buddy's  timestamp instead of uploaded_at (conversation_count
 *                    optional), upload_id, system_id, files as objects
 *                    {name, path, size_bytes, compression, checksum} where
 *                    0 / "" mean "not given".
 * A file entry may be a name or an object in either form; an entry named
 * manifest.json (some Session-Buddy versions list the manifest) is not a
 * payload and is left out.  Whether system_id and upload_id agree with the
 * key the manifest was found under is the caller's check.
 *
 * Ownership: ak_manifest_parse() fills a caller-provided struct whose heap
 * parts ak_manifest_free() releases (safe on a zeroed or failed struct).
 */
#ifndef AK_MANIFEST_H
#define AK_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/compress.h"
#include "util/err.h"
#include "util/sha256.h"

#define AK_MANIFEST_MAX_BYTES (1024 * 1024)
#define AK_MANIFEST_MAX_FILES 10000
#define AK_MANIFEST_MAX_CONVERSATIONS 1000000
#define AK_MANIFEST_MAX_TOTAL_SIZE INT64_C(100000000000)

/* One payload file and how to read it. */
typedef struct {
    char *name;
    ak_codec codec;             /* its compression, whatever its name */
    int64_t size_bytes;         /* stored size; -1 when not given */
    int has_checksum;
    uint8_t checksum[AK_SHA256_LEN]; /* SHA-256 of its stored bytes */
} ak_manifest_file;

typedef struct {
    int64_t uploaded_at_us;
    int64_t conversation_count; /* -1 when not given (Session-Buddy's form) */
    int64_t total_size_bytes;   /* -1 when absent */
    char version[16];           /* "1.0" when absent */
    char *system_type;          /* NULL when absent */
    int has_checksum;
    uint8_t checksum[AK_SHA256_LEN];
    ak_codec codec;             /* files given as names: AK_CODEC_NONE unless compressed */
    ak_manifest_file *files;    /* payloads, in manifest order */
    size_t n_files;
    char *metadata;             /* raw JSON object text, or NULL */
    char *system_id, *upload_id; /* as the manifest names them, or NULL */
} ak_manifest;

/* now_us is the clock the age rules are checked against. */
ak_code ak_manifest_parse(const char *text, size_t len, int64_t now_us,
                          ak_manifest *out, ak_err *err);
void ak_manifest_free(ak_manifest *m);

#endif
