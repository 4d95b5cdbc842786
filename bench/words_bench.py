#!/usr/bin/env python3
"""words_bench.py - searching by words (issue 13), docs/BENCHMARKS.md.

1. The latency a `query` (words: embedded, then vector + BM25 + fusion) adds
   over a `text` query (BM25), leaving out the provider's own time: the
   words' vector comes from the query cache (bench_words.c).  Over a data
   directory of WORDS_SYSTEMS x WORDS_CONVS generated conversations.
2. Backfill throughput: WORDS_BACKFILL memories ingested without vectors,
   then `akosha embed --missing` against the test provider
   (tests/integration/embed/provider.py, a single Python process: it, not
   Akosha, is the bottleneck; the figure is a floor).
"""
import json, os, shutil, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work", "words")
AKOSHA = os.environ["AKOSHA_BIN"]
BENCH = os.path.join(os.path.dirname(AKOSHA), "bench", "bench_words")
SYSTEMS = int(os.environ.get("WORDS_SYSTEMS", "100"))
CONVS = int(os.environ.get("WORDS_CONVS", "1000"))
BACKFILL = int(os.environ.get("WORDS_BACKFILL", "5000"))


def run(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


def start_provider():
    port_file = os.path.join(WORK, "provider.port")
    if os.path.exists(port_file):
        os.remove(port_file)
    p = subprocess.Popen([sys.executable, os.path.join(SRC, "tests/integration/embed/provider.py"),
                          "--port-file", port_file])
    for _ in range(200):
        if os.path.exists(port_file):
            return p, f"http://127.0.0.1:{open(port_file).read()}/v1"
        time.sleep(0.05)
    raise SystemExit("words_bench: the provider did not start")


def latency(url):
    data = os.path.join(WORK, f"data-{SYSTEMS}x{CONVS}")
    if not os.path.isdir(data):
        bucket = os.path.join(WORK, "bucket")
        shutil.rmtree(bucket, ignore_errors=True)
        run(AKOSHA, "generate", "--out", bucket, "--systems", str(SYSTEMS), "--uploads", "1",
            "--conversations", str(CONVS))
        run(AKOSHA, "ingest", "--once", "--bucket", bucket, "--data", data + ".tmp", "--json")
        os.rename(data + ".tmp", data)
    for ann in ("", "ann"):
        r = json.loads(run(BENCH, data, url, "300", *([ann] if ann else [])))
        how = "the vector index as serve uses it" if r["ann"] else "every vector scanned exactly"
        print(f"\nwords vs keywords: {r['vectors']} conversations, {r['queries']} queries each, "
              f"{how} (modes {r['words_mode']} / {r['text_mode']})")
        print(f"  text  (BM25)                        p50 {r['text_p50_ms']:7.3f} ms   p90 {r['text_p90_ms']:7.3f} ms")
        print(f"  query (cached vector, hybrid)       p50 {r['words_p50_ms']:7.3f} ms   p90 {r['words_p90_ms']:7.3f} ms")
        print(f"  vector part alone                   p50 {r['vector_p50_ms']:7.3f} ms")
        print(f"  added by query (median of pairs)        {r['added_median_ms']:7.3f} ms")
        print(f"  query cache lookup                      {r['cache_lookup_us']:7.2f} us")
        print(f"  the provider's uncached round trip      {r['provider_uncached_ms']:7.3f} ms (not included)")

def backfill(url):
    bucket, data = os.path.join(WORK, "bf-bucket"), os.path.join(WORK, "bf-data")
    shutil.rmtree(bucket, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    words = "database slow vacuum fix rebase branch merge tls certificate test parser index".split()
    recs = [{"id": f"m{i}", "timestamp": "2026-11-01T10:00:00Z",
             "content": " ".join(words[(i * 7 + k) % len(words)] for k in range(12)) + f" note {i}"}
            for i in range(BACKFILL)]
    path = os.path.join(WORK, "bf-records.json")
    json.dump(recs, open(path, "w"))
    per = BACKFILL // 4
    for s in range(4):
        chunk = os.path.join(WORK, f"bf-{s}.json")
        json.dump(recs[s * per:(s + 1) * per], open(chunk, "w"))
        run(sys.executable, os.path.join(SRC, "tests/integration/mkupload.py"), bucket, f"bf{s}", "u1",
            "--records", "@" + chunk)
    run(AKOSHA, "ingest", "--once", "--bucket", bucket, "--data", data, "--json")
    print(f"\nbackfill: {per * 4} memories without a vector in 4 systems, test provider (one Python process)")
    for batch, conc in ((1, 1), (32, 1), (32, 2)):
        for r, _, fs in os.walk(data):
            for f in fs:
                if f.endswith(".db"):
                    subprocess.run(["sqlite3", os.path.join(r, f), "UPDATE hot SET embedding = NULL"],
                                   check=True)
        out = json.loads(run(AKOSHA, "embed", "--data", data, "--missing", "--embed-url", url,
                             "--embed-timeout-ms", "60000", "--batch", str(batch), "--concurrency", str(conc), "--json"))
        rate = out["embedded"] / out["seconds"] if out["seconds"] else 0
        print(f"  batch {batch:2d}, {conc} system(s) at once   {out['embedded']:6d} embedded in "
              f"{out['seconds']:6.2f} s = {rate:7.0f} embeddings/s")


def main():
    os.makedirs(WORK, exist_ok=True)
    prov, url = start_provider()
    try:
        latency(url)
        backfill(url)
    finally:
        prov.kill()


if __name__ == "__main__":
    main()
