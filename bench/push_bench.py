#!/usr/bin/env python3
"""push_bench.py - Session-Buddy's HTTP push into `akosha serve` (issue 18).

4 concurrent clients, each one system (a host name), push batches of 100
memories (384-float embeddings as Python writes them, ~100 words of text)
with batch_store_memories to /mcp/mcp/v1, as Session-Buddy does.  Bodies
are built before the clock starts, so the figure is the server's: every
answer is durable (committed, indexed, staged in the outbox).  Run once
with a bucket (a local directory: the shipper copies each batch) and once
push-only.  Prints memories/s, p50/p99 batch latency, and the CPU seconds
the server spent (memories per CPU-second: what the machine gives when it
is not shared), after the vector index thread has caught up: in all, without
that thread (the answers' own path), and of that thread alone (linking the
vectors into the HNSW graph, which is done after the answer).

  PUSH_BATCHES (per client, default 60), PUSH_CLIENTS (4), PUSH_BATCH (100),
  PUSH_SERVE_ARGS (more arguments for `akosha serve`, e.g. "--http-threads 8")
"""
import http.client, json, os, random, shutil, signal, socket, subprocess, tempfile, threading
import time, urllib.request

AKOSHA = os.environ["AKOSHA_BIN"]
CLIENTS = int(os.environ.get("PUSH_CLIENTS", "4"))
BATCHES = int(os.environ.get("PUSH_BATCHES", "60"))
BATCH = int(os.environ.get("PUSH_BATCH", "100"))
WORDS = "memory search index shard bucket upload ledger vector query system".split()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def server_cpu(pid):
    """CPU seconds (utime + stime) of the whole server and of its vector
    index thread ("ak-vindex", which links every new vector into the HNSW
    graph after the answer: work of the push all the same)."""
    tick = os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    total = (int(st[11]) + int(st[12])) / tick
    graph = 0.0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/comm") as f:
                if f.read().strip() != "ak-vindex":
                    continue
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            graph += (int(st[11]) + int(st[12])) / tick
        except FileNotFoundError:
            pass
    return total, graph


def body(system, b):
    rng = random.Random(f"{system}-{b}")
    mems = []
    for i in range(BATCH):
        n = b * BATCH + i
        mems.append({
            "memory_id": f"{system}-{n}",
            "text": " ".join(rng.choice(WORDS) for _ in range(100)) + f" n{n}",
            "embedding": [rng.uniform(-1, 1) for _ in range(384)],
            "metadata": {"source": system, "original_id": f"{n}", "type": "conversation",
                         "category": "context", "importance_score": 0.5,
                         "memory_tier": "long_term", "namespace": "default",
                         "created_at": f"2026-11-{1 + n % 28:02d}T10:00:00",
                         "ingestion_method": "http_push"}})
    return json.dumps({"jsonrpc": "2.0", "id": f"{system}-{b}", "method": "tools/call",
                       "params": {"name": "batch_store_memories",
                                  "arguments": {"memories": mems}}}).encode()


def client(port, bodies, lat, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for b in bodies:
        t0 = time.perf_counter()
        conn.request("POST", "/mcp/mcp/v1", b, {"Content-Type": "application/json"})
        r = conn.getresponse()
        reply = json.loads(r.read())
        lat.append(time.perf_counter() - t0)
        res = reply.get("result", {})
        if r.status != 200 or res.get("status") != "completed" or res.get("new") != BATCH:
            errors.append(str(reply)[:200])


def run(label, with_bucket, bodies):
    work = tempfile.mkdtemp(prefix="akosha-push-bench.")
    port = free_port()
    args = [AKOSHA, "serve", "--data", os.path.join(work, "data"), "--listen",
            f"127.0.0.1:{port}", "--rate-limit", "0", "--poll-interval", "3600"]
    args += os.environ.get("PUSH_SERVE_ARGS", "").split()
    if with_bucket:
        os.makedirs(os.path.join(work, "bucket"))
        args += ["--bucket", os.path.join(work, "bucket")]
    srv = subprocess.Popen(args, env=dict(os.environ, AKOSHA_LOG_LEVEL="warn"))
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1).status == 200:
                    break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        lats = [[] for _ in range(CLIENTS)]
        errors = []
        th = [threading.Thread(target=client, args=(port, bodies[c], lats[c], errors))
              for c in range(CLIENTS)]
        t0 = time.perf_counter()
        for t in th:
            t.start()
        for t in th:
            t.join()
        secs = time.perf_counter() - t0
        _, graph = server_cpu(srv.pid)
        while True:  # the vector index thread catches up after the last answer
            time.sleep(2)
            total, graph_done = server_cpu(srv.pid)
            if graph_done - graph < 0.02:
                break
            graph = graph_done
        lat = sorted(x for l in lats for x in l)
        n = CLIENTS * BATCHES * BATCH
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3
        print(f"  {label:24} {n:>7} {n / secs:>10,.0f} {p(0.50):>8.1f} {p(0.99):>8.1f}"
              f" {total:>7.1f} {n / total:>10,.0f} {n / (total - graph_done):>10,.0f}"
              f" {n / graph_done if graph_done else 0:>10,.0f}"
              f"{'  ERRORS: ' + errors[0] if errors else ''}")
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    systems = [f"bench-host-{c}.local" for c in range(CLIENTS)]
    bodies = [[body(s, b) for b in range(BATCHES)] for s in systems]
    size = sum(len(b) for b in bodies[0]) / BATCHES
    print(f"\nHTTP push (Session-Buddy's batch_store_memories): {CLIENTS} clients x {BATCHES} "
          f"batches of {BATCH} memories, {size / 1e6:.2f} MB a batch")
    print(f"  {'':24} {'memories':>7} {'mem/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'cpu s':>7}"
          f" {'mem/cpu-s':>10} {'w/o graph':>10} {'graph':>10}")
    run("with a bucket (shipped)", True, bodies)
    run("push-only (no bucket)", False, bodies)


if __name__ == "__main__":
    main()
