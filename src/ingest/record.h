/*
 * record.h - parse and validate one conversation record (SPEC section 3).
 *
 *   id | conversation_id   string, 1-256 bytes, no control characters;
 *                          absent: hex SHA-256 of content
 *   content                required non-empty UTF-8 string, <= 1 MiB, no NUL
 *   embedding              384 finite numbers; absent, null or all zeros:
 *                          no vector (has_embedding = 0)
 *   timestamp              ISO-8601 (no offset = UTC); absent: default_ts
 *   source                 string <= 256 bytes, default "session-buddy"
 *   metadata               JSON object, kept as given (raw text)
 *
 * A record that breaks a rule gets AK_ERR_INVALID, a message naming the
 * field, and a problem category for counting.  Pointers in ak_record point
 * into the doc's arena or the input text: valid until the next parse.
 */
#ifndef AK_RECORD_H
#define AK_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/json.h"
#include "util/record.h" /* ak_record, AK_DIM */

#define AK_CONTENT_MAX (1024 * 1024)
#define AK_CONV_ID_MAX 256
#define AK_SOURCE_MAX 256
/* JSON text of one record: 1 MiB of content may be up to 6 MiB escaped,
 * plus the embedding and metadata. */
#define AK_RECORD_TEXT_MAX (8 * 1024 * 1024)
/* JSON parser limits for one record (ak_json_doc_limits). */
#define AK_RECORD_MAX_DEPTH 64
#define AK_RECORD_MAX_NODES 200000

/* Why a record was skipped; the names are what ledgers and summaries show. */
typedef enum {
    AK_REC_OK = 0,
    AK_REC_INVALID_JSON,
    AK_REC_NOT_OBJECT,
    AK_REC_TOO_LARGE,
    AK_REC_BAD_ID,
    AK_REC_BAD_CONTENT,
    AK_REC_BAD_EMBEDDING,
    AK_REC_BAD_TIMESTAMP,
    AK_REC_BAD_SOURCE,
    AK_REC_BAD_METADATA,
    AK_REC_CONFLICT,      /* same id twice in one upload, different content */
    AK_REC_N_PROBLEMS
} ak_rec_problem;

const char *ak_rec_problem_name(ak_rec_problem p);

ak_code ak_record_parse(ak_json_doc *doc, const char *text, size_t len,
                        int64_t default_ts_us, ak_record *out,
                        ak_rec_problem *problem, ak_err *err);

/* A record given as values of a document already parsed (a pushed memory's
 * members), each NULL when absent: judged exactly as ak_record_parse()
 * judges the object {"id": id, "content": content, ...} made of their
 * text, without parsing that text again.  The record points into the
 * values' document. */
typedef struct {
    const ak_json *id, *content, *embedding, *timestamp, *metadata;
} ak_record_values;

ak_code ak_record_from_values(const ak_record_values *v, int64_t default_ts_us, ak_record *out,
                              ak_rec_problem *problem, ak_err *err);

/* A record given as typed values (a DuckDB row), checked by the same rules.
 * id NULL: derived from content; embedding NULL: none (n_embedding is its
 * length, anything but AK_DIM is a bad embedding); has_ts 0: default_ts;
 * metadata NULL or the text of a JSON object.  The record points into the
 * parts (and its own embedding copy): valid while they are. */
typedef struct {
    const char *id;
    size_t id_len;
    const char *content;
    size_t content_len;
    const float *embedding;
    size_t n_embedding;
    int has_ts;
    int64_t ts_us;
    const char *metadata;
    size_t metadata_len;
} ak_record_parts;

ak_code ak_record_from_parts(const ak_record_parts *p, int64_t default_ts_us,
                             ak_record *out, ak_rec_problem *problem, ak_err *err);

#endif
