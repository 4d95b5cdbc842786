#!/usr/bin/env bash
# test_layers.sh - scripts/check-layers.py passes on src/ and fails on what
# it guards against: a cycle between folders (shown with the files making it),
# a file over 800 lines whose top comment gives no reason, and SQL run outside
# the schema's owner (storage/, graph/).
source "$AKOSHA_SRC/tests/integration/lib.sh"
check="$AKOSHA_SRC/scripts/check-layers.py"

expect_exit 0 "$check" "$AKOSHA_SRC/src"
assert_contains "$out" "no cycle" "the tree has no folder cycle"

# A tree whose storage includes an ingest header while ingest includes storage.
mkdir -p fake/util fake/storage fake/ingest
echo '#include "util/err.h"' >fake/util/buf.h
printf '#include "ingest/record.h"\n#include "util/buf.h"\n' >fake/storage/sysdb.h
echo '#include "storage/sysdb.h"' >fake/ingest/record.h
expect_exit 1 "$check" fake
assert_contains "$out" "cycle: ingest storage" "the cycle is named"
assert_contains "$out" "storage -> ingest: storage/sysdb.h" "the file making it is named"

# The same edge one way only is a layer, not a cycle.
echo '#include "util/buf.h"' >fake/storage/sysdb.h
expect_exit 0 "$check" fake

# A long file: refused, unless its top comment says why it is long.
{ echo '/* big.c - a long file. */'; for i in $(seq 801); do echo "int x$i;"; done; } >fake/util/big.c
expect_exit 1 "$check" fake
assert_contains "$out" "src/util/big.c has 802 lines" "the long file is named"
sed -i '1s|.*|/* big.c - a table: past 800 lines because it is one generated list. */|' fake/util/big.c
expect_exit 0 "$check" fake

# SQL outside storage/ (a second owner of a system database's tables).
mkdir -p fake/tier
printf '#include <sqlite3.h>\n#include "storage/sysdb.h"\n' >fake/tier/age.c
expect_exit 1 "$check" fake
assert_contains "$out" "src/tier/age.c includes <sqlite3.h>" "SQL outside storage/ is named"
printf '#include <sqlite3.h>\n' >fake/storage/sysdb.c
rm fake/tier/age.c
expect_exit 0 "$check" fake
echo "ok"
