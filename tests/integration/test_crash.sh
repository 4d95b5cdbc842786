# kill -9 at random instants during ingestion, several times, then let it
# finish: the store must equal a clean run's, record for record.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 6 --uploads 3 --conversations 1500 --growth 200 >/dev/null
akosha ingest --once --bucket bucket --data clean --concurrency 3 --json >/dev/null
want=$(store_digest clean)

# The binary itself goes in the background (the `akosha` function would run
# in a subshell, and kill -9 would kill only that subshell).
total=$(akosha uploads --data clean --json | jq_py 'len(d)')
kills=0 partial=0
for delay in 0.05 0.1 0.15 0.2 0.3 0.4; do
  "$AKOSHA_BIN" ingest --once --bucket bucket --data crashed --concurrency 3 --quiet >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  done_now=$( [ -d crashed ] && akosha uploads --data crashed --json 2>/dev/null |
              jq_py 'sum(r["status"] == "ingested" for r in d)' || echo 0)
  [ "$done_now" -lt "$total" ] && partial=$((partial + 1))
done
[ "$kills" -ge 3 ] || fail "only $kills of 6 runs were killed mid-way; make the bucket bigger"
[ "$partial" -ge 1 ] || fail "no kill left the ingestion unfinished"

run=$(akosha ingest --once --bucket bucket --data crashed --json)
assert_eq "$(echo "$run" | jq_py 'd["uploads_failed"] + d["uploads_rejected"]')" "0" "no failures after crashes"
assert_eq "$(store_digest crashed)" "$want" "store after $kills kills equals a clean run"
for db in $(find crashed -name '*.db'); do
  assert_eq "$(sqlite3 "$db" 'PRAGMA integrity_check')" "ok" "integrity of $db"
done
echo "killed $kills times"
