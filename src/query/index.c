/*
 * index.c - see index.h.
 *
 * One mutex guards the shard tables; it is held only to swap or copy
 * pointers, never while loading or scanning.  A little over 800 lines: the
 * loads, the segment files' checks and the tables share the entries and
 * their locks, which would otherwise have to be exposed.
 */
#include "query/index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "query/idle.h"
#include "query/segfile.h"
#include "query/vindex.h"
#include "storage/shard.h"
#include "util/buf.h"
#include "util/log.h"

typedef struct {
    char system_id[AK_SYSTEM_ID_MAX + 1];
    ak_segment *seg;    /* NULL when broken (or not loaded yet) */
    char *error;        /* why it could not be loaded */
    ak_file_id file_id; /* the database file the segment was loaded from */
    int fenced;         /* its file is being replaced: no connections */
    int rows_known;     /* rows holds its database's rows by tier */
    int unsummed;       /* seg mapped without its checksum (ak_index_sum_unopened) */
    uint64_t rows[3];   /* hot, warm, cold (segfile.h's stamp) */
} entry;

typedef struct {
    entry *e; /* sorted by system_id */
    size_t n, cap;
} shard_table;

#define IDLE_DB_MAX 4096
#define FDS_PER_DB 3     /* the database, its WAL and its shared-memory index */
#define FDS_SPARE 256    /* left for everything else the process opens */

#define LOAD_STRIPES 64

struct ak_index {
    const ak_datadir *dd;
    uint32_t n_shards;
    /* A system's reads of its database and installs are one at a time, so
     * the segment installed last was read last: a load that read before
     * another committer's commit never replaces one that read after it. */
    pthread_mutex_t load_mu[LOAD_STRIPES];
    pthread_mutex_t mu;
    shard_table *shards;
    ak_idle *idle; /* open connections no search is using */
    struct ak_vindex *vindex;
    void (*listener)(void *, const char *);
    void *listener_ctx;
    int segfiles;            /* AK_SEGFILES_* */
    atomic_ullong rebuilt;   /* segment files found damaged and rebuilt */
    atomic_ullong unopened;  /* systems mapped without opening their database */
    atomic_ullong opens;     /* databases opened: loads, and reads not in the idle cache */
};

/* As many idle connections as the descriptor limit allows: a search over
 * every system opens all their databases, and reopening them per query is
 * what the cache is there to avoid. */
static size_t idle_capacity(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur <= FDS_SPARE + FDS_PER_DB)
        return 8;
    rlim_t n = (rl.rlim_cur - FDS_SPARE) / FDS_PER_DB;
    return n > IDLE_DB_MAX ? IDLE_DB_MAX : (size_t)n;
}

