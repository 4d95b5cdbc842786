# Every kind of bad upload gets a clear reason, none crashes, none leaves
# partial data, and the good uploads beside them are ingested.
source "$AKOSHA_SRC/tests/integration/lib.sh"

B=bucket
emb() { python3 -c "import json; print(json.dumps([$1]*$2))"; }
good='{"id":"g1","content":"a good record","embedding":'"$(emb 0.05 384)"'}'

# --- uploads rejected as a whole ------------------------------------------
mkupload $B good u-good --count 5                       # control: must ingest
mkupload $B gzcut u1 --codec gzip --count 50 --checksum none
python3 - <<'PY'
import glob
p = glob.glob("bucket/systems/gzcut/u1/*.gz")[0]
b = open(p, "rb").read(); open(p, "wb").write(b[: len(b) // 2])
PY
mkupload $B zstdbad u1 --codec zstd --count 50 --checksum none
python3 - <<'PY'
import glob
p = glob.glob("bucket/systems/zstdbad/u1/*.zst")[0]
b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xff; b[len(b) // 2 + 1] ^= 0x55
open(p, "wb").write(bytes(b))
PY
mkupload $B lz4junk u1 --codec lz4 --raw-payload "b'this is not lz4 at all'" --checksum none
mkupload $B badjson u1 --raw-payload "b'{\"conversations\": [{\"id\": \"a\", \"content\": \"x\"}, '" --checksum none
mkupload $B notobj u1 --raw-payload "b'[1, 2, 3]'" --checksum none --declared 3
mkupload $B sum u1 --count 4 --checksum wrong
mkupload $B count u1 --count 4 --declared 5
mkupload $B sqlite u1 --files reflection.sqlite --raw-payload "b'SQLite format 3\\x00'" --checksum none
mkupload $B liar u1 --codec zstd --raw-payload "__import__('gzip').compress(b'{}')" --checksum none
mkupload $B liar2 u1 --raw-payload "__import__('gzip').compress(b'{}')" --checksum none
mkupload $B future u1 --uploaded-at "2099-01-01T00:00:00Z"
mkupload $B ancient u1 --uploaded-at "2020-01-01T00:00:00Z"
mkupload $B nocount u1 --manifest-extra '{"conversation_count": null}'
mkupload $B badfmt u1 --manifest-extra '{"compressed": true, "compression_format": "bzip2"}'
mkupload $B dotdot u1 --manifest-extra '{"files": ["../../etc/passwd"]}'
mkdir -p $B/systems/garbage/u1 && echo '{"uploaded_at": ' > $B/systems/garbage/u1/manifest.json
mkdir -p $B/systems/huge/u1 && python3 -c "
import json; json.dump({'uploaded_at':'2026-11-01T00:00:00Z','conversation_count':0,'metadata':{'x':'y'*1100000}}, open('$B/systems/huge/u1/manifest.json','w'))"

# --- records rejected, the rest of the upload ingested --------------------
python3 - > bad_records.json <<PY
import json
e = [0.05] * 384
recs = [
  {"id": "ok1", "content": "fine", "embedding": e},
  {"id": "dim", "content": "short vector", "embedding": [0.1] * 12},
  {"id": "str", "content": "text in vector", "embedding": ["a"] * 384},
  {"id": "inf", "content": "overflow", "embedding": [1e39] + e[1:]},
  {"id": "empty", "content": ""},
  {"id": "long", "content": "x" * (1024 * 1024 + 1)},
  {"id": "nocontent"},
  {"id": "ts", "content": "bad time", "timestamp": "yesterday"},
  {"id": "meta", "content": "bad metadata", "metadata": [1, 2]},
  {"id": "ok2", "content": "fine too"},
  {"id": "zero", "content": "zero vector is stored, not indexed", "embedding": [0] * 384},
]
print(json.dumps(recs))
PY
mkupload $B records u1 --format jsonl --records @bad_records.json
# NaN is not JSON: a JSONL line with it is one bad record
printf '{"id":"nan","content":"nan","embedding":[NaN]}\n' >> $B/systems/records/u1/memories.jsonl
# a member given twice is ambiguous: the record is rejected (it was first-wins)
printf '{"id":"dupkey","content":"first","content":"second"}\n' >> $B/systems/records/u1/memories.jsonl
# an embedding whose norm underflows float (subnormal): stored text-only
python3 -c 'import json; print(json.dumps({"id": "tiny", "content": "subnormal", "embedding": [1e-45] * 384}))' \
  >> $B/systems/records/u1/memories.jsonl
python3 - <<'PY'
import hashlib, json
d = "bucket/systems/records/u1/"
m = json.load(open(d + "manifest.json"))
m["conversation_count"] += 3
m["checksum"] = hashlib.sha256(open(d + "memories.jsonl", "rb").read()).hexdigest()
json.dump(m, open(d + "manifest.json", "w"))
PY

# --- ids that must never become paths or keys -----------------------------
for sid in "bad system" 'semi;colon' 'dollar$x' "$(printf 'x%.0s' {1..254})"; do
  mkupload $B "$sid" u1 --count 1
done
mkupload $B okid 'up load' --count 1
mkupload $B okid 'a..b' --count 1
mkupload $B okid 'fine.upload' --count 2

set +e
akosha ingest --once --bucket $B --data data --json > run.json 2> run.err
rc=$?
set -e
assert_eq "$rc" "0" "ingest exit status with bad uploads around"
run=$(cat run.json); err=$(cat run.err)

reason() { ledger_row data "$1" "$2" | jq_py 'd["status"] + ": " + (d["reason"] or "")'; }
expect_rejected() { # system upload reason-fragment
  local r; r=$(reason "$1" "$2")
  assert_contains "$r" "rejected: " "$1/$2 status"
  assert_contains "$r" "$3" "$1/$2 reason"
  assert_eq "$(hot_count data "$1")" "0" "$1 rows stored from a rejected upload"
}

expect_rejected gzcut u1 "gzip"
expect_rejected zstdbad u1 "zstd"
expect_rejected lz4junk u1 "lz4"
expect_rejected badjson u1 "JSON ends early"
expect_rejected notobj u1 "must be a JSON object"
expect_rejected sum u1 "checksum: manifest says"
expect_rejected count u1 "conversation_count: manifest says 5 but the payloads hold 4"
expect_rejected sqlite u1 "reflection.sqlite: unsupported payload format"
expect_rejected liar u1 "compression: the manifest says zstd but the bytes are not zstd (they are gzip)"
expect_rejected liar2 u1 "compression: the manifest says none but the bytes are gzip-compressed"
expect_rejected future u1 "manifest.json: uploaded_at: more than 5 minutes in the future"
expect_rejected ancient u1 "manifest.json: uploaded_at: older than 365 days"
expect_rejected nocount u1 "manifest.json: conversation_count: required field is missing"
expect_rejected badfmt u1 "manifest.json: compression_format:"
expect_rejected dotdot u1 "manifest.json: files:"
expect_rejected garbage u1 "manifest.json: invalid JSON"
expect_rejected huge u1 "manifest.json"

assert_eq "$(reason good u-good)" "ingested: " "the good upload beside the bad ones"
assert_eq "$(hot_count data good)" "5" "good rows"

# the record-level problems, counted with reasons
row=$(ledger_row data records u1)
assert_eq "$(echo "$row" | jq_py 'd["status"]')" "ingested" "records upload status"
assert_eq "$(echo "$row" | jq_py 'd["records_rejected"]')" "10" "bad records skipped"
assert_eq "$(echo "$row" | jq_py 'd["new"]')" "4" "good records stored"
assert_eq "$(echo "$row" | jq_py 'sorted(d["record_errors"])')" \
  "['bad_content', 'bad_embedding', 'bad_metadata', 'bad_timestamp', 'invalid_json']" "problem kinds"
assert_eq "$(echo "$row" | jq_py 'd["record_errors"]["bad_embedding"]["count"]')" "3" "bad embeddings"
assert_eq "$(echo "$row" | jq_py 'd["record_errors"]["bad_content"]["count"]')" "4" "bad contents (a duplicate content member among them)"
assert_contains "$(echo "$row" | jq_py 'd["record_errors"]["bad_embedding"]["example"]')" \
  "line 2: embedding: has 12 numbers, expected 384" "example names line and field"
db=data/$(akosha shard records | cut -d' ' -f2)
assert_eq "$(sqlite3 "$db" "SELECT group_concat(conversation_id) FROM (SELECT conversation_id FROM hot ORDER BY 1)")" \
  "ok1,ok2,tiny,zero" "stored records"
assert_eq "$(sqlite3 "$db" "SELECT embedding IS NULL FROM hot WHERE conversation_id='zero'")" "1" "zero vector not stored"
assert_eq "$(sqlite3 "$db" "SELECT embedding IS NULL FROM hot WHERE conversation_id='tiny'")" "1" "subnormal vector not stored"
assert_eq "$(sqlite3 "$db" "SELECT count(*) FROM hot WHERE conversation_id='dupkey'")" "0" "a record with a member twice"

# invalid ids: reported, never a path, nothing stored
assert_eq "$(echo "$run" | jq_py 'd["systems_invalid"]')" "4" "invalid system ids"
assert_contains "$err" "system id has a character outside" "reason for a bad system id"
assert_contains "$err" "is longer than 253 characters" "reason for a long system id"
assert_contains "$err" "upload id contains a space" "reason for a bad upload id"
assert_contains "$err" "upload id contains '..'" "reason for '..'"
[ -z "$(find data -name '* *' -o -name '*;*' -o -name '*$*' -o -name 'xxxx*')" ] || fail "a database for an invalid id"
assert_eq "$(ledger_row data okid fine.upload | jq_py 'd["status"]')" "ingested" "valid upload id beside bad ones"
assert_eq "$(akosha uploads --data data --system okid --json | jq_py 'len(d)')" "1" "bad upload ids not in the ledger"

# totals: every rejected upload counted
assert_eq "$(echo "$run" | jq_py 'd["uploads_rejected"]')" "19" "uploads rejected"

# a second run settles nothing new and stores nothing new
before=$(store_digest data)
akosha ingest --once --bucket $B --data data --json >/dev/null 2>&1
assert_eq "$(store_digest data)" "$before" "store after re-running over bad input"
