/* test_duckdb_frame.c - ingest/duckdb_frame: every frame type survives an
 * encode/decode round trip, byte for byte; every prefix of a frame asks
 * for more; garbage of each kind is refused with a reason (the decoder
 * reads another process's output).  Also the child's address-space cap. */
#include "ingest/duckdb_child.h"
#include "ingest/duckdb_frame.h"
#include "test.h"

#include "util/record.h"

static float emb[AK_DIM];
static const unsigned char bits[2] = {0xa5, 0x03};

/* One frame of every type, fields filled. */
static ak_dframe sample(int i)
{
    ak_dframe f = {0};
    switch (i) {
    case 0: f.type = AK_DF_COLUMN; f.str[0] = (ak_dfstr){"conversations_v2", 16};
            f.str[1] = (ak_dfstr){"id", 2}; f.str[2] = (ak_dfstr){"VARCHAR", 7}; break;
    case 1: f.type = AK_DF_QUERY; f.num = 1; f.str[0] = (ak_dfstr){"ak_upload_0", 11}; break;
    case 2: f.type = AK_DF_TEXT; f.num = 0; f.str[0] = (ak_dfstr){"", 0}; break;
    case 3: f.type = AK_DF_KEY; f.num = 7; f.str[0] = (ak_dfstr){"reflections", 11};
            f.str[2] = (ak_dfstr){"hello", 5}; break; /* no id */
    case 4: f.type = AK_DF_SETTLE; f.num = 10; f.str[0] = (ak_dfstr){"t", 1}; break;
    case 5: f.type = AK_DF_RECORD; f.num = 3; f.str[0] = (ak_dfstr){"t", 1};
            f.str[1] = (ak_dfstr){"id-3", 4}; f.str[2] = (ak_dfstr){"text", 4};
            f.str[3] = (ak_dfstr){"{}", 2}; f.has_ts = 1; f.ts_us = -5; f.has_emb = 1;
            f.n_emb = AK_DIM; f.emb = (const unsigned char *)emb; break;
    case 6: f.type = AK_DF_RECORD; f.num = 4; f.str[0] = (ak_dfstr){"t", 1};
            f.has_emb = 1; f.n_emb = 3; break; /* a wrong length: sent, no floats */
    case 7: f.type = AK_DF_ERROR; f.num = AK_ERR_CORRUPT; f.str[0] = (ak_dfstr){"bad", 3}; break;
    case 8: f.type = AK_DF_DONE; break;
    case 9: f.type = AK_DF_SQL; f.str[0] = (ak_dfstr){"SELECT 1", 8}; break;
    case 10: f.type = AK_DF_SQL; break; /* no more */
    case 11: f.type = AK_DF_START; f.str[0] = (ak_dfstr){"keys", 4};
             f.str[1] = (ak_dfstr){"/data/tmp/spool-x", 17}; break;
    default: f.type = AK_DF_WANT; f.num = 10; f.bits = bits; break;
    }
    return f;
}
#define N_SAMPLES 13

static int same_str(ak_dfstr a, ak_dfstr b)
{
    return (a.p == NULL) == (b.p == NULL) && a.n == b.n && (!a.n || !memcmp(a.p, b.p, a.n));
}

static void test_round_trip(void)
{
    for (int k = 0; k < AK_DIM; k++)
        emb[k] = (float)k / 7.0f;
    for (int i = 0; i < N_SAMPLES; i++) {
        ak_dframe f = sample(i), g;
        ak_buf b = {0}, again = {0};
        ak_err e;
        size_t used = 0;
        CHECK_INT(ak_dframe_encode(&f, &b), AK_OK);
        CHECK_INT(ak_dframe_decode(b.data, b.len, &g, &used, &e), 1);
        CHECK_INT(used, b.len);
        CHECK_INT(g.type, f.type);
        CHECK(g.num == f.num && g.has_ts == f.has_ts && g.ts_us == f.ts_us);
        CHECK(g.has_emb == f.has_emb && g.n_emb == f.n_emb);
        CHECK((g.emb == NULL) == (f.emb == NULL));
        if (f.emb)
            CHECK(memcmp(g.emb, emb, sizeof emb) == 0);
        for (int s = 0; s < 4; s++)
            CHECK(same_str(f.str[s], g.str[s]));
        CHECK_INT(ak_dframe_encode(&g, &again), AK_OK);
        CHECK(again.len == b.len && !memcmp(again.data, b.data, b.len));
        for (size_t cut = 0; cut < b.len; cut++) /* every prefix: more, please */
            CHECK_INT(ak_dframe_decode(b.data, cut, &g, &used, &e), 0);
        ak_buf_free(&b);
        ak_buf_free(&again);
    }
}

