/*
 * fuzz_graph.c - libFuzzer target for the knowledge-graph item rules
 * (src/graph/graph_item.h): ak_graph_item_parse() on a graph.jsonl line,
 * and ak_graph_push_line() on create_entity / create_relation arguments.
 *
 * Invariants beyond no crash, leak or undefined behaviour:
 *  - the parser accepts or refuses with AK_ERR_INVALID, nothing else; an
 *    accepted item's required strings are non-empty, NUL-free and within
 *    their limits, its system the one given;
 *  - an accepted item stored twice in a graph is new, then a duplicate;
 *  - a push conversion that succeeds names a valid system id and writes a
 *    JSON object the parser then accepts or refuses (never errs otherwise).
 *
 * Run with scripts/fuzz.sh graph [seconds].
 */
#include "fuzz_common.h"

#include "graph/graph.h"
#include "graph/graph_item.h"
#include "util/buf.h"
#include "util/ids.h"

static ak_json_doc *in_doc, *line_doc;
static ak_graph *g;

static void check_text(const char *s, size_t max, const char *what)
{
    FUZZ_CHECK(s && *s && strlen(s) <= max, "accepted %s is empty or too long", what);
}

static void parsed(const char *text, size_t len)
{
    ak_graph_item it;
    ak_err e;
    ak_code rc = ak_graph_item_parse(line_doc, text, len, "fuzz.local", &it, &e);
    FUZZ_CHECK(rc == AK_OK || rc == AK_ERR_INVALID, "parser: %s", e.msg);
    if (rc)
        return;
    ak_gput first, again;
    if (it.relation) {
        check_text(it.r.id, AK_GRAPH_ID_MAX, "id");
        check_text(it.r.from, AK_GRAPH_ID_MAX, "from");
        check_text(it.r.to, AK_GRAPH_ID_MAX, "to");
        check_text(it.r.type, AK_GRAPH_NAME_MAX, "type");
        FUZZ_CHECK(!strcmp(it.r.system, "fuzz.local"), "system not the one given");
        FUZZ_CHECK(ak_graph_put_relation(g, &it.r, &first, &e) == AK_OK &&
                       ak_graph_put_relation(g, &it.r, &again, &e) == AK_OK,
                   "storing: %s", e.msg);
    } else {
        check_text(it.e.id, AK_GRAPH_ID_MAX, "id");
        check_text(it.e.name, AK_GRAPH_NAME_MAX, "name");
        check_text(it.e.type, AK_GRAPH_NAME_MAX, "type");
        FUZZ_CHECK(ak_graph_put_entity(g, &it.e, &first, &e) == AK_OK &&
                       ak_graph_put_entity(g, &it.e, &again, &e) == AK_OK,
                   "storing: %s", e.msg);
    }
    FUZZ_CHECK(again == AK_GPUT_DUPLICATE, "the same item twice is not a duplicate");
    ak_graph_item_free(&it);
}

static void pushed(const ak_json *args, int relation)
{
    ak_buf line = {0};
    char sid[AK_SYSTEM_ID_MAX + 1], why[512];
    if (ak_graph_push_line(args, relation, &line, sid, why, sizeof why)) {
        FUZZ_CHECK(ak_id_system_valid(sid, NULL), "system id \"%s\" is not valid", sid);
        parsed(line.data, line.len);
    } else {
        FUZZ_CHECK(strstr(why, "source_system"), "refused without saying why: \"%s\"", why);
    }
    ak_buf_free(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ak_err e;
    if (!in_doc) {
        in_doc = ak_json_doc_new();
        line_doc = ak_json_doc_new();
        FUZZ_CHECK(in_doc && line_doc, "out of memory");
        FUZZ_CHECK(ak_graph_open(":memory:", 0, &g, &e) == AK_OK, "graph: %s", e.msg);
    }
    ak_graph_begin(g, &e);
    parsed((const char *)data, size);
    const ak_json *args;
    if (ak_json_parse(in_doc, (const char *)data, size, &args, &e) == AK_OK) {
        pushed(args, 0);
        pushed(args, 1);
    }
    ak_graph_rollback(g); /* each input starts from an empty graph */
    return 0;
}
