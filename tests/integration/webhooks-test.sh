#!/bin/sh
# webhooks-test.sh - the signed webhooks of leadroute.fcgi (run as CGI on a
# real SQLite file): POST /booked (a scheduler's booking -> meeting_booked)
# and POST /owner-changed (the CRM moved a lead -> lead_reassigned).
#   unsigned, wrongly signed, stale and unconfigured requests are refused
#   (401, 401, 401, 404) and store nothing; a signed booking names its lead
#   by lead_id or by email, in our format or Calendly's (t=,v1= header,
#   payload.email, payload.uri), and a resent booking counts once; an owner
#   change to someone else is one lead_reassigned {from, to}, a repeat or
#   the same owner is none.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
T=$(mktemp -d /tmp/lr-hooks.XXXXXX)
trap 'rm -rf "$T"' EXIT
FCGI=$top_builddir/src/cmd/leadroute.fcgi
pass=0 fail=0
check() {
	local what=$1; shift
	if "$@"; then pass=$((pass + 1)); echo "ok   $what"; else fail=$((fail + 1)); echo "FAIL $what"; fi
}
run=()
[ -n "${LEADROUTE_VALGRIND:-}" ] && run=(valgrind -q --error-exitcode=99 --leak-check=full)
SSEC=sched-secret-0123456789 CSEC=crm-secret-9876543210
export LEADROUTE_DB=$T/leads.db LEADROUTE_RULES=$top_srcdir/rules/example.routes \
	LEADROUTE_WWW=$top_srcdir/www LEADROUTE_SPAM_MIN_SECONDS=0 LEADROUTE_LOG=$T/handler.log \
	LEADROUTE_RATE_LIMIT=0

# cgi PATH BODY [VAR=VALUE...]: one POST; STATUS and ANSWER (the body) set
cgi() {
	local path=$1 body=$2; shift 2
	local out
	out=$(printf '%s' "$body" | env REQUEST_METHOD=POST PATH_INFO="$path" \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} HTTP_ACCEPT=application/json \
		REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 "$@" "${run[@]}" "$FCGI")
	STATUS=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' <<<"$out" | head -n 1)
	[ -n "$STATUS" ] || STATUS=200
	ANSWER=$(sed '1,/^\r*$/d' <<<"$out")
}
sign() {   # sign SECRET TS BODY: the hex HMAC-SHA256 of "TS.BODY"
	printf '%s.%s' "$2" "$3" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1
}
sql() { sqlite3 "$LEADROUTE_DB" "$1"; }
events() { sql "SELECT count(*) FROM events WHERE type = '$1'"; }

cgi /lead '{"email":"Jo@BigCo.example","first_name":"Jo","country":"US","employees":"500"}'
LEAD=$(jq -r .lead_id <<<"$ANSWER")
MEMBER=$(sql "SELECT member FROM leads WHERE id = '$LEAD'")
check "a lead to talk about ($LEAD, member $MEMBER)" test -n "$MEMBER"

# ---- refusals ----
B='{"lead_id":"'$LEAD'","booking_id":"bk-1","starts_at":"2026-12-01T15:00:00Z"}'
NOW=$(date +%s)
cgi /booked "$B"
check "without LEADROUTE_SCHEDULER_SECRET: 404" test "$STATUS" = 404
export LEADROUTE_SCHEDULER_SECRET=$SSEC LEADROUTE_CRM_WEBHOOK_SECRET=$CSEC
cgi /booked "$B"
check "unsigned: 401" eval '[ "$STATUS" = 401 ] && grep -q "not signed" <<<"$ANSWER"'
cgi /booked "$B" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign wrong-secret "$NOW" "$B")"
check "signed with another secret: 401 'does not match'" eval '[ "$STATUS" = 401 ] && grep -q "does not match" <<<"$ANSWER"'
OLD=$((NOW - 600))
cgi /booked "$B" HTTP_LEADROUTE_TIMESTAMP=$OLD HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$SSEC" "$OLD" "$B")"
check "signed 10 minutes ago: 401 (a replay)" eval '[ "$STATUS" = 401 ] && grep -q "5 minutes" <<<"$ANSWER"'
cgi /booked "$B" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$SSEC" "$NOW" "$B x")"
check "a signature of another body: 401" test "$STATUS" = 401
cgi /booked "$B" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$CSEC" "$NOW" "$B")"
check "signed with the CRM's secret: 401 (each webhook has its own)" test "$STATUS" = 401
check "nothing stored by the refusals" test "$(events meeting_booked)" = 0

