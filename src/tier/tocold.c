/*
 * tocold.c - aging warm -> cold, into few, large objects.
 *
 * The move, the merges and retention's rewrite of a straddling object
 * (ak_age_cold_trim) are one crash-safe protocol sharing its batch, build,
 * verified upload and catalog-switch steps; their SQL is
 * storage/coldmove.c's.
 *
 * Cold objects hold one system's conversations of one calendar month (UTC),
 * up to AK_AGE_COLD_TARGET_ROWS rows.  A pass takes the month's warm rows
 * old enough and the month's small objects (fewer rows than the target),
 * and writes them together as one new object; a later pass that brings
 * more rows of that month merges them into it the same way, so a system
 * ends up with about one object per month however often aging runs.
 *
 * Crash safety, step by step:
 *   1. the new object's key goes into cold_garbage (committed) -- if the
 *      pass dies before step 4, the next pass deletes the orphan;
 *   2. put it and read it back (SHA-256 and row count);
 *   3. (nothing has changed yet: every row is still where it was)
 *   4. one transaction: the merged rows' catalog entries point at the new
 *      object, the warm rows get catalog entries (with their 1-sentence
 *      summary, full-text indexed, and their vector code) and leave warm,
 *      the new key leaves cold_garbage and the replaced objects' keys enter
 *      it; counts are verified before COMMIT;
 *   5. the replaced objects are deleted from the store and then from
 *      cold_garbage.  A pass starts by finishing step 5 for whatever an
 *      earlier pass left (a key the catalog still names is never deleted).
 * Test points (util/testpoint.h): "age.cold_uploaded" after step 2,
 * "age.cold_committed" after step 4.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/coldmove.h"
#include "tier/age_pass.h"
#include "tier/cold.h"
#include "tier/minhash.h"
#include "tier/parquet_read.h"
#include "tier/parquet_write.h"
#include "tier/summary.h"
#include "storage/warmcode.h"
#include "util/vcode.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/testpoint.h"
#include "util/time.h"
#include "version.h"

_Static_assert(AK_PQ_CODE_MIN == AK_VCODE_MIN && AK_PQ_CODE_MAX == AK_VCODE_MAX &&
                   AK_PQ_CODE_LEN == AK_VCODE_BYTES,
               "the Parquet column holds the vector code");
_Static_assert(AK_PQ_FINGERPRINT_LEN == AK_MINHASH_BYTES && AK_PQ_FINGERPRINT_LEN_V1 == AK_MINHASH_BYTES_V1,
               "the Parquet column holds the fingerprint");

typedef ak_age_pass pass;

#define MONTH_LEN 7 /* YYYY-MM */

typedef struct {
    int64_t id;  /* warm row id; 0 for a row from an object being merged */
    int src;     /* -1: from warm; else the index of the object it is read from */
    char *conversation_id, *ultra, *metadata, *upload_id;
    uint8_t fingerprint[AK_MINHASH_BYTES];
    uint8_t code[AK_VCODE_MAX];
    size_t code_len; /* 0: no code */
    char sha_hex[AK_SHA256_HEX];
    int64_t ts, upload_at, bytes;
} cold_row;

typedef struct {
    cold_row *r;
    size_t n, cap;
    int64_t warm_bytes; /* of the rows from warm */
    size_t from_warm;
    char **old;         /* keys of the objects being merged */
    size_t n_old;
    int trimming;       /* retention: rows before keep_from are left out */
    int64_t keep_from;
} cold_batch;

/* Free the rows past the first keep. */
static void drop_rows(cold_batch *b, size_t keep)
{
    for (size_t i = keep; i < b->n; i++) {
        free(b->r[i].conversation_id);
        free(b->r[i].ultra);
        free(b->r[i].metadata);
        free(b->r[i].upload_id);
    }
    b->n = keep;
}

static void batch_free(cold_batch *b)
{
    drop_rows(b, 0);
    for (size_t i = 0; i < b->n_old; i++)
        free(b->old[i]);
    free(b->old);
    free(b->r);
    memset(b, 0, sizeof *b);
}

