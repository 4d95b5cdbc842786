/* test_strlist.c - util/strlist: copies owned by the list, growth past the
 * first allocation, sorting and the sorted lookup. */
#include "util/strlist.h"
#include "test.h"

#include <stdio.h>

static void test_add_copies_and_grows(void)
{
    ak_strlist l = {0};
    ak_err err;
    char s[16];
    for (int i = 99; i >= 0; i--) {
        snprintf(s, sizeof s, "k%02d", i);
        CHECK_INT(ak_strlist_add(&l, s, &err), AK_OK);
    }
    s[0] = 'x'; /* the list holds copies */
    CHECK_INT((int)l.n, 100);
    CHECK_STR(l.v[0], "k99");
    CHECK_INT(ak_strlist_add(&l, NULL, &err), AK_OK);
    CHECK_STR(l.v[100], "");
    ak_strlist_sort(&l);
    CHECK_STR(l.v[0], "");
    CHECK_STR(l.v[1], "k00");
    CHECK_STR(l.v[100], "k99");
    CHECK(ak_strlist_sorted_has(&l, "k42"));
    CHECK(!ak_strlist_sorted_has(&l, "k420"));
    ak_strlist_free(&l);
    CHECK_INT((int)l.n, 0);
    CHECK(!l.v);
}

static void test_empty(void)
{
    ak_strlist l = {0};
    ak_strlist_sort(&l);
    CHECK(!ak_strlist_sorted_has(&l, "a"));
    ak_strlist_free(&l);
}

int main(void)
{
    RUN(test_add_copies_and_grows);
    RUN(test_empty);
    return test_report("strlist");
}
