#!/usr/bin/env python3
"""mkupload.py - write one Session-Buddy upload into a bucket directory.

Used by the integration tests to craft exact (and deliberately broken)
uploads.  Records come from --records (a JSON list) or are generated
(--count N).  Compression uses the gzip/zstd/lz4 command-line tools so the
bytes are what standard tools produce, not what our own code writes.

  mkupload.py BUCKET SYSTEM UPLOAD [--layout 1|2] [--format json|jsonl]
              [--codec none|gzip|zstd|lz4] [--count N | --records JSON|@FILE]
              [--checksum auto|none|wrong] [--declared N] [--uploaded-at ISO]
              [--files a,b] [--manifest-extra JSON] [--no-payload]
"""
import argparse, datetime, hashlib, json, math, os, random, subprocess, sys


def record(i, system, seed=1):
    rnd = random.Random(f"{system}-{i}-{seed}")
    v = [rnd.gauss(0, 1) for _ in range(384)]
    n = math.sqrt(sum(x * x for x in v))
    return {"id": f"c{i}", "content": f"conversation {i} of {system}: notes about topic {i % 7}",
            "embedding": [x / n for x in v], "timestamp": "2026-11-01T10:00:00Z",
            "metadata": {"i": i}}


def encode(records, fmt):
    if fmt == "json":
        return json.dumps({"conversations": records}).encode()
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def compress(data, codec):
    if codec == "none":
        return data
    cmd = {"gzip": ["gzip", "-c"], "zstd": ["zstd", "-q", "-c"], "lz4": ["lz4", "-q", "-c"]}[codec]
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bucket"); ap.add_argument("system"); ap.add_argument("upload")
    ap.add_argument("--layout", default="1")
    ap.add_argument("--format", default="json")
    ap.add_argument("--codec", default="none")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--records")
    ap.add_argument("--checksum", default="auto")
    ap.add_argument("--declared", type=int)
    ap.add_argument("--uploaded-at")
    ap.add_argument("--files")
    ap.add_argument("--manifest-extra", default="{}")
    ap.add_argument("--no-payload", action="store_true")
    ap.add_argument("--raw-payload", help="write these bytes (Python literal) as the payload")
    a = ap.parse_args()

    if a.records and a.records.startswith("@"):
        a.records = open(a.records[1:]).read()
    recs = json.loads(a.records) if a.records else [record(i, a.system) for i in range(a.count)]
    ext = {"json": ".json", "jsonl": ".jsonl"}[a.format]
    suffix = {"none": "", "gzip": ".gz", "zstd": ".zst", "lz4": ".lz4"}[a.codec]
    files = a.files.split(",") if a.files else ["memories" + ext + suffix]
    d = os.path.join(a.bucket, "systems", a.system, "uploads" if a.layout == "2" else "", a.upload)
    os.makedirs(d, exist_ok=True)
    payload = eval(a.raw_payload) if a.raw_payload else compress(encode(recs, a.format), a.codec)
    if not a.no_payload:
        with open(os.path.join(d, files[0]), "wb") as f:
            f.write(payload)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    m = {"uploaded_at": a.uploaded_at or (now - datetime.timedelta(minutes=1)).isoformat(),
         "conversation_count": len(recs) if a.declared is None else a.declared,
         "version": "1.0", "files": files}
    if a.codec != "none":
        m["compressed"] = True
        m["compression_format"] = a.codec
    if a.checksum == "auto":
        m["checksum"] = hashlib.sha256(payload).hexdigest()
    elif a.checksum == "wrong":
        m["checksum"] = hashlib.sha256(payload + b"x").hexdigest()
    m.update(json.loads(a.manifest_extra))
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(m, f)


if __name__ == "__main__":
    main()
