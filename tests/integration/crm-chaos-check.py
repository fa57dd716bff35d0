#!/usr/bin/env python3
"""crm-chaos-check.py - the verdict of tests/integration/crm-chaos-test.sh
for one CRM.

    crm-chaos-check.py DIR CRM SEED TIMEOUT_MS KILLS

DIR holds what the test collected: the driver's load.jsonl, kills.jsonl,
schedule.jsonl, permanent.txt, worker.log; the database's leads, outbox
and events (db-*.json, sqlite3 -json); `leadroute outbox list` pending
and dead (pending.json, dead.json); the fake's records (records.json) and
its request log (fake/requests.jsonl).  Prints one "ok   ..." or
"FAIL ..." line per check and "counts: ..." lines.
"""
import collections
import json
import os
import re
import sys

d, crm, seed_path, timeout_ms, kills_wanted = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4]), int(sys.argv[5])


def jl(name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(x) for x in f if x.strip()]


def js(name, default=None):
    p = os.path.join(d, name)
    try:
        with open(p) as f:
            txt = f.read()
    except OSError:
        return default
    return json.loads(txt) if txt.strip() else default


out = []


def verdict(ok, what, detail=None):
    line = ("ok   " if ok else "FAIL ") + what
    if not ok and detail:
        line += "; " + detail
    out.append(line)


def some(xs, n=5):
    xs = list(xs)
    return "%s%s" % (xs[:n], " and %d more" % (len(xs) - n) if len(xs) > n else "")


load = jl("load.jsonl")
kills = jl("kills.jsonl")
steps = jl("schedule.jsonl")
with open(os.path.join(d, "permanent.txt")) as f:
    perm_emails = {x.strip().lower() for x in f if x.strip()}
leads = js("db-leads.json", [])
outbox = js("db-outbox.json", [])
events = js("db-events.json", [])
pending = js("pending.json", None)
dead_list = js("dead.json", [])
records = js("records.json", {})
reqs = jl("fake/requests.jsonl")
with open(seed_path) as f:
    seed = json.load(f)

# ---- the load ----
acked = [r for r in load if r["status"] in (200, 303) and r["lead_id"]]
verdict(len(load) > 0 and len(acked) == len(load),
        "every one of the %d leads was answered 200 with a lead id (%d were, %d on the second try)"
        % (len(load), len(acked), sum(1 for r in acked if r["attempts"] == 2)),
        "not answered: %s" % some((r["i"], r["error"]) for r in load if r not in acked))
verdict(len(kills) == kills_wanted and all(k["was_running"] for k in kills),
        "the worker was SIGKILLed %d times while running, and restarted (%d kills recorded)"
        % (kills_wanted, len(kills)),
        "exited by itself before a kill: %s" % some((k["pid"], k["rc"]) for k in kills
                                                     if not k["was_running"]))

# ---- the database ----
by_id = collections.defaultdict(list)
for l in leads:
    by_id[l["id"]].append(l)
wrong = [r["lead_id"] for r in acked
         if len(by_id.get(r["lead_id"], [])) != 1 or by_id[r["lead_id"]][0]["idem_key"] != r["key"]
         or (by_id[r["lead_id"]][0]["email"] or "").lower() != r["email"].lower()]
verdict(not wrong, "every answered lead id is stored exactly once, under its key, with its email",
        "missing, repeated or different: %s" % some(wrong))
verdict(len(leads) == len(acked), "nothing else is stored (%d leads in the database)" % len(leads))

ob_by_lead = collections.defaultdict(list)
for o in outbox:
    ob_by_lead[o["lead_id"]].append(o)
ids = [r["lead_id"] for r in acked]
perm_ids = {r["lead_id"] for r in acked if r["email"].lower() in perm_emails}
good_ids = [i for i in ids if i not in perm_ids]
not_one = [i for i in ids if len(ob_by_lead.get(i, [])) != 1]
verdict(not not_one and len(outbox) == len(ids), "each lead has exactly one outbox row (%d rows)"
        % len(outbox), "not one: %s" % some(not_one))
