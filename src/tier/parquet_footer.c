/*
 * parquet_footer.c - the Parquet reader's first step: decode the footer, a Thrift
 * FileMetaData (parquet.thrift's field ids), into the reader's arrays.  What
 * it holds is checked by parquet_check.c.
 */
#include "tier/parquet_impl.h"

#include <stdlib.h>
#include <string.h>

static ak_code read_time_unit(ak_tr *t, int type, elem *e)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        e->ts_unit = f.id; /* a union: the member's id is the unit */
        rc = ak_tr_skip(t, f.type);
    }
    return rc;
}

static ak_code read_timestamp_type(ak_tr *t, int type, elem *e)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1)
            rc = ak_tr_bool(t, f.type, &e->ts_utc);
        else if (f.id == 2)
            rc = read_time_unit(t, f.type, e);
        else
            rc = ak_tr_skip(t, f.type);
    }
    return rc;
}

static ak_code read_logical_type(ak_tr *t, int type, elem *e)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        e->logical = f.id;
        rc = f.id == LT_TIMESTAMP ? read_timestamp_type(t, f.type, e) : ak_tr_skip(t, f.type);
    }
    return rc;
}

static ak_code read_schema_element(ak_tr *t, int type, elem *e)
{
    ak_tf f;
    ak_code rc;
    e->type = e->repetition = e->num_children = e->converted = -1;
    EACH_FIELD(t, type, f, rc)
    {
        switch (f.id) {
        case 1: rc = ak_tr_i32(t, f.type, &e->type); break;
        case 3: rc = ak_tr_i32(t, f.type, &e->repetition); break;
        case 4: rc = ak_tr_bin(t, f.type, &e->name, &e->name_len); break;
        case 5: rc = ak_tr_i32(t, f.type, &e->num_children); break;
        case 6: rc = ak_tr_i32(t, f.type, &e->converted); break;
        case 10: rc = read_logical_type(t, f.type, e); break;
        default: rc = ak_tr_skip(t, f.type);
        }
    }
    if (!rc && !e->name)
        rc = ak_tr_fail(t, "a schema element has no name");
    return rc;
}

static ak_code read_statistics(ak_tr *t, int type, chunk *k)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        switch (f.id) {
        case 3: rc = ak_tr_i64(t, f.type, &k->null_count); break;
        case 5: rc = ak_tr_bin(t, f.type, &k->max, &k->max_len); break;
        case 6: rc = ak_tr_bin(t, f.type, &k->min, &k->min_len); break;
        default: rc = ak_tr_skip(t, f.type);
        }
    }
    return rc;
}

static ak_code read_column_meta(ak_tr *t, int type, chunk *k)
{
    ak_tf f;
    ak_code rc;
    unsigned seen = 0;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id > 0 && f.id < 16)
            seen |= 1u << f.id;
        switch (f.id) {
        case 1: rc = ak_tr_i32(t, f.type, &k->type); break;
        case 4: rc = ak_tr_i32(t, f.type, &k->codec); break;
        case 5: rc = ak_tr_i64(t, f.type, &k->num_values); break;
        case 6: rc = ak_tr_i64(t, f.type, &k->raw_bytes); break;
        case 7: rc = ak_tr_i64(t, f.type, &k->stored_bytes); break;
        case 9: rc = ak_tr_i64(t, f.type, &k->data_off); break;
        case 11: rc = ak_tr_i64(t, f.type, &k->dict_off); break;
        case 12: rc = read_statistics(t, f.type, k); break;
        default: rc = ak_tr_skip(t, f.type);
        }
    }
    const unsigned need = 1u << 1 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 9;
    if (!rc && (seen & need) != need)
        rc = ak_tr_fail(t, "a ColumnMetaData lacks a required field");
    k->has_meta = 1;
    return rc;
}

static ak_code read_column_chunk(ak_tr *t, int type, chunk *k)
{
    ak_tf f;
    ak_code rc;
    k->null_count = k->dict_off = -1;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1)
            k->external = 1; /* file_path: the data is in another file */
        else if (f.id == 8 || f.id == 9)
            k->encrypted = 1;
        rc = f.id == 3 ? read_column_meta(t, f.type, k) : ak_tr_skip(t, f.type);
    }
    return rc;
}

