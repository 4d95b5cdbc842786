#!/usr/bin/env python3
"""slowclients.py - slow HTTP clients (slowloris) against a server on loopback.

Bounded in count and time, and only ever connects to 127.0.0.1 (from source
addresses 127.0.0.2 and up, so that "per client address" can be told apart
from the test's own requests from 127.0.0.1).

  slowclients.py hold PORT N NADDR SECONDS READY STOP [body]
      open N connections from NADDR source addresses, each sending a partial
      request (with "body": complete headers announcing a 100,000-byte body,
      and its first byte); write READY when all are open, then send one more
      byte on each every 2 s until the file STOP exists or SECONDS pass;
      print how many the server closed.
  slowclients.py count PORT N ADDR EXPECT
      open N connections from ADDR, each sending a partial request; wait (at
      most 10 s) until the server has closed EXPECT of them; print how many
      it closed.
  slowclients.py trickle PORT INTERVAL MAXSECS
      one connection sending its request line a byte every INTERVAL s; print
      after how many seconds the server closed it, or "never" after MAXSECS.
"""
import socket, sys, time, os

PARTIAL = b"GET /health HTTP/1.1\r\nX-Slow: "
SLOW_BODY = b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"


def open_conn(port, src, partial=PARTIAL):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(partial)
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def closed_by_server(s):
    try:
        return s.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def poke(s):
    try:
        s.send(b"a")
        return True
    except BlockingIOError:
        return True
    except OSError:
        return False


def hold(port, n, naddr, secs, ready, stop, partial):
    conns = [open_conn(port, f"127.0.0.{2 + i % naddr}", partial) for i in range(n)]
    refused = sum(c is None for c in conns)
    live = [c for c in conns if c]
    open(ready, "w").write(f"{len(live)}\n")
    end, closed, next_poke = time.monotonic() + secs, refused, 0.0
    while live and time.monotonic() < end and not os.path.exists(stop):
        now = time.monotonic()
        keep = []
        for c in live:
            if closed_by_server(c) or (now >= next_poke and not poke(c)):
                c.close()
                closed += 1
            else:
                keep.append(c)
        live = keep
        if now >= next_poke:
            next_poke = now + 2
        time.sleep(0.1)
    print(closed)


def count(port, n, addr, expect):
    conns = [open_conn(port, addr) for _ in range(n)]
    closed = sum(c is None for c in conns)
    live = [c for c in conns if c]
    end = time.monotonic() + 10
    while closed < expect and time.monotonic() < end:
        keep = []
        for c in live:
            if closed_by_server(c):
                c.close()
                closed += 1
            else:
                keep.append(c)
        live = keep
        time.sleep(0.05)
    print(closed)


def trickle(port, interval, maxsecs):
    s = open_conn(port, "127.0.0.2")
    t0 = time.monotonic()
    if s is None:
        print("0.0")
        return
    while time.monotonic() - t0 < maxsecs:
        if closed_by_server(s) or not poke(s):
            print(f"{time.monotonic() - t0:.1f}")
            return
        time.sleep(interval)
    print("never")


mode, port = sys.argv[1], int(sys.argv[2])
if mode == "hold":
    body = len(sys.argv) > 8 and sys.argv[8] == "body"
    hold(port, int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7],
         SLOW_BODY if body else PARTIAL)
elif mode == "count":
    count(port, int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
elif mode == "trickle":
    trickle(port, float(sys.argv[3]), float(sys.argv[4]))
