# tests/integration/lib.sh - shared by the integration tests (bash; sourced).
#
# Each test gets one temporary directory ($T) holding copies of the
# handler, the operator command, www/, the rules, the free-mail list and
# the sample accounts, and one state directory per server instance
# (database, secret, sockets, logs, pid files).  Servers listen on free
# loopback ports only.  Everything a test starts is stopped at exit, and
# any handler process still running from $T's copy of leadroute.fcgi is
# killed by pid.  Started as root, the servers and the handler run as
# www-data (Apache will not serve as root), so $T is made world-traversable
# and each state directory is owned by that user.
#
# Environment: top_srcdir and top_builddir (set by `make check`; by hand
# they default to the checkout holding this file and to $top_srcdir),
# LR_KEEP=1 keeps $T for a look afterwards.

set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir

TEST_NAME=$(basename "$0" .sh)
FAILS=0
PASSES=0

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

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (tools/install-deps)"
	done
}

need curl jq sqlite3 python3 setsid

FCGI_BUILT=$top_builddir/src/cmd/leadroute.fcgi
LR_BUILT=$top_builddir/src/cmd/leadroute
[ -x "$FCGI_BUILT" ] || die "$FCGI_BUILT is not built"
[ -x "$LR_BUILT" ] || die "$LR_BUILT is not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/lr-it.XXXXXX") || die "cannot make a temporary directory"
chmod 755 "$T"
SERVER_PIDS=()

# ---- users ----

if [ "$(id -u)" = 0 ]; then
	RUN_USER=www-data
	RUN_GROUP=www-data
	id "$RUN_USER" >/dev/null 2>&1 || skip "running as root needs the user www-data"
	RUN_UID=$(id -u "$RUN_USER")
	RUN_GID=$(id -g "$RUN_USER")
	USER_ARGS=(USER="$RUN_USER" GROUP="$RUN_GROUP")
	need setpriv
	AS_USER=(setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups --)
	own() { chown -R "$RUN_UID:$RUN_GID" "$@"; }
else
	RUN_USER=$(id -un)
	RUN_GROUP=$(id -gn)
	USER_ARGS=(USER- GROUP-)
	AS_USER=()
	own() { :; }
fi

# as_user CMD...: run CMD as the servers' user
as_user() { "${AS_USER[@]}" "$@"; }

# ---- processes ----

# pids of handler processes running $T's copy of leadroute.fcgi
handler_pids() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		[ "$exe" = "$FCGI" ] && echo "${p#/proc/}"
	done
	return 0
}

# alive PID: the process exists and is not a zombie
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}

