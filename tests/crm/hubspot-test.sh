#!/bin/bash
# hubspot-test.sh - the HubSpot connector against the fake CRM
# (tests/crm/fakecrm.py, seeded with hubspot-seed.json), through crm.h
# (hubspot-drive):
#   a lead becomes one contact with its owner, its lead id and its company;
#   the owner id is looked up once per member (the fake's request record);
#   the same email again updates the contact; a retry after a lost answer
#   leaves one contact; 429 with and without Retry-After waits as told
#   (TEN_SECONDLY_ROLLING 10 s, the search's secondly limit 1 s); a window
#   the headers say is spent pauses instead of earning a 429; 500, 502,
#   resets, hangs and refused connections are RETRY; validation errors are
#   DEAD in HubSpot's words; an unknown member is DEAD naming the member;
#   401 is DEAD with an alert; the token is in no message; lookups answer
#   within their timeout; sync pages, and re-slices past the 10,000-result
#   search window without losing or repeating a company.  Never talks to
#   anything but the fake on a loopback port.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/hubspot-lib.sh"

[ -r "$top_srcdir/tests/crm/fakecrm.py" ] || skip "tests/crm/fakecrm.py is not there"
. "$top_srcdir/tests/crm/fakecrm-lib.sh"
TOKEN=pat-na1-7e3c0d52-test-token-do-not-log
fakecrm_start "$T/fake" --seed "$top_srcdir/tests/crm/hubspot-seed.json" --hs-token "$TOKEN" \
	--hs-contact-property leadroute_id || die "the fake CRM did not start"
BASE=$FAKECRM_URL

