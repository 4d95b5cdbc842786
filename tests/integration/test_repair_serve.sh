# Repairs while the daemon runs (issue 7): the command refuses to swap a
# database under it and points at the API; POST /v1/systems/{id}/reingest
# rebuilds a corrupt system while every other keeps being searched; the
# index notices databases another process added or an operator removed.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 4 --uploads 2 --conversations 200 >/dev/null
akosha ingest --once --bucket bucket --data data --quiet >/dev/null
want=$(store_digest data)
victim=sys0001
victim_db=data/$(akosha shard $victim | cut -d' ' -f2)
victim_shard=$(akosha shard $victim | cut -d' ' -f1)

start_serve --data data --bucket bucket --poll-interval 1
wait_ready

metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
wait_metric() { # name value
  for _ in $(seq 1 100); do [ "$(metric "$1")" = "$2" ] && return 0; sleep 0.1; done
  fail "$1 never became $2 (is $(metric "$1"))"
}
search_json='{"text": "plan migrate", "limit": 5}'

# The command will not swap a database under the daemon.
expect_exit 1 akosha reingest --data data --bucket bucket --system $victim
assert_contains "$out" "in use by another akosha process" "reingest refuses while serve runs"
assert_contains "$out" "/v1/systems/$victim/reingest" "and says what to do instead"

# Corrupt one system and make the daemon read it again.
size=$(stat -c %s "$victim_db")
dd if=/dev/urandom of="$victim_db" bs=16384 seek=1 count=$((size / 16384 - 1)) conv=notrunc status=none
http POST /v1/index/reload
assert_eq "$status" 202 "index reload accepted"
wait_metric akosha_index_broken_systems 1
http POST /v1/search "$search_json"
assert_eq "$status" 200 "search answers with a broken system"
assert_eq "$(echo "$body" | jq_py '[f["shard"] for f in d["shards_failed"]] == ['$victim_shard'] and len(d["results"]) == 5')" \
  True "the broken shard is named: $body"

# Bad requests get clear errors.
http POST /v1/systems/bad..id/reingest;           assert_eq "$status" 400 "invalid id"
http POST /v1/systems/$victim/reingest '{"force": 1}'; assert_eq "$status" 400 "force must be a boolean"
assert_contains "$body" "force" "the error names the field"
http POST /v1/systems/$victim/reingest '{"forse": true}'; assert_eq "$status" 400 "unknown field"
http POST /v1/systems/$victim/reingest '[1'; assert_eq "$status" 400 "bad JSON"
http GET /v1/systems/sys0003/reingest;             assert_eq "$status" 404 "no rebuild asked for"
http PUT /v1/systems/$victim/reingest;             assert_eq "$status" 405 "wrong method"

# Rebuild through the daemon; searches go on meanwhile.
http POST /v1/systems/$victim/reingest
assert_eq "$status" 202 "reingest accepted"
assert_contains "$body" "\"system_id\":\"$victim\"" "the job names its system"
state=
for _ in $(seq 1 100); do
  http POST /v1/search "$search_json"
  assert_eq "$status" 200 "search during the rebuild"
  http GET /v1/systems/$victim/reingest
  state=$(echo "$body" | jq_py 'd["state"]')
  [ "$state" = done ] || [ "$state" = failed ] && break
  sleep 0.1
done
assert_eq "$state" done "the rebuild finished: $body"
assert_eq "$(echo "$body" | jq_py 'd["swapped"], d["uploads_failed"]')" "True 0" "rebuild result"
wait_metric akosha_index_broken_systems 0
assert_eq "$(metric 'akosha_reingests_total{outcome="ok"}')" 1 "reingests counted"
http POST /v1/search "$search_json"
assert_eq "$(echo "$body" | jq_py 'd["shards_failed"]')" "[]" "no shard fails after the rebuild"
cid=$(sqlite3 "$victim_db" "SELECT conversation_id FROM hot LIMIT 1")
http GET "/v1/conversations/$victim/$cid"
assert_eq "$status" 200 "a rebuilt conversation is served"

# Another process ingests a new system: the next poll's refresh indexes it.
akosha generate --out bucket2 --systems 1 --uploads 1 --conversations 30 --prefix new >/dev/null
akosha ingest --once --bucket bucket2 --data data --quiet >/dev/null
new_search='{"text": "plan migrate", "system_id": "new0000", "limit": 3}'
for _ in $(seq 1 50); do
  http POST /v1/search "$new_search"
  [ "$(echo "$body" | jq_py 'len(d["results"])')" = 3 ] && break
  sleep 0.1
done
assert_eq "$(echo "$body" | jq_py 'len(d["results"])')" 3 "a system ingested by another process is searched"
# An operator deletes it: the refresh forgets it.
new_db=data/$(akosha shard new0000 | cut -d' ' -f2)
rm -f "$new_db" "$new_db-wal" "$new_db-shm"
for _ in $(seq 1 50); do
  http POST /v1/search "$new_search"
  [ "$(echo "$body" | jq_py 'len(d["results"])')" = 0 ] && break
  sleep 0.1
done
assert_eq "$(echo "$body" | jq_py 'len(d["results"]), d["shards_failed"]')" "0 []" "a removed system is forgotten"

stop_serve
assert_eq "$serve_rc" 0 "serve exits 0"
find data -name '*.replaced-*' -delete
assert_eq "$(store_digest data)" "$want" "the store equals the original after the rebuild"
expect_exit 0 akosha verify --data data
