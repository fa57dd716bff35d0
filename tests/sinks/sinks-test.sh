#!/bin/bash
# sinks-test.sh - the event log reaches every sink exactly once, through
# outages.  The real handler runs as CGI (one process per request, each
# running the sinks after its answer, as leadroute.fcgi does) with the
# JSON-lines file and Amplitude, Mixpanel and Segment pointed at the fake
# analytics server (tests/sinks/fakesinks.py), which deduplicates like the
# real services.  While N leads and beacons come in, Amplitude is down
# for a while and then answers 503, Mixpanel answers 500s, Segment 429s
# with Retry-After and then hangs past the timeout, and answers are lost
# after the events were taken; then `leadroute outbox
# drain` runs until every cursor has caught up.  Checked: every event of
# every lead is in each tool exactly once after dedup (and duplicates did
# arrive, so dedup ids were the same on resend), with the lead as the
# user and the deployment as the device for events without a lead; the
# JSON-lines file has every event once, in id order, also after a cursor
# is set back (a crash between append and settle); per-event refusals
# land in sink_dead while the rest of the batch is kept; no secret is in
# the database, the file, the logs, the outputs or what the fake recorded.
# Under LEADROUTE_VALGRIND the operator command runs in valgrind.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

TEST_NAME=$(basename "$0" .sh)
FAILS=0
PASSES=0
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
for c in python3 jq curl sqlite3 setsid; do
	command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (tools/install-deps)"
done

