/*
 * sample.c - see sample.h.
 *
 * Payloads are streamed to disk through the compressors, one record at a
 * time, and hashed on the way for the manifest checksum; the manifest is
 * written last, as a real uploader would, so an interrupted generation
 * leaves no upload that looks complete.
 */
#include "gen/sample.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/datadir.h"
#include "util/buf.h"
#include "util/compress.h"
#include "util/jsonw.h"
#include "util/sha256.h"
#include "util/time.h"
#include "util/vec.h" /* AK_DIM */

#define N_TOPICS 24
#define NOISE 0.35f

typedef struct {
    const char *name;
    const char *words[6];
} topic;

static const topic topics[N_TOPICS] = {
    {"postgres", {"PostgreSQL", "vacuum", "index bloat", "query planner", "WAL archiving", "replication slot"}},
    {"rust", {"Rust", "borrow checker", "lifetime", "async runtime", "cargo workspace", "trait object"}},
    {"kubernetes", {"Kubernetes", "pod eviction", "Helm chart", "readiness probe", "node pool", "ingress controller"}},
    {"react", {"React", "useEffect", "hydration", "state management", "Vite build", "component tree"}},
    {"python", {"Python", "asyncio", "type hints", "virtualenv", "pytest fixture", "GIL"}},
    {"git", {"git", "rebase", "merge conflict", "bisect", "submodule", "reflog"}},
    {"docker", {"Docker", "multi-stage build", "layer cache", "compose file", "image size", "entrypoint"}},
    {"security", {"TLS", "certificate rotation", "OAuth token", "CSRF", "secret scanning", "least privilege"}},
    {"performance", {"flame graph", "cache miss", "p99 latency", "allocation", "profiling", "SIMD"}},
    {"testing", {"flaky test", "property test", "mock server", "coverage", "fuzzing", "snapshot test"}},
    {"networking", {"TCP", "DNS", "load balancer", "keep-alive", "MTU", "HTTP/2"}},
    {"ml", {"embedding", "fine-tuning", "tokenizer", "vector search", "batch size", "learning rate"}},
    {"sqlite", {"SQLite", "WAL mode", "FTS5", "busy timeout", "page cache", "VACUUM INTO"}},
    {"ci", {"CI pipeline", "GitHub Actions", "build cache", "matrix job", "artifact", "release tag"}},
    {"terraform", {"Terraform", "state file", "plan drift", "module", "provider", "import block"}},
    {"go", {"Go", "goroutine", "channel", "context cancel", "go mod", "race detector"}},
    {"c", {"C", "undefined behaviour", "AddressSanitizer", "pointer aliasing", "Makefile", "valgrind"}},
    {"linux", {"systemd", "cgroup", "journald", "file descriptor", "OOM killer", "strace"}},
    {"api", {"REST API", "pagination", "rate limit", "idempotency key", "OpenAPI", "webhook"}},
    {"frontend", {"CSS grid", "accessibility", "bundle size", "web font", "dark mode", "service worker"}},
    {"data", {"Parquet", "DuckDB", "partitioning", "column statistics", "schema evolution", "ETL job"}},
    {"observability", {"Prometheus", "alert rule", "trace span", "log level", "dashboard", "SLO"}},
    {"storage", {"S3 bucket", "multipart upload", "lifecycle rule", "object key", "eventual consistency", "checksum"}},
    {"refactor", {"dead code", "interface", "dependency injection", "naming", "module boundary", "tech debt"}},
};

static const char *const templates[] = {
    "We looked into %s and found that %s was the real cause.",
    "The fix for %s was to change how %s is configured.",
    "I asked about %s; the answer involved %s and a small patch.",
    "After measuring %s, we decided %s was worth the effort.",
    "Notes on %s: remember that %s behaves differently in production.",
    "Debugging %s took an hour because %s hid the error.",
    "Plan: migrate %s first, then revisit %s next week.",
    "The docs for %s say nothing about %s, so we tested it by hand.",
};