static ak_code read_row_group(ak_tr *t, int type, group *g, ak_err *err)
{
    ak_tf f;
    ak_code rc;
    int has_rows = 0;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1 && !g->cols) {
            int et;
            rc = ak_tr_list(t, f.type, &et, &g->ncols);
            if (!rc && !(g->cols = calloc(g->ncols ? g->ncols : 1, sizeof *g->cols)))
                return nomem(err);
            for (uint32_t i = 0; i < g->ncols && !rc; i++)
                rc = read_column_chunk(t, et, &g->cols[i]);
        } else if (f.id == 3) {
            has_rows = 1;
            rc = ak_tr_i64(t, f.type, &g->rows);
        } else {
            rc = ak_tr_skip(t, f.type);
        }
    }
    if (!rc && (!g->cols || !has_rows))
        rc = ak_tr_fail(t, "a RowGroup lacks its columns or num_rows");
    return rc;
}

static ak_code read_key_value(ak_tr *t, int type, ak_pq_reader *r)
{
    ak_tf f;
    ak_code rc;
    const uint8_t *key = NULL, *val = NULL;
    size_t key_len = 0, val_len = 0;
    EACH_FIELD(t, type, f, rc)
    {
        if (f.id == 1)
            rc = ak_tr_bin(t, f.type, &key, &key_len);
        else if (f.id == 2)
            rc = ak_tr_bin(t, f.type, &val, &val_len);
        else
            rc = ak_tr_skip(t, f.type);
    }
    if (!rc && key && bytes_cmp(key, key_len, FORMAT_KEY, strlen(FORMAT_KEY)) == 0 &&
        (!val || bytes_cmp(val, val_len, FORMAT_VERSION, strlen(FORMAT_VERSION)) != 0))
        r->foreign_format = 1;
    return rc;
}

static ak_code read_column_order(ak_tr *t, int type, uint8_t *type_order)
{
    ak_tf f;
    ak_code rc;
    EACH_FIELD(t, type, f, rc)
    {
        *type_order = f.id == 1;
        rc = ak_tr_skip(t, f.type);
    }
    return rc;
}

/* The header of a list field, and a zeroed array for its elements (NULL
 * with *rc set on failure).  `had` says the field was seen before. */
static void *read_list(ak_tr *t, int type, int had, uint32_t max, size_t size, int *et,
                       uint32_t *n, ak_code *rc, ak_err *err)
{
    void *arr = NULL;
    if (had)
        *rc = ak_tr_fail(t, "a list field appears twice");
    else if (!(*rc = ak_tr_list(t, type, et, n)) && *n > max)
        *rc = ak_tr_fail(t, "a list of %u elements exceeds the limit %u", *n, max);
    else if (!*rc && !(arr = calloc(*n ? *n : 1, size)))
        *rc = nomem(err);
    return arr;
}

ak_code ak_pq_read_footer(ak_tr *t, ak_pq_reader *r, ak_err *err)
{
    ak_tf f;
    ak_code rc;
    int et;
    uint32_t n;
    EACH_FIELD(t, AK_TT_STRUCT, f, rc)
    {
        switch (f.id) {
        case 2:
            r->el = read_list(t, f.type, r->el != NULL, SCHEMA_MAX, sizeof *r->el, &et, &r->nel,
                              &rc, err);
            for (uint32_t i = 0; i < r->nel && !rc; i++)
                rc = read_schema_element(t, et, &r->el[i]);
            break;
        case 3:
            r->has_rows = 1;
            rc = ak_tr_i64(t, f.type, &r->rows);
            break;
        case 4:
            r->groups = read_list(t, f.type, r->groups != NULL, UINT32_MAX, sizeof *r->groups,
                                  &et, &r->ngroups, &rc, err);
            for (uint32_t i = 0; i < r->ngroups && !rc; i++)
                rc = read_row_group(t, et, &r->groups[i], err);
            break;
        case 5:
            rc = ak_tr_list(t, f.type, &et, &n);
            for (uint32_t i = 0; i < n && !rc; i++)
                rc = read_key_value(t, et, r);
            break;
        case 7:
            r->orders = read_list(t, f.type, r->orders != NULL, SCHEMA_MAX, 1, &et, &r->norders,
                                  &rc, err);
            for (uint32_t i = 0; i < r->norders && !rc; i++)
                rc = read_column_order(t, et, &r->orders[i]);
            break;
        default:
            rc = ak_tr_skip(t, f.type);
        }
    }
    if (!rc && (!r->el || !r->groups || !r->has_rows))
        rc = ak_tr_fail(t, "FileMetaData lacks its schema, num_rows or row_groups");
    if (!rc && ak_tr_used(t) != (size_t)(t->end - t->start))
        rc = ak_tr_fail(t, "%zu stray bytes after FileMetaData",
                        (size_t)(t->end - t->start) - ak_tr_used(t));
    return rc;
}
