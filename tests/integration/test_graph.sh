# The knowledge graph (issue 16): Session-Buddy's knowledge_graph.duckdb in
# its uploads (made with @duckdb/node-api in its schema, tests/integration/
# mkkg.mjs) and its create_entity / create_relation pushes.  Proves:
#  - the same entity (type and name) from two systems is one node, its
#    observations merged, each system's provenance kept;
#  - relations resolve through each system's own ids (or a name), a path
#    crosses systems, a relation to an entity never sent is dangling;
#  - a re-sent snapshot is all duplicates, an edited one updates, an older
#    file (columns added later missing, the oldest DuckDB) is read;
#  - garbage (no graph tables, not DuckDB, truncated, a bad checksum)
#    rejects the upload with its reason and keeps nothing of it;
#  - pushes answer {"id"}, a re-sent push is a duplicate, a push without a
#    system is refused; they reach the bucket as uploads and a lost data
#    directory is rebuilt from the bucket with the same graph;
#  - forgetting a system removes what only it contributed;
#  - a graph payload holds the graph's write lock only while it is written;
#  - SIGKILL after the graph's commit (before the ledger's) and inside
#    forget: the next run ends in the same graph, no second rows;
#  - the CLI, the HTTP endpoints, the Prometheus gauges and the MCP tools
#    (official SDK, stdio and HTTP) answer from the same graph.
source "$AKOSHA_SRC/tests/integration/lib.sh"
source "$AKOSHA_SRC/tests/integration/duckdb_lib.sh"

PY=/usr/bin/python3; [ -x $PY ] || PY=python3
A=Les-MacBook-Pro.local B=build-03.ci.example.com
kg() { mkdir -p "$(dirname "$2")"; node "$AKOSHA_SRC/tests/integration/mkkg.mjs" "$@" || fail "mkkg $*"; }
ingest() {
  local rc=0
  akosha ingest --once --bucket bucket --data data --retry-base-seconds 0 --json "$@" || rc=$?
  [ "$rc" -le 1 ] || fail "akosha ingest exited $rc"
}
ledger() { akosha uploads --data data --json | jq_py "[r for r in d if r['upload_id'] == '$1'][0]['$2']"; }
graph() { akosha graph --data data "$@"; }
field() { echo "$1" | $PY -c "import json,sys; d=json.load(sys.stdin); v=($2); print(' '.join(map(str, v)) if isinstance(v, tuple) else v)"; }

kg "$new_mods/node_modules" files/a/knowledge_graph.duckdb a
kg "$new_mods/node_modules" files/b/knowledge_graph.duckdb b
kg "$new_mods/node_modules" files/a2/knowledge_graph.duckdb a2
kg "$old_mods/node_modules" files/old/knowledge_graph.duckdb old
kg "$new_mods/node_modules" files/empty/knowledge_graph.duckdb empty

# ---- two systems, one graph ---------------------------------------------------
sb_upload $A 20250601_120000_$A gzip files/a/knowledge_graph.duckdb
sb_upload $B 20250601_120000_$B none files/b/knowledge_graph.duckdb
run=$(ingest)
assert_eq "$(field "$run" 'd["uploads_ingested"], d["conversations_ingested"]')" "2 0" "graph uploads ingested, no memories"
assert_eq "$(ledger 20250601_120000_$A reason)" "knowledge graph: 3 entities (3 new), 3 relations (3 new)" "A's note"
out=$(graph neighbours project:akosha --json)
assert_eq "$(field "$out" 'd["entity"]["observations"]')" "['aggregates memories', 'serves MCP tools']" "observations merged"
assert_eq "$(field "$out" '[s["system"] + "/" + s["original_id"] for s in d["entity"]["sources"]]')" \
  "['$A/a-2', '$B/b-2']" "provenance: each system's own id"
assert_eq "$(field "$out" 'sorted((n["direction"], n["edge_type"], n["entity_id"]) for n in d["neighbors"])')" \
  "[('in', 'works_on', 'person:alice'), ('in', 'works_on', 'person:bob'), ('out', 'uses', 'library:duckdb'), ('out', 'uses', 'library:sqlite')]" \
  "neighbours from both systems (B's relation named sqlite by name)"
