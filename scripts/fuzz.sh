#!/usr/bin/env bash
# fuzz.sh - build and run Akosha's libFuzzer targets (tests/fuzz/fuzz_*.c).
#
# Usage (from anywhere; paths are relative to the repository root):
#   scripts/fuzz.sh smoke               every target for 15 s (make fuzz-smoke)
#   scripts/fuzz.sh long [seconds]      every target for 600 s or the seconds given
#   scripts/fuzz.sh <target> [seconds]  one target (e.g. `framer`), 600 s by default
#   scripts/fuzz.sh build               only build the fuzzers
#
# Targets: manifest, record, framer, json, unz, s3xml, parquet, embed, push, analytics,
# dframe, graph, hnsw, vcode, segfile (tests/fuzz/fuzz_<target>.c).
#
# Each run first builds build-fuzz/fuzz_<target> with clang
# (-fsanitize=fuzzer,address,undefined; the library is every src/**/*.c but
# src/main.c), then replays tests/fuzz/regressions/<target>/* (inputs that
# once crashed: they must pass), then fuzzes with tests/fuzz/<target>.dict,
# value profiling, inputs up to 64 KiB, a 10 s per-input timeout and leak
# detection.  The fuzzer works on a copy of tests/fuzz/corpus/<target> in
# build-fuzz/corpus-<target> (fresh for smoke, kept and grown by long runs),
# so the source tree is never modified.
#
# Any crash, leak, timeout or out-of-memory fails the script (exit 1),
# naming the target, the saved input (build-fuzz/artifacts/<target>/) and
# the log (build-fuzz/logs/<target>.log).  To keep a crash as a regression:
#   cp build-fuzz/artifacts/<target>/crash-... tests/fuzz/regressions/<target>/
# and to reproduce one:  build-fuzz/fuzz_<target> <file>
#
# Environment: CC (default clang), FUZZ_FLAGS (extra libFuzzer flags).
set -euo pipefail

cd "$(dirname "$0")/.."

CC=${CC:-clang}
[[ $CC == cc || $CC == gcc ]] && CC=clang # libFuzzer needs clang
OUT=build-fuzz
FUZZ_DIR=tests/fuzz
PKGS=(sqlite3 zlib libzstd liblz4 libcrypto libcurl libmicrohttpd)
MAX_LEN=65536
SMOKE_SECONDS=15
LONG_SECONDS=600

read -ra PKG_CFLAGS <<<"$(pkg-config --cflags "${PKGS[@]}")"
read -ra PKG_LIBS <<<"$(pkg-config --libs "${PKGS[@]}")"
SAN=("-fsanitize=address,undefined" -fno-sanitize-recover=undefined)
BASE_CFLAGS=(-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -pthread -Isrc
  "${PKG_CFLAGS[@]}" "${SAN[@]}")
