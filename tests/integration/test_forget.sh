# `akosha forget` removes a system from every tier and keeps it away: after
# data reached hot, warm and cold; a dry run changes nothing; kill -9 at
# each step (deterministic stop points) and a second run leave nothing;
# re-ingest cycles after it (held back; back with a newer upload; back with
# --allow-return); verify names leftovers and unowned cold prefixes; other
# systems are untouched.
source "$AKOSHA_SRC/tests/integration/lib.sh"

CUT=2026-11-27T00:00:00Z
akosha generate --out bucket --systems 4 --uploads 2 --conversations 120 --span-days 200 \
  --now 2026-11-26T00:00:00Z >/dev/null
akosha ingest --once --bucket bucket --data data --quiet >/dev/null
akosha age --data data --now $CUT >/dev/null
cp -a data pristine-data
cp -a bucket pristine-bucket

db_of() { echo "data/$(akosha shard "$1" | cut -d' ' -f2)"; }
tiers() { sqlite3 "$(db_of "$1")" "SELECT (SELECT count(*) FROM hot), (SELECT count(*) FROM warm), (SELECT count(*) FROM cold)"; }
# everything of one system on disk: database files, cold objects, uploads
traces() {
  { find data -name "$1.db*"; find data/cold -path "*system_id=$1/*" -type f; find bucket -path "*systems/$1/*" -type f; } | sort
}
# the other systems' records and ledgers (forgotten.db is no system)
others() {
  dump_store data 2>/dev/null |
    awk -v s="$1" '/^== /{keep = ($0 !~ "/" s "\\.db$" && $0 !~ "^== forgotten\\.db$")} keep'
}

for s in sys0000 sys0001 sys0002 sys0003; do
  IFS='|' read -r h w c <<<"$(tiers $s)"
  [ "$h" -gt 0 ] && [ "$w" -gt 0 ] && [ "$c" -gt 0 ] || fail "$s is not in all three tiers: $h $w $c"
done

# ---- a dry run says what would go and changes nothing --------------------
before=$(find data bucket -type f | sort | xargs sha256sum | sha256sum)
expect_stdout 0 akosha forget --data data sys0001 --dry-run --json
IFS='|' read -r h w c <<<"$(tiers sys0001)"
assert_eq "$(echo "$out" | jq_py 'd["dry_run"], d["conversations"]["hot"], d["conversations"]["warm"], d["conversations"]["cold"], d["cold_objects"] > 0, d["tombstone_at"]')" \
  "True $h $w $c True None" "dry run counts"
assert_eq "$(find data bucket -type f | sort | xargs sha256sum | sha256sum)" "$before" "nothing changed by a dry run"

# ---- forget: nothing of it anywhere, the others untouched ---------------
others_before=$(others sys0001 | sha256sum)
expect_stdout 0 akosha forget --data data sys0001 --now $CUT --json
assert_eq "$(echo "$out" | jq_py 'd["conversations"]["hot"] + d["conversations"]["warm"] + d["conversations"]["cold"], d["tombstone_at"]')" \
  "$((h + w + c)) 2026-11-27T00:00:00Z" "forget result"
assert_eq "$(traces sys0001 | grep -v '^bucket/' || true)" "" "database and cold objects gone"
assert_eq "$(others sys0001 | sha256sum)" "$others_before" "other systems untouched"
expect_exit 0 akosha verify --data data --deep
out=$(akosha search --data data --text "rebase" --limit 500 --json)
assert_eq "$(echo "$out" | jq_py 'sum(r["system_id"] == "sys0001" for r in d["results"])')" "0" "no search hit"
expect_exit 1 akosha get --data data sys0001 conv-1-000001

# re-ingest: its uploads are held back, it does not come back
expect_stdout 0 akosha ingest --once --bucket bucket --data data --json
assert_eq "$(echo "$out" | jq_py 'd["uploads_forgotten"], d["uploads_ingested"]')" "2 0" "uploads held back"
assert_eq "$(traces sys0001 | grep -v '^bucket/' || true)" "" "not back after a cycle"
expect_exit 1 akosha reingest --data data --bucket bucket --system sys0001
assert_contains "$out" "was forgotten" "reingest refuses a forgotten system"
assert_eq "$(traces sys0001 | grep -v '^bucket/' || true)" "" "not back after reingest"
# forgetting again is harmless
expect_exit 0 akosha forget --data data sys0001 --now $CUT

