# Duplicate and update rules of SPEC section 3, and the order in which the
# uploads of one system apply: by (uploaded_at, upload_id), so a late old
# snapshot never overwrites newer data.
source "$AKOSHA_SRC/tests/integration/lib.sh"

rec() { echo "{\"id\": \"$1\", \"content\": \"$2\"}"; }
content() { sqlite3 "data/$(akosha shard "$1" | cut -d' ' -f2)" "SELECT content FROM hot WHERE conversation_id='$2'"; }

# Newer snapshot first; the older one arrives a cycle later.
mkupload bucket s1 u-new --uploaded-at 2026-11-20T12:00:00Z \
  --records "[$(rec c1 'version two'), $(rec c2 'same')]"
akosha ingest --once --bucket bucket --data data --json >/dev/null
mkupload bucket s1 u-old --uploaded-at 2026-11-20T11:00:00Z \
  --records "[$(rec c1 'version one'), $(rec c2 'same'), $(rec c3 'only in the old one')]"
run=$(akosha ingest --once --bucket bucket --data data --json)
assert_eq "$(echo "$run" | jq_py 'd["stale_skipped"], d["duplicates_skipped"], d["conversations_ingested"]')" \
  "1 1 1" "late old snapshot"
assert_eq "$(content s1 c1)" "version two" "newer version kept"
assert_eq "$(content s1 c3)" "only in the old one" "new key from the old snapshot stored"

# Both at once, upload ids sorting against time: time decides.
mkupload bucket s2 a-later --uploaded-at 2026-11-20T12:00:00Z --records "[$(rec c1 'newest')]"
mkupload bucket s2 b-earlier --uploaded-at 2026-11-20T10:00:00Z --records "[$(rec c1 'oldest')]"
run=$(akosha ingest --once --bucket bucket --data data --json)
assert_eq "$(content s2 c1)" "newest" "applied in uploaded_at order"
assert_eq "$(echo "$run" | jq_py 'd["conversations_updated"]')" "1" "the newer one updates the older"

# Same uploaded_at: upload_id breaks the tie.
mkupload bucket s3 u-b --uploaded-at 2026-11-20T10:00:00Z --records "[$(rec c1 'from b')]"
mkupload bucket s3 u-a --uploaded-at 2026-11-20T10:00:00Z --records "[$(rec c1 'from a')]"
akosha ingest --once --bucket bucket --data data --json >/dev/null
assert_eq "$(content s3 c1)" "from b" "upload_id breaks ties"

# Same content under a new key is another conversation; an id repeated
# within one upload with other content is a bad record.
mkupload bucket s4 u1 --uploaded-at 2026-11-20T10:00:00Z \
  --records "[$(rec k1 'twin'), $(rec k2 'twin'), $(rec k3 'first'), $(rec k3 'second'), $(rec k1 'twin')]"
akosha ingest --once --bucket bucket --data data --json >/dev/null
row=$(ledger_row data s4 u1)
assert_eq "$(echo "$row" | jq_py 'd["new"], d["duplicates"], d["records_rejected"]')" "3 1 1" "twins, repeat, conflict"
assert_eq "$(echo "$row" | jq_py 'list(d["record_errors"])')" "['conflicting_duplicate']" "conflict reason"
assert_eq "$(content s4 k3)" "first" "first version within an upload kept"

# Records without an id get the SHA-256 of their content: re-sent, they are
# duplicates, not new conversations.
mkupload bucket s5 u1 --uploaded-at 2026-11-20T10:00:00Z --records '[{"content": "anonymous"}]'
mkupload bucket s5 u2 --uploaded-at 2026-11-20T11:00:00Z --records '[{"content": "anonymous"}]'
akosha ingest --once --bucket bucket --data data --json >/dev/null
want=$(printf 'anonymous' | sha256sum | cut -c1-64)
assert_eq "$(sqlite3 "data/$(akosha shard s5 | cut -d' ' -f2)" "SELECT conversation_id FROM hot")" "$want" "derived id"
assert_eq "$(ledger_row data s5 u2 | jq_py 'd["duplicates"]')" "1" "derived id is stable"