# The library keeps the project's warning set; the harnesses must be clean.
LIB_CFLAGS=("${BASE_CFLAGS[@]}" -fsanitize=fuzzer-no-link -Wall -Wextra -Wno-unused-parameter)
FUZZ_CFLAGS=("${BASE_CFLAGS[@]}" -fsanitize=fuzzer -I"$FUZZ_DIR"
  -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
LIBS=("${PKG_LIBS[@]}" -lm -pthread)

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

all_targets() {
  local f
  for f in "$FUZZ_DIR"/fuzz_*.c; do
    f=${f##*/fuzz_}
    echo "${f%.c}"
  done
}

# ---- build ----

build_lib() {
  local src obj
  mkdir -p "$OUT/obj"
  echo "fuzz: compiling the library with $CC (sanitizers + coverage)"
  # One object per source (src/a/b.c -> obj/src_a_b.o), in parallel; rebuilt
  # every time, which is quick and never stale.
  rm -f "$OUT"/obj/*.o
  find src -name '*.c' ! -name main.c | sort | while read -r src; do
    obj=${src//\//_}
    echo "$src -o $OUT/obj/${obj%.c}.o"
  done | xargs -P "$(nproc)" -n 3 "$CC" "${LIB_CFLAGS[@]}" -c
  rm -f "$OUT/libakosha-fuzz.a"
  ar rcs "$OUT/libakosha-fuzz.a" "$OUT"/obj/*.o
}

build_target() {
  "$CC" "${FUZZ_CFLAGS[@]}" -o "$OUT/fuzz_$1" "$FUZZ_DIR/fuzz_$1.c" \
    "$OUT/libakosha-fuzz.a" "${LIBS[@]}"
}

build_all() {
  local t
  mkdir -p "$OUT"
  build_lib
  for t in "$@"; do
    echo "fuzz: building $OUT/fuzz_$t"
    build_target "$t"
  done
}

# ---- run ----

failed=()

fail() { # target, what
  echo "FUZZ FAILURE: target '$1': $2" >&2
  failed+=("$1")
}

# What went wrong, from a libFuzzer log: the error, a broken invariant's
# message, and the top of the first stack (without libFuzzer's and libc's
# own frames).
show_crash() {
  awk '/invariant broken/ { print; getline; print }
       /ERROR: / { err = 1; print; next }
       / in fuzzer::|__sanitizer_print|libc\.so|nptl\/|signal\/|abort\.c|csu\// { next }
       err && /^    #[0-9]+ / && frames < 10 { print; frames++ }
       /^SUMMARY/ { print; exit }' "$1" >&2 || true
}

# Inputs that once crashed a target must not crash it again.
replay_regressions() {
  local t=$1 dir="$FUZZ_DIR/regressions/$1" log="$OUT/logs/$1.regressions.log"
  local files=()
  [[ -d $dir ]] || return 0
  mapfile -t files < <(find "$dir" -type f ! -name '*.md' ! -name '.*' | sort)
  ((${#files[@]})) || return 0
  echo "fuzz: $t: replaying ${#files[@]} regression input(s)"
  if ! "$OUT/fuzz_$t" -timeout=10 -rss_limit_mb=2048 "${files[@]}" >"$log" 2>&1; then
    grep -E '^Running: ' "$log" | tail -n 1 >&2 || true
    show_crash "$log"
    fail "$t" "a regression input fails again (inputs in $dir, log $log)"
    return 1
  fi
}

# Fuzz one target for $2 seconds; $3 = fresh to start from the seeds only.
run_target() {
  local t=$1 secs=$2 fresh=$3
  local corpus="$OUT/corpus-$t" art="$OUT/artifacts/$t/" log="$OUT/logs/$t.log"
  local dict=() rc=0
  mkdir -p "$OUT/logs" "$art"
  [[ $fresh == fresh ]] && rm -rf "$corpus"
  mkdir -p "$corpus"
  if [[ -d $FUZZ_DIR/corpus/$t ]]; then
    cp -n "$FUZZ_DIR/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  fi
  [[ -f $FUZZ_DIR/$t.dict ]] && dict=(-dict="$FUZZ_DIR/$t.dict")

  replay_regressions "$t" || return 0

  echo "fuzz: $t: fuzzing for ${secs}s (log $log)"
  # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
  "$OUT/fuzz_$t" "$corpus" "${dict[@]}" \
    -max_total_time="$secs" -max_len=$MAX_LEN -use_value_profile=1 \
    -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$art" ${FUZZ_FLAGS:-} >"$log" 2>&1 || rc=$?

  # The last status line: coverage, features, corpus, speed.
  grep -E '^#[0-9]+' "$log" | tail -n 1 | sed "s/^/fuzz: $t: /" || true
  if ((rc != 0)); then
    show_crash "$log"
    local saved
    saved=$(grep -o 'Test unit written to .*' "$log" | sed 's/Test unit written to //' || true)
    fail "$t" "fuzzer exited with $rc; input saved as ${saved:-(none, see log)}; log $log"
  fi
}

# ---- main ----

mode=${1:-}
mapfile -t targets < <(all_targets)
case $mode in
  smoke) secs=$SMOKE_SECONDS; fresh=fresh ;;
  long) secs=${2:-$LONG_SECONDS}; fresh=keep ;;
  build) build_all "${targets[@]}"; exit 0 ;;
  "" | -h | --help | help) usage ;;
  *)
    [[ -f $FUZZ_DIR/fuzz_$mode.c ]] || { echo "fuzz: no target '$mode'" >&2; usage; }
    targets=("$mode"); secs=${2:-$LONG_SECONDS}; fresh=keep ;;
esac
[[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || { echo "fuzz: bad seconds '$secs'" >&2; exit 2; }

build_all "${targets[@]}"
for t in "${targets[@]}"; do
  run_target "$t" "$secs" "$fresh"
done

if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all passed (${targets[*]}; ${secs}s each)"
