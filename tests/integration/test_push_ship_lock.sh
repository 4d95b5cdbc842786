# The push shipper (server/push.c, ship_one) uses a system's database only
# while it holds that system's lock (storage/syslock.h), as a pushed batch
# and every other writer of the system do: a forget running beside it
# deletes the database and the outbox batches under that lock, and a
# shipper without it re-created the forgotten database.  The daemon is
# frozen at the stop point where the shipper holds the lock (a STOP test
# point); a separate `akosha ingest` with news of the same system must
# then wait for that lock (the kernel's list of blocked locks), never
# sleeps; once the daemon goes on, both finish and the store verifies.
source "$AKOSHA_SRC/tests/integration/lib.sh"

PY=/usr/bin/python3; [ -x $PY ] || PY=python3
SID=sys0000
akosha generate --out bucket --systems 1 --uploads 1 --conversations 20 \
  --now 2026-11-26T00:00:00Z >/dev/null
# the system's upload arrives only after the daemon's first cycle
mkdir held
mv bucket/systems/$SID held/
AKOSHA_TEST_STOP=push.ship_locked:1:STOP start_serve --data data --bucket bucket \
  --poll-interval 3600
wait_ready
mkdir -p bucket/systems
mv held/$SID bucket/systems/

# a push of the system wakes the shipper, which stops holding its lock
$PY "$AKOSHA_SRC/tests/integration/sb_push.py" sync "http://127.0.0.1:$PORT/mcp" \
  --system $SID --count 3 >push.out 2>push.err &
PUSH=$!
wait_stopped $SERVE_PID
"$AKOSHA_BIN" ingest --once --bucket bucket --data data --concurrency 1 --json \
  >ingest.out 2>ingest.err &
ING=$!
waiting=$(wait_lock_waiter $ING)
kill -CONT $SERVE_PID
[ "$waiting" -gt 0 ] || fail "the ingest did not wait for the shipper holding $SID: $(cat ingest.err)"
wait $ING || fail "ingest failed: $(cat ingest.err)"
wait $PUSH || fail "push failed: $(cat push.err)"
assert_eq "$(jq_py 'd["uploads_ingested"]' <ingest.out)" 1 "the ingest stored its upload"
assert_eq "$(jq_py 'd["count"]' <push.out)" 3 "the push stored its batch"
assert_eq "$(hot_count data $SID)" 23 "both in the system's database"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"
expect_exit 0 akosha verify --data data
echo ok
