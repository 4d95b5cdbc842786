#!/usr/bin/env bash
# graph_bench.sh - knowledge-graph ingest rate and query latency (issue 16):
# a knowledge_graph.duckdb of BENCH_GRAPH_ENTITIES entities (100,000) and
# BENCH_GRAPH_RELATIONS relations (500,000) in Session-Buddy's schema, made
# with @duckdb/node-api (tests/integration/mkkg.mjs big), uploaded as one
# Session-Buddy snapshot and ingested with `akosha ingest --once`; the same
# snapshot again (all duplicates); then bench_graph's query latencies.
# BENCH_GRAPH_BULK=1: no ingest; graph.db of the same shape written by SQL
# (graph_bulk.sql, schema 0) and migrated by bench_graph's first open.
#   bash graph_bench.sh AKOSHA_BIN BENCH_GRAPH_BIN
set -euo pipefail
cd "$(dirname "$0")"
bin=$1 qbin=$2
n=${BENCH_GRAPH_ENTITIES:-100000} m=${BENCH_GRAPH_RELATIONS:-500000}
src=$(cd .. && pwd)
work=${BENCH_GRAPH_WORK:-work/graph}; rm -rf "$work"; mkdir -p "$work"
mods=$src/tests/integration
[ -d "$mods/node_modules/@duckdb/node-api" ] || { echo "graph bench: install the test's @duckdb/node-api first (run test_graph)" >&2; exit 1; }
export AKOSHA_LIBDUCKDB=$mods/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so
[ -n "${BENCH_GRAPH_BULK:-}" ] || node "$mods/mkkg.mjs" "$mods/node_modules" "$work/knowledge_graph.duckdb" big "$n" "$m"
upload() { # uid
  local dir=$work/bucket/systems/bench.local/uploads/$1
  mkdir -p "$dir"; gzip -c "$work/knowledge_graph.duckdb" > "$dir/knowledge_graph.duckdb"
  printf '{"upload_id":"%s","system_id":"bench.local","timestamp":"%s","files":[{"name":"knowledge_graph.duckdb","size_bytes":0,"compression":"gzip","checksum":""}],"metadata":{}}' "$1" "$(date -u +%Y-%m-%dT%H:%M:%S+00:00)" > "$dir/manifest.json"
}
run() { # label
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$bin" ingest --once --bucket "$work/bucket" --data "$work/data" --json >/dev/null
  t1=$(date +%s.%N)
  python3 -c "s=$t1-$t0; print(f'graph ingest ($1): {($n+$m)/s:,.0f} items/s ({$n:,} entities + {$m:,} relations in {s:.1f} s), peak RSS {int(open(\"$work/rss\").read().split()[-1])//1024} MiB')"
}
if [ -n "${BENCH_GRAPH_BULK:-}" ]; then # queries only: graph.db written by SQL, migrated on open
  mkdir -p "$work/data"
  sed -e "s/\$n/$n/g" -e "s/\$m/$m/g" graph_bulk.sql | sqlite3 "$work/data/graph.db"
else
  upload 20250601_120000_bench.local; run "first snapshot"
  upload 20250602_120000_bench.local; run "same snapshot again: duplicates"
fi
"$qbin" "$work/data/graph.db" "${BENCH_GRAPH_QUERIES:-200}"
echo "load: $(uptime)"