static const char *const flavours[] = {
    "", " It works now.", " See the PR for details (v2.3.1, about 1.5x faster).",
    " Café-style naming aside, the \"edge case\" matters.", " Follow-up: check e.g. the logs.",
    "\n```\nmake test && ./run.sh --verbose\n```\n", " Ünïcödé and emoji 🚀 survive the round trip.",
    " Path C:\\tmp\\x had a backslash; tabs\tand quotes \" too.",
};

/* ---- deterministic randomness (splitmix64) ---- */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t key4(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    return mix(mix(mix(mix(seed) ^ a) ^ b) ^ c);
}

static double unit(uint64_t *s) /* uniform [0, 1) */
{
    *s = mix(*s);
    return (double)(*s >> 11) / 9007199254740992.0;
}

static float gauss(uint64_t *s)
{
    double u1 = unit(s), u2 = unit(s);
    if (u1 < 1e-12)
        u1 = 1e-12;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

unsigned ak_gen_topic(uint64_t seed, unsigned system, unsigned conv)
{
    return (unsigned)(key4(seed, 1, system, conv) % N_TOPICS);
}

static void normalize(float *v)
{
    double n = 0;
    for (int i = 0; i < AK_DIM; i++)
        n += (double)v[i] * v[i];
    float inv = (float)(1.0 / sqrt(n));
    for (int i = 0; i < AK_DIM; i++)
        v[i] *= inv;
}

void ak_gen_embedding(uint64_t seed, unsigned system, unsigned conv, unsigned version,
                      float out[AK_DIM])
{
    unsigned t = ak_gen_topic(seed, system, conv);
    uint64_t cs = key4(seed, 2, t, 0), ns = key4(seed, 3, system * 1000003ULL + conv, version);
    for (int i = 0; i < AK_DIM; i++)
        out[i] = gauss(&cs) + NOISE * 3.0f * gauss(&ns);
    normalize(out);
}

/* ---- records ---- */

typedef struct {
    const ak_gen_config *cfg;
    unsigned sys;
    ak_buf rec;
} gen_ctx;

static void write_content(ak_jw *w, uint64_t seed, unsigned sys, unsigned conv, unsigned version)
{
    uint64_t s = key4(seed, 4, sys * 1000003ULL + conv, version);
    const topic *t = &topics[ak_gen_topic(seed, sys, conv)];
    ak_buf text = {0};
    unsigned n = 3 + (unsigned)(unit(&s) * 10);
    ak_buf_printf(&text, "Conversation %u of system %u (revision %u). ", conv, sys, version);
    for (unsigned i = 0; i < n; i++) {
        const char *tpl = templates[(unsigned)(unit(&s) * 8)];
        ak_buf_printf(&text, tpl, t->words[(unsigned)(unit(&s) * 6)],
                      t->words[(unsigned)(unit(&s) * 6)]);
        ak_buf_puts(&text, flavours[(unsigned)(unit(&s) * 8)]);
        ak_buf_putc(&text, ' ');
    }
    ak_jw_strn(w, text.data, text.len);
    ak_buf_free(&text);
}

/* Which optional parts a conversation has: fixed per conversation so that
 * re-sent copies are byte-for-byte the same content. */
enum { HAS_ID = 1, ALT_ID_KEY = 2, HAS_EMB = 4, HAS_TS = 8 };

static unsigned traits(uint64_t seed, unsigned sys, unsigned conv)
{
    uint64_t h = key4(seed, 5, sys, conv);
    unsigned t = 0;
    if (h % 40 != 0) t |= HAS_ID;
    if (h % 10 == 3) t |= ALT_ID_KEY;
    if ((h >> 8) % 50 != 0) t |= HAS_EMB;
    if ((h >> 16) % 30 != 0) t |= HAS_TS;
    return t;
}

static void write_record(gen_ctx *g, unsigned conv, unsigned version, int64_t ts_us, int jsonl)
{
    const ak_gen_config *c = g->cfg;
    unsigned tr = traits(c->seed, g->sys, conv);
    ak_jw w;
    ak_jw_init(&w, &g->rec);
    ak_jw_obj(&w);
    if (tr & HAS_ID) {
        char id[64];
        snprintf(id, sizeof id, "conv-%u-%06u", g->sys, conv);
        ak_jw_kstr(&w, tr & ALT_ID_KEY ? "conversation_id" : "id", id);
    }
    ak_jw_key(&w, "content");
    write_content(&w, c->seed, g->sys, conv, version);
    if (tr & HAS_EMB) {
        float e[AK_DIM];
        ak_gen_embedding(c->seed, g->sys, conv, version, e);
        ak_jw_key(&w, "embedding");
        ak_jw_arr(&w);
        /* Python's json writes float32 values widened to double with up to
         * 17 significant digits: so do we, to parse what really arrives. */
        for (int i = 0; i < AK_DIM; i++) {
            char num[32];
            int k = snprintf(num, sizeof num, "%.17g", (double)e[i]);
            ak_jw_raw(&w, num, (size_t)k);
        }
        ak_jw_end(&w);
    }
    if (tr & HAS_TS)
        ak_jw_key(&w, "timestamp"), ak_jw_time(&w, ts_us);
    ak_jw_kstr(&w, "source", "session-buddy");
    ak_jw_key(&w, "metadata");
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "project", topics[ak_gen_topic(c->seed, g->sys, conv)].name);
    ak_jw_kint(&w, "turns", 2 + conv % 17);
    ak_jw_end(&w);
    ak_jw_end(&w);
    if (jsonl)
        ak_buf_putc(&g->rec, '\n');
}

