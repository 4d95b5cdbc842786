/*
 * test_sigv4.c - AWS Signature Version 4 (src/objstore/sigv4.c) against
 * AWS's published vectors:
 *
 *  - the Signature Version 4 test suite (AKIDEXAMPLE, service "service",
 *    20150830T123600Z): every case whose path needs no normalization, since
 *    S3 - the one service Akosha signs for - never normalizes paths, so the
 *    suite's get-relative / get-slash* cases do not apply;
 *  - the worked examples of the S3 API reference, "Signature Calculations
 *    for the Authorization Header: Transferring Payload in a Single Chunk"
 *    (AKIAIOSFODNN7EXAMPLE, examplebucket, 20130524T000000Z): GET with a
 *    range, PUT of "Welcome to Amazon S3.", GET ?lifecycle, list objects.
 *
 * The expected signatures are AWS's; a canonical request or string to sign
 * is also compared where AWS publishes it, so a failure shows which step
 * went wrong.
 */
#include "objstore/sigv4.h"
#include "test.h"

#include "util/sha256.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SUITE_DATE "20150830T123600Z"
#define S3_DATE "20130524T000000Z"
#define UNRESERVED "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

static const ak_sigv4_credentials suite_cred = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
static const ak_sigv4_credentials s3_cred = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};

#define MAX_PAIRS 6

typedef struct {
    const char *name;
    const char *method, *path;
    ak_sigv4_pair query[MAX_PAIRS];
    ak_sigv4_pair headers[MAX_PAIRS]; /* beyond host and x-amz-date */
    const char *body;
    const char *signature;
    const char *signed_headers;  /* NULL: "host;x-amz-date" */
    const char *canonical;       /* NULL: not compared */
} suite_case;

static size_t count_pairs(const ak_sigv4_pair *p)
{
    size_t n = 0;
    while (n < MAX_PAIRS && p[n].name)
        n++;
    return n;
}

static void body_hash(const char *body, char hex[AK_SHA256_HEX])
{
    uint8_t d[AK_SHA256_LEN];
    ak_sha256(body ? body : "", body ? strlen(body) : 0, d);
    ak_hex(d, sizeof d, hex);
}

