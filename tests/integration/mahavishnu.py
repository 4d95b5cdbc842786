#!/usr/bin/env python3
"""mahavishnu.py - a stand-in for Mahavishnu, the workflow scheduler.

Answers JSON-RPC 2.0 `tools/call` with `workflow-trigger` like the real one
and then, as the real one would run the workflow, calls Akosha back with
POST /v1/ingest.  Every call is appended to a log file, one JSON per line.

  mahavishnu.py PORT AKOSHA_URL TOKEN LOGFILE
"""
import http.server, json, sys, threading, urllib.request

PORT, AKOSHA, TOKEN, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def call_back():
    req = urllib.request.Request(AKOSHA + "/v1/ingest", data=b"", method="POST",
                                 headers={"Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            status = r.status
    except Exception as e:  # noqa: BLE001 - logged for the test to read
        status = str(e)
    with open(LOG, "a") as f:
        f.write(json.dumps({"callback": status}) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ok = (body.get("jsonrpc") == "2.0" and body.get("method") == "tools/call"
              and body["params"]["name"] == "workflow-trigger"
              and body["params"]["arguments"]["workflow"] == "akosha-daily-ingest")
        with open(LOG, "a") as f:
            f.write(json.dumps({"call": body}) + "\n")
        reply = ({"jsonrpc": "2.0", "id": body.get("id"),
                  "result": {"content": [{"type": "text", "text": "workflow started"}]}}
                 if ok else
                 {"jsonrpc": "2.0", "id": body.get("id"), "error": {"code": -32602, "message": "bad call"}})
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if ok:
            threading.Thread(target=call_back, daemon=True).start()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
