#!/usr/bin/env python3
"""ingest_bench.py - measure ingestion: Akosha vs DuckDB on the same payloads.

Generates (once, cached in bench/work/) a bucket of 100 systems x 1000
conversations with 384-d embeddings as plain JSONL, ingests it with
`akosha ingest --once`, loads the same files into DuckDB with read_json, and
prints conversations/s, payload MB/s, peak RSS, bytes on disk per
conversation and the ratio to DuckDB.  Also ingests the same conversations
zstd-compressed, to show what decompression costs.
"""
import json, os, shutil, subprocess, sys, time

AKOSHA = os.environ["AKOSHA_BIN"]
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
SYSTEMS, CONVS = int(os.environ.get("BENCH_SYSTEMS", 100)), int(os.environ.get("BENCH_CONVS", 1000))


def run_json(args):
    """Run a command that prints JSON; return it parsed."""
    return json.loads(subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout)


def bucket(name, compression):
    path = os.path.join(WORK, name)
    stamp = os.path.join(path, ".params")
    params = f"{SYSTEMS} {CONVS} {compression}"
    if os.path.exists(stamp) and open(stamp).read() == params:
        return path, json.load(open(os.path.join(path, ".summary")))
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.perf_counter()
    summary = run_json([AKOSHA, "generate", "--out", path, "--systems", str(SYSTEMS),
                              "--uploads", "1", "--conversations", str(CONVS), "--format", "jsonl",
                              "--compression", compression, "--json"])
    print(f"  generated {name}: {summary['records']} records, "
          f"{summary['payload_bytes'] / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s", flush=True)
    json.dump(summary, open(os.path.join(path, ".summary"), "w"))
    open(stamp, "w").write(params)
    return path, summary


def du(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


REPEAT = int(os.environ.get("BENCH_REPEAT", 3))


def ingest(name, bucket_path, summary, concurrency):
    """The median of REPEAT runs: this machine's disk varies several-fold
    from one second to the next, and one run says little."""
    runs = sorted((ingest_once(name, bucket_path, summary, concurrency) for _ in range(REPEAT)),
                  key=lambda r: r["seconds"])
    return runs[len(runs) // 2]


def ingest_once(name, bucket_path, summary, concurrency):
    data = os.path.join(WORK, f"data-{name}-{concurrency}")
    shutil.rmtree(data, ignore_errors=True)
    # measure in a child interpreter so ru_maxrss is this run's alone
    probe = ("import json,resource,subprocess,sys,time;t=time.perf_counter();"
             "o=subprocess.run(sys.argv[1:],check=True,stdout=subprocess.PIPE).stdout;"
             "print(json.dumps({'out':json.loads(o),'wall':time.perf_counter()-t,"
             "'rss_kib':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")
    res = run_json([sys.executable, "-c", probe, AKOSHA, "ingest", "--once", "--quiet",
                          "--bucket", bucket_path, "--data", data, "--json",
                          "--concurrency", str(concurrency)])
    out = res["out"]
    assert out["conversations_ingested"] == summary["expect_new"], out
    convs = out["conversations_ingested"]
    secs = out["seconds"]
    disk = du(data)
    row = {"run": f"akosha {name} c={concurrency} (median)", "conversations": convs, "seconds": secs,
           "conv_per_s": convs / secs, "payload_mb_per_s": summary["payload_bytes"] / 1e6 / secs,
           "peak_rss_mib": res["rss_kib"] / 1024, "disk_bytes_per_conv": disk / convs}
    shutil.rmtree(data, ignore_errors=True)
    return row


def duckdb(bucket_path, summary, to_file):
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@duckdb", "node-api")):
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    glob = os.path.join(bucket_path, "systems", "**", "*.jsonl")
    runs = []
    for _ in range(2):  # best of two, as the files may not all be in the page cache
        db = os.path.join(WORK, "duckdb-bench.db")
        for f in (db, db + ".wal"):
            if os.path.exists(f):
                os.remove(f)
        args = ["node", os.path.join(HERE, "duckdb_load.mjs"), glob, str(summary["records"])]
        runs.append(run_json(args + ([db] if to_file else [])))
    res = min(runs, key=lambda r: r["seconds"])
    where = "to a file" if to_file else "in memory"
    return {"run": f"duckdb read_json {where} ({res['threads']} thr)", "conversations": res["rows"],
            "seconds": res["seconds"], "conv_per_s": res["rows"] / res["seconds"],
            "payload_mb_per_s": summary["payload_bytes"] / 1e6 / res["seconds"]}


def parse_only(bucket_path, summary):
    files = [os.path.join(d, f) for d, _, fs in os.walk(bucket_path) for f in fs if f.endswith(".jsonl")]
    res = run_json([os.path.join(os.path.dirname(AKOSHA), "bench", "bench_parse")] + sorted(files))
    return {"run": "parse only, no storage (1 thread)", "conversations": res["records"],
            "seconds": res["seconds"], "conv_per_s": res["records_per_s"],
            "payload_mb_per_s": res["mb_per_s"]}


def main():
    os.makedirs(WORK, exist_ok=True)
    print(f"ingestion benchmark: {SYSTEMS} systems x {CONVS} conversations, 384-d embeddings "
          f"({os.cpu_count()} cores)", flush=True)
    plain, s_plain = bucket("bucket-jsonl", "none")
    zst, s_zst = bucket("bucket-jsonl-zstd", "zstd")
    rows = [ingest("jsonl", plain, s_plain, c) for c in (1, 2, 4, 8)]
    rows.append(ingest("jsonl.zst", zst, s_zst, 4))
    rows.append(parse_only(plain, s_plain))
    rows.append(duckdb(plain, s_plain, to_file=False))
    rows.append(duckdb(plain, s_plain, to_file=True))
    print(f"\n  {'run':34} {'convs':>8} {'s':>7} {'conv/s':>9} {'MB/s':>7} {'RSS MiB':>8} {'disk B/conv':>12}")
    for r in rows:
        print(f"  {r['run']:34} {r['conversations']:8d} {r['seconds']:7.2f} {r['conv_per_s']:9.0f} "
              f"{r['payload_mb_per_s']:7.1f} {r.get('peak_rss_mib', float('nan')):8.1f} "
              f"{r.get('disk_bytes_per_conv', float('nan')):12.0f}")
    best = max(r["conv_per_s"] for r in rows if r["run"].startswith("akosha jsonl c"))
    print(f"\n  akosha (best plain run) / duckdb bulk load in memory: {best / rows[-2]['conv_per_s']:.2f}x,"
          f" to a file: {best / rows[-1]['conv_per_s']:.2f}x")
    print(f"  payload: {s_plain['payload_bytes'] / s_plain['records']:.0f} bytes of JSON per conversation")


if __name__ == "__main__":
    main()