FCGI=$top_builddir/src/cmd/leadroute.fcgi
LR=$top_builddir/src/cmd/leadroute
[ -x "$FCGI" ] || die "$FCGI is not built"
[ -x "$LR" ] || die "$LR is not built"
run_lr=("$LR")
run_fcgi=("$FCGI")
if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
	run_lr=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
	        "$LR")
	run_fcgi=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
	          "$FCGI")
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/lr-sinks.XXXXXX") || die "cannot make a temporary directory"
FAKE_PID=
cleanup() {
	local rc=$?
	trap - EXIT
	if [ -n "$FAKE_PID" ]; then
		kill -TERM "$FAKE_PID" 2>/dev/null
		wait "$FAKE_PID" 2>/dev/null
	fi
	if [ "${LR_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# the secrets, each recognisable wherever it might leak
AMP_KEY=amp-key-7d1c55e0f3
MP_USER=mp-sa-user.4b2e
MP_SECRET=mp-secret-91c0aa7e5b
SEG_KEY=seg-write-key-3e8f0d

setsid python3 -B "$top_srcdir/tests/sinks/fakesinks.py" --port 0 --port-file "$T/port" \
	--state "$T/fake" --quiet --amplitude-key "$AMP_KEY" --mixpanel-project 4242 \
	--mixpanel-user "$MP_USER" --mixpanel-secret "$MP_SECRET" --segment-key "$SEG_KEY" \
	>>"$T/fake.log" 2>&1 </dev/null &
FAKE_PID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || { cat "$T/fake.log" >&2; die "the fake analytics server did not start"; }
URL=http://127.0.0.1:$(cat "$T/port")
fake() {   # fake METHOD PATH [JSON]: the control API
	if [ -n "${3:-}" ]; then
		curl -sS -f --max-time 10 -X "$1" -H 'Content-Type: application/json' --data-binary "$3" \
			"$URL/_fake$2"
	else
		curl -sS -f --max-time 10 -X "$1" "$URL/_fake$2"
	fi
}
fake GET /health >/dev/null || die "the fake analytics server does not answer"

export LEADROUTE_DB=$T/leads.db
export LEADROUTE_RULES=$top_srcdir/rules/example.routes
export LEADROUTE_WWW=$top_srcdir/www
export LEADROUTE_FREEMAIL=$top_srcdir/data/freemail.txt
export LEADROUTE_SPAM_MIN_SECONDS=0
export LEADROUTE_RATE_LIMIT=0
export LEADROUTE_LOG=$T/handler.log
export LEADROUTE_EVENTS_FILE=$T/events.jsonl
export LEADROUTE_SINK_TIMEOUT_MS=2000
export LEADROUTE_AMPLITUDE_API_KEY=$AMP_KEY LEADROUTE_AMPLITUDE_URL=$URL
export LEADROUTE_MIXPANEL_PROJECT_ID=4242 LEADROUTE_MIXPANEL_USER=$MP_USER
export LEADROUTE_MIXPANEL_URL=$URL LEADROUTE_SEGMENT_WRITE_KEY=$SEG_KEY LEADROUTE_SEGMENT_URL=$URL
# a secret from a file, as the README tells operators to keep them
printf '%s\n' "$MP_SECRET" >"$T/mp-secret"
chmod 600 "$T/mp-secret"
export LEADROUTE_MIXPANEL_SECRET_FILE=$T/mp-secret

CGI_FAILS=0
cgi() {   # cgi PATH BODY: one POST through the handler as CGI; ANSWER set
	local path=$1 body=$2
	printf '%s' "$body" | env REQUEST_METHOD=POST PATH_INFO="$path" \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} HTTP_ACCEPT=application/json \
		REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 "${run_fcgi[@]}" >"$T/cgi.out" \
		2>>"$T/cgi.err" || CGI_FAILS=$((CGI_FAILS + 1))
	ANSWER=$(sed '1,/^\r*$/d' "$T/cgi.out")
}
drain() {   # one `leadroute outbox drain`, its output appended to $T/drain.out
	"${run_lr[@]}" outbox drain >>"$T/drain.out" 2>&1
	DRAIN_RC=$?
}
last_event() { sqlite3 "$LEADROUTE_DB" "SELECT coalesce(max(id), 0) FROM events"; }
behind() {   # how many sinks have not reached the last event
	sqlite3 "$LEADROUTE_DB" "SELECT 4 - count(*) FROM sink_cursor WHERE last_id = (SELECT max(id) FROM events) AND name IN ('jsonl','amplitude','mixpanel','segment')"
}
catch_up() {   # drain until every sink has caught up (at most $1 seconds)
	local deadline=$(($(date +%s) + $1))
	while :; do
		drain
		[ "$DRAIN_RC" = 0 ] || return 1
		[ "$(behind)" = 0 ] && return 0
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

# ---- phase 1: leads and beacons through outages ----
# down for a while: long enough for the first handler runs, slower under valgrind
DOWN_MS=3000
[ -z "${LEADROUTE_VALGRIND:-}" ] || DOWN_MS=15000
fake POST /faults '[{"kind":"down","tool":"amplitude","for_ms":'$DOWN_MS'},
	{"kind":"status","status":500,"tool":"mixpanel","count":3},
	{"kind":"status","status":503,"tool":"amplitude","count":1},
	{"kind":"rate_limit","tool":"segment","retry_after":1,"count":2},
	{"kind":"hang","tool":"segment","ms":8000,"count":1},
	{"kind":"lost_answer","tool":"segment","count":1},
	{"kind":"lost_answer","tool":"mixpanel","count":1}]' >/dev/null || die "cannot set faults"
N=12
for i in $(seq $N); do
	cgi /lead "{\"email\":\"buyer$i@bigco$i.example\",\"first_name\":\"B$i\",\"country\":\"US\",\"employees\":$((i * 50))}"
	[ "$(jq -r '.lead_id // empty' <<<"$ANSWER")" != "" ] || bad "lead $i was not answered: $ANSWER"
	if [ $((i % 4)) = 0 ]; then
		cgi /event '{"type":"form_view","page":"/demo"}'
		cgi /event '{"type":"form_start"}'
	fi
done
check "the $N leads are stored" test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM leads")" = "$N"
# a lost answer after the events were taken (on the next batch, whoever
# sends it): duplicates must reach the fake
fake POST /faults '{"kind":"lost_answer","tool":"amplitude","count":1}' >/dev/null
cgi /event '{"type":"form_view","page":"/after"}'
check "every sink catches up once the tools are back (drain)" catch_up 120
EVENTS=$(last_event)
check "there are events ($EVENTS), of leads and of none" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(DISTINCT lead_id IS NULL) FROM events")" = 2
for tool in amplitude mixpanel segment; do
	check "the outages were met: the handler's or drain's log names $tool failing" \
		grep -q "sink $tool: " "$T/handler.log" "$T/drain.out"
done
check "... and the fake's faults all fired ($(fake GET /faults | jq -c '[.faults[] | [.kind, .tool, .fired]]'))" \
	eval '[ "$(fake GET /faults | jq "[.faults[] | .fired > 0] | all")" = true ]'
DEP=$(sqlite3 "$LEADROUTE_DB" "SELECT substr(value, 1, 8) FROM meta WHERE key = 'deployment_id'")
check "a deployment id is kept in the meta table" eval '[ ${#DEP} = 8 ]'
sqlite3 "$LEADROUTE_DB" "SELECT 'lr-$DEP-' || id FROM events ORDER BY 1" >"$T/want.ids"

fake GET /stats >"$T/stats.json"
for tool in amplitude mixpanel segment; do
	fake GET "/events?tool=$tool" >"$T/$tool.json"
	case $tool in
	amplitude) idf=.insert_id ;;
	mixpanel) idf='.properties["$insert_id"]' ;;
	segment) idf=.messageId ;;
	esac
	jq -r ".events[] | $idf" "$T/$tool.json" | sort >"$T/$tool.ids"
	check "$tool: every event kept exactly once ($(wc -l <"$T/$tool.ids") of $EVENTS)" \
		cmp -s "$T/want.ids" "$T/$tool.ids"
	check "$tool: nothing refused" test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM sink_dead WHERE sink = '$tool'")" = 0
