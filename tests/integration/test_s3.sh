# Ingestion from a real S3 server: OpenStack Swift with its s3api, started
# here on a free loopback port (tests/integration/s3/) and stopped from the
# EXIT trap.  A generated bucket is uploaded with an independent client
# (s3/s3tool.py, its own SigV4) below a prefix, then:
#  - the C API's own test (tests/unit/test_s3store.c) runs against it: keys
#    with spaces, unicode, '+', '%', '&'; pages; a multipart put read back;
#    not-found, a missing bucket, refused credentials;
#  - `akosha ingest --bucket s3://bucket/prefix` gives exactly the store that
#    ingesting the same files from the local directory gives: both layouts,
#    every compression, a system of more than 1000 keys (several list
#    pages), a payload above the multipart threshold that the server
#    assembled from parts;
#  - wrong, missing credentials and a missing bucket exit 1 naming the cause;
#  - Swift stopped in the middle of a polling run: uploads fail (never
#    rejected), requests are retried, the circuit breaker opens; once Swift
#    is back the breaker closes and the next cycle ingests everything, and
#    the store equals the clean run's.
# It prints (does not assert) ingestion throughput from S3 and from the
# local directory, and S3 requests per ingested upload.
source "$AKOSHA_SRC/tests/integration/lib.sh"

s3dir=$AKOSHA_SRC/tests/integration/s3
s3tool() { /usr/bin/python3 "$s3dir/s3tool.py" "$@"; }
ingest_pid=
cleanup() {
  [ -n "$ingest_pid" ] && kill -KILL "$ingest_pid" 2>/dev/null
  "$s3dir/stop-swift.sh" "$PWD/swift"
}
trap cleanup EXIT

"$s3dir/start-swift.sh" swift >/dev/null
export AKOSHA_S3_ENDPOINT=$(cat swift/endpoint)
export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AKOSHA_S3_ATTEMPTS=3 AKOSHA_S3_RETRY_BASE_MS=20 AKOSHA_S3_CONNECT_TIMEOUT_MS=2000
url=s3://akosha/tenants/acme

# ---- the bucket --------------------------------------------------------
gen=$(akosha generate --out bucket --systems 4 --uploads 3 --conversations 30 --json)
akosha generate --out bucket --systems 1 --uploads 450 --conversations 2 --growth 0 \
  --prefix big --json >/dev/null
akosha generate --out bucket --systems 1 --uploads 1 --conversations 900 --format json \
  --compression none --prefix huge --json >/dev/null
uploads=$(($(echo "$gen" | jq_py 'd["uploads"]') + 450 + 1))
big_keys=$(find bucket/systems/big0000 -type f | wc -l)
[ "$big_keys" -gt 1000 ] || fail "system big0000 has only $big_keys keys; one list page would do"
[ -n "$(find bucket -path '*/uploads/*' -name manifest.json | head -1)" ] || fail "no layout-2 upload"
[ -n "$(find bucket/systems/huge0000 -name 'memories.json' -size +5M)" ] ||
  fail "no payload above the 5 MiB multipart size"
for form in .gz .zst .lz4; do
  [ -n "$(find bucket -name "memories*$form" | head -1)" ] || fail "no payload of form $form"
done
s3tool mb akosha
s3tool sync bucket akosha tenants/acme
assert_eq "$(s3tool ls akosha tenants/acme/ | wc -l)" "$(find bucket -type f | wc -l)" "keys uploaded"

# ---- the C API against the server --------------------------------------
unit=$(dirname "$AKOSHA_BIN")/tests/test_s3store
if [ ! -x "$unit" ]; then # run-integration.sh alone builds only the binary
  build=$(basename "$(dirname "$AKOSHA_BIN")")
  [ "$(cd "$(dirname "$AKOSHA_BIN")/.." && pwd)" == "$AKOSHA_SRC" ] ||
    fail "$unit is missing and $AKOSHA_BIN is not in the source tree to build it"
  make -s -C "$AKOSHA_SRC" BUILD="$build" SAN="${AKOSHA_SANITIZED:-0}" "$build/tests/test_s3store" >/dev/null
