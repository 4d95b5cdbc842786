# Reingest backups (<id>.db.replaced-<stamp>) are bounded: after each
# rebuild the newest AK_REINGEST_BACKUPS_KEEP (3) stay, and none older than
# two weeks; the one just made always stays.  `akosha forget` removes them
# all, and a look-alike file of another system is never touched.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 1 --uploads 2 --conversations 20 --now 2026-11-26T00:00:00Z >/dev/null
akosha ingest --once --bucket bucket --data data --quiet >/dev/null
dir=data/$(dirname "$(akosha shard sys0000 | cut -d' ' -f2)")
backups() { (cd "$dir" && ls | grep '^sys0000\.db\.replaced-' | grep -v -- '-wal$' | grep -v '\.db$' || true) | tr '\n' ' '; }
# another system's database whose name starts like a backup: never a backup
touch "$dir/sys0000.db.replaced-20260101T000000Z.x.db"

for s in 1 2 3 4 5; do
  expect_stdout 0 akosha reingest --data data --bucket bucket --system sys0000 --now 2026-12-01T00:00:0${s}Z --json
done
assert_eq "$(echo "$out" | jq_py 'd["backups_removed"]')" "1" "the fifth rebuild removed one"
assert_eq "$(backups)" "sys0000.db.replaced-20261201T000003Z sys0000.db.replaced-20261201T000004Z sys0000.db.replaced-20261201T000005Z " "the newest three stay"

expect_stdout 0 akosha reingest --data data --bucket bucket --system sys0000 --now 2026-12-20T00:00:00Z --json
assert_eq "$(echo "$out" | jq_py 'd["backups_removed"]')" "3" "older than two weeks"
assert_eq "$(backups)" "sys0000.db.replaced-20261220T000000Z " "only the one just made"
[ -f "$dir/sys0000.db.replaced-20260101T000000Z.x.db" ] || fail "a look-alike was removed"
expect_exit 0 akosha verify --data data

expect_exit 0 akosha forget --data data sys0000
assert_eq "$(backups)" "" "forget removes the backups too"
[ -f "$dir/sys0000.db.replaced-20260101T000000Z.x.db" ] || fail "forget removed a look-alike"
echo ok
