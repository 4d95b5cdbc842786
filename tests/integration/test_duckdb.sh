# Session-Buddy's real uploads: reflection.duckdb (gzipped or not) under
# systems/<sid>/uploads/<uid>/ with the manifest cloud_sync.py writes, read
# through DuckDB's own library (loaded at run time).  The DuckDB files are
# made by @duckdb/node-api at two versions (the oldest 1.x on npm and the
# one whose library akosha loads), with the old schema, the current one, and
# a conversations_v2 lacking the columns added later.  Proves:
#  - without the library (or with a file that is not one) the upload is
#    failed with how to install it, never
#    rejected, and is ingested once the library is there;
#  - every schema maps to records (NULL embeddings = text only, reflections
#    marked metadata.type = reflection, the v1 tables of a migrated file
#    ignored); knowledge_graph.duckdb feeds the knowledge graph, noted in the
#    ledger (test_graph.sh has more);
#  - a second snapshot with 3 edited and 5 new memories counts exactly
#    3 updated, 5 new, the rest duplicates;
#  - garbage, a truncated file, a gzip bomb, a file with no memory tables,
#    bytes that are not the compression claimed, a manifest naming another
#    system, a storage version newer than the library: each rejected (or,
#    for the last, failed) with its reason, nothing stored, no spool file left;
#  - killed with a spool file on disk, the next run removes it and ingests
#    the upload exactly once.
source "$AKOSHA_SRC/tests/integration/lib.sh"

source "$AKOSHA_SRC/tests/integration/duckdb_lib.sh"

# Host names, as real Session-Buddy system ids are ($HOSTNAME).
A=Les-MacBook-Pro.local B=build-03.ci.example.com

# --once exits 1 when an upload failed (it is retried): some cases here mean
# to fail one, and their outcome is asserted from the ledger.
ingest() {
  local rc=0
  akosha ingest --once --bucket bucket --data data --retry-base-seconds 0 --json "$@" || rc=$?
  [ "$rc" -le 1 ] || fail "akosha ingest exited $rc"
}
ledger() { # sid uid field
  akosha uploads --data data --json | jq_py "[r for r in d if r['system_id'] == '$1' and r['upload_id'] == '$2'][0]['$3']"
}
hot() { # sid sql-expression over hot
  sqlite3 "$(find data -name "$1.db")" "SELECT $2 FROM hot"
}
no_spool() { [ -z "$(ls -A data/tmp 2>/dev/null)" ] || fail "spool files left: $(ls data/tmp)"; }

mkdir -p files
mk "$new_mods/node_modules" files/v2/reflection.duckdb v2 20 --null-every 4
mk "$new_mods/node_modules" files/kg/knowledge_graph.duckdb kg 1
mk "$old_mods/node_modules" files/v1/reflection.duckdb v1 12 --null-every 3
mk "$old_mods/node_modules" files/v2old/reflection.duckdb v2-old 8

