# The push shipper copies a batch to the bucket holding none of the
# system's locks (server/push.c ship_one), so a push of that system does
# not wait for the copy; a forget (DELETE /v1/systems/{id}, the runner
# thread) may then run beside it, deleting the system's outbox batches
# and purging its bucket objects before the copy lands.  The daemon is
# frozen right after the copy (a STOP test point); what such a forget
# leaves is made by hand (a frozen daemon answers no DELETE, and the CLI
# forget refuses while it runs): the batch gone from the outbox, the copy
# in the bucket.  When the daemon goes on, its shipper finds the batch
# gone and deletes the copy from the bucket: the forget is not undone.
source "$AKOSHA_SRC/tests/integration/lib.sh"

PY=/usr/bin/python3; [ -x $PY ] || PY=python3
SID=forgotten-host.example
mkdir bucket
AKOSHA_TEST_STOP=push.ship_copied:1:STOP start_serve --data data --bucket bucket \
  --poll-interval 3600
wait_ready
$PY "$AKOSHA_SRC/tests/integration/sb_push.py" sync "http://127.0.0.1:$PORT/mcp" \
  --system $SID --count 3 >push.out 2>push.err &
PUSH=$!
wait_stopped $SERVE_PID
in_bucket() { find bucket/systems -type f 2>/dev/null | wc -l; }
assert_eq "$(in_bucket)" 2 "the batch copied to the bucket (payload, manifest), the daemon frozen"
assert_eq "$(find data/outbox/systems/$SID -name manifest.json | wc -l)" 1 "still in the outbox"
rm -r data/outbox/systems/$SID # as the forget deletes it
kill -CONT $SERVE_PID
wait $PUSH || fail "push failed: $(cat push.err)"
for _ in $(seq 1 600); do
  grep -q 'forgotten while they were copied' serve.log && break
  sleep 0.05
done
grep -q 'forgotten while they were copied' serve.log \
  || fail "the shipper never saw the batch forgotten: $(tail -5 serve.log)"
assert_eq "$(in_bucket)" 0 "the copy is deleted from the bucket again"
assert_eq "$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "akosha_push_shipped_total" {print $2}')" \
  0 "not counted as shipped"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"
echo ok