fi
AKOSHA_TEST_S3_BUCKET=s3://akosha "$unit" >unit.log 2>&1 || { cat unit.log; fail "test_s3store failed"; }
assert_contains "$(cat unit.log)" "s3store: 6 tests, 0 failed checks" "C API test ran"

# ---- S3 gives exactly what the local directory gives --------------------
local_run=$(akosha ingest --once --bucket bucket --data local --json)
s3_run=$(AKOSHA_LOG_LEVEL=debug akosha ingest --once --bucket "$url" --data s3data --json 2>s3.log)
for f in uploads_ingested uploads_rejected uploads_failed conversations_ingested \
         conversations_updated duplicates_skipped records_rejected bytes_read; do
  assert_eq "$(echo "$s3_run" | jq_py "d['$f']")" "$(echo "$local_run" | jq_py "d['$f']")" "$f from S3"
done
assert_eq "$(echo "$s3_run" | jq_py 'd["uploads_ingested"]')" "$uploads" "uploads ingested"
assert_eq "$(store_digest s3data)" "$(store_digest local)" "store from S3 vs from the directory"
summary=$(grep 'closing; operations' s3.log)
lists=$(echo "$summary" | sed -E 's/.*list ([0-9]+)\/0.*/\1/')
[ "$lists" -ge 8 ] || fail "expected a second list page for big0000, saw $lists lists: $summary"
requests=$(echo "$summary" | sed -E 's/.*; ([0-9]+) requests.*/\1/')

# a second run finds everything settled
again=$(akosha ingest --once --bucket "$url" --data s3data --json 2>/dev/null)
assert_eq "$(echo "$again" | jq_py 'd["uploads_discovered"], d["uploads_known"]')" "0 $uploads" "second run"

# ---- refused, missing ---------------------------------------------------
expect_exit 1 env AWS_SECRET_ACCESS_KEY=wrong "$AKOSHA_BIN" ingest --once --bucket "$url" --data bad
[[ "$out" == *SignatureDoesNotMatch* || "$out" == *InvalidAccessKeyId* ]] ||
  fail "wrong secret: no S3 code in: $out"
assert_contains "$out" "s3 LIST systems/: 403 " "wrong secret"
expect_exit 1 env -u AWS_SECRET_ACCESS_KEY "$AKOSHA_BIN" ingest --once --bucket "$url" --data bad
assert_contains "$out" "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" "no secret"
expect_exit 1 akosha ingest --once --bucket s3://no-such-bucket --data bad
assert_contains "$out" "bucket no-such-bucket does not exist (404 NoSuchBucket)" "missing bucket"
[ ! -d bad ] || [ -z "$(find bad -name '*.db')" ] || fail "a refused run stored something"

# ---- the cold tier in S3 -------------------------------------------------
# Age the store built from S3 into the future (45 days: about half of the
# generator's 120 days of conversations go cold): warm -> cold exports
# Parquet into the bucket below another prefix, reads it back, catalogues
# it; `get` then reads a cold conversation back from S3.
cold=s3://akosha/tenants/acme-cold
age=$(akosha age --data s3data --cold "$cold" --now "$(date -u -d '+45 days' +%Y-%m-%dT00:00:00Z)" --json)
moved=$(echo "$age" | jq_py 'd["warm_to_cold"]["conversations"]')
[ "$moved" -gt 0 ] || fail "nothing went cold: $age"
assert_eq "$(echo "$age" | jq_py 'd["cold_failures"], d["systems_failed"]')" "0 0" "cold export to S3"
objects=$(s3tool ls akosha tenants/acme-cold/ | grep -c '\.parquet$')
assert_eq "$objects" "$(echo "$age" | jq_py 'd["cold_objects"]')" "cold objects in S3"
# (through a file: grep -q stops reading at the first match, and under
# pipefail the lister's broken pipe would fail the test)
s3tool ls akosha tenants/acme-cold/ > cold-keys.txt
grep -qE 'tenants/acme-cold/system_id=[^/]+/month=[0-9]{4}-[0-9]{2}/batch-[0-9a-f]{16}\.parquet' cold-keys.txt ||
  fail "cold key layout in S3"
