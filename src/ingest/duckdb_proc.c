/*
 * duckdb_proc.c - ak_duckdb_read() and ak_duckdb_read_text() (duckdb.h):
 * the reading runs in a child process, this is the parent's side.
 *
 * The child is akosha itself (/proc/self/exe, the internal subcommand of
 * duckdb_child.h), started with posix_spawn: a fork() of a multithreaded
 * daemon could inherit a lock some other thread held.  A child that ended
 * its read cleanly is kept for the next one (up to IDLE_MAX idle).  Its stdin and
 * stdout are pipes; every inherited signal disposition and mask is reset,
 * so a crash in it is a crash, not a signal left pending.  Frames are
 * decoded as they arrive and handed to the caller's callbacks here, in the
 * calling thread, so the record rules, the dedup and the ledger are the
 * caller's as they were.  While the caller writes a batch, the child
 * decodes the next one: the pipe is the queue between them.
 *
 * How the read ends:
 *   a done frame              AK_OK;
 *   an error frame            its code and message (DuckDB's verdict);
 *   a malformed or unexpected frame, or none before the pipe closes:
 *                             AK_ERR_CORRUPT, the file made DuckDB's
 *                             reader misbehave: rejected;
 *   the child killed by SIGKILL (the kernel's OOM killer, an operator):
 *                             AK_ERR_IO, nothing says the file is at
 *                             fault: failed and tried again;
 *   any other signal (SIGSEGV, SIGABRT ...): AK_ERR_CORRUPT: rejected;
 *   a callback's error        the child is killed, the callback's code.
 */
#include "ingest/duckdb.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ingest/duckdb_child.h"
#include "ingest/duckdb_frame.h"

extern char **environ;

typedef struct {
    pid_t pid;
    int to, from;  /* the child's stdin, stdout */
    ak_buf in;     /* bytes read, not yet decoded past `off` */
    size_t off;
    ak_buf out;
    ak_err *err;
} proc;

static ak_code spawn(proc *p)
{
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC))
        return ak_err_set(p->err, AK_ERR_IO, "cannot make a pipe: %s", strerror(errno));
    if (pipe2(from, O_CLOEXEC)) {
        close(to[0]), close(to[1]);
        return ak_err_set(p->err, AK_ERR_IO, "cannot make a pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, deflt;
    sigemptyset(&none);
    sigfillset(&deflt);
    sigdelset(&deflt, SIGKILL), sigdelset(&deflt, SIGSTOP);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from[1], 1);
    posix_spawnattr_init(&at);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &deflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"akosha", AK_DUCKDB_CHILD_CMD, NULL};
    int e = posix_spawn(&p->pid, "/proc/self/exe", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(to[0]), close(from[1]);
    if (e) {
        close(to[1]), close(from[0]);
        return ak_err_set(p->err, AK_ERR_IO, "cannot start DuckDB's reader: %s", strerror(e));
    }
    p->to = to[1], p->from = from[0];
    return AK_OK;
}

/* ---- the idle readers ----
 *
 * A reader that answered done or error waits, blocked on its stdin, for
 * the next file: loading DuckDB's library and starting an instance cost
 * more CPU than reading a few thousand rows.  At most IDLE_MAX wait; the
 * others are closed.  At exit the idle ones are closed and waited for. */

#define IDLE_MAX 4

static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static proc idle[IDLE_MAX];
static int n_idle, at_exit_set;

