#!/usr/bin/env python3
"""search_bench.py - search figures for `make bench`.

For each size (BENCH_SEARCH_SIZES, default "100000 1000000") and tier (hot:
float32 vectors; warm: int8 + scale; cold: the catalog's 4-bit code; mixed: a
third in each, also measured with cold left out), bench_search builds the data (once,
cached in bench/work/), loads the index and measures; DuckDB then runs the
predecessor's brute-force query over the same vectors.  Prints a table and
the ratios.
"""
import json, os, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
BENCH = os.path.join(os.path.dirname(os.environ["AKOSHA_BIN"]), "bench", "bench_search")
SIZES = [int(x) for x in os.environ.get("BENCH_SEARCH_SIZES", "100000 1000000").split()]


def run(args):
    return json.loads(subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout)


def duckdb(vectors):
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@duckdb", "node-api")):
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    return run(["node", os.path.join(HERE, "search_duckdb.mjs"), vectors, vectors + ".queries"])


def main():
    os.makedirs(WORK, exist_ok=True)
    print(f"\nsearch benchmark: top-10, 384-d, 1,000 systems over 256 shards ({os.cpu_count()} cores)", flush=True)
    rows, ddb = [], {}
    for n in SIZES:
        for tier in ("hot", "warm", "cold", "mixed"):
            vectors = os.path.join(WORK, f"vectors-{n}.jsonl")
            args = [BENCH, os.path.join(WORK, f"search-{n}-{tier}"), str(n), tier]
            if tier == "hot" and not os.path.exists(vectors + ".queries"):
                args.append(vectors)
            rows.append(run(args))
            print(f"  measured {n} {tier}", flush=True)
        ddb[n] = duckdb(os.path.join(WORK, f"vectors-{n}.jsonl"))
    print(f"\n  {'vectors':>9} {'tier':5} {'load s':>7} {'RSS MiB':>8} {'p50 ms':>7} {'p99 ms':>7}"
          f" {'1-sys p50':>9} {'qps 1c':>7} {'qps 4c':>7} {'recall@10':>9} {'floor ms':>8}")
    for r in rows:
        print(f"  {r['vectors']:9d} {r['tier']:5} {r['index_load_s']:7.2f} {r['rss_mib']:8.0f}"
              f" {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['one_system_p50_ms']:9.3f}"
              f" {r['qps_1_client']:7.0f} {r['qps_4_clients']:7.0f} {r['recall_at_10']:9.4f}"
              f" {r['scan_floor_ms']:8.2f}")
        if r["tier"] == "mixed":
            print(f"  {'':9} {'':5} the same queries without the cold tier: p50"
                  f" {r['p50_ms_without_cold']:.2f} ms ({r['cold_vectors']} of the vectors are cold)")
    print(f"  (floor: one pass over the int8 vectors at the measured {rows[0]['bandwidth_gbs']:.1f} GB/s;"
          f" kernels: {rows[0]['kernels']})")
    for n in SIZES:
        d = ddb[n]
        hot = next(r for r in rows if r["vectors"] == n and r["tier"] == "hot")
        print(f"\n  duckdb brute force over {n} vectors ({d['threads']} threads): p50 {d['p50_ms']:.1f} ms"
              f" -> akosha is {d['p50_ms'] / hot['p50_ms']:.1f}x faster at p50"
              f" (recall@10 {hot['recall_at_10']:.4f})")


if __name__ == "__main__":
    main()
