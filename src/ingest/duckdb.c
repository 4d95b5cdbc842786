/*
 * duckdb.c - see duckdb.h.
 *
 * Reading is two queries on the file, attached read-only to the process's
 * one DuckDB instance: which of the known tables and columns the file
 * has (duckdb_columns()), then one streaming SELECT per memory table that
 * hands back six typed columns -- id, content, embedding as FLOAT[],
 * timestamp as epoch microseconds, the row's metadata text and an object
 * of its other columns (DuckDB's json_object); the record's metadata is
 * the second merged into the first (util/jsonpatch.h: DuckDB's own
 * json_merge_patch cost a quarter of a reader's time per row).  Naming
 * the columns in SQL keeps the C side to one fixed row shape whatever the
 * schema version, and a column a file lacks is simply not named.  Every
 * name in the SQL comes from the tables below, never from the file.
 *
 * With a key callback (payload.c asks the store which rows are
 * duplicates), each table is first scanned for rowid, id and content only;
 * the full SELECT then names the wanted rowids (or, past ROWIDS_IN_QUERY of
 * them, reads every row and skips the others), so a repeated snapshot does
 * not pay for decoding embeddings and building metadata of rows it keeps.
 */
#include "ingest/duckdb.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/duckdb_api.h"
#include "ingest/duckdb_child.h"
#include "util/buf.h"
#include "util/jsonpatch.h"
#include "util/vec.h"

#define HEADER_MAGIC_AT 8

/* The library's functions, loaded by duckdb_lib.c. */
static const ak_duckdb_api *const api = &ak_duckdb_fn;

/* ---- the file format ---- */

int ak_duckdb_is_header(const void *head, size_t len)
{
    return len >= HEADER_MAGIC_AT + 8 &&
           memcmp((const char *)head + HEADER_MAGIC_AT, "DUCK", 4) == 0;
}

/* ---- what the file holds ---- */

/* The columns read besides id, content, embedding, timestamp and metadata:
 * each becomes a metadata member of the same name when the table has it.
 * access_count and last_accessed are left out on purpose: they change on
 * every read, and a snapshot would otherwise differ from the last one in
 * every row. */
static const char *const meta_columns[] = {
    "category",    "subcategory",    "importance_score", "memory_tier",      "project",
    "namespace",   "session_id",     "user_id",          "source_type",      "turn_parent_id",
    "causal_parent_id", "tags",      "related_entities",
};
#define N_META (sizeof meta_columns / sizeof *meta_columns)
enum { C_ID = N_META, C_CONTENT, C_EMBEDDING, C_TIMESTAMP, C_METADATA, N_COLUMNS };
static const char *const base_columns[] = {"id", "content", "embedding", "timestamp", "metadata"};

static const char *column_name(unsigned c)
{
    return c < N_META ? meta_columns[c] : base_columns[c - N_META];
}

/* In preference order within each kind: the first one present is read. */
static const struct {
    const char *table, *type;
} tables[] = {
    {"conversations_v2", "conversation"},
    {"conversations", "conversation"},
    {"reflections_v2", "reflection"},
    {"reflections", "reflection"},
};
#define N_TABLES (sizeof tables / sizeof *tables)

typedef struct {
    int present;
    uint32_t columns; /* bit c: column_name(c) exists */
    int emb_array;    /* embedding is FLOAT[384], read as is (no copy into a list) */
} table_info;

/* One DuckDB instance serves every upload of the process: each attaches
 * its file read-only under its own name.  Starting an instance costs more
 * CPU than reading a few thousand rows.  An instance that a fatal error
 * invalidated is dropped for the next upload to start a fresh one; the
 * last user closes it. */
typedef struct {
    duckdb_database db;
    int refs, dropped;
} instance;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static instance *shared;       /* under pool_mu */
static atomic_ullong attach_seq;

typedef struct {
    instance *inst;
    duckdb_connection conn;
    char name[32];             /* the attached file's catalog name */
    int attached, broken;
    ak_err *err;
} session;

static size_t str_of(const duckdb_string_t *s, const char **out)
{
    size_t n = s->value.inlined.length;
    *out = n <= sizeof s->value.inlined.inlined ? s->value.inlined.inlined : s->value.pointer.ptr;
    return n;
}

static int is_valid(const uint64_t *mask, idx_t row)
{
    return !mask || (mask[row / 64] >> (row % 64)) & 1;
}