out=$(graph path person:alice library:sqlite --json)
assert_eq "$(field "$out" 'd["path"], d["hops"]')" "['person:alice', 'project:akosha', 'library:sqlite'] 2" "a path across systems"
assert_eq "$(field "$out" '[e["system"] for e in d["edges"]]')" "['$A', '$B']" "each step's system"
assert_eq "$(graph path person:alice person:bob --max-hops 1)" "no path from person:alice to person:bob within 1 hops" "max_hops bounds it"
out=$(graph neighbours library:duckdb --type depends_on --json)
assert_eq "$(field "$out" 'sorted(n["direction"] for n in d["neighbors"])')" "['in', 'out']" "a self-loop, both ways"
stats=$(graph stats --json)
assert_eq "$(field "$stats" 'd["total_entities"], d["total_edges"], d["merged_entities"], d["dangling_relations"]')" "5 5 1 1" "statistics"
assert_eq "$(graph find a)" "$(printf 'project:akosha\nperson:alice')" "find by prefix"
assert_eq "$(graph find --type library)" "$(printf 'library:duckdb\nlibrary:sqlite')" "find by type"
assert_contains "$(graph neighbours project:akosha)" "<- works_on person:bob" "human output"

# the MCP tools, through the official SDK, over stdio
npm_deps "$AKOSHA_SRC/tests/integration/mcp"
node "$AKOSHA_SRC/tests/integration/mcp/graph_client.mjs" stdio "$AKOSHA_BIN" data > mcp_stdio.log 2>&1 ||
  { cat mcp_stdio.log; fail "graph MCP tools over stdio"; }
grep -q "ok: all" mcp_stdio.log || fail "stdio graph client did not finish"
# ... and over streamable HTTP
start_serve --data data --poll-interval 3600
wait_ready
node "$AKOSHA_SRC/tests/integration/mcp/graph_client.mjs" http "http://127.0.0.1:$PORT/mcp" > mcp_http.log 2>&1 ||
  { cat mcp_http.log; fail "graph MCP tools over HTTP"; }
grep -q "ok: all" mcp_http.log || fail "HTTP graph client did not finish"
stop_serve

# ---- snapshots repeat everything ------------------------------------------------
graph_rows() { sqlite3 data/graph.db "SELECT e.system, e.orig_id, n.type, n.name, e.observations, hex(e.digest) FROM g_entity e JOIN g_node n ON n.id = e.node ORDER BY 1, 2; SELECT system, orig_id, src, dst, type, hex(digest) FROM g_relation ORDER BY 1, 2"; }
before=$(graph_rows)
sb_upload $A 20250602_120000_$A gzip files/a/knowledge_graph.duckdb
ingest >/dev/null
assert_eq "$(ledger 20250602_120000_$A reason)" "knowledge graph: 3 entities (3 duplicate), 3 relations (3 duplicate)" "a re-sent snapshot: duplicates"
assert_eq "$(graph_rows)" "$before" "and nothing changed"
sb_upload $A 20250603_120000_$A gzip files/a2/knowledge_graph.duckdb
ingest >/dev/null
assert_eq "$(ledger 20250603_120000_$A reason)" \
  "knowledge graph: 4 entities (1 new, 1 updated, 2 duplicate), 4 relations (1 new, 3 duplicate)" "an edited snapshot"
assert_eq "$(field "$(graph stats --json)" 'd["total_entities"], d["entity_sources"]')" "6 7" "never a second row"
# an older file from the oldest DuckDB: relationships without updated_at or properties
sb_upload old.example 20250601_120000_old.example gzip files/old/knowledge_graph.duckdb
ingest >/dev/null
assert_eq "$(ledger 20250601_120000_old.example reason)" "knowledge graph: 3 entities (3 new), 3 relations (3 new)" "an older schema"

# ---- garbage: rejected with the reason, nothing kept ----------------------------
bad() { # name file reason
  sb_upload "$1" "20250601_120000_$1" gzip "$2"
  ingest >/dev/null 2>&1
  assert_eq "$(ledger "20250601_120000_$1" status)" rejected "$1 rejected"
  assert_contains "$(ledger "20250601_120000_$1" reason)" "$3" "$1's reason"
  assert_eq "$(sqlite3 data/graph.db "SELECT count(*) FROM g_entity WHERE system = '$1'")" 0 "nothing of $1 kept"
}
bad kg-empty files/empty/knowledge_graph.duckdb "no knowledge graph: neither kg_entities"
mkdir -p files/junk files/trunc && head -c 5000 /dev/urandom > files/junk/knowledge_graph.duckdb
bad kg-junk files/junk/knowledge_graph.duckdb "not a DuckDB database"
head -c 20000 files/a/knowledge_graph.duckdb > files/trunc/knowledge_graph.duckdb
bad kg-trunc files/trunc/knowledge_graph.duckdb "knowledge_graph.duckdb"
sb_upload kg-sum 20250601_120000_kg-sum gzip files/a/knowledge_graph.duckdb
$PY - bucket/systems/kg-sum/uploads/20250601_120000_kg-sum/manifest.json <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1])); m["files"][0]["checksum"] = "0" * 64; json.dump(m, open(sys.argv[1], "w"))
PYEOF
ingest >/dev/null 2>&1
assert_contains "$(ledger 20250601_120000_kg-sum reason)" "checksum: manifest says 0000" "a bad checksum rejects it"
assert_eq "$(sqlite3 data/graph.db "SELECT count(*) FROM g_entity WHERE system = 'kg-sum'")" 0 "its graph rolled back"
expect_exit 1 graph neighbours project:nothing
expect_exit 2 graph teleport x
expect_exit 2 graph path only-one

