/*
 * fuzz_manifest.c - libFuzzer target for ak_manifest_parse() (SPEC section 3).
 *
 * The whole input is one manifest.json, parsed against a fixed clock
 * (FUZZ_NOW_US, 2026-01-01T00:00:00Z).  Beyond "no crash, no leak", an
 * accepted manifest must satisfy every rule of the contract; the input is
 * parsed a second time with the plain JSON parser to learn what was given
 * (is "files" an empty list? which checksum?) and to compare with it.
 *
 * Run with scripts/fuzz.sh manifest [seconds].
 */
#include "fuzz_common.h"

#include "ingest/manifest.h"
#include "util/ids.h"

static const char *const field_names[] = {
    "uploaded_at", "conversation_count", "total_size_bytes", "version",
    "system_type", "checksum", "compressed", "compression_format", "files",
    "metadata", "timestamp", "system_id", "upload_id", "manifest", "invalid JSON",
    "JSON too large"};

static int starts_with_field(const char *msg)
{
    for (size_t i = 0; i < sizeof field_names / sizeof *field_names; i++)
        if (strncmp(msg, field_names[i], strlen(field_names[i])) == 0)
            return 1;
    return 0;
}

static size_t code_points(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static void check_accepted(const ak_manifest *m, const char *text, size_t len)
{
    FUZZ_CHECK(m->uploaded_at_us <= FUZZ_NOW_US + 5 * 60 * AK_US_PER_SEC &&
                   m->uploaded_at_us >= FUZZ_NOW_US - 365 * AK_US_PER_DAY,
               "uploaded_at %lld outside [now - 365 d, now + 5 min]",
               (long long)m->uploaded_at_us);
    fuzz_check_time_roundtrip(m->uploaded_at_us);
    FUZZ_CHECK(m->conversation_count >= -1 &&
                   m->conversation_count <= AK_MANIFEST_MAX_CONVERSATIONS,
               "conversation_count %lld", (long long)m->conversation_count);
    FUZZ_CHECK(m->total_size_bytes == -1 ||
                   (m->total_size_bytes >= 0 &&
                    m->total_size_bytes <= AK_MANIFEST_MAX_TOTAL_SIZE),
               "total_size_bytes %lld", (long long)m->total_size_bytes);
    FUZZ_CHECK((unsigned)m->codec <= AK_CODEC_LZ4, "codec %d", (int)m->codec);

    /* version: ^\d+\.\d+$ with major 1 */
    size_t vlen = strnlen(m->version, sizeof m->version);
    FUZZ_CHECK(vlen < sizeof m->version, "version not NUL-terminated");
    const char *dot = strchr(m->version, '.');
    FUZZ_CHECK(dot && dot > m->version && dot[1] &&
                   strspn(m->version, "0123456789") == (size_t)(dot - m->version) &&
                   strspn(dot + 1, "0123456789") == strlen(dot + 1) &&
                   strtoul(m->version, NULL, 10) == 1,
               "version \"%s\"", m->version);

    if (m->system_type) {
        size_t n = strlen(m->system_type), cp = code_points(m->system_type, n);
        FUZZ_CHECK(cp >= 1 && cp <= 50, "system_type has %zu characters", cp);
        FUZZ_CHECK(ak_utf8_valid(m->system_type, n), "system_type is not UTF-8");
    }
    if (m->metadata) {
        size_t n = strlen(m->metadata);
        FUZZ_CHECK(n >= 2 && m->metadata[0] == '{' && m->metadata[n - 1] == '}',
                   "metadata is not an object's text");
    }

    FUZZ_CHECK(m->n_files <= AK_MANIFEST_MAX_FILES, "n_files %zu", m->n_files);
    for (size_t i = 0; i < m->n_files; i++) {
        const char *why = NULL;
        const ak_manifest_file *mf = &m->files[i];
        FUZZ_CHECK(mf->name != NULL, "files[%zu] is NULL", i);
        FUZZ_CHECK(ak_id_file_valid(mf->name, strlen(mf->name), &why),
                   "files[%zu] \"%s\" is not a valid name: %s", i, mf->name, why ? why : "?");
        FUZZ_CHECK(strcmp(mf->name, "manifest.json") != 0, "the manifest listed as a payload");
        FUZZ_CHECK((unsigned)mf->codec <= AK_CODEC_LZ4, "files[%zu] codec %d", i, (int)mf->codec);
        FUZZ_CHECK(mf->size_bytes == -1 || (mf->size_bytes > 0 &&
                                            mf->size_bytes <= AK_MANIFEST_MAX_TOTAL_SIZE),
                   "files[%zu] size_bytes %lld", i, (long long)mf->size_bytes);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(mf->name, m->files[j].name) != 0, "files[%zu] repeated", i);
    }

    /* Compare with what the document says. */
    ak_json_doc *doc = ak_json_doc_new();
    FUZZ_CHECK(doc != NULL, "out of memory");
    const ak_json *root = NULL;
    ak_err e;
    FUZZ_CHECK(ak_json_parse(doc, text, len, &root, &e) == AK_OK,
               "manifest accepted but its JSON does not parse: %s", e.msg);
    FUZZ_CHECK(root->type == AK_JSON_OBJECT, "manifest accepted but not an object");

    const ak_json *files = ak_json_get(root, "files");
    if (files && files->type == AK_JSON_NULL)
        files = NULL;
    if (!files) {
        FUZZ_CHECK(m->n_files == 1 && strcmp(m->files[0].name, "memories.json") == 0,
                   "files absent but not [\"memories.json\"]");
    } else {
        FUZZ_CHECK(files->type == AK_JSON_ARRAY, "files accepted as a non-list");
        /* Every entry but the manifest itself, in order, by name. */
        size_t i = 0;
        for (const ak_json *f = files->first; f; f = f->next) {
            const ak_json *name = f->type == AK_JSON_OBJECT ? ak_json_get(f, "name") : f;
            FUZZ_CHECK(name && name->type == AK_JSON_STRING, "files entry without a name accepted");
            if (name->str_len == strlen("manifest.json") &&
                memcmp(name->str, "manifest.json", name->str_len) == 0)
                continue;
            FUZZ_CHECK(i < m->n_files, "files lists more payloads than n_files %zu", m->n_files);
            FUZZ_CHECK(name->str_len == strlen(m->files[i].name) &&
                           memcmp(name->str, m->files[i].name, name->str_len) == 0,
                       "files[%zu] differs from the document", i);
            if (f->type == AK_JSON_STRING)
                FUZZ_CHECK(m->files[i].codec == m->codec && !m->files[i].has_checksum &&
                               m->files[i].size_bytes == -1,
                           "files[%zu], a plain name, has settings of its own", i);
            i++;
        }
        FUZZ_CHECK(i == m->n_files, "n_files %zu but files lists %zu payloads", m->n_files, i);
    }
    const ak_json *ua = ak_json_get(root, "uploaded_at");
    if (ua && ua->type != AK_JSON_NULL)
        FUZZ_CHECK(m->conversation_count >= 0, "Akosha's form without conversation_count");

    const ak_json *st = ak_json_get(root, "system_type");
    if (m->system_type)
        FUZZ_CHECK(st && st->type == AK_JSON_STRING && st->str_len == strlen(m->system_type) &&
                       memcmp(st->str, m->system_type, st->str_len) == 0,
                   "system_type \"%s\" is not what the document says", m->system_type);

    const ak_json *compressed = ak_json_get(root, "compressed");
    int is_compressed = compressed && compressed->type == AK_JSON_TRUE;
    FUZZ_CHECK(is_compressed == (m->codec != AK_CODEC_NONE),
               "compressed %d but codec %d", is_compressed, (int)m->codec);

    const ak_json *ck = ak_json_get(root, "checksum");
    FUZZ_CHECK(m->has_checksum == (ck && ck->type != AK_JSON_NULL),
               "has_checksum %d disagrees with the document", m->has_checksum);
    if (m->has_checksum) {
        char hex[AK_SHA256_HEX];
        ak_hex(m->checksum, AK_SHA256_LEN, hex);
        FUZZ_CHECK(ck->str_len == 64 && memcmp(hex, ck->str, 64) == 0,
                   "checksum %s is not the document's", hex);
    }
    ak_json_doc_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ak_manifest m;
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_manifest_parse((const char *)data, size, FUZZ_NOW_US, &m, &e);
    if (rc == AK_OK) {
        check_accepted(&m, (const char *)data, size);
    } else {
        FUZZ_CHECK(rc == e.code, "returned %d, err.code %d", (int)rc, (int)e.code);
        FUZZ_CHECK(rc == AK_ERR_INVALID || rc == AK_ERR_NOMEM, "unexpected code %d: %s",
                   (int)rc, e.msg);
        if (rc == AK_ERR_INVALID)
            FUZZ_CHECK(starts_with_field(e.msg),
                       "rejection message does not name the field: \"%s\"", e.msg);
        FUZZ_CHECK(m.files == NULL && m.n_files == 0 && m.system_type == NULL &&
                       m.metadata == NULL && m.system_id == NULL && m.upload_id == NULL,
                   "a failed parse left allocations in the struct");
    }
    ak_manifest_free(&m);
    ak_manifest_free(&m); /* must be safe on a freed (zeroed) struct */
    return 0;
}
