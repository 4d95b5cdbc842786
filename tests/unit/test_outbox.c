/*
 * test_outbox.c - pushed batches as uploads (ingest/outbox.c) and the index
 * patch that makes them searchable (query/segment.c ak_segment_patch).
 *
 *  - a staged batch is an upload in the bucket's layout with a manifest the
 *    manifest rules accept; applying it stores its records with a ledger
 *    row; applying it again changes nothing;
 *  - a batch staged but never applied is applied by recovery, in order;
 *  - shipping copies applied batches to a bucket and empties the outbox;
 *    the bucket's copy ingests into a fresh database to the same rows; a
 *    staged manifest has no checksum, the shipped one the payload's;
 *  - a batch applied from the caller's parsed records stores the same rows
 *    and ledger counts as one read back from the outbox, and says per
 *    record what became of it (new, updated, duplicate, conflict);
 *  - a batch staged beside its apply (ak_outbox_stage_begin) is durable
 *    and applied as one staged first; when its stage fails the apply is
 *    rolled back: no rows, no ledger row, the stage's error;
 *  - shipping in three steps (list, copy unlocked, drop): a batch gone
 *    from the outbox while it was copied (a forget) is deleted from the
 *    bucket again, the others dropped from the outbox;
 *  - a patched segment equals a segment loaded whole after new rows,
 *    updated rows, a row updated without a vector and an id not stored;
 *    patches that only add rows append over shared arrays;
 *  - a kept push connection keeps its WAL's size when the WAL is reset
 *    after a checkpoint; closed, the WAL is cut to nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "ingest/ingest.h"
#include "ingest/manifest.h"
#include "ingest/outbox.h"
#include "query/segment.h"
#include "server/pushdb.h"
#include "storage/datadir.h"
#include "storage/vecfill.h"
#include "util/buf.h"
#include "util/jsonw.h"
#include "util/time.h"
#include "test_sql.h"

#include <sys/stat.h>
#include <unistd.h>

#define SID "Les-MacBook-Pro.local"

static ak_datadir *dd;
static ak_store *ob;

/* JSONL of n records with ids id<from>..: vector v[i] = (k + i) / 1000. */
static void batch(ak_buf *b, int from, int n, const char *tag)
{
    ak_buf_reset(b);
    for (int k = from; k < from + n; k++) {
        ak_buf_printf(b, "{\"id\":\"id%d\",\"content\":\"memory %d %s\",\"timestamp\":"
                         "\"2026-11-01T10:00:00\",\"embedding\":[", k, k, tag);
        for (int i = 0; i < AK_DIM; i++)
            ak_buf_printf(b, "%s%g", i ? "," : "", (double)(k + i + 1) / 1000);
        ak_buf_puts(b, "]}\n");
    }
}

static int64_t hot_rows(ak_sysdb *db)
{
    ak_sysdb_counts c;
    ak_err err;
    CHECK_OK(ak_sysdb_counts_get(db, &c, &err), err);
    return c.hot;
}

/* The id of conversation id's hot row, read from the database. */
static int64_t hot_rowid_of(ak_sysdb *db, const char *id)
{
    ak_conv c = {0};
    ak_err err;
    CHECK_OK(ak_sysdb_get_conv(db, id, &c, &err), err);
    CHECK_INT(c.tier, AK_TIER_HOT);
    int64_t rowid = c.rowid;
    ak_conv_free(&c);
    return rowid;
}

static void test_stage_apply(void)
{
    ak_buf b = {0};
    ak_outbox_batch ba;
    ak_ledger_row row;
    ak_sysdb *db;
    ak_err err;
    int changed = 0;
    batch(&b, 0, 5, "a");
    CHECK_OK(ak_datadir_open_system(dd, SID, 1, &db, &err), err);
    CHECK_OK(ak_outbox_stage(ob, SID, b.data, b.len, 5, "test", ak_time_now_us(), &ba, &err), err);
    CHECK_HAS(ba.uid, "_push_");
    CHECK_HAS(ba.manifest, "\"conversation_count\":5");
    CHECK(!strstr(ba.manifest, "checksum")); /* added when shipped */
    CHECK_OK(ak_outbox_apply(ob, dd, SID, db, &ba, NULL, 0, NULL, NULL, &row, &changed, &err), err);
    CHECK_INT(row.status, AK_UPLOAD_INGESTED);
    CHECK_INT(row.new_count, 5);
    CHECK(changed);
    ak_ledger_row_free(&row);
    /* again: settled, nothing changes */
    CHECK_OK(ak_outbox_apply(ob, dd, SID, db, &ba, NULL, 0, NULL, NULL, &row, &changed, &err), err);
    CHECK_INT(row.status, AK_UPLOAD_INGESTED);
    CHECK_INT(row.attempts, 1);
    CHECK(!changed);
    CHECK_INT(hot_rows(db), 5);
    ak_ledger_row_free(&row);
    ak_outbox_batch_free(&ba);
    ak_sysdb_close(db);
    ak_buf_free(&b);
}

