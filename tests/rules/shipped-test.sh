#!/bin/sh
# shipped-test.sh - every rules file we ship must be clean and fully tested.
#
# For each rules/NAME.routes:
#   - `routec --check --strict` passes: no error and no warning;
#   - `routec --test` passes: every `expect` case (and, when
#     tests/rules/cases/NAME.jsonl exists, every JSON-lines case in it)
#     routes as expected, and no rule is left that no case reaches.
# Every tests/rules/cases/*.jsonl must belong to a rules file.
#
# Runs from `make check` (tests/local.mk sets ROUTEC, top_srcdir and
# LEADROUTE_FREEMAIL).  With LEADROUTE_VALGRIND set, routec runs under
# valgrind (tools/valgrind-routec).  Writes no files.
set -u

: "${ROUTEC:?ROUTEC is not set (run through make check)}"
: "${top_srcdir:?top_srcdir is not set (run through make check)}"

routec() {
	if [ -n "${LEADROUTE_VALGRIND:-}" ] && [ -f "$top_srcdir/tools/valgrind-routec" ]; then
		sh "$top_srcdir/tools/valgrind-routec" "$@"
	else
		"$ROUTEC" "$@"
	fi
}

failures=0
files=0

fail() {
	printf 'FAIL: %s\n' "$1"
	failures=$((failures + 1))
}

# show TEXT: print captured output, indented, when there is any
show() {
	[ -n "$1" ] && printf '%s\n' "$1" | sed 's/^/    /'
	return 0
}

for rules in "$top_srcdir"/rules/*.routes; do
	[ -f "$rules" ] || continue
	files=$((files + 1))
	name=$(basename "$rules" .routes)
	label="rules/$name.routes"

	out=$(routec --check --strict "$rules" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$label: routec --check --strict exits $rc"
		show "$out"
	elif [ -n "$out" ]; then
		fail "$label: routec --check --strict is not silent"
		show "$out"
	fi

	cases="$top_srcdir/tests/rules/cases/$name.jsonl"
	if [ -f "$cases" ]; then
		out=$(routec --test "$rules" --cases "$cases" 2>&1)
		rc=$?
		label="$label with tests/rules/cases/$name.jsonl"
	else
		out=$(routec --test "$rules" 2>&1)
		rc=$?
	fi
	summary=$(printf '%s\n' "$out" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		fail "$label: routec --test exits $rc"
		show "$out"
	elif printf '%s\n' "$out" | grep -q 'rules no case reaches'; then
		fail "$label: some rules are reached by no case"
		show "$out"
	elif ! printf '%s\n' "$summary" | grep -q '^[1-9][0-9]* passed, 0 failed$'; then
		fail "$label: unexpected summary '$summary'"
		show "$out"
	elif [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then
		fail "$label: routec --test printed more than its summary"
		show "$out"
	else
		printf 'ok: %s: %s\n' "$label" "$summary"
	fi
done

for cases in "$top_srcdir"/tests/rules/cases/*.jsonl; do
	[ -f "$cases" ] || continue
	name=$(basename "$cases" .jsonl)
	[ -f "$top_srcdir/rules/$name.routes" ] ||
		fail "tests/rules/cases/$name.jsonl: no rules/$name.routes to run it against"
done

if [ "$files" -eq 0 ]; then
	echo "FAIL: no rules/*.routes under $top_srcdir"
	exit 1
fi
printf '%d rules files, %d problems\n' "$files" "$failures"
[ "$failures" -eq 0 ]
