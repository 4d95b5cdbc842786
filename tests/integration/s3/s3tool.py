#!/usr/bin/python3
"""s3tool.py - a minimal S3 client for the integration tests.

It fills and inspects the test bucket independently of the C code under
test: its own Signature Version 4 (standard library only), path-style
requests to $AKOSHA_S3_ENDPOINT with $AWS_ACCESS_KEY_ID /
$AWS_SECRET_ACCESS_KEY / $AWS_REGION, keep-alive connections, and
multipart uploads for files over 5 MiB (so objects Akosha reads back are
also ones the server assembled from parts).

  s3tool.py mb BUCKET                     create a bucket (an existing one is fine)
  s3tool.py sync DIR BUCKET [PREFIX]      upload every file below DIR as PREFIX/relative/path
  s3tool.py put BUCKET KEY FILE           upload one file
  s3tool.py ls BUCKET [PREFIX]            every key below PREFIX, one a line (plain listing,
                                          no encoding-type: keys as the server stores them)
  s3tool.py get BUCKET KEY                the object's bytes on stdout
"""
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET

PART = 5 * 1024 * 1024  # S3's (and Swift's) smallest part but the last
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def quote(s, safe="/"):
    return urllib.parse.quote(s, safe=safe + "~")


class Client:
    def __init__(self):
        ep = urllib.parse.urlsplit(os.environ["AKOSHA_S3_ENDPOINT"])
        self.host, self.https = ep.netloc, ep.scheme == "https"
        self.key = os.environ["AWS_ACCESS_KEY_ID"]
        self.secret = os.environ["AWS_SECRET_ACCESS_KEY"]
        self.region = os.environ.get("AWS_REGION", "us-east-1")
        self.conn = None

    def _connect(self):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        self.conn = cls(self.host, timeout=60)

    def _sign(self, method, path, query, headers, payload_hash):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers.update({"host": self.host, "x-amz-date": amz_date,
                        "x-amz-content-sha256": payload_hash})
        names = sorted(headers)
        canonical = "\n".join([
            method, quote(path),
            "&".join(f"{quote(k, '')}={quote(v, '')}" for k, v in sorted(query)),
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names), payload_hash])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + self.secret).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.key}/{scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={sig}")
        return "&".join(f"{quote(k, '')}={quote(v, '')}" for k, v in sorted(query))

    def request(self, method, path, query=(), body=b"", ok=(200,)):
        headers = {}
        qs = self._sign(method, path, list(query), headers, hashlib.sha256(body).hexdigest())
        url = quote(path) + ("?" + qs if qs else "")
        for attempt in range(2):  # a kept-alive connection the server closed: once more
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, url, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if resp.status not in ok:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return resp, data

    def put(self, bucket, key, data):
        path = f"/{bucket}/{key}"
        if len(data) <= PART:
            self.request("PUT", path, body=data)
            return
        _, xml = self.request("POST", path, [("uploads", "")])
        upload_id = ET.fromstring(xml).find(NS + "UploadId").text
        parts = []
        for n, off in enumerate(range(0, len(data), PART), 1):
            resp, _ = self.request("PUT", path, [("partNumber", str(n)), ("uploadId", upload_id)],
                                   data[off:off + PART])
            parts.append(f"<Part><PartNumber>{n}</PartNumber>"
                         f"<ETag>{resp.getheader('ETag')}</ETag></Part>")
        body = ("<CompleteMultipartUpload>" + "".join(parts) +
                "</CompleteMultipartUpload>").encode()
        self.request("POST", path, [("uploadId", upload_id)], body)

    def ls(self, bucket, prefix):
        keys, token = [], None
        while True:
            q = [("list-type", "2"), ("prefix", prefix)] + (
                [("continuation-token", token)] if token else [])
            _, xml = self.request("GET", f"/{bucket}", q)
            root = ET.fromstring(xml)
            keys += [c.find(NS + "Key").text for c in root.findall(NS + "Contents")]
            if root.findtext(NS + "IsTruncated") != "true":
                return keys
            token = root.findtext(NS + "NextContinuationToken")


def sync(src, bucket, prefix, threads=4):
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs)
    lock, errors = threading.Lock(), []

    def work():
        c = Client()
        while True:
            with lock:
                if not files or errors:
                    return
                path = files.pop()
            key = os.path.relpath(path, src)
            try:
                with open(path, "rb") as f:
                    c.put(bucket, f"{prefix}/{key}" if prefix else key, f.read())
            except Exception as e:  # reported once all threads are done
                with lock:
                    errors.append(f"{key}: {e}")

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        sys.exit("s3tool sync: " + errors[0])


def main():
    cmd, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if cmd == "mb" and len(args) == 1:
        Client().request("PUT", f"/{args[0]}", ok=(200, 409))
    elif cmd == "sync" and len(args) in (2, 3):
        sync(args[0], args[1], args[2].strip("/") if len(args) == 3 else "")
    elif cmd == "put" and len(args) == 3:
        with open(args[2], "rb") as f:
            Client().put(args[0], args[1], f.read())
    elif cmd == "ls" and len(args) in (1, 2):
        for k in Client().ls(args[0], args[1] if len(args) == 2 else ""):
            print(k)
    elif cmd == "get" and len(args) == 2:
        _, data = Client().request("GET", f"/{args[0]}/{args[1]}")
        sys.stdout.buffer.write(data)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
