/*
 * parquet_check.c - opening a Parquet file (see parquet_read.h): the magic, the
 * footer (decoded by parquet_footer.c), and whether it describes an Akosha
 * cold file: our columns found by name, with types and encodings we read;
 * the row groups' chunks inside the file.  The whole footer is validated
 * here, so that reading pages later only has page-level damage left to
 * find.
 */
#include "tier/parquet_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Reader: does the footer describe an Akosha cold file?
 * ====================================================================== */

static const char *type_name(int32_t type)
{
    static const char *names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                  "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return type >= 0 && type <= 7 ? names[type] : "an unknown type";
}

/* "INT64 TIMESTAMP(isAdjustedToUTC=false, NANOS)", "BYTE_ARRAY STRING", ... */
static const char *describe(const elem *e, char *buf, size_t n)
{
    static const char *units[] = {"?", "MILLIS", "MICROS", "NANOS"};
    int unit = e->ts_unit >= UNIT_MILLIS && e->ts_unit <= UNIT_NANOS ? e->ts_unit : 0;
    if (e->logical == LT_TIMESTAMP)
        snprintf(buf, n, "%s TIMESTAMP(isAdjustedToUTC=%s, %s)", type_name(e->type),
                 e->ts_utc ? "true" : "false", units[unit]);
    else if (e->logical == LT_STRING || e->logical == LT_JSON)
        snprintf(buf, n, "%s %s", type_name(e->type), e->logical == LT_JSON ? "JSON" : "STRING");
    else if (e->logical)
        snprintf(buf, n, "%s with logical type %d", type_name(e->type), e->logical);
    else if (e->converted >= 0)
        snprintf(buf, n, "%s with converted type %d", type_name(e->type), (int)e->converted);
    else
        snprintf(buf, n, "%s", type_name(e->type));
    return buf;
}

static ak_code unsupported_column(int c, const elem *e, const char *expected, ak_err *err)
{
    char is[96];
    return ak_err_set(err, AK_ERR_UNSUPPORTED, "parquet: column %s is %s, expected %s",
                      ak_pq_cols[c].name, describe(e, is, sizeof is), expected);
}

/* Physical type and annotations of column c as the file stores it. */
static ak_code check_column(ak_pq_reader *r, int c, const elem *e, ak_err *err)
{
    rcol *col = &r->col[c];
    if (e->repetition != REP_REQUIRED && e->repetition != REP_OPTIONAL)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "parquet: column %s is %s, not a plain value",
                          ak_pq_cols[c].name, e->repetition < 0 ? "without repetition" : "REPEATED");
    col->optional = e->repetition == REP_OPTIONAL;
    col->type = e->type;
    switch (ak_pq_cols[c].kind) {
    case K_TIMESTAMP:
        if (e->type == T_INT64 && e->logical == LT_TIMESTAMP && e->ts_utc &&
            e->ts_unit >= UNIT_MILLIS && e->ts_unit <= UNIT_NANOS)
            col->unit = e->ts_unit;
        else if (e->type == T_INT64 && !e->logical &&
                 (e->converted == CT_TS_MICROS || e->converted == CT_TS_MILLIS))
            col->unit = e->converted == CT_TS_MICROS ? UNIT_MICROS : UNIT_MILLIS;
        else
            return unsupported_column(c, e, "INT64 TIMESTAMP(isAdjustedToUTC=true)", err);
        return AK_OK;
    case K_FINGERPRINT:
    case K_CODE:
        if (e->type != T_BYTE_ARRAY)
            return unsupported_column(c, e, "BYTE_ARRAY", err);
        return AK_OK;
    default:
        if (e->type != T_BYTE_ARRAY ||
            (e->logical && e->logical != LT_STRING && e->logical != LT_JSON) ||
            (e->converted >= 0 && e->converted != CT_UTF8 && e->converted != CT_JSON))
            return unsupported_column(c, e, "BYTE_ARRAY STRING", err);
        return AK_OK;
    }
}

