# Session-Buddy's DuckDB uploads through a real S3 server (OpenStack Swift,
# tests/integration/s3/): the bucket is filled with an independent client
# the way cloud_sync.py fills it (gzipped and plain reflection.duckdb, a
# knowledge_graph.duckdb, its manifest), and ingesting it from
# s3://bucket/prefix gives exactly the store that ingesting the same files
# from a local directory gives; a second snapshot is then counted the same
# way from S3 (3 updated, 5 new, the rest duplicates).
source "$AKOSHA_SRC/tests/integration/lib.sh"
source "$AKOSHA_SRC/tests/integration/duckdb_lib.sh"

# Host names, as real Session-Buddy system ids are ($HOSTNAME).
A=Les-MacBook-Pro.local B=build-03.ci.example.com

s3dir=$AKOSHA_SRC/tests/integration/s3
s3tool() { /usr/bin/python3 "$s3dir/s3tool.py" "$@"; }
trap '"$s3dir/stop-swift.sh" "$PWD/swift"' EXIT
"$s3dir/start-swift.sh" swift >/dev/null
export AKOSHA_S3_ENDPOINT=$(cat swift/endpoint)
export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AKOSHA_S3_ATTEMPTS=3 AKOSHA_S3_RETRY_BASE_MS=20
url=s3://akosha/sb

mk "$new_mods/node_modules" files/a/reflection.duckdb v2 300 --null-every 5 --reflections 20
mk "$old_mods/node_modules" files/b/reflection.duckdb v1 40
mk "$new_mods/node_modules" files/kg/knowledge_graph.duckdb kg 1
mk "$new_mods/node_modules" files/a2/reflection.duckdb v2 305 --null-every 5 --reflections 20 --edit 3
sb_upload $A 20250601_120000_$A gzip files/a/reflection.duckdb files/kg/knowledge_graph.duckdb
sb_upload $B 20250601_120000_$B none files/b/reflection.duckdb
s3tool mb akosha
s3tool sync bucket akosha sb
assert_eq "$(s3tool ls akosha sb/ | wc -l)" "$(find bucket -type f | wc -l)" "keys uploaded"

run() { akosha ingest --once --bucket "$1" --data "$2" --json; }
counts() { jq_py 'd["uploads_ingested"], d["uploads_rejected"], d["uploads_failed"], d["conversations_ingested"], d["conversations_updated"], d["duplicates_skipped"]'; }
s3_run=$(run "$url" s3data)
local_run=$(run bucket local)
assert_eq "$(echo "$s3_run" | counts)" "2 0 0 370 0 0" "first snapshots from S3"
assert_eq "$(echo "$s3_run" | counts)" "$(echo "$local_run" | counts)" "S3 counts vs local"
assert_eq "$(store_digest s3data)" "$(store_digest local)" "store from S3 vs from the directory"
[ -z "$(ls -A s3data/tmp)" ] || fail "spool files left: $(ls s3data/tmp)"

# The second snapshot: the whole database again, 3 edited and 5 new.
sb_upload $A 20250601_130000_$A gzip files/a2/reflection.duckdb
s3tool sync bucket/systems/$A/uploads/20250601_130000_$A akosha \
  sb/systems/$A/uploads/20250601_130000_$A
s3_run=$(run "$url" s3data)
local_run=$(run bucket local)
assert_eq "$(echo "$s3_run" | counts)" "1 0 0 5 3 317" "second snapshot from S3"
assert_eq "$(store_digest s3data)" "$(store_digest local)" "store from S3 vs from the directory after the snapshot"
