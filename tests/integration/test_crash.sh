# kill -9 at named instants during ingestion, several times, then let it
# finish: the store must equal a clean run's, record for record.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 6 --uploads 4 --conversations 1500 --growth 200 >/dev/null
akosha ingest --once --bucket bucket --data clean --concurrency 3 --json >/dev/null
want=$(store_digest clean)

# Each run is killed (SIGKILL) at a named instant (AKOSHA_TEST_STOP, see
# src/util/testpoint.h): mid-transaction, with an upload's records written
# but not committed, or just after a commit.  No sleep decides the instant.
# (At most 3 uploads are in flight, so a stop at the k-th passage leaves at
# most k+2 committed: 24 uploads outlast the six runs.)
total=$(akosha uploads --data clean --json | jq_py 'len(d)')
kills=0
for stop in ingest.streamed:1 ingest.committed:1 ingest.streamed:2 ingest.committed:2 \
            ingest.streamed:1 ingest.committed:2; do
  kill_at $stop ingest --once --bucket bucket --data crashed --concurrency 3 --quiet
  kills=$((kills + 1))
  done_now=$(akosha uploads --data crashed --json | jq_py 'sum(r["status"] == "ingested" for r in d)')
  [ "$done_now" -lt "$total" ] || fail "the kill at $stop left nothing unfinished"
done

run=$(akosha ingest --once --bucket bucket --data crashed --json)
assert_eq "$(echo "$run" | jq_py 'd["uploads_failed"] + d["uploads_rejected"]')" "0" "no failures after crashes"
assert_eq "$(store_digest crashed)" "$want" "store after $kills kills equals a clean run"
for db in $(find crashed -name '*.db'); do
  assert_eq "$(sqlite3 "$db" 'PRAGMA integrity_check')" "ok" "integrity of $db"
done
echo "killed $kills times"
