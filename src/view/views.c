/* views.c - see views.h. */
#include "view/views.h"

#include <string.h>

static void time_or_null(ak_jw *w, const char *key, int64_t us)
{
    ak_jw_key(w, key);
    if (us)
        ak_jw_time(w, us);
    else
        ak_jw_null(w);
}

static void raw_or_null(ak_jw *w, const char *key, const char *json)
{
    ak_jw_key(w, key);
    if (json)
        ak_jw_raw(w, json, strlen(json));
    else
        ak_jw_null(w);
}

void ak_view_ledger_row(ak_jw *w, const char *system_id, const ak_ledger_row *r)
{
    ak_jw_obj(w);
    ak_jw_kstr(w, "system_id", system_id);
    ak_jw_kstr(w, "upload_id", r->upload_id);
    ak_jw_kstr(w, "status", ak_upload_status_name(r->status));
    ak_jw_kstr(w, "reason", r->reason);
    ak_jw_kint(w, "conversations", r->new_count + r->updated);
    time_or_null(w, "ingested_at", r->status == AK_UPLOAD_INGESTED ? r->finished_us : 0);
    time_or_null(w, "uploaded_at", r->uploaded_at_us);
    ak_jw_kint(w, "new", r->new_count);
    ak_jw_kint(w, "updated", r->updated);
    ak_jw_kint(w, "duplicates", r->duplicates);
    ak_jw_kint(w, "stale", r->stale);
    ak_jw_kint(w, "records_rejected", r->records_rejected);
    raw_or_null(w, "record_errors", r->record_errors);
    ak_jw_kint(w, "attempts", r->attempts);
    ak_jw_kint(w, "payload_bytes", r->payload_bytes);
    ak_jw_end(w);
}

void ak_view_conversation(ak_jw *w, const char *system_id, const ak_conv *c)
{
    ak_jw_obj(w);
    ak_jw_kstr(w, "system_id", system_id);
    ak_jw_kstr(w, "conversation_id", c->conversation_id);
    ak_jw_kstr(w, "tier", ak_tier_name(c->tier));
    ak_jw_key(w, "timestamp");
    ak_jw_time(w, c->ts_us);
    if (c->content)
        ak_jw_kstr(w, "content", c->content);
    if (c->summary)
        ak_jw_kstr(w, "summary", c->summary);
    raw_or_null(w, "metadata", c->metadata);
    ak_jw_kstr(w, "source", c->source);
    ak_jw_kstr(w, "content_sha256", c->content_sha256);
    ak_jw_kstr(w, "upload_id", c->upload_id);
    if (c->object_key)
        ak_jw_kstr(w, "object_key", c->object_key);
    ak_jw_end(w);
}

void ak_view_system(ak_jw *w, const char *system_id, uint32_t shard, const ak_sysdb_counts *c)
{
    ak_jw_obj(w);
    ak_jw_kstr(w, "system_id", system_id);
    ak_jw_kint(w, "shard", shard);
    ak_jw_kint(w, "hot", c->hot);
    ak_jw_kint(w, "warm", c->warm);
    ak_jw_kint(w, "cold", c->cold);
    ak_jw_key(w, "uploads");
    ak_jw_obj(w);
    ak_jw_kint(w, "ingested", c->ingested);
    ak_jw_kint(w, "rejected", c->rejected);
    ak_jw_kint(w, "failed", c->failed);
    ak_jw_end(w);
    time_or_null(w, "last_upload", c->last_upload_us);
    time_or_null(w, "last_activity", c->last_activity_us);
    ak_jw_end(w);
}
