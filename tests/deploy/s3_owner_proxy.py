#!/usr/bin/env python3
"""A proxy in front of moto's S3 that enforces S3's bucket owner condition, which moto ignores.

moto 5.2.5 accepts any `x-amz-expected-bucket-owner` (HeadBucket and PutObject answer 200 for a
wrong account), so against moto alone a deploy into another account's bucket cannot fail. This
proxy forwards every request to moto unchanged and adds only that one check, as the S3 User Guide
("Verifying bucket ownership with bucket owner condition") documents it: when the header names an
account other than the bucket's owner, the request fails with HTTP 403 Forbidden, error code
AccessDenied (a HEAD response has no body).

What it cannot show: which account really owns a bucket (the test says it, with --owner), S3's
other reasons for a 403, or anything of real S3 beyond this header. It logs every request it saw
(method, bucket, the header's value, the answer) as JSON lines, so the test can also assert that
deploy.sh sent the header on each call.

  s3_owner_proxy.py --upstream http://127.0.0.1:PORT --port-file F --log F [--owner BUCKET=ACCOUNT]...
"""

import argparse
import http.client
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ACCOUNT = "123456789012"  # moto's account
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--owner", action="append", default=[], help="BUCKET=ACCOUNT (others: moto's account)")
    a = ap.parse_args()
    owners = dict(o.split("=", 1) for o in a.owner)
    up = urllib.parse.urlsplit(a.upstream)
    lock = threading.Lock()
    log = open(a.log, "a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def record(self, bucket, expected, status):
            with lock:
                log.write(json.dumps({"method": self.command, "bucket": bucket, "path": self.path.split("?")[0],
                                      "expected_bucket_owner": expected, "status": status}) + "\n")
                log.flush()

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            bucket = urllib.parse.urlsplit(self.path).path.lstrip("/").split("/", 1)[0]
            expected = self.headers.get("x-amz-expected-bucket-owner")
            if bucket and expected is not None and expected != owners.get(bucket, DEFAULT_ACCOUNT):
                payload = b"" if self.command == "HEAD" else (
                    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                    b"<Message>Access Denied</Message><RequestId>0000000000000000</RequestId></Error>")
                self.send_response(403)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                self.record(bucket, expected, 403)
                return
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()
            self.record(bucket, expected, resp.status)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(a.port_file, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