/* DuckDB's messages run to several lines of advice; the first says it. */
static ak_code duck_error(ak_err *err, ak_code code, const char *what, const char *msg)
{
    if (!msg)
        msg = "unknown error";
    size_t n = strcspn(msg, "\n");
    if (strstr(msg, "invalidated"))
        return ak_err_set(err, AK_ERR_IO, "%s: DuckDB was stopped by an earlier fatal error "
                          "(%.*s); the upload is tried again", what, (int)(n > 300 ? 300 : n), msg);
    if (code == AK_ERR_CORRUPT && strstr(msg, "version number"))
        return ak_err_set(err, AK_ERR_NOTFOUND,
                          "%s: %.*s (written by a DuckDB newer than the loaded library %s: "
                          "install a newer @duckdb/node-bindings-linux-x64; the upload is "
                          "tried again)",
                          what, (int)(n > 300 ? 300 : n), msg, ak_duckdb_library_version());
    return ak_err_set(err, code, "%s: %.*s", what, (int)(n > 400 ? 400 : n), msg);
}

/* Run sql as a streaming query; the caller destroys *res on AK_OK. */
static ak_code run_query(session *s, const char *sql, duckdb_result *res)
{
    duckdb_prepared_statement st = NULL;
    duckdb_pending_result pend = NULL;
    ak_code rc = AK_OK;
    memset(res, 0, sizeof *res);
    if (api->prepare(s->conn, sql, &st) != DuckDBSuccess)
        rc = duck_error(s->err, AK_ERR_CORRUPT, "DuckDB cannot read it", api->prepare_error(st));
    else if (api->pending_prepared_streaming(st, &pend) != DuckDBSuccess)
        rc = duck_error(s->err, AK_ERR_CORRUPT, "DuckDB cannot read it", api->pending_error(pend));
    else if (api->execute_pending(pend, res) != DuckDBSuccess) {
        rc = duck_error(s->err, AK_ERR_CORRUPT, "DuckDB cannot read it", api->result_error(res));
        api->destroy_result(res);
    }
    api->destroy_pending(&pend);
    api->destroy_prepare(&st);
    return rc;
}

static ak_code run(session *s, const char *sql, duckdb_result *res)
{
    ak_code rc = run_query(s, sql, res);
    if (rc == AK_ERR_IO) /* the instance was invalidated */
        s->broken = 1;
    return rc;
}

/* The next chunk, or NULL at the end (*rc says whether the end is an error). */
static duckdb_data_chunk next_chunk(session *s, duckdb_result *res, ak_code *rc)
{
    duckdb_data_chunk c = api->fetch_chunk(*res);
    const char *e;
    *rc = AK_OK;
    if (!c && (e = api->result_error(res)) &&
        (*rc = duck_error(s->err, AK_ERR_CORRUPT, "DuckDB cannot read it", e)) == AK_ERR_IO)
        s->broken = 1;
    return c;
}

static int str_is(const char *s, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(want, s, n) == 0;
}

static void note_column(table_info *info, const char *table, size_t tlen, const char *col,
                        size_t clen, const char *type, size_t ylen)
{
    for (size_t t = 0; t < N_TABLES; t++) {
        if (!str_is(table, tlen, tables[t].table))
            continue;
        info[t].present = 1;
        for (unsigned c = 0; c < N_COLUMNS; c++)
            if (str_is(col, clen, column_name(c)))
                info[t].columns |= 1u << c;
        if (str_is(col, clen, "embedding") && str_is(type, ylen, "FLOAT[384]"))
            info[t].emb_array = 1;
    }
}

typedef ak_code (*column_fn)(void *ctx, const char *table, size_t tlen, const char *col,
                            size_t clen, const char *type, size_t ylen);