ak_code ak_index_new(const ak_datadir *dd, ak_index **out, ak_err *err)
{
    ak_index *idx = calloc(1, sizeof *idx);
    if (idx)
        idx->shards = calloc(ak_datadir_shards(dd), sizeof *idx->shards);
    if (!idx || !idx->shards) {
        free(idx);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    idx->dd = dd;
    idx->n_shards = ak_datadir_shards(dd);
    if (!(idx->idle = ak_idle_new(idle_capacity()))) {
        free(idx->shards);
        free(idx);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&idx->mu, NULL);
    for (int i = 0; i < LOAD_STRIPES; i++)
        pthread_mutex_init(&idx->load_mu[i], NULL);
    *out = idx;
    return AK_OK;
}

void ak_index_free(ak_index *idx)
{
    if (!idx)
        return;
    ak_idle_free(idx->idle);
    for (uint32_t s = 0; s < idx->n_shards; s++) {
        for (size_t i = 0; i < idx->shards[s].n; i++) {
            ak_segment_unref(idx->shards[s].e[i].seg);
            free(idx->shards[s].e[i].error);
        }
        free(idx->shards[s].e);
    }
    free(idx->shards);
    pthread_mutex_destroy(&idx->mu);
    for (int i = 0; i < LOAD_STRIPES; i++)
        pthread_mutex_destroy(&idx->load_mu[i]);
    free(idx);
}

const ak_datadir *ak_index_datadir(const ak_index *idx) { return idx->dd; }

/* Binary search: the entry's position, or where it would go. */
static size_t position(const shard_table *t, const char *sid, int *found)
{
    size_t lo = 0, hi = t->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->e[mid].system_id, sid);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The entry for sid, or NULL (under the mutex). */
static entry *find(ak_index *idx, const char *sid)
{
    shard_table *t = &idx->shards[ak_shard_of(sid, idx->n_shards)];
    int found;
    size_t i = position(t, sid, &found);
    return found ? &t->e[i] : NULL;
}

/* Find or insert the entry for sid (under the mutex). */
static entry *slot(shard_table *t, const char *sid)
{
    int found;
    size_t lo = position(t, sid, &found);
    if (found)
        return &t->e[lo];
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        entry *grown = realloc(t->e, cap * sizeof *grown);
        if (!grown)
            return NULL;
        t->e = grown;
        t->cap = cap;
    }
    memmove(&t->e[lo + 1], &t->e[lo], (t->n - lo) * sizeof *t->e);
    memset(&t->e[lo], 0, sizeof t->e[lo]);
    ak_fmt(t->e[lo].system_id, sizeof t->e[lo].system_id, "%s", sid);
    t->n++;
    return &t->e[lo];
}

/* Called under the mutex, so once ak_index_set_listener() returned no
 * call to the previous listener is still running. */
static void notify(ak_index *idx, const char *sid)
{
    pthread_mutex_lock(&idx->mu);
    if (idx->listener)
        idx->listener(idx->listener_ctx, sid);
    pthread_mutex_unlock(&idx->mu);
}

/* Install a loaded segment (seg) or a failure (error) read from the file
 * `id`, with its database's rows by tier when known (rows may be NULL);
 * takes ownership of seg. */
static void install(ak_index *idx, const char *sid, ak_segment *seg, const char *error,
                    ak_file_id id, const uint64_t *rows, int unsummed)
{
    uint32_t shard = ak_shard_of(sid, idx->n_shards);
    pthread_mutex_lock(&idx->mu);
    entry *e = slot(&idx->shards[shard], sid);
    ak_segment *old = NULL;
    if (e) {
        old = e->seg;
        e->seg = seg;
        free(e->error);
        e->error = error ? strdup(error) : NULL;
        e->file_id = id;
        e->rows_known = rows && seg;
        e->unsummed = unsummed && seg;
        if (e->rows_known)
            memcpy(e->rows, rows, sizeof e->rows);
    }
    pthread_mutex_unlock(&idx->mu);
    ak_segment_unref(e ? old : seg);
    notify(idx, sid);
}

