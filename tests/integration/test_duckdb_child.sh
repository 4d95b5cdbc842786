# DuckDB reads uploaded files in a child process (src/ingest/duckdb_proc.c):
# a crash there must never take akosha down.  The child is made to crash
# at an exact instant with the test stop point duckdb.child_row (after it
# has sent some records, which the parent has already written into the
# upload's transaction) or duckdb.child_start.  Proves:
#  - killed (SIGKILL, as the OOM killer would): the upload is failed with
#    the reason, nothing of it stored, akosha goes on; once the hook is off
#    the same upload is ingested, every row once;
#  - crashed (SIGSEGV, SIGABRT): rejected with the signal in the reason,
#    nothing stored, the next upload of the same run ingested;
#  - a repeat snapshot (first pass keys only, then the changed rows) whose
#    reader dies after the first pass: no update half applied, then
#    exactly 3 updated, 5 new once the hook is off;
#  - a reader reads one upload after another (its second start aborts:
#    that upload rejected; a fresh reader reads the next);
#  - the daemon (serve) survives a crashing reader, ledgers the reason and
#    keeps serving; it exits 0 on SIGTERM.
source "$AKOSHA_SRC/tests/integration/lib.sh"

source "$AKOSHA_SRC/tests/integration/duckdb_lib.sh"

# Under AddressSanitizer (make SAN=1) its SEGV handler would turn the
# child's SIGSEGV into a report and exit 1: this test wants the signal.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"

A=crash-a.example.com B=crash-b.example.com C=serve-c.example.com D=serve-d.example.com

ingest() { # exits 0 or 1 (an upload failed): anything else is a crash
  local rc=0
  akosha ingest --once --bucket bucket --data data --retry-base-seconds 0 --json "$@" \
    2>>ingest.err || rc=$?
  [ "$rc" -le 1 ] || fail "akosha ingest exited $rc: $(tail -5 ingest.err)"
}
ledger() { # sid uid field
  akosha uploads --data data --json | jq_py "[r for r in d if r['system_id'] == '$1' and r['upload_id'] == '$2'][0]['$3']"
}
hot() { # sid sql-expression over hot
  local db; db=$(find data -name "$1.db")
  [ -n "$db" ] || { echo 0; return; }
  sqlite3 "$db" "SELECT $2 FROM hot"
}
no_spool() { [ -z "$(ls -A data/tmp 2>/dev/null)" ] || fail "spool files left: $(ls data/tmp)"; }

mkdir -p files
mk "$new_mods/node_modules" files/s1/reflection.duckdb v2 20 --null-every 4
mk "$new_mods/node_modules" files/small/reflection.duckdb v2 3
# the second snapshot: 3 edited, 5 new (25 + 5 rows)
mk "$new_mods/node_modules" files/s2/reflection.duckdb v2 25 --null-every 4 --edit 3 --reflections 5

# ---- killed: failed, nothing stored, then ingested once ------------------
sb_upload $A 20250601_120000_$A gzip files/s1/reflection.duckdb
run=$(AKOSHA_TEST_STOP=duckdb.child_row:5:KILL ingest)
assert_contains "$(cat ingest.err)" "test stop point duckdb.child_row#5" "the child stopped at row 5"
assert_eq "$(echo "$run" | jq_py 'd["uploads_failed"], d["uploads_rejected"], d["conversations_ingested"]')" \
  "1 0 0" "a killed reader fails the upload, nothing counted"
assert_contains "$(ledger $A 20250601_120000_$A reason)" "DuckDB's reader was killed (SIGKILL" "reason says killed"
assert_eq "$(hot $A 'count(*)')" "0" "nothing of it stored"
no_spool
run=$(ingest)
assert_eq "$(echo "$run" | jq_py 'd["uploads_ingested"], d["conversations_ingested"]')" "1 25" \
  "ingested once the hook is off"
assert_eq "$(hot $A 'count(*)')" "25" "every row once"