db="s3data/$(akosha shard sys0001 | cut -d' ' -f2)"
cid=$(sqlite3 "$db" "SELECT conversation_id FROM cold LIMIT 1")
got=$(akosha get --data s3data --cold "$cold" sys0001 "$cid" --json)
assert_eq "$(echo "$got" | jq_py 'd["tier"], d["conversation_id"], len(d["summary"]) > 0')" "cold $cid True" "get from S3 cold"
# verify reads every catalogued object back from S3 and lists each system's
# prefix for uncatalogued ones (none: all fresh and catalogued)
expect_stdout 0 akosha verify --data s3data --cold "$cold" --deep --json
assert_eq "$(echo "$out" | jq_py 'd["ok"], d["cold_objects"], d["cold_leftovers"], d["problems"]')" \
  "True $objects 0 []" "verify against the S3 cold store"
# cold rows are searched from the local catalog, by words and by vector
out=$(akosha search --data s3data --like "sys0001/$cid" --tiers cold --limit 3 --json)
assert_eq "$(echo "$out" | jq_py 'd["results"][0]["conversation_id"], d["results"][0]["tier"]')" "$cid cold" \
  "cold vector search beside an S3 cold store"
# a later pass merges the newly cold rows into the month's objects in S3:
# each merged object read, the new one put and read back, the old deleted
age=$(akosha age --data s3data --cold "$cold" --now "$(date -u -d '+3 years' +%Y-%m-%dT00:00:00Z)" --json)
assert_eq "$(echo "$age" | jq_py 'd["cold_failures"], d["cold_objects_merged"] > 0, d["cold_objects_deleted"] == d["cold_objects_merged"], d["cold_requests"]["delete"] == d["cold_objects_deleted"]')" \
  "0 True True True" "a merging pass against S3: $age"
months=$(for d in $(find s3data -name '*.db'); do
  sqlite3 "$d" "SELECT DISTINCT '$d' || strftime('%Y-%m', ts_us / 1e6, 'unixepoch') FROM cold"; done | wc -l)
assert_eq "$(s3tool ls akosha tenants/acme-cold/ | grep -c '\.parquet$')" "$months" "one S3 object per system and month"
expect_stdout 0 akosha verify --data s3data --cold "$cold" --deep --json
assert_eq "$(echo "$out" | jq_py 'd["ok"], d["cold_leftovers"], d["problems"]')" "True 0 []" "verify after the merge"

# ---- Swift goes away in the middle of a polling run ---------------------
big_ingested() { # uploads of big0000 in the outage store so far
  local db="outage/$(akosha shard big0000 | cut -d' ' -f2)"
  [ -f "$db" ] && sqlite3 "$db" "SELECT count(*) FROM uploads WHERE status = 'ingested'" 2>/dev/null || echo 0
}
under_way() { [ "$(big_ingested)" -ge 20 ]; }
cycle_failed() { grep -q '"uploads_failed":[1-9]' outage.json; }
all_ingested() {
  [ "$(akosha uploads --data outage --json | jq_py 'sum(r["status"] == "ingested" for r in d)')" -eq "$uploads" ]
}
breaker_closed() { grep -q "circuit closed: the store answers again" outage.log; }
wait_for() { # seconds, what, command
  local until=$((SECONDS + $1))
  until $3; do
    [ $SECONDS -lt $until ] || fail "timed out waiting for $2; log: $(tail -n 5 outage.log)"
    sleep 0.1
  done
}
AKOSHA_LOG_LEVEL=debug AKOSHA_STORE_BREAKER_FAILURES=3 AKOSHA_STORE_BREAKER_COOLDOWN_MS=500 \
  "$AKOSHA_BIN" ingest --bucket "$url" --data outage --interval 1 --retry-base-seconds 0 \
  --concurrency 2 --json >outage.json 2>outage.log &
