# test_parquet_duckdb.sh - the cold tier's Parquet files (src/tier/parquet.h)
# against DuckDB, a standard reader and writer: DuckDB must read every row,
# type and statistic of Akosha's files, and Akosha must read DuckDB's files
# of the same schema (each codec, dictionaries, reordered columns) and refuse
# the ones it cannot hold.  The checks are in parquet_duckdb.mjs; files are
# written and read on Akosha's side by tests/tools/pqtool.c.
#
# Needs node and npm.  DuckDB's node package, pinned below, is installed into
# tests/integration/node_modules (gitignored) on the first run.
source "$AKOSHA_SRC/tests/integration/lib.sh"

DUCKDB_NODE_API=1.5.6-r.1

# pqtool is built next to the binary under test, with the same settings
# (build/ or, under sanitizers, build-san/).
build=$(realpath --relative-to="$AKOSHA_SRC" "$(dirname "$AKOSHA_BIN")")
make -C "$AKOSHA_SRC" -s --no-print-directory SAN="${AKOSHA_SANITIZED:-0}" BUILD="$build" \
  "$build/tools/pqtool" || fail "could not build $build/tools/pqtool"
pqtool="$AKOSHA_SRC/$build/tools/pqtool"

command -v node >/dev/null && command -v npm >/dev/null ||
  fail "node and npm are needed (Debian: apt-get install nodejs npm)"
mods="$AKOSHA_SRC/tests/integration/node_modules"
have=$(node -p "require('$mods/@duckdb/node-api/package.json').version" 2>/dev/null || true)
if [ "$have" != "$DUCKDB_NODE_API" ]; then
  echo "installing @duckdb/node-api@$DUCKDB_NODE_API into $mods"
  (cd "$AKOSHA_SRC/tests/integration" &&
    npm install --no-save --no-package-lock --no-audit --no-fund \
      "@duckdb/node-api@$DUCKDB_NODE_API") >npm.log 2>&1 ||
    fail "npm install failed: $(tail -n 5 npm.log)"
fi

mkdir -p files
node "$AKOSHA_SRC/tests/integration/parquet_duckdb.mjs" "$pqtool" "$PWD/files"
