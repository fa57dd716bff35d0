#!/bin/bash
# reload-test.sh - the rules file changes under a running server (lighttpd,
# deploy/lighttpd.conf, three handler processes) and no restart follows.
#
# The instance gets its own copy of rules/example.routes.  A lead for
# nobody.example ("otherwise") goes to inbound.  Then, in turn:
#   1. the file is replaced the way editors and deploy tools do it (a new
#      file, renamed over the old one) by a version that sends that lead to
#      plg_sales;
#   2. it is rewritten in place (same inode) by one that sends it to review;
#   3. it is replaced by a file with a typo in a queue name, then by one
#      with a syntax error;
#   4. it is replaced by a fixed file that sends the lead to a new queue.
# After each change leads are posted concurrently until every handler
# process has logged that it loaded (or refused) the change - the count of
# those lines in the shared handler log reaches the number of processes -
# so each process has served at least one request since.  Every lead
# posted after a good change goes to the new queue (no process answers from
# the old tree), /healthz says ok (refused false) on every answer.  After a
# bad change /healthz answers "degraded" with refused true and the problem
# "FILE:LINE:COLUMN: MESSAGE [CODE]" of the refused file's first error,
# /metrics has leadroute_rules_refused 1, leads keep going to review (the
# last good tree), and the handler's log holds the diagnostic with its
# line and column.  After the fix all is ok again and the fixed rules
# serve.  The HTTP status of a degraded /healthz is checked to be 200:
# the process still serves, with the last good rules (a load balancer that
# took every process out because of one refused edit would stop intake).
# Polls have deadlines; nothing waits a fixed time.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need lighttpd

SCALE=1
[ "${LEADROUTE_VALGRIND:-0}" = 1 ] && SCALE=4
C=$T/client
mkdir -p "$C"

# the instance's own rules file (new_instance renders RULES into the
# configuration)
mkdir -p "$T/reload"
RULES=$T/reload/rules.routes
cp "$top_srcdir/rules/example.routes" "$RULES"
chmod 644 "$RULES"
CFG_PROCS=3
new_instance reload
HLOG=$ST/leadroute.log
start_lighttpd
say "lighttpd (max-procs $CFG_PROCS) on $BASE, rules $RULES"
START_PIDS=$(handler_pids | sort | tr '\n' ' ')
check "$CFG_PROCS handler processes run ($START_PIDS)" test "$(wc -w <<<"$START_PIDS")" = "$CFG_PROCS"

# ---- helpers ----

# batch MODE TAG N: N concurrent requests; MODE lead posts N leads
# TAG-I@nobody.example and prints "STATUS QUEUE" for each; MODE health
# gets /healthz N times and prints "STATUS STATE REFUSED PROBLEM"
batch() {
	python3 - "$PORT" "$@" <<'EOF'
import http.client, json, sys, threading
port, mode, tag, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
out = ["000 -"] * n
def one(i):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        if mode == "lead":
            body = json.dumps({"email": "%s-%d@nobody.example" % (tag, i), "company": "Reload Co"})
            c.request("POST", "/lead", body, {"Content-Type": "application/json",
                                               "Accept": "application/json"})
        else:
            c.request("GET", "/healthz")
        r = c.getresponse()
        b = r.read()
        try:
            j = json.loads(b)
        except ValueError:
            j = {}
        if mode == "lead":
            out[i] = "%d %s" % (r.status, j.get("queue", "-"))
        else:
            ru = j.get("rules", {})
            out[i] = "%d %s %s %s" % (r.status, j.get("status", "-"),
                                      str(ru.get("refused", "-")).lower(), ru.get("problem", "-"))
        c.close()
    except Exception as e:
        out[i] = "000 %s" % type(e).__name__
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("\n".join(out))
EOF
}

# log_count TEXT: lines of the handler log holding TEXT
log_count() {
	grep -cF -- "$1" "$HLOG"
}

# until_every_process TEXT BEFORE TAG: post batches of leads until the
# handler log holds BEFORE + CFG_PROCS lines with TEXT (each process has
# logged the change) or the deadline passes; every answer is appended to
# $C/TAG.results
until_every_process() {
	local text=$1 want=$(($2 + CFG_PROCS)) tag=$3 round=0 n=$((60 * SCALE * 2))
	: > "$C/$tag.results"
	while [ $n -gt 0 ]; do
		batch lead "$tag-r$round" $((CFG_PROCS * 3)) >> "$C/$tag.results"
		round=$((round + 1))
		[ "$(log_count "$text")" -ge "$want" ] && return 0
		sleep 0.5
		n=$((n - 1))
	done
	return 1
}

