#!/usr/bin/env python3
"""age_bench.py - aging throughput and the size of each tier.

Ingests a generated bucket (20 systems x 2,000 realistic conversations with
timestamps spread over 200 days), then runs `akosha age` as of a fixed
"now", so about 96% of the rows go hot -> warm and 55% on to cold.  Prints
conversations/s of each transition, bytes per conversation in hot, warm and
cold, and the ratio to hot; the cold objects and cold-store requests of
the pass; hot and warm bytes on disk per conversation (table, indexes,
full-text index); the local cold catalog's bytes per conversation (summary,
vector code, full-text index).  With --year, also simulates a year of daily aging
passes (`age --now` one day later each time) over 20 systems and prints the
cold objects per system at the end (--year-only: just that).
"""
import glob, json, os, shutil, sqlite3, subprocess, sys

AKOSHA = os.environ["AKOSHA_BIN"]
WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")


def run(args):
    return json.loads(subprocess.run([AKOSHA] + args, check=True, stdout=subprocess.PIPE).stdout)


def catalog_bytes(data):
    """Bytes the cold catalog and its full-text index take per cold row."""
    total, rows = 0, 0
    for db in glob.glob(os.path.join(data, "shard_*", "*.db")):
        con = sqlite3.connect(db)
        n = con.execute("SELECT count(*) FROM cold").fetchone()[0]
        if n:
            rows += n
            total += sum(r[0] for r in con.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN ('cold', 'sqlite_autoindex_cold_1',"
                " 'cold_object', 'cold_objects', 'sqlite_autoindex_cold_objects_1')"
                " OR name LIKE 'cold_fts%'"))
        con.close()
    return total / rows if rows else 0


def tier_disk_bytes(data, tier):
    """Bytes a tier's table, its indexes and its full-text index take on disk
    (SQLite's dbstat pages) per row of the tier."""
    total, rows = 0, 0
    for db in glob.glob(os.path.join(data, "shard_*", "*.db")):
        con = sqlite3.connect(db)
        rows += con.execute(f"SELECT count(*) FROM {tier}").fetchone()[0]
        total += con.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN"
            " (SELECT name FROM sqlite_master WHERE tbl_name = ?1) OR name LIKE ?1 || '_fts%'",
            (tier,)).fetchone()[0]
        con.close()
    return total / rows if rows else 0


def cold_objects(data):
    return len(glob.glob(os.path.join(data, "cold", "**", "*.parquet"), recursive=True))


def year():
    """A year of daily passes over 20 systems whose conversations span 455 days."""
    bucket, data = os.path.join(WORK, "age-year-bucket"), os.path.join(WORK, "age-year-data")
    if not os.path.exists(os.path.join(bucket, ".done")):
        shutil.rmtree(bucket, ignore_errors=True)
        run(["generate", "--out", bucket, "--systems", "20", "--uploads", "1", "--conversations", "2000",
             "--span-days", "455", "--now", "2026-11-26T00:00:00Z", "--format", "jsonl", "--compression",
             "zstd", "--json"])
        open(os.path.join(bucket, ".done"), "w").close()
    shutil.rmtree(data, ignore_errors=True)
    run(["ingest", "--once", "--quiet", "--bucket", bucket, "--data", data, "--json"])
    import datetime
    start = datetime.datetime(2025, 11, 27, tzinfo=datetime.timezone.utc)
    req = {"get": 0, "put": 0, "delete": 0}
    for d in range(366):
        now = (start + datetime.timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = run(["age", "--data", data, "--now", now, "--json"])
        for k in req:
            req[k] += out.get("cold_requests", {}).get(k, 0)
    print(f"  a year of daily passes: {cold_objects(data)} cold objects for 20 systems = "
          f"{cold_objects(data) / 20:.1f} per system; cold-store requests per pass: "
          + ", ".join(f"{k} {v / 366:.1f}" for k, v in req.items()))


def main():
    bucket, data = os.path.join(WORK, "age-bucket"), os.path.join(WORK, "age-data")
    if not os.path.exists(os.path.join(bucket, ".done")):
        shutil.rmtree(bucket, ignore_errors=True)
        run(["generate", "--out", bucket, "--systems", "20", "--uploads", "1", "--conversations", "2000",
             "--span-days", "200", "--now", "2026-11-26T00:00:00Z", "--format", "jsonl", "--compression", "zstd",
             "--json"])
        open(os.path.join(bucket, ".done"), "w").close()
    shutil.rmtree(data, ignore_errors=True)
    ing = run(["ingest", "--once", "--quiet", "--bucket", bucket, "--data", data, "--json"])
    age = run(["age", "--data", data, "--now", "2026-11-27T00:00:00Z", "--json"])
    h, c = age["hot_to_warm"], age["warm_to_cold"]
    # hot -> warm and warm -> cold run in one pass: time them apart
    shutil.rmtree(data, ignore_errors=True)
    run(["ingest", "--once", "--quiet", "--bucket", bucket, "--data", data, "--json"])
    hot_disk = tier_disk_bytes(data, "hot")
    warm_only = run(["age", "--data", data, "--now", "2026-11-27T00:00:00Z", "--warm-days", "3650", "--json"])
    warm_disk = tier_disk_bytes(data, "warm")
    cold_only = run(["age", "--data", data, "--now", "2026-11-27T00:00:00Z", "--json"])
    print(f"\naging benchmark: {ing['conversations_ingested']} conversations, 20 systems, 200 days of timestamps")
    print(f"  hot -> warm : {warm_only['hot_to_warm']['conversations']:6d} conversations in "
          f"{warm_only['seconds']:.2f} s = {warm_only['hot_to_warm']['conversations'] / warm_only['seconds']:8.0f}/s")
    print(f"  warm -> cold: {cold_only['warm_to_cold']['conversations']:6d} conversations in "
          f"{cold_only['seconds']:.2f} s = {cold_only['warm_to_cold']['conversations'] / cold_only['seconds']:8.0f}/s"
          f" ({cold_only['cold_objects']} Parquet objects)")
    hot_b = h["bytes_before"] / h["conversations"]
    warm_b = h["bytes_after"] / h["conversations"]
    cold_b = c["bytes_after"] / c["conversations"]
    print(f"  bytes per conversation: hot {hot_b:.0f}, warm {warm_b:.0f} ({warm_b / hot_b:.2f} of hot),"
          f" cold {cold_b:.1f} ({cold_b / hot_b:.3f} of hot, Parquet with per-file overhead)")
    print(f"  on disk (table, indexes, full-text index; dbstat): hot {hot_disk:.0f}, warm {warm_disk:.0f}"
          f" ({warm_disk / hot_disk:.2f} of hot) per conversation")
    if "cold_requests" in cold_only:
        local = catalog_bytes(data)
        print(f"  cold objects {cold_objects(data)}; cold-store requests in the pass: "
              + ", ".join(f"{k} {v}" for k, v in cold_only["cold_requests"].items() if v))
        print(f"  local cold catalog (row, summary, vector code, full-text index): {local:.0f} B per"
              f" cold conversation ({local / hot_b:.2f} of hot)")
    if "--year" in sys.argv:
        year()


if __name__ == "__main__":
    if sys.argv[1:] == ["--year-only"]:
        year()
    else:
        main()
