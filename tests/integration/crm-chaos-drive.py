#!/usr/bin/env python3
"""crm-chaos-drive.py - the load, the fault schedule and the worker of
tests/integration/crm-chaos-test.sh.

    crm-chaos-drive.py --port P --fake URL --crm hubspot|salesforce
        --count N --concurrency C --rate R --timeout-ms MS --kills K
        --dir DIR [--seed S] -- WORKER-COMMAND...

Three things at once, keyed to the load's progress (the number of leads
answered so far), so that they land inside the load however fast or slow
the machine is:

  - the load: N leads posted to lighttpd (/lead, JSON or form posts asking
    for JSON, each with its own Idempotency-Key and e-mail address) by C
    connections, at most R a second; a send that is not answered 200 is
    sent once more with the same key.  The leads vary domain, country,
    size and product so that every queue of rules/example.routes is used.
    About ten of them (N/100) carry an address the fake CRM is told to
    refuse for good (an invalid_email fault rule registered before the
    load): the permanent errors.
  - the fault schedule, through the fake's control API (/_fake/faults,
    /_fake/tokens/expire): the CRM down (connections refused, then reset),
    flapping (every k-th request 503 / 502), 429 with and without
    Retry-After, answers slower than the CRM timeout and slower but within
    it, 500s and hung answers, and for Salesforce expired sessions.  A
    step starts at its point of the load but never inside the step before
    (an outage or a rate-limit pause, when the CRM sees no request); each
    is a rule that ends by itself (for_ms / count); after the load every
    rule but the invalid_email ones is removed.
  - the worker: WORKER-COMMAND (`leadroute outbox run`) is started before
    the load, SIGKILLed K times at random points of the load (whatever it
    is doing then) and started again after a random pause.  A worker that had already exited by
    itself is recorded as such.

Files written in DIR: load.jsonl (one line a submission: i, key, email,
kind, permanent, status, lead_id, attempts, error), schedule.jsonl (each
step: t, at, name, rule ids), kills.jsonl (t, at, pid, was_running, rc),
permanent.txt (the refused addresses), worker.log (the workers' output),
worker.pid, and load.done once the load is over and the faults are
cleared.  Then it waits for SIGTERM (or SIGINT): it stops the worker with
SIGTERM (SIGKILL after --stop-seconds), writes worker.rc (its exit status,
128+N for a signal) and exits 0.  If it is stopped before that, the worker
is killed too: it never leaves a worker behind.  Loopback only.
"""
import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

T0 = time.monotonic()


def now():
    return round(time.monotonic() - T0, 3)


# ---------------------------------------------------------------- the leads

COUNTRIES = ["DE", "FR", "GB", "JP", "BR", "NL", "ES", "IT"]


def lead_fields(tag, i, permanent):
    """(kind, email, fields) of submission i"""
    kind = i % 10
    local = "%s-%s-%d" % ("reject" if permanent else "chaos", tag, i)
    f = {"first_name": "Chaos%d" % i, "last_name": "Lead%d" % i}
    if kind == 0:      # an owned account, a customer: account_owner (ana)
        kname, dom = "account_customer", "acme.example"
    elif kind == 1:    # an owned account, a prospect: account_owner (ben)
        kname, dom = "account_prospect", "globex.example"
    elif kind == 2:    # free mail: review (revops)
        kname, dom = "personal", "gmail.com"
    elif kind == 3:    # enterprise_us (or inbound outside its hours / over its cap)
        kname, dom = "enterprise_us", "big%d.example" % (i % 37)
        f.update(country="US", employees="%d" % (250 + i % 900))
    elif kind == 4:
        kname, dom = "enterprise_ca_mx", "grande%d.example" % (i % 29)
        f.update(country="CA" if i % 20 < 10 else "MX", employees="%d" % (300 + i % 500))
    elif kind == 5:    # plg_sales (pat, sam)
        kname, dom = "plg_product", "startup%d.example" % (i % 41)
        f["product"] = "PLG"
    elif kind == 6:
        kname, dom = "plg_plan", "team%d.example" % (i % 43)
        f["plan"] = "pro"
    else:              # inbound (sdr1, sdr2)
        kname, dom = "inbound", "co%d.example" % (i % 97)
        f["country"] = COUNTRIES[i % len(COUNTRIES)]
        if i % 3 == 0:
            f["employees"] = "%d" % (10 + i % 150)
    email = "%s@%s" % (local, dom)
    f["email"] = email
    f["company"] = "Company %s %d" % (dom.split(".")[0].capitalize(), i % 53)
    return kname, email, f


