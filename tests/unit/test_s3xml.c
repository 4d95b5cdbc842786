/*
 * test_s3xml.c - the strict XML reader (src/objstore/xml.c) and the S3
 * documents read and written with it (src/objstore/s3xml.c): listing pages
 * as AWS and Swift send them, entities and percent-encoded keys, <Error>
 * bodies, multipart replies, and garbage, truncated, deeply nested and huge
 * inputs, each refused with a message that says where and why.
 */
#include "objstore/s3xml.h"
#include "objstore/xml.h"
#include "test.h"

static const ak_xml_limits limits = {1 << 20, 16, 1000};

/* Parse text; on failure the message is left in err. */
static ak_xml_doc *parse(const char *text, ak_err *err)
{
    ak_xml_doc *d = NULL;
    ak_code rc = ak_xml_parse(text, strlen(text), &limits, &d, err);
    CHECK((rc == AK_OK) == (d != NULL));
    return d;
}

static void expect_refused(const char *text, const char *why)
{
    ak_err err = {0};
    ak_xml_doc *d = parse(text, &err);
    if (d) {
        fprintf(stderr, "  accepted: %s\n", text);
        CHECK(d == NULL);
        ak_xml_free(d);
        return;
    }
    CHECK_INT(err.code, AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, why);
}

/* ---- the reader ------------------------------------------------------- */

static void test_tree(void)
{
    ak_err err = {0};
    ak_xml_doc *d = parse("\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>\n"
                          "<!-- c --><r a=\"1\" b='&amp;'>\n  <k>one</k>\n  <x/>\n"
                          "  <k>two<!-- in text -->2</k><k></k>\r\n</r>\n<?pi x?>\n",
                          &err);
    CHECK(d != NULL);
    if (!d)
        return;
    const ak_xml_node *r = ak_xml_root(d);
    CHECK_STR(ak_xml_name(r), "r");
    CHECK_STR(ak_xml_text(r), ""); /* whitespace between children is dropped */
    const ak_xml_node *k = ak_xml_child(r, "k");
    CHECK_STR(ak_xml_text(k), "one");
    CHECK_STR(ak_xml_name(ak_xml_next(k, NULL)), "x");
    k = ak_xml_next(k, "k"); /* skips <x/> */
    CHECK_STR(ak_xml_text(k), "two2");
    k = ak_xml_next(k, "k");
    CHECK_STR(ak_xml_text(k), "");
    CHECK(ak_xml_next(k, "k") == NULL);
    CHECK(ak_xml_next(k, NULL) == NULL);
    CHECK_STR(ak_xml_name(ak_xml_child(r, NULL)), "k");
    CHECK_STR(ak_xml_child_text(r, "x"), "");
    CHECK(ak_xml_child_text(r, "missing") == NULL);
    ak_xml_free(d);
}

static void test_text_decoding(void)
{
    ak_err err = {0};
    ak_xml_doc *d = parse("<t>&lt;a&gt; &amp; &quot;q&quot; &apos;s&apos; &#65;&#x42;&#x00e9;"
                          "&#x2603;&#128512; <![CDATA[<raw> & ]]]]><![CDATA[>]]> a\r\nb\rc</t>",
                          &err);
    CHECK(d != NULL);
    if (d)
        CHECK_STR(ak_xml_text(ak_xml_root(d)), "<a> & \"q\" 's' AB\xc3\xa9\xe2\x98\x83"
                                               "\xf0\x9f\x98\x80 <raw> & ]]> a\nb\nc");
    ak_xml_free(d);
}

