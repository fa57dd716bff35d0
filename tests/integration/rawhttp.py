#!/usr/bin/env python3
"""rawhttp.py - send bytes to an HTTP server exactly as they are.

    rawhttp.py HOST PORT FILE [--timeout S] [--half-close] [--pieces N]

Sends FILE's bytes unchanged (malformed requests are the point), then reads
until the server closes the connection or S seconds (default 5) pass with
nothing new, and prints what came back with CR LF turned into LF.  Prints
nothing when the server answered nothing.  --half-close shuts the sending
side after the request (the server sees EOF); --pieces N sends the request
in N parts with a short pause between them.  Loopback use only.
"""
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.stderr.write(__doc__)
        return 2
    host, port, path = args[0], int(args[1]), args[2]
    timeout, half, pieces = 5.0, False, 1
    i = 3
    while i < len(args):
        if args[i] == "--timeout":
            timeout = float(args[i + 1])
            i += 2
        elif args[i] == "--half-close":
            half = True
            i += 1
        elif args[i] == "--pieces":
            pieces = max(1, int(args[i + 1]))
            i += 2
        else:
            sys.stderr.write("rawhttp.py: unknown option %s\n" % args[i])
            return 2
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.stderr.write("rawhttp.py: loopback only\n")
        return 2
    with open(path, "rb") as f:
        data = f.read()
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        step = max(1, (len(data) + pieces - 1) // pieces)
        for off in range(0, len(data), step):
            try:
                s.sendall(data[off:off + step])
            except (BrokenPipeError, ConnectionResetError):
                break
            if pieces > 1:
                time.sleep(0.05)
        if half:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, OSError):
                break
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    sys.stdout.buffer.write(got.replace(b"\r\n", b"\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