done
check "resends reached the tools: duplicates were dropped by dedup id ($(jq -c '[.[] | .duplicates]' "$T/stats.json"))" \
	eval '[ "$(jq ".amplitude.duplicates > 0 and .mixpanel.duplicates > 0 and .segment.duplicates > 0" "$T/stats.json")" = true ]'
# who an event is about
sqlite3 -separator ' ' "$LEADROUTE_DB" "SELECT 'lr-$DEP-' || id, coalesce(lead_id, '-') FROM events ORDER BY 1" >"$T/want.who"
jq -r '.events[] | .insert_id + " " + (.user_id // "-")' "$T/amplitude.json" | sort >"$T/amp.who"
check "amplitude: user_id is the lead id, and no user for events without a lead" \
	cmp -s "$T/want.who" "$T/amp.who"
check "amplitude: events without a lead carry the deployment as device_id" \
	eval '[ "$(jq -r "[.events[] | select(.user_id == null) | .device_id] | unique | .[]" "$T/amplitude.json")" = "leadroute-$(sqlite3 "$LEADROUTE_DB" "SELECT value FROM meta WHERE key = '"'deployment_id'"'")" ]'
jq -r '.events[] | .properties["$insert_id"] + " " + .properties.distinct_id' "$T/mixpanel.json" |
	sed 's/ leadroute-[0-9a-f]*$/ -/' | sort >"$T/mp.who"
check "mixpanel: distinct_id is the lead id (the deployment without one)" cmp -s "$T/want.who" "$T/mp.who"
jq -r '.events[] | .messageId + " " + (.userId // "-")' "$T/segment.json" | sort >"$T/seg.who"
check "segment: userId is the lead id, anonymousId otherwise" cmp -s "$T/want.who" "$T/seg.who"
check "segment: timestamps are RFC 3339 UTC" \
	eval '[ "$(jq "[.events[].timestamp | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\\\.[0-9]{3}Z$\")] | all" "$T/segment.json")" = true ]'
check "amplitude: times are milliseconds, as stored" \
	test "$(jq -r '.events[] | .insert_id + " " + (.time | tostring)' "$T/amplitude.json" | sort | md5sum)" = \
	     "$(sqlite3 -separator ' ' "$LEADROUTE_DB" "SELECT 'lr-$DEP-' || id, at_ms FROM events ORDER BY 1" | md5sum)"
check "owner_assigned data reached the tools as properties" \
	eval '[ "$(jq "[.events[] | select(.event_type == \"owner_assigned\") | .event_properties.queue] | length > 0 and all" "$T/amplitude.json")" = true ]'

