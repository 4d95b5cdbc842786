# Ingest a generated bucket holding every payload form and both layouts:
# exact counts, a ledger of ingested uploads, a second run that changes
# nothing, and the same store whatever the concurrency.
source "$AKOSHA_SRC/tests/integration/lib.sh"

gen=$(akosha generate --out bucket --systems 6 --uploads 4 --conversations 40 --growth 7 --edits 0.1 --json)
expect_new=$(echo "$gen" | jq_py 'd["expect_new"]')
expect_upd=$(echo "$gen" | jq_py 'd["expect_updated"]')
expect_dup=$(echo "$gen" | jq_py 'd["expect_duplicates"]')
uploads=$(echo "$gen" | jq_py 'd["uploads"]')
[ "$expect_upd" -gt 0 ] || fail "generator made no edits; the test would prove nothing"

# every payload form is present
for form in .json .jsonl .ndjson .gz .zst .lz4; do
  [ -n "$(find bucket -name "memories*$form*" | head -1)" ] || fail "no payload of form $form"
done
[ -n "$(find bucket -path '*/uploads/*' -name manifest.json | head -1)" ] || fail "no layout-2 upload"

run=$(akosha ingest --once --bucket bucket --data data --json)
assert_eq "$(echo "$run" | jq_py 'd["uploads_ingested"]')" "$uploads" "uploads ingested"
assert_eq "$(echo "$run" | jq_py 'd["uploads_rejected"] + d["uploads_failed"]')" "0" "rejected+failed"
assert_eq "$(echo "$run" | jq_py 'd["conversations_ingested"]')" "$expect_new" "new conversations"
assert_eq "$(echo "$run" | jq_py 'd["conversations_updated"]')" "$expect_upd" "updated"
assert_eq "$(echo "$run" | jq_py 'd["duplicates_skipped"]')" "$expect_dup" "duplicates"
assert_eq "$(echo "$run" | jq_py 'd["records_rejected"]')" "0" "records rejected"

stats=$(akosha stats --data data --json)
assert_eq "$(echo "$stats" | jq_py 'd["hot"]')" "$expect_new" "stats hot"
assert_eq "$(echo "$stats" | jq_py 'd["systems"]')" "6" "stats systems"
assert_eq "$(echo "$stats" | jq_py 'd["uploads"]["ingested"]')" "$uploads" "stats uploads"
assert_eq "$(echo "$stats" | jq_py 'd["shards_nonempty"]')" \
  "$(for i in 0 1 2 3 4 5; do akosha shard "sys000$i"; done | cut -d' ' -f1 | sort -u | wc -l)" "shards"

# each system's database sits where `akosha shard` says
for i in 0 1 2 3 4 5; do
  [ -f "data/$(akosha shard "sys000$i" | cut -d' ' -f2)" ] || fail "sys000$i database misplaced"
done

# the ledger: every upload ingested, in per-system order, counts adding up
ledger=$(akosha uploads --data data --json)
assert_eq "$(echo "$ledger" | jq_py 'len(d)')" "$uploads" "ledger rows"
assert_eq "$(echo "$ledger" | jq_py 'sorted(set(r["status"] for r in d))')" "['ingested']" "statuses"
assert_eq "$(echo "$ledger" | jq_py 'sum(r["conversations"] for r in d)')" "$((expect_new + expect_upd))" "ledger conversations"
echo "$ledger" | jq_py 'all(r["ingested_at"] and r["reason"] is None for r in d)' | grep -q True || fail "ledger fields"

# a second run changes nothing
before=$(store_digest data)
again=$(akosha ingest --once --bucket bucket --data data --json)
assert_eq "$(echo "$again" | jq_py 'd["uploads_discovered"], d["uploads_known"], d["conversations_ingested"]')" \
  "0 $uploads 0" "second run"
assert_eq "$(store_digest data)" "$before" "store after a second run"

# concurrency does not change the result
akosha ingest --once --bucket bucket --data data1 --concurrency 1 --json >/dev/null
akosha ingest --once --bucket bucket --data data8 --concurrency 8 --json >/dev/null
assert_eq "$(store_digest data1)" "$before" "store with --concurrency 1"
assert_eq "$(store_digest data8)" "$before" "store with --concurrency 8"

# the stored embedding is what the generator wrote (spot check one record)
db=data/$(akosha shard sys0000 | cut -d' ' -f2)
n=$(sqlite3 "$db" "SELECT count(*) FROM hot WHERE embedding IS NOT NULL AND length(embedding) = 1536")
[ "$n" -gt 0 ] || fail "no 384-float embeddings stored"
