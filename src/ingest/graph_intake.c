/*
 * graph_intake.c - see graph_intake.h.
 */
#include "ingest/graph_intake.h"

#include <stdio.h>
#include <string.h>

#include "graph/graph_item.h"
#include "ingest/duckdb.h"
#include "util/buf.h"

ak_code ak_graph_apply_line(ak_graph *g, ak_json_doc *doc, const char *text, size_t len,
                            const char *system, const char *where, ak_graph_tally *t,
                            ak_err *err)
{
    ak_graph_item it;
    ak_err perr;
    ak_gput res;
    ak_code rc = ak_graph_item_parse(doc, text, len, system, &it, &perr);
    if (rc == AK_ERR_INVALID) {
        if (t->rejected++ == 0)
            ak_fmt(t->example, sizeof t->example, "%s: %s", where, perr.msg);
        return AK_OK;
    }
    if (rc)
        return ak_err_set(err, rc, "%s", perr.msg);
    rc = it.relation ? ak_graph_put_relation(g, &it.r, &res, err)
                     : ak_graph_put_entity(g, &it.e, &res, err);
    if (rc == AK_OK)
        ak_graph_tally_add(t, it.relation, res);
    ak_graph_item_free(&it);
    return rc;
}

/* ---- knowledge_graph.duckdb ---- */

enum { T_ENTITIES, T_RELATIONS, N_T };
static const char *const table_names[N_T] = {"kg_entities", "kg_relationships"};

/* The columns read, per table; a bit per column in cols[]. */
static const char *const columns[N_T][8] = {
    {"id", "name", "entity_type", "observations", "properties", "created_at", "updated_at", NULL},
    {"id", "from_entity", "to_entity", "relation_type", "properties", "created_at", "updated_at",
     NULL},
};
#define REQUIRED_ENTITY 0x07   /* id, name, entity_type */
#define REQUIRED_RELATION 0x0f /* id, from_entity, to_entity, relation_type */

typedef struct {
    ak_graph *g;
    const char *system;
    ak_graph_tally *t;
    ak_json_doc *doc;
    unsigned cols[N_T];
    unsigned which[N_T]; /* query q reads table which[q] */
    unsigned n_queries;
    uint64_t row;
    ak_err *err;
} kg_read;

static int same(const char *s, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(s, want, n) == 0;
}

static ak_code on_column(void *ctx, const char *table, size_t tlen, const char *col, size_t clen,
                         const char *type, size_t ylen)
{
    kg_read *k = ctx;
    (void)type, (void)ylen;
    for (int t = 0; t < N_T; t++)
        for (int c = 0; same(table, tlen, table_names[t]) && columns[t][c]; c++)
            if (same(col, clen, columns[t][c]))
                k->cols[t] |= 1u << c;
    return AK_OK;
}

static void text_col(ak_buf *b, const char *col)
{
    ak_buf_printf(b, ", '%s', CAST(\"%s\" AS VARCHAR)", col, col);
}

/* json_object over the table's columns, named in the line's terms. */
static void build(ak_buf *b, const char *catalog, unsigned t, unsigned cols)
{
    ak_buf_printf(b, "SELECT CAST(json_object('kind', '%s'", t == T_ENTITIES ? "entity" : "relation");
    for (int c = 0; c < (t == T_ENTITIES ? 3 : 4); c++) /* the required text columns */
        text_col(b, columns[t][c]);
    if (t == T_ENTITIES && (cols & 1u << 3))
        ak_buf_puts(b, ", 'observations', TRY_CAST(\"observations\" AS VARCHAR[])");
    if (cols & 1u << 4)
        ak_buf_puts(b, ", 'properties', CASE WHEN json_valid(CAST(\"properties\" AS VARCHAR)) AND "
                       "json_type(CAST(\"properties\" AS VARCHAR)) = 'OBJECT' THEN "
                       "CAST(CAST(\"properties\" AS VARCHAR) AS JSON) END");
    for (int c = 5; c <= 6; c++)
        if (cols & 1u << c)
            ak_buf_printf(b, ", '%s', strftime(TRY_CAST(\"%s\" AS TIMESTAMP), "
                             "'%%Y-%%m-%%dT%%H:%%M:%%S.%%fZ')", columns[t][c], columns[t][c]);
    ak_buf_printf(b, ") AS VARCHAR) FROM \"%s\".main.\"%s\"", catalog, table_names[t]);
}

static int on_query(void *ctx, const char *catalog, unsigned q, ak_buf *sql)
{
    kg_read *k = ctx;
    if (q == 0) /* the columns are known now: which tables can be read */
        for (unsigned t = 0; t < N_T; t++)
            if ((k->cols[t] & (t == T_RELATIONS ? REQUIRED_RELATION : REQUIRED_ENTITY)) ==
                (t == T_RELATIONS ? REQUIRED_RELATION : REQUIRED_ENTITY))
                k->which[k->n_queries++] = t;
    if (q >= k->n_queries)
        return 0;
    k->row = 0;
    build(sql, catalog, k->which[q], k->cols[k->which[q]]);
    return sql->data ? 1 : -1;
}

static ak_code on_row(void *ctx, unsigned q, const char *text, size_t len)
{
    kg_read *k = ctx;
    char where[64];
    snprintf(where, sizeof where, "%s row %llu", table_names[k->which[q]],
             (unsigned long long)++k->row);
    return ak_graph_apply_line(k->g, k->doc, text, len, k->system, where, k->t, k->err);
}

ak_code ak_graph_read_duckdb(const char *path, ak_graph *g, const char *system,
                             ak_graph_tally *t, ak_err *err)
{
    kg_read k = {.g = g, .system = system, .t = t, .doc = ak_json_doc_new(), .err = err};
    if (!k.doc)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_duckdb_text_reader r = {on_column, on_query, on_row, &k};
    ak_code rc = ak_duckdb_read_text(path, &r, err);
    if (rc == AK_OK && k.n_queries == 0)
        rc = ak_err_set(err, AK_ERR_INVALID,
                        "no knowledge graph: neither kg_entities (id, name, entity_type) nor "
                        "kg_relationships (id, from_entity, to_entity, relation_type)");
    ak_json_doc_free(k.doc);
    return rc;
}
