/*
 * cmd.h - the subcommands of the akosha binary, and what they share.
 *
 * Each command is `int ak_cmd_<name>(int argc, char **argv)` (argv[0] is the
 * command name) returning the process exit status.  The convention every
 * command follows (README "Command line"; tests/integration/test_cli.sh
 * holds each command to it):
 *
 * - Exit 0 success; AK_EXIT_FAIL (1) the work failed or found problems;
 *   AK_EXIT_USAGE (2) the command line is wrong: a required option
 *   missing, an unknown option, a malformed or out-of-range value, a bad
 *   id.  Check the whole command line (ak_cmd_parse, then
 *   ak_opts_usage_error / ak_cmd_check_system) before opening anything.
 * - Options live in an ak_opt table: a required string is
 *   AK_OPT_STR_REQUIRED (AK_OPT_DATA is one), numbers carry their range,
 *   so errors name it ("--limit must be an integer from 1 to 1000").
 * - Errors go to stderr through ak_opts_error / ak_opts_usage_error only:
 *   a sentence, or under --json one JSON object per line
 *   ({"error", "command", "exit"[, "usage"]}), and log events as JSON
 *   lines too unless AKOSHA_LOG_FORMAT says text.  stdout carries results
 *   only, so a failed command prints no partial table or header.
 * - Long work shows progress with totals on stderr when it is a terminal,
 *   never under --json (ak_cmd_progress).
 */
#ifndef AK_CMD_H
#define AK_CMD_H

#include <stdatomic.h>
#include <stdint.h>

#include "embed/embed.h"
#include "objstore/objstore.h"
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
int ak_cmd_prune_bucket(int argc, char **argv);
int ak_cmd_embed(int argc, char **argv);
int ak_cmd_graph(int argc, char **argv);
int ak_cmd_trends(int argc, char **argv);
int ak_cmd_anomalies(int argc, char **argv);
int ak_cmd_correlate(int argc, char **argv);
int ak_cmd_metrics(int argc, char **argv);
int ak_cmd_index(int argc, char **argv);

#define AK_EXIT_OK 0
#define AK_EXIT_FAIL 1
#define AK_EXIT_USAGE 2

/* Parse options; returns -1 to go on, else the exit status to return.
 * Under --json, switches errors (and logs, unless AKOSHA_LOG_FORMAT is
 * set) to JSON lines. */
int ak_cmd_parse(const ak_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos);

/* A system id given on the command line (what: "--system", "SYSTEM_ID";
 * id may be NULL: not given).  Returns -1 to go on, else AK_EXIT_USAGE
 * after saying why it is invalid. */
int ak_cmd_check_system(const ak_cmd_spec *spec, const char *what, const char *id);

/* Progress of long work, "\r<label> 12/256 <unit> (4%)" on stderr, drawn
 * only when stderr is a terminal and not under --json (ak_cmd_progress_on).
 * ak_cmd_progress_update has the shape of the lower layers' progress
 * callbacks (util/progress.h); ak_cmd_progress_end clears the line. */
typedef struct {
    const char *label, *unit;
    int on;
    int64_t last_us;
} ak_cmd_progress;
void ak_cmd_progress_init(ak_cmd_progress *p, const char *label, const char *unit, int quiet);
void ak_cmd_progress_update(void *p, int64_t done, int64_t total);
void ak_cmd_progress_end(ak_cmd_progress *p);

/* Open an existing data directory, printing the error; NULL on failure. */
ak_datadir *ak_cmd_open_data(const char *cmd, const char *path);

/* Open the store at url (ak_store_open) or the cold store of dd
 * (ak_cold_open: url NULL is file://DATA/cold).  Return -1 to go on, else
 * the exit status after printing why: 2 for a URL that cannot be
 * understood, 1 for a store that cannot be reached. */
int ak_cmd_open_store(const char *cmd, const char *url, ak_store **out);
int ak_cmd_open_cold(const char *cmd, const ak_datadir *dd, const char *url, ak_store **out);

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
    {"data", "AKOSHA_DATA_DIR", AK_OPT_STR_REQUIRED, dest, "DIR", "data directory (shards and databases)", 0, 0}
#define AK_OPT_JSON(dest) {"json", NULL, AK_OPT_FLAG, dest, NULL, "print JSON", 0, 0}

#endif
