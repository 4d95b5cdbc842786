#!/usr/bin/env bash
# dead-exports.sh - exported functions nothing calls: defined in an object
# of $BUILD/obj (default build), referenced by no other object there (the
# library, main.o), named in no test, benchmark or fuzz source, and used
# nowhere else in their own file.  Prints each and exits 1 when there is
# any.  Run after a build (`make dead-exports` builds first).
set -euo pipefail
build=${BUILD:-build}
[ -d "$build/obj/src" ] || { echo "dead-exports: nothing built in $build" >&2; exit 2; }
used=$(find "$build/obj" -name '*.o' -exec nm -u {} + | awk '{print $NF}' | sort -u)
others=$(cat tests/unit/*.c tests/unit/*.h tests/tools/*.c tests/fuzz/*.c bench/*.c 2>/dev/null)
dead=0
for o in $(find "$build/obj/src" -name '*.o' | sort); do
  src=${o#"$build/obj/"}; src=${src%.o}.c
  for f in $(nm --defined-only "$o" | awk '$2 == "T" && $3 ~ /^ak_/ {print $3}'); do
    grep -qx -- "$f" <<<"$used" && continue
    grep -qw -- "$f" <<<"$others" && continue
    # called inside its own file (then it should be static, but it is not dead)
    [ "$(grep -cw -- "$f" "$src")" -gt 1 ] && continue
    echo "dead-exports: $f ($src) has no caller"
    dead=1
  done
done
exit $dead