# ---- a repeat snapshot dies after its first pass: no update half applied --
sb_upload $A 20250602_120000_$A gzip files/s2/reflection.duckdb
rows() { hot $A "group_concat(conversation_id || ':' || hex(content_sha256), ',') FROM (SELECT * FROM hot ORDER BY conversation_id) --"; }
before=$(rows)
[ "$(echo "$before" | tr , "\n" | wc -l)" -eq 25 ] || fail "25 rows before the repeat: $before"
run=$(AKOSHA_TEST_STOP=duckdb.child_row:2:KILL ingest)
assert_eq "$(echo "$run" | jq_py 'd["uploads_failed"], d["conversations_updated"]')" "1 0" \
  "repeat snapshot failed after the keys pass"
assert_eq "$(rows)" "$before" "no row changed"
run=$(ingest)
assert_eq "$(echo "$run" | jq_py 'd["uploads_ingested"], d["conversations_updated"], d["conversations_ingested"], d["duplicates_skipped"]')" \
  "1 3 5 22" "then 3 updated, 5 new, the rest duplicates"
no_spool

# ---- crashed: rejected with the signal, the next upload still ingested ---
sb_upload $B 20250603_120000_$B none files/s1/reflection.duckdb
sb_upload crash-e.example.com 20250603_130000_e none files/small/reflection.duckdb
run=$(AKOSHA_TEST_STOP=duckdb.child_row:5:SEGV ingest)
assert_eq "$(ledger $B 20250603_120000_$B status)" "rejected" "a crashing reader rejects the upload"
assert_contains "$(ledger $B 20250603_120000_$B reason)" "reflection.duckdb: DuckDB's reader crashed reading it (signal 11" \
  "the reason names the signal"
assert_eq "$(hot $B 'count(*)')" "0" "nothing of it stored"
assert_eq "$(ledger crash-e.example.com 20250603_130000_e status)" "ingested" "the run went on"
assert_eq "$(hot crash-e.example.com 'count(*)')" "4" "and stored the next upload (3 + 1 reflection)"
sb_upload $B 20250604_120000_$B none files/small/reflection.duckdb
AKOSHA_TEST_STOP=duckdb.child_start:1:ABRT ingest >/dev/null
assert_contains "$(ledger $B 20250604_120000_$B reason)" "crashed reading it (signal 6" "an abort too"
no_spool

# ---- a reader serves one upload after another; a crashed one is replaced -
# One upload at a time: the second is read by the first's reader (its
# second start), which aborts there; the third gets a fresh reader.
F=reuse-f.example.com
sb_upload $F 20250606_120000_$F none files/small/reflection.duckdb
sb_upload $F 20250606_130000_$F none files/s1/reflection.duckdb
sb_upload $F 20250606_140000_$F none files/s2/reflection.duckdb
AKOSHA_TEST_STOP=duckdb.child_start:2:ABRT ingest --concurrency 1 >/dev/null
assert_eq "$(ledger $F 20250606_120000_$F status) $(ledger $F 20250606_130000_$F status) $(ledger $F 20250606_140000_$F status)" \
  "ingested rejected ingested" "the reused reader crashed on its second file, a fresh one read the third"
assert_eq "$(hot $F 'count(*)')" "30" "the first and third stored (25 + 5 rows)"

# ---- the daemon survives a crashing reader -------------------------------
sb_upload $C 20250605_120000_$C gzip files/s1/reflection.duckdb
sb_upload $D 20250605_120000_$D gzip files/small/reflection.duckdb
AKOSHA_TEST_STOP=duckdb.child_row:5:SEGV start_serve --data data --bucket bucket --poll-interval 1
for _ in $(seq 1 600); do # until both are settled, whatever the machine's speed
  [ "$(ledger $C 20250605_120000_$C status 2>/dev/null)" = rejected ] &&
    [ "$(ledger $D 20250605_120000_$D status 2>/dev/null)" = ingested ] && break
  kill -0 "$SERVE_PID" 2>/dev/null || { cat serve.log; fail "serve died"; }
  sleep 0.1
done
assert_eq "$(ledger $C 20250605_120000_$C status) $(ledger $D 20250605_120000_$D status)" \
  "rejected ingested" "the daemon rejected the crashing upload and ingested the next"
assert_contains "$(ledger $C 20250605_120000_$C reason)" "crashed reading it (signal 11" "its reason"
http GET /ready
assert_eq "$status" "200" "and still serves"
stop_serve
assert_eq "$serve_rc" "0" "and stops cleanly"
assert_eq "$(hot $C 'count(*)')" "0" "nothing of the crashing upload stored"
echo "ok"
