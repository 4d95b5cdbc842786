#!/usr/bin/env python3
"""pty_run.py - run a command with its stderr (and, with --all, stdout) on a
pseudo-terminal, as a person at a terminal would, and print what the
terminal received on our stdout.  Exits with the command's status.

  pty_run.py [--all] OUT_FILE cmd args...   (OUT_FILE: the command's stdout
                                             when it is not on the terminal)
"""
import os
import pty
import subprocess
import sys


def main():
    args = sys.argv[1:]
    everything = args[:1] == ["--all"]
    if everything:
        args = args[1:]
    out_file, cmd = args[0], args[1:]
    master, slave = pty.openpty()
    with open(out_file, "wb") as out:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                             stdout=slave if everything else out, stderr=slave)
        os.close(slave)
        got = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the command closed the terminal
                break
            if not chunk:
                break
            got += chunk
        rc = p.wait()
    sys.stdout.buffer.write(got)
    sys.exit(rc)


if __name__ == "__main__":
    main()
