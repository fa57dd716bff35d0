#!/bin/bash
# metrics-test.sh - GET /metrics as Prometheus sees it, with the real
# handler under lighttpd (deploy/lighttpd.conf, three handler processes).
#
# A first scrape is the baseline (lighttpd's start-up probes of /healthz
# are counted too).  Then known traffic: concurrent JSON leads in rounds
# until at least two handler processes have served some (each process's
# read bytes in /proc/PID/io tell), form posts, invalid leads, beacons,
# wrong methods, health checks and form pages.  The next scrape must
# pass `promtool check metrics` with nothing to say, and its numbers must
# be the baseline plus exactly what was sent: leadroute_requests_total by
# endpoint and code, the request-duration histogram's _count (equal to its
# +Inf bucket) by endpoint and status class, submit-to-answer for the
# leads taken; the events and outbox numbers equal the database's.  Every
# process answers a scrape with the same totals (the counts are shared,
# not per process).
#
# Then the outbox's side, with the webhook CRM and a receiver on a free
# loopback port (handler as CGI, then `leadroute outbox drain`): a lead
# written (done), one the receiver refuses for good (dead), one while the
# receiver is down (retry, then done by the worker after the CRM's pause):
# leadroute_crm_call_duration_seconds{crm="webhook",result=...} and
# leadroute_submit_to_crm_confirmed_seconds count exactly those, the
# outbox gauges follow, promtool is satisfied again, and the webhook
# secret is nowhere in /metrics.
#
# promtool: $PROMTOOL, else ${XDG_CACHE_HOME:-~/.cache}/leadroute/promtool/promtool
# (tools/install-deps puts it there), else promtool on PATH.  Under
# LEADROUTE_VALGRIND the handler run as CGI and the leadroute command run
# in valgrind.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need lighttpd

PT=${PROMTOOL:-${XDG_CACHE_HOME:-$HOME/.cache}/leadroute/promtool/promtool}
[ -x "$PT" ] || PT=$(command -v promtool) ||
	die "promtool not found: run tools/install-deps, or set PROMTOOL"
VG=()
if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
	VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
		--show-leak-kinds=definite,indirect)
fi
FORM=application/x-www-form-urlencoded

# value FILE SERIES: the sample's value in a scrape (0 when absent)
value() {
	awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "$1"
}

# delta SERIES: its value in $AFTER minus that in $BEFORE
delta() {
	echo $(($(value "$AFTER" "$1") - $(value "$BEFORE" "$1")))
}

# promtool_ok FILE: promtool check metrics exits 0 and prints nothing
promtool_ok() {
	local out rc
	out=$("$PT" check metrics < "$1" 2>&1)
	rc=$?
	[ "$rc" = 0 ] && [ -z "$out" ] && return 0
	say "promtool (exit $rc) on $1: $out"
	return 1
}

# scrape FILE: GET /metrics into FILE; fails unless 200 Prometheus text
scrape() {
	get /metrics
	printf '%s\n' "$BODY_OUT" > "$1"
	[ "$CODE" = 200 ] && [ "${CTYPE%%;*}" = text/plain ] && grep -q 'version=0.0.4' <<<"$CTYPE"
}

# read bytes of each handler process: "PID RCHAR" lines
process_reads() {
	local p
	for p in $(handler_pids); do
		echo "$p $(awk '/^rchar:/ { print $2 }' "/proc/$p/io" 2>/dev/null)"
	done
}

# processes_served BEFORE-FILE: how many handler processes read more since
processes_served() {
	process_reads | awk 'NR == FNR { r[$1] = $2; next } ($1 in r) && $2 > r[$1] { n++ }
		END { print n + 0 }' "$1" -
}

# leads TAG N: N concurrent JSON leads; prints one status a line
leads() {
	python3 - "$PORT" "$1" "$2" <<'EOF'
import http.client, json, sys, threading
port, tag, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
out = ["000"] * n
def one(i):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/lead", json.dumps({"email": "%s-%d@nobody.example" % (tag, i)}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        out[i] = str(r.status)
        c.close()
    except Exception as e:
        out[i] = "000 " + type(e).__name__
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("\n".join(out))
EOF
}

# ==== the handler processes under lighttpd ====

CFG_PROCS=3
new_instance metrics
start_lighttpd
say "lighttpd (max-procs $CFG_PROCS) on $BASE"
check "$CFG_PROCS handler processes run" test "$(handler_pids | wc -l)" = "$CFG_PROCS"

