# SIGTERM in the middle of a large ingestion: exit 0 within the drain
# period; after a restart the store is exactly a clean run's.  Also a
# drain of zero seconds and a second signal: abandoned work rolls back.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 8 --uploads 2 --conversations 1500 --growth 100 >/dev/null
akosha ingest --once --bucket bucket --data clean --json >/dev/null
want=$(store_digest clean)

# The first SIGTERM comes from inside, at a named instant (AKOSHA_TEST_STOP,
# src/util/testpoint.h): just after the third upload of the first cycle
# committed, with the rest in flight - never after a guessed sleep.  A
# second signal, when asked for, follows once serve says it is draining.
# The drain is timed from serve's own log: "draining" to "stopped".
run_and_term() { # data-dir drain-seconds signals-to-send
  PORT=$(free_port)
  AKOSHA_TEST_STOP=ingest.committed:3:TERM "$AKOSHA_BIN" serve --listen 127.0.0.1:$PORT \
    --data "$1" --bucket bucket --drain-seconds "$2" --poll-interval 3600 > "serve-$1.log" 2>&1 &
  SERVE_PID=$!
  trap 'kill -9 $SERVE_PID 2>/dev/null || true' EXIT
  if [ "$3" -ge 2 ]; then
    for _ in $(seq 1 300); do grep -q '"msg":"draining' "serve-$1.log" && break; sleep 0.1; done
    kill -TERM $SERVE_PID 2>/dev/null || true
  fi
  set +e; wait $SERVE_PID; serve_rc=$?; set -e
  trap - EXIT
  grep -q "test stop point ingest.committed#3" "serve-$1.log" || fail "no stop point in serve-$1.log"
  drain_ms=$(python3 -c '
import datetime, json, sys
ts = {}
for line in open(sys.argv[1]):
    if line.startswith("{"):
        e = json.loads(line)
        for m in ("draining", "stopped"):
            if e["msg"].startswith(m):
                ts[m] = datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00"))
print(int((ts["stopped"] - ts["draining"]).total_seconds() * 1000))' "serve-$1.log")
}

for spec in "a 30 1" "b 0 1" "c 30 2"; do
  set -- $spec
  run_and_term "data-$1" "$2" "$3"
  assert_eq "$serve_rc" 0 "exit status ($spec)"
  [ "$drain_ms" -lt $(( ($2 + 5) * 1000 )) ] || fail "took $drain_ms ms to stop ($spec)"
  grep -q '"msg":"stopped"' "serve-data-$1.log" || fail "no clean stop ($spec)"
  # whatever was cut short is redone by the next run, exactly once
  akosha ingest --once --bucket bucket --data "data-$1" --json >/dev/null
  assert_eq "$(store_digest "data-$1")" "$want" "store after SIGTERM and a restart ($spec)"
done
# a drain of zero seconds at the third commit always finds uploads in flight
grep -q "abandoning work in flight" serve-data-b.log || fail "nothing was abandoned with a drain of 0 s"
