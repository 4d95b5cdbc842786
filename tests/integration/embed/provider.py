#!/usr/bin/env python3
"""provider.py - an embedding provider for the tests, speaking both protocols
Session-Buddy uses: OpenAI-compatible POST /v1/embeddings and Ollama
POST /api/embed.

Vectors are deterministic and meaningful enough to test search by meaning:
each word maps to a concept (a small synonym table: "postgresql" and
"database" are both "db"; "sluggish" and "slow" are both "slow"), each
concept to a fixed pseudo-random unit vector, and a text to the normalized
sum of its concepts' vectors.  Texts sharing concepts are near even when
they share no word.

A mode makes it fail on purpose: ok, 500, slow (answers after 30 s), dim
(768 numbers), nan (a NaN literal), inf (1e999), malformed (cut JSON),
zero (all zeros), count (one vector too few), fail_word (HTTP 400 for any
text containing "poison", like a provider refusing one input).  Set with
--mode or POST /control {"mode": ...}.  GET /stats tells how many requests
and texts came and the last Authorization header.

  provider.py --port-file FILE [--mode MODE]
"""
import argparse, functools, hashlib, json, math, random, re, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIM = 384
CONCEPTS = {
    "db": "database databases postgresql postgres sqlite mysql duckdb",
    "slow": "slow slowly sluggish latency lag laggy sluggishness",
    "vacuum": "vacuum autovacuum cleanup clean purge compaction",
    "fix": "fix fixed repaired repair resolved solve solved",
    "git": "git rebase rebasing branch merge commit",
    "tls": "tls ssl certificate certificates https",
    "test": "test tests testing unit pytest",
}
WORD_CONCEPT = {w: c for c, ws in CONCEPTS.items() for w in ws.split()}
STOP = set("a an the of to in on for and or we did how was it is by with".split())

STATE = {"mode": "ok", "requests": 0, "texts": 0, "auth": None}
LOCK = threading.Lock()


@functools.lru_cache(maxsize=4096)
def concept_vector(concept):
    rnd = random.Random(hashlib.sha256(concept.encode()).digest())
    return tuple(rnd.gauss(0, 1) for _ in range(DIM))


def embed(text):
    acc = [0.0] * DIM
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP]
    for w in words or ["empty"]:
        v = concept_vector(WORD_CONCEPT.get(w, w))
        acc = [a + b for a, b in zip(acc, v)]
    n = math.sqrt(sum(x * x for x in acc)) or 1.0
    return [x / n for x in acc]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer

    def reply(self, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                return self.reply(200, {k: STATE[k] for k in ("mode", "requests", "texts", "auth")})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/control":
            with LOCK:
                STATE["mode"] = json.loads(body)["mode"]
            return self.reply(200, {"ok": True})
        if self.path not in ("/v1/embeddings", "/api/embed"):
            return self.reply(404, {"error": "not found"})
        req = json.loads(body)
        texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
        with LOCK:
            STATE["requests"] += 1
            STATE["texts"] += len(texts)
            STATE["auth"] = self.headers.get("Authorization")
            mode = STATE["mode"]
        if mode == "500":
            return self.reply(500, {"error": "the model crashed"})
        if mode == "slow":
            time.sleep(30)
        if mode == "fail_word" and any("poison" in t for t in texts):
            return self.reply(400, {"error": "input rejected"})
        vecs = [embed(t) for t in texts]
        if mode == "dim":
            vecs = [v + v for v in vecs]
        elif mode == "zero":
            vecs = [[0.0] * DIM for _ in vecs]
        elif mode == "count":
            vecs = vecs[:-1]
        if self.path == "/api/embed":
            out = {"model": req.get("model"), "embeddings": vecs}
        else:
            out = {"object": "list", "model": req.get("model", "test"),
                   "data": [{"object": "embedding", "index": i, "embedding": v}
                            for i, v in enumerate(vecs)]}
        data = json.dumps(out).encode()
        if mode in ("nan", "inf"):  # NaN is not JSON; 1e999 is, and overflows
            data = data.replace(repr(vecs[0][0]).encode(), b"NaN" if mode == "nan" else b"1e999", 1)
        elif mode == "malformed":
            data = data[: len(data) // 2]
        self.reply(200, data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", default="ok")
    a = ap.parse_args()
    STATE["mode"] = a.mode
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
