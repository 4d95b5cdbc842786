# A payload named in the manifest that has not arrived: "failed" with a
# reason, retried with backoff, ingested once it arrives, rejected once the
# grace period is over.
source "$AKOSHA_SRC/tests/integration/lib.sh"

mkupload bucket late u1 --count 4 --no-payload
mkupload bucket never u1 --count 4 --no-payload

# a run in which uploads failed is not a success (it exited 0: issue 20)
expect_stdout 1 akosha ingest --once --bucket bucket --data data --json
run=$out
assert_eq "$(echo "$run" | jq_py 'd["uploads_discovered"], d["uploads_failed"]')" "2 2" "failed uploads"
assert_contains "$errout" "will retry" "failure reported"
assert_contains "$errout" "2 uploads failed" "the exit status explained"
row=$(ledger_row data late u1)
assert_eq "$(echo "$row" | jq_py 'd["status"], d["attempts"]')" "failed 1" "ledger after the first try"
assert_contains "$(echo "$row" | jq_py 'd["reason"]')" "payload memories.json named in the manifest has not arrived" "reason"
assert_eq "$(hot_count data late)" "0" "nothing stored"

# within the backoff window the upload waits
run=$(akosha ingest --once --bucket bucket --data data --json 2>/dev/null)
assert_eq "$(echo "$run" | jq_py 'd["uploads_deferred"], d["uploads_failed"]')" "2 0" "deferred while backing off"

# the payload arrives; the next try (no backoff) ingests it
python3 "$AKOSHA_SRC/tests/integration/mkupload.py" bucket late u1 --count 4
expect_stdout 1 akosha ingest --once --bucket bucket --data data --json --retry-base-seconds 0
run=$out
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

# a system whose database cannot be opened: counted as a failed system, not
# as failed uploads never discovered (uploads_failed exceeded
# uploads_discovered), and the run exits 1
mkupload bucket blocked u1 --count 2
mkupload bucket blocked u2 --count 2
mkdir -p "data/$(akosha shard blocked | cut -d' ' -f2)"   # a directory where the file goes
expect_stdout 1 akosha ingest --once --bucket bucket --data data --json --retry-base-seconds 0
assert_eq "$(echo "$out" | jq_py 'd["systems_failed"], d["uploads_failed"], d["uploads_discovered"]')" \
  "1 0 0" "a system that cannot be read"
assert_contains "$errout" "1 systems could not be read" "the exit status explained"
