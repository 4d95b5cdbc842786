#!/usr/bin/env python3
"""age_bench.py - aging throughput and the size of each tier.

Ingests a generated bucket (20 systems x 2,000 realistic conversations with
timestamps spread over 200 days), then runs `akosha age` as of a fixed
"now", so about 96% of the rows go hot -> warm and 55% on to cold.  Prints
conversations/s of each transition, bytes per conversation in hot, warm and
cold, and the ratio to hot.
"""
import json, os, shutil, subprocess

AKOSHA = os.environ["AKOSHA_BIN"]
WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")


def run(args):
    return json.loads(subprocess.run([AKOSHA] + args, check=True, stdout=subprocess.PIPE).stdout)


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
    warm_only = run(["age", "--data", data, "--now", "2026-11-27T00:00:00Z", "--warm-days", "3650", "--json"])
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
          f" cold {cold_b:.0f} ({cold_b / hot_b:.2f} of hot, Parquet with per-file overhead)")


if __name__ == "__main__":
    main()
