# Segment files (src/query/segfile.c): serve writes one per system beside
# its database and maps it back at the next start.  A file left torn by a
# kill mid-write, a truncated or garbage file, a stale one (the database
# changed since) is detected and rebuilt from the databases, and searches
# answer exactly what the exact scan answers.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 3 --uploads 1 --conversations 200 --span-days 100 \
  --now 2026-11-26T00:00:00Z >/dev/null
akosha ingest --once --bucket bucket --data data --quiet >/dev/null
db_of() { echo "data/$(akosha shard "$1" | cut -d' ' -f2)"; }
sqlite3 "$(db_of sys0001)" "SELECT hex(embedding) FROM hot WHERE embedding IS NOT NULL ORDER BY id LIMIT 1 OFFSET 7" |
  python3 -c "import struct,sys,json; b=bytes.fromhex(sys.stdin.read().strip()); print(json.dumps(list(struct.unpack('<384f', b))))" > q.json
answer() {
  akosha search --data data --vector q.json --limit 10 --json "$@" |
    jq_py '[(r["system_id"], r["conversation_id"], r["tier"], round(r["score"], 5)) for r in d["results"]]'
}
same() { assert_eq "$(answer)" "$(answer --exact)" "$1"; }
exact=$(answer --exact)
[[ "$exact" == *sys0001* ]] || fail "the query finds nothing: $exact"

# killed after writing a file, before its rename: nothing torn is in place
kill_at segfile.saved_tmp serve --data data --listen 127.0.0.1:"$(free_port)" --poll-interval 3600
count() { find data -name "$1" | wc -l; }
tmps=$(count '*.db-seg.tmp')
placed=$(count '*.db-seg')
assert_eq "$((tmps >= 1)) $((placed < 3))" "1 1" "a kill mid-write leaves the temporary file, not a file in place"
same "after a kill mid-write"

# the next start writes every file; the one after maps them (nothing rebuilt)
start_serve --data data --poll-interval 3600
wait_ready
stop_serve
assert_eq "$(count '*.db-seg') $(count '*.db-seg.tmp')" "3 0" "a file per system"
start_serve --data data --poll-interval 3600
wait_ready
http GET /metrics
assert_contains "$body" "akosha_segfiles_rebuilt_total 0" "mapped, not rebuilt"
assert_contains "$body" "akosha_vindex_unindexed_vectors" "index metrics"
stop_serve
same "mapped from the files"

