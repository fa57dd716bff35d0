#!/bin/bash
# crm-bench.sh - submit -> buyer answered and submit -> CRM confirmed, with
# a slow CRM, for leadroute (answer first, then the outbox writes the CRM)
# and for the seed design that awaits the CRM's lookup and write before
# answering (tests/bench/crm-bench.c, both modes in one process, lead by
# lead).  Builds nothing: it runs the programs of an existing build
# (benchmark an optimized build without sanitizers); `make bench-crm`
# builds them and runs this.
#
# usage: tests/bench/crm-bench.sh [BUILDDIR]   (default: the current directory)
#
# For each CRM (CRM_BENCH_CRMS), in chunks of CRM_BENCH_CHUNK leads per
# mode: it starts the fake CRM (tests/crm/fakecrm.py, HubSpot and
# Salesforce on one loopback port) with the contact property leadroute_id
# accepted, seeds it with every member of the rules and the accounts the
# generated leads use (crm-bench --fake-seed), makes a fresh database and
# fills its account index with `leadroute accounts sync` (as production
# does), then slows every CRM request down by CRM_BENCH_LATENCY_MS (the
# fake's latency fault), runs crm-bench (warm-up included) and stops the
# fake.  Then it prints the report over all the chunks (crm-bench
# --report) and how many requests the fake answered, by route.
#
# Why chunks: the fake rewrites its records.json at most every 0.2 s after
# a write, holding its lock, and that takes about 0.09 ms per record (145 ms
# with 1,600 leads), so a request that arrives meanwhile waits: with one
# fake for 400 leads per mode, Salesforce writes went from 197 ms (mean,
# first 50 leads) to 372 ms (last 50).  A fake that never holds more than
# CRM_BENCH_CHUNK (+ warm-up) leads per mode keeps that below about 20 ms.
#
# environment:
#   CRM_BENCH_CRMS        the CRMs to run (default "hubspot salesforce")
#   CRM_BENCH_LEADS       leads per mode (default 200)
#   CRM_BENCH_CHUNK       leads per mode per fake CRM (default 100; see above)
#   CRM_BENCH_WARMUP      warm-up leads per mode, not counted (default 10)
#   CRM_BENCH_LATENCY_MS  added to every CRM answer (default 150)
#   CRM_BENCH_MODE        both, leadroute or inline (default both)
#   CRM_BENCH_SEED        the leads' PRNG seed (default 20261125; chunk k
#                         uses SEED + k - 1)
#   CRM_BENCH_OUT         keep the databases, logs, per-lead TSV and the
#                         fake's state in this directory (default: a
#                         temporary directory, removed at exit)
#   CRM_BENCH_FAKE_NODELAY  1 (default): the fake with TCP_NODELAY on its
#                         sockets; 0: the fake exactly as the tests run it
#                         (see below)
#   LEADROUTE_RULES       the rules (default rules/example.routes)
#
# The fake (Python's http.server) writes an answer's headers and body in
# two sends without TCP_NODELAY, so on a kept-alive connection the body
# waits for the client's delayed ACK: about 40 ms more per CRM call on top
# of the latency fault (curl shows it too: the second request on one
# connection takes some 44 ms, the first 1 ms).  The connectors keep their
# connections, so every call but a connection's first pays it.  Real CRM
# front ends answer without that stall, and the benchmark is about a CRM
# that answers in CRM_BENCH_LATENCY_MS, so by default the same fake is
# started through a small wrapper (written to the output directory) that
# sets http.server's disable_nagle_algorithm, which removes the stall;
# CRM_BENCH_FAKE_NODELAY=0 runs it as it is.
#
# Needs python3, curl and jq.  Listens on 127.0.0.1 only and stops what it
# started.  About 0.5 s per lead (both modes) and CRM with the defaults (a
# leadroute lead costs one or two CRM calls, an inline one two or three):
# some 4 minutes for both CRMs.
set -u