/* Close a reader's pipes (its stdin's end makes it exit) and wait. */
static int close_reader(pid_t pid, int to, int from, int kill_it)
{
    int status = 0;
    if (kill_it)
        kill(pid, SIGKILL);
    close(to), close(from);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static void close_idle(void)
{
    pthread_mutex_lock(&idle_mu);
    while (n_idle > 0) {
        proc *q = &idle[--n_idle];
        close_reader(q->pid, q->to, q->from, 0);
    }
    pthread_mutex_unlock(&idle_mu);
}

/* An idle reader still alive, or 0. */
static int take_idle(proc *p)
{
    pthread_mutex_lock(&idle_mu);
    int got = 0;
    while (!got && n_idle > 0) {
        proc *q = &idle[--n_idle];
        int status;
        if (waitpid(q->pid, &status, WNOHANG) == 0) {
            p->pid = q->pid, p->to = q->to, p->from = q->from;
            got = 1;
        } else { /* ended while idle (killed from outside) */
            close(q->to), close(q->from);
        }
    }
    pthread_mutex_unlock(&idle_mu);
    return got;
}

/* Keep a reader that finished cleanly for the next file. */
static void give_idle(proc *p)
{
    pthread_mutex_lock(&idle_mu);
    int kept = n_idle < IDLE_MAX;
    if (kept) {
        idle[n_idle++] = (proc){.pid = p->pid, .to = p->to, .from = p->from};
        if (!at_exit_set)
            at_exit_set = atexit(close_idle) == 0;
    }
    pthread_mutex_unlock(&idle_mu);
    if (!kept)
        close_reader(p->pid, p->to, p->from, 0);
}

static ak_code answer(proc *p, const ak_dframe *f);

/* A reader (idle or new) told to read path in mode. */
static ak_code start(proc *p, const char *mode, const char *path)
{
    ak_code rc = take_idle(p) ? AK_OK : spawn(p);
    if (rc)
        return rc;
    ak_dframe f = {.type = AK_DF_START};
    f.str[0] = (ak_dfstr){mode, strlen(mode)};
    f.str[1] = (ak_dfstr){path, strlen(path)};
    return answer(p, &f);
}

/* Write all of buf to the child.  A child that died makes the write fail
 * (EPIPE: SIGPIPE is blocked around it and a pending one taken back, so
 * the caller's process never dies of it); the read that follows then
 * finds the pipe closed and says how the child ended. */
static void send_all(proc *p, const char *buf, size_t len)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    int broken = 0;
    while (len) {
        ssize_t n = write(p->to, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            broken = errno == EPIPE;
            break;
        }
        buf += n, len -= (size_t)n;
    }
    struct timespec zero = {0, 0};
    if (broken && !sigismember(&old, SIGPIPE))
        sigtimedwait(&pipe_set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static ak_code answer(proc *p, const ak_dframe *f)
{
    ak_buf_reset(&p->out);
    if (ak_dframe_encode(f, &p->out))
        return ak_err_set(p->err, AK_ERR_NOMEM, "cannot encode a %s frame", ak_dframe_name(f->type));
    send_all(p, p->out.data, p->out.len);
    return AK_OK;
}

/* The next frame: 1; 0 when the pipe closed; -1 malformed or out of
 * memory (p->err says). */
static int next(proc *p, ak_dframe *f)
{
    for (;;) {
        size_t used;
        const char *at = p->in.data ? p->in.data + p->off : ""; /* nothing read yet */
        int got = ak_dframe_decode(at, p->in.len - p->off, f, &used, p->err);
        if (got > 0)
            p->off += used;
        if (got)
            return got;
        if (p->off && p->in.data) { /* off > 0 means data was read into it */
            memmove(p->in.data, p->in.data + p->off, p->in.len - p->off);
            p->in.len -= p->off;
            p->off = 0;
        }
        if (ak_buf_reserve(&p->in, 65536)) {
            ak_err_set(p->err, AK_ERR_NOMEM, "out of memory");
            return -1;
        }
        ssize_t n = read(p->from, p->in.data + p->in.len, p->in.cap - p->in.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p->in.len += (size_t)n;
    }
}

/* Done with the reader: kept idle when it ended its read cleanly (nothing
 * after its last frame), else killed and waited for. */
static int reap(proc *p, int kill_it)
{
    int status = 0;
    if (!kill_it && p->off == p->in.len)
        give_idle(p);
    else
        status = close_reader(p->pid, p->to, p->from, 1);
    ak_buf_free(&p->in);
    ak_buf_free(&p->out);
    return status;
}

/* The pipe closed: wait for the reader that closed it. */
static int reap_ended(proc *p)
{
    int status = close_reader(p->pid, p->to, p->from, 0);
    ak_buf_free(&p->in);
    ak_buf_free(&p->out);
    return status;
}

/* The pipe closed before a done or error frame: how the child ended. */
static ak_code ended(proc *p)
{
    int status = reap_ended(p);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return ak_err_set(p->err, AK_ERR_IO, "DuckDB's reader was killed (SIGKILL: out of memory "
                          "or stopped from outside); the upload is tried again");
    if (WIFSIGNALED(status))
        return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader crashed reading it (signal "
                          "%d, %s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader ended (status %d) without an "
                      "answer", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* An error frame: DuckDB's verdict, as the child's code and message. */
static ak_code child_error(proc *p, const ak_dframe *f)
{
    if (f->num == AK_OK || f->num > AK_ERR_INTERNAL)
        return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader sent an error frame with "
                          "code %llu", (unsigned long long)f->num);
    int n = f->str[0].n > AK_ERR_MSG_MAX - 1 ? AK_ERR_MSG_MAX - 1 : (int)f->str[0].n;
    return ak_err_set(p->err, (ak_code)f->num, "%.*s", n, f->str[0].p);
}

static ak_code unexpected(proc *p, const ak_dframe *f, const char *mode)
{
    return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader sent a %s frame in a %s read",
                      ak_dframe_name(f->type), mode);
}

/* A name the child sends (a table, a catalog) as a C string: short, of
 * identifier characters only. */
static ak_code name_of(proc *p, const ak_dfstr *s, char *out, size_t n)
{
    if (s->n == 0 || s->n >= n)
        return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader sent a name of %zu bytes", s->n);
    for (size_t i = 0; i < s->n; i++)
        if (!(s->p[i] == '_' || (s->p[i] >= 'a' && s->p[i] <= 'z') ||
              (s->p[i] >= 'A' && s->p[i] <= 'Z') || (s->p[i] >= '0' && s->p[i] <= '9')))
            return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader sent a name that is not "
                              "an identifier");
    memcpy(out, s->p, s->n);
    out[s->n] = '\0';
    return AK_OK;
}

typedef ak_code (*frame_fn)(proc *p, const ak_dframe *f, void *ctx);

/* Start the child, hand it each frame through fn until it is done. */
static ak_code converse(const char *mode, const char *path, frame_fn fn, void *ctx, ak_err *err)
{
    proc p = {.err = err};
    ak_code rc = start(&p, mode, path);
    if (rc && p.pid > 0)
        reap(&p, 1);
    if (rc)
        return rc;
    for (;;) {
        ak_dframe f;
        int got = next(&p, &f);
        if (got == 0)
            return ended(&p);
        if (got < 0) {
            rc = p.err->code ? p.err->code : AK_ERR_CORRUPT;
            ak_err_prefix(err, "DuckDB's reader: ");
        } else if (f.type == AK_DF_DONE) {
            rc = AK_OK;
        } else if (f.type == AK_DF_ERROR) {
            rc = child_error(&p, &f);
        } else if ((rc = fn(&p, &f, ctx)) == AK_OK) {
            continue;
        }
        break;
    }
    reap(&p, rc != AK_OK);
    return rc;
}

/* ---- memories ---- */

typedef struct {
    ak_duckdb_key_fn key_fn;
    ak_duckdb_row_fn fn;
    void *ctx;
    ak_buf bits;       /* the table's wanted rows so far */
    uint64_t max_row;  /* the table's largest row keyed */
    char table[64];
    float emb[AK_DIM];
} records;

static ak_code want_row(proc *p, records *r, uint64_t row)
{
    uint64_t byte = (row - 1) / 8;
    if (byte >= r->bits.len) {
        size_t add = (size_t)(byte + 1 - r->bits.len);
        if (ak_buf_reserve(&r->bits, add))
            return ak_err_set(p->err, AK_ERR_NOMEM, "out of memory");
        memset(r->bits.data + r->bits.len, 0, add);
        r->bits.len += add;
    }
    r->bits.data[byte] |= (char)(1u << ((row - 1) % 8));
    return AK_OK;
}

static ak_code on_key(proc *p, records *r, const ak_dframe *f)
{
    if (f->num == 0 || f->num > (uint64_t)AK_DFRAME_MAX * 8 - 64)
        return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader sent row %llu",
                          (unsigned long long)f->num);
    ak_record_parts k = {.id = f->str[1].p, .id_len = f->str[1].n,
                         .content = f->str[2].p, .content_len = f->str[2].n};
    int want = 0;
    ak_code rc = r->key_fn(r->ctx, r->table, f->num, &k, &want);
    if (f->num > r->max_row)
        r->max_row = f->num;
    return rc == AK_OK && want ? want_row(p, r, f->num) : rc;
}

static ak_code on_settle(proc *p, records *r, const ak_dframe *f)
{
    if (f->num < r->max_row || f->num > (uint64_t)AK_DFRAME_MAX * 8 - 64)
        return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader settled %llu rows after "
                          "keying row %llu", (unsigned long long)f->num,
                          (unsigned long long)r->max_row);
    size_t need = (size_t)(f->num / 8 + (f->num % 8 != 0));
    if (need > r->bits.len) {
        if (ak_buf_reserve(&r->bits, need - r->bits.len))
            return ak_err_set(p->err, AK_ERR_NOMEM, "out of memory");
        memset(r->bits.data + r->bits.len, 0, need - r->bits.len);
        r->bits.len = need;
    }
    ak_dframe w = {.type = AK_DF_WANT, .num = f->num, .bits = (unsigned char *)r->bits.data};
    ak_code rc = answer(p, &w);
    ak_buf_reset(&r->bits);
    r->max_row = 0;
    return rc;
}

