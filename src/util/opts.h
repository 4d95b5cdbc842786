/*
 * opts.h - command-line options with environment-variable fallbacks.
 *
 * Each subcommand describes its options in a table; ak_opts_parse() fills
 * the destinations from the environment first and the command line second
 * (a flag beats its variable), checks ranges, collects positional arguments
 * and writes --help from the same table, so help can never drift from what
 * is accepted.  Accepted forms: --name VALUE, --name=VALUE, --flag.
 *
 * Errors go to stderr: a sentence "akosha CMD: ..." or, once JSON errors
 * are on (a command given --json: ak_opts_parse turns them on when the
 * table has a "json" flag and the command line sets it), one JSON object
 * per line, {"error": sentence, "command": CMD, "exit": status}.
 */
#ifndef AK_OPTS_H
#define AK_OPTS_H

/* AK_OPT_STR_REQUIRED: a string that must be given, by flag or variable
 * (missing: a usage error naming both). */
typedef enum { AK_OPT_FLAG, AK_OPT_STR, AK_OPT_INT, AK_OPT_DOUBLE, AK_OPT_STR_REQUIRED } ak_opt_type;

typedef struct {
    const char *name;    /* "data" for --data */
    const char *env;     /* "AKOSHA_DATA_DIR", or NULL */
    ak_opt_type type;
    void *dest;          /* int* (FLAG), const char** (STR*), long long* (INT), double* (DOUBLE) */
    const char *metavar; /* "DIR" */
    const char *help;
    double min, max;     /* INT and DOUBLE: accepted range (min == max: any) */
} ak_opt;

typedef struct {
    const char *command; /* "ingest" */
    const char *usage;   /* "--bucket URL --data DIR [--once]" */
    const char *summary; /* one sentence */
    const ak_opt *opts;
    int n_opts;
    int min_pos, max_pos; /* positional arguments allowed */
} ak_cmd_spec;

#define AK_OPTS_OK 0
#define AK_OPTS_HELP (-1) /* help was printed: exit 0 */
#define AK_OPTS_USAGE 2   /* message printed: exit 2 */

/* On success *pos points into argv at the positional arguments. */
int ak_opts_parse(const ak_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos);

/* Report a usage problem the table cannot express; returns AK_OPTS_USAGE. */
int ak_opts_usage_error(const ak_cmd_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Report an error of `command` that ends it with exit status `status`
 * (text or JSON, as above); returns status. */
int ak_opts_error(const char *command, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether errors are JSON (ak_opts_parse decides). */
int ak_opts_json_errors(void);

#endif
