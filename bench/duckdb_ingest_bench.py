#!/usr/bin/env python3
"""duckdb_ingest_bench.py - Session-Buddy's DuckDB uploads beside JSON ones.

Builds (once, cached in bench/work/) two buckets of the same conversations,
laid out as Session-Buddy's cloud_sync.py uploads them (its manifest, under
systems/<host>/uploads/<uid>/): one with reflection.duckdb (a
conversations_v2 table, written by @duckdb/node-api through
tests/integration/mkduckdb.mjs), one with those rows exported as Akosha JSONL
records, both gzipped.  Each bucket also holds a second snapshot per system:
the whole database again with 3 edited and 5 new conversations.

Prints, for each form: conversations/s and peak RSS ingesting the first
snapshots into an empty data directory, then the cost of the second
snapshots (3 updated, 5 new, the rest duplicates).  The library loaded is
the one bench/package.json's @duckdb/node-api brings.
"""
import gzip, json, os, shutil, subprocess, sys, time

from ingest_bench import HERE, WORK, AKOSHA, run_json

SYSTEMS = int(os.environ.get("BENCH_DUCKDB_SYSTEMS", 20))
CONVS = int(os.environ.get("BENCH_DUCKDB_CONVS", 5000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
MODULES = os.path.join(HERE, "node_modules")
MKDUCKDB = os.path.join(HERE, "..", "tests", "integration", "mkduckdb.mjs")
LIB = os.path.join(MODULES, "@duckdb", "node-bindings-linux-x64", "libduckdb.so")


def host(i):
    return f"dev-{i:03d}.bench.example.com"


def manifest(sid, uid, name, stamp):
    return json.dumps({
        "upload_id": uid, "system_id": sid, "timestamp": stamp,
        "files": [{"name": name, "path": f"systems/{sid}/uploads/{uid}/{name}", "size_bytes": 0,
                   "compression": "gzip", "checksum": ""}],
        "metadata": {"uploader": "session-buddy", "version": "1.0.0"}}, indent=2)


def snapshot(n, edit, out):
    """One reflection.duckdb and its conversations as JSONL (gzipped)."""
    db, jsonl = out + ".duckdb", out + ".jsonl"
    for f in (db, jsonl):
        if os.path.exists(f):
            os.remove(f)
    subprocess.run(["node", MKDUCKDB, MODULES, db, "v2", str(n), "--null-every", "10",
                    "--reflections", "0", "--edit", str(edit), "--jsonl", jsonl], check=True)
    for f in (db, jsonl):
        with open(f, "rb") as src, gzip.open(f + ".gz", "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst)
    return db + ".gz", jsonl + ".gz"


def buckets():
    """work/sb-duckdb and work/sb-jsonl: the same uploads in both forms."""
    stamp_file = os.path.join(WORK, "sb-buckets.params")
    params = f"{SYSTEMS} {CONVS}"
    paths = {form: os.path.join(WORK, f"sb-{form}") for form in ("duckdb", "jsonl")}
    if os.path.exists(stamp_file) and open(stamp_file).read() == params:
        return paths
    if not os.path.isdir(os.path.join(MODULES, "@duckdb", "node-api")):
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    snaps = [snapshot(CONVS, 0, os.path.join(WORK, "sb-snap1")),
             snapshot(CONVS + 5, 3, os.path.join(WORK, "sb-snap2"))]
    now = time.time()
    for form, path in paths.items():
        shutil.rmtree(path, ignore_errors=True)
        name = "reflection.duckdb" if form == "duckdb" else "memories.jsonl"
        for i in range(SYSTEMS):
            sid = host(i)
            for k, snap in enumerate(snaps):
                t = time.gmtime(now - 3600 + 60 * k)
                uid = time.strftime("%Y%m%d_%H%M%S_", t) + sid
                d = os.path.join(path, "systems", sid, "uploads", uid)
                os.makedirs(d)
                shutil.copyfile(snap[0 if form == "duckdb" else 1], os.path.join(d, name))
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", t)
                with open(os.path.join(d, "manifest.json"), "w") as f:
                    f.write(manifest(sid, uid, name, stamp))
    open(stamp_file, "w").write(params)
    return paths


def staged(src, k):
    """A copy of bucket src holding only each system's first k snapshots (hard
    links: the local bucket never follows symbolic links)."""
    dst = src + f"-first{k}"
    if os.path.isdir(dst):
        return dst
    for sid in os.listdir(os.path.join(src, "systems")):
        ups = sorted(os.listdir(os.path.join(src, "systems", sid, "uploads")))[:k]
        for uid in ups:
            s_dir = os.path.join(src, "systems", sid, "uploads", uid)
            d_dir = os.path.join(dst, "systems", sid, "uploads", uid)
            os.makedirs(d_dir)
            for f in os.listdir(s_dir):
                os.link(os.path.join(s_dir, f), os.path.join(d_dir, f))
    return dst


def measure(bucket, data):
    """One `ingest --once`: its JSON summary, peak RSS in MiB of the akosha
    process itself (its VmHWM, read until it exits) and of the largest
    process of the run (akosha or one of DuckDB's reader children:
    getrusage's children maximum), and CPU s of all of them."""
    probe = ("import json,resource,subprocess,sys,time;"
             "p=subprocess.Popen(sys.argv[1:],stdout=subprocess.PIPE);hwm=0\n"
             "import threading\n"
             "def poll():\n"
             " global hwm\n"
             " while p.poll() is None:\n"
             "  try:\n"
             "   for l in open(f'/proc/{p.pid}/status'):\n"
             "    if l.startswith('VmHWM:'): hwm=max(hwm,int(l.split()[1]))\n"
             "  except OSError: pass\n"
             "  time.sleep(0.02)\n"
             "t=threading.Thread(target=poll);t.start();o=p.stdout.read();p.wait();t.join()\n"
             "assert p.returncode==0,p.returncode\n"
             "r=resource.getrusage(resource.RUSAGE_CHILDREN)\n"
             "print(json.dumps({'out':json.loads(o),'rss_kib':hwm,'max_kib':r.ru_maxrss,"
             "'cpu':r.ru_utime+r.ru_stime}))")
    env = dict(os.environ, AKOSHA_LIBDUCKDB=LIB)
    res = json.loads(subprocess.run([sys.executable, "-c", probe, AKOSHA, "ingest", "--once",
                                     "--quiet", "--bucket", bucket, "--data", data, "--json"],
                                    check=True, stdout=subprocess.PIPE, env=env).stdout)
    return res["out"], (res["rss_kib"] / 1024, res["max_kib"] / 1024), res["cpu"]


def run_form(form, path):
    """Median of REPEAT: first snapshots into an empty store, then the second."""
    first, second = [], []
    for _ in range(REPEAT):
        data = os.path.join(WORK, f"data-sb-{form}")
        shutil.rmtree(data, ignore_errors=True)
        out1, rss1, cpu1 = measure(staged(path, 1), data)
        assert out1["conversations_ingested"] == SYSTEMS * CONVS and not out1["uploads_failed"], out1
        out2, rss2, cpu2 = measure(path, data)
        assert (out2["conversations_updated"], out2["conversations_ingested"]) == \
            (3 * SYSTEMS, 5 * SYSTEMS), out2
        first.append((out1["seconds"], rss1, cpu1))
        second.append((out2["seconds"], rss2, cpu2, out2["duplicates_skipped"]))
        shutil.rmtree(data, ignore_errors=True)
    first.sort()
    second.sort()
    return first[REPEAT // 2], second[REPEAT // 2]


def main():
    os.makedirs(WORK, exist_ok=True)
    print(f"DuckDB vs JSON uploads: {SYSTEMS} systems x {CONVS} conversations (384-d, 1 in 10 "
          f"without an embedding), gzipped, Session-Buddy's layout ({os.cpu_count()} cores)",
          flush=True)
    paths = buckets()
    sizes = {f: sum(os.path.getsize(os.path.join(d, x)) for d, _, fs in os.walk(p) for x in fs
                    if not x.endswith(".json")) / (2 * SYSTEMS) for f, p in paths.items()}
    # conv/s is wall-clock; CPU s (user + system) says what it costs on a
    # machine whose other tenants make the wall clock noisy.
    # RSS: akosha's own peak / the largest process's (akosha or a reader child)
    print(f"\n  {'form':8} {'MB/upload':>9} | {'1st: conv/s':>11} {'CPU s':>6} {'RSS MiB':>11} | "
          f"{'2nd: conv/s':>11} {'CPU s':>6} {'RSS MiB':>11}")
    for form, path in paths.items():
        (s1, rss1, cpu1), (s2, rss2, cpu2, dups) = run_form(form, path)
        n2 = SYSTEMS * (CONVS + 5)
        print(f"  {form:8} {sizes[form] / 1e6:9.1f} | {SYSTEMS * CONVS / s1:11.0f} {cpu1:6.2f} "
              f"{rss1[0]:5.0f}/{rss1[1]:5.0f} | {n2 / s2:11.0f} {cpu2:6.2f} "
              f"{rss2[0]:5.0f}/{rss2[1]:5.0f}   ({dups} duplicates)",
              flush=True)


if __name__ == "__main__":
    main()