# ---- pushes -----------------------------------------------------------------------
mkdir -p s3bucket
start_serve --data data --bucket s3bucket --poll-interval 3600
wait_ready
base=http://127.0.0.1:$PORT/mcp
sb() { $PY "$AKOSHA_SRC/tests/integration/sb_push.py" "$@"; }
ent='{"name":"akosha","entity_type":"project","observations":["pushed over HTTP"],"properties":{"source_system":"pusher.local","original_id":"p-1","created_at":"2026-11-02T10:00:00"},"metadata":{}}'
out=$(sb raw "$base" create_entity "$ent")
assert_eq "$(field "$out" 'd["result"]["status"], d["result"]["id"], d["result"]["system"]')" "stored project:akosha pusher.local" "create_entity answers its id"
assert_contains "$(field "$out" 'd["result"]["note"]')" "1 entity (1 new)" "and what it stored"
out=$(sb raw "$base" create_entity "$ent")
assert_contains "$(field "$out" 'd["result"]["note"]')" "1 entity (1 duplicate)" "a re-sent push is a duplicate"
rel='{"from_entity":"p-1","to_entity":"p-2","relation_type":"mentions","properties":{"source_system":"pusher.local","original_id":"pr-1"}}'
out=$(sb raw "$base" create_relation "$rel")
assert_eq "$(field "$out" 'd["result"]["status"], d["result"]["id"]')" "stored pr-1" "create_relation answers its id"
ent2='{"name":"zstd","entity_type":"library","observations":[],"properties":{"source_system":"pusher.local","original_id":"p-2"}}'
sb raw "$base" create_entity "$ent2" >/dev/null
http POST /v1/graph/neighbours '{"entity_id":"library:zstd"}'
assert_eq "$status $(field "$body" 'sorted((n["entity_id"], n["edge_type"], n["systems"]) for n in d["neighbors"])')" \
  "200 [('project:akosha', 'mentions', ['pusher.local']), ('project:akosha', 'uses', ['$A'])]" \
  "pushed and uploaded relations meet on the same nodes"
out=$(sb raw "$base" create_entity '{"name":"x","entity_type":"t"}')
assert_eq "$(field "$out" 'd["result"]["status"], "id" in d["result"]')" "rejected False" "no system: refused, no id"
assert_contains "$(field "$out" 'd["result"]["error"]')" "source_system" "and says why"
out=$(sb raw "$base" create_relation '{"from_entity":"a","relation_type":"r","properties":{"source_system":"pusher.local"}}')
assert_contains "$(field "$out" 'd["result"]["error"]')" "to_entity: required" "a relation without its end"
# the HTTP endpoints and the gauges
http POST /v1/graph/path '{"source_id":"library:zstd","target_id":"person:bob","max_hops":3}'
assert_eq "$status $(field "$body" 'd["path"]')" "200 ['library:zstd', 'project:akosha', 'person:bob']" "HTTP path"
http POST /v1/graph/entities '{"prefix":"z"}'
assert_eq "$(field "$body" '[e["entity_id"] for e in d["entities"]]')" "['library:zstd']" "HTTP entities"
http GET /v1/graph/stats
assert_eq "$status $(field "$body" 'd["total_entities"]')" "200 6" "HTTP stats"
http POST /v1/graph/neighbours '{"entity_id":"nobody:here"}';  assert_eq "$status" 404 "unknown entity"
http POST /v1/graph/neighbours '{"entity_id":"x","limit":-1}'; assert_eq "$status" 400 "bad limit"
http POST /v1/graph/neighbours 'not json';                     assert_eq "$status" 400 "not JSON"
http GET /v1/graph/neighbours;                                 assert_eq "$status" 405 "wrong method"
http GET /v1/graph/teleport;                                   assert_eq "$status" 404 "unknown graph endpoint"
metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
assert_contains "$metrics" "akosha_graph_entities 6" "gauge: entities"
assert_contains "$metrics" "akosha_graph_systems 4" "gauge: systems"
# the shipper's first pass may not have run yet (the gauge reads 0 before
# it counts): wait for the batches to be in the bucket and the gauge at 0
unshipped() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "akosha_push_unshipped_batches" {print $2}'; }
shipped() { find s3bucket -name graph.jsonl | wc -l; }
for _ in $(seq 1 600); do [ "$(shipped)" = 4 ] && [ "$(unshipped)" = 0 ] && break; sleep 0.1; done
assert_eq "$(unshipped)" 0 "every push batch shipped"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"

