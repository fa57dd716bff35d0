#!/bin/sh
# alerts-test.sh - alerts raised by the handler (src/alert/alert.h), through
# leadroute.fcgi run as CGI on a real SQLite file:
#   a form field refused LEADROUTE_ALERT_VALIDATION_FAILURES times within
#   the window raises one validation_failures alert naming the field, logged
#   with "ALERT:"; more refusals within LEADROUTE_ALERT_EVERY_MINUTES are
#   held back and counted; another field has its own alert;
#   a lead whose queue has no available member (everyone away) raises
#   queue_no_member naming the queue, once;
#   a lead routed to a scheduler stores scheduler_shown.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
T=$(mktemp -d /tmp/lr-alerts.XXXXXX)
trap 'rm -rf "$T"' EXIT
FCGI=$top_builddir/src/cmd/leadroute.fcgi
LR=$top_builddir/src/cmd/leadroute
pass=0 fail=0
check() {
	local what=$1; shift
	if "$@"; then pass=$((pass + 1)); echo "ok   $what"; else fail=$((fail + 1)); echo "FAIL $what"; fi
}
run=()
[ -n "${LEADROUTE_VALGRIND:-}" ] && run=(valgrind -q --error-exitcode=99 --leak-check=full)
# the example rules without enterprise_us's office hours, so that its leads
# always reach a member's scheduler
grep -v '^ *hours ' "$top_srcdir/rules/example.routes" > "$T/rules.routes"
export LEADROUTE_DB=$T/leads.db LEADROUTE_RULES=$T/rules.routes \
	LEADROUTE_WWW=$top_srcdir/www LEADROUTE_SPAM_MIN_SECONDS=0 LEADROUTE_LOG=$T/handler.log \
	LEADROUTE_ALERT_VALIDATION_FAILURES=3 LEADROUTE_RATE_LIMIT=0

post() {   # post JSON: one POST /lead as CGI; the answer's body in ANSWER
	local body=$1
	ANSWER=$(printf '%s' "$body" | env REQUEST_METHOD=POST PATH_INFO=/lead \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} HTTP_ACCEPT=application/json \
		REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 "${run[@]}" "$FCGI" | sed '1,/^\r*$/d')
}
sql() { sqlite3 "$LEADROUTE_DB" "$1"; }
alerts() { sql "SELECT count(*) FROM events WHERE type = 'alert' AND json_extract(data, '$.alert') = '$1'"; }

# ---- validation failures ----
post '{"email":"not-an-email","first_name":"A"}'
post '{"email":"still-not","first_name":"B"}'
check "two refusals of email: no alert yet" test "$(alerts validation_failures)" = 0
post '{"email":"nope","first_name":"C"}'
check "the third within the window: one validation_failures alert" test "$(alerts validation_failures)" = 1
check "... naming the field" test "$(sql "SELECT json_extract(data, '$.key') FROM events WHERE type = 'alert'")" = email
check "... and logged" grep -q "ALERT: the form's field 'email' was refused 3 times" "$T/handler.log"
post '{"email":"nope2","first_name":"D"}'
post '{"email":"nope3","first_name":"E"}'
check "two more: held back, not raised again" test "$(alerts validation_failures)" = 1
check "... but counted (2)" \
	test "$(sql "SELECT suppressed FROM alert_state WHERE kind = 'validation_failures' AND key = 'email'")" = 2
check "the log has one alert for email" test "$(grep -c "ALERT: the form's field 'email'" "$T/handler.log")" = 1

# ---- scheduler_shown ----
post '{"email":"cto@bigco.example","first_name":"Cy","country":"US","employees":"500"}'
id=$(jq -r .lead_id <<<"$ANSWER")
redirect=$(jq -r .redirect <<<"$ANSWER")
check "an enterprise lead is sent to its member's scheduler ($redirect)" \
	eval '[[ $redirect == https://cal.example/* ]]'
check "... and stores scheduler_shown for enterprise_us" \
	test "$(sql "SELECT count(*) FROM events WHERE type = 'scheduler_shown' AND lead_id = '$id' AND json_extract(data, '$.queue') = 'enterprise_us'")" = 1
post '{"email":"kim@smallco.example","first_name":"Kim","country":"DE"}'
check "a lead sent to the confirmation stores no scheduler_shown" \
	test "$(sql "SELECT count(*) FROM events WHERE type = 'scheduler_shown' AND lead_id = '$(jq -r .lead_id <<<"$ANSWER")'")" = 0

# ---- a queue with no available member ----
"$LR" members away sdr1@acme.example --until 2099-01-01 >/dev/null
"$LR" members away sdr2@acme.example --until 2099-01-01 >/dev/null
post '{"email":"jo@smallco.example","first_name":"Jo","country":"DE"}'
check "everyone in inbound away: the lead is answered ($(jq -r .queue <<<"$ANSWER"))" \
	test "$(jq -r .lead_id <<<"$ANSWER")" != null
check "... one queue_no_member alert for inbound" \
	test "$(alerts queue_no_member)/$(sql "SELECT json_extract(data, '$.key') FROM events WHERE json_extract(data, '$.alert') = 'queue_no_member'")" = 1/inbound
post '{"email":"mo@smallco.example","first_name":"Mo","country":"DE"}'
check "a second unassigned lead: still one alert" test "$(alerts queue_no_member)" = 1
check "... logged once" test "$(grep -c "ALERT: queue inbound has no available member" "$T/handler.log")" = 1

check "no sanitizer or valgrind report in the log" eval '! grep -q "ERROR: \|runtime error\|==[0-9]*==" "$T/handler.log"'

echo "alerts-test: $pass passed, $fail failed"
[ "$fail" = 0 ]
