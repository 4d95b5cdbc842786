#!/usr/bin/env bash
# run-integration.sh - run every tests/integration/test_*.sh against the
# binary in $AKOSHA_BIN, each in its own scratch directory.
#   scripts/run-integration.sh [name-filter]
# The filter is an extended regular expression matched against the test's
# name without `.sh` (`test_push`, `'test_(search|words)$'`); a filter that
# matches no test is an error, not a silent "all passed".
set -u
: "${AKOSHA_BIN:?set AKOSHA_BIN to the akosha binary}"
here=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:-}
failed=()
ran=0
for t in "$here"/tests/integration/test_*.sh; do
  name=$(basename "$t" .sh)
  [ -n "$filter" ] && ! [[ "$name" =~ $filter ]] && continue
  ran=$((ran + 1))
  work=$(mktemp -d "${TMPDIR:-/tmp}/akosha-it.XXXXXX")
  start=$(date +%s%N)
  if (cd "$work" && AKOSHA_SRC="$here" bash "$t") >"$work/log" 2>&1; then
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '  ok    %-28s %3d.%ds\n' "$name" $((ms / 1000)) $((ms % 1000 / 100))
    rm -rf "$work"
  else
    printf '  FAIL  %-28s (log and files in %s)\n' "$name" "$work"
    tail -n 30 "$work/log" | sed 's/^/        /'
    failed+=("$name")
  fi
done
if [ "$ran" -eq 0 ]; then
  echo "integration tests: no test matches '$filter' (an extended regex over names like test_push)" >&2
  exit 2
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "integration tests: ${#failed[@]} failed: ${failed[*]}" >&2
  exit 1
fi
echo "integration tests: all passed"