# all_are FILE LINE: every line of FILE is LINE (and there is one)
all_are() {
	[ -s "$1" ] && [ "$(sort -u "$1")" = "$2" ]
}

# replace_by_rename FILE: the rules become FILE's text: a new file next to
# the rules, renamed over them
replace_by_rename() {
	cp "$1" "$RULES.tmp"
	chmod 644 "$RULES.tmp"
	mv -f "$RULES.tmp" "$RULES"
}

# the example with its otherwise line sending leads to QUEUE
otherwise_to() {
	sed "s/^otherwise .*/otherwise                                      -> $1 then confirm/" \
		"$top_srcdir/rules/example.routes"
}

LOADED="loaded the changed rules file '$RULES'"
REFUSED="refused the changed rules file '$RULES'"

# ---- the example ----
batch health h0 $((CFG_PROCS * 2)) > "$C/h0"
check "start: /healthz 200 ok, refused false ($(sort -u "$C/h0" | tr '\n' ' '))" all_are "$C/h0" "200 ok false -"
post /lead application/json '{"email":"first@nobody.example","company":"Nobody"}' -H 'Accept: application/json'
Q0=$(jq -r .queue <<<"$BODY_OUT" 2>/dev/null)
check "start: the lead goes to inbound (got $CODE $Q0)" test "$CODE" = 200 -a "$Q0" = inbound

# ---- 1. replaced by rename: -> plg_sales ----
otherwise_to plg_sales > "$C/v1.routes"
check "v1 differs from the example in the otherwise line only" \
	test "$(diff "$top_srcdir/rules/example.routes" "$C/v1.routes" | grep -c '^>')" = 1
before=$(log_count "$LOADED")
replace_by_rename "$C/v1.routes"
check "rename: every handler process loads the new file" until_every_process "$LOADED" "$before" v1
check "rename: every lead after the change goes to plg_sales ($(sort "$C/v1.results" | uniq -c | tr -s ' \n' ' '))" \
	all_are "$C/v1.results" "200 plg_sales"
batch health h1 $((CFG_PROCS * 3)) > "$C/h1"
check "rename: /healthz 200 ok on every answer" all_are "$C/h1" "200 ok false -"

# ---- 2. rewritten in place: -> review ----
otherwise_to review > "$C/v2.routes"
inode=$(stat -c %i "$RULES")
before=$(log_count "$LOADED")
cat "$C/v2.routes" > "$RULES"
check "in place: the file is the same inode" test "$(stat -c %i "$RULES")" = "$inode"
check "in place: every handler process loads the rewritten file" until_every_process "$LOADED" "$before" v2
check "in place: every lead after the change goes to review ($(sort "$C/v2.results" | uniq -c | tr -s ' \n' ' '))" \
	all_are "$C/v2.results" "200 review"
batch health h2 $((CFG_PROCS * 3)) > "$C/h2"
check "in place: /healthz 200 ok on every answer" all_are "$C/h2" "200 ok false -"

# ---- 3. files with errors: refused, the last good tree keeps serving ----
# problem_is PROBLEM WANT TOKEN CODE: PROBLEM starts with WANT
# ("FILE:LINE:COLUMN: "), names 'TOKEN' and ends with [CODE]
problem_is() {
	[[ $1 == "$2"*"'$3'"*"[$4]" ]]
}

