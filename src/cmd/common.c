/* common.c - helpers the subcommands share (see cmd.h). */
#include "cmd/cmd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tier/cold.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/time.h"

atomic_int ak_cmd_stop, ak_cmd_abort;

int ak_cmd_parse(const ak_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos)
{
    int rc = ak_opts_parse(spec, argc, argv, pos, npos);
    const char *fmt = getenv("AKOSHA_LOG_FORMAT");
    if (ak_opts_json_errors() && (!fmt || !*fmt))
        ak_log_init(AK_LOG_JSON);
    if (rc == AK_OPTS_HELP)
        return AK_EXIT_OK;
    if (rc)
        return AK_EXIT_USAGE;
    return -1;
}

int ak_cmd_check_system(const ak_cmd_spec *spec, const char *what, const char *id)
{
    const char *why;
    if (!id || ak_id_system_valid(id, &why))
        return -1;
    return ak_opts_usage_error(spec, "%s: system id \"%.100s\" %s", what, id, why);
}

ak_datadir *ak_cmd_open_data(const char *cmd, const char *path)
{
    ak_datadir *dd;
    ak_err err;
    if (!path || !*path) { /* AK_OPT_DATA made sure of it; a table without it did not */
        ak_opts_error(cmd, AK_EXIT_FAIL, "no data directory given");
        return NULL;
    }
    if (ak_datadir_open(path, 0, 0, &dd, &err)) {
        ak_opts_error(cmd, AK_EXIT_FAIL, "%s", err.msg);
        return NULL;
    }
    return dd;
}

/* A URL the store cannot even parse is the command line's fault. */
static int store_status(const char *cmd, const ak_err *err)
{
    int status = err->code == AK_ERR_INVALID ? AK_EXIT_USAGE : AK_EXIT_FAIL;
    return ak_opts_error(cmd, status, "%s", err->msg);
}

int ak_cmd_open_store(const char *cmd, const char *url, ak_store **out)
{
    ak_err err;
    *out = NULL;
    return ak_store_open(url, out, &err) ? store_status(cmd, &err) : -1;
}

int ak_cmd_open_cold(const char *cmd, const ak_datadir *dd, const char *url, ak_store **out)
{
    ak_err err;
    *out = NULL;
    return ak_cold_open(dd, url, out, &err) ? store_status(cmd, &err) : -1;
}

int ak_cmd_lock_data(const char *cmd, ak_datadir *dd, int exclusive)
{
    ak_err err;
    if (ak_datadir_lock(dd, exclusive, &err) == AK_OK)
        return 0;
    ak_opts_error(cmd, AK_EXIT_FAIL, "%s", err.msg);
    return -1;
}

void ak_cmd_progress_init(ak_cmd_progress *p, const char *label, const char *unit, int quiet)
{
    *p = (ak_cmd_progress){.label = label, .unit = unit};
    p->on = !quiet && !ak_opts_json_errors() && isatty(STDERR_FILENO);
}

void ak_cmd_progress_update(void *ctx, int64_t done, int64_t total)
{
    ak_cmd_progress *p = ctx;
    int64_t now = ak_time_mono_us();
    if (!p->on || (done < total && p->last_us && now - p->last_us < 100000))
        return; /* ten lines a second at most, and always the last */
    p->last_us = now;
    fprintf(stderr, "\r\033[K%s %lld/%lld %s (%lld%%)", p->label, (long long)done,
            (long long)total, p->unit, total > 0 ? (long long)(done * 100 / total) : 100LL);
    fflush(stderr);
}

void ak_cmd_progress_end(ak_cmd_progress *p)
{
    if (p->on && p->last_us)
        fputs("\r\033[K", stderr);
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
        ak_opts_error(cmd, AK_EXIT_USAGE, "%s", err.msg);
        return -1;
    }
    return 0;
}