# ---- no library: failed, says how to install, then ingested -------------
sb_upload $A 20250601_120000_$A gzip files/v2/reflection.duckdb files/kg/knowledge_graph.duckdb
run=$(AKOSHA_LIBDUCKDB=/nonexistent/libduckdb.so ingest 2>/dev/null)
assert_eq "$(echo "$run" | jq_py 'd["uploads_failed"], d["uploads_rejected"]')" "1 0" "failed, not rejected, without the library"
assert_contains "$(ledger $A 20250601_120000_$A reason)" "install it with" "reason says how to install"
[ -z "$(find data -name $A.db)" ] || assert_eq "$(hot $A 'count(*)')" "0" "nothing stored without the library"
# akosha checks the file is there without loading it; a file that is not a
# library, or an ELF file that is not DuckDB's, is failed the same way
echo "not a library" > files/notalib.so
run=$(AKOSHA_LIBDUCKDB=$PWD/files/notalib.so ingest 2>/dev/null)
assert_eq "$(echo "$run" | jq_py 'd["uploads_failed"], d["uploads_rejected"]')" "1 0" "failed, not rejected, with a file that is not a library"
assert_contains "$(ledger $A 20250601_120000_$A reason)" "no ELF header" "reason: not a library"
run=$(AKOSHA_LIBDUCKDB=$(command -v sqlite3) ingest 2>/dev/null)
assert_eq "$(echo "$run" | jq_py 'd["uploads_failed"], d["uploads_rejected"]')" "1 0" "failed, not rejected, with an ELF file that is not DuckDB's"
assert_contains "$(ledger $A 20250601_120000_$A reason)" "install it with" "reason says how to install (reader's load)"
[ -z "$(find data -name $A.db)" ] || assert_eq "$(hot $A 'count(*)')" "0" "nothing stored with a library that does not load"
no_spool
run=$(ingest)
assert_eq "$(echo "$run" | jq_py 'd["uploads_ingested"], d["conversations_ingested"]')" "1 25" "ingested once the library is there"
assert_contains "$(ledger $A 20250601_120000_$A reason)" "knowledge graph: 1 entity (1 new)" "knowledge graph noted"
assert_eq "$(hot $A "count(*) FILTER (WHERE embedding IS NULL)")" "10" "NULL embeddings stored text-only (5 + 5 reflections)"
assert_eq "$(hot $A "count(*) FILTER (WHERE json_extract(metadata, '\$.type') = 'reflection')")" "5" "reflections marked"
assert_eq "$(hot $A "count(*) FILTER (WHERE conversation_id = 'stale-v1')")" "0" "v1 table of a migrated file ignored"
assert_eq "$(hot $A "json_extract(metadata, '\$.session_id') || ' ' || json_extract(metadata, '\$.source_type') || ' ' || json_extract(metadata, '\$.origin') FROM hot WHERE conversation_id = 'conv-6' --")" \
  "sess-1 conversation mkduckdb" "columns and the row's metadata in metadata"
assert_eq "$(hot $A "ts_us FROM hot WHERE conversation_id = 'conv-1' --")" "1748779260000000" "timestamp"
no_spool

# ---- the oldest DuckDB's files: old schema, v2 lacking later columns ----
sb_upload $B 20250601_120000_$B none files/v1/reflection.duckdb
sb_upload box-c 20250601_120000_box-c gzip files/v2old/reflection.duckdb
run=$(ingest)
assert_eq "$(echo "$run" | jq_py 'd["uploads_ingested"], d["conversations_ingested"], d["records_rejected"]')" "2 25 0" "old schema + v2 without later columns"
assert_eq "$(hot $B "count(*) FILTER (WHERE embedding IS NULL)")" "7" "v1: 4 NULL embeddings + 3 reflections"
assert_eq "$(hot $B "json_extract(metadata, '\$.tags') FROM hot WHERE conversation_id = 'refl-1' --")" '["lesson","tag1"]' "v1 reflection tags"
assert_eq "$(hot box-c "count(*) FILTER (WHERE json_extract(metadata, '\$.source_type') IS NULL AND json_extract(metadata, '\$.category') = 'context')")" "8" "missing later columns left out"

# ---- snapshots repeat everything: 3 edited + 5 new ----------------------
mk "$new_mods/node_modules" files/v2b/reflection.duckdb v2 25 --null-every 4 --edit 3 --reflections 5
sb_upload $A 20250601_130000_$A gzip files/v2b/reflection.duckdb
run=$(ingest)
for f in "conversations_updated 3" "conversations_ingested 5" "duplicates_skipped 22"; do
  assert_eq "$(echo "$run" | jq_py "d['${f% *}']")" "${f#* }" "second snapshot: ${f% *}"
done
assert_eq "$(hot $A "content FROM hot WHERE conversation_id = 'conv-2' --")" \
  "edited: conversation 2 about topic 2 and duckdb" "edit applied"
assert_eq "$(ingest | jq_py 'd["uploads_known"]')" "4" "each upload exactly once"

# ---- a repeat past 4096 wanted rows: read whole, the others skipped ------
# (the second pass then scans every row and skips the duplicates itself)
mk "$new_mods/node_modules" files/big1/reflection.duckdb v2 10 --null-every 1 --reflections 1
mk "$new_mods/node_modules" files/big2/reflection.duckdb v2 4200 --null-every 1 --reflections 1
sb_upload box-big 20250601_120000_box-big gzip files/big1/reflection.duckdb
ingest >/dev/null
sb_upload box-big 20250601_130000_box-big gzip files/big2/reflection.duckdb
run=$(ingest)
assert_eq "$(echo "$run" | jq_py 'd["conversations_ingested"], d["duplicates_skipped"], d["records_rejected"]')" \
  "4190 11 0" "4,190 new rows read whole past the named-rowid limit, 11 duplicates skipped"
