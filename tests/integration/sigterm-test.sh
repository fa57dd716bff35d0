#!/bin/bash
# sigterm-test.sh - SIGTERM from the web server finishes the request in
# flight and exits cleanly.
#
# leadroute.fcgi runs as a socket server (--listen on a Unix socket in the
# instance's directory) and this test is its web server: it speaks FastCGI
# to it directly (tests/integration/fcgiclient.py), so it decides when each
# byte of a request goes out.
#   (a) a lead's params and the first half of its body are sent and the
#       handler has accepted the connection (it holds one more socket);
#       SIGTERM is sent to it, a moment later the rest of the body: the
#       answer is complete (STDOUT ended, END_REQUEST) and correct (200
#       JSON with a lead_id), the lead is stored exactly once and whole
#       (the fields of the second half are there), and the process exits
#       with status 0 soon after (not killed by the signal: no core), with
#       no sanitizer report in its stderr;
#   (b) SIGTERM while idle (after serving a request, and straight after
#       start, before its first request): exits 0 promptly;
#   (c) SIGTERM with a request in flight, then a second connection sends a
#       whole lead while the first is still unfinished.  What is right: the
#       handler takes no new connection once told to stop; it finishes the
#       request it holds and exits, and a connection still waiting in its
#       listen queue is closed unanswered (the web server sees the backend
#       go away and answers with its own error; the lead was never
#       acknowledged; the same holds for a connection not yet accepted when
#       the signal comes).  So the second connection gets no byte and its
#       lead is not stored: never half an answer, never an answer without a
#       stored lead, never a stored lead without an answer.  The first is
#       answered and stored as in (a), and a connection after the exit is
#       refused.
#   (d) the same through lighttpd (deploy/lighttpd.conf, which sends
#       SIGTERM to its handlers when it stops): a slow client has sent half
#       a lead's body when lighttpd gets SIGINT (graceful stop), SIGUSR1
#       (graceful restart) or SIGTERM (immediate stop); the rest follows.
#       The lead is either stored once and answered 200, or not stored and
#       not answered 2xx/303 - never answered without being stored (the
#       graceful two must finish it: 200); after the graceful restart the
#       server serves leads again; no handler process outlives its server.
# Waits poll with a deadline (the signal's delivery is read from
# /proc/PID/status); with LEADROUTE_VALGRIND=1 the --listen handler runs
# under valgrind (a memory error or leak makes its exit status non-zero)
# and the deadlines are longer.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need lighttpd

FCGI_CLIENT=$top_srcdir/tests/integration/fcgiclient.py
SLOW_CLIENT=$top_srcdir/tests/integration/slowpost.py
SCALE=1
VG=()
if [ "${LEADROUTE_VALGRIND:-0}" = 1 ]; then
	need valgrind
	SCALE=6
	VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
		--show-leak-kinds=definite,indirect)
fi
C=$T/client
mkdir -p "$C"

# ---- helpers ----

# wait_file FILE SECONDS: until FILE exists
wait_file() {
	local n=$(($2 * 10))
	while [ $n -gt 0 ] && [ ! -e "$1" ]; do sleep 0.1; n=$((n - 1)); done
	[ -e "$1" ]
}

# sig_settled PID SIGNAL: the signal sent to PID is no longer on its way:
# PID is gone, or the signal is not pending (taken), or it is pending but
# blocked (the process takes it when it chooses)
sig_settled() {
	local pid=$1 bit=$((1 << ($2 - 1))) st pnd shd blk
	alive "$pid" || return 0
	st=$(cat "/proc/$pid/status" 2>/dev/null) || return 0
	pnd=$(sed -n 's/^SigPnd:[[:space:]]*//p' <<<"$st")
	shd=$(sed -n 's/^ShdPnd:[[:space:]]*//p' <<<"$st")
	blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' <<<"$st")
	(( ((0x$pnd | 0x$shd) & bit) == 0 || (0x$blk & bit) != 0 ))
}

# signal_handler PID: SIGTERM, then until its delivery has settled, then
# a moment more (the moment lets a handler that drops its request do so;
# nothing below depends on its length)
signal_handler() {
	kill -TERM "$1" || return 1
	local n=$((10 * SCALE * 10))
	while [ $n -gt 0 ] && ! sig_settled "$1" 15; do sleep 0.1; n=$((n - 1)); done
	sleep 0.3
}