ingest_pid=$!
wait_for 60 "ingestion to get going" under_way
"$s3dir/stop-swift.sh" "$PWD/swift"
wait_for 60 "a cycle with failed uploads" cycle_failed
[ "$(big_ingested)" -lt 450 ] || fail "ingestion finished before Swift went away"
ledger=$(akosha uploads --data outage --json)
assert_eq "$(echo "$ledger" | jq_py 'sum(r["status"] == "rejected" for r in d)')" "0" "rejected during the outage"
[ "$(echo "$ledger" | jq_py 'sum(r["status"] == "failed" for r in d)')" -ge 1 ] || fail "no failed upload"
log=$(cat outage.log)
assert_contains "$log" "; retry 1 of 2 in " "a retry"
assert_contains "$log" "circuit open after 3 failures in a row" "the breaker opening"
# while open, reads fail fast or uploads are left untouched for a later cycle
[[ "$log" == *"object store circuit open since "* || "$log" == *"remaining uploads are left for a later cycle"* ]] ||
  fail "nothing failed fast or was deferred while the breaker was open"

"$s3dir/start-swift.sh" swift >/dev/null
wait_for 120 "every upload after the restart" all_ingested
wait_for 10 "the breaker to close" breaker_closed
kill -TERM "$ingest_pid"
wait "$ingest_pid" || fail "the polling run exited $? after SIGTERM"
ingest_pid=
assert_eq "$(store_digest outage)" "$(store_digest local)" "store after the outage vs a clean run"

# ---- the daemon gets over an outage by itself ----------------------------
# Once the breaker's cool-down is over the next cycle must try the store
# again (the trial), not skip because the circuit was open.
akosha generate --out small --systems 1 --uploads 1 --conversations 5 --prefix small >/dev/null
s3tool sync small akosha tenants/small
PORT=$(free_port)
AKOSHA_STORE_BREAKER_FAILURES=1 AKOSHA_STORE_BREAKER_COOLDOWN_MS=300 AKOSHA_LOG_FORMAT=text \
  "$AKOSHA_BIN" serve --data served --bucket s3://akosha/tenants/small --listen 127.0.0.1:$PORT \
  --poll-interval 1 >serve.log 2>&1 &
ingest_pid=$!
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
ingested_is() { [ "$(metric 'akosha_uploads_total{outcome="ingested"}')" = "$1" ]; }
circuit_open() { [ "$(metric 'akosha_objstore_circuit_state{store="bucket"}')" = 1 ] || grep -q "circuit open" serve.log; }
wait_for 30 "the daemon's first upload" "ingested_is 1"
"$s3dir/stop-swift.sh" "$PWD/swift"
wait_for 30 "the daemon's circuit to open" circuit_open
"$s3dir/start-swift.sh" swift >/dev/null
akosha generate --out small2 --systems 1 --uploads 1 --conversations 5 --prefix other >/dev/null
s3tool sync small2 akosha tenants/small
wait_for 30 "the daemon to ingest again after the outage" "ingested_is 2"
kill -TERM "$ingest_pid"
wait "$ingest_pid" || fail "serve exited $? after SIGTERM"
ingest_pid=

# ---- figures (printed, not asserted) -------------------------------------
calc() { python3 -c "print($1)"; }
s3_s=$(echo "$s3_run" | jq_py 'd["seconds"]')
local_s=$(echo "$local_run" | jq_py 'd["seconds"]')
records=$(echo "$s3_run" | jq_py 'd["conversations_ingested"] + d["conversations_updated"] + d["duplicates_skipped"]')
echo "figures: $uploads uploads, $records records, $(find bucket -type f | wc -l) objects, $(du -sb bucket | cut -f1) bytes"
echo "figures: local directory: $local_s s, $(calc "round($records / $local_s)") records/s, $(calc "round($uploads / $local_s)") uploads/s"
echo "figures: S3 (Swift on loopback): $s3_s s, $(calc "round($records / $s3_s)") records/s, $(calc "round($uploads / $s3_s)") uploads/s"
echo "figures: S3 requests: $requests for $uploads uploads ($(calc "round($requests / $uploads, 2)") per upload)"
