#!/bin/bash
# kill-test.sh - leads survive handler processes being SIGKILLed mid-load.
#
# lighttpd (deploy/lighttpd.conf) runs leadroute.fcgi with max-procs 4.  A
# small concurrent client (tests/integration/loadclient.py, 8 connections)
# sends 2,000 leads, each with its own Idempotency-Key, while a thread
# SIGKILLs a random handler process each time 40 more have been answered
# (lighttpd respawns them); a send that fails is retried once with the
# same key.  Then, with the killing stopped, every submission still
# unacknowledged is sent once more with its key.  Afterwards:
#   - every acknowledged lead id is stored, exactly once, under its key;
#   - a retried key answers with the lead id stored for it (no second lead);
#   - no submission is stored twice, nothing is stored that was not sent;
#   - each stored lead is whole: one form_submitted event, one routing
#     event, a CRM outbox row unless dropped;
#   - the database passes PRAGMA integrity_check.
# Counts are printed.  LR_KILL_COUNT overrides the 2,000.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need lighttpd

N=${LR_KILL_COUNT:-2000}
CFG_PROCS=4
CFG_RATE=0
CFG_MIN_SECONDS=0
new_instance kill
start_lighttpd
say "lighttpd (max-procs 4) on $BASE; $N leads while killing handler processes"
check "4 handler processes run" test "$(handler_pids | wc -l)" -ge 4

CLIENT=$top_srcdir/tests/integration/loadclient.py
python3 "$CLIENT" --port "$PORT" --count "$N" --concurrency 8 --out "$T/load.jsonl" \
	--tag kill --kill-exe "$FCGI" --kill-every 40 | tee "$T/load.summary"
KILLS=$(sed -n 's/.*handler processes killed \([0-9]*\).*/\1/p' "$T/load.summary")
check "handler processes were killed during the load ($KILLS, one per 40 answers)" \
	test "${KILLS:-0}" -ge $((N / 40 / 2))

# the unacknowledged ones, once more, with nothing being killed
jq -r 'select(.status != 200) | .i' "$T/load.jsonl" > "$T/retry.txt"
say "$(wc -l < "$T/retry.txt") submissions unacknowledged after the load; sending them again"
sql "SELECT idem_key FROM leads" > "$T/keys-before-resend.txt"
wait_http "$BASE/healthz" 20 || bad "the server answers again after the killing"
if [ -s "$T/retry.txt" ]; then
	python3 "$CLIENT" --port "$PORT" --out "$T/retry.jsonl" --tag kill --concurrency 4 \
		--retry-file "$T/retry.txt"
else
	: > "$T/retry.jsonl"
fi

# what the database holds (read as the server's user, while it runs)
sql "SELECT id || '|' || ifnull(idem_key, '') || '|' || ifnull(email, '') || '|' || status FROM leads" > "$T/leads.txt"
sql "SELECT ifnull(lead_id, '') || '|' || type FROM events WHERE lead_id IS NOT NULL" > "$T/events.txt"
sql "SELECT lead_id FROM outbox" > "$T/outbox.txt"
INTEGRITY=$(sql 'PRAGMA integrity_check')
LISTED=$(lr leads list --json -n $((N * 2)) | jq length)

python3 - "$T" "$N" <<'EOF' > "$T/verdict.txt"
import collections, json, sys
t, n = sys.argv[1], int(sys.argv[2])
first = [json.loads(l) for l in open(t + "/load.jsonl")]
second = {r["i"]: r for r in (json.loads(l) for l in open(t + "/retry.jsonl"))}
leads = [l.rstrip("\n").split("|") for l in open(t + "/leads.txt") if l.strip()]
by_key = collections.defaultdict(list)
by_email = collections.Counter()
ids = collections.Counter()
for lid, key, email, status in leads:
    by_key[key].append(lid)
    by_email[email] += 1
    ids[lid] += 1
events = collections.defaultdict(collections.Counter)
for l in open(t + "/events.txt"):
    lid, typ = l.rstrip("\n").split("|", 1)
    events[lid][typ] += 1
outbox = collections.Counter(l.strip() for l in open(t + "/outbox.txt") if l.strip())
status_of = {lid: status for lid, key, email, status in leads}

out = []
def verdict(ok, what):
    out.append(("ok   " if ok else "FAIL ") + what)

acked = {r["i"]: r for r in first if r["status"] == 200}
acked_late = {i: r for i, r in second.items() if r["status"] == 200}
sent_keys = {r["key"] for r in first}
missing = [r for r in acked.values() if ids[r["lead_id"]] != 1]
verdict(not missing, "every lead acknowledged under load is stored exactly once (%d acknowledged%s)"
        % (len(acked), "; missing or repeated: %s" % [m["lead_id"] for m in missing[:5]] if missing else ""))
wrong = [r for r in list(acked.values()) + list(acked_late.values()) if by_key.get(r["key"]) != [r["lead_id"]]]
verdict(not wrong, "each acknowledged key holds exactly the lead id it answered with%s"
        % ("; wrong: %s" % [(w["key"], w["lead_id"], by_key.get(w["key"])) for w in wrong[:5]] if wrong else ""))
dups = [e for e, c in by_email.items() if c > 1]
verdict(not dups, "no submission is stored twice (%d stored%s)"
        % (len(leads), "; twice: %s" % dups[:5] if dups else ""))
foreign = [k for k in by_key if k not in sent_keys]
verdict(not foreign, "nothing stored that was not sent%s" % ("; %s" % foreign[:5] if foreign else ""))
unacked = [r for r in first if r["status"] != 200 and second.get(r["i"], {}).get("status") != 200]
verdict(not unacked, "after the load every submission is acknowledged (%d were only on the resend; "
        "%d never)" % (len(acked_late), len(unacked)))
verdict(len(leads) == n, "exactly %d leads stored (%d)" % (n, len(leads)))
half = [lid for lid, key, email, status in leads
        if events[lid]["form_submitted"] != 1
        or sum(events[lid][t] for t in ("owner_assigned", "lead_unassigned", "lead_dropped")) != 1
        or outbox[lid] != (0 if status == "dropped" else 1)]
verdict(not half, "every stored lead is whole: its events and outbox row%s"
        % ("; not whole: %s" % half[:5] if half else ""))
print("\n".join(out))
# summary line
before = {l.strip() for l in open(t + "/keys-before-resend.txt") if l.strip()}
stored_unacked = sum(1 for r in first if r["status"] != 200 and r["key"] in before)
print("counts: sent %d, acknowledged under load %d, retried under load %d, acknowledged on the resend %d, "
      "stored %d, of which committed under load although both answers were lost %d"
      % (n, len(acked), sum(1 for r in first if r["attempts"] == 2), len(acked_late), len(leads),
         stored_unacked))
EOF
while IFS= read -r line; do
	case $line in
	"ok   "*) ok "${line#ok   }" ;;
	"FAIL "*) bad "${line#FAIL }" ;;
	*) say "$line" ;;
	esac
done < "$T/verdict.txt"
check "PRAGMA integrity_check is ok ($INTEGRITY)" test "$INTEGRITY" = ok
check "leadroute leads list --json lists them all ($LISTED)" test "$LISTED" = "$N"

stop_all_and_check
finish