static cold_row *batch_add(cold_batch *b, ak_err *err)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        cold_row *grown = realloc(b->r, cap * sizeof *grown);
        if (!grown) {
            ak_err_set(err, AK_ERR_NOMEM, "out of memory");
            return NULL;
        }
        b->r = grown;
        b->cap = cap;
    }
    cold_row *r = &b->r[b->n++];
    memset(r, 0, sizeof *r);
    r->src = -1;
    return r;
}

static char *str_dup(const char *t) { return t ? strdup(t) : NULL; }

static char *val_dup(ak_pq_val v) { return v.p ? strndup(v.p, v.len) : NULL; }

/* ---- the month's warm rows ---- */

/* The cold code of a warm row's vector code (none when it has none): the
 * same code, entropy coded, never rounded again. */
static void warm_code(const ak_coldmove_warm *w, cold_row *r)
{
    r->code_len = ak_wcode_to_vcode(w->embedding_q, w->embedding_q_len, r->code);
}

typedef struct {
    pass *p;
    cold_batch *b;
} warm_read;

static ak_code warm_row(void *ctx, const ak_coldmove_warm *w, ak_err *err)
{
    warm_read *wr = ctx;
    cold_batch *b = wr->b;
    cold_row *r = batch_add(b, err);
    if (!r)
        return AK_ERR_NOMEM;
    r->id = w->id;
    r->conversation_id = str_dup(w->conversation_id);
    r->ts = w->ts_us;
    r->ultra = str_dup(w->ultra_summary);
    const char *summary = w->summary;
    if (!ak_minhash_stored(w->fingerprint, w->fingerprint_len,
                           r->fingerprint)) { /* aged before warm kept it: from the summary */
        uint32_t sig[AK_MINHASH_SLOTS];
        ak_minhash(summary ? summary : "", summary ? strlen(summary) : 0, sig);
        ak_minhash_bytes(sig, r->fingerprint);
    }
    if (w->content_sha256_len == AK_SHA256_LEN)
        ak_hex(w->content_sha256, AK_SHA256_LEN, r->sha_hex);
    r->metadata = str_dup(w->metadata);
    r->upload_at = w->upload_at_us;
    r->upload_id = str_dup(w->upload_id);
    r->bytes = w->bytes;
    warm_code(w, r);
    b->warm_bytes += r->bytes;
    b->from_warm++;
    ak_code rc = AK_OK;
    if (!r->ultra) /* likewise the 1-sentence summary */
        rc = ak_summarize(summary ? summary : "", summary ? strlen(summary) : 0, 1, &r->ultra, err);
    if (rc == AK_OK && (!r->conversation_id || !r->upload_id || !r->sha_hex[0]))
        rc = ak_err_set(err, AK_ERR_CORRUPT, "system %s: warm row %lld is incomplete",
                        wr->p->system_id, (long long)r->id);
    return rc;
}

static ak_code load_warm(pass *p, int64_t from, int64_t to, cold_batch *b, ak_err *err)
{
    warm_read wr = {p, b};
    return ak_coldmove_warm_rows(p->sdb, from, to, p->warm_cutoff, AK_AGE_COLD_TARGET_ROWS,
                                 warm_row, &wr, err);
}

/* ---- the month's small objects ---- */

typedef struct {
    pass *p;
    cold_batch *b;
    int src;
    ak_coldmove_find *is_here; /* is this row catalogued in this object? (and its code) */
    ak_err *err;
} merge_read;

