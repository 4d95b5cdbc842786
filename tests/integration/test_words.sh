# Words as queries (issue 13): a query is embedded by a real HTTP provider
# (tests/integration/embed/provider.py, both protocols) and searched hybrid;
# every way the provider fails gives a keyword search that says why;
# memories stored without a vector are embedded on demand and by serve in
# the background; keyword search matches the words a query word begins.
source "$AKOSHA_SRC/tests/integration/lib.sh"

# the provider, on a free port it reports
python3 "$AKOSHA_SRC/tests/integration/embed/provider.py" --port-file provider.port > provider.log 2>&1 &
PROVIDER_PID=$!
trap 'kill -9 $PROVIDER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -f provider.port ] && break; sleep 0.1; done
PP=$(cat provider.port)
OPENAI="http://127.0.0.1:$PP/v1"
OLLAMA="http://127.0.0.1:$PP"
mode() { curl -s -X POST --data "{\"mode\":\"$1\"}" "$OLLAMA/control" >/dev/null; }
provider_stat() { curl -s "$OLLAMA/stats" | jq_py "$1"; }

cat > recs.json <<'JSON'
[{"id":"vac","content":"Autovacuum on PostgreSQL was sluggish; repaired by raising maintenance_work_mem","timestamp":"2026-11-01T10:00:00Z"},
 {"id":"git","content":"Rebasing the feature branch onto main after the release","timestamp":"2026-11-01T10:00:00Z"},
 {"id":"tls","content":"Configured nginx TLS certificates for the staging host","timestamp":"2026-11-01T10:00:00Z"},
 {"id":"pg","content":"the postgres connection pool is fine","timestamp":"2026-11-01T10:00:00Z"},
 {"id":"mig","content":"the migration of the schema ran overnight","timestamp":"2026-11-01T10:00:00Z","embedding":null}]
JSON
mkupload bucket sysA u1 --records @recs.json
akosha ingest --once --bucket bucket --data data --json >/dev/null
Q="how did we fix slow database cleanup"

# stats count the memories without a vector
assert_eq "$(akosha stats --data data --json | jq_py 'd["without_vector"]["hot"], d["without_vector"]["warm"]')" \
  "5 0" "stats: rows without a vector"
akosha stats --data data | grep "without a vector 5 hot" >/dev/null || fail "stats table"

# no provider configured: keywords, and the answer says why
expect_stdout 0 akosha search --data data --query "$Q" --json
assert_eq "$(echo "$out" | jq_py 'd["mode"], len(d["results"])')" "text 0" "no provider: text mode"
assert_contains "$(echo "$out" | jq_py 'd["embedding_error"]')" "no embedding provider configured" "no provider: reason"

# embed --missing needs a provider, and backfills with one
expect_exit 2 akosha embed --data data --missing
assert_contains "$out" "no embedding provider" "embed without a provider"
expect_exit 2 akosha embed --data data --embed-url "$OPENAI"
assert_contains "$out" "--missing" "embed without --missing"
expect_exit 2 akosha embed --data data --missing --embed-url "$OPENAI" --embed-provider bogus
assert_contains "$out" "not openai or ollama" "bad provider name"
expect_exit 2 akosha embed --data data --missing --embed-url "ftp://x"
assert_contains "$out" "http://" "bad provider URL"
expect_stdout 0 akosha embed --data data --missing --embed-url "$OPENAI" --batch 2 --json
assert_eq "$(echo "$out" | jq_py 'd["embedded"], d["failed"], d["remaining"], d["error"]')" "5 0 0 None" "backfill"
assert_eq "$(provider_stat 'd["requests"], d["texts"]')" "3 5" "backfill batches of 2"
assert_eq "$(akosha stats --data data --json | jq_py 'd["without_vector"]["hot"]')" "0" "stats after backfill"
expect_stdout 0 akosha embed --data data --missing --embed-url "$OPENAI" --json
assert_eq "$(echo "$out" | jq_py 'd["embedded"]')" "0" "a second backfill has nothing to do"

# the query's words are not in the target; its vector is near: found by query, not by text
for provider in openai ollama; do
  url=$([ $provider = openai ] && echo "$OPENAI" || echo "$OLLAMA")
  expect_stdout 0 akosha search --data data --query "$Q" --embed-url "$url" --embed-provider $provider --json
  assert_eq "$(echo "$out" | jq_py 'd["mode"], d["results"][0]["conversation_id"], "embedding_error" in d')" \
    "hybrid vac False" "$provider: query finds by meaning"
