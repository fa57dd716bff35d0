#!/bin/bash
# browser-test.sh - the form and the outcome pages in headless Chromium
# (playwright-core, axe-core: tests/browser/a11y.mjs) against the real
# thing: leadroute.fcgi behind lighttpd with the shipped
# deploy/lighttpd.conf, rules/example.routes and the sample accounts, in
# temporary directories on free loopback ports (tests/integration/lib.sh).
#
# Two servers: one with rules/example.routes as it is, one with the same
# rules less enterprise_us's `hours` line, so that the scheduler outcome
# can be checked at any hour.  Both take a form only a second after it was
# made (LEADROUTE_SPAM_MIN_SECONDS=1), as a person would send it.
#
# a11y.mjs drives the browser (with and without JavaScript) and writes what
# it sent and where it landed; this script then checks the databases: each
# lead stored exactly once in the queue the rules give it, scheduler leads
# landed on their member's scheduler, nothing stored for the refused and
# spam submissions, the beacons a11y.mjs saw counted in /metrics are the
# events stored.  Screenshots go to tests/browser-run/ in the build tree.
#
# Runs from the checkout's tests/browser/node_modules (tools/install-deps
# runs npm ci there); from a tarball, whose source tree is read-only and
# has no node_modules, it installs the pinned packages into
# tests/browser-run/ first.  Skips (77) only when there is no Chromium.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	echo "browser-test: SKIP: no Chromium at $CHROMIUM (tools/install-deps installs Debian's chromium)"
	exit 77
fi
export CHROMIUM

. "$(dirname "$0")/../integration/lib.sh"

for c in node lighttpd; do
	command -v "$c" >/dev/null 2>&1 || { bad "'$c' is installed (tools/install-deps)"; exit 1; }
done

# ---- processes: the browser's, besides lib.sh's servers ----

NODE_PID=
# pids of the browser's processes: Chromium's command lines name its
# profile, under $T/browser/
browser_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -qF -- "$T/browser/" && echo "${p#/proc/}"
	done
	return 0
}
browser_cleanup() {
	local rc=$? p
	if [ -n "$NODE_PID" ]; then
		kill -TERM -- "-$NODE_PID" 2>/dev/null
		sleep 1
		kill -KILL -- "-$NODE_PID" 2>/dev/null
		wait "$NODE_PID" 2>/dev/null
	fi
	for p in $(browser_pids); do
		say "browser process $p was still running; SIGKILL"
		kill -KILL "$p" 2>/dev/null
	done
	(exit $rc)
	cleanup
}
trap browser_cleanup EXIT

# ---- the node packages ----

