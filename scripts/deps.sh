#!/usr/bin/env bash
# deps.sh - make sure the Debian packages Akosha needs are installed.
#
#   scripts/deps.sh            build + test dependencies (what `make check` needs)
#   scripts/deps.sh build      only what building needs
#   scripts/deps.sh bench      test dependencies plus what `make bench` needs
#   scripts/deps.sh duckdb     DuckDB's C library, which `akosha` loads at run time
#                              to read Session-Buddy's reflection.duckdb uploads
#                              (also done by the default and bench modes)
#
# Missing packages are installed with apt-get when running as root; otherwise
# the script names them and exits 1, so nothing fails later with a cryptic
# compiler or linker error.
set -euo pipefail

what=${1:-test}

build_pkgs="gcc make pkg-config libsqlite3-dev zlib1g-dev libzstd-dev liblz4-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev"
# clang-tools brings scan-build (make analyze).  DuckDB (Parquet read-back) and the MCP SDK client come from npm; promtool
# (prometheus) checks the metrics and the alert rules; curl drives the HTTP
# tests; systemd-analyze (systemd) and python3-yaml check deploy/.
test_pkgs="clang clang-tools libclang-rt-14-dev python3 python3-yaml sqlite3 zstd lz4 gzip procps curl nodejs npm prometheus systemd swift swift-proxy swift-object swift-container swift-account python3-swift"
bench_pkgs="wrk"

# DuckDB's official build of its C library ships in this npm package (Debian
# does not package libduckdb); akosha dlopens it from this place
# (src/ingest/duckdb.h) or from $AKOSHA_LIBDUCKDB.
duckdb_pkg="@duckdb/node-bindings-linux-x64@1.5.6-r.1"
duckdb_prefix=/usr/local/lib/akosha
duckdb_lib=$duckdb_prefix/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so

install_duckdb() {
  [ -f "$duckdb_lib" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "akosha: DuckDB's library is not installed; as root run: npm install --prefix" \
         "$duckdb_prefix $duckdb_pkg (or set AKOSHA_LIBDUCKDB to a libduckdb.so)" >&2
    return 0 # akosha runs without it; only DuckDB uploads wait for it
  fi
  command -v npm >/dev/null || apt-get install -y -q --no-install-recommends npm >/dev/null
  echo "akosha: installing $duckdb_pkg into $duckdb_prefix" >&2
  mkdir -p "$duckdb_prefix"
  [ -f "$duckdb_prefix/package.json" ] || echo '{"private": true}' >"$duckdb_prefix/package.json"
  npm install --prefix "$duckdb_prefix" --no-audit --no-fund --silent "$duckdb_pkg" >/dev/null
}

case "$what" in
  build) want="$build_pkgs" ;;
  test)  want="$build_pkgs $test_pkgs" ;;
  bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
  duckdb) install_duckdb; exit 0 ;;
  *) echo "usage: scripts/deps.sh [build|test|bench|duckdb]" >&2; exit 2 ;;
esac

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in $want; do
  # node and npm may come from outside Debian (nvm, NodeSource): accept them.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  [ "$what" == build ] || install_duckdb
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "akosha: missing Debian packages: ${missing[*]}" >&2
  echo "akosha: install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "akosha: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$what" == build ] || install_duckdb
