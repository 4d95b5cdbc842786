/*
 * graph.h - the cross-system knowledge graph (issue 16): entities and
 * relations from Session-Buddy's knowledge_graph.duckdb uploads and its
 * create_entity / create_relation pushes, in one SQLite database,
 * <data>/graph.db.
 *
 * One file, not one per shard: a node is shared by every system that
 * names it, and a path crosses systems, so the graph cannot be split the
 * way memories are.  Writes are rare (a snapshot, a push) and short.
 *
 * The model:
 *   node       one per (entity_type, name), whichever systems sent it; its
 *              public id is "<type>:<name>" (the Python Akosha's form).
 *   entity     one per (system, original id): the provenance of a node --
 *              its observations, properties and timestamps as that system
 *              sent them.  A node's observations are the union of its
 *              entities'.
 *   relation   one per (system, original id): from/to are that system's
 *              original entity ids, resolved to nodes when read, so a
 *              relation sent before its entities is kept and counts once
 *              they arrive ("dangling" until then).
 * Exactly once: the same (system, original id) sent again is a duplicate
 * (same content), an update (changed; an older updated_at than the one
 * stored is stale and ignored), never a second row.  A node no entity
 * names any more is removed with its last entity.
 *
 * Transactions: ak_graph_begin() .. ak_graph_commit() hold SQLite's write
 * lock (WAL, synchronous=NORMAL like the system databases): a killed
 * process loses no commit.  Graph writes are idempotent, so the upload
 * path commits them before the upload's ledger row: a crash between the
 * two applies the upload again and finds duplicates.
 *
 * Counters: every write keeps the statistics (totals, per type, per
 * system, degrees) current in its own transaction, through triggers
 * (graph.c); opening an older graph.db computes them once.
 *
 * Ownership: ak_graph_open() / ak_graph_close().  A handle is one
 * connection: use it from one thread at a time (queries open their own
 * read-only handle per call: graph_query.h).
 */
#ifndef AK_GRAPH_H
#define AK_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "storage/datadir.h"
#include "util/err.h"

#define AK_GRAPH_FILE "graph.db"
#define AK_GRAPH_SCHEMA 1          /* PRAGMA user_version: 1 = the counters */
#define AK_GRAPH_NAME_MAX 1024      /* bytes of a name or an entity type */
#define AK_GRAPH_ID_MAX 512         /* bytes of an original id */
#define AK_GRAPH_TEXT_MAX (1u << 20) /* observations or properties JSON */

typedef struct ak_graph ak_graph;

/* <data>/graph.db into out. */
ak_code ak_graph_path(const ak_datadir *dd, char *out, size_t n, ak_err *err);

/* Open (creating it and its tables unless readonly) the graph at path,
 * migrating an older file to AK_GRAPH_SCHEMA (readonly too: through a
 * writing handle, once).  readonly on a missing file is AK_ERR_NOTFOUND. */
ak_code ak_graph_open(const char *path, int readonly, ak_graph **out, ak_err *err);
void ak_graph_close(ak_graph *g);

ak_code ak_graph_begin(ak_graph *g, ak_err *err);
ak_code ak_graph_commit(ak_graph *g, ak_err *err);
void ak_graph_rollback(ak_graph *g);

/* Strings are NUL-terminated UTF-8; JSON members are raw JSON text (an
 * array of strings for observations, an object for properties) or NULL. */
typedef struct {
    const char *system, *id, *name, *type;
    const char *observations; /* JSON array of strings, or NULL: [] */
    const char *properties;   /* JSON object, or NULL */
    int64_t created_us, updated_us; /* 0: not given */
} ak_graph_entity;

typedef struct {
    const char *system, *id, *from, *to, *type;
    const char *properties;
    int64_t created_us, updated_us;
} ak_graph_relation;

typedef enum { AK_GPUT_NEW, AK_GPUT_UPDATED, AK_GPUT_DUPLICATE, AK_GPUT_STALE } ak_gput;

typedef struct {
    int64_t entities[4], relations[4]; /* by ak_gput */
    int64_t rejected;
    char example[160];                 /* the first rejected item's problem */
} ak_graph_tally;

/* Inside a transaction.  The item's fields are checked by the caller
 * (graph_item.h); these only store. */
ak_code ak_graph_put_entity(ak_graph *g, const ak_graph_entity *e, ak_gput *res, ak_err *err);
ak_code ak_graph_put_relation(ak_graph *g, const ak_graph_relation *r, ak_gput *res,
                              ak_err *err);

/* Count a put into t. */
void ak_graph_tally_add(ak_graph_tally *t, int relation, ak_gput res);
/* "knowledge graph: 3 entities (2 new, 1 duplicate), 1 relation (1 new)". */
void ak_graph_tally_note(const ak_graph_tally *t, char *out, size_t n);

/* Remove what system contributed: its entities and relations, and the
 * nodes no other system names.  One transaction; running it again after a
 * crash finds less or nothing.  With dry_run only counts.  Counts may be
 * NULL. */
ak_code ak_graph_forget_system(ak_graph *g, const char *system, int dry_run, int64_t *entities,
                               int64_t *relations, int64_t *nodes, ak_err *err);

/* The underlying connection, for graph_query.c. */
struct sqlite3 *ak_graph_db(ak_graph *g);

#endif