verdict(pending == [], "`leadroute outbox list --state pending --json` is empty",
        "pending: %s" % some((p["lead_id"], p["attempts"], p["last_error"]) for p in (pending or [])))
states = collections.Counter(o["state"] for o in outbox)
dead_ids = {o["lead_id"] for o in outbox if o["state"] == "dead"}
verdict(len(perm_ids) == len(perm_emails) and dead_ids == perm_ids,
        "exactly the %d leads the CRM refuses for good are dead-lettered (%d dead)"
        % (len(perm_emails), len(dead_ids)),
        "dead but not refused: %s; refused but not dead: %s" % (
            some((i, ob_by_lead[i][0]["last_error"]) for i in dead_ids - perm_ids),
            some(perm_ids - dead_ids)))
words = ("VALIDATION_ERROR", "INVALID_EMAIL") if crm == "hubspot" else \
    ("INVALID_EMAIL_ADDRESS", "invalid email address")
badmsg = [(o["lead_id"], o["last_error"], o["http_status"]) for o in outbox
          if o["state"] == "dead" and (o["http_status"] != 400
                                       or not all(w in (o["last_error"] or "") for w in words))]
verdict(dead_ids and not badmsg,
        "each dead letter holds the CRM's 400 and its words (%s)" % " / ".join(words),
        some(badmsg, 3))
listed_dead = {x["lead_id"] for x in dead_list}
verdict(listed_dead == dead_ids, "`leadroute outbox list --state dead` lists them (%d)"
        % len(listed_dead))
notdone = [(o["lead_id"], o["state"]) for o in outbox
           if o["lead_id"] not in perm_ids and (o["state"] != "done" or not o["record_id"])]
verdict(not notdone and states["done"] == len(good_ids),
        "every other row is done with the CRM's record id (%d done)" % states["done"],
        some(notdone))
crm_status = collections.Counter(
    (l["crm_status"], l["id"] in perm_ids) for l in leads)
verdict(crm_status[("written", False)] == len(good_ids) and
        crm_status[("failed", True)] == len(perm_ids),
        "each lead's crm_status is written, or failed for the refused ones",
        "%s" % dict(crm_status))

ev = collections.defaultdict(collections.Counter)
ev_data = collections.defaultdict(list)
for e in events:
    typ = e["type"]
    data = json.loads(e["data"]) if e.get("data") else {}
    if typ == "alert":
        typ = "alert:" + str(data.get("alert"))
    ev[e["lead_id"]][typ] += 1
    ev_data[typ].append((e["lead_id"], data))
bad_ev = []
for i in ids:
    c = ev[i]
    want_dead = 1 if i in perm_ids else 0
    if c["dead_lettered"] != want_dead or c["alert:crm_dead_letter"] > want_dead or \
            c["crm_write_success"] != 1 - want_dead:
        bad_ev.append((i, dict(c)))
others = [t for i, c in ev.items() for t in c if i not in by_id and i is not None]
verdict(not bad_ev and not others,
        "events: one crm_write_success per delivered lead; one dead_lettered per refused "
        "lead and no crm_dead_letter alert about any other",
        "%s %s" % (some(bad_ev, 3), some(others, 3)))
alerts = [d2 for _, d2 in ev_data["alert:crm_dead_letter"]]
held = sum(r["suppressed"] for r in js("db-alert-state.json", []) if r["kind"] == "crm_dead_letter")
raised_and_held = len(alerts) + sum(a.get("suppressed", 0) for a in alerts) + held
verdict(alerts and raised_and_held == len(perm_ids),
        "dead-letter alerts are rate-limited: %d raised, %d held back, one per refused lead"
        % (len(alerts), raised_and_held - len(alerts)),
        "raised %d, held %d, refused %d" % (len(alerts), raised_and_held - len(alerts),
                                            len(perm_ids)))
