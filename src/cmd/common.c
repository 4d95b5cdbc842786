/* common.c - helpers the subcommands share (see cmd.h). */
#include "cmd/cmd.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

atomic_int ak_cmd_stop, ak_cmd_abort;

int ak_cmd_parse(const ak_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos)
{
    int rc = ak_opts_parse(spec, argc, argv, pos, npos);
    if (rc == AK_OPTS_HELP)
        return AK_EXIT_OK;
    if (rc)
        return AK_EXIT_USAGE;
    return -1;
}

ak_datadir *ak_cmd_open_data(const char *cmd, const char *path)
{
    if (!path || !*path) {
        fprintf(stderr, "akosha %s: --data DIR (or AKOSHA_DATA_DIR) is required\n", cmd);
        return NULL;
    }
    ak_datadir *dd;
    ak_err err;
    if (ak_datadir_open(path, 0, 0, &dd, &err)) {
        fprintf(stderr, "akosha %s: %s\n", cmd, err.msg);
        return NULL;
    }
    return dd;
}

int ak_cmd_lock_data(const char *cmd, ak_datadir *dd, int exclusive)
{
    ak_err err;
    if (ak_datadir_lock(dd, exclusive, &err) == AK_OK)
        return 0;
    fprintf(stderr, "akosha %s: %s\n", cmd, err.msg);
    return -1;
}

int ak_cmd_print(const ak_buf *b)
{
    if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
        return AK_EXIT_FAIL;
    if (putchar('\n') == EOF || fflush(stdout) != 0)
        return AK_EXIT_FAIL;
    return AK_EXIT_OK;
}

static void on_signal(int sig)
{
    (void)sig;
    if (atomic_exchange(&ak_cmd_stop, 1))
        atomic_store(&ak_cmd_abort, 1);
}

void ak_cmd_trap_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int ak_cmd_open_embed(const char *cmd, ak_embed_config *c, ak_embed **out)
{
    ak_err err;
    ak_embed_config_resolve(c);
    if (ak_embed_new(c, out, &err)) {
        fprintf(stderr, "akosha %s: %s\n", cmd, err.msg);
        return -1;
    }
    return 0;
}