static ak_code check_schema(ak_pq_reader *r, ak_err *err)
{
    if (r->nel < 1)
        return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": the schema has no root");
    size_t nleaves = r->nel - 1;
    for (size_t i = 1; i < r->nel; i++) {
        const elem *e = &r->el[i];
        if (e->num_children > 0)
            return ak_err_set(err, AK_ERR_UNSUPPORTED,
                              "parquet: column %.*s is a nested group; cold files are flat",
                              (int)e->name_len, e->name);
        if (e->type < 0)
            return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": column %.*s has no type",
                              (int)e->name_len, e->name);
    }
    if (r->el[0].num_children < 0 || (size_t)r->el[0].num_children != nleaves)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": the schema root has %d children but %zu columns follow",
                          (int)r->el[0].num_children, nleaves);
    if (r->orders && r->norders != nleaves)
        return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": %u column orders for %zu columns",
                          r->norders, nleaves);
    for (int c = 0; c < AK_PQ_NCOLS; c++) {
        size_t found = SIZE_MAX;
        for (size_t i = 0; i < nleaves; i++) {
            const elem *e = &r->el[i + 1];
            if (bytes_cmp(e->name, e->name_len, ak_pq_cols[c].name, strlen(ak_pq_cols[c].name)))
                continue;
            if (found != SIZE_MAX)
                return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": column %s appears twice",
                                  ak_pq_cols[c].name);
            found = i;
        }
        r->col[c].leaf = found;
        if (found == SIZE_MAX && ak_pq_cols[c].optional == 2)
            continue; /* read as all null */
        if (found == SIZE_MAX)
            return ak_err_set(err, AK_ERR_UNSUPPORTED,
                              "parquet: the file has no column %s, so it is not an Akosha "
                              "cold file",
                              ak_pq_cols[c].name);
        r->el[found + 1].type_order = r->orders && r->orders[found];
        ak_code rc = check_column(r, c, &r->el[found + 1], err);
        if (rc)
            return rc;
    }
    return AK_OK;
}

static int codec_known(int32_t codec)
{
    return codec == AK_PQ_UNCOMPRESSED || codec == AK_PQ_SNAPPY || codec == AK_PQ_GZIP ||
           codec == AK_PQ_ZSTD || codec == AK_PQ_LZ4_RAW;
}

static ak_code check_chunk(ak_pq_reader *r, size_t g, int c, chunk *k, ak_err *err)
{
    const char *name = ak_pq_cols[c].name;
    if (k->external || k->encrypted)
        return ak_err_set(err, AK_ERR_UNSUPPORTED,
                          "parquet: row group %zu, column %s is %s", g, name,
                          k->external ? "stored in another file" : "encrypted");
    if (!k->has_meta)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": row group %zu, column %s has no ColumnMetaData", g, name);
    if (k->type != r->col[c].type)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": row group %zu, column %s is %s but the schema says %s", g,
                          name, type_name(k->type), type_name(r->col[c].type));
    if (k->num_values != r->groups[g].rows)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": row group %zu, column %s has %lld values for %lld rows", g,
                          name, (long long)k->num_values, (long long)r->groups[g].rows);
    if (!codec_known(k->codec))
        return ak_err_set(err, AK_ERR_UNSUPPORTED,
                          "parquet: row group %zu, column %s uses compression codec %d, "
                          "which Akosha does not read",
                          g, name, (int)k->codec);
    /* Some writers put 0 in dictionary_page_offset for "none". */
    k->start = k->dict_off >= 4 && k->dict_off < k->data_off ? k->dict_off : k->data_off;
    if (k->start < 4 || k->stored_bytes < 0 || (uint64_t)k->start > r->footer_start ||
        (uint64_t)k->stored_bytes > r->footer_start - (uint64_t)k->start)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": row group %zu, column %s: pages at %lld (+%lld bytes) lie "
                          "outside the data (bytes 4 to %zu)",
                          g, name, (long long)k->start, (long long)k->stored_bytes,
                          r->footer_start);
    return AK_OK;
}

