#!/usr/bin/env python3
"""hostile_s3.py - an S3 endpoint that misbehaves on purpose.

A test peer for misbehaviour a real S3 server cannot be made to show (the
real behaviour is tested against Swift, test_s3.sh).  It serves the files of
a local directory as bucket "akosha" (path-style, signatures not checked)
and misbehaves as the file MODEFILE says at each request:

  ok            behave
  same-token    list: IsTruncated=true with the same continuation token forever
  fresh-tokens  list: IsTruncated=true with a new token forever
  short-get     GET: 200 with half the object (Content-Length agrees)
  long-get      GET: 200 with the object and 100 bytes more
  hang          accept the request, never answer

Usage: hostile_s3.py DIR PORTFILE MODEFILE.  Requests are counted, one line
per request, in DIR/../requests.log.
"""
import http.server, os, sys, time, urllib.parse
from xml.sax.saxutils import escape

root, portfile, modefile = sys.argv[1:4]
log = os.path.join(os.path.dirname(os.path.abspath(root)), "requests.log")


def mode():
    try:
        with open(modefile) as f:
            return f.read().strip()
    except OSError:
        return "ok"


def keys_under(prefix):
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            k = os.path.relpath(os.path.join(d, f), root)
            if k.startswith(prefix):
                out.append(k)
    return sorted(out)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype="application/xml", length=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        m = mode()
        with open(log, "a") as f:
            f.write(f"{m} {self.path}\n")
        if m == "hang":
            time.sleep(3600)
            return
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        path = urllib.parse.unquote(url.path)
        if not path.startswith("/akosha"):
            return self.reply(404, b"<Error><Code>NoSuchBucket</Code></Error>")
        key = path[len("/akosha/"):]
        if "list-type" in q:
            return self.list(q, m)
        fp = os.path.join(root, key)
        if not key or not os.path.isfile(fp):
            return self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>")
        data = open(fp, "rb").read()
        if m == "short-get":
            data = data[: len(data) // 2]
        elif m == "long-get":
            data = data + b"x" * 100
        self.reply(200, data, "application/octet-stream")

    def list(self, q, m):
        prefix = q.get("prefix", [""])[0]
        delim = q.get("delimiter", [None])[0]
        token = q.get("continuation-token", [None])[0]
        keys = keys_under(prefix)
        contents, prefixes = [], []
        for k in keys:
            rest = k[len(prefix):]
            if delim and delim in rest:
                p = prefix + rest.split(delim)[0] + delim
                if p not in prefixes:
                    prefixes.append(p)
            else:
                contents.append(k)
        if token:  # later pages: empty, the tokens are the lie
            contents, prefixes = [], []
        body = ["<?xml version='1.0' encoding='UTF-8'?><ListBucketResult>",
                "<EncodingType>url</EncodingType>"]
        for k in contents:
            st = os.stat(os.path.join(root, k))
            body.append(f"<Contents><Key>{escape(urllib.parse.quote(k))}</Key>"
                        f"<LastModified>2026-01-01T00:00:00.000Z</LastModified>"
                        f"<Size>{st.st_size}</Size></Contents>")
        for p in prefixes:
            body.append(f"<CommonPrefixes><Prefix>{escape(urllib.parse.quote(p))}</Prefix></CommonPrefixes>")
        if m == "same-token":
            body.append("<IsTruncated>true</IsTruncated><NextContinuationToken>again</NextContinuationToken>")
        elif m == "fresh-tokens":
            n = int(token[1:]) + 1 if token and token.startswith("t") else 1
            body.append(f"<IsTruncated>true</IsTruncated><NextContinuationToken>t{n}</NextContinuationToken>")
        else:
            body.append("<IsTruncated>false</IsTruncated>")
        body.append("</ListBucketResult>")
        self.reply(200, "".join(body).encode())


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
