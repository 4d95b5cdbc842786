/*
 * rec_test.h - a record as the ingest parser would hand it to storage, for
 * unit tests that write conversations without going through a payload.
 *
 * Shared by tests/unit/test_storage.c and tests/unit/test_search.c.  The
 * strings are borrowed, not copied: they must outlive the record.
 */
#ifndef AK_REC_TEST_H
#define AK_REC_TEST_H

#include <string.h>

#include "ingest/record.h"
#include "util/sha256.h"

/* id and content with content's SHA-256, timestamp ts_us, source `source`,
 * no embedding and no metadata. */
static inline ak_record test_record(const char *id, const char *content, int64_t ts_us,
                                    const char *source)
{
    ak_record r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.id_len = strlen(id);
    r.content = content;
    r.content_len = strlen(content);
    ak_sha256(content, r.content_len, r.content_sha256);
    r.ts_us = ts_us;
    r.source = source;
    r.source_len = strlen(source);
    return r;
}

#endif
