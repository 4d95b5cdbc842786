# lib.sh - helpers for the integration tests (sourced, not run).
#
# Each test runs in a fresh scratch directory as its working directory, with
# $AKOSHA_BIN the binary under test and $AKOSHA_SRC the source tree.  A
# failed assertion prints what was expected and exits 1.
set -euo pipefail

akosha() { "$AKOSHA_BIN" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }

assert_eq() { # actual expected message
  [ "$1" == "$2" ] || fail "$3: got '$1', expected '$2'"
}

assert_contains() { # haystack needle message
  [[ "$1" == *"$2"* ]] || fail "$3: '$2' not found in: $1"
}

# Run a command expecting a given exit status; its stdout+stderr end up in $out.
expect_exit() { # status cmd...
  local want=$1; shift
  set +e
  out=$("$@" 2>&1)
  local got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; output: $out"
}

# The same, keeping stdout alone in $out (JSON to parse) and stderr in $errout.
expect_stdout() { # status cmd...
  local want=$1; shift
  set +e
  out=$("$@" 2>.stderr)
  local got=$?
  set -e
  errout=$(cat .stderr)
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; output: $out $errout"
}

# Read a field from JSON on stdin with a Python expression over `d`.
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); v=($1); print(' '.join(map(str, v)) if isinstance(v, tuple) else v)"; }

# A canonical dump of a data directory's contents (records and ledger,
# without wall-clock times; the knowledge graph), to compare two stores.
# A graph upload's note is left out: applied again onto a graph that was
# kept (a lost system database, reingested) it counts duplicates where the
# first application counted new items; the graph's rows are dumped instead.
dump_store() { # datadir
  local db
  if [ -f "$1/graph.db" ]; then
    echo "== graph.db"
    sqlite3 "$1/graph.db" "SELECT e.system, e.orig_id, n.type, n.name, e.observations,
                                  coalesce(e.properties,''), coalesce(e.created_us,0)
                           FROM g_entity e JOIN g_node n ON n.id = e.node ORDER BY 1, 2;
                           SELECT system, orig_id, src, dst, type FROM g_relation ORDER BY 1, 2;"
  fi
  find "$1" -name '*.db' ! -name graph.db | sort | while read -r db; do
    echo "== ${db#$1/}"
    sqlite3 "$db" "SELECT conversation_id, hex(content_sha256), ts_us, source, coalesce(metadata,''),
                          length(content), hex(coalesce(embedding, x'')), upload_id
                   FROM hot ORDER BY conversation_id;
                   SELECT upload_id, status,
                          CASE WHEN reason LIKE 'knowledge graph:%' THEN 'knowledge graph'
                               ELSE coalesce(reason,'') END, new_count, updated, duplicates,
                          stale, records_rejected, coalesce(record_errors,'')
                   FROM uploads WHERE status != 'failed' ORDER BY upload_id;"
  done
}

store_digest() { dump_store "$1" | sha256sum | cut -c1-64; }

# Write a manifest: manifest DIR FIELD_JSON...  (fields as raw JSON members)
manifest() {
  local dir=$1; shift
  mkdir -p "$dir"
  local IFS=,
  printf '{%s}\n' "$*" > "$dir/manifest.json"
}

now_iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# Run akosha with AKOSHA_TEST_STOP=STOP (src/util/testpoint.h), which kills
# it with SIGKILL at that named instant; fail unless it died there.
kill_at() { # stop akosha-args...
  local stop=$1 rc; shift
  set +e
  AKOSHA_TEST_STOP=$stop "$AKOSHA_BIN" "$@" >/dev/null 2>kill_at.err &
  wait $! 2>/dev/null
  rc=$?
  set -e
  [ "$rc" -eq 137 ] || fail "'akosha $*' exited $rc, not killed at $stop: $(cat kill_at.err)"
  grep -q "test stop point ${stop%%:*}#" kill_at.err || fail "no stop at $stop: $(cat kill_at.err)"
}

# A process frozen at a STOP test point (AKOSHA_TEST_STOP=name:n:STOP).
state_of() { # pid -> its state letter (T when stopped)
  awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone
}
wait_stopped() { # pid
  for _ in $(seq 1 600); do [ "$(state_of "$1")" = T ] && return 0; sleep 0.05; done
  fail "process $1 never reached its stop point"
}
# Processes blocked waiting for a system's lock (storage/syslock.h) on
# data/systems.lock, from the kernel's list of locks.
lock_waiters() {
  local ino
  ino=$(stat -c %i data/systems.lock)
  awk -v ino="$ino" '$2 == "->" { split($7, f, ":"); if (f[3] == ino) n++ } END { print n + 0 }' /proc/locks
}

