/* test_summary.c - the sentence splitter, the TextRank summarizer and the
 * MinHash fingerprint. */
#include "test.h"

#include <math.h>

#include "tier/minhash.h"
#include "tier/summary.h"
#include "util/json.h"

typedef struct {
    char out[4096];
    int n;
} split_out;

static void on_sentence(void *ctx, const char *s, size_t len)
{
    split_out *o = ctx;
    size_t used = strlen(o->out);
    snprintf(o->out + used, sizeof o->out - used, "[%.*s]", (int)len, s);
    o->n++;
}

static void check_split(const char *text, const char *want)
{
    split_out o = {"", 0};
    ak_split_sentences(text, strlen(text), on_sentence, &o);
    CHECK_STR(o.out, want);
}

static void test_split_tricky_text(void)
{
    check_split("Dr. Smith arrived at 3.14 p.m. on Jan. 5. He said e.g. the U.S. team shipped "
                "v2.3.1 from https://example.com/a.b.html and it worked! Did it? Yes.",
                "[Dr. Smith arrived at 3.14 p.m. on Jan. 5.][He said e.g. the U.S. team shipped "
                "v2.3.1 from https://example.com/a.b.html and it worked!][Did it?][Yes.]");
    check_split("See file.txt. Then run make.", "[See file.txt.][Then run make.]");
    check_split("Costs rose 2.5x. Next quarter.", "[Costs rose 2.5x.][Next quarter.]");
    check_split("J. R. R. Tolkien wrote it. Fine.", "[J. R. R. Tolkien wrote it.][Fine.]");
    check_split("no terminal punctuation", "[no terminal punctuation]");
    check_split("Wait... What happened?", "[Wait...][What happened?]");
    check_split("He said \"stop.\" Then left.", "[He said \"stop.\"][Then left.]");
}

static void test_split_code_and_lists(void)
{
    check_split("Run this:\n```\nmake test. ./run.sh\nfoo. Bar.\n```\nIt passed. Good.",
                "[Run this:][It passed.][Good.]");
    check_split("Steps:\n- build it\n- test it\n\nDone now.",
                "[Steps:][- build it][- test it][Done now.]");
    check_split("Unterminated fence:\n```\ncode. Code.", "[Unterminated fence:]");
}

static char *summarize(const char *text, int n)
{
    char *out = NULL;
    ak_err err;
    CHECK_INT(ak_summarize(text, strlen(text), n, &out, &err), AK_OK);
    return out;
}

/* Sentences that share the document's theme are central; off-topic ones
 * are not.  The chosen ones come back in their original order. */
static void test_central_sentences_win(void)
{
    const char *doc =
        "The weather was pleasant on Tuesday. "
        "The database index on the orders table was slow. "
        "We rebuilt the orders index and the database query got fast. "
        "My cat likes sleeping near the window. "
        "The slow query used the orders table without the index. "
        "Lunch was a sandwich. "
        "After the index rebuild the database served the orders query quickly.";
    char *s = summarize(doc, 3);
    CHECK(strstr(s, "weather") == NULL);
    CHECK(strstr(s, "cat") == NULL);
    CHECK(strstr(s, "sandwich") == NULL);
    /* three whole sentences of the document, in the document's order */
    split_out o = {"", 0};
    ak_split_sentences(s, strlen(s), on_sentence, &o);
    CHECK_INT(o.n, 3);
    const char *at = doc;
    for (char *p = strtok(o.out, "[]"); p; p = strtok(NULL, "[]")) {
        const char *found = strstr(at, p);
        CHECK(found != NULL);
        at = found ? found + strlen(p) : at;
    }
    free(s);
    s = summarize(doc, 1);
    CHECK(strstr(s, "index") != NULL);
    CHECK(strchr(s, '.') == s + strlen(s) - 1); /* exactly one sentence */
    free(s);
}

static void test_short_and_odd_texts(void)
{
    char *s = summarize("Only one sentence here.", 3);
    CHECK_STR(s, "Only one sentence here.");
    free(s);
    s = summarize("First. Second one. Third!", 3);
    CHECK_STR(s, "First. Second one. Third!");
    free(s);
    s = summarize("```\nint main(void) { return 0; }\n```", 3);
    CHECK(strlen(s) > 0);
    free(s);
    s = summarize("   \n\n  ", 3);
    CHECK(s != NULL);
    free(s);
}

static void test_long_sentence_cut_on_a_character(void)
{
    char text[3000];
    size_t n = 0;
    while (n < sizeof text - 8) {
        memcpy(text + n, "\xC3\xA9t\xC3\xA9 ", 6); /* "été " */
        n += 6;
    }
    text[n] = '\0';
    char *s = summarize(text, 1);
    CHECK(strlen(s) <= AK_SUMMARY_MAX_SENTENCE_BYTES + 3);
    CHECK(ak_utf8_valid(s, strlen(s)));
    CHECK_HAS(s, "\xE2\x80\xA6");
    free(s);
}

static void test_huge_text_is_bounded(void)
{
    size_t cap = 1024 * 1024, n = 0;
    char *text = malloc(cap + 64);
    for (int i = 0; n < cap; i++)
        n += (size_t)sprintf(text + n, "Sentence number %d talks about topic %d. ", i, i % 17);
    char *s = summarize(text, 3);
    CHECK(strlen(s) > 20);
    free(s);
    free(text);
}

/* ---- MinHash ---- */