# refused_case FILE NAME MARK OFFSET TOKEN CODE: replace the rules by FILE, whose
# first error is OFFSET characters into the only line holding MARK, at
# TOKEN, with diagnostic CODE; check the refusal
refused_case() {
	local file=$1 name=$2 mark=$3 offset=$4 token=$5 code=$6 line col want h problems
	line=$(grep -nF -- "$mark" "$file" | cut -d: -f1)
	col=$(grep -F -- "$mark" "$file" | awk -v t="$mark" '{print index($0, t)}')
	[ "$(wc -w <<<"$line")" = 1 ] || die "$name: '$mark' is not on exactly one line"
	col=$((col + offset))
	want="$RULES:$line:$col: "
	before=$(log_count "$REFUSED")
	replace_by_rename "$file"
	check "$name: every handler process refuses the file" until_every_process "$REFUSED" "$before" "$name"
	check "$name: leads keep going to review, the last good tree ($(sort "$C/$name.results" | uniq -c | tr -s ' \n' ' '))" \
		all_are "$C/$name.results" "200 review"
	batch health "h-$name" $((CFG_PROCS * 3)) > "$C/h-$name"
	h=$(head -n 1 "$C/h-$name")
	say "$name: /healthz answers: $h"
	check "$name: /healthz says degraded, refused true, on every answer" \
		test "$(cut -d' ' -f2,3 "$C/h-$name" | sort -u)" = "degraded true"
	check "$name: /healthz answers HTTP 200 when degraded (the process still serves)" \
		test "$(cut -d' ' -f1 "$C/h-$name" | sort -u)" = 200
	problems=$(cut -d' ' -f4- "$C/h-$name" | sort -u)
	check "$name: every answer has one problem: the file's first error, ${want}... '$token' ... [$code]" \
		eval '[ "$(wc -l <<<"$problems")" = 1 ] && problem_is "$problems" "$want" "$token" "$code"'
	get /metrics
	check "$name: /metrics has leadroute_rules_refused 1" grep -qx 'leadroute_rules_refused 1' <<<"$BODY_OUT"
	check "$name: the handler's log holds the diagnostic at $line:$col" \
		grep -qF "$RULES:$line:$col: error: " "$HLOG"
}
otherwise_to reviw > "$C/typo.routes"
refused_case "$C/typo.routes" typo "-> reviw" 3 reviw unknown-queue
sed 's/^when country = US and employees > 200 /when country = US and and employees > 200 /' \
	"$C/v2.routes" > "$C/syntax.routes"
refused_case "$C/syntax.routes" syntax "US and and" 7 and syntax
check "syntax: the log names the unexpected token" grep -qF "unexpected 'and'" "$HLOG"
# every process that met a refused file tried to raise the alert; the rate
# limit let one through and counted the rest
refusals=$(log_count "$REFUSED")
q_alerts="SELECT json_extract(data, '$.message') FROM events WHERE type = 'alert' AND json_extract(data, '$.alert') = 'rules_refused'"
sql "$q_alerts" > "$C/alerts"
check "one rules_refused alert for both bad edits, naming the file" \
	eval '[ "$(wc -l < "$C/alerts")" = 1 ] && grep -qF "$RULES" "$C/alerts"'
check "... logged once" test "$(grep -c "ALERT: the rules file" "$HLOG")" = 1
check "... and the $((refusals - 1)) held back are counted" \
	test "$(sql "SELECT suppressed FROM alert_state WHERE kind = 'rules_refused'")" = $((refusals - 1))

# ---- 4. fixed: ok again, the fixed rules serve ----
otherwise_to nurture | sed 's/^queue inbound .*/&\nqueue nurture       = manual "nia@acme.example"/' > "$C/fixed.routes"
before=$(log_count "$LOADED")
replace_by_rename "$C/fixed.routes"
check "fixed: every handler process loads the fixed file" until_every_process "$LOADED" "$before" fixed
check "fixed: every lead after the fix goes to the new queue nurture ($(sort "$C/fixed.results" | uniq -c | tr -s ' \n' ' '))" \
	all_are "$C/fixed.results" "200 nurture"
batch health h4 $((CFG_PROCS * 3)) > "$C/h4"
check "fixed: /healthz 200 ok, refused false, no problem, on every answer" all_are "$C/h4" "200 ok false -"
get /metrics
check "fixed: /metrics has leadroute_rules_refused 0" grep -qx 'leadroute_rules_refused 0' <<<"$BODY_OUT"
check "fixed: nurture leads are stored with nia as owner" \
	test "$(sql "SELECT count(*) FROM leads WHERE queue = 'nurture' AND owner <> 'nia@acme.example'")" = 0 -a \
	"$(sql "SELECT count(*) FROM leads WHERE queue = 'nurture'")" -ge 1
# ---- 5. moved away and back with the same time stamp (mv, cp -p): the
# unreadable moment is reported, and the file back is served again ----
mv "$RULES" "$RULES.away"
batch health h5 $((CFG_PROCS * 3)) > "$C/h5"
check "moved away: /healthz says degraded on every answer" \
	test "$(cut -d' ' -f2 "$C/h5" | sort -u)" = degraded
mv "$RULES.away" "$RULES"
batch health h6 $((CFG_PROCS * 3)) > "$C/h6"
check "moved back: /healthz 200 ok again on every answer" all_are "$C/h6" "200 ok false -"

check "no restart: the handler processes are the ones that started" \
	test "$(handler_pids | sort | tr '\n' ' ')" = "$START_PIDS"
check "PRAGMA integrity_check is ok" test "$(sql 'PRAGMA integrity_check')" = ok

stop_all_and_check
finish
