#!/bin/sh
# replay-test.sh - run each fuzz target once over its committed corpus
# (tests/fuzz/corpus/T/), through the replay binaries built by `make check`,
# under whatever sanitizers the build has.  A crash, a sanitizer report or a
# broken invariant in any input fails the test; the log names the input.
#
# Needs top_srcdir and top_builddir (tests/local.mk exports both).
set -u
: "${top_srcdir:?top_srcdir is not set (run through make check)}"
: "${top_builddir:?top_builddir is not set (run through make check)}"
: "${LEADROUTE_FREEMAIL:=$top_srcdir/data/freemail.txt}"
export LEADROUTE_FREEMAIL

status=0
for t in routes lead csv body; do
	bin=$top_builddir/tests/fuzz/replay_$t
	corpus=$top_srcdir/tests/fuzz/corpus/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL: $t: $bin is not built" >&2
		status=1
		continue
	fi
	if "$bin" "$corpus"; then
		echo "PASS: $t: $(ls "$corpus" | wc -l) inputs"
	else
		rc=$?
		echo "FAIL: $t: replay over $corpus exited with status $rc" >&2
		status=1
	fi
done
exit $status
