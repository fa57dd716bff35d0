#!/usr/bin/env python3
"""webhook-receiver - a webhook receiver for webhook-test.sh (stdlib only).

It verifies each request the way doc/crm.md tells receivers to (timestamp
within 5 minutes, HMAC-SHA256 of "<timestamp>.<raw body>" under the shared
secret compared in constant time, dedupe on Idempotency-Key) and records
every request as one JSON line in LOG.  The query string picks the answer,
so one receiver serves every case:
    status=N        answer N (default 200, with {"id": "wh-<key>"})
    retry_after=S   add Retry-After: S
    sleep_ms=N      wait N ms before answering
    reset=1         close the connection without an answer
    location=PATH   add Location: PATH (for 3xx)

usage: webhook-receiver.py SECRET PORT-FILE LOG
Listens on 127.0.0.1, a free port written to PORT-FILE.  Never prints the
secret or a signature.
"""
import hashlib
import hmac
import http.server
import json
import os
import socket
import sys
import time
import urllib.parse

SECRET, PORT_FILE, LOG = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
SKEW = 300
seen = set()


def verify(headers, body):
    """(verified, reason) for one request, as doc/crm.md describes."""
    ts = headers.get("Leadroute-Timestamp", "")
    sig = headers.get("Leadroute-Signature", "")
    if not ts.isdigit():
        return False, "no timestamp"
    if abs(time.time() - int(ts)) > SKEW:
        return False, "timestamp too far from now"
    if not sig.startswith("v1="):
        return False, "no v1 signature"
    want = hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig[3:]):
        return False, "signature mismatch"
    return True, "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ok, reason = verify(self.headers, body)
        key = self.headers.get("Idempotency-Key", "")
        try:
            lead_id = json.loads(body).get("lead_id")
        except ValueError:
            lead_id = None
        repeat = ok and key in seen
        rec = {"path": url.path, "query": q, "verified": ok, "reason": reason, "key": key,
               "lead_id": lead_id, "repeat": repeat, "body": body.decode("utf-8", "replace"),
               "content_type": self.headers.get("Content-Type", ""),
               "has_authorization": "Authorization" in self.headers}
        with open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if q.get("sleep_ms"):
            time.sleep(int(q["sleep_ms"]) / 1000)
        if q.get("reset") == "1":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        if not ok:
            self.answer(401, {"error": "bad signature: " + reason})
            return
        status = int(q.get("status", "200"))
        if 200 <= status < 300:
            seen.add(key)
            self.answer(status, {"id": "wh-" + key, "repeat": repeat}, q)
        else:
            self.answer(status, {"error": "receiver says %d" % status}, q)

    def answer(self, status, obj, q=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if q and q.get("retry_after"):
            self.send_header("Retry-After", q["retry_after"])
        if q and q.get("location"):
            self.send_header("Location", q["location"])
        self.end_headers()
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))

os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
