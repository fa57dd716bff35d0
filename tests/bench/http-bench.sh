#!/bin/bash
# http-bench.sh - the HTTP benchmark: leadroute.fcgi behind lighttpd against
# a do-nothing libfcgi responder (tests/bench/noop_fcgi.c) behind the same
# lighttpd with the same settings, driven by wrk with varied, realistic
# form posts (tests/bench/http-bench.lua).  Builds nothing: it runs the
# programs of an existing build (benchmark an optimized build without
# sanitizers); `make bench-http` builds them and runs this.
#
# usage: tests/bench/http-bench.sh [BUILDDIR]   (default: the current directory)
#
# Each run starts lighttpd on a free loopback port from deploy/lighttpd.conf
# as shipped (rendered with deploy/render, as tools/run does): max-procs
# handler processes spawned by lighttpd on Unix sockets, the body buffered,
# the access log on.  The only difference between the baseline and the
# handler runs is bin-path (and, for the dry run, one more variable in
# bin-environment).  Every run gets a fresh state directory: a new SQLite
# database with data/sample-accounts.csv imported, rules/example.routes,
# spam defences off (LEADROUTE_SPAM_MIN_SECONDS=0, LEADROUTE_RATE_LIMIT=0;
# the honeypot stays).
#
# Throughput: HTTP_BENCH_ROUNDS rounds; a round runs the baseline, then
# each handler configuration, each for a warm-up and then a measured wrk
# run.  Configurations (HTTP_BENCH_CONFIGS):
#   dry     LEADROUTE_DRY_RUN=1: validate, normalize, route and answer,
#           write nothing (routing only)
#   full    LEADROUTE_SYNC=full: every commit reaches the disk (fsync)
#   group   LEADROUTE_SYNC=group: group commit
#   normal  LEADROUTE_SYNC=normal (not durable on power loss; not run by
#           default)
# A configuration the handler refuses (or a dry run that stores leads) is
# reported and makes the exit status 1.  The table gives the medians over
# the rounds: requests/s, p50 and p99 latency, and the handler's req/s as a
# fraction of the baseline's in the same round (median of the rounds'
# ratios), against the aims (dry run 0.90, durable 0.50), and where the
# CPU went: microseconds per request of lighttpd, of the FastCGI processes,
# of wrk and of kernel threads (the journal's commits), from /proc, and the
# share of the machine's CPU they took together (near 100%: bound by CPU;
# well below: bound by waiting, for locks or the disk).  On a
# shared machine it also measures how busy other work kept the CPUs and
# warns above HTTP_BENCH_OTHER_WARN %: such a run's figures mean little.
# Results per run: results.tsv in the output directory.
#
# Checks (any failure makes the exit status 1): wrk saw no answer with a
# status above 399, no timeout and no connect error; the dry run stored no
# lead; a durable run stored exactly as many leads as the handler answered
# 200 to POST /lead (lighttpd's access log, read after it stopped), and
# that is at least the number of 2xx answers wrk counted and at most that
# plus the requests that can have been in flight when wrk stopped; no
# handler process died (lighttpd's error log).
#
# Memory: for each of HTTP_BENCH_MEMORY_CONFIGS, one server gets
# HTTP_BENCH_MEMORY_REQUESTS requests (wrk runs of HTTP_BENCH_CHUNK_SECONDS
# until the count is reached) while the resident memory (VmRSS) of every
# handler process and of lighttpd is sampled every
# HTTP_BENCH_SAMPLE_SECONDS; it reports the first sample (just started),
# the sample at 10% of the run (settled), the last and the largest, and
# flags growth from settled to last of more than 1 MiB.
#
# environment (defaults in brackets):
#   HTTP_BENCH_CONFIGS          handler configurations [dry full group]
#   HTTP_BENCH_ROUNDS           rounds [3]
#   HTTP_BENCH_DURATION         seconds of each measured run [10]; 0: no
#                               throughput runs (the memory run only)
#   HTTP_BENCH_WARMUP           seconds of warm-up before it [2]
#   HTTP_BENCH_THREADS          wrk threads [1]
#   HTTP_BENCH_CONNECTIONS      wrk connections [8]
#   HTTP_BENCH_PROCS            lighttpd max-procs [2, as tools/run]
#   HTTP_BENCH_MEMORY_REQUESTS  requests of the memory run [1000000]; 0: none
#   HTTP_BENCH_MEMORY_CONFIGS   configurations of the memory run [dry]
#   HTTP_BENCH_CHUNK_SECONDS    length of one wrk run in it [30]
#   HTTP_BENCH_SAMPLE_SECONDS   RSS sampling period [5]
#   HTTP_BENCH_OTHER_WARN       warn when other work kept more than this % of
#                               the machine busy during a measured run [15]
#   HTTP_BENCH_OUT              keep state, logs and results in this directory
#                               (default: a temporary directory, removed at exit)
#
# Needs wrk, lighttpd, sqlite3, curl and python3 (tools/install-deps).
# Listens on 127.0.0.1 only.  Stops everything it started at exit.
set -u