# ---- bookings ----
cgi /booked "$B" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$SSEC" "$NOW" "$B")"
check "signed: 200, meeting_booked for the lead ($ANSWER)" \
	eval '[ "$STATUS" = 200 ] && [ "$(jq -r .event <<<"$ANSWER")" = meeting_booked ]'
check "... with its queue, member, booking and start" \
	test "$(sql "SELECT json_extract(data, '$.queue') || '|' || json_extract(data, '$.member') || '|' || json_extract(data, '$.booking_id') || '|' || json_extract(data, '$.starts_at') FROM events WHERE type = 'meeting_booked' AND lead_id = '$LEAD'")" = \
	"$(sql "SELECT queue FROM leads WHERE id = '$LEAD'")|$MEMBER|bk-1|2026-12-01T15:00:00Z"
cgi /booked "$B" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$SSEC" "$NOW" "$B")"
check "the same booking resent: 200 unchanged, still one event" \
	eval '[ "$STATUS" = 200 ] && jq -e .unchanged <<<"$ANSWER" >/dev/null && [ "$(events meeting_booked)" = 1 ]'
C='{"event":"invitee.created","payload":{"email":"jo@bigco.example","uri":"https://api.calendly.example/scheduled_events/E1/invitees/I1","scheduled_event":{"start_time":"2026-12-02T16:00:00.000000Z"}}}'
cgi /booked "$C" HTTP_CALENDLY_WEBHOOK_SIGNATURE="t=$NOW,v1=$(sign "$SSEC" "$NOW" "$C")"
check "Calendly's shape and header, the lead found by email in another case: 200" \
	eval '[ "$STATUS" = 200 ] && [ "$(jq -r .lead_id <<<"$ANSWER")" = "$LEAD" ]'
check "... a second booking for the lead" test "$(events meeting_booked)" = 2
U='{"email":"nobody@nowhere.example"}'
cgi /booked "$U" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$SSEC" "$NOW" "$U")"
check "an email no lead has: 404" test "$STATUS" = 404
J='not json'
cgi /booked "$J" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$SSEC" "$NOW" "$J")"
check "a signed body that is not JSON: 400" test "$STATUS" = 400

# ---- owner changes ----
O='{"lead_id":"'$LEAD'","owner":"'$MEMBER'"}'
cgi /owner-changed "$O" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$CSEC" "$NOW" "$O")"
check "the owner we assigned: 200 unchanged, no event" \
	eval '[ "$STATUS" = 200 ] && [ "$(events lead_reassigned)" = 0 ]'
O='{"lead_id":"'$LEAD'","owner":"kim@acme.example"}'
cgi /owner-changed "$O" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$SSEC" "$NOW" "$O")"
check "signed with the scheduler's secret: 401" test "$STATUS" = 401
cgi /owner-changed "$O" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$CSEC" "$NOW" "$O")"
check "another owner: 200, lead_reassigned from $MEMBER to kim" \
	test "$STATUS/$(sql "SELECT json_extract(data, '$.from') || '>' || json_extract(data, '$.to') || '|' || json_extract(data, '$.source') FROM events WHERE type = 'lead_reassigned'")" = \
	"200/$MEMBER>kim@acme.example|crm_webhook"
cgi /owner-changed "$O" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$CSEC" "$NOW" "$O")"
check "the same change resent: still one event" test "$(events lead_reassigned)" = 1
N='{"lead_id":"'$LEAD'"}'
cgi /owner-changed "$N" HTTP_LEADROUTE_TIMESTAMP=$NOW HTTP_LEADROUTE_SIGNATURE="v1=$(sign "$CSEC" "$NOW" "$N")"
check "no owner named: 400" test "$STATUS" = 400
check "no secret in the log" eval '! grep -q "$SSEC\|$CSEC" "$T/handler.log"'
check "no sanitizer or valgrind report in the log" eval '! grep -q "ERROR: \|runtime error\|==[0-9]*==" "$T/handler.log"'

echo "webhooks-test: $pass passed, $fail failed"
[ "$fail" = 0 ]
