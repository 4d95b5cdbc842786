# Session-Buddy's push while the bucket is down (issue 18, item 7), against
# a real S3 server (OpenStack Swift, tests/integration/s3/):
#  - a batch pushed while Swift runs reaches the bucket as an upload;
#  - Swift stopped: pushes are still accepted and stored (durable in the
#    outbox), the metrics and `akosha verify` show the batch not shipped;
#  - Swift back: the batch is shipped by itself, and a data directory
#    rebuilt from the bucket equals the daemon's.
source "$AKOSHA_SRC/tests/integration/lib.sh"

s3dir=$AKOSHA_SRC/tests/integration/s3
s3tool() { /usr/bin/python3 "$s3dir/s3tool.py" "$@"; }
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
sb() { $PY "$AKOSHA_SRC/tests/integration/sb_push.py" "$@"; }
field() { echo "$1" | $PY -c "import json,sys; d=json.load(sys.stdin); v=($2); print(' '.join(map(str, v)) if isinstance(v, tuple) else v)"; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
wait_for() { # what cmd...
  local what=$1; shift
  for _ in $(seq 1 600); do "$@" && return 0; sleep 0.1; done
  fail "timed out waiting for $what"
}
unshipped_is() { [ "$(metric akosha_push_unshipped_batches)" = "$1" ]; }
# (with a bucket the gauge is the shipper's count, 0 until its first pass:
# a batch is known shipped by the counter)
shipped_at_least() { [ "$(metric akosha_push_shipped_total)" -ge "$1" ] 2>/dev/null; }
ship_failed() { [ "$(metric akosha_push_ship_failures_total)" -ge 1 ]; }
cleanup() {
  [ -n "${SERVE_PID:-}" ] && kill -9 "$SERVE_PID" 2>/dev/null
  "$s3dir/stop-swift.sh" "$PWD/swift"
}
SID=Les-MacBook-Pro.local

"$s3dir/start-swift.sh" swift >/dev/null
export AKOSHA_S3_ENDPOINT=$(cat swift/endpoint)
export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AKOSHA_S3_ATTEMPTS=2 AKOSHA_S3_RETRY_BASE_MS=20 AKOSHA_S3_CONNECT_TIMEOUT_MS=1000
export AKOSHA_STORE_BREAKER_FAILURES=2 AKOSHA_STORE_BREAKER_COOLDOWN_MS=300
s3tool mb akosha
url=s3://akosha/fleet

start_serve --data data --bucket $url --poll-interval 3600
trap cleanup EXIT
B=http://127.0.0.1:$PORT/mcp
assert_eq "$(field "$(sb sync $B --system $SID --count 50)" 'd["count"]')" 50 "pushed while the bucket is up"
wait_for "the first batch shipped" shipped_at_least 1
assert_eq "$(s3tool ls akosha fleet/ | grep -c manifest.json)" 1 "in the bucket"

"$s3dir/stop-swift.sh" "$PWD/swift"
out=$(sb sync $B --system $SID --count 50 --start 50)
assert_eq "$(field "$out" 'd["count"], d["errors"]')" "50 []" "accepted while the bucket is down"
assert_eq "$(hot_count data $SID)" 100 "and stored"
wait_for "a failed attempt to ship" ship_failed
wait_for "the batch counted as unshipped" unshipped_is 1
v=$(akosha verify --data data --no-cold --json)
assert_eq "$(field "$v" 'd["ok"], d["push_unshipped"], [(n["system_id"], n["check"]) for n in d["notices"]]')" \
  "True 1 [('$SID', 'push-unshipped')]" "verify shows it"
[ -n "$(find data/outbox -name memories.jsonl)" ] || fail "the batch is not on local disk"

"$s3dir/start-swift.sh" swift >/dev/null
wait_for "the batch shipped once the bucket is back" unshipped_is 0
assert_eq "$(s3tool ls akosha fleet/ | grep -c manifest.json)" 2 "both batches in the bucket"
stop_serve
want=$(store_digest data)
akosha ingest --once --bucket $url --data rebuilt --json >/dev/null
assert_eq "$(store_digest rebuilt)" "$want" "the bucket rebuilds the same store"