static pthread_mutex_t *load_lock(ak_index *idx, const char *sid)
{
    uint32_t h = 2166136261u;
    for (const char *c = sid; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return &idx->load_mu[h % LOAD_STRIPES];
}

/* Write seg, read from the database in state st (its files in state fs),
 * to its file and map it back in its place; seg stays (in memory) when
 * that fails. */
static ak_segment *persist(const char *fpath, ak_segment *seg, const ak_segfile_stamp *st,
                           const ak_segfile_fs *fs)
{
    ak_err e;
    ak_segment *mapped = NULL;
    if (ak_segfile_write(seg, st, fs, fpath, &e) ||
        ak_segfile_map(fpath, seg->system_id, st, &mapped, NULL, &e)) {
        AK_WARN("index", "system %s: %s (its vectors stay in memory)", seg->system_id, e.msg);
        return seg;
    }
    ak_segment_unref(seg);
    return mapped;
}

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The system's segment, mapped from its file without opening the database
 * when the file recorded the database's files as they are now (segfile.h);
 * *rows gets its rows by tier.  0 when it cannot be.  The file is opened
 * once: mapped (structure checked, no checksum), then kept or let go by
 * what its header says. */
static int map_unopened(ak_index *idx, const char *sid, const char *dbpath, ak_file_id id,
                        ak_segment **out, uint64_t rows[3])
{
    char fpath[AK_PATH_MAX];
    ak_segfile_info info;
    ak_segfile_fs now;
    ak_segment *seg = NULL;
    ak_err e;
    if (idx->segfiles == AK_SEGFILES_OFF || ak_segfile_path(dbpath, fpath, sizeof fpath, &e) ||
        ak_segfile_map_unsummed(fpath, sid, NULL, &seg, &info, &e))
        return 0;
    ak_segfile_fs_of(dbpath, 0, &now);
    /* serve checks the checksums once it is ready (ak_index_sum_unopened);
     * a read-only process checks them now */
    if (info.st.dev != id.dev || info.st.ino != id.ino || !ak_segfile_fs_same(&info.fs, &now) ||
        (idx->segfiles != AK_SEGFILES_WRITE && ak_segfile_sum(seg, &e))) {
        ak_segment_unref(seg);
        return 0;
    }
    *out = seg;
    memcpy(rows, info.st.rows, sizeof info.st.rows);
    atomic_fetch_add(&idx->unopened, 1);
    return 1;
}

/* The system's segment: mapped from its file when that was written from
 * the database as it is now, else read from the database (and the file
 * written again when this process writes them); *rows gets the database's
 * rows by tier (not with segment files off). */
static ak_code load_segment(ak_index *idx, ak_sysdb *db, const char *sid, const char *dbpath,
                            ak_segment **out, uint64_t rows[3], ak_err *err)
{
    ak_file_id id = ak_sysdb_file_id(db);
    ak_segfile_stamp st = {id.dev, id.ino, 0, {0, 0, 0}};
    ak_segfile_info info;
    ak_segfile_fs fs;
    char fpath[AK_PATH_MAX];
    ak_err e;
    ak_sysdb_counts c;
    ak_code rc;
    if (idx->segfiles == AK_SEGFILES_OFF || ak_segfile_path(dbpath, fpath, sizeof fpath, &e))
        return ak_segment_load(db, sid, out, err); /* rows not counted */
    /* the files' state is taken before the epoch is read, so it never
     * vouches for a write the epoch did not see */
    ak_segfile_fs_of(dbpath, realtime_ns(), &fs);
    if ((rc = ak_sysdb_vec_epoch(db, &st.epoch, err)))
        return rc;
    /* the epoch is read before the rows: a write in between makes the file
     * stale at the next start, never wrong */
    rc = ak_segfile_map(fpath, sid, &st, out, &info, &e);
    if (rc == AK_OK) {
        memcpy(rows, info.st.rows, sizeof info.st.rows);
        if (idx->segfiles == AK_SEGFILES_WRITE && fs.db.mtime_ns &&
            !ak_segfile_fs_same(&info.fs, &fs) && ak_segfile_restamp(fpath, &fs, &e))
            AK_WARN("index", "system %s: %s", sid, e.msg);
        return AK_OK;
    }
    if (rc == AK_ERR_CORRUPT) {
        atomic_fetch_add(&idx->rebuilt, 1);
        AK_WARN("index", "system %s: %s: rebuilt from its database", sid, e.msg);
    }
    if ((rc = ak_segment_load(db, sid, out, err)) != AK_OK)
        return rc;
    if ((rc = ak_sysdb_counts_get(db, &c, err)) != AK_OK) {
        ak_segment_unref(*out);
        *out = NULL;
        return rc;
    }
    st.rows[0] = rows[0] = (uint64_t)c.hot;
    st.rows[1] = rows[1] = (uint64_t)c.warm;
    st.rows[2] = rows[2] = (uint64_t)c.cold;
    if (idx->segfiles == AK_SEGFILES_WRITE)
        *out = persist(fpath, *out, &st, &fs);
    return AK_OK;
}

static ak_code load_locked(ak_index *idx, const char *system_id, ak_err *err)
{
    ak_sysdb *db = NULL;
    ak_segment *seg = NULL;
    uint64_t rows[3];
    char path[AK_PATH_MAX];
    ak_code rc = ak_datadir_db_path(idx->dd, system_id, path, sizeof path, err);
    if (rc)
        return rc; /* a bad id names no system: nothing to remember */
    ak_file_id id = ak_file_id_of(path);
    if (id.ino && map_unopened(idx, system_id, path, id, &seg, rows)) {
        install(idx, system_id, seg, NULL, id, rows, idx->segfiles == AK_SEGFILES_WRITE);
        return AK_OK;
    }
    if ((rc = ak_sysdb_open_reader(path, &db, err)) == AK_OK) {
        atomic_fetch_add(&idx->opens, 1);
        id = ak_sysdb_file_id(db);
        rc = load_segment(idx, db, system_id, path, &seg, rows, err);
        ak_sysdb_close(db);
    }
    if (rc)
        ak_err_prefix(err, "system %s: ", system_id);
    install(idx, system_id, rc ? NULL : seg, rc ? err->msg : NULL, id,
            rc || idx->segfiles == AK_SEGFILES_OFF ? NULL : rows, 0);
    return rc;
}

ak_code ak_index_load_system(ak_index *idx, const char *system_id, ak_err *err)
{
    pthread_mutex_t *lk = load_lock(idx, system_id);
    pthread_mutex_lock(lk);
    ak_code rc = load_locked(idx, system_id, err);
    pthread_mutex_unlock(lk);
    return rc;
}

/* The installed segment of sid (a reference) when it was read from the
 * file db has open, else NULL. */
static ak_segment *current(ak_index *idx, const char *sid, ak_sysdb *db)
{
    ak_segment *seg = NULL;
    pthread_mutex_lock(&idx->mu);
    entry *e = find(idx, sid);
    if (e && e->seg && !e->fenced && ak_file_id_eq(e->file_id, ak_sysdb_file_id(db))) {
        seg = e->seg;
        ak_segment_ref(seg);
    }
    pthread_mutex_unlock(&idx->mu);
    return seg;
}

ak_code ak_index_patch_system(ak_index *idx, const char *system_id, ak_sysdb *db,
                              const char *const *ids, const ak_segment_row *rows, size_t n,
                              int all_new, ak_err *err)
{
    pthread_mutex_t *lk = load_lock(idx, system_id);
    pthread_mutex_lock(lk);
    ak_segment *base = current(idx, system_id, db), *seg = NULL;
    ak_code rc = base ? ak_segment_patch(base, db, ids, rows, n, all_new, &seg, err)
                      : AK_ERR_UNSUPPORTED;
    if (rc == AK_OK)
        install(idx, system_id, seg, NULL, ak_sysdb_file_id(db), NULL, 0);
    else
        rc = load_locked(idx, system_id, err);
    ak_segment_unref(base);
    pthread_mutex_unlock(lk);
    return rc;
}

typedef struct {
    ak_index *idx;
    char system_id[AK_SYSTEM_ID_MAX + 1];
    ak_latch *latch;
} load_job;

static void run_load(void *arg)
{
    load_job *j = arg;
    ak_err err;
    if (ak_index_load_system(j->idx, j->system_id, &err))
        AK_WARN("index", "%s", err.msg);
    ak_latch_done(j->latch);
    free(j);
}

typedef struct {
    ak_index *idx;
    ak_pool *pool;
    ak_latch *latch;
    int only_changed;
    size_t queued;
} load_all;

/* Whether the index already holds what is in the file at path. */
static int up_to_date(ak_index *idx, const char *sid, const char *path)
{
    ak_file_id id = ak_file_id_of(path);
    pthread_mutex_lock(&idx->mu);
    entry *e = find(idx, sid);
    int same = e && (e->seg || e->error) && ak_file_id_eq(e->file_id, id);
    pthread_mutex_unlock(&idx->mu);
    return same;
}

static ak_code queue_system(void *ctx, const char *sid, uint32_t shard, const char *path)
{
    (void)shard;
    load_all *la = ctx;
    if (la->only_changed && up_to_date(la->idx, sid, path))
        return AK_OK;
    load_job *j = calloc(1, sizeof *j);
    if (!j)
        return AK_ERR_NOMEM;
    j->idx = la->idx;
    j->latch = la->latch;
    ak_fmt(j->system_id, sizeof j->system_id, "%s", sid);
    ak_latch_add(la->latch, 1);
    if (ak_pool_submit(la->pool, run_load, j)) {
        ak_latch_done(la->latch);
        free(j);
        return AK_ERR_NOMEM;
    }
    la->queued++;
    return AK_OK;
}

/* Load every system (or only those whose file changed) on the pool. */
static ak_code load_systems(ak_index *idx, ak_pool *pool, int only_changed, size_t *loaded,
                            ak_err *err)
{
    /* One count for the walk itself, so the latch cannot reach zero while
     * jobs are still being submitted. */
    ak_latch latch;
    ak_latch_init(&latch, 1);
    load_all la = {idx, pool, &latch, only_changed, 0};
    ak_code rc = ak_datadir_each_system(idx->dd, queue_system, &la, err);
    ak_latch_done(&latch);
    ak_latch_wait(&latch, 0);
    ak_latch_destroy(&latch);
    if (loaded)
        *loaded = la.queued;
    return rc;
}

ak_code ak_index_load_all(ak_index *idx, ak_pool *pool, ak_err *err)
{
    return load_systems(idx, pool, 0, NULL, err);
}

/* Close the idle connections to sid (all when sid is NULL), a batch at a
 * time so none is closed under the mutex. */
static void drop_idle(ak_index *idx, const char *sid)
{
    ak_sysdb *closing[64];
    size_t n;
    do {
        pthread_mutex_lock(&idx->mu);
        n = ak_idle_take_matching(idx->idle, sid, closing, sizeof closing / sizeof *closing);
        pthread_mutex_unlock(&idx->mu);
        for (size_t i = 0; i < n; i++)
            ak_sysdb_close(closing[i]);
    } while (n == sizeof closing / sizeof *closing);
}

/* Remove sid's entry unless it is fenced; 1 if removed. */
static int forget(ak_index *idx, shard_table *t, const char *sid)
{
    ak_segment *seg = NULL;
    int found;
    pthread_mutex_lock(&idx->mu);
    size_t at = position(t, sid, &found);
    int gone = found && !t->e[at].fenced;
    if (gone) {
        seg = t->e[at].seg;
        free(t->e[at].error);
        memmove(&t->e[at], &t->e[at + 1], (t->n - at - 1) * sizeof *t->e);
        t->n--;
    }
    pthread_mutex_unlock(&idx->mu);
    ak_segment_unref(seg);
    if (gone) {
        drop_idle(idx, sid);
        notify(idx, sid);
    }
    return gone;
}

/* Forget systems whose database is gone (deleted by an operator).  The
 * mutex is not held across the stat calls, so entries are re-found by id. */
static size_t forget_removed(ak_index *idx)
{
    size_t removed = 0;
    for (uint32_t s = 0; s < idx->n_shards; s++) {
        shard_table *t = &idx->shards[s];
        size_t i = 0;
        for (;;) {
            char sid[AK_SYSTEM_ID_MAX + 1], path[AK_PATH_MAX];
            pthread_mutex_lock(&idx->mu);
            int more = i < t->n;
            if (more)
                ak_fmt(sid, sizeof sid, "%s", t->e[i].system_id);
            pthread_mutex_unlock(&idx->mu);
            if (!more)
                break;
            int exists = ak_datadir_db_path(idx->dd, sid, path, sizeof path, NULL) ||
                         ak_file_id_of(path).ino;
            if (!exists && forget(idx, t, sid))
                removed++;
            else
                i++;
        }
    }
    return removed;
}

ak_code ak_index_refresh(ak_index *idx, ak_pool *pool, int all, size_t *reloaded,
                         size_t *removed, ak_err *err)
{
    ak_code rc = load_systems(idx, pool, !all, reloaded, err);
    size_t gone = forget_removed(idx);
    if (removed)
        *removed = gone;
    return rc;
}

void ak_index_fence(ak_index *idx, const char *system_id, int on)
{
    pthread_mutex_lock(&idx->mu);
    entry *e = slot(&idx->shards[ak_shard_of(system_id, idx->n_shards)], system_id);
    if (e)
        e->fenced = on;
    pthread_mutex_unlock(&idx->mu);
    if (on)
        drop_idle(idx, system_id);
}

void ak_index_drop_system(ak_index *idx, const char *system_id)
{
    forget(idx, &idx->shards[ak_shard_of(system_id, idx->n_shards)], system_id);
}

ak_code ak_index_snapshot(ak_index *idx, uint32_t shard, ak_shard_snap *out, ak_err *err)
{
    memset(out, 0, sizeof *out);
    if (shard >= idx->n_shards)
        return ak_err_set(err, AK_ERR_INVALID, "no shard %u", shard);
    pthread_mutex_lock(&idx->mu);
    shard_table *t = &idx->shards[shard];
    out->segs = t->n ? calloc(t->n, sizeof *out->segs) : NULL;
    ak_code rc = t->n && !out->segs ? AK_ERR_NOMEM : AK_OK;
    for (size_t i = 0; rc == AK_OK && i < t->n; i++) {
        if (t->e[i].seg) {
            ak_segment_ref(t->e[i].seg);
            out->segs[out->n++] = t->e[i].seg;
        } else if (!out->error && t->e[i].error) {
            out->error = strdup(t->e[i].error);
        }
    }
    pthread_mutex_unlock(&idx->mu);
    return rc ? ak_err_set(err, rc, "out of memory") : AK_OK;
}

void ak_shard_snap_release(ak_shard_snap *snap)
{
    for (size_t i = 0; i < snap->n; i++)
        ak_segment_unref(snap->segs[i]);
    free(snap->segs);
    free(snap->error);
    memset(snap, 0, sizeof *snap);
}

/* Whether a connection may serve sid now: not while its file is being
 * replaced, and only if it is to the file the index loaded (a handle on a
 * file renamed away would show the old data).  Under the mutex. */
static int usable(ak_index *idx, const char *sid, const ak_sysdb *db, int *fenced)
{
    entry *e = find(idx, sid);
    *fenced = e && e->fenced;
    return !*fenced && (!e || ak_file_id_eq(e->file_id, ak_sysdb_file_id(db)));
}

ak_code ak_index_db_get(ak_index *idx, const char *system_id, ak_sysdb **out, ak_err *err)
{
    ak_sysdb *stale = NULL;
    pthread_mutex_lock(&idx->mu);
    entry *e = find(idx, system_id);
    int fenced = e && e->fenced;
    ak_sysdb *db = fenced ? NULL : ak_idle_take(idx->idle, system_id);
    if (db && usable(idx, system_id, db, &fenced)) {
        pthread_mutex_unlock(&idx->mu);
        *out = db;
        return AK_OK;
    }
    stale = db;
    pthread_mutex_unlock(&idx->mu);
    ak_sysdb_close(stale);
    if (fenced)
        return ak_err_set(err, AK_ERR_BUSY, "system %s is being rebuilt", system_id);
    char path[AK_PATH_MAX];
    ak_code rc = ak_datadir_db_path(idx->dd, system_id, path, sizeof path, err);
    if (rc == AK_OK)
        rc = ak_sysdb_open_reader(path, out, err);
    if (rc == AK_OK)
        atomic_fetch_add(&idx->opens, 1);
    return rc;
}

void ak_index_db_put(ak_index *idx, const char *system_id, ak_sysdb *db)
{
    ak_sysdb *evicted = NULL;
    int fenced;
    if (!db)
        return;
    ak_sysdb_release_memory(db);
    pthread_mutex_lock(&idx->mu);
    evicted = usable(idx, system_id, db, &fenced) ? ak_idle_put(idx->idle, system_id, db) : db;
    pthread_mutex_unlock(&idx->mu);
    ak_sysdb_close(evicted);
}

uint32_t *ak_index_nonempty_shards(ak_index *idx, size_t *n)
{
    uint32_t *out = malloc(idx->n_shards * sizeof *out);
    *n = 0;
    if (!out)
        return NULL;
    pthread_mutex_lock(&idx->mu);
    for (uint32_t s = 0; s < idx->n_shards; s++)
        if (idx->shards[s].n)
            out[(*n)++] = s;
    pthread_mutex_unlock(&idx->mu);
    return out;
}

void ak_index_stats_get(ak_index *idx, ak_index_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&idx->mu);
    for (uint32_t s = 0; s < idx->n_shards; s++)
        for (size_t i = 0; i < idx->shards[s].n; i++) {
            const ak_segment *seg = idx->shards[s].e[i].seg;
            out->systems++;
            if (!seg) {
                out->broken_systems += idx->shards[s].e[i].error != NULL;
                continue;
            }
            out->vectors += seg->n;
            out->hot_vectors += seg->n_hot;
            out->warm_vectors += seg->n_warm_end - seg->n_hot;
            out->cold_vectors += seg->n - seg->n_warm_end;
            out->bytes += seg->bytes;
        }
    pthread_mutex_unlock(&idx->mu);
}

