# Analytics over the memories (issue 16): daily series built by ingestion
# from uploads spread over days, judged by the CLI, the HTTP API and the
# MCP SDK against known answers (a linear ramp, a planted spike, identical
# systems, too little data); exactly once under re-sent snapshots and
# updates; aging to cold changes nothing; retention and forget show.
source "$AKOSHA_SRC/tests/integration/lib.sh"

END=2026-11-30
SPIKE=2026-11-26   # spike.example.com's day 15 of 20
python3 - "$END" <<'PY'
import datetime, json, subprocess, sys, os
end = datetime.date.fromisoformat(sys.argv[1])
mk = os.path.join(os.environ["AKOSHA_SRC"], "tests/integration/mkupload.py")
def system(sid, days, count, extra=lambda d: []):
    for d in range(days):
        day = end - datetime.timedelta(days=days - 1 - d)
        recs = [{"id": f"{sid}-{d}-{k}", "content": f"memory {k} of day {d} on {sid}",
                 "timestamp": f"{day}T12:00:00Z",
                 "metadata": {"project": "akosha", "category": "bug" if d % 2 == 0 else "feature"}}
                for k in range(count(d))] + extra(d, day)
        with open("recs.json", "w") as f:
            json.dump(recs, f)
        subprocess.run(["python3", mk, "bucket", sid, f"u{d:03d}", "--records", "@recs.json",
                        "--uploaded-at", f"{day}T23:00:00Z"], check=True)
refl = lambda d, day: [{"id": f"r-{d}", "content": f"reflection of day {d}", "timestamp": f"{day}T13:00:00Z",
                        "metadata": {"type": "reflection", "project": "akosha"}}]
system("ramp.example.com", 14, lambda d: d + 1, refl)
system("spike.example.com", 20, lambda d: 40 if d == 15 else 5, lambda d, day: [])
for t in ("twin-1.example.com", "twin-2.example.com"):
    system(t, 20, lambda d: (d * 7) % 5 + 1, lambda d, day: [])
system("young.example.com", 2, lambda d: 3, lambda d, day: [])
PY
akosha ingest --once --bucket bucket --data data --json > ingest.json
assert_eq "$(jq_py 'd["uploads_ingested"]' < ingest.json)" 76 "every upload ingested"

an() { akosha "$@" --data data --end $END --json; }
out=$(an trends --metric conversation_count --system ramp.example.com --days 14)
assert_eq "$(echo "$out" | jq_py 'd["trend_direction"], d["trend_strength"], round(d["percent_change"], 6)')" \
  "increasing 1 1300" "CLI trends: the ramp"
ramp_values() { an trends --metric conversation_count --system ramp.example.com --days 14 | jq_py 'd["values"]'; }
before=$(ramp_values)
assert_eq "$before" "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]" "the ramp, day by day"
out=$(an anomalies --metric conversation_count --system spike.example.com --days 20)
assert_eq "$(echo "$out" | jq_py 'd["anomaly_count"], d["anomalies"][0]["date"], d["anomalies"][0]["value"]')" \
  "1 $SPIKE 40" "CLI anomalies: the planted spike"
out=$(an correlate --metric conversation_count --days 20)
assert_eq "$(echo "$out" | jq_py '[(c["system_1"], c["system_2"], c["strength"]) for c in d["correlations"] if c["correlation"] > 0.999999]')" \
  "[('twin-1.example.com', 'twin-2.example.com', 'strong')]" "CLI correlate: the twins"
out=$(an trends --metric conversation_count --system young.example.com --days 14)
assert_eq "$(echo "$out" | jq_py 'd["error"]')" "Insufficient data for trend analysis" "too little data"
out=$(an metrics --system ramp.example.com --days 14)
assert_eq "$(echo "$out" | jq_py '{m["name"]: m["total"] for m in d["metrics"]}["conversation_count"], {m["name"]: m["total"] for m in d["metrics"]}["reflection_count"], {m["name"]: m["total"] for m in d["metrics"]}["upload_count"], {m["name"]: m["total"] for m in d["metrics"]}["new_count"]')" \
  "105 14 14 119" "CLI metrics: totals of one system"
text=$(akosha trends --data data --end $END --metric conversation_count --system ramp.example.com --days 14)
assert_contains "$text" "increasing, R^2 1.000" "CLI text output"
expect_exit 2 akosha trends --data data --metric nope
expect_exit 2 akosha anomalies --data data --metric new_count --threshold -2
expect_exit 2 akosha trends --data data --metric new_count --end 30/11/2026
expect_exit 1 akosha trends --data data --metric new_count --system nobody.example.com

# today's gauges and the HTTP API
TODAY=$(date -u +%F)
mkupload bucket today.example.com t1 --count 4 --records "$(python3 -c '
import json, datetime; t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps([{"id": f"t{i}", "content": f"today {i}", "timestamp": t} for i in range(4)]))')"
akosha ingest --once --bucket bucket --data data --json > /dev/null
TOKEN=analytics-token-0123456789ab
npm_deps "$AKOSHA_SRC/tests/integration/mcp"
start_serve --data data --tokens $TOKEN --poll-interval 3600
wait_ready
curl -s "http://127.0.0.1:$PORT/metrics" > metrics.txt
if [ "$(date -u +%F)" = "$TODAY" ]; then # (a run across midnight UTC cannot judge "today")
  grep -q '^akosha_daily_memories{system="today.example.com"} 4$' metrics.txt || { grep daily metrics.txt; fail "gauge of today's memories"; }
  grep -q '^akosha_daily_memories{system="~other"} 0$' metrics.txt || fail "the rest summed"
  grep -q '^akosha_daily_systems_active 1$' metrics.txt || fail "systems active today"
