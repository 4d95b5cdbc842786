# Attacks on `akosha serve` found by trying to break it (issue 20), each
# reproduced here: subnormal vectors, ids with %00, unauthenticated floods,
# type errors in a query, lying Content-Length, the HTTP library's own log.
source "$AKOSHA_SRC/tests/integration/lib.sh"

TOKEN=hostile-token-0123456789abcdef
python3 - > recs.json <<'PY'
import json, math, random
r = random.Random(7)
v = [r.gauss(0, 1) for _ in range(384)]
n = math.sqrt(sum(x * x for x in v))
json.dump([{"id": "tiny", "content": "subnormal embedding", "embedding": [1e-45] * 384},
           {"id": "fine", "content": "a normal embedding", "embedding": [x / n for x in v]}],
          open("recs.json", "w"))
json.dump([x / n for x in v], open("fine.json", "w"))
PY
mkupload bucket tinysys u1 --records @recs.json
akosha ingest --once --bucket bucket --data data --json > ingest.json
db=data/$(akosha shard tinysys | cut -d' ' -f2)

# --- a stored vector whose norm underflows is text-only -------------------
assert_eq "$(sqlite3 "$db" "SELECT conversation_id, embedding IS NULL FROM hot ORDER BY 1" | tr '\n' ' ')" \
  "fine|0 tiny|1 " "a subnormal embedding is not stored as a vector"

start_serve --data data --tokens "$TOKEN" --poll-interval 3600
wait_ready

# --- a query vector whose norm underflows: 400 with the reason -------------
http POST /v1/search "{\"vector\":$(python3 -c 'print([1e-45]*384)')}" "$TOKEN"
assert_eq "$status" 400 "subnormal query vector"
assert_contains "$body" "vector: its norm underflows" "reason for a subnormal query"
# ... and a threshold means what it says: every score finite and above it
http POST /v1/search "{\"vector\":$(cat fine.json),\"threshold\":0.9}" "$TOKEN"
assert_eq "$status" 200 "threshold search"
assert_eq "$(echo "$body" | jq_py '[(r["conversation_id"], r["score"] is not None and r["score"] >= 0.9) for r in d["results"]]')" \
  "[('fine', True)]" "only the real match passes threshold 0.9"

# --- type errors are 400, not guessed at ----------------------------------
for bad in '"hot"' '"hot,warm"' '{"hot":1}' '[]' '["hot",1]' '["cold"]'; do
  http POST /v1/search "{\"text\":\"embedding\",\"tiers\":$bad}" "$TOKEN"
  assert_eq "$status" 400 "tiers: $bad"
  assert_contains "$body" "tiers: " "reason for tiers: $bad"
done
http POST /v1/search '{"text":"embedding","tiers":["hot"]}' "$TOKEN"
assert_eq "$status" 200 "tiers as a list"

# --- %00 in a path segment would truncate the id: refused ----------------
http GET "/v1/conversations/tinysys/fine%00junk" "" "$TOKEN"
assert_eq "$status" 400 "%00 in a conversation id"
assert_contains "$body" "%00" "reason for %00"
http GET "/v1/systems/tinysys%00x/uploads" "" "$TOKEN"
assert_eq "$status" 400 "%00 in a system id"
http GET "/v1/conversations/tinysys/fine" "" "$TOKEN"
assert_eq "$status" 200 "the same id without %00"

# --- a huge Content-Length with a small body: 413 at once, not held open --
python3 - "$PORT" > cl.txt <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n{}")
s.settimeout(20)  # a bound for a broken server, not a measurement
print(s.recv(4096).decode().split("\r\n")[0])
PY
assert_eq "$(cat cl.txt)" "HTTP/1.1 413 Content Too Large" "early 413"

# --- libmicrohttpd's own messages go through our JSON log ----------------
# A header line without a colon: the library answers 400 itself, and logs
# why before it answers.
python3 - "$PORT" > malformed.txt <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /health HTTP/1.1\r\nHost\r\n\r\n")
s.settimeout(20)
print(s.recv(4096).decode(errors="replace").split("\r\n")[0])
PY
assert_eq "$(cat malformed.txt)" "HTTP/1.1 400 Bad Request" "a malformed header line"
grep -q '"component":"http","msg":"libmicrohttpd: ' serve.log || fail "no libmicrohttpd message in the log"

stop_serve
assert_eq "$serve_rc" 0 "serve exit"
python3 - <<'PY' || fail "serve.log has lines that are not JSON"
import json
for line in open("serve.log"):
    json.loads(line)
PY

# --- invalid tokens are rate-limited by address ---------------------------
# 0.01/s: no refill while the test runs, however slow (sanitizers)
start_serve --data data --tokens "$TOKEN" --rate-limit 0.01 --rate-burst 3
wait_ready
codes=""
for i in 1 2 3 4 5; do http GET /v1/systems "" wrong-token-0123456789abcdef; codes="$codes $status"; done
assert_eq "$codes" " 401 401 401 429 429" "guessing tokens is rate-limited"
http GET /v1/systems "" "$TOKEN"
assert_eq "$status" 200 "a valid token has its own bucket"
stop_serve
