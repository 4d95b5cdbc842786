# Host-name system ids (SPEC section 2, as Session-Buddy sends them: its
# default id is $HOSTNAME): ingested, searched, fetched, listed and aged to
# cold under their own ids through the CLI, the HTTP API and MCP, with every
# file they name inside the data directory and the cold store.
source "$AKOSHA_SRC/tests/integration/lib.sh"

MAC=Les-MacBook-Pro.local
CI=build-03.ci.example.com
# the longest id there may be: 253 characters, dots included
LONG=$(python3 -c "print(('node-' + 'x' * 58 + '.') * 3 + 'y' * 49 + '.example.org')")
[ ${#LONG} -eq 253 ] || fail "LONG is ${#LONG} characters"

for sid in "$MAC" "$CI"; do
  mkupload bucket "$sid" "20261101_100000_$sid" --layout 2 --count 4
done
# (Session-Buddy's upload ids embed the system id; SPEC caps upload ids at 100)
mkupload bucket "$LONG" 20261101_100000_long --layout 2 --count 4
# ids a host name may not be: refused with a reason, never a path
for sid in .hidden a..b; do mkupload bucket "$sid" u1 --count 1; done

expect_stdout 0 akosha ingest --once --bucket bucket --data data --json
assert_eq "$(echo "$out" | jq_py 'd["systems_invalid"]')" "2" "dot-led and '..' ids refused"
assert_contains "$errout" "starts with '.'" "reason for a leading dot"
assert_contains "$errout" "contains '..'" "reason for '..'"
for sid in "$MAC" "$CI" "$LONG"; do
  assert_eq "$(akosha uploads --data data --system "$sid" --json | jq_py 'd[0]["status"]')" "ingested" \
    "upload of ${sid:0:30}"
done

# each database is where `akosha shard` says, inside the data directory
for sid in "$MAC" "$CI" "$LONG"; do
  rel=$(akosha shard "$sid" | cut -d' ' -f2)
  [ -f "data/$rel" ] || fail "no database at data/$rel"
done
assert_contains "$(akosha shard "$LONG")" "~/" "a 253-character id is split into directory and file"
real_data=$(realpath data)
find data -name '*.db' | while read -r f; do
  case "$(realpath "$f")" in "$real_data"/shard_*) ;; *) fail "database outside its shard: $f" ;; esac
done
expect_stdout 0 akosha stats --data data --json
assert_eq "$(echo "$out" | jq_py 'd["systems"]')" "3" "stats count the three systems"

# CLI search and get under the host-name id
expect_stdout 0 akosha search --data data --text "conversation" --system "$MAC" --json
assert_eq "$(echo "$out" | jq_py 'sorted({r["system_id"] for r in d["results"]})')" "['$MAC']" \
  "search filtered by a host-name id"
expect_stdout 0 akosha search --data data --like "$LONG/c1" --limit 1 --json
assert_eq "$(echo "$out" | jq_py 'd["results"][0]["system_id"]')" "$LONG" "--like with a 253-character id"
expect_stdout 0 akosha get --data data "$CI" c2 --json
assert_eq "$(echo "$out" | jq_py 'd["system_id"]')" "$CI" "get by host-name id"

# HTTP API
start_serve --data data
http GET "/v1/systems/$MAC/uploads"
assert_eq "$status" "200" "GET /v1/systems/<host name>/uploads"
http GET "/v1/conversations/$LONG/c3"
assert_eq "$status" "200" "GET a conversation of a 253-character id"
assert_eq "$(echo "$body" | jq_py 'd["conversation_id"]')" "c3" "the conversation asked for"
http GET "/v1/systems/.hidden/uploads"
assert_eq "$status" "400" "a dot-led id is refused over HTTP"
http POST /v1/search "{\"text\": \"conversation\", \"system_id\": \"$CI\"}"
assert_eq "$(echo "$body" | jq_py 'sorted({r["system_id"] for r in d["results"]})')" "['$CI']" \
  "HTTP search by host-name id"
stop_serve

# MCP over stdio
python3 - "$AKOSHA_BIN" "$MAC" <<'PY' || fail "MCP get_conversation with a host-name id"
import json, subprocess, sys
p = subprocess.Popen([sys.argv[1], "mcp", "--data", "data"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True)
def call(msg):
    p.stdin.write(json.dumps(msg) + "\n"); p.stdin.flush()
    return json.loads(p.stdout.readline()) if "id" in msg else None
call({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
      "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
call({"jsonrpc": "2.0", "method": "notifications/initialized"})
r = call({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
          "name": "get_conversation", "arguments": {"system_id": sys.argv[2], "conversation_id": "c0"}}})
p.stdin.close(); p.wait()
sc = r["result"]["structuredContent"]
assert not r["result"].get("isError") and sc["system_id"] == sys.argv[2], r
PY

# aged to cold: every object under the cold store, one prefix per system
expect_stdout 0 akosha age --data data --now 2027-06-01T00:00:00Z --json
assert_eq "$(echo "$out" | jq_py 'd["warm_to_cold"]["conversations"]')" "12" "every row reached cold"
real_cold=$(realpath data/cold)
find data/cold -type f | while read -r f; do
  case "$(realpath "$f")" in "$real_cold"/system_id=*) ;; *) fail "cold object outside its prefix: $f" ;; esac
done
assert_eq "$(ls data/cold | wc -l)" "3" "one cold prefix per system"
expect_stdout 0 akosha get --data data "$LONG" c1 --json
assert_eq "$(echo "$out" | jq_py 'd["tier"]')" "cold" "a 253-character id's conversation read back from cold"
expect_stdout 0 akosha verify --data data --deep --json
echo "ok"