void ak_index_set_segfiles(ak_index *idx, int mode) { idx->segfiles = mode; }

uint64_t ak_index_segfiles_rebuilt(ak_index *idx) { return atomic_load(&idx->rebuilt); }
uint64_t ak_index_segfiles_unopened(ak_index *idx) { return atomic_load(&idx->unopened); }
uint64_t ak_index_db_opens(ak_index *idx) { return atomic_load(&idx->opens); }

/* The next system of shard whose segment is unsummed (a reference to it,
 * its id in sid), or NULL. */
static ak_segment *next_unsummed(ak_index *idx, uint32_t shard, char *sid)
{
    ak_segment *seg = NULL;
    pthread_mutex_lock(&idx->mu);
    shard_table *t = &idx->shards[shard];
    for (size_t i = 0; i < t->n && !seg; i++)
        if (t->e[i].unsummed) {
            t->e[i].unsummed = 0;
            seg = t->e[i].seg;
            ak_segment_ref(seg);
            memcpy(sid, t->e[i].system_id, sizeof t->e[i].system_id);
        }
    pthread_mutex_unlock(&idx->mu);
    return seg;
}

/* seg (mapped from sid's file) failed its checksum: drop the file and load
 * the system from its database, unless a load replaced seg meanwhile. */
static void rebuild_damaged(ak_index *idx, const char *sid, ak_segment *seg, const char *why)
{
    char path[AK_PATH_MAX], fpath[AK_PATH_MAX];
    ak_err e;
    pthread_mutex_t *lk = load_lock(idx, sid);
    pthread_mutex_lock(lk);
    pthread_mutex_lock(&idx->mu);
    entry *en = find(idx, sid);
    int current = en && en->seg == seg;
    pthread_mutex_unlock(&idx->mu);
    if (current && ak_datadir_db_path(idx->dd, sid, path, sizeof path, &e) == AK_OK &&
        ak_segfile_path(path, fpath, sizeof fpath, &e) == AK_OK) {
        atomic_fetch_add(&idx->rebuilt, 1);
        AK_WARN("index", "system %s: %s: rebuilt from its database", sid, why);
        unlink(fpath);
        if (load_locked(idx, sid, &e))
            AK_WARN("index", "%s", e.msg);
    }
    pthread_mutex_unlock(lk);
}