static ak_code merged_row(void *ctx, const ak_pq_row *row)
{
    merge_read *m = ctx;
    if (m->b->trimming && row->ts_us < m->b->keep_from)
        return AK_OK; /* past retention: not carried into the new object */
    int here;
    int64_t upload_at;
    char *upload_id;
    uint8_t code[AK_VCODE_MAX];
    size_t code_len;
    ak_code rc = ak_coldmove_find_row(m->is_here, row->conversation_id.p, row->conversation_id.len,
                                      m->b->old[m->src], row->content_sha256.p,
                                      row->content_sha256.len, &here, &upload_at, &upload_id,
                                      code, sizeof code, &code_len, m->err);
    if (rc)
        return rc;
    cold_row *r = here ? batch_add(m->b, m->err) : NULL;
    /* a code the object lacks but the catalog has (the backfill embedded the
     * row after it went cold) goes into the new object */
    if (r && !row->embedding_code.p && code_len)
        memcpy(r->code, code, r->code_len = code_len);
    if (!here)
        return AK_OK; /* replaced since (the conversation came back to hot): drop it */
    if (!r) {
        free(upload_id);
        return AK_ERR_NOMEM;
    }
    r->src = m->src;
    r->conversation_id = val_dup(row->conversation_id);
    r->ultra = val_dup(row->ultra_summary);
    r->metadata = val_dup(row->metadata);
    r->upload_id = upload_id;
    r->upload_at = upload_at;
    r->ts = row->ts_us;
    ak_minhash_stored(row->fingerprint.p, row->fingerprint.len, r->fingerprint); /* checked */
    memcpy(r->sha_hex, row->content_sha256.p, AK_PQ_SHA256_HEX_LEN);
    r->sha_hex[AK_PQ_SHA256_HEX_LEN] = '\0';
    if (row->embedding_code.p) /* checked by the reader: at most AK_VCODE_MAX bytes */
        memcpy(r->code, row->embedding_code.p, r->code_len = row->embedding_code.len);
    if (!r->conversation_id || !r->ultra || !r->upload_id || (row->metadata.p && !r->metadata))
        return ak_err_set(m->err, AK_ERR_NOMEM, "out of memory");
    return AK_OK;
}

/* Read object src of b into b: the rows its catalog entries still name. */
static ak_code read_old(pass *p, cold_batch *b, int src, ak_err *err)
{
    char *file = NULL;
    size_t len = 0;
    ak_pq_reader *r = NULL;
    merge_read m = {p, b, src, NULL, err};
    ak_code rc = ak_coldmove_find_open(p->sdb, &m.is_here, err);
    if (rc == AK_OK)
        rc = ak_store_get_small(p->cfg->cold, b->old[src], AK_PQ_MAX_BYTES, &file, &len, err);
    if (rc == AK_OK && (rc = ak_pq_reader_open(file, len, &r, err)) == AK_OK)
        rc = ak_pq_reader_each(r, merged_row, &m, err);
    if (rc && rc != AK_ERR_NOMEM)
        ak_err_prefix(err, "merging cold object %s: ", b->old[src]);
    ak_pq_reader_free(r);
    free(file);
    ak_coldmove_find_close(m.is_here);
    return rc;
}

typedef struct {
    cold_batch *b;
    int64_t room;
    ak_err *err;
} old_pick;

static ak_code add_old(void *ctx, const char *key, int64_t n)
{
    old_pick *pick = ctx;
    cold_batch *b = pick->b;
    if (n > pick->room)
        return AK_OK;
    char **grown = realloc(b->old, (b->n_old + 1) * sizeof *grown);
    if (grown)
        b->old = grown;
    if (!grown || !(grown[b->n_old] = strdup(key)))
        return ak_err_set(pick->err, AK_ERR_NOMEM, "out of memory");
    b->n_old++;
    pick->room -= n;
    return AK_OK;
}

/* The month's objects with room, fullest first while they fit beside the
 * rows already in b.  Only worth it with rows to add or two to merge. */
static ak_code pick_old(pass *p, int64_t from, int64_t to, cold_batch *b, ak_err *err)
{
    old_pick pick = {b, AK_AGE_COLD_TARGET_ROWS - (int64_t)b->n, err};
    ak_code rc = ak_coldmove_small_objects(p->sdb, from, to, AK_AGE_COLD_TARGET_ROWS, add_old,
                                           &pick, err);
    if (rc == AK_OK && b->n == 0 && b->n_old < 2) { /* nothing to add, nothing to merge */
        for (size_t i = 0; i < b->n_old; i++)
            free(b->old[i]);
        b->n_old = 0;
    }
    for (size_t i = 0; rc == AK_OK && i < b->n_old;) {
        size_t rows = b->n;
        rc = read_old(p, b, (int)i, err);
        if (rc != AK_ERR_NOTFOUND && rc != AK_ERR_CORRUPT && rc != AK_ERR_UNSUPPORTED) {
            i++;
            continue;
        }
        /* a missing or damaged object (verify reports it) must not stop its
         * month from aging: leave it out of the merge, as it is */
        AK_WARN("age", "system %s: %s; not merged", p->system_id, err->msg);
        drop_rows(b, rows);
        free(b->old[i]);
        memmove(&b->old[i], &b->old[i + 1], (b->n_old - i - 1) * sizeof *b->old);
        b->n_old--;
        rc = AK_OK;
    }
    if (rc == AK_OK && b->from_warm == 0 && b->n_old < 2) { /* one left: nothing to merge */
        drop_rows(b, 0);
        for (size_t i = 0; i < b->n_old; i++)
            free(b->old[i]);
        b->n_old = 0;
    }
    return rc;
}

