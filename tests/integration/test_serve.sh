# `akosha serve`: the auth matrix, bad requests, every endpoint, HTTP search
# equal to CLI search, Prometheus metrics accepted by promtool, refusal to
# listen beyond loopback without tokens, the rate limit, and a clean exit.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 4 --uploads 2 --conversations 40 >/dev/null
TOKEN=test-token-0123456789abcdef
OTHER=second-token-0123456789abcdef

# beyond loopback without tokens: refused, with the reason
expect_exit 1 akosha serve --data d0 --listen 0.0.0.0:$(free_port)
assert_contains "$out" "refusing to listen on 0.0.0.0" "non-loopback without tokens"
expect_exit 1 env AKOSHA_API_TOKENS=short "$AKOSHA_BIN" serve --data d0 --listen 127.0.0.1:$(free_port)
assert_contains "$out" "shorter than 16" "weak token refused"

start_serve --data data --bucket bucket --tokens "$TOKEN,$OTHER" --poll-interval 3600 --max-body-kb 64
wait_ready

# auth matrix: open routes need nothing; the rest need a valid token
for p in /health /ready /metrics; do
  http GET $p; assert_eq "$status" 200 "GET $p without a token"
done
http GET /v1/systems;                   assert_eq "$status" 401 "no token"
assert_contains "$body" "missing Authorization" "401 message"
http GET /v1/systems "" wrong-token-0123456789abcdef; assert_eq "$status" 401 "wrong token"
assert_contains "$body" "invalid bearer token" "401 message for a wrong token"
http GET /v1/systems "" "$TOKEN";       assert_eq "$status" 200 "first token"
http GET /v1/systems "" "$OTHER";       assert_eq "$status" 200 "second token"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Basic $TOKEN" "http://127.0.0.1:$PORT/v1/systems")
assert_eq "$code" 401 "not a bearer token"

# ingest over HTTP: 202, then the data is there
http POST /v1/ingest "" "$TOKEN";       assert_eq "$status" 202 "POST /v1/ingest"
for _ in $(seq 1 50); do
  http GET /v1/systems "" "$TOKEN"
  [ "$(echo "$body" | jq_py 'len(d["systems"])')" = 4 ] && break
  sleep 0.1
done
assert_eq "$(echo "$body" | jq_py 'len(d["systems"]), sorted(d["systems"][0])')" \
  "4 ['cold', 'hot', 'last_activity', 'last_upload', 'shard', 'system_id', 'uploads', 'warm']" "systems"
for _ in $(seq 1 50); do   # the index follows ingestion
  http POST /v1/search '{"text":"rebase","limit":5}' "$TOKEN"
  [ "$(echo "$body" | jq_py 'len(d["results"])')" -gt 0 ] && break
  sleep 0.1
done

# HTTP search equals CLI search (the same index, the same code)
q='{"text":"postgres vacuum","limit":7,"system_id":"sys0001"}'
http POST /v1/search "$q" "$TOKEN"; assert_eq "$status" 200 "search"
cli=$(akosha search --data data --text "postgres vacuum" --limit 7 --system sys0001 --json)
strip='[(r["system_id"], r["conversation_id"], round(r["score"], 6), r["content"][:40]) for r in d["results"]]'
assert_eq "$(echo "$body" | jq_py "$strip")" "$(echo "$cli" | jq_py "$strip")" "HTTP search = CLI search"
id=$(echo "$body" | jq_py 'd["results"][0]["conversation_id"]')
http POST /v1/search "{\"vector\":$(python3 -c 'print([0.1]*384)'),\"tiers\":[\"hot\"],\"limit\":3}" "$TOKEN"
assert_eq "$status" 200 "vector search"

