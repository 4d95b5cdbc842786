# The fence between a daemon forgetting a system (DELETE /v1/systems/{id})
# and a separate `akosha ingest` process (storage/syslock.h).  Both share
# the data directory's lock, so only the system's own lock keeps an ingest
# that read "no tombstone" from re-creating the system after forget deleted
# it.  Each instant is made with a STOP test point (the process freezes
# there, holding what it holds) and the kernel's list of blocked locks
# (/proc/locks), never with sleeps.
source "$AKOSHA_SRC/tests/integration/lib.sh"

ADMIN=admin-token-0123456789abcdef
akosha generate --out bucket --systems 2 --uploads 3 --conversations 40 \
  --now 2026-11-26T00:00:00Z >/dev/null
# each system's newest upload arrives only after the daemon's first cycle
mkdir held
mv bucket/systems/sys0000/20261125_230000_sys0000 held/new0
mv bucket/systems/sys0001/uploads/20261125_225953_sys0001 held/new1

ingested() { # system -> its ingested uploads (0 when it has no data here)
  local out
  if ! out=$(akosha uploads --data data --system "$1" --json 2>uploads.err); then
    grep 'has no data here' uploads.err >/dev/null || fail "uploads: $(cat uploads.err)"
    echo 0
    return
  fi
  printf '%s' "$out" | jq_py "sum(r['status'] == 'ingested' for r in d)"
}
wait_forget_done() { # system
  for _ in $(seq 1 600); do
    http GET "/v1/systems/$1/forget" "" "$ADMIN"
    [ "$(echo "$body" | jq_py 'd.get("state")')" = done ] && return 0
    sleep 0.05
  done
  fail "forget of $1 never finished: $body"
}
nothing_left() { # system
  assert_eq "$(find data -name "$1.db*"; find data/cold -path "*system_id=$1/*" -type f 2>/dev/null)" "" \
    "nothing of $1 left on disk"
}

AKOSHA_ADMIN_TOKENS=$ADMIN start_serve --data data --bucket bucket --poll-interval 3600
wait_ready
for _ in $(seq 1 600); do [ "$(ingested sys0001)" = 2 ] && break; sleep 0.05; done
assert_eq "$(ingested sys0000) $(ingested sys0001)" "2 2" "the daemon's first cycle"
mv held/new0 bucket/systems/sys0000/20261125_230000_sys0000

# ---- an ingest that read "no tombstone" holds the lock: forget waits -----
AKOSHA_TEST_STOP=ingest.system_checked:1:STOP "$AKOSHA_BIN" ingest --once --bucket bucket \
  --data data --concurrency 1 --json >ingest1.out 2>ingest1.err &
ING=$!
wait_stopped $ING
stopped_on=$(grep -o 'ingest.system_checked#1' ingest1.err || true)
assert_eq "$stopped_on" "ingest.system_checked#1" "ingest stopped after reading the tombstones"
# (systems are listed in order: it stopped on sys0000, the one with news)
curl -s -X DELETE -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/v1/systems/sys0000" \
  >delete1.out &
DEL=$!
[ "$(wait_lock_waiter $DEL)" -gt 0 ] || fail "forget did not wait for the ingest holding the system: $(cat delete1.out)"
kill -CONT $ING
wait $ING || fail "ingest failed: $(cat ingest1.err)"
wait $DEL
wait_forget_done sys0000
nothing_left sys0000
assert_eq "$(ingested sys0000)" 0 "sys0000 is not back"
assert_eq "$(jq_py 'd["uploads_ingested"]' <ingest1.out)" 1 "the ingest stored its news before forget ran"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"
expect_exit 0 akosha verify --data data

# ---- forget holds the lock before its tombstone: the ingest waits -------
AKOSHA_ADMIN_TOKENS=$ADMIN AKOSHA_TEST_STOP=forget.locked:1:STOP start_serve --data data \
  --bucket bucket --poll-interval 3600
wait_ready
curl -s -X DELETE -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/v1/systems/sys0001" \
  >delete2.out &
DEL=$!
wait_stopped $SERVE_PID
mv held/new1 bucket/systems/sys0001/uploads/20261125_225953_sys0001
"$AKOSHA_BIN" ingest --once --bucket bucket --data data --concurrency 1 --json \
  >ingest2.out 2>ingest2.err &
ING=$!
[ "$(wait_lock_waiter $ING)" -gt 0 ] || fail "the ingest did not wait for the forget holding sys0001: $(cat ingest2.err)"
kill -CONT $SERVE_PID
wait $ING || fail "ingest failed: $(cat ingest2.err)"
wait $DEL
wait_forget_done sys0001
assert_eq "$(jq_py 'd["uploads_ingested"], d["uploads_forgotten"]' <ingest2.out)" "0 6" \
  "the ingest held every upload of both forgotten systems back"
nothing_left sys0001
stop_serve
assert_eq "$serve_rc" 0 "serve exit"
expect_exit 0 akosha verify --data data
echo ok