static const suite_case suite[] = {
    {"get-vanilla", "GET", "/", {{0}}, {{0}}, NULL,
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", NULL,
     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
     "host;x-amz-date\n" EMPTY_SHA256},
    {"get-vanilla-empty-query-key", "GET", "/", {{"Param1", "value1"}}, {{0}}, NULL,
     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb", NULL, NULL},
    {"get-vanilla-query-order-key-case", "GET", "/",
     {{"Param2", "value2"}, {"Param1", "value1"}}, {{0}}, NULL,
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", NULL,
     "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256},
    {"get-vanilla-query-order-key", "GET", "/",
     {{"Param1", "value2"}, {"Param1", "value1"}}, {{0}}, NULL,
     "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694", NULL, NULL},
    {"get-vanilla-query-order-value", "GET", "/",
     {{"Param1", "value2"}, {"Param1", "Value1"}}, {{0}}, NULL,
     "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1", NULL,
     "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256},
    {"get-vanilla-query-unreserved", "GET", "/", {{UNRESERVED, UNRESERVED}}, {{0}}, NULL,
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197", NULL, NULL},
    {"get-vanilla-utf8-query", "GET", "/", {{"\xe1\x88\xb4", "bar"}}, {{0}}, NULL,
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04", NULL,
     "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
     "host;x-amz-date\n" EMPTY_SHA256},
    {"get-unreserved", "GET", "/" UNRESERVED, {{0}}, {{0}}, NULL,
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f", NULL, NULL},
    {"get-utf8", "GET", "/\xe1\x88\xb4", {{0}}, {{0}}, NULL,
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85", NULL,
     "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
     "host;x-amz-date\n" EMPTY_SHA256},
    {"get-space", "GET", "/example space/", {{0}}, {{0}}, NULL,
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741", NULL,
     "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
     "host;x-amz-date\n" EMPTY_SHA256},
    {"get-header-key-duplicate", "GET", "/", {{0}},
     {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}, NULL,
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
     "host;my-header1;x-amz-date",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_SHA256},
    {"get-header-value-order", "GET", "/", {{0}},
     {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"},
      {"My-Header1", "value2"}}, NULL,
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
     "host;my-header1;x-amz-date", NULL},
    {"get-header-value-trim", "GET", "/", {{0}},
     {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\" "}}, NULL,
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
     "host;my-header1;my-header2;x-amz-date",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" EMPTY_SHA256},
    {"post-vanilla", "POST", "/", {{0}}, {{0}}, NULL,
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", NULL, NULL},
    {"post-vanilla-query", "POST", "/", {{"Param1", "value1"}}, {{0}}, NULL,
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11", NULL, NULL},
    {"post-vanilla-query-nonunreserved", "POST", "/",
     {{"@#$%^&+", "/,?><`\";:\\|][{}"}}, {{0}}, NULL,
     "88d3e39e4fa54b971f51c0a09140368e1a51aafb76c4652d9998f93cf3038074", NULL,
     "POST\n/\n%40%23%24%25%5E%26%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D\n"
     "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
     EMPTY_SHA256},
    {"post-header-key-sort", "POST", "/", {{0}}, {{"My-Header1", "value1"}}, NULL,
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
     "host;my-header1;x-amz-date", NULL},
    {"post-header-value-case", "POST", "/", {{0}}, {{"My-Header1", "VALUE1"}}, NULL,
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
     "host;my-header1;x-amz-date", NULL},
    {"post-sts-header-before", "POST", "/", {{0}},
     {{"X-Amz-Security-Token",
       "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMi"
       "cRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZamp"
       "KsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD"
       "0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oL"
       "xBA=="}}, NULL,
     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
     "host;x-amz-date;x-amz-security-token", NULL},
    {"post-x-www-form-urlencoded", "POST", "/", {{0}},
     {{"Content-Type", "application/x-www-form-urlencoded"}}, "Param1=value1",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
     "content-type;host;x-amz-date", NULL},
    {"post-x-www-form-urlencoded-parameters", "POST", "/", {{0}},
     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"}}, "Param1=value1",
     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
     "content-type;host;x-amz-date", NULL},
};

static void run_suite_case(const suite_case *c)
{
    ak_sigv4_pair headers[MAX_PAIRS + 2] = {{"Host", "example.amazonaws.com"},
                                            {"X-Amz-Date", SUITE_DATE}};
    size_t nh = 2 + count_pairs(c->headers);
    memcpy(headers + 2, c->headers, (nh - 2) * sizeof *headers);
    char hash[AK_SHA256_HEX];
    body_hash(c->body, hash);
    ak_sigv4_request req = {c->method, c->path, c->query, count_pairs(c->query),
                            headers, nh, hash};
    ak_sigv4_result r;
    test_current = c->name;
    CHECK_INT(ak_sigv4_sign(&req, &suite_cred, SUITE_DATE, &r), AK_OK);
    if (c->canonical)
        CHECK_STR(r.canonical_request.data, c->canonical);
    CHECK_STR(r.signature, c->signature);

    char want[512];
    snprintf(want, sizeof want,
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
             "SignedHeaders=%s, Signature=%s",
             c->signed_headers ? c->signed_headers : "host;x-amz-date", c->signature);
    CHECK_STR(r.authorization.data, want);
    ak_sigv4_result_free(&r);
}

static void test_aws_suite(void)
{
    for (size_t i = 0; i < sizeof suite / sizeof *suite; i++)
        run_suite_case(&suite[i]);
}

static void test_suite_string_to_sign(void)
{
    ak_sigv4_pair headers[] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", SUITE_DATE}};
    ak_sigv4_request req = {"GET", "/", NULL, 0, headers, 2, EMPTY_SHA256};
    ak_sigv4_result r;
    CHECK_INT(ak_sigv4_sign(&req, &suite_cred, SUITE_DATE, &r), AK_OK);
    CHECK_STR(r.string_to_sign.data,
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
              "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    ak_sigv4_result_free(&r);
}

/* ---- the S3 API reference's worked examples --------------------------- */

#define S3_HOST "examplebucket.s3.amazonaws.com"

static void sign_s3(const char *method, const char *path, const ak_sigv4_pair *q, size_t nq,
                    const ak_sigv4_pair *h, size_t nh, const char *payload,
                    ak_sigv4_result *r)
{
    ak_sigv4_request req = {method, path, q, nq, h, nh, payload};
    CHECK_INT(ak_sigv4_sign(&req, &s3_cred, S3_DATE, r), AK_OK);
}

static void test_s3_get_object(void)
{
    ak_sigv4_pair h[] = {{"Host", S3_HOST}, {"Range", "bytes=0-9"},
                         {"x-amz-content-sha256", EMPTY_SHA256}, {"x-amz-date", S3_DATE}};
    ak_sigv4_result r;
    sign_s3("GET", "/test.txt", NULL, 0, h, 4, EMPTY_SHA256, &r);
    CHECK_STR(r.canonical_request.data,
              "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
              "x-amz-content-sha256:" EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
              "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256);
    CHECK_STR(r.string_to_sign.data,
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK_STR(r.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK_STR(r.authorization.data,
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
              "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    ak_sigv4_result_free(&r);
}

static void test_s3_put_object(void)
{
    char hash[AK_SHA256_HEX];
    body_hash("Welcome to Amazon S3.", hash);
    CHECK_STR(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    ak_sigv4_pair h[] = {{"Host", S3_HOST},
                         {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                         {"x-amz-date", S3_DATE},
                         {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                         {"x-amz-content-sha256", hash}};
    ak_sigv4_result r;
    sign_s3("PUT", "/test$file.text", NULL, 0, h, 5, hash, &r);
    /* '$' is encoded once in the canonical URI */
    CHECK(strncmp(r.canonical_request.data, "PUT\n/test%24file.text\n\n", 23) == 0);
    CHECK_STR(r.string_to_sign.data,
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
    CHECK_STR(r.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    CHECK_HAS(r.authorization.data,
              "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, ");
    ak_sigv4_result_free(&r);
}

static void test_s3_bucket_requests(void)
{
    ak_sigv4_pair h[] = {{"Host", S3_HOST},
                         {"x-amz-content-sha256", EMPTY_SHA256},
                         {"x-amz-date", S3_DATE}};
    ak_sigv4_pair lifecycle[] = {{"lifecycle", ""}};
    ak_sigv4_result r;
    sign_s3("GET", "/", lifecycle, 1, h, 3, EMPTY_SHA256, &r);
    CHECK(strncmp(r.canonical_request.data, "GET\n/\nlifecycle=\n", 17) == 0);
    CHECK_STR(r.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    ak_sigv4_result_free(&r);

    ak_sigv4_pair list[] = {{"prefix", "J"}, {"max-keys", "2"}};
    sign_s3("GET", "/", list, 2, h, 3, EMPTY_SHA256, &r);
    CHECK(strncmp(r.canonical_request.data, "GET\n/\nmax-keys=2&prefix=J\n", 26) == 0);
    CHECK_STR(r.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    ak_sigv4_result_free(&r);
}

/* ---- encoding of keys Akosha meets ------------------------------------ */

static void check_encode(const char *in, int keep_slash, const char *want)
{
    ak_buf b = {0};
    CHECK_INT(ak_sigv4_encode(&b, in, strlen(in), keep_slash), AK_OK);
    CHECK_STR(b.data ? b.data : "", want);
    ak_buf_free(&b);
}

static void test_encode(void)
{
    check_encode("", 1, "");
    check_encode("systems/a/u1/manifest.json", 1, "systems/a/u1/manifest.json");
    check_encode("systems/a/u1/manifest.json", 0, "systems%2Fa%2Fu1%2Fmanifest.json");
    check_encode("my key+1%&=?#", 1, "my%20key%2B1%25%26%3D%3F%23");
    check_encode("caf\xc3\xa9/\xe2\x98\x83", 1, "caf%C3%A9/%E2%98%83");
    check_encode("~a-b_c.d", 0, "~a-b_c.d");
    check_encode("\x7f\x80\xff", 0, "%7F%80%FF");
}

static void test_canonical_query(void)
{
    /* encoded first, then sorted: "%2B" sorts before "A", and a bare name
     * gets "=" */
    ak_sigv4_pair q[] = {{"prefix", "systems/a b+c"}, {"list-type", "2"}, {"+", ""},
                         {"continuation-token", "ab//c+d="}, {"A", "x"}};
    ak_buf b = {0};
    CHECK_INT(ak_sigv4_canonical_query(&b, q, 5), AK_OK);
    CHECK_STR(b.data, "%2B=&A=x&continuation-token=ab%2F%2Fc%2Bd%3D&list-type=2&"
                      "prefix=systems%2Fa%20b%2Bc");
    ak_buf_free(&b);
}

static void test_bad_date(void)
{
    ak_sigv4_pair h[] = {{"Host", "h"}};
    ak_sigv4_request req = {"GET", "/", NULL, 0, h, 1, EMPTY_SHA256};
    ak_sigv4_result r;
    static const char *const bad[] = {"", "20150830T123600", "20150830 123600Z",
                                      "2015083OT123600Z", "20150830T123600Z0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(ak_sigv4_sign(&req, &suite_cred, bad[i], &r), AK_ERR_INVALID);
        ak_sigv4_result_free(&r);
    }
}

static void test_date(void)
{
    char d[AK_SIGV4_DATE_LEN];
    ak_sigv4_date(1440938160, d); /* 2015-08-30T12:36:00Z */
    CHECK_STR(d, SUITE_DATE);
    ak_sigv4_date(0, d);
    CHECK_STR(d, "19700101T000000Z");
}

int main(void)
{
    RUN(test_aws_suite);
    RUN(test_suite_string_to_sign);
    RUN(test_s3_get_object);
    RUN(test_s3_put_object);
    RUN(test_s3_bucket_requests);
    RUN(test_encode);
    RUN(test_canonical_query);
    RUN(test_bad_date);
    RUN(test_date);
    return test_report("sigv4");
}
