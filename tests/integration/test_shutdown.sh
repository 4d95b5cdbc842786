# SIGTERM in the middle of a large ingestion: exit 0 within the drain
# period; after a restart the store is exactly a clean run's.  Also a
# drain of zero seconds and a second signal: abandoned work rolls back.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 8 --uploads 2 --conversations 1500 --growth 100 >/dev/null
akosha ingest --once --bucket bucket --data clean --json >/dev/null
want=$(store_digest clean)

run_and_term() { # data-dir drain-seconds signals-to-send delay
  PORT=$(free_port)
  "$AKOSHA_BIN" serve --listen 127.0.0.1:$PORT --data "$1" --bucket bucket --drain-seconds "$2" \
    --poll-interval 3600 > "serve-$1.log" 2>&1 &
  SERVE_PID=$!
  trap 'kill -9 $SERVE_PID 2>/dev/null || true' EXIT
  sleep "$4"
  local start=$(date +%s%N)
  for _ in $(seq 1 "$3"); do kill -TERM $SERVE_PID 2>/dev/null || true; sleep 0.05; done
  set +e; wait $SERVE_PID; serve_rc=$?; set -e
  trap - EXIT
  drain_ms=$(( ($(date +%s%N) - start) / 1000000 ))
}

for spec in "a 30 1" "b 0 1" "c 30 2"; do
  set -- $spec
  run_and_term "data-$1" "$2" "$3" 0.8
  assert_eq "$serve_rc" 0 "exit status ($spec)"
  [ "$drain_ms" -lt $(( ($2 + 5) * 1000 )) ] || fail "took $drain_ms ms to stop ($spec)"
  grep -q '"msg":"stopped"' "serve-data-$1.log" || fail "no clean stop ($spec)"
  # whatever was cut short is redone by the next run, exactly once
  akosha ingest --once --bucket bucket --data "data-$1" --json >/dev/null
  assert_eq "$(store_digest "data-$1")" "$want" "store after SIGTERM and a restart ($spec)"
done
grep -q "abandoning work in flight" serve-data-b.log serve-data-c.log || echo "note: nothing was in flight to abandon"
