# The command line's convention (src/cmd/cmd.h, README "Command line"), held
# for every subcommand: bad usage exits 2 and says why (missing required
# option, unknown option, out-of-range value naming its range); under
# --json the error is one JSON object on stderr and stdout stays empty; a
# runtime failure exits 1 and prints no partial table; long work shows
# progress with totals on a terminal and nothing when stderr is not one;
# the polling ingester writes one timestamped line per idle cycle; the demo
# writes escapes only to a terminal and honours NO_COLOR; a busy port is one
# clear error; /metrics has akosha_build_info and route-labelled latency.
source "$AKOSHA_SRC/tests/integration/lib.sh"
unset AKOSHA_DATA_DIR AKOSHA_BUCKET AKOSHA_LOG_FORMAT
pty_run() { python3 "$AKOSHA_SRC/tests/integration/pty_run.py" "$@"; }
ESC=$'\033'

"$AKOSHA_BIN" generate --out bucket --systems 3 --uploads 2 --conversations 20 --growth 5 \
  --now 2026-11-30T00:00:00Z >/dev/null
akosha ingest --once --bucket bucket --data data >/dev/null
SYS=$(akosha uploads --data data --json | jq_py 'd[0]["system_id"]')

# ---- every subcommand: missing, unknown, out of range --------------------
# name | what makes it otherwise valid | a bad value | what the error says
while IFS='|' read -r cmd ok bad says; do
  [ -z "$cmd" ] && continue
  # shellcheck disable=SC2086
  expect_stdout 2 "$AKOSHA_BIN" $cmd $ok --no-such-option
  assert_contains "$errout" "akosha $cmd: unknown option --no-such-option" "$cmd: unknown option"
  assert_eq "$out" "" "$cmd: nothing on stdout after a usage error"
  # shellcheck disable=SC2086
  expect_stdout 2 "$AKOSHA_BIN" $cmd $ok $bad
  assert_contains "$errout" "$says" "$cmd $bad"
  # shellcheck disable=SC2086
  expect_stdout 2 "$AKOSHA_BIN" $cmd $ok $bad --json
  assert_eq "$out" "" "$cmd --json: nothing on stdout after a usage error"
  assert_eq "$(wc -l <<<"$errout")" 1 "$cmd --json: one error line"
  assert_eq "$(jq_py 'd["exit"], d["command"]' <<<"$errout")" "2 $cmd" "$cmd --json error object"
  assert_contains "$(jq_py 'd["error"]' <<<"$errout")" "$says" "$cmd --json error message"
done <<EOF
ingest|--bucket bucket --data data --once|--concurrency 0|--concurrency must be an integer from 1 to 256, not '0'
search|--data data --text x|--limit 0|--limit must be an integer from 1 to 1000, not '0'
get|--data data|../x c1|SYSTEM_ID: system id "../x"
embed|--data data --missing|--batch 65|--batch must be an integer from 1 to 64
age|--data data|--hot-days 0|--hot-days must be an integer from 1 to 36500
stats|--data data|--json=maybe|--json must be true or false, not 'maybe'
uploads|--data data|--system ../x|--system: system id "../x"
shard|sys1|--shards 0|--shards must be an integer from 1 to 65536
verify|--data data|--system a/b|--system: system id "a/b"
reingest|--data data --bucket bucket|--system ../x|--system: system id "../x"
forget|--data data|../x|SYSTEM_ID: system id "../x"
generate|--out gen|--systems 0|--systems must be an integer from 1 to 100000
EOF
# serve and mcp have no --json; their errors are sentences
expect_exit 2 akosha mcp --data data --embed-timeout-ms 0
assert_contains "$out" "--embed-timeout-ms must be an integer from 1 to 600000, not '0'" "mcp range"
expect_exit 2 akosha mcp --data data --no-such-option
expect_exit 2 akosha serve --data data --rate-limit 2e6
assert_contains "$out" "--rate-limit must be a number from 0 to 1000000, not '2e6'" "serve range"
expect_exit 2 akosha serve --data data --no-such-option

