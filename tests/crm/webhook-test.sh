#!/bin/bash
# webhook-test.sh - the webhook connector against a receiver that verifies
# signatures the way doc/crm.md tells receivers to (webhook-receiver.py):
# a delivery is signed, carries the lead id as Idempotency-Key and the
# payload byte for byte; a repeat is recognised by the receiver; 5xx, 429
# (with its Retry-After), timeouts, resets and refused connections are
# RETRY; 4xx and redirects (never followed) are DEAD with the receiver's
# words; a wrong secret is refused by the receiver; the secret is in no
# result; the documented signature example holds.  Never talks to
# anything but its own receiver on a loopback port.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/hubspot-lib.sh"

SECRET=whsec-test-0123456789abcdef
LOG=$T/received.jsonl
start_bg "$T/receiver.log" python3 "$top_srcdir/tests/crm/webhook-receiver.py" "$SECRET" \
	"$T/port" "$LOG"
n=100
while [ $n -gt 0 ] && [ ! -s "$T/port" ]; do sleep 0.1; n=$((n - 1)); done
[ -s "$T/port" ] || die "the receiver did not start: $(cat "$T/receiver.log")"
PORT=$(cat "$T/port")
HOOK=http://127.0.0.1:$PORT/hook

payload() {   # payload LEAD-ID: one outbox payload as crm.h describes it
	printf '{"lead_id":"%s","created_ms":1767225600000,"email":"jane@example.com",' "$1"
	printf '"domain":"example.com","fields":{"first_name":"Jane","employees":500},'
	printf '"queue":"inbound","owner":"sdr1@acme.example","account_id":null,"rule_line":7,'
	printf '"outcome":"confirm","review_owner":false}'
}
last() { tail -n 1 "$LOG"; }

drive_start DRIVE_CRM=webhook DRIVE_URL="$HOOK" DRIVE_SECRET="$SECRET" DRIVE_TIMEOUT_MS=1500

# ---- delivered, verified, byte for byte ----
P1=$(payload lead-0001)
drive deliver "$P1"
check "2xx is DONE" test "$(jr .status)/$(jr .rc)/$(jr .http)" = DONE/0/200
check "the receiver's id is the record id" test "$(jr .record_id)" = wh-lead-0001
check "the receiver verified the signature" test "$(last | jq -r .verified)" = true
check "Idempotency-Key is the lead id" test "$(last | jq -r .key)" = lead-0001
check "the body is the payload byte for byte" test "$(last | jq -r .body)" = "$P1"
check "Content-Type is application/json" test "$(last | jq -r .content_type)" = application/json
check "no Authorization header is sent" test "$(last | jq -r .has_authorization)" = false

drive deliver "$P1"
check "a repeat is DONE" test "$(jr .status)" = DONE
check "the receiver recognised the repeat by its key" test "$(last | jq -r .repeat)" = true

# ---- retryable answers ----
drive url "$HOOK?status=500"
drive deliver "$(payload lead-0002)"
check "500 is RETRY" test "$(jr .status)/$(jr .http)/$(jr .rc)" = RETRY/500/-1
check "500's message has the receiver's words" grep -q 'receiver says 500' <<<"$(jr .message)"
drive url "$HOOK?status=503&retry_after=7"
drive deliver "$(payload lead-0002)"
check "503 with Retry-After: 7 is RETRY after 7000 ms" \
	test "$(jr .status)/$(jr .retry_after_ms)" = RETRY/7000
drive url "$HOOK?status=429&retry_after=3"
drive deliver "$(payload lead-0002)"
check "429 with Retry-After: 3 is RETRY after 3000 ms" \
	test "$(jr .status)/$(jr .http)/$(jr .retry_after_ms)" = RETRY/429/3000
when=$(python3 -c 'import email.utils, time; print(email.utils.formatdate(time.time() + 30, usegmt=True))')
drive url "$HOOK?status=503&retry_after=$(jq -rn --arg w "$when" '$w | @uri')"
drive deliver "$(payload lead-0002)"
ra=$(jr .retry_after_ms)
check "Retry-After as an HTTP date 30 s ahead is about 30000 ms ($ra)" \
	test "$(jr .status)" = RETRY -a "$ra" -ge 28000 -a "$ra" -le 31000