assert_eq "$(hot box-big 'count(*)')" "4201" "every row stored once"
assert_eq "$(hot box-big "count(*) FILTER (WHERE conversation_id = 'conv-4199')")" "1" "the last row"

# ---- bad payloads: a reason each, nothing stored, no spool left ---------
bad() { # name compression file reason-substring [status]
  local sid=bad-$1 uid=20250601_120000_bad-$1
  sb_upload "$sid" "$uid" "$2" "$3"
  ingest >/dev/null 2>&1
  assert_eq "$(ledger "$sid" "$uid" status)" "${5:-rejected}" "$1: status"
  assert_contains "$(ledger "$sid" "$uid" reason)" "$4" "$1: reason"
  [ -z "$(find data -name "$sid.db")" ] || assert_eq "$(hot "$sid" 'count(*)')" "0" "$1: nothing stored"
  no_spool
}
mkdir -p files/garbage files/trunc files/bomb files/plain
head -c 70000 /dev/urandom >files/garbage/reflection.duckdb
bad garbage none files/garbage/reflection.duckdb "not a DuckDB database"
head -c 300000 files/v2/reflection.duckdb >files/trunc/reflection.duckdb
bad truncated gzip files/trunc/reflection.duckdb "DuckDB cannot"
head -c 50000000 /dev/zero >files/bomb/reflection.duckdb
AKOSHA_DUCKDB_MAX_BYTES=10000000 bad bomb gzip files/bomb/reflection.duckdb "decompresses to more than 10000000 bytes"
mk "$new_mods/node_modules" files/none/reflection.duckdb none 1
bad no-tables gzip files/none/reflection.duckdb "no memories"
cp files/v2/reflection.duckdb files/plain/
sb_upload bad-claim 20250601_120000_bad-claim none files/plain/reflection.duckdb
sed -i 's/"none"/"gzip"/' bucket/systems/bad-claim/uploads/20250601_120000_bad-claim/manifest.json
ingest >/dev/null 2>&1
assert_contains "$(ledger bad-claim 20250601_120000_bad-claim reason)" "manifest says gzip but the bytes are not gzip" "compression claim checked"
sb_upload bad-owner 20250601_120000_bad-owner gzip files/v2/reflection.duckdb
sed -i 's/"system_id": "bad-owner"/"system_id": "someone-else"/' bucket/systems/bad-owner/uploads/20250601_120000_bad-owner/manifest.json
ingest >/dev/null 2>&1
assert_contains "$(ledger bad-owner 20250601_120000_bad-owner reason)" "system_id: says someone-else" "manifest naming another system"
# A knowledge graph's checksum is verified (and nothing of it kept).
sb_upload kg-sum 20250601_120000_kg-sum gzip files/kg/knowledge_graph.duckdb
python3 - bucket/systems/kg-sum/uploads/20250601_120000_kg-sum/manifest.json <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["files"][0]["checksum"] = "0" * 64
json.dump(m, open(sys.argv[1], "w"))
EOF
ingest >/dev/null 2>&1
assert_contains "$(ledger kg-sum 20250601_120000_kg-sum reason)" "knowledge_graph.duckdb: checksum: manifest says 0000" "knowledge graph's checksum verified"
# A storage version newer than the loaded library: not the upload's fault.
mk "$new_mods/node_modules" files/newer/reflection.duckdb v2 3 --storage v1.2.0
AKOSHA_LIBDUCKDB=$old_lib bad newer gzip files/newer/reflection.duckdb "newer than the loaded library v1.1" failed

# ---- killed with a spool file on disk -----------------------------------
sb_upload box-k 20250601_120000_box-k gzip files/v2/reflection.duckdb
set +e
AKOSHA_TEST_STOP=ingest.spooled "$AKOSHA_BIN" ingest --once --bucket bucket --data data --retry-base-seconds 0 \
  --concurrency 1 >/dev/null 2>&1
rc=$?
set -e
assert_eq "$rc" "137" "killed at the stop point"
assert_eq "$(ls data/tmp | grep -c '^spool-')" "1" "a spool file left by the killed run"
run=$(ingest 2>/dev/null)
no_spool
assert_eq "$(ledger box-k 20250601_120000_box-k status)" "ingested" "ingested after the crash"
assert_eq "$(hot box-k 'count(*)')" "25" "exactly once after the crash"