/* ---- payload files ---- */

typedef struct {
    FILE *f;
    ak_sha256_ctx *sha; /* shared across an upload's files, in files order */
    int64_t bytes;
} sink_file;

static ak_code to_file(void *ctx, const void *data, size_t len)
{
    sink_file *s = ctx;
    ak_sha256_update(s->sha, data, len);
    s->bytes += (int64_t)len;
    return fwrite(data, 1, len, s->f) == len ? AK_OK : AK_ERR_IO;
}

typedef struct {
    char name[64];
    int format, codec;
    unsigned first, count; /* conversation range [first, first+count) */
} payload_plan;

static const char *const format_ext[] = {".json", ".jsonl", ".ndjson"};

static ak_code write_payload(gen_ctx *g, const char *dir, const payload_plan *p,
                             const unsigned *versions, const int64_t *ts,
                             ak_sha256_ctx *sha, int64_t *bytes, ak_err *err)
{
    char path[AK_PATH_MAX];
    if (ak_fmt(path, sizeof path, "%s/%s", dir, p->name))
        return ak_err_set(err, AK_ERR_INVALID, "path too long: %s", dir);
    sink_file sf = {.f = fopen(path, "wb"), .sha = sha};
    if (!sf.f)
        return ak_err_set(err, AK_ERR_IO, "%s: %s", path, strerror(errno));
    ak_z *z = NULL;
    /* level 1: generation speed matters more than payload size here */
    ak_code rc = ak_z_new((ak_codec)p->codec, 1, to_file, &sf, &z, err);
    int jsonl = p->format != 0;
    if (rc == AK_OK && !jsonl)
        rc = ak_z_feed(z, "{\"conversations\": [\n", 20, err);
    for (unsigned i = 0; rc == AK_OK && i < p->count; i++) {
        unsigned conv = p->first + i;
        ak_buf_reset(&g->rec);
        if (!jsonl && i)
            ak_buf_puts(&g->rec, ",\n");
        write_record(g, conv, versions[conv], ts[conv], jsonl);
        rc = ak_z_feed(z, g->rec.data, g->rec.len, err);
    }
    if (rc == AK_OK && !jsonl)
        rc = ak_z_feed(z, "\n]}\n", 4, err);
    if (rc == AK_OK)
        rc = ak_z_finish(z, err);
    ak_z_free(z);
    if (fclose(sf.f) != 0 && rc == AK_OK)
        rc = ak_err_set(err, AK_ERR_IO, "%s: %s", path, strerror(errno));
    *bytes += sf.bytes;
    return rc;
}

/* ---- uploads ---- */

typedef struct {
    unsigned index;       /* global upload number, picks the form */
    unsigned k;           /* upload number within the system */
    unsigned n_conv;      /* conversations in this snapshot */
    int64_t uploaded_at;
} upload_plan;

