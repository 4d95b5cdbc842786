# The README's first command runs the demo (scripts/demo.sh): it must finish
# and show what it says it shows -- ingestion, exactly-once on the second
# run, and real search results.
source "$AKOSHA_SRC/tests/integration/lib.sh"

expect_exit 0 "$AKOSHA_SRC/scripts/demo.sh" demo
assert_contains "$out" "48 uploads ingested, 0 rejected, 0 failed" "the first run ingests every upload"
assert_contains "$out" "(0 new, 48 already settled)" "the second run ingests nothing twice"
assert_contains "$out" "3840 hot, 0 warm, 0 cold" "stats"
[ "$(grep -c 'shards queried, 0 failed' <<<"$out")" -eq 3 ] || fail "three searches with results: $out"
assert_contains "$out" "conv-3-000017" "get prints the conversation"
