/*
 * fuzz_s3xml.c - libFuzzer target for the XML reader (src/objstore/xml.c)
 * and the S3 documents read with it (src/objstore/s3xml.c): what an S3
 * server, or anything posing as one, sends back.
 *
 * The whole input is one reply body, read as a generic document, as a
 * ListObjectsV2 page (with and without a store prefix), as an <Error> and
 * as a multipart start.  Beyond "no crash, no leak, no undefined
 * behaviour" it checks:
 *  - a parsed tree stays within the limits; names are non-empty; leaf text
 *    is UTF-8 without control characters other than tab and newline (line
 *    ends normalized, so no "\r");
 *  - a decoded page holds only valid keys and prefixes, sizes >= 0, and a
 *    non-empty bounded token; a refused one is empty and explains itself;
 *  - an error body yields a non-empty one-line code;
 *  - text written into a CompleteMultipartUpload request reads back as
 *    itself (escaping round trip), for inputs that are valid XML text.
 *
 * Run with scripts/fuzz.sh s3xml [seconds].
 */
#include "fuzz_common.h"

#include "objstore/s3xml.h"
#include "objstore/xml.h"

#define DEPTH 16
#define NODES 5000

static void check_text(const char *t)
{
    size_t n = strlen(t);
    FUZZ_CHECK(ak_utf8_valid(t, n), "leaf text is not UTF-8");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        FUZZ_CHECK(c >= 0x20 || c == '\t' || c == '\n', "byte 0x%02x in leaf text", c);
    }
}

/* Every element, depth first; returns how many.  The reader's depth limit
 * bounds the recursion. */
static size_t walk(const ak_xml_node *n, int depth)
{
    FUZZ_CHECK(depth <= DEPTH, "depth %d over the limit", depth);
    FUZZ_CHECK(ak_xml_name(n)[0] != '\0', "empty element name");
    check_text(ak_xml_text(n));
    size_t count = 1;
    for (const ak_xml_node *c = ak_xml_child(n, NULL); c; c = ak_xml_next(c, NULL)) {
        FUZZ_CHECK(ak_xml_text(n)[0] == '\0', "an element with children has text");
        count += walk(c, depth + 1);
    }
    return count;
}

static void read_generic(const char *data, size_t size)
{
    static const ak_xml_limits lim = {65536, DEPTH, NODES};
    ak_xml_doc *d = NULL;
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_xml_parse(data, size, &lim, &d, &e);
    if (rc != AK_OK) {
        FUZZ_CHECK(d == NULL, "failed parse returned a document");
        FUZZ_CHECK(rc == e.code && e.msg[0], "failure without its message");
        FUZZ_CHECK(rc == AK_ERR_CORRUPT || rc == AK_ERR_NOMEM, "code %d: %s", (int)rc, e.msg);
        return;
    }
    size_t n = walk(ak_xml_root(d), 1);
    FUZZ_CHECK(n <= NODES, "%zu elements over the limit", n);
    ak_xml_free(d);
}

static void read_page(const char *data, size_t size, const char *strip)
{
    ak_store_page p;
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_s3xml_list(data, size, strip, &p, &e);
    if (rc != AK_OK) {
        FUZZ_CHECK(rc == e.code && e.msg[0], "failure without its message");
        FUZZ_CHECK(rc == AK_ERR_CORRUPT || rc == AK_ERR_NOMEM, "code %d: %s", (int)rc, e.msg);
    } else {
        for (size_t i = 0; i < p.n_objs; i++) {
            FUZZ_CHECK(ak_store_key_valid(p.objs[i].key), "listed invalid key \"%s\"",
                       p.objs[i].key);
            FUZZ_CHECK(p.objs[i].size >= 0, "negative size");
        }
        for (size_t i = 0; i < p.n_prefixes; i++)
            FUZZ_CHECK(p.prefixes[i][0] && ak_store_key_valid(p.prefixes[i]) ==
                                               (p.prefixes[i][strlen(p.prefixes[i]) - 1] != '/'),
                       "listed odd prefix \"%s\"", p.prefixes[i]);
        if (p.next_token)
            FUZZ_CHECK(p.next_token[0] && strlen(p.next_token) <= AK_STORE_TOKEN_MAX,
                       "bad token");
    }
    ak_store_page_free(&p);
}

static void read_others(const char *data, size_t size)
{
    ak_s3_error se;
    if (ak_s3xml_error(data, size, &se)) {
        FUZZ_CHECK(se.code[0], "error without a code");
        for (const char *c = se.code; *c; c++)
            FUZZ_CHECK((unsigned char)*c >= 0x20, "control byte in the code");
        for (const char *c = se.message; *c; c++)
            FUZZ_CHECK((unsigned char)*c >= 0x20, "control byte in the message");
    }
    char *id = NULL;
    ak_err e;
    if (ak_s3xml_upload_id(data, size, &id, &e) == AK_OK)
        FUZZ_CHECK(id && id[0], "empty upload id");
    free(id);
}

/* Inputs that are valid XML character data survive escaping and reading. */
static void round_trip(const char *data, size_t size)
{
    if (!ak_utf8_valid(data, size))
        return;
    for (size_t i = 0; i < size; i++)
        if ((unsigned char)data[i] < 0x20 && data[i] != '\t' && data[i] != '\n')
            return;
    char *etag = strndup(data, size);
    FUZZ_CHECK(etag != NULL, "out of memory");
    ak_buf b = {0};
    FUZZ_CHECK(ak_s3xml_complete(&b, &etag, 1) == AK_OK, "cannot write the request");
    static const ak_xml_limits lim = {1 << 20, DEPTH, NODES};
    ak_xml_doc *d = NULL;
    ak_err e;
    FUZZ_CHECK(ak_xml_parse(b.data, b.len, &lim, &d, &e) == AK_OK,
               "our own request does not parse: %s", e.msg);
    const char *back = ak_xml_child_text(ak_xml_child(ak_xml_root(d), "Part"), "ETag");
    FUZZ_CHECK(back && strcmp(back, etag) == 0, "ETag \"%s\" reads back as \"%s\"", etag,
               back ? back : "(none)");
    ak_xml_free(d);
    ak_buf_free(&b);
    free(etag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    read_generic(text, size);
    read_page(text, size, "");
    read_page(text, size, "tenants/acme/");
    read_others(text, size);
    round_trip(text, size);
    return 0;
}
