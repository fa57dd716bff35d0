# tests/crm/hubspot-lib.sh - shared by hubspot-test.sh and webhook-test.sh
# (bash; sourced): a temporary directory ($T), servers on free loopback
# ports stopped at exit, the connector driver (hubspot-drive) as a
# coprocess so one struct crm lives through a whole test, and ok/bad
# bookkeeping.  Under LEADROUTE_VALGRIND the driver runs in valgrind and
# any memory error or leak fails the test.
#
# Environment: top_srcdir and top_builddir (set by `make check`; by hand
# they default to the checkout holding this file and to $top_srcdir);
# LR_KEEP=1 keeps $T.  Never listens beyond loopback and never leaves a
# server or driver running after the test.

set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

TEST_NAME=$(basename "$0" .sh)
FAILS=0
PASSES=0
SERVER_PIDS=()
DRIVER=$top_builddir/tests/crm/hubspot-drive

say() { printf '%s: %s\n' "$TEST_NAME" "$*"; }
skip() { say "SKIP: $*"; exit 77; }
die() { say "ERROR: $*"; exit 99; }
ok() { PASSES=$((PASSES + 1)); printf 'ok   %s\n' "$*"; }
bad() { FAILS=$((FAILS + 1)); printf 'FAIL %s\n' "$*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

for c in python3 jq curl; do
	command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (tools/install-deps)"
done
[ -x "$DRIVER" ] || die "$DRIVER is not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/lr-crm.XXXXXX") || die "cannot make a temporary directory"

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	set +u   # nothing may stop the servers from being stopped
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

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_bg LOG CMD...: CMD in the background, stopped at exit
start_bg() {
	local log=$1
	shift
	"$@" >> "$log" 2>&1 < /dev/null &
	SERVER_PIDS+=($!)
	LAST_PID=$!
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT
wait_port() {
	local n=$((${2:-20} * 10))
	while [ $n -gt 0 ]; do
		python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# ---- the driver ----

DRV_PID=
# drive_start VAR=VALUE...: a new driver with these settings (DRIVE_*)
drive_start() {
	drive_stop
	local vg=()
	if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
		vg=(valgrind -q --error-exitcode=99 --leak-check=full
			--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
	fi
	coproc DRIVE { env "$@" "${vg[@]}" "$DRIVER" 2>>"$T/drive.err"; }
	DRV_PID=$DRIVE_PID   # bash unsets DRIVE_PID when the coprocess ends
	DRIVE_IN=${DRIVE[1]}
	DRIVE_OUT=${DRIVE[0]}
}

# drive_stop: end the driver; FAIL when it did not exit 0 (valgrind: 99)
drive_stop() {
	[ -n "$DRV_PID" ] || return 0
	local pid=$DRV_PID rc=0
	DRV_PID=
	exec {DRIVE_IN}>&-
	wait "$pid" 2>/dev/null || rc=$?
	if [ "$rc" != 0 ]; then
		bad "the driver exited $rc ($(tail -n 5 "$T/drive.err" 2>/dev/null | tr '\n' ' '))"
	fi
}

# drive COMMAND...: one command; its JSON answer in R (also appended to
# $T/results.jsonl, which the secret checks grep)
drive() {
	R=
	printf '%s\n' "$*" >&"$DRIVE_IN" || { R='{}'; bad "driver gone before: $1"; return 1; }
	if ! IFS= read -r -t 60 R <&"$DRIVE_OUT"; then
		R='{}'
		bad "no answer from the driver to: $1"
		return 1
	fi
	printf '%s\n' "$R" >> "$T/results.jsonl"
}

# jr FILTER: jq -r over the last answer
jr() { jq -r "$1" <<<"$R"; }

finish() {
	drive_stop
	say "$PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
}
