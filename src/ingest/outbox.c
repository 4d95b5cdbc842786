/*
 * outbox.c - see outbox.h.
 */
#include "ingest/outbox.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "graph/graph_item.h"
#include "ingest/discover.h"
#include "ingest/ingest.h"
#include "ingest/upload.h"
#include "util/buf.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/testpoint.h"
#include "util/time.h"

#define SYSTEMS_PREFIX "systems/"
/* A staged object is at most one push body's worth of records. */
#define COPY_MAX (256u * 1024 * 1024)

static ak_code outbox_dir(const ak_datadir *dd, char *dir, ak_err *err)
{
    if (ak_fmt(dir, AK_PATH_MAX, "%s/outbox", ak_datadir_path(dd)))
        return ak_err_set(err, AK_ERR_INVALID, "data directory path too long");
    return AK_OK;
}

ak_code ak_outbox_open(const ak_datadir *dd, ak_store **out, ak_err *err)
{
    char dir[AK_PATH_MAX];
    ak_code rc = outbox_dir(dd, dir, err);
    if (rc == AK_OK)
        rc = ak_mkdirs(dir, err);
    return rc ? rc : ak_store_open(dir, out, err);
}

ak_code ak_outbox_open_existing(const ak_datadir *dd, ak_store **out, ak_err *err)
{
    char dir[AK_PATH_MAX];
    struct stat sb;
    *out = NULL;
    ak_code rc = outbox_dir(dd, dir, err);
    if (rc || stat(dir, &sb) != 0)
        return rc;
    return ak_store_open(dir, out, err);
}

static void new_upload_id(int64_t now_us, char *uid)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)ak_time_mono_us(); /* still unique enough within one µs */
    char iso[AK_TIME_ISO_MAX];
    ak_time_format(now_us - now_us % AK_US_PER_SEC, iso); /* YYYY-MM-DDTHH:MM:SSZ */
    snprintf(uid, AK_UPLOAD_ID_MAX + 1, "%.4s%.2s%.2s_%.2s%.2s%.2s_%06lld_push_%08x", iso,
             iso + 5, iso + 8, iso + 11, iso + 14, iso + 17,
             (long long)(now_us % AK_US_PER_SEC), r);
}

/* The staged manifest has no checksum: hashing a batch is work for its
 * copy in the bucket, so ship_ref() adds it (a fifth of what staging cost
 * the answer).  Locally the payload is fsync'd before its manifest is
 * written, and the store's own records are checked as they are read. */
static ak_code manifest_of(const char *name, size_t len, int64_t n, const char *origin,
                           int64_t now_us, ak_buf *out)
{
    ak_jw w;
    ak_jw_init(&w, out);
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "version", "1.0");
    ak_jw_key(&w, "uploaded_at");
    ak_jw_time(&w, now_us);
    ak_jw_kint(&w, "conversation_count", n);
    ak_jw_kint(&w, "total_size_bytes", (int64_t)len);
    ak_jw_kstr(&w, "system_type", "session-buddy");
    ak_jw_key(&w, "files");
    ak_jw_arr(&w);
    ak_jw_str(&w, name);
    ak_jw_end(&w);
    ak_jw_key(&w, "metadata");
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "ingestion_method", "http_push");
    ak_jw_kstr(&w, "origin", origin);
    ak_jw_end(&w);
    ak_jw_end(&w);
    return ak_jw_error(&w);
}

static ak_code key_of(char *key, const char *sid, const char *uid, const char *name, ak_err *err)
{
    if (ak_fmt(key, AK_STORE_KEY_MAX + 1, SYSTEMS_PREFIX "%s/%s/%s", sid, uid, name))
        return ak_err_set(err, AK_ERR_INVALID, "object key too long for %s/%s", sid, uid);
    return AK_OK;
}

/* A stage running beside the apply (ak_outbox_stage_begin()). */
struct ak_outbox_pending {
    pthread_t thread;
    int started, done; /* the thread was started; stage_wait() has seen the end */
    ak_store *ob;
    char key[AK_STORE_KEY_MAX + 1], mkey[AK_STORE_KEY_MAX + 1];
    const char *payload, *manifest;
    size_t len, manifest_len;
    ak_code rc;
    ak_err err;
};