# ---- the fake's control API ----
fake() {   # fake METHOD PATH [JSON]: the answer's body on stdout
	if [ $# -ge 3 ]; then
		curl -sS --max-time 30 -X "$1" -H 'Content-Type: application/json' --data-binary "$3" \
			"$BASE/_fake$2"
	else
		curl -sS --max-time 30 -X "$1" "$BASE/_fake$2"
	fi
}
fault() { fake POST /faults "$1" > /dev/null; }
no_faults() { fake DELETE /faults > /dev/null; }
# requests ROUTE: how many the fake received on that route so far
requests() { fake GET "/requests?route=$1" | jq '.requests | length'; }
# contact EMAIL: the fake's record of that contact (null when none)
contact() { fake GET /records | jq -c --arg e "$1" '[.contacts[] | select(.email == $e)]'; }

payload() {   # payload LEAD-ID EMAIL OWNER ACCOUNT [FIRST-NAME]
	local owner=null account=null
	[ -n "$3" ] && owner="\"$3\""
	[ -n "$4" ] && account="\"$4\""
	printf '{"lead_id":"%s","created_ms":1767225600000,"email":"%s","domain":"%s",' \
		"$1" "$2" "${2#*@}"
	printf '"fields":{"first_name":"%s","last_name":"Doe","company":"Example Inc",' "${5:-Jane}"
	printf '"website":"example.com","country":"US","employees":500},"queue":"inbound",'
	printf '"owner":%s,"account_id":%s,"rule_line":7,"outcome":"confirm","review_owner":false}' \
		"$owner" "$account"
}

drive_start DRIVE_CRM=hubspot DRIVE_URL="$BASE" DRIVE_TOKEN="$TOKEN" DRIVE_TIMEOUT_MS=1500

# ---- create: contact, owner, lead id, association ----
drive deliver "$(payload L-001 jane@acme.example sdr1@acme.example 9001)"
check "a new lead is DONE" test "$(jr .status)/$(jr .rc)/$(jr .http)" = DONE/0/200
CID=$(jr .record_id)
check "the record id is the contact id ($CID)" test -n "$CID" -a "$CID" != null
C=$(contact jane@acme.example)
check "one contact for the email" test "$(jq length <<<"$C")" = 1
check "... with the contact id given back" test "$(jq -r '.[0].id' <<<"$C")" = "$CID"
check "... owned by sdr1's owner id" test "$(jq -r '.[0].owner_id' <<<"$C")" = 41629701
check "... holding the lead id" test "$(jq -r '.[0].properties.leadroute_id' <<<"$C")" = L-001
check "... with the form's fields" test "$(jq -r '.[0].properties | [.firstname, .lastname, .company, .website, .country] | join("|")' <<<"$C")" = "Jane|Doe|Example Inc|example.com|US"
check "... associated with company 9001 (type 279)" \
	test "$(jq -c '.[0].associations' <<<"$C")" = '[{"company":"9001","type":279}]'
check "one owners request so far" test "$(requests owners.list)" = 1
check "one upsert request so far, no create" \
	test "$(requests contacts.upsert)/$(requests contacts.create)" = 1/0

# ---- the owner id is cached per member ----
drive deliver "$(payload L-002 joe@globex.example sdr1@acme.example 9002)"
check "a second lead for sdr1 is DONE" test "$(jr .status)" = DONE
check "... without asking for sdr1's owner id again" test "$(requests owners.list)" = 1
drive deliver "$(payload L-003 kim@initech.example sdr2@acme.example "")"
check "a lead for sdr2 is DONE" test "$(jr .status)" = DONE
check "... with one owners request for sdr2" test "$(requests owners.list)" = 2
check "... and no association without a company" \
	test "$(contact kim@initech.example | jq -c '.[0].associations')" = '[]'

# ---- the same email again updates the one contact ----
drive deliver "$(payload L-004 jane@acme.example sdr2@acme.example 9001 Janet)"
check "the same email again is DONE" test "$(jr .status)" = DONE
check "... on the same contact" test "$(jr .record_id)" = "$CID"
C=$(contact jane@acme.example)
check "... still one contact for the email" test "$(jq length <<<"$C")" = 1
check "... updated: owner sdr2, first name Janet, lead id L-004" \
	test "$(jq -r '.[0] | [.owner_id, .properties.firstname, .properties.leadroute_id] | join("|")' <<<"$C")" = "41629702|Janet|L-004"

# ---- a retry after a lost answer: one contact ----
# the fake writes the contact after a delay longer than our timeout, so the
# answer never reaches us although the write happened
fault '{"kind":"latency","ms":2500,"route":"contacts.upsert","count":1}'
drive deliver "$(payload L-005 lost@acme.example sdr1@acme.example "")"
check "an answer lost to the timeout is RETRY with no status" \
	test "$(jr .status)/$(jr .http)" = RETRY/0
sleep 1.5
check "... although the fake wrote the contact" test "$(contact lost@acme.example | jq length)" = 1
drive deliver "$(payload L-005 lost@acme.example sdr1@acme.example "")"
check "the retry is DONE" test "$(jr .status)" = DONE
C=$(contact lost@acme.example)
check "... and there is still one contact, written twice" \
	test "$(jq length <<<"$C")/$(jq -r '.[0].writes' <<<"$C")" = 1/2
no_faults
# a reset before the answer on a kept-alive connection: libcurl sends the
# request again once on a new connection (the server may have closed an
# idle connection); the upsert makes that harmless
fault '{"kind":"reset","route":"contacts.upsert","count":1}'
drive deliver "$(payload L-006 reset@acme.example sdr1@acme.example "")"
check "one reset on a reused connection is re-sent by libcurl: DONE" test "$(jr .status)" = DONE
check "... with one contact, from two requests" \
	test "$(contact reset@acme.example | jq length)/$(fake GET '/requests?route=contacts.upsert' | jq --arg e reset@acme.example '[.requests[] | select(.body | contains($e))] | length')" = 1/2
fault '{"kind":"reset","route":"contacts.upsert","count":2}'
drive deliver "$(payload L-006 reset@acme.example sdr1@acme.example "")"
check "a reset on the new connection too is RETRY with no status" \
	test "$(jr .status)/$(jr .http)" = RETRY/0
drive deliver "$(payload L-006 reset@acme.example sdr1@acme.example "")"
check "... the retry is DONE, still one contact" \
	test "$(jr .status)/$(contact reset@acme.example | jq length)" = DONE/1
no_faults

# ---- rate limits ----
fault '{"kind":"rate_limit","route":"contacts.upsert","retry_after":7,"count":1}'
drive deliver "$(payload L-007 rl@acme.example sdr1@acme.example "")"
check "429 with Retry-After: 7 is RETRY after 7000 ms" \
	test "$(jr .status)/$(jr .http)/$(jr .retry_after_ms)" = RETRY/429/7000
fault '{"kind":"rate_limit","route":"contacts.upsert","count":1}'
drive deliver "$(payload L-007 rl@acme.example sdr1@acme.example "")"
check "429 TEN_SECONDLY_ROLLING without Retry-After is RETRY after 10000 ms" \
	test "$(jr .status)/$(jr .http)/$(jr .retry_after_ms)" = RETRY/429/10000
check "... and says which rule" grep -q TEN_SECONDLY_ROLLING <<<"$(jr .message)"
fault '{"kind":"rate_limit","route":"companies.search","count":1}'
drive lookup acme.example 2000
check "the search's secondly limit is -1, RETRY after 1000 ms" \
	test "$(jr .rc)/$(jr .status)/$(jr .retry_after_ms)" = -1/RETRY/1000
fault '{"kind":"rate_limit","route":"contacts.upsert","policy":"DAILY","count":1}'
drive deliver "$(payload L-007 rl@acme.example sdr1@acme.example "")"
check "the daily limit is RETRY after an hour" \
	test "$(jr .status)/$(jr .retry_after_ms)" = RETRY/3600000
no_faults

# the headers say the budget is spent: no call is made into a 429, and the
# result tells the outbox to pause every process for the window
fake POST /config '{"hs_burst_interval_ms": 2000, "hs_burst_max": 2, "hs_enforce_limits": true}' >/dev/null
sleep 2.2   # the fake's rolling window empties
S429=$(fake GET /requests | jq '.requests[-1].seq')
drive deliver "$(payload L-030 budget1@acme.example sdr1@acme.example "")"
check "one call of two in the window: DONE, no pause" \
	test "$(jr .status)/$(jr .pause_ms)" = DONE/0
A0=$(requests associations.default)
drive deliver "$(payload L-031 budget2@acme.example sdr1@acme.example 9001)"
check "the upsert spends the window: the association is not sent, RETRY after it" \
	test "$(jr .status)/$(jr .retry_after_ms)/$(jr .pause_ms)" = RETRY/2000/2000
check "... saying why" grep -q "not sent.*X-HubSpot-RateLimit-Remaining: 0 in a 2000 ms window" <<<"$(jr .message)"
check "... and the fake saw no association request" test "$(requests associations.default)" = "$A0"
sleep 2.2
drive deliver "$(payload L-031 budget2@acme.example sdr1@acme.example 9001)"
check "in a fresh window the retry is DONE and still asks for the pause" \
	test "$(jr .status)/$(jr .pause_ms)/$(jr .pause_why)" = "DONE/2000/X-HubSpot-RateLimit-Remaining: 0 in a 2000 ms window"
check "no 429 was earned" test "$(fake GET "/requests?since=$S429" | jq '[.requests[] | select(.status == 429)] | length')" = 0
fake POST /config '{"hs_burst_interval_ms": 10000, "hs_burst_max": 190, "hs_enforce_limits": false}' >/dev/null

# ---- server trouble: RETRY ----
fault '{"kind":"status","status":500,"route":"contacts.upsert","count":1}'
drive deliver "$(payload L-008 err@acme.example sdr1@acme.example "")"
check "500 is RETRY" test "$(jr .status)/$(jr .http)" = RETRY/500
check "... with HubSpot's correlationId" grep -q correlationId <<<"$(jr .message)"
fault '{"kind":"status","status":502,"html":true,"route":"contacts.upsert","count":1}'
drive deliver "$(payload L-008 err@acme.example sdr1@acme.example "")"
check "502 with an HTML page is RETRY" test "$(jr .status)/$(jr .http)" = RETRY/502
fault '{"kind":"status","status":503,"retry_after":4,"route":"contacts.upsert","count":1}'
drive deliver "$(payload L-008 err@acme.example sdr1@acme.example "")"
check "503 with Retry-After: 4 is RETRY after 4000 ms" \
	test "$(jr .status)/$(jr .retry_after_ms)" = RETRY/4000
fault '{"kind":"hang","hang_ms":6000,"route":"contacts.upsert","count":1}'
drive deliver "$(payload L-008 err@acme.example sdr1@acme.example "")"
check "a hung answer is RETRY with no status" test "$(jr .status)/$(jr .http)" = RETRY/0
check "... within the 1500 ms timeout ($(jr .ms) ms)" test "$(jr .ms)" -lt 2500
no_faults
fault '{"kind":"reset","route":"owners.list","count":1}'
drive deliver "$(payload L-009 own@acme.example ben@acme.example "")"
check "a reset on the owners lookup is RETRY" test "$(jr .status)/$(jr .http)" = RETRY/0
drive deliver "$(payload L-009 own@acme.example ben@acme.example "")"
check "... and the retry is DONE" test "$(jr .status)" = DONE
no_faults
fault '{"kind":"status","status":503,"route":"associations.default","count":1}'
drive deliver "$(payload L-010 assoc@acme.example sdr1@acme.example 9002)"
check "a failed association is RETRY (the upsert repeats harmlessly)" \
	test "$(jr .status)/$(jr .http)" = RETRY/503
drive deliver "$(payload L-010 assoc@acme.example sdr1@acme.example 9002)"
C=$(contact assoc@acme.example)
check "... the retry is DONE: one contact, associated" \
	test "$(jr .status)/$(jq length <<<"$C")/$(jq -r '.[0].companies | join(",")' <<<"$C")" = DONE/1/9002
no_faults
fakecrm_ctl POST /faults '{"kind":"down","mode":"refuse","ms":1500}' > /dev/null
sleep 0.3
drive deliver "$(payload L-020 down@acme.example sdr1@acme.example "")"
check "a refused connection (nothing listening) is RETRY with no status" \
	test "$(jr .status)/$(jr .http)" = RETRY/0
sleep 1.7
wait_port "$(cat "$T/fake/port")" 10 || die "the fake did not come back"
drive deliver "$(payload L-020 down@acme.example sdr1@acme.example "")"
check "... and DONE once it listens again" \
	test "$(jr .status)/$(contact down@acme.example | jq length)" = DONE/1

# ---- permanent errors: DEAD in HubSpot's words ----
fault '{"kind":"invalid_email","surface":"hubspot","email":"bad@acme.example"}'
drive deliver "$(payload L-011 bad@acme.example sdr1@acme.example "")"
check "400 VALIDATION_ERROR is DEAD" test "$(jr .status)/$(jr .http)" = DEAD/400
check "... with HubSpot's message" grep -q 'VALIDATION_ERROR: Property values were not valid.*INVALID_EMAIL' <<<"$(jr .message)"
no_faults
n_up=$(requests contacts.upsert)
drive deliver "$(payload L-012 who@acme.example nobody@acme.example "")"
check "an unknown member is DEAD" test "$(jr .status)" = DEAD
check "... naming the member" grep -q "member 'nobody@acme.example' is not an active HubSpot owner" <<<"$(jr .message)"
check "... and no contact is written" test "$(requests contacts.upsert)" = "$n_up"
drive deliver "$(payload L-013 who@acme.example gone@acme.example "")"
check "an archived (deactivated) owner is DEAD too" test "$(jr .status)" = DEAD
drive deliver "$(payload L-014 nobody-owns@acme.example "" 9001)"
C=$(contact nobody-owns@acme.example)
check "a lead without an owner is DONE without hubspot_owner_id" \
	test "$(jr .status)/$(jq -r '.[0].owner_id' <<<"$C")" = DONE/null
drive deliver "$(payload L-015 gone-co@acme.example sdr1@acme.example 424242)"
check "an association with a company HubSpot lacks leaves the lead DONE" test "$(jr .status)" = DONE
check "... with a warning" grep -q 'not associated with company 424242' <<<"$(jr .message)"
drive deliver '{"lead_id":"L-016","email":null,"fields":{}}'
check "a lead without an email is DEAD" test "$(jr .status)" = DEAD
drive deliver 'not json'
check "a payload that is not JSON is DEAD" test "$(jr .status)" = DEAD
drive_stop

drive_start DRIVE_CRM=hubspot DRIVE_URL="$BASE" DRIVE_TOKEN="$TOKEN" DRIVE_TIMEOUT_MS=1500 \
	DRIVE_LEAD_PROPERTY=leadroute_lead_ref
drive deliver "$(payload L-017 prop@acme.example sdr1@acme.example "")"
check "a lead id property HubSpot lacks is DEAD (400)" test "$(jr .status)/$(jr .http)" = DEAD/400
check "... naming the property" grep -q 'Property \\"leadroute_lead_ref\\" does not exist\|Property "leadroute_lead_ref" does not exist' <<<"$(jr .message)"
drive_stop

# ---- 401: dead, with an alert, and the token nowhere ----
drive_start DRIVE_CRM=hubspot DRIVE_URL="$BASE" DRIVE_TOKEN="$TOKEN-rotated" DRIVE_TIMEOUT_MS=1500
drive deliver "$(payload L-018 auth@acme.example sdr1@acme.example "")"
check "401 is DEAD" test "$(jr .status)/$(jr .http)" = DEAD/401
check "... with an alert about the token" grep -q '^ALERT: HubSpot refused the private-app token' <<<"$(jr .message)"
drive lookup acme.example 1000
check "... and a lookup with a bad token is -1" test "$(jr .rc)/$(jr .http)" = -1/401
drive_stop
fake POST /tokens/expire '{"surface":"hubspot"}' > /dev/null
drive_start DRIVE_CRM=hubspot DRIVE_URL="$BASE" DRIVE_TOKEN="$TOKEN" DRIVE_TIMEOUT_MS=1500
drive deliver "$(payload L-019 auth@acme.example sdr1@acme.example "")"
check "a revoked token is DEAD 401" test "$(jr .status)/$(jr .http)" = DEAD/401
drive_stop
fake POST /reset > /dev/null

# ---- lookups ----
drive_start DRIVE_CRM=hubspot DRIVE_URL="$BASE" DRIVE_TOKEN="$TOKEN" DRIVE_TIMEOUT_MS=1500
drive lookup acme.example 2000
check "lookup finds acme.example" test "$(jr .rc)/$(jr .found)/$(jr .status)" = 1/1/DONE
check "... as company 9001, owner ana, customer, tier_1" \
	test "$(jr '.account | [.id, .domain, .owner, .lifecycle, .tier] | join("|")')" = "9001|acme.example|ana@acme.example|customer|tier_1"
check "... modified at the seeded time" test "$(jr .account.modified_ms)" = 1735689600000
drive lookup initech.example 2000
check "a company without an owner has an empty owner" \
	test "$(jr .rc)/$(jr .account.owner)" = 1/
drive lookup nowhere.example 2000
check "an unknown domain is 0" test "$(jr .rc)/$(jr .status)" = 0/DONE
fault '{"kind":"latency","ms":2000,"route":"companies.search","count":1}'
drive lookup globex.example 300
check "a search slower than the lookup's timeout is -1" test "$(jr .rc)/$(jr .http)" = -1/0
check "... given up near 300 ms ($(jr .ms) ms)" test "$(jr .ms)" -lt 1000
no_faults

# ---- sync ----
drive sync 0
check "sync from 0 sees the 5 seeded companies" test "$(jr .rc)/$(jr .count)" = 5/5
check "... oldest change first" test "$(jr '.ids | join(",")')" = "9001,9002,9003,9004,9005"
drive sync 1740787200000
check "sync since 2025-03-01 sees the 3 changed since (GTE)" \
	test "$(jr '.ids | join(",")')" = "9003,9004,9005"
drive sync 0 2
check "the callback can stop a sync" test "$(jr .count)/$(jr '.ids | length')" = 2/2

# past the 10,000-result window: 10,250 more companies, 120 of them changed
# in one millisecond that straddles the point where the window ends
python3 - "$T/big-seed.json" <<'EOF'
import json, sys
base = 1767225600000  # 2026-01-01
accounts = []
for i in range(10250):
    if 9940 <= i < 10060:
        ms = base + 9940 * 1000
    else:
        ms = base + i * 1000
    accounts.append({"domain": "bulk%05d.example" % i, "hubspot_id": str(100000 + i),
                     "owner": "sdr2@acme.example" if i % 7 == 0 else None,
                     "modified": ms})
for a in accounts:
    if a["owner"] is None:
        del a["owner"]
json.dump({"accounts": accounts}, open(sys.argv[1], "w"))
EOF
check "the fake takes 10,250 more companies" \
	test "$(fake POST /seed "@$T/big-seed.json" | jq -r .ok)" = true
fake DELETE /requests > /dev/null
# a search over 10,000 companies takes the fake a while: a longer timeout
drive_start DRIVE_CRM=hubspot DRIVE_URL="$BASE" DRIVE_TOKEN="$TOKEN" DRIVE_TIMEOUT_MS=30000
drive sync 1767225600000
check "sync past the search window sees all 10,250 companies" \
	test "$(jr .rc)/$(jr .count)" = 10250/10250
check "... each once" test "$(jr '.ids | unique | length')" = 10250
check "... in change order" test "$(jr '[.ids[] | tonumber] | . == sort')" = true
check "... re-slicing at least once (a search starting over at after 0)" \
	test "$(fake GET '/requests?route=companies.search' | jq '[.requests[] | .body | fromjson | select(.after == "0")] | length')" -ge 2
check "... without ever passing the window" \
	test "$(fake GET '/requests?route=companies.search' | jq '[.requests[] | select(.status != 200)] | length')" = 0
check "... the owners listed once for all of them" test "$(requests owners.list)" -le 1
drive_stop

# ---- the token is in no message ----
check "the token appears in no result" sh -c "! grep -qF -- '$TOKEN' '$T/results.jsonl'"
check "the token appears in nothing the driver printed" \
	sh -c "! grep -qF -- '$TOKEN' '$T/drive.err' 2>/dev/null"
check "the fake saw the token only as Bearer (masked in its record)" \
	sh -c "! grep -qF -- '$TOKEN' '$T/fake/requests.jsonl'"

finish
