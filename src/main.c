/*
 * main.c - the akosha binary: dispatch to a subcommand.
 *
 * Akosha aggregates the conversation memories Session-Buddy installations
 * upload to an object-store bucket.  See README.md and docs/ARCHITECTURE.md.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cmd/cmd.h"
#include "ingest/duckdb_child.h"
#include "util/log.h"
#include "version.h"


typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"ingest", ak_cmd_ingest, "ingest new uploads from the bucket (once, or polling)"},
    {"search", ak_cmd_search, "search every system by vector, text or both"},
    {"get", ak_cmd_get, "show one conversation from whichever tier holds it"},
    {"embed", ak_cmd_embed, "embed stored memories that have no vector (--missing)"},
    {"serve", ak_cmd_serve, "run the daemon: HTTP API, poller, aging, metrics"},
    {"mcp", ak_cmd_mcp, "serve the MCP tools (search, status) over stdio"},
    {"age", ak_cmd_age, "move conversations hot -> warm -> cold by age"},
    {"stats", ak_cmd_stats, "count systems, conversations per tier and uploads"},
    {"uploads", ak_cmd_uploads, "list the upload ledger"},
    {"shard", ak_cmd_shard, "print the shard and database path of a system"},
    {"index", ak_cmd_index, "bring the vector index in step with the databases and save it"},
    {"verify", ak_cmd_verify, "check every system database and the cold catalog"},
    {"reingest", ak_cmd_reingest, "rebuild one system's database from its uploads"},
    {"forget", ak_cmd_forget, "remove one system completely and keep it from coming back"},
    {"graph", ak_cmd_graph, "ask the knowledge graph: neighbours, path, find, stats"},
    {"prune-bucket", ak_cmd_prune_bucket, "delete ingested uploads that newer ones make redundant"},
    {"generate", ak_cmd_generate, "write a sample bucket of Session-Buddy uploads"},
    {"trends", ak_cmd_trends, "the trend of a daily metric (analytics)"},
    {"anomalies", ak_cmd_anomalies, "days of a daily metric far from the mean (z-score)"},
    {"correlate", ak_cmd_correlate, "correlations between systems' daily series"},
    {"metrics", ak_cmd_metrics, "the daily metrics kept, with their totals"},
};

/* Searches keep one connection per system database open; let the process
 * use every descriptor its hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void usage(FILE *out)
{
    fprintf(out, "usage: akosha COMMAND [options]   (akosha COMMAND --help for details)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return AK_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return AK_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("akosha %s\n", AKOSHA_VERSION);
        return AK_EXIT_OK;
    }
    if (ak_log_init(AK_LOG_TEXT))
        return AK_EXIT_USAGE;
    if (!strcmp(argv[1], AK_DUCKDB_CHILD_CMD)) /* internal: DuckDB's reader process */
        return ak_duckdb_child_main(argc - 1, argv + 1);
    raise_fd_limit();
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "akosha: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return AK_EXIT_USAGE;
}
