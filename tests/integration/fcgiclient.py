#!/usr/bin/env python3
"""fcgiclient.py - one FastCGI request to a responder on a Unix socket,
spoken directly (the web server's side of the protocol), optionally in
two halves.

    fcgiclient.py --socket PATH --out FILE [--param NAME=VALUE ...]
                  [--body-file FILE] [--split N --ready FILE --go FILE]
                  [--sent FILE] [--timeout SECONDS]

Sends BEGIN_REQUEST (role RESPONDER, no keep-conn), the PARAMS stream
(CONTENT_LENGTH is the body's length unless a --param gives it) and the
STDIN stream; then reads STDOUT, STDERR and END_REQUEST until the
responder closes the connection.  With --split N the first N bytes of the
body go out, FILE --ready is created, and the rest waits until FILE --go
exists.  --sent FILE is created once the whole request is out.

Writes FILE --out, one JSON object:
  connected        the connection was made
  error            the first socket error, or null
  received         bytes received in all
  stdout, stderr   the streams' bytes (latin-1 text)
  stdout_closed    the empty STDOUT record that ends the stream arrived
  end_request      END_REQUEST arrived; app_status, protocol_status
  complete         all of stdout_closed, end_request, protocol status 0,
                   and a header block with a Status line
  status, headers, body   the parsed answer (status 0 when none)
Exit status 0 when the file was written (whatever the answer), 2 on
usage errors.  Standard library only; the socket is a local path.
"""
import argparse
import json
import os
import socket
import struct
import sys
import time

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
RESPONDER = 1
REQUEST_ID = 1


def record(rtype, content=b""):
    """One record (content of at most 65535 bytes), padded to 8 bytes."""
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", VERSION, rtype, REQUEST_ID, len(content), pad) + content + b"\0" * pad


def stream(rtype, data):
    """A stream: its bytes in records, then the empty record that ends it."""
    out = b""
    for i in range(0, len(data), 32768):
        out += record(rtype, data[i:i + 32768])
    return out + record(rtype)


def pair_len(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def name_values(params):
    out = b""
    for name, value in params:
        n, v = name.encode(), value.encode()
        out += pair_len(len(n)) + pair_len(len(v)) + n + v
    return out


def wait_for(path, deadline):
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for %s" % path)
        time.sleep(0.02)


def touch(path):
    if path:
        with open(path, "w"):
            pass


def parse_answer(res):
    raw = res["stdout"].encode("latin-1")
    res["status"], res["headers"], res["body"] = 0, {}, ""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            return False
        headers[name.strip().lower()] = value.strip()
    status = headers.get("status", "")
    if not status[:3].isdigit():
        return False
    res["status"] = int(status[:3])
    res["headers"] = headers
    res["body"] = body.decode("utf-8", "replace")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--body-file")
    ap.add_argument("--split", type=int)
    ap.add_argument("--ready")
    ap.add_argument("--go")
    ap.add_argument("--sent")
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    if a.split is not None and not (a.ready and a.go):
        ap.error("--split needs --ready and --go")

    body = b""
    if a.body_file:
        with open(a.body_file, "rb") as f:
            body = f.read()
    params = []
    for p in a.param:
        name, eq, value = p.partition("=")
        if not eq:
            ap.error("--param %r is not NAME=VALUE" % p)
        params.append((name, value))
    if not any(n == "CONTENT_LENGTH" for n, _ in params):
        params.append(("CONTENT_LENGTH", str(len(body))))

    deadline = time.monotonic() + a.timeout
    res = {"connected": False, "error": None, "received": 0, "stdout": "", "stderr": "",
           "stdout_closed": False, "end_request": False, "app_status": None,
           "protocol_status": None, "complete": False}
    out_b, err_b = b"", b""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect(a.socket)
        res["connected"] = True
        first = record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, 0))
        first += stream(PARAMS, name_values(params))
        split = len(body) if a.split is None else max(0, min(a.split, len(body)))
        for i in range(0, split, 32768):
            first += record(STDIN, body[i:min(i + 32768, split)])
        s.sendall(first)
        if a.split is not None:
            touch(a.ready)
            wait_for(a.go, deadline)
        s.sendall(stream(STDIN, body[split:]))
        touch(a.sent)
        buf = b""
        while True:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            res["received"] += len(chunk)
            buf += chunk
            while len(buf) >= 8:
                ver, rtype, rid, clen, plen = struct.unpack(">BBHHBx", buf[:8])
                if len(buf) < 8 + clen + plen:
                    break
                content = buf[8:8 + clen]
                buf = buf[8 + clen + plen:]
                if rtype == STDOUT:
                    if clen == 0:
                        res["stdout_closed"] = True
                    out_b += content
                elif rtype == STDERR:
                    err_b += content
                elif rtype == END_REQUEST and clen >= 5:
                    res["end_request"] = True
                    res["app_status"], res["protocol_status"] = struct.unpack(">IB", content[:5])
    except (OSError, TimeoutError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()
        # --ready appears even after an error: the test never waits in vain
        touch(a.ready)
    res["stdout"] = out_b.decode("latin-1")
    res["stderr"] = err_b.decode("latin-1")
    parsed = parse_answer(res)
    res["complete"] = bool(parsed and res["stdout_closed"] and res["end_request"]
                           and res["protocol_status"] == 0)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f)
        f.write("\n")
    os.rename(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