/* Wait for b's stage to end; its result. */
static ak_code stage_wait(ak_outbox_batch *b, ak_err *err)
{
    ak_outbox_pending *p = b->pending;
    if (!p->done) {
        if (p->started)
            pthread_join(p->thread, NULL);
        p->done = 1;
        b->staged = p->rc == AK_OK;
        if (b->staged)
            ak_testpoint("push.staged");
    }
    if (p->rc && err)
        *err = p->err;
    return p->rc;
}

void ak_outbox_batch_free(ak_outbox_batch *b)
{
    if (b->pending)
        stage_wait(b, NULL); /* never leave a thread writing from the caller's payload */
    free(b->pending);
    b->pending = NULL;
    free(b->manifest);
    b->manifest = NULL;
}

/* Name the batch: its upload id, manifest and the keys of both. */
static ak_code prepare(const char *sid, const char *name, size_t len, int64_t n,
                       const char *origin, int64_t now_us, ak_outbox_batch *b, char *key,
                       char *mkey, ak_err *err)
{
    ak_buf man = {0};
    memset(b, 0, sizeof *b);
    b->payload = name;
    b->payload_len = (int64_t)len;
    new_upload_id(now_us, b->uid);
    if (manifest_of(name, len, n, origin, now_us, &man))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    b->manifest_len = man.len;
    b->manifest = ak_buf_steal(&man);
    ak_code rc = key_of(key, sid, b->uid, name, err);
    return rc ? rc : key_of(mkey, sid, b->uid, "manifest.json", err);
}

static ak_code stage(ak_store *ob, const char *sid, const char *name, const char *payload,
                     size_t len, int64_t n, const char *origin, int64_t now_us,
                     ak_outbox_batch *b, ak_err *err)
{
    char key[AK_STORE_KEY_MAX + 1], mkey[AK_STORE_KEY_MAX + 1];
    ak_code rc = prepare(sid, name, len, n, origin, now_us, b, key, mkey, err);
    if (rc == AK_OK) /* payload first: an upload exists once its manifest does;
                      * one put of both: the local outbox syncs their directory once */
        rc = ak_store_put2(ob, key, payload, len, mkey, b->manifest, b->manifest_len, err);
    b->staged = rc == AK_OK;
    if (b->staged)
        ak_testpoint("push.staged");
    return rc;
}

ak_code ak_outbox_stage(ak_store *ob, const char *sid, const char *payload, size_t len,
                        int64_t n, const char *origin, int64_t now_us, ak_outbox_batch *b,
                        ak_err *err)
{
    return stage(ob, sid, AK_OUTBOX_PAYLOAD, payload, len, n, origin, now_us, b, err);
}

ak_code ak_outbox_stage_graph(ak_store *ob, const char *sid, const char *payload, size_t len,
                              const char *origin, int64_t now_us, ak_outbox_batch *b,
                              ak_err *err)
{
    /* graph items are no conversations: the count the upload rules check is 0 */
    return stage(ob, sid, AK_GRAPH_PAYLOAD, payload, len, 0, origin, now_us, b, err);
}

static void *stage_thread(void *arg)
{
    ak_outbox_pending *p = arg;
    p->rc = ak_store_put2(p->ob, p->key, p->payload, p->len, p->mkey, p->manifest,
                          p->manifest_len, &p->err); /* as stage() puts them */
    return NULL;
}