here=$top_srcdir/tests/browser
run=$top_builddir/tests/browser-run
mkdir -p "$run"
rm -f "$run"/*.png
if [ -d "$here/node_modules/playwright-core" ] && [ -d "$here/node_modules/axe-core" ]; then
	script=$here/a11y.mjs
else
	cp "$here/package.json" "$here/package-lock.json" "$here/a11y.mjs" "$run/"
	chmod u+w "$run"/*
	if ! (cd "$run" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error); then
		bad "npm ci of tests/browser/package-lock.json"
		exit 1
	fi
	script=$run/a11y.mjs
fi

# ---- the servers ----

CFG_MIN_SECONDS=1
CFG_PROCS=2

new_instance example
start_lighttpd
say "lighttpd with rules/example.routes on $BASE"
EX_BASE=$BASE EX_DB=$DB

sed '/^[[:space:]]*hours[[:space:]]/d' "$RULES" > "$APP/rules/allhours.routes"
chmod a+r "$APP/rules/allhours.routes"
check "the all-hours rules differ from example.routes by the hours line only" \
	test "$(diff "$RULES" "$APP/rules/allhours.routes" | grep -c '^[<>]')" = 1
EXAMPLE_RULES=$RULES
RULES=$APP/rules/allhours.routes
new_instance allhours
start_lighttpd
say "lighttpd with enterprise_us open at all hours on $BASE"
AH_BASE=$BASE AH_DB=$DB
RULES=$EXAMPLE_RULES

# ---- the browser ----

mkdir -p "$T/browser"
RESULTS=$T/results.json
# its own session and process group: everything it starts is stopped at exit
LR_ORIGIN=$EX_BASE LR_ORIGIN_ALLHOURS=$AH_BASE LR_RULES=$EXAMPLE_RULES LR_MIN_SECONDS=$CFG_MIN_SECONDS \
	LR_RESULTS=$RESULTS LR_BROWSER_TMP=$T/browser SHOTS_DIR=$run \
	setsid node "$script" < /dev/null &
NODE_PID=$!
wait "$NODE_PID"
node_rc=$?
NODE_PID=
sleep 0.5
left=$(browser_pids | tr '\n' ' ')
check "no browser process is left after the run${left:+ (left: $left)}" test -z "$left"
[ "$node_rc" = 0 ] || bad "the browser checks (a11y.mjs exited $node_rc)"

# ---- what the databases hold ----

if ! jq -e . "$RESULTS" >/dev/null 2>&1; then
	bad "a11y.mjs wrote its results ($RESULTS)"
	finish
	exit 1
fi

db_of() { if [ "$1" = "$EX_BASE" ]; then echo "$EX_DB"; else echo "$AH_DB"; fi; }
q() { printf "'%s'" "${1//\'/\'\'}"; }   # an SQL string literal

n=$(jq '.leads | length' "$RESULTS")
check "a11y.mjs sent leads ($n)" test "$n" -ge 10
while IFS=$'\t' read -r origin email queue landed idem; do
	DB=$(db_of "$origin")
	got=$(sql "SELECT count(*) || '|' || ifnull(max(queue), '') FROM leads WHERE email = $(q "$email")")
	check "stored once: $email in $queue (got $got)" test "$got" = "1|$queue"
	if [[ $landed != "$origin"/* ]]; then
		member=$(sql "SELECT ifnull(member, '') FROM leads WHERE email = $(q "$email")")
		want=$(jq -r --arg m "$member" '.schedulers[$m] // "none"' "$RESULTS")
		check "$email landed on the scheduler of its member $member ($landed)" test "$landed" = "$want"
		got=$(sql "SELECT redirect FROM leads WHERE email = $(q "$email")")
		check "... which is the redirect stored ($got)" test "$got" = "$landed"
	fi
	if [ -n "$idem" ]; then
		got=$(sql "SELECT count(*) FROM leads WHERE email = $(q "$email") AND idem_key = $(q "$idem")")
		check "$email stored under the browser's idempotency key" test "$got" = 1
	fi
done < <(jq -r '.leads[] | [.origin, .email, .queue, .landed, (.idem // "")] | @tsv' "$RESULTS")

# the typed fields, as they were typed (form-encoded and JSON alike);
# compared in SQL, so that quotes, "<" and newlines stay what they are.  A
# plain form post sends a textarea's line breaks as CRLF (HTML), fetch as
# LF: both count as typed.
while IFS=$'\t' read -r origin email field b64; do
	DB=$(db_of "$origin")
	value=$(printf '%s' "$b64" | base64 -d; echo x)
	value=${value%x}
	got=$(sql "SELECT replace(json_extract(fields, $(q "\$.$field")), char(13, 10), char(10)) = $(q "$value") FROM leads WHERE email = $(q "$email")")
	check "$email: $field stored as typed" test "$got" = 1
done < <(jq -r '.leads[] | select(.fields) | . as $l | .fields | to_entries[] |
	[$l.origin, $l.email, .key, (.value | @base64)] | @tsv' "$RESULTS")

while IFS=$'\t' read -r origin email; do
	DB=$(db_of "$origin")
	check "not stored: $email" test "$(sql "SELECT count(*) FROM leads WHERE email = $(q "$email")")" = 0
done < <(jq -r '.absent[] | [.origin, .email] | @tsv' "$RESULTS")

for origin in "$EX_BASE" "$AH_BASE"; do
	DB=$(db_of "$origin")
	want=$(jq -r --arg o "$origin" '.spam[$o] // 0' "$RESULTS")
	got=$(sql "SELECT count(*) FROM events WHERE type = 'spam_blocked'")
	check "$origin: spam_blocked events: $want (the honeypot only; got $got)" test "$got" = "$want"
	for type in form_view form_start; do
		want=$(jq -r --arg o "$origin" --arg t "$type" '.beacons[$o][$t] // "missing"' "$RESULTS")
		got=$(sql "SELECT count(*) FROM events WHERE type = '$type'")
		check "$origin: $type events stored = /metrics ($got, $want)" test "$got" = "$want"
	done
	listed=$(lr leads list --json -n 1000 | jq -r 'length')
	want=$(jq -r --arg o "$origin" '[.leads[] | select(.origin == $o)] | length' "$RESULTS")
	check "$origin: leadroute leads list shows exactly the leads sent ($listed, $want)" test "$listed" = "$want"
done

check "country options match iso-codes (www/tools/gen-country-options.sh --check)" \
	sh "$top_srcdir/www/tools/gen-country-options.sh" --check

say "screenshots: $run"
stop_all_and_check
finish
