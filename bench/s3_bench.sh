#!/usr/bin/env bash
# s3_bench.sh - ingestion from an S3 bucket (OpenStack Swift on loopback,
# started here) against the same files in a local directory: throughput and
# S3 requests per ingested upload.  Part of `make bench`.
set -euo pipefail
: "${AKOSHA_BIN:?set AKOSHA_BIN}"
here=$(cd "$(dirname "$0")" && pwd)
s3dir=$here/../tests/integration/s3
work=$(mktemp -d "${TMPDIR:-/tmp}/akosha-s3bench.XXXXXX")
trap '"$s3dir/stop-swift.sh" "$work/swift" --purge >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cd "$work"

"$s3dir/start-swift.sh" swift >/dev/null
export AKOSHA_S3_ENDPOINT=$(cat swift/endpoint)
export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
"$AKOSHA_BIN" generate --out bucket --systems 24 --uploads 5 --conversations 200 --growth 40 \
  --format jsonl --compression zstd --json > gen.json
/usr/bin/python3 "$s3dir/s3tool.py" mb akosha
/usr/bin/python3 "$s3dir/s3tool.py" sync bucket akosha bench >/dev/null

field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
echo
echo "S3 ingestion: $(field uploads < gen.json) uploads, $(field records < gen.json) records," \
     "$(du -sh bucket | cut -f1) compressed (Swift on loopback)"
printf '  %-34s %8s %10s %12s\n' run seconds uploads/s records/s
records=$(field records < gen.json)
uploads=$(field uploads < gen.json)
for c in 1 4 8; do
  for where in local s3; do
    src=bucket; [ $where = s3 ] && src=s3://akosha/bench
    rm -rf "d-$where-$c"
    AKOSHA_LOG_LEVEL=debug "$AKOSHA_BIN" ingest --once --quiet --bucket "$src" --data "d-$where-$c" \
      --concurrency $c --json > run.json 2> run.log
    s=$(field seconds < run.json)
    printf '  %-34s %8.2f %10.1f %12.0f\n' "$where, concurrency $c" "$s" \
      "$(python3 -c "print($uploads / $s)")" "$(python3 -c "print($records / $s)")"
    if [ $where = s3 ] && [ $c = 4 ]; then
      req=$(grep 'closing; operations' run.log | sed -E 's/.*; ([0-9]+) requests.*/\1/' | head -1)
      echo "  S3 requests: $req for $uploads uploads ($(python3 -c "print(round($req / $uploads, 2))") per upload)"
    fi
  done
done
