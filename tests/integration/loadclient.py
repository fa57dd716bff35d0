#!/usr/bin/env python3
"""loadclient.py - submit many leads concurrently, optionally killing
handler processes while it does, and record what was acknowledged.

    loadclient.py --port P --count N --concurrency C --out FILE
                  [--kill-exe PATH --kill-every N] [--tag T]
                  [--retry-file FILE]

Lead i is a JSON post (every fourth a form post asking for JSON) with its
own e-mail address and the Idempotency-Key "<tag>-<i>".  A send that fails
(no answer, or any status but 200) is retried once with the same key.
With --kill-exe, a thread SIGKILLs a random process running that exact
executable each time another N submissions have been answered (the web
server respawns them), so the number of kills does not depend on the
machine's speed.  --retry-file FILE resends only the submissions listed in
FILE (one index a line) and nothing else.

Writes FILE: one JSON object a line, {"i", "key", "email", "status",
"lead_id", "attempts", "error"}; prints a summary line.  Loopback only.
"""
import argparse
import http.client
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.parse


def handler_pids(exe):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/exe" % d) == exe:
                pids.append(int(d))
        except OSError:
            pass
    return pids


def killer(exe, tick, stop, kills):
    rnd = random.Random()
    while True:
        tick.acquire()
        if stop.is_set():
            return
        pids = handler_pids(exe)
        if not pids:
            continue
        pid = rnd.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
            kills.append(pid)
        except ProcessLookupError:
            pass


def submission(tag, i):
    email = "load-%s-%d@co%d.example" % (tag, i, i % 97)
    fields = {"email": email, "first_name": "Load%d" % i, "company": "Co %d" % (i % 97)}
    kind = i % 8
    if kind == 1:
        fields.update(country="US", employees="500")
    elif kind == 2:
        fields["product"] = "PLG"
    elif kind == 3:
        fields["intent"] = "support"
    elif kind == 4:
        fields["email"] = email = "load-%s-%d@gmail.com" % (tag, i)
    elif kind == 5:
        fields["email"] = email = "load-%s-%d@acme.example" % (tag, i)
    return email, fields


def send_once(port, key, i, fields):
    if i % 4 == 0:
        body = urllib.parse.urlencode(fields).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(fields).encode()
        ctype = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/lead", body=body, headers={
            "Content-Type": ctype, "Accept": "application/json",
            "Idempotency-Key": key, "Connection": "close"})
        resp = conn.getresponse()
        data = resp.read()
        lead_id = None
        if resp.status == 200:
            try:
                lead_id = json.loads(data)["lead_id"]
            except (ValueError, KeyError, TypeError):
                return resp.status, None, "200 without a lead_id: %r" % data[:200]
        return resp.status, lead_id, None
    except (OSError, http.client.HTTPException) as e:
        return 0, None, "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default="k")
    ap.add_argument("--kill-exe")
    ap.add_argument("--kill-every", type=int, default=40)
    ap.add_argument("--retry-file")
    a = ap.parse_args()

    if a.retry_file:
        with open(a.retry_file) as f:
            todo = [int(x) for x in f.read().split()]
    else:
        todo = list(range(a.count))
    results = {}
    lock = threading.Lock()
    it = iter(todo)

    def worker():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            key = "%s-%06d" % (a.tag, i)
            email, fields = submission(a.tag, i)
            status, lead_id, err = send_once(a.port, key, i, fields)
            attempts = 1
            if status != 200:
                time.sleep(0.5)
                first = err or str(status)
                status, lead_id, err2 = send_once(a.port, key, i, fields)
                attempts = 2
                err = "%s; then %s" % (first, err2 or status)
            with lock:
                results[i] = {"i": i, "key": key, "email": email, "status": status,
                              "lead_id": lead_id, "attempts": attempts, "error": err}
                done = len(results)
            if a.kill_exe and done % a.kill_every == 0:
                tick.release()

    stop = threading.Event()
    tick = threading.Semaphore(0)
    kills = []
    kt = None
    if a.kill_exe:
        kt = threading.Thread(target=killer, args=(a.kill_exe, tick, stop, kills))
        kt.start()
    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    tick.release()
    if kt:
        kt.join()
    took = time.time() - t0
    with open(a.out, "w") as f:
        for i in sorted(results):
            f.write(json.dumps(results[i]) + "\n")
    acked = sum(1 for r in results.values() if r["status"] == 200)
    retried = sum(1 for r in results.values() if r["attempts"] == 2)
    causes = {}
    for r in results.values():
        if r["attempts"] == 2:
            c = (r["error"] or "").split(";")[0].split(":")[0]
            causes[c] = causes.get(c, 0) + 1
    print("loadclient: sent %d, acknowledged %d, retried %d, failed twice %d, "
          "handler processes killed %d, %.1f s" % (len(results), acked, retried,
                                                    len(results) - acked, len(kills), took))
    if causes:
        print("loadclient: first failures: " + ", ".join(
            "%s x%d" % (c, n) for c, n in sorted(causes.items(), key=lambda x: -x[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
