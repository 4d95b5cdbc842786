/*
 * test_graph.c - the knowledge graph (graph/graph.c, graph_item.c,
 * graph_intake.c, graph_query.c).
 *
 *  - one entity named by two systems is one node, its observations merged;
 *  - the same (system, id) again is a duplicate, changed an update, older
 *    a stale one, never a second row; a renamed entity moves its node;
 *  - relations resolve through each system's own ids (and a name), count
 *    only once both ends exist, and a path crosses systems;
 *  - neighbours by type, both directions; self-loops and cycles; the path
 *    bound (max_hops) and the visited cap's clear error;
 *  - forgetting a system removes only what only it contributed;
 *  - every item rule refuses its garbage with the field's name; the push
 *    form becomes the line form, and an item pushed and snapshotted is
 *    one content (a duplicate, not an update, each time it comes again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "graph/graph.h"
#include "ingest/graph_intake.h"
#include "graph/graph_item.h"
#include "graph/graph_query.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/jsonw.h"

static ak_graph *g;
static ak_json_doc *doc;

static ak_graph_tally put_lines(const char *system, const char *lines)
{
    ak_graph_tally t;
    ak_err err;
    memset(&t, 0, sizeof t);
    CHECK_OK(ak_graph_begin(g, &err), err);
    for (const char *p = lines; *p;) {
        size_t n = strcspn(p, "\n");
        CHECK_OK(ak_graph_apply_line(g, doc, p, n, system, "test", &t, &err), err);
        p += n + (p[n] == '\n');
    }
    CHECK_OK(ak_graph_commit(g, &err), err);
    return t;
}

#define ENT(id, name, type, obs) \
    "{\"kind\":\"entity\",\"id\":\"" id "\",\"name\":\"" name "\",\"entity_type\":\"" type \
    "\",\"observations\":" obs "}\n"
#define REL(id, from, to, type) \
    "{\"kind\":\"relation\",\"id\":\"" id "\",\"from_entity\":\"" from "\",\"to_entity\":\"" \
    to "\",\"relation_type\":\"" type "\"}\n"

/* The JSON a query wrote, into a static buffer. */
static char *answer(ak_code (*q)(ak_buf *, ak_err *), ak_code want)
{
    static ak_buf b;
    ak_err err;
    ak_buf_reset(&b);
    ak_code rc = q(&b, &err);
    CHECK_INT(rc, want);
    if (rc != AK_OK)
        ak_buf_printf(&b, "ERROR %s", err.msg);
    ak_buf_putc(&b, '\0');
    return b.data;
}

static const char *q_entity, *q_type, *q_to;
static int q_limit = 50, q_hops = 3;
static int64_t q_cap;

static ak_code q_neighbours(ak_buf *b, ak_err *err)
{
    ak_jw w;
    ak_jw_init(&w, b);
    return ak_graph_neighbours(g, q_entity, q_type, q_limit, &w, err);
}

static ak_code q_path(ak_buf *b, ak_err *err)
{
    ak_jw w;
    ak_jw_init(&w, b);
    return ak_graph_path_find(g, q_entity, q_to, q_hops, q_cap, &w, err);
}

static ak_code q_find(ak_buf *b, ak_err *err)
{
    ak_jw w;
    ak_jw_init(&w, b);
    return ak_graph_find(g, q_entity, q_type, q_limit, &w, err);
}

static ak_code q_stats(ak_buf *b, ak_err *err)
{
    ak_jw w;
    ak_jw_init(&w, b);
    return ak_graph_stats(g, &w, err);
}

