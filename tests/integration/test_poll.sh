# Without --once, ingest polls: an upload arriving later is picked up by a
# later cycle; SIGTERM ends the loop cleanly with exit 0.
source "$AKOSHA_SRC/tests/integration/lib.sh"

mkupload bucket s1 u1 --count 3
"$AKOSHA_BIN" ingest --bucket bucket --data data --interval 1 --json > cycles.jsonl 2> poll.err &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT

wait_for() { # condition-command, seconds
  for _ in $(seq 1 $((${2} * 10))); do
    if eval "$1"; then return 0; fi
    sleep 0.1
  done
  fail "timed out waiting for: $1"
}
wait_for '[ "$(hot_count data s1 2>/dev/null)" = 3 ]' 10
mkupload bucket s2 u1 --count 5
wait_for '[ "$(hot_count data s2 2>/dev/null)" = 5 ]' 10

kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
trap - EXIT
assert_eq "$rc" "0" "exit status after SIGTERM"
[ "$(wc -l < cycles.jsonl)" -ge 2 ] || fail "expected one JSON summary per cycle"
assert_eq "$(tail -1 cycles.jsonl | jq_py 'd["uploads_failed"]')" "0" "last cycle"