BEFORE=$T/before.prom
AFTER=$T/after.prom
check "the baseline scrape answers 200 text/plain; version=0.0.4" scrape "$BEFORE"
check "promtool check metrics: nothing to say on the baseline" promtool_ok "$BEFORE"

# ---- the traffic ----
process_reads > "$T/reads0"
: > "$T/lead-status"
SENT_LEADS=0
for round in 1 2 3 4 5 6; do
	leads "r$round" 8 >> "$T/lead-status"
	SENT_LEADS=$((SENT_LEADS + 8))
	[ "$(processes_served "$T/reads0")" -ge 2 ] && break
done
SERVED=$(processes_served "$T/reads0")
check "the leads were served by more than one handler process ($SERVED)" test "$SERVED" -ge 2
check "all $SENT_LEADS JSON leads answered 200" \
	test "$(grep -c '^200$' "$T/lead-status")" = "$SENT_LEADS"
for i in 1 2 3 4 5; do
	post /lead "$FORM" "email=form$i%40nobody.example&first_name=F"
	[ "$CODE" = 303 ] || bad "form lead $i: 303 (got $CODE)"
done
for i in 1 2 3; do
	post /lead application/json '{"email":"not-an-address"}'
	[ "$CODE" = 422 ] || bad "invalid lead $i: 422 (got $CODE)"
done
for i in 1 2 3 4; do
	post /event application/json '{"type":"form_view","form":"demo","page":"/"}'
	[ "$CODE" = 204 ] || bad "beacon $i: 204 (got $CODE)"
done
for i in 1 2; do
	get /event
	[ "$CODE" = 405 ] || bad "GET /event $i: 405 (got $CODE)"
done
for i in 1 2 3; do
	get /healthz
	[ "$CODE" = 200 ] || bad "GET /healthz $i: 200 (got $CODE)"
done
for i in 1 2; do
	get /
	[ "$CODE" = 200 ] || bad "GET / $i: 200 (got $CODE)"
done

check "the scrape after the traffic answers 200" scrape "$AFTER"
check "promtool check metrics: nothing to say after the traffic" promtool_ok "$AFTER"

# ---- the numbers: the baseline plus exactly what was sent ----
RQ=leadroute_requests_total
while read -r ep code want; do
	got=$(delta "$RQ{endpoint=\"$ep\",code=\"$code\"}")
	check "$RQ{endpoint=\"$ep\",code=\"$code\"} grew by $want (got $got)" test "$got" = "$want"
done <<EOF
lead 200 $SENT_LEADS
lead 303 5
lead 422 3
event 204 4
event 405 2
healthz 200 3
form 200 2
metrics 200 1
EOF
others=""
for series in $(awk -v p="$RQ{" 'index($1, p) == 1 { print $1 }' "$AFTER"); do
	case $series in
	*'"lead",code="200"'*|*'"lead",code="303"'*|*'"lead",code="422"'*|*'"event",code="204"'*|\
	*'"event",code="405"'*|*'"healthz",code="200"'*|*'"form",code="200"'*|*'"metrics",code="200"'*)
		;;
	*) [ "$(delta "$series")" = 0 ] || others="$others $series" ;;
	esac
done
check "no other endpoint or code was counted${others:+:$others}" test -z "$others"

H=leadroute_request_duration_seconds
while read -r ep class want; do
	l="endpoint=\"$ep\",status_class=\"$class\""
	got=$(delta "${H}_count{$l}")
	check "${H}_count{$l} grew by $want (got $got)" test "$got" = "$want"
	check "... and equals its +Inf bucket" \
		test "$(value "$AFTER" "${H}_count{$l}")" = "$(value "$AFTER" "${H}_bucket{$l,le=\"+Inf\"}")"
done <<EOF
lead 2xx $SENT_LEADS
lead 3xx 5
lead 4xx 3
event 2xx 4
event 4xx 2
form 2xx 2
EOF
A=leadroute_submit_to_answer_seconds
got=$(delta "${A}_count")
check "${A}_count grew by the $((SENT_LEADS + 5)) leads taken (got $got)" \
	test "$got" = "$((SENT_LEADS + 5))"
check "${A}: its buckets are cumulative and end at _count" \
	awk -v c="$(value "$AFTER" "${A}_count")" '/^leadroute_submit_to_answer_seconds_bucket/ {
		if ($2 < last) bad = 1; last = $2 } END { exit bad || last != c }' "$AFTER"