static ak_code check_groups(ak_pq_reader *r, ak_err *err)
{
    int64_t total = 0;
    for (size_t g = 0; g < r->ngroups; g++) {
        group *gr = &r->groups[g];
        if (gr->rows < 0)
            return ak_err_set(err, AK_ERR_CORRUPT, FOOTER ": row group %zu has %lld rows", g,
                              (long long)gr->rows);
        if (gr->rows > AK_PQ_GROUP_ROWS_MAX)
            return ak_err_set(err, AK_ERR_UNSUPPORTED,
                              "parquet: row group %zu has %lld rows; Akosha reads at most %u", g,
                              (long long)gr->rows, AK_PQ_GROUP_ROWS_MAX);
        if (gr->ncols != r->nel - 1)
            return ak_err_set(err, AK_ERR_CORRUPT,
                              FOOTER ": row group %zu has %u column chunks for %u columns", g,
                              gr->ncols, r->nel - 1);
        for (int c = 0; c < AK_PQ_NCOLS; c++) {
            if (r->col[c].leaf == SIZE_MAX)
                continue;
            ak_code rc = check_chunk(r, g, c, &gr->cols[r->col[c].leaf], err);
            if (rc)
                return rc;
        }
        total += gr->rows;
    }
    if (total != r->rows)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          FOOTER ": num_rows is %lld but the row groups hold %lld",
                          (long long)r->rows, (long long)total);
    return AK_OK;
}

ak_code ak_pq_reader_open(const void *data, size_t len, ak_pq_reader **out, ak_err *err)
{
    const uint8_t *d = data;
    *out = NULL;
    if (len < 12)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          "parquet: a file of %zu bytes is too short (at least 12)", len);
    if (memcmp(d, MAGIC, 4) != 0)
        return ak_err_set(err, AK_ERR_CORRUPT, "parquet: no PAR1 magic at the start");
    if (memcmp(d + len - 4, "PARE", 4) == 0)
        return ak_err_set(err, AK_ERR_UNSUPPORTED, "parquet: the footer is encrypted");
    if (memcmp(d + len - 4, MAGIC, 4) != 0)
        return ak_err_set(err, AK_ERR_CORRUPT,
                          "parquet: no PAR1 magic at the end (truncated file?)");
    uint32_t flen = le32(d + len - 8);
    if (flen > len - 12)
        return ak_err_set(err, AK_ERR_CORRUPT, "parquet: footer length %u exceeds file size %zu",
                          flen, len);

    ak_pq_reader *r = calloc(1, sizeof *r);
    if (!r)
        return nomem(err);
    r->data = d;
    r->len = len;
    r->footer_start = len - 8 - flen;
    r->cur = SIZE_MAX;
    ak_tr t;
    ak_tr_init(&t, d + r->footer_start, flen, FOOTER, err);
    ak_code rc = ak_pq_read_footer(&t, r, err);
    if (!rc && r->foreign_format)
        rc = ak_err_set(err, AK_ERR_UNSUPPORTED,
                        "parquet: the file's " FORMAT_KEY " is not " FORMAT_VERSION
                        "; a newer Akosha wrote it");
    if (!rc)
        rc = check_schema(r, err);
    if (!rc)
        rc = check_groups(r, err);
    if (rc) {
        ak_pq_reader_free(r);
        return rc;
    }
    *out = r;
    return AK_OK;
}

int64_t ak_pq_reader_rows(const ak_pq_reader *r) { return r->rows; }

size_t ak_pq_reader_groups(const ak_pq_reader *r) { return r->ngroups; }

int64_t ak_pq_reader_group_rows(const ak_pq_reader *r, size_t g)
{
    return g < r->ngroups ? r->groups[g].rows : 0;
}

void ak_pq_reader_chunk(const ak_pq_reader *r, size_t g, ak_pq_col c, ak_pq_chunk_info *out)
{
    memset(out, 0, sizeof *out);
    if (r->col[c].leaf == SIZE_MAX) { /* a column the file lacks: all null */
        out->num_values = out->null_count = r->groups[g].rows;
        return;
    }
    const chunk *k = chunk_of(r, g, c);
    out->num_values = k->num_values;
    out->null_count = k->null_count;
    out->codec = (ak_pq_codec)k->codec;
    out->compressed_bytes = k->stored_bytes;
    out->uncompressed_bytes = k->raw_bytes;
    if (!k->min || !k->max || !r->el[r->col[c].leaf + 1].type_order)
        return;
    out->min = (ak_pq_val){(const char *)k->min, k->min_len};
    out->max = (ak_pq_val){(const char *)k->max, k->max_len};
    out->has_min_max = 1;
    if (ak_pq_cols[c].kind == K_TIMESTAMP)
        out->has_min_max = k->min_len == 8 && k->max_len == 8 &&
                           to_us(r->col[c].unit, le64(k->min), &out->min_us) &&
                           to_us(r->col[c].unit, le64(k->max), &out->max_us);
}
