# The push keeps a system's database open between batches (server/pushdb.h);
# a kept connection must never write a file that is no longer the system's
# database.  A running daemon pushes a system; it is forgotten (DELETE,
# which deletes the database while the push still holds it open), and the
# next push must land in a new database that another process reads.  Then
# a database renamed over the kept one (what reingest does) likewise.
source "$AKOSHA_SRC/tests/integration/lib.sh"

PY=/usr/bin/python3; [ -x $PY ] || PY=python3
sb() { $PY "$AKOSHA_SRC/tests/integration/sb_push.py" "$@"; }
field() { echo "$1" | $PY -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
SID=Kept-Laptop.local
ADMIN=admin-token-0123456789abcdef
# one memory dated after any tombstone written today
LATER='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"store_memory",
 "arguments":{"memory_id":"later-1","text":"written after the forget","embedding":null,
 "metadata":{"source":"'$SID'","created_at":"2099-01-01T00:00:00"}}}}'

AKOSHA_ADMIN_TOKENS=$ADMIN start_serve --data data --poll-interval 3600
wait_ready
B=http://127.0.0.1:$PORT/mcp
out=$(sb sync "$B" --system $SID --count 5)
assert_eq "$(field "$out" 'd["count"]')" 5 "first push stored"
assert_eq "$(hot_count data $SID)" 5 "in the database"

# ---- forget deletes the database the push keeps open ------------------------
http DELETE /v1/systems/$SID "" "$ADMIN"
assert_eq "$status" 200 "forget accepted"
for _ in $(seq 1 600); do
  http GET "/v1/systems/$SID/forget" "" "$ADMIN"
  [ "$(echo "$body" | jq_py 'd.get("state")')" = done ] && break
  sleep 0.05
done
assert_eq "$(echo "$body" | jq_py 'd.get("state")')" done "forget finished"
assert_eq "$(hot_count data $SID)" 0 "forgotten: no database"
http POST /mcp/mcp/v1 "$LATER"
assert_eq "$(echo "$body" | jq_py 'd["result"]["status"], d["result"]["new"]')" "stored 1" \
  "a memory dated after the forget is stored"
assert_eq "$(hot_count data $SID)" 1 \
  "in the system's new database, not the deleted one the push had kept open"

# ---- a database renamed over the kept one ----------------------------------
db="data/$(akosha shard $SID | cut -d' ' -f2)"
sqlite3 "$db" "VACUUM INTO '$db.new'"
sqlite3 "$db.new" "DELETE FROM hot"
mv "$db.new" "$db"
rm -f "$db-wal" "$db-shm" # as reingest does: they were the old file's
http POST /mcp/mcp/v1 "$LATER"
assert_eq "$(echo "$body" | jq_py 'd["result"]["new"], d["result"]["duplicates"]')" "1 0" \
  "a push after a rename reads the new file (the old one held the memory)"
assert_eq "$(hot_count data $SID)" 1 "and writes it"
stop_serve