# a required option missing: exit 2 naming the flag and its variable
for cmd in search embed serve mcp age stats uploads verify; do
  expect_stdout 2 "$AKOSHA_BIN" $cmd
  assert_contains "$errout" "akosha $cmd: --data DIR (or AKOSHA_DATA_DIR) is required" "$cmd without --data"
done
expect_exit 2 akosha ingest --data data;                 assert_contains "$out" "--bucket URL (or AKOSHA_BUCKET) is required" "ingest"
expect_exit 2 akosha ingest --bucket bucket;             assert_contains "$out" "--data DIR (or AKOSHA_DATA_DIR) is required" "ingest"
expect_exit 2 akosha reingest --data data --bucket bucket; assert_contains "$out" "--system ID is required" "reingest"
expect_exit 2 akosha generate;                           assert_contains "$out" "--out DIR is required" "generate"
expect_exit 2 akosha get --data data "$SYS";             assert_contains "$out" "missing argument" "get"
expect_exit 2 akosha forget --data data;                 assert_contains "$out" "missing argument" "forget"
expect_exit 2 akosha shard;                              assert_contains "$out" "missing argument" "shard"
# the variable counts as given; its bad value is a usage error naming it
AKOSHA_DATA_DIR=data expect_exit 0 akosha stats
AKOSHA_HOT_DAYS=abc expect_exit 2 akosha age --data data
assert_contains "$out" "AKOSHA_HOT_DAYS must be an integer from 1 to 36500, not 'abc'" "variable"
expect_exit 2 akosha ingest --once --bucket ftp://x --data data
assert_contains "$out" "unsupported scheme" "a URL no store understands"
expect_exit 2 akosha forget --data data "$SYS" --purge-bucket
expect_exit 2 akosha nosuchcommand
expect_exit 0 akosha age --help
assert_contains "$out" "--data DIR" "help"; assert_contains "$out" "(required)" "help marks required"

# ---- runtime failures: exit 1, no partial output ---------------------------
expect_stdout 1 "$AKOSHA_BIN" stats --data nowhere
assert_eq "$out" "" "stats on a missing directory prints nothing on stdout"
expect_stdout 1 "$AKOSHA_BIN" uploads --data data --system nosuch
assert_eq "$out" "" "uploads --system nosuch prints no table header"
assert_contains "$errout" "system nosuch has no data here" "uploads --system nosuch"
expect_stdout 1 "$AKOSHA_BIN" uploads --data data --system nosuch --json
assert_eq "$out" "" "uploads --system nosuch --json prints nothing on stdout"
assert_eq "$(jq_py 'd["exit"], d["error"]' <<<"$errout")" "1 system nosuch has no data here" "JSON error"
expect_stdout 1 "$AKOSHA_BIN" get --data data "$SYS" no-such-conversation --json
assert_eq "$(jq_py 'd["exit"], d["command"]' <<<"$errout")" "1 get" "get --json runtime error"
expect_stdout 0 "$AKOSHA_BIN" uploads --data data --system "$SYS"
assert_contains "$out" "SYSTEM" "a known system's table has its header"

# ---- progress: on a terminal, with totals; never otherwise -----------------
NSYS=$(akosha stats --data data --json | jq_py 'd["systems"]')
term=$(pty_run age.out "$AKOSHA_BIN" age --data data --now 2026-12-30T00:00:00Z)
assert_contains "$term" "age: $NSYS/$NSYS systems (100%)" "age progress on a terminal"
assert_contains "$(cat age.out)" "hot -> warm:" "age's result still on stdout"
akosha age --data data --now 2026-12-30T00:00:00Z 2>age.err >/dev/null
assert_eq "$(cat age.err)" "" "no progress when stderr is not a terminal"
term=$(pty_run age.out "$AKOSHA_BIN" age --data data --now 2026-12-30T00:00:00Z --json)
[[ "$term" != *"systems ("* ]] || fail "progress under --json: $term"
term=$(pty_run verify.out "$AKOSHA_BIN" verify --data data --deep)
assert_contains "$term" "verify: $NSYS/$NSYS systems (100%)" "verify --deep progress"
NUP=$(find bucket/systems/"$SYS" -name manifest.json | wc -l)
term=$(pty_run reingest.out "$AKOSHA_BIN" reingest --data data --bucket bucket --system "$SYS")
assert_contains "$term" "reingest: $NUP/$NUP uploads (100%)" "reingest progress"
akosha reingest --data data --bucket bucket --system "$SYS" --force 2>re.err >/dev/null
assert_eq "$(cat re.err)" "" "reingest: no progress off a terminal"

