/*
 * cmd_generate.c - `akosha generate`: write a sample bucket (see gen/sample.h).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "gen/sample.h"
#include "util/compress.h"
#include "util/jsonw.h"
#include "util/time.h"

static int pick(const char *val, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(val, names[i]))
            return i;
    return -2;
}

static void summary_json(ak_buf *b, const ak_gen_summary *s)
{
    ak_jw w;
    ak_jw_init(&w, b);
    ak_jw_obj(&w);
    ak_jw_kint(&w, "systems", s->systems);
    ak_jw_kint(&w, "uploads", s->uploads);
    ak_jw_kint(&w, "records", s->records);
    ak_jw_kint(&w, "expect_new", s->expect_new);
    ak_jw_kint(&w, "expect_updated", s->expect_updated);
    ak_jw_kint(&w, "expect_duplicates", s->expect_duplicates);
    ak_jw_kint(&w, "records_with_embedding", s->records_with_embedding);
    ak_jw_kint(&w, "payload_bytes", s->payload_bytes);
    ak_jw_end(&w);
}

int ak_cmd_generate(int argc, char **argv)
{
    ak_gen_config c;
    ak_gen_defaults(&c);
    long long systems = c.systems, uploads = c.uploads, convs = c.conversations,
              growth = c.growth, seed = (long long)c.seed, span = c.span_days;
    const char *out = NULL, *now = NULL, *format = "mixed", *compression = "mixed";
    int json = 0;
    const ak_opt opts[] = {
        {"out", NULL, AK_OPT_STR_REQUIRED, &out, "DIR", "bucket directory to write", 0, 0},
        {"systems", NULL, AK_OPT_INT, &systems, "N", "systems (default 8)", 1, 100000},
        {"uploads", NULL, AK_OPT_INT, &uploads, "N", "uploads per system (default 3)", 1, 10000},
        {"conversations", NULL, AK_OPT_INT, &convs, "N", "conversations in a system's first upload (default 50)", 0, 1000000},
        {"growth", NULL, AK_OPT_INT, &growth, "N", "new conversations per later upload (default 10)", 0, 1000000},
        {"edits", NULL, AK_OPT_DOUBLE, &c.edit_fraction, "F", "share of repeated conversations edited per upload (default 0.05)", 0, 1},
        {"seed", NULL, AK_OPT_INT, &seed, "N", "random seed (default 42)", 0, 9e15},
        {"now", NULL, AK_OPT_STR, &now, "ISO", "date the newest upload just before this time (default: now)", 0, 0},
        {"span-days", NULL, AK_OPT_INT, &span, "N", "conversation timestamps reach this many days back (default 120)", 0, 3650},
        {"format", NULL, AK_OPT_STR, &format, "F", "json, jsonl, ndjson or mixed (default)", 0, 0},
        {"compression", NULL, AK_OPT_STR, &compression, "C", "none, gzip, zstd, lz4 or mixed (default)", 0, 0},
        {"prefix", NULL, AK_OPT_STR, &c.system_prefix, "P", "system id prefix (default sys)", 0, 0},
        AK_OPT_JSON(&json),
    };
    const ak_cmd_spec spec = {"generate", "--out DIR [--systems N] [--uploads N] [--conversations N] [--json]",
                              "Write a bucket of realistic Session-Buddy snapshot uploads, and say what ingesting it must produce.",
                              opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    static const char *const formats[] = {"json", "jsonl", "ndjson", "mixed"};
    static const char *const codecs[] = {"none", "gzip", "zstd", "lz4", "mixed"};
    c.format = pick(format, formats, 4);
    c.codec = pick(compression, codecs, 5);
    if (c.format < -1)
        return ak_opts_usage_error(&spec, "--format must be json, jsonl, ndjson or mixed, not '%s'", format);
    if (c.codec < -1)
        return ak_opts_usage_error(&spec, "--compression must be none, gzip, zstd, lz4 or mixed, not '%s'", compression);
    if (c.format == 3) c.format = -1;
    if (c.codec == 4) c.codec = -1;
    if (now && !ak_time_parse(now, strlen(now), &c.now_us))
        return ak_opts_usage_error(&spec, "--now must be an ISO-8601 time");
    c.out_dir = out;
    c.systems = (unsigned)systems;
    c.uploads = (unsigned)uploads;
    c.conversations = (unsigned)convs;
    c.growth = (unsigned)growth;
    c.seed = (uint64_t)seed;
    c.span_days = (unsigned)span;
    ak_gen_summary s;
    ak_err err;
    if (ak_gen_bucket(&c, &s, &err)) {
        ak_opts_error("generate", AK_EXIT_FAIL, "%s", err.msg);
        return AK_EXIT_FAIL;
    }
    ak_buf b = {0};
    if (json)
        summary_json(&b, &s);
    else
        ak_buf_printf(&b, "wrote %lld uploads of %lld systems (%lld records, %.1f MB) to %s",
                      (long long)s.uploads, (long long)s.systems, (long long)s.records,
                      (double)s.payload_bytes / 1e6, out);
    rc = ak_cmd_print(&b);
    ak_buf_free(&b);
    return rc;
}
