/*
 * embedder.h - the daemon's background embedding: after the index loads,
 * after every ingestion cycle that ingested something and every poll
 * interval (memories pushed over HTTP), a backfill pass (embed/backfill.h) on a
 * thread of its own gives vectors to the memories that arrived without
 * one, and reloads each changed system's index.  Ingestion never waits for
 * it: a slow or dead provider delays only the vectors.  Kicks while a pass
 * runs merge into one more pass.
 *
 * Ownership: ak_embedder_start() / ak_embedder_stop() (joins the thread;
 * a provider call in flight finishes first, bounded by its timeout).  The
 * data directory, provider and index are borrowed.  NULL (no provider) is
 * accepted everywhere.
 */
#ifndef AK_EMBEDDER_H
#define AK_EMBEDDER_H

#include "embed/embed.h"
#include "query/index.h"
#include "storage/datadir.h"
#include "util/buf.h"

typedef struct ak_embedder ak_embedder;

/* With embed NULL, *out is NULL and nothing runs. */
ak_code ak_embedder_start(const ak_datadir *dd, ak_embed *embed, ak_index *idx,
                          ak_embedder **out, ak_err *err);
void ak_embedder_kick(ak_embedder *b);
void ak_embedder_stop(ak_embedder *b);
/* Prometheus lines: the provider's counters and the backfill's. */
void ak_embedder_metrics(ak_embedder *b, ak_buf *out);

#endif