# wait_exit PID SECONDS: until PID has ended; EXIT_RC is its exit status
# (128+N when a signal ended it), or "running"
wait_exit() {
	local pid=$1 n=$(($2 * 10))
	while [ $n -gt 0 ] && alive "$pid"; do sleep 0.1; n=$((n - 1)); done
	if alive "$pid"; then
		EXIT_RC=running
		return 1
	fi
	wait "$pid"
	EXIT_RC=$?
}

# start_handler NAME: leadroute.fcgi --listen $SOCK as the servers' user
# (under valgrind with LEADROUTE_VALGRIND=1), its stderr in
# $ST/handler-NAME.log; sets HPID and HLOG
start_handler() {
	HLOG=$ST/handler-$1.log
	rm -f "$SOCK"
	handler_env
	start_bg "$HLOG" "${AS_USER[@]}" env -i "${HANDLER_ENV[@]}" "${VG[@]}" "$FCGI" --listen "$SOCK"
	HPID=$LAST_PID
	local n=$((10 * SCALE * 10))
	while [ $n -gt 0 ] && [ ! -S "$SOCK" ] && alive "$HPID"; do sleep 0.1; n=$((n - 1)); done
	[ -S "$SOCK" ] || { show_logs; die "leadroute.fcgi --listen $SOCK did not come up"; }
	if [ ${#VG[@]} = 0 ] && [ "$(readlink "/proc/$HPID/exe")" != "$FCGI" ]; then
		die "pid $HPID is not the handler (start_bg must exec it)"
	fi
}

# the handler's stderr holds no sanitizer, valgrind or assertion report
clean_stderr() {
	! grep -aqE 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:|Assertion .* failed|==[0-9]+== [A-Z]' "$1"
}

# jqt FILE FILTER: FILTER holds on the JSON in FILE
jqt() {
	jq -e "$2" "$1" >/dev/null 2>&1
}

# the params a web server sends with a JSON lead post
LEAD_PARAMS=(--param REQUEST_METHOD=POST --param SCRIPT_NAME=/leadroute.fcgi --param PATH_INFO=/lead
	--param REQUEST_URI=/lead --param CONTENT_TYPE=application/json
	--param HTTP_ACCEPT=application/json --param REMOTE_ADDR=127.0.0.1
	--param SERVER_PROTOCOL=HTTP/1.1 --param GATEWAY_INTERFACE=CGI/1.1
	--param SERVER_NAME=127.0.0.1 --param SERVER_PORT=80)

# lead_body NAME: a JSON lead for NAME@nobody.example in $C/NAME.body whose
# second half holds the company and the message; sets HALF (a split point
# inside the e-mail address)
lead_body() {
	printf '{"email":"%s@nobody.example","first_name":"Half","company":"Split Co","message":"the second half came after the signal"}' \
		"$1" > "$C/$1.body"
	HALF=16
}

# sockets PID: how many sockets the process has open
sockets() {
	find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# half_request NAME: connect, send the params and the first half of NAME's
# lead, and wait (in the background, pid CPID) for $C/NAME.go; returns once
# the handler has accepted the connection (it holds one more socket), so
# that the request is in flight, not waiting in the listen queue
half_request() {
	local base n
	base=$(sockets "$HPID")
	lead_body "$1"
	python3 "$FCGI_CLIENT" --socket "$SOCK" --out "$C/$1.json" --body-file "$C/$1.body" \
		--split "$HALF" --ready "$C/$1.ready" --go "$C/$1.go" --timeout $((30 * SCALE)) \
		"${LEAD_PARAMS[@]}" --param HTTP_IDEMPOTENCY_KEY="sigterm-$1" &
	CPID=$!
	wait_file "$C/$1.ready" $((10 * SCALE)) || die "$1: the client did not send its first half"
	n=$((10 * SCALE * 10))
	while [ $n -gt 0 ] && [ "$(sockets "$HPID")" -le "$base" ]; do sleep 0.1; n=$((n - 1)); done
	check "$1: the handler accepts the connection (it holds $(sockets "$HPID") sockets, $base before)" \
		test "$(sockets "$HPID")" -gt "$base"
}

# answered_and_stored NAME: checks on NAME's answer and its lead
answered_and_stored() {
	local name=$1 what=$2 j=$C/$1.json lid got
	check "$what: the answer is complete (STDOUT ended, END_REQUEST, status 0)" \
		jqt "$j" '.complete and .error == null and .app_status == 0'
	check "$what: 200 application/json with a lead_id, queue inbound ($(jq -c '[.status, .body]' "$j"))" \
		jqt "$j" '.status == 200 and (.headers["content-type"] | startswith("application/json"))
		and (.body | fromjson | (.lead_id | test("^[0-9a-f-]{36}$")) and .queue == "inbound")'
	lid=$(jq -r '.body | fromjson | .lead_id' "$j" 2>/dev/null)
	check "$what: its lead_id is stored exactly once" test "$(sql "SELECT count(*) FROM leads WHERE id = '$lid'")" = 1
	check "$what: one lead for the address, under the key" \
		test "$(sql "SELECT count(*) || '|' || ifnull(max(idem_key), '') FROM leads WHERE email = '$name@nobody.example'")" = "1|sigterm-$name"
	got=$(sql "SELECT json_extract(fields, '\$.company') || '|' || json_extract(fields, '\$.message') FROM leads WHERE id = '$lid'")
	check "$what: stored whole: the second half's fields are there ($got)" \
		test "$got" = "Split Co|the second half came after the signal"
}

CFG_PROCS=1
new_instance listen
say "leadroute.fcgi --listen $SOCK${VG:+ (under valgrind)}"

# ---- (a) SIGTERM in the middle of a request's body ----
start_handler a
half_request a
signal_handler "$HPID"
touch "$C/a.go"
wait "$CPID"
answered_and_stored a "(a) SIGTERM mid-body"
wait_exit "$HPID" $((10 * SCALE))
check "(a) the handler exits with status 0 after the request (got $EXIT_RC)" test "$EXIT_RC" = 0
check "(a) no sanitizer or valgrind report in its stderr" clean_stderr "$HLOG"

# ---- (b) SIGTERM while idle ----
start_handler b
python3 "$FCGI_CLIENT" --socket "$SOCK" --out "$C/b.json" --timeout $((30 * SCALE)) \
	--param REQUEST_METHOD=GET --param SCRIPT_NAME=/leadroute.fcgi --param PATH_INFO=/healthz \
	--param REQUEST_URI=/healthz --param SERVER_PROTOCOL=HTTP/1.1 --param REMOTE_ADDR=127.0.0.1
check "(b) a request before going idle is answered (/healthz 200)" \
	jqt "$C/b.json" '.complete and .status == 200'
kill -TERM "$HPID"
wait_exit "$HPID" $((5 * SCALE))
check "(b) SIGTERM while idle: exits 0 promptly (got $EXIT_RC)" test "$EXIT_RC" = 0
check "(b) no sanitizer or valgrind report in its stderr" clean_stderr "$HLOG"

start_handler b2
kill -TERM "$HPID"
wait_exit "$HPID" $((5 * SCALE))
check "(b) SIGTERM straight after start, before any request: exits 0 promptly (got $EXIT_RC)" \
	test "$EXIT_RC" = 0
check "(b) no sanitizer or valgrind report in its stderr" clean_stderr "$HLOG"

# ---- (c) a second connection after SIGTERM, while a request is in flight ----
start_handler c
half_request c1
C1PID=$CPID
signal_handler "$HPID"
lead_body c2
python3 "$FCGI_CLIENT" --socket "$SOCK" --out "$C/c2.json" --body-file "$C/c2.body" \
	--sent "$C/c2.sent" --timeout $((30 * SCALE)) "${LEAD_PARAMS[@]}" \
	--param HTTP_IDEMPOTENCY_KEY=sigterm-c2 &
C2PID=$!
# the second connection is made and its request is out (or refused) before
# the first request can finish
wait_file "$C/c2.sent" $((10 * SCALE)) || wait_file "$C/c2.json" 1 ||
	die "(c) the second client neither sent its request nor gave up"
touch "$C/c1.go"
wait "$C1PID"
wait "$C2PID"
answered_and_stored c1 "(c) the request in flight"
say "(c) the second connection: $(jq -c '{connected, error, received, complete, status}' "$C/c2.json")"
check "(c) the second connection gets no half answer: not a byte, or a complete one" \
	jqt "$C/c2.json" '.received == 0 or .complete'
check "(c) it is not served: nothing came back (refused or closed unanswered)" \
	jqt "$C/c2.json" '.received == 0'
check "(c) ... and its lead is not stored" \
	test "$(sql "SELECT count(*) FROM leads WHERE email = 'c2@nobody.example'")" = 0
wait_exit "$HPID" $((10 * SCALE))
check "(c) the handler exits with status 0 (got $EXIT_RC)" test "$EXIT_RC" = 0
check "(c) no sanitizer or valgrind report in its stderr" clean_stderr "$HLOG"
python3 "$FCGI_CLIENT" --socket "$SOCK" --out "$C/c3.json" --timeout $((10 * SCALE)) \
	--param REQUEST_METHOD=GET --param PATH_INFO=/healthz
check "(c) after the exit a new connection is refused" \
	jqt "$C/c3.json" '(.connected | not) and .received == 0'
check "(c) PRAGMA integrity_check is ok" test "$(sql 'PRAGMA integrity_check')" = ok

# ---- (d) through lighttpd: its graceful stop, graceful restart and stop ----
for sig in INT USR1 TERM; do
	CFG_PROCS=2
	new_instance "lighttpd-$sig"
	start_lighttpd
	say "lighttpd on $BASE: SIGUSR1/SIGINT/SIGTERM case $sig"
	name=slow-$(tr 'A-Z' 'a-z' <<<"$sig")
	lead_body "$name"
	python3 "$SLOW_CLIENT" --port "$PORT" --path /lead --content-type application/json \
		--header 'Accept: application/json' --body-file "$C/$name.body" --split "$HALF" \
		--ready "$C/$name.ready" --go "$C/$name.go" --out "$C/$name.json" \
		--timeout $((40 * SCALE)) &
	CPID=$!
	wait_file "$C/$name.ready" $((10 * SCALE)) || die "$name: the client did not send its first half"
	# lighttpd logs the start of a graceful stop or restart; SIGTERM ends it
	logs_before=$(grep -c 'graceful shutdown started' "$ST/lighttpd-error.log")
	kill -"$sig" "$SERVER_PID"
	n=$((10 * SCALE * 10))
	while [ $n -gt 0 ] && alive "$SERVER_PID" &&
		[ "$(grep -c 'graceful shutdown started' "$ST/lighttpd-error.log")" = "$logs_before" ]; do
		sleep 0.1
		n=$((n - 1))
	done
	sleep 0.3
	touch "$C/$name.go"
	wait "$CPID"
	code=$(jq -r .status "$C/$name.json")
	stored=$(sql "SELECT count(*) FROM leads WHERE email = '$name@nobody.example'")
	say "lighttpd SIG$sig mid-body: answered $code, stored $stored"
	case $code in
	200 | 303) check "(d) SIG$sig: answered $code, so stored exactly once ($stored)" test "$stored" = 1 ;;
	2*) bad "(d) SIG$sig: answered $code (neither 200 nor 303; stored $stored)" ;;
	*) check "(d) SIG$sig: not answered 2xx/303 ($code), so not stored ($stored)" test "$stored" = 0 ;;
	esac
	if [ "$code" = 200 ]; then
		check "(d) SIG$sig: the answer is the stored lead's" test "$(sql "SELECT id FROM leads WHERE email = '$name@nobody.example'")" = \
			"$(jq -r '.body | fromjson | .lead_id' "$C/$name.json" 2>/dev/null)"
	fi
	case $sig in
	INT)
		check "(d) SIGINT: a graceful stop finishes the slow request: answered 200" test "$code" = 200
		wait_exit "$SERVER_PID" $((15 * SCALE))
		check "(d) SIGINT: lighttpd exits 0 after it (got $EXIT_RC)" test "$EXIT_RC" = 0
		;;
	USR1)
		check "(d) SIGUSR1: a graceful restart finishes the slow request: answered 200" test "$code" = 200
		wait_http "$BASE/healthz" $((10 * SCALE))
		post /lead application/json '{"email":"after-restart@nobody.example"}' -H 'Accept: application/json'
		check "(d) SIGUSR1: after the restart a lead is answered 200 and stored ($CODE)" \
			eval '[ "$CODE" = 200 ] && [ "$(sql "SELECT count(*) FROM leads WHERE email = '\''after-restart@nobody.example'\''")" = 1 ]'
		;;
	TERM)
		wait_exit "$SERVER_PID" $((15 * SCALE))
		check "(d) SIGTERM: lighttpd stops (got $EXIT_RC)" test "$EXIT_RC" != running
		;;
	esac
	stop_all_and_check
done

finish
