# Session-Buddy's HTTP push (issue 18), driven by a client that sends
# exactly its requests (sb_push.py: shapes, paths, no auth header, retries):
#  - both base URLs it may be given (…/mcp and a bare host), /status and
#    /mcp/v1 under each, with and without a /t/<token> prefix;
#  - a first sync with bad memories inside a good batch (partial, each named
#    with its reason), a second sync of the same memories (duplicates, no
#    second row), one with edits (updated); searchable at once;
#  - store_reflection stored; create_entity stored (test_graph.sh has more);
#  - garbage bodies, unknown methods and tools, batches over 1,000, bodies
#    over the cap (413 with a JSON-RPC error);
#  - kill -9 at two deterministic stop points of a batch (staged; committed
#    but not answered), then Session-Buddy's next sync: nothing acknowledged
#    is lost, nothing is stored twice;
#  - tokens: path prefix and bearer accepted, anything else 401; the token
#    never appears in the log or the metrics;
#  - every batch reaches the bucket as an upload with a manifest; the
#    ingestion cycle sees them settled; the data directory is lost and
#    `akosha reingest` rebuilds the same store from the bucket;
#  - push-only (no bucket): the batches are kept in the outbox, /status,
#    metrics and verify say the data directory is the only copy, and a
#    bucket configured later receives them.
source "$AKOSHA_SRC/tests/integration/lib.sh"

