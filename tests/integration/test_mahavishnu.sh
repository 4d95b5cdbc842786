# The Mahavishnu link of SPEC section 9: normal while the stand-in answers
# and calls back; fallback when it is killed (Akosha ingests by itself, an
# upload arriving during the outage included); normal again after restart.
source "$AKOSHA_SRC/tests/integration/lib.sh"

TOKEN=mahavishnu-token-0123456789
MPORT=$(free_port)
start_mahavishnu() {
  python3 "$AKOSHA_SRC/tests/integration/mahavishnu.py" $MPORT "http://127.0.0.1:$PORT" $TOKEN calls.log &
  MPID=$!
  for _ in $(seq 1 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$MPORT),1)" 2>/dev/null && return; sleep 0.1; done
}
health_status() { http GET /health; echo "$body" | jq_py 'd["status"], d["fallback_mode"]'; }
wait_status() { # "normal False" etc.
  for _ in $(seq 1 100); do [ "$(health_status)" = "$1" ] && return 0; sleep 0.1; done
  fail "health never reported '$1' (last: $(health_status))"
}

mkupload bucket s1 u1 --count 3
PORT=$(free_port)       # known before serve starts: the stand-in calls it back
start_mahavishnu
"$AKOSHA_BIN" serve --listen 127.0.0.1:$PORT --data data --bucket bucket --tokens $TOKEN \
  --mahavishnu "http://127.0.0.1:$MPORT" --mahavishnu-timeout-ms 500 --poll-interval 1 > serve.log 2>&1 &
SERVE_PID=$!
trap 'kill -9 $SERVE_PID $MPID 2>/dev/null || true' EXIT
wait_ready

# normal: cycles are offered, Mahavishnu calls back, uploads are ingested
wait_status "normal False"
for _ in $(seq 1 50); do [ "$(hot_count data s1)" = 3 ] && break; sleep 0.1; done
assert_eq "$(hot_count data s1)" 3 "ingested through Mahavishnu's callback"
grep -q '"callback": 202' calls.log || fail "Mahavishnu's callback was not accepted"
http GET /health
[ "$(echo "$body" | jq_py 'd["last_mahavishnu_contact"] is not None')" = True ] || fail "no contact recorded"

# Mahavishnu dies: fallback, and ingestion goes on without it
kill -9 $MPID; wait $MPID 2>/dev/null || true
wait_status "fallback True"
http GET /metrics
grep -q '^akosha_orchestrator_fallback 1' <<<"$body" || fail "fallback metric"
mkupload bucket s2 u1 --count 4
for _ in $(seq 1 60); do [ "$(hot_count data s2)" = 4 ] && break; sleep 0.1; done
assert_eq "$(hot_count data s2)" 4 "an upload arriving during the outage is ingested"

# Mahavishnu is back: normal again
start_mahavishnu
wait_status "normal False"
mkupload bucket s3 u1 --count 2
for _ in $(seq 1 60); do [ "$(hot_count data s3)" = 2 ] && break; sleep 0.1; done
assert_eq "$(hot_count data s3)" 2 "ingested after recovery"

stop_serve
assert_eq "$serve_rc" 0 "exit status"
kill $MPID 2>/dev/null || true
