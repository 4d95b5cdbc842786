/*
 * manifest.c - see manifest.h.  One small function per field keeps each
 * rule next to its error message; ak_manifest_parse() just runs them in
 * order and stops at the first broken rule.
 */
#include "ingest/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ids.h"
#include "util/json.h"
#include "util/time.h"

#define FUTURE_SLACK_US (5 * 60 * AK_US_PER_SEC)
#define MAX_AGE_US (365 * AK_US_PER_DAY)

static const char *const known_fields[] = {
    "uploaded_at", "conversation_count", "total_size_bytes", "version",
    "system_type", "checksum", "compressed", "compression_format", "files",
    "metadata", "timestamp", "system_id", "upload_id"};

/* A field that is absent or null. */
static const ak_json *field(const ak_json *root, const char *name)
{
    const ak_json *v = ak_json_get(root, name);
    return v && v->type != AK_JSON_NULL ? v : NULL;
}

static ak_code bad(ak_err *e, const char *fieldname, const char *why)
{
    return ak_err_set(e, AK_ERR_INVALID, "%s: %s", fieldname, why);
}

/* A known field given twice is ambiguous (which one did the sender mean?). */
static ak_code check_duplicates(const ak_json *root, ak_err *e)
{
    for (size_t i = 0; i < sizeof known_fields / sizeof *known_fields; i++) {
        int seen = 0;
        size_t n = strlen(known_fields[i]);
        for (const ak_json *k = root->first; k; k = k->next)
            if (k->key_len == n && memcmp(k->key, known_fields[i], n) == 0)
                seen++;
        if (seen > 1)
            return bad(e, known_fields[i], "given more than once");
    }
    return AK_OK;
}

/* uploaded_at, or Session-Buddy's timestamp in its place.  Sets *sb when
 * the manifest is in Session-Buddy's form. */
static ak_code parse_uploaded_at(const ak_json *root, int64_t now, ak_manifest *m, int *sb,
                                 ak_err *e)
{
    const char *name = "uploaded_at";
    const ak_json *v = field(root, name);
    if (!v && (v = field(root, "timestamp")))
        name = "timestamp", *sb = 1;
    if (!v)
        return bad(e, "uploaded_at", "required field is missing");
    if (v->type != AK_JSON_STRING || !ak_time_parse(v->str, v->str_len, &m->uploaded_at_us))
        return bad(e, name, "not an ISO-8601 time");
    if (m->uploaded_at_us > now + FUTURE_SLACK_US)
        return bad(e, name, "more than 5 minutes in the future");
    if (m->uploaded_at_us < now - MAX_AGE_US)
        return bad(e, name, "older than 365 days");
    return AK_OK;
}

/* system_id / upload_id: optional, but a valid id when given. */
static ak_code parse_id(const ak_json *root, const char *name,
                        int (*valid)(const char *, const char **), char **out, ak_err *e)
{
    const ak_json *v = field(root, name);
    const char *why = NULL;
    if (!v)
        return AK_OK;
    if (v->type != AK_JSON_STRING)
        return bad(e, name, "must be a string");
    if (strlen(v->str) != v->str_len || !valid(v->str, &why))
        return ak_err_set(e, AK_ERR_INVALID, "%s: not a valid id (%s)", name,
                          why ? why : "contains a NUL character");
    if (!(*out = strdup(v->str)))
        return ak_err_set(e, AK_ERR_NOMEM, "out of memory");
    return AK_OK;
}

static ak_code parse_int_field(const ak_json *root, const char *name, int required,
                               int64_t max, int64_t *out, ak_err *e)
{
    const ak_json *v = field(root, name);
    char why[96];
    if (!v)
        return required ? bad(e, name, "required field is missing") : AK_OK;
    if (!ak_json_int64(v, out))
        return bad(e, name, "must be an integer");
    if (*out < 0 || *out > max) {
        snprintf(why, sizeof why, "must be between 0 and %lld", (long long)max);
        return bad(e, name, why);
    }
    return AK_OK;
}

/* ^\d+\.\d+$ with major version 1. */
static ak_code parse_version(const ak_json *root, ak_manifest *m, ak_err *e)
{
    const ak_json *v = field(root, "version");
    strcpy(m->version, "1.0");
    if (!v)
        return AK_OK;
    if (v->type != AK_JSON_STRING)
        return bad(e, "version", "must be a string");
    size_t n = v->str_len, i = 0, major_digits = 0, minor_digits = 0;
    unsigned long major = 0;
    while (i < n && v->str[i] >= '0' && v->str[i] <= '9') {
        if (major < 1000)
            major = major * 10 + (unsigned long)(v->str[i] - '0');
        i++, major_digits++;
    }
    if (i < n && v->str[i] == '.')
        for (i++; i < n && v->str[i] >= '0' && v->str[i] <= '9'; i++)
            minor_digits++;
    if (!major_digits || !minor_digits || i != n || n >= sizeof m->version)
        return bad(e, "version", "must look like \"1.0\"");
    if (major != 1)
        return bad(e, "version", "major version must be 1");
    memcpy(m->version, v->str, n + 1);
    return AK_OK;
}

