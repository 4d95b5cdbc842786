/* opts.c - see opts.h. */
#include "util/opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jsonw.h"

static int g_json; /* errors as JSON lines */

int ak_opts_json_errors(void) { return g_json; }

/* One error on stderr with one write; usage (may be NULL) names the
 * command's synopsis. */
static int report(const char *command, int status, const char *usage, const char *fmt,
                  va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    ak_buf b = {0};
    if (g_json) {
        ak_jw w;
        ak_jw_init(&w, &b);
        ak_jw_obj(&w);
        ak_jw_kstr(&w, "error", msg);
        ak_jw_kstr(&w, "command", command);
        ak_jw_kint(&w, "exit", status);
        if (usage) {
            char line[1024];
            snprintf(line, sizeof line, "akosha %s %s", command, usage);
            ak_jw_kstr(&w, "usage", line);
        }
        ak_jw_end(&w);
    } else {
        ak_buf_printf(&b, "akosha %s: %s", command, msg);
        if (usage)
            ak_buf_printf(&b, "\nusage: akosha %s %s\n(see akosha %s --help)", command, usage,
                          command);
    }
    ak_buf_putc(&b, '\n');
    if (b.data)
        fwrite(b.data, 1, b.len, stderr);
    else
        fprintf(stderr, "akosha %s: %s\n", command, msg); /* out of memory */
    ak_buf_free(&b);
    return status;
}

int ak_opts_usage_error(const ak_cmd_spec *spec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(spec->command, AK_OPTS_USAGE, spec->usage, fmt, ap);
    va_end(ap);
    return AK_OPTS_USAGE;
}

int ak_opts_error(const char *command, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(command, status, NULL, fmt, ap);
    va_end(ap);
    return status;
}

static void print_help(const ak_cmd_spec *spec)
{
    printf("usage: akosha %s %s\n\n%s\n\noptions:\n", spec->command, spec->usage, spec->summary);
    for (int i = 0; i < spec->n_opts; i++) {
        const ak_opt *o = &spec->opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        printf("  %-26s %s%s", left, o->help, o->type == AK_OPT_STR_REQUIRED ? " (required)" : "");
        if (o->env)
            printf(" [env %s]", o->env);
        printf("\n");
    }
    printf("  %-26s %s\n", "--help", "show this help");
}

static const ak_opt *find(const ak_cmd_spec *spec, const char *name, size_t len)
{
    for (int i = 0; i < spec->n_opts; i++)
        if (strlen(spec->opts[i].name) == len && memcmp(spec->opts[i].name, name, len) == 0)
            return &spec->opts[i];
    return NULL;
}

static int in_range(const ak_opt *o, double v) { return o->min == o->max || (v >= o->min && v <= o->max); }

/* A bound as a person writes it: 1000000, not 1e+06. */
static void bound(char *out, size_t n, double v)
{
    if (v == (double)(long long)v && v > -1e18 && v < 1e18)
        snprintf(out, n, "%lld", (long long)v);
    else
        snprintf(out, n, "%g", v);
}

/* "--limit must be an integer from 1 to 1000, not 'x'" */
static int bad_number(const ak_cmd_spec *spec, const ak_opt *o, const char *source, const char *val)
{
    const char *what = o->type == AK_OPT_INT ? "an integer" : "a number";
    if (o->min == o->max)
        return ak_opts_usage_error(spec, "%s must be %s, not '%s'", source, what, val);
    char lo[32], hi[32];
    bound(lo, sizeof lo, o->min);
    bound(hi, sizeof hi, o->max);
    return ak_opts_usage_error(spec, "%s must be %s from %s to %s, not '%s'", source, what, lo,
                               hi, val);
}

/* 1 for a true flag value, 0 for a false one, -1 for neither. */
static int flag_value(const char *val)
{
    static const char *const on[] = {"1", "true", "yes", "on"}, *const off[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof on / sizeof *on; i++)
        if (!strcmp(val, on[i]))
            return 1;
    for (size_t i = 0; i < sizeof off / sizeof *off; i++)
        if (!strcmp(val, off[i]))
            return 0;
    return -1;
}