void ak_index_sum_unopened(ak_index *idx, atomic_int *stop)
{
    char sid[AK_SYSTEM_ID_MAX + 1];
    for (uint32_t shard = 0; shard < idx->n_shards && !(stop && atomic_load(stop)); shard++) {
        ak_segment *seg;
        while (!(stop && atomic_load(stop)) && (seg = next_unsummed(idx, shard, sid))) {
            ak_err e;
            if (ak_segfile_sum(seg, &e))
                rebuild_damaged(idx, sid, seg, e.msg);
            ak_segment_unref(seg);
        }
    }
}

int ak_index_row_counts(ak_index *idx, const char *system_id, uint64_t rows[3])
{
    pthread_mutex_lock(&idx->mu);
    entry *e = find(idx, system_id);
    int known = e && e->rows_known;
    if (known)
        memcpy(rows, e->rows, sizeof e->rows);
    pthread_mutex_unlock(&idx->mu);
    return known;
}

ak_code ak_index_persist(ak_index *idx, atomic_int *stop, size_t *done, ak_err *err)
{
    ak_segment **segs = NULL;
    size_t n = 0;
    *done = 0;
    if (idx->segfiles != AK_SEGFILES_WRITE)
        return AK_OK;
    if (ak_index_segments(idx, &segs, &n))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    ak_code rc = AK_OK;
    for (size_t i = 0; i < n; i++) {
        if (rc == AK_OK && !segs[i]->map && !(stop && atomic_load(stop))) {
            rc = ak_index_load_system(idx, segs[i]->system_id, err);
            *done += rc == AK_OK;
        }
        ak_segment_unref(segs[i]);
    }
    free(segs);
    return rc;
}

