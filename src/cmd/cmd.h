/*
 * cmd.h - the subcommands of the akosha binary, and what they share.
 *
 * Each command is `int ak_cmd_<name>(int argc, char **argv)` (argv[0] is the
 * command name) returning the process exit status: 0 success, 1 failure,
 * 2 bad usage (SPEC section 8).
 */
#ifndef AK_CMD_H
#define AK_CMD_H

#include <stdatomic.h>

#include "embed/embed.h"
#include "storage/datadir.h"
#include "util/buf.h"
#include "util/opts.h"

int ak_cmd_ingest(int argc, char **argv);
int ak_cmd_stats(int argc, char **argv);
int ak_cmd_uploads(int argc, char **argv);
int ak_cmd_shard(int argc, char **argv);
int ak_cmd_generate(int argc, char **argv);
int ak_cmd_search(int argc, char **argv);
int ak_cmd_get(int argc, char **argv);
int ak_cmd_age(int argc, char **argv);
int ak_cmd_serve(int argc, char **argv);
int ak_cmd_mcp(int argc, char **argv);
int ak_cmd_verify(int argc, char **argv);
int ak_cmd_reingest(int argc, char **argv);
int ak_cmd_forget(int argc, char **argv);
int ak_cmd_embed(int argc, char **argv);
int ak_cmd_index(int argc, char **argv);

#define AK_EXIT_OK 0
#define AK_EXIT_FAIL 1
#define AK_EXIT_USAGE 2

/* Parse options; returns -1 to go on, else the exit status to return. */
int ak_cmd_parse(const ak_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos);

/* Open an existing data directory, printing the error; NULL on failure. */
ak_datadir *ak_cmd_open_data(const char *cmd, const char *path);

/* Take the data directory's writers' lock (ak_datadir_lock), printing
 * why not; returns 0 or -1. */
int ak_cmd_lock_data(const char *cmd, ak_datadir *dd, int exclusive);

/* The embedding provider the options and environment configure (NULL when
 * none is), printing why not; returns 0 or -1 (a bad configuration). */
int ak_cmd_open_embed(const char *cmd, ak_embed_config *c, ak_embed **out);

/* Print b to stdout followed by a newline; returns 0 or 1 on write error. */
int ak_cmd_print(const ak_buf *b);

/* SIGINT/SIGTERM: the first sets stop, the second also sets abort. */
extern atomic_int ak_cmd_stop, ak_cmd_abort;
void ak_cmd_trap_signals(void);

/* The option entries every data-reading command takes. */
#define AK_OPT_DATA(dest) \
    {"data", "AKOSHA_DATA_DIR", AK_OPT_STR, dest, "DIR", "data directory (shards and databases)", 0, 0}
#define AK_OPT_JSON(dest) {"json", NULL, AK_OPT_FLAG, dest, NULL, "print JSON", 0, 0}

#endif