done
expect_stdout 0 akosha search --data data --text "$Q" --json
assert_eq "$(echo "$out" | jq_py 'd["mode"], [r["conversation_id"] for r in d["results"]]')" "text []" "text does not"
expect_stdout 0 akosha search --data data --query "$Q" --system sysA --embed-url "$OPENAI" --limit 1
assert_contains "$out" "(hybrid)" "table says the mode"

# Session-Buddy's variables configure the provider when Akosha's are unset
out=$(MAHAVISHNU__LLAMA_SERVER_URL="$OPENAI" akosha search --data data --query "$Q" --json)
assert_eq "$(echo "$out" | jq_py 'd["mode"]')" "hybrid" "MAHAVISHNU__LLAMA_SERVER_URL"
before=$(provider_stat 'd["requests"]')
out=$(MAHAVISHNU__OLLAMA_URL="$OLLAMA" akosha search --data data --query "$Q" --json)
assert_eq "$(echo "$out" | jq_py 'd["mode"]')" "hybrid" "MAHAVISHNU__OLLAMA_URL"
assert_eq "$(provider_stat 'd["requests"]')" "$((before + 1))" "one provider call per query"

# the API key is sent as a bearer token and never printed
out=$(AKOSHA_EMBED_API_KEY=sekrit-key-42 akosha search --data data --query "$Q" --embed-url "$OPENAI" --json 2>&1)
assert_eq "$(provider_stat 'd["auth"]')" "Bearer sekrit-key-42" "bearer token"
[[ "$out" != *sekrit* ]] || fail "the API key was printed"

# each way the provider fails: keywords, with the reason
check_fallback() { # reason-substring extra-args...
  local want=$1; shift
  expect_stdout 0 akosha search --data data --query "postgres $Q" --json "$@"
  assert_eq "$(echo "$out" | jq_py 'd["mode"], d["results"][0]["conversation_id"]')" "text pg" "fallback ($want)"
  assert_contains "$(echo "$out" | jq_py 'd["embedding_error"]')" "$want" "fallback reason"
}
check_fallback "Failed to connect" --embed-url "http://127.0.0.1:$(free_port)/v1"
for p in openai ollama; do
  url=$([ $p = openai ] && echo "$OPENAI" || echo "$OLLAMA")
  mode 500;       check_fallback "HTTP 500" --embed-url "$url" --embed-provider $p
  mode dim;       check_fallback "has 768 numbers, expected 384" --embed-url "$url" --embed-provider $p
  mode nan;       check_fallback "malformed JSON" --embed-url "$url" --embed-provider $p
  mode inf;       check_fallback "is not a finite number" --embed-url "$url" --embed-provider $p
  mode malformed; check_fallback "malformed JSON" --embed-url "$url" --embed-provider $p
  mode zero;      check_fallback "all zeros" --embed-url "$url" --embed-provider $p
  mode count;     check_fallback "0 embeddings for 1 texts" --embed-url "$url" --embed-provider $p
done
mode slow; check_fallback "timed out" --embed-url "$OPENAI" --embed-timeout-ms 300
mode 500
before=$(provider_stat 'd["requests"]')
check_fallback "HTTP 500" --embed-url "$OPENAI"
assert_eq "$(provider_stat 'd["requests"]')" "$((before + 2))" "a 500 is retried once"
mode ok

# keyword search finds the words a query word begins, below exact matches
expect_stdout 0 akosha search --data data --text postgres --json
assert_eq "$(echo "$out" | jq_py '[r["conversation_id"] for r in d["results"]]')" "['pg', 'vac']" "postgres -> PostgreSQL, exact first"
expect_stdout 0 akosha search --data data --text migrat --json
assert_eq "$(echo "$out" | jq_py '[r["conversation_id"] for r in d["results"]]')" "['mig']" "migrat -> migration"
# FTS5 syntax typed by a person is never an error
for t in 'NEAR(postgres' '"unbalanced' 'a OR AND NOT' 'content:postgres*' '^start + -x' "it's {x} (y)"; do
  expect_stdout 0 akosha search --data data --text "$t" --json
  expect_stdout 0 akosha search --data data --query "$t" --json
