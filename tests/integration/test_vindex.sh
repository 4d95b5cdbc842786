# The vector index (src/index/): a search through it answers exactly what
# the exact scan answers after ingestion, aging, forget and reingest, before
# and after the index caught up; a damaged or half-written index file is
# noticed and rebuilt; a restarted serve maps the saved index and binds
# every system without adding a node; damage only the file's checksum can
# show (a byte of a vector) is found by serve's checksum pass after it is
# ready, counted, and the graph rebuilt.
source "$AKOSHA_SRC/tests/integration/lib.sh"

CUT=2026-11-27T00:00:00Z
akosha generate --out bucket --systems 4 --uploads 2 --conversations 300 --span-days 200 \
  --now 2026-11-26T00:00:00Z >/dev/null
akosha ingest --once --bucket bucket --data data --quiet >/dev/null

# query vectors: stored hot vectors of two systems, and a blend of them
db_of() { echo "data/$(akosha shard "$1" | cut -d' ' -f2)"; }
for s in sys0000 sys0002; do
  sqlite3 "$(db_of $s)" "SELECT hex(embedding) FROM hot WHERE embedding IS NOT NULL ORDER BY id LIMIT 1 OFFSET 17" |
    python3 -c "import struct,sys,json; b=bytes.fromhex(sys.stdin.read().strip()); print(json.dumps(list(struct.unpack('<384f', b))))" > q_$s.json
done
python3 -c "import json; a=json.load(open('q_sys0000.json')); b=json.load(open('q_sys0002.json')); print(json.dumps([x+y for x,y in zip(a,b)]))" > q_mix.json

answer() { # vector-file extra-args...
  akosha search --data data --vector "$@" --limit 10 --json |
    jq_py '[(r["system_id"], r["conversation_id"], r["tier"], round(r["score"], 5)) for r in d["results"]]'
}
same() { # label: index and exact agree for every query and filter
  local q f
  for q in q_*.json; do
    for f in "" "--tiers warm,cold" "--since 2026-10-01T00:00:00Z"; do
      # shellcheck disable=SC2086
      assert_eq "$(answer $q $f)" "$(answer $q $f --exact)" "$1: $q $f"
    done
  done
}
index_json() { akosha index --data data --json; }

out=$(index_json)
nodes=$(echo "$out" | jq_py 'd["nodes"]')
assert_eq "$(echo "$out" | jq_py 'd["added"] == d["nodes"] > 1000, d["deleted"], d["systems_bound"]')" \
  "True 0 4" "first build"
[ -s data/vectors.akidx ] || fail "no index file"
same "after ingest"
assert_eq "$(index_json | jq_py 'd["added"], d["nodes"]')" "0 $nodes" "nothing to add"

# aging moves rows: the index is out of step until rebuilt, searches stay exact
akosha age --data data --now $CUT >/dev/null
same "after aging, before the index caught up"
out=$(index_json)
assert_eq "$(echo "$out" | jq_py 'd["added"] > 0, d["deleted"] > 0, d["systems_bound"]')" "True True 4" "after aging"
same "after aging"

akosha forget --data data sys0001 --now $CUT >/dev/null
same "after forget, before the index caught up"
assert_eq "$(index_json | jq_py 'd["systems_bound"]')" "3" "forget: the system is dropped"
for q in q_*.json; do
  [[ "$(answer $q --limit 100)" != *sys0001* ]] || fail "a forgotten system is found"
done

akosha reingest --data data --bucket bucket --system sys0002 >/dev/null
same "after reingest"
index_json >/dev/null

# a damaged file: --check and verify say so, searches stay exact, a build replaces it
python3 - <<'PY'
with open("data/vectors.akidx", "r+b") as f:
    f.seek(5000); b = f.read(1); f.seek(5000); f.write(bytes([b[0] ^ 0x55]))
PY
expect_exit 1 akosha index --data data --check
assert_contains "$out" "checksum mismatch" "--check names the damage"
v=$(akosha verify --data data --json || true)
assert_eq "$(echo "$v" | jq_py '[n["check"] for n in d["notices"] if n["check"] == "vector-index"], d["ok"]')" \
  "['vector-index'] True" "verify notices a damaged index"
