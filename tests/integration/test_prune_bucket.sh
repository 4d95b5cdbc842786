# akosha prune-bucket (issue 19, the bucket's own growth): ingested uploads
# that newer ones make redundant go, keeping the newest N per system, every
# older one that is the latest source of a stored memory, and every upload
# not yet ingested; reingest after it rebuilds the same memories; bytes
# reclaimed are reported; kill -9 at each step, then again, ends as a clean
# run does.
source "$AKOSHA_SRC/tests/integration/lib.sh"

# One system's snapshots, as Session-Buddy syncs them: u1 {a b c}; u2 {a b' d}
# (b edited, c deleted in Session-Buddy); u3 {a b' d e}; u4 {a b' d e f}
# arrives after the first ingest.
python3 - "$AKOSHA_SRC/tests/integration" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from mkupload import record
def recs(spec):
    out = []
    for i, k in enumerate(spec):
        r = record(i, "snap")
        r.update(id=k.rstrip("'"), timestamp="2026-11-0%dT10:00:00Z" % (i + 1),
                 content=f"memory {k} of the snapshot system, pelican")
        out.append(r)
    return out
for name, spec in {"u1": ["a", "b", "c"], "u2": ["a", "b'", "d"], "u3": ["a", "b'", "d", "e"],
                   "u4": ["a", "b'", "d", "e", "f"]}.items():
    json.dump(recs(spec), open(f"{name}.json", "w"))
PY
mk() { # bucket upload day
  mkupload "$1" snap "$2" --records "@$2.json" --format jsonl --codec gzip \
    --uploaded-at "2026-11-$3T00:00:00Z" >/dev/null
}
setup() { # dir: a bucket with u1..u3 ingested and u4 not yet, plus a generated system
  mkdir -p "$1"
  akosha generate --out "$1/bucket" --systems 1 --uploads 3 --conversations 20 \
    --now 2026-11-26T00:00:00Z >/dev/null
  mk "$1/bucket" u1 10; mk "$1/bucket" u2 11; mk "$1/bucket" u3 12
  akosha ingest --once --bucket "$1/bucket" --data "$1/data" --quiet >/dev/null
  mk "$1/bucket" u4 13
}
# The memories a store holds, whatever upload they came from.
memories() { # data
  local db
  find "$1" -name '*.db' | sort | while read -r db; do
    echo "== ${db#$1/}"
    sqlite3 "$db" "SELECT conversation_id, hex(content_sha256), ts_us, source, coalesce(metadata,''),
                          length(content), hex(coalesce(embedding, x'')) FROM hot
                   UNION ALL SELECT conversation_id, hex(content_sha256), ts_us, source,
                          coalesce(metadata,''), length(summary), '' FROM warm
                   UNION ALL SELECT conversation_id, hex(content_sha256), ts_us, '', '', 0, ''
                          FROM cold ORDER BY 1"
  done
}
file_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
uploads_in() { # bucket system -> its upload ids
  find "$1/systems/$2" -name manifest.json | sed 's|/manifest.json||; s|.*/||' | sort | tr '\n' ' '
}

# ---- off by default; refuses nonsense -------------------------------------
setup clean
expect_exit 2 akosha prune-bucket --data clean/data --bucket clean/bucket
assert_contains "$out" "pruning is off" "off without --keep"
expect_exit 2 akosha prune-bucket --data clean/data
expect_exit 1 akosha prune-bucket --data clean/data --bucket clean/bucket --keep 1 --system "bad id"

# ---- a dry run changes nothing -----------------------------------------------
before=$(find clean/bucket -type f | sort | xargs sha256sum)
expect_stdout 0 akosha prune-bucket --data clean/data --bucket clean/bucket --keep 1 --dry-run --json
assert_eq "$(echo "$out" | jq_py 'd["uploads_pruned"], d["uploads_pinned"], d["uploads_kept"]')" "2 2 2" "dry run counts"
assert_eq "$(find clean/bucket -type f | sort | xargs sha256sum)" "$before" "a dry run deletes nothing"

# ---- the prune -----------------------------------------------------------------
mem_before=$(memories clean/data)
bytes_before=$(file_bytes clean/bucket)
u2_bytes=$(file_bytes clean/bucket/systems/snap/u2)
expect_stdout 0 akosha prune-bucket --data clean/data --bucket clean/bucket --keep 1 --json
# snap: u3 newest ingested (kept), u2 pruned (u3 holds all its memories,
# exactly as stored), u1 pinned (only it holds c), u4 not ingested
# (untouched).  The generated system keeps its newest and its first: some
# of its records carry no timestamp, so they are stored with the first
# upload's time, which no later upload reproduces; its middle one goes.
assert_eq "$(echo "$out" | jq_py 'd["uploads_pruned"], d["uploads_pinned"], d["uploads_kept"], d["systems"]')" "2 2 2 2" "what went"
assert_eq "$(uploads_in clean/bucket snap)" "u1 u3 u4 " "u1 pinned by c, u3 newest, u4 not yet ingested"
assert_eq "$(uploads_in clean/bucket sys0000)" "20261125_210000_sys0000 20261125_230000_sys0000 " \
  "the generated system keeps its newest and the one that dated its undated records"
