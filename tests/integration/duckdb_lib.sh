# duckdb_lib.sh - what the DuckDB-upload tests share (sourced after lib.sh):
# the two pinned @duckdb/node-api installs, AKOSHA_LIBDUCKDB set to the
# newer one's libduckdb.so, `mk` (tests/integration/mkduckdb.mjs) and
# `sb_upload`, which lays files out in ./bucket exactly as Session-Buddy's
# cloud_sync.py does.

new_mods=$AKOSHA_SRC/tests/integration
old_mods=$AKOSHA_SRC/tests/integration/duckdb-old
duckdb_node "$new_mods" "$DUCKDB_NODE_API"
duckdb_node "$old_mods" "$DUCKDB_NODE_API_OLDEST"
lib=$new_mods/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so
old_lib=$old_mods/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so
[ -f "$lib" ] && [ -f "$old_lib" ] || fail "no libduckdb.so in the npm packages"
export AKOSHA_LIBDUCKDB=$lib

mk() { # modules out schema n [options]
  mkdir -p "$(dirname "$2")"
  node "$AKOSHA_SRC/tests/integration/mkduckdb.mjs" "$@" || fail "mkduckdb $*"
}

# Put files in the bucket as Session-Buddy does: each payload (gzipped for
# compression gzip) then manifest.json, written last, exactly as
# cloud_sync.py builds it.
sb_upload() { # sid uid compression file... (each file: local path; its name is kept)
  local sid=$1 uid=$2 comp=$3; shift 3
  local dir=bucket/systems/$sid/uploads/$uid f
  mkdir -p "$dir"
  for f in "$@"; do
    if [ "$comp" == gzip ]; then gzip -c "$f" >"$dir/$(basename "$f")"; else cp "$f" "$dir/"; fi
  done
  python3 - "$sid" "$uid" "$comp" "$@" >"$dir/manifest.json" <<'EOF'
import datetime, json, os, sys
sid, uid, comp, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
print(json.dumps({
    "upload_id": uid,
    "system_id": sid,
    "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    "files": [{"name": os.path.basename(f),
               "path": f"systems/{sid}/uploads/{uid}/{os.path.basename(f)}",
               "size_bytes": 0, "compression": comp, "checksum": ""} for f in files],
    "metadata": {"uploader": "session-buddy", "version": "1.0.0"}}, indent=2), end="")
EOF
}

