/*
 * duckdb.h - read the memories in Session-Buddy's reflection.duckdb through
 * DuckDB's own C library, loaded at run time.
 *
 * The library (libduckdb.so) is not linked: `akosha` builds and runs
 * without it, and loads it on first need from
 *   $AKOSHA_LIBDUCKDB                      when set (only there), else
 *   AK_DUCKDB_DEFAULT_PATH                 where `scripts/deps.sh duckdb`
 *                                          installs the npm package
 *                                          @duckdb/node-bindings-linux-x64,
 *   libduckdb.so                           the dynamic linker's search path.
 * A missing library is AK_ERR_NOTFOUND with how to install it: the upload
 * is failed and retried, never rejected.
 *
 * What is read (SPEC section 11): conversations_v2, else conversations;
 * reflections_v2, else reflections.  One record per row: id, content,
 * embedding (NULL: text only), timestamp, and a metadata object holding
 * the row's own metadata JSON merged with its other columns (type =
 * "conversation" | "reflection", table, category, project, namespace,
 * session_id, importance_score, tags ...); columns a file lacks (older
 * Session-Buddy versions added them later) are left out.  Other tables are
 * ignored.
 *
 * Where: ak_duckdb_read() and ak_duckdb_read_text() (duckdb_proc.c) run
 * the reading in a child process (duckdb_child.h) and call the callbacks
 * here, in the caller's thread, from the frames it sends; a crash of
 * DuckDB is that child's.  Resources, in the child: one in-memory DuckDB
 * instance with one thread, memory_limit $AKOSHA_DUCKDB_MEMORY (default
 * 256MB), no extension loading, the file attached read-only, rows streamed
 * a chunk at a time, an address-space cap.  How each end of the child maps
 * to an error: duckdb_proc.c.
 */
#ifndef AK_DUCKDB_H
#define AK_DUCKDB_H

#include <stdint.h>

#include "ingest/record.h"
#include "util/buf.h"
#include "util/err.h"

#define AK_DUCKDB_DEFAULT_PATH \
    "/usr/local/lib/akosha/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so"

/* DuckDB's memory_limit when AKOSHA_DUCKDB_MEMORY is not set. */
#define AK_DUCKDB_DEFAULT_MEMORY "256MB"

/* Load the library if it is not loaded yet (thread-safe; a failed load is
 * tried again next time, so installing it needs no restart). */
ak_code ak_duckdb_load(ak_err *err);

/* Whether the library is there, without loading it (akosha itself never
 * reads a DuckDB file, its reader processes do; loading the 70 MB library
 * costs ~15 MiB and ~50 ms of CPU): the file named by AKOSHA_LIBDUCKDB or
 * at AK_DUCKDB_DEFAULT_PATH opens and is an ELF file.  Only when neither
 * is set up is it loaded, the linker's search path being dlopen's to
 * search.  AK_ERR_NOTFOUND as ak_duckdb_load().  A file that is there but
 * does not load is the reader's AK_ERR_NOTFOUND, with the same advice. */
ak_code ak_duckdb_installed(ak_err *err);


/* 1 when the first bytes of a file (at least 16) are a DuckDB header. */
int ak_duckdb_is_header(const void *head, size_t len);

/* One row: which table, its ordinal there (1-based), its values.  A
 * non-AK_OK return stops the read and is returned as is. */
typedef ak_code (*ak_duckdb_row_fn)(void *ctx, const char *table, uint64_t row,
                                    const ak_record_parts *parts);

/* Read every memory in the DuckDB database file at path.  Errors:
 * AK_ERR_INVALID  not a DuckDB file, or none of the four tables;
 * AK_ERR_CORRUPT  DuckDB cannot read it (damaged, truncated);
 * AK_ERR_NOTFOUND the library is missing, or too old for the file's
 *                 storage version (a newer library will read it);
 * AK_ERR_CORRUPT  also: the reader process crashed, sent a malformed frame
 *                 or ended without an answer;
 * AK_ERR_IO       the reader process was killed (SIGKILL) or could not start;
 * or the callback's code. */
/* With key_fn, each table is read twice: first only each row's id (NULL
 * when the row has none) and content, given to key_fn, which sets *want to
 * have the row read whole (then fn gets it) or leaves it 0 (the caller has
 * dealt with it: a duplicate, whose embedding and metadata need not be
 * decoded); then the wanted rows, whole.  Row ordinals are the first
 * pass's.  key_fn NULL: every row read whole, once. */
typedef ak_code (*ak_duckdb_key_fn)(void *ctx, const char *table, uint64_t row,
                                    const ak_record_parts *key, int *want);

ak_code ak_duckdb_read(const char *path, ak_duckdb_key_fn key_fn, ak_duckdb_row_fn fn,
                       void *ctx, ak_err *err);

/* Any other DuckDB file (knowledge_graph.duckdb: graph/graph_duckdb.c),
 * read as text.  First column(ctx, ...) for every column of its main
 * schema (names are not NUL-terminated), then for q = 0, 1, ...
 * query(ctx, catalog, q, sql) writes into sql (not NUL-terminated) a
 * SELECT of one VARCHAR column over "<catalog>".main.<table>, returning 1,
 * or 0 when there are no more (-1: out of memory); each row's text goes to
 * row(ctx, q, text, len).  The SQL must name only what the caller knows,
 * never names read from the file.  Errors as ak_duckdb_read, or a
 * callback's code. */
typedef struct {
    ak_code (*column)(void *ctx, const char *table, size_t tlen, const char *col, size_t clen,
                      const char *type, size_t ylen);
    int (*query)(void *ctx, const char *catalog, unsigned q, ak_buf *sql);
    ak_code (*row)(void *ctx, unsigned q, const char *text, size_t len);
    void *ctx;
} ak_duckdb_text_reader;

typedef ak_code (*ak_duckdb_text_fn)(void *ctx, unsigned q, const char *text, size_t len);

ak_code ak_duckdb_read_text(const char *path, const ak_duckdb_text_reader *r, ak_err *err);

#endif
