# DELETE /v1/systems/{id} on a daemon serving searches: who may do it (a
# token even on loopback; AKOSHA_ADMIN_TOKENS when set), the system leaves
# search, /v1/systems and the index at once, and the next cycle does not
# bring it back.
source "$AKOSHA_SRC/tests/integration/lib.sh"

API=api-token-0123456789abcdef
ADMIN=admin-token-0123456789abcdef
akosha generate --out bucket --systems 3 --uploads 2 --conversations 120 --span-days 200 \
  --now 2026-11-26T00:00:00Z >/dev/null
akosha ingest --once --bucket bucket --data data --quiet >/dev/null
akosha age --data data --now 2026-11-27T00:00:00Z >/dev/null

hits() { # system -> its results among the first 500 of a text search
  http POST /v1/search '{"text": "rebase", "limit": 500}' "$API"
  assert_eq "$status" 200 "search"
  echo "$body" | jq_py "sum(r['system_id'] == '$1' for r in d['results'])"
}
cycles() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^akosha_ingest_cycles_total /{print $2}'; }

# ---- no tokens at all: refused even on loopback -------------------------
start_serve --data data --bucket bucket --poll-interval 3600
wait_ready
http DELETE /v1/systems/sys0001
assert_eq "$status" 403 "DELETE without any configured token"
assert_contains "$body" "AKOSHA_ADMIN_TOKENS" "says what to configure"
stop_serve
[ -f "data/$(akosha shard sys0001 | cut -d' ' -f2)" ] || fail "refused DELETE removed the database"

# ---- admin tokens -------------------------------------------------------
AKOSHA_ADMIN_TOKENS=$ADMIN start_serve --data data --bucket bucket --poll-interval 3600 --tokens $API
wait_ready
[ "$(hits sys0001)" -gt 0 ] || fail "sys0001 not found before"
http DELETE /v1/systems/sys0001
assert_eq "$status" 401 "DELETE without a token"
http DELETE /v1/systems/sys0001 "" "$API"
assert_eq "$status" 403 "DELETE with an API token that is not an admin token"
http DELETE /v1/systems/sys0001 "" "wrong-token-0123456789abcdef"
assert_eq "$status" 401 "DELETE with a wrong token (not even an API token)"
http DELETE /v1/systems/sys0001 '{"purge_bucket": 1}' "$ADMIN"
assert_eq "$status" 400 "purge_bucket must be a boolean"
http DELETE /v1/systems/sys0001 '{"nuke": true}' "$ADMIN"
assert_eq "$status" 400 "unknown field"
http DELETE "/v1/systems/bad%20id" "" "$ADMIN"
assert_eq "$status" 400 "invalid id"
http DELETE /v1/systems/sys0001/uploads "" "$ADMIN"
assert_eq "$status" 404 "DELETE of a sub-resource"
expect_exit 1 akosha forget --data data sys0001
assert_contains "$out" "curl -X DELETE" "the command refuses under the daemon and says what to do"
http DELETE /v1/systems/sys0001 "" "$ADMIN"
assert_eq "$status" 200 "DELETE with the admin token"
assert_eq "$(echo "$body" | jq_py 'd["kind"], d["state"], d["conversations"]["cold"] > 0')" "forget done True" "result"
assert_eq "$(hits sys0001)" "0" "no search hit right after"
[ "$(hits sys0002)" -gt 0 ] || fail "the other systems still answer"
http GET /v1/systems "" "$API"
assert_eq "$(echo "$body" | jq_py 'sorted(s["system_id"] for s in d["systems"])')" "['sys0000', 'sys0002']" "/v1/systems"
http GET /v1/conversations/sys0001/conv-1-000001 "" "$API"
assert_eq "$status" 404 "its conversations are gone"
http GET /v1/systems/sys0001/forget "" "$API"
assert_eq "$(echo "$body" | jq_py 'd["state"]')" "done" "forget status"
c0=$(cycles)
http POST /v1/ingest "" "$API"
for _ in $(seq 1 300); do [ "$(cycles)" -gt "$c0" ] && break; sleep 0.1; done
[ "$(cycles)" -gt "$c0" ] || fail "the cycle never ran"
assert_eq "$(hits sys0001)" "0" "not back after a cycle"
curl -s "http://127.0.0.1:$PORT/metrics" | grep '^akosha_forgets_total{outcome="ok"} 1$' >/dev/null || fail "forget metric"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"
expect_exit 0 akosha verify --data data
assert_eq "$(find data -name 'sys0001.db*'; find data/cold -path '*system_id=sys0001/*' -type f)" "" "nothing left on disk"

# ---- API tokens only: any API token may; --purge-bucket over HTTP --------
start_serve --data data --bucket bucket --poll-interval 3600 --tokens $API
wait_ready
http DELETE /v1/systems/sys0002 '{"purge_bucket": true}' "$API"
assert_eq "$status" 200 "DELETE with an API token when no admin tokens are set"
assert_eq "$(echo "$body" | jq_py 'd["bucket_objects"] > 0')" "True" "bucket purged"
stop_serve
assert_eq "$(find bucket -path '*systems/sys0002/*' -type f)" "" "its uploads are gone from the bucket"
echo ok