ak_code ak_outbox_stage_begin(ak_store *ob, const char *sid, const char *payload, size_t len,
                              int64_t n, const char *origin, int64_t now_us, ak_outbox_batch *b,
                              ak_err *err)
{
    ak_outbox_pending *p = calloc(1, sizeof *p);
    if (!p) {
        memset(b, 0, sizeof *b);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    ak_code rc = prepare(sid, AK_OUTBOX_PAYLOAD, len, n, origin, now_us, b, p->key, p->mkey, err);
    if (rc) {
        free(p);
        return rc;
    }
    p->ob = ob;
    p->payload = payload;
    p->len = len;
    p->manifest = b->manifest;
    p->manifest_len = b->manifest_len;
    b->pending = p;
    p->started = pthread_create(&p->thread, NULL, stage_thread, p) == 0;
    if (!p->started)
        stage_thread(p); /* no thread to spare: stage here, as ak_outbox_stage() */
    return AK_OK;
}

/* ak_upload_env.before_ledger: the stage must be durable before the
 * batch's ledger row is written (and its transaction committed). */
static ak_code staged_first(void *ctx)
{
    return stage_wait(ctx, NULL);
}

ak_code ak_outbox_apply(ak_store *ob, const ak_datadir *dd, const char *sid, ak_sysdb *db,
                        ak_outbox_batch *b, const ak_record *const *recs, size_t n,
                        ak_put_result *results, int64_t *hot_rowids, ak_ledger_row *row,
                        int *changed, ak_err *err)
{
    char prefix[AK_STORE_KEY_MAX + 1];
    ak_upload_file files[2] = {{"", b->payload_len}, {"manifest.json", (int64_t)b->manifest_len}};
    ak_upload_ref ref = {.prefix = prefix, .files = files, .n_files = 2};
    ak_ingest_config cfg = {.bucket = ob, .data = dd, .retry_base_us = -1};
    ak_manifest m;
    ak_ledger_row prev;
    ak_tally tally;
    char *reason = NULL;
    int64_t now = ak_time_now_us();
    snprintf(ref.upload_id, sizeof ref.upload_id, "%s", b->uid);
    snprintf(files[0].name, sizeof files[0].name, "%s", b->payload ? b->payload : AK_OUTBOX_PAYLOAD);
    snprintf(prefix, sizeof prefix, SYSTEMS_PREFIX "%s/%s/", sid, b->uid);
    memset(&m, 0, sizeof m);
    ak_json_doc *doc = ak_json_doc_new();
    ak_code rc = doc ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK)
        rc = ak_manifest_parse(b->manifest, b->manifest_len, now, &m, err);
    if (rc == AK_OK)
        rc = ak_sysdb_ledger_get(db, b->uid, &prev, err);
    if (rc == AK_OK) {
        ak_json_doc_limits(doc, AK_RECORD_MAX_DEPTH, AK_RECORD_MAX_NODES);
        ak_upload_env env = {.cfg = &cfg, .system_id = sid, .db = db, .doc = doc, .now_us = now,
                             .records = recs, .n_records = n, .records_bytes = b->payload_len,
                             .results = results, .hot_rowids = hot_rowids,
                             .before_ledger = b->pending ? staged_first : NULL, .hook_ctx = b};
        ak_outcome o = ak_upload_apply(&env, &ref, &m, &prev, &tally, &reason);
        *changed = o == AK_OUTCOME_INGESTED && (tally.new_count || tally.updated);
        ak_ledger_row_free(&prev);
        rc = ak_sysdb_ledger_get(db, b->uid, row, err);
    }
    ak_err stage_err;
    ak_code staged = b->pending ? stage_wait(b, &stage_err) : AK_OK;
    if (staged) { /* the batch was rolled back: no ledger row */
        rc = staged;
        if (err)
            *err = stage_err;
    }
    free(reason);
    ak_manifest_free(&m);
    ak_json_doc_free(doc);
    return rc;
}

static void note_changed(void *ctx, const char *sid)
{
    (void)sid;
    *(int *)ctx = 1;
}

ak_code ak_outbox_recover(ak_store *ob, const ak_datadir *dd, const char *sid, ak_sysdb *db,
                          int *changed, ak_err *err)
{
    ak_ingest_config cfg = {
        .bucket = ob, .data = dd, .concurrency = 1,
        .retry_base_us = -1, /* a local batch that failed (full disk) is retried at once */
        .on_changed = note_changed, .ctx = changed,
    };
    ak_ingest_stats st;
    return ak_ingest_system(&cfg, sid, db, &st, err);
}

