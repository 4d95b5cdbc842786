/* test_discover.c - finding systems and uploads in a bucket (both layouts). */
#include "test.h"

#include "ingest/discover.h"

static ak_store *store;

static void put(const char *key)
{
    ak_err err;
    CHECK_INT(ak_store_put(store, key, "x", 1, &err), AK_OK);
}

typedef struct {
    char names[4096];
    int valid, invalid;
} systems_seen;

static ak_code on_system(void *ctx, const char *sid, const char *why)
{
    systems_seen *s = ctx;
    strcat(s->names, sid);
    strcat(s->names, why ? "(bad) " : " ");
    if (why)
        s->invalid++;
    else
        s->valid++;
    return AK_OK;
}

static void test_systems(void)
{
    put("systems/alpha/u1/manifest.json");
    put("systems/beta/uploads/u2/manifest.json");
    put("systems/bad id/u1/manifest.json");
    put("systems/readme.txt"); /* an object, not a system */
    put("other/zeta/u1/manifest.json");
    systems_seen s = {0};
    ak_err err;
    CHECK_INT(ak_discover_systems(store, on_system, &s, &err), AK_OK);
    CHECK_STR(s.names, "alpha bad id(bad) beta ");
    CHECK_INT(s.valid, 2);
    CHECK_INT(s.invalid, 1);
}

static void test_both_layouts(void)
{
    put("systems/gamma/u1/manifest.json");
    put("systems/gamma/u1/memories.json");
    put("systems/gamma/uploads/u2/manifest.json");
    put("systems/gamma/uploads/u2/part-1.jsonl.gz");
    put("systems/gamma/uploads/u2/part-2.jsonl.gz");
    put("systems/gamma/u3/memories.json");          /* no manifest: not an upload yet */
    put("systems/gamma/u4/deeper/manifest.json");   /* neither layout */
    put("systems/gamma/uploads/manifest.json");     /* layout 1 with upload id "uploads" */
    ak_upload_list l;
    ak_err err;
    CHECK_INT(ak_discover_uploads(store, "gamma", &l, &err), AK_OK);
    CHECK_INT(l.n, 3);
    CHECK_STR(l.ups[0].upload_id, "u1");
    CHECK_STR(l.ups[0].prefix, "systems/gamma/u1/");
    CHECK_INT(ak_upload_file_size(&l.ups[0], "memories.json"), 1);
    CHECK_INT(ak_upload_file_size(&l.ups[0], "nope.json"), -1);
    CHECK_STR(l.ups[1].upload_id, "u2");
    CHECK_STR(l.ups[1].prefix, "systems/gamma/uploads/u2/");
    CHECK_INT(l.ups[1].n_files, 3);
    CHECK_STR(l.ups[2].upload_id, "uploads");
    CHECK_INT(l.n_problems, 0);
    ak_upload_list_free(&l);
}

static void test_duplicate_and_bad_ids(void)
{
    put("systems/delta/u1/manifest.json");
    put("systems/delta/uploads/u1/manifest.json");
    put("systems/delta/bad id/manifest.json");
    put("systems/delta/a..b/manifest.json");
    put("systems/delta/bad id2/memories.json"); /* no manifest: not reported */
    ak_upload_list l;
    ak_err err;
    CHECK_INT(ak_discover_uploads(store, "delta", &l, &err), AK_OK);
    CHECK_INT(l.n, 1);
    CHECK_STR(l.ups[0].prefix, "systems/delta/u1/"); /* layout 1 wins */
    CHECK_INT(l.n_problems, 3);
    char all[2048] = "";
    for (size_t i = 0; i < l.n_problems; i++)
        strcat(all, l.problems[i]);
    CHECK_HAS(all, "also present at systems/delta/u1/");
    CHECK_HAS(all, "upload id contains a space");
    CHECK_HAS(all, "upload id contains '..'");
    ak_upload_list_free(&l);
}

/* More keys than one listing page (1000): nothing lost across pages. */
static void test_many_pages(void)
{
    char key[128];
    for (int i = 0; i < 1500; i++) {
        snprintf(key, sizeof key, "systems/epsilon/up%04d/manifest.json", i);
        put(key);
    }
    ak_upload_list l;
    ak_err err;
    CHECK_INT(ak_discover_uploads(store, "epsilon", &l, &err), AK_OK);
    CHECK_INT(l.n, 1500);
    CHECK_STR(l.ups[1499].upload_id, "up1499");
    ak_upload_list_free(&l);
}

static void test_empty_system(void)
{
    ak_upload_list l;
    ak_err err;
    CHECK_INT(ak_discover_uploads(store, "nobody", &l, &err), AK_OK);
    CHECK_INT(l.n, 0);
    ak_upload_list_free(&l);
}

int main(void)
{
    ak_err err;
    if (ak_store_open(test_tmpdir(), &store, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    RUN(test_systems);
    RUN(test_both_layouts);
    RUN(test_duplicate_and_bad_ids);
    RUN(test_many_pages);
    RUN(test_empty_system);
    ak_store_close(store);
    return test_report("discover");
}
