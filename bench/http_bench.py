#!/usr/bin/env python3
"""http_bench.py - HTTP search latency and throughput of `akosha serve`.

Serves the 100,000-vector data set search_bench.py built (bench/work/
search-100000-hot), waits for the index, then drives POST /v1/search with
wrk at several connection counts: vector top-10 over all shards, and a
selective text query (two rare words; every system's full-text index is
still consulted, which is what a text query costs).  Prints requests/s and latency percentiles.
"""
import json, os, re, signal, socket, subprocess, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
AKOSHA = os.environ["AKOSHA_BIN"]
DATA = os.path.join(HERE, "work", "search-100000-hot")


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


def main():
    if not os.path.isdir(DATA):
        print("  (no bench/work/search-100000-hot: run search_bench.py first)")
        return
    port = free_port()
    env = dict(os.environ, AKOSHA_LOG_LEVEL="warn")
    srv = subprocess.Popen([AKOSHA, "serve", "--data", DATA, "--listen", f"127.0.0.1:{port}",
                            "--rate-limit", "0", "--http-threads", "8"], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if urllib.request.urlopen(url + "/ready", timeout=1).status == 200:
                    break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        qfile = os.path.join(HERE, "work", "vectors-100000.jsonl.queries")
        vec = open(qfile).readline().strip()
        bodies = {"vector top-10": {"vector": json.loads(vec), "limit": 10},
                  "text top-10": {"text": "4242 31337", "limit": 10}}
        print(f"\nHTTP search over 100,000 vectors, 1,000 systems, 256 shards (wrk, 2 threads)")
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