# ---- back with an upload newer than the tombstone -----------------------
mkupload bucket sys0001 late-upload --count 5 --uploaded-at 2026-11-28T00:00:00Z >/dev/null
expect_stdout 0 akosha ingest --once --bucket bucket --data data --json
assert_eq "$(echo "$out" | jq_py 'd["uploads_forgotten"], d["uploads_ingested"]')" "2 1" "only the newer upload"
assert_eq "$(tiers sys0001)" "5|0|0" "back with just the newer upload's conversations"
expect_exit 0 akosha verify --data data

# ---- --allow-return brings the old uploads back --------------------------
expect_exit 1 akosha forget --data data sys0003 --allow-return
assert_contains "$out" "is not forgotten" "allow-return of a system never forgotten"
expect_exit 0 akosha forget --data data sys0003 --now $CUT
expect_exit 0 akosha forget --data data sys0003 --allow-return
expect_stdout 0 akosha ingest --once --bucket bucket --data data --json
assert_eq "$(echo "$out" | jq_py 'd["uploads_ingested"]')" "2" "old uploads ingested again"
assert_eq "$(sqlite3 "$(db_of sys0003)" 'SELECT count(*) FROM hot')" \
  "$(sqlite3 pristine-data/$(akosha shard sys0003 | cut -d' ' -f2) 'SELECT (SELECT count(*) FROM hot) + (SELECT count(*) FROM warm) + (SELECT count(*) FROM cold)')" \
  "every conversation back (hot until the next aging pass)"

# ---- verify names leftovers ----------------------------------------------
mkdir -p "data/cold/system_id=sys0001/x" "data/cold/system_id=ghost"
echo leftover > "data/cold/system_id=ghost/part.parquet"
expect_exit 1 akosha verify --data data
assert_contains "$out" "system_id=ghost/ holds 1 cold objects" "unowned cold prefix named"
rm -r "data/cold/system_id=ghost"
expect_exit 0 akosha forget --data data sys0001 --now 2026-11-29T00:00:00Z
echo leftover > "data/cold/system_id=sys0001/x/stray.parquet"
expect_exit 1 akosha verify --data data
assert_contains "$out" "1 cold objects" "a forgotten system's leftover cold object is a problem"
expect_exit 0 akosha forget --data data sys0001 --now 2026-11-29T00:00:00Z
expect_exit 0 akosha verify --data data

# ---- kill -9 at each step, then run it again -----------------------------
for point in forget.tombstone forget.cold forget.database forget.bucket forget.finish; do
  rm -rf data bucket
  cp -a pristine-data data
  cp -a pristine-bucket bucket
  others_before=$(others sys0002 | sha256sum)
  set +e
  (AKOSHA_TEST_STOP=$point exec "$AKOSHA_BIN" forget --data data --bucket bucket --purge-bucket sys0002 >/dev/null 2>&1)
  rc=$?
  set -e
  assert_eq "$rc" "137" "killed at $point"
  expect_exit 1 akosha verify --data data
  assert_contains "$out" "did not finish" "verify names the unfinished forget ($point)"
  expect_stdout 0 akosha ingest --once --bucket bucket --data data --json
  assert_eq "$(echo "$out" | jq_py 'd["uploads_forgotten"], d["uploads_ingested"]')" \
    "$(find bucket -path '*systems/sys0002/*/manifest.json' | wc -l) 0" "$point: a cycle meanwhile ingests none of it"
  # the second run without --purge-bucket still purges: the tombstone remembers
  expect_stdout 0 akosha forget --data data --bucket bucket sys0002 --json
  assert_eq "$(echo "$out" | jq_py 'd["resumed"]')" "True" "$point: resumed"
  assert_eq "$(traces sys0002)" "" "$point: nothing left after the second run"
  assert_eq "$(others sys0002 | sha256sum)" "$others_before" "$point: other systems untouched"
  expect_exit 0 akosha verify --data data --deep
done

# ---- bad input -----------------------------------------------------------
expect_exit 2 akosha forget --data data ../etc
expect_exit 2 akosha forget --data data "a b"
expect_exit 2 akosha forget --data data
expect_exit 2 akosha forget --data data sys0000 --purge-bucket
assert_contains "$out" "--purge-bucket needs --bucket URL" "purge without a bucket"
expect_exit 0 akosha forget --data data never-existed
expect_exit 0 akosha verify --data data
echo "ok"
