#!/usr/bin/env bash
# run.sh - `make bench`: every benchmark, figures on stdout.
# BENCH_SYSTEMS / BENCH_CONVS scale the ingestion benchmark (default 100 x 1000).
set -euo pipefail
cd "$(dirname "$0")"
: "${AKOSHA_BIN:?set AKOSHA_BIN}"
python3 ingest_bench.py