static ak_code drop_ref(ak_store *ob, const ak_upload_ref *u, ak_err *err)
{
    ak_code rc = AK_OK;
    /* The manifest goes first, so a crash half-way leaves no upload. */
    char key[AK_STORE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%smanifest.json", u->prefix);
    rc = ak_store_delete(ob, key, err);
    for (size_t i = 0; rc == AK_OK && i < u->n_files; i++) {
        snprintf(key, sizeof key, "%s%s", u->prefix, u->files[i].name);
        rc = ak_store_delete(ob, key, err);
    }
    return rc;
}

/* Copy key from one store to the other; when sum is not NULL, hash the
 * bytes into it. */
static ak_code copy_object(ak_store *from, ak_store *to, const char *key, ak_sha256_ctx *sum,
                           ak_err *err)
{
    char *data = NULL;
    size_t len = 0;
    ak_code rc = ak_store_get_small(from, key, COPY_MAX, &data, &len, err);
    if (rc == AK_OK && sum)
        ak_sha256_update(sum, data, len);
    if (rc == AK_OK)
        rc = ak_store_put(to, key, data, len, err);
    free(data);
    return rc;
}

/* The staged manifest at key, put into the bucket with the payload's
 * checksum added (staging leaves it out: manifest_of()).  A manifest that
 * has one already (staged by an older build) goes as it is. */
static ak_code ship_manifest(ak_store *ob, ak_store *bucket, const char *key,
                             const uint8_t sum[AK_SHA256_LEN], ak_err *err)
{
    char *text = NULL, hex[AK_SHA256_HEX];
    size_t len = 0;
    ak_manifest m;
    ak_buf out = {0};
    memset(&m, 0, sizeof m);
    ak_err why;
    ak_code rc = ak_store_get_small(ob, key, COPY_MAX, &text, &len, err);
    /* one that does not parse was rejected when applied: it goes as it is */
    int add = rc == AK_OK && ak_manifest_parse(text, len, ak_time_now_us(), &m, &why) == AK_OK &&
              !m.has_checksum;
    ak_hex(sum, AK_SHA256_LEN, hex);
    /* our own manifest: an object with members, so the new one goes first */
    if (add && (len < 2 || text[0] != '{' ||
                ak_buf_printf(&out, "{\"checksum\":\"%s\",", hex) ||
                ak_buf_append(&out, text + 1, len - 1)))
        rc = ak_err_set(err, AK_ERR_INVALID, "%s: not a manifest this build staged", key);
    if (rc == AK_OK)
        rc = add ? ak_store_put(bucket, key, out.data, out.len, err)
                 : ak_store_put(bucket, key, text, len, err);
    ak_buf_free(&out);
    ak_manifest_free(&m);
    free(text);
    return rc;
}

/* Payloads first, the manifest last: the bucket shows the upload only once
 * it is whole.  A retry after a crash puts the same bytes again.  A staged
 * batch has one payload, so the checksum of the payloads "concatenated in
 * files order" is that file's. */
static ak_code ship_ref(ak_store *ob, ak_store *bucket, const ak_upload_ref *u, ak_err *err)
{
    char key[AK_STORE_KEY_MAX + 1];
    uint8_t sum[AK_SHA256_LEN];
    ak_sha256_ctx *h = ak_sha256_new();
    ak_code rc = h ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == AK_OK && i < u->n_files; i++) {
        if (strcmp(u->files[i].name, "manifest.json") == 0)
            continue;
        snprintf(key, sizeof key, "%s%s", u->prefix, u->files[i].name);
        rc = copy_object(ob, bucket, key, h, err);
    }
    if (h)
        ak_sha256_final(h, sum);
    ak_sha256_free(h);
    snprintf(key, sizeof key, "%smanifest.json", u->prefix);
    if (rc == AK_OK)
        rc = ship_manifest(ob, bucket, key, sum, err);
    if (rc)
        ak_err_prefix(err, "shipping %s to the bucket: ", u->prefix);
    return rc;
}

enum { SHIP_NOT_APPLIED, SHIP_READY, SHIP_COPIED, SHIP_FAILED };

/* The first trouble of a shipment, for its caller. */
static void ship_trouble(ak_outbox_shipment *sh, ak_code rc, const ak_err *e)
{
    if (!sh->rc) {
        sh->rc = rc;
        sh->err = *e;
    }
}