/* ---- the new object ---- */

static ak_pq_val val(const char *s) { return (ak_pq_val){s, s ? strlen(s) : 0}; }

static int by_conversation(const void *x, const void *y)
{
    return strcmp(((const cold_row *)x)->conversation_id, ((const cold_row *)y)->conversation_id);
}

/* The rows as one Parquet file, in conversation order; *digest (of their
 * content hashes in that order) names it. */
static ak_code build_parquet(pass *p, cold_batch *b, const char *month, ak_buf *file,
                             uint8_t digest[32], ak_err *err)
{
    ak_buf metrics = {0};
    qsort(b->r, b->n, sizeof *b->r, by_conversation);
    ak_buf_printf(&metrics, "{\"month\":\"%s\",\"conversations\":%zu}", month, b->n);
    ak_sha256_ctx *h = ak_sha256_new();
    ak_pq_writer *w = NULL;
    /* ZSTD's optimal parser (level 16, btopt) codes the random-looking
     * bytes of vector codes, digests and length prefixes ~2 % smaller than
     * level 3: 366 -> 359 B a row, what keeps cold under 15 % of hot with
     * code version 4 (docs/BENCHMARKS.md); an object is written once a pass */
    ak_pq_opts opts = {.created_by = "akosha " AKOSHA_VERSION, .zstd_level = 16};
    ak_code rc = h ? ak_pq_writer_new(&opts, &w, err) : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == AK_OK && i < b->n; i++) {
        const cold_row *r = &b->r[i];
        ak_pq_row row = {
            .system_id = val(p->system_id),
            .conversation_id = val(r->conversation_id),
            .ts_us = r->ts,
            .ultra_summary = val(r->ultra),
            .fingerprint = {(const char *)r->fingerprint, AK_MINHASH_BYTES},
            .content_sha256 = val(r->sha_hex),
            .metadata = val(r->metadata),
            .daily_metrics = val(metrics.data),
            .embedding_code = {r->code_len ? (const char *)r->code : NULL, r->code_len},
        };
        ak_sha256_update(h, r->sha_hex, 64);
        rc = ak_pq_writer_add(w, &row, err);
    }
    if (rc == AK_OK)
        rc = ak_pq_writer_finish(w, file, err);
    if (h)
        ak_sha256_final(h, digest);
    ak_sha256_free(h);
    ak_pq_writer_free(w);
    ak_buf_free(&metrics);
    return rc;
}

ak_code ak_age_cold_key(const char *system_id, const char *month, const uint8_t digest[32],
                        char *out, size_t n)
{
    char hex[17], prefix[AK_COLD_PREFIX_MAX];
    if (ak_cold_system_prefix(system_id, prefix, sizeof prefix) < 0)
        return AK_ERR_INVALID;
    ak_hex(digest, 8, hex);
    return ak_fmt(out, n, "%smonth=%.7s/batch-%s.parquet", prefix, month, hex);
}