/* Every column of the attached file's main schema, through fn. */
static ak_code list_columns(session *s, column_fn fn, void *ctx)
{
    duckdb_result res;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT table_name, column_name, data_type FROM duckdb_columns() "
                              "WHERE database_name = '%s' AND schema_name = 'main'", s->name);
    ak_code rc = run(s, sql, &res), crc = AK_OK;
    if (rc)
        return rc;
    duckdb_data_chunk c;
    while (rc == AK_OK && (c = next_chunk(s, &res, &crc))) {
        const duckdb_string_t *t = api->vector_get_data(api->data_chunk_get_vector(c, 0));
        const duckdb_string_t *col = api->vector_get_data(api->data_chunk_get_vector(c, 1));
        const duckdb_string_t *ty = api->vector_get_data(api->data_chunk_get_vector(c, 2));
        for (idx_t i = 0, n = api->data_chunk_get_size(c); rc == AK_OK && i < n; i++) {
            const char *tp, *cp, *yp;
            size_t tl = str_of(&t[i], &tp), cl = str_of(&col[i], &cp), yl = str_of(&ty[i], &yp);
            rc = fn(ctx, tp, tl, cp, cl, yp, yl);
        }
        api->destroy_data_chunk(&c);
    }
    api->destroy_result(&res);
    return rc ? rc : crc;
}

static ak_code note_column_fn(void *ctx, const char *table, size_t tlen, const char *col,
                              size_t clen, const char *type, size_t ylen)
{
    note_column(ctx, table, tlen, col, clen, type, ylen);
    return AK_OK;
}

static ak_code find_tables(session *s, table_info *info)
{
    memset(info, 0, N_TABLES * sizeof *info);
    return list_columns(s, note_column_fn, info);
}

/* ---- one table ---- */

static int has(const table_info *ti, unsigned c) { return (ti->columns >> c) & 1; }

/* SELECT id, content, embedding, timestamp_us, metadata, rowid, columns
 * FROM table [WHERE rowid IN (the wanted rows)]. */
static ak_code build_select(const char *db, size_t t, const table_info *ti, const int64_t *rowids,
                            size_t n_rowids, ak_buf *b)
{
    ak_buf_printf(b, "SELECT %s, CAST(\"content\" AS VARCHAR), ",
                  has(ti, C_ID) ? "CAST(\"id\" AS VARCHAR)" : "NULL::VARCHAR");
    ak_buf_puts(b, ti->emb_array              ? "\"embedding\", "
                   : has(ti, C_EMBEDDING) ? "TRY_CAST(\"embedding\" AS FLOAT[]), "
                                          : "NULL::FLOAT[], ");
    ak_buf_puts(b, has(ti, C_TIMESTAMP) ? "epoch_us(TRY_CAST(\"timestamp\" AS TIMESTAMP)), "
                                        : "NULL::BIGINT, ");
    /* The row's own metadata, and the columns that patch it (a NULL
     * column removes its key: read_chunk). */
    ak_buf_puts(b, has(ti, C_METADATA) ? "CAST(\"metadata\" AS VARCHAR), " : "NULL::VARCHAR, ");
    ak_buf_printf(b, "rowid, CAST(json_object('type', '%s', 'table', '%s'", tables[t].type,
                  tables[t].table);
    for (unsigned c = 0; c < N_META; c++)
        if (has(ti, c))
            ak_buf_printf(b, ", '%s', \"%s\"", meta_columns[c], meta_columns[c]);
    ak_buf_printf(b, ") AS VARCHAR) FROM \"%s\".main.\"%s\"", db, tables[t].table);
    for (size_t i = 0; i < n_rowids; i++)
        ak_buf_printf(b, "%s%lld", i ? "," : " WHERE rowid IN (", (long long)rowids[i]);
    if (n_rowids)
        ak_buf_putc(b, ')');
    return ak_buf_putc(b, '\0');
}

/* SELECT rowid, id, content FROM table: the first pass. */
static ak_code build_keys(const char *db, size_t t, const table_info *ti, ak_buf *b)
{
    ak_buf_printf(b, "SELECT rowid, %s, CAST(\"content\" AS VARCHAR) FROM \"%s\".main.\"%s\"",
                  has(ti, C_ID) ? "CAST(\"id\" AS VARCHAR)" : "NULL::VARCHAR", db,
                  tables[t].table);
    return ak_buf_putc(b, '\0');
}

/* A row the first pass wants read whole. */
typedef struct {
    int64_t rowid;
    uint64_t row; /* its ordinal in the first pass */
} wanted;

typedef struct {
    ak_duckdb_key_fn key_fn;
    ak_duckdb_settle_fn settle;
    ak_duckdb_row_fn fn;
    void *ctx;
    int emb_array; /* the embedding column is FLOAT[384], else FLOAT[] */
    const char *table;
    uint64_t row;
    wanted *want;  /* by rowid, when there was a first pass */
    size_t n_want, cap_want;
    ak_json_doc *meta_doc, *cols_doc;
    ak_buf meta;   /* the row's merged metadata */
    float emb[AK_DIM];
} reader;