verdict(alerts and all(all(w in (a.get("error") or "") for w in words) and a.get("crm") == crm
                       for a in alerts),
        "the alerts name the CRM (%s) and carry its message" % crm)

# ---- the fake CRM ----
if crm == "hubspot":
    recs = records.get("contacts", [])
    rec_lead_id = [((r.get("properties") or {}).get("leadroute_id")) for r in recs]
    owner_of = {o["email"].lower(): str(o["hubspot_id"]) for o in seed["owners"]}
else:
    recs = records.get("leads", [])
    rec_lead_id = [r.get("external_id") for r in recs]
    owner_of = {o["email"].lower(): o["salesforce_id"] for o in records.get("owners", [])}
by_lid = collections.defaultdict(list)
by_email = collections.defaultdict(list)
for r, lid in zip(recs, rec_lead_id):
    by_lid[lid].append(r)
    by_email[(r.get("email") or "").lower()].append(r)
lead_of = {l["id"]: l for l in leads}
ob_of = {o["lead_id"]: o for o in outbox}
missing, twice, wrong_owner, wrong_id, rule_owned = [], [], [], [], []
members = collections.Counter()
for i in good_ids:
    l = lead_of.get(i)
    if l is None:      # not stored: failed above already
        continue
    a, b = by_lid.get(i, []), by_email.get((l["email"] or "").lower(), [])
    if not a or not b:
        missing.append(i)
        continue
    if len(a) != 1 or len(b) != 1 or a[0]["id"] != b[0]["id"]:
        twice.append((i, len(a), len(b)))
        continue
    r = a[0]
    m = (l["member"] or "").lower() or None
    members[m] += 1
    want = owner_of.get(m) if m else None
    got = r.get("owner_id")
    same = (got == want) if crm == "hubspot" else \
        (got is not None and want is not None and got[:15] == want[:15]) or got == want
    if not same or (r.get("owner_email") or None) != m:
        wrong_owner.append((i, m, want, got, r.get("owner_email")))
    rid = (ob_of.get(i) or {}).get("record_id") or ""
    if rid != r["id"] and (crm == "hubspot" or rid[:15] != r["id"][:15]):
        wrong_id.append((i, rid, r["id"]))
    if crm == "salesforce" and r.get("assigned_by_rule"):
        rule_owned.append(i)
verdict(not missing, "every delivered lead is in the fake %s (%d)" % (
    "HubSpot as a contact" if crm == "hubspot" else "Salesforce as a Lead", len(good_ids)),
    "missing: %s" % some(missing))
verdict(not twice, "... exactly once, by lead id (%s) and by email, the same record" % (
    "contact property leadroute_id" if crm == "hubspot" else "external id Leadroute_Id__c"),
    "%s" % some(twice))
verdict(not wrong_owner, "... owned by the member the rules chose (the seed's %s id)" % crm,
        "(lead, member, want, got, owner email): %s" % some(wrong_owner, 3))
verdict(not wrong_id, "... and the outbox row holds that record's id", some(wrong_id, 3))
if crm == "salesforce":
    verdict(not rule_owned, "the assignment rule (switched on in the fake) moved no lead "
            "(Sforce-Auto-Assign: FALSE)", some(rule_owned))
in_fake_perm = [e for e in perm_emails if by_email.get(e)]
verdict(not in_fake_perm, "no refused lead is in the fake", some(in_fake_perm))
foreign = [lid for lid in by_lid if lid not in set(good_ids)]
verdict(not foreign and len(recs) == len(good_ids),
        "the fake holds nothing else (%d records)" % len(recs), "foreign: %s" % some(foreign))
verdict(len([m for m in members if m]) >= 6,
        "the rules spread the leads over several members (%d: %s)" % (
            len(members), ", ".join("%s %d" % (m, n) for m, n in sorted(members.items(),
                                                                       key=lambda x: str(x[0])))))