# Debian's python starts in a fraction of a pyenv shim's time; this test calls it often
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
sb() { $PY "$AKOSHA_SRC/tests/integration/sb_push.py" "$@"; }
SID=Les-MacBook-Pro.local
TOKEN=push-token-0123456789abcdef
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
wait_for() { # what cmd...  (polls an outcome; never a fixed sleep for a race)
  local what=$1; shift
  for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done
  fail "timed out waiting for $what"
}
shipped() { [ "$(metric akosha_push_unshipped_batches)" = 0 ]; }
no_temps() { [ -z "$(find data/outbox -name '.akosha-tmp-*')" ]; }
field() { echo "$1" | $PY -c "import json,sys; d=json.load(sys.stdin); v=($2); print(' '.join(map(str, v)) if isinstance(v, tuple) else v)"; }
rpc() { # PATH BODY [curl args] -> $status, $body
  local out
  out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' "${@:3}" \
        --data-binary "$2" "http://127.0.0.1:$PORT$1")
  status=${out##*$'\n'}
  body=${out%$'\n'*}
}

mkdir bucket
start_serve --data data --bucket bucket --poll-interval 3600
wait_ready
B=http://127.0.0.1:$PORT

# ---- paths -----------------------------------------------------------------
assert_eq "$(sb status "$B/mcp")" 200 "GET /mcp/status (default base)"
assert_eq "$(sb status "$B")" 200 "GET /status (bare host)"
http GET /mcp/status
assert_eq "$(field "$body" 'd["status"], d["bucket"], d["data_dir_only_copy"]')" "ok True False" "status body"
http GET /mcp/mcp/v1;  assert_eq "$status" 405 "GET on the call path"
http POST /mcp/status; assert_eq "$status" 405 "POST on the status path"
http GET /mcp/v2;      assert_eq "$status" 404 "unknown path"

# ---- first sync: a partial batch --------------------------------------------
out=$(sb sync "$B/mcp" --system $SID --count 250 --bad 3,4,5)
assert_eq "$(field "$out" 'd["count"], len(d["errors"])')" "247 3" "stored and refused"
assert_eq "$(field "$out" '[r["status"] for r in d["results"]]')" "['partial', 'completed', 'completed']" "batch statuses"
assert_eq "$(field "$out" '[(e["index"], e["id"], e["error"].split(":")[0]) for e in d["errors"]]')" \
  "[(3, 'conv-00003', 'bad_embedding'), (4, 'conv-00004', 'bad_content'), (5, 'conv-00005', 'bad_timestamp')]" \
  "each refused memory named with its reason"
assert_eq "$(hot_count data $SID)" 247 "rows after the first sync"
r=$(field "$out" 'json.dumps(d["results"][0])')
assert_eq "$(field "$r" 'd["structuredContent"]["stored"], d["content"][0]["type"]')" "97 text" "MCP content beside the fields"
# searchable as soon as the answer said stored
http POST /v1/search '{"text": "markersx249"}'
assert_eq "$(field "$body" '[(h["system_id"], h["conversation_id"]) for h in d["results"]]')" \
  "[('$SID', 'conv-00249')]" "a pushed memory is found at once"

# ---- second sync: the same memories (the bad ones mended) --------------------
out=$(sb sync "$B/mcp" --system $SID --count 250)
assert_eq "$(field "$out" 'sum(r["new"] for r in d["results"]), sum(r["duplicates"] for r in d["results"]), d["count"]')" \
  "3 247 250" "a re-sent memory is a duplicate"
assert_eq "$(hot_count data $SID)" 250 "no second row"

# ---- third sync: every tenth memory edited -----------------------------------
out=$(sb sync "$B/mcp" --system $SID --count 250 --edit-every 10)
assert_eq "$(field "$out" 'sum(r["updated"] for r in d["results"]), sum(r["duplicates"] for r in d["results"])')" \
  "25 225" "edits are updates"
assert_eq "$(hot_count data $SID)" 250 "still one row each"
http GET /v1/conversations/$SID/conv-00010
assert_contains "$(field "$body" 'd["content"]')" "(edited later)" "the edit is what is stored"

# ---- a bare host base, a reflection, the knowledge graph ---------------------
out=$(sb sync "$B" --system $SID --count 10 --start 250)
assert_eq "$(field "$out" 'd["count"], d["errors"]')" "10 []" "bare host base"
assert_eq "$(field "$(sb reflect "$B/mcp" --system $SID --id refl-1)" 'd["status"]')" stored "store_reflection"
out=$(sb entity "$B/mcp" --system $SID)
assert_eq "$(field "$out" 'd["status"], d["id"]')" "stored project:akosha" "create_entity feeds the knowledge graph"
out=$(sb raw "$B/mcp" store_reflection '{"reflection_id": "r2", "content": "", "metadata": {"source": "'$SID'"}}')
assert_eq "$(field "$out" 'd["result"]["status"], d["result"]["error"].split(":")[0]')" "rejected bad_content" "a bad reflection"

# ---- bad requests --------------------------------------------------------------
rpc /mcp/mcp/v1 'not json';                   assert_eq "$status $(field "$body" 'd["error"]["code"]')" "400 -32700" "not JSON"
rpc /mcp/mcp/v1 '[1]';                        assert_eq "$status $(field "$body" 'd["error"]["code"]')" "400 -32600" "not an object"
rpc /mcp/mcp/v1 '{"jsonrpc":"1.0","id":1,"method":"tools/call"}'; assert_eq "$status" 400 "wrong jsonrpc"
rpc /mcp/mcp/v1 '{"jsonrpc":"2.0","id":7,"method":"initialize"}'
assert_eq "$(field "$body" 'd["id"], d["error"]["code"]')" "7 -32601" "only tools/call"
rpc /mcp/mcp/v1 '{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"drop_all","arguments":{}}}'
assert_eq "$(field "$body" 'd["id"], d["error"]["code"]')" "x -32602" "unknown tool"
rpc /mcp/mcp/v1 '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"batch_store_memories","arguments":{"memories":{}}}}'
assert_eq "$(field "$body" 'd["error"]["code"]')" -32602 "memories not an array"
big=$($PY -c 'import json; print(json.dumps({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"batch_store_memories","arguments":{"memories":[{"memory_id":str(i),"text":"t","metadata":{"source":"x"}} for i in range(1001)]}}}))')
rpc /mcp/mcp/v1 "$big"
assert_contains "$(field "$body" 'd["error"]["message"]')" "at most 1000" "over 1,000 memories"
rpc /mcp/mcp/v1 '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"batch_store_memories","arguments":{"memories":[1, {"memory_id":"q","text":"no source"}, {"memory_id":"q2","text":"t","metadata":{"source":"../etc"}}]}}}'
assert_eq "$(field "$body" '[e["error"].split(":")[0] for e in d["result"]["errors"]], d["result"]["stored"]')" \
  "['not_object', 'bad_source', 'bad_source'] 0" "memories without a valid system"
rpc /mcp/mcp/v1 '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"batch_store_memories","arguments":{"memories":[{"memory_id":"d","text":"one","metadata":{"source":"'$SID'"}},{"memory_id":"d","text":"two","metadata":{"source":"'$SID'"}}]}}}'
assert_eq "$(field "$body" 'd["result"]["status"], d["result"]["stored"], d["result"]["rejected"]')" "partial 1 1" "one id twice with different content"

# ---- the ledger, the metrics, the bucket ---------------------------------------
ledger=$(akosha uploads --data data --system $SID --json)
batches=$(field "$ledger" 'sum("_push_" in r["upload_id"] for r in d)')
assert_eq "$batches" "$(field "$ledger" 'len(d)')" "every ledger row is a push batch"
assert_eq "$(field "$ledger" 'set(r["status"] for r in d)')" "{'ingested'}" "all ingested"
assert_eq "$(metric 'akosha_push_memories_total{outcome="updated"}')" 25 "metric: updated"
assert_eq "$(metric 'akosha_push_memories_total{outcome="rejected"}')" 8 "metric: refused"
[ "$(metric akosha_push_seconds_count)" -ge "$batches" ] || fail "push latency not observed"
wait_for "every batch shipped" shipped
assert_eq "$(find bucket -name manifest.json | wc -l)" "$batches" "one upload per batch in the bucket"
assert_eq "$(find bucket -path "*_push_*" \( -name memories.jsonl -o -name graph.jsonl \) | wc -l)" "$batches" "with its payload"
run=$(akosha ingest --once --bucket bucket --data data --json)
assert_eq "$(field "$run" 'd["uploads_known"], d["uploads_ingested"]')" "$batches 0" "the cycle finds them settled"

# ---- kill -9 mid-batch, then Session-Buddy's next sync -------------------------
stop_serve
rows=$(hot_count data $SID)
start=1000
for point in staged committed; do
  AKOSHA_TEST_STOP=push.$point start_serve --data data --bucket bucket --poll-interval 3600
  out=$(sb sync "http://127.0.0.1:$PORT/mcp" --system $SID --count 100 --start $start)
  assert_eq "$(field "$out" 'd["count"], len(d["errors"])')" "0 1" "$point: the batch got no answer"
  wait $SERVE_PID 2>/dev/null || true
  kill -0 $SERVE_PID 2>/dev/null && fail "$point: serve still runs"
  start_serve --data data --bucket bucket --poll-interval 3600
  wait_for "the outbox after the $point kill" shipped
  out=$(sb sync "http://127.0.0.1:$PORT/mcp" --system $SID --count 100 --start $start)
  assert_eq "$(field "$out" 'd["count"], d["results"][0]["duplicates"]')" "100 100" \
    "$point: the retry finds every memory stored once"
  rows=$((rows + 100)) start=$((start + 100))
  assert_eq "$(hot_count data $SID)" "$rows" "$point: rows"
  stop_serve
done

# ---- kill -9 while the outbox puts a batch's payload and manifest ------------------
# Both files written and synced, neither renamed; then the payload renamed, not
# its manifest: no upload was staged, so the retry stores the batch, once, and
# the payload left without its manifest is removed when serve starts again.
orphans() { # payloads in the outbox without a manifest beside them
  local n=0 f
  for f in $(find data/outbox \( -name memories.jsonl -o -name graph.jsonl \)); do
    [ -e "$(dirname "$f")/manifest.json" ] || n=$((n + 1))
  done
  echo $n
}
for point in store.pair_written store.pair_renamed; do
  AKOSHA_TEST_STOP=$point start_serve --data data --bucket bucket --poll-interval 3600
  out=$(sb sync "http://127.0.0.1:$PORT/mcp" --system $SID --count 100 --start $start)
  assert_eq "$(field "$out" 'd["count"], len(d["errors"])')" "0 1" "$point: the batch got no answer"
  wait $SERVE_PID 2>/dev/null || true
  kill -0 $SERVE_PID 2>/dev/null && fail "$point: serve still runs"
  temps=$(find data/outbox -name '.akosha-tmp-*' | wc -l)
  [ "$temps" -ge 1 ] || fail "$point: the kill left no temp file ($temps)"
  want=0; [ $point = store.pair_renamed ] && want=1
  assert_eq "$(orphans)" "$want" "$point: payloads left without their manifest"
  start_serve --data data --bucket bucket --poll-interval 3600
  assert_eq "$(orphans)" "0" "$point: the orphan payload removed before pushes are served"
  wait_for "the $point temp files swept" no_temps
  out=$(sb sync "http://127.0.0.1:$PORT/mcp" --system $SID --count 100 --start $start)
  assert_eq "$(field "$out" 'd["count"], d["results"][0]["duplicates"]')" "100 0" \
    "$point: the retry stores every memory once"
  rows=$((rows + 100)) start=$((start + 100))
  assert_eq "$(hot_count data $SID)" "$rows" "$point: rows"
  wait_for "the outbox after the $point kill" shipped
  stop_serve
done
assert_eq "$(find bucket -path "*_push_*" \( -name memories.jsonl -o -name graph.jsonl \) | wc -l)" \
  "$(find bucket -path "*_push_*" -name manifest.json | wc -l)" "no payload shipped without its manifest"

# ---- tokens ---------------------------------------------------------------------
AKOSHA_LOG_LEVEL=debug start_serve --data data --bucket bucket --tokens "$TOKEN" --poll-interval 3600 \
  --push-max-body-mb 1
B=http://127.0.0.1:$PORT
for base in "$B/t/$TOKEN/mcp" "$B/t/$TOKEN"; do
  assert_eq "$(sb status "$base")" 200 "status at $base"
  out=$(sb sync "$base" --system $SID --count 5 --start 2000)
  assert_eq "$(field "$out" 'd["count"], d["errors"]')" "5 []" "sync at $base"
done
for base in "$B/mcp" "$B" "$B/t/wrong-token-0123456789abcdef/mcp"; do
  assert_eq "$(sb status "$base")" 401 "status without a valid token at $base"
  out=$(SB_BACKOFF=0.01 sb sync "$base" --system $SID --count 5 --start 2000)
  assert_contains "$(field "$out" 'd["errors"][0]["error"]')" "HTTP 401" "sync refused at $base"
done
rpc /mcp/mcp/v1 '{"jsonrpc":"2.0","id":1,"method":"tools/call"}'
assert_eq "$status $(field "$body" 'd["jsonrpc"], d["error"]["data"]["http_status"]')" "401 2.0 401" "401 as a JSON-RPC error"
rpc /mcp/mcp/v1 "$($PY -c 'import json,sys; print(json.dumps({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"store_memory","arguments":{"memory_id":"b1","text":"bearer","metadata":{"source":sys.argv[1]}}}}))' $SID)" \
  -H "Authorization: Bearer $TOKEN"
assert_eq "$status $(field "$body" 'd["result"]["status"]')" "200 stored" "store_memory with a bearer header"
http GET /t/$TOKEN/v1/systems
assert_eq "$status" 404 "the path token is for the push routes only"
# the body cap: 200 memories with embeddings are more than 1 MiB
out=$(SB_BACKOFF=0.01 sb sync "$B/t/$TOKEN/mcp" --system $SID --count 200 --start 3000 --batch-size 200)
assert_contains "$(field "$out" 'd["errors"][0]["error"]')" "HTTP 413" "over the body cap"
$PY -c 'print("{\"jsonrpc\":\"2.0\",\"id\":1,\"pad\":\"" + "x" * 1100000 + "\"}")' >big.json
rpc /t/$TOKEN/mcp/mcp/v1 @big.json
assert_eq "$status $(field "$body" 'd["error"]["code"]')" "413 -32600" "413 with a JSON-RPC error"
wait_for "shipped with tokens" shipped
stop_serve
[ "$(grep -c -- "$TOKEN" serve.log)" = 0 ] || fail "the token appears in the log"
assert_contains "$(cat serve.log)" "/t/<redacted>/mcp/mcp/v1" "the access log redacts it"

# ---- the bucket is the truth: lose the data directory, reingest -----------------
want=$(store_digest data)
mv data lost
akosha ingest --once --bucket bucket --data data --json >/dev/null
assert_eq "$(store_digest data)" "$want" "a lost data directory rebuilt from the bucket: the same store"
rm "data/$(akosha shard $SID | cut -d' ' -f2)"
akosha reingest --data data --bucket bucket --system $SID --json >/dev/null
assert_eq "$(store_digest data)" "$want" "a lost database reingested from the bucket: the same store"

# ---- push-only: the data directory is the only copy -----------------------------
start_serve --data solo --poll-interval 3600
http GET /status
assert_eq "$(field "$body" 'd["bucket"], d["data_dir_only_copy"]')" "False True" "status without a bucket"
out=$(sb sync "http://127.0.0.1:$PORT/mcp" --system $SID --count 20)
assert_eq "$(field "$out" 'd["count"]')" 20 "push without a bucket"
assert_eq "$(metric akosha_push_data_dir_only_copy) $(metric akosha_push_unshipped_batches)" "1 1" "metrics say so"
stop_serve
assert_contains "$(akosha stats --data solo)" "the data directory is their only copy" "stats say so"
assert_eq "$(akosha stats --data solo --json | jq_py 'd["push_unshipped"]')" 1 "stats --json"
v=$(akosha verify --data solo --no-cold --json)
assert_eq "$(field "$v" 'd["ok"], d["push_unshipped"], [n["check"] for n in d["notices"]]')" \
  "True 1 ['push-unshipped']" "verify shows the batch not yet shipped"
mkdir later
start_serve --data solo --bucket later --poll-interval 3600
wait_for "the kept batch shipped to a bucket configured later" shipped
assert_eq "$(find later -name manifest.json | wc -l)" 1 "it arrived"
stop_serve

# ---- forgetting a pushed system: its unshipped batches go too, and a re-sync
# of memories dated before the tombstone stores nothing -----------------------
start_serve --data solo --poll-interval 3600
out=$(sb sync "http://127.0.0.1:$PORT/mcp" --system Old-Laptop.local --count 5)
assert_eq "$(field "$out" 'd["count"]')" 5 "a push-only system"
stop_serve
assert_eq "$(find solo/outbox -path '*Old-Laptop.local*' -name manifest.json | wc -l)" 1 "its batch waits in the outbox"
expect_stdout 0 akosha forget Old-Laptop.local --data solo --json
assert_eq "$(field "$out" 'd["outbox_objects"]')" 2 "forget removes its unshipped batch (payload and manifest)"
assert_eq "$(find solo/outbox -path '*Old-Laptop.local*' -type f | wc -l)" 0 "nothing of it in the outbox"
start_serve --data solo --poll-interval 3600
out=$(sb sync "http://127.0.0.1:$PORT/mcp" --system Old-Laptop.local --count 5)
assert_eq "$(field "$out" 'd["count"], d["results"][0]["status"], d["results"][0]["forgotten"], d["errors"]')" \
  "0 completed 5 []" "a re-sync of memories older than the tombstone stores nothing and is no error"
[ "$(hot_count solo Old-Laptop.local)" = 0 ] || fail "a forgotten system came back through a push"
stop_serve
akosha forget Old-Laptop.local --data solo --allow-return >/dev/null
start_serve --data solo --poll-interval 3600
out=$(sb sync "http://127.0.0.1:$PORT/mcp" --system Old-Laptop.local --count 5)
assert_eq "$(field "$out" 'd["count"]')" 5 "after --allow-return its pushes are stored again"
stop_serve
