/* cold.c - see cold.h. */
#include "tier/cold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tier/parquet_read.h"
#include "util/buf.h"
#include "util/sha256.h"

#define PREFIX_ID_MAX 245 /* 255 - strlen("system_id=") */
#define PREFIX_ID_CUT 200

int ak_cold_system_prefix(const char *system_id, char *out, size_t n)
{
    size_t len = strlen(system_id);
    int k;
    if (len <= PREFIX_ID_MAX) {
        k = snprintf(out, n, "system_id=%s/", system_id);
    } else {
        uint8_t d[AK_SHA256_LEN];
        char hex[17];
        ak_sha256(system_id, len, d);
        ak_hex(d, 8, hex);
        k = snprintf(out, n, "system_id=%.*s~%s/", PREFIX_ID_CUT, system_id, hex);
    }
    return k < 0 || (size_t)k >= n ? -1 : k;
}

ak_code ak_cold_read(ak_store *cold, ak_conv *conv, ak_err *err)
{
    char *file = NULL;
    size_t len = 0;
    ak_pq_reader *r = NULL;
    ak_pq_row row;
    ak_code rc = ak_store_get_small(cold, conv->object_key, AK_COLD_OBJECT_MAX, &file, &len, err);
    if (rc == AK_OK)
        rc = ak_pq_reader_open(file, len, &r, err);
    if (rc == AK_OK)
        rc = ak_pq_reader_find(r, conv->conversation_id, strlen(conv->conversation_id), &row, err);
    if (rc == AK_OK) {
        free(conv->summary);
        free(conv->metadata);
        conv->summary = strndup(row.ultra_summary.p, row.ultra_summary.len);
        conv->metadata = row.metadata.p ? strndup(row.metadata.p, row.metadata.len) : NULL;
        conv->ts_us = row.ts_us;
        if (!conv->summary || (row.metadata.p && !conv->metadata))
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    } else if (rc == AK_ERR_NOTFOUND) {
        rc = ak_err_set(err, AK_ERR_CORRUPT, "cold object %s does not hold %s, as the catalog says",
                        conv->object_key, conv->conversation_id);
    }
    ak_pq_reader_free(r);
    free(file);
    return rc;
}

/* The directory of a local store URL (a path or file:///path); NULL for
 * other schemes. */
static const char *local_dir(const char *url)
{
    if (strncmp(url, "file://", 7) == 0)
        return url + 7;
    return strstr(url, "://") ? NULL : url;
}

ak_code ak_cold_open(const ak_datadir *dd, const char *url, ak_store **out, ak_err *err)
{
    char dir[AK_PATH_MAX];
    if (url && *url) {
        /* an output store: created like the data directory (an S3 prefix
         * needs nothing) */
        const char *d = local_dir(url);
        ak_code rc = d && *d ? ak_mkdirs(d, err) : AK_OK;
        return rc ? rc : ak_store_open(url, out, err);
    }
    if (ak_fmt(dir, sizeof dir, "%s/cold", ak_datadir_path(dd)))
        return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
    ak_code rc = ak_mkdirs(dir, err);
    return rc ? rc : ak_store_open(dir, out, err);
}
