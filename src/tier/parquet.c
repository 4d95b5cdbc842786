/*
 * parquet.c - the cold tier's Parquet schema (see parquet.h): the column
 * table the writer and the reader share, and the checks every value passes
 * on its way in and out.  The writer is parquet_write.c, the reader
 * parquet_footer.c, parquet_check.c and parquet_pages.c (parquet_impl.h
 * lists them).
 */
#include "tier/parquet_impl.h"

#include <stdio.h>

#include "util/json.h"

const ak_pq_colspec ak_pq_cols[AK_PQ_NCOLS] = {
    {"system_id", K_TEXT, 0, offsetof(ak_pq_row, system_id)},
    {"conversation_id", K_TEXT, 0, offsetof(ak_pq_row, conversation_id)},
    {"timestamp", K_TIMESTAMP, 0, 0},
    {"ultra_summary", K_TEXT, 0, offsetof(ak_pq_row, ultra_summary)},
    {"fingerprint", K_FINGERPRINT, 0, offsetof(ak_pq_row, fingerprint)},
    {"content_sha256", K_HEX, 0, offsetof(ak_pq_row, content_sha256)},
    {"metadata", K_TEXT, 1, offsetof(ak_pq_row, metadata)},
    {"daily_metrics", K_TEXT, 1, offsetof(ak_pq_row, daily_metrics)},
    {"embedding_code", K_CODE, 2, offsetof(ak_pq_row, embedding_code)},
};

const char *ak_pq_col_name(ak_pq_col c)
{
    return c < AK_PQ_NCOLS ? ak_pq_cols[c].name : "?";
}

const ak_pq_val *ak_pq_row_val(const ak_pq_row *row, ak_pq_col c)
{
    if (c >= AK_PQ_NCOLS || ak_pq_cols[c].kind == K_TIMESTAMP)
        return NULL;
    return (const ak_pq_val *)((const char *)row + ak_pq_cols[c].off);
}

static int is_hex64(const ak_pq_val *v)
{
    if (v->len != AK_PQ_SHA256_HEX_LEN)
        return 0;
    for (size_t i = 0; i < v->len; i++) {
        char ch = v->p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
    }
    return 1;
}

const char *ak_pq_value_problem(int c, const ak_pq_val *v, char *why, size_t n)
{
    if (!v->p)
        return ak_pq_cols[c].optional ? NULL : "is null, but the column is required";
    switch (ak_pq_cols[c].kind) {
    case K_FINGERPRINT:
        if (v->len == AK_PQ_FINGERPRINT_LEN || v->len == AK_PQ_FINGERPRINT_LEN_V1)
            return NULL;
        snprintf(why, n, "has %zu bytes, not %d (or %d)", v->len, AK_PQ_FINGERPRINT_LEN,
                 AK_PQ_FINGERPRINT_LEN_V1);
        return why;
    case K_HEX:
        return is_hex64(v) ? NULL : "is not 64 lowercase hex digits";
    case K_CODE:
        if (v->len >= AK_PQ_CODE_MIN && v->len <= AK_PQ_CODE_MAX)
            return NULL; /* 196 (versions 1-3) is in the range */
        snprintf(why, n, "has %zu bytes, not %d to %d", v->len, AK_PQ_CODE_MIN, AK_PQ_CODE_MAX);
        return why;
    default:
        return ak_utf8_valid(v->p, v->len) ? NULL : "is not valid UTF-8";
    }
}