done

# a text the provider refuses does not hold the others back
cat > recs2.json <<'JSON'
[{"id":"p1","content":"a poison pill the provider refuses","timestamp":"2026-11-02T10:00:00Z"},
 {"id":"p2","content":"vacuum tuning notes","timestamp":"2026-11-02T10:00:00Z"},
 {"id":"p3","content":"more rebase notes","timestamp":"2026-11-02T10:00:00Z"}]
JSON
mkupload bucket sysB u1 --records @recs2.json --uploaded-at 2026-11-02T10:00:00Z
akosha ingest --once --bucket bucket --data data --json >/dev/null
mode fail_word
expect_stdout 0 akosha embed --data data --missing --embed-url "$OPENAI" --system sysB --json
assert_eq "$(echo "$out" | jq_py 'd["embedded"], d["failed"], d["remaining"]')" "2 1 1" "one refused text"
assert_contains "$(echo "$out" | jq_py 'd["error"]')" "HTTP 400" "the refusal is reported"
# a provider that is down ends the pass, and the exit status says so
mode 500
expect_stdout 1 akosha embed --data data --missing --embed-url "$OPENAI" --json
assert_eq "$(echo "$out" | jq_py 'd["embedded"], d["remaining"]')" "0 1" "provider down: nothing lost"
mode ok

# serve: HTTP {"query"}, background embedding after ingestion, metrics, the breaker
start_serve --data data --bucket bucket --poll-interval 1 --embed-url "$OPENAI" \
  --embed-breaker-failures 2 --embed-breaker-cooldown-ms 600000
wait_ready
for _ in $(seq 1 100); do  # the pass at start embeds what is left (p1 stays refused only in fail_word)
  [ "$(akosha stats --data data --json | jq_py 'd["without_vector"]["hot"]')" = 0 ] && break; sleep 0.1
done
cat > recs3.json <<'JSON'
[{"id":"late","content":"sluggish sqlite writes","timestamp":"2026-11-03T10:00:00Z"}]
JSON
mkupload bucket sysC u1 --records @recs3.json --uploaded-at 2026-11-03T10:00:00Z
found=""
for _ in $(seq 1 100); do  # ingested by the poller, embedded in the background, reloaded into the index
  http POST /v1/search '{"query":"slow database","system_id":"sysC","tiers":["hot"]}'
  [ "$status" = 200 ] && [ "$(echo "$body" | jq_py 'd["mode"], len(d["results"])')" = "hybrid 1" ] &&
    [ "$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^akosha_embed_missing /{print $2}')" = 0 ] && { found=1; break; }
  sleep 0.1
done
[ -n "$found" ] || { cat serve.log; fail "background embedding of a new upload: $body"; }
http POST /v1/search "{\"query\":\"$Q\",\"limit\":3}"
assert_eq "$(echo "$body" | jq_py 'd["mode"], d["results"][0]["conversation_id"]')" "hybrid vac" "HTTP query"
http POST /v1/search '{"query":"x","text":"y"}'
assert_eq "$status" 400 "query and text together"
assert_contains "$body" "not both" "query and text together: message"
metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
for m in akosha_embed_calls_total akosha_embed_failures_total akosha_embed_cache_hits_total \
         akosha_embed_seconds_total akosha_embed_backfilled_total akosha_embed_breaker_open; do
  grep -q "^$m " <<<"$metrics" || fail "metric $m"  # no pipe: grep -q would cut it (SIGPIPE under pipefail)
done
echo "$metrics" > metrics.txt
promtool check metrics < metrics.txt || fail "promtool rejects the metrics"
http POST /v1/search "{\"query\":\"$Q\",\"limit\":3}"  # the same words again: from the cache
hits=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^akosha_embed_cache_hits_total /{print $2}')
[ "$hits" -ge 1 ] || fail "cache hits: $hits"
mode 500
for i in 1 2; do http POST /v1/search "{\"query\":\"breaker $i\"}"; done
http POST /v1/search '{"query":"breaker 3"}'
assert_eq "$(echo "$body" | jq_py 'd["mode"]')" "text" "breaker: text mode"
assert_contains "$body" "circuit breaker is open" "breaker: reason"
assert_eq "$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^akosha_embed_breaker_open /{print $2}')" 1 "breaker gauge"
mode ok
! grep -q sekrit serve.log || fail "key in the log"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"