builddir=${1:-.}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)

CONFIGS=${HTTP_BENCH_CONFIGS:-dry full group}
ROUNDS=${HTTP_BENCH_ROUNDS:-3}
DURATION=${HTTP_BENCH_DURATION:-10}
WARMUP=${HTTP_BENCH_WARMUP:-2}
THREADS=${HTTP_BENCH_THREADS:-1}
CONN=${HTTP_BENCH_CONNECTIONS:-8}
PROCS=${HTTP_BENCH_PROCS:-2}
MEM_REQUESTS=${HTTP_BENCH_MEMORY_REQUESTS:-1000000}
MEM_CONFIGS=${HTTP_BENCH_MEMORY_CONFIGS:-dry}
CHUNK=${HTTP_BENCH_CHUNK_SECONDS:-30}
SAMPLE=${HTTP_BENCH_SAMPLE_SECONDS:-5}
OTHER_WARN=${HTTP_BENCH_OTHER_WARN:-15}
AIM_DRY=0.90
AIM_DURABLE=0.50

die() {
	echo "http-bench.sh: $*" >&2
	exit 2
}
say() { echo "http-bench.sh: $*" >&2; }

for v in ROUNDS DURATION WARMUP THREADS CONN PROCS MEM_REQUESTS CHUNK SAMPLE OTHER_WARN; do
	case ${!v} in '' | *[!0-9]*) die "$v must be a whole number, not '${!v}'" ;; esac
done
[ "$ROUNDS" -ge 1 ] && [ "$THREADS" -ge 1 ] && [ "$CONN" -ge "$THREADS" ] && [ "$PROCS" -ge 1 ] &&
	[ "$CHUNK" -ge 1 ] && [ "$SAMPLE" -ge 1 ] ||
	die "rounds, threads, processes, chunk and sample seconds must be at least 1, connections at least threads"
for c in $CONFIGS $MEM_CONFIGS; do
	case $c in dry | full | group | normal) ;; *) die "unknown configuration '$c' (dry full group normal)" ;; esac
done

for c in wrk lighttpd sqlite3 curl python3 setsid; do
	command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (tools/install-deps)"
done
FCGI_BUILT=$builddir/src/cmd/leadroute.fcgi
LR_BUILT=$builddir/src/cmd/leadroute
NOOP_BUILT=$builddir/tests/bench/noop_fcgi
for p in "$FCGI_BUILT" "$LR_BUILT" "$NOOP_BUILT"; do
	[ -x "$p" ] || die "$p is not built; run 'make bench-http' in the build directory"
done

if [ -n "${HTTP_BENCH_OUT:-}" ]; then
	mkdir -p "$HTTP_BENCH_OUT" || die "cannot make $HTTP_BENCH_OUT"
	T=$(cd "$HTTP_BENCH_OUT" && pwd)
	KEEP=1
else
	T=$(mktemp -d "${TMPDIR:-/tmp}/lr-http-bench.XXXXXX") || die "cannot make a temporary directory"
	KEEP=0
fi

# ---- processes ----

LPID=""        # the running lighttpd
SAMPLER=""     # the running RSS sampler

alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}

# pids of processes running our copy of BINARY
pids_of() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		[ "$exe" = "$1" ] && echo "${p#/proc/}"
	done
	return 0
}

