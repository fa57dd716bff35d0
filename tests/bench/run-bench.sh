#!/bin/sh
# run-bench.sh - the rules benchmark: the compiled tree against the
# sequential evaluator (oracle_eval) and json-rules-engine, on the same
# generated rules and leads.  Builds nothing: it runs the bench_rules of an
# existing build (benchmark an optimized build without sanitizers).
#
# usage: tests/bench/run-bench.sh [BUILDDIR]      (default: the current directory)
#
# environment:
#   BENCH_SIZES          rule counts (default 10,100,1000,10000)
#   BENCH_LEADS          generated leads per size (default 4096)
#   BENCH_SEED           PRNG seed (default: bench_rules' own)
#   BENCH_JRE_BUDGET_MS  json-rules-engine time per size (default 4000)
#   BENCH_SKIP_JRE=1     run the C side only
#   BENCH_OUT            keep the generated files in this directory
#                        (default: a temporary directory, removed at exit)
#   LEADROUTE_FREEMAIL   free-mail list (default: data/freemail.txt here)
#
# json-rules-engine comes from tests/bench/node_modules: run `npm ci` in
# tests/bench once (package-lock.json pins it), or point NODE_PATH at a
# node_modules that has it.
set -eu

builddir=${1:-.}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
bench=$builddir/tests/bench/bench_rules

die() {
	echo "run-bench.sh: $*" >&2
	exit 2
}

[ -x "$bench" ] || die "$bench is not built; run 'make bench' (or 'make tests/bench/bench_rules') in the build directory"
if [ -z "${LEADROUTE_FREEMAIL:-}" ]; then
	LEADROUTE_FREEMAIL=$srcdir/data/freemail.txt
	export LEADROUTE_FREEMAIL
fi

skip_jre=${BENCH_SKIP_JRE:-0}
if [ "$skip_jre" != 1 ]; then
	command -v node >/dev/null 2>&1 || die "node not found (BENCH_SKIP_JRE=1 runs the C side only)"
	if ! (cd "$here" && node -e "require('json-rules-engine')") >/dev/null 2>&1; then
		die "json-rules-engine is not installed: run 'npm ci' in $here (BENCH_SKIP_JRE=1 runs the C side only)"
	fi
fi

if [ -n "${BENCH_OUT:-}" ]; then
	mkdir -p "$BENCH_OUT"
	out=$(cd "$BENCH_OUT" && pwd)   # node runs from tests/bench
else
	out=$(mktemp -d -t lr-bench.XXXXXX)
	trap 'rm -rf "$out"' EXIT
	trap 'exit 130' INT TERM
fi

# What this was measured on.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cflags=$(sed -n 's/^CFLAGS = //p' "$builddir/Makefile" 2>/dev/null | head -n 1)
san=$(sed -n 's/^SAN_CFLAGS = //p' "$builddir/Makefile" 2>/dev/null | head -n 1)
echo "machine: $(nproc) cpus, ${cpu:-unknown cpu}, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "build:   CFLAGS='${cflags:-?}'${san:+ SANITIZERS: $san}"
case "$cflags $san" in
*-fsanitize*|*-O0*) echo "warning: this build is not optimized or has sanitizers; figures mean little" >&2 ;;
esac
echo

set -- --export "$out"
[ -n "${BENCH_SIZES:-}" ] && set -- "$@" --sizes "$BENCH_SIZES"
[ -n "${BENCH_LEADS:-}" ] && set -- "$@" --leads "$BENCH_LEADS"
[ -n "${BENCH_SEED:-}" ] && set -- "$@" --seed "$BENCH_SEED"
"$bench" "$@"
echo

if [ "$skip_jre" != 1 ]; then
	(cd "$here" && node jre_bench.js "$out" --budget-ms "${BENCH_JRE_BUDGET_MS:-4000}")
	echo
else
	printf 'rules\tleads_run\tjre_ns\tjre_cpu_ns\n' >"$out/jre-results.tsv"
fi

# Side by side, as ratios against the tree (the baselines ran alongside,
# on the same rules and leads): once by the wall clock, once by CPU time
# (which leaves out the time other processes had on a shared machine).
awk -F '\t' '
FNR == 1 { for (i = 1; i <= NF; i++) col[FILENAME, $i] = i; next }
FILENAME ~ /jre-results/ { jre[$1] = $col[FILENAME, "jre_ns"]; jrec[$1] = $col[FILENAME, "jre_cpu_ns"]; next }
{
	f = FILENAME; r = $1; n[++k] = r; st[r] = $col[f, "status"]
	load[r] = $col[f, "load_ms"]; loadc[r] = $col[f, "load_cpu_ms"]; slots[r] = $col[f, "slots"]
	tree[r] = $col[f, "tree_ns"]; treec[r] = $col[f, "tree_cpu_ns"]
	orc[r] = $col[f, "oracle_ns"]; orcc[r] = $col[f, "oracle_cpu_ns"]
}
function fmt(x) { return (x == "" || x == 0) ? "-" : sprintf("%.0f", x) }
function ratio(a, b) { return (a == "" || b == "" || a == 0 || b == 0) ? "-" : sprintf("%.1fx", a / b) }
function table(title, t, o, j, l) {
	print title
	printf "%7s %10s %12s %14s %12s %12s %10s %10s\n", "rules", "tree ns", "oracle ns",
	       "jre ns", "oracle/tree", "jre/tree", "load ms", "slots"
	for (i = 1; i <= k; i++) {
		r = n[i]
		if (st[r] != "ok") {
			printf "%7s %10s %12s %14s %12s %12s %10s %10s  (tree: %s; jre/oracle %s)\n", r, "-",
			       fmt(o[r]), fmt(j[r]), "-", "-", "-", "-", st[r], ratio(j[r], o[r])
			continue
		}
		printf "%7s %10.1f %12s %14s %12s %12s %10.1f %10s\n", r, t[r], fmt(o[r]), fmt(j[r]),
		       ratio(o[r], t[r]), ratio(j[r], t[r]), l[r], slots[r]
	}
}
END {
	table("summary by the wall clock: ns per lead, each baseline as a multiple of the tree",
	      tree, orc, jre, load)
	print ""
	table("summary by CPU time (the same runs)", treec, orcc, jrec, loadc)
}' "$out/c-results.tsv" "$out/jre-results.tsv" </dev/null
if [ -n "${BENCH_OUT:-}" ]; then
	echo
	echo "generated rules, leads and results kept in $out"
fi