# Wait until some process waits for a system's lock, or pid has ended;
# prints the number of waiters then (0: it never waited).
wait_lock_waiter() { # pid
  for _ in $(seq 1 600); do
    [ "$(lock_waiters)" -gt 0 ] && break
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  lock_waiters
}

mkupload() { python3 "$AKOSHA_SRC/tests/integration/mkupload.py" "$@"; }

# The ledger row of one upload as JSON: ledger_row DATA SYSTEM UPLOAD
ledger_row() {
  akosha uploads --data "$1" --system "$2" --json |
    python3 -c "import json,sys; print(json.dumps([r for r in json.load(sys.stdin) if r['upload_id']=='$3'][0]))"
}

# Rows stored in hot for a system: hot_count DATA SYSTEM
hot_count() {
  local db="$1/$(akosha shard "$2" | cut -d' ' -f2)"
  [ -f "$db" ] || { echo 0; return; }
  sqlite3 "$db" "SELECT count(*) FROM hot"
}

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Start `akosha serve` in the background on a free port; sets $PORT, $SERVE_PID
# and stops it when the test exits.  Extra arguments go to serve.
start_serve() {
  PORT=$(free_port)
  "$AKOSHA_BIN" serve --listen 127.0.0.1:$PORT "$@" > serve.log 2>&1 &
  SERVE_PID=$!
  trap 'kill -9 $SERVE_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/ready" && return 0
    kill -0 $SERVE_PID 2>/dev/null || { cat serve.log; fail "serve exited at start"; }
    sleep 0.1
  done
  fail "serve did not start"
}

# Wait until /ready answers 200.
wait_ready() {
  for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ready")" = 200 ] && return 0
    sleep 0.1
  done
  fail "serve never became ready"
}

# http METHOD PATH [BODY] [TOKEN] -> sets $status and $body
http() {
  local auth=()
  [ -n "${4:-}" ] && auth=(-H "Authorization: Bearer $4")
  local out
  out=$(curl -s -X "$1" "${auth[@]}" -w '\n%{http_code}' ${3:+--data-binary "$3"} \
        "http://127.0.0.1:$PORT$2")
  status=${out##*$'\n'}
  body=${out%$'\n'*}
}

# Stop serve with SIGTERM and wait; sets $serve_rc.
stop_serve() {
  kill -TERM $SERVE_PID
  set +e
  wait $SERVE_PID
  serve_rc=$?
  set -e
  trap - EXIT
}

# Install a test's npm dependencies (its package.json) once, into its own
# node_modules; a fresh machine fetches them from the npm registry.
npm_deps() { # dir
  [ -d "$1/node_modules" ] && return 0
  (cd "$1" && npm install --silent --no-audit --no-fund >/dev/null 2>&1) ||
    (cd "$1" && npm install --no-audit --no-fund) || fail "npm install in $1"
}

# DuckDB's node package @duckdb/node-api at a pinned version, installed once
# into dir/node_modules (a fresh machine fetches it from npm).  It brings
# @duckdb/node-bindings-linux-x64, whose libduckdb.so akosha loads.
DUCKDB_NODE_API=1.5.6-r.1            # the version whose library the tests load
DUCKDB_NODE_API_OLDEST=1.1.2-alpha.4 # the oldest 1.x on npm
duckdb_node() { # dir version
  command -v node >/dev/null && command -v npm >/dev/null ||
    fail "node and npm are needed (Debian: apt-get install nodejs npm)"
  local have
  have=$(node -p "require('$1/node_modules/@duckdb/node-api/package.json').version" 2>/dev/null || true)
  [ "$have" == "$2" ] && return 0
  echo "installing @duckdb/node-api@$2 into $1/node_modules"
  mkdir -p "$1"
  # its own package.json, or npm would install into a parent's node_modules
  [ -f "$1/package.json" ] || echo '{"private": true}' >"$1/package.json"
  (cd "$1" && npm install --no-save --no-package-lock --no-audit --no-fund \
    "@duckdb/node-api@$2") >"$1/npm.log" 2>&1 ||
    fail "npm install @duckdb/node-api@$2 failed: $(tail -n 5 "$1/npm.log")"
}
