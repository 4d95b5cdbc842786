# Memory must not grow with upload size: ingest one upload of 2,000 and one
# of 20,000 conversations (180 MB of JSON, gzip-compressed and not) and
# compare peak RSS.
source "$AKOSHA_SRC/tests/integration/lib.sh"

# ASan holds freed memory in quarantine (256 MB), so RSS says nothing there.
if [ "${AKOSHA_SANITIZED:-0}" = 1 ]; then
  echo "skipped under sanitizers: RSS includes ASan's quarantine"
  exit 0
fi

peak_rss_kib() { # runs the command, prints the child's peak RSS in KiB
  python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

akosha generate --out small --systems 1 --uploads 1 --conversations 2000 --format json --compression none >/dev/null
akosha generate --out big --systems 1 --uploads 1 --conversations 20000 --format json --compression none >/dev/null
akosha generate --out bigz --systems 1 --uploads 1 --conversations 20000 --format jsonl --compression gzip >/dev/null

small=$(peak_rss_kib "$AKOSHA_BIN" ingest --once --quiet --bucket small --data d1 --concurrency 1)
big=$(peak_rss_kib "$AKOSHA_BIN" ingest --once --quiet --bucket big --data d2 --concurrency 1)
bigz=$(peak_rss_kib "$AKOSHA_BIN" ingest --once --quiet --bucket bigz --data d3 --concurrency 1)
size=$(du -sm big | cut -f1)
echo "peak RSS: 2k conversations ${small} KiB, 20k ${big} KiB (${size} MB payload), 20k gzip ${bigz} KiB"

assert_eq "$(akosha stats --data d2 --json | jq_py 'd["hot"]')" "20000" "all of the big upload stored"
[ "$size" -gt 150 ] || fail "the big upload is only $size MB"
[ "$big" -lt $((small + 16384)) ] || fail "RSS grew with upload size: $small KiB -> $big KiB"
[ "$bigz" -lt $((small + 16384)) ] || fail "RSS grew with a compressed upload: $small KiB -> $bigz KiB"
[ "$big" -lt 65536 ] || fail "peak RSS $big KiB for a streaming ingest"
