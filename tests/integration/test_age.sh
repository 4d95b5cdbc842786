# Aging hot -> warm -> cold never loses or duplicates a conversation: every
# key stays in exactly one tier with its content hash, through a failed cold
# upload and through kill -9 during both transitions.
source "$AKOSHA_SRC/tests/integration/lib.sh"

NOW=2026-11-27T00:00:00Z
akosha generate --out bucket --systems 4 --uploads 2 --conversations 1500 --growth 100 \
  --span-days 200 --now 2026-11-26T00:00:00Z >/dev/null
akosha ingest --once --bucket bucket --data data --json >/dev/null

# every (system, key, content hash) in whichever tier holds it
keys() {
  for db in $(find "$1" -name '*.db' | sort); do
    sqlite3 "$db" "SELECT '$(basename "$db")', conversation_id, hex(content_sha256) FROM hot
                   UNION ALL SELECT '$(basename "$db")', conversation_id, hex(content_sha256) FROM warm
                   UNION ALL SELECT '$(basename "$db")', conversation_id, hex(content_sha256) FROM cold"
  done | sort
}
count_where() { # tier condition
  local n=0 db
  for db in $(find data -name '*.db'); do
    n=$((n + $(sqlite3 "$db" "SELECT count(*) FROM $1 WHERE $2")))
  done
  echo $n
}
before=$(keys data | sha256sum)
total=$(keys data | wc -l)
now_us=$(python3 -c "import datetime; print(int(datetime.datetime(2026,11,27,tzinfo=datetime.timezone.utc).timestamp()*1e6))")
want_warm=$(count_where hot "ts_us < $now_us - 7*86400000000")
want_cold=$(count_where hot "ts_us < $now_us - 90*86400000000")
[ "$want_cold" -gt 100 ] && [ "$want_warm" -gt "$want_cold" ] || fail "generated data does not span the tiers"

# a dry run changes nothing
dry=$(akosha age --data data --now $NOW --dry-run --json)
assert_eq "$(echo "$dry" | jq_py 'd["hot_to_warm"]["conversations"], d["warm_to_cold"]["conversations"], d["dry_run"]')" \
  "$want_warm $want_cold True" "dry run counts, hot rows that go on to cold included"
assert_eq "$(keys data | sha256sum)" "$before" "store after a dry run"

# kill -9 in the middle of a hot -> warm batch (age.warm_moved: rows in warm,
# deleted from hot, not committed)
kill_at age.warm_moved:2 age --data data --now $NOW
assert_eq "$(keys data | sha256sum)" "$before" "keys after kill -9 during hot -> warm"

# a failed cold upload: hot -> warm happens, warm rows stay, exit 1
mkdir -p data/cold
for s in sys0000 sys0001 sys0002 sys0003; do : > "data/cold/system_id=$s"; done
expect_exit 1 akosha age --data data --now $NOW --json
assert_contains "$out" "cold uploads failed" "failure reported"
assert_eq "$(akosha stats --data data --json | jq_py 'd["cold"]')" "0" "nothing cold after a failed upload"
assert_eq "$(akosha stats --data data --json | jq_py 'd["warm"]')" "$want_warm" "all old rows warm"
assert_eq "$(keys data | sha256sum)" "$before" "no key lost or doubled by the failure"
rm -f data/cold/system_id=*

# kill -9 during warm -> cold, at named instants (AKOSHA_TEST_STOP,
# src/util/testpoint.h), then finish: a cold object's temp file written,
# not renamed; a cold object stored, its rows still warm; the catalog
# switched, the objects it replaced not yet deleted.
temps() { find data/cold -name '.akosha-tmp-*' | wc -l; }
kills=0
for stop in store.temp_written:1 age.cold_uploaded:1 store.temp_written:3 \
            age.cold_uploaded:2 age.cold_committed:1 store.temp_written:1; do
  kill_at $stop age --data data --now $NOW
  kills=$((kills + 1))
  assert_eq "$(keys data | sha256sum)" "$before" "keys after kill -9 at $stop"
  if [ "${stop%%:*}" = store.temp_written ]; then
    # the killed put's temp file is reported by verify (issue 20, item 7)
    assert_eq "$(temps)" 1 "temp files left by the kill at $stop"
    expect_stdout 0 akosha verify --data data --json
    assert_eq "$(echo "$out" | jq_py 'd["cold_temps"], [n["check"] for n in d["notices"]]')" \
      "1 ['cold-temp']" "verify reports the temp file"
  fi
done
run=$(akosha age --data data --now $NOW --json)
assert_eq "$(temps)" 0 "temp files after a pass that ran to the end"
stats=$(akosha stats --data data --json)
assert_eq "$(echo "$stats" | jq_py 'd["cold"], d["warm"] + d["cold"], d["hot"] + d["warm"] + d["cold"]')" \
  "$want_cold $want_warm $total" "tiers after aging"
assert_eq "$(keys data | sha256sum)" "$before" "every key in exactly one tier"

# a second pass has nothing to do
again=$(akosha age --data data --now $NOW --json)
assert_eq "$(echo "$again" | jq_py 'd["hot_to_warm"]["conversations"], d["warm_to_cold"]["conversations"]')" "0 0" "idempotent"

# cold objects: one per system and month, Hive-style keys, catalogued, and
# what the killed passes left is gone
objects=$(find data/cold -name '*.parquet' | wc -l)
catalogued=$(for db in $(find data -name '*.db'); do sqlite3 "$db" "SELECT key FROM cold_objects"; done | sort -u | wc -l)
months=$(for db in $(find data -name '*.db'); do
  sqlite3 "$db" "SELECT DISTINCT '$db' || strftime('%Y-%m', ts_us / 1e6, 'unixepoch') FROM cold"; done | wc -l)
assert_eq "$objects" "$catalogued" "every object catalogued"
assert_eq "$objects" "$months" "one object per system and month"
grep -qvE '/system_id=sys[0-9]+/month=20[0-9]{2}-[0-9]{2}/batch-[0-9a-f]{16}\.parquet$' <<<"$(find data/cold -name '*.parquet')" &&
  fail "object key layout"

# each tier answers get; warm is searchable by summary text and by vector
sid=sys0001
db="data/$(akosha shard $sid | cut -d' ' -f2)"
for tier in hot warm cold; do
  id=$(sqlite3 "$db" "SELECT conversation_id FROM $tier LIMIT 1")
  assert_eq "$(akosha get --data data $sid "$id" --json | jq_py 'd["tier"]')" "$tier" "get from $tier"
done
wid=$(sqlite3 "$db" "SELECT conversation_id FROM warm WHERE embedding_q IS NOT NULL LIMIT 1")
out=$(akosha search --data data --like "$sid/$wid" --system $sid --limit 3 --json)
assert_eq "$(echo "$out" | jq_py 'd["results"][0]["conversation_id"], d["results"][0]["tier"]')" "$wid warm" "warm vector search"
word=$(sqlite3 "$db" "SELECT summary FROM warm WHERE conversation_id='$wid'" | grep -oE '[A-Za-z]{6,}' | head -1)
out=$(akosha search --data data --text "$word" --tiers warm --system $sid --limit 50 --json)
echo "$out" | jq_py 'len(d["results"]) > 0 and all(r["tier"] == "warm" and "summary" in r for r in d["results"])' |
  grep -q True || fail "warm text search"
