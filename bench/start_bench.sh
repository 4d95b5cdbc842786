#!/usr/bin/env bash
# start_bench.sh - start-up time and resident memory of `akosha serve`
# over N generated vectors (issue 15 point 4): the first start (loads from
# SQLite, builds the graph, writes the segment files), then restarts (map
# the files).  Each line: seconds from exec to /ready answering 200, the
# server's own "index ready" time, RSS after the indexer's first pass and 50
# HTTP searches, and the machine's load (noisy on a shared machine).
#   BENCH_START_SYSTEMS        systems (default 10)
#   BENCH_START_CONVERSATIONS  conversations per system (default 2000)
#   AKOSHA                     the binary (default ../build/akosha)
# A server over an empty data directory is measured first: the fixed
# overhead the per-vector figure is taken over.
set -euo pipefail
cd "$(dirname "$0")"
A=$(realpath "${AKOSHA:-../build/akosha}")
systems=${BENCH_START_SYSTEMS:-10}
convs=${BENCH_START_CONVERSATIONS:-2000}
work=work/start-$systems-$convs
rm -rf "$work"
mkdir -p "$work/empty"
cd "$work"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
measure() { # label data-dir
  local p t0 t1 pid rss vec q m
  p=$(port)
  t0=$(date +%s.%N)
  "$A" serve --data "$2" --listen 127.0.0.1:"$p" --poll-interval 3600 > "serve_$1.log" 2>&1 &
  pid=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/ready")" = 200 ]; do sleep 0.02; done
  t1=$(date +%s.%N)
  while m=$(curl -s "http://127.0.0.1:$p/metrics"); [[ "$m" == *"akosha_vindex_first_pass_seconds -"* ]]; do
    sleep 0.2
  done
  q=$(python3 -c "import json,random; random.seed(1); print(json.dumps({'vector':[random.uniform(-1,1) for _ in range(384)],'limit':10}))")
  for _ in $(seq 50); do curl -s -o /dev/null -X POST --data-binary "$q" "http://127.0.0.1:$p/v1/search"; done
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  vec=$(curl -s "http://127.0.0.1:$p/metrics" | awk '/^akosha_index_vectors / {print $2}')
  echo "$1: ready $(echo "$t1 - $t0" | bc) s, $vec vectors, RSS $rss kB;" \
       "$(grep -o 'index ready[^"]*' "serve_$1.log"); $(grep -o 'vector index in step[^"]*' "serve_$1.log");" \
       "load $(uptime | sed 's/.*load average: //')"
  kill -TERM "$pid"
  wait "$pid" || true
}
"$A" generate --out bucket --systems "$systems" --uploads 1 --conversations "$convs" \
  --span-days 30 --now 2026-11-26T00:00:00Z >/dev/null
"$A" ingest --once --bucket bucket --data data --quiet >/dev/null
measure empty empty
measure first data
measure restart1 data
measure restart2 data