# ---- the chaos happened ----
surface = [r for r in reqs if r.get("surface") == crm]
by_status = collections.Counter(str(r.get("status")) for r in surface)
late = [r for r in surface if (r.get("latency_ms") or 0) >= timeout_ms]
slow = [r for r in surface if 0 < (r.get("latency_ms") or 0) < timeout_ms]
need = {"reset": "connections reset", "503": "503s", "429": "429s", "500": "500s",
        "hang": "hung answers"}
if crm == "hubspot":
    need["502"] = "502s"
else:
    need["401"] = "401s of expired sessions"
lacking = [v for k, v in need.items() if not by_status[k]]
verdict(not lacking, "the fake answered with every injected fault (%s)" % ", ".join(
    "%s %d" % (v, by_status[k]) for k, v in need.items()), "none of: %s" % ", ".join(lacking))
verdict(late and slow, "answers came slower than the %d ms timeout (%d) and slow within it (%d)"
        % (timeout_ms, len(late), len(slow)))
retries = ev_data["crm_write_failure"]
refused = [x for x in retries if "connect to server" in (x[1].get("error") or "").lower()]
timeouts = [x for x in retries if "no answer within" in (x[1].get("error") or "")]
verdict(refused, "leadroute saw connections refused (%d retries)" % len(refused))
verdict(timeouts, "leadroute saw answers time out (%d retries)" % len(timeouts))
rate = [x for x in retries if x[1].get("http_status") == 429]
verdict(rate, "leadroute saw 429s (%d retries)" % len(rate))
if crm == "salesforce":
    logins = [r for r in surface if r.get("route") == "oauth.token"]
    verdict(len(logins) >= 3, "expired sessions made leadroute log in again (%d logins)"
            % len(logins))
multi = [r for r in recs if r.get("writes", 1) > 1]
verdict(multi, "some records were written more than once (a retry after a lost answer) and "
        "are still one record (%d)" % len(multi))
verdict(len(steps) > 0 and all(s.get("ids") or s.get("expired") is not None for s in steps),
        "every step of the fault schedule was applied (%d)" % len(steps))

print("\n".join(out))

# ---- counts ----
succ = ev_data["crm_write_success"]
first = sum(1 for _, x in succ if x.get("attempt") == 1)
attempts = collections.Counter(o["attempts"] for o in outbox if o["state"] == "done")
wl = open(os.path.join(d, "worker.log"), errors="replace").read() \
    if os.path.exists(os.path.join(d, "worker.log")) else ""
by_worker = sum(int(m) for m in re.findall(r"^delivered (\d+),", wl, re.M))
print("counts: leads sent %d, answered %d, stored %d; CRM records %d; delivered %d, of which "
      "on the first attempt %d (the handler right after answering, or the worker when the "
      "handler found the CRM paused) and after retries %d (most attempts %d); dead %d; "
      "delivered by the worker (its own printed counts, at least) %d; worker kills %d"
      % (len(load), len(acked), len(leads), len(recs), len(succ), first, len(succ) - first,
         max(attempts) if attempts else 0, len(dead_ids), by_worker, len(kills)))
print("counts: outbox attempts of delivered rows: %s" % ", ".join(
    "%d x%d" % (k, v) for k, v in sorted(attempts.items())))
print("counts: CRM requests %d by status: %s" % (len(surface), ", ".join(
    "%s %d" % (k, v) for k, v in sorted(by_status.items()))))
routes = collections.Counter(r.get("route") for r in surface)
print("counts: CRM requests by route: %s" % ", ".join(
    "%s %d" % (k, v) for k, v in sorted(routes.items(), key=lambda x: str(x[0]))))
print("counts: retries %d (connection refused %d, timed out %d, 429 %d); records written "
      "more than once %d; fault steps %d" % (len(retries), len(refused), len(timeouts),
                                              len(rate), len(multi), len(steps)))
