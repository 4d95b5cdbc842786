/*
 * orchestrator.h - the link to Mahavishnu, the external workflow scheduler
 * (SPEC section 9).
 *
 *   standalone  no AKOSHA_MAHAVISHNU_URL: Akosha runs every cycle itself.
 *   normal      each cycle is offered to Mahavishnu as a JSON-RPC 2.0 call
 *               tools/call workflow-trigger {"workflow": "akosha-daily-ingest"};
 *               Mahavishnu then calls POST /v1/ingest.
 *   fallback    the call failed, or no cycle has run for two intervals:
 *               Akosha runs cycles itself and keeps offering; the first
 *               answered offer returns the link to normal.
 *
 * Ingestion never stops because Mahavishnu is down.  ak_orch_tick() is
 * called once per interval by the daemon's scheduler and says whether
 * Akosha should run the cycle itself.
 *
 * Ownership: ak_orch_new() / ak_orch_free().  Thread-safe.
 */
#ifndef AK_ORCHESTRATOR_H
#define AK_ORCHESTRATOR_H

#include <stdint.h>

#include "util/jsonw.h"
#include "util/err.h"

typedef enum { AK_ORCH_STANDALONE, AK_ORCH_NORMAL, AK_ORCH_FALLBACK } ak_orch_mode;

typedef struct ak_orch ak_orch;

/* url NULL or "" = standalone.  timeout_ms bounds each call. */
ak_code ak_orch_new(const char *url, int64_t interval_us, long timeout_ms, ak_orch **out,
                    ak_err *err);
void ak_orch_free(ak_orch *o);

/* One scheduler tick: offer the cycle (unless standalone) and update the
 * mode.  Returns 1 when Akosha should run the cycle itself. */
int ak_orch_tick(ak_orch *o);
/* A cycle ran (whoever asked for it). */
void ak_orch_cycle_ran(ak_orch *o);

ak_orch_mode ak_orch_mode_get(ak_orch *o);
/* Offers made so far, and how many of them failed. */
void ak_orch_counts(ak_orch *o, long long *calls, long long *failures);
const char *ak_orch_mode_name(ak_orch_mode m);
/* The /health report's orchestrator fields (status, fallback_mode,
 * last_mahavishnu_contact, timestamp) as members of the object w is in. */
void ak_orch_report(ak_orch *o, ak_jw *w);

#endif
