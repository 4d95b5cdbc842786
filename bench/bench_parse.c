/*
 * bench_parse.c - the parsing ceiling: frame and parse every record of the
 * given payload files (plain .json/.jsonl), with no database, on one thread.
 * Tells how much of ingestion time is parsing and how much is storage.
 *   bench_parse [--scalar] FILE...
 * --scalar: embeddings' numbers a byte at a time, not 32 bytes (jsonnum.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/framer.h"
#include "ingest/payload.h"
#include "ingest/record.h"
#include "util/jsonnum.h"
#include "util/time.h"

typedef struct {
    ak_json_doc *doc;
    long records, bad;
} parse_ctx;

static ak_code on_record(void *arg, const ak_frame *fr)
{
    parse_ctx *c = arg;
    ak_record r;
    ak_rec_problem p;
    if (fr->problem || ak_record_parse(c->doc, fr->text, fr->len, 0, &r, &p, NULL))
        c->bad++;
    c->records++;
    return AK_OK;
}

int main(int argc, char **argv)
{
    parse_ctx c = {.doc = ak_json_doc_new()};
    static char chunk[256 * 1024];
    long bytes = 0;
    int first = argc > 1 && strcmp(argv[1], "--scalar") == 0 ? 2 : 1;
    ak_jnum_use_simd(first == 1);
    int64_t t0 = ak_time_mono_us();
    for (int i = first; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        ak_framer *fr;
        ak_payload_kind kind = ak_payload_kind_of(argv[i], AK_CODEC_NONE, NULL);
        if (!f || kind == AK_PAYLOAD_UNSUPPORTED ||
            ak_framer_new(kind == AK_PAYLOAD_JSON ? AK_FRAME_JSON : AK_FRAME_JSONL,
                          AK_RECORD_TEXT_MAX, on_record, &c, &fr)) {
            fprintf(stderr, "bench_parse: cannot read %s\n", argv[i]);
            return 1;
        }
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            bytes += (long)n;
            ak_framer_feed(fr, chunk, n, NULL);
        }
        ak_framer_finish(fr, NULL);
        ak_framer_free(fr);
        fclose(f);
    }
    double s = (double)(ak_time_mono_us() - t0) / 1e6;
    printf("{\"records\": %ld, \"bad\": %ld, \"seconds\": %.3f, \"records_per_s\": %.0f, "
           "\"mb_per_s\": %.1f}\n", c.records, c.bad, s, c.records / s, bytes / 1e6 / s);
    ak_json_doc_free(c.doc);
    return c.bad ? 1 : 0;
}