stop_pid() {   # stop_pid PID: TERM (INT for lighttpd: graceful), wait, KILL
	local pid=$1 sig=${2:-TERM} n=150
	[ -n "$pid" ] || return 0
	alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -"$sig" "$pid" 2>/dev/null
	while [ $n -gt 0 ] && alive "$pid"; do
		sleep 0.1
		n=$((n - 1))
	done
	if alive "$pid"; then
		say "pid $pid did not stop on SIG$sig; SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	stop_pid "$SAMPLER"
	stop_pid "$LPID" INT
	for p in $(pids_of "$FCGI") $(pids_of "$NOOP"); do
		kill -KILL "$p" 2>/dev/null
	done
	if [ "$KEEP" = 1 ]; then
		echo "state, logs and results kept in $T"
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

# ---- the application copy (its own executables, so its processes are
# told apart from any other leadroute on the machine) ----

APP=$T/app
rm -rf "$APP"
mkdir -p "$APP/bin" "$APP/rules" || die "cannot write $T"
cp "$FCGI_BUILT" "$APP/bin/leadroute.fcgi"
cp "$LR_BUILT" "$APP/bin/leadroute"
cp "$NOOP_BUILT" "$APP/bin/noop_fcgi"
cp -R "$srcdir/www" "$APP/www"
cp "$srcdir/rules/example.routes" "$APP/rules/example.routes"
cp "$srcdir/data/freemail.txt" "$APP/freemail.txt"
cp "$srcdir/data/sample-accounts.csv" "$APP/sample-accounts.csv"
chmod -R u+w "$APP"
FCGI=$APP/bin/leadroute.fcgi
NOOP=$APP/bin/noop_fcgi
LR=$APP/bin/leadroute
LUA=$here/http-bench.lua
TEMPLATE=$srcdir/deploy/lighttpd.conf
RESULTS=$T/results.tsv
printf 'round\tconfig\trequests\tduration_us\trps\tp50_us\tp90_us\tp99_us\tmax_us\tserver_cpu_us\tresponder_cpu_us\tclient_cpu_us\tkernel_cpu_us\tother_pct\tbench_busy_pct\n' > "$RESULTS"
FAILS=0
fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL: $*"
}

# ---- one server ----

# new_state NAME: a fresh state directory $ST with a secret and a database
# holding the sample accounts
new_state() {
	ST=$T/$1
	rm -rf "$ST"
	mkdir -p "$ST"
	chmod 700 "$ST"
	DB=$ST/leads.db
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$ST/secret")
	env -i PATH="$PATH" LEADROUTE_DB="$DB" LEADROUTE_FREEMAIL="$APP/freemail.txt" \
		"$LR" accounts import "$APP/sample-accounts.csv" > /dev/null ||
		die "cannot import the sample accounts into $DB"
}

# sync_of CONFIG, dry_of CONFIG
sync_of() { case $1 in group | normal) echo "$1" ;; *) echo full ;; esac; }
dry_of() { [ "$1" = dry ] && echo 1 || echo 0; }

# the handler's environment as lighttpd's bin-environment gives it
handler_env() {   # handler_env CONFIG
	HENV=(PATH="$PATH" LEADROUTE_RULES="$APP/rules/example.routes" LEADROUTE_DB="$DB"
		LEADROUTE_WWW="$APP/www" LEADROUTE_SECRET_FILE="$ST/secret"
		LEADROUTE_FREEMAIL="$APP/freemail.txt" LEADROUTE_MAX_BODY=65536
		LEADROUTE_SPAM_HONEYPOT=hp_website2 LEADROUTE_SPAM_MIN_SECONDS=0
		LEADROUTE_RATE_LIMIT=0 LEADROUTE_SYNC="$(sync_of "$1")" LEADROUTE_LOG="$ST/leadroute.log")
	[ "$(dry_of "$1")" = 1 ] && HENV+=(LEADROUTE_DRY_RUN=1)
	return 0
}

