/*
 * test_match.c - the FTS5 query built from a user's words (query/match.c):
 * every word quoted, stop words left out only when another word remains,
 * prefixes on request, FTS syntax never passed through.
 */
#include "query/match.h"
#include "test.h"

static void check_match(const char *text, int prefixes, const char *want)
{
    char *got = ak_match_build(text, prefixes);
    if (!want)
        CHECK(got == NULL);
    else
        CHECK(got && strcmp(got, want) == 0);
    if (got && want && strcmp(got, want))
        fprintf(stderr, "  %s -> %s, expected %s\n", text, got, want);
    free(got);
}

static void test_stop_words_dropped_beside_content(void)
{
    check_match("how did we fix the slow rebase after the merge conflict", 0,
                "\"fix\" OR \"slow\" OR \"rebase\" OR \"merge\" OR \"conflict\"");
    check_match("The Vacuum", 0, "\"Vacuum\"");
}

static void test_only_stop_words_kept(void)
{
    check_match("what is it", 0, "\"what\" OR \"is\" OR \"it\"");
    check_match("THE", 1, "\"THE\" OR \"THE\"*");
}

static void test_prefixes(void)
{
    check_match("postgres vacuum", 1, "\"postgres\" OR \"postgres\"* OR \"vacuum\" OR \"vacuum\"*");
    check_match("ok go", 1, "\"ok\" OR \"go\""); /* under 3 bytes: no prefix */
}

static void test_syntax_is_never_passed(void)
{
    check_match("foo\" OR NEAR(bar* -baz) ^col:x", 0,
                "\"foo\" OR \"NEAR\" OR \"bar\" OR \"baz\" OR \"col\" OR \"x\"");
    check_match("\"* ( ) : ^ -", 0, NULL);
    check_match("", 1, NULL);
    check_match("Grüße naïve", 0, "\"Grüße\" OR \"naïve\"");
}

static void test_terms_capped(void)
{
    char text[64 * 4 + 40] = "";
    for (int i = 0; i < 70; i++)
        strcat(text, "zz ");
    char *got = ak_match_build(text, 0);
    CHECK(got != NULL);
    int terms = 0;
    for (const char *p = got; p && (p = strstr(p, "\"zz\"")); p += 4)
        terms++;
    CHECK_INT(terms, 64);
    free(got);
}

int main(void)
{
    RUN(test_stop_words_dropped_beside_content);
    RUN(test_only_stop_words_kept);
    RUN(test_prefixes);
    RUN(test_syntax_is_never_passed);
    RUN(test_terms_capped);
    return test_report("match");
}
