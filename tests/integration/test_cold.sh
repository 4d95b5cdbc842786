# The cold tier (issue 14): aged past warm, conversations are still found by
# words and by vector, answered with tier "cold", and `get` reads them from
# their object; cold objects are one per system and month, later passes
# merge into them, and a pass killed (SIGKILL at the test stop points) in
# the middle of a merge loses nothing and leaves nothing behind for good.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 3 --uploads 2 --conversations 800 --growth 50 \
  --span-days 200 --now 2026-11-26T00:00:00Z >/dev/null
akosha ingest --once --bucket bucket --data data --json >/dev/null

keys() {
  for db in $(find data -name '*.db' | sort); do
    sqlite3 "$db" "SELECT conversation_id, hex(content_sha256) FROM hot UNION ALL
                   SELECT conversation_id, hex(content_sha256) FROM warm UNION ALL
                   SELECT conversation_id, hex(content_sha256) FROM cold"
  done | sort
}
objects() { find store -name '*.parquet' | sort; }
# distinct (system, month) among cold rows: what the object count must be
months() {
  for db in $(find data -name '*.db'); do
    sqlite3 "$db" "SELECT DISTINCT '$db' || strftime('%Y-%m', ts_us / 1e6, 'unixepoch') FROM cold"
  done | wc -l
}
before=$(keys | sha256sum)

# a cold directory that does not exist yet is created
COLD="$PWD/store/nested/cold"
out=$(akosha age --data data --cold "$COLD" --now 2026-11-27T00:00:00Z --json)
[ -d "$COLD" ] || fail "the cold directory was not created"
assert_eq "$(echo "$out" | jq_py 'd["warm_to_cold"]["conversations"] > 100, d["cold_failures"]')" "True 0" "first pass"
assert_eq "$(objects | wc -l)" "$(months)" "one object per system and month"
assert_eq "$(keys | sha256sum)" "$before" "keys after aging"

sid=sys0001
db="data/$(akosha shard $sid | cut -d' ' -f2)"
cid=$(sqlite3 "$db" "SELECT conversation_id FROM cold WHERE embedding_code IS NOT NULL ORDER BY conversation_id LIMIT 1")
summary=$(sqlite3 "$db" "SELECT ultra_summary FROM cold WHERE conversation_id = '$cid'")
[ -n "$summary" ] || fail "the cold catalog keeps no summary"

# found by words, with no object read: the store is moved away meanwhile
mv store store.away
words=$(echo "$summary" | tr -cs 'A-Za-z' ' ' | cut -d' ' -f1-8)
out=$(akosha search --data data --text "$words" --system $sid --limit 50 --json)
echo "$out" | jq_py "any(r['conversation_id'] == '$cid' and r['tier'] == 'cold' and r['summary'] == '''$summary''' for r in d['results'])" |
  grep True >/dev/null || fail "cold row not found by its words: $out"
out=$(akosha search --data data --text "$words" --tiers cold --limit 50 --json)
assert_eq "$(echo "$out" | jq_py 'len(d["results"]) > 0 and all(r["tier"] == "cold" for r in d["results"])')" \
  "True" "--tiers cold answers cold rows only"
# found by vector: its own code ranks it first, at a cosine near 1
out=$(akosha search --data data --like "$sid/$cid" --limit 5 --json)
assert_eq "$(echo "$out" | jq_py 'd["results"][0]["conversation_id"], d["results"][0]["tier"], d["results"][0]["score"] > 0.99')" \
  "$cid cold True" "cold row found by vector"