# rows that aged before they were embedded are embedded from the text their
# tier keeps (warm: the 3-sentence summary, int8; cold: the 1-sentence
# summary, the vector code in the catalog) and found by meaning there; the
# next pass that merges their month writes the catalog's code into the object
cat > recs4.json <<'JSON'
[{"id":"wv","content":"Autovacuum on PostgreSQL was sluggish; repaired by raising maintenance_work_mem","timestamp":"2026-10-20T10:00:00Z"},
 {"id":"cv","content":"Autovacuum on PostgreSQL was sluggish; repaired by raising maintenance_work_mem","timestamp":"2026-06-01T10:00:00Z"},
 {"id":"cx","content":"Rebasing the feature branch onto main after the release","timestamp":"2026-06-02T10:00:00Z"}]
JSON
mkupload bucket2 sysW u1 --records @recs4.json
akosha ingest --once --bucket bucket2 --data data2 --json >/dev/null
akosha age --data data2 --now 2026-11-05T00:00:00Z --json >/dev/null
assert_eq "$(akosha stats --data data2 --json | jq_py 'd["without_vector"]')" \
  "{'hot': 0, 'warm': 1, 'cold': 2}" "aged without a vector"
expect_stdout 0 akosha search --data data2 --query "$Q" --tiers warm,cold --embed-url "$OPENAI" --json
assert_eq "$(echo "$out" | jq_py 'd["mode"], [r["conversation_id"] for r in d["results"]]')" "hybrid []" \
  "before the backfill: no vector, and the words do not occur"
expect_stdout 0 akosha embed --data data2 --missing --embed-url "$OPENAI" --json
assert_eq "$(echo "$out" | jq_py 'd["embedded"], d["failed"], d["remaining"], d["without_vector"]')" \
  "3 0 0 {'hot': 0, 'warm': 0, 'cold': 0}" "warm and cold backfilled"
assert_eq "$(akosha stats --data data2 --json | jq_py 'd["without_vector"]')" \
  "{'hot': 0, 'warm': 0, 'cold': 0}" "stats after the warm and cold backfill"
for t in warm cold; do
  expect_stdout 0 akosha search --data data2 --query "$Q" --tiers $t --embed-url "$OPENAI" --json
  assert_eq "$(echo "$out" | jq_py 'd["mode"], d["results"][0]["conversation_id"], d["results"][0]["tier"]')" \
    "hybrid $([ $t = warm ] && echo wv || echo cv) $t" "$t row found by meaning after the backfill"
done
wdb="data2/$(akosha shard sysW | cut -d' ' -f2)"
cat > recs5.json <<'JSON'
[{"id":"cy","content":"Configured nginx TLS certificates for the staging host","timestamp":"2026-06-03T10:00:00Z"}]
JSON
mkupload bucket2 sysW u2 --records @recs5.json --uploaded-at 2026-11-02T10:00:00Z
akosha ingest --once --bucket bucket2 --data data2 --json >/dev/null
out=$(akosha age --data data2 --now 2026-11-06T00:00:00Z --json)
assert_eq "$(echo "$out" | jq_py 'd["cold_objects_merged"]')" "1" "June's object merged with the new row"
key=$(sqlite3 "$wdb" "SELECT o.key FROM cold JOIN cold_objects o ON o.id = cold.object_id WHERE conversation_id = 'cv'")
make -C "$AKOSHA_SRC" -s --no-print-directory SAN="${AKOSHA_SANITIZED:-0}" \
  BUILD="$(realpath --relative-to="$AKOSHA_SRC" "$(dirname "$AKOSHA_BIN")")" \
  "$(realpath --relative-to="$AKOSHA_SRC" "$(dirname "$AKOSHA_BIN")")/tools/pqtool" >/dev/null
pqtool="$(dirname "$AKOSHA_BIN")/tools/pqtool"
assert_eq "$("$pqtool" find "data2/cold/$key" cv | jq_py 'd["embedding_code"]')" \
  "$(sqlite3 "$wdb" "SELECT lower(hex(embedding_code)) FROM cold WHERE conversation_id = 'cv'")" \
  "the merged object carries the code the backfill gave the catalog"
