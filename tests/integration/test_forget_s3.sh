# `akosha forget` against a real S3 server (OpenStack Swift, started here):
# cold objects in S3 and uploads in an S3 bucket.  Data reaches all three
# tiers with the cold tier in S3; forget --purge-bucket is killed (-9) after
# its first cold delete and after its first bucket delete, then run again:
# nothing of the system is left in S3 or on disk, the other systems' cold
# objects and uploads are untouched, verify (cold store in S3) is clean.
source "$AKOSHA_SRC/tests/integration/lib.sh"

s3dir=$AKOSHA_SRC/tests/integration/s3
s3tool() { /usr/bin/python3 "$s3dir/s3tool.py" "$@"; }
trap '"$s3dir/stop-swift.sh" "$PWD/swift"' EXIT
"$s3dir/start-swift.sh" swift >/dev/null
export AKOSHA_S3_ENDPOINT=$(cat swift/endpoint)
export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AKOSHA_S3_ATTEMPTS=3 AKOSHA_S3_RETRY_BASE_MS=20 AKOSHA_S3_CONNECT_TIMEOUT_MS=2000
bucket=s3://akosha/in
cold=s3://akosha/cold

akosha generate --out bucket --systems 3 --uploads 2 --conversations 120 --span-days 200 \
  --now 2026-11-26T00:00:00Z >/dev/null
s3tool mb akosha
s3tool sync bucket akosha in
akosha ingest --once --bucket $bucket --data data --quiet >/dev/null
akosha age --data data --cold $cold --now 2026-11-27T00:00:00Z >/dev/null
expect_exit 0 akosha verify --data data --cold $cold --deep
for s in sys0000 sys0001 sys0002; do
  [ "$(s3tool ls akosha "cold/system_id=$s/" | wc -l)" -gt 0 ] || fail "$s has no cold objects in S3"
done
others_cold=$(s3tool ls akosha "cold/system_id=sys0000/"; s3tool ls akosha "cold/system_id=sys0002/")
others_up=$(s3tool ls akosha in/systems/sys0000/; s3tool ls akosha in/systems/sys0002/)

expect_stdout 0 akosha forget --data data --cold $cold --bucket $bucket sys0001 --dry-run --json
n_cold=$(s3tool ls akosha "cold/system_id=sys0001/" | wc -l)
n_up=$(s3tool ls akosha in/systems/sys0001/ | wc -l)
assert_eq "$(echo "$out" | jq_py 'd["cold_objects"]')" "$n_cold" "dry run counts the S3 cold objects"

for point in forget.cold forget.bucket; do
  set +e
  (AKOSHA_TEST_STOP=$point exec "$AKOSHA_BIN" forget --data data --cold $cold --bucket $bucket \
     --purge-bucket sys0001 >/dev/null 2>&1)
  rc=$?
  set -e
  assert_eq "$rc" 137 "killed at $point"
  expect_exit 1 akosha verify --data data --cold $cold
  assert_contains "$out" "did not finish" "verify after the kill at $point"
done
[ "$(s3tool ls akosha in/systems/sys0001/ | wc -l)" -lt "$n_up" ] || fail "no upload was purged before the kill"
expect_stdout 0 akosha forget --data data --cold $cold --bucket $bucket sys0001 --json
assert_eq "$(echo "$out" | jq_py 'd["resumed"]')" "True" "resumed"
assert_eq "$(s3tool ls akosha "cold/system_id=sys0001/")" "" "no cold object left in S3"
assert_eq "$(s3tool ls akosha in/systems/sys0001/)" "" "no upload left in the bucket"
assert_eq "$(find data -name 'sys0001.db*')" "" "no database file left"
assert_eq "$(s3tool ls akosha "cold/system_id=sys0000/"; s3tool ls akosha "cold/system_id=sys0002/")" \
  "$others_cold" "other systems' cold objects untouched"
assert_eq "$(s3tool ls akosha in/systems/sys0000/; s3tool ls akosha in/systems/sys0002/)" \
  "$others_up" "other systems' uploads untouched"
expect_exit 0 akosha verify --data data --cold $cold --deep
expect_stdout 0 akosha ingest --once --bucket $bucket --data data --json
assert_eq "$(echo "$out" | jq_py 'd["uploads_ingested"]')" "0" "nothing comes back"
echo ok