void ak_index_set_vindex(ak_index *idx, struct ak_vindex *v) { idx->vindex = v; }
struct ak_vindex *ak_index_vindex(ak_index *idx) { return idx->vindex; }

void ak_index_set_listener(ak_index *idx, void (*fn)(void *ctx, const char *system_id),
                           void *ctx)
{
    pthread_mutex_lock(&idx->mu);
    idx->listener = fn;
    idx->listener_ctx = ctx;
    pthread_mutex_unlock(&idx->mu);
}

ak_segment *ak_index_segment(ak_index *idx, const char *system_id)
{
    pthread_mutex_lock(&idx->mu);
    entry *e = find(idx, system_id);
    ak_segment *seg = e ? e->seg : NULL;
    if (seg)
        ak_segment_ref(seg);
    pthread_mutex_unlock(&idx->mu);
    return seg;
}

ak_code ak_index_segments(ak_index *idx, ak_segment ***out, size_t *n)
{
    size_t total = 0;
    *n = 0;
    pthread_mutex_lock(&idx->mu);
    for (uint32_t s = 0; s < idx->n_shards; s++)
        total += idx->shards[s].n;
    *out = malloc((total ? total : 1) * sizeof **out);
    for (uint32_t s = 0; *out && s < idx->n_shards; s++)
        for (size_t i = 0; i < idx->shards[s].n; i++)
            if (idx->shards[s].e[i].seg) {
                ak_segment_ref(idx->shards[s].e[i].seg);
                (*out)[(*n)++] = idx->shards[s].e[i].seg;
            }
    pthread_mutex_unlock(&idx->mu);
    return *out ? AK_OK : AK_ERR_NOMEM;
}

int ak_index_covered(ak_index *idx, const ak_vindex_result *r)
{
    ak_index_stats st;
    ak_segment **segs = NULL;
    size_t n = 0;
    ak_index_stats_get(idx, &st);
    if (st.broken_systems || ak_index_segments(idx, &segs, &n))
        return 0;
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        all = all && ak_vindex_covers(r, segs[i]);
        ak_segment_unref(segs[i]);
    }
    free(segs);
    return all;
}
