#!/bin/bash
# tests/crm/salesforce-test.sh - the Salesforce connector (src/crm/salesforce.c)
# against the fake CRM (tests/crm/fakecrm.py, seeded with
# tests/crm/salesforce-seed.json) on a free loopback port, through
# tests/crm/sf_drive: one connector per driver process, commands on its
# standard input, one JSON answer each.
#
# Covers: client-credentials and JWT-bearer logins (and refusals), the
# upsert on the external id (created, then updated: one record), the
# owner kept against an assignment rule, owners looked up once, LastName
# and Company derived, an expired token refreshed once, 401 after the
# refresh, the daily cap (403) parked, 400s dead with Salesforce's words,
# 300, 500/reset/hang retried within the timeout, the token endpoint's
# errors, Sforce-Limit-Info, the pre-46.0 204 answer, account lookups by
# website domain (variants, LIKE wildcards and quotes escaped), sync paged
# through nextRecordsUrl, and no secret in anything the driver printed.
#
# Environment: top_srcdir and top_builddir (set by `make check`); LR_KEEP=1
# keeps the temporary directory.  Under LEADROUTE_VALGRIND the driver runs
# in valgrind.

# tools/valgrind-wrap runs scripts with sh: this one needs bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

TEST_NAME=salesforce-test
FAILS=0
PASSES=0
DRIVER=$top_builddir/tests/crm/sf_drive
SEED=$top_srcdir/tests/crm/salesforce-seed.json

