# `akosha search` and `akosha get` end to end: shapes, rankings, filters,
# errors, a broken shard and a slow one.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 5 --uploads 2 --conversations 60 --growth 10 >/dev/null
akosha ingest --once --bucket bucket --data data --json >/dev/null

# more like this: the conversation itself comes first, with cosine 1
out=$(akosha search --data data --like sys0002/conv-2-000010 --limit 5 --json)
assert_eq "$(echo "$out" | jq_py 'd["results"][0]["conversation_id"], round(float(d["results"][0]["score"]), 4)')" \
  "conv-2-000010 1.0" "nearest to itself"
assert_eq "$(echo "$out" | jq_py 'sorted(d["results"][0])')" \
  "['content', 'conversation_id', 'metadata', 'score', 'system_id', 'tier', 'timestamp']" "result fields"
assert_eq "$(echo "$out" | jq_py 'sorted(d)')" "['mode', 'results', 'shards_failed', 'shards_queried', 'took_ms']" "response fields"
assert_eq "$(echo "$out" | jq_py 'd["shards_queried"], len(d["results"]), d["shards_failed"]')" "5 5 []" "fan-out"
echo "$out" | jq_py 'all(a["score"] >= b["score"] for a, b in zip(d["results"], d["results"][1:]))' | grep -q True ||
  fail "results not sorted by score"

# the vector from a file or stdin gives the same answer as --like
sqlite3 "data/$(akosha shard sys0002 | cut -d' ' -f2)" \
  "SELECT hex(embedding) FROM hot WHERE conversation_id='conv-2-000010'" |
  python3 -c "import struct,sys,json; b=bytes.fromhex(sys.stdin.read().strip()); print(json.dumps(list(struct.unpack('<384f', b))))" > vec.json
assert_eq "$(akosha search --data data --vector vec.json --limit 5 --json | jq_py '[r["conversation_id"] for r in d["results"]]')" \
  "$(echo "$out" | jq_py '[r["conversation_id"] for r in d["results"]]')" "--vector FILE"
assert_eq "$(akosha search --data data --vector - --limit 1 --json < vec.json | jq_py 'd["results"][0]["conversation_id"]')" \
  "conv-2-000010" "--vector -"

# filters
out=$(akosha search --data data --like sys0002/conv-2-000010 --system sys0004 --limit 20 --json)
assert_eq "$(echo "$out" | jq_py 'd["shards_queried"], sorted(set(r["system_id"] for r in d["results"]))')" \
  "1 ['sys0004']" "--system reads one shard"
out=$(akosha search --data data --like sys0002/conv-2-000010 --threshold 0.5 --limit 100 --json)
echo "$out" | jq_py 'all(r["score"] >= 0.5 for r in d["results"])' | grep -q True || fail "--threshold"
out=$(akosha search --data data --text "rebase reflog" --since 2026-10-01T00:00:00Z --limit 50 --json)
echo "$out" | jq_py 'len(d["results"]) > 0 and all(r["timestamp"] >= "2026-10-01" for r in d["results"])' |
  grep -q True || fail "--since"

# text: every hit contains a query word
out=$(akosha search --data data --text "bisect" --limit 10 --json)
echo "$out" | jq_py 'len(d["results"]) > 0 and all("bisect" in r["content"] for r in d["results"])' |
  grep -q True || fail "text hits contain the word"
# a readable table without --json
akosha search --data data --text "bisect" --limit 3 | grep "shards queried" >/dev/null || fail "table output"

# get: from the store, and a clear error when absent
out=$(akosha get --data data sys0002 conv-2-000010 --json)
assert_eq "$(echo "$out" | jq_py 'd["tier"], d["conversation_id"], len(d["content_sha256"])')" \
  "hot conv-2-000010 64" "get"
expect_exit 1 akosha get --data data sys0002 no-such-conversation
assert_contains "$out" "has no conversation" "get: not found"
expect_exit 2 akosha get --data data '../x' y

# bad queries: exit 2 with the field named
printf '[1, 2, 3]' > short.json
python3 -c "print([0.0]*384)" > zero.json
python3 -c "import json; print(json.dumps(['a']*384))" > strs.json
expect_exit 2 akosha search --data data --vector short.json;   assert_contains "$out" "vector: has 3 numbers, expected 384" "short vector"
expect_exit 2 akosha search --data data --vector zero.json;    assert_contains "$out" "vector: all zeros" "zero vector"
expect_exit 2 akosha search --data data --vector strs.json;    assert_contains "$out" "vector[0]: not a number" "strings"
printf '[NaN]' > nan.json
expect_exit 2 akosha search --data data --vector nan.json;     assert_contains "$out" "vector: invalid JSON" "NaN"
expect_exit 2 akosha search --data data --text "  ";           assert_contains "$out" "text: empty" "empty text"
expect_exit 2 akosha search --data data --text x --limit 0;    assert_contains "$out" "--limit must be an integer from 1 to 1000, not '0'" "limit 0"
expect_exit 2 akosha search --data data --text x --limit 5000; assert_contains "$out" "limit" "limit 5000"
expect_exit 2 akosha search --data data --text x --tiers frozen; assert_contains "$out" "--tiers" "tiers"
expect_exit 2 akosha search --data data;                       assert_contains "$out" "give a vector, a text, or both" "nothing"

# a slow shard: named, the others answer, the deadline holds
slow=$(akosha shard sys0001 | cut -d' ' -f1)
start=$(date +%s%N)
out=$(AKOSHA_TEST_SLOW_SHARD="$slow:3000" akosha search --data data --text "rebase" --limit 50 --timeout-ms 200 --json)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "$(echo "$out" | jq_py '[f["shard"] for f in d["shards_failed"]]')" "[$slow]" "slow shard named"
assert_contains "$(echo "$out" | jq_py 'd["shards_failed"][0]["error"]')" "200 ms" "deadline in the error"
echo "$out" | jq_py 'len(d["results"]) > 0 and all(r["system_id"] != "sys0001" for r in d["results"])' |
  grep -q True || fail "the other shards answer"
[ "$ms" -lt 2500 ] || fail "search waited ${ms} ms for a slow shard"

# a corrupt database: its shard is named with the error, the rest answer
db="data/$(akosha shard sys0003 | cut -d' ' -f2)"
rm -f "$db-wal" "$db-shm"
python3 -c "f=open('$db','r+b'); f.write(b'not a database!!' * 64)"
out=$(akosha search --data data --text "rebase" --limit 50 --json 2>/dev/null)
assert_eq "$(echo "$out" | jq_py '[f["shard"] for f in d["shards_failed"]]')" \
  "[$(akosha shard sys0003 | cut -d' ' -f1)]" "corrupt shard named"
assert_contains "$(echo "$out" | jq_py 'd["shards_failed"][0]["error"]')" "system sys0003" "which system"
echo "$out" | jq_py 'len(d["results"]) > 0' | grep -q True || fail "results from the healthy shards"