# bad requests: 400 naming the problem, 413, 405, 404
http POST /v1/search '{"text": ' "$TOKEN";               assert_eq "$status" 400 "bad JSON"
assert_contains "$body" "body: invalid JSON" "bad JSON message"
http POST /v1/search '[1,2]' "$TOKEN";                   assert_eq "$status" 400 "not an object"
http POST /v1/search '{"txet":"x"}' "$TOKEN";            assert_eq "$status" 400 "unknown field"
assert_contains "$body" 'unknown field \"txet\"' "unknown field named"
http POST /v1/search '{"text":"x","limit":0}' "$TOKEN";  assert_contains "$body" "limit: must be 1 to 1000" "limit"
http POST /v1/search '{"vector":[1,2,3]}' "$TOKEN";      assert_contains "$body" "vector: has 3 numbers" "short vector"
http POST /v1/search "{\"vector\":$(python3 -c 'print([0]*384)')}" "$TOKEN"
assert_contains "$body" "vector: all zeros" "zero vector"
http POST /v1/search '{"text":""}' "$TOKEN";             assert_contains "$body" "text: empty" "empty text"
http POST /v1/search '{"text":"x","since":"yesterday"}' "$TOKEN"; assert_contains "$body" "since: not an ISO-8601" "since"
big=$(python3 -c 'print("{\"text\":\"" + "x" * 70000 + "\"}")')
http POST /v1/search "$big" "$TOKEN";                    assert_eq "$status" 413 "oversized body"
http GET /v1/search "" "$TOKEN";                         assert_eq "$status" 405 "GET search"
http DELETE /v1/systems "" "$TOKEN";                     assert_eq "$status" 405 "DELETE systems"
http GET /v1/nothing "" "$TOKEN";                        assert_eq "$status" 404 "unknown path"

# uploads and conversations, with ids validated
http GET /v1/systems/sys0001/uploads "" "$TOKEN"
assert_eq "$(echo "$body" | jq_py 'd["system_id"], len(d["uploads"]), d["uploads"][0]["status"]')" \
  "sys0001 2 ingested" "uploads"
http GET /v1/systems/no-such/uploads "" "$TOKEN";        assert_eq "$status" 404 "unknown system"
http GET "/v1/systems/..%2Fx/uploads" "" "$TOKEN";       assert_eq "$status" 400 "bad system id"
http GET /v1/conversations/sys0001/$id "" "$TOKEN"
assert_eq "$(echo "$body" | jq_py 'd["conversation_id"], d["tier"]')" "$id hot" "conversation"
http GET /v1/conversations/sys0001/nope "" "$TOKEN";     assert_eq "$status" 404 "unknown conversation"

# health: orchestrator report and stores
http GET /health
assert_eq "$(echo "$body" | jq_py 'd["status"], d["fallback_mode"], d["bucket"]["circuit"]')" \
  "standalone False closed" "health"

# metrics: the series SPEC 9 lists, accepted by promtool
http GET /metrics
echo "$body" > metrics.txt
for s in akosha_uploads_total akosha_conversations_ingested_total akosha_duplicates_skipped_total \
         akosha_ingest_backlog akosha_ingest_upload_seconds_bucket akosha_search_seconds_bucket \
         akosha_search_shard_failures_total 'akosha_conversations{tier="hot"}' \
         akosha_aging_migrations_total akosha_objstore_requests_total akosha_objstore_circuit_state \
         akosha_orchestrator_fallback; do
  grep -q "^$s" metrics.txt || fail "metric $s missing"
done
assert_eq "$(grep '^akosha_uploads_total{outcome="ingested"}' metrics.txt | cut -d' ' -f2)" 8 "uploads metric"
# 4 systems x 2 uploads in one cycle: each system is re-indexed once, after
# its last upload, not after each
assert_eq "$(grep '^akosha_index_system_loads_total ' metrics.txt | cut -d' ' -f2)" 4 "index loads per cycle"
promtool check metrics < metrics.txt || fail "promtool rejects the metrics"

stop_serve
assert_eq "$serve_rc" 0 "exit status after SIGTERM"
grep -q '"msg":"stopped"' serve.log || fail "no clean stop in the log"
! grep -q 'libmicrohttpd: Warning' serve.log || fail "the library warned: $(grep libmicrohttpd serve.log)"

# the rate limit: a burst of 3, then 429 (a refill every 1000 s, so a slow
# machine cannot earn a fourth request between them)
start_serve --data data --tokens "$TOKEN" --rate-limit 0.001 --rate-burst 3
wait_ready
codes=""
for i in 1 2 3 4 5; do http GET /v1/systems "" "$TOKEN"; codes="$codes $status"; done
assert_eq "$codes" " 200 200 200 429 429" "rate limit"
stop_serve

# a pool of HTTP threads (--http-threads N) answers as a thread per
# connection (the default) does, and the library has nothing to warn of
start_serve --data data --http-threads 2
wait_ready
for p in /health /v1/systems; do
  http GET $p; assert_eq "$status" 200 "$p with a pool of 2 threads"
done
stop_serve
assert_eq "$serve_rc" 0 "exit status with a pool"
! grep -q 'libmicrohttpd: Warning' serve.log || fail "the library warned: $(grep libmicrohttpd serve.log)"
