# The MCP server, driven by the official TypeScript SDK client (npm
# @modelcontextprotocol/sdk, installed here): over stdio (`akosha mcp`) and
# over streamable HTTP (`akosha serve` at /mcp, behind the bearer token).
source "$AKOSHA_SRC/tests/integration/lib.sh"

npm_deps "$AKOSHA_SRC/tests/integration/mcp"
python3 "$AKOSHA_SRC/tests/integration/embed/provider.py" --port-file provider.port > provider.log 2>&1 &
PROVIDER_PID=$!
trap 'kill -9 $PROVIDER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -f provider.port ] && break; sleep 0.1; done
EMBED_URL="http://127.0.0.1:$(cat provider.port)/v1"
akosha generate --out bucket --systems 4 --uploads 2 --conversations 400 --growth 20 >/dev/null
mkupload bucket bad u1 --count 2 --checksum wrong
akosha ingest --once --bucket bucket --data data --json >/dev/null

node "$AKOSHA_SRC/tests/integration/mcp/client.mjs" stdio "$AKOSHA_BIN" data "$EMBED_URL" > stdio.log 2>&1 ||
  { cat stdio.log; fail "MCP over stdio"; }
grep -q "ok: all" stdio.log || fail "stdio client did not finish"

TOKEN=mcp-token-0123456789abcdef
start_serve --data data --tokens $TOKEN --poll-interval 3600 --embed-url "$EMBED_URL"
trap 'kill -9 $SERVE_PID $PROVIDER_PID 2>/dev/null || true' EXIT
wait_ready
node "$AKOSHA_SRC/tests/integration/mcp/client.mjs" http "http://127.0.0.1:$PORT/mcp" $TOKEN > http.log 2>&1 ||
  { cat http.log; fail "MCP over HTTP"; }
grep -q "ok: all" http.log || fail "HTTP client did not finish"

# the transport's own rules
http POST /mcp '{"jsonrpc":"2.0","id":1,"method":"ping"}'
assert_eq "$status" 401 "no token"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -H 'Mcp-Session-Id: 00000000000000000000000000000000' --data '{"jsonrpc":"2.0","id":1,"method":"ping"}' \
  "http://127.0.0.1:$PORT/mcp")
assert_eq "$code" 404 "unknown session"
http POST /mcp '{"jsonrpc":"2.0","id":1,"method":"ping"}' $TOKEN
assert_eq "$status" 400 "no session"
http GET /mcp "" $TOKEN
assert_eq "$status" 405 "no SSE stream"
stop_serve
assert_eq "$serve_rc" 0 "serve exit"

# sessions are bounded per token (issue 20): a token opening 1,024 sessions
# used to evict every other client's; now it only replaces its own oldest,
# and a session answers only to the token that opened it
OTHER=mcp-other-0123456789abcdef
start_serve --data data --tokens "$TOKEN,$OTHER" --poll-interval 3600 --rate-limit 0
wait_ready
python3 - "$PORT" "$TOKEN" "$OTHER" <<'PY' || fail "MCP sessions per token"
import http.client, json, sys
port, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conn = http.client.HTTPConnection("127.0.0.1", port)
def post(token, body, session=None):
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
         "Accept": "application/json, text/event-stream"}
    if session:
        h["Mcp-Session-Id"] = session
    conn.request("POST", "/mcp", json.dumps(body), h)
    r = conn.getresponse(); r.read()
    return r.status, r.getheader("Mcp-Session-Id")
init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}}
ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
_, mine = post(a, init)
theirs = [post(b, init)[1] for _ in range(1024)]
checks = {
    "the other client's session survives 1,024 of another token's": post(a, ping, mine)[0] == 200,
    "the flooding token's first session was replaced by its own": post(b, ping, theirs[0])[0] == 404,
    "the flooding token's 64 newest remain": all(post(b, ping, s)[0] == 200 for s in theirs[-64:]),
    "its 65th newest is gone": post(b, ping, theirs[-65])[0] == 404,
    "a session answers only to its token": post(b, ping, mine)[0] == 404,
}
bad = [k for k, ok in checks.items() if not ok]
print("\n".join("FAIL: " + k for k in bad) or "sessions: ok")
sys.exit(1 if bad else 0)
PY
stop_serve
kill $PROVIDER_PID