# ---- the polling ingester: one line per cycle, with the time ---------------
"$AKOSHA_BIN" ingest --bucket bucket --data data --interval 1 > poll.out 2> poll.err &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ "$(wc -l < poll.out)" -ge 2 ] && break; sleep 0.1; done
kill -TERM $pid; wait $pid || fail "the poller did not exit 0 on SIGTERM"
trap - EXIT
python3 - poll.out <<'PY' || fail "idle cycles: $(cat poll.out)"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
for l in lines:  # every cycle a single line starting with its UTC time
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ cycle: nothing new \(\d+ uploads already settled\) in [0-9.]+ s", l), l
PY
assert_eq "$(cat poll.err)" "" "an idle poller writes nothing else"

# ---- the demo: escapes only on a terminal, never with NO_COLOR -------------
AKOSHA_BIN=true "$AKOSHA_SRC/scripts/demo.sh" demo > demo.out
[[ "$(cat demo.out)" != *"$ESC"* ]] || fail "demo wrote escapes to a file"
assert_contains "$(cat demo.out)" "== akosha stats" "demo headings"
term=$(AKOSHA_BIN=true pty_run --all demo.out "$AKOSHA_SRC/scripts/demo.sh" demo)
assert_contains "$term" "$ESC[1m== akosha stats" "demo is bold on a terminal"
term=$(NO_COLOR=1 AKOSHA_BIN=true pty_run --all demo.out "$AKOSHA_SRC/scripts/demo.sh" demo)
[[ "$term" != *"$ESC"* ]] || fail "demo ignored NO_COLOR"

# ---- a busy port: one clear error -------------------------------------------
python3 -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open("busy.port", "w").write(str(s.getsockname()[1]))
time.sleep(600)' &
holder=$!
for _ in $(seq 1 100); do [ -s busy.port ] && break; sleep 0.1; done
expect_stdout 1 "$AKOSHA_BIN" serve --data data --listen "127.0.0.1:$(cat busy.port)"
kill $holder 2>/dev/null || true
assert_eq "$(wc -l <<<"$errout")" 1 "one line for a busy port: $errout"
assert_contains "$errout" "cannot listen on 127.0.0.1:$(cat busy.port): the address is already in use" "busy port"
[[ "$errout" != *libmicrohttpd* ]] || fail "a stray libmicrohttpd line: $errout"

# ---- logs: serve defaults to JSON, the other commands to text (README) ------
row=$(grep '`AKOSHA_LOG_FORMAT`' "$AKOSHA_SRC/README.md")
assert_contains "$row" "text (serve: json)" "README states both defaults"

# ---- /metrics: build info and latency by route template ---------------------
start_serve --data data
http GET /health; http GET /v1/systems/$SYS/uploads; http GET /nowhere/at/all
http GET /metrics
VERSION=$("$AKOSHA_BIN" --version | cut -d' ' -f2)
assert_contains "$body" "akosha_build_info{version=\"$VERSION\"" "build info"
assert_contains "$body" "akosha_http_request_seconds_count{route=\"health\"} 1" "latency by route"
assert_contains "$body" "akosha_http_request_seconds_bucket{route=\"uploads\",le=\"+Inf\"} 1" "route template"
[[ "$body" != *"$SYS"* && "$body" != *nowhere* ]] || fail "a raw path or id in a metric label"
stop_serve
