#!/usr/bin/env python3
"""check-layers.py - keep src/ a stack of layers a reader can hold in mind.

Fails (exit 1) when
  * the folders under src/ include each other in a cycle: folder A includes
    a header of folder B and B, directly or through others, one of A's.  The
    layers are docs/ARCHITECTURE.md's ("Layers"); a cycle means a type or a
    constant sits in the wrong folder;
  * a file under src/ passes 800 lines and its top comment does not say why
    (a sentence containing "800 lines");
  * a file outside src/storage/ runs SQL (includes <sqlite3.h>): each system
    database has one owner (storage/), the knowledge graph's is graph/'s;
    server/metrics.c only reports SQLite's version.

Usage: scripts/check-layers.py [SRC_DIR]   (default: src next to this script)
"""
import os
import re
import sys

MAX_LINES = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)/[^"]+"', re.M)


def sources(src):
    for folder, _, names in os.walk(src):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                yield os.path.join(folder, name)


def folder_of(src, path):
    rel = os.path.relpath(path, src).split(os.sep)
    return rel[0] if len(rel) > 1 else None


def include_graph(src):
    """folder -> {folder: [file that includes it, ...]}"""
    folders = {d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d))}
    graph = {f: {} for f in folders}
    for path in sources(src):
        here = folder_of(src, path)
        if here is None:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for there in INCLUDE.findall(f.read()):
                if there != here and there in folders:
                    graph[here].setdefault(there, []).append(os.path.relpath(path, src))
    return graph


def cycles(graph):
    """Strongly connected components of more than one folder (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


SQL_OWNERS = ("storage", "graph")
SQL_ALLOWED = {os.path.join("server", "metrics.c")}
SQLITE_INCLUDE = re.compile(r'^\s*#\s*include\s+<sqlite3\.h>', re.M)


def sql_outside_owners(src):
    for path in sources(src):
        rel = os.path.relpath(path, src)
        if folder_of(src, path) in SQL_OWNERS or rel in SQL_ALLOWED:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            if SQLITE_INCLUDE.search(f.read()):
                yield rel


def top_comment(text):
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    return m.group(1) if m else ""


def long_files(src):
    for path in sources(src):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        n = text.count("\n")
        if n > MAX_LINES and "800 lines" not in top_comment(text):
            yield os.path.relpath(path, src), n


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    failed = False
    graph = include_graph(src)
    for comp in cycles(graph):
        failed = True
        print("check-layers: folders include each other in a cycle: %s" % " ".join(comp))
        for a in comp:
            for b in sorted(graph[a]):
                if b in comp:
                    print("  %s -> %s: %s" % (a, b, ", ".join(sorted(set(graph[a][b])))))
    for path, n in long_files(src):
        failed = True
        print("check-layers: src/%s has %d lines (over %d) and its top comment gives no "
              "reason (say why in a sentence with \"800 lines\", or split it)" % (path, n, MAX_LINES))
    for path in sql_outside_owners(src):
        failed = True
        print("check-layers: src/%s includes <sqlite3.h>: put its SQL behind a storage/ "
              "function (one owner per schema)" % path)
    if failed:
        return 1
    print("check-layers: %d folders, no cycle; no file over %d lines without a reason;"
          " SQL only in storage/ and graph/" % (len(graph), MAX_LINES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