jsonl_ids_ok() {   # the file's ids are 1..last event, once each, in order
	jq -r .id "$LEADROUTE_EVENTS_FILE" >"$T/jsonl.ids" 2>/dev/null || return 1
	seq 1 "$(last_event)" | cmp -s - "$T/jsonl.ids"
}
check "the JSON-lines file has every event once, in id order" jsonl_ids_ok
check "... each line with id, type, lead_id, at_ms, at (RFC 3339) and data" \
	eval '[ "$(jq -s "map(has(\"id\") and has(\"type\") and has(\"lead_id\") and has(\"at_ms\") and (.at | test(\"Z$\")) and has(\"data\")) | all" "$LEADROUTE_EVENTS_FILE")" = true ]'

# ---- phase 2: a crash between send and settle sends the batch again ----
R0=$(jq .amplitude.received "$T/stats.json")
sqlite3 "$LEADROUTE_DB" "UPDATE sink_cursor SET last_id = 0"
check "cursors set back (as after a crash): drained again" catch_up 30
fake GET /stats >"$T/stats2.json"
check "amplitude received everything again ($(jq .amplitude.received "$T/stats2.json") > $R0) and kept no more" \
	eval '[ "$(jq ".amplitude.received > $R0 and .amplitude.kept == $EVENTS and .mixpanel.kept == $EVENTS and .segment.kept == $EVENTS" "$T/stats2.json")" = true ]'
check "the JSON-lines file still has every event once" jsonl_ids_ok

# ---- phase 3: events refused one by one ----
fake POST /faults '[{"kind":"invalid","tool":"amplitude","event_type":"form_view"},
	{"kind":"invalid","tool":"mixpanel","event_type":"form_view"}]' >/dev/null
cgi /event '{"type":"form_view","page":"/pricing"}'
cgi /lead '{"email":"late@latecomer.example","first_name":"Late","country":"DE","employees":20}'
check "after refusals every sink catches up" catch_up 30
fake DELETE /faults >/dev/null
BAD=$(sqlite3 "$LEADROUTE_DB" "SELECT max(id) FROM events WHERE type = 'form_view'")
for tool in amplitude mixpanel; do
	check "$tool: the refused form_view ($BAD) is in sink_dead with the tool's words" \
		test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM sink_dead WHERE sink = '$tool' AND event_id = $BAD AND error LIKE '%400%'")" = 1
	check "$tool: ... the only one" \
		test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM sink_dead WHERE sink = '$tool'")" = 1
done
fake GET /stats >"$T/stats3.json"
ALL=$(last_event)
check "amplitude and mixpanel kept every other event; segment all ($ALL)" \
	eval '[ "$(jq ".amplitude.kept == $ALL - 1 and .mixpanel.kept == $ALL - 1 and .segment.kept == $ALL" "$T/stats3.json")" = true ]'
check "the late lead's events reached the tools" \
	eval '[ "$(fake GET "/events?tool=amplitude" | jq "[.events[] | select(.user_id == \"$(sqlite3 "$LEADROUTE_DB" "SELECT id FROM leads WHERE email LIKE '"'late@%'"'")\")] | length")" -gt 0 ]'
check "the JSON-lines file has every event once, in id order, refused ones too" jsonl_ids_ok

# ---- phase 4: too large: the batch is split, nothing is lost ----
fake POST /faults '[{"kind":"status","status":413,"tool":"amplitude","count":1},
	{"kind":"status","status":400,"tool":"segment","count":1},
	{"kind":"status","status":413,"tool":"mixpanel","count":1}]' >/dev/null
# five events written at once (by another process), so one batch holds them
sqlite3 "$LEADROUTE_DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
	INSERT INTO events (lead_id, type, at_ms, data) SELECT NULL, 'form_start', $(date +%s%3N), '{}' FROM n"
S=$(fake GET /requests | jq .last_seq)
check "after 413s (and Segment's 400) every sink catches up" catch_up 30
ALL=$(last_event)
fake GET /stats >"$T/stats4.json"
check "... every event kept once: the batches were split, not refused" \
	eval '[ "$(jq ".amplitude.kept == $ALL - 1 and .mixpanel.kept == $ALL - 1 and .segment.kept == $ALL" "$T/stats4.json")" = true ]'
