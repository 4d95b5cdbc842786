/*
 * push.c - see push.h.
 *
 * One request: parse the JSON-RPC call, turn each memory into a record
 * line and judge it by the upload record rules, group the good lines by
 * system, and for each system (under its stripe lock) stage the batch in
 * the outbox, apply it through the upload path and re-index the system.
 * The answer is written from the ledger row the commit left, so what it
 * says is what is stored.
 *
 * Why it is over 800 lines: the memory tools and the graph tools share the
 * call parsing, the grouping, the store step and the answers, all private
 * to one request's path; splitting them would publish those internals.
 */
#include "server/push.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph_item.h"
#include "ingest/outbox.h"
#include "ingest/record.h"
#include "server/pushdb.h"
#include "storage/syslock.h"
#include "storage/tombstone.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/testpoint.h"
#include "util/time.h"

#define STRIPES 64
#define SHIP_INTERVAL_US (5 * AK_US_PER_SEC)
#define RECORD_MAX_DEPTH 64
#define RECORD_MAX_NODES 200000
#define ERRORS_SHOWN 1000
/* metadata judged from the request's own parse: at most this many values, this deep */
#define PLAIN_NODES 10000
#define PLAIN_DEPTH 32

struct ak_push {
    ak_push_env env;
    ak_store *outbox;
    pthread_mutex_t stripe[STRIPES]; /* a system's batches, one at a time */
    ak_pushdb kept[STRIPES];         /* under stripe[i]: its last database */
    pthread_mutex_t mu;              /* the shipper's wake-up */
    pthread_cond_t cv;
    int kicked, quit;
    pthread_t shipper;
    int shipping;                    /* the shipper thread runs */
    atomic_llong staged;             /* batches staged since start (ship_all) */
};

ak_push_kind ak_push_route(const char *path)
{
    if (!strcmp(path, "/status") || !strcmp(path, "/mcp/status"))
        return AK_PUSH_STATUS;
    if (!strcmp(path, "/mcp/v1") || !strcmp(path, "/mcp/mcp/v1"))
        return AK_PUSH_CALL;
    return AK_PUSH_NONE;
}

