/* opts.c - see opts.h. */
#include "util/opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ak_opts_usage_error(const ak_cmd_spec *spec, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "akosha %s: ", spec->command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: akosha %s %s\n(see akosha %s --help)\n", spec->command,
            spec->usage, spec->command);
    return AK_OPTS_USAGE;
}

static void print_help(const ak_cmd_spec *spec)
{
    printf("usage: akosha %s %s\n\n%s\n\noptions:\n", spec->command, spec->usage, spec->summary);
    for (int i = 0; i < spec->n_opts; i++) {
        const ak_opt *o = &spec->opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        printf("  %-26s %s", left, o->help);
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

/* Store a value; source names where it came from, for messages. */
static int assign(const ak_cmd_spec *spec, const ak_opt *o, const char *val, const char *source)
{
    char *end;
    switch (o->type) {
    case AK_OPT_FLAG: {
        int on = !strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "on");
        int off = !strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "off") || !*val;
        if (!on && !off)
            return ak_opts_usage_error(spec, "%s must be true or false, not '%s'", source, val);
        *(int *)o->dest = on;
        return AK_OPTS_OK;
    }
    case AK_OPT_STR:
        *(const char **)o->dest = val;
        return AK_OPTS_OK;
    case AK_OPT_INT: {
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (errno || end == val || *end || !in_range(o, (double)v))
            return ak_opts_usage_error(spec, "%s must be an integer from %.0f to %.0f, not '%s'",
                                       source, o->min, o->max, val);
        *(long long *)o->dest = v;
        return AK_OPTS_OK;
    }
    case AK_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(val, &end);
        if (errno || end == val || *end || v != v || !in_range(o, v))
            return ak_opts_usage_error(spec, "%s must be a number from %g to %g, not '%s'",
                                       source, o->min, o->max, val);
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

int ak_opts_parse(const ak_cmd_spec *spec, int argc, char **argv, char ***pos, int *npos)
{
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
    *pos = positional;
    *npos = np;
    return AK_OPTS_OK;
}
