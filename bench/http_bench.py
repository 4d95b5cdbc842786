#!/usr/bin/env python3
"""http_bench.py - HTTP search latency and throughput of `akosha serve`.

Serves the data set search_bench.py built for BENCH_HTTP_SIZE vectors
(default 100,000: bench/work/search-100000-hot; BENCH_HTTP_SET=clustered:
search-N-clustered, the set BENCH_SEARCH_VECTORS=clustered builds), waits until the vector
index has linked every vector (akosha_vindex_unindexed_vectors 0), then
drives POST /v1/search with wrk at several connection counts: vector top-10
over all shards through the index, the same with "exact": true (every
vector scanned), and a selective text query (two rare words; every
system's full-text index is still consulted, which is what a text query
costs).  Prints the served search's recall@10 against "exact": true over
the set's queries, then requests/s and latency percentiles.
"""
import json, os, re, signal, socket, subprocess, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
AKOSHA = os.environ["AKOSHA_BIN"]
SIZE = int(os.environ.get("BENCH_HTTP_SIZE", 100000))
SET = os.environ.get("BENCH_HTTP_SET", "hot")
DATA = os.path.join(HERE, "work", f"search-{SIZE}-{SET}")
QUERIES = os.path.join(HERE, "work", f"vectors-{SIZE}{'' if SET == 'hot' else '-' + SET}.jsonl.queries")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]


def wrk(url, body_file, conns, seconds=8):
    env = dict(os.environ, SEARCH_BODY_FILE=body_file)
    out = subprocess.run(["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{seconds}s", "--latency", "-s",
                          os.path.join(HERE, "search.lua"), url], env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, lat


def unindexed(url):
    """akosha_vindex_unindexed_vectors, or None before the index is up."""
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    m = re.search(r"^akosha_vindex_unindexed_vectors (\d+)", text, re.M)
    return int(m.group(1)) if m else None


def top10(url, body):
    req = urllib.request.Request(url + "/v1/search", data=json.dumps(body).encode())
    hits = json.loads(urllib.request.urlopen(req, timeout=60).read())["results"]
    return [(h["system_id"], h["conversation_id"]) for h in hits]


def recall(url):
    """Mean share of the exact top 10 the indexed search returns, over the set's queries."""
    shares = []
    for line in open(QUERIES):
        vec = json.loads(line)
        exact = top10(url, {"vector": vec, "limit": 10, "exact": True})
        got = set(top10(url, {"vector": vec, "limit": 10}))
        shares.append(len(got.intersection(exact)) / len(exact))
    return sum(shares) / len(shares)


def main():
    if not os.path.isdir(DATA):
        print(f"  (no {DATA}: run search_bench.py with BENCH_SEARCH_SIZES={SIZE} first)")
        return
    port = free_port()
    env = dict(os.environ, AKOSHA_LOG_LEVEL="warn")
    srv = subprocess.Popen([AKOSHA, "serve", "--data", DATA, "--listen", f"127.0.0.1:{port}",
                            "--rate-limit", "0"], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if urllib.request.urlopen(url + "/ready", timeout=1).status == 200:
                    break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        t0 = time.time()
        while unindexed(url) != 0:
            if time.time() - t0 > 3600:
                raise SystemExit("the vector index did not complete within an hour")
            time.sleep(1)
        vec = json.loads(open(QUERIES).readline().strip())
        bodies = {"vector top-10": {"vector": vec, "limit": 10},
                  "vector, exact": {"vector": vec, "limit": 10, "exact": True},
                  "text top-10": {"text": "4242 31337", "limit": 10}}
        print(f"\nHTTP search over {SIZE:,} vectors, 1,000 systems, 256 shards (wrk, 2 threads;"
              f" index complete {time.time() - t0:.0f} s after /ready)")
        print(f"  recall@10 of the indexed search against exact: {recall(url):.4f}")
        print(f"  {'query':15} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
        for name, body in bodies.items():
            path = os.path.join(HERE, "work", "body.json")
            json.dump(body, open(path, "w"))
            urllib.request.urlopen(urllib.request.Request(url + "/v1/search", data=json.dumps(body).encode()))
            for conns in (1, 4, 16):
                rps, lat = wrk(url + "/v1/search", path, conns)
                print(f"  {name:15} {conns:5d} {rps:8.0f} {lat['50']:8.2f} {lat['90']:8.2f} {lat['99']:8.2f}")
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=60)


if __name__ == "__main__":
    main()