static int exists(const char *key)
{
    ak_store_obj info = {0};
    ak_err err;
    int found = ak_store_head(ob, key, &info, &err) == AK_OK;
    free(info.key);
    return found;
}

/* A payload without its manifest (a kill between staging's renames, or
 * between a shipped batch's deletes) is removed; whole batches, and files
 * that are no batch's, stay. */
static void test_sweep_orphans(void)
{
    ak_buf b = {0};
    ak_outbox_batch ba;
    ak_err err;
    size_t n = 9;
    batch(&b, 0, 2, "a");
    CHECK_OK(ak_outbox_stage(ob, "orphan.example", b.data, b.len, 2, "test", ak_time_now_us(),
                             &ba, &err), err);
    const char *whole = "systems/orphan.example/%s/memories.jsonl";
    char key[256];
    snprintf(key, sizeof key, whole, ba.uid);
    const char *orphans[] = {"systems/orphan.example/20260101_000000_000000_push_0/memories.jsonl",
                             "systems/orphan.example/20270101_000000_000000_push_1/graph.jsonl"};
    for (size_t i = 0; i < 2; i++)
        CHECK_OK(ak_store_put(ob, orphans[i], "x\n", 2, &err), err);
    CHECK_OK(ak_store_put(ob, "systems/orphan.example/other", "x", 1, &err), err);
    CHECK_OK(ak_outbox_sweep_orphans(ob, &n, &err), err);
    CHECK_INT(n, 2);
    CHECK(!exists(orphans[0]));
    CHECK(!exists(orphans[1]));
    CHECK(exists(key));
    CHECK(exists("systems/orphan.example/other"));
    CHECK_OK(ak_outbox_sweep_orphans(ob, &n, &err), err); /* nothing more */
    CHECK_INT(n, 0);
    CHECK_OK(ak_store_delete(ob, "systems/orphan.example/other", &err), err);
    ak_outbox_batch_free(&ba);
    ak_buf_free(&b);
}

static void test_recover(void)
{
    ak_buf b = {0};
    ak_outbox_batch ba;
    ak_sysdb *db;
    ak_err err;
    int changed = 0;
    int64_t n = 0;
    CHECK_OK(ak_datadir_open_system(dd, SID, 1, &db, &err), err);
    /* staged, then the process "died": two batches, the second edits id1 */
    batch(&b, 5, 3, "b");
    CHECK_OK(ak_outbox_stage(ob, SID, b.data, b.len, 3, "test", ak_time_now_us(), &ba, &err), err);
    ak_outbox_batch_free(&ba);
    batch(&b, 1, 1, "edited");
    CHECK_OK(ak_outbox_stage(ob, SID, b.data, b.len, 1, "test", ak_time_now_us() + 1, &ba, &err),
             err);
    ak_outbox_batch_free(&ba);
    CHECK_OK(ak_outbox_count(ob, SID, &n, &err), err);
    CHECK_INT(n, 3);
    CHECK_OK(ak_outbox_recover(ob, dd, SID, db, &changed, &err), err);
    CHECK(changed);
    CHECK_INT(hot_rows(db), 8);
    ak_conv c;
    CHECK_OK(ak_sysdb_get_conv(db, "id1", &c, &err), err);
    CHECK_HAS(c.content, "edited");
    ak_conv_free(&c);
    ak_sysdb_close(db);
    ak_buf_free(&b);
}

/* Every manifest in the bucket has the checksum of its batch's payload;
 * returns how many there are. */
static int64_t check_shipped_sums(ak_store *bucket)
{
    ak_store_page page;
    ak_err err;
    int64_t n = 0;
    CHECK_OK(ak_store_list(bucket, "systems/" SID "/", NULL, NULL, 0, &page, &err), err);
    for (size_t i = 0; i < page.n_objs; i++) {
        const char *k = page.objs[i].key, *slash = strrchr(k, '/');
        if (strcmp(slash + 1, "manifest.json") != 0)
            continue;
        char *text, *payload, key[512];
        size_t len, plen;
        ak_manifest m;
        uint8_t sum[AK_SHA256_LEN];
        CHECK_OK(ak_store_get_small(bucket, k, 1 << 20, &text, &len, &err), err);
        CHECK_OK(ak_manifest_parse(text, len, ak_time_now_us(), &m, &err), err);
        CHECK(m.has_checksum);
        snprintf(key, sizeof key, "%.*s%s", (int)(slash + 1 - k), k, AK_OUTBOX_PAYLOAD);
        CHECK_OK(ak_store_get_small(bucket, key, 1 << 20, &payload, &plen, &err), err);
        ak_sha256(payload, plen, sum);
        CHECK(memcmp(sum, m.checksum, sizeof sum) == 0);
        ak_manifest_free(&m);
        free(payload);
        free(text);
        n++;
    }
    ak_store_page_free(&page);
    return n;
}

