/*
 * duckdb_child.h - DuckDB's reader process: the side of duckdb.h that runs
 * DuckDB.
 *
 * `akosha __duckdb-child` (an internal subcommand, started by
 * duckdb_proc.c through /proc/self/exe) reads files one after another:
 * each start frame on stdin (a mode, records | keys | text, and a file)
 * is read with DuckDB's library in this process, what it reads written as
 * frames (duckdb_frame.h) on stdout up to a done or an error frame; its
 * questions are answered on stdin.  Loading the library and starting
 * DuckDB are paid once per child, not per file.  It caps its own address
 * space (RLIMIT_AS: AKOSHA_DUCKDB_MEMORY plus 1 GiB for code, stacks and
 * arenas; not under AddressSanitizer, which needs terabytes of it) and
 * closes every inherited descriptor but 0-2.  Its stdin closing (the
 * parent is done with it, or gone) ends it, status 0.
 *
 * The ..._here functions are the reading itself (duckdb.c), callable only
 * in this process: a crash in them is a crash of the caller.
 */
#ifndef AK_DUCKDB_CHILD_H
#define AK_DUCKDB_CHILD_H

#include "ingest/duckdb.h"

#define AK_DUCKDB_CHILD_CMD "__duckdb-child"

/* The subcommand (argv[0] is AK_DUCKDB_CHILD_CMD). */
int ak_duckdb_child_main(int argc, char **argv);

/* After a first pass in which key_fn wanted every row of table (rows of
 * them): *bits (owned by ctx, valid until the next call) says which to
 * read whole, bit r-1 for row r; NULL: none. */
typedef ak_code (*ak_duckdb_settle_fn)(void *ctx, const char *table, uint64_t rows,
                                       const unsigned char **bits);

/* ak_duckdb_read() / ak_duckdb_read_text() in this process (settle NULL:
 * the rows key_fn wants are read whole). */
ak_code ak_duckdb_read_here(const char *path, ak_duckdb_key_fn key_fn,
                            ak_duckdb_settle_fn settle, ak_duckdb_row_fn fn, void *ctx,
                            ak_err *err);
ak_code ak_duckdb_read_text_here(const char *path, const ak_duckdb_text_reader *r, ak_err *err);

/* The address-space cap for a memory_limit setting ("256MB", "1GiB" ...):
 * the limit plus 1 GiB, or 0 (no cap) when the setting does not parse. */
uint64_t ak_duckdb_child_as_limit(const char *memory_limit);

#endif
