# Slow clients (issue 20 item 5): 1,050 connections that each send a partial
# request and then a byte every 2 s used to lock everyone out (/health timed
# out).  Now: connections per client address are bounded, a request's
# headers have a total deadline however the bytes trickle, and when the
# server is full the connection that has waited longest for its headers
# makes room, so /health and /ready stay answerable.  Loopback only;
# bounded in count (1,050 + 100 + 1 connections) and time (tens of seconds).
source "$AKOSHA_SRC/tests/integration/lib.sh"
slow() { python3 "$AKOSHA_SRC/tests/integration/slowclients.py" "$@"; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# --- the header deadline: total, not reset by each byte -------------------
start_serve --data data --header-timeout 2
wait_ready
t=$(slow trickle "$PORT" 0.3 20)
[ "$t" != never ] || fail "a request trickling a byte every 0.3 s was never cut off"
echo "a trickling request was closed after $t s (--header-timeout 2)"
[ "$(metric akosha_http_connections_slow_closed_total)" -ge 1 ] || fail "slow close not counted"
# a request that sends its headers at once is not affected
http GET /health; assert_eq "$status" 200 "a normal request"
stop_serve

# --- connections per client address ---------------------------------------
start_serve --data data --header-timeout 60 --max-connections-per-client 64
wait_ready
closed=$(slow count "$PORT" 100 127.0.0.2 36)
assert_eq "$closed" 36 "100 connections from one address: the 36 beyond 64 are refused"
http GET /health; assert_eq "$status" 200 "/health from another address"
stop_serve

# --- 1,050 slow clients from 30 addresses: /health and /ready still answer -
# first trickling their headers, then complete headers and a trickling body
# (slow POST: past the header deadline's reach, still evictable)
attack() { # label, extra argument of `slowclients.py hold`
  start_serve --data data --header-timeout 60 --max-connections 1000
  wait_ready
  rm -f ready stop
  slow hold "$PORT" 1050 30 60 ready stop $2 > held.txt &
  local pid=$!
  for _ in $(seq 1 300); do [ -f ready ] && break; sleep 0.1; done
  [ -f ready ] || fail "the slow clients did not connect ($1)"
  for p in /health /ready; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT$p" || true)
    assert_eq "$code" 200 "$p under 1,050 slow clients ($1)"
  done
  evicted=$(metric akosha_http_connections_evicted_total)
  open=$(metric akosha_http_connections)
  touch stop
  wait $pid
  echo "1,050 slow clients ($1): $open connections open, $evicted evicted; the attackers saw $(cat held.txt) closed"
  [ "$evicted" -ge 50 ] || fail "expected at least 50 evictions, got $evicted ($1)"
  [ "$open" -le 1000 ] || fail "more than --max-connections open: $open ($1)"
  stop_serve
  assert_eq "$serve_rc" 0 "serve exit ($1)"
}
attack "slow headers" ""
attack "slow bodies" body
# the library's line per closed connection does not flood the log
lines=$(wc -l < serve.log)
[ "$lines" -lt 100 ] || fail "serve.log has $lines lines after the attack"