check "... each tool answered too large once, then two halves were taken" \
	eval '[ "$(fake GET "/requests?since=$S" | jq -c "[.requests[] | [.tool, .status]] | group_by(.[0]) | map(map(.[1]))")" = "[[413,200,200],[413,200,200],[400,200,200]]" ]'
check "... and nothing more is in sink_dead" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM sink_dead")" = 2

# ---- leadroute outbox run feeds the sinks as events come ----
"${run_lr[@]}" outbox run >"$T/run.out" 2>&1 &
RUN_PID=$!
sqlite3 "$LEADROUTE_DB" "INSERT INTO events (lead_id, type, at_ms, data) VALUES (NULL, 'form_view', $(date +%s%3N), '{}')"
for _ in $(seq 100); do [ "$(behind)" = 0 ] && break; sleep 0.2; done
check "outbox run: a new event reaches every sink within seconds" test "$(behind)" = 0
kill -TERM "$RUN_PID"
wait "$RUN_PID"
check "outbox run stops cleanly on SIGTERM" test $? = 0
check "... and said what it sent" grep -q "events: sent" "$T/run.out"

# ---- a wrong key: retried, never passed, never shown ----
OUT=$(env -u LEADROUTE_SEGMENT_WRITE_KEY -u LEADROUTE_MIXPANEL_PROJECT_ID \
	-u LEADROUTE_MIXPANEL_USER -u LEADROUTE_MIXPANEL_SECRET_FILE -u LEADROUTE_EVENTS_FILE \
	LEADROUTE_DB="$T/wrong.db" LEADROUTE_AMPLITUDE_API_KEY=amp-wrong-key-0c9e1 sh -c \
	'"$0" outbox drain >/dev/null 2>&1
	 sqlite3 "$LEADROUTE_DB" "INSERT INTO events (type, at_ms) VALUES ('"'spam_blocked'"', 1800000000000)"
	 "$0" outbox drain 2>&1' "$LR")
check "Amplitude's Invalid API key: retried, the key setting named ($OUT)" \
	test "$(sqlite3 "$T/wrong.db" "SELECT last_id || ' ' || (last_error LIKE '%Invalid API key%LEADROUTE_AMPLITUDE_API_KEY%') FROM sink_cursor WHERE name = 'amplitude'")" = "0 1"
check "... the wrong key shown nowhere" \
	eval '! { echo "$OUT"; sqlite3 "$T/wrong.db" .dump; } | grep -q amp-wrong-key-0c9e1'

# ---- a bad setting is an error naming it ----
OUT=$(env -u LEADROUTE_MIXPANEL_SECRET_FILE "$LR" outbox drain 2>&1)
check "Mixpanel without its secret: the command says which setting is missing ($OUT)" \
	grep -q "LEADROUTE_MIXPANEL_SECRET is missing" <<<"$OUT"

# ---- no secret anywhere ----
sqlite3 "$LEADROUTE_DB" .dump >"$T/db.dump"
for f in "$T/db.dump" "$LEADROUTE_EVENTS_FILE" "$T/handler.log" "$T/cgi.err" "$T/drain.out" \
	"$T/fake/requests.jsonl" "$T/fake.log"; do
	check "no secret in $(basename "$f")" \
		eval '! grep -q -e "$AMP_KEY" -e "$MP_SECRET" -e "$SEG_KEY" -e "$(printf "%s:%s" "$MP_USER" "$MP_SECRET" | base64)" -e "$(printf "%s:" "$SEG_KEY" | base64)" "$f"'
done
check "the fake saw the keys where they belong (so the check above could fail)" \
	eval '[ "$(jq -r "select(.tool == \"amplitude\") | .body" "$T/fake/requests.jsonl" | head -1 | jq -r .api_key)" = "***" ]'

check "every handler run exited 0 (no memory error or leak: $(head -c 300 "$T/cgi.err"))" \
	test "$CGI_FAILS" = 0
kill -TERM "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID"
check "the fake analytics server stopped cleanly" test $? = 0
FAKE_PID=

say "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