/* Decode raw bytes; expect a refusal whose message has want. */
static void refused(const void *p, size_t n, const char *want)
{
    ak_dframe f;
    ak_err e;
    size_t used;
    ak_err_clear(&e);
    CHECK_INT(ak_dframe_decode(p, n, &f, &used, &e), -1);
    CHECK_INT(e.code, AK_ERR_CORRUPT);
    CHECK_HAS(e.msg, want);
}

static void test_garbage(void)
{
    refused("\0\0\0\0", 4, "a body of 0 bytes");
    refused("\xff\xff\xff\x7f", 4, "1 to");
    refused("\x01\0\0\0Z", 5, "unknown type 0x5a");
    refused("\x02\0\0\0Dx", 6, "bytes after its last field");
    refused("\x02\0\0\0S\x02", 6, "presence byte");
    refused("\x06\0\0\0S\x01\x09\0\0\0", 10, "a string runs past the frame");
    refused("\x03\0\0\0S\x01\x09", 7, "a string's length is cut off");
    refused("\x05\0\0\0Quuuu", 9, "a number is cut off");
    /* a bitmap of 3 bits with bit 5 set */
    refused("\x0a\0\0\0B\x03\0\0\0\0\0\0\0\x20", 14, "bits past the bitmap's length");
    refused("\x0a\0\0\0B\x11\0\0\0\0\0\0\0\x20", 14, "the bitmap runs past the frame");
    /* a record whose 384-float embedding is cut off */
    ak_dframe f = sample(5);
    ak_buf b = {0};
    CHECK_INT(ak_dframe_encode(&f, &b), AK_OK);
    b.data[0] = (char)(b.data[0] - 4); /* the body ends 4 bytes early */
    refused(b.data, b.len - 4, "the embedding is cut off");
    ak_buf_free(&b);
}

static void test_encode_refuses(void)
{
    ak_dframe f = {.type = 'Z'};
    ak_buf b = {0};
    CHECK_INT(ak_dframe_encode(&f, &b), AK_ERR_INVALID);
    CHECK_INT(b.len, 0);
    CHECK_STR(ak_dframe_name('Z'), "unknown");
    CHECK_STR(ak_dframe_name(AK_DF_RECORD), "record");
    ak_buf_free(&b);
}

/* Two frames back to back: the first is decoded alone, then the second. */
static void test_stream(void)
{
    ak_buf b = {0};
    ak_dframe f = sample(3), g;
    ak_err e;
    size_t used;
    CHECK_INT(ak_dframe_encode(&f, &b), AK_OK);
    size_t first = b.len;
    f = sample(8);
    CHECK_INT(ak_dframe_encode(&f, &b), AK_OK);
    CHECK_INT(ak_dframe_decode(b.data, b.len, &g, &used, &e), 1);
    CHECK_INT(used, first);
    CHECK_INT(g.type, AK_DF_KEY);
    CHECK_INT(ak_dframe_decode(b.data + used, b.len - used, &g, &used, &e), 1);
    CHECK_INT(g.type, AK_DF_DONE);
    ak_buf_free(&b);
}

static void test_as_limit(void)
{
    const unsigned long long gib = 1ull << 30;
    CHECK(ak_duckdb_child_as_limit("256MB") == 256000000ull + gib);
    CHECK(ak_duckdb_child_as_limit("1GiB") == 2 * gib);
    CHECK(ak_duckdb_child_as_limit("512 mib") == 512ull * 1048576 + gib);
    CHECK(ak_duckdb_child_as_limit("2GB") == 2000000000ull + gib);
    CHECK(ak_duckdb_child_as_limit("80%") == 0);         /* not a size: no cap */
    CHECK(ak_duckdb_child_as_limit("lots") == 0);
    CHECK(ak_duckdb_child_as_limit("99999999999999TB") == 0); /* overflow */
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_garbage);
    RUN(test_encode_refuses);
    RUN(test_stream);
    RUN(test_as_limit);
    return test_report("duckdb_frame");
}
