#!/usr/bin/env bash
# run-unit.sh - run each unit-test binary given, report, fail if any failed.
set -u
failed=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/akosha-unit.XXXXXX")
for t in "$@"; do
  if ! TMPDIR="$scratch" "$t"; then
    echo "FAILED: $t" >&2
    failed=1
  fi
done
if [ $failed -eq 0 ]; then
  rm -rf "$scratch"
  echo "unit tests: all passed"
else
  echo "unit tests: FAILURES (scratch files kept in $scratch)" >&2
fi
exit $failed