# start_server NAME BINARY CONFIG: lighttpd with BINARY as the FastCGI
# program; sets PORT, BASE, LPID
start_server() {
	local name=$1 bin=$2 config=$3 dry
	new_state "$name"
	PORT=$(free_port)
	BASE=http://127.0.0.1:$PORT
	dry=$(dry_of "$config")
	local args=(BIND=127.0.0.1 PORT="$PORT" STATE="$ST" WWW="$APP/www" FCGI="$bin"
		SOCKET="$ST/leadroute.sock" RULES="$APP/rules/example.routes" DB="$DB"
		SECRET_FILE="$ST/secret" FREEMAIL="$APP/freemail.txt" MAX_BODY=65536 MAX_BODY_KB=64
		HONEYPOT=hp_website2 SPAM_MIN_SECONDS=0 RATE_LIMIT=0 SYNC="$(sync_of "$config")"
		LOG="$ST/leadroute.log" PROCS="$PROCS" USER- GROUP-)
	if grep -q '@DRY_RUN@' "$TEMPLATE"; then
		args+=(DRY_RUN="$dry")
		"$srcdir/deploy/render" "$TEMPLATE" "${args[@]}" > "$ST/lighttpd.conf" ||
			die "cannot render $TEMPLATE"
	else
		# the template has no placeholder for it: add the variable to
		# bin-environment next to LEADROUTE_SYNC
		"$srcdir/deploy/render" "$TEMPLATE" "${args[@]}" > "$ST/lighttpd.conf.in" ||
			die "cannot render $TEMPLATE"
		if [ "$dry" = 1 ]; then
			awk '{ print } /"LEADROUTE_SYNC"/ { sub(/"LEADROUTE_SYNC".*/, ""); print $0 "\"LEADROUTE_DRY_RUN\" => \"1\"," }' \
				"$ST/lighttpd.conf.in" > "$ST/lighttpd.conf"
			grep -q LEADROUTE_DRY_RUN "$ST/lighttpd.conf" ||
				die "cannot add LEADROUTE_DRY_RUN to the rendered $TEMPLATE"
			rm -f "$ST/lighttpd.conf.in"
		else
			mv "$ST/lighttpd.conf.in" "$ST/lighttpd.conf"
		fi
	fi
	lighttpd -tt -f "$ST/lighttpd.conf" >> "$ST/server.log" 2>&1 || die "$name: lighttpd refuses its configuration (see $ST/server.log)"
	setsid lighttpd -D -f "$ST/lighttpd.conf" >> "$ST/server.log" 2>&1 < /dev/null &
	LPID=$!
	local n=200 code
	while [ $n -gt 0 ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/healthz")
		[ "$code" = 200 ] && return 0
		alive "$LPID" || break
		sleep 0.1
		n=$((n - 1))
	done
	tail -n 5 "$ST/lighttpd-error.log" "$ST/leadroute.log" 2>/dev/null
	die "$name: lighttpd did not come up on $BASE"
}

stop_server() {
	stop_pid "$LPID" INT
	LPID=""
	local p
	for p in $(pids_of "$FCGI") $(pids_of "$NOOP"); do
		fail "$NAME: handler process $p outlived lighttpd"
		kill -KILL "$p" 2>/dev/null
	done
}

# ---- wrk ----

# wrk_run SECONDS SALT OUTFILE: one wrk run; sets W_REQ W_DUR W_STATUS
# W_TIMEOUT W_CONNECT W_READ W_WRITE W_P50 W_P90 W_P99 W_MAX W_RPS
wrk_run() {
	local secs=$1 salt=$2 out=$3 line TIMEFORMAT='%U %S'
	{ time HTTP_BENCH_SALT=$salt wrk -t"$THREADS" -c"$CONN" -d"${secs}s" --timeout 30s \
		-s "$LUA" "$BASE/" > "$out" 2>&1; } 2> "$out.time"
	W_CPU=$(awk '{ print $1 + $2 }' "$out.time")
	line=$(grep '^wrk-result ' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		cat "$out"
		die "wrk gave no result (see above)"
	fi
	local kv k v
	for kv in ${line#wrk-result }; do
		k=${kv%%=*}
		v=${kv#*=}
		case $k in
		requests) W_REQ=$v ;; duration_us) W_DUR=$v ;; status_errors) W_STATUS=$v ;;
		connect_errors) W_CONNECT=$v ;; read_errors) W_READ=$v ;; write_errors) W_WRITE=$v ;;
		timeouts) W_TIMEOUT=$v ;; p50_us) W_P50=$v ;; p90_us) W_P90=$v ;; p99_us) W_P99=$v ;;
		max_us) W_MAX=$v ;;
		esac
	done
	W_RPS=$(awk -v n="$W_REQ" -v d="$W_DUR" 'BEGIN { printf "%.1f", (d > 0 ? n * 1e6 / d : 0) }')
}

# ---- where the CPU goes ----