check "${A}_sum is positive" awk -v s="$(value "$AFTER" "${A}_sum")" 'BEGIN { exit !(s > 0) }'

n=$(sql "SELECT count(*) FROM events WHERE type = 'form_submitted'")
check "leadroute_events_total{type=\"form_submitted\"} is the database's ($n)" \
	test "$(value "$AFTER" 'leadroute_events_total{type="form_submitted"}')" = "$n"
check "... which is every lead taken" test "$n" = "$((SENT_LEADS + 5))"
check "leadroute_outbox_rows pending and dead: 0 with the local CRM" \
	test "$(value "$AFTER" 'leadroute_outbox_rows{state="pending"}')/$(value "$AFTER" 'leadroute_outbox_rows{state="dead"}')" = 0/0
check "leadroute_rules_refused 0" grep -qx 'leadroute_rules_refused 0' "$AFTER"
check "leadroute_build_info has the version" \
	grep -qx 'leadroute_build_info{version="[0-9][0-9.]*"} 1' "$AFTER"

# ---- every process answers a scrape with the same totals ----
# rounds of 12 concurrent scrapes until more than one process answered
# (lighttpd may hand a short burst to one process); every scrape of every
# round must show the totals
process_reads > "$T/reads1"
same=1
for round in 1 2 3 4 5 6; do
	pids=()
	for i in $(seq 1 12); do
		curl -s --max-time 30 "$BASE/metrics" > "$T/scrape.$round.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"   # not a bare wait: the servers are background jobs too
	for i in $(seq 1 12); do
		for s in "$RQ{endpoint=\"lead\",code=\"200\"}" "${A}_count" "${H}_count{endpoint=\"event\",status_class=\"2xx\"}"; do
			[ "$(value "$T/scrape.$round.$i" "$s")" = "$(value "$AFTER" "$s")" ] || same=0
		done
	done
	SERVED=$(processes_served "$T/reads1")
	[ "$SERVED" -ge 2 ] && break
done
check "$((round * 12)) concurrent scrapes, answered by $SERVED processes, all show the same totals" \
	test "$same" = 1 -a "$SERVED" -ge 2
stop_all_and_check

# ==== the outbox: a webhook CRM, the handler as CGI, the worker ====

RECV_PORT=$(free_port)
RECV_LOG=$T/receiver.log
# receive: 200 {"id"} for a lead, 400 (refused for good) for dead@ leads
cat > "$T/receiver.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        dead = b"dead@" in body
        out = b'{"error":"no"}' if dead else b'{"id":"rec-1"}'
        self.send_response(400 if dead else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
start_receiver() {
	start_bg "$RECV_LOG" python3 "$T/receiver.py" "$RECV_PORT"
	RECV_PID=$LAST_PID
	local n=100
	until curl -s -o /dev/null --max-time 1 -X POST -d x "http://127.0.0.1:$RECV_PORT/"; do
		[ $n -gt 0 ] || die "the webhook receiver did not come up on port $RECV_PORT"
		sleep 0.1
		n=$((n - 1))
	done
}

CDB=$T/crm/leads.db
mkdir -p "$T/crm"
WH_SECRET=whsec-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
CRM_ENV=(LEADROUTE_DB="$CDB" LEADROUTE_RULES="$RULES" LEADROUTE_WWW="$WWW"
	LEADROUTE_FREEMAIL="$FREEMAIL" LEADROUTE_SPAM_MIN_SECONDS=0 LEADROUTE_LOG="$T/crm/handler.log"
	LEADROUTE_CRM=webhook LEADROUTE_WEBHOOK_URL="http://127.0.0.1:$RECV_PORT/leads"
	LEADROUTE_WEBHOOK_SECRET="$WH_SECRET" LEADROUTE_CRM_TIMEOUT_MS=3000)
# cgi_lead JSON: one POST /lead through the handler as CGI; prints the status line
cgi_lead() {
	local body=$1
	printf '%s' "$body" | env -i PATH="$PATH" "${CRM_ENV[@]}" REQUEST_METHOD=POST PATH_INFO=/lead \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} REMOTE_ADDR=127.0.0.1 \
		GATEWAY_INTERFACE=CGI/1.1 "${VG[@]}" "$FCGI" 2>>"$T/crm/stderr.log" | head -n 1 | tr -d '\r'
}
# cgi_scrape FILE: GET /metrics through the handler as CGI, the body into FILE
cgi_scrape() {
	env -i PATH="$PATH" "${CRM_ENV[@]}" REQUEST_METHOD=GET PATH_INFO=/metrics \
		GATEWAY_INTERFACE=CGI/1.1 "${VG[@]}" "$FCGI" 2>>"$T/crm/stderr.log" |
		tr -d '\r' | sed '1,/^$/d' > "$1"
}
C=leadroute_crm_call_duration_seconds
F=leadroute_submit_to_crm_confirmed_seconds