/* Put the file, read it back, compare.  A store failure is AK_ERR_IO. */
static ak_code upload_verified(pass *p, const char *key, const ak_buf *file, int64_t rows,
                               ak_err *err)
{
    ak_store *cold = p->cfg->cold;
    char *back = NULL;
    size_t back_len = 0;
    uint8_t want[32], got[32];
    ak_code rc = ak_store_put(cold, key, file->data, file->len, err);
    if (rc == AK_OK)
        rc = ak_store_get_small(cold, key, file->len + 1, &back, &back_len, err);
    if (rc == AK_OK) {
        ak_sha256(file->data, file->len, want);
        ak_sha256(back, back_len, got);
        if (back_len != file->len || memcmp(want, got, 32) != 0)
            rc = ak_err_set(err, AK_ERR_IO, "cold object %s reads back different from what was written", key);
    }
    ak_pq_reader *r = NULL;
    if (rc == AK_OK && (rc = ak_pq_reader_open(back, back_len, &r, err)) == AK_OK &&
        ak_pq_reader_rows(r) != rows)
        rc = ak_err_set(err, AK_ERR_IO, "cold object %s holds %lld rows, not %lld", key,
                        (long long)ak_pq_reader_rows(r), (long long)rows);
    ak_pq_reader_free(r);
    free(back);
    return rc;
}

/* ---- the catalog switch ---- */

/* Catalog one row of the new object; *ok = 0 when it is not as it was read
 * (a warm row replaced, a merged row moved).  Warm rows get a catalog entry
 * and leave warm; merged rows' entries move to the new object, and those
 * catalogued before the catalog kept summaries get theirs now. */
static ak_code catalog_row(ak_coldmove_switch *s, const cold_batch *b, const cold_row *r,
                           int *ok, ak_err *err)
{
    const uint8_t *code = r->code_len ? r->code : NULL;
    if (r->src < 0)
        return ak_coldmove_switch_warm(s, r->id, r->conversation_id, r->ultra, code,
                                       r->code_len, ok, err);
    return ak_coldmove_switch_merged(s, r->conversation_id, b->old[r->src], r->sha_hex, r->ultra,
                                     code, r->code_len, ok, err);
}

/* *dropped: catalog rows past retention deleted (trimming only). */
static ak_code switch_catalog(pass *p, const cold_batch *b, const char *key, int *moved,
                              int64_t *dropped, ak_err *err)
{
    ak_coldmove_switch *s = NULL;
    int ok = 1;
    *moved = 0;
    ak_code rc = ak_coldmove_switch_begin(p->sdb, key, &s, err);
    for (size_t i = 0; rc == AK_OK && ok && i < b->n; i++)
        rc = catalog_row(s, b, &b->r[i], &ok, err);
    /* every catalogued row of a replaced object must be in the new one, but
     * those past retention when trimming: they leave the catalog */
    for (size_t i = 0; rc == AK_OK && ok && i < b->n_old; i++)
        rc = ak_coldmove_switch_retire(s, b->old[i], b->trimming, b->keep_from, dropped, &ok,
                                       err);
    ak_code end = ak_coldmove_switch_end(s, rc == AK_OK && ok, err);
    if (rc == AK_OK)
        rc = end;
    if (rc || !ok) /* !ok: rows changed since they were read: next pass */
        *dropped = 0;
    else
        *moved = 1;
    return rc;
}

/* Delete the objects cold_garbage lists (and the catalog does not name). */
static ak_code collect_garbage(pass *p, ak_err *err)
{
    ak_strlist keys = {0};
    ak_code rc = ak_coldmove_garbage_list(p->sdb, &keys, err);
    for (size_t i = 0; rc == AK_OK && i < keys.n; i++)
        if ((rc = ak_store_delete(p->cfg->cold, keys.v[i], err)) == AK_OK)
            p->stats->cold_deleted++;
    if (rc == AK_OK) /* and forget what is deleted or still catalogued */
        rc = ak_coldmove_garbage_clear(p->sdb, err);
    ak_strlist_free(&keys);
    return rc;
}

