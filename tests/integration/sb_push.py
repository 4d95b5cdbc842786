#!/usr/bin/env python3
"""Session-Buddy's HTTP push, as it sends it (tests only).

A stand-in for HttpSyncMethod in lesleslie/session-buddy
session_buddy/storage/akosha_sync.py: the same request shapes, paths,
headers (Content-Type only, no Authorization), JSON-RPC ids (md5 of
"<tool>_<time>"), batch size, and retries (3 tries, 1 s then 2 s apart, on
HTTP status errors only; a connection error fails the batch).  The memories
are made here, deterministically, the way _serialize_conversation and
_serialize_reflection shape DuckDB rows.

  sb_push.py status BASE                      -> prints the HTTP status
  sb_push.py sync BASE --system S --count N [--seed K] [--edit-every E]
             [--bad I,J] [--batch-size B] [--start I]
                                              -> prints a JSON summary
  sb_push.py reflect BASE --system S --id R   -> the store_reflection result
  sb_push.py entity BASE --system S           -> the create_entity answer
  sb_push.py raw BASE TOOL JSON_ARGS          -> the whole JSON-RPC reply

Backoff: SB_BACKOFF scales the 1 s base (the tests shorten it where they
expect refusals).
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

MAX_RETRIES = 3
BASE_BACKOFF_DELAY = 1.0 * float(os.environ.get("SB_BACKOFF", "1"))


class HTTPStatusError(Exception):
    def __init__(self, code, body):
        super().__init__(f"HTTP {code}: {body[:300]!r}")
        self.code = code
        self.body = body


def post(url, payload):
    data = json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise HTTPStatusError(e.code, e.read()) from None


def call_mcp_tool(base, tool, arguments):
    """_call_mcp_tool: the JSON-RPC result itself, or {"status": "failed"}."""
    payload = {
        "jsonrpc": "2.0",
        "id": hashlib.md5(f"{tool}_{time.time()}".encode()).hexdigest(),
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    for attempt in range(MAX_RETRIES):
        try:
            result = post(f"{base}/mcp/v1", payload)
            if "result" in result:
                return result["result"]
            if "error" in result:
                return {"status": "failed", "error": result["error"]}
            return result
        except HTTPStatusError:
            if attempt >= MAX_RETRIES - 1:
                raise
            time.sleep(BASE_BACKOFF_DELAY * (2 ** attempt))
    return {"status": "failed", "error": "Max retries exceeded"}


def embedding(rng):
    return [rng.uniform(-1, 1) for _ in range(384)]


def conversation(i, seed, system, edited):
    """A conversations_v2 row as _fetch_conversations returns it."""
    rng = random.Random(f"{seed}-{i}")
    ts = datetime.datetime(2026, 11, 1, 9, 0, 0) + datetime.timedelta(minutes=i)
    content = f"conversation {i} about topic{i % 7} with marker{seed}x{i}"
    if edited:
        content += " (edited later)"
    return {
        "id": f"conv-{i:05d}", "content": content, "embedding": embedding(rng),
        "category": "context", "subcategory": None, "importance_score": 0.5,
        "memory_tier": "long_term", "access_count": 0, "last_accessed": None,
        "project": "akosha", "namespace": "default", "timestamp": ts,
        "session_id": f"s{i // 10}", "user_id": "default",
        "searchable_content": content, "reasoning": None, "source_type": "chat",
    }


def serialize_conversation(conv, system):
    text = "\n\n".join(filter(None, [conv.get("content", "")] +
                              ([f"Reasoning: {conv['reasoning']}"] if conv.get("reasoning") else [])))
    metadata = {
        "source": system, "original_id": conv["id"], "type": "conversation",
        "category": conv.get("category", "context"), "subcategory": conv.get("subcategory"),
        "importance_score": conv.get("importance_score", 0.5),
        "memory_tier": conv.get("memory_tier", "long_term"),
        "source_type": conv.get("source_type"), "project": conv.get("project"),
        "namespace": conv.get("namespace", "default"), "session_id": conv.get("session_id"),
        "user_id": conv.get("user_id", "default"),
        "created_at": conv["timestamp"].isoformat()
        if isinstance(conv.get("timestamp"), datetime.datetime) else conv.get("timestamp"),
        "ingestion_method": "http_push",
    }
    metadata = {k: v for k, v in metadata.items() if v is not None}
    return {"memory_id": conv["id"], "text": text, "embedding": conv.get("embedding"),
            "metadata": metadata}


def spoil(mem, k):
    """Bad memories for a partial batch: each breaks one record rule."""
    if k % 3 == 0:
        mem["embedding"] = mem["embedding"][:383]
    elif k % 3 == 1:
        mem["text"] = ""
    else:
        mem["metadata"]["created_at"] = "yesterday"
    return mem


def batch_upload(base, memories, batch_size):
    """_batch_upload_memories."""
    total, errors, results = 0, [], []
    for i in range(0, len(memories), batch_size):
        batch = memories[i:i + batch_size]
        for attempt in range(MAX_RETRIES):
            try:
                result = call_mcp_tool(base, "batch_store_memories", {"memories": batch})
                results.append(result)
                if result.get("status") in ("completed", "partial"):
                    total += result.get("stored", 0)
                    errors.extend(result.get("errors") or [])
                    break
                errors.append({"batch": i // batch_size, "error": result.get("error", "Unknown error")})
                break
            except HTTPStatusError as e:
                if attempt < MAX_RETRIES - 1:
                    time.sleep(BASE_BACKOFF_DELAY * (2 ** attempt))
                else:
                    errors.append({"batch": i // batch_size, "error": f"HTTP {e.code}: {e}"})
            except (OSError, json.JSONDecodeError) as e:  # httpx.HTTPError: no retry
                errors.append({"batch": i // batch_size, "error": str(e)})
                break
    return {"count": total, "errors": errors, "results": results}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("base")
    ap.add_argument("rest", nargs="*")
    ap.add_argument("--system", default="Les-MacBook-Pro.local")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--seed", default="s")
    ap.add_argument("--edit-every", type=int, default=0)
    ap.add_argument("--bad", default="")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--id", default="refl-1")
    a = ap.parse_args()
    if a.cmd == "status":  # _check_akosha_reachable
        try:
            with urllib.request.urlopen(f"{a.base}/status", timeout=1.0) as r:
                print(r.status)
        except urllib.error.HTTPError as e:
            print(e.code)
        return
    if a.cmd == "sync":
        bad = {int(x) for x in a.bad.split(",") if x}
        mems = []
        for i in range(a.start, a.start + a.count):
            edited = a.edit_every and i % a.edit_every == 0
            m = serialize_conversation(conversation(i, a.seed, a.system, edited), a.system)
            mems.append(spoil(m, i) if i in bad else m)
        print(json.dumps(batch_upload(a.base, mems, a.batch_size)))
        return
    if a.cmd == "reflect":
        rng = random.Random(a.id)
        args = {"reflection_id": a.id, "content": f"reflection {a.id}: always run the tests",
                "embedding": embedding(rng),
                "metadata": {"source": a.system, "original_id": a.id, "type": "reflection",
                             "category": "context", "importance_score": 0.5,
                             "memory_tier": "long_term", "tags": ["testing"],
                             "related_entities": [], "namespace": "default",
                             "created_at": "2026-11-02T10:00:00", "ingestion_method": "http_push"}}
        print(json.dumps(call_mcp_tool(a.base, "store_reflection", args)))
        return
    if a.cmd == "entity":
        args = {"name": "akosha", "entity_type": "project", "observations": ["C"],
                "properties": {"source_system": a.system, "original_id": "e1",
                               "created_at": "2026-11-02T10:00:00", "ingestion_method": "http_push"},
                "metadata": {}}
        print(json.dumps(call_mcp_tool(a.base, "create_entity", args)))
        return
    if a.cmd == "raw":
        payload = {"jsonrpc": "2.0", "id": "raw-1", "method": "tools/call",
                   "params": {"name": a.rest[0], "arguments": json.loads(a.rest[1])}}
        try:
            print(json.dumps(post(f"{a.base}/mcp/v1", payload)))
        except HTTPStatusError as e:
            print(json.dumps({"http_status": e.code, "body": json.loads(e.body)}))
        return
    sys.exit(f"unknown command {a.cmd}")


if __name__ == "__main__":
    main()