static void test_refused(void)
{
    expect_refused("", "no root element");
    expect_refused("   \n", "no root element");
    expect_refused("hello", "text outside the root element");
    expect_refused("<a>", "input ends inside <a>");
    expect_refused("<a><b></a>", "</a> does not close <b>");
    expect_refused("<a></a><b/>", "a second root element");
    expect_refused("<a>x<b/></a>", "text mixed with elements in <a>");
    expect_refused("<a><b/>x</a>", "text mixed with elements in <a>");
    expect_refused("<a>&foo;</a>", "unknown entity &foo;");
    expect_refused("<a>&amp</a>", "'&' that starts no entity");
    expect_refused("<a>&#0;</a>", "character XML does not allow");
    expect_refused("<a>&#xD800;</a>", "character XML does not allow");
    expect_refused("<a>&#x110000;</a>", "character XML does not allow");
    expect_refused("<a>&#12a;</a>", "bad digit");
    expect_refused("<a>&#;</a>", "empty character reference");
    expect_refused("<a>]]></a>", "\"]]>\" in text");
    expect_refused("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "DOCTYPE");
    expect_refused("<a><!-- x -- y --></a>", "\"--\" inside a comment");
    expect_refused("<a><!-- x </a>", "unterminated comment");
    expect_refused("<a><![CDATA[x</a>", "unterminated CDATA");
    expect_refused("<![CDATA[x]]><a/>", "CDATA section outside the root");
    expect_refused(" <?xml version='1.0'?><a/>", "XML declaration not at the start");
    expect_refused("<a b=1/>", "attribute value without quotes");
    expect_refused("<a b='1'c='2'/>", "no space before an attribute");
    expect_refused("<a b='<'/>", "'<' in an attribute value");
    expect_refused("<a b='&bad;'/>", "unknown entity");
    expect_refused("<a b='x/>", "unterminated attribute value");
    expect_refused("<1a/>", "'<' that starts no element");
    expect_refused("<a>\x01</a>", "control character 0x01");
    expect_refused("<a>\xc3\x28</a>", "bytes that are not UTF-8");
    expect_refused("<a>\xed\xa0\x80</a>", "bytes that are not UTF-8"); /* a surrogate */
    expect_refused("</a>", "end tag outside the root element");
}

static void test_error_offset(void)
{
    ak_err err = {0};
    CHECK(parse("<a><b></c></a>", &err) == NULL);
    CHECK_HAS(err.msg, "malformed XML at byte 6: </c> does not close <b>");
}

static void test_truncated(void)
{
    static const char doc[] = "<ListBucketResult><Contents><Key>a&amp;b</Key><Size>1</Size>"
                              "</Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
    /* every proper prefix of a document is refused, none crashes */
    for (size_t n = 0; n + 1 < sizeof doc; n++) {
        ak_xml_doc *d = NULL;
        ak_err err = {0};
        CHECK(ak_xml_parse(doc, n, &limits, &d, &err) != AK_OK);
        CHECK(d == NULL);
        CHECK(err.msg[0] != '\0');
    }
}

static void test_limits(void)
{
    ak_buf b = {0};
    for (int i = 0; i < 16; i++)
        ak_buf_puts(&b, "<a>");
    ak_err err = {0};
    ak_xml_doc *d = NULL;
    ak_buf_puts(&b, "<a/>");
    CHECK_INT(ak_xml_parse(b.data, b.len, &limits, &d, &err), AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, "elements nested deeper than 16");

    ak_buf_reset(&b);
    ak_buf_puts(&b, "<r>");
    for (int i = 0; i < 1000; i++)
        ak_buf_puts(&b, "<k/>");
    ak_buf_puts(&b, "</r>");
    CHECK_INT(ak_xml_parse(b.data, b.len, &limits, &d, &err), AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, "more than 1000 elements");

    ak_buf_reset(&b);
    ak_buf_puts(&b, "<r>");
    while (b.len < (1 << 20))
        ak_buf_puts(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    ak_buf_puts(&b, "</r>");
    CHECK_INT(ak_xml_parse(b.data, b.len, &limits, &d, &err), AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, "is over the limit of 1048576");
    CHECK(d == NULL);
    ak_buf_free(&b);
}

/* ---- S3 documents ----------------------------------------------------- */

/* What AWS sends for ListObjectsV2 with encoding-type=url and a delimiter
 * ("+" for a space), in the store's prefix "tenants/acme/". */
static const char aws_page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bucket</Name><Prefix>tenants%2Facme%2Fsystems%2F</Prefix>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "<KeyCount>4</KeyCount><MaxKeys>4</MaxKeys><Delimiter>%2F</Delimiter>"
    "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
    "<Contents><Key>tenants%2Facme%2Fsystems%2Fa+b%2Bc%25d%26e.json</Key>"
    "<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
    "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>tenants%2Facme%2Fsystems%2Fcaf%C3%A9</Key>"
    "<LastModified>2009-10-12T17:50:31Z</LastModified><Size>0</Size></Contents>"
    "<CommonPrefixes><Prefix>tenants%2Facme%2Fsystems%2Fsys+one%2F</Prefix></CommonPrefixes>"
    "<CommonPrefixes><Prefix>tenants%2Facme%2Fsystems%2F%E2%98%83%2F</Prefix></CommonPrefixes>"
    "</ListBucketResult>";

static void test_list_aws(void)
{
    ak_store_page p;
    ak_err err = {0};
    CHECK_INT(ak_s3xml_list(aws_page, strlen(aws_page), "tenants/acme/", &p, &err), AK_OK);
    CHECK_INT(p.n_objs, 2);
    CHECK_INT(p.n_prefixes, 2);
    if (p.n_objs == 2 && p.n_prefixes == 2) {
        CHECK_STR(p.objs[0].key, "systems/a b+c%d&e.json");
        CHECK_INT(p.objs[0].size, 434234);
        CHECK_INT(p.objs[0].mtime_us, INT64_C(1255369830) * 1000000);
        CHECK_STR(p.objs[1].key, "systems/caf\xc3\xa9");
        CHECK_INT(p.objs[1].size, 0);
        CHECK_STR(p.prefixes[0], "systems/sys one/");
        CHECK_STR(p.prefixes[1], "systems/\xe2\x98\x83/");
    }
    CHECK_STR(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    ak_store_page_free(&p);
}

/* Swift's form: quote() escapes ("%20", "%2B"), "/" kept, no Prefix entry
 * closing a page, and without EncodingType keys are taken as they are. */
static void test_list_plain_and_swift(void)
{
    static const char swift[] =
        "<?xml version='1.0' encoding='UTF-8'?>\n<ListBucketResult xmlns=\"http://s3."
        "amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix/><KeyCount>1</KeyCount>"
        "<MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>false"
        "</IsTruncated><Contents><Key>a%20b%2Bc/%C3%BC</Key><LastModified>2024-01-02T03:04:05"
        ".000Z</LastModified><ETag>\"x\"</ETag><Size>3</Size><StorageClass>STANDARD"
        "</StorageClass></Contents></ListBucketResult>";
    static const char plain[] =
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a+b%2F&amp;</Key>"
        "<Size>3</Size></Contents></ListBucketResult>";
    ak_store_page p;
    ak_err err = {0};
    CHECK_INT(ak_s3xml_list(swift, strlen(swift), "", &p, &err), AK_OK);
    CHECK_INT(p.n_objs, 1);
    if (p.n_objs)
        CHECK_STR(p.objs[0].key, "a b+c/\xc3\xbc");
    CHECK(p.next_token == NULL);
    ak_store_page_free(&p);
    CHECK_INT(ak_s3xml_list(plain, strlen(plain), "", &p, &err), AK_OK);
    CHECK_INT(p.n_objs, 1);
    if (p.n_objs) {
        CHECK_STR(p.objs[0].key, "a+b%2F&");
        CHECK_INT(p.objs[0].mtime_us, 0); /* no LastModified */
    }
    ak_store_page_free(&p);
}

/* Names that are no valid key are left out; the page is still good. */
static void test_list_skips_invalid_keys(void)
{
    static const char page[] =
        "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
        "<Contents><Key>p%2Fa%2F%2Fb</Key><Size>1</Size></Contents>"
        "<Contents><Key>p%2F..%2Fx</Key><Size>1</Size></Contents>"
        "<Contents><Key>p%2Fnul%00x</Key><Size>1</Size></Contents>"
        "<Contents><Key>p%2Fctl%0A</Key><Size>1</Size></Contents>"
        "<Contents><Key>p%2F</Key><Size>1</Size></Contents>"
        "<Contents><Key>p%2Fgood</Key><Size>1</Size></Contents>"
        "<CommonPrefixes><Prefix>p%2F%2F</Prefix></CommonPrefixes>"
        "<CommonPrefixes><Prefix>p%2Fok%2F</Prefix></CommonPrefixes>"
        "</ListBucketResult>";
    ak_store_page p;
    ak_err err = {0};
    CHECK_INT(ak_s3xml_list(page, strlen(page), "p/", &p, &err), AK_OK);
    CHECK_INT(p.n_objs, 1);
    CHECK_INT(p.n_prefixes, 1);
    if (p.n_objs && p.n_prefixes) {
        CHECK_STR(p.objs[0].key, "good");
        CHECK_STR(p.prefixes[0], "ok/");
    }
    ak_store_page_free(&p);
}

static void expect_bad_page(const char *page, const char *strip, const char *why)
{
    ak_store_page p;
    ak_err err = {0};
    CHECK_INT(ak_s3xml_list(page, strlen(page), strip, &p, &err), AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, why);
    CHECK(p.n_objs == 0 && p.n_prefixes == 0 && p.next_token == NULL);
    ak_store_page_free(&p);
}

#define T "<IsTruncated>false</IsTruncated>"

static void test_list_refused(void)
{
    expect_bad_page("<Error><Code>x</Code></Error>", "", "expected an S3 <ListBucketResult>");
    expect_bad_page("<ListBucketResult>" T "<Contents><Size>1</Size></Contents>"
                    "</ListBucketResult>", "", "S3 list entry without a Key");
    expect_bad_page("<ListBucketResult>" T "<Contents><Key>a</Key></Contents>"
                    "</ListBucketResult>", "", "bad Size \"(none)\"");
    expect_bad_page("<ListBucketResult>" T "<Contents><Key>a</Key><Size>-1</Size></Contents>"
                    "</ListBucketResult>", "", "bad Size \"-1\"");
    expect_bad_page("<ListBucketResult>" T "<Contents><Key>a</Key><Size>12x</Size></Contents>"
                    "</ListBucketResult>", "", "bad Size");
    expect_bad_page("<ListBucketResult>" T "<Contents><Key>a</Key><Size>1</Size>"
                    "<LastModified>yesterday</LastModified></Contents></ListBucketResult>", "",
                    "bad LastModified");
    expect_bad_page("<ListBucketResult><EncodingType>url</EncodingType>" T
                    "<Contents><Key>a%2</Key><Size>1</Size></Contents></ListBucketResult>", "",
                    "malformed percent-encoded name \"a%2\"");
    expect_bad_page("<ListBucketResult>" T "<Contents><Key>other/a</Key><Size>1</Size>"
                    "</Contents></ListBucketResult>", "p/", "outside the requested prefix p/");
    expect_bad_page("<ListBucketResult></ListBucketResult>", "", "without a valid IsTruncated");
    expect_bad_page("<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>", "",
                    "without a valid IsTruncated");
    expect_bad_page("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", "",
                    "truncated but gives no continuation token");
    expect_bad_page("<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents",
                    "", "malformed XML");
}

static void test_error_body(void)
{
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
        "<Message>The request signature we calculated does not match the signature you "
        "provided.\nCheck your key &amp; signing method.</Message><RequestId>4442587FB7D0A2F9"
        "</RequestId></Error>";
    ak_s3_error e;
    CHECK(ak_s3xml_error(body, strlen(body), &e));
    CHECK_STR(e.code, "SignatureDoesNotMatch");
    CHECK_STR(e.message, "The request signature we calculated does not match the signature "
                         "you provided. Check your key & signing method.");
    CHECK(!ak_s3xml_error("", 0, &e));
    CHECK(!ak_s3xml_error("<html>503</html>", 16, &e));
    CHECK_STR(e.code, "");
    CHECK(!ak_s3xml_error("<Error><Code>x", 14, &e));
    CHECK(!ak_s3xml_error("<Error><Message>m</Message></Error>", 35, &e)); /* no code */

    ak_buf big = {0};
    ak_buf_puts(&big, "<Error><Code>InternalError</Code><Message>");
    for (int i = 0; i < 100; i++)
        ak_buf_puts(&big, "0123456789");
    ak_buf_puts(&big, "</Message></Error>");
    CHECK(ak_s3xml_error(big.data, big.len, &e));
    CHECK_INT(strlen(e.message), sizeof e.message - 1); /* cut to fit */
    ak_buf_free(&big);
}

static void test_multipart_documents(void)
{
    static const char started[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult xmlns=\"http:"
        "//s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2Fk"
        "IElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
        "</InitiateMultipartUploadResult>";
    char *id = NULL;
    ak_err err = {0};
    CHECK_INT(ak_s3xml_upload_id(started, strlen(started), &id, &err), AK_OK);
    CHECK_STR(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    free(id);
    static const char no_id[] = "<InitiateMultipartUploadResult><UploadId/>"
                                "</InitiateMultipartUploadResult>";
    CHECK_INT(ak_s3xml_upload_id(no_id, strlen(no_id), &id, &err), AK_ERR_CORRUPT);
    CHECK_HAS(err.msg, "without an UploadId");
    CHECK(id == NULL);

    char *etags[] = {"\"a54357aff0632cce46d942af68356b38\"", "\"x&<y>\""};
    ak_buf b = {0};
    CHECK_INT(ak_s3xml_complete(&b, etags, 2), AK_OK);
    CHECK_STR(b.data, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
                      "2006-03-01/\"><Part><PartNumber>1</PartNumber><ETag>&quot;"
                      "a54357aff0632cce46d942af68356b38&quot;</ETag></Part><Part><PartNumber>2"
                      "</PartNumber><ETag>&quot;x&amp;&lt;y&gt;&quot;</ETag></Part>"
                      "</CompleteMultipartUpload>");
    /* what we write, we read back */
    ak_xml_doc *d = parse(b.data, &err);
    CHECK(d != NULL);
    if (d)
        CHECK_STR(ak_xml_child_text(ak_xml_next(ak_xml_child(ak_xml_root(d), "Part"), "Part"), "ETag"),
                  "\"x&<y>\"");
    ak_xml_free(d);
    ak_buf_free(&b);
}

int main(void)
{
    RUN(test_tree);
    RUN(test_text_decoding);
    RUN(test_refused);
    RUN(test_error_offset);
    RUN(test_truncated);
    RUN(test_limits);
    RUN(test_list_aws);
    RUN(test_list_plain_and_swift);
    RUN(test_list_skips_invalid_keys);
    RUN(test_list_refused);
    RUN(test_error_body);
    RUN(test_multipart_documents);
    return test_report("s3xml");
}