def send_once(port, key, i, fields):
    if i % 4 == 0:
        body = urllib.parse.urlencode(fields).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(fields).encode()
        ctype = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/lead", body=body, headers={
            "Content-Type": ctype, "Accept": "application/json",
            "Idempotency-Key": key, "Connection": "close"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status in (200, 303):
            try:
                return resp.status, json.loads(data)["lead_id"], None
            except (ValueError, KeyError, TypeError):
                return resp.status, None, "%d without a lead_id: %r" % (resp.status, data[:200])
        return resp.status, None, "HTTP %d: %r" % (resp.status, data[:200])
    except (OSError, http.client.HTTPException) as e:
        return 0, None, "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()


# ---------------------------------------------------------------- the fake

class Fake:
    def __init__(self, url, log):
        self.url = url.rstrip("/")
        self.log = log

    def ctl(self, method, path, body=None, patience=60):
        """The control API; waits out a window where the fake refuses
        connections (down mode refuse closes its one port)."""
        deadline = time.monotonic() + patience
        data = json.dumps(body).encode() if body is not None else None
        while True:
            req = urllib.request.Request(self.url + "/_fake" + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return json.loads(r.read() or b"null")
            except urllib.error.HTTPError as e:
                raise RuntimeError("fake %s %s: HTTP %d %s" % (method, path, e.code,
                                                               e.read()[:300]))
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def schedule_for(crm, timeout_ms):
    """[(fraction of the load answered, seconds, name, action)]: a step starts
    once that much of the load is answered and the step before has had its
    seconds (so that no step falls inside another's outage or pause, where
    the CRM sees no request).  An action is a list of fault rules, or
    "expire" (every session token issued so far expires)."""
    s = crm
    up = "contacts.upsert" if crm == "hubspot" else "lead.upsert"
    steps = [
        (0.04, 3.5, "down: connections refused for 3 s",
         [{"kind": "down", "mode": "refuse", "ms": 3000}]),
        (0.10, 3, "down: every connection reset for 3 s",
         [{"kind": "down", "surface": s, "ms": 3000}]),
        (0.16, 5, "flapping: every 3rd request 503 for 5 s",
         [{"kind": "status", "status": 503, "every": 3, "for_ms": 5000, "surface": s}]),
    ]
    if crm == "hubspot":
        steps += [
            (0.26, 4, "429 with Retry-After: 2 on two writes",
             [{"kind": "rate_limit", "surface": s, "route": up, "retry_after": 2, "count": 2,
               "every": 3}]),
            (0.32, 11, "429 without Retry-After on one write (TEN_SECONDLY_ROLLING: "
                       "every process waits 10 s)",
             [{"kind": "rate_limit", "surface": s, "route": up, "count": 1}]),
        ]
    else:
        steps += [
            (0.24, 1, "session expired (every token issued so far)", "expire"),
            (0.26, 4, "429 with Retry-After: 2 on two writes",
             [{"kind": "status", "status": 429, "surface": s, "route": up, "retry_after": 2,
               "count": 2, "every": 3}]),
            (0.32, 3, "429 without Retry-After on three writes",
             [{"kind": "status", "status": 429, "surface": s, "route": up, "count": 3,
               "every": 2}]),
        ]
    steps += [
        (0.40, 4, "slow: every answer %d ms late (within the timeout) for 4 s" % (timeout_ms // 2),
         [{"kind": "latency", "ms": timeout_ms // 2, "for_ms": 4000, "surface": s}]),
        (0.48, 4, "slow: every 2nd write %d ms late (past the timeout: the answer is lost "
                  "after the write) for 4 s" % (timeout_ms + 1000),
         [{"kind": "latency", "ms": timeout_ms + 1000, "every": 2, "route": up,
           "for_ms": 4000, "surface": s}]),
        (0.56, 4, "every 4th request 500 for 4 s, and two hung writes",
         [{"kind": "status", "status": 500, "every": 4, "for_ms": 4000, "surface": s},
          {"kind": "hang", "hang_ms": 4000, "count": 2, "route": up, "surface": s}]),
    ]
    if crm == "salesforce":
        steps.append((0.64, 1, "session expired again", "expire"))
    steps.append((0.66, 3, "flapping: every 2nd request a 502 HTML page for 3 s",
                  [{"kind": "status", "status": 502, "html": True, "every": 2,
                    "for_ms": 3000, "surface": s}]))
    steps += [
        (0.74, 3.5, "down again: connections refused for 3 s",
         [{"kind": "down", "mode": "refuse", "ms": 3000}]),
        (0.82, 3, "every 5th request reset for 3 s",
         [{"kind": "reset", "every": 5, "for_ms": 3000, "surface": s}]),
    ]
    if crm == "salesforce":
        steps.append((0.88, 1, "session expired a third time", "expire"))
    return steps


# ---------------------------------------------------------------- the worker

class Worker:
    def __init__(self, cmd, d):
        self.cmd = cmd
        self.dir = d
        self.proc = None
        self.lock = threading.Lock()
        self.log = open(os.path.join(d, "worker.log"), "ab")
        self.starts = 0

    def start(self):
        with self.lock:
            self.log.write(b"---- worker start %d at %.3f s\n" % (self.starts + 1, now()))
            self.log.flush()
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            self.starts += 1
            tmp = os.path.join(self.dir, "worker.pid.tmp")
            with open(tmp, "w") as f:
                f.write("%d\n" % self.proc.pid)
            os.replace(tmp, os.path.join(self.dir, "worker.pid"))

    def kill(self):
        """SIGKILL; (pid, was running, exit status if it had exited by itself)"""
        with self.lock:
            p = self.proc
            rc = p.poll()
            if rc is not None:
                return p.pid, False, rc
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.log.write(b"---- worker %d SIGKILLed at %.3f s\n" % (p.pid, now()))
            self.log.flush()
            return p.pid, True, None

    def stop(self, seconds):
        """SIGTERM, then SIGKILL after `seconds`: the exit status (128+N: signal N)"""
        with self.lock:
            p = self.proc
            if p is None:
                return None
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(seconds)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            rc = p.returncode
            return 128 - rc if rc < 0 else rc


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fake", required=True)
    ap.add_argument("--crm", choices=("hubspot", "salesforce"), required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=6)
    ap.add_argument("--rate", type=float, default=20.0, help="leads a second at most")
    ap.add_argument("--timeout-ms", type=int, default=1500)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--stop-seconds", type=float, default=30)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pause-cmd", default=None,
                    help="a shell command printing the CRM's pause end (ms since the epoch, "
                         "0: none); no step starts while the CRM is paused")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("worker", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.worker[1:] if a.worker[:1] == ["--"] else a.worker
    if not cmd:
        ap.error("the worker command goes after --")
    d = a.dir
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
    print("crm-chaos-drive: random seed %d (--seed %d repeats the kill points)" % (seed, seed),
          flush=True)
    rnd = random.Random(seed)
    tag = "hs" if a.crm == "hubspot" else "sf"
    fake = Fake(a.fake, None)
    worker = Worker(cmd, d)

    stop = threading.Event()

    def on_signal(sig, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    n = a.count
    # about ten permanent errors in 1,000, spread over the load
    n_perm = max(1, n // 100)
    # (and over the kinds of lead: i % 10 picks the kind)
    permanent = {min(n - 1, (k * n) // n_perm + (n // n_perm) // 2 + k % 10)
                 for k in range(n_perm)}
    subs = {}
    for i in range(n):
        kind, email, fields = lead_fields(tag, i, i in permanent)
        subs[i] = (kind, email, fields)
    with open(os.path.join(d, "permanent.txt"), "w") as f:
        for i in sorted(permanent):
            f.write(subs[i][1] + "\n")
    fake.ctl("POST", "/faults", [{"kind": "invalid_email", "surface": a.crm, "email": subs[i][1]}
                                 for i in sorted(permanent)])

    try:
        return run(a, d, rnd, tag, fake, worker, stop, n, permanent, subs)
    finally:
        # never leave a worker behind, whatever happened
        rc = worker.stop(a.stop_seconds)
        with open(os.path.join(d, "worker.rc"), "w") as f:
            f.write("%s\n" % rc)


def run(a, d, rnd, tag, fake, worker, stop, n, permanent, subs):
    worker.start()
    sched = schedule_for(a.crm, a.timeout_ms)
    kill_at = sorted(rnd.uniform(0.08, 0.92) for _ in range(a.kills))
    results = {}
    lock = threading.Lock()
    progress = threading.Condition(lock)
    it = iter(range(n))
    start = time.monotonic()
    failures = []

    def sender():
        while not stop.is_set():
            with lock:
                i = next(it, None)
            if i is None:
                return
            wait = start + i / a.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            kind, email, fields = subs[i]
            key = "chaos-%s-%06d" % (tag, i)
            status, lead_id, err = send_once(a.port, key, i, fields)
            attempts = 1
            if status not in (200, 303):
                time.sleep(0.5)
                first = err
                status, lead_id, err2 = send_once(a.port, key, i, fields)
                attempts = 2
                err = "%s; then %s" % (first, err2 or status)
            with lock:
                results[i] = {"i": i, "key": key, "email": email, "kind": kind,
                              "permanent": i in permanent, "status": status,
                              "lead_id": lead_id, "attempts": attempts, "error": err}
                progress.notify_all()

    sched_log = open(os.path.join(d, "schedule.jsonl"), "w")
    kills_log = open(os.path.join(d, "kills.jsonl"), "w")

    def reached(frac):
        """wait until that much of the load is answered (or all of it)"""
        with lock:
            while len(results) < frac * n and len(results) < n and not stop.is_set():
                progress.wait(0.5)
            return len(results)

    def conductor():
        try:
            not_before = 0.0
            for frac, secs, name, act in sched:
                reached(frac)
                while time.monotonic() < not_before and not stop.is_set():
                    time.sleep(0.05)
                # a step that began while every process holds off the paused
                # CRM (a 429, or 5 s after it stopped answering) would play
                # to nobody
                while a.pause_cmd and not stop.is_set():
                    out = subprocess.run(a.pause_cmd, shell=True, capture_output=True,
                                         text=True, timeout=30).stdout.strip()
                    until = int(out or "0")
                    if until <= time.time() * 1000:
                        break
                    time.sleep(min(0.2 + (until - time.time() * 1000) / 1000.0, 11))
                if stop.is_set():
                    return
                with lock:
                    at = len(results)
                if act == "expire":
                    r = fake.ctl("POST", "/tokens/expire", {"surface": a.crm})
                    rec = {"ids": [], "expired": r.get("expired")}
                else:
                    r = fake.ctl("POST", "/faults", act)
                    rec = {"ids": r["ids"]}
                not_before = time.monotonic() + secs
                rec.update(t=now(), at=at, name=name)
                sched_log.write(json.dumps(rec) + "\n")
                sched_log.flush()
                print("crm-chaos-drive: %7.3f s, %4d answered: %s" % (now(), at, name),
                      flush=True)
        except Exception as e:   # the test sees the missing steps
            failures.append("conductor: %s: %s" % (type(e).__name__, e))
            print("crm-chaos-drive: conductor failed: %s" % e, flush=True)

    def killer():
        for frac in kill_at:
            at = reached(frac)
            if stop.is_set():
                return
            pid, running, rc = worker.kill()
            pause = rnd.uniform(0.2, 1.5)
            kills_log.write(json.dumps({"t": now(), "at": at, "pid": pid,
                                        "was_running": running, "rc": rc,
                                        "restart_after_s": round(pause, 2)}) + "\n")
            kills_log.flush()
            print("crm-chaos-drive: %7.3f s, %4d answered: worker %d SIGKILLed%s; restart in "
                  "%.1f s" % (now(), at, pid, "" if running else
                              " (it had exited by itself: %s)" % rc, pause), flush=True)
            time.sleep(pause)
            worker.start()

    cond = threading.Thread(target=conductor)
    cond.start()
    kt = threading.Thread(target=killer)
    kt.start()
    threads = [threading.Thread(target=sender) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with lock:
        progress.notify_all()
    cond.join()
    kt.join()
    took = time.monotonic() - start

    with open(os.path.join(d, "load.jsonl"), "w") as f:
        for i in sorted(results):
            f.write(json.dumps(results[i]) + "\n")
    # the chaos is over: every rule but the permanent refusals goes
    try:
        for r in fake.ctl("GET", "/faults")["faults"]:
            if r["kind"] != "invalid_email":
                fake.ctl("DELETE", "/faults/%d" % r["id"])
        fake.ctl("GET", "/health")
    except Exception as e:
        failures.append("clearing the faults: %s" % e)
    acked = sum(1 for r in results.values() if r["status"] in (200, 303))
    print("crm-chaos-drive: sent %d, answered %d (%d only on the second try), permanent %d, "
          "worker kills %d, %.1f s" % (len(results), acked,
                                       sum(1 for r in results.values() if r["attempts"] == 2),
                                       len(permanent), len(kill_at), took), flush=True)
    for msg in failures:
        print("crm-chaos-drive: ERROR " + msg, flush=True)
    with open(os.path.join(d, "load.done"), "w") as f:
        f.write("%s\n" % ("failed" if failures else "ok"))

    # the worker keeps going until the test has seen the outbox drained
    while not stop.is_set():
        stop.wait(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