same "with a damaged index file"
assert_eq "$(index_json | jq_py 'd["added"] == d["nodes"]')" "True" "rebuilt from the databases"
expect_exit 0 akosha index --data data --check

# killed between writing the new file and renaming it: the old file stands
akosha age --data data --now 2027-03-01T00:00:00Z >/dev/null
kill_at vindex.saved_tmp index --data data
expect_exit 0 akosha index --data data --check
same "after a save killed before its rename"
index_json >/dev/null

# serve: catches up in the background, saves at shutdown, maps it at restart
body() { # vector-file exact
  python3 -c "import json,sys; print(json.dumps({'vector': json.load(open(sys.argv[1])), 'limit': 10, 'exact': sys.argv[2] == '1'}))" "$1" "$2"
}
http_answer() {
  http POST /v1/search "$(body "$1" "$2")"
  [ "$status" = 200 ] || fail "search: $status $body"
  echo "$body" | jq_py '[(r["system_id"], r["conversation_id"], round(r["score"], 5)) for r in d["results"]]'
}
wait_log() { # text
  for _ in $(seq 1 300); do
    grep -q "$1" serve.log && return 0
    sleep 0.1
  done
  cat serve.log
  fail "serve never logged '$1'"
}
rm data/vectors.akidx
start_serve --data data --poll-interval 3600
wait_ready
wait_log "vector index in step"
for q in q_*.json; do
  assert_eq "$(http_answer $q 0)" "$(http_answer $q 1)" "serve: $q"
done
http POST /v1/search '{"vector": [1], "exact": "yes"}'
assert_eq "$status" 400 "exact must be a boolean"
# a query near nothing stored (a random direction): the graph's weak case,
# answered by the exact scan and counted; the stored ones were not
fallbacks() { http GET /metrics; echo "$body" | awk '$1 == "akosha_vindex_exact_fallbacks_total" {print $2}'; }
assert_eq "$(fallbacks)" 0 "no fallback for queries with close matches"
python3 -c "import json,random; r=random.Random(7); print(json.dumps([r.gauss(0, 1) for _ in range(384)]))" > far.json
http POST /v1/search "$(body far.json 1)"
best=$(echo "$body" | jq_py 'd["results"][0]["score"] < 0.3')
assert_eq "$best" True "the far query's best match is far: $body"
assert_eq "$(http_answer far.json 0)" "$(http_answer far.json 1)" "serve: a far query"
assert_eq "$(fallbacks)" 1 "the far query fell back to the exact scan"
stop_serve
[ -s data/vectors.akidx ] || fail "serve did not save the index"
start_serve --data data --poll-interval 3600
wait_ready
wait_log "vector index in step"
log=$(grep "vector index in step" serve.log)
assert_contains "$log" "0 added" "restart binds every system without adding"
assert_contains "$log" "3 systems bound" "restart binds every system"
for q in q_*.json; do
  assert_eq "$(http_answer $q 0)" "$(http_answer $q 1)" "serve after restart: $q"
done
stop_serve

# a byte of a vector (the file's tail) damaged: serve's start checks only
# the header, sizes and key table, its first pass the links, then the
# CRC-32 catches it: counted, the graph rebuilt, searches exact throughout
metric() { http GET /metrics; echo "$body" | awk -v m="$1" '$1 == m {print $2}'; }
python3 - <<'PY'
import os
with open("data/vectors.akidx", "r+b") as f:
    at = os.path.getsize("data/vectors.akidx") - 7
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0x21]))
PY
expect_exit 1 akosha index --data data --check
start_serve --data data --poll-interval 3600
wait_ready
wait_log "vector index in step"
assert_contains "$(cat serve.log)" "checksum mismatch; rebuilding it from the databases" "the pass names the damage"
assert_eq "$(metric akosha_vindex_rebuilt_total) $(metric akosha_vindex_unindexed_vectors)" "1 0" \
  "the damaged graph counted and rebuilt"
assert_eq "$(metric akosha_segfiles_rebuilt_total)" 0 "the segment files were sound"
for q in q_*.json; do
  assert_eq "$(http_answer $q 0)" "$(http_answer $q 1)" "serve after the rebuild: $q"
done
stop_serve
expect_exit 0 akosha index --data data --check
