#!/usr/bin/env bash
# demo.sh - the embedded default end to end: generate a local bucket of
# Session-Buddy uploads, ingest it into 256 sharded SQLite stores, show the
# result, show that a second run ingests nothing twice, and search it.
#   AKOSHA_BIN=build/akosha scripts/demo.sh [WORKDIR]
set -euo pipefail
: "${AKOSHA_BIN:?set AKOSHA_BIN}"
work=${1:-build/demo}
rm -rf "$work"
mkdir -p "$work"
bucket=$work/bucket data=$work/data

# Headings in bold only on a terminal, and never with NO_COLOR set
# (https://no-color.org): a file or a pipe gets plain text.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# The first n lines of a command's output.  Not `cmd | head`: head leaves
# after n lines, the command's next write meets a closed pipe, and under
# pipefail the demo would die of that SIGPIPE.
first() { local n=$1 out; shift; out=$("$@"); head -n "$n" <<<"$out"; }

step "generate a sample bucket: 12 systems x 4 snapshot uploads, every payload form"
"$AKOSHA_BIN" generate --out "$bucket" --systems 12 --uploads 4 --conversations 200 --growth 40

step "akosha ingest --once (256 shards, one SQLite database per system)"
"$AKOSHA_BIN" ingest --once --bucket "$bucket" --data "$data"

step "akosha stats"
"$AKOSHA_BIN" stats --data "$data"

step "akosha uploads (first rows of the ledger)"
first 6 "$AKOSHA_BIN" uploads --data "$data"

step "akosha shard sys0003"
"$AKOSHA_BIN" shard sys0003

step "a second run finds every upload already settled"
"$AKOSHA_BIN" ingest --once --bucket "$bucket" --data "$data"

step "akosha search --text 'postgres vacuum' (BM25 over every system, fanned out over the shards)"
"$AKOSHA_BIN" search --data "$data" --text "postgres vacuum" --limit 5

step "akosha search --like sys0003/conv-3-000017 (vector: conversations like this one)"
"$AKOSHA_BIN" search --data "$data" --like sys0003/conv-3-000017 --limit 5

step "akosha search --like ... --text 'rebase' (hybrid: reciprocal-rank fusion)"
"$AKOSHA_BIN" search --data "$data" --like sys0003/conv-3-000017 --text "rebase" --limit 5

step "akosha get sys0003 conv-3-000017"
first 9 "$AKOSHA_BIN" get --data "$data" sys0003 conv-3-000017

printf '\nbucket: %s\ndata:   %s\n' "$bucket" "$data"