/* 1-50 characters, counted as Unicode code points. */
static ak_code parse_system_type(const ak_json *root, ak_manifest *m, ak_err *e)
{
    const ak_json *v = field(root, "system_type");
    if (!v)
        return AK_OK;
    if (v->type != AK_JSON_STRING)
        return bad(e, "system_type", "must be a string");
    size_t chars = 0;
    for (size_t i = 0; i < v->str_len; i++)
        chars += ((unsigned char)v->str[i] & 0xC0) != 0x80;
    if (chars < 1 || chars > 50)
        return bad(e, "system_type", "must be 1 to 50 characters");
    if (memchr(v->str, '\0', v->str_len))
        return bad(e, "system_type", "contains a NUL character");
    if (!(m->system_type = strdup(v->str)))
        return ak_err_set(e, AK_ERR_NOMEM, "out of memory");
    return AK_OK;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 64 lowercase hex digits into out; 0 when v is not that. */
static int sha256_hex(const ak_json *v, uint8_t *out)
{
    if (v->type != AK_JSON_STRING || v->str_len != 64)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(v->str[2 * i]), lo = hexval(v->str[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

static ak_code parse_checksum(const ak_json *root, ak_manifest *m, ak_err *e)
{
    const ak_json *v = field(root, "checksum");
    if (!v)
        return AK_OK;
    if (!sha256_hex(v, m->checksum))
        return bad(e, "checksum", "must be 64 lowercase hex digits (SHA-256)");
    m->has_checksum = 1;
    return AK_OK;
}

static ak_code parse_compression(const ak_json *root, ak_manifest *m, ak_err *e)
{
    const ak_json *c = field(root, "compressed"), *f = field(root, "compression_format");
    int compressed = 0;
    if (c) {
        if (c->type != AK_JSON_TRUE && c->type != AK_JSON_FALSE)
            return bad(e, "compressed", "must be true or false");
        compressed = c->type == AK_JSON_TRUE;
    }
    m->codec = AK_CODEC_NONE;
    if (!compressed)
        return f ? bad(e, "compression_format", "given but compressed is not true") : AK_OK;
    if (!f)
        return bad(e, "compression_format", "required when compressed is true");
    int codec = f->type == AK_JSON_STRING ? ak_codec_from_name(f->str) : -1;
    if (codec < 0 || strlen(f->str) != f->str_len)
        return bad(e, "compression_format", "must be \"gzip\", \"zstd\" or \"lz4\"");
    m->codec = (ak_codec)codec;
    return AK_OK;
}

static ak_code add_file(ak_manifest *m, const char *name, size_t len,
                        const ak_manifest_file *how, ak_err *e)
{
    const char *why;
    if (!ak_id_file_valid(name, len, &why))
        return ak_err_set(e, AK_ERR_INVALID, "files: name \"%.*s\" %s",
                          (int)(len > 64 ? 64 : len), name, why);
    if (strcmp(name, "manifest.json") == 0)
        return AK_OK; /* the manifest itself, listed by some Session-Buddy versions */
    for (size_t i = 0; i < m->n_files; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return ak_err_set(e, AK_ERR_INVALID, "files: \"%s\" listed twice", name);
    ak_manifest_file *f = &m->files[m->n_files];
    *f = *how;
    if (!(f->name = strdup(name)))
        return ak_err_set(e, AK_ERR_NOMEM, "out of memory");
    m->n_files++;
    return AK_OK;
}

/* A file given as an object (Session-Buddy's form).  size_bytes 0 and an
 * empty checksum are what Session-Buddy writes when it did not compute
 * them: "not given". */
static ak_code parse_file_object(const ak_json *o, ak_manifest *m, ak_err *e)
{
    const ak_json *name = field(o, "name"), *size = field(o, "size_bytes"),
                  *comp = field(o, "compression"), *sum = field(o, "checksum");
    ak_manifest_file how = {.codec = m->codec, .size_bytes = -1};
    if (!name || name->type != AK_JSON_STRING)
        return bad(e, "files", "each object needs a \"name\" string");
    if (size && (!ak_json_int64(size, &how.size_bytes) || how.size_bytes < 0 ||
                 how.size_bytes > AK_MANIFEST_MAX_TOTAL_SIZE))
        return ak_err_set(e, AK_ERR_INVALID, "files: %.64s: size_bytes must be an integer "
                          "between 0 and %lld", name->str, (long long)AK_MANIFEST_MAX_TOTAL_SIZE);
    if (how.size_bytes == 0)
        how.size_bytes = -1;
    if (comp) {
        int codec = comp->type != AK_JSON_STRING ? -1
                    : strcmp(comp->str, "none") == 0 ? AK_CODEC_NONE
                                                      : ak_codec_from_name(comp->str);
        if (codec < 0 || strlen(comp->str) != comp->str_len)
            return ak_err_set(e, AK_ERR_INVALID, "files: %.64s: compression must be "
                              "\"none\", \"gzip\", \"zstd\" or \"lz4\"", name->str);
        how.codec = (ak_codec)codec;
    }
    if (sum && !(sum->type == AK_JSON_STRING && sum->str_len == 0)) {
        if (!sha256_hex(sum, how.checksum))
            return ak_err_set(e, AK_ERR_INVALID, "files: %.64s: checksum must be empty or "
                              "64 lowercase hex digits (SHA-256)", name->str);
        how.has_checksum = 1;
    }
    return add_file(m, name->str, name->str_len, &how, e);
}

static ak_code parse_files(const ak_json *root, ak_manifest *m, ak_err *e)
{
    const ak_json *v = field(root, "files");
    const ak_manifest_file plain = {.codec = m->codec, .size_bytes = -1};
    if (v && v->type != AK_JSON_ARRAY)
        return bad(e, "files", "must be a list of names or objects");
    size_t n = v ? v->n_kids : 1;
    if (n > AK_MANIFEST_MAX_FILES)
        return bad(e, "files", "more than 10000 files");
    if (!(m->files = calloc(n ? n : 1, sizeof *m->files)))
        return ak_err_set(e, AK_ERR_NOMEM, "out of memory");
    m->n_files = 0;
    if (!v)
        return add_file(m, "memories.json", strlen("memories.json"), &plain, e);
    for (const ak_json *f = v->first; f; f = f->next) {
        ak_code rc = f->type == AK_JSON_STRING ? add_file(m, f->str, f->str_len, &plain, e)
                     : f->type == AK_JSON_OBJECT
                         ? parse_file_object(f, m, e)
                         : bad(e, "files", "must be a list of names or objects");
        if (rc)
            return rc;
    }
    return AK_OK;
}

static ak_code parse_metadata(const ak_json *root, ak_manifest *m, ak_err *e)
{
    const ak_json *v = field(root, "metadata");
    if (!v)
        return AK_OK;
    if (v->type != AK_JSON_OBJECT)
        return bad(e, "metadata", "must be an object");
    if (!(m->metadata = strndup(v->raw, v->raw_len)))
        return ak_err_set(e, AK_ERR_NOMEM, "out of memory");
    return AK_OK;
}

static ak_code parse_fields(const ak_json *root, int64_t now, ak_manifest *m, ak_err *e)
{
    ak_code rc;
    int sb = 0;
    if (root->type != AK_JSON_OBJECT)
        return ak_err_set(e, AK_ERR_INVALID, "manifest must be a JSON object");
    if ((rc = check_duplicates(root, e)) || (rc = parse_uploaded_at(root, now, m, &sb, e)) ||
        (rc = parse_int_field(root, "conversation_count", !sb, AK_MANIFEST_MAX_CONVERSATIONS,
                              &m->conversation_count, e)) ||
        (rc = parse_id(root, "system_id", ak_id_system_valid, &m->system_id, e)) ||
        (rc = parse_id(root, "upload_id", ak_id_upload_valid, &m->upload_id, e)) ||
        (rc = parse_int_field(root, "total_size_bytes", 0, AK_MANIFEST_MAX_TOTAL_SIZE,
                              &m->total_size_bytes, e)) ||
        (rc = parse_version(root, m, e)) || (rc = parse_system_type(root, m, e)) ||
        (rc = parse_checksum(root, m, e)) || (rc = parse_compression(root, m, e)) ||
        (rc = parse_files(root, m, e)) || (rc = parse_metadata(root, m, e)))
        return rc;
    return AK_OK;
}

ak_code ak_manifest_parse(const char *text, size_t len, int64_t now_us,
                          ak_manifest *m, ak_err *e)
{
    memset(m, 0, sizeof *m);
    m->total_size_bytes = -1;
    m->conversation_count = -1;
    if (len > AK_MANIFEST_MAX_BYTES)
        return ak_err_set(e, AK_ERR_INVALID, "manifest larger than 1 MiB");
    ak_json_doc *doc = ak_json_doc_new();
    if (!doc)
        return ak_err_set(e, AK_ERR_NOMEM, "out of memory");
    const ak_json *root;
    ak_code rc = ak_json_parse(doc, text, len, &root, e);
    if (rc == AK_OK)
        rc = parse_fields(root, now_us, m, e);
    ak_json_doc_free(doc);
    if (rc)
        ak_manifest_free(m);
    return rc;
}

void ak_manifest_free(ak_manifest *m)
{
    for (size_t i = 0; i < m->n_files; i++)
        free(m->files[i].name);
    free(m->files);
    free(m->system_type);
    free(m->metadata);
    free(m->system_id);
    free(m->upload_id);
    memset(m, 0, sizeof *m);
    m->total_size_bytes = -1;
    m->conversation_count = -1;
}
