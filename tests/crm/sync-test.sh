#!/bin/bash
# sync-test.sh - the account index from the CRM: `leadroute accounts sync` against the fake CRM, for
# HubSpot and Salesforce: a first sync mirrors every company/account with
# its owner into the account index under its registrable domain; the next
# one asks only for what changed since (and stores a company added in the
# CRM meanwhile); a CRM failure stops the sync with the CRM's words, exit
# 1, and does not move the "last sync" mark, so nothing is skipped; a
# missing token is an error naming the setting.  And the handler's live
# lookup: an account the index lacks is asked of the CRM; a CRM slower than
# the lookup timeout delays nobody, and the lead's owner goes to review; a
# paused CRM is not asked.  Under LEADROUTE_VALGRIND
# the command runs in valgrind.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/hubspot-lib.sh"
. "$top_srcdir/tests/crm/fakecrm-lib.sh"

LR=$top_builddir/src/cmd/leadroute
[ -x "$LR" ] || die "$LR is not built"
run_lr=("$LR")
if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
	run_lr=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
	        "$LR")
fi
export LEADROUTE_FREEMAIL=$top_srcdir/data/freemail.txt

fakecrm_start "$T/crm" --seed "$top_srcdir/tests/crm/seed.json" || die "no fake CRM"
SEEDED=$(jq '.accounts | length' "$top_srcdir/tests/crm/seed.json")