static void test_merge_and_exactly_once(void)
{
    ak_graph_tally t = put_lines("alpha.local", ENT("a1", "akosha", "project", "[\"written in C\"]")
                                 ENT("a2", "alice", "person", "[]")
                                 REL("r1", "a2", "a1", "works_on"));
    CHECK_INT(t.entities[AK_GPUT_NEW], 2);
    CHECK_INT(t.relations[AK_GPUT_NEW], 1);
    t = put_lines("beta.local", ENT("b1", "akosha", "project", "[\"aggregates memories\",\"written in C\"]")
                  ENT("b2", "sqlite", "library", "null")
                  REL("r1", "b1", "sqlite", "uses")); /* "sqlite": a name, resolved */
    CHECK_INT(t.entities[AK_GPUT_NEW], 2);
    q_entity = "project:akosha";
    q_type = NULL;
    char *a = answer(q_neighbours, AK_OK);
    CHECK_HAS(a, "\"observations\":[\"written in C\",\"aggregates memories\"]");
    CHECK_HAS(a, "\"system\":\"alpha.local\",\"original_id\":\"a1\"");
    CHECK_HAS(a, "\"system\":\"beta.local\",\"original_id\":\"b1\"");
    CHECK_HAS(a, "\"entity_id\":\"library:sqlite\",\"name\":\"sqlite\",\"entity_type\":\"library\","
                 "\"edge_type\":\"uses\",\"direction\":\"out\",\"systems\":[\"beta.local\"]");
    CHECK_HAS(a, "\"entity_id\":\"person:alice\"");
    CHECK_HAS(a, "\"direction\":\"in\"");
    CHECK_HAS(a, "\"total_neighbors\":2");
    q_type = "uses";
    a = answer(q_neighbours, AK_OK);
    CHECK_HAS(a, "\"total_neighbors\":1");
    q_type = NULL;
    /* the same snapshot again: duplicates; one edit: an update; older: stale */
    t = put_lines("beta.local", ENT("b1", "akosha", "project", "[\"aggregates memories\",\"written in C\"]")
                  REL("r1", "b1", "sqlite", "uses"));
    CHECK_INT(t.entities[AK_GPUT_DUPLICATE], 1);
    CHECK_INT(t.relations[AK_GPUT_DUPLICATE], 1);
    t = put_lines("beta.local", "{\"kind\":\"entity\",\"id\":\"b2\",\"name\":\"sqlite\","
                  "\"entity_type\":\"library\",\"observations\":[\"embedded\"],"
                  "\"updated_at\":\"2025-02-01T00:00:00Z\"}\n");
    CHECK_INT(t.entities[AK_GPUT_UPDATED], 1);
    t = put_lines("beta.local", "{\"kind\":\"entity\",\"id\":\"b2\",\"name\":\"sqlite\","
                  "\"entity_type\":\"library\",\"observations\":[\"old\"],"
                  "\"updated_at\":\"2025-01-01T00:00:00Z\"}\n");
    CHECK_INT(t.entities[AK_GPUT_STALE], 1);
    a = answer(q_stats, AK_OK);
    CHECK_HAS(a, "\"total_entities\":3");
    CHECK_HAS(a, "\"total_edges\":2");
    CHECK_HAS(a, "\"entity_sources\":4");
    CHECK_HAS(a, "\"merged_entities\":1");
    CHECK_HAS(a, "\"dangling_relations\":0");
}

