#!/usr/bin/env bash
# deps.sh - make sure the Debian packages Akosha needs are installed.
#
#   scripts/deps.sh            build + test dependencies (what `make check` needs)
#   scripts/deps.sh build      only what building needs
#   scripts/deps.sh bench      test dependencies plus what `make bench` needs
#
# Missing packages are installed with apt-get when running as root; otherwise
# the script names them and exits 1, so nothing fails later with a cryptic
# compiler or linker error.
set -euo pipefail

what=${1:-test}

build_pkgs="gcc make pkg-config libsqlite3-dev zlib1g-dev libzstd-dev liblz4-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev"
# DuckDB (Parquet read-back) and the MCP SDK client come from npm; promtool
# (prometheus) checks the metrics and the alert rules; curl drives the HTTP
# tests; systemd-analyze (systemd) and python3-yaml check deploy/.
test_pkgs="clang libclang-rt-14-dev python3 python3-yaml sqlite3 zstd lz4 gzip procps curl nodejs npm prometheus systemd swift swift-proxy swift-object swift-container swift-account python3-swift"
bench_pkgs="wrk"

case "$what" in
  build) want="$build_pkgs" ;;
  test)  want="$build_pkgs $test_pkgs" ;;
  bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
  *) echo "usage: scripts/deps.sh [build|test|bench]" >&2; exit 2 ;;
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

[ ${#missing[@]} -eq 0 ] && exit 0

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
