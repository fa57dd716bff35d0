#!/usr/bin/env python3
"""slowpost.py - one HTTP POST to a loopback server, its body in two halves.

    slowpost.py --port P --path PATH --content-type T --body-file FILE
                --split N --ready FILE --go FILE --out FILE
                [--header "Name: value" ...] [--timeout SECONDS]

Sends the request line, the headers (Host, the true Content-Length,
Connection: close, the --header lines) and the first N bytes of the body;
creates FILE --ready; waits until FILE --go exists; sends the rest; reads
the answer until the server closes the connection.  A socket error at any
point ends the exchange and is recorded.

Writes FILE --out, one JSON object: connected, error (the first socket
error or null), rest_sent (the second half went out), received (bytes),
status (0 when no status line came back), headers (lower-case names),
body.  Exit status 0 when the file was written.  Loopback only.
"""
import argparse
import json
import os
import socket
import sys
import time


def touch(path):
    with open(path, "w"):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--content-type", required=True)
    ap.add_argument("--body-file", required=True)
    ap.add_argument("--split", type=int, required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--go", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()

    with open(a.body_file, "rb") as f:
        body = f.read()
    split = max(0, min(a.split, len(body)))
    head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\nContent-Length: %d\r\n" \
           "Connection: close\r\n" % (a.path, a.port, a.content_type, len(body))
    for h in a.header:
        head += h + "\r\n"
    head += "\r\n"

    deadline = time.monotonic() + a.timeout
    res = {"connected": False, "error": None, "rest_sent": False, "received": 0,
           "status": 0, "headers": {}, "body": ""}
    got = b""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect(("127.0.0.1", a.port))
        res["connected"] = True
        s.sendall(head.encode("latin-1") + body[:split])
        touch(a.ready)
        while not os.path.exists(a.go):
            if time.monotonic() > deadline:
                raise TimeoutError("timed out waiting for %s" % a.go)
            time.sleep(0.02)
        s.sendall(body[split:])
        res["rest_sent"] = True
        while True:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (OSError, TimeoutError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()
        if not os.path.exists(a.ready):
            touch(a.ready)
    res["received"] = len(got)
    head_b, sep, body_b = got.partition(b"\r\n\r\n")
    lines = head_b.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if sep and len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
        res["status"] = int(parts[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            res["headers"][name.strip().lower()] = value.strip()
        res["body"] = body_b.decode("utf-8", "replace")
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f)
        f.write("\n")
    os.rename(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
