/*
 * views.h - the JSON shapes of stored things, shared by the command line
 * (--json) and the HTTP API so the two can never disagree (SPEC 8 and 9).
 *
 * Each writes one JSON object into the writer's current position.
 */
#ifndef AK_VIEWS_H
#define AK_VIEWS_H

#include "storage/sysdb.h"
#include "util/jsonw.h"

/* An upload ledger row: system_id, upload_id, status, reason,
 * conversations, ingested_at, and the counts behind them. */
void ak_view_ledger_row(ak_jw *w, const char *system_id, const ak_ledger_row *r);
/* A conversation from any tier. */
void ak_view_conversation(ak_jw *w, const char *system_id, const ak_conv *c);
/* A system: shard, per-tier counts, uploads by outcome, last upload. */
void ak_view_system(ak_jw *w, const char *system_id, uint32_t shard, const ak_sysdb_counts *c);

#endif
