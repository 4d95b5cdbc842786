#!/usr/bin/env python3
"""gen_corpus.py - regenerate the seed corpora in tests/fuzz/corpus/<target>/.

Run from the repository root:  python3 tests/fuzz/gen_corpus.py
The seeds are small, deterministic, and checked in; this script only exists
so that they can be rebuilt or extended.  Compressed samples are made with
the gzip, zstd and lz4 command-line tools.  See each harness's header
comment (tests/fuzz/fuzz_<target>.c) for the input layouts used here.
"""
import json
import os
import random
import shutil
import struct
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
rng = random.Random(384)


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def embedding(kind="normal"):
    if kind == "zero":
        return "[" + ",".join("0" for _ in range(384)) + "]"
    vals = []
    for i in range(384):
        x = rng.gauss(0, 0.05)
        if kind == "exp" and i % 7 == 0:
            vals.append("%.6e" % x)
        elif kind == "exp" and i % 11 == 0:
            vals.append("-0.0")
        else:
            vals.append("%.6f" % x)
    return "[" + ",".join(vals) + "]"


def record(i, emb="normal", **extra):
    parts = ['"id": "conv-%04d"' % i,
             '"content": "Conversation %d: how do I tune SQLite? \\u00e9 \\ud83d\\ude00\\n"' % i]
    if emb:
        parts.append('"embedding": ' + embedding(emb))
    parts.append('"timestamp": "2025-12-%02dT10:15:30.123456+02:00"' % (1 + i % 28))
    parts.append('"source": "session-buddy"')
    parts.append('"metadata": {"project": "akosha", "tags": ["db", "perf"], "n": %d}' % i)
    for k, v in extra.items():
        parts.append('"%s": %s' % (k, v))
    return "{" + ", ".join(parts) + "}"


def small_record(i):
    return json.dumps({"conversation_id": "c%d" % i, "content": "hello %d" % i,
                       "timestamp": "2025-12-31 23:59:59"})


def manifests():
    full = {
        "uploaded_at": "2025-12-31T12:00:00Z",
        "conversation_count": 3,
        "total_size_bytes": 123456,
        "version": "1.0",
        "system_type": "session-buddy",
        "checksum": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "compressed": True,
        "compression_format": "zstd",
        "files": ["memories.json", "part-2.jsonl", "extra_3.ndjson"],
        "metadata": {"host": "laptop", "reflections": 12, "nested": {"a": [1, 2.5, None]}},
        "unknown_field": "ignored",
    }
    put("manifest", "full.json", json.dumps(full, indent=2))
    put("manifest", "minimal.json", '{"uploaded_at":"2025-12-01","conversation_count":0}')
    put("manifest", "python_isoformat.json", json.dumps({
        "uploaded_at": "2025-12-31T23:59:59.123456+02:00", "conversation_count": 1000000,
        "version": "1.12", "compressed": False, "files": [], "system_type": None,
        "checksum": None, "metadata": None}))
    put("manifest", "gzip.json", json.dumps({
        "uploaded_at": "2025-06-30 08:00-0530", "conversation_count": 42,
        "compressed": True, "compression_format": "gzip", "files": ["memories.json.gz"],
        "total_size_bytes": 100000000000, "system_type": "\u00e9t\u00e9"}))
    put("manifest", "lz4.json", json.dumps({
        "uploaded_at": "2026-01-01T00:04:59Z", "conversation_count": 7,
        "compressed": True, "compression_format": "lz4", "files": ["a.jsonl", "b.json"]}))
    # rejections, so every rule's error path is one mutation away
    put("manifest", "duplicate_field.json",
        '{"uploaded_at":"2025-12-01T00:00:00Z","conversation_count":1,"conversation_count":2}')
    put("manifest", "bad_files.json", json.dumps({
        "uploaded_at": "2025-12-01T00:00:00Z", "conversation_count": 1,
        "files": ["../etc/passwd", "a~b", "x y"]}))
    put("manifest", "future.json", '{"uploaded_at":"2026-01-01T00:05:01Z","conversation_count":1}')


def records():
    put("record", "full.json", record(1))
    put("record", "zero_embedding.json", record(2, emb="zero"))
    put("record", "exponents.json", record(3, emb="exp"))
    put("record", "no_embedding.json", record(4, emb=None))
    put("record", "conversation_id.json", small_record(5))
    put("record", "derived_id.json", '{"content":"no id here","embedding":null,"source":null}')
    put("record", "escapes.json",
        '{"id":"e\\u00e91","content":"quote \\" backslash \\\\ slash \\/ \\b\\f\\r \\u0041","timestamp":"2025-01-31t10:15Z"}')
    put("record", "bad_embedding.json",
        '{"content":"x","embedding":[1,2,3e39]}')


def framer_header(jsonl, chunk, vary=False, stop=0):
    b0 = (1 if jsonl else 0) | (2 if vary else 0) | (stop << 2)
    c = (chunk - 1) % 4096
    return bytes([b0, c & 0xFF, c >> 8])


