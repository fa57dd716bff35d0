#!/bin/bash
# secrets-test.sh - tokens and keys never leak.  The HubSpot token, the
# Salesforce client secret and the webhook secret are given as _FILE
# settings (mode 600); leads go through the handler (as CGI) and the outbox
# while the fake CRM refuses the token (401), fails (500), rate-limits and
# expires Salesforce's session; then nothing anywhere holds a secret: the
# handler's log, every command's output and errors, the whole database
# (leads, events, outbox errors), /metrics, /healthz, `leadroute outbox
# list/show`.  A secret file readable by others is refused, naming the file
# and not its content.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/hubspot-lib.sh"
. "$top_srcdir/tests/crm/fakecrm-lib.sh"

LR=$top_builddir/src/cmd/leadroute
FCGI=$top_builddir/src/cmd/leadroute.fcgi
export LEADROUTE_FREEMAIL=$top_srcdir/data/freemail.txt
export LEADROUTE_RULES=$top_srcdir/rules/example.routes LEADROUTE_WWW=$top_srcdir/www
export LEADROUTE_SPAM_MIN_SECONDS=0 LEADROUTE_CRM_TIMEOUT_MS=2000 LEADROUTE_LOG=$T/handler.log
OUTS=$T/outputs
: > "$OUTS"

HS_TOKEN=pat-na1-secret-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
SF_SECRET=fake-client-secret
WH_SECRET=whsec-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
umask 077
printf '%s\n' "$HS_TOKEN" > "$T/hs.token"
printf '%s\n' "$SF_SECRET" > "$T/sf.secret"
printf '%s\n' "$WH_SECRET" > "$T/wh.secret"

fakecrm_start "$T/crm" --seed "$top_srcdir/tests/crm/seed.json" --hs-token "$HS_TOKEN" \
	--hs-contact-property leadroute_id ||
	die "no fake CRM"
# every member of the rules is an owner (a user) in the CRM
owners=$(grep -o '"[a-z0-9.]*@acme.example"' "$LEADROUTE_RULES" | sort -u |
	jq -s '{owners: [.[] | {email: ., firstName: "M", lastName: "Ember"}]}')
fakecrm_ctl POST /seed "$owners" >/dev/null || die "cannot seed the owners"

# lr ARGS...: the leadroute command; output kept for the final grep
lr() { "$LR" "$@" >> "$OUTS" 2>&1; }
# lead JSON: one POST /lead through the handler as CGI
lead() {
	local body=$1
	printf '%s' "$body" | env REQUEST_METHOD=POST PATH_INFO=/lead \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} HTTP_ACCEPT=application/json \
		REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 "$FCGI" >> "$OUTS" 2>&1
}
get() { env REQUEST_METHOD=GET PATH_INFO="$1" REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 \
	"$FCGI" >> "$OUTS" 2>&1; }

# ---- HubSpot, token from a file ----
export LEADROUTE_DB=$T/hs.db LEADROUTE_CRM=hubspot LEADROUTE_HUBSPOT_URL=$FAKECRM_URL
export LEADROUTE_HUBSPOT_TOKEN_FILE=$T/hs.token
lead '{"email":"a1@bigco.example"}'
check "hubspot: a lead is written with the token from the file" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT state FROM outbox")" = done
fakecrm_ctl POST /faults '{"kind":"status","status":500,"count":1,"surface":"hubspot"}' >/dev/null
lead '{"email":"a2@bigco.example"}'
# a revoked token: the fake accepts only the real one
printf 'pat-na1-revoked-%s\n' "$HS_TOKEN" > "$T/hs.revoked"
LEADROUTE_HUBSPOT_TOKEN_FILE=$T/hs.revoked lead '{"email":"a4@bigco.example"}'
check "hubspot: a refused token dead-letters the lead with an alert" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM outbox WHERE state = 'dead'")/$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM events WHERE type = 'alert'")" = 1/1
fakecrm_ctl POST /faults '{"kind":"rate_limit","count":1,"surface":"hubspot"}' >/dev/null
lead '{"email":"a3@bigco.example"}'
lr outbox list
lr outbox list --json
for id in $(sqlite3 "$LEADROUTE_DB" "SELECT id FROM outbox"); do lr outbox show "$id"; done
fakecrm_ctl DELETE /faults >/dev/null
lr outbox drain
get /metrics
get /healthz
sqlite3 "$LEADROUTE_DB" .dump >> "$OUTS"

# ---- Salesforce, client secret from a file; an expired session ----
export LEADROUTE_DB=$T/sf.db LEADROUTE_CRM=salesforce LEADROUTE_SALESFORCE_LOGIN_URL=$FAKECRM_URL
export LEADROUTE_SALESFORCE_CLIENT_ID=fake-client-id LEADROUTE_SALESFORCE_CLIENT_SECRET_FILE=$T/sf.secret
lead '{"email":"b1@bigco.example"}'
check "salesforce: a lead is written with the secret from the file" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT state FROM outbox")" = done
fakecrm_ctl POST /tokens/expire '{"surface":"salesforce"}' >/dev/null
fakecrm_ctl POST /faults '{"kind":"status","status":500,"count":1,"surface":"salesforce"}' >/dev/null
lead '{"email":"b2@bigco.example"}'
lr outbox list
lr outbox drain
get /metrics
sqlite3 "$LEADROUTE_DB" .dump >> "$OUTS"

# ---- webhook, secret from a file; a receiver that is not there ----
export LEADROUTE_DB=$T/wh.db LEADROUTE_CRM=webhook LEADROUTE_WEBHOOK_URL=$FAKECRM_URL/nowhere
export LEADROUTE_WEBHOOK_SECRET_FILE=$T/wh.secret
lead '{"email":"c1@bigco.example"}'
lr outbox list --json
sqlite3 "$LEADROUTE_DB" .dump >> "$OUTS"

# ---- a secret file others can read is refused ----
chmod 644 "$T/hs.token"
OUT=$(LEADROUTE_CRM=hubspot LEADROUTE_HUBSPOT_TOKEN_FILE=$T/hs.token "$LR" outbox drain 2>&1)
RC=$?
echo "$OUT" >> "$OUTS"
check "a token file readable by others is refused, naming the file ($OUT)" \
	eval '[ "$RC" != 0 ] && grep -q "hs.token" <<<"$OUT"'
chmod 600 "$T/hs.token"

cat "$T/handler.log" >> "$OUTS"
check "the outputs, logs and databases were collected ($(wc -c < "$OUTS") bytes)" \
	test "$(wc -c < "$OUTS")" -gt 2000
for secret in "$HS_TOKEN" "$SF_SECRET" "$WH_SECRET"; do
	check "no output, log line, event, outbox error or metric holds ${secret:0:12}..." \
		eval '! grep -qF -- "$secret" "$OUTS"'
done
check "no access token of the fake's shows either" eval '! grep -q "00DFAKE\|Bearer [A-Za-z0-9]" "$OUTS"'

fakecrm_stop
finish
