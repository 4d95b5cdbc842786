/*
 * fuzz_dframe.c - libFuzzer target for ak_dframe_decode(), the parent's
 * decoder of what DuckDB's reader process writes (src/ingest/duckdb_frame.c).
 *
 * The input is a byte stream as the pipe would deliver it; frames are
 * decoded one after another until the stream ends (0), or a frame is
 * malformed (-1).  Invariants:
 *  - a decoded frame lies within the input, and its strings, embedding and
 *    bitmap within the frame;
 *  - encoding a decoded frame gives back exactly the bytes it came from
 *    (the layout is canonical, so decoder and encoder agree);
 *  - every proper prefix of a decoded frame asks for more (0), never a
 *    frame or an error: a frame split across reads decodes the same;
 *  - a refusal is AK_ERR_CORRUPT with a message.
 *
 * Run with scripts/fuzz.sh dframe [seconds].
 */
#include "fuzz_common.h"

#include "ingest/duckdb_frame.h"

static void within(const uint8_t *lo, const uint8_t *hi, const void *p, size_t n, const char *what)
{
    const uint8_t *q = p;
    FUZZ_CHECK(!p || (q >= lo && q + n <= hi), "%s lies outside its frame", what);
}

static void check_frame(const uint8_t *at, size_t used, const ak_dframe *f)
{
    const uint8_t *end = at + used;
    for (int s = 0; s < 4; s++)
        within(at, end, f->str[s].p, f->str[s].n, "a string");
    within(at, end, f->emb, f->emb ? AK_DIM * 4 : 0, "the embedding");
    within(at, end, f->bits, f->bits ? f->num / 8 + (f->num % 8 != 0) : 0, "the bitmap");

    ak_buf b = {0};
    FUZZ_CHECK(ak_dframe_encode(f, &b) == AK_OK, "a decoded %s frame does not encode",
               ak_dframe_name(f->type));
    FUZZ_CHECK(b.len == used && memcmp(b.data, at, used) == 0,
               "a %s frame of %zu bytes encodes to %zu other bytes", ak_dframe_name(f->type),
               used, b.len);
    ak_buf_free(&b);

    if (used <= 4096)
        for (size_t cut = 0; cut < used; cut++) {
            ak_dframe g;
            ak_err e;
            size_t u;
            FUZZ_CHECK(ak_dframe_decode(at, cut, &g, &u, &e) == 0,
                       "a %zu-byte prefix of a %zu-byte frame does not ask for more", cut, used);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        ak_dframe f;
        ak_err e;
        size_t used = 0;
        ak_err_clear(&e);
        int got = ak_dframe_decode(data + off, size - off, &f, &used, &e);
        if (got == 0)
            return 0;
        if (got < 0) {
            FUZZ_CHECK(e.code == AK_ERR_CORRUPT && e.msg[0], "refused without a reason");
            return 0;
        }
        FUZZ_CHECK(got == 1 && used >= 5 && used <= size - off, "used %zu of %zu", used, size - off);
        check_frame(data + off, used, &f);
        off += used;
    }
}