static ak_code on_record(proc *p, records *r, const ak_dframe *f)
{
    ak_record_parts x = {.id = f->str[1].p, .id_len = f->str[1].n,
                         .content = f->str[2].p, .content_len = f->str[2].n,
                         .metadata = f->str[3].p, .metadata_len = f->str[3].n,
                         .has_ts = f->has_ts, .ts_us = f->ts_us};
    if (f->has_emb) {
        x.embedding = r->emb;
        x.n_embedding = f->n_emb;
        if (f->emb)
            memcpy(r->emb, f->emb, sizeof r->emb); /* little-endian host, aligned copy */
    }
    return r->fn(r->ctx, r->table, f->num, &x);
}

static ak_code on_records_frame(proc *p, const ak_dframe *f, void *ctx)
{
    records *r = ctx;
    int keyed = f->type == AK_DF_KEY || f->type == AK_DF_SETTLE;
    if ((f->type != AK_DF_RECORD && !keyed) || (keyed && !r->key_fn))
        return unexpected(p, f, "records");
    ak_code rc = name_of(p, &f->str[0], r->table, sizeof r->table);
    if (rc)
        return rc;
    return f->type == AK_DF_KEY      ? on_key(p, r, f)
           : f->type == AK_DF_SETTLE ? on_settle(p, r, f)
                                     : on_record(p, r, f);
}