reclaimed=$(echo "$out" | jq_py 'd["bytes_reclaimed"]')
assert_eq "$reclaimed" "$(( bytes_before - $(file_bytes clean/bucket) ))" "bytes reclaimed as reported"
[ "$reclaimed" -gt "$u2_bytes" ] || fail "reclaimed $reclaimed bytes, less than u2's $u2_bytes"
assert_eq "$(memories clean/data)" "$mem_before" "the store is untouched"
expect_stdout 0 akosha prune-bucket --data clean/data --bucket clean/bucket --keep 1 --json
assert_eq "$(echo "$out" | jq_py 'd["uploads_pruned"], d["objects_deleted"]')" "0 0" "a second run prunes nothing"

# ---- reingest after pruning restores the same memories --------------------------
mv clean/bucket/systems/snap/u4 u4-held # (not ingested yet: it would add f)
for s in snap sys0000; do
  expect_exit 0 akosha reingest --system $s --data clean/data --bucket clean/bucket
done
find clean/data -name '*.replaced-*' -delete
assert_eq "$(memories clean/data)" "$mem_before" "reingest after pruning: the same memories"
mv u4-held clean/bucket/systems/snap/u4

# ---- u4 ingested: now u3 goes too, u1 still pinned ------------------------------
akosha ingest --once --bucket clean/bucket --data clean/data --quiet >/dev/null
expect_stdout 0 akosha prune-bucket --data clean/data --bucket clean/bucket --keep 1 --json
assert_eq "$(uploads_in clean/bucket snap)" "u1 u4 " "u3 pruned once u4 is ingested"
mem_clean=$(memories clean/data)
bucket_clean=$(cd clean/bucket && find . -type f | sort)

# ---- keep 2 ------------------------------------------------------------------------
setup keep2
expect_stdout 0 akosha prune-bucket --data keep2/data --bucket keep2/bucket --keep 2 --json
assert_eq "$(uploads_in keep2/bucket snap)" "u1 u2 u3 u4 " "keep 2: u2 u3 newest, u1 pinned"

# ---- kill -9 at each step, then again: as the clean run --------------------------
for stop in prune.marked prune.deleted prune.deleted:2 prune.deleted:3; do
  d=crash-${stop//[:.]/-}
  setup $d
  kill_at $stop prune-bucket --data $d/data --bucket $d/bucket --keep 1
  expect_stdout 0 akosha prune-bucket --data $d/data --bucket $d/bucket --keep 1 --json
  assert_eq "$(echo "$out" | jq_py 'd["uploads_resumed"]')" 1 "$stop: the interrupted delete finished"
  akosha ingest --once --bucket $d/bucket --data $d/data --quiet >/dev/null
  expect_stdout 0 akosha prune-bucket --data $d/data --bucket $d/bucket --keep 1 --json
  assert_eq "$(cd $d/bucket && find . -type f | sort)" "$bucket_clean" "$stop: the bucket as after a clean run"
  assert_eq "$(memories $d/data)" "$mem_clean" "$stop: the store as after a clean run"
  expect_exit 0 akosha verify --data $d/data
done
# ---- the daemon prunes after a cycle that ingested something ---------------------
akosha generate --out served-bucket --systems 2 --uploads 4 --conversations 20 \
  --now 2026-11-26T00:00:00Z >/dev/null
manifests0=$(find served-bucket -name manifest.json | wc -l)
bytes0=$(file_bytes served-bucket)
AKOSHA_BUCKET_KEEP_SNAPSHOTS=1 start_serve --data served --bucket served-bucket \
  --poll-interval 3600 --tokens tok-0123456789abcdef
wait_ready
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
for _ in $(seq 1 600); do [ "$(metric akosha_bucket_pruned_uploads_total)" != 0 ] && break; sleep 0.1; done
pruned=$(metric akosha_bucket_pruned_uploads_total)
[ "$pruned" -gt 0 ] || fail "the daemon pruned nothing"
assert_eq "$pruned" "$(( manifests0 - $(find served-bucket -name manifest.json | wc -l) ))" "uploads metric"
assert_eq "$(metric akosha_bucket_pruned_bytes_total)" "$(( bytes0 - $(file_bytes served-bucket) ))" "bytes metric"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"
echo ok