fi
http POST /v1/analytics/trends "{\"metric_name\":\"conversation_count\",\"system_id\":\"spike.example.com\",\"time_window_days\":20,\"end_date\":\"$END\"}" $TOKEN
assert_eq "$status" 200 "POST /v1/analytics/trends"
assert_eq "$(echo "$body" | jq_py 'd["data_points"], d["time_range"][1]')" "20 $END" "trends over HTTP"
http POST /v1/analytics/metrics "" $TOKEN
assert_eq "$status" 200 "metrics with no body: the defaults"
http POST /v1/analytics/anomalies '{"metric_name":' $TOKEN
assert_eq "$status" 400 "garbage body"
assert_contains "$body" "body:" "garbage body: said so"
http POST /v1/analytics/correlations '{"metric_name":"new_count","threshold_std":2}' $TOKEN
assert_eq "$status" 400 "an argument the tool does not take"
http POST /v1/analytics/trends '{"metric_name":"new_count","system_id":"nobody.example.com"}' $TOKEN
assert_eq "$status" 404 "unknown system"
http GET /v1/analytics/trends "" $TOKEN
assert_eq "$status" 405 "GET"
http POST /v1/analytics/bogus "{}" $TOKEN
assert_eq "$status" 404 "unknown analytics endpoint"
http POST /v1/analytics/trends '{"metric_name":"new_count"}'
assert_eq "$status" 401 "needs the token"
node "$AKOSHA_SRC/tests/integration/mcp/analytics.mjs" "http://127.0.0.1:$PORT/mcp" $TOKEN $END $SPIKE > mcp.log 2>&1 ||
  { cat mcp.log; fail "analytics over the MCP SDK"; }
grep -q "ok: all" mcp.log || fail "MCP client did not finish"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"
# exactly once: the same snapshot again changes nothing; an update moves
# its memory (day 0's only conversation, edited and re-dated to day 13)
python3 - <<'PY'
import json
recs = [{"id": "ramp.example.com-13-%d" % k, "content": "memory %d of day 13 on ramp.example.com" % k,
         "timestamp": "2026-11-30T12:00:00Z",
         "metadata": {"project": "akosha", "category": "feature"}} for k in range(14)]
recs.append({"id": "ramp.example.com-0-0", "content": "edited and moved", "timestamp": "2026-11-30T15:00:00Z",
             "metadata": {"project": "akosha", "category": "bug"}})
json.dump(recs, open("again.json", "w"))
PY
mkupload bucket ramp.example.com u900 --records @again.json --uploaded-at 2026-12-01T08:00:00Z
akosha ingest --once --bucket bucket --data data --json > again.out
assert_eq "$(jq_py 'd["uploads_ingested"], d["duplicates_skipped"], d["conversations_updated"]' < again.out)" \
  "1 14 1" "re-sent snapshot: duplicates and one update"
assert_eq "$(ramp_values)" "[0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15]" "the update moved its memory"
out=$(akosha metrics --data data --end 2026-12-01 --days 1 --system ramp.example.com --json)
assert_eq "$(echo "$out" | jq_py '[(m["name"], m["total"]) for m in d["metrics"] if m["name"] in ("new_count", "updated_count", "duplicate_count")]')" \
  "[('new_count', 0), ('updated_count', 1), ('duplicate_count', 14)]" "arrivals by upload day"

# retention drops whole days from the series (before aging: a monthly cold
# object keeps its rows until all of them expire, and so do the series)
akosha age --data data --now 2026-12-01T12:00:00Z --hot-days 30 --warm-days 90 --retention-days 10 --json > ret.json
out=$(an trends --metric conversation_count --system ramp.example.com --days 14)
assert_eq "$(echo "$out" | jq_py 'd["time_range"][0], d["values"]')" \
  "2026-11-21 [5, 6, 7, 8, 9, 10, 11, 12, 13, 15]" "retention: the series starts at the cut"

# aging to warm and cold keeps every memory in the series (cold from the catalog)
all_totals() { akosha metrics --data data --end $END --days 30 --json | jq_py '[m["total"] for m in d["metrics"] if m["family"] == "stored"]'; }
t0=$(all_totals)
akosha age --data data --now 2026-12-01T12:00:00Z --hot-days 2 --warm-days 5 --json > age.json
assert_eq "$(jq_py 'd["warm_to_cold"]["conversations"] > 0' < age.json)" "True" "some memories went cold"
assert_eq "$(all_totals)" "$t0" "aging changes no series"
assert_eq "$(ramp_values)" "[5, 6, 7, 8, 9, 10, 11, 12, 13, 15]" "cold days still counted"

# forget: the system leaves every series
akosha forget --data data twin-2.example.com --json > /dev/null
out=$(an correlate --metric conversation_count --days 20)
assert_eq "$(echo "$out" | jq_py '"twin-2.example.com" in d.get("systems", [])')" "False" "forgotten: not correlated"

echo "test_analytics: ok"