ak_code ak_duckdb_read(const char *path, ak_duckdb_key_fn key_fn, ak_duckdb_row_fn fn,
                       void *ctx, ak_err *err)
{
    records *r = calloc(1, sizeof *r);
    if (!r)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    r->key_fn = key_fn;
    r->fn = fn;
    r->ctx = ctx;
    ak_code rc = converse(key_fn ? "keys" : "records", path, on_records_frame, r, err);
    ak_buf_free(&r->bits);
    free(r);
    return rc;
}

/* ---- any other file, as text ---- */

typedef struct {
    const ak_duckdb_text_reader *r;
    ak_buf sql;
    char catalog[64];
} texts;

static ak_code on_query(proc *p, texts *t, const ak_dframe *f)
{
    ak_code rc = name_of(p, &f->str[0], t->catalog, sizeof t->catalog);
    if (rc)
        return rc;
    ak_buf_reset(&t->sql);
    int more = t->r->query(t->r->ctx, t->catalog, (unsigned)f->num, &t->sql);
    if (more < 0)
        return ak_err_set(p->err, AK_ERR_NOMEM, "out of memory");
    ak_dframe a = {.type = AK_DF_SQL};
    if (more)
        a.str[0] = (ak_dfstr){t->sql.data ? t->sql.data : "", t->sql.len};
    return answer(p, &a);
}

static ak_code on_text_frame(proc *p, const ak_dframe *f, void *ctx)
{
    texts *t = ctx;
    if ((f->type == AK_DF_QUERY || f->type == AK_DF_TEXT) && f->num > UINT32_MAX)
        return ak_err_set(p->err, AK_ERR_CORRUPT, "DuckDB's reader sent query %llu",
                          (unsigned long long)f->num);
    switch (f->type) {
    case AK_DF_COLUMN:
        return t->r->column(t->r->ctx, f->str[0].p, f->str[0].n, f->str[1].p, f->str[1].n,
                            f->str[2].p, f->str[2].n);
    case AK_DF_QUERY: return on_query(p, t, f);
    case AK_DF_TEXT: return t->r->row(t->r->ctx, (unsigned)f->num, f->str[0].p, f->str[0].n);
    default: return unexpected(p, f, "text");
    }
}

ak_code ak_duckdb_read_text(const char *path, const ak_duckdb_text_reader *r, ak_err *err)
{
    texts t = {.r = r};
    ak_code rc = converse("text", path, on_text_frame, &t, err);
    ak_buf_free(&t.sql);
    return rc;
}
