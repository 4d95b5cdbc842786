#!/usr/bin/env bash
# index_bench.sh - `make bench-index`: Akosha's vector index beside USearch
# and hnswlib on the same realistic vectors (bench/index_bench.c writes
# them; bench/ann/ann_npm.mjs measures the npm libraries, installed here
# into bench/ann/node_modules on first use).  Not part of `make bench` or
# the tests: a run at a million vectors takes a while.
#   BENCH_INDEX_SIZES   vector counts (default "200000 1000000")
#   BENCH_INDEX_QUERIES queries per size (default 500)
# Figures go to stdout, one JSON object per size and library, with the
# machine's load (`uptime`) beside them: on a shared machine they are noisy.
set -euo pipefail
cd "$(dirname "$0")"
BUILD=${BUILD:-../build}
sizes=${BENCH_INDEX_SIZES:-"200000 1000000"}
queries=${BENCH_INDEX_QUERIES:-500}
[ -d ann/node_modules ] || (cd ann && npm install --no-audit --no-fund >/dev/null)
for n in $sizes; do
  work=work/index-$n
  mkdir -p "$work"
  echo "== $n vectors; load before: $(uptime)"
  "$BUILD/bench/index_bench" "$n" "$queries" "$work"
  echo "== $n vectors, npm libraries; load before: $(uptime)"
  (cd ann && node ann_npm.mjs "../$work")
  echo "== load after: $(uptime)"
done