static int by_rowid(const void *a, const void *b)
{
    int64_t x = ((const wanted *)a)->rowid, y = ((const wanted *)b)->rowid;
    return (x > y) - (x < y);
}

static void take_string(duckdb_vector v, idx_t i, const char **p, size_t *n)
{
    const duckdb_string_t *s = api->vector_get_data(v);
    *p = NULL;
    *n = 0;
    if (is_valid(api->vector_get_validity(v), i))
        *n = str_of(&s[i], p);
}

/* The row's embedding into r->emb; a NULL element becomes NaN so the
 * record rules reject it as not finite. */
static void take_embedding(reader *r, duckdb_vector v, idx_t i, ak_record_parts *p)
{
    p->embedding = NULL;
    p->n_embedding = 0;
    if (!is_valid(api->vector_get_validity(v), i))
        return;
    duckdb_list_entry e = {.offset = i * AK_DIM, .length = AK_DIM};
    if (!r->emb_array)
        e = ((const duckdb_list_entry *)api->vector_get_data(v))[i];
    duckdb_vector child = r->emb_array ? api->array_vector_get_child(v) : api->list_vector_get_child(v);
    const float *f = api->vector_get_data(child);
    const uint64_t *valid = api->vector_get_validity(child);
    p->n_embedding = e.length;
    p->embedding = r->emb;
    if (e.length != AK_DIM)
        return;
    if (!valid) {
        p->embedding = f + e.offset; /* no NULL element: used in place */
        return;
    }
    for (idx_t k = 0; k < AK_DIM; k++)
        r->emb[k] = is_valid(valid, e.offset + k) ? f[e.offset + k] : NAN;
}

/* The row's metadata patched with its columns.  A columns object akosha's
 * parser refuses (a NaN score: DuckDB writes NaN) makes the metadata "{",
 * which the record rules refuse: nothing that is not JSON is stored. */
static ak_code take_metadata(reader *r, duckdb_vector meta, duckdb_vector cols, idx_t i,
                             ak_record_parts *p, ak_err *err)
{
    const char *raw, *patch;
    size_t raw_len, patch_len;
    ak_err why;
    take_string(meta, i, &raw, &raw_len);
    take_string(cols, i, &patch, &patch_len);
    ak_buf_reset(&r->meta);
    ak_code rc = ak_json_merge_patch(r->meta_doc, r->cols_doc, raw, raw_len, patch ? patch : "{}",
                                     patch ? patch_len : 2, &r->meta, &why);
    if (rc == AK_ERR_NOMEM)
        return ak_err_set(err, rc, "out of memory");
    p->metadata = rc ? "{" : r->meta.data;
    p->metadata_len = rc ? 1 : r->meta.len;
    return AK_OK;
}

static ak_code read_chunk(reader *r, duckdb_data_chunk c, ak_err *err)
{
    duckdb_vector id = api->data_chunk_get_vector(c, 0), content = api->data_chunk_get_vector(c, 1),
                  emb = api->data_chunk_get_vector(c, 2), ts = api->data_chunk_get_vector(c, 3),
                  meta = api->data_chunk_get_vector(c, 4), cols = api->data_chunk_get_vector(c, 6);
    const int64_t *ts_data = api->vector_get_data(ts);
    const uint64_t *ts_valid = api->vector_get_validity(ts);
    const int64_t *rowids = api->vector_get_data(api->data_chunk_get_vector(c, 5));
    for (idx_t i = 0, n = api->data_chunk_get_size(c); i < n; i++) {
        ak_record_parts p;
        uint64_t row = ++r->row;
        if (r->key_fn) { /* only the wanted rows, under their first-pass ordinal */
            wanted key = {.rowid = rowids[i]};
            const wanted *w = bsearch(&key, r->want, r->n_want, sizeof key, by_rowid);
            if (!w)
                continue;
            row = w->row;
        }
        take_string(id, i, &p.id, &p.id_len);
        take_string(content, i, &p.content, &p.content_len);
        take_embedding(r, emb, i, &p);
        p.has_ts = is_valid(ts_valid, i);
        p.ts_us = p.has_ts ? ts_data[i] : 0;
        ak_code rc = take_metadata(r, meta, cols, i, &p, err);
        if (rc == AK_OK)
            rc = r->fn(r->ctx, r->table, row, &p);
        if (rc)
            return rc;
    }
    return AK_OK;
}

