#!/bin/bash
# notify-test.sh - the notice and alert sinks (src/notify) end to end:
# notify-drive opens them over a store holding known leads and events and
# sends those events to a fake Slack (fakeslack.py, answering as Slack's
# webhooks do) and a fake sendmail (fake-sendmail.sh).  Checked: which
# events each sink wants; the messages Slack receives, with every lead
# value escaped for mrkdwn and the CRM link encoded; section texts within
# Slack's limit; DONE/RETRY/DEAD for each of Slack's answers, a timeout and
# a closed port, with Retry-After; the mail's headers (the same Message-ID
# when sent again, no header injected by a lead or a member) and sendmail's
# exit statuses, a crash and a hang; settings errors; and the webhook URL
# in no output.  Talks only to its own servers on loopback.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

TEST_NAME=$(basename "$0" .sh)
FAILS=0
PASSES=0
SERVER_PIDS=()
DRIVER=$top_builddir/tests/notify/notify-drive

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

for c in python3 jq; do
	command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (tools/install-deps)"
done
[ -x "$DRIVER" ] || die "$DRIVER is not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/lr-notify.XXXXXX") || die "cannot make a temporary directory"
DRV_PID=
cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	set +u
	drive_stop
	for ((i = ${#SERVER_PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${SERVER_PIDS[$i]}" 2>/dev/null
		wait "${SERVER_PIDS[$i]}" 2>/dev/null
	done
	if [ "${LR_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the driver, as a coprocess ----
drive_start() {
	local vg=()
	if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
		vg=(valgrind -q --error-exitcode=99 --leak-check=full
			--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
	fi
	coproc DRIVE { env "$@" "${vg[@]}" "$DRIVER" 2>>"$T/drive.err"; }
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
drive() {   # drive COMMAND...: its JSON answer in R (and in results.jsonl)
	R=
	printf '%s\n' "$*" >&"$DRIVE_IN" || { R='{}'; bad "driver gone before: $1"; return 1; }
	if ! IFS= read -r -t 60 R <&"$DRIVE_OUT"; then
		R='{}'
		bad "no answer from the driver to: $1"
		return 1
	fi
	printf '%s\n' "$R" >> "$T/results.jsonl"
}
jr() { jq -r "$1" <<<"$R"; }
# sent: the body of the last request the fake Slack received
sent() { tail -n 1 "$T/slack.jsonl" | jq -c .body; }
nreq() { if [ -f "$T/slack.jsonl" ]; then wc -l < "$T/slack.jsonl"; else echo 0; fi; }

# ---- the fake Slack and sendmail ----
python3 "$top_srcdir/tests/notify/fakeslack.py" "$T/port" "$T/slack.jsonl" \
	>> "$T/slack.log" 2>&1 < /dev/null &
SERVER_PIDS+=($!)
n=100
while [ $n -gt 0 ] && [ ! -s "$T/port" ]; do sleep 0.1; n=$((n - 1)); done
[ -s "$T/port" ] || die "the fake Slack did not start: $(cat "$T/slack.log")"
PORT=$(cat "$T/port")
SECRET=Zq8hooksecretW4x
hook() { printf 'http://127.0.0.1:%s/services/%s/T000/B000/%s' "$PORT" "$1" "$SECRET"; }
cp "$top_srcdir/tests/notify/fake-sendmail.sh" "$T/sendmail"
chmod 755 "$T/sendmail"
mkdir "$T/mail"
mailmode() { printf '%s\n' "$1" > "$T/mail/mode"; }
mailmode ok

drive_start -u LEADROUTE_SLACK_WEBHOOK_URL -u LEADROUTE_SLACK_ALERT_WEBHOOK_URL \
	-u LEADROUTE_CRM_LINK -u LEADROUTE_SENDMAIL -u LEADROUTE_NOTIFY_FROM \
	-u LEADROUTE_NOTIFY_TIMEOUT_MS DRIVE_DB="$T/leads.db" FAKE_SENDMAIL_DIR="$T/mail"

# ---- nothing configured: no sinks, no errors ----
for s in slack_notice slack_alert email_notice; do
	drive open $s
	check "$s without settings is not configured, and not an error" \
		test "$(jr .rc)/$(jr .configured)/$(jr .err)" = "0/false/"
done

# ---- settings errors name the setting, never the URL ----
drive setenv LEADROUTE_SLACK_WEBHOOK_URL "ftp://127.0.0.1/$SECRET"
drive open slack_notice
check "a webhook URL that is not http(s) is an error naming the setting" \
	test "$(jr .rc)/$(jr .configured)" = -1/false -a "$(jr '.err | test("LEADROUTE_SLACK_WEBHOOK_URL")')" = true
drive setenv LEADROUTE_SLACK_WEBHOOK_URL "$(hook ok)"
drive setenv LEADROUTE_CRM_LINK 'https://crm.example/x?id={id}'
drive open slack_notice
check "a CRM link with an unknown placeholder is an error" \
	test "$(jr .rc)" = -1 -a "$(jr '.err | test("unknown placeholder")')" = true
drive setenv LEADROUTE_CRM_LINK 'https://crm.example/x?q={email}|x'
drive open slack_notice
check "a CRM link with | is an error" test "$(jr .rc)" = -1
drive setenv LEADROUTE_NOTIFY_TIMEOUT_MS 5
drive open slack_notice
check "a timeout under 100 ms is an error" \
	test "$(jr .rc)" = -1 -a "$(jr '.err | test("LEADROUTE_NOTIFY_TIMEOUT_MS")')" = true
drive unsetenv LEADROUTE_NOTIFY_TIMEOUT_MS
drive setenv LEADROUTE_SENDMAIL "$T/sendmail"
drive open email_notice
check "LEADROUTE_SENDMAIL without LEADROUTE_NOTIFY_FROM is an error" \
	test "$(jr .rc)" = -1 -a "$(jr '.err | test("LEADROUTE_NOTIFY_FROM")')" = true
drive setenv LEADROUTE_SENDMAIL sendmail
drive setenv LEADROUTE_NOTIFY_FROM 'Leadroute <leads@acme.example>'
drive open email_notice
check "a sendmail that is not an absolute path is an error" \
	test "$(jr .rc)" = -1 -a "$(jr '.err | test("absolute path")')" = true
drive setenv LEADROUTE_SENDMAIL "$T/sendmail"
drive setenv LEADROUTE_NOTIFY_FROM 'Leadroute'
drive open email_notice
check "a sender without an address is an error" test "$(jr .rc)" = -1

# ---- the store: known leads and their events ----
drive lead '{"id":"lead-0001","email":"jane+test@example.com","domain":"example.com","queue":"enterprise_us","member":"ann@acme.example","rule_line":12,"fields":{"first_name":"Jane","last_name":"Doe","company":"Example Inc","country":"US","employees":500.0}}'
check "lead 1 stored" test "$(jr .rc)" = 0
drive lead '{"id":"lead-0002","email":"evil@evil.example","domain":"evil.example","queue":"inbound","member":"ann@acme.example","rule_line":3,"fields":{"first_name":"<!channel> & <http://evil.example|click>","last_name":"Doe\r\nBcc: victim@evil.example","company":"Evil > Corp <@U123>","country":"Jos\u00e9land"}}'
big=$(printf '&%.0s' $(seq 1 2000))
drive lead "{\"id\":\"lead-0003\",\"email\":\"big@example.com\",\"domain\":\"example.com\",\"fields\":{\"first_name\":\"$big\",\"last_name\":\"$big\",\"company\":\"$big\",\"country\":\"$big\",\"employees\":\"$big\"}}"
check "leads 2 and 3 stored" test "$(jr .rc)" = 0
drive lead '{"id":"lead-0004","email":"jose@example.de","domain":"example.de","fields":{"first_name":"José","last_name":"Müller-Lüdenscheidt Ñandú Ærøskøbing Þórsdóttir","company":"Société Générale & Cie"}}'
ev() { drive event "$1"; jr .id; }
E1=$(ev '{"lead_id":"lead-0001","type":"owner_assigned","at_ms":1767225600000,"data":{"queue":"enterprise_us","member":"ann@acme.example","rule_line":12,"fallbacks":0}}')
E2=$(ev '{"lead_id":"lead-0002","type":"owner_assigned","data":{"queue":"inbound","member":"ann@acme.example","rule_line":3,"fallbacks":1}}')
E3=$(ev '{"lead_id":"lead-0001","type":"lead_unassigned","data":{"queue":"inbound","member":null,"rule_line":7,"fallbacks":2}}')
E4=$(ev '{"type":"alert","data":{"alert":"queue_no_member","key":"inbound","message":"no member of <!here> inbound & co was available","suppressed":3}}')
E5=$(ev '{"lead_id":"lead-0001","type":"form_submitted"}')
E6=$(ev '{"lead_id":"lead-0003","type":"owner_assigned","data":{"queue":"inbound","member":"ann@acme.example","rule_line":1,"fallbacks":0}}')
E7=$(ev '{"lead_id":"lead-0001","type":"owner_assigned","data":{"queue":"inbound","member":"Ann Rep","rule_line":1,"fallbacks":0}}')
E8=$(ev '{"lead_id":"lead-0001","type":"owner_assigned","data":{"queue":"inbound","member":"ann@acme.example\nBcc: victim@evil.example","rule_line":1}}')
E9=$(ev '{"lead_id":"lead-0001","type":"owner_assigned","data":"not an object"}')
E10=$(ev '{"lead_id":"lead-0004","type":"owner_assigned","data":{"queue":"emea","member":"ann@acme.example","rule_line":4,"fallbacks":0}}')
check "events stored in order" test "$E1" -ge 1 -a "$E10" = $((E1 + 9))

# ---- slack_notice: the messages ----
drive setenv LEADROUTE_CRM_LINK 'https://crm.example/leads?id={lead_id}&q={email}'
drive open slack_notice
check "slack_notice opens, one event per send" \
	test "$(jr .configured)/$(jr .name)/$(jr .max_batch)" = true/slack_notice/1
drive send slack_notice "$E5"
check "slack_notice does not want form_submitted" test "$(jr .wants)" = false
drive send slack_notice "$E4"
check "slack_notice does not want alerts" test "$(jr .wants)" = false
before=$(nreq)
drive send slack_notice "$E1"
check "owner_assigned is DONE on 200 ok" test "$(jr .status)/$(jr .rc)/$(jr .http)" = DONE/0/200
check "one request reached Slack" test "$(nreq)" = $((before + 1))
B=$(sent)
check "the request was JSON with Content-Type application/json" \
	test "$(tail -n 1 "$T/slack.jsonl" | jq -r '.content_type | startswith("application/json")')" = true
check "the fallback text names the member and the lead" \
	test "$(jq -r .text <<<"$B")" = "New lead for ann@acme.example: Jane Doe, Example Inc"
check "the section tells who, the lead and its details" \
	test "$(jq -r '.blocks[0].text.text' <<<"$B")" = "$(printf '*New lead for ann@acme.example*\n*Jane Doe*, Example Inc\njane+test@example.com · US · 500 employees')"
check "the CRM link is URL-encoded and its & escaped for mrkdwn" \
	test "$(jq -r '.blocks[1].text.text' <<<"$B")" = '<https://crm.example/leads?id=lead-0001&amp;q=jane%2Btest%40example.com|Open in the CRM>'
check "the context has the queue, the rule line and the lead" \
	test "$(jq -r '.blocks[2].elements[0].text' <<<"$B")" = "queue enterprise_us · rule line 12 · lead lead-0001"

drive send slack_notice "$E2"
check "a hostile lead is DONE" test "$(jr .status)" = DONE
B=$(sent)
check "no <!channel>, mention or link of the lead's reaches Slack" \
	test "$(grep -c -e '<!channel>' -e '<@U123>' -e '<http://evil' <<<"$B")" = 0
check "the lead's & < > arrive as &amp; &lt; &gt;" \
	grep -qF '*&lt;!channel&gt; &amp; &lt;http://evil.example|click&gt; Doe  Bcc: victim@evil.example*, Evil &gt; Corp &lt;@U123&gt;' <<<"$(jq -r '.blocks[0].text.text' <<<"$B")"
check "the fallback text is escaped too" \
	test "$(jq -r '.text | contains("<")' <<<"$B")" = false
check "fallbacks are counted in the context" \
	grep -q '1 fallback · lead lead-0002' <<<"$(jq -r '.blocks[2].elements[0].text' <<<"$B")"

drive send slack_notice "$E3"
check "lead_unassigned is DONE" test "$(jr .status)" = DONE
check "lead_unassigned says no member of the queue was available" \
	test "$(jq -r .text <<<"$(sent)")" = "Lead not assigned: no available member in queue inbound: Jane Doe, Example Inc"

drive send slack_notice "$E6"
check "a lead of huge values is DONE (the fake refuses sections over 3000)" \
	test "$(jr .status)" = DONE -a "$(tail -n 1 "$T/slack.jsonl" | jq -r .status)" = 200
check "... and its section is within 3000 characters" \
	test "$(jq -r '.blocks[0].text.text | length' <<<"$(sent)")" -le 3000

before=$(nreq)
drive send slack_notice "$E9"
check "an event without a data object is DEAD, and nothing is sent" \
	test "$(jr .status)/$(nreq)" = "DEAD/$before"

# ---- slack_notice: Slack's answers ----
verdict() {   # verdict MODE: open on that mode's URL and send E1
	drive setenv LEADROUTE_SLACK_WEBHOOK_URL "$(hook "$1")"
	drive open slack_notice
	drive send slack_notice "$E1"
}
for m in no_service:404 channel_is_archived:410 action_prohibited:403 invalid_token:403 \
         channel_not_found:404; do
	verdict "${m%%:*}"
	check "${m%%:*} (${m#*:}) is DEAD with Slack's words and says the webhook needs fixing" \
		test "$(jr .status)/$(jr .http)/$(jr .rc)" = "DEAD/${m#*:}/-1" \
		-a "$(jr ".message | test(\"${m%%:*}\") and test(\"LEADROUTE_SLACK_WEBHOOK_URL needs fixing\")")" = true
done
verdict invalid_payload
check "invalid_payload (400) is DEAD: this message refused" \
	test "$(jr .status)/$(jr .http)" = DEAD/400 \
	-a "$(jr '.message | test("invalid_payload") and test("refused this message")')" = true
verdict rollup_error
check "rollup_error (500) is RETRY" test "$(jr .status)/$(jr .http)/$(jr .rc)" = RETRY/500/-1
verdict ratelimited
check "429 is RETRY after its Retry-After (7 s)" \
	test "$(jr .status)/$(jr .http)/$(jr .retry_after_ms)" = RETRY/429/7000
verdict redirect
check "a redirect is DEAD and not followed" \
	test "$(jr .status)/$(jr .http)" = DEAD/302 -a "$(jr '.message | test("redirect")')" = true
drive setenv LEADROUTE_NOTIFY_TIMEOUT_MS 1000
verdict slow
check "a Slack slower than the timeout is RETRY with no status" \
	test "$(jr .status)/$(jr .http)" = RETRY/0
check "... within about the timeout ($(jr .ms) ms)" test "$(jr .ms)" -lt 4500
drive unsetenv LEADROUTE_NOTIFY_TIMEOUT_MS
dead_port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
drive setenv LEADROUTE_SLACK_WEBHOOK_URL "http://127.0.0.1:$dead_port/services/ok/$SECRET"
drive open slack_notice
drive send slack_notice "$E1"
check "a refused connection is RETRY" test "$(jr .status)/$(jr .http)" = RETRY/0

# ---- slack_alert ----
drive setenv LEADROUTE_SLACK_ALERT_WEBHOOK_URL "$(hook ok)"
drive open slack_alert
check "slack_alert opens" test "$(jr .configured)/$(jr .name)" = true/slack_alert
drive send slack_alert "$E1"
check "slack_alert does not want owner_assigned" test "$(jr .wants)" = false
drive send slack_alert "$E4"
check "an alert is DONE" test "$(jr .status)/$(jr .wants)" = DONE/true
B=$(sent)
check "the alert's text has its kind and escaped message" \
	test "$(jq -r .text <<<"$B")" = 'leadroute alert queue_no_member: no member of &lt;!here&gt; inbound &amp; co was available'
check "the alert's context has the key and the held-back count" \
	test "$(jq -r '.blocks[1].elements[0].text' <<<"$B")" = 'key inbound · 3 more held back since the last one'
drive setenv LEADROUTE_SLACK_ALERT_WEBHOOK_URL "$(hook no_service)"
drive open slack_alert
drive send slack_alert "$E4"
check "a revoked alert webhook is DEAD naming its setting" \
	test "$(jr .status)" = DEAD -a "$(jr '.message | test("LEADROUTE_SLACK_ALERT_WEBHOOK_URL needs fixing")')" = true

# ---- email_notice ----
drive setenv LEADROUTE_SENDMAIL "$T/sendmail"
drive setenv LEADROUTE_NOTIFY_FROM 'Leadroute <leads@acme.example>'
drive open email_notice
check "email_notice opens" test "$(jr .configured)/$(jr .name)/$(jr .max_batch)" = true/email_notice/1
drive send email_notice "$E3"
check "email_notice does not want lead_unassigned" test "$(jr .wants)" = false
drive send email_notice "$E1"
check "a mail sendmail took (exit 0) is DONE" test "$(jr .status)/$(jr .rc)" = DONE/0
M=$T/mail/mail-1.eml
check "sendmail ran as -t -oi" test "$(cat "$T/mail/mail-1.args" 2>/dev/null)" = "-t -oi"
hdr() { sed -n '1,/^$/p' "$1" | grep "^$2: " | head -n 1 | cut -d' ' -f2-; }
check "From is the setting" test "$(hdr "$M" From)" = 'Leadroute <leads@acme.example>'
check "To is the member" test "$(hdr "$M" To)" = ann@acme.example
check "Subject names the lead" test "$(hdr "$M" Subject)" = 'New lead: Jane Doe (Example Inc)'
check "Date is the event's time" test "$(hdr "$M" Date)" = 'Thu, 01 Jan 2026 00:00:00 +0000'
check "Message-ID comes from the event and lead ids" \
	test "$(hdr "$M" Message-ID)" = "<leadroute.notice.$E1.lead-0001@acme.example>"
check "the body has the details, the rule line and the CRM link" \
	grep -qF 'Rule line: 12 of the rules file' "$M" -a \
	"$(grep -c -e '^Employees: 500$' -e '^CRM:       https://crm.example/leads?id=lead-0001&q=jane%2Btest%40example.com$' "$M")" = 2
drive send email_notice "$E1"
check "a mail sent again has the same Message-ID" \
	test "$(hdr "$T/mail/mail-2.eml" Message-ID)" = "$(hdr "$M" Message-ID)"
drive send email_notice "$E2"
M2=$T/mail/mail-3.eml
check "a lead's CR LF adds no header (no Bcc)" \
	test "$(sed -n '1,/^$/p' "$M2" | grep -ci '^bcc')" = 0
check "... and stays inside the Subject's one line" \
	test "$(grep -c '^Subject: New lead: <!channel> & <http://evil.example|click> Doe  Bcc: victim@evil.example (Evil > Corp <@U123>)$' "$M2")" = 1
drive send email_notice "$E10"
M3=$T/mail/mail-4.eml
check "a Subject that is not ASCII is RFC 2047-encoded" \
	test "$(sed -n '1,/^$/p' "$M3" | grep -c '^Subject: =?UTF-8?B?')" = 1
subj=$(sed -n '1,/^$/p' "$M3" | python3 -c 'import sys, email, email.header
m = email.message_from_string(sys.stdin.read())
print(str(email.header.make_header(email.header.decode_header(m["Subject"]))))')
check "... and decodes back to the lead's words ($subj)" \
	test "$subj" = 'New lead: José Müller-Lüdenscheidt Ñandú Ærøskøbing Þórsdóttir (Société Générale & Cie)'
before=$(ls "$T/mail" | grep -c '\.eml$')
drive send email_notice "$E7"
check "a member that is not an address is DEAD, nothing mailed" \
	test "$(jr .status)/$(ls "$T/mail" | grep -c '\.eml$')" = "DEAD/$before" \
	-a "$(jr '.message | test("not one plain email address")')" = true
drive send email_notice "$E8"
check "a member with a newline is DEAD, nothing mailed" \
	test "$(jr .status)/$(ls "$T/mail" | grep -c '\.eml$')" = "DEAD/$before"
mailmode tempfail
drive send email_notice "$E1"
check "EX_TEMPFAIL (75) is RETRY with sendmail's words" \
	test "$(jr .status)" = RETRY -a "$(jr '.message | test("exited 75") and test("queue full")')" = true
mailmode fail
drive send email_notice "$E1"
check "another exit status is DEAD with its output on one line" \
	test "$(jr .status)" = DEAD -a "$(jr .message)" = 'sendmail exited 67: unknown user second line'
mailmode crash
drive send email_notice "$E1"
check "a crash is RETRY" test "$(jr .status)" = RETRY -a "$(jr '.message | test("signal 11")')" = true
mailmode noread
drive send email_notice "$E1"
check "a sendmail that exits 0 without reading is DONE" test "$(jr .status)" = DONE
mailmode hang
drive setenv LEADROUTE_NOTIFY_TIMEOUT_MS 1000
drive open email_notice
drive send email_notice "$E1"
check "a hanging sendmail is RETRY after the timeout ($(jr .ms) ms)" \
	test "$(jr .status)" = RETRY -a "$(jr .ms)" -lt 4500 -a "$(jr '.message | test("killed")')" = true
check "... and it is gone, not left running" \
	test -s "$T/mail/hang.pid" -a ! -d "/proc/$(cat "$T/mail/hang.pid" 2>/dev/null || echo none)"
mailmode ok

# ---- secrets ----
drive_stop
check "the webhook URL is in no result" test "$(grep -c "$SECRET" "$T/results.jsonl")" = 0
check "the webhook URL is on no error output" test "$(grep -c "$SECRET" "$T/drive.err")" = 0
check "the fake Slack did receive it (so the two checks above can fail)" \
	test "$(grep -c "$SECRET" "$T/slack.jsonl")" -gt 0

say "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