# damaged files: one garbage, one truncated, one stale (aging wrote the database)
python3 - "$(db_of sys0000)-seg" "$(db_of sys0001)-seg" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(200); f.write(b"garbage" * 10)
with open(sys.argv[2], "r+b") as f:
    f.truncate(f.seek(0, 2) // 2)
PY
v=$(akosha verify --data data --json || true)
assert_eq "$(echo "$v" | jq_py 'sorted(n["system_id"] for n in d["notices"] if n["check"] == "segment-file"), d["ok"]')" \
  "['sys0000', 'sys0001'] True" "verify notices the two damaged files"
akosha age --data data --now 2026-12-20T00:00:00Z >/dev/null
same "with damaged and stale files, read by akosha search"
start_serve --data data --poll-interval 3600
wait_ready
http GET /metrics
assert_contains "$body" "akosha_segfiles_rebuilt_total 2" "two damaged files rebuilt"
log=$(cat serve.log)
assert_contains "$log" "checksum mismatch: rebuilt from its database" "garbage noticed"
assert_contains "$log" "truncated or of the wrong size: rebuilt from its database" "truncation noticed"
stop_serve
same "after the rebuild"
start_serve --data data --poll-interval 3600
wait_ready
http GET /metrics
assert_contains "$body" "akosha_segfiles_rebuilt_total 0" "the rebuilt files map at the next start"
stop_serve

# mapped without opening the databases: the files record the databases'
# state (size, mtime, ctime of the database, size and mtime of its WAL),
# but only once that state is settled (mtime 2 s before the check), so
# backdate the files' mtime instead of waiting.  The first start opens
# every database (its ctime changed); closing the last connection
# checkpoints a WAL that still held frames, which writes the files again;
# so backdate once more, and that start opens them, finds the files
# current and records the state; the next two open none.
query=$(jq_py 'json.dumps({"vector": d, "limit": 10, "exact": True})' < q.json)
served() { echo "$body" | jq_py '[(r["system_id"], r["conversation_id"], r["tier"], round(r["score"], 5)) for r in d["results"]]'; }
opens() { echo "$body" | awk '$1 == "akosha_index_db_opens_total" {print $2}'; }
dbfiles() { for s in sys0000 sys0001 sys0002; do echo "$(db_of $s)" "$(db_of $s)-wal"; done; }
before=$(answer --exact)
rows_hot=$(for s in sys0000 sys0001 sys0002; do sqlite3 "$(db_of $s)" "SELECT count(*) FROM hot"; done |
  awk '{n += $1} END {print n}')
for settle in 1 2; do
  touch -c -m -d '2001-01-01' $(dbfiles)
  start_serve --data data --poll-interval 3600
  wait_ready
  http GET /metrics
  assert_contains "$body" "akosha_segfiles_unopened_total 0" "settling $settle: a changed ctime, opened and checked"
  stop_serve
done
for run in 1 2; do
  start_serve --data data --poll-interval 3600
  wait_ready
  http GET /metrics
  assert_contains "$body" "akosha_segfiles_unopened_total 3" "start $run: no database opened"
  # nor did anything else at start, nor that scrape's daily gauges (none
  # written today)
  assert_contains "$body" "akosha_index_db_opens_total 0" "start $run: no database opened at all"
  http GET /metrics
  assert_contains "$body" "akosha_index_db_opens_total 0" "start $run: a scrape opens no database"
  assert_contains "$body" "akosha_daily_systems_active 0" "start $run: daily gauges still rendered"
  assert_contains "$body" "akosha_segfiles_rebuilt_total 0" "start $run: nothing rebuilt"
  assert_contains "$body" "akosha_conversations{tier=\"hot\"} $rows_hot" "start $run: rows counted from the files"
  http POST /v1/search "$query"
  assert_eq "$(served)" "$before" "start $run: served from the unopened files"
  stop_serve
done
# a file damaged while its database stayed the same: mapped unopened
# without its checksum (the start is ready first), then the checksum is
# checked in the background, the file dropped and the system rebuilt
python3 - "$(db_of sys0001)-seg" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(300); f.write(b"garbage" * 10)
PY
start_serve --data data --poll-interval 3600
wait_ready
for _ in $(seq 1 300); do
  http GET /metrics
  [[ "$body" == *"akosha_segfiles_rebuilt_total 1"* ]] && break
  sleep 0.1
done
assert_contains "$body" "akosha_segfiles_rebuilt_total 1" "the damaged file found after the start"
assert_contains "$body" "akosha_segfiles_unopened_total 3" "mapped unopened, checked after"
assert_contains "$(cat serve.log)" "checksum mismatch: rebuilt from its database" "the damage logged"
http POST /v1/search "$query"
assert_eq "$(served)" "$before" "after the background rebuild"
stop_serve

# the databases written while the server is down (aging moves rows to
# cold): their files' state changed, so each is opened, found stale and
# rebuilt; no stale row is served
cp "$(db_of sys0000)-seg" before-aging.seg
akosha age --data data --now 2027-02-01T00:00:00Z >/dev/null
start_serve --data data --poll-interval 3600
wait_ready
http GET /metrics
assert_contains "$body" "akosha_segfiles_unopened_total 0" "a written database is opened"
aged=$(answer --exact)
[[ "$aged" == *cold* && "$aged" != "$before" ]] || fail "aging moved nothing: $aged"
http POST /v1/search "$query"
assert_eq "$(served)" "$aged" "after aging while down: the new tiers, no stale row"
stop_serve
same "after aging while down, read by akosha search"

# a stale file that records the database's files as they are now (as if a
# tool wrote the database behind SQLite and restored its times: here the
# file state is forged): serve would trust it unopened, so verify reports
# it as a problem
assert_eq "$(akosha verify --data data --json | jq_py 'd["ok"]')" "True" "verify passes before"
python3 - before-aging.seg "$(db_of sys0000)" "$(db_of sys0000)-seg" <<'PY'
import os, struct, sys, zlib
seg, db, out = sys.argv[1:]
d = os.stat(db)
w = os.stat(db + "-wal") if os.path.exists(db + "-wal") else None
rec = struct.pack("<6Q", d.st_size, d.st_mtime_ns, d.st_ctime_ns,
                  w.st_size if w else 0, w.st_mtime_ns if w else 0, 0)
b = bytearray(open(seg, "rb").read())
b[104:152] = rec
b[152:156] = struct.pack("<I", zlib.crc32(rec))
open(out, "wb").write(b)
PY
v=$(akosha verify --data data --json || true)
assert_eq "$(echo "$v" | jq_py '[(p["system_id"], p["check"]) for p in d["problems"]], d["ok"]')" \
  "[('sys0000', 'segment-file')] False" "verify reports the stale file serve would trust"
