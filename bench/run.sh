#!/usr/bin/env bash
# run.sh - `make bench`: every benchmark, figures on stdout.
#   BENCH_SYSTEMS / BENCH_CONVS    scale the ingestion benchmark (100 x 1000)
#   BENCH_DUCKDB_SYSTEMS / _CONVS  scale the DuckDB-upload benchmark (20 x 5000)
#   BENCH_SEARCH_SIZES             vector counts for search ("100000 1000000")
# Analytics: bench_analytics over 1,000 systems x 365 days (built once in work/).
# The HTTP benchmark uses wrk (Debian package) against `akosha serve`.
# Data is built once and cached in bench/work/ (a few GB for 1M vectors).
set -euo pipefail
cd "$(dirname "$0")"
: "${AKOSHA_BIN:?set AKOSHA_BIN}"
python3 ingest_bench.py
python3 duckdb_ingest_bench.py
python3 fts_bench.py
python3 search_bench.py
python3 http_bench.py
python3 push_bench.py
python3 age_bench.py
python3 words_bench.py
bash s3_bench.sh
bash forget_bench.sh "$AKOSHA_BIN"
mkdir -p work && "$(dirname "$AKOSHA_BIN")/bench/bench_analytics" work 1000 365
bash graph_bench.sh "$AKOSHA_BIN" "$(dirname "$AKOSHA_BIN")/bench/bench_graph"