TICK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# ticks PID...: CPU ticks (user + system) the processes have used
ticks() {
	local p t=0 n
	for p in "$@"; do
		n=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null)
		t=$((t + ${n:-0}))
	done
	echo "$t"
}
# machine_ticks: "busy total" ticks of all CPUs (/proc/stat; busy leaves
# out idle, I/O wait and the time a hypervisor took away)
machine_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6 - $9, t; exit }' /proc/stat
}
# kernel_snapshot FILE: "pid ticks" of every kernel thread (kthreadd's
# children: the file system journal, workqueues, softirq threads), where
# the kernel does work for the benchmark that no process of it is charged
# with (fsync's journal commits, loopback packets)
kernel_snapshot() {
	local f
	for f in /proc/[0-9]*/stat; do
		awk '{ pid = $1; sub(/.*\) /, ""); if ($2 == 2 || pid == 2) print pid, $12 + $13 }' "$f" 2>/dev/null
	done > "$1"
}
# cpu_start BINARY / cpu_end: around a measured wrk run; cpu_end sets
# C_SERVER, C_RESP, C_CLIENT, C_KERNEL (microseconds of CPU per request:
# lighttpd, the FastCGI processes running BINARY, wrk, kernel threads and
# interrupts), C_OURS (% of the machine's CPU time all of that took: near
# 100, the run is bound by CPU) and C_OTHER (% of the machine busy with
# anything else: other people's processes)
cpu_start() {
	RESP_PIDS=$(pids_of "$1" | tr '\n' ' ')
	C0_SERVER=$(ticks "$LPID")
	C0_RESP=$(ticks $RESP_PIDS)
	kernel_snapshot "$ST/kernel0.txt"
	read -r C0_BUSY C0_TOTAL < <(machine_ticks)
}
cpu_end() {
	local s r b t k
	read -r b t < <(machine_ticks)
	s=$(ticks "$LPID")
	r=$(ticks $RESP_PIDS)
	kernel_snapshot "$ST/kernel1.txt"
	k=$(awk 'NR == FNR { t0[$1] = $2; next } { d += $2 - t0[$1] } END { print d + 0 }' \
		"$ST/kernel0.txt" "$ST/kernel1.txt")
	read -r C_SERVER C_RESP C_CLIENT C_KERNEL C_OTHER C_OURS < <(awk -v s=$((s - C0_SERVER)) \
		-v r=$((r - C0_RESP)) -v w="$W_CPU" -v k="$k" -v b=$((b - C0_BUSY)) -v t=$((t - C0_TOTAL)) \
		-v n="$W_REQ" -v hz="$TICK" 'BEGIN {
		if (n < 1) n = 1
		# interrupt work is charged to the process it interrupted (no
		# CONFIG_IRQ_TIME_ACCOUNTING) or, with that option, to nobody:
		# then it shows as "other"
		o = t > 0 ? (b - s - r - w * hz - k) * 100 / t : 0
		u = t > 0 ? (s + r + w * hz + k) * 100 / t : 0
		printf "%.1f %.1f %.1f %.1f %.0f %.0f\n", s / hz / n * 1e6, r / hz / n * 1e6, w / n * 1e6,
		       k / hz / n * 1e6, o < 0 ? 0 : o, u }')
}

# wrk_check WHAT: the answers of the last wrk run were all 2xx/3xx
wrk_check() {
	[ "$W_STATUS" = 0 ] || fail "$1: $W_STATUS answers with a status above 399"
	[ "$W_TIMEOUT" = 0 ] || fail "$1: $W_TIMEOUT requests timed out"
	[ "$W_CONNECT" = 0 ] || fail "$1: $W_CONNECT connect errors"
	if [ "$W_READ" != 0 ] || [ "$W_WRITE" != 0 ]; then
		echo "note: $1: $W_READ read and $W_WRITE write errors"
	fi
}

sql() { sqlite3 -cmd '.timeout 10000' "$DB" "$1"; }

# after_run NAME CONFIG OK RUNS: the checks of a stopped server; OK is the number
# of 2xx/3xx answers wrk counted, RUNS the number of wrk runs
after_run() {
	local name=$1 config=$2 ok=$3 runs=$4 leads log200 lognot children
	children=$(grep -cE 'child (exited|signalled)' "$ST/lighttpd-error.log" 2>/dev/null)
	[ "${children:-0}" = 0 ] || fail "$name: a handler process died ($children times; see $ST/lighttpd-error.log)"
	lognot=$(awk '$6 == "\"POST" && $7 ~ /^\/lead/ && $9 != 200' "$ST/lighttpd-access.log" | wc -l)
	[ "$lognot" = 0 ] || fail "$name: lighttpd's access log has $lognot answers to POST /lead other than 200"
	[ "$config" = noop ] && return 0
	leads=$(sql 'SELECT count(*) FROM leads')
	log200=$(awk '$6 == "\"POST" && $7 ~ /^\/lead/ && $9 == 200' "$ST/lighttpd-access.log" | wc -l)
	if [ "$config" = dry ]; then
		[ "$leads" = 0 ] || fail "$name: the dry run stored $leads leads"
	else
		[ "$leads" = "$log200" ] ||
			fail "$name: $leads leads stored, but the handler answered 200 to $log200 posts"
		[ "$leads" -ge "$ok" ] && [ "$leads" -le $((ok + runs * CONN)) ] ||
			fail "$name: $leads leads stored, wrk counted $ok answers (in flight at the end: at most $((runs * CONN)))"
	fi
	# anything but the goodbye of a handler stopped with lighttpd
	if grep -qv ': exiting' "$ST/leadroute.log" 2>/dev/null; then
		echo "note: $name: the handler logged (most frequent lines of $ST/leadroute.log):"
		grep -v ': exiting' "$ST/leadroute.log" | sort | uniq -c | sort -rn | head -n 5
	fi
	LAST_LEADS=$leads
}

# ---- is a configuration available? ----