def framer():
    recs = [record(10, emb=None), small_record(11), record(12)]
    payload = '{"version": "1.0", "conversations": [\n  ' + ",\n  ".join(recs) + \
        '\n], "exported_at": "2025-12-31T00:00:00Z", "stats": {"n": [1, 2, {"x": "]}"}]}}'
    put("framer", "json_chunk7", framer_header(False, 7) + payload.encode())
    put("framer", "json_whole", framer_header(False, 4096) + payload.encode())
    put("framer", "json_vary", framer_header(False, 64, vary=True) + payload.encode())
    put("framer", "json_empty", framer_header(False, 5) + b'{"conversations": []}')
    put("framer", "json_scalars", framer_header(False, 3) +
        b'{"conversations": [1, "two", null, [3], {"content": "four"}]}')
    big = '{"conversations": [' + record(13, content_note='"%s"' % ("x" * 5000)) + ', {"content":"ok"}]}'
    put("framer", "json_oversized", framer_header(False, 1000) + big.encode())
    lines = "\r\n".join(recs) + "\n\n   \n" + small_record(14) + "\n"
    put("framer", "jsonl_crlf", framer_header(True, 13) + lines.encode())
    put("framer", "jsonl_vary_stop", framer_header(True, 300, vary=True, stop=2) + lines.encode())
    put("framer", "jsonl_no_final_newline", framer_header(True, 2) +
        (small_record(15) + "\n" + small_record(16)).encode())


def json_seeds():
    put("json", "record.json", record(20, emb=None))
    put("json", "numbers.json",
        '[0, -0, 1, -1, 0.5, 1e308, 1.7976931348623157e308, 4.9e-324, 1e-400, 2e400, '
        '-1E+2, 123456789012345678901234567890, 0.000000000000000000000001, '
        '9223372036854775807, -9223372036854775808, 9223372036854775808, 3.4028235e38, '
        '3.4028236e38, 1.17549435e-38, 0.1e1]')
    put("json", "strings.json",
        '["", "a", "\\u0000", "\\ud83d\\ude00", "\\u00e9\\u4e2d", "\u00e9\u4e2d\U0001F600", '
        '"\\"\\\\\\/\\b\\f\\n\\r\\t", "\\uFFFF", "\\uD7FF"]')
    put("json", "nested.json", '{"a": {"b": {"c": [[[[]]], {}, [{}]]}}, "a": 1, "": null, '
        '"k\\u0000ey": true, "t": false}')
    put("json", "whitespace.json", ' \t\r\n {\n "x" : [ 1 , 2 ] \n} \n')
    put("json", "deep.json", "[" * 31 + "]" * 31)


def compress(tool, data):
    args = {"gzip": ["gzip", "-c", "-n"], "zstd": ["zstd", "-q", "-c", "--no-progress"],
            "lz4": ["lz4", "-q", "-c"]}[tool]
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


def unz_seeds():
    text = ('{"conversations": [' + ", ".join(small_record(i) for i in range(30)) + "]}\n").encode()
    codec = {"gzip": 0, "zstd": 1, "lz4": 2}
    for tool in ("gzip", "zstd", "lz4"):
        c = compress(tool, text)
        put("unz", tool + "_chunk64k", bytes([codec[tool], 255]) + c)
        put("unz", tool + "_chunk7", bytes([codec[tool], 6]) + c)
        two = compress(tool, b"first member\n") + compress(tool, b"second member\n")
        put("unz", tool + "_two_members", bytes([codec[tool], 1]) + two)
        # round trip mode: bits 2-3 = 3, level in bits 4-7
        put("unz", tool + "_roundtrip", bytes([codec[tool] | 0x0C | (3 << 4), 20]) + text[:600])
    # zstd skippable frame, then a real one
    skippable = struct.pack("<II", 0x184D2A50, 4) + b"skip"
    put("unz", "zstd_skippable", bytes([1, 100]) + skippable + compress("zstd", b"after skip"))
    put("unz", "none_passthrough", bytes([3, 10]) + text[:200])


def dframe_seeds():
    """Frames of DuckDB's reader (src/ingest/duckdb_frame.h), as a pipe delivers them."""
    def frame(t, body=b""):
        return struct.pack("<I", 1 + len(body)) + t + body
    def s(x):
        return struct.pack("<I", len(x)) + x
    def o(x):
        return b"\0" if x is None else b"\1" + s(x)
    def u(n):
        return struct.pack("<Q", n)
    emb = b"".join(struct.pack("<f", i / 384) for i in range(384))
    record = frame(b"R", s(b"conversations_v2") + u(1) + o(b"id-1") + o(b"hello") +
                   o(b'{"type": "conversation"}') + b"\1" + struct.pack("<q", 1700000000000000) +
                   b"\1" + struct.pack("<I", 384) + emb)
    text_only = frame(b"R", s(b"reflections") + u(2) + o(None) + o(b"x") + o(None) + b"\0" + b"\0")
    keys = frame(b"K", s(b"conversations_v2") + u(1) + o(b"id-1") + o(b"hello")) + \
        frame(b"W", s(b"conversations_v2") + u(1))
    put("dframe", "record_done", record + text_only + frame(b"D"))
    put("dframe", "keys_settle", keys + frame(b"B", u(9) + b"\xff\x01"))
    put("dframe", "text", frame(b"C", s(b"kg_entities") + s(b"id") + s(b"VARCHAR")) +
        frame(b"Q", u(0) + s(b"ak_upload_0")) + frame(b"S", o(b"SELECT 1")) +
        frame(b"T", u(0) + s(b'{"kind": "entity"}')) + frame(b"S", o(None)))
    put("dframe", "error", frame(b"E", u(4) + s(b"DuckDB cannot read it: IO Error")))
    put("dframe", "start", frame(b"O", s(b"records") + s(b"/data/tmp/spool-AbC123")))


def main():
    for t in ("manifest", "record", "framer", "json", "unz"):
        shutil.rmtree(os.path.join(ROOT, t), ignore_errors=True)
    manifests()
    records()
    framer()
    json_seeds()
    unz_seeds()
    dframe_seeds()


if __name__ == "__main__":
    main()
