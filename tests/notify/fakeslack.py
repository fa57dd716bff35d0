#!/usr/bin/env python3
"""fakeslack.py - a stand-in for Slack's incoming webhooks, for notify-test.sh.

    fakeslack.py PORTFILE LOG

Listens on a free loopback port (written to PORTFILE) and answers POSTs to
/services/MODE/... as Slack does (../shared reference, section 4: plain-text
answers with these statuses):

    ok                  200 ok, after checking the payload as Slack does:
                        JSON object, Content-Type application/json, `text`
                        or `blocks`, section and context texts of at most
                        3000 characters, at most 50 blocks
                        (400 invalid_payload / no_text / invalid_blocks)
    invalid_payload     400 invalid_payload
    user_not_found      400 user_not_found
    action_prohibited   403 action_prohibited
    invalid_token       403 invalid_token
    channel_not_found   404 channel_not_found
    no_service          404 no_service
    channel_is_archived 410 channel_is_archived
    rollup_error        500 rollup_error
    ratelimited         429 rate_limited with Retry-After: 7
    slow                sleeps 5 s, then 200 ok
    redirect            302 to another URL

Every request is appended to LOG as one JSON line: path, mode, status, the
Content-Type, and the body (parsed JSON, or the raw text when it is not).
Python standard library only; never listens beyond 127.0.0.1.
"""
import http.server
import json
import sys
import threading
import time

STATUS = {
    "invalid_payload": 400, "user_not_found": 400, "action_prohibited": 403,
    "invalid_token": 403, "channel_not_found": 404, "no_service": 404,
    "channel_is_archived": 410, "rollup_error": 500,
}
LOCK = threading.Lock()


def check_payload(ctype, raw):
    """What Slack would answer to this body in ok mode: (status, text)."""
    if not ctype.startswith("application/json"):
        return 400, "invalid_payload"
    try:
        msg = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return 400, "invalid_payload"
    if not isinstance(msg, dict):
        return 400, "invalid_payload"
    blocks = msg.get("blocks")
    if not msg.get("text") and not blocks:
        return 400, "no_text"
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > 50:
            return 400, "invalid_blocks"
        for b in blocks:
            texts = []
            if b.get("type") == "section":
                texts.append(b.get("text", {}).get("text", ""))
            elif b.get("type") == "context":
                texts.extend(e.get("text", "") for e in b.get("elements", []))
            else:
                return 400, "invalid_blocks"
            if any(not t or len(t) > 3000 for t in texts):
                return 400, "invalid_blocks"
    return 200, "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, text, headers=()):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        parts = self.path.split("/")
        mode = parts[2] if len(parts) > 3 and parts[1] == "services" else "?"
        ctype = self.headers.get("Content-Type") or ""
        headers = ()
        if mode == "ok":
            status, text = check_payload(ctype, raw)
        elif mode == "slow":
            time.sleep(5)
            status, text = 200, "ok"
        elif mode == "ratelimited":
            status, text, headers = 429, "rate_limited", (("Retry-After", "7"),)
        elif mode == "redirect":
            status, text, headers = 302, "", (("Location", "http://127.0.0.1:1/elsewhere"),)
        elif mode in STATUS:
            status, text = STATUS[mode], mode
        else:
            status, text = 404, "no_service"
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = raw.decode("utf-8", "replace")
        with LOCK, open(sys.argv[2], "a", encoding="utf-8") as log:
            log.write(json.dumps({"path": self.path, "mode": mode, "status": status,
                                  "content_type": ctype,
                                  "body": body}) + "\n")
        self.answer(status, text, headers)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
