/*
 * sysdb_daily.c - the daily rollup's sums a transaction changed, written
 * at its commit (see sysdb_impl.h and storage/rollup.h).
 *
 * Why deferred: daily was kept by triggers on conv_facts, one UPSERT into
 * daily per stored memory, and a statement with a trigger runs in a
 * statement transaction (a statement journal per memory) besides the
 * trigger program itself: ~9 us of a push's ~90 us per memory.  A batch's
 * memories fall on a few (day, project, category) keys, so their counts
 * are summed here, in a hash map on the handle, and written once per key
 * just before COMMIT, in the same transaction: a reader never sees facts
 * and sums that disagree.  The map is written early once it holds KEYS_MAX
 * keys (or KEYS_TEXT bytes of their names): an upload is one transaction,
 * and this memory must not grow with it.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/sysdb_impl.h"

#define KEYS_MAX 4096
#define KEYS_TEXT (1u << 20)

typedef struct {
    int64_t day;
    size_t at;                   /* project then category, in keys */
    size_t project_len, category_len;
    uint32_t hash;
    int64_t conversations, reflections, bytes, pushed;
} delta;

struct ak_sysdb_daily {
    ak_buf keys;                 /* the keys' project and category texts */
    delta *d;
    size_t n, cap;
    uint32_t *slots;             /* open addressing: index into d + 1, 0 free */
    size_t nslots;               /* a power of 2, at least 2 n */
};

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

static uint32_t key_hash(const ak_sysdb_fact *f)
{
    uint32_t h = fnv(2166136261u, &f->day, sizeof f->day);
    h = fnv(h, f->m.project, f->m.project_len);
    h = fnv(h ^ 0xff, f->m.category, f->m.category_len); /* "ab","c" is not "a","bc" */
    return h;
}

static int same_key(const ak_sysdb_daily *q, const delta *e, const ak_sysdb_fact *f,
                    uint32_t hash)
{
    const char *t = q->keys.data + e->at;
    return e->hash == hash && e->day == f->day && e->project_len == f->m.project_len &&
           e->category_len == f->m.category_len &&
           !memcmp(t, f->m.project, e->project_len) &&
           !memcmp(t + e->project_len, f->m.category, e->category_len);
}

/* Room for one more key: the slot table kept at most half full. */
static ak_code grow(ak_sysdb_daily *q)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 16;
        delta *d = realloc(q->d, cap * sizeof *d);
        if (!d)
            return AK_ERR_NOMEM;
        q->d = d, q->cap = cap;
    }
    if (2 * (q->n + 1) <= q->nslots)
        return AK_OK;
    size_t nslots = q->nslots ? 2 * q->nslots : 64;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return AK_ERR_NOMEM;
    for (size_t i = 0; i < q->n; i++) {
        size_t s = q->d[i].hash & (nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = (uint32_t)i + 1;
    }
    free(q->slots);
    q->slots = slots, q->nslots = nslots;
    return AK_OK;
}

/* f's key's entry, made (zero) when new; NULL when out of memory. */
static delta *entry(ak_sysdb_daily *q, const ak_sysdb_fact *f)
{
    uint32_t hash = key_hash(f);
    if (grow(q) != AK_OK)
        return NULL;
    size_t s = hash & (q->nslots - 1);
    for (; q->slots[s]; s = (s + 1) & (q->nslots - 1))
        if (same_key(q, &q->d[q->slots[s] - 1], f, hash))
            return &q->d[q->slots[s] - 1];
    size_t at = q->keys.len;
    if (ak_buf_append(&q->keys, f->m.project, f->m.project_len) ||
        ak_buf_append(&q->keys, f->m.category, f->m.category_len))
        return NULL;
    delta *e = &q->d[q->n];
    memset(e, 0, sizeof *e);
    e->day = f->day, e->at = at, e->hash = hash;
    e->project_len = f->m.project_len, e->category_len = f->m.category_len;
    q->slots[s] = (uint32_t)++q->n;
    return e;
}

ak_code ak_sysdb_daily_add(ak_sysdb *db, const ak_sysdb_fact *f, int sign, ak_err *err)
{
    ak_sysdb_daily *q = db->daily;
    if (!q && !(q = db->daily = calloc(1, sizeof *q)))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    delta *e = entry(q, f);
    if (!e)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    e->conversations += sign * (1 - f->m.reflection);
    e->reflections += sign * f->m.reflection;
    e->bytes += sign * f->bytes;
    e->pushed += sign * f->pushed;
    return q->n >= KEYS_MAX || q->keys.len >= KEYS_TEXT ? ak_sysdb_daily_flush(db, err) : AK_OK;
}

static void bind_key(sqlite3_stmt *st, const ak_sysdb_daily *q, const delta *e)
{
    sqlite3_bind_int64(st, 1, e->day);
    sqlite3_bind_text(st, 2, q->keys.data + e->at, (int)e->project_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, q->keys.data + e->at + e->project_len, (int)e->category_len,
                      SQLITE_STATIC);
}

/* One key's change into daily; a key that lost memories may have lost its
 * last (the sums of no facts are no row). */
static ak_code write_delta(ak_sysdb *db, const delta *e, ak_err *err)
{
    if (!e->conversations && !e->reflections && !e->bytes && !e->pushed)
        return AK_OK; /* e.g. an update that stayed in its key */
    sqlite3_stmt *add = ak_sysdb_stmt(db, ST_DAILY_ADD, err);
    sqlite3_stmt *drop = add ? ak_sysdb_stmt(db, ST_DAILY_DROP, err) : NULL;
    if (!drop)
        return err ? err->code : AK_ERR_INTERNAL;
    bind_key(add, db->daily, e);
    sqlite3_bind_int64(add, 4, e->conversations);
    sqlite3_bind_int64(add, 5, e->reflections);
    sqlite3_bind_int64(add, 6, e->bytes);
    sqlite3_bind_int64(add, 7, e->pushed);
    ak_code rc = ak_sysdb_step_done(db, add, err, "updating the daily rollup");
    if (rc || (e->conversations >= 0 && e->reflections >= 0))
        return rc;
    bind_key(drop, db->daily, e);
    return ak_sysdb_step_done(db, drop, err, "updating the daily rollup");
}

ak_code ak_sysdb_daily_flush(ak_sysdb *db, ak_err *err)
{
    ak_sysdb_daily *q = db->daily;
    ak_code rc = AK_OK;
    for (size_t i = 0; q && rc == AK_OK && i < q->n; i++)
        rc = write_delta(db, &q->d[i], err);
    ak_sysdb_daily_drop(db);
    return rc;
}

void ak_sysdb_daily_drop(ak_sysdb *db)
{
    ak_sysdb_daily *q = db->daily;
    if (q) {
        q->n = 0;
        ak_buf_reset(&q->keys);
        memset(q->slots, 0, q->nslots * sizeof *q->slots);
    }
}

void ak_sysdb_daily_free(ak_sysdb *db)
{
    if (db->daily) {
        ak_buf_free(&db->daily->keys);
        free(db->daily->d);
        free(db->daily->slots);
        free(db->daily);
        db->daily = NULL;
    }
}