say() { printf '%s: %s\n' "$TEST_NAME" "$*"; }
skip() { say "SKIP: $*"; exit 77; }
die() { say "ERROR: $*"; exit 99; }
ok() { PASSES=$((PASSES + 1)); printf 'ok   %s\n' "$*"; }
bad() { FAILS=$((FAILS + 1)); printf 'FAIL %s\n' "$*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
not() { ! "$@"; }

for c in python3 jq curl openssl; do
	command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (tools/install-deps)"
done
[ -x "$DRIVER" ] || die "$DRIVER is not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/lr-sf.XXXXXX") || die "cannot make a temporary directory"
DRV_PID=
. "$top_srcdir/tests/crm/fakecrm-lib.sh"

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	drive_stop
	fakecrm_stop
	if [ "${LR_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- secrets (made here, never printed by the test itself) ----

CLIENT_SECRET="cc-$(openssl rand -hex 16)"
CLIENT_ID=leadroute-test-client
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/jwt.key" 2>/dev/null ||
	die "openssl genpkey failed"
openssl pkey -in "$T/jwt.key" -pubout -out "$T/jwt.pub" 2>/dev/null || die "openssl pkey failed"
chmod 600 "$T/jwt.key"
# a line from the middle of the key: it must never be printed
KEY_LINE=$(sed -n 5p "$T/jwt.key")

# ---- the fake ----

fakecrm_start "$T/fake" --seed "$SEED" --sf-client-id "$CLIENT_ID" \
	--sf-client-secret "$CLIENT_SECRET" --sf-jwt-pubkey "$T/jwt.pub" --sf-query-batch 3 ||
	die "the fake CRM did not start"
BASE=$FAKECRM_URL

fake() { fakecrm_ctl "$@" || bad "the fake refused: $*"; }   # the control API
fault() { fake POST /faults "$1" >/dev/null; }
last_seq() { fake GET /requests | jq '.last_seq'; }
# requests SINCE [ROUTE]: the requests the fake received after SINCE
requests() {
	if [ $# -ge 2 ]; then fake GET "/requests?since=$1&route=$2"; else fake GET "/requests?since=$1"; fi
}
records() { fake GET /records; }

# ---- the driver ----

# drive_start [--via-crm] VAR=VALUE...: a new driver with these settings
drive_start() {
	drive_stop
	local args=() vg=()
	if [ "${1:-}" = --via-crm ]; then
		args=(--via-crm)
		shift
	fi
	if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
		vg=(valgrind -q --error-exitcode=99 --leak-check=full
			--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
	fi
	coproc DRIVE { env -i PATH="$PATH" LEADROUTE_SALESFORCE_LOGIN_URL="$BASE" \
		LEADROUTE_SALESFORCE_CLIENT_ID="$CLIENT_ID" LEADROUTE_CRM_TIMEOUT_MS=2000 "$@" \
		"${vg[@]}" "$DRIVER" "${args[@]}" 2>>"$T/drive.err"; }
	DRV_PID=$DRIVE_PID
	DRIVE_IN=${DRIVE[1]}
	DRIVE_OUT=${DRIVE[0]}
}

drive_stop() {
	[ -n "$DRV_PID" ] || return 0
	local pid=$DRV_PID rc=0
	DRV_PID=
	exec {DRIVE_IN}>&-
	wait "$pid" 2>/dev/null || rc=$?
	[ "$rc" = 0 ] || bad "the driver exited $rc ($(tail -n 5 "$T/drive.err" | tr '\n' ' '))"
}

# drive COMMAND: its JSON answer in R (and in $T/results.jsonl)
drive() {
	R='{}'
	printf '%s\n' "$*" >&"$DRIVE_IN" || { bad "driver gone before: $1"; return 1; }
	if ! IFS= read -r -t 60 R <&"$DRIVE_OUT"; then
		R='{}'
		bad "no answer from the driver to: ${1:0:60}"
		return 1
	fi
	printf '%s\n' "$R" >>"$T/results.jsonl"
}
jr() { jq -r "$1" <<<"$R"; }
is() { [ "$(jr "$1")" = "$2" ] || { say "  $1 is '$(jr "$1")', not '$2'"; return 1; }; }
has() { jr "$1" | grep -q -- "$2" || { say "  $1 '$(jr "$1")' lacks '$2'"; return 1; }; }

# lead ID OWNER [FIELDS-JSON [EMAIL [DOMAIN]]]: an outbox payload
lead() {
	local f=${3:-}
	[ -n "$f" ] || f='{}'
	jq -cn --arg id "$1" --arg owner "$2" --argjson f "$f" \
		--arg email "${4:-jane@acme.example}" --arg domain "${5:-acme.example}" \
		'{lead_id: $id, created_ms: 1760000000000, email: $email, domain: $domain,
		  fields: ({first_name: "Jane", last_name: "Doe", company: "Acme", country: "US",
		            employees: 500, message: "Tell me more"} + $f),
		  queue: "enterprise", owner: (if $owner == "" then null else $owner end),
		  account_id: null, rule_line: 3, outcome: "routed", review_owner: false}'
}

# time limits stretch under valgrind
SLOW=1
[ -z "${LEADROUTE_VALGRIND:-}" ] || SLOW=5
CC=(LEADROUTE_SALESFORCE_CLIENT_SECRET="$CLIENT_SECRET")
JWT=(LEADROUTE_SALESFORCE_JWT_KEY_FILE="$T/jwt.key" LEADROUTE_SALESFORCE_USER=leadroute-api@ourco.example)

# ==== client credentials: create, then update the same record ====

drive_start "${CC[@]}"
S=$(last_seq)
drive deliver "$(lead L-1 rep1@ourco.example)"
check "client credentials: the first delivery creates the Lead (201)" is '.status + " " + (.http|tostring)' "done 201"
ID1=$(jr .record_id)
check "the record id is a Lead id" grep -q '^00Q' <<<"$ID1"
check "one client_credentials login" \
	test "$(requests "$S" oauth.token | jq '[.requests[] | select(.body | test("grant_type=client_credentials"))] | length')" = 1
check "the login form never shows the secret in the fake's log either" \
	not grep -qF -- "$CLIENT_SECRET" "$T/fake/requests.jsonl"
drive deliver "$(lead L-1 rep1@ourco.example '{"message":"Second thoughts"}')"
check "the second delivery updates it (200, same id)" is '.status + " " + (.http|tostring) + " " + .record_id' "done 200 $ID1"
check "still one Lead for L-1, written twice" \
	test "$(records | jq -c '[.leads[] | select(.external_id == "L-1") | .writes]')" = "[2]"
check "the update carried the new field" \
	test "$(records | jq -r '.leads[] | select(.external_id == "L-1") | .fields.Description')" = "Second thoughts"
check "no second login for the second call" \
	test "$(requests "$S" oauth.token | jq '.requests | length')" = 1
UP=$(requests "$S" lead.upsert | jq -c '.requests[0]')
check "upsert is PATCH .../sobjects/Lead/Leadroute_Id__c/L-1 on v62.0" \
	test "$(jq -r '.method + " " + .path' <<<"$UP")" = "PATCH /services/data/v62.0/sobjects/Lead/Leadroute_Id__c/L-1"
check "upsert sends Sforce-Auto-Assign: FALSE" \
	test "$(jq -r '.headers | to_entries[] | select(.key | ascii_downcase == "sforce-auto-assign") | .value' <<<"$UP")" = FALSE
check "the body does not repeat the external id" \
	not grep -q Leadroute_Id__c <<<"$(jq -r .body <<<"$UP")"
check "the owner the rules chose (rep1) owns it" \
	test "$(records | jq -r '.leads[] | select(.external_id == "L-1") | .owner_email')" = rep1@ourco.example

# owner cache: rep1 again costs no User query
S=$(last_seq)
drive deliver "$(lead L-2 rep1@ourco.example)"
check "L-2 delivered" is .status done
check "the member's User Id comes from the cache (no User query)" \
	test "$(requests "$S" query | jq '[.requests[] | select(.path | test("FROM(%20|\\+)User"))] | length')" = 0

# the owner stays against an assignment rule
fake POST /config '{"sf_assignment_rule_owner": "00550000000RULE"}' >/dev/null
drive deliver "$(lead L-3 rep2@ourco.example)"
check "with an assignment rule active, L-3 is delivered" is .status done
check "and rep2 stays its owner (the rule did not move it)" \
	test "$(records | jq -r '.leads[] | select(.external_id == "L-3") | .owner_email + " " + (.assigned_by_rule|tostring)')" = "rep2@ourco.example false"
fake POST /config '{"sf_assignment_rule_owner": null}' >/dev/null

# LastName and Company derived rather than dead-lettered
drive deliver "$(lead L-4 rep2@ourco.example '{"last_name":null,"company":null,"first_name":"Kim"}' kim.lee@initech.example initech.example)"
check "a lead without last name and company is delivered" is .status done
check "LastName from the email's local part, Company from the domain" \
	test "$(records | jq -r '.leads[] | select(.external_id == "L-4") | .fields.LastName + "|" + .fields.Company')" = "kim.lee|initech.example"
LONG=$(printf 'x%.0s' $(seq 100))
drive deliver "$(lead L-5 rep2@ourco.example "{\"last_name\":\"$LONG\"}")"
check "a 100-character last name is cut to 80, not refused" \
	test "$(records | jq -r '.leads[] | select(.external_id == "L-5") | .fields.LastName | length')" = 80
drive deliver "$(lead L-6 '' '{}')"
check "a lead without owner is delivered without OwnerId" is .status done
check "  (no OwnerId sent)" \
	not grep -q OwnerId <<<"$(fake GET '/requests?route=lead.upsert' | jq -r '.requests[-1].body')"

# owners Salesforce does not have
drive deliver "$(lead L-7 nobody@ourco.example)"
check "an owner with no User is DEAD, naming the email" is .status dead
check "  message" has .message "nobody@ourco.example"
drive deliver "$(lead L-8 gone@ourco.example)"
check "an inactive owner is DEAD" is .status dead

# ==== the session: expiry, refresh, 401 after refresh ====

fake POST /tokens/expire '{"surface": "salesforce"}' >/dev/null
S=$(last_seq)
drive deliver "$(lead L-9 rep1@ourco.example)"
check "expired token: delivered after one refresh" is .status done
check "  one 401, one login, then the retried upsert" \
	test "$(requests "$S" | jq -c '[.requests[] | .route + ":" + (.status|tostring)]')" = '["lead.upsert:401","oauth.token:200","lead.upsert:201"]'

fault '{"kind": "status", "surface": "salesforce", "route": "lead.upsert", "status": 401, "count": 2}'
S=$(last_seq)
drive deliver "$(lead L-10 rep1@ourco.example)"
check "401 again after the refresh is DEAD" is .status dead
check "  with a message saying so" has .message "401 after logging in again"
check "  exactly one refresh for it" test "$(requests "$S" oauth.token | jq '.requests | length')" = 1
fake DELETE /faults >/dev/null

# ==== what Salesforce refuses, and what it cannot do now ====

fault '{"kind": "rate_limit", "surface": "salesforce", "route": "lead.upsert"}'
drive deliver "$(lead L-11 rep1@ourco.example)"
check "403 REQUEST_LIMIT_EXCEEDED is RETRY" is .status retry
check "  parked for an hour" is .retry_after_ms 3600000
check "  naming the errorCode" has .message REQUEST_LIMIT_EXCEEDED

fault '{"kind": "status", "surface": "salesforce", "route": "lead.upsert", "status": 400, "body": [{"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}]}'
drive deliver "$(lead L-12 rep1@ourco.example)"
check "400 REQUIRED_FIELD_MISSING is DEAD" is .status dead
check "  with Salesforce's errorCode, message and fields" \
	has .message "REQUIRED_FIELD_MISSING: Required fields are missing: \[Company\] (fields: Company)"

fault '{"kind": "status", "surface": "salesforce", "route": "lead.upsert", "status": 400, "body": [{"errorCode": "DUPLICATES_DETECTED", "message": "Use one of these records?", "duplicateResult": {"allowSave": false, "matchResults": [{"matchRecords": [{"record": {"attributes": {"type": "Lead"}, "Id": "00Q5g000777"}}]}]}}]}'
drive deliver "$(lead L-13 rep1@ourco.example)"
check "400 DUPLICATES_DETECTED is DEAD, naming the record it matched" has .message "DUPLICATES_DETECTED: Use one of these records? (matches 00Q5g000777)"

fault '{"kind": "invalid_email", "surface": "salesforce", "email": "bad@acme.example", "count": 1}'
drive deliver "$(lead L-14 rep1@ourco.example '{}' bad@acme.example)"
check "the fake's own 400 (INVALID_EMAIL_ADDRESS) is DEAD with its words" has .message "INVALID_EMAIL_ADDRESS"
fake DELETE /faults >/dev/null

# an owner refused after it was cached is looked up again next time
fault '{"kind": "status", "surface": "salesforce", "route": "lead.upsert", "status": 400, "body": [{"message": "operation performed with inactive user [0055g00000000GAAAY] as owner of lead", "errorCode": "INACTIVE_OWNER_OR_USER", "fields": []}]}'
drive deliver "$(lead L-14 rep1@ourco.example)"
check "INACTIVE_OWNER_OR_USER is DEAD" has .message INACTIVE_OWNER_OR_USER
S=$(last_seq)
drive deliver "$(lead L-14 rep1@ourco.example)"
check "  and the owner's User is queried again" \
	test "$(requests "$S" query | jq '[.requests[] | select(.path | test("FROM(%20|\\+)User"))] | length')" = 1
check "  then L-14 is delivered" is .status done

fault '{"kind": "status", "surface": "salesforce", "route": "lead.upsert", "status": 300, "body": ["/services/data/v62.0/sobjects/Lead/00Q5g0000001", "/services/data/v62.0/sobjects/Lead/00Q5g0000002"]}'
drive deliver "$(lead L-15 rep1@ourco.example)"
check "300 (several records) is DEAD naming the problem" has .message "several Leads"

for st in 500 503; do
	fault "{\"kind\": \"status\", \"surface\": \"salesforce\", \"route\": \"lead.upsert\", \"status\": $st}"
	drive deliver "$(lead L-16 rep1@ourco.example)"
	check "$st is RETRY" is '.status + " " + (.http|tostring)' "retry $st"
done
# libcurl sends a request again by itself when a kept-alive connection
# turns out dead before any answer; a connection reset on every try is ours
fault '{"kind": "reset", "surface": "salesforce", "route": "lead.upsert", "count": 5}'
drive deliver "$(lead L-16 rep1@ourco.example)"
check "a reset connection is RETRY (no HTTP status)" is '.status + " " + (.http|tostring)' "retry 0"
fake DELETE /faults >/dev/null
fault '{"kind": "hang", "surface": "salesforce", "route": "lead.upsert", "hang_ms": 20000}'
drive deliver "$(lead L-16 rep1@ourco.example)"
check "a hang is RETRY" is .status retry
check "  within the 2 s timeout (took $(jr .ms) ms)" test "$(jr .ms)" -lt $((4000 * SLOW))
fake DELETE /faults >/dev/null
drive deliver "$(lead L-16 rep1@ourco.example)"
check "after the faults, L-16 is delivered" is .status done
check "and is one record" test "$(records | jq '[.leads[] | select(.external_id == "L-16")] | length')" = 1

drive usage
check "Sforce-Limit-Info is read (api-usage N/15000)" \
	test "$(jr '(.rc|tostring) + " " + (.max|tostring)')" = "1 15000" -a "$(jr .used)" -gt 5

# the allowance used up by our own call: the answer says so, and the result
# asks the outbox to pause every process instead of earning the 403
USED=$(fake GET /config | jq .sf_api_usage)
fake POST /config "{\"sf_api_limit\": $((USED + 1))}" >/dev/null
S=$(last_seq)
drive deliver "$(lead L-17 rep1@ourco.example)"
check "the call that reaches the org's allowance is DONE" is .status done
check "  and asks for an hour's pause" is .pause_ms 3600000
check "  naming the header" is .pause_why "Sforce-Limit-Info: api-usage=$((USED + 1))/$((USED + 1))"
check "  after one request (no 403 earned)" \
	test "$(requests "$S" | jq '[.requests[] | select(.status == 403)] | length')" = 0
fake POST /config '{"sf_api_limit": 15000}' >/dev/null

# ==== account lookup and sync ====

S=$(last_seq)
drive lookup acme.example 2000
check "lookup acme.example: found, owner rep1, Type as lifecycle" \
	is '(.rc|tostring) + " " + .account.domain + " " + .account.owner + " " + .account.lifecycle' \
	"1 acme.example rep1@ourco.example Customer"
Q=$(requests "$S" query | jq -r '.requests[0].path')
check "  the SOQL is Website LIKE '%acme.example%'" \
	python3 -c 'import sys, urllib.parse
q = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)["q"][0]
sys.exit(0 if "Website LIKE '"'"'%acme.example%'"'"'" in q else 1)' "$Q"
drive lookup shop.acme.example 2000
check "lookup shop.acme.example finds that Account, not acme.example's" \
	is '.account.domain + " " + .account.owner' "shop.acme.example rep2@ourco.example"
drive lookup globex.example 2000
check "Website GLOBEX.EXAMPLE (no scheme, upper case) matches" is .account.domain globex.example
drive lookup initech.example 2000
check "Website https://www.initech.example:8443/about?x=1 matches" is .account.domain initech.example
drive lookup a_c.example 2000
check "LIKE wildcards are escaped: a_c.example does not find abc.example" is '(.rc|tostring) + " " + .status' "0 done"
drive lookup "o'brien.example" 2000
check "a quote is escaped: o'brien.example is found" is '(.rc|tostring) + " " + .account.domain' "1 o'brien.example"
drive lookup 'x\y.example' 2000
check "a backslash is escaped (no MALFORMED_QUERY)" is '(.rc|tostring) + " " + .status' "0 done"
drive lookup nothing.example 2000
check "an unknown domain is 0" is .rc 0
fault '{"kind": "hang", "surface": "salesforce", "route": "query", "hang_ms": 20000}'
drive lookup acme.example 300
check "a lookup that does not answer in time is -1 RETRY" is '(.rc|tostring) + " " + .status' "-1 retry"
check "  within its 300 ms (took $(jr .ms) ms)" test "$(jr .ms)" -lt $((1500 * SLOW))
fake DELETE /faults >/dev/null

S=$(last_seq)
drive sync 1735689600000
check "sync since 2025-01-01: 9 accounts (nosite has no Website)" is .rc 9
check "  in SystemModstamp order" \
	test "$(jr '[.accounts[].domain] | join(",")')" = "acme.example,globex.example,initech.example,o'brien.example,page1.example,page2.example,page3.example,page4.example,page5.example"
check "  through nextRecordsUrl pages of 3" \
	test "$(requests "$S" | jq -c '[.requests[].route]')" = '["query","query.more","query.more","query.more"]'
check "  with modified_ms from SystemModstamp" is '.accounts[0].modified_ms' 1740823200000
drive sync 1743638400000
check "sync since exactly page3's time includes it (at or after)" \
	is '[.accounts[].domain] | join(",")' "page3.example,page4.example,page5.example"
drive sync 1743638400001
check "sync since 1 ms after it leaves it out" is '[.accounts[].domain] | join(",")' "page4.example,page5.example"
drive_stop

# ==== the token endpoint's refusals and failures ====

drive_start LEADROUTE_SALESFORCE_CLIENT_SECRET=wrong-secret-value
drive deliver "$(lead L-20 rep1@ourco.example)"
check "a wrong client secret is DEAD with the endpoint's description" has .message "invalid client credentials"
check "  status" is .status dead
drive_stop
fault '{"kind": "status", "surface": "salesforce", "route": "oauth.token", "status": 503}'
drive_start "${CC[@]}"
drive deliver "$(lead L-21 rep1@ourco.example)"
check "a 503 from the token endpoint is RETRY" is '.status + " " + (.http|tostring)' "retry 503"
drive deliver "$(lead L-21 rep1@ourco.example)"
check "and the next call logs in and delivers" is .status done
drive_stop
fake DELETE /faults >/dev/null

# ==== JWT bearer ====

drive_start "${JWT[@]}"
S=$(last_seq)
drive deliver "$(lead L-30 rep2@ourco.example)"
check "JWT bearer: logs in and delivers" is '.status + " " + (.http|tostring)' "done 201"
check "  with grant_type jwt-bearer" \
	test "$(requests "$S" oauth.token | jq -r '.requests[0].body' | grep -c 'jwt-bearer')" = 1
fake POST /tokens/expire '{"surface": "salesforce"}' >/dev/null
drive deliver "$(lead L-30 rep2@ourco.example '{"message": "again"}')"
check "JWT bearer: an expired token is refreshed with a new assertion" is '.status + " " + (.http|tostring)' "done 200"
drive lookup acme.example 2000
check "JWT bearer: lookup works too" is .rc 1
drive_stop
drive_start LEADROUTE_SALESFORCE_JWT_KEY_FILE="$T/jwt.key" LEADROUTE_SALESFORCE_USER=stranger@ourco.example
drive deliver "$(lead L-31 rep2@ourco.example)"
check "JWT for a user the org does not know is DEAD with the endpoint's words" has .message "approved this consumer"
drive_stop
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.key" 2>/dev/null
chmod 600 "$T/other.key"
drive_start LEADROUTE_SALESFORCE_JWT_KEY_FILE="$T/other.key" LEADROUTE_SALESFORCE_USER=leadroute-api@ourco.example
drive deliver "$(lead L-32 rep2@ourco.example)"
check "JWT signed with a key the app does not have is DEAD (invalid signature)" has .message "invalid signature"
drive_stop

# ==== API versions before 46.0: an update answers 204 ====

drive_start "${CC[@]}" LEADROUTE_SALESFORCE_API_VERSION=v45.0
drive deliver "$(lead L-40 rep1@ourco.example)"
check "v45.0: created (201)" is .http 201
ID40=$(jr .record_id)
drive deliver "$(lead L-40 rep1@ourco.example '{"message": "update"}')"
check "v45.0: the update's 204 is DONE, with the record id looked up" \
	is '.status + " " + (.http|tostring) + " " + .record_id' "done 204 $ID40"
drive_stop

# ==== through crm_open (the dispatcher) ====

drive_start --via-crm "${CC[@]}"
drive deliver "$(lead L-50 rep1@ourco.example)"
check "through crm_deliver: delivered" is .status done
drive lookup globex.example 2000
check "through crm_lookup_account: found" is .rc 1
drive sync 1743638400000
check "through crm_sync_accounts: 3 accounts" is .rc 3
drive_stop

# ==== settings refused at open ====

open_error() {   # open_error VAR=VALUE...: the driver's answer when sf_open refuses
	local rc=0
	R=$(env -i PATH="$PATH" LEADROUTE_SALESFORCE_CLIENT_ID="$CLIENT_ID" "$@" \
		"$DRIVER" </dev/null 2>>"$T/drive.err") || rc=$?
	printf '%s\n' "$R" >>"$T/results.jsonl"
	[ "$rc" = 2 ]
}
check "a login URL that is not http(s) is refused at open" \
	open_error "${CC[@]}" LEADROUTE_SALESFORCE_LOGIN_URL=ftp://127.0.0.1
check "  saying it must be https" has .message "must be https"
check "an external id that is not a field name is refused at open" \
	open_error "${CC[@]}" LEADROUTE_SALESFORCE_LOGIN_URL="$BASE" "LEADROUTE_SALESFORCE_EXTERNAL_ID=Id/x"
check "an API version like 62 is refused at open" \
	open_error "${CC[@]}" LEADROUTE_SALESFORCE_LOGIN_URL="$BASE" LEADROUTE_SALESFORCE_API_VERSION=62
check "a JWT key that is not a key is refused at open, without quoting it" \
	open_error LEADROUTE_SALESFORCE_LOGIN_URL="$BASE" LEADROUTE_SALESFORCE_JWT_KEY=not-a-key-at-all \
	LEADROUTE_SALESFORCE_USER=leadroute-api@ourco.example
check "  (the message)" not grep -q not-a-key-at-all <<<"$R"

# ==== no secret anywhere ====

OUT=$T/all-output
cat "$T/results.jsonl" "$T/drive.err" >"$OUT"
check "the client secret is in no output" not grep -qF -- "$CLIENT_SECRET" "$OUT"
check "no access token is in any output (the fake's hold the org id and !AR)" \
	not grep -qF -- '!AR' "$OUT"
check "no line of the JWT key is in any output" not grep -qF -- "$KEY_LINE" "$OUT"
check "no PEM text is in any output" not grep -q 'PRIVATE KEY' "$OUT"
check "no Authorization header or Bearer value in any output" not grep -qi 'bearer\|authorization' "$OUT"
check "no JWT (eyJ...) in any output" not grep -q 'eyJ' "$OUT"
check "the outputs were not empty ($(wc -l <"$T/results.jsonl") answers)" \
	test "$(wc -l <"$T/results.jsonl")" -ge 40

say "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