# preflight CONFIG: one lead through the handler as CGI with the
# configuration's environment; sets WHY when it is not usable
preflight() {
	local config=$1 body out rc leads
	new_state "preflight-$config"
	handler_env "$config"
	body='email=pre.flight%40bigco.example&country=US&employees=201-500&idempotency_key=bench-preflight-1'
	out=$(printf '%s' "$body" | env -i "${HENV[@]}" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
		PATH_INFO=/lead SCRIPT_NAME=/leadroute.fcgi CONTENT_TYPE=application/x-www-form-urlencoded \
		CONTENT_LENGTH=${#body} HTTP_ACCEPT=application/json REMOTE_ADDR=127.0.0.1 \
		"$FCGI" 2> "$ST/preflight.err")
	rc=$?
	WHY=""
	if [ $rc != 0 ]; then
		WHY="the handler refuses it: $(head -n 1 "$ST/preflight.err")"
		return 1
	fi
	case $out in
	"Status: 200"*'"lead_id"'*) ;;
	*) WHY="the handler answered: $(printf '%s' "$out" | head -n 1)"; return 1 ;;
	esac
	leads=$(sql 'SELECT count(*) FROM leads')
	if [ "$config" = dry ] && [ "$leads" != 0 ]; then
		WHY="LEADROUTE_DRY_RUN=1 is not honoured by this leadroute.fcgi (the lead was stored)"
		return 1
	fi
	if [ "$config" != dry ] && [ "$leads" != 1 ]; then
		WHY="the lead was not stored ($leads leads)"
		return 1
	fi
	return 0
}

# ---- what this is measured on ----

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cflags=$(sed -n 's/^CFLAGS = //p' "$builddir/Makefile" 2>/dev/null | head -n 1)
san=$(sed -n 's/^SAN_CFLAGS = //p' "$builddir/Makefile" 2>/dev/null | head -n 1)
echo "machine:  $(nproc) cpus, ${cpu:-unknown cpu}, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "build:    CFLAGS='${cflags:-?}'${san:+ SANITIZERS: $san}"
case "$cflags $san" in
*-fsanitize* | *-O0*) echo "warning: this build is not optimized or has sanitizers; figures mean little" >&2 ;;
esac
echo "server:   $(lighttpd -v 2>&1 | head -n 1 | sed 's/ - .*//'), deploy/lighttpd.conf, max-procs $PROCS (Unix sockets, spawned by lighttpd)"
echo "client:   $(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//'), $THREADS thread(s), $CONN connections, POST /lead, Accept: application/json"
echo "database: $(df -T "$T" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }') (for the durable runs)"
echo

# ---- throughput ----

RUN_CONFIGS=""
for c in $CONFIGS; do
	if preflight "$c"; then
		RUN_CONFIGS="$RUN_CONFIGS $c"
	else
		fail "configuration '$c' cannot run: $WHY"
		eval "WHY_$c=\$WHY"
	fi
done

label() {
	case $1 in
	noop) echo "noop_fcgi" ;; dry) echo "dry run" ;; *) echo "sync=$1" ;;
	esac
}

# run_one ROUND CONFIG
run_one() {
	local round=$1 config=$2 bin=$FCGI ok
	[ "$config" = noop ] && bin=$NOOP
	NAME="r$round-$config"
	start_server "$NAME" "$bin" "$config"
	ok=0
	if [ "$WARMUP" -gt 0 ]; then
		wrk_run "$WARMUP" "$NAME-w$$" "$ST/wrk-warmup.txt"
		wrk_check "$NAME (warm-up)"
		ok=$((W_REQ - W_STATUS))
	fi
	cpu_start "$bin"
	wrk_run "$DURATION" "$NAME-m$$" "$ST/wrk.txt"
	cpu_end
	stop_server
	wrk_check "$NAME"
	ok=$((ok + W_REQ - W_STATUS))
	after_run "$NAME" "$config" "$ok" 2
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$config" \
		"$W_REQ" "$W_DUR" "$W_RPS" "$W_P50" "$W_P90" "$W_P99" "$W_MAX" "$C_SERVER" "$C_RESP" \
		"$C_CLIENT" "$C_KERNEL" "$C_OTHER" "$C_OURS" >> "$RESULTS"
	printf 'round %s  %-10s %8s req/s  p50 %6.2f ms  p99 %8.2f ms  CPU us/req: lighttpd %5s  %-9s %6s  wrk %5s  kernel %5s  busy %3s%%  other load %3s%%%s\n' \
		"$round" "$(label "$config")" "$W_RPS" "$(awk -v x="$W_P50" 'BEGIN { print x / 1000 }')" \
		"$(awk -v x="$W_P99" 'BEGIN { print x / 1000 }')" "$C_SERVER" \
		"$([ "$config" = noop ] && echo noop_fcgi || echo handler)" "$C_RESP" "$C_CLIENT" "$C_KERNEL" "$C_OURS" "$C_OTHER" \
		"$([ "$config" != noop ] && [ "$config" != dry ] && echo "  leads stored $LAST_LEADS")"
	[ "${C_OTHER%.*}" -le "$OTHER_WARN" ] ||
		echo "warning: $NAME: the machine was $C_OTHER% busy with other work; its figures are unreliable"
}

