# tests/crm/fakecrm-lib.sh - start, drive and stop the fake CRM
# (tests/crm/fakecrm.py) from a bash test; sourced.
#
#   fakecrm_start DIR [fakecrm.py options...]
#       starts the fake on a free loopback port in its own session, with
#       its state (port, log, requests.jsonl, records.json) in DIR; sets
#       FAKECRM_URL (http://127.0.0.1:PORT), FAKECRM_PORT, FAKECRM_PID.
#       Returns 1 (with the log on standard error) when it did not come up.
#   fakecrm_ctl METHOD PATH [JSON]
#       the control API: fakecrm_ctl POST /faults '{"kind":"reset"}';
#       prints the answer, fails on HTTP >= 300.
#   fakecrm_stop
#       SIGTERM, then SIGKILL after 5 seconds; waits for it and sets
#       FAKECRM_RC to its exit status (0: it stopped on SIGTERM).
#
# A test that also sources tests/integration/lib.sh gets the fake stopped
# at exit by lib.sh's cleanup: its pid goes into SERVER_PIDS when that
# array exists.  Otherwise call fakecrm_stop from your own EXIT trap.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
FAKECRM_PY=$top_srcdir/tests/crm/fakecrm.py
FAKECRM_PID=
FAKECRM_URL=
FAKECRM_PORT=
FAKECRM_RC=

fakecrm_start() {
	local dir=$1 n=100
	shift
	mkdir -p "$dir"
	rm -f "$dir/port"
	setsid python3 -B "$FAKECRM_PY" --port 0 --port-file "$dir/port" --state "$dir" --quiet "$@" \
		>> "$dir/fakecrm.log" 2>&1 < /dev/null &
	FAKECRM_PID=$!
	if declare -p SERVER_PIDS >/dev/null 2>&1; then SERVER_PIDS+=("$FAKECRM_PID"); fi
	while [ $n -gt 0 ] && [ ! -s "$dir/port" ] && kill -0 "$FAKECRM_PID" 2>/dev/null; do
		sleep 0.1
		n=$((n - 1))
	done
	if [ ! -s "$dir/port" ]; then
		echo "fakecrm did not come up; its log:" >&2
		cat "$dir/fakecrm.log" >&2
		return 1
	fi
	FAKECRM_PORT=$(cat "$dir/port")
	FAKECRM_URL=http://127.0.0.1:$FAKECRM_PORT
	curl -sf --max-time 5 "$FAKECRM_URL/_fake/health" >/dev/null || {
		echo "fakecrm does not answer on $FAKECRM_URL" >&2
		return 1
	}
}

fakecrm_ctl() {
	local method=$1 path=$2 body=${3:-}
	if [ -n "$body" ]; then
		curl -sS -f --max-time 10 -X "$method" -H 'Content-Type: application/json' \
			--data-binary "$body" "$FAKECRM_URL/_fake$path"
	else
		curl -sS -f --max-time 10 -X "$method" "$FAKECRM_URL/_fake$path"
	fi
}

fakecrm_stop() {
	local pid=$FAKECRM_PID n=50
	[ -n "$pid" ] || return 0
	FAKECRM_PID=
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; FAKECRM_RC=$?; return 0; }
	while [ $n -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
		# a zombie is done: it only waits to be reaped
		case $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) in Z*) break ;; esac
		sleep 0.1
		n=$((n - 1))
	done
	case $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) in
	'' | Z*) ;;
	*) kill -KILL "$pid" 2>/dev/null ;;
	esac
	wait "$pid" 2>/dev/null
	FAKECRM_RC=$?
	return 0
}