ak_code ak_outbox_ship_list(ak_store *ob, const ak_datadir *dd, const char *sid, ak_sysdb *db,
                            ak_outbox_shipment *sh, int *changed, ak_err *err)
{
    memset(sh, 0, sizeof *sh);
    ak_code rc = ak_outbox_recover(ob, dd, sid, db, changed, err);
    if (rc == AK_OK)
        rc = ak_discover_uploads(ob, sid, &sh->list, err);
    if (rc == AK_OK && !(sh->state = calloc(sh->list.n ? sh->list.n : 1, 1)))
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == AK_OK && i < sh->list.n; i++) {
        ak_ledger_row row;
        ak_err e;
        ak_code r = ak_sysdb_ledger_get(db, sh->list.ups[i].upload_id, &row, &e);
        int settled = r == AK_OK && (row.status == AK_UPLOAD_INGESTED ||
                                     row.status == AK_UPLOAD_REJECTED);
        ak_ledger_row_free(&row);
        if (r == AK_OK && !settled)
            r = ak_err_set(&e, AK_ERR_IO, "%s/%s is not applied yet", sid,
                           sh->list.ups[i].upload_id);
        sh->state[i] = r == AK_OK ? SHIP_READY : SHIP_NOT_APPLIED;
        if (r)
            ship_trouble(sh, r, &e);
    }
    return rc;
}

void ak_outbox_ship_copy(ak_store *ob, ak_store *bucket, ak_outbox_shipment *sh)
{
    for (size_t i = 0; i < sh->list.n; i++) {
        ak_err e;
        ak_code r;
        if (sh->state[i] != SHIP_READY)
            continue;
        r = ship_ref(ob, bucket, &sh->list.ups[i], &e);
        sh->state[i] = r == AK_OK ? SHIP_COPIED : SHIP_FAILED;
        if (r && !sh->copy_rc) /* told by ak_outbox_ship_drop() unless forgotten */
            sh->copy_rc = r, sh->copy_err = e;
    }
}

ak_code ak_outbox_ship_drop(ak_store *ob, ak_store *bucket, ak_outbox_shipment *sh,
                            ak_outbox_stats *st, ak_err *err)
{
    for (size_t i = 0; i < sh->list.n; i++) {
        const ak_upload_ref *u = &sh->list.ups[i];
        char key[AK_STORE_KEY_MAX + 1];
        ak_err e;
        ak_code r = AK_OK;
        if (sh->state[i] != SHIP_COPIED && sh->state[i] != SHIP_FAILED) {
            st->pending++;
            continue;
        }
        snprintf(key, sizeof key, "%smanifest.json", u->prefix);
        r = ak_store_head(ob, key, NULL, &e);
        /* gone from the outbox: a forget deleted the system while it was
         * copied (a copy may have failed for that), and may have emptied
         * the bucket before the copy landed: the copy, whole or part, goes
         * too, manifest first */
        if (r == AK_ERR_NOTFOUND) {
            if ((r = drop_ref(bucket, u, &e)) == AK_OK)
                st->forgotten++;
        } else if (r == AK_OK && sh->state[i] == SHIP_FAILED) {
            st->pending++;
            ship_trouble(sh, sh->copy_rc, &sh->copy_err);
        } else if (r == AK_OK && (r = drop_ref(ob, u, &e)) == AK_OK) {
            st->shipped++;
        }
        if (r) {
            st->pending++;
            ship_trouble(sh, r, &e);
        }
    }
    if (sh->rc && err)
        *err = sh->err;
    return sh->rc;
}

void ak_outbox_shipment_free(ak_outbox_shipment *sh)
{
    ak_upload_list_free(&sh->list);
    free(sh->state);
    sh->state = NULL;
}

ak_code ak_outbox_ship_system(ak_store *ob, ak_store *bucket, const ak_datadir *dd,
                              const char *sid, ak_sysdb *db, ak_outbox_stats *st,
                              int *changed, ak_err *err)
{
    ak_outbox_shipment sh;
    ak_code rc = ak_outbox_ship_list(ob, dd, sid, db, &sh, changed, err);
    if (rc == AK_OK) {
        ak_outbox_ship_copy(ob, bucket, &sh);
        rc = ak_outbox_ship_drop(ob, bucket, &sh, st, err);
    }
    ak_outbox_shipment_free(&sh);
    return rc;
}

typedef struct {
    ak_outbox_system_fn fn;
    void *ctx;
} each_ctx;

static ak_code each_valid(void *ctx, const char *sid, const char *why)
{
    each_ctx *c = ctx;
    return why ? AK_OK : c->fn(c->ctx, sid);
}

ak_code ak_outbox_each_system(ak_store *ob, ak_outbox_system_fn fn, void *ctx, ak_err *err)
{
    each_ctx c = {fn, ctx};
    return ak_discover_systems(ob, each_valid, &c, err);
}

