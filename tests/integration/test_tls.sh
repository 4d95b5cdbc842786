# HTTPS (issue 20 item 9): `akosha serve --tls-cert/--tls-key` (or
# AKOSHA_TLS_CERT/AKOSHA_TLS_KEY) with a certificate made here by openssl,
# checked by a client that verifies it (curl --cacert); refusal of tokens
# over plain HTTP beyond loopback unless --allow-plain-http; refusal of a
# certificate or key that does not load, naming the file.
source "$AKOSHA_SRC/tests/integration/lib.sh"

TOKEN=tls-token-0123456789abcdef
mkcert() { # name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$1.key" -out "$1.crt" 2>/dev/null || fail "openssl could not make $1"
}
mkcert server
mkcert other

# start_tls ARGS...: serve on loopback; waits until HTTPS answers
start_tls() {
  PORT=$(free_port)
  "$AKOSHA_BIN" serve --data data --listen 127.0.0.1:$PORT "$@" > serve.log 2>&1 &
  SERVE_PID=$!
  trap 'kill -9 $SERVE_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --cacert server.crt "https://127.0.0.1:$PORT/ready" && return 0
    kill -0 $SERVE_PID 2>/dev/null || { cat serve.log; fail "serve exited at start"; }
    sleep 0.1
  done
  fail "serve did not start over HTTPS"
}

# --- HTTPS that a verifying client accepts --------------------------------
start_tls --tokens "$TOKEN" --tls-cert server.crt --tls-key server.key
assert_eq "$(curl -s --cacert server.crt "https://127.0.0.1:$PORT/ready")" '{"ready":true}' "ready over HTTPS"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert server.crt \
  -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$PORT/v1/systems")
assert_eq "$code" 200 "a token over HTTPS"
set +e
curl -s -o /dev/null --cacert other.crt "https://127.0.0.1:$PORT/ready"; wrong_ca=$?
curl -s -o /dev/null "http://127.0.0.1:$PORT/ready"; plain=$?
set -e
assert_eq "$wrong_ca" 60 "a client trusting another certificate refuses the server"
[ "$plain" -ne 0 ] || fail "plain HTTP answered on the HTTPS port"
grep -q '(port [0-9]*, HTTPS)' serve.log || fail "the log does not say HTTPS"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"

# ... and from the environment, as the systemd unit sets it
AKOSHA_TLS_CERT=$PWD/server.crt AKOSHA_TLS_KEY=$PWD/server.key start_tls --tokens "$TOKEN"
stop_serve

# --- what does not load is refused, naming the file -----------------------
echo "not a certificate" > junk.pem
port=$(free_port)
expect_exit 1 timeout 20 "$AKOSHA_BIN" serve --data data --listen 127.0.0.1:$port --tls-cert server.crt
assert_contains "$out" "--tls-cert and --tls-key go together" "cert without key"
expect_exit 1 timeout 20 "$AKOSHA_BIN" serve --data data --listen 127.0.0.1:$port --tls-cert junk.pem --tls-key server.key
assert_contains "$out" "junk.pem: not a PEM certificate" "junk certificate"
expect_exit 1 timeout 20 "$AKOSHA_BIN" serve --data data --listen 127.0.0.1:$port --tls-cert server.crt --tls-key junk.pem
assert_contains "$out" "junk.pem: not a PEM private key" "junk key"
expect_exit 1 timeout 20 "$AKOSHA_BIN" serve --data data --listen 127.0.0.1:$port --tls-cert server.crt --tls-key other.key
assert_contains "$out" "other.key does not match the certificate" "a key of another certificate"
expect_exit 1 timeout 20 "$AKOSHA_BIN" serve --data data --listen 127.0.0.1:$port --tls-cert nosuch.crt --tls-key server.key
assert_contains "$out" "nosuch.crt: No such file" "missing certificate"

# --- tokens beyond loopback: TLS, or an explicit --allow-plain-http -------
# (timeout: a daemon that wrongly starts is stopped, and the test fails)
expect_exit 1 timeout 20 "$AKOSHA_BIN" serve --data data --listen 0.0.0.0:$port --tokens "$TOKEN"
assert_contains "$out" "over plain HTTP" "tokens over plain HTTP beyond loopback"
assert_contains "$out" "--allow-plain-http" "the refusal names the way out"
for extra in "--allow-plain-http" "--tls-cert server.crt --tls-key server.key"; do
  # a port free on every address (free_port checks loopback only)
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])')
  # shellcheck disable=SC2086
  "$AKOSHA_BIN" serve --data data --listen 0.0.0.0:$PORT --tokens "$TOKEN" $extra > serve.log 2>&1 &
  SERVE_PID=$!
  trap 'kill -9 $SERVE_PID 2>/dev/null || true' EXIT
  scheme=http; [[ "$extra" == *tls* ]] && scheme=https
  up=0
  for _ in $(seq 1 100); do   # probed on loopback only
    curl -s -o /dev/null --cacert server.crt "$scheme://127.0.0.1:$PORT/ready" && { up=1; break; }
    kill -0 $SERVE_PID 2>/dev/null || break
    sleep 0.1
  done
  [ $up = 1 ] || { cat serve.log; fail "serve beyond loopback with $extra"; }
  stop_serve
  assert_eq "$serve_rc" 0 "serve exit ($extra)"
done
