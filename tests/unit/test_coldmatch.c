/* test_coldmatch.c - the cold index's query rewrite (storage/coldmatch.c):
 * words the tokenizer keeps whole are left as they are, a word it cuts
 * becomes the AND of its pieces (the prefix star on the last), and any
 * text at all, garbage included, comes back as a string, never a crash. */
#include "test.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "storage/coldmatch.h"

static sqlite3 *db;

static void expect(const char *in, const char *want)
{
    char *out;
    ak_err err;
    CHECK_INT(ak_coldmatch_rewrite(db, in, &out, &err), AK_OK);
    CHECK_STR(out, want);
    free(out);
}

static void test_rewrite(void)
{
    expect("\"zulu\" OR \"zulu\"*", "\"zulu\" OR \"zulu\"*");
    expect("\"don’t\"", "(\"don\" AND \"t\")");
    expect("\"a—b—c\"* OR \"x\"", "(\"a\" AND \"b\" AND \"c\"*) OR \"x\"");
    expect("\"naïve\"", "\"naïve\"");
    expect("\"—\"", "\"—\"");
    expect("", "");
    expect("\"unterminated", "\"unterminated");

    /* a word of 40 pieces keeps its first 32 (FTS5 would refuse it whole) */
    char in[256] = "\"", want[512] = "(";
    for (int i = 0; i < 40; i++) {
        strcat(in, i ? "-x" : "x");
        if (i < 32)
            strcat(want, i ? " AND \"x\"" : "\"x\"");
    }
    strcat(in, "\"");
    strcat(want, ")");
    expect(in, want);
}

static void test_garbage(void)
{
    unsigned seed = 14;
    char in[64];
    for (int i = 0; i < 2000; i++) {
        size_t n = (size_t)(rand_r(&seed) % (sizeof in - 1));
        for (size_t j = 0; j < n; j++) {
            static const char pick[] = "\"\"*ab ?-\xe2\x80\x94\xc3\xa9\xff";
            in[j] = pick[rand_r(&seed) % (sizeof pick - 1)];
        }
        in[n] = '\0';
        char *out = NULL;
        ak_err err;
        CHECK_INT(ak_coldmatch_rewrite(db, in, &out, &err), AK_OK);
        CHECK(out != NULL);
        free(out);
    }
}

int main(void)
{
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    RUN(test_rewrite);
    RUN(test_garbage);
    sqlite3_close(db);
    return test_report("coldmatch");
}