static void test_ship(void)
{
    char dir[512];
    ak_store *bucket;
    ak_sysdb *db, *fresh;
    ak_datadir *dd2;
    ak_err err;
    ak_outbox_stats st = {0};
    int changed = 0;
    int64_t n = -1;
    snprintf(dir, sizeof dir, "%s/bucket", test_tmpdir());
    CHECK_OK(ak_mkdirs(dir, &err), err);
    CHECK_OK(ak_store_open(dir, &bucket, &err), err);
    CHECK_OK(ak_datadir_open_system(dd, SID, 1, &db, &err), err);
    CHECK_OK(ak_outbox_ship_system(ob, bucket, dd, SID, db, &st, &changed, &err), err);
    CHECK_INT(st.shipped, 3);
    CHECK_INT(st.pending, 0);
    CHECK_OK(ak_outbox_count(ob, NULL, &n, &err), err);
    CHECK_INT(n, 0);
    CHECK_INT(check_shipped_sums(bucket), 3);
    /* the bucket's copies rebuild the same rows elsewhere */
    snprintf(dir, sizeof dir, "%s/data2", test_tmpdir());
    CHECK_OK(ak_datadir_open(dir, 1, 0, &dd2, &err), err);
    CHECK_OK(ak_datadir_open_system(dd2, SID, 1, &fresh, &err), err);
    ak_ingest_config cfg = {.bucket = bucket, .data = dd2, .concurrency = 1};
    ak_ingest_stats is;
    CHECK_OK(ak_ingest_system(&cfg, SID, fresh, &is, &err), err);
    CHECK_INT(is.uploads_ingested, 3);
    CHECK_INT(hot_rows(fresh), hot_rows(db));
    ak_sysdb_close(fresh);
    ak_sysdb_close(db);
    ak_datadir_close(dd2);
    ak_store_close(bucket);
}

/* The lines of b parsed into records that outlive the parse. */
static size_t parse_lines(const ak_buf *b, ak_record **recs, size_t max)
{
    ak_json_doc *doc = ak_json_doc_new();
    size_t n = 0;
    for (const char *l = b->data; l && *l && n < max;) {
        const char *end = strchr(l, '\n');
        ak_rec_problem prob;
        ak_err err;
        recs[n] = malloc(sizeof **recs);
        CHECK_OK(ak_record_parse(doc, l, (size_t)(end - l), 0, recs[n], &prob, &err), err);
        /* the strings point into the doc: give each record its own copies */
        recs[n]->id = strndup(recs[n]->id, recs[n]->id_len);
        recs[n]->content = strndup(recs[n]->content, recs[n]->content_len);
        recs[n]->metadata = NULL;
        recs[n]->metadata_len = 0;
        n++;
        l = end + 1;
    }
    ak_json_doc_free(doc);
    return n;
}

static void free_records(ak_record **recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)recs[i]->id);
        free((char *)recs[i]->content);
        free(recs[i]);
    }
}

