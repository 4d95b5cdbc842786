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

# Read a field from JSON on stdin with a Python expression over `d`.
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); v=($1); print(' '.join(map(str, v)) if isinstance(v, tuple) else v)"; }

# A canonical dump of a data directory's contents (records and ledger,
# without wall-clock times), to compare two stores for equality.
dump_store() { # datadir
  local db
  find "$1" -name '*.db' | sort | while read -r db; do
    echo "== ${db#$1/}"
    sqlite3 "$db" "SELECT conversation_id, hex(content_sha256), ts_us, source, coalesce(metadata,''),
                          length(content), hex(coalesce(embedding, x'')), upload_id
                   FROM hot ORDER BY conversation_id;
                   SELECT upload_id, status, coalesce(reason,''), new_count, updated, duplicates,
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