builddir=$(cd "${1:-.}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)
bench=$builddir/tests/bench/crm-bench
lr=$builddir/src/cmd/leadroute

die() {
	echo "crm-bench.sh: $*" >&2
	exit 2
}

[ -x "$bench" ] || die "$bench is not built; run 'make bench-crm' in the build directory"
[ -x "$lr" ] || die "$lr is not built; run 'make bench-crm' in the build directory"
for c in python3 curl jq; do
	command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (tools/install-deps)"
done

. "$top_srcdir/tests/crm/fakecrm-lib.sh"
fake_note="as the tests run it (CRM_BENCH_FAKE_NODELAY=0)"

crms=${CRM_BENCH_CRMS:-hubspot salesforce}
latency=${CRM_BENCH_LATENCY_MS:-150}
case $latency in '' | *[!0-9]*) die "CRM_BENCH_LATENCY_MS: not a number of ms" ;; esac

if [ -n "${CRM_BENCH_OUT:-}" ]; then
	mkdir -p "$CRM_BENCH_OUT" || die "cannot make $CRM_BENCH_OUT"
	out=$(cd "$CRM_BENCH_OUT" && pwd)
	keep=1
else
	out=$(mktemp -d -t lr-crm-bench.XXXXXX) || die "no temporary directory"
	keep=0
fi
cleanup() {
	fakecrm_stop
	[ "$keep" = 1 ] || rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export LEADROUTE_RULES=${LEADROUTE_RULES:-$top_srcdir/rules/example.routes}
export LEADROUTE_WWW=$top_srcdir/www
export LEADROUTE_FREEMAIL=${LEADROUTE_FREEMAIL:-$top_srcdir/data/freemail.txt}
export LEADROUTE_SPAM_MIN_SECONDS=0 LEADROUTE_RATE_LIMIT=0
unset LEADROUTE_DRY_RUN LEADROUTE_CRM_LOOKUP

# What this was measured on.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cflags=$(sed -n 's/^CFLAGS = //p' "$builddir/Makefile" 2>/dev/null | head -n 1)
san=$(sed -n 's/^SAN_CFLAGS = //p' "$builddir/Makefile" 2>/dev/null | head -n 1)
if [ "${CRM_BENCH_FAKE_NODELAY:-1}" = 1 ]; then
	cat > "$out/fakecrm-nodelay.py" <<EOF
# the fake CRM with TCP_NODELAY on every accepted socket (crm-bench.sh)
import http.server, runpy, sys
http.server.BaseHTTPRequestHandler.disable_nagle_algorithm = True
sys.argv[0] = "$FAKECRM_PY"
runpy.run_path(sys.argv[0], run_name="__main__")
EOF
	FAKECRM_PY=$out/fakecrm-nodelay.py
	fake_note="with TCP_NODELAY on its sockets (CRM_BENCH_FAKE_NODELAY=1)"
fi

echo "machine: $(nproc) cpus, ${cpu:-unknown cpu}, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "build:   CFLAGS='${cflags:-?}'${san:+ SANITIZERS: $san}"
echo "state:   $(df -PT "$out" 2>/dev/null | awk 'NR == 2 { print $2 }') file system; CRM latency ${latency} ms on every request; the fake $fake_note"
case "$cflags $san" in
*-fsanitize*|*-O0*) echo "warning: this build is not optimized or has sanitizers; figures mean little" >&2 ;;
esac
echo

# The fake's seed: the accounts the leads use and their owners, and every
# member of the rules as an owner (a user), each once.
"$bench" --fake-seed > "$out/bench-seed.json" || die "crm-bench --fake-seed failed"
grep -o '"[A-Za-z0-9._%+-]*@[A-Za-z0-9.-]*"' "$LEADROUTE_RULES" | sort -u |
	jq -s --slurpfile b "$out/bench-seed.json" '
		($b[0].owners | map(.email)) as $have
		| $b[0] + {owners: ($b[0].owners + [.[] | select(. as $e | $have | index($e) | not)
			| {email: ., firstName: "Member", lastName: "Of The Rules"}])}' \
	> "$out/seed.json" || die "cannot make the fake's seed"

leads=${CRM_BENCH_LEADS:-200}
chunk=${CRM_BENCH_CHUNK:-100}
seed=${CRM_BENCH_SEED:-20261125}
for v in "$leads" "$chunk" "$seed"; do
	case $v in '' | *[!0-9]* | 0) die "CRM_BENCH_LEADS, _CHUNK and _SEED are positive numbers" ;; esac
done