/* Store a value; source names where it came from, for messages. */
static int assign(const ak_cmd_spec *spec, const ak_opt *o, const char *val, const char *source)
{
    char *end;
    switch (o->type) {
    case AK_OPT_FLAG: {
        int on = flag_value(val);
        if (on < 0)
            return ak_opts_usage_error(spec, "%s must be true or false, not '%s'", source, val);
        *(int *)o->dest = on;
        return AK_OPTS_OK;
    }
    case AK_OPT_STR:
    case AK_OPT_STR_REQUIRED:
        *(const char **)o->dest = val;
        return AK_OPTS_OK;
    case AK_OPT_INT: {
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (errno || end == val || *end || !in_range(o, (double)v))
            return bad_number(spec, o, source, val);
        *(long long *)o->dest = v;
        return AK_OPTS_OK;
    }
    case AK_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(val, &end);
        if (errno || end == val || *end || v != v || !in_range(o, v))
            return bad_number(spec, o, source, val);
        *(double *)o->dest = v;
        return AK_OPTS_OK;
    }
    }
    return AK_OPTS_USAGE;
}

static int apply_env(const ak_cmd_spec *spec)
{
    for (int i = 0; i < spec->n_opts; i++) {
        const ak_opt *o = &spec->opts[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (v && *v) {
            int rc = assign(spec, o, v, o->env);
            if (rc)
                return rc;
        }
    }
    return AK_OPTS_OK;
}

/* A command given --json reports even its usage errors as JSON: look for
 * the flag before anything can go wrong. */
static void json_from_argv(const ak_cmd_spec *spec, int argc, char **argv)
{
    const ak_opt *o = find(spec, "json", 4);
    if (!o || o->type != AK_OPT_FLAG)
        return;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            g_json = 1;
        else if (!strncmp(argv[i], "--json=", 7))
            g_json = flag_value(argv[i] + 7) == 1;
}

/* Every AK_OPT_STR_REQUIRED given, by flag or variable. */
static int check_required(const ak_cmd_spec *spec)
{
    for (int i = 0; i < spec->n_opts; i++) {
        const ak_opt *o = &spec->opts[i];
        const char *v = o->type == AK_OPT_STR_REQUIRED ? *(const char **)o->dest : "set";
        if (v && *v)
            continue;
        const char *mv = o->metavar ? o->metavar : "VALUE";
        if (o->env)
            return ak_opts_usage_error(spec, "--%s %s (or %s) is required", o->name, mv, o->env);
        return ak_opts_usage_error(spec, "--%s %s is required", o->name, mv);
    }
    return AK_OPTS_OK;
}

int ak_opts_parse(const ak_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos)
{
    json_from_argv(spec, argc, argv);
    int rc = apply_env(spec);
    if (rc)
        return rc;
    /* Positional arguments are compacted to the front of argv + 1. */
    int np = 0;
    char **positional = argv + 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(spec);
            return AK_OPTS_HELP;
        }
        if (!strcmp(a, "--")) {
            while (++i < argc)
                positional[np++] = argv[i];
            break;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            positional[np++] = argv[i];
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        const ak_opt *o = find(spec, name, eq ? (size_t)(eq - name) : strlen(name));
        if (!o)
            return ak_opts_usage_error(spec, "unknown option %s", a);
        char source[80];
        snprintf(source, sizeof source, "--%s", o->name);
        if (o->type == AK_OPT_FLAG && !eq) {
            *(int *)o->dest = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc)
                return ak_opts_usage_error(spec, "%s needs a value (%s)", a, o->metavar ? o->metavar : "value");
            val = argv[++i];
        }
        if ((rc = assign(spec, o, val, source)))
            return rc;
    }
    if (np < spec->min_pos || np > spec->max_pos)
        return ak_opts_usage_error(spec, np < spec->min_pos ? "missing argument" : "unexpected argument '%s'",
                                   np > spec->max_pos ? positional[spec->max_pos] : "");
    if ((rc = check_required(spec)))
        return rc;
    *pos = positional;
    *npos = np;
    return AK_OPTS_OK;
}