/* One object for month [from, to): *n rows taken from warm. */
static ak_code month_step(pass *p, const char *month, int64_t from, int64_t to, int64_t *n,
                          ak_err *err)
{
    cold_batch b = {0};
    ak_buf file = {0};
    uint8_t digest[32];
    char key[AK_STORE_KEY_MAX + 1];
    int moved = 0;
    *n = 0;
    ak_code rc = load_warm(p, from, to, &b, err);
    if (rc == AK_OK)
        rc = pick_old(p, from, to, &b, err);
    if (rc == AK_OK && b.n)
        rc = build_parquet(p, &b, month, &file, digest, err);
    if (rc == AK_OK && b.n && ak_age_cold_key(p->system_id, month, digest, key, sizeof key))
        rc = ak_err_set(err, AK_ERR_INVALID, "cold object key too long");
    if (rc == AK_OK && b.n)
        rc = ak_coldmove_garbage_add(p->sdb, key, err); /* until the catalog names it */
    if (rc == AK_OK && b.n && (rc = upload_verified(p, key, &file, (int64_t)b.n, err)) != AK_OK) {
        p->stats->cold_failures++;
        ak_err_prefix(err, "system %s: warm rows kept: ", p->system_id);
    }
    if (rc == AK_OK && b.n) {
        int64_t none = 0;
        ak_testpoint("age.cold_uploaded"); /* object in the store, rows still warm */
        rc = switch_catalog(p, &b, key, &moved, &none, err);
    }
    if (rc == AK_OK && moved) {
        ak_testpoint("age.cold_committed"); /* catalog switched, replaced objects not deleted */
        *n = (int64_t)b.from_warm;
        p->stats->cold_objects++;
        p->stats->cold_merged += (int64_t)b.n_old;
        p->stats->warm_to_cold.rows += *n;
        p->stats->warm_to_cold.bytes_before += b.warm_bytes;
        p->stats->warm_to_cold.bytes_after += (int64_t)(file.len * b.from_warm / b.n);
        p->changed = 1;
        rc = collect_garbage(p, err);
    }
    batch_free(&b);
    ak_buf_free(&file);
    return rc;
}

/* ---- retention: an object holding rows on both sides of the cut ---- */

/* The month of the trimmed rows (of any row: an object never spans months). */
static ak_code row_month(const cold_batch *b, char month[MONTH_LEN + 1], ak_err *err)
{
    int64_t us = b->r[0].ts;
    time_t t = (time_t)(us / 1000000 - (us % 1000000 < 0));
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(month, MONTH_LEN + 1, "%Y-%m", &tm) != MONTH_LEN)
        return ak_err_set(err, AK_ERR_INVALID, "cold row time out of range");
    return AK_OK;
}

ak_code ak_age_cold_trim(void *ctx, const char *old_key, int64_t cutoff, int64_t *dropped,
                         ak_err *err)
{
    pass *p = ctx;
    cold_batch b = {.trimming = 1, .keep_from = cutoff};
    ak_buf file = {0};
    uint8_t digest[32];
    char key[AK_STORE_KEY_MAX + 1], month[MONTH_LEN + 1];
    int moved = 0;
    *dropped = 0;
    ak_code rc = (b.old = malloc(sizeof *b.old)) && (b.old[0] = strdup(old_key))
                     ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rc == AK_OK)
        b.n_old = 1;
    if (rc == AK_OK && (rc = read_old(p, &b, 0, err)) != AK_OK && rc != AK_ERR_NOMEM &&
        rc != AK_ERR_IO) {
        /* missing or damaged (verify reports it): kept as it is */
        AK_WARN("retention", "system %s: %s; kept", p->system_id, err->msg);
        rc = AK_OK;
        drop_rows(&b, 0);
    }
    if (rc == AK_OK && b.n) /* b.n == 0: nothing left to keep, or unreadable */
        rc = row_month(&b, month, err);
    if (rc == AK_OK && b.n)
        rc = build_parquet(p, &b, month, &file, digest, err);
    if (rc == AK_OK && b.n && ak_age_cold_key(p->system_id, month, digest, key, sizeof key))
        rc = ak_err_set(err, AK_ERR_INVALID, "cold object key too long");
    if (rc == AK_OK && b.n && !strcmp(key, old_key))
        b.n = 0; /* the same rows: nothing of it is past the cut after all */
    if (rc == AK_OK && b.n)
        rc = ak_coldmove_garbage_add(p->sdb, key, err); /* until the catalog names it */
    if (rc == AK_OK && b.n)
        rc = upload_verified(p, key, &file, (int64_t)b.n, err);
    if (rc == AK_OK && b.n) {
        ak_testpoint("retention.cold_uploaded"); /* new object stored, old one catalogued */
        rc = switch_catalog(p, &b, key, &moved, dropped, err);
    }
    if (rc == AK_OK && moved) {
        ak_testpoint("retention.cold_committed"); /* catalog switched, old object not deleted */
        p->changed = 1;
        rc = collect_garbage(p, err);
    }
    if (rc && rc != AK_ERR_NOMEM)
        ak_err_prefix(err, "system %s: rewriting %s without rows past retention: ",
                      p->system_id, old_key);
    batch_free(&b);
    ak_buf_free(&file);
    return rc;
}