static int plan_payloads(const ak_gen_config *c, const upload_plan *u, payload_plan *pp)
{
    static const int form_codec[12] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 2, 3, 1};
    unsigned f = u->index % 12;
    int format = c->format >= 0 ? c->format : (int)(f % 3);
    int codec = c->codec >= 0 ? c->codec : form_codec[f];
    int parts = (c->format < 0 && u->k % 3 == 2 && u->n_conv > 1) ? 2 : 1;
    for (int i = 0; i < parts; i++) {
        pp[i].format = format;
        pp[i].codec = codec;
        pp[i].first = i == 0 ? 0 : u->n_conv / 2;
        pp[i].count = parts == 1 ? u->n_conv : i == 0 ? u->n_conv / 2 : u->n_conv - u->n_conv / 2;
        snprintf(pp[i].name, sizeof pp[i].name, "memories%s%s%s", parts > 1 ? (i ? "-2" : "-1") : "",
                 format_ext[format], ak_codec_suffix((ak_codec)codec));
    }
    return parts;
}

static ak_code write_manifest(const char *dir, const ak_gen_config *c, const upload_plan *u,
                              const payload_plan *pp, int parts, const uint8_t *sha,
                              int64_t bytes, ak_err *err)
{
    ak_buf b = {0};
    ak_jw w;
    ak_jw_init(&w, &b);
    ak_jw_obj(&w);
    ak_jw_key(&w, "uploaded_at");
    ak_jw_time(&w, u->uploaded_at);
    ak_jw_kint(&w, "conversation_count", u->n_conv);
    ak_jw_kint(&w, "total_size_bytes", bytes);
    ak_jw_kstr(&w, "version", "1.0");
    ak_jw_kstr(&w, "system_type", "session-buddy");
    if (u->index % 5 != 4) {
        char hex[AK_SHA256_HEX];
        ak_hex(sha, AK_SHA256_LEN, hex);
        ak_jw_kstr(&w, "checksum", hex);
    }
    ak_jw_kbool(&w, "compressed", pp[0].codec != AK_CODEC_NONE);
    if (pp[0].codec != AK_CODEC_NONE)
        ak_jw_kstr(&w, "compression_format", ak_codec_name((ak_codec)pp[0].codec));
    ak_jw_key(&w, "files");
    ak_jw_arr(&w);
    for (int i = 0; i < parts; i++)
        ak_jw_str(&w, pp[i].name);
    ak_jw_end(&w);
    ak_jw_key(&w, "metadata");
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "generator", "akosha generate");
    ak_jw_kint(&w, "seed", (int64_t)c->seed);
    ak_jw_end(&w);
    ak_jw_end(&w);
    char path[AK_PATH_MAX];
    FILE *f = ak_fmt(path, sizeof path, "%s/manifest.json", dir) ? NULL : fopen(path, "wb");
    ak_code rc = f && fwrite(b.data, 1, b.len, f) == b.len ? AK_OK : AK_ERR_IO;
    if (f && fclose(f) != 0)
        rc = AK_ERR_IO;
    ak_buf_free(&b);
    return rc ? ak_err_set(err, rc, "%s: %s", path, strerror(errno)) : AK_OK;
}

static ak_code write_upload(gen_ctx *g, const char *sid, const upload_plan *u,
                            const unsigned *versions, const int64_t *ts,
                            ak_gen_summary *sum, ak_err *err)
{
    char day[AK_TIME_ISO_MAX], uid[128], dir[AK_PATH_MAX];
    ak_time_format(u->uploaded_at, day);
    /* Session-Buddy's ids sort by time: YYYYMMDD_HHMMSS_<system> */
    snprintf(uid, sizeof uid, "%.4s%.2s%.2s_%.2s%.2s%.2s_%s", day, day + 5, day + 8, day + 11,
             day + 14, day + 17, sid);
    if (ak_fmt(dir, sizeof dir, "%s/systems/%s/%s%s", g->cfg->out_dir, sid,
               g->sys % 2 ? "uploads/" : "", uid))
        return ak_err_set(err, AK_ERR_INVALID, "path too long: %s", g->cfg->out_dir);
    ak_code rc = ak_mkdirs(dir, err);
    payload_plan pp[2];
    int parts = plan_payloads(g->cfg, u, pp);
    ak_sha256_ctx *sha = ak_sha256_new();
    int64_t bytes = 0;
    if (!sha)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    for (int i = 0; rc == AK_OK && i < parts; i++)
        rc = write_payload(g, dir, &pp[i], versions, ts, sha, &bytes, err);
    uint8_t digest[AK_SHA256_LEN];
    ak_sha256_final(sha, digest);
    ak_sha256_free(sha);
    if (rc == AK_OK)
        rc = write_manifest(dir, g->cfg, u, pp, parts, digest, bytes, err);
    sum->uploads++;
    sum->records += u->n_conv;
    sum->payload_bytes += bytes;
    return rc;
}

