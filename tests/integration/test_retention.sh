# AKOSHA_RETENTION_DAYS at the boundary: the cut is the start of the UTC day
# of (now - N days); a conversation one second before it leaves hot, warm or
# cold (its cold object deleted, its full-text entry gone), one at the cut
# stays.  Off by default; a dry run changes nothing; the aging report and
# the daemon's metrics count what was dropped.  A month object holding rows
# on both sides of the cut is rewritten without the older ones (kill -9
# after the new object is stored and after the catalog switched).
source "$AKOSHA_SRC/tests/integration/lib.sh"

NOW=2026-04-01T12:00:00Z # 90 days before: 2026-01-01T12:00Z, so the cut is 2026-01-01T00:00:00Z
python3 - "$AKOSHA_SRC/tests/integration" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from mkupload import record
stamps = {"a": "2025-12-01T08:00:00Z", "b": "2025-12-31T23:59:59Z",
          "c": "2026-01-01T00:00:00Z", "e": "2026-04-01T06:00:00Z"}
recs = []
for i, (k, ts) in enumerate(sorted(stamps.items())):
    r = record(i, "ret")
    r.update(id=k, timestamp=ts, content=f"retention probe {k} quokka")
    recs.append(r)
json.dump(recs, open("recs.json", "w"))
PY
mkupload bucket ret u1 --records @recs.json --uploaded-at 2026-04-01T07:00:00Z >/dev/null
ids() { # data tier
  sqlite3 "$1/$(akosha shard ret | cut -d' ' -f2)" "SELECT group_concat(conversation_id, ',') FROM (SELECT conversation_id FROM $2 ORDER BY 1)"
}
fts() { sqlite3 "$1/$(akosha shard ret | cut -d' ' -f2)" "SELECT count(*) FROM $2_fts WHERE $2_fts MATCH 'quokka'"; }

# ---- hot: retention runs before hot -> warm ------------------------------
akosha ingest --once --bucket bucket --data hot --quiet >/dev/null
expect_stdout 0 akosha age --data hot --now $NOW --hot-days 36500 --warm-days 36500 --json
assert_eq "$(echo "$out" | jq_py 'd["retention"]')" "None" "off by default"
assert_eq "$(ids hot hot)" "a,b,c,e" "nothing dropped without AKOSHA_RETENTION_DAYS"
before=$(store_digest hot)
expect_stdout 0 akosha age --data hot --now $NOW --hot-days 36500 --warm-days 36500 --retention-days 90 --dry-run --json
assert_eq "$(echo "$out" | jq_py 'd["retention"]["cutoff"], d["retention"]["hot"]')" "2026-01-01T00:00:00Z 2" "dry run"
assert_eq "$(store_digest hot)" "$before" "a dry run changes nothing"
expect_stdout 0 env AKOSHA_RETENTION_DAYS=90 "$AKOSHA_BIN" age --data hot --now $NOW --hot-days 36500 --warm-days 36500 --json
assert_eq "$(echo "$out" | jq_py 'd["retention"]["hot"], d["retention"]["warm"], d["retention"]["cold"]')" "2 0 0" "hot rows dropped"
assert_eq "$(ids hot hot)" "c,e" "one second before the cut goes, the cut itself stays"
assert_eq "$(fts hot hot)" "2" "their full-text entries went with them"

# ---- warm ----------------------------------------------------------------
akosha ingest --once --bucket bucket --data warm --quiet >/dev/null
akosha age --data warm --now $NOW --hot-days 1 --warm-days 365 >/dev/null
assert_eq "$(ids warm warm)" "a,b,c" "warm before"
expect_stdout 0 akosha age --data warm --now $NOW --hot-days 1 --warm-days 365 --retention-days 90 --json
assert_eq "$(echo "$out" | jq_py 'd["retention"]["warm"]')" "2" "warm rows dropped"
assert_eq "$(ids warm warm)" "c" "warm after"
assert_eq "$(fts warm warm)" "1" "warm full-text entries"

# ---- cold: objects hold a month (tier/tocold.c); the month past the cut is
# deleted from the store, the month at the cut stays ----------------------
akosha ingest --once --bucket bucket --data cold --quiet >/dev/null
akosha age --data cold --now $NOW --hot-days 1 --warm-days 2 >/dev/null
assert_eq "$(ids cold cold)" "a,b,c" "cold before"
assert_eq "$(find cold/cold -name '*.parquet' | wc -l)" "2" "one object per month"
expect_stdout 0 akosha age --data cold --now $NOW --hot-days 1 --warm-days 2 --retention-days 90 --json
assert_eq "$(echo "$out" | jq_py 'd["retention"]["cold"], d["retention"]["cold_objects"], d["retention"]["cold_kept"]')" "2 1 0" "cold dropped"
assert_eq "$(ids cold cold)" "c" "cold after"
assert_eq "$(find cold/cold -name '*.parquet' | wc -l)" "1" "their objects are deleted"
find cold/cold -name '*.parquet' -path '*month=2026-01*' | grep . >/dev/null || fail "the object at the cut stays"
expect_exit 0 akosha verify --data cold --deep
# a second pass finds nothing more
expect_stdout 0 akosha age --data cold --now $NOW --hot-days 1 --warm-days 2 --retention-days 90 --json
assert_eq "$(echo "$out" | jq_py 'd["retention"]["cold"]')" "0" "idempotent"