sync_with() {   # sync_with CRM [args]: runs the sync, OUT and RC set
	local crm=$1
	shift
	OUT=$(env LEADROUTE_CRM="$crm" LEADROUTE_HUBSPOT_URL="$FAKECRM_URL" \
		LEADROUTE_HUBSPOT_TOKEN=hs-token-sync-test \
		LEADROUTE_SALESFORCE_LOGIN_URL="$FAKECRM_URL" \
		LEADROUTE_SALESFORCE_CLIENT_ID=fake-client-id \
		LEADROUTE_SALESFORCE_CLIENT_SECRET=fake-client-secret \
		LEADROUTE_CRM_TIMEOUT_MS=3000 "${run_lr[@]}" accounts sync "$@" 2>&1)
	RC=$?
}
accounts() { sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM accounts"; }

for crm in hubspot salesforce; do
	export LEADROUTE_DB=$T/$crm.db
	fakecrm_ctl POST /reset >/dev/null
	sync_with "$crm"
	check "$crm: first sync exits 0 ($OUT)" test "$RC" = 0
	check "$crm: it mirrored all $SEEDED accounts" test "$(accounts)" = "$SEEDED"
	check "$crm: ... and says so" grep -q "$SEEDED accounts changed since the start" <<<"$OUT"
	check "$crm: acme.example is owned by ana, a customer" \
		test "$(sqlite3 "$LEADROUTE_DB" "SELECT owner || '|' || lifecycle FROM accounts WHERE domain = 'acme.example'")" = "ana@acme.example|customer"
	sync_with "$crm"
	check "$crm: a second sync asks only for what changed: nothing ($OUT)" \
		eval '[ "$RC" = 0 ] && grep -q "0 accounts changed since the last sync" <<<"$OUT"'
	# changed now: the seed's own accounts carry old modification times
	fakecrm_ctl POST /seed "{\"accounts\": [{\"domain\": \"www.newco.example\", \"name\": \"Newco\",
		\"owner\": \"ben@acme.example\", \"lifecycle\": \"prospect\",
		\"modified\": \"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)\"}]}" >/dev/null
	sync_with "$crm"
	check "$crm: a company added in the CRM comes in the next sync ($OUT)" \
		eval '[ "$RC" = 0 ] && grep -q "^$crm: 1 accounts changed since the last sync" <<<"$OUT"'
	check "$crm: ... under its registrable domain, with its owner" \
		test "$(sqlite3 "$LEADROUTE_DB" "SELECT owner FROM accounts WHERE domain = 'newco.example'")" = ben@acme.example
	mark=$(sqlite3 "$LEADROUTE_DB" "SELECT value FROM meta WHERE key = 'accounts_sync_ms'")
	fakecrm_ctl POST /faults '{"kind":"status","status":503,"count":100}' >/dev/null
	sync_with "$crm" --full
	fakecrm_ctl DELETE /faults >/dev/null
	check "$crm: a CRM failure stops the sync with exit 1 and the CRM's status ($OUT)" \
		eval '[ "$RC" = 1 ] && grep -q "sync stopped" <<<"$OUT" && grep -q 503 <<<"$OUT"'
	check "$crm: ... and does not move the last-sync mark" \
		test "$(sqlite3 "$LEADROUTE_DB" "SELECT value FROM meta WHERE key = 'accounts_sync_ms'")" = "$mark"
	check "$crm: no secret in any output" \
		eval '! grep -q "hs-token-sync-test\|fake-client-secret" <<<"$OUT"'
done

# ---- an account that changes hands in the CRM: the next sync records the
# leads the rules gave its old owner as reassigned (lead_reassigned) ----
export LEADROUTE_DB=$T/hubspot.db
body='{"email":"jo@newco.example","first_name":"Jo"}'
ANSWER=$(printf '%s' "$body" | env LEADROUTE_RULES="$top_srcdir/rules/example.routes" \
	LEADROUTE_WWW="$top_srcdir/www" LEADROUTE_SPAM_MIN_SECONDS=0 LEADROUTE_LOG="$T/reassign.log" \
	REQUEST_METHOD=POST PATH_INFO=/lead CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
	HTTP_ACCEPT=application/json REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 \
	"$top_builddir/src/cmd/leadroute.fcgi" | sed '1,/^\r*$/d')
check "a newco.example lead goes to its account owner ben ($ANSWER)" \
	test "$(jq -r '.queue + "|" + .owner' <<<"$ANSWER")" = "account_owner|ben@acme.example"
# the same company (its HubSpot id), now owned by ana
NEWCO=$(sqlite3 "$LEADROUTE_DB" "SELECT account_id FROM accounts WHERE domain = 'newco.example'")
fakecrm_ctl POST /seed "{\"accounts\": [{\"domain\": \"www.newco.example\", \"name\": \"Newco\",
	\"hubspot_id\": \"$NEWCO\", \"owner\": \"ana@acme.example\", \"lifecycle\": \"prospect\",
	\"modified\": \"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)\"}]}" >/dev/null
sync_with hubspot
check "newco.example changed hands: the sync says 1 lead now with the new owner ($OUT)" \
	eval '[ "$RC" = 0 ] && grep -q "^1 lead of the last 30 days now with the account.s new owner" <<<"$OUT"'
check "... one lead_reassigned event from ben to ana, by accounts_sync" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT json_extract(data, '$.from') || '>' || json_extract(data, '$.to') || '|' || json_extract(data, '$.source') FROM events WHERE type = 'lead_reassigned' AND lead_id = '$(jq -r .lead_id <<<"$ANSWER")'")" = \
	"ben@acme.example>ana@acme.example|accounts_sync"
sync_with hubspot --full
check "a full sync again records nothing more" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM events WHERE type = 'lead_reassigned'")" = 1

# ---- live lookup (LEADROUTE_CRM_LOOKUP=1): the handler asks the CRM when
# the index has no entry, within the lookup timeout ----
FCGI=$top_builddir/src/cmd/leadroute.fcgi
lead_cgi() {   # lead_cgi JSON: one POST /lead through the handler as CGI; ANSWER set
	local body=$1
	ANSWER=$(printf '%s' "$body" | env LEADROUTE_CRM=hubspot LEADROUTE_HUBSPOT_URL="$FAKECRM_URL" \
		LEADROUTE_HUBSPOT_TOKEN=hs-token-sync-test LEADROUTE_CRM_LOOKUP=1 \
		LEADROUTE_CRM_LOOKUP_TIMEOUT_MS=400 LEADROUTE_DB="$T/live.db" \
		LEADROUTE_RULES="$top_srcdir/rules/example.routes" LEADROUTE_WWW="$top_srcdir/www" \
		LEADROUTE_SPAM_MIN_SECONDS=0 LEADROUTE_LOG="$T/live.log" \
		REQUEST_METHOD=POST PATH_INFO=/lead CONTENT_TYPE=application/json \
		CONTENT_LENGTH=${#body} HTTP_ACCEPT=application/json REMOTE_ADDR=127.0.0.1 \
		GATEWAY_INTERFACE=CGI/1.1 "$FCGI" | sed '1,/^\r*$/d')
}
fakecrm_ctl POST /reset >/dev/null
lead_cgi '{"email":"jo@acme.example","first_name":"Jo"}'
check "live lookup: an empty index, the CRM knows acme.example: routed to its owner ($ANSWER)" \
	test "$(jq -r '.queue + "|" + .owner' <<<"$ANSWER")" = "account_owner|ana@acme.example"
fakecrm_ctl POST /faults '{"kind":"latency","ms":3000,"route":"companies.search","count":1}' >/dev/null
t0=$(date +%s%N)
lead_cgi '{"email":"kim@acme.example","first_name":"Kim"}'
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
fakecrm_ctl DELETE /faults >/dev/null
check "live lookup: the CRM slower than the timeout: answered anyway in ${ms} ms" \
	eval '[ "$(jq -r .lead_id <<<"$ANSWER")" != null ] && [ "$ms" -lt 2500 ]'
check "... routed without the account (queue $(jq -r .queue <<<"$ANSWER"))" \
	test "$(jq -r .queue <<<"$ANSWER")" != account_owner
check "... and the CRM payload marks the owner for review" \
	test "$(sqlite3 "$T/live.db" "SELECT json_extract(payload, '\$.review_owner') FROM outbox o JOIN leads l ON l.id = o.lead_id WHERE l.email = 'kim@acme.example'")" = 1
check "... the log says why" grep -q "live account lookup for acme.example" "$T/live.log"
# a CRM paused (a rate limit another process met) is not asked at all
sqlite3 "$T/live.db" "INSERT INTO crm_pause (crm, until_ms, reason) VALUES ('hubspot', $(( $(date +%s%3N) + 600000 )), 'X-HubSpot-RateLimit-Remaining: 0') ON CONFLICT (crm) DO UPDATE SET until_ms = excluded.until_ms"
S=$(fakecrm_ctl GET /requests | jq .last_seq)
lead_cgi '{"email":"lu@acme.example","first_name":"Lu"}'
check "live lookup: a paused CRM is not asked (nor written to)" \
	test "$(fakecrm_ctl GET "/requests?since=$S" | jq '.requests | length')" = 0
check "... the lead is answered, its owner marked for review" \
	test "$(sqlite3 "$T/live.db" "SELECT json_extract(payload, '\$.review_owner') FROM outbox o JOIN leads l ON l.id = o.lead_id WHERE l.email = 'lu@acme.example'")" = 1
check "... the log says the CRM is paused" grep -q "acme.example: the CRM is paused" "$T/live.log"

OUT=$(LEADROUTE_CRM=hubspot LEADROUTE_DB=$T/x.db "$LR" accounts sync 2>&1)
RC=$?
check "hubspot without a token: exit 1 and an error naming LEADROUTE_HUBSPOT_TOKEN ($OUT)" \
	eval '[ "$RC" = 1 ] && grep -q LEADROUTE_HUBSPOT_TOKEN <<<"$OUT"'
OUT=$(LEADROUTE_DB=$T/x.db "$LR" accounts sync --bogus 2>&1)
check "a bad option is a usage error" grep -q "usage: leadroute accounts sync" <<<"$OUT"

fakecrm_stop
check "the fake CRM stopped cleanly" test "$FAKECRM_RC" = 0
finish