/* One batch directory's keys, as the sorted listing passes them. */
typedef struct {
    char dir[AK_STORE_KEY_MAX + 1]; /* systems/<sid>/<uid>/, "" before the first */
    char *files[4];                 /* its keys other than the manifest */
    size_t n_files;
    int manifest;
} batch_keys;

static void batch_keys_clear(batch_keys *b)
{
    for (size_t i = 0; i < b->n_files; i++)
        free(b->files[i]);
    b->n_files = 0;
    b->manifest = 0;
}

/* The directory listed last is complete: drop its files if it has no
 * manifest. */
static ak_code drop_orphan(ak_store *ob, batch_keys *b, size_t *removed, ak_err *err)
{
    ak_code rc = AK_OK;
    for (size_t i = 0; !b->manifest && rc == AK_OK && i < b->n_files; i++) {
        AK_WARN("outbox", "removing %s: a batch without its manifest (staging or shipping "
                "was interrupted)", b->files[i]);
        if ((rc = ak_store_delete(ob, b->files[i], err)) == AK_OK)
            (*removed)++;
    }
    batch_keys_clear(b);
    return rc;
}

static ak_code note_key(ak_store *ob, batch_keys *b, const char *key, size_t *removed,
                        ak_err *err)
{
    const char *slash = strrchr(key, '/');
    size_t dlen = slash ? (size_t)(slash - key) + 1 : 0;
    ak_code rc = AK_OK;
    size_t depth = 0;
    for (const char *c = key; *c; c++)
        depth += *c == '/';
    if (dlen >= sizeof b->dir || depth != 3)
        return AK_OK; /* not a batch's file (systems/<sid>/<uid>/<name>) */
    if (strlen(b->dir) != dlen || strncmp(b->dir, key, dlen) != 0) {
        rc = drop_orphan(ob, b, removed, err);
        memcpy(b->dir, key, dlen);
        b->dir[dlen] = '\0';
    }
    if (rc == AK_OK && strcmp(key + dlen, "manifest.json") == 0)
        b->manifest = 1;
    else if (rc == AK_OK && b->n_files < sizeof b->files / sizeof *b->files &&
             !(b->files[b->n_files++] = strdup(key)))
        rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    return rc;
}

ak_code ak_outbox_sweep_orphans(ak_store *ob, size_t *removed, ak_err *err)
{
    ak_store_lister l = {.prefix = SYSTEMS_PREFIX};
    batch_keys b = {.n_files = 0};
    ak_code rc = AK_OK;
    *removed = 0;
    /* keys come sorted, so a batch's keys come together */
    while (rc == AK_OK && !l.done) {
        ak_store_page page;
        if ((rc = ak_store_list_next(ob, &l, &page, err)) != AK_OK)
            break;
        for (size_t i = 0; rc == AK_OK && i < page.n_objs; i++)
            rc = note_key(ob, &b, page.objs[i].key, removed, err);
        ak_store_page_free(&page);
    }
    if (rc == AK_OK)
        rc = drop_orphan(ob, &b, removed, err);
    batch_keys_clear(&b);
    ak_store_lister_free(&l);
    return rc;
}

ak_code ak_outbox_count(ak_store *ob, const char *sid, int64_t *batches, ak_err *err)
{
    char *token = NULL, prefix[AK_STORE_KEY_MAX + 1];
    ak_code rc;
    *batches = 0;
    if (ak_fmt(prefix, sizeof prefix, SYSTEMS_PREFIX "%s%s", sid ? sid : "", sid ? "/" : ""))
        return ak_err_set(err, AK_ERR_INVALID, "system id too long");
    do {
        ak_store_page page;
        rc = ak_store_list(ob, prefix, NULL, token, 0, &page, err);
        free(token);
        token = NULL;
        if (rc)
            break;
        for (size_t i = 0; i < page.n_objs; i++) {
            const char *k = page.objs[i].key, *slash = strrchr(k, '/');
            *batches += slash && strcmp(slash + 1, "manifest.json") == 0;
        }
        if (page.next_token && !(token = strdup(page.next_token)))
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        ak_store_page_free(&page);
    } while (rc == AK_OK && token);
    free(token);
    return rc;
}
