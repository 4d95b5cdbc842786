/*
 * duckdb_api.h - the few parts of DuckDB's C API (duckdb.h) Akosha uses.
 *
 * libduckdb is loaded at run time (duckdb.c), so its header is not needed
 * to build: these declarations are copied from DuckDB's stable C API, whose
 * types and signatures have not changed since 1.0.  The npm package that
 * ships the library (@duckdb/node-bindings-linux-x64) has no header.
 * Only opaque handles and the layouts Akosha reads are declared.
 */
#ifndef AK_DUCKDB_API_H
#define AK_DUCKDB_API_H

#include <stdint.h>

typedef uint64_t idx_t;
typedef enum { DuckDBSuccess = 0, DuckDBError = 1 } duckdb_state;

typedef struct _duckdb_database { void *internal_ptr; } *duckdb_database;
typedef struct _duckdb_connection { void *internal_ptr; } *duckdb_connection;
typedef struct _duckdb_config { void *internal_ptr; } *duckdb_config;
typedef struct _duckdb_prepared_statement { void *internal_ptr; } *duckdb_prepared_statement;
typedef struct _duckdb_pending_result { void *internal_ptr; } *duckdb_pending_result;
typedef struct _duckdb_data_chunk { void *internal_ptr; } *duckdb_data_chunk;
typedef struct _duckdb_vector { void *internal_ptr; } *duckdb_vector;

/* Passed by value to duckdb_fetch_chunk, so its size must match. */
typedef struct {
    idx_t deprecated_column_count;
    idx_t deprecated_row_count;
    idx_t deprecated_rows_changed;
    void *deprecated_columns;
    char *deprecated_error_message;
    void *internal_data;
} duckdb_result;

/* A VARCHAR value: up to 12 bytes inline, else a pointer. */
typedef struct {
    union {
        struct {
            uint32_t length;
            char prefix[4];
            char *ptr;
        } pointer;
        struct {
            uint32_t length;
            char inlined[12];
        } inlined;
    } value;
} duckdb_string_t;

typedef struct {
    uint64_t offset;
    uint64_t length;
} duckdb_list_entry;

/* The function table duckdb.c fills with dlsym; one member per symbol. */
typedef struct {
    const char *(*library_version)(void);
    duckdb_state (*create_config)(duckdb_config *out);
    duckdb_state (*set_config)(duckdb_config config, const char *name, const char *option);
    void (*destroy_config)(duckdb_config *config);
    duckdb_state (*open_ext)(const char *path, duckdb_database *out, duckdb_config config,
                             char **out_error);
    void (*close)(duckdb_database *db);
    void (*free)(void *ptr);
    duckdb_state (*connect)(duckdb_database db, duckdb_connection *out);
    void (*disconnect)(duckdb_connection *conn);
    duckdb_state (*prepare)(duckdb_connection conn, const char *query,
                            duckdb_prepared_statement *out);
    const char *(*prepare_error)(duckdb_prepared_statement st);
    void (*destroy_prepare)(duckdb_prepared_statement *st);
    duckdb_state (*pending_prepared_streaming)(duckdb_prepared_statement st,
                                               duckdb_pending_result *out);
    const char *(*pending_error)(duckdb_pending_result p);
    duckdb_state (*execute_pending)(duckdb_pending_result p, duckdb_result *out);
    void (*destroy_pending)(duckdb_pending_result *p);
    const char *(*result_error)(duckdb_result *r);
    void (*destroy_result)(duckdb_result *r);
    duckdb_data_chunk (*fetch_chunk)(duckdb_result r);
    idx_t (*data_chunk_get_size)(duckdb_data_chunk c);
    duckdb_vector (*data_chunk_get_vector)(duckdb_data_chunk c, idx_t col);
    void (*destroy_data_chunk)(duckdb_data_chunk *c);
    void *(*vector_get_data)(duckdb_vector v);
    uint64_t *(*vector_get_validity)(duckdb_vector v);
    duckdb_vector (*list_vector_get_child)(duckdb_vector v);
    duckdb_vector (*array_vector_get_child)(duckdb_vector v);
} ak_duckdb_api;

/* The library's functions (duckdb_lib.c): filled in by ak_duckdb_load(),
 * read-only after it succeeded. */
extern ak_duckdb_api ak_duckdb_fn;

/* The loaded library's version ("v1.5.2"), "" before a load. */
const char *ak_duckdb_library_version(void);

#endif
