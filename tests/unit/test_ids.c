/* test_ids.c - util/ids (system ids, upload ids, payload file names: SPEC
 * sections 2-3) and storage/shard (routing and shard paths). */
#include "util/ids.h"
#include "storage/shard.h"
#include "test.h"

#include <stdint.h>

/* A string of n copies of c (n < 512), for the length rules. */
static const char *rep(char c, size_t n)
{
    static char buf[4][512];
    static int slot;
    char *s = buf[slot++ % 4];
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Shell metacharacters and other bytes no id may hold. */
static const char meta[] = ";|&$()<>*?'\"`\\ \t\n\r/~!#%^={}[],:@+";

static void check_bad_system(const char *id, const char *label)
{
    const char *why = NULL;
    int ok = ak_id_system_valid(id, &why);
    if (ok || !why || !*why)
        fprintf(stderr, "  system id %s: valid %d, why %s\n", label, ok, why ? why : "(null)");
    CHECK(!ok && why && *why);
    CHECK(!ak_id_system_valid(id, NULL));
}

static void check_bad_upload(const char *id, const char *label)
{
    const char *why = NULL;
    int ok = ak_id_upload_valid(id, &why);
    if (ok || !why || !*why)
        fprintf(stderr, "  upload id %s: valid %d, why %s\n", label, ok, why ? why : "(null)");
    CHECK(!ok && why && *why);
    CHECK(!ak_id_upload_valid(id, NULL));
}

static void check_bad_file(const char *name, size_t len, const char *label)
{
    const char *why = NULL;
    int ok = ak_id_file_valid(name, len, &why);
    if (ok || !why || !*why)
        fprintf(stderr, "  file name %s: valid %d, why %s\n", label, ok, why ? why : "(null)");
    CHECK(!ok && why && *why);
    CHECK(!ak_id_file_valid(name, len, NULL));
}

static void test_system_ids_good(void)
{
    static const char *good[] = {
        "a", "Z", "0", "_", "-", "sys0001", "my-laptop", "build_server-7",
        "SessionBuddy_MacBook-Pro", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
        "Les-MacBook-Pro.local", "build-03.ci.example.com", "a.b", "v1.0", "x.", "host.",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        const char *why = "unset";
        int ok = ak_id_system_valid(good[i], &why);
        if (!ok)
            fprintf(stderr, "  system id \"%s\" rejected: %s\n", good[i], why);
        CHECK(ok);
        CHECK(ak_id_system_valid(good[i], NULL));
    }
    CHECK(ak_id_system_valid(rep('x', 253), NULL));
    CHECK(ak_id_system_valid(rep('9', 253), NULL));
}

static void test_system_ids_bad(void)
{
    static const char *bad[] = {
        "", ".", "..", "...", ".hidden", ".a.b", "a..b", "host..local", "../etc", "a/b", "/", "~", "~root", "a b", " a", "a ",
        "caf\xC3\xA9", "\xE2\x80\x8B", "\xFF", "a\x01", "a\x7F", "x\xEF\xBC\x8F",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_bad_system(bad[i], bad[i]);
    char s[4] = {'a', 0, 'b', 0};
    for (const char *m = meta; *m; m++) {
        s[1] = *m;
        check_bad_system(s, s);
    }
    check_bad_system(rep('x', 254), "254 x");
    check_bad_system(rep('x', 256), "256 x");
    check_bad_system(NULL, "NULL");
    const char *why = NULL;
    CHECK(!ak_id_system_valid("a/b", &why));
    CHECK_HAS(why, "/");
    CHECK(!ak_id_system_valid(rep('x', 254), &why));
    CHECK_HAS(why, "253");
    CHECK(!ak_id_system_valid("", &why));
    CHECK_HAS(why, "empty");
    CHECK(!ak_id_system_valid(".local", &why));
    CHECK_HAS(why, "starts with '.'");
    CHECK(!ak_id_system_valid("a..b", &why));
    CHECK_HAS(why, "..");
}

/* The request-field form: the caller's prefix and field name in each
 * message, the id copied only when valid. */
static void test_system_id_field(void)
{
    char sid[AK_SYSTEM_ID_MAX + 1] = "", why[200];
    CHECK(ak_id_system_field("host-1.local", "p: ", "metadata.source", NULL, sid, why, sizeof why));
    CHECK_STR(sid, "host-1.local");
    sid[0] = '\0';
    CHECK(!ak_id_system_field(NULL, "bad_source: ", "metadata.source", NULL, sid, why, sizeof why));
    CHECK_STR(why, "bad_source: metadata.source is required: the system's id (its host name)");
    CHECK(!ak_id_system_field(NULL, "", "a.b", "c.d", sid, why, sizeof why));
    CHECK_STR(why, "a.b (or c.d) is required: the system's id (its host name)");
    CHECK(!ak_id_system_field("x/y", "", "a.b", "c.d", sid, why, sizeof why));
    CHECK_STR(why, "a.b \"x/y\": contains '/'");
    CHECK_STR(sid, "");
}

static void test_upload_ids_good(void)
{
    static const char *good[] = {
        "20250131_101500_laptop", "a", "0", "v1.2.3", "a.b-c_d", "upload.json", "a.b.c",
        "-", "_", "x.", ".x",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        const char *why = "unset";
        int ok = ak_id_upload_valid(good[i], &why);
        if (!ok)
            fprintf(stderr, "  upload id \"%s\" rejected: %s\n", good[i], why);
        CHECK(ok);
    }
    CHECK(ak_id_upload_valid(rep('u', 100), NULL));
}

static void test_upload_ids_bad(void)
{
    static const char *bad[] = {
        "", "..", "...", "a..b", "../x", "x/..", "a/b", "/", "~", "a~", "a b", "caf\xC3\xA9",
        "\xC0\xAE\xC0\xAE", "up\xFF", "a\x01", "x\\y",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_bad_upload(bad[i], bad[i]);
    char s[4] = {'a', 0, 'b', 0};
    for (const char *m = meta; *m; m++) {
        s[1] = *m;
        check_bad_upload(s, s);
    }
    check_bad_upload(rep('u', 101), "101 u");
    check_bad_upload(NULL, "NULL");
    const char *why = NULL;
    CHECK(!ak_id_upload_valid("a..b", &why));
    CHECK_HAS(why, "..");
    CHECK(!ak_id_upload_valid(rep('u', 101), &why));
    CHECK_HAS(why, "100");
}

static void test_file_names_good(void)
{
    static const char *good[] = {
        "memories.json", "memories.jsonl", "part-0001.ndjson", "a", "x.y.z", "UPPER_case-1.JSON",
        ".hidden", "trailing.",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        const char *why = "unset";
        int ok = ak_id_file_valid(good[i], strlen(good[i]), &why);
        if (!ok)
            fprintf(stderr, "  file name \"%s\" rejected: %s\n", good[i], why);
        CHECK(ok);
    }
    CHECK(ak_id_file_valid(rep('f', 255), 255, NULL));
    CHECK(ak_id_file_valid(rep('f', 101), 101, NULL)); /* longer than ids may be */
    /* len, not the NUL, bounds the name */
    CHECK(ak_id_file_valid("memories.json/../../etc", 13, NULL));
}

static void test_file_names_bad(void)
{
    static const char *bad[] = {
        "..", "...", "a..json", "../memories.json", "/etc/passwd", "dir/file.json", "~",
        "~backup.json", "file.json~", "my file.json", "caf\xC3\xA9.json", "\xEF\xBC\x8E\xEF\xBC\x8E",
        "x\xFF", "a\x01", "a\\b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_bad_file(bad[i], strlen(bad[i]), bad[i]);
    char s[4] = {'a', 0, 'b', 0};
    for (const char *m = meta; *m; m++) {
        s[1] = *m;
        check_bad_file(s, 3, s);
    }
    check_bad_file("", 0, "empty");
    check_bad_file(NULL, 0, "NULL");
    check_bad_file(rep('f', 256), 256, "256 f");
    check_bad_file(rep('f', 300), 300, "300 f");
    check_bad_file("a\0b.json", 8, "NUL inside");
    check_bad_file("memories.json\0", 14, "NUL at end");
    check_bad_file("\0", 1, "NUL only");
    const char *why = NULL;
    CHECK(!ak_id_file_valid("a\0b", 3, &why));
    CHECK_HAS(why, "NUL");
    CHECK(!ak_id_file_valid("a~", 2, &why));
    CHECK_HAS(why, "~");
    CHECK(!ak_id_file_valid(rep('f', 256), 256, &why));
    CHECK_HAS(why, "255");
}

/* ---- shards ---- */

/* be32(SHA-256(id)[0..3]) and its residues, computed with Python's hashlib:
 *   int.from_bytes(hashlib.sha256(id).digest()[:4], 'big') % n */
static const struct {
    const char *id;
    uint32_t be32;
    uint32_t mod256, mod16, mod1000, mod4096, mod65536;
} known[] = {
    {"sys0001", 2252742286u, 142, 14, 286, 3726, 7822},
    {"sys0002", 774873960u, 104, 8, 960, 872, 41832},
    {"sys0003", 1780054649u, 121, 9, 649, 2681, 31353},
    {"a", 3398926610u, 18, 2, 610, 274, 33042},
    {"Z", 3152985479u, 135, 7, 479, 3463, 48519},
    {"0", 1609362278u, 102, 6, 278, 2918, 60262},
    {"my-laptop", 3057616675u, 35, 3, 675, 1827, 34595},
    {"build_server-7", 2655746252u, 204, 12, 252, 2252, 30924},
    {"SessionBuddy_MacBook-Pro", 917157895u, 7, 7, 895, 2055, 47111},
    {"node-042", 1124171333u, 69, 5, 333, 3653, 32325},
    {"A-b_C", 3880275759u, 47, 15, 759, 3887, 20271},
    {"20250131_101500_laptop", 556994024u, 232, 8, 24, 3560, 3560},
};

static void test_shard_of_known(void)
{
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        const char *id = known[i].id;
        CHECK_INT(ak_shard_of(id, 256), known[i].mod256);
        CHECK_INT(ak_shard_of(id, AK_DEFAULT_SHARDS), known[i].mod256);
        CHECK_INT(ak_shard_of(id, 16), known[i].mod16);
        CHECK_INT(ak_shard_of(id, 1), 0);
        CHECK_INT(ak_shard_of(id, 1000), known[i].mod1000);
        CHECK_INT(ak_shard_of(id, 4096), known[i].mod4096);
        CHECK_INT(ak_shard_of(id, AK_MAX_SHARDS), known[i].mod65536);
        CHECK_INT(ak_shard_of(id, UINT32_MAX), known[i].be32 % UINT32_MAX);
    }
    CHECK_INT(ak_shard_of(rep('x', 100), 256), 235);
    CHECK_INT(ak_shard_of(rep('x', 100), 1000), 267);
    /* 253 x's: the longest valid id; host names route like any id */
    CHECK_INT(ak_shard_of(rep('x', 253), 256), 189);
    CHECK_INT(ak_shard_of(rep('x', 253), 1000), 869);
    CHECK_INT(ak_shard_of("Les-MacBook-Pro.local", 256), 210);
    CHECK_INT(ak_shard_of("build-03.ci.example.com", 1000), 353);
}

static void test_shard_db_relpath(void)
{
    char out[256];
    static const struct { const char *id; uint32_t n; const char *want; } t[] = {
        {"sys0001", 256, "shard_142/sys0001.db"},
        {"SessionBuddy_MacBook-Pro", 256, "shard_007/SessionBuddy_MacBook-Pro.db"},
        {"a", 256, "shard_018/a.db"},
        {"my-laptop", 16, "shard_003/my-laptop.db"},
        {"sys0002", 1, "shard_000/sys0002.db"},
        {"sys0001", 1000, "shard_286/sys0001.db"},
        {"20250131_101500_laptop", 1000, "shard_024/20250131_101500_laptop.db"},
        {"sys0001", 4096, "shard_3726/sys0001.db"},
        {"sys0002", 65536, "shard_41832/sys0002.db"},
        {"Les-MacBook-Pro.local", 256, "shard_210/Les-MacBook-Pro.local.db"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        memset(out, '#', sizeof out);
        int n = ak_shard_db_relpath(t[i].id, t[i].n, out, sizeof out);
        CHECK_STR(out, t[i].want);
        CHECK_INT(n, strlen(t[i].want));
    }
    /* exact fit, and one byte short */
    const char *want = "shard_142/sys0001.db";
    size_t len = strlen(want);
    CHECK_INT(ak_shard_db_relpath("sys0001", 256, out, len + 1), len);
    CHECK_STR(out, want);
    CHECK_INT(ak_shard_db_relpath("sys0001", 256, out, len), -1);
    CHECK_INT(ak_shard_db_relpath("sys0001", 256, out, 1), -1);
}

/* Ids longer than AK_SHARD_STEM_MAX are split so that no file name (with
 * the suffixes SQLite and reingest add) passes 255 bytes. */
static void test_shard_db_relpath_long(void)
{
    char out[512], want[512];
    CHECK_INT(ak_shard_db_relpath(rep('x', AK_SHARD_STEM_MAX), 1, out, sizeof out),
              (long)strlen("shard_000/.db") + AK_SHARD_STEM_MAX);
    CHECK(!strchr(out, '~'));
    ak_shard_db_relpath(rep('x', 253), 256, out, sizeof out);
    snprintf(want, sizeof want, "shard_189/%s~/%s.db", rep('x', AK_SHARD_SPLIT),
             rep('x', 253 - AK_SHARD_SPLIT));
    CHECK_STR(out, want);
    CHECK(strlen(strrchr(out, '/') + 1) + strlen(".replaced-20261205T015959Z-99-wal") <= 255);
}

/* No valid id can name a path outside its shard directory, whatever it
 * holds: random strings over the characters that matter (dots, slashes,
 * '~', NUL-free) of every length up to past the limit, each either refused
 * or placed as one or two plain segments under shard_NNN/. */
static void test_ids_cannot_escape(void)
{
    static const char plain[] = "aZ9-_";
    uint32_t seed = 12345;
    int valid = 0, split = 0;
    for (int i = 0; i < 200000; i++) {
        char id[300], rel[600];
        size_t len = 1 + (seed = seed * 1103515245u + 12345u) % 260;
        for (size_t k = 0; k < len; k++) {
            uint32_t r = (seed = seed * 1103515245u + 12345u) >> 8;
            int hostile = i & 1; /* half of them: dots only, so long ids are valid too */
            id[k] = hostile && r % 64 == 0   ? '/'
                    : hostile && r % 64 == 1 ? '~'
                    : r % 64 < 6            ? '.'
                                            : plain[(r >> 8) % 5];
        }
        id[len] = '\0';
        if (!ak_id_system_valid(id, NULL))
            continue;
        valid++;
        split += strlen(id) > AK_SHARD_STEM_MAX;
        CHECK(ak_shard_db_relpath(id, 256, rel, sizeof rel) > 0);
        CHECK(rel[0] != '/' && !strstr(rel, "/../") && !strstr(rel, "/./") && !strstr(rel, "//"));
        int slashes = 0;
        for (const char *c = rel; *c; c++)
            slashes += *c == '/';
        CHECK(slashes == 1 || (slashes == 2 && strlen(id) > AK_SHARD_STEM_MAX));
        for (const char *seg = strchr(rel, '/') + 1; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
            CHECK(strncmp(seg, "./", 2) && strncmp(seg, "../", 3) && strcspn(seg, "/") <= 255 - 40);
    }
    CHECK(valid > 1000 && split > 100);
}

static void test_shard_dirname(void)
{
    static const struct { uint32_t shard; const char *want; } t[] = {
        {0, "shard_000"}, {7, "shard_007"}, {42, "shard_042"}, {99, "shard_099"},
        {255, "shard_255"}, {999, "shard_999"}, {1000, "shard_1000"}, {65535, "shard_65535"},
    };
    char out[32];
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        int n = ak_shard_dirname(t[i].shard, out, sizeof out);
        CHECK_STR(out, t[i].want);
        CHECK_INT(n, strlen(t[i].want));
    }
    CHECK_INT(ak_shard_dirname(42, out, 10), 9);
    CHECK_STR(out, "shard_042");
    CHECK_INT(ak_shard_dirname(42, out, 9), -1);
    CHECK_INT(ak_shard_dirname(1000, out, 10), -1);
    /* the db path's directory is the dirname of the routed shard */
    char path[128], dir[32];
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        ak_shard_db_relpath(known[i].id, 256, path, sizeof path);
        int n = ak_shard_dirname(ak_shard_of(known[i].id, 256), dir, sizeof dir);
        CHECK(n > 0 && strncmp(path, dir, (size_t)n) == 0 && path[n] == '/');
    }
}

static void test_shard_spread(void)
{
    static int count[256];
    char id[32];
    long inconsistent = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof id, "system-%05d", i);
        uint32_t s = ak_shard_of(id, 256);
        CHECK(s < 256);
        if (s < 256)
            count[s]++;
        /* the same be32 underlies every N: 256 and 16 divide 65536 */
        uint32_t big = ak_shard_of(id, 65536);
        inconsistent += big % 256 != s || big % 16 != ak_shard_of(id, 16) ||
                        ak_shard_of(id, 1) != 0 || ak_shard_of(id, 1000) >= 1000;
    }
    int empty = 0, max = 0;
    for (int s = 0; s < 256; s++) {
        empty += count[s] == 0;
        if (count[s] > max)
            max = count[s];
    }
    CHECK_INT(empty, 0);
    CHECK_INT(inconsistent, 0);
    CHECK(max < 80); /* mean 39: a far worse maximum means a broken hash */
}

int main(void)
{
    RUN(test_system_ids_good);
    RUN(test_system_ids_bad);
    RUN(test_system_id_field);
    RUN(test_upload_ids_good);
    RUN(test_upload_ids_bad);
    RUN(test_file_names_good);
    RUN(test_file_names_bad);
    RUN(test_shard_of_known);
    RUN(test_shard_db_relpath);
    RUN(test_shard_db_relpath_long);
    RUN(test_ids_cannot_escape);
    RUN(test_shard_dirname);
    RUN(test_shard_spread);
    return test_report("ids");
}
