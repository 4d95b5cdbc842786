#!/usr/bin/env bash
# forget_bench.sh - how long `akosha forget` takes for one system that
# reached all three tiers, and what held-back uploads cost a cycle after.
#   bench/forget_bench.sh [build/akosha] [conversations per upload]
set -euo pipefail
bin=$(realpath "${1:-build/akosha}")
convs=${2:-5000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" generate --out bucket --systems 2 --uploads 3 --conversations "$convs" --span-days 400 \
  --now 2026-11-26T00:00:00Z >/dev/null
"$bin" ingest --once --bucket bucket --data data --quiet >/dev/null
"$bin" age --data data --now 2026-11-27T00:00:00Z >/dev/null
"$bin" forget --data data sys0000 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["conversations"]
print(f"forget: {c[\"hot\"] + c[\"warm\"] + c[\"cold\"]} conversations, "
      f"{d[\"database_bytes\"] / 1e6:.1f} MB of database, {d[\"cold_objects\"]} cold objects "
      f"in {d[\"seconds\"]:.2f} s")'
for i in 1 2 3; do
  "$bin" ingest --once --bucket bucket --data data --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(f"cycle after: {d[\"uploads_forgotten\"]} uploads held back, {d[\"seconds\"]:.3f} s")'
done
