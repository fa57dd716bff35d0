#!/bin/sh
# run-fuzz.sh - run every libFuzzer target of a fuzzing build for a while.
#
#   tests/fuzz/run-fuzz.sh BUILDDIR SECONDS [TARGET...]
#
# BUILDDIR was configured with CC=clang --enable-fuzzing --enable-sanitizers
# and built (`make`); a TARGET T is a seed corpus tests/fuzz/corpus/T/ with
# its binary BUILDDIR/tests/fuzz/fuzz_T (default: every corpus directory).
# Each target runs for SECONDS divided by the number of targets (-max_total_time),
# with -timeout=10 -rss_limit_mb=2048 and its dictionary, on a COPY of its
# seed corpus in a temporary directory: nothing is ever written into the
# source tree.  Extra libFuzzer options can be given in FUZZ_FLAGS;
# FUZZ_KEEP=1 keeps the temporary directory (the grown corpora) even when
# nothing crashed.
#
# Exit status 0 when no target crashed; otherwise 1, after printing for each
# crash the path of the crashing input (the temporary directory is kept) and
# a hex dump of its first 256 bytes.  2 for bad usage or a missing binary.
set -u

usage() {
	echo "usage: $0 BUILDDIR SECONDS [TARGET...]" >&2
	exit 2
}
[ $# -ge 2 ] || usage
builddir=$1
seconds=$2
shift 2
case $seconds in ''|*[!0-9]*) usage ;; esac

srcdir=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
targets=${*:-$(cd "$srcdir/tests/fuzz/corpus" && ls)}
: "${LEADROUTE_FREEMAIL:=$srcdir/data/freemail.txt}"
export LEADROUTE_FREEMAIL

ntargets=$(echo $targets | wc -w)
per=$((seconds / ntargets))
[ "$per" -ge 1 ] || per=1

for t in $targets; do
	if [ ! -d "$srcdir/tests/fuzz/corpus/$t" ]; then
		echo "$0: unknown target '$t' (no tests/fuzz/corpus/$t)" >&2
		usage
	fi
	if [ ! -x "$builddir/tests/fuzz/fuzz_$t" ]; then
		echo "$0: $builddir/tests/fuzz/fuzz_$t is not built (configure with" \
		     "CC=clang --enable-fuzzing --enable-sanitizers, then make)" >&2
		exit 2
	fi
done

work=$(mktemp -d -t leadroute-fuzz.XXXXXX) || exit 2
failed=0
for t in $targets; do
	bin=$builddir/tests/fuzz/fuzz_$t
	corpus=$work/corpus-$t
	artifacts=$work/artifacts-$t
	log=$work/fuzz-$t.log
	mkdir -p "$corpus" "$artifacts"
	cp -R "$srcdir/tests/fuzz/corpus/$t/." "$corpus/"
	dict=
	[ -r "$srcdir/tests/fuzz/$t.dict" ] && dict=-dict=$srcdir/tests/fuzz/$t.dict
	echo "== fuzz_$t: $per s, corpus copy in $corpus"
	# shellcheck disable=SC2086 # FUZZ_FLAGS and dict are word lists
	"$bin" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" $dict ${FUZZ_FLAGS:-} \
		"$corpus" >"$log" 2>&1
	rc=$?
	grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)' "$log" \
		| sed 's/^/   /'
	found=$(ls "$artifacts" 2>/dev/null | grep -E '^(crash|leak|timeout|oom)-' || true)
	if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
		failed=1
		echo "!! fuzz_$t FAILED (exit status $rc); log: $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed)' "$log" | head -5 | sed 's/^/   /'
		for f in $found; do
			echo "   crashing input: $artifacts/$f ($(wc -c <"$artifacts/$f") bytes)"
			head -c 256 "$artifacts/$f" | od -A x -t x1z -v | sed 's/^/     /'
			echo "   reproduce: $bin $artifacts/$f"
			echo "   minimize:  $bin -minimize_crash=1 -runs=100000" \
			     "-exact_artifact_path=$artifacts/$f.min $artifacts/$f"
		done
		[ -n "$found" ] || tail -n 30 "$log" | sed 's/^/   /'
	fi
done

if [ "$failed" -ne 0 ]; then
	echo "run-fuzz: crashes found; inputs and logs kept in $work"
	exit 1
fi
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
	echo "run-fuzz: corpora and logs kept in $work"
else
	rm -rf "$work"
fi
echo "run-fuzz: no crash in $per s per target"
exit 0