static void test_paths(void)
{
    /* alice -works_on-> akosha (alpha); akosha -uses-> sqlite (beta): a
     * path across systems through the merged node */
    q_entity = "person:alice";
    q_to = "sqlite"; /* a bare unique name */
    q_hops = 3;
    q_cap = 0;
    char *a = answer(q_path, AK_OK);
    CHECK_HAS(a, "\"path_found\":true");
    CHECK_HAS(a, "\"path\":[\"person:alice\",\"project:akosha\",\"library:sqlite\"],\"hops\":2");
    CHECK_HAS(a, "\"system\":\"alpha.local\"");
    CHECK_HAS(a, "\"system\":\"beta.local\"");
    q_hops = 1;
    a = answer(q_path, AK_OK);
    CHECK_HAS(a, "\"path_found\":false");
    /* backwards: relations are followed either way */
    q_entity = "library:sqlite";
    q_to = "person:alice";
    q_hops = 2;
    a = answer(q_path, AK_OK);
    CHECK_HAS(a, "\"hops\":2");
    CHECK_HAS(a, "\"direction\":\"in\"");
    /* a cycle and a self-loop do not loop the search */
    put_lines("gamma.local", ENT("c1", "x", "n", "[]") ENT("c2", "y", "n", "[]")
              ENT("c3", "z", "n", "[]") REL("s", "c1", "c1", "self") REL("k1", "c1", "c2", "next")
              REL("k2", "c2", "c1", "next") REL("k3", "c2", "c3", "next"));
    q_entity = "n:x";
    q_to = "n:z";
    q_hops = 5;
    a = answer(q_path, AK_OK);
    CHECK_HAS(a, "\"path\":[\"n:x\",\"n:y\",\"n:z\"]");
    q_to = "project:akosha"; /* not connected */
    a = answer(q_path, AK_OK);
    CHECK_HAS(a, "\"path_found\":false");
    CHECK_HAS(a, "\"visited\":4"); /* x, y, z from one end; akosha from the other */
    q_entity = "n:x";
    a = answer(q_neighbours, AK_OK);
    CHECK_HAS(a, "\"entity_id\":\"n:x\",\"name\":\"x\",\"entity_type\":\"n\",\"edge_type\":\"self\",\"direction\":\"out\"");
    /* the visited cap: a clear error, not growth */
    q_to = "n:z";
    q_cap = 2;
    a = answer(q_path, AK_ERR_INVALID);
    CHECK_HAS(a, "visited 2 entities");
    q_cap = 0;
    q_entity = "n:nobody";
    a = answer(q_path, AK_ERR_NOTFOUND);
    CHECK_HAS(a, "no entity \"n:nobody\"");
    q_entity = "n:x";
    q_hops = 0;
    answer(q_path, AK_ERR_INVALID);
    q_hops = 11;
    answer(q_path, AK_ERR_INVALID);
    /* ambiguous bare names */
    put_lines("gamma.local", ENT("c9", "x", "other", "[]"));
    q_entity = "x";
    q_to = "n:z";
    q_hops = 3;
    a = answer(q_path, AK_ERR_INVALID);
    CHECK_HAS(a, "several types");
    /* find by prefix and type */
    q_entity = "a";
    q_type = NULL;
    q_limit = 10;
    a = answer(q_find, AK_OK);
    CHECK_HAS(a, "\"entity_id\":\"project:akosha\"");
    CHECK_HAS(a, "\"entity_id\":\"person:alice\"");
    CHECK_HAS(a, "\"total\":2");
    q_type = "person";
    a = answer(q_find, AK_OK);
    CHECK_HAS(a, "\"total\":1");
    q_type = NULL;
    q_entity = "";
    q_limit = 1;
    a = answer(q_find, AK_OK);
    CHECK_HAS(a, "\"truncated\":true");
    q_limit = 0;
    answer(q_find, AK_ERR_INVALID);
    q_limit = 50;
}

static void test_dangling_and_rename(void)
{
    /* a relation before its entities: kept, counted once they arrive */
    put_lines("delta.local", REL("d-r", "d1", "d2", "knows"));
    char *a = answer(q_stats, AK_OK);
    CHECK_HAS(a, "\"dangling_relations\":1");
    put_lines("delta.local", ENT("d1", "dee", "person", "[]") ENT("d2", "dum", "person", "[]"));
    a = answer(q_stats, AK_OK);
    CHECK_HAS(a, "\"dangling_relations\":0");
    /* renamed: the old node goes with its last entity */
    put_lines("delta.local", ENT("d2", "tweedledum", "person", "[]"));
    q_entity = "person:dum";
    q_type = NULL;
    answer(q_neighbours, AK_ERR_NOTFOUND);
    q_entity = "person:tweedledum";
    a = answer(q_neighbours, AK_OK);
    CHECK_HAS(a, "\"entity_id\":\"person:dee\"");
}

static void test_forget(void)
{
    ak_err err;
    int64_t e = 0, r = 0, n = 0;
    CHECK_OK(ak_graph_forget_system(g, "beta.local", 1, &e, &r, &n, &err), err);
    CHECK_INT(e, 2);
    CHECK_INT(r, 1);
    CHECK_INT(n, 1); /* sqlite; akosha is alpha's too */
    CHECK_OK(ak_graph_forget_system(g, "beta.local", 0, &e, &r, &n, &err), err);
    q_entity = "project:akosha";
    q_type = NULL;
    char *a = answer(q_neighbours, AK_OK);
    CHECK_HAS(a, "\"observations\":[\"written in C\"]");
    CHECK(!strstr(a, "beta.local"));
    CHECK(!strstr(a, "sqlite"));
    q_entity = "library:sqlite";
    answer(q_neighbours, AK_ERR_NOTFOUND);
    /* again: nothing left, nothing wrong */
    CHECK_OK(ak_graph_forget_system(g, "beta.local", 0, &e, &r, &n, &err), err);
    CHECK_INT(e + r + n, 0);
}