out=$(akosha search --data data --like "$sid/$cid" --tiers hot,warm --limit 50 --json)
assert_eq "$(echo "$out" | jq_py 'all(r["tier"] != "cold" for r in d["results"])')" "True" "--tiers hot,warm leaves cold out"
mv store.away store
# get of a cold result reads its object
out=$(akosha get --data data --cold "$COLD" $sid "$cid" --json)
assert_eq "$(echo "$out" | jq_py 'd["tier"], d["summary"] == """'"$summary"'"""')" "cold True" "get of a cold result"

# catalog rows from before the catalog kept summaries and codes (schema 4):
# the pass that merges their object fills them in from the object
legacy="strftime('%Y-%m', ts_us / 1e6, 'unixepoch') = '2026-08'"
sqlite3 "$db" "INSERT INTO cold_fts(cold_fts, rowid, ultra_summary)
                 SELECT 'delete', rowid, ultra_summary FROM cold WHERE $legacy;
               UPDATE cold SET ultra_summary = NULL, embedding_code = NULL WHERE $legacy"
n_legacy=$(sqlite3 "$db" "SELECT count(*) FROM cold WHERE ultra_summary IS NULL")
[ "$n_legacy" -gt 0 ] || fail "no legacy rows made"

# daily passes: later months' rows merge into the month's object
merged=0
for day in 2026-11-28 2026-11-29 2026-12-05 2026-12-20 2027-01-10; do
  out=$(akosha age --data data --cold "$COLD" --now ${day}T00:00:00Z --json)
  merged=$((merged + $(echo "$out" | jq_py 'd["cold_objects_merged"]')))
  assert_eq "$(objects | wc -l)" "$(months)" "one object per system and month after the pass of $day"
done
[ "$merged" -gt 0 ] || fail "no pass merged into an existing object"
assert_eq "$(sqlite3 "$db" "SELECT count(*) FROM cold WHERE ultra_summary IS NULL")" "0" \
  "legacy rows got their summaries back"
[ "$(sqlite3 "$db" "SELECT count(*) FROM cold WHERE $legacy AND embedding_code IS NOT NULL")" -gt 0 ] ||
  fail "legacy rows got no codes back"
lid=$(sqlite3 "$db" "SELECT conversation_id FROM cold WHERE $legacy LIMIT 1")
out=$(akosha search --data data --like "$sid/$lid" --tiers cold --limit 1 --json)
assert_eq "$(echo "$out" | jq_py 'd["results"][0]["conversation_id"]')" "$lid" "a legacy row found by vector again"
assert_eq "$(keys | sha256sum)" "$before" "keys after the daily passes"

# kill -9 in a merge: after the new object is stored (not yet catalogued),
# then after the catalog switched (the old objects not yet deleted)
NEXT=2027-02-01T00:00:00Z
n_before=$(objects | wc -l)
kill_at age.cold_uploaded age --data data --cold "$COLD" --now $NEXT
assert_eq "$(keys | sha256sum)" "$before" "keys after kill -9 before the catalog switch"
assert_eq "$(objects | wc -l)" "$((n_before + 1))" "the new object is stored, nothing else changed"
kill_at age.cold_committed age --data data --cold "$COLD" --now $NEXT
assert_eq "$(keys | sha256sum)" "$before" "keys after kill -9 after the catalog switch"
replaced=$(for d in $(find data -name '*.db'); do sqlite3 "$d" "SELECT count(*) FROM cold_garbage"; done | paste -sd+ | bc)
[ "$replaced" -gt 0 ] || fail "the replaced objects are not listed for deletion"
# verify: the replaced objects are notices (deleted by the next pass), not problems
find store -name '*.parquet' -exec touch -d '2 hours ago' {} +
expect_stdout 0 akosha verify --data data --cold "$COLD" --deep --json
assert_eq "$(echo "$out" | jq_py 'd["ok"], {n["check"] for n in d["notices"]} <= {"cold-pending"}, len(d["notices"]) > 0')" \
  "True True True" "verify after a killed merge: $out"
out=$(akosha age --data data --cold "$COLD" --now $NEXT --json)
assert_eq "$(echo "$out" | jq_py 'd["cold_objects_deleted"] > 0')" "True" "the next pass deletes what was replaced"
assert_eq "$(objects | wc -l)" "$(months)" "one object per system and month after the killed merge"
assert_eq "$(keys | sha256sum)" "$before" "every key in exactly one tier"
find store -name '*.parquet' -exec touch -d '2 hours ago' {} +
expect_stdout 0 akosha verify --data data --cold "$COLD" --deep --json
assert_eq "$(echo "$out" | jq_py 'd["ok"], len(d["notices"])')" "True 0" "verify after the next pass"

# the Parquet rows carry the vector code: the catalog's and the object's agree
key=$(sqlite3 "$db" "SELECT o.key FROM cold JOIN cold_objects o ON o.id = cold.object_id WHERE conversation_id = '$cid'")
make -C "$AKOSHA_SRC" -s --no-print-directory SAN="${AKOSHA_SANITIZED:-0}" \
  BUILD="$(realpath --relative-to="$AKOSHA_SRC" "$(dirname "$AKOSHA_BIN")")" \
  "$(realpath --relative-to="$AKOSHA_SRC" "$(dirname "$AKOSHA_BIN")")/tools/pqtool" >/dev/null
pqtool="$(dirname "$AKOSHA_BIN")/tools/pqtool"
code=$("$pqtool" find "$COLD/$key" "$cid" | jq_py 'd["embedding_code"]')
assert_eq "$code" "$(sqlite3 "$db" "SELECT lower(hex(embedding_code)) FROM cold WHERE conversation_id = '$cid'")" \
  "the object's embedding_code is the catalog's"

# an object missing from the store (verify's problem) does not stop its
# month from aging: the new rows go to a new object, the loss stays reported
gone=$(sqlite3 "$db" "SELECT o.key FROM cold JOIN cold_objects o ON o.id = cold.object_id WHERE strftime('%Y-%m', ts_us / 1e6, 'unixepoch') = '2026-11' LIMIT 1")
[ -n "$gone" ] || fail "no cold object for 2026-11"
rm "$COLD/$gone"
expect_stdout 0 akosha age --data data --cold "$COLD" --now 2027-02-20T00:00:00Z --json
assert_eq "$(echo "$out" | jq_py 'd["warm_to_cold"]["conversations"] > 0, d["cold_failures"], d["systems_failed"]')" \
  "True 0 0" "aging past a missing object"
assert_contains "$errout" "$gone" "the missing object is named"
assert_eq "$(keys | sha256sum)" "$before" "keys after aging past a missing object"
expect_stdout 1 akosha verify --data data --cold "$COLD" --json
assert_contains "$out" "$gone" "verify still reports the missing object"