static ak_code want_row(reader *r, int64_t rowid, uint64_t row)
{
    if (r->n_want == r->cap_want) {
        size_t cap = r->cap_want ? 2 * r->cap_want : 1024;
        wanted *grown = realloc(r->want, cap * sizeof *grown);
        if (!grown)
            return AK_ERR_NOMEM;
        r->want = grown;
        r->cap_want = cap;
    }
    r->want[r->n_want++] = (wanted){rowid, row};
    return AK_OK;
}

static ak_code read_keys_chunk(reader *r, duckdb_data_chunk c, ak_err *err)
{
    duckdb_vector id = api->data_chunk_get_vector(c, 1), content = api->data_chunk_get_vector(c, 2);
    const int64_t *rowids = api->vector_get_data(api->data_chunk_get_vector(c, 0));
    for (idx_t i = 0, n = api->data_chunk_get_size(c); i < n; i++) {
        ak_record_parts p = {0};
        int want = 0;
        uint64_t row = ++r->row;
        take_string(id, i, &p.id, &p.id_len);
        take_string(content, i, &p.content, &p.content_len);
        ak_code rc = r->key_fn(r->ctx, r->table, row, &p, &want);
        if (rc == AK_OK && want && want_row(r, rowids[i], row))
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        if (rc)
            return rc;
    }
    return AK_OK;
}

/* Run sql and hand each chunk to the reader (whole rows, or keys). */
static ak_code scan(session *s, const char *sql, reader *r, int keys)
{
    duckdb_result res;
    ak_code rc = run(s, sql, &res), crc = AK_OK;
    if (rc)
        return rc;
    r->row = 0;
    duckdb_data_chunk c;
    while (rc == AK_OK && (c = next_chunk(s, &res, &crc))) {
        rc = keys ? read_keys_chunk(r, c, s->err) : read_chunk(r, c, s->err);
        api->destroy_data_chunk(&c);
    }
    api->destroy_result(&res);
    return rc ? rc : crc;
}

/* After a first pass that wanted every row: keep those settle() wants. */
static ak_code settle_wanted(reader *r)
{
    const unsigned char *bits = NULL;
    ak_code rc = r->settle(r->ctx, r->table, r->row, &bits);
    if (rc)
        return rc;
    size_t kept = 0;
    for (size_t i = 0; i < r->n_want; i++) {
        uint64_t bit = r->want[i].row - 1;
        if (bits && (bits[bit / 8] >> (bit % 8) & 1))
            r->want[kept++] = r->want[i];
    }
    r->n_want = kept;
    return AK_OK;
}

/* At most this many wanted rows are named in the second pass's query;
 * with more, it reads every row and skips the unwanted ones itself. */
#define ROWIDS_IN_QUERY 4096

static ak_code read_table(session *s, size_t t, const table_info *ti, reader *r)
{
    ak_buf sql = {0};
    ak_code rc = AK_OK;
    r->table = tables[t].table;
    r->emb_array = ti->emb_array;
    r->n_want = 0;
    if (r->key_fn) {
        if ((rc = build_keys(s->name, t, ti, &sql)) == AK_OK)
            rc = scan(s, sql.data, r, 1);
        if (rc == AK_OK && r->settle)
            rc = settle_wanted(r);
        ak_buf_reset(&sql);
        if (rc || !r->n_want) {
            ak_buf_free(&sql);
            return rc;
        }
        qsort(r->want, r->n_want, sizeof *r->want, by_rowid);
    }
    int named = r->key_fn && r->n_want <= ROWIDS_IN_QUERY;
    int64_t *ids = named ? malloc(r->n_want * sizeof *ids) : NULL;
    for (size_t i = 0; ids && i < r->n_want; i++)
        ids[i] = r->want[i].rowid;
    if (named && !ids)
        rc = AK_ERR_NOMEM;
    if (rc == AK_OK)
        rc = build_select(s->name, t, ti, ids, named ? r->n_want : 0, &sql);
    free(ids);
    if (rc)
        rc = ak_err_set(s->err, rc, "out of memory");
    else
        rc = scan(s, sql.data, r, 0);
    ak_buf_free(&sql);
    return rc;
}