/* ---- months ---- */

typedef struct {
    char name[MONTH_LEN + 1];
    int64_t from, to;
} month;

typedef struct {
    month *v;
    size_t n, cap;
    ak_err *err;
} month_list;

static ak_code add_month(void *ctx, const char *name, int64_t from, int64_t to)
{
    month_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        month *grown = realloc(l->v, cap * sizeof *grown);
        if (!grown)
            return ak_err_set(l->err, AK_ERR_NOMEM, "out of memory");
        l->v = grown;
        l->cap = cap;
    }
    month *m = &l->v[l->n++];
    ak_fmt(m->name, sizeof m->name, "%s", name);
    m->from = from;
    m->to = to;
    return AK_OK;
}

/* The months with warm rows old enough, or with two or more small objects
 * to merge (objects from before compaction: one a day). */
static ak_code months(pass *p, month **out, size_t *n, ak_err *err)
{
    month_list l = {.err = err};
    ak_code rc = ak_coldmove_months(p->sdb, p->warm_cutoff, AK_AGE_COLD_TARGET_ROWS, add_month,
                                    &l, err);
    *out = l.v;
    *n = l.n;
    return rc;
}

/* Temp files that a pass killed mid-put left below this system's prefix
 * (see age.h).  Any trouble here only leaves them for the next pass. */
static void sweep_leftovers(pass *p)
{
    char prefix[AK_COLD_PREFIX_MAX];
    size_t n = 0;
    ak_err err;
    ak_cold_system_prefix(p->system_id, prefix, sizeof prefix);
    if (ak_store_temps(p->cfg->cold, prefix, 1, NULL, NULL, &n, &err) != AK_OK)
        AK_WARN("age", "system %s: %s", p->system_id, err.msg);
    else if (n)
        AK_INFO("age", "system %s: removed %zu temp files that an interrupted pass left in %s",
                p->system_id, n, ak_store_url(p->cfg->cold));
    p->stats->cold_temps_removed += (int64_t)n;
}

ak_code ak_age_warm_to_cold(pass *p, ak_err *err)
{
    if (p->cfg->dry_run) { /* what is warm now, and what passes through warm in this run */
        ak_age_move through = {0};
        ak_code rc = ak_tiermove_dry_count(p->sdb, AK_TIER_WARM, p->warm_cutoff,
                                           &p->stats->warm_to_cold, err);
        if (rc == AK_OK)
            rc = ak_tiermove_dry_count(p->sdb, AK_TIER_HOT, p->warm_cutoff, &through, err);
        p->stats->warm_to_cold.rows += through.rows; /* their warm size is not known yet */
        return rc;
    }
    month *ms = NULL;
    size_t n_ms = 0;
    sweep_leftovers(p);
    ak_code rc = collect_garbage(p, err);
    if (rc == AK_OK)
        rc = months(p, &ms, &n_ms, err);
    for (size_t i = 0; rc == AK_OK && i < n_ms && !ak_age_stopping(p); i++) {
        int64_t n;
        do {
            rc = month_step(p, ms[i].name, ms[i].from, ms[i].to, &n, err);
        } while (rc == AK_OK && n == AK_AGE_COLD_TARGET_ROWS && !ak_age_stopping(p));
    }
    free(ms);
    if (rc == AK_OK && n_ms) /* the objects' small index segments, merged */
        rc = ak_coldmove_fts_optimize(p->sdb, err);
    return rc;
}
