# akosha prune-bucket against a real S3 server (OpenStack Swift, started
# here): the same choices as on a local bucket (test_prune_bucket.sh), the
# bytes reclaimed match what left the bucket, kill -9 after the first
# delete then again ends as a clean run, and reingest from the pruned S3
# bucket rebuilds the same memories.
source "$AKOSHA_SRC/tests/integration/lib.sh"

s3dir=$AKOSHA_SRC/tests/integration/s3
s3tool() { /usr/bin/python3 "$s3dir/s3tool.py" "$@"; }
trap '"$s3dir/stop-swift.sh" "$PWD/swift"' EXIT
"$s3dir/start-swift.sh" swift >/dev/null
export AKOSHA_S3_ENDPOINT=$(cat swift/endpoint)
export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AKOSHA_S3_ATTEMPTS=3 AKOSHA_S3_RETRY_BASE_MS=20 AKOSHA_S3_CONNECT_TIMEOUT_MS=2000
s3tool mb akosha

# u1 {a b c}, u2 {a b' d}, u3 {a b' d e}: u1 alone holds c
python3 - "$AKOSHA_SRC/tests/integration" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from mkupload import record
for name, spec in {"u1": ["a", "b", "c"], "u2": ["a", "b'", "d"],
                   "u3": ["a", "b'", "d", "e"]}.items():
    out = []
    for i, k in enumerate(spec):
        r = record(i, "snap")
        r.update(id=k.rstrip("'"), timestamp="2026-11-0%dT10:00:00Z" % (i + 1),
                 content=f"memory {k} of the snapshot system, pelican")
        out.append(r)
    json.dump(out, open(f"{name}.json", "w"))
PY
for x in "u1 10" "u2 11" "u3 12"; do
  set -- $x
  mkupload local snap $1 --records "@$1.json" --format jsonl --codec gzip \
    --uploaded-at "2026-11-$2T00:00:00Z" >/dev/null
done
akosha generate --out local --systems 2 --uploads 3 --conversations 30 --now 2026-11-26T00:00:00Z >/dev/null
memories() {
  find "$1" -name '*.db' | sort | while read -r db; do
    sqlite3 "$db" "SELECT conversation_id, hex(content_sha256), ts_us, source, coalesce(metadata,''),
                          length(content), hex(coalesce(embedding, x'')) FROM hot ORDER BY 1"
  done
}
listing() { s3tool ls akosha "$1/systems/" | sort; }
gone_bytes() { # listing-before listing-after -> bytes of the local copies of the keys gone
  comm -23 "$1" "$2" | sed 's|^[^/]*/||' | while read -r k; do stat -c %s "local/$k"; done |
    awk '{s+=$1} END {print s+0}'
}

for run in clean crash; do
  s3tool sync local akosha $run
  akosha ingest --once --bucket s3://akosha/$run --data $run --quiet >/dev/null
done
mem_before=$(memories clean)
listing clean >before.lst
expect_stdout 0 akosha prune-bucket --data clean --bucket s3://akosha/clean --keep 1 --json
assert_eq "$(echo "$out" | jq_py 'd["uploads_pruned"] > 0, d["uploads_pinned"] >= 1, d["uploads_kept"], d["systems"]')" "True True 3 3" "what went"
assert_contains "$(listing clean)" "snap/u1/manifest.json" "u1 pinned: only it holds c"
[[ "$(listing clean)" != *"snap/u2/"* ]] || fail "u2 left in S3"
listing clean >after.lst
assert_eq "$(echo "$out" | jq_py 'd["bytes_reclaimed"]')" "$(gone_bytes before.lst after.lst)" "bytes reclaimed as reported"

set +e
(AKOSHA_TEST_STOP=prune.deleted exec "$AKOSHA_BIN" prune-bucket --data crash \
   --bucket s3://akosha/crash --keep 1 >/dev/null 2>&1)
rc=$?
set -e
assert_eq "$rc" 137 "killed after the first S3 delete"
expect_stdout 0 akosha prune-bucket --data crash --bucket s3://akosha/crash --keep 1 --json
assert_eq "$(echo "$out" | jq_py 'd["uploads_resumed"]')" 1 "the interrupted delete finished"
assert_eq "$(listing crash | sed 's|^crash/||')" "$(listing clean | sed 's|^clean/||')" \
  "the crashed run's bucket equals the clean run's"

for s in snap sys0000 sys0001; do
  expect_exit 0 akosha reingest --system $s --data clean --bucket s3://akosha/clean
done
assert_eq "$(memories clean)" "$mem_before" "reingest from the pruned S3 bucket: the same memories"
echo ok