/* ---- the file ---- */

static ak_code check_header(const char *path, ak_err *err)
{
    unsigned char head[16];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ak_err_set(err, AK_ERR_IO, "cannot open %s", path);
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n < (ssize_t)sizeof head || !ak_duckdb_is_header(head, (size_t)n))
        return ak_err_set(err, AK_ERR_INVALID, "not a DuckDB database (no DuckDB file header)");
    return AK_OK;
}

static ak_code new_instance(instance **out, ak_err *err)
{
    duckdb_config cfg = NULL;
    char *open_err = NULL;
    const char *mem = getenv("AKOSHA_DUCKDB_MEMORY");
    instance *in = calloc(1, sizeof *in);
    if (!in || api->create_config(&cfg) != DuckDBSuccess) {
        free(in);
        return ak_err_set(err, AK_ERR_NOMEM, "DuckDB: cannot create a configuration");
    }
    const char *settings[][2] = {
        {"threads", "1"},
        {"memory_limit", mem && *mem ? mem : AK_DUCKDB_DEFAULT_MEMORY},
        {"autoinstall_known_extensions", "false"},
        {"autoload_known_extensions", "false"},
    };
    ak_code rc = AK_OK;
    for (size_t i = 0; rc == AK_OK && i < sizeof settings / sizeof *settings; i++)
        if (api->set_config(cfg, settings[i][0], settings[i][1]) != DuckDBSuccess)
            rc = ak_err_set(err, AK_ERR_INVALID, "DuckDB: bad setting %s=%s", settings[i][0],
                            settings[i][1]);
    if (rc == AK_OK && api->open_ext(":memory:", &in->db, cfg, &open_err) != DuckDBSuccess)
        rc = duck_error(err, AK_ERR_NOMEM, "DuckDB cannot start", open_err);
    if (open_err)
        api->free(open_err);
    api->destroy_config(&cfg);
    if (rc)
        free(in);
    else
        *out = in;
    return rc;
}

/* A reference to the shared instance, started when there is none. */
static ak_code take_instance(instance **out, ak_err *err)
{
    ak_code rc = AK_OK;
    pthread_mutex_lock(&pool_mu);
    if (!shared)
        rc = new_instance(&shared, err);
    if (rc == AK_OK) {
        shared->refs++;
        *out = shared;
    }
    pthread_mutex_unlock(&pool_mu);
    return rc;
}

static void give_instance(instance *in, int broken)
{
    pthread_mutex_lock(&pool_mu);
    if (broken && shared == in)
        shared = NULL, in->dropped = 1;
    int last = --in->refs == 0 && in->dropped;
    pthread_mutex_unlock(&pool_mu);
    if (last) {
        api->close(&in->db);
        free(in);
    }
}

/* Attach path read-only under a name of its own.  A single quote in the
 * path is doubled for the SQL string. */
static ak_code open_session(session *s, const char *path)
{
    ak_code rc = take_instance(&s->inst, s->err);
    if (rc)
        return rc;
    if (api->connect(s->inst->db, &s->conn) != DuckDBSuccess)
        return ak_err_set(s->err, AK_ERR_NOMEM, "DuckDB: cannot connect");
    snprintf(s->name, sizeof s->name, "ak_upload_%llu",
             (unsigned long long)atomic_fetch_add(&attach_seq, 1));
    ak_buf sql = {0};
    ak_buf_puts(&sql, "ATTACH '");
    for (const char *p = path; *p; p++) {
        if (*p == '\'')
            ak_buf_putc(&sql, '\'');
        ak_buf_putc(&sql, *p);
    }
    ak_buf_printf(&sql, "' AS \"%s\" (READ_ONLY)", s->name);
    if (ak_buf_putc(&sql, '\0'))
        rc = ak_err_set(s->err, AK_ERR_NOMEM, "out of memory");
    duckdb_result res;
    if (rc == AK_OK && (rc = run(s, sql.data, &res)) == AK_OK) {
        s->attached = 1;
        api->destroy_result(&res);
    }
    ak_buf_free(&sql);
    return rc;
}

/* Detach (a failure to is not the upload's: its error stays), disconnect,
 * and let go of the instance. */
