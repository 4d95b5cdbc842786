# A local bucket is untrusted input: symbolic links in it are never
# followed (issue 20, item 1).  A linked system directory, upload
# directory, manifest or payload is skipped with a warning naming it, a
# link to /proc/self/environ is never read, and link loops hide nothing:
# the store equals a clean run over the same bucket without the links.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 2 --uploads 2 --conversations 30 >/dev/null
akosha ingest --once --bucket bucket --data clean --json >/dev/null
want=$(store_digest clean)

akosha generate --out outside --systems 3 --uploads 1 --conversations 9 --prefix evil >/dev/null
O=$PWD/outside/systems
up0=$(dirname "$(find "$O/evil0000" -name manifest.json)")
up1=$(dirname "$(find "$O/evil0001" -name manifest.json)")
up2=$(dirname "$(find "$O/evil0002" -name manifest.json)")
s0=bucket/systems/sys0000 s1=$(dirname "$(find bucket/systems/sys0001 -name manifest.json | head -1)")
ln -s "$O/evil0000" bucket/systems/evil0000                 # a system directory
ln -s "$up1" $s0/20261205_020000_sys0000                     # an upload directory
mkdir $s0/20261205_030000_sys0000                            # a manifest
cp "$up2"/memories* $s0/20261205_030000_sys0000/
ln -s "$up2/manifest.json" $s0/20261205_030000_sys0000/manifest.json
mkdir "$s1/../20261205_040000_sys0001"                       # a payload
cp "$up0/manifest.json" "$s1/../20261205_040000_sys0001/"
ln -s /proc/self/environ "$s1/../20261205_040000_sys0001/$(basename "$(ls "$up0"/memories*)")"
ln -s . bucket/systems/loop                                  # loops
ln -s . bucket/systems/sys0001/loop

expect_stdout 0 akosha ingest --once --bucket bucket --data data --json
for link in systems/evil0000 systems/sys0000/20261205_020000_sys0000 \
            systems/sys0000/20261205_030000_sys0000/manifest.json systems/loop systems/sys0001/loop; do
  assert_contains "$errout" "skipping $link: a symbolic link" "warning for $link"
done
assert_contains "$errout" "memories.json: a symbolic link" "warning for the payload link"
assert_eq "$(echo "$out" | jq_py 'd["systems"], d["uploads_ingested"]')" "2 4" "both systems, every real upload"
[ -z "$(find data -name 'evil*')" ] || fail "a system from outside the bucket was stored"
assert_eq "$(store_digest data)" "$want" "the store equals a clean run's"
if grep -rqa "PATH=" data; then fail "the environment was read into the store"; fi
# the upload whose payload is a link waits for a real payload, it is not lost
assert_eq "$(ledger_row data sys0001 20261205_040000_sys0001 | jq_py 'd["status"]')" "failed" \
  "the upload with a linked payload"