start_receiver
check "webhook: a lead is answered (CGI)" test "$(cgi_lead '{"email":"ok@nobody.example"}')" = "Status: 200 OK"
check "webhook: a lead the receiver refuses is answered too" \
	test "$(cgi_lead '{"email":"dead@nobody.example"}')" = "Status: 200 OK"
stop_pid "$RECV_PID" 5
check "webhook: a lead while the receiver is down is answered too" \
	test "$(cgi_lead '{"email":"later@nobody.example"}')" = "Status: 200 OK"
cgi_scrape "$T/crm1.prom"
check "webhook: promtool check metrics: nothing to say" promtool_ok "$T/crm1.prom"
check "webhook: one call done, one dead, one to retry" \
	test "$(value "$T/crm1.prom" "${C}_count{crm=\"webhook\",result=\"done\"}")/$(value "$T/crm1.prom" "${C}_count{crm=\"webhook\",result=\"dead\"}")/$(value "$T/crm1.prom" "${C}_count{crm=\"webhook\",result=\"retry\"}")" = 1/1/1
check "webhook: ${F}_count 1 (the one written)" test "$(value "$T/crm1.prom" "${F}_count")" = 1
check "webhook: outbox gauges pending 1, dead 1 (as the database: $(sqlite3 "$CDB" "SELECT group_concat(state) FROM outbox ORDER BY id"))" \
	test "$(value "$T/crm1.prom" 'leadroute_outbox_rows{state="pending"}')/$(value "$T/crm1.prom" 'leadroute_outbox_rows{state="dead"}')" = 1/1

# the worker writes the third once the CRM's pause for the outage is over
start_receiver
due=$(sqlite3 "$CDB" "SELECT max(until_ms) FROM crm_pause")
while [ "$(($(date +%s%3N) <= ${due:-0}))" = 1 ]; do sleep 0.2; done
env -i PATH="$PATH" "${CRM_ENV[@]}" "${VG[@]}" "$LR" outbox drain > "$T/crm/drain.out" 2>&1
check "webhook: leadroute outbox drain delivers the lead left ($(cat "$T/crm/drain.out"))" \
	grep -q '^delivered 1,' "$T/crm/drain.out"
cgi_scrape "$T/crm2.prom"
check "webhook: promtool check metrics: nothing to say after the worker" promtool_ok "$T/crm2.prom"
check "webhook: the worker's call is counted: done 2, dead 1, retry 1" \
	test "$(value "$T/crm2.prom" "${C}_count{crm=\"webhook\",result=\"done\"}")/$(value "$T/crm2.prom" "${C}_count{crm=\"webhook\",result=\"dead\"}")/$(value "$T/crm2.prom" "${C}_count{crm=\"webhook\",result=\"retry\"}")" = 2/1/1
check "webhook: ${F}_count 2, and the second took at least the pause (sum >= 1 s)" \
	eval '[ "$(value "$T/crm2.prom" "${F}_count")" = 2 ] &&
	      awk -v s="$(value "$T/crm2.prom" "${F}_sum")" "BEGIN { exit !(s >= 1) }"'
check "webhook: outbox gauges pending 0, dead 1" \
	test "$(value "$T/crm2.prom" 'leadroute_outbox_rows{state="pending"}')/$(value "$T/crm2.prom" 'leadroute_outbox_rows{state="dead"}')" = 0/1
check "webhook: the secret is nowhere in /metrics" eval '! grep -qF -- "$WH_SECRET" "$T/crm1.prom" "$T/crm2.prom"'
check "webhook: no memory error or leak in the CGI runs and the worker" \
	eval '! grep -q "==[0-9]*==" "$T/crm/stderr.log" "$T/crm/drain.out"'
check "webhook: the metrics file sits next to the database with its mode" \
	test "$(stat -c %a "$CDB-metrics")" = "$(stat -c %a "$CDB")"

finish