static void test_item_rules(void)
{
    static const struct {
        const char *line, *want;
    } bad[] = {
        {"[]", "expected an object"},
        {"{", ""},
        {"{\"kind\":\"thing\"}", "kind"},
        {"{\"kind\":\"entity\",\"name\":\"n\",\"entity_type\":\"t\"}", "id: required"},
        {"{\"kind\":\"entity\",\"id\":\"\",\"name\":\"n\",\"entity_type\":\"t\"}", "id: must be a non-empty"},
        {"{\"kind\":\"entity\",\"id\":7,\"name\":\"n\",\"entity_type\":\"t\"}", "id: must be a string"},
        {"{\"kind\":\"entity\",\"id\":\"i\",\"name\":\"a\\u0000b\",\"entity_type\":\"t\"}", "name: must be"},
        {"{\"kind\":\"entity\",\"id\":\"i\",\"name\":\"n\"}", "entity_type: required"},
        {"{\"kind\":\"entity\",\"id\":\"i\",\"name\":\"n\",\"entity_type\":\"t\",\"observations\":[1]}", "observations"},
        {"{\"kind\":\"entity\",\"id\":\"i\",\"name\":\"n\",\"entity_type\":\"t\",\"observations\":\"x\"}", "observations"},
        {"{\"kind\":\"entity\",\"id\":\"i\",\"name\":\"n\",\"entity_type\":\"t\",\"properties\":[]}", "properties: must be an object"},
        {"{\"kind\":\"entity\",\"id\":\"i\",\"name\":\"n\",\"entity_type\":\"t\",\"created_at\":\"yesterday\"}", "created_at"},
        {"{\"kind\":\"relation\",\"id\":\"i\",\"from_entity\":\"a\",\"relation_type\":\"t\"}", "to_entity: required"},
        {"{\"kind\":\"relation\",\"id\":\"i\",\"from_entity\":\"a\",\"to_entity\":\"b\"}", "relation_type: required"},
    };
    ak_graph_item it;
    ak_err err;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(ak_graph_item_parse(doc, bad[i].line, strlen(bad[i].line), "s", &it, &err),
                  AK_ERR_INVALID);
        CHECK_HAS(err.msg, bad[i].want);
    }
    char longname[AK_GRAPH_NAME_MAX + 80];
    int k = snprintf(longname, sizeof longname, "{\"kind\":\"entity\",\"id\":\"i\",\"entity_type\":\"t\",\"name\":\"");
    memset(longname + k, 'x', AK_GRAPH_NAME_MAX + 1);
    snprintf(longname + k + AK_GRAPH_NAME_MAX + 1, 8, "\"}");
    CHECK_INT(ak_graph_item_parse(doc, longname, strlen(longname), "s", &it, &err), AK_ERR_INVALID);
    CHECK_HAS(err.msg, "name: longer than");
    /* a bad line in a payload is counted, not fatal */
    ak_graph_tally t = put_lines("eps.local", "{\"kind\":\"entity\"}\n" ENT("e1", "ok", "t", "[]"));
    CHECK_INT(t.rejected, 1);
    CHECK_INT(t.entities[AK_GPUT_NEW], 1);
    CHECK_HAS(t.example, "id: required");
    char note[240];
    ak_graph_tally_note(&t, note, sizeof note);
    CHECK_STR(note, "knowledge graph: 1 entity (1 new), 0 relations, 1 rejected (test: id: required)");
}