if [ "$DURATION" -gt 0 ]; then
	for ((r = 1; r <= ROUNDS; r++)); do
		run_one "$r" noop
		for c in $RUN_CONFIGS; do
			run_one "$r" "$c"
		done
	done
fi

[ "$DURATION" -gt 0 ] && {
echo
echo "Throughput: medians over the $ROUNDS round(s) of $DURATION s (after $WARMUP s of warm-up) that"
echo "other work left alone (other <= $OTHER_WARN%; all rounds, marked *, when none did).  x noop ="
echo "the handler's req/s as a fraction of the baseline's in the same round.  CPU microseconds"
echo "per request: lighttpd, the FastCGI processes together, wrk, kernel threads (journal"
echo "commits, workqueues); busy = share of the machine's CPU all of them took (near 100%:"
echo "bound by CPU); other = share of the machine busy with other processes."
awk -F '\t' -v configs="noop $CONFIGS" -v run=" $RUN_CONFIGS " -v aim_dry="$AIM_DRY" \
	-v aim_dur="$AIM_DURABLE" -v warn="$OTHER_WARN" \
	-v skipped="$(for c in $CONFIGS; do v=WHY_$c; [ -n "${!v:-}" ] && printf '%s=%s\t' "$c" "${!v}"; done)" '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	if (n == 0) return ""
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# quiet(r, c): the run of c in round r (and, for a handler, the baseline
# of that round) had the machine to itself
function quiet(r, c) {
	return (r, c) in rps && oth[r, c] <= warn + 0 && (c == "noop" || ((r, "noop") in rps && oth[r, "noop"] <= warn + 0))
}
NR == 1 { next }
{
	r = $1; c = $2; rounds[r] = 1
	rps[r, c] = $5; p50[r, c] = $6; p99[r, c] = $8
	cs[r, c] = $10; cr[r, c] = $11; cc[r, c] = $12; ck[r, c] = $13; oth[r, c] = $14; bz[r, c] = $15
}
END {
	ns = split(skipped, sk, "\t")
	for (i = 1; i <= ns; i++) if (sk[i] != "") { k = sk[i]; sub(/=.*/, "", k); why[k] = substr(sk[i], length(k) + 2) }
	printf "%-12s %-15s %8s %7s %8s %7s %8s %4s  %8s %9s %6s %6s %5s %6s\n", "run", "responder", "req/s",
	       "p50 ms", "p99 ms", "x noop", "aim", "met", "lighttpd", "responder", "wrk", "kernel", "busy", "other"
	n = split(configs, cl, " ")
	for (i = 1; i <= n; i++) {
		c = cl[i]
		lab = c == "noop" ? "baseline" : c == "dry" ? "dry run" : "sync=" c
		who = c == "noop" ? "noop_fcgi" : "leadroute.fcgi"
		if (c != "noop" && index(run, " " c " ") == 0) {
			printf "%-12s %-15s %8s  (not run: %s)\n", lab, who, "-", why[c]
			continue
		}
		nq = 0
		for (r in rounds) if (quiet(r, c)) nq++
		mark = nq ? "" : "*"
		L["rps"] = L["p50"] = L["p99"] = L["cs"] = L["cr"] = L["cc"] = L["ck"] = L["oth"] = L["bz"] = L["ratio"] = ""
		for (r in rounds) {
			if (!((r, c) in rps) || (nq && !quiet(r, c))) continue
			L["rps"] = L["rps"] " " rps[r, c]; L["p50"] = L["p50"] " " p50[r, c]; L["p99"] = L["p99"] " " p99[r, c]
			L["cs"] = L["cs"] " " cs[r, c]; L["cr"] = L["cr"] " " cr[r, c]; L["cc"] = L["cc"] " " cc[r, c]
			L["ck"] = L["ck"] " " ck[r, c]; L["oth"] = L["oth"] " " oth[r, c]; L["bz"] = L["bz"] " " bz[r, c]
			if ((r, "noop") in rps && rps[r, "noop"] > 0) L["ratio"] = L["ratio"] " " rps[r, c] / rps[r, "noop"]
		}
		if (L["rps"] == "") continue
		ratio = median(L["ratio"])
		aim = c == "noop" ? "" : c == "dry" ? aim_dry : c == "normal" ? "" : aim_dur
		met = aim == "" || ratio == "" ? "" : ratio >= aim + 0 ? "yes" : "NO"
		printf "%-12s %-15s %8.0f %7.2f %8.2f %7s %8s %4s  %8.1f %9.1f %6.1f %6.1f %4.0f%% %5.0f%%\n", lab mark, who,
		       median(L["rps"]), median(L["p50"]) / 1000, median(L["p99"]) / 1000,
		       c == "noop" ? "1.00" : ratio == "" ? "-" : sprintf("%.2f", ratio), aim == "" ? "" : ">= " aim, met,
		       median(L["cs"]), median(L["cr"]), median(L["cc"]), median(L["ck"]), median(L["bz"]), median(L["oth"])
	}
}' "$RESULTS"
}
echo

