# A payload named in the manifest that has not arrived: "failed" with a
# reason, retried with backoff, ingested once it arrives, rejected once the
# grace period is over.
source "$AKOSHA_SRC/tests/integration/lib.sh"

mkupload bucket late u1 --count 4 --no-payload
mkupload bucket never u1 --count 4 --no-payload

run=$(akosha ingest --once --bucket bucket --data data --json 2>err)
assert_eq "$(echo "$run" | jq_py 'd["uploads_failed"]')" "2" "failed uploads"
assert_contains "$(cat err)" "will retry" "failure reported"
row=$(ledger_row data late u1)
assert_eq "$(echo "$row" | jq_py 'd["status"], d["attempts"]')" "failed 1" "ledger after the first try"
assert_contains "$(echo "$row" | jq_py 'd["reason"]')" "payload memories.json named in the manifest has not arrived" "reason"
assert_eq "$(hot_count data late)" "0" "nothing stored"

# within the backoff window the upload waits
run=$(akosha ingest --once --bucket bucket --data data --json 2>/dev/null)
assert_eq "$(echo "$run" | jq_py 'd["uploads_deferred"], d["uploads_failed"]')" "2 0" "deferred while backing off"

# the payload arrives; the next try (no backoff) ingests it
python3 "$AKOSHA_SRC/tests/integration/mkupload.py" bucket late u1 --count 4
run=$(akosha ingest --once --bucket bucket --data data --json --retry-base-seconds 0 2>/dev/null)
assert_eq "$(echo "$run" | jq_py 'd["uploads_ingested"], d["uploads_failed"]')" "1 1" "ingested after arrival"
assert_eq "$(ledger_row data late u1 | jq_py 'd["status"], d["attempts"]')" "ingested 2" "ledger after arrival"
assert_eq "$(hot_count data late)" "4" "rows after arrival"

# the other never arrives: rejected after the grace period
run=$(akosha ingest --once --bucket bucket --data data --json --retry-base-seconds 0 --grace-seconds 0 2>err)
assert_eq "$(echo "$run" | jq_py 'd["uploads_rejected"]')" "1" "rejected after the grace period"
assert_contains "$(ledger_row data never u1 | jq_py 'd["reason"]')" "grace period is over" "grace reason"

# settled: neither is tried again
run=$(akosha ingest --once --bucket bucket --data data --json --retry-base-seconds 0)
assert_eq "$(echo "$run" | jq_py 'd["uploads_discovered"], d["uploads_known"]')" "0 2" "both settled"