static void words_text(char *out, int from, int to)
{
    out[0] = '\0';
    for (int i = from; i < to; i++)
        sprintf(out + strlen(out), "w%d ", i);
}

static double exact_jaccard(int a0, int a1, int b0, int b1)
{
    /* shingles of 3 consecutive words: [i, i+2] for i in [x0, x1-3] */
    int na = a1 - a0 - 2, nb = b1 - b0 - 2;
    int lo = a0 > b0 ? a0 : b0, hi = (a1 < b1 ? a1 : b1) - 2;
    int shared = hi > lo ? hi - lo : 0;
    return (double)shared / (na + nb - shared);
}

static void test_minhash_estimates_jaccard(void)
{
    static char a[8192], b[8192];
    uint32_t sa[AK_MINHASH_SLOTS], sb[AK_MINHASH_SLOTS];
    double worst = 0, sum = 0;
    int pairs = 0;
    for (int shift = 0; shift <= 200; shift += 20) {
        words_text(a, 0, 200);
        words_text(b, shift, 200 + shift);
        ak_minhash(a, strlen(a), sa);
        ak_minhash(b, strlen(b), sb);
        double est = ak_minhash_similarity(sa, sb), exact = exact_jaccard(0, 200, shift, 200 + shift);
        double e = fabs(est - exact);
        worst = e > worst ? e : worst;
        sum += e;
        pairs++;
        CHECK(e < 0.15);
    }
    printf("minhash: mean |estimate - exact Jaccard| %.3f, worst %.3f over %d pairs\n",
           sum / pairs, worst, pairs);
    CHECK(sum / pairs < 0.05);
}

static void test_minhash_properties(void)
{
    uint32_t x[AK_MINHASH_SLOTS], y[AK_MINHASH_SLOTS];
    const char *t = "The quick brown fox jumps over the lazy dog";
    ak_minhash(t, strlen(t), x);
    ak_minhash("THE QUICK BROWN fox, jumps over -- the lazy dog!", 48, y);
    CHECK(ak_minhash_similarity(x, y) == 1.0); /* case and punctuation do not matter */
    ak_minhash("completely different words entirely here", 41, y);
    CHECK(ak_minhash_similarity(x, y) < 0.1);
    ak_minhash("two words", 9, x); /* shorter than a shingle: still a fingerprint */
    ak_minhash("two words", 9, y);
    CHECK(ak_minhash_similarity(x, y) == 1.0);
    CHECK(x[0] != UINT32_MAX);
    ak_minhash("", 0, x);
    CHECK(x[5] == UINT32_MAX);
    uint8_t bytes[AK_MINHASH_BYTES], v1[AK_MINHASH_BYTES_V1], back[AK_MINHASH_BYTES];
    ak_minhash("abc def ghi", 11, y);
    ak_minhash_bytes(y, bytes); /* b-bit: the low 4 bits of each slot, two a byte */
    CHECK_INT(AK_MINHASH_BYTES, 64);
    CHECK_INT(bytes[0], (y[0] & 0xf) | (y[1] & 0xf) << 4);
    CHECK_INT(bytes[63], (y[126] & 0xf) | (y[127] & 0xf) << 4);
    /* the 512-byte form written before (little-endian slots) reads as the same */
    for (int i = 0; i < AK_MINHASH_SLOTS; i++)
        for (int b = 0; b < 4; b++)
            v1[4 * i + b] = (uint8_t)(y[i] >> (8 * b));
    CHECK(ak_minhash_stored(v1, sizeof v1, back));
    CHECK(memcmp(back, bytes, sizeof bytes) == 0);
    CHECK(ak_minhash_stored(bytes, sizeof bytes, back));
    CHECK(memcmp(back, bytes, sizeof bytes) == 0);
    CHECK(!ak_minhash_stored(bytes, 100, back));
    CHECK(!ak_minhash_stored(NULL, 0, back));
}

/* The stored fingerprints estimate Jaccard as the full signatures do. */
static void test_minhash_bbit(void)
{
    static char a[8192], b[8192];
    uint32_t sa[AK_MINHASH_SLOTS], sb[AK_MINHASH_SLOTS];
    uint8_t ba[AK_MINHASH_BYTES], bb[AK_MINHASH_BYTES];
    double sum = 0;
    int pairs = 0;
    for (int shift = 0; shift <= 200; shift += 20) {
        words_text(a, 0, 200);
        words_text(b, shift, 200 + shift);
        ak_minhash(a, strlen(a), sa);
        ak_minhash(b, strlen(b), sb);
        ak_minhash_bytes(sa, ba);
        ak_minhash_bytes(sb, bb);
        double e = fabs(ak_minhash_bytes_similarity(ba, bb) - exact_jaccard(0, 200, shift, 200 + shift));
        CHECK(e < 0.15);
        sum += e;
        pairs++;
    }
    printf("b-bit minhash: mean |estimate - exact Jaccard| %.3f over %d pairs\n", sum / pairs, pairs);
    CHECK(sum / pairs < 0.05);
    CHECK(ak_minhash_bytes_similarity(ba, ba) == 1.0);
}

int main(void)
{
    RUN(test_split_tricky_text);
    RUN(test_split_code_and_lists);
    RUN(test_central_sentences_win);
    RUN(test_short_and_odd_texts);
    RUN(test_long_sentence_cut_on_a_character);
    RUN(test_huge_text_is_bounded);
    RUN(test_minhash_estimates_jaccard);
    RUN(test_minhash_properties);
    RUN(test_minhash_bbit);
    return test_report("summary");
}