static void close_session(session *s)
{
    char sql[64];
    duckdb_result res;
    ak_err scratch, *keep = s->err;
    s->err = &scratch;
    if (s->attached) {
        snprintf(sql, sizeof sql, "DETACH \"%s\"", s->name);
        if (run(s, sql, &res) == AK_OK)
            api->destroy_result(&res);
    }
    s->err = keep;
    if (s->conn)
        api->disconnect(&s->conn);
    if (s->inst)
        give_instance(s->inst, s->broken);
}

/* The first present table of each kind. */
static ak_code read_tables(session *s, const table_info *info, reader *r)
{
    const char *done_type = NULL;
    int any = 0;
    ak_code rc = AK_OK;
    for (size_t t = 0; rc == AK_OK && t < N_TABLES; t++) {
        if (!info[t].present || !has(&info[t], C_CONTENT) ||
            (done_type && strcmp(done_type, tables[t].type) == 0))
            continue;
        done_type = tables[t].type;
        any = 1;
        rc = read_table(s, t, &info[t], r);
    }
    if (rc == AK_OK && !any)
        rc = ak_err_set(s->err, AK_ERR_INVALID,
                        "no memories: none of the tables conversations_v2, conversations, "
                        "reflections_v2, reflections (with a content column)");
    return rc;
}

ak_code ak_duckdb_read_here(const char *path, ak_duckdb_key_fn key_fn,
                            ak_duckdb_settle_fn settle, ak_duckdb_row_fn fn, void *ctx,
                            ak_err *err)
{
    ak_code rc = ak_duckdb_load(err);
    if (rc == AK_OK)
        rc = check_header(path, err);
    if (rc)
        return rc;
    session s = {.err = err};
    table_info info[N_TABLES];
    reader *r = calloc(1, sizeof *r);
    if (!r)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    r->key_fn = key_fn;
    r->settle = settle;
    r->fn = fn;
    r->ctx = ctx;
    r->meta_doc = ak_json_doc_new();
    r->cols_doc = ak_json_doc_new();
    if (!r->meta_doc || !r->cols_doc)
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK && (rc = open_session(&s, path)) == AK_OK &&
        (rc = find_tables(&s, info)) == AK_OK)
        rc = read_tables(&s, info, r);
    close_session(&s);
    ak_json_doc_free(r->meta_doc);
    ak_json_doc_free(r->cols_doc);
    ak_buf_free(&r->meta);
    free(r->want);
    free(r);
    return rc;
}

/* ---- other files, one text column a row ---- */

/* Each row's first column (VARCHAR; NULL rows are skipped) to fn. */
static ak_code read_text_rows(session *s, const char *sql, ak_duckdb_text_fn fn, void *ctx,
                              unsigned query)
{
    duckdb_result res;
    ak_code rc = run(s, sql, &res), crc = AK_OK;
    if (rc)
        return rc;
    duckdb_data_chunk c;
    while (rc == AK_OK && (c = next_chunk(s, &res, &crc))) {
        duckdb_vector v = api->data_chunk_get_vector(c, 0);
        for (idx_t i = 0, n = api->data_chunk_get_size(c); rc == AK_OK && i < n; i++) {
            const char *p;
            size_t len;
            take_string(v, i, &p, &len);
            if (p)
                rc = fn(ctx, query, p, len);
        }
        api->destroy_data_chunk(&c);
    }
    api->destroy_result(&res);
    return rc ? rc : crc;
}

ak_code ak_duckdb_read_text_here(const char *path, const ak_duckdb_text_reader *r, ak_err *err)
{
    ak_code rc = ak_duckdb_load(err);
    if (rc == AK_OK)
        rc = check_header(path, err);
    if (rc)
        return rc;
    session s = {.err = err};
    ak_buf sql = {0};
    if ((rc = open_session(&s, path)) == AK_OK)
        rc = list_columns(&s, r->column, r->ctx);
    for (unsigned q = 0; rc == AK_OK; q++) {
        ak_buf_reset(&sql);
        int more = r->query(r->ctx, s.name, q, &sql);
        if (more < 0 || ak_buf_putc(&sql, '\0'))
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        else if (!more)
            break;
        else
            rc = read_text_rows(&s, sql.data, r->row, r->ctx, q);
    }
    ak_buf_free(&sql);
    close_session(&s);
    return rc;
}