# run_chunk CRM K N: one chunk: a fresh fake, a fresh database, the sync,
# the latency, N leads per mode; its lines in $out/CRM-K.tsv.
run_chunk() {
	local crm=$1 k=$2 n=$3 dir=$out/$1-$2
	mkdir -p "$dir"
	fakecrm_start "$dir/fake" --hs-contact-property leadroute_id --seed "$out/seed.json" || return 2
	(
		export LEADROUTE_DB=$dir/leads.db LEADROUTE_CRM=$crm LEADROUTE_LOG=$dir/handler.log
		export LEADROUTE_HUBSPOT_URL=$FAKECRM_URL LEADROUTE_HUBSPOT_TOKEN=pat-na1-crm-bench
		export LEADROUTE_SALESFORCE_LOGIN_URL=$FAKECRM_URL
		export LEADROUTE_SALESFORCE_CLIENT_ID=fake-client-id
		export LEADROUTE_SALESFORCE_CLIENT_SECRET=fake-client-secret
		"$lr" accounts sync > "$dir/sync.log" 2>&1 || {
			cat "$dir/sync.log" >&2
			exit 2
		}
		[ "$k" = 1 ] && echo "account index: $(head -n 1 "$dir/sync.log")"
		fakecrm_ctl POST /faults "{\"kind\":\"latency\",\"ms\":$latency,\"count\":1000000000}" >/dev/null ||
			exit 2
		fakecrm_ctl DELETE /requests >/dev/null || exit 2
		set -- --leads "$n" --seed "$((seed + k - 1))" --tsv "$dir/leads.tsv"
		[ -n "${CRM_BENCH_WARMUP:-}" ] && set -- "$@" --warmup "$CRM_BENCH_WARMUP"
		[ -n "${CRM_BENCH_MODE:-}" ] && set -- "$@" --mode "$CRM_BENCH_MODE"
		"$bench" "$@" > "$dir/bench.txt" 2> "$dir/bench.err"
	)
	local rc=$?
	[ "$k" = 1 ] && sed -n '1,2p' "$dir/bench.txt"
	printf 'chunk %d, %d leads per mode:\n' "$k" "$n"
	grep -E '^(leadroute|inline) ' "$dir/bench.txt" | sed 's/^/  /'
	grep -E 'first problem' "$dir/bench.txt" | sed 's/^/  /'
	[ "$rc" = 0 ] || { echo "  crm-bench exited $rc"; cat "$dir/bench.err" >&2; }
	# what the CRM saw in this chunk (warm-up included)
	fakecrm_ctl GET /requests > "$dir/requests.json" 2>/dev/null
	fakecrm_ctl GET /faults > "$dir/faults.json" 2>/dev/null
	fakecrm_stop
	return "$rc"
}

status=0
for crm in $crms; do
	case $crm in hubspot | salesforce) ;; *) die "CRM_BENCH_CRMS: '$crm' is not hubspot or salesforce" ;; esac
	echo "==== $crm ===="
	k=0 done_=0
	rm -rf "$out/$crm"-[0-9]*   # chunks of an earlier run into the same CRM_BENCH_OUT
	: > "$out/$crm.tsv"
	while [ "$done_" -lt "$leads" ]; do
		k=$((k + 1))
		n=$((leads - done_ < chunk ? leads - done_ : chunk))
		run_chunk "$crm" "$k" "$n" || status=1
		cat "$out/$crm-$k/leads.tsv" >> "$out/$crm.tsv" 2>/dev/null
		done_=$((done_ + n))
	done
	echo
	"$bench" --report "$out/$crm.tsv" || status=1
	echo
	echo "the fake CRM answered, by route (all chunks, warm-up included):"
	jq -s -r '[.[].requests[]] | group_by(.route) | map("  \(.[0].route) \(length)") | .[]' \
		"$out/$crm"-*/requests.json
	all=$(jq -s '[.[].requests[]] | length' "$out/$crm"-*/requests.json)
	fired=$(jq -s '[.. | objects | select(.kind? == "latency") | .fired] | add // 0' \
		"$out/$crm"-*/faults.json)
	echo "  all $all, of which the latency fault slowed $fired"
	echo
done
[ "$status" = 0 ] || echo "crm-bench.sh: a run failed or a CRM write did not succeed (see above)" >&2
exit "$status"