static void test_apply_from_memory(void)
{
    ak_buf b = {0};
    ak_outbox_batch ba;
    ak_ledger_row row;
    ak_sysdb *db;
    ak_err err;
    ak_record *recs[8];
    ak_put_result res[8];
    int64_t rowid[8], first[8];
    int changed = 0;
    CHECK_OK(ak_datadir_open_system(dd, "memory.example", 1, &db, &err), err);
    batch(&b, 0, 4, "a");
    size_t n = parse_lines(&b, recs, 8);
    CHECK_OK(ak_outbox_stage(ob, "memory.example", b.data, b.len, (int64_t)n, "test",
                             ak_time_now_us(), &ba, &err), err);
    CHECK_OK(ak_outbox_apply(ob, dd, "memory.example", db, &ba, (const ak_record *const *)recs, n,
                             res, rowid, &row, &changed, &err), err);
    CHECK_INT(row.new_count, 4);
    for (size_t i = 0; i < 4; i++) /* each new row's id, as stored */
        CHECK_INT(rowid[i], hot_rowid_of(db, recs[i]->id));
    memcpy(first, rowid, sizeof first);
    CHECK_INT(row.payload_bytes, (int64_t)b.len);
    CHECK_INT(res[0], AK_PUT_NEW);
    CHECK_INT(res[3], AK_PUT_NEW);
    CHECK(changed);
    CHECK_INT(hot_rows(db), 4);
    ak_ledger_row_free(&row);
    ak_outbox_batch_free(&ba);
    free_records(recs, n);
    /* again with id1 unchanged, id2 edited, id9 new twice with two contents */
    ak_buf_reset(&b);
    ak_buf c = {0};
    batch(&c, 1, 1, "a");
    ak_buf_append(&b, c.data, c.len);
    batch(&c, 2, 1, "edited");
    ak_buf_append(&b, c.data, c.len);
    batch(&c, 9, 1, "a");
    ak_buf_append(&b, c.data, c.len);
    batch(&c, 9, 1, "other");
    ak_buf_append(&b, c.data, c.len);
    n = parse_lines(&b, recs, 8);
    CHECK_OK(ak_outbox_stage(ob, "memory.example", b.data, b.len, (int64_t)n, "test",
                             ak_time_now_us() + 1000, &ba, &err), err);
    CHECK_OK(ak_outbox_apply(ob, dd, "memory.example", db, &ba, (const ak_record *const *)recs, n,
                             res, rowid, &row, &changed, &err), err);
    CHECK_INT(res[0], AK_PUT_DUPLICATE);
    CHECK_INT(rowid[0], 0);             /* nothing written */
    CHECK_INT(rowid[1], first[2]);      /* id2, updated in its row */
    CHECK_INT(rowid[2], hot_rowid_of(db, recs[2]->id));
    CHECK(rowid[2] > first[3]);
    CHECK_INT(rowid[3], 0);             /* refused */
    CHECK_INT(res[1], AK_PUT_UPDATED);
    CHECK_INT(res[2], AK_PUT_NEW);
    CHECK_INT(res[3], AK_PUT_CONFLICT);
    CHECK_INT(row.duplicates, 1);
    CHECK_INT(row.updated, 1);
    CHECK_INT(row.new_count, 1);
    CHECK_INT(row.records_rejected, 1);
    /* named as the same batch read back from memories.jsonl would name it */
    CHECK_HAS(row.record_errors, "memories.jsonl line 4");
    CHECK_INT(hot_rows(db), 5);
    ak_ledger_row_free(&row);
    ak_outbox_batch_free(&ba);
    free_records(recs, n);
    ak_buf_free(&c);
    ak_buf_free(&b);
    ak_sysdb_close(db);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int64_t ledger_status(ak_sysdb *db, const char *uid)
{
    ak_ledger_row row;
    ak_err err;
    CHECK_OK(ak_sysdb_ledger_get(db, uid, &row, &err), err);
    int64_t st = row.status;
    ak_ledger_row_free(&row);
    return st;
}

static void test_stage_beside_apply(void)
{
    const char *sid = "beside.example";
    ak_buf b = {0};
    ak_outbox_batch ba;
    ak_ledger_row row;
    ak_sysdb *db;
    ak_err err;
    ak_record *recs[4];
    ak_put_result res[4];
    int64_t rowid[4], batches = 0;
    int changed = 0;
    char path[1024];
    CHECK_OK(ak_datadir_open_system(dd, sid, 1, &db, &err), err);
    batch(&b, 0, 3, "a");
    size_t n = parse_lines(&b, recs, 4);
    CHECK_OK(ak_outbox_stage_begin(ob, sid, b.data, b.len, (int64_t)n, "test", ak_time_now_us(),
                                   &ba, &err), err);
    CHECK_OK(ak_outbox_apply(ob, dd, sid, db, &ba, (const ak_record *const *)recs, n, res, rowid,
                             &row, &changed, &err), err);
    CHECK(ba.staged);
    CHECK_INT(row.status, AK_UPLOAD_INGESTED);
    CHECK_INT(row.new_count, 3);
    CHECK_INT(hot_rows(db), 3);
    CHECK_OK(ak_outbox_count(ob, sid, &batches, &err), err);
    CHECK_INT(batches, 1);
    snprintf(path, sizeof path, "%s/outbox/systems/%s/%s/" AK_OUTBOX_PAYLOAD,
             ak_datadir_path(dd), sid, ba.uid);
    CHECK_INT(file_size(path), (int64_t)b.len);
    ak_ledger_row_free(&row);
    ak_outbox_batch_free(&ba);
    free_records(recs, n);

    /* the stage fails (a file where the batch's directory must go) */
    snprintf(path, sizeof path, "%s/outbox/systems/blocked.example", ak_datadir_path(dd));
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    ak_sysdb *db2;
    CHECK_OK(ak_datadir_open_system(dd, "blocked.example", 1, &db2, &err), err);
    batch(&b, 10, 3, "b");
    n = parse_lines(&b, recs, 4);
    CHECK_OK(ak_outbox_stage_begin(ob, "blocked.example", b.data, b.len, (int64_t)n, "test",
                                   ak_time_now_us(), &ba, &err), err);
    memset(&row, 0, sizeof row);
    ak_code rc = ak_outbox_apply(ob, dd, "blocked.example", db2, &ba,
                                 (const ak_record *const *)recs, n, res, rowid, &row, &changed,
                                 &err);
    CHECK(rc != AK_OK);
    CHECK_HAS(err.msg, "blocked.example");
    CHECK(!ba.staged);
    CHECK_INT(hot_rows(db2), 0);
    CHECK_INT(ledger_status(db2, ba.uid), AK_UPLOAD_UNKNOWN);
    ak_ledger_row_free(&row);
    ak_outbox_batch_free(&ba);
    free_records(recs, n);
    unlink(path);
    ak_sysdb_close(db2);
    ak_buf_free(&b);
    ak_sysdb_close(db);
}


static int bucket_has(ak_store *bucket, const char *prefix, const char *name)
{
    char key[AK_STORE_KEY_MAX + 1];
    ak_err err;
    snprintf(key, sizeof key, "%s%s", prefix, name);
    return ak_store_head(bucket, key, NULL, &err) == AK_OK;
}

static void test_ship_steps(void)
{
    const char *sid = "steps.example";
    char dir[512];
    ak_store *bucket;
    ak_sysdb *db;
    ak_err err;
    ak_buf b = {0};
    ak_outbox_batch ba;
    ak_ledger_row row;
    ak_outbox_shipment sh;
    ak_outbox_stats st = {0};
    int changed = 0;
    int64_t left = -1;
    snprintf(dir, sizeof dir, "%s/bucket-steps", test_tmpdir());
    CHECK_OK(ak_mkdirs(dir, &err), err);
    CHECK_OK(ak_store_open(dir, &bucket, &err), err);
    CHECK_OK(ak_datadir_open_system(dd, sid, 1, &db, &err), err);
    for (int k = 0; k < 3; k++) {
        batch(&b, 10 * k, 2, "s");
        CHECK_OK(ak_outbox_stage(ob, sid, b.data, b.len, 2, "test", ak_time_now_us() + k, &ba,
                                 &err), err);
        CHECK_OK(ak_outbox_apply(ob, dd, sid, db, &ba, NULL, 0, NULL, NULL, &row, &changed, &err),
                 err);
        ak_ledger_row_free(&row);
        ak_outbox_batch_free(&ba);
    }
    CHECK_OK(ak_outbox_ship_list(ob, dd, sid, db, &sh, &changed, &err), err);
    CHECK_INT(sh.list.n, 3);
    if (sh.list.n != 3)
        return;
    /* a forget under way: the third batch's manifest is gone before it is
     * copied (its payload alone reaches the bucket, the copy fails) ... */
    char key[AK_STORE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%smanifest.json", sh.list.ups[2].prefix);
    CHECK_OK(ak_store_delete(ob, key, &err), err);
    ak_outbox_ship_copy(ob, bucket, &sh);
    CHECK(sh.copy_rc != AK_OK);
    for (size_t i = 0; i < 2; i++)
        CHECK(bucket_has(bucket, sh.list.ups[i].prefix, "manifest.json"));
    CHECK(bucket_has(bucket, sh.list.ups[2].prefix, AK_OUTBOX_PAYLOAD));
    /* ... and the second is gone from the outbox once it was copied */
    for (size_t f = 0; f < sh.list.ups[1].n_files; f++) {
        snprintf(key, sizeof key, "%s%s", sh.list.ups[1].prefix, sh.list.ups[1].files[f].name);
        CHECK_OK(ak_store_delete(ob, key, &err), err);
    }
    snprintf(key, sizeof key, "%s" AK_OUTBOX_PAYLOAD, sh.list.ups[2].prefix);
    CHECK_OK(ak_store_delete(ob, key, &err), err);
    CHECK_OK(ak_outbox_ship_drop(ob, bucket, &sh, &st, &err), err);
    CHECK_INT(st.shipped, 1);
    CHECK_INT(st.forgotten, 2);
    CHECK_INT(st.pending, 0);
    CHECK(!bucket_has(bucket, sh.list.ups[2].prefix, AK_OUTBOX_PAYLOAD));
    {
        CHECK(bucket_has(bucket, sh.list.ups[0].prefix, "manifest.json"));
        CHECK(bucket_has(bucket, sh.list.ups[0].prefix, AK_OUTBOX_PAYLOAD));
        CHECK(!bucket_has(bucket, sh.list.ups[1].prefix, "manifest.json"));
        CHECK(!bucket_has(bucket, sh.list.ups[1].prefix, AK_OUTBOX_PAYLOAD));
    }
    CHECK_OK(ak_outbox_count(ob, sid, &left, &err), err);
    CHECK_INT(left, 0);
    ak_outbox_shipment_free(&sh);
    ak_buf_free(&b);
    ak_sysdb_close(db);
    ak_store_close(bucket);
}

/* Two segments hold the same rows: ids, rowids, timestamps, vectors. */
static void check_same(const ak_segment *a, const ak_segment *b)
{
    CHECK_INT(a->n, b->n);
    CHECK_INT(a->n_hot, b->n_hot);
    if (a->n != b->n || a->n_hot != b->n_hot)
        return;
    for (uint32_t i = 0; i < a->n; i++) {
        uint32_t j = 0;
        while (j < b->n && strcmp(ak_segment_conv_id(a, i), ak_segment_conv_id(b, j)) != 0)
            j++;
        CHECK(j < b->n);
        if (j == b->n)
            continue;
        CHECK_INT(a->rowid[i], b->rowid[j]);
        CHECK_INT(a->ts[i], b->ts[j]);
        CHECK(memcmp(a->q + (size_t)i * AK_DIM, b->q + (size_t)j * AK_DIM, AK_DIM) == 0);
        CHECK(a->qscale[i] == b->qscale[j]);
    }
}

/* The vector put_vec() stores for x. */
static void vec_of(float x, float *v)
{
    for (int i = 0; i < AK_DIM; i++)
        v[i] = x + (float)i / AK_DIM;
}

/* Put a conversation; returns the id of the hot row written. */
static int64_t put_vec(ak_sysdb *db, const char *id, const char *content, float x, int with_vec)
{
    ak_record r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.id_len = strlen(id);
    r.content = content;
    r.content_len = strlen(content);
    ak_sha256(content, r.content_len, r.content_sha256);
    r.ts_us = AK_US_PER_SEC * (int64_t)(x * 1000);
    r.source = "test";
    r.source_len = 4;
    r.has_embedding = with_vec;
    vec_of(x, r.embedding);
    char uid[32]; /* each x its own upload: a later x updates */
    snprintf(uid, sizeof uid, "u%.4f", (double)x);
    ak_upload_order up = {(int64_t)(x * 1000), uid};
    ak_put_result res;
    ak_err err;
    CHECK_OK(ak_sysdb_put_record(db, &up, &r, &res, &err), err);
    return ak_sysdb_put_rowid(db);
}

static int64_t wal_size(ak_sysdb *db)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s-wal", ak_sysdb_path(db));
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Commits through db, a checkpoint by another connection, then one more
 * commit (which resets the WAL): the WAL's size before and after it. */
static void wal_reset_sizes(ak_sysdb *db, float base, int64_t *before, int64_t *after)
{
    for (int k = 0; k < 40; k++) {
        char id[16], content[32];
        snprintf(id, sizeof id, "w%d", k);
        snprintf(content, sizeof content, "w%d at %g", k, (double)base);
        put_vec(db, id, content, base + 0.001f * (float)k, 1);
    }
    *before = wal_size(db);
    sqlite3 *h = test_sql_open(db);
    CHECK(sqlite3_exec(h, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    char content[32];
    snprintf(content, sizeof content, "reset at %g", (double)base);
    put_vec(db, "reset", content, base + 0.5f, 1);
    *after = wal_size(db);
}

static void test_pushdb_wal(void)
{
    ak_pushdb slot;
    ak_sysdb *db;
    ak_err err;
    int64_t before, after;
    memset(&slot, 0, sizeof slot);
    /* a plain connection truncates the WAL at its reset */
    CHECK_OK(ak_datadir_open_system(dd, "wal.example", 1, &db, &err), err);
    wal_reset_sizes(db, 1, &before, &after);
    CHECK(before > 256 * 1024);
    CHECK(after < before / 4);
    ak_sysdb_close(db);
    /* a kept push connection keeps it, and cuts it when closed */
    CHECK_OK(ak_pushdb_open(&slot, dd, "wal.example", &db, &err), err);
    wal_reset_sizes(db, 2, &before, &after);
    CHECK(before > 256 * 1024);
    CHECK_INT(after, before);
    ak_pushdb_done(&slot, "wal.example", db, 1);
    ak_pushdb_close(&slot);
    CHECK_OK(ak_datadir_open_system(dd, "wal.example", 1, &db, &err), err);
    CHECK_INT(wal_size(db), 0);
    ak_sysdb_close(db);
}

static uint64_t epoch_of(ak_sysdb *db)
{
    uint64_t e = 0;
    ak_err err;
    CHECK_OK(ak_sysdb_vec_epoch(db, &e, &err), err);
    return e;
}

/* Hot's writes bump vec_epoch once per transaction, without a trigger:
 * outside a transaction, in one, after one rolled back, and a vector
 * filled in later (storage/vecfill.c). */
static void test_epoch(void)
{
    ak_sysdb *db;
    ak_err err;
    CHECK_OK(ak_datadir_open_system(dd, "epoch.example", 1, &db, &err), err);
    uint64_t e = epoch_of(db);
    put_vec(db, "e0", "e0", 0.1f, 1); /* autocommit */
    CHECK_INT(epoch_of(db), e + 1);
    put_vec(db, "e0", "e0 edited", 0.2f, 1);
    CHECK_INT(epoch_of(db), e + 2);
    CHECK_OK(ak_sysdb_begin(db, &err), err);
    put_vec(db, "e1", "e1", 0.3f, 1);
    put_vec(db, "e0", "e0 again", 0.4f, 1);
    CHECK_OK(ak_sysdb_commit(db, &err), err);
    CHECK_INT(epoch_of(db), e + 3);
    CHECK_OK(ak_sysdb_begin(db, &err), err);
    put_vec(db, "e2", "e2", 0.5f, 1);
    ak_sysdb_rollback(db);
    CHECK_INT(epoch_of(db), e + 3);
    CHECK_OK(ak_sysdb_begin(db, &err), err);
    put_vec(db, "e2", "e2", 0.5f, 0); /* no vector: filled in below */
    CHECK_OK(ak_sysdb_commit(db, &err), err);
    CHECK_INT(epoch_of(db), e + 4);
    ak_vecfill_row rows[4];
    size_t n = 0;
    int64_t written = 0;
    CHECK_OK(ak_vecfill_next(db, AK_TIER_HOT, 0, rows, 4, &n, &err), err);
    CHECK_INT(n, 1);
    static float v[AK_DIM];
    int ok = 1;
    vec_of(0.6f, v);
    CHECK_OK(ak_vecfill_store(db, AK_TIER_HOT, rows, v, &ok, n, &written, &err), err);
    CHECK_INT(written, 1);
    CHECK_INT(epoch_of(db), e + 5);
    ak_vecfill_rows_free(rows, n);
    ak_sysdb_close(db);
}

static void test_patch(void)
{
    ak_sysdb *db;
    ak_segment *base, *patched, *whole;
    ak_err err;
    CHECK_OK(ak_datadir_open_system(dd, "patch.example", 1, &db, &err), err);
    for (int k = 0; k < 20; k++) {
        char id[16];
        snprintf(id, sizeof id, "p%d", k);
        put_vec(db, id, id, 0.01f * (float)(k + 1), 1);
    }
    CHECK_OK(ak_segment_load(db, "patch.example", &base, &err), err);
    /* p3 updated, p5 updated without a vector, p20 and p21 new */
    const char *ids[] = {"p3", "p5", "p20", "p21", "p99"};
    const float x[] = {0.5f, 0.6f, 0.7f, 0.8f};
    static float v[4][AK_DIM];
    ak_segment_row rows[4];
    for (int i = 0; i < 4; i++) {
        char content[32];
        snprintf(content, sizeof content, "%s edited", ids[i]);
        vec_of(x[i], v[i]);
        rows[i] = (ak_segment_row){put_vec(db, ids[i], content, x[i], i != 1), 0, v[i]};
        rows[i].ts_us = AK_US_PER_SEC * (int64_t)(x[i] * 1000);
        CHECK(rows[i].rowid > 0);
    }
    rows[1].vec = NULL;
    CHECK_INT(rows[0].rowid, 4); /* p3 updated in its row */
    /* read back, with p99 absent ... */
    CHECK_OK(ak_segment_patch(base, db, ids, NULL, 5, 0, &patched, &err), err);
    CHECK_OK(ak_segment_load(db, "patch.example", &whole, &err), err);
    check_same(patched, whole);
    ak_segment_unref(patched);
    /* ... or from the rows in memory: the same segment */
    CHECK_OK(ak_segment_patch(base, db, ids, rows, 4, 0, &patched, &err), err);
    check_same(patched, whole);
    ak_segment_unref(patched);
    ak_segment_unref(whole);
    ak_segment_unref(base);
    ak_sysdb_close(db);
}

/* Patches that only add rows append in place over shared arrays; the
 * older segments keep exactly their rows, and a patch of an older one (or
 * one that drops a row) copies instead. */
static void test_patch_append(void)
{
    ak_sysdb *db;
    ak_segment *seg[5], *whole, *stale;
    ak_err err;
    char id[16];
    CHECK_OK(ak_datadir_open_system(dd, "append.example", 1, &db, &err), err);
    for (int k = 0; k < 10; k++) {
        snprintf(id, sizeof id, "a%d", k);
        put_vec(db, id, id, 0.01f * (float)(k + 1), 1);
    }
    CHECK_OK(ak_segment_load(db, "append.example", &seg[0], &err), err);
    CHECK_INT(seg[0]->cap, 10); /* a load has no room */
    for (int b = 1; b < 5; b++) { /* four batches of 3 new rows (one without a vector) */
        const char *ids[3];
        char names[3][16];
        static float v[3][AK_DIM];
        ak_segment_row rows[3];
        for (int i = 0; i < 3; i++) {
            float x = 0.1f * (float)b + 0.01f * (float)i;
            snprintf(names[i], sizeof names[i], "b%d-%d", b, i);
            vec_of(x, v[i]);
            rows[i] = (ak_segment_row){put_vec(db, names[i], names[i], x, i != 2),
                                       AK_US_PER_SEC * (int64_t)(x * 1000), i != 2 ? v[i] : NULL};
            ids[i] = names[i];
        }
        /* batches 2 and 4 from memory, 1 and 3 read back; 3 and 4 known
         * to be new (not looked for in the old segment) */
        CHECK_OK(ak_segment_patch(seg[b - 1], db, ids, b % 2 ? NULL : rows, 3, b >= 3, &seg[b],
                                  &err), err);
        CHECK_INT(seg[b]->n, 10 + 2 * b);
    }
    CHECK(seg[1]->owner == NULL);   /* the first patch copied, with room */
    CHECK(seg[1]->cap >= 12 + 256);
    CHECK(seg[2]->owner == seg[1]); /* the later ones appended over its arrays */
    CHECK(seg[4]->owner == seg[1]);
    CHECK_INT(seg[1]->tail, 18);
    CHECK_OK(ak_segment_load(db, "append.example", &whole, &err), err);
    check_same(seg[4], whole);
    CHECK_INT(seg[2]->n, 14); /* an older segment still ends where it did */
    CHECK(strcmp(ak_segment_conv_id(seg[2], 13), "b2-1") == 0);
    /* a patch of an older segment cannot append (its tail is written) */
    const char *more[] = {"c0"};
    put_vec(db, "c0", "c0", 0.9f, 1);
    CHECK_OK(ak_segment_patch(seg[2], db, more, NULL, 1, 1, &stale, &err), err);
    CHECK(stale->owner == NULL);
    CHECK_INT(stale->n, 15);
    ak_segment_unref(stale);
    /* an update drops a row: copied */
    put_vec(db, "b1-0", "b1-0 edited", 0.95f, 1);
    const char *upd[] = {"b1-0", "c0"};
    ak_segment *patched;
    CHECK_OK(ak_segment_patch(seg[4], db, upd, NULL, 2, 0, &patched, &err), err);
    CHECK(patched->owner == NULL);
    ak_segment_unref(whole);
    CHECK_OK(ak_segment_load(db, "append.example", &whole, &err), err);
    check_same(patched, whole);
    ak_segment_unref(patched);
    ak_segment_unref(whole);
    for (int b = 0; b < 5; b++) /* any order: owners outlive their views */
        ak_segment_unref(seg[b]);
    ak_sysdb_close(db);
}

int main(void)
{
    ak_err err;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data", test_tmpdir());
    if (ak_datadir_open(dir, 1, 0, &dd, &err) || ak_outbox_open(dd, &ob, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    RUN(test_stage_apply);
    RUN(test_recover);
    RUN(test_ship);
    RUN(test_apply_from_memory);
    RUN(test_stage_beside_apply);
    RUN(test_ship_steps);
    RUN(test_patch);
    RUN(test_patch_append);
    RUN(test_pushdb_wal);
    RUN(test_sweep_orphans);
    RUN(test_epoch);
    ak_store_close(ob);
    ak_datadir_close(dd);
    return test_report("outbox");
}