static size_t stripe_of(const char *sid)
{
    uint32_t h = 2166136261u;
    for (const char *c = sid; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return h % STRIPES;
}

/* ---- storing one system's batch ---- */

typedef struct {
    char sid[AK_SYSTEM_ID_MAX + 1];
    int graph;  /* lines are knowledge-graph items (graph.jsonl) */
    ak_buf lines;
    ak_record **recs; /* the lines as parsed (keep_record): applied from memory */
    int64_t n;
    int64_t min_ts, max_ts; /* of its records, to read the tombstone again */
} group;

typedef struct {
    int64_t stored, new_count, updated, duplicates, stale, rejected;
    int64_t forgotten; /* memories of a forgotten system, dated before its tombstone */
    ak_buf errors; /* JSON array elements, comma-separated */
    int64_t n_errors;
    char first_error[AK_ERR_MSG_MAX]; /* what a single-memory tool answers */
    char upload_ids[256];
    char note[256]; /* a graph batch's ledger note: what it stored */
} outcome;

/* Add a committed batch's ledger row to the answer. */
static void count_row(outcome *o, const char *sid, const char *uid, const ak_ledger_row *row)
{
    o->new_count += row->new_count, o->updated += row->updated;
    o->duplicates += row->duplicates, o->stale += row->stale;
    o->stored += row->new_count + row->updated + row->duplicates + row->stale;
    if (row->records_rejected) { /* e.g. one id twice with different content */
        o->rejected += row->records_rejected;
        ak_buf_printf(&o->errors, "%s{\"system\":\"%s\",\"count\":%lld,\"error\":%s}",
                      o->n_errors++ ? "," : "", sid, (long long)row->records_rejected,
                      row->record_errors ? row->record_errors : "null");
    }
    size_t ul = strlen(o->upload_ids);
    snprintf(o->upload_ids + ul, sizeof o->upload_ids - ul, "%s%s", ul ? "," : "", uid);
}

/* Make the batch's new and changed rows searchable: patch the system's
 * segment with them, from the records in memory and the hot row ids their
 * commit gave (rowid[i]), not read back from the database. */
static ak_code reindex(ak_push *p, const group *g, const ak_put_result *res,
                       const int64_t *rowid, ak_sysdb *db, ak_err *err)
{
    const char **ids = malloc((size_t)g->n * sizeof *ids);
    ak_segment_row *rows = malloc((size_t)g->n * sizeof *rows);
    size_t n = 0;
    int all_new = 1;
    ak_code rc;
    if (!ids || !rows) {
        rc = ak_index_load_system(p->env.idx, g->sid, err);
    } else {
        for (int64_t i = 0; i < g->n; i++) {
            const ak_record *r = g->recs[i];
            if (res[i] != AK_PUT_NEW && res[i] != AK_PUT_UPDATED)
                continue;
            rows[n] = (ak_segment_row){rowid[i], r->ts_us, r->has_embedding ? r->embedding : NULL};
            ids[n++] = r->id;
            all_new &= res[i] == AK_PUT_NEW;
        }
        rc = ak_index_patch_system(p->env.idx, g->sid, db, ids, rows, n, all_new, err);
    }
    free(ids);
    free(rows);
    return rc;
}

/* The records were sorted against the tombstones before the system's lock
 * was taken (storage/syslock.h); read them again under it.  AK_ERR_NOTFOUND
 * when the system was forgotten since and after every record (all held
 * back, counted), AK_ERR_BUSY when only some are (send the batch again:
 * sorting it anew splits it), AK_OK to store it all. */
static ak_code forgotten_since(ak_push *p, const group *g, outcome *o, ak_err *err)
{
    if (ak_tomb_blocks(p->env.dd, g->sid, g->max_ts)) {
        o->forgotten += g->n;
        return AK_ERR_NOTFOUND;
    }
    if (ak_tomb_blocks(p->env.dd, g->sid, g->min_ts))
        return ak_err_set(err, AK_ERR_BUSY, "system %s was forgotten while this batch was "
                          "read: send it again", g->sid);
    return AK_OK;
}

/* Records parsed in memory are staged beside their apply, which waits for
 * the stage before it commits; graph items (committed to the graph as they
 * are read) and records to be read back from the outbox are staged first. */
static ak_code stage_group(ak_push *p, const group *g, const char *origin, int64_t now,
                           ak_outbox_batch *b, ak_err *err)
{
    const char *lines = g->lines.data;
    if (g->graph)
        return ak_outbox_stage_graph(p->outbox, g->sid, lines, g->lines.len, origin, now, b, err);
    if (g->recs)
        return ak_outbox_stage_begin(p->outbox, g->sid, lines, g->lines.len, g->n, origin, now, b,
                                     err);
    return ak_outbox_stage(p->outbox, g->sid, lines, g->lines.len, g->n, origin, now, b, err);
}

/* Stage, apply, re-index: under the system's stripe lock, one batch of a
 * system at a time; other systems' batches run beside it. */
static ak_code store_group(ak_push *p, group *g, const char *origin, int64_t now, outcome *o,
                           ak_err *err)
{
    ak_outbox_batch b = {0};
    ak_ledger_row row;
    ak_sysdb *db = NULL;
    int changed = 0;
    memset(&row, 0, sizeof row);
    ak_put_result *res = malloc((size_t)g->n * sizeof *res);
    int64_t *rowid = malloc((size_t)g->n * sizeof *rowid);
    if (!res || !rowid) {
        free(res);
        free(rowid);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    size_t s = stripe_of(g->sid);
    pthread_mutex_t *lock = &p->stripe[s];
    pthread_mutex_lock(lock);
    ak_syslock *fence = NULL;
    ak_code rc = ak_syslock_take(p->env.dd, g->sid, &fence, err);
    /* a graph item was checked against the tombstone when it was read */
    if (rc == AK_OK && !g->graph && (rc = forgotten_since(p, g, o, err)) == AK_ERR_NOTFOUND) {
        ak_syslock_release(fence); /* every record is held back: nothing to store */
        pthread_mutex_unlock(lock);
        free(res);
        free(rowid);
        return AK_OK;
    }
    if (rc == AK_OK)
        rc = ak_pushdb_open(&p->kept[s], p->env.dd, g->sid, &db, err);
    if (rc == AK_OK)
        rc = stage_group(p, g, origin, now, &b, err);
    if (rc == AK_OK)
        rc = ak_outbox_apply(p->outbox, p->env.dd, g->sid, db, &b,
                             (const ak_record *const *)g->recs, g->recs ? (size_t)g->n : 0,
                             res, rowid, &row, &changed, err);
    if (b.staged) { /* in the outbox until shipped (without a bucket: until one is set) */
        atomic_fetch_add(&p->staged, 1);
        atomic_fetch_add(&p->env.metrics->push_unshipped, 1);
    }
    if (rc == AK_OK && row.status != AK_UPLOAD_INGESTED)
        rc = ak_err_set(err, AK_ERR_IO, "%s/%s was not stored: %s", g->sid, b.uid,
                        row.reason ? row.reason : "no ledger row");
    if (rc == AK_OK) {
        ak_testpoint("push.committed");
        ak_err e;
        if (changed && reindex(p, g, res, rowid, db, &e))
            AK_WARN("push", "re-indexing %s: %s", g->sid, e.msg);
    }
    ak_pushdb_done(&p->kept[s], g->sid, db, rc == AK_OK);
    ak_syslock_release(fence);
    pthread_mutex_unlock(lock);
    free(res);
    free(rowid);
    if (rc == AK_OK)
        count_row(o, g->sid, b.uid, &row);
    if (rc == AK_OK && g->graph && row.reason)
        snprintf(o->note, sizeof o->note, "%s", row.reason);
    ak_ledger_row_free(&row);
    ak_outbox_batch_free(&b);
    return rc;
}

/* ---- a memory as an upload record ---- */

typedef struct {
    const char *id_key, *text_key;
} shape;

static const shape SHAPES[2] = {{"memory_id", "text"}, {"reflection_id", "content"}};
static const shape *const MEMORY = &SHAPES[0], *const REFLECTION = &SHAPES[1];

static void raw_member(ak_jw *w, const char *key, const ak_json *v)
{
    if (v && v->type != AK_JSON_NULL) {
        ak_jw_key(w, key);
        ak_jw_raw(w, v->raw, v->raw_len);
    }
}

int ak_push_memory_record(const ak_json *item, int reflection, ak_buf *line, char *sid,
                          char *why, size_t n)
{
    const shape *sh = &SHAPES[reflection != 0];
    const ak_json *md = item->type == AK_JSON_OBJECT ? ak_json_get(item, "metadata") : NULL;
    const ak_json *src = md && md->type == AK_JSON_OBJECT ? ak_json_get(md, "source") : NULL;
    if (item->type != AK_JSON_OBJECT) {
        snprintf(why, n, "not_object: expected a memory object");
        return 0;
    }
    if (!ak_id_system_field(src && src->type == AK_JSON_STRING ? src->str : NULL,
                            "bad_source: ", "metadata.source", NULL, sid, why, n))
        return 0;
    ak_jw w;
    ak_buf_reset(line);
    ak_jw_init(&w, line);
    ak_jw_obj(&w);
    raw_member(&w, "id", ak_json_get(item, sh->id_key));
    raw_member(&w, "content", ak_json_get(item, sh->text_key));
    raw_member(&w, "embedding", ak_json_get(item, "embedding"));
    raw_member(&w, "timestamp", ak_json_get(md, "created_at"));
    raw_member(&w, "metadata", md);
    ak_jw_end(&w);
    return 1;
}

/* A copy of r that outlives its parse: its strings beside it, one block
 * (free() it). */
static ak_record *keep_record(const ak_record *r)
{
    const char *const src[4] = {r->id, r->content, r->source, r->metadata};
    const size_t len[4] = {r->id_len, r->content_len, r->source_len, r->metadata_len};
    size_t total = 0;
    for (int i = 0; i < 4; i++)
        total += src[i] ? len[i] + 1 : 0;
    ak_record *k = malloc(sizeof *k + total);
    if (!k)
        return NULL;
    *k = *r;
    const char **dst[4] = {&k->id, &k->content, &k->source, &k->metadata};
    char *at = (char *)(k + 1);
    for (int i = 0; i < 4; i++) {
        if (!src[i])
            continue;
        memcpy(at, src[i], len[i]);
        at[len[i]] = '\0';
        *dst[i] = at;
        at += len[i] + 1;
    }
    return k;
}

/* Add line and its parsed record to group g.  A new group makes room for
 * all the items left (left, of left_bytes of request text): a batch is
 * usually one system's, and growing its ~1 MB of lines by doubling cost
 * copies and fresh pages. */
static int group_add(group *g, const ak_buf *line, const ak_record *rec, size_t left,
                     size_t left_bytes)
{
    if (g->n == 0 && (!(g->recs = malloc(left * sizeof *g->recs)) ||
                      ak_buf_reserve(&g->lines, left_bytes + left)))
        return 0;
    if (!(g->recs[g->n] = keep_record(rec)))
        return 0;
    if (ak_buf_append(&g->lines, line->data, line->len) || ak_buf_putc(&g->lines, '\n')) {
        free(g->recs[g->n]);
        return 0;
    }
    g->n++;
    return 1;
}

static group *group_for(group **gs, size_t *n, const char *sid)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*gs)[i].sid, sid))
            return &(*gs)[i];
    group *grown = realloc(*gs, (*n + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    *gs = grown;
    group *g = &grown[(*n)++];
    memset(g, 0, sizeof *g);
    snprintf(g->sid, sizeof g->sid, "%s", sid);
    return g;
}

static void refuse(outcome *o, size_t index, const ak_json *item, const shape *sh,
                   const char *why)
{
    const ak_json *id = item->type == AK_JSON_OBJECT ? ak_json_get(item, sh->id_key) : NULL;
    o->rejected++;
    if (!o->first_error[0])
        snprintf(o->first_error, sizeof o->first_error, "%s", why);
    if (o->n_errors++ >= ERRORS_SHOWN)
        return;
    ak_jw w;
    if (o->errors.len)
        ak_buf_putc(&o->errors, ',');
    ak_jw_init(&w, &o->errors);
    ak_jw_obj(&w);
    ak_jw_kint(&w, "index", (int64_t)index);
    ak_jw_key(&w, "id");
    if (id && id->type == AK_JSON_STRING)
        ak_jw_str(&w, id->str);
    else
        ak_jw_null(&w);
    ak_jw_kstr(&w, "error", why);
    ak_jw_end(&w);
}

static const ak_json *present(const ak_json *v)
{
    return v && v->type != AK_JSON_NULL ? v : NULL;
}

/* Whether v is small and shallow enough that the record parser's own
 * limits (AK_RECORD_MAX_NODES, AK_RECORD_MAX_DEPTH) cannot matter. */
static int plain(const ak_json *v, int depth, size_t *budget)
{
    size_t numbers = v->floats ? v->n_kids : 0; /* read as floats, counted all the same */
    if (depth + (numbers > 0) > PLAIN_DEPTH || *budget <= numbers)
        return 0;
    *budget -= 1 + numbers;
    for (const ak_json *k = v->first; k; k = k->next)
        if (!plain(k, depth + 1, budget))
            return 0;
    return 1;
}

/* Judge a memory by the record rules: from the members the request's parse
 * already holds (ak_record_from_values: the same rules and messages as
 * parsing its line), or, for a line too large or metadata too deep or big
 * for the limits to be sure not to matter, by parsing the line exactly as
 * the bucket's copy of it will be parsed. */
static ak_code judge(ak_json_doc *rdoc, const ak_json *item, const shape *sh, const ak_buf *line,
                     int64_t now, ak_record *rec, ak_rec_problem *prob, ak_err *perr)
{
    const ak_json *md = ak_json_get(item, "metadata"); /* an object (ak_push_memory_record) */
    size_t budget = PLAIN_NODES;
    if (line->len > AK_RECORD_TEXT_MAX || !plain(md, 0, &budget))
        return ak_record_parse(rdoc, line->data, line->len, now, rec, prob, perr);
    ak_record_values v = {present(ak_json_get(item, sh->id_key)),
                          present(ak_json_get(item, sh->text_key)),
                          present(ak_json_get(item, "embedding")),
                          present(ak_json_get(md, "created_at")), md};
    return ak_record_from_values(&v, now, rec, prob, perr);
}

/* Judge every item; the good ones go to their system's group, except the
 * memories a forget holds back (storage/tombstone.h): not stored, not an
 * error either (the operator chose it, and Session-Buddy would otherwise
 * see every later sync fail), counted as "forgotten" in the answer. */
static ak_code sort_items(const ak_datadir *dd, const ak_json *items, const shape *sh,
                          int64_t now, group **gs, size_t *ng, outcome *o, ak_err *err)
{
    ak_json_doc *rdoc = ak_json_doc_new();
    ak_buf line = {0};
    char sid[AK_SYSTEM_ID_MAX + 1], why[AK_ERR_MSG_MAX + 32];
    size_t i = 0;
    ak_code rc = rdoc ? AK_OK : ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (rdoc)
        ak_json_doc_limits(rdoc, RECORD_MAX_DEPTH, RECORD_MAX_NODES);
    for (const ak_json *it = items->first; rc == AK_OK && it; it = it->next, i++) {
        ak_record rec;
        ak_rec_problem prob;
        ak_err perr;
        group *g;
        if (!ak_push_memory_record(it, sh == REFLECTION, &line, sid, why, sizeof why)) {
            refuse(o, i, it, sh, why);
        } else if ((rc = judge(rdoc, it, sh, &line, now, &rec, &prob, &perr))) {
            if (rc == AK_ERR_INVALID) {
                snprintf(why, sizeof why, "%s: %s", ak_rec_problem_name(prob), perr.msg);
                refuse(o, i, it, sh, why);
                rc = AK_OK;
            } else {
                *err = perr;
            }
        } else if (ak_tomb_blocks(dd, sid, rec.ts_us)) {
            o->forgotten++;
        } else if (!(g = group_for(gs, ng, sid)) ||
                   !group_add(g, &line, &rec, items->n_kids - i,
                              items->raw_len - (size_t)(it->raw - items->raw))) {
            rc = ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        } else {
            if (g->n == 1 || rec.ts_us < g->min_ts)
                g->min_ts = rec.ts_us;
            if (g->n == 1 || rec.ts_us > g->max_ts)
                g->max_ts = rec.ts_us;
        }
    }
    ak_buf_free(&line);
    ak_json_doc_free(rdoc);
    return rc;
}

static ak_code store_items(ak_push *p, const ak_json *items, const shape *sh,
                           const char *origin, outcome *o, ak_err *err)
{
    group *gs = NULL;
    size_t ng = 0;
    /* one clock for the records' default time and the batch's manifest
     * (uploaded_at), so a re-read of the staged batch gives the same rows */
    int64_t now = ak_time_now_us();
    ak_code rc = sort_items(p->env.dd, items, sh, now, &gs, &ng, o, err);
    for (size_t i = 0; rc == AK_OK && i < ng; i++)
        rc = store_group(p, &gs[i], origin, now, o, err);
    for (size_t i = 0; i < ng; i++) {
        ak_buf_free(&gs[i].lines);
        for (int64_t k = 0; k < gs[i].n; k++)
            free(gs[i].recs[k]);
        free(gs[i].recs);
    }
    free(gs);
    ak_metrics *m = p->env.metrics;
    atomic_fetch_add(&m->push_new, o->new_count);
    atomic_fetch_add(&m->push_updated, o->updated);
    atomic_fetch_add(&m->push_duplicates, o->duplicates);
    atomic_fetch_add(&m->push_stale, o->stale);
    atomic_fetch_add(&m->push_rejected, o->rejected);
    if (rc == AK_OK && ng && p->env.bucket) {
        pthread_mutex_lock(&p->mu);
        p->kicked = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return rc;
}

/* ---- JSON-RPC ---- */

typedef struct {
    const ak_json *id; /* NULL: none given */
    ak_response *res;
    int failed;        /* answered with a JSON-RPC error */
} call;

static void rpc_head(call *c, ak_jw *w)
{
    ak_jw_init(w, &c->res->body);
    ak_jw_obj(w);
    ak_jw_kstr(w, "jsonrpc", "2.0");
    ak_jw_key(w, "id");
    if (c->id)
        ak_jw_raw(w, c->id->raw, c->id->raw_len);
    else
        ak_jw_null(w);
}

static void rpc_error(call *c, unsigned http, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void rpc_error(call *c, unsigned http, int code, const char *fmt, ...)
{
    char msg[AK_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ak_jw w;
    c->failed = 1;
    c->res->status = http;
    ak_buf_reset(&c->res->body);
    rpc_head(c, &w);
    ak_jw_key(&w, "error");
    ak_jw_obj(&w);
    ak_jw_kint(&w, "code", code);
    ak_jw_kstr(&w, "message", msg);
    ak_jw_end(&w);
    ak_jw_end(&w);
}

/* result = the answer's fields, then content/structuredContent with the
 * same object, as an MCP tool result. */
static void rpc_result(call *c, const ak_buf *fields)
{
    ak_jw w;
    rpc_head(c, &w);
    ak_jw_key(&w, "result");
    ak_buf *b = &c->res->body;
    ak_buf_append(b, fields->data, fields->len - 1); /* open: more members follow */
    ak_buf_puts(b, ",\"content\":[{\"type\":\"text\",\"text\":");
    ak_json_quote(b, fields->data, fields->len);
    ak_buf_puts(b, "}],\"structuredContent\":");
    ak_buf_append(b, fields->data, fields->len);
    ak_buf_puts(b, ",\"isError\":false}}");
}

static void answer_store(call *c, const outcome *o, int batch)
{
    ak_buf f = {0};
    const char *status = batch         ? (o->rejected ? "partial" : "completed")
                         : o->stored    ? "stored"
                         : o->forgotten ? "forgotten"
                                        : "rejected";
    ak_buf_printf(&f,
                  "{\"status\":\"%s\",\"stored\":%lld,\"new\":%lld,\"updated\":%lld,"
                  "\"duplicates\":%lld,\"stale\":%lld,\"rejected\":%lld,\"forgotten\":%lld,"
                  "\"errors\":[",
                  status, (long long)o->stored, (long long)o->new_count, (long long)o->updated,
                  (long long)o->duplicates, (long long)o->stale, (long long)o->rejected,
                  (long long)o->forgotten);
    if (o->errors.len)
        ak_buf_append(&f, o->errors.data, o->errors.len);
    ak_buf_puts(&f, "],\"upload_ids\":[");
    for (const char *u = o->upload_ids; *u;) {
        size_t k = strcspn(u, ",");
        ak_buf_printf(&f, "%s\"%.*s\"", u == o->upload_ids ? "" : ",", (int)k, u);
        u += k + (u[k] == ',');
    }
    ak_buf_puts(&f, "]");
    if (!batch && !o->stored && o->first_error[0]) {
        ak_buf_puts(&f, ",\"error\":");
        ak_json_quote(&f, o->first_error, strlen(o->first_error));
    }
    ak_buf_puts(&f, "}");
    if (f.data)
        rpc_result(c, &f);
    else
        rpc_error(c, 500, -32603, "out of memory");
    ak_buf_free(&f);
}

static void tool_store(ak_push *p, call *c, const char *tool, const ak_json *args)
{
    int batch = !strcmp(tool, "batch_store_memories");
    const shape *sh = !strcmp(tool, "store_reflection") ? REFLECTION : MEMORY;
    const ak_json *items, *one = ak_json_get(args, "memory");
    ak_json copy, single = {.type = AK_JSON_ARRAY, .n_kids = 1, .first = &copy};
    if (batch) {
        items = ak_json_get(args, "memories");
        if (!items || items->type != AK_JSON_ARRAY) {
            rpc_error(c, 200, -32602, "batch_store_memories: \"memories\" must be an array");
            return;
        }
        if (items->n_kids > AK_PUSH_MAX_BATCH) {
            rpc_error(c, 200, -32602, "batch_store_memories: %u memories; at most %d a batch",
                      items->n_kids, AK_PUSH_MAX_BATCH);
            return;
        }
    } else { /* one memory: the arguments themselves, or {"memory": {...}} */
        copy = one && one->type == AK_JSON_OBJECT ? *one : *args;
        copy.next = NULL;
        single.raw = copy.raw, single.raw_len = copy.raw_len; /* its text is the memory's */
        items = &single;
    }
    outcome o = {0};
    ak_err err;
    if (store_items(p, items, sh, tool, &o, &err) == AK_OK)
        answer_store(c, &o, batch);
    else
        rpc_error(c, 503, -32603, "%s: not stored, retry: %s", tool, err.msg);
    ak_buf_free(&o.errors);
}

/* ---- knowledge-graph items ---- */

/* {"status": ..., "id": ...}: Session-Buddy counts an item stored when
 * the answer has an id, and reads "error" otherwise. */
static void answer_graph(call *c, const char *status, const char *id, const char *sid,
                         const outcome *o, const char *error)
{
    ak_buf f = {0};
    ak_jw w;
    ak_jw_init(&w, &f);
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "status", status);
    if (id)
        ak_jw_kstr(&w, "id", id);
    if (sid)
        ak_jw_kstr(&w, "system", sid);
    if (error)
        ak_jw_kstr(&w, "error", error);
    if (o && o->note[0])
        ak_jw_kstr(&w, "note", o->note);
    if (o && o->upload_ids[0])
        ak_jw_kstr(&w, "upload_id", o->upload_ids);
    ak_jw_end(&w);
    if (ak_jw_error(&w) == AK_OK)
        rpc_result(c, &f);
    else
        rpc_error(c, 500, -32603, "out of memory");
    ak_buf_free(&f);
}

/* The id an item is answered with: the entity's "<type>:<name>" (its
 * node in the graph, the Python Akosha's form), a relation's original id. */
static void graph_id(const ak_graph_item *it, ak_buf *id)
{
    if (it->relation)
        ak_buf_puts(id, it->r.id);
    else
        ak_buf_printf(id, "%s:%s", it->e.type, it->e.name);
    ak_buf_putc(id, '\0');
}

static void tool_graph(ak_push *p, call *c, const char *tool, const ak_json *args)
{
    int rel = !strcmp(tool, "create_relation");
    group g = {.graph = 1, .n = 1};
    char why[AK_ERR_MSG_MAX + 32];
    ak_json_doc *doc = ak_json_doc_new();
    ak_graph_item it = {0};
    ak_buf id = {0};
    ak_err err;
    outcome o = {0};
    if (!doc) {
        rpc_error(c, 500, -32603, "out of memory");
        return;
    }
    if (!ak_graph_push_line(args, rel, &g.lines, g.sid, why, sizeof why)) {
        answer_graph(c, "rejected", NULL, NULL, NULL, why);
    } else if (ak_graph_item_parse(doc, g.lines.data, g.lines.len, g.sid, &it, &err)) {
        snprintf(why, sizeof why, "%s: %s", tool, err.msg);
        answer_graph(c, "rejected", NULL, g.sid, NULL, why);
    } else if (graph_id(&it, &id), ak_tomb_blocks(p->env.dd, g.sid, ak_time_now_us())) {
        answer_graph(c, "forgotten", NULL, g.sid, NULL,
                     "the system was forgotten (akosha forget): nothing stored");
    } else if (ak_buf_putc(&g.lines, '\n') || store_group(p, &g, tool, ak_time_now_us(), &o, &err)) {
        rpc_error(c, 503, -32603, "%s: not stored, retry: %s", tool,
                  g.lines.data ? err.msg : "out of memory");
    } else {
        answer_graph(c, "stored", id.data, g.sid, &o, NULL);
    }
    ak_graph_item_free(&it);
    ak_buf_free(&id);
    ak_buf_free(&g.lines);
    ak_buf_free(&o.errors);
    ak_json_doc_free(doc);
}

static void dispatch(ak_push *p, call *c, const ak_json *params)
{
    const ak_json *name = params && params->type == AK_JSON_OBJECT ? ak_json_get(params, "name") : NULL;
    const ak_json *args = name ? ak_json_get(params, "arguments") : NULL;
    ak_json empty = {.type = AK_JSON_OBJECT};
    if (!name || name->type != AK_JSON_STRING) {
        rpc_error(c, 200, -32602, "tools/call needs params.name (a tool name)");
        return;
    }
    if (args && args->type != AK_JSON_OBJECT) {
        rpc_error(c, 200, -32602, "%s: params.arguments must be an object", name->str);
        return;
    }
    if (!args)
        args = &empty;
    const char *t = name->str;
    if (!strcmp(t, "batch_store_memories") || !strcmp(t, "store_memory") ||
        !strcmp(t, "store_reflection"))
        tool_store(p, c, t, args);
    else if (!strcmp(t, "create_entity") || !strcmp(t, "create_relation"))
        tool_graph(p, c, t, args);
    else
        rpc_error(c, 200, -32602,
                  "unknown tool \"%.64s\"; this endpoint serves batch_store_memories, "
                  "store_memory, store_reflection, create_entity, create_relation", t);
}

static void handle_call(ak_push *p, const ak_request *req, ak_response *res)
{
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root = NULL, *v;
    call c = {.res = res};
    ak_err err;
    int64_t t0 = ak_time_mono_us();
    if (doc) /* embeddings straight into floats, no node per number */
        ak_json_doc_float_arrays(doc, "embedding", AK_DIM);
    ak_code rc = doc ? ak_json_parse(doc, req->body, req->body_len, &root, &err)
                     : ak_err_set(&err, AK_ERR_NOMEM, "out of memory");
    if (rc) {
        rpc_error(&c, rc == AK_ERR_NOMEM ? 500 : 400, -32700, "parse error: %s", err.msg);
    } else if (root->type != AK_JSON_OBJECT) {
        rpc_error(&c, 400, -32600, "expected one JSON-RPC 2.0 request object");
    } else {
        c.id = ak_json_get(root, "id");
        const ak_json *method = ak_json_get(root, "method");
        if (!(v = ak_json_get(root, "jsonrpc")) || v->type != AK_JSON_STRING || strcmp(v->str, "2.0"))
            rpc_error(&c, 400, -32600, "\"jsonrpc\" must be \"2.0\"");
        else if (!method || method->type != AK_JSON_STRING)
            rpc_error(&c, 400, -32600, "\"method\" must be a string");
        else if (strcmp(method->str, "tools/call") != 0)
            rpc_error(&c, 200, -32601,
                      "method \"%.64s\" is not served here: only tools/call (no initialize "
                      "needed); the full MCP server is at /mcp", method->str);
        else
            dispatch(p, &c, ak_json_get(root, "params"));
    }
    atomic_fetch_add(!c.failed ? &p->env.metrics->push_batches_ok : &p->env.metrics->push_batches_failed, 1);
    ak_hist_observe(&p->env.metrics->push_seconds, (double)(ak_time_mono_us() - t0) / 1e6);
    ak_json_doc_free(doc);
}

static void handle_status(ak_push *p, ak_response *res)
{
    ak_jw w;
    ak_jw_init(&w, &res->body);
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "status", "ok");
    ak_jw_kstr(&w, "service", "akosha");
    ak_jw_key(&w, "tools");
    ak_jw_arr(&w);
    ak_jw_str(&w, "batch_store_memories");
    ak_jw_str(&w, "store_memory");
    ak_jw_str(&w, "store_reflection");
    ak_jw_str(&w, "create_entity");
    ak_jw_str(&w, "create_relation");
    ak_jw_end(&w);
    ak_jw_kint(&w, "max_batch", AK_PUSH_MAX_BATCH);
    ak_jw_kbool(&w, "bucket", p->env.bucket != NULL);
    ak_jw_kint(&w, "unshipped_batches", atomic_load(&p->env.metrics->push_unshipped));
    ak_jw_kbool(&w, "data_dir_only_copy", p->env.bucket == NULL);
    ak_jw_end(&w);
}

void ak_push_handle(ak_push *p, const ak_request *req, ak_response *res)
{
    int call_route = ak_push_route(req->path) == AK_PUSH_CALL;
    const char *want = call_route ? "POST" : "GET";
    if (strcmp(req->method, want) != 0) {
        ak_http_error(res, 405, "%s is not allowed here; use %s", req->method, want);
        res->extra_header = "Allow";
        res->extra_value = want;
    } else if (call_route) {
        handle_call(p, req, res);
    } else {
        handle_status(p, res);
    }
}

/* ---- the shipper ---- */

/* A system's locks, as a batch takes them: its stripe (its kept
 * database) and the system's lock. */
static ak_code lock_system(ak_push *p, const char *sid, ak_syslock **fence, ak_err *err)
{
    pthread_mutex_lock(&p->stripe[stripe_of(sid)]);
    *fence = NULL;
    return ak_syslock_take(p->env.dd, sid, fence, err);
}

static void unlock_system(ak_push *p, const char *sid, ak_syslock *fence)
{
    ak_syslock_release(fence);
    pthread_mutex_unlock(&p->stripe[stripe_of(sid)]);
}

/* Under the system's locks, so that a forget (which deletes the database
 * and the outbox batches under that lock) is never undone by a database
 * re-created here: apply what a run that died left unapplied, then list
 * what to ship (into *sh, with a bucket).  *none when the system has no
 * batches once the lock is held (forgotten meanwhile): it is left alone. */
static ak_code ship_prepare(ak_push *p, const char *sid, ak_outbox_shipment *sh, int *none,
                            ak_err *err)
{
    ak_sysdb *db = NULL;
    ak_syslock *fence;
    int changed = 0;
    int64_t left = 0;
    size_t s = stripe_of(sid);
    ak_code rc = lock_system(p, sid, &fence, err);
    ak_testpoint("push.ship_locked");
    if (rc == AK_OK)
        rc = ak_outbox_count(p->outbox, sid, &left, err);
    *none = rc == AK_OK && left == 0;
    if (rc == AK_OK && !*none)
        rc = ak_pushdb_open(&p->kept[s], p->env.dd, sid, &db, err);
    if (rc == AK_OK && !*none && p->env.bucket)
        rc = ak_outbox_ship_list(p->outbox, p->env.dd, sid, db, sh, &changed, err);
    else if (rc == AK_OK && !*none)
        rc = ak_outbox_recover(p->outbox, p->env.dd, sid, db, &changed, err);
    if (changed) /* a batch staged by a run that died before applying it */
        ak_index_load_system(p->env.idx, sid, NULL);
    ak_pushdb_done(&p->kept[s], sid, db, rc == AK_OK);
    unlock_system(p, sid, fence);
    return rc;
}

/* One system's batches: listed under its locks, copied to the bucket
 * under none (a push of the system goes on meanwhile: it waited for the
 * whole copy, up to 350 ms at p99, when the copy held them), dropped from
 * the outbox under them again (ak_outbox_ship_drop()). */
static ak_code ship_one(void *ctx, const char *sid)
{
    ak_push *p = ctx;
    ak_outbox_stats st = {0};
    ak_outbox_shipment sh;
    ak_syslock *fence;
    ak_err err;
    int none = 0;
    memset(&sh, 0, sizeof sh);
    ak_code rc = ship_prepare(p, sid, &sh, &none, &err);
    if (rc == AK_OK && !none && p->env.bucket) {
        ak_outbox_ship_copy(p->outbox, p->env.bucket, &sh);
        ak_testpoint("push.ship_copied");
        if ((rc = lock_system(p, sid, &fence, &err)) == AK_OK)
            rc = ak_outbox_ship_drop(p->outbox, p->env.bucket, &sh, &st, &err);
        unlock_system(p, sid, fence);
    }
    ak_outbox_shipment_free(&sh);
    if (st.forgotten)
        AK_INFO("push", "%s: %lld batches forgotten while they were copied: removed from the "
                "bucket again", sid, (long long)st.forgotten);
    atomic_fetch_add(&p->env.metrics->push_shipped, st.shipped);
    atomic_fetch_sub(&p->env.metrics->push_unshipped, st.shipped + st.forgotten);
    if (rc) {
        atomic_fetch_add(&p->env.metrics->push_ship_failures, 1);
        AK_WARN("push", "%s: %s (kept in the outbox, tried again later)", sid, err.msg);
    }
    return AK_OK; /* one system's trouble does not stop the others */
}

/* Ship every system's batches; without a bucket (once, at start) apply
 * what a previous run staged but never applied.  Then count the batches:
 * the gauge, kept by staging (+1) and shipping (-) meanwhile, is set to the
 * count only when no batch was staged since the pass began, as one staged
 * during the count might be missing from it (and a gauge that fell to 0
 * with a batch still to ship would tell a waiting operator, or test, it
 * was shipped).  The count catches what neither saw (a forget). */
static void ship_all(ak_push *p)
{
    ak_err err;
    int64_t left = 0, staged = atomic_load(&p->staged);
    ak_store_stats st = {.breaker = AK_BREAKER_CLOSED};
    if (p->env.bucket)
        ak_store_stats_get(p->env.bucket, &st);
    if (st.breaker != AK_BREAKER_OPEN && ak_outbox_each_system(p->outbox, ship_one, p, &err))
        AK_WARN("push", "listing the outbox: %s", err.msg);
    if (ak_outbox_count(p->outbox, NULL, &left, &err) == AK_OK &&
        atomic_load(&p->staged) == staged)
        atomic_store(&p->env.metrics->push_unshipped, left);
}

/* A run killed while staging a batch leaves temp files in the outbox (a
 * batch it never answered); a put in flight holds its own, so this may run
 * beside pushes. */
static void sweep_temps(ak_push *p)
{
    ak_err err;
    size_t n = 0;
    if (ak_store_temps(p->outbox, "", 1, NULL, NULL, &n, &err) != AK_OK)
        AK_WARN("push", "sweeping the outbox's temp files: %s", err.msg);
    else if (n)
        AK_INFO("push", "removed %zu temp files of interrupted stagings from the outbox", n);
}

/* Before pushes are accepted (a batch being staged has no manifest yet):
 * the payloads a killed run left without their manifest. */
static void sweep_orphans(ak_push *p)
{
    ak_err err;
    size_t n = 0;
    if (ak_outbox_sweep_orphans(p->outbox, &n, &err) != AK_OK)
        AK_WARN("push", "sweeping the outbox's orphan payloads: %s", err.msg);
    else if (n)
        AK_INFO("push", "removed %zu payloads without a manifest from the outbox", n);
}

static void *shipper(void *arg)
{
    ak_push *p = arg;
    sweep_temps(p);
    if (!p->env.bucket) /* then the thread only closes idle databases */
        ship_all(p);
    pthread_mutex_lock(&p->mu);
    while (!p->quit) {
        p->kicked = 0;
        pthread_mutex_unlock(&p->mu);
        if (p->env.bucket)
            ship_all(p);
        ak_pushdb_close_idle(p->kept, p->stripe, STRIPES, AK_PUSHDB_IDLE_US);
        pthread_mutex_lock(&p->mu);
        int64_t until = ak_time_mono_us() + SHIP_INTERVAL_US;
        while (!p->quit && !p->kicked && ak_time_mono_us() < until) {
            struct timespec ts = {(time_t)(until / AK_US_PER_SEC),
                                  (long)(until % AK_US_PER_SEC) * 1000};
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ak_code ak_push_new(const ak_push_env *env, ak_push **out, ak_err *err)
{
    ak_push *p = calloc(1, sizeof *p);
    if (!p)
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    p->env = *env;
    ak_code rc = ak_outbox_open(env->dd, &p->outbox, err);
    if (rc) {
        free(p);
        return rc;
    }
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&p->stripe[i], NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_store(&env->metrics->push_only_copy, env->bucket == NULL);
    sweep_orphans(p);
    int64_t left = 0;
    ak_err e;
    if (ak_outbox_count(p->outbox, NULL, &left, &e) == AK_OK) /* before the first batch */
        atomic_store(&env->metrics->push_unshipped, left);
    if (pthread_create(&p->shipper, NULL, shipper, p)) {
        ak_push_free(p);
        return ak_err_set(err, AK_ERR_NOMEM, "cannot start the push shipper thread");
    }
    p->shipping = 1;
    *out = p;
    return AK_OK;
}

void ak_push_free(ak_push *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->shipping)
        pthread_join(p->shipper, NULL);
    for (int i = 0; i < STRIPES; i++) {
        ak_pushdb_close(&p->kept[i]);
        pthread_mutex_destroy(&p->stripe[i]);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    ak_store_close(p->outbox);
    free(p);
}
