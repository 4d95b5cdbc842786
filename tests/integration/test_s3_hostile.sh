# An S3 endpoint that misbehaves on purpose (tests/integration/s3/
# hostile_s3.py; a real S3 server cannot be made to do this, so Swift
# cannot stand in) - issue 20, items 2, 3 and 4:
#  - a listing that never ends (the same continuation token forever, or
#    fresh tokens forever) is an error for that listing, and SIGTERM ends
#    it at once;
#  - a GET answered 200 with fewer or more bytes than listed fails the
#    upload (retried), never rejects it: once the server behaves, the store
#    equals a clean run's;
#  - `serve --drain-seconds 2` against an endpoint that accepts requests
#    and never answers exits soon after the drain period, abandoning the
#    request in flight; the upload is retried by the next run.
source "$AKOSHA_SRC/tests/integration/lib.sh"

akosha generate --out bucket --systems 2 --uploads 2 --conversations 30 >/dev/null
akosha ingest --once --bucket bucket --data clean --json >/dev/null
want=$(store_digest clean)

echo ok > mode
python3 "$AKOSHA_SRC/tests/integration/s3/hostile_s3.py" bucket port mode &
peer=$!
pid=
trap 'kill $peer $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.1; done
[ -s port ] || fail "the hostile S3 peer did not start"
export AKOSHA_S3_ENDPOINT=http://127.0.0.1:$(cat port)
export AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s AWS_REGION=us-east-1
export AKOSHA_S3_ATTEMPTS=3 AKOSHA_S3_RETRY_BASE_MS=10
requests() { wc -l < requests.log; }

# behaving, the peer gives the clean store
expect_stdout 0 akosha ingest --once --bucket s3://akosha --data sane --json
assert_eq "$(store_digest sane)" "$want" "store from the behaving peer"

# ---- item 2: listings that never end ------------------------------------
echo same-token > mode; : > requests.log
expect_stdout 1 akosha ingest --once --bucket s3://akosha --data d --json
assert_contains "$errout" "never ends: page 2 gave back the continuation token it was asked with" \
  "a repeated token"
# two pages for the systems' listing, two for each system's (workers list
# the systems of the first page while the second is asked for)
[ "$(requests)" -le 6 ] || fail "$(requests) requests for a repeated token"
echo fresh-tokens > mode; : > requests.log
AKOSHA_STORE_LIST_MAX_PAGES=25 expect_stdout 1 akosha ingest --once --bucket s3://akosha --data d --json
assert_contains "$errout" "never ends: more than 25 pages" "endless fresh tokens"
[ "$(requests)" -le 75 ] || fail "$(requests) requests for endless fresh tokens"
# with no page bound to speak of, SIGTERM ends the listing
: > requests.log
AKOSHA_STORE_LIST_MAX_PAGES=1000000000 "$AKOSHA_BIN" ingest --once --bucket s3://akosha \
  --data d --json >/dev/null 2>term.err &
pid=$!
for _ in $(seq 1 300); do [ "$(requests)" -ge 20 ] && break; sleep 0.1; done
[ "$(requests)" -ge 20 ] || fail "the endless listing did not start"
kill -TERM $pid
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then fail "SIGTERM did not end an endless listing within 10 s"; fi
set +e; wait $pid; rc=$?; set -e; pid=
assert_eq "$rc" 0 "exit status of ingest --once stopped by SIGTERM in an endless listing"

# ---- item 3: a 200 with the wrong number of bytes ------------------------
for lie in short-get long-get; do
  echo $lie > mode
  expect_stdout 0 akosha ingest --once --bucket s3://akosha --data "d-$lie" --json
  assert_eq "$(echo "$out" | jq_py 'd["uploads_ingested"], d["uploads_rejected"], d["uploads_failed"]')" \
    "0 0 4" "a $lie fails every upload and rejects none"
  assert_contains "$errout" "bytes listed for it" "the $lie named"
  echo ok > mode
  expect_stdout 0 akosha ingest --once --bucket s3://akosha --data "d-$lie" --json --retry-base-seconds 0
  assert_eq "$(store_digest "d-$lie")" "$want" "store once the peer stops lying ($lie)"
done

# ---- item 4: shutdown while a request hangs ------------------------------
echo hang > mode; : > requests.log
PORT=$(free_port)
"$AKOSHA_BIN" serve --listen 127.0.0.1:$PORT --data hung --bucket s3://akosha --drain-seconds 2 \
  --poll-interval 3600 >serve.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ "$(requests)" -ge 1 ] && break; sleep 0.1; done
[ "$(requests)" -ge 1 ] || fail "serve sent no request to the peer"
start=$(date +%s%N)
kill -TERM $pid
for _ in $(seq 1 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then fail "serve still running 30 s after SIGTERM with a hung request"; fi
set +e; wait $pid; rc=$?; set -e; pid=
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "$rc" 0 "serve's exit status"
[ "$ms" -lt 5000 ] || fail "serve took $ms ms to stop with --drain-seconds 2"
grep -q "drain period over: abandoning work in flight" serve.log || fail "no abandon: $(cat serve.log)"
echo ok > mode
expect_stdout 0 akosha ingest --once --bucket s3://akosha --data hung --json --retry-base-seconds 0
assert_eq "$(store_digest hung)" "$want" "store after the abandoned cycle and a rerun"
echo "serve stopped ${ms} ms after SIGTERM (drain 2 s) with a request hanging"
