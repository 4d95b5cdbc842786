# test_parquet_duckdb.sh - the cold tier's Parquet files (src/tier/parquet.h)
# against DuckDB, a standard reader and writer: DuckDB must read every row,
# type and statistic of Akosha's files, and Akosha must read DuckDB's files
# of the same schema (each codec, dictionaries, reordered columns) and refuse
# the ones it cannot hold.  The checks are in parquet_duckdb.mjs; files are
# written and read on Akosha's side by tests/tools/pqtool.c.
#
# Needs node and npm.  DuckDB's node package, pinned in lib.sh, is installed into
# tests/integration/node_modules (gitignored) on the first run.
source "$AKOSHA_SRC/tests/integration/lib.sh"

# pqtool is built next to the binary under test, with the same settings
# (build/ or, under sanitizers, build-san/).
build=$(realpath --relative-to="$AKOSHA_SRC" "$(dirname "$AKOSHA_BIN")")
make -C "$AKOSHA_SRC" -s --no-print-directory SAN="${AKOSHA_SANITIZED:-0}" BUILD="$build" \
  "$build/tools/pqtool" || fail "could not build $build/tools/pqtool"
pqtool="$AKOSHA_SRC/$build/tools/pqtool"

duckdb_node "$AKOSHA_SRC/tests/integration" "$DUCKDB_NODE_API"

mkdir -p files
node "$AKOSHA_SRC/tests/integration/parquet_duckdb.mjs" "$pqtool" "$PWD/files"