# pushed items reached the bucket as uploads: a lost data directory is rebuilt
# from the bucket (uploads and pushed batches) with the same graph
assert_eq "$(find s3bucket -name graph.jsonl | wc -l)" 4 "every stored push in the bucket"
cp -r bucket/systems s3bucket/
want=$(graph_rows)
mv data lost
akosha ingest --once --bucket s3bucket --data data --retry-base-seconds 0 --json >/dev/null 2>&1 || true
assert_eq "$(graph_rows)" "$want" "the same graph rebuilt from the bucket"

# ---- forget: what only the system contributed goes ----------------------------------
out=$(akosha forget --data data $B --json)
assert_eq "$(field "$out" 'd["knowledge_graph"]["entities"], d["knowledge_graph"]["relations"], d["knowledge_graph"]["nodes"]')" "3 3 2" "forget counts B's graph"
out=$(graph neighbours project:akosha --json)
assert_eq "$(field "$out" '"serves MCP tools" in d["entity"]["observations"], sorted(s["system"] for s in d["entity"]["sources"])')" \
  "False ['$A', 'old.example', 'pusher.local']" "the shared entity stays, without B"
expect_exit 1 graph neighbours library:sqlite
expect_exit 1 graph neighbours person:bob

# ---- crash safety: SIGKILL at the graph's own instants ------------------------------
# killed after the graph committed, before the upload's ledger row: the next
# run applies the upload again and finds duplicates, never second rows
sb_upload crash.local 20250601_120000_crash.local gzip files/b/knowledge_graph.duckdb
kill_at ingest.graph_committed ingest --once --bucket bucket --data data --retry-base-seconds 0
rows=$(sqlite3 data/graph.db "SELECT count(*) FROM g_entity WHERE system = 'crash.local'")
assert_eq "$rows" 3 "the graph committed before the kill"
ingest >/dev/null
assert_eq "$(ledger 20250601_120000_crash.local reason)" \
  "knowledge graph: 3 entities (3 duplicate), 3 relations (3 duplicate)" "applied again: duplicates"
assert_eq "$(sqlite3 data/graph.db "SELECT count(*) FROM g_entity WHERE system = 'crash.local'")" 3 "no second rows"
# killed as forget reaches the graph: the tombstone holds, forget again finishes
kill_at forget.graph forget --data data crash.local
assert_eq "$(sqlite3 data/graph.db "SELECT count(*) FROM g_entity WHERE system = 'crash.local'")" 3 "nothing removed yet"
akosha forget --data data crash.local --json >/dev/null
assert_eq "$(sqlite3 data/graph.db "SELECT count(*) FROM g_entity WHERE system = 'crash.local'")" 0 "forget finished"

# ---- the graph's write lock: held while graph items are written, not for the upload --
# graph first, then memories: stopped once every payload is read (the memories
# not committed yet), the graph is committed and another writer locks it at once
mk "$new_mods/node_modules" files/mem/reflection.duckdb v2 5
sb_upload lock.local 20250601_120000_lock.local gzip files/b/knowledge_graph.duckdb files/mem/reflection.duckdb
AKOSHA_TEST_STOP=ingest.streamed:1:STOP "$AKOSHA_BIN" ingest --once --bucket bucket --data data \
  --retry-base-seconds 0 --json >lock.out 2>lock.err &
ING=$!
for _ in $(seq 1 600); do [ "$(awk '{print $3}' /proc/$ING/stat 2>/dev/null)" = T ] && break; sleep 0.05; done
assert_contains "$(cat lock.err)" "test stop point ingest.streamed#1" "stopped with the memories written, not committed"
out=$(sqlite3 -cmd ".timeout 0" data/graph.db \
  "BEGIN IMMEDIATE; SELECT count(*) FROM g_entity WHERE system = 'lock.local'; COMMIT;" 2>&1 || true)
kill -CONT $ING
wait $ING || fail "ingest failed: $(cat lock.err)"
assert_eq "$out" 3 "the graph committed and unlocked while the upload goes on"
assert_eq "$(ledger 20250601_120000_lock.local status)" ingested "the memories stored after"