# ---- memory ----

# sampler OUT: every SAMPLE seconds, "seconds pid name rss_kb" for every
# handler process and lighttpd
sampler() {
	local out=$1 t0 now p rss
	t0=$(date +%s)
	while :; do
		now=$(($(date +%s) - t0))
		for p in $(pids_of "$FCGI") "$LPID"; do
			rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
			[ -n "$rss" ] || continue
			if [ "$p" = "$LPID" ]; then
				echo "$now $p lighttpd $rss"
			else
				echo "$now $p leadroute.fcgi $rss"
			fi
		done >> "$out"
		sleep "$SAMPLE"
	done
}

mem_run() {   # mem_run CONFIG
	local config=$1 total=0 chunk=0 secs=$CHUNK rate left ok=0
	NAME="memory-$config"
	start_server "$NAME" "$FCGI" "$config"
	sampler "$ST/rss.txt" &
	SAMPLER=$!
	echo "memory run, $(label "$config"): $MEM_REQUESTS requests, RSS every $SAMPLE s"
	while [ "$total" -lt "$MEM_REQUESTS" ]; do
		chunk=$((chunk + 1))
		wrk_run "$secs" "$NAME-$chunk-$$" "$ST/wrk-$chunk.txt"
		wrk_check "$NAME, wrk run $chunk"
		total=$((total + W_REQ))
		ok=$((ok + W_REQ - W_STATUS))
		printf '  wrk run %3d: %6s s %9s requests %9s req/s  p50 %6.2f ms  p99 %7.2f ms  total %s\n' \
			"$chunk" "$secs" "$W_REQ" "$W_RPS" "$(awk -v x="$W_P50" 'BEGIN { print x / 1000 }')" \
			"$(awk -v x="$W_P99" 'BEGIN { print x / 1000 }')" "$total"
		# the last run only as long as the rest needs at this rate
		left=$((MEM_REQUESTS - total))
		rate=${W_RPS%.*}
		[ "${rate:-0}" -gt 0 ] || rate=1
		secs=$(((left + rate - 1) / rate))
		[ "$secs" -lt 1 ] && secs=1
		[ "$secs" -gt "$CHUNK" ] && secs=$CHUNK
	done
	stop_pid "$SAMPLER"
	SAMPLER=""
	stop_server
	after_run "$NAME" "$config" "$ok" "$chunk"
	echo "  resident memory (VmRSS, KiB): first sample, at 10% of the run, last, largest"
	awk -v limit=1024 '
	{ t = $1; pid = $2; if (!(pid in first)) { order[++n] = pid; first[pid] = $4; t0[pid] = t; name[pid] = $3 }
	  last[pid] = $4; t1[pid] = t; if ($4 > max[pid]) max[pid] = $4; v[pid, ++k[pid]] = $4; end = t > end ? t : end }
	END {
		printf "  %-16s %8s %8s %9s %8s %8s %8s %9s\n", "process", "pid", "samples", "first", "at 10%", "last", "largest", "growth"
		grows = 0
		for (i = 1; i <= n; i++) {
			p = order[i]
			s = v[p, int(k[p] / 10) + 1]
			g = last[p] - s
			flag = g > limit ? "  GROWS" : ""
			if (t0[p] > 2 * '"$SAMPLE"' || t1[p] < end) flag = flag "  (not there the whole run: respawned?)"
			if (g > limit) grows++
			printf "  %-16s %8s %8d %9d %8d %8d %8d %+9d%s\n", name[p], p, k[p], first[p], s, last[p], max[p], g, flag
		}
		if (grows) printf "  growth of more than %d KiB after the first 10%% in %d process(es)\n", limit, grows
		else printf "  no process grew by more than %d KiB after the first 10%% of the run\n", limit
	}' "$ST/rss.txt"
	echo
}

if [ "$MEM_REQUESTS" -gt 0 ]; then
	for c in $MEM_CONFIGS; do
		case " $RUN_CONFIGS " in
		*" $c "*) mem_run "$c" ;;
		*) preflight "$c" && mem_run "$c" || fail "memory run '$c' cannot run: $WHY" ;;
		esac
	done
fi

if [ "$FAILS" -gt 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
exit 0