# ---- cold: the month object straddling the cut is rewritten without the
# rows past it (tier/tocold.c ak_age_cold_trim), crash-safely -------------
TNOW=2026-04-15T12:00:00Z # 90 days before: 2026-01-15T12:00Z, so the cut is 2026-01-15T00:00:00Z
python3 - "$AKOSHA_SRC/tests/integration" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from mkupload import record
stamps = {"j1": "2026-01-10T08:00:00Z", "j2": "2026-01-14T23:59:59Z",
          "j3": "2026-01-15T00:00:00Z", "j4": "2026-01-20T10:00:00Z",
          "m1": "2026-02-03T10:00:00Z"}
recs = []
for i, (k, ts) in enumerate(sorted(stamps.items())):
    r = record(i, "ret")
    r.update(id=k, timestamp=ts, content=f"straddle probe {k} quokka")
    recs.append(r)
json.dump(recs, open("recs2.json", "w"))
PY
mkupload bucket2 ret u1 --records @recs2.json --uploaded-at 2026-04-15T07:00:00Z >/dev/null
jan() { find "$1/cold" -name '*.parquet' -path '*month=2026-01*' | sort; }
pq_rows() { # data object-file -> its conversation ids, from the object itself
  akosha verify --data "$1" --deep >/dev/null || fail "verify --deep before reading $2"
  python3 - "$2" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
print(",".join(sorted(set(m.decode() for m in re.findall(rb"\b(j[0-9]|m[0-9])\b", data)))))
PY
}
for how in clean retention.cold_uploaded retention.cold_committed; do
  d=trim-$how
  akosha ingest --once --bucket bucket2 --data $d --quiet >/dev/null
  akosha age --data $d --now $TNOW --hot-days 1 --warm-days 2 >/dev/null
  assert_eq "$(ids $d cold)" "j1,j2,j3,j4,m1" "$how: cold before"
  old=$(jan $d)
  assert_eq "$(echo "$old" | wc -l)" 1 "$how: one January object"
  if [ $how != clean ]; then
    kill_at $how age --data $d --now $TNOW --hot-days 1 --warm-days 2 --retention-days 90
    expect_exit 0 akosha verify --data $d --deep  # nothing lost: every row in one object
    if [ $how = retention.cold_uploaded ]; then
      assert_eq "$(ids $d cold)" "j1,j2,j3,j4,m1" "$how: the catalog did not switch"
    else
      assert_eq "$(ids $d cold)" "j3,j4,m1" "$how: the catalog switched"
    fi
    assert_eq "$(jan $d | wc -l)" 2 "$how: old and new object both there"
  fi
  expect_stdout 0 akosha age --data $d --now $TNOW --hot-days 1 --warm-days 2 --retention-days 90 --json
  if [ $how = retention.cold_committed ]; then
    assert_eq "$(echo "$out" | jq_py 'd["retention"]["cold"], d["cold_objects_deleted"]')" "0 1" \
      "$how: the next pass deletes the replaced object"
  else
    assert_eq "$(echo "$out" | jq_py 'd["retention"]["cold"], d["retention"]["cold_rewritten"], d["retention"]["cold_kept"], d["retention"]["cold_objects"]')" \
      "2 1 0 0" "$how: two rows dropped by rewriting the object"
  fi
  assert_eq "$(ids $d cold)" "j3,j4,m1" "$how: one second before the cut goes, the cut stays"
  assert_eq "$(fts $d cold)" "3" "$how: their full-text entries went with them"
  new=$(jan $d)
  assert_eq "$(echo "$new" | wc -l)" 1 "$how: one January object again"
  [ "$new" != "$old" ] || fail "$how: the object was not rewritten"
  assert_eq "$(pq_rows $d "$new")" "j3,j4" "$how: the new object holds only the rows at or after the cut"
  assert_eq "$(find $d/cold -name '*.parquet' | wc -l)" 2 "$how: January and February"
  expect_stdout 0 akosha get --data $d ret j3
  assert_contains "$out" "straddle probe j3" "$how: a kept row reads from the new object"
  expect_exit 1 akosha get --data $d ret j2
  expect_stdout 0 akosha age --data $d --now $TNOW --hot-days 1 --warm-days 2 --retention-days 90 --json
  assert_eq "$(echo "$out" | jq_py 'd["retention"]["cold"], d["retention"]["cold_rewritten"]')" "0 0" "$how: idempotent"
  expect_exit 0 akosha verify --data $d --deep
done

# ---- the daemon counts it -------------------------------------------------
akosha ingest --once --bucket bucket --data served --quiet >/dev/null
start_serve --data served --retention-days 200 --aging-interval 86400 --tokens tok-0123456789abcdef
wait_ready
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
runs=$(metric akosha_aging_runs_total)
http POST /v1/aging "" tok-0123456789abcdef
for _ in $(seq 1 300); do [ "$(metric akosha_aging_runs_total)" -gt "$runs" ] && break; sleep 0.1; done
assert_eq "$(metric 'akosha_retention_dropped_total{tier="hot"}')" "4" "the daemon's metric (all four are past 200 days)"
http POST /v1/search '{"text": "quokka"}' tok-0123456789abcdef
assert_eq "$(echo "$body" | jq_py 'len(d["results"])')" "0" "gone from search"
stop_serve
echo ok