drive url "$HOOK?status=503&retry_after=soon"
drive deliver "$(payload lead-0002)"
check "a Retry-After that is neither is ignored" test "$(jr .status)/$(jr .retry_after_ms)" = RETRY/0
drive url "$HOOK?status=429"
drive deliver "$(payload lead-0002)"
check "429 without Retry-After is RETRY, backoff decides" \
	test "$(jr .status)/$(jr .retry_after_ms)" = RETRY/0
drive url "$HOOK?sleep_ms=4000"
drive deliver "$(payload lead-0003)"
check "a receiver slower than the timeout is RETRY with no status" \
	test "$(jr .status)/$(jr .http)" = RETRY/0
check "... and gives up near the 1500 ms timeout ($(jr .ms) ms)" test "$(jr .ms)" -lt 3000
drive url "$HOOK?reset=1"
drive deliver "$(payload lead-0004)"
check "a reset connection is RETRY" test "$(jr .status)/$(jr .http)" = RETRY/0
DEADPORT=$(free_port)
drive url "http://127.0.0.1:$DEADPORT/hook"
drive deliver "$(payload lead-0005)"
check "a refused connection is RETRY" test "$(jr .status)/$(jr .http)" = RETRY/0

# ---- permanent answers ----
drive url "$HOOK?status=400"
drive deliver "$(payload lead-0006)"
check "400 is DEAD with the receiver's words" \
	test "$(jr .status)/$(jr .http)" = DEAD/400 -a -n "$(grep 'receiver says 400' <<<"$(jr .message)")"
n_before=$(wc -l < "$LOG")
drive url "$HOOK?status=302&location=/elsewhere"
drive deliver "$(payload lead-0007)"
check "a redirect is DEAD" test "$(jr .status)/$(jr .http)" = DEAD/302
sleep 0.2
check "... and is not followed" test "$(wc -l < "$LOG")" = $((n_before + 1))

# ---- the secret matters ----
drive_start DRIVE_CRM=webhook DRIVE_URL="$HOOK" DRIVE_SECRET=not-the-shared-secret-at-all \
	DRIVE_TIMEOUT_MS=1500
drive deliver "$(payload lead-0008)"
check "a wrong secret fails the receiver's check (401, DEAD)" \
	test "$(jr .status)/$(jr .http)" = DEAD/401
check "... the receiver says why" test "$(last | jq -r .reason)" = "signature mismatch"
drive_stop

# ---- settings ----
rc=0
env DRIVE_CRM=webhook DRIVE_URL="$HOOK" DRIVE_SECRET=tiny-secret "$DRIVER" < /dev/null \
	> /dev/null 2> "$T/open.err" || rc=$?
check "a secret under 16 characters is refused at open" \
	test "$rc" = 1 -a -n "$(grep 'shorter than 16' "$T/open.err")"
rc=0
env DRIVE_CRM=webhook DRIVE_URL="ftp://127.0.0.1:$PORT/x" DRIVE_SECRET="$SECRET" "$DRIVER" \
	< /dev/null > /dev/null 2> "$T/open.err" || rc=$?
check "a URL that is not http(s) is refused at open" \
	test "$rc" = 1 -a -n "$(grep 'not http' "$T/open.err")"
check "... and the secret is not in that message" sh -c "! grep -qF -- '$SECRET' '$T/open.err'"

# ---- the documentation's example ----
drive_start DRIVE_CRM=webhook DRIVE_URL="$HOOK" DRIVE_SECRET="$SECRET"
drive sign "$SECRET" 1767225600 '{"lead_id":"x"}'
want=$(python3 -c 'import hmac, hashlib, sys
print("v1=" + hmac.new(sys.argv[1].encode(), b"1767225600.{\"lead_id\":\"x\"}", hashlib.sha256).hexdigest())' "$SECRET")
check "webhook_sign agrees with Python's hmac" test "$(jr .signature)" = "$want"
check "... and gives doc/crm.md's check value" test "$(jr .signature)" = \
	v1=f25b7d6304c63d349d52c804998c488ba6efef85791b806c2781099c21a670e9
drive_stop

# ---- the secret is in no result ----
grep -v '"signature"' "$T/results.jsonl" > "$T/results-nosign.jsonl"
check "the secret appears in no result" sh -c "! grep -qF -- '$SECRET' '$T/results-nosign.jsonl'"

finish
