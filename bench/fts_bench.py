#!/usr/bin/env python3
"""fts_bench.py - what keeping an FTS5 index costs per conversation, and why
Akosha does not keep it with an insert trigger (docs/BENCHMARKS.md).

Inserts 5,000 conversation texts from the ingestion benchmark's bucket
(bench/work/bucket-jsonl, made by ingest_bench.py) one row per INSERT, 1,000
rows per transaction, as ingestion does, into a database on tmpfs when there
is one, with the index kept four ways.  Uses the system's SQLite through
Python's sqlite3 module, the same library akosha links.
"""
import glob, json, os, sqlite3, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = sorted(glob.glob(os.path.join(HERE, "work", "bucket-jsonl", "systems", "*", "*", "memories.jsonl")))[:5]
ROWS = [json.loads(line)["content"] for f in FILES for line in open(f)]
BATCH = 1000
SCHEMA = ("PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
          "CREATE TABLE hot(id INTEGER PRIMARY KEY, cid TEXT UNIQUE, content TEXT);"
          "CREATE VIRTUAL TABLE f USING fts5(content, content='hot', content_rowid='id',"
          " tokenize='porter unicode61');")
TRIGGER = ("CREATE TRIGGER ai AFTER INSERT ON hot BEGIN"
           " INSERT INTO f(rowid, content) VALUES (new.id, new.content); END;")


def insert(db, j):
    return db.execute("INSERT INTO hot(cid, content) VALUES(?, ?)", (str(j), ROWS[j]))


def no_index(db, lo, hi):
    for j in range(lo, hi):
        insert(db, j)


def own_statement(db, lo, hi):
    for j in range(lo, hi):
        db.execute("INSERT INTO f(rowid, content) VALUES(?, ?)", (insert(db, j).lastrowid, ROWS[j]))


def one_select(db, lo, hi):
    first = db.execute("SELECT coalesce(max(id), 0) FROM hot").fetchone()[0]
    no_index(db, lo, hi)
    db.execute("INSERT INTO f(rowid, content) SELECT id, content FROM hot WHERE id > ?", (first,))


def measure(name, body, trigger=False):
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as d:
        db = sqlite3.connect(os.path.join(d, "fts.db"), isolation_level=None)
        db.executescript(SCHEMA + (TRIGGER if trigger else ""))
        t0 = time.perf_counter()
        for lo in range(0, len(ROWS), BATCH):
            db.execute("BEGIN")
            body(db, lo, min(lo + BATCH, len(ROWS)))
            db.execute("COMMIT")
        us = (time.perf_counter() - t0) / len(ROWS) * 1e6
        db.close()
    print(f"  {name:52s} {us:7.1f} us/conversation")


def main():
    if not ROWS:
        raise SystemExit("fts_bench: no bucket in bench/work/bucket-jsonl: run ingest_bench.py first")
    print(f"\nfull-text index cost: {len(ROWS)} conversations, {BATCH} per transaction, SQLite {sqlite3.sqlite_version}")
    measure("no index", no_index)
    measure("AFTER INSERT trigger (akosha before schema 4)", no_index, trigger=True)
    measure("INSERT INTO the index as a statement of its own", own_statement)
    measure("one INSERT INTO the index ... SELECT per transaction", one_select)


if __name__ == "__main__":
    main()