/* Advance a system's conversations to upload k: edit some, count what
 * ingestion will see. */
static void evolve(const ak_gen_config *c, unsigned sys, unsigned k, unsigned n_old,
                   unsigned *versions, ak_gen_summary *sum)
{
    for (unsigned i = 0; i < n_old; i++) {
        uint64_t h = key4(c->seed, 6, sys * 1000003ULL + i, k);
        int editable = traits(c->seed, sys, i) & HAS_ID; /* derived ids change with content */
        if (editable && (double)(h >> 11) / 9007199254740992.0 < c->edit_fraction) {
            versions[i]++;
            sum->expect_updated++;
        } else {
            sum->expect_duplicates++;
        }
    }
}

static ak_code gen_system(const ak_gen_config *c, unsigned sys, unsigned *upload_index,
                          ak_gen_summary *sum, ak_err *err)
{
    unsigned total = c->conversations + (c->uploads ? c->uploads - 1 : 0) * c->growth;
    unsigned *versions = calloc(total ? total : 1, sizeof *versions);
    int64_t *ts = calloc(total ? total : 1, sizeof *ts);
    gen_ctx g = {.cfg = c, .sys = sys};
    char sid[128];
    snprintf(sid, sizeof sid, "%s%04u", c->system_prefix, sys);
    ak_code rc = versions && ts ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    unsigned n = 0;
    for (unsigned k = 0; rc == AK_OK && k < c->uploads; k++) {
        upload_plan u = {.index = (*upload_index)++, .k = k,
                         .n_conv = c->conversations + k * c->growth,
                         .uploaded_at = c->now_us - (int64_t)(c->uploads - k) * 3600 * AK_US_PER_SEC -
                                        (int64_t)sys * 7 * AK_US_PER_SEC};
        evolve(c, sys, k, n, versions, sum);
        for (; n < u.n_conv; n++) {
            uint64_t h = key4(c->seed, 7, sys, n);
            ts[n] = u.uploaded_at - (int64_t)((double)(h >> 11) / 9007199254740992.0 *
                                              (double)c->span_days * (double)AK_US_PER_DAY);
            ts[n] -= ts[n] % AK_US_PER_SEC;
            sum->expect_new++;
            if (traits(c->seed, sys, n) & HAS_EMB)
                sum->records_with_embedding++;
        }
        rc = write_upload(&g, sid, &u, versions, ts, sum, err);
    }
    ak_buf_free(&g.rec);
    free(versions);
    free(ts);
    sum->systems++;
    return rc;
}

void ak_gen_defaults(ak_gen_config *c)
{
    memset(c, 0, sizeof *c);
    c->systems = 8;
    c->uploads = 3;
    c->conversations = 50;
    c->growth = 10;
    c->edit_fraction = 0.05;
    c->seed = 42;
    c->span_days = 120;
    c->format = -1;
    c->codec = -1;
    c->system_prefix = "sys";
}

ak_code ak_gen_bucket(const ak_gen_config *c, ak_gen_summary *sum, ak_err *err)
{
    memset(sum, 0, sizeof *sum);
    ak_gen_config cfg = *c;
    if (!cfg.now_us)
        cfg.now_us = ak_time_now_us();
    cfg.now_us -= cfg.now_us % AK_US_PER_SEC;
    ak_code rc = ak_mkdirs(cfg.out_dir, err);
    unsigned upload_index = 0;
    for (unsigned s = 0; rc == AK_OK && s < cfg.systems; s++)
        rc = gen_system(&cfg, s, &upload_index, sum, err);
    return rc;
}