static void test_push_line(void)
{
    static const char args[] =
        "{\"name\":\"akosha\",\"entity_type\":\"project\",\"observations\":[\"o\"],"
        "\"properties\":{\"source_system\":\"mac.local\",\"original_id\":\"u-1\","
        "\"created_at\":\"2025-02-08T14:30:52.123456+00:00\",\"ingestion_method\":\"http_push\"},"
        "\"metadata\":{}}";
    const ak_json *root;
    ak_err err;
    ak_buf line = {0};
    char sid[300], why[300];
    ak_json_doc *d = ak_json_doc_new();
    CHECK_OK(ak_json_parse(d, args, strlen(args), &root, &err), err);
    CHECK(ak_graph_push_line(root, 0, &line, sid, why, sizeof why));
    CHECK_STR(sid, "mac.local");
    ak_buf_putc(&line, '\0');
    CHECK_HAS(line.data, "\"kind\":\"entity\",\"id\":\"u-1\",\"name\":\"akosha\"");
    ak_graph_item it;
    CHECK_OK(ak_graph_item_parse(doc, line.data, line.len - 1, sid, &it, &err), err);
    CHECK(it.e.created_us > 0);
    CHECK(!it.e.properties); /* only the push's own members: none left */
    ak_graph_item_free(&it);
    /* the same entity pushed (properties with the push's members, spaced
     * JSON) and in a snapshot (compact, without them): one content, so
     * sending either again is a duplicate, never an update */
    static const char pushed[] =
        "{\"name\":\"snap\",\"entity_type\":\"project\",\"observations\": [\"o\", \"p\"],"
        "\"properties\": {\"source_system\": \"mac.local\", \"original_id\": \"u-2\","
        " \"origin\": {\"tool\": \"sb\", \"n\": [1, 2]}, \"created_at\": \"2025-02-08T14:30:52Z\"}}";
    static const char snap[] =
        "{\"kind\":\"entity\",\"id\":\"u-2\",\"name\":\"snap\",\"entity_type\":\"project\","
        "\"observations\":[\"o\",\"p\"],\"properties\":{\"origin\":{\"tool\":\"sb\",\"n\":[1,2]}},"
        "\"created_at\":\"2025-02-08T14:30:52Z\"}\n";
    CHECK_OK(ak_json_parse(d, pushed, strlen(pushed), &root, &err), err);
    CHECK(ak_graph_push_line(root, 0, &line, sid, why, sizeof why));
    ak_buf_puts(&line, "\n");
    ak_buf_putc(&line, '\0');
    ak_graph_tally t = put_lines(sid, line.data);
    CHECK_INT(t.entities[AK_GPUT_NEW], 1);
    t = put_lines(sid, snap);
    CHECK_INT(t.entities[AK_GPUT_DUPLICATE], 1);
    t = put_lines(sid, line.data);
    CHECK_INT(t.entities[AK_GPUT_DUPLICATE], 1);
    /* no system: refused with why; a relation without original_id gets one */
    static const char rel[] = "{\"from_entity\":\"a\",\"to_entity\":\"b\",\"relation_type\":\"t\","
                              "\"metadata\":{\"source\":\"bad/../id\"}}";
    CHECK_OK(ak_json_parse(d, rel, strlen(rel), &root, &err), err);
    CHECK(!ak_graph_push_line(root, 1, &line, sid, why, sizeof why));
    CHECK_HAS(why, "source_system");
    static const char rel2[] = "{\"from_entity\":\"a\",\"to_entity\":\"b\",\"relation_type\":\"t\","
                               "\"metadata\":{\"source\":\"ok.local\"}}";
    CHECK_OK(ak_json_parse(d, rel2, strlen(rel2), &root, &err), err);
    CHECK(ak_graph_push_line(root, 1, &line, sid, why, sizeof why));
    ak_buf_putc(&line, '\0');
    CHECK_HAS(line.data, "\"id\":\"a|t|b\"");
    ak_buf_free(&line);
    ak_json_doc_free(d);
}

int main(void)
{
    ak_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/graph.db", test_tmpdir());
    doc = ak_json_doc_new();
    if (ak_graph_open(path, 0, &g, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    RUN(test_merge_and_exactly_once);
    RUN(test_paths);
    RUN(test_dangling_and_rename);
    RUN(test_forget);
    RUN(test_item_rules);
    RUN(test_push_line);
    ak_graph_close(g);
    ak_json_doc_free(doc);
    return test_report("graph");
}
