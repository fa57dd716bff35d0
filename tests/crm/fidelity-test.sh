#!/bin/bash
# fidelity-test.sh - is the fake CRM (tests/crm/fakecrm.py) faithful?
#
# 1. The official clients, @hubspot/api-client and jsforce (pinned in
#    tests/crm/package-lock.json), run the operations leadroute's connectors
#    use against the fake (tests/crm/fidelity.cjs): each must succeed, or
#    fail exactly as the real API would, and the fake's record must show
#    the expected contacts, leads, owners and associations.
# 2. curl checks the wire details a client library hides: the rate-limit
#    and limit-info headers, Retry-After on an injected 429, the error
#    bodies, version-dependent answers, and every kind of injected fault
#    (latency, failures, flapping, reset, hang, down), the masking of
#    secrets in the record, and a clean stop on SIGTERM.
#
# Node packages: tests/crm/node_modules (tools/install-deps runs npm ci
# there); from a tarball, whose source tree is read-only and has none, the
# node_modules of the checkout that ran `make distcheck` (handed down as
# LR_CRM_NODE_MODULES by tests/crm/local.mk), else an offline npm ci of the
# lock file into tests/crm-run/ in the build tree.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
here=$top_srcdir/tests/crm

FAILS=0
PASSES=0
ok() { PASSES=$((PASSES + 1)); printf 'ok   %s\n' "$*"; }
bad() { FAILS=$((FAILS + 1)); printf 'FAIL %s\n' "$*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
say() { printf 'fidelity-test: %s\n' "$*"; }

for c in python3 curl jq setsid; do
	command -v "$c" >/dev/null 2>&1 || { say "SKIP: '$c' is not installed (tools/install-deps)"; exit 77; }
done
command -v node >/dev/null 2>&1 || { bad "node is installed (tools/install-deps)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/lr-crm.XXXXXX") || { say "cannot make a temporary directory"; exit 99; }
. "$here/fakecrm-lib.sh"
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	fakecrm_stop
	if [ "${LR_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the node packages ----

has_mods() { [ -d "$1/@hubspot/api-client" ] && [ -d "$1/jsforce" ]; }
mods=
for d in "$here/node_modules" "${LR_CRM_NODE_MODULES:-}"; do
	if [ -n "$d" ] && has_mods "$d"; then mods=$d; break; fi
done
if [ -z "$mods" ]; then
	run=$top_builddir/tests/crm-run
	if ! has_mods "$run/node_modules"; then
		mkdir -p "$run"
		cp "$here/package.json" "$here/package-lock.json" "$run/"
		chmod u+w "$run"/package*.json
		say "no tests/crm/node_modules: npm ci from the cache into $run"
		(cd "$run" && { npm ci --offline --no-audit --no-fund --loglevel=error ||
			npm ci --prefer-offline --no-audit --no-fund --loglevel=error; }) ||
			{ bad "npm ci of tests/crm/package-lock.json (run tools/install-deps)"; exit 1; }
	fi
	mods=$run/node_modules
fi
# the script runs from $T, next to a link to the packages
cp "$here/fidelity.cjs" "$T/"
ln -s "$mods" "$T/node_modules"
say "node $(node --version), packages from $mods"

# ---- the fake ----

node -e '
const { generateKeyPairSync } = require("crypto");
const fs = require("fs");
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
fs.writeFileSync(process.argv[1], privateKey.export({ type: "pkcs8", format: "pem" }));
fs.writeFileSync(process.argv[2], publicKey.export({ type: "spki", format: "pem" }));
' "$T/jwt.pem" "$T/jwt.pub.pem" || { bad "make an RSA key pair for the JWT flow"; exit 1; }

fakecrm_start "$T/fake" --seed "$here/seed.json" --sf-jwt-pubkey "$T/jwt.pub.pem" ||
	{ bad "the fake starts"; exit 1; }
say "fake CRM on $FAKECRM_URL"
B=$FAKECRM_URL

# ---- 1. the official clients ----

(cd "$T" && FAKE_URL=$B JWT_KEY=$T/jwt.pem SEED=$here/seed.json T=$T \
	timeout 300 node fidelity.cjs) > "$T/node.out" 2> "$T/node.err"
node_rc=$?
cat "$T/node.out"
n_ok=$(grep -c '^ok ' "$T/node.out")
n_fail=$(grep -c '^FAIL' "$T/node.out")
PASSES=$((PASSES + n_ok))
FAILS=$((FAILS + n_fail))
if [ "$node_rc" != 0 ] && [ "$n_fail" = 0 ]; then
	bad "fidelity.cjs exited $node_rc"
	tail -n 30 "$T/node.err"
fi
check "fidelity.cjs ran its checks ($n_ok)" test "$n_ok" -ge 100

# ---- 2. the wire, with curl ----

echo "# the wire (curl)"
fakecrm_ctl GET /requests > "$T/requests-node.json" || bad "GET /_fake/requests"
fakecrm_ctl POST /reset >/dev/null || bad "POST /_fake/reset"

# req METHOD URL [curl args...]: sets CODE, HDRS (lower-case names), BODY, RC, SECS
req() {
	local method=$1 url=$2
	shift 2
	local out
	out=$(curl -sS -X "$method" -D "$T/h" -o "$T/b" -w '%{http_code} %{time_total}' "$@" "$url" 2>"$T/e")
	RC=$?
	CODE=${out%% *}
	SECS=${out##* }
	HDRS=$(tr -d '\r' < "$T/h" 2>/dev/null | sed 's/^\([^:]*\):/\L\1:/')
	BODY=$(cat "$T/b" 2>/dev/null)
	rm -f "$T/h" "$T/b"
}
hdr() { printf '%s\n' "$HDRS" | sed -n "s/^$1: //p" | tail -n 1; }
HS=(-H 'Authorization: Bearer pat-na1-curl-secret-1234' -H 'Content-Type: application/json')
SEARCH='{"filterGroups":[{"filters":[{"propertyName":"domain","operator":"EQ","value":"acme.example"}]}],"properties":["domain"],"limit":10,"after":"0"}'

fakecrm_ctl POST /config '{"hs_search_lag_ms":1500}' >/dev/null
req POST "$B/crm/v3/objects/contacts" "${HS[@]}" --data '{"properties":{"email":"lag@acme.example"}}'
LAGSEARCH='{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"lag@acme.example"}]}],"limit":1,"after":"0"}'
req POST "$B/crm/v3/objects/contacts/search" "${HS[@]}" --data "$LAGSEARCH"
check "search lag: a contact just created is not found yet" test "$CODE $(jq -r .total <<<"$BODY")" = "200 0"
sleep 1.6
req POST "$B/crm/v3/objects/contacts/search" "${HS[@]}" --data "$LAGSEARCH"
check "... and is found 1.5 s later" test "$CODE $(jq -r .total <<<"$BODY")" = "200 1"
fakecrm_ctl POST /reset >/dev/null    # a fresh 10 s window
fakecrm_ctl POST /config '{"hs_enforce_limits":true,"hs_burst_max":3}' >/dev/null
got=
for i in 1 2 3 4; do
	req GET "$B/crm/v3/owners/" "${HS[@]}"
	got="$got $CODE/$(hdr x-hubspot-ratelimit-remaining)"
done
check "enforced burst limit of 3: the 4th call is 429 ($got)" test "$got" = " 200/2 200/1 200/0 429/0"
check "... TEN_SECONDLY_ROLLING" test "$(jq -r .policyName <<<"$BODY")" = TEN_SECONDLY_ROLLING
fakecrm_ctl POST /reset >/dev/null

req POST "$B/crm/v3/objects/companies/search" "${HS[@]}" --data "$SEARCH"
check "HubSpot search: 200" test "$CODE" = 200
for h in Daily Daily-Remaining Interval-Milliseconds Max Remaining Secondly Secondly-Remaining; do
	v=$(hdr "x-hubspot-ratelimit-${h,,}")
	check "... X-HubSpot-RateLimit-$h: $v" test -n "$v"
done
rem1=$(hdr x-hubspot-ratelimit-remaining)
check "... Content-Type application/json;charset=utf-8" test "$(hdr content-type)" = "application/json;charset=utf-8"
req GET "$B/crm/v3/owners/?email=ana@acme.example" "${HS[@]}"
rem2=$(hdr x-hubspot-ratelimit-remaining)
check "X-HubSpot-RateLimit-Remaining counts down ($rem1, $rem2)" test "$rem2" -lt "$rem1"
req GET "$B/crm/v3/owners?email=ana@acme.example" "${HS[@]}"
check "owners without the trailing slash too" test "$CODE $(jq -r '.results[0].id' <<<"$BODY")" = "200 41629779"
req GET "$B/crm/v3/owners/"
check "no token: 401 INVALID_AUTHENTICATION" test "$CODE $(jq -r .category <<<"$BODY")" = "401 INVALID_AUTHENTICATION"
check "... with the rate-limit headers too" test -n "$(hdr x-hubspot-ratelimit-max)"

fakecrm_ctl POST /faults '{"kind":"rate_limit","surface":"hubspot","route":"contacts.*","count":1,"retry_after":7}' >/dev/null
req POST "$B/crm/v3/objects/contacts" "${HS[@]}" --data '{"properties":{"email":"a@acme.example"}}'
check "injected 429: TEN_SECONDLY_ROLLING body" test "$CODE $(jq -r .policyName <<<"$BODY")" = "429 TEN_SECONDLY_ROLLING"
check "... Retry-After: 7" test "$(hdr retry-after)" = 7
check "... and the rate-limit headers" test -n "$(hdr x-hubspot-ratelimit-remaining)"
fakecrm_ctl POST /faults '{"kind":"rate_limit","surface":"hubspot","route":"*.search","count":1}' >/dev/null
req POST "$B/crm/v3/objects/companies/search" "${HS[@]}" --data "$SEARCH"
check "injected search 429: \"You have reached your secondly limit.\"" \
	test "$CODE $(jq -r .message <<<"$BODY")" = "429 You have reached your secondly limit."
check "... no Retry-After when none was asked for" test -z "$(hdr retry-after)"
req POST "$B/crm/v3/objects/contacts" "${HS[@]}" --data '{"properties":{"email":"a@acme.example"}}'
check "the fault was for one request: the next create is 201" test "$CODE" = 201

# Salesforce
TOKEN_JSON=$(curl -sS -d grant_type=client_credentials -d client_id=fake-client-id \
	-d client_secret=fake-client-secret "$B/services/oauth2/token")
TOK=$(jq -r .access_token <<<"$TOKEN_JSON")
check "client credentials: instance_url is the fake" test "$(jq -r .instance_url <<<"$TOKEN_JSON")" = "$B"
SF=(-H "Authorization: Bearer $TOK" -H 'Content-Type: application/json')
req GET "$B/services/data/"
check "GET /services/data/: versions 50.0 and 62.0 listed" \
	test "$(jq -r '[.[].version] | (index("50.0") != null) and (index("62.0") != null)' <<<"$BODY")" = true
check "... without Sforce-Limit-Info (it does not count)" test -z "$(hdr sforce-limit-info)"
req GET "$B/services/data/v62.0/query?q=SELECT+Id+FROM+User" "${SF[@]}"
check "query: 200 with Sforce-Limit-Info: $(hdr sforce-limit-info)" \
	test "$CODE" = 200 -a -n "$(hdr sforce-limit-info | grep -E '^api-usage=[0-9]+/15000$')"
req GET "$B/services/data/v62.0/sobjects/Lead/00Q5g0000000001AAA" "${SF[@]}"
check "an unknown Lead id: 404 NOT_FOUND, with Sforce-Limit-Info" \
	test "$CODE $(jq -r '.[0].errorCode' <<<"$BODY") $(hdr sforce-limit-info | cut -c1-10)" = "404 NOT_FOUND api-usage="
req PATCH "$B/services/data/v45.0/sobjects/Lead/Leadroute_Id__c/lr-c1" "${SF[@]}" --data '{"LastName":"C","Company":"K"}'
check "upsert on v45.0 creates: 201 without created" test "$CODE $(jq -c . <<<"$BODY" | grep -c created)" = "201 0"
req PATCH "$B/services/data/v45.0/sobjects/Lead/Leadroute_Id__c/lr-c1" "${SF[@]}" --data '{"Title":"VP"}'
check "upsert on v45.0 updates: 204, no body" test "$CODE:$BODY" = "204:"
req PATCH "$B/services/data/v62.0/sobjects/Lead/Leadroute_Id__c/lr-c1" "${SF[@]}" --data '{"Title":"CEO"}'
check "upsert on v62.0 updates: 200 created:false" test "$CODE $(jq -r .created <<<"$BODY")" = "200 false"
req PATCH "$B/services/data/v62.0/sobjects/Lead/No_Such__c/x" "${SF[@]}" --data '{"LastName":"C","Company":"K"}'
check "upsert on an unknown field: 404 [{NOT_FOUND, The requested resource does not exist}]" \
	test "$CODE $(jq -c . <<<"$BODY")" = '404 [{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]'
req POST "$B/services/data/v62.0/sobjects/Lead/" "${SF[@]}" --data '{"FirstName":"No"}'
check "create without LastName and Company: 400 REQUIRED_FIELD_MISSING [LastName, Company]" \
	test "$CODE $(jq -c '.[0] | [.errorCode, .fields]' <<<"$BODY")" = '400 ["REQUIRED_FIELD_MISSING",["LastName","Company"]]'
fakecrm_ctl POST /faults '{"kind":"rate_limit","surface":"salesforce","count":1}' >/dev/null
req GET "$B/services/data/v62.0/query?q=SELECT+Id+FROM+Lead" "${SF[@]}"
check "injected limit: 403 [{TotalRequests Limit exceeded., REQUEST_LIMIT_EXCEEDED}] + Sforce-Limit-Info" \
	test "$CODE $(jq -c . <<<"$BODY") $(hdr sforce-limit-info | cut -c1-10)" = \
	'403 [{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}] api-usage='
req POST "$B/services/oauth2/token" -d grant_type=password
check "token endpoint errors are objects: {error, error_description}" \
	test "$CODE $(jq -r '.error + "|" + .error_description' <<<"$BODY")" = "400 invalid_grant|authentication failure"
req POST "$B/services/oauth2/token" -d grant_type=nonsense
check "... unsupported_grant_type" test "$CODE $(jq -r .error <<<"$BODY")" = "400 unsupported_grant_type"
fakecrm_ctl POST /tokens/expire '{"surface":"salesforce"}' >/dev/null
req GET "$B/services/data/v62.0/query?q=SELECT+Id+FROM+Lead" "${SF[@]}"
check "expired token: 401 [{Session expired or invalid, INVALID_SESSION_ID}]" \
	test "$CODE $(jq -c . <<<"$BODY")" = '401 [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'

# the JWT key forms the fake reads: the same (n, e) from SPKI, PKCS#1 and
# an X.509 certificate (what a connected app actually holds)
node -e '
const crypto = require("crypto"), fs = require("fs");
const k = crypto.createPublicKey(fs.readFileSync(process.argv[1]));
fs.writeFileSync(process.argv[2], k.export({ type: "pkcs1", format: "pem" }));
' "$T/jwt.pub.pem" "$T/jwt.pkcs1.pem"
forms=("$T/jwt.pub.pem" "$T/jwt.pkcs1.pem")
if command -v openssl >/dev/null 2>&1 &&
	openssl req -new -x509 -key "$T/jwt.pem" -subj /CN=leadroute-test -days 2 -out "$T/jwt.crt" 2>/dev/null; then
	forms+=("$T/jwt.crt")
else
	say "no openssl: the certificate form is not checked"
fi
keys=$(PYTHONDONTWRITEBYTECODE=1 python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
import fakecrm
print(len({fakecrm.load_rsa_public_key(open(f).read()) for f in sys.argv[2:]}))' "$here" "${forms[@]}")
check "the JWT public key reads the same as SPKI, PKCS#1$([ ${#forms[@]} = 3 ] && echo ' and a certificate')" test "$keys" = 1

# ---- faults ----

ver() { req GET "$B/services/data/"; }     # salesforce, no token needed
owners() { req GET "$B/crm/v3/owners/" "${HS[@]}" "$@"; }
codes() {   # codes N CMD: N answers of CMD, as "200 200 503 ..."
	local n=$1 i out=
	shift
	for ((i = 0; i < n; i++)); do "$@"; out="$out $CODE"; done
	echo "${out# }"
}

fakecrm_ctl POST /faults '{"kind":"latency","surface":"hubspot","route":"owners.list","ms":400,"count":1}' >/dev/null
owners
check "latency 400 ms: answered 200 after ${SECS}s" awk "BEGIN{exit !($CODE == 200 && $SECS >= 0.4)}"
fakecrm_ctl POST /faults '{"kind":"status","status":500,"surface":"hubspot","count":2}' >/dev/null
got=$(codes 3 owners)
check "fail the next 2 with 500 ($got)" test "$got" = "500 500 200"
fakecrm_ctl POST /faults '{"kind":"status","status":502,"surface":"salesforce","route":"versions","every":3}' >/dev/null
got=$(codes 6 ver)
check "flapping: every 3rd fails with 502 ($got)" test "$got" = "200 200 502 200 200 502"
fakecrm_ctl DELETE /faults >/dev/null
fakecrm_ctl POST /faults '{"kind":"status","status":503,"surface":"salesforce","count":1}' >/dev/null
ver
check "Salesforce 503: [{SERVER_UNAVAILABLE}]" test "$CODE $(jq -r '.[0].errorCode' <<<"$BODY")" = "503 SERVER_UNAVAILABLE"
fakecrm_ctl POST /faults '{"kind":"reset","surface":"hubspot","count":1}' >/dev/null
owners
check "reset: the connection is reset without an answer (curl $RC, $(head -c 60 "$T/e"))" test "$RC" = 56
fakecrm_ctl POST /faults '{"kind":"hang","surface":"hubspot","count":1}' >/dev/null
owners --max-time 1
check "hang: no answer within the client's 1 s timeout (curl $RC)" test "$RC" = 28
owners
check "... and the next request is answered" test "$CODE" = 200
fakecrm_ctl POST /faults '{"kind":"down","surface":"hubspot","ms":1200}' >/dev/null
owners
h_rc=$RC
ver
check "HubSpot down (reset mode): reset ($h_rc) while Salesforce answers ($CODE)" test "$h_rc:$CODE" = "56:200"
sleep 1.3
owners
check "... up again after the period" test "$CODE" = 200
fakecrm_ctl POST /faults '{"kind":"down","mode":"refuse","ms":2000}' >/dev/null
n=15
while [ $n -gt 0 ]; do sleep 0.1; ver; [ "$RC" = 7 ] && break; n=$((n - 1)); done
check "down (refuse): connection refused (curl $RC)" test "$RC" = 7
n=50
while [ $n -gt 0 ]; do ver; [ "$CODE" = 200 ] && break; sleep 0.1; n=$((n - 1)); done
check "... and listening again on the same port afterwards" test "$CODE" = 200
sleep 0.5
fakecrm_ctl POST /faults '{"kind":"status","status":409,"path":"^/nope"}' >/dev/null
fakecrm_ctl POST /faults '{"kind":"bogus"}' >/dev/null 2>&1
check "an unknown fault kind is refused by the control API" test $? != 0
fakecrm_ctl POST /faults '{"kind":"status","route":"no.such.route"}' >/dev/null 2>&1
check "... and so is an unknown route" test $? != 0
check "GET /_fake/faults lists the rules with their counters" \
	test "$(fakecrm_ctl GET /faults | jq -r '[.faults[] | select(.kind == "status" and .status == 409)] | length')" = 1

# ---- the record ----

fakecrm_ctl GET /requests > "$T/requests.json"
check "the request record masks Authorization (Bearer ***)" \
	test "$(jq -r '[.requests[] | .headers | to_entries[] | select(.key | ascii_downcase == "authorization") | .value]
		| unique | join(",")' "$T/requests.json" "$T/requests-node.json" | sort -u)" = "Bearer ***"
check "... and the form secrets (client_secret=***, assertion=***)" \
	test "$(jq -r '.requests[] | select(.route == "oauth.token") | .body' "$T/requests-node.json" |
		grep -cE 'client_secret=%2A%2A%2A|assertion=%2A%2A%2A')" -ge 5
check "... no token or secret anywhere in it, nor in requests.jsonl" \
	sh -c '! grep -qF -e pat-na1-fidelity-0000 -e curl-secret-1234 -e fake-client-secret -e "$1" "$2" "$3" "$4"' \
	_ "$TOK" "$T/requests.json" "$T/requests-node.json" "$T/fake/requests.jsonl"
check "... every request has a route, a status and a seq" \
	test "$(jq '[.requests[] | select(.surface != null and (.status == null or .seq == null))] | length' "$T/requests.json")" = 0
rec=$(fakecrm_ctl GET /records)
check "records: the contact a@acme.example and the lead lr-c1 (Title CEO, 3 writes)" \
	test "$(jq -c '[(.contacts | map(.email)), (.leads | map([.external_id, .fields.Title, .writes]))]' <<<"$rec")" = \
	'[["a@acme.example"],[["lr-c1","CEO",3]]]'
sleep 0.4
check "records.json in the state folder agrees" \
	test "$(jq -c '.leads | map(.external_id)' "$T/fake/records.json")" = '["lr-c1"]'
fakecrm_ctl POST /reset >/dev/null
check "reset empties the records" test "$(fakecrm_ctl GET /records | jq -c '[.contacts, .leads]')" = '[[],[]]'

port=$FAKECRM_PORT
fakecrm_stop
check "the fake stops on SIGTERM with status 0 ($FAKECRM_RC)" test "$FAKECRM_RC" = 0
check "... and its port is closed" sh -c '! curl -s --max-time 2 "$1" >/dev/null' _ "http://127.0.0.1:$port/_fake/health"

say "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