# stop_pid PID [SECONDS]: TERM, wait, then KILL
stop_pid() {
	local pid=$1 n=$((${2:-15} * 10))
	alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	while [ $n -gt 0 ] && alive "$pid"; do
		sleep 0.1
		n=$((n - 1))
	done
	if alive "$pid"; then
		say "pid $pid did not stop on SIGTERM; SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? i p
	trap - EXIT INT TERM
	for ((i = ${#SERVER_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${SERVER_PIDS[$i]}" 15
	done
	# spawn-fcgi children and --listen handlers are in SERVER_PIDS too;
	# whatever is left of our handler copy goes now
	if [ -n "${FCGI:-}" ]; then
		for p in $(handler_pids); do
			say "handler process $p was still running at exit; SIGKILL"
			kill -KILL "$p" 2>/dev/null
		done
	fi
	if [ "${LR_KEEP:-0}" = 1 ]; then
		say "kept $T"
	else
		rm -rf "$T"
	fi
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

# ---- the application copy ----

APP=$T/app
mkdir -p "$APP/bin" "$APP/rules"
cp "$FCGI_BUILT" "$APP/bin/leadroute.fcgi"
cp "$LR_BUILT" "$APP/bin/leadroute"
cp -R "$top_srcdir/www" "$APP/www"
cp "$top_srcdir/rules/example.routes" "$APP/rules/example.routes"
cp "$top_srcdir/data/freemail.txt" "$APP/freemail.txt"
cp "$top_srcdir/data/sample-accounts.csv" "$APP/sample-accounts.csv"
chmod -R u+w,a+rX "$APP"   # distcheck: the sources are read-only
FCGI=$APP/bin/leadroute.fcgi
LR=$APP/bin/leadroute
RULES=$APP/rules/example.routes
WWW=$APP/www
FREEMAIL=$APP/freemail.txt
ACCOUNTS=$APP/sample-accounts.csv
DEPLOY=$top_srcdir/deploy
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
NGINX_FASTCGI_PARAMS=${NGINX_FASTCGI_PARAMS:-/etc/nginx/fastcgi_params}

# ---- instances ----

# Settings of the next instance (set before new_instance).
CFG_MIN_SECONDS=0
CFG_RATE=0
CFG_PROCS=2
CFG_MAX_BODY=65536
CFG_SYNC=group

# new_instance NAME: a state directory $T/NAME with a secret, an empty
# database holding the sample accounts, and the render arguments in
# RENDER_ARGS; sets ST (state dir), DB, PORT, SOCK.
new_instance() {
	local name=$1
	ST=$T/$name
	mkdir -p "$ST/fcgid"
	chmod 700 "$ST"
	DB=$ST/leads.db
	SOCK=$ST/leadroute.sock
	PORT=$(free_port)
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$ST/secret")
	own "$ST"
	RENDER_ARGS=(BIND=127.0.0.1 PORT="$PORT" STATE="$ST" WWW="$WWW" FCGI="$FCGI"
		SOCKET="$SOCK" RULES="$RULES" DB="$DB" SECRET_FILE="$ST/secret"
		FREEMAIL="$FREEMAIL" MAX_BODY="$CFG_MAX_BODY"
		MAX_BODY_KB=$(((CFG_MAX_BODY + 1023) / 1024)) HONEYPOT=hp_website2
		SPAM_MIN_SECONDS="$CFG_MIN_SECONDS" RATE_LIMIT="$CFG_RATE" SYNC="$CFG_SYNC"
		LOG="$ST/leadroute.log" PROCS="$CFG_PROCS" APACHE_MODULES="$APACHE_MODULES"
		NGINX_FASTCGI_PARAMS="$NGINX_FASTCGI_PARAMS" "${USER_ARGS[@]}")
	lr accounts import "$ACCOUNTS" >/dev/null || die "$name: cannot import $ACCOUNTS"
	own "$ST"
	BASE=http://127.0.0.1:$PORT
}

# render TEMPLATE OUTPUT
render() {
	"$DEPLOY/render" "$1" "${RENDER_ARGS[@]}" > "$2" || die "cannot render $1"
}

# lr ARGS...: the operator command on the current instance's database
lr() {
	as_user env -i PATH="$PATH" LEADROUTE_DB="$DB" LEADROUTE_FREEMAIL="$FREEMAIL" "$LR" "$@"
}

# sql QUERY: one query on the current instance's database
sql() {
	as_user sqlite3 -cmd '.timeout 10000' "$DB" "$1"
}

# the environment of a handler not started by the web server
handler_env() {
	render "$DEPLOY/leadroute.env" "$ST/leadroute.env"
	HANDLER_ENV=(PATH="$PATH")
	local line
	while IFS= read -r line; do
		case $line in ''|'#'*) continue ;; esac
		HANDLER_ENV+=("$line")
	done < "$ST/leadroute.env"
}

# wait_http URL [SECONDS]: until URL answers 200
wait_http() {
	local n=$((${2:-20} * 10))
	while [ $n -gt 0 ]; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# start_bg LOG CMD...: start CMD in the background in its own session
start_bg() {
	local log=$1
	shift
	setsid "$@" >> "$log" 2>&1 < /dev/null &
	SERVER_PIDS+=($!)
	LAST_PID=$!
}

show_logs() {
	local f
	for f in "$ST"/*.log; do
		[ -s "$f" ] || continue
		echo "---- $f (last lines)"
		tail -n 20 "$f"
	done
}

start_lighttpd() {
	render "$DEPLOY/lighttpd.conf" "$ST/lighttpd.conf"
	lighttpd -tt -f "$ST/lighttpd.conf" >> "$ST/server.log" 2>&1 || { show_logs; die "lighttpd: bad config"; }
	start_bg "$ST/server.log" lighttpd -D -f "$ST/lighttpd.conf"
	SERVER_PID=$LAST_PID
	wait_http "$BASE/healthz" || { show_logs; die "lighttpd did not come up on $BASE"; }
}

start_apache() {   # start_apache TEMPLATE
	render "$1" "$ST/httpd.conf"
	apache2 -t -f "$ST/httpd.conf" >> "$ST/server.log" 2>&1 || { show_logs; die "apache2: bad config"; }
	start_bg "$ST/server.log" apache2 -f "$ST/httpd.conf" -DFOREGROUND
	SERVER_PID=$LAST_PID
	wait_http "$BASE/healthz" || { show_logs; die "apache2 did not come up on $BASE"; }
}

start_nginx() {
	mkdir -p "$ST/logs"
	own "$ST"
	render "$DEPLOY/nginx.conf" "$ST/nginx.conf"
	nginx -t -q -p "$ST" -e "$ST/nginx-error.log" -c "$ST/nginx.conf" >> "$ST/server.log" 2>&1 ||
		{ show_logs; die "nginx: bad config"; }
	start_bg "$ST/server.log" nginx -p "$ST" -e "$ST/nginx-error.log" -c "$ST/nginx.conf"
	SERVER_PID=$LAST_PID
	wait_http "$BASE/healthz" || { show_logs; die "nginx did not come up on $BASE"; }
}

# start_listen: leadroute.fcgi --listen on the instance's Unix socket
start_listen() {
	handler_env
	start_bg "$ST/handler.log" "${AS_USER[@]}" env -i "${HANDLER_ENV[@]}" "$FCGI" --listen "$SOCK"
	local n=100
	while [ $n -gt 0 ] && [ ! -S "$SOCK" ]; do sleep 0.1; n=$((n - 1)); done
	[ -S "$SOCK" ] || { show_logs; die "leadroute.fcgi --listen $SOCK did not come up"; }
}

# start_spawn_fcgi N: N handler processes sharing one socket (spawn-fcgi)
start_spawn_fcgi() {
	handler_env
	local ids=()
	[ "$(id -u)" = 0 ] && ids=(-u "$RUN_USER" -g "$RUN_GROUP" -U "$RUN_USER" -G "$RUN_GROUP")
	env -i "${HANDLER_ENV[@]}" spawn-fcgi -s "$SOCK" -M 0660 "${ids[@]}" -F "$1" \
		-P "$ST/spawn-fcgi.pid" -- "$FCGI" >> "$ST/server.log" 2>&1 ||
		{ show_logs; die "spawn-fcgi failed"; }
	local p
	for p in $(cat "$ST/spawn-fcgi.pid"); do SERVER_PIDS+=("$p"); done
}

# stop_server: stop the last server and check that no handler process of
# it is left behind
stop_server() {
	stop_pid "$SERVER_PID" 15
}

# stop_all_and_check: stop every server started so far; FAIL when a handler
# process outlives its server
stop_all_and_check() {
	local i left
	for ((i = ${#SERVER_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${SERVER_PIDS[$i]}" 15
	done
	SERVER_PIDS=()
	sleep 0.3
	left=$(handler_pids | tr '\n' ' ')
	if [ -n "$left" ]; then
		bad "no handler process outlives its server (left: $left)"
		for p in $left; do kill -KILL "$p" 2>/dev/null; done
	else
		ok "no handler process outlives its server"
	fi
}

# ---- HTTP ----

# post PATH CONTENT-TYPE BODY [curl args...]: sets CODE, LOC (Location),
# BODY_OUT, HEADERS
post() {
	local path=$1 ct=$2 body=$3
	shift 3
	local out
	out=$(curl -s -S --max-time 30 -D "$T/h.$$" -o "$T/b.$$" -w '%{http_code}' \
		-H "Content-Type: $ct" --data-binary "$body" "$@" "$BASE$path") || out=000
	CODE=$out
	HEADERS=$(tr -d '\r' < "$T/h.$$" 2>/dev/null)
	LOC=$(printf '%s\n' "$HEADERS" | sed -n 's/^[Ll]ocation: //p' | tail -n 1)
	BODY_OUT=$(cat "$T/b.$$" 2>/dev/null)
	rm -f "$T/h.$$" "$T/b.$$"
}

# get PATH [curl args...]: sets CODE, HEADERS, BODY_OUT, CTYPE
get() {
	local path=$1
	shift
	local out
	out=$(curl -s -S --max-time 30 -D "$T/h.$$" -o "$T/b.$$" -w '%{http_code}' "$@" \
		"$BASE$path") || out=000
	CODE=$out
	HEADERS=$(tr -d '\r' < "$T/h.$$" 2>/dev/null)
	CTYPE=$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Tt]ype: //p' | tail -n 1)
	BODY_OUT=$(cat "$T/b.$$" 2>/dev/null)
	rm -f "$T/h.$$" "$T/b.$$"
}

# raw REQUEST-FILE: send bytes as they are (tests/integration/rawhttp.py);
# sets CODE, HEADERS, BODY_OUT
raw() {
	python3 "$top_srcdir/tests/integration/rawhttp.py" 127.0.0.1 "$PORT" "$1" > "$T/raw.$$" 2>&1
	CODE=$(head -n 1 "$T/raw.$$" | awk '{print $2}')
	[ -n "$CODE" ] || CODE=000
	HEADERS=$(sed -n '1,/^$/p' "$T/raw.$$")
	BODY_OUT=$(sed '1,/^$/d' "$T/raw.$$")
	rm -f "$T/raw.$$"
}

# is the time now inside enterprise_us's hours (mon-fri 08:00-18:00 New York)?
in_us_hours() {
	python3 -c 'import datetime, sys, zoneinfo
n = datetime.datetime.now(zoneinfo.ZoneInfo("America/New_York"))
sys.exit(0 if n.weekday() < 5 and 8 <= n.hour < 18 else 1)'
}

# crash_reports: sanitizer reports, failed assertions and handler processes
# that died of SIGSEGV/SIGABRT/SIGBUS/SIGFPE, in every log of every instance
crash_reports() {
	grep -aHE 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:|Assertion .* failed|Segmentation fault|child signalled: (4|6|7|8|11)$' \
		"$T"/*/*.log 2>/dev/null | head -n 20
}

finish() {
	local crashes
	crashes=$(crash_reports)
	check "no crash or sanitizer report in any log${crashes:+: $crashes}" test -z "$crashes"
	say "$PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
}
