#!/bin/sh
# golden-test.sh - the golden diagnostics of `routec --check`.
#
# Part 1, golden files.  For every tests/rules/golden/NAME.routes the test
# runs, from the golden directory and with the relative file name (so the
# output holds no path of the machine):
#
#     routec --check NAME.routes
#
# and compares with tests/rules/golden/NAME.err, which holds
#     line 1      "exit N": the expected exit status
#     the rest    exactly what routec prints on stderr (stdout must be empty)
# A mismatch prints a unified diff (expected, then actual).
# NAME is the diagnostic code the file is about, NAME-2, NAME-3 ... for
# its variants; design-card and recovery are whole-file scenarios.
#
# Part 2, properties that a golden file cannot hold: --format=json and
# --format=sarif against the text output, --strict, exit 2 for I/O and usage
# errors, a 10 MiB generated file, nesting past the limit, random bytes.
#
# Environment (set by tests/local.mk): ROUTEC, top_srcdir, top_builddir,
# LEADROUTE_FREEMAIL.  With LEADROUTE_VALGRIND=1 routec runs under
# tools/valgrind-routec, except for the 10 MiB file (the sanitizer build
# covers that one; under valgrind it would take many minutes).
#
# To accept new output after changing a message on purpose:
#     GOLDEN_UPDATE=1 make check TESTS=tests/rules/golden-test.sh
# rewrites every .err file from the current output.  Review each change by
# hand before committing it: line:column, the caret span, the code, the
# wording and any suggestion.
#
# Exit status: 0 all passed, 1 a check failed, 99 the environment is broken.
set -u

LC_ALL=C
export LC_ALL
unset LANGUAGE || :

: "${ROUTEC:?ROUTEC is not set (run through make check)}"
: "${top_srcdir:?top_srcdir is not set (run through make check)}"

raw_routec=$ROUTEC
if [ "${LEADROUTE_VALGRIND:-0}" = 1 ]; then
	ROUTEC=$top_srcdir/tools/valgrind-routec
fi
golden=$top_srcdir/tests/rules/golden

if ! command -v jq >/dev/null 2>&1; then
	echo "golden-test: jq not found; run tools/install-deps" >&2
	exit 99
fi

# Scratch space in the build directory, removed on exit.
tmp=$(mktemp -d golden-test.XXXXXX) || exit 99
tmp=$(cd "$tmp" && pwd) || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

passed=0
failed=0

pass() {
	passed=$((passed + 1))
}

fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*"
}

# sanitizer_free FILE: no sanitizer, valgrind or crash report in FILE
sanitizer_free() {
	! grep -q -e 'Sanitizer' -e 'runtime error:' -e '^==[0-9]*==' "$1"
}

# ---- Part 1: golden files -------------------------------------------------

golden_one() {
	name=$1
	exp=$golden/$name.err
	(cd "$golden" && "$ROUTEC" --check "$name.routes") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	{ printf 'exit %d\n' "$rc"; cat "$tmp/err"; } >"$tmp/actual"
	if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
		if ! cmp -s "$tmp/actual" "$exp" 2>/dev/null; then
			cp "$tmp/actual" "$exp"
			printf 'updated: %s.err (review it by hand)\n' "$name"
		fi
	fi
	if [ ! -f "$exp" ]; then
		fail "$name: no $name.err (create it with GOLDEN_UPDATE=1, then review it)"
		return
	fi
	if [ -s "$tmp/out" ]; then
		fail "$name: routec --check wrote to stdout:"
		cat "$tmp/out"
		return
	fi
	if cmp -s "$exp" "$tmp/actual"; then
		pass
	else
		fail "$name: output differs from $name.err (--- expected, +++ actual)"
		diff -u "$exp" "$tmp/actual" | sed '1,2d'
	fi
}

n_golden=0
for f in "$golden"/*.routes; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .routes)
	golden_one "$name"
	n_golden=$((n_golden + 1))
done
if [ "$n_golden" -lt 50 ]; then
	fail "only $n_golden golden files found in tests/rules/golden"
fi

# Every .err belongs to a .routes.
for f in "$golden"/*.err; do
	[ -f "$f" ] || continue
	if [ ! -f "${f%.err}.routes" ]; then
		fail "$(basename "$f"): no matching .routes file"
	fi
done

# Every code below has at least one golden file.  Codes with no golden file
# yet, because their current location or message is wrong: duplicate-value,
# bad-tag, tree-too-large, too-deep (covered in part 2 without its text).
codes="syntax unexpected-character unterminated-string bad-escape bad-number
	invalid-utf8 invalid-byte name-too-long string-too-long unknown-type
	unknown-distribution unknown-outcome bad-predicate unknown-field
	unknown-queue unknown-fallback type-mismatch unknown-country unknown-value
	bad-value bad-regex bad-timezone bad-member bad-url bad-page bad-name
	duplicate-queue duplicate-field duplicate-member duplicate-option
	duplicate-key fallback-cycle rule-after-otherwise unused-queue
	no-scheduler bad-outcome unreachable-rule unsatisfiable no-match
	owner-not-guaranteed expect-failed bad-hours bad-weight bad-cap
	ignored-option"
for code in $codes; do
	if grep -q -F "[$code]" "$golden"/*.err 2>/dev/null; then
		pass
	else
		fail "no golden file shows [$code]"
	fi
done

# ---- Part 2: properties ---------------------------------------------------

# check_rc WHAT WANT GOT
check_rc() {
	if [ "$3" = "$2" ]; then
		pass
	else
		fail "$1: exit status $3, expected $2"
		cat "$tmp/err"
	fi
}

# --- the three output formats carry the same diagnostics
# "LINE:COL severity code" of each diagnostic (not notes), in order
fmt_file=recovery.routes
(cd "$golden" && "$ROUTEC" --check "$fmt_file") >"$tmp/out" 2>"$tmp/err"
check_rc "text $fmt_file" 1 $?
sed -n 's/^[^:]*:\([0-9]*\):\([0-9]*\): \([a-z]*\): .* \[\([a-z0-9-]*\)\]$/\1:\2 \3 \4/p' \
	"$tmp/err" >"$tmp/text.sum"
for format in json sarif; do
	(cd "$golden" && "$ROUTEC" --check --format=$format "$fmt_file") \
		>"$tmp/$format" 2>"$tmp/err"
	check_rc "--format=$format $fmt_file" 1 $?
	if [ -s "$tmp/err" ]; then
		fail "--format=$format wrote to stderr:"
		cat "$tmp/err"
	else
		pass
	fi
	if jq -e . "$tmp/$format" >/dev/null 2>&1; then
		pass
	else
		fail "--format=$format output is not JSON:"
		cat "$tmp/$format"
		continue
	fi
done
jq -r '.[] | "\(.line):\(.column) \(.severity) \(.code)"' "$tmp/json" \
	>"$tmp/json.sum" 2>/dev/null
jq -r '.runs[0].results[] | "\(.locations[0].physicalLocation.region.startLine):\(.locations[0].physicalLocation.region.startColumn) \(.level) \(.ruleId)"' \
	"$tmp/sarif" >"$tmp/sarif.sum" 2>/dev/null
if [ "$(wc -l <"$tmp/text.sum")" -ne 3 ]; then
	fail "$fmt_file: expected 3 diagnostics in the text output"
	cat "$tmp/text.sum"
fi
for format in json sarif; do
	if cmp -s "$tmp/text.sum" "$tmp/$format.sum"; then
		pass
	else
		fail "--format=$format disagrees with the text output (--- text, +++ $format)"
		diff -u "$tmp/text.sum" "$tmp/$format.sum" | sed '1,2d'
	fi
done
# the same messages and file names, too
jq -r '.[] | "\(.file): \(.message)"' "$tmp/json" >"$tmp/json.msg" 2>/dev/null
jq -r '.runs[0].results[] | "\(.locations[0].physicalLocation.artifactLocation.uri): \(.message.text)"' \
	"$tmp/sarif" >"$tmp/sarif.msg" 2>/dev/null
if cmp -s "$tmp/json.msg" "$tmp/sarif.msg" &&
   grep -q "^$fmt_file: unknown field 'employes'; did you mean 'employees'?\$" "$tmp/json.msg"; then
	pass
else
	fail "json and sarif messages differ (--- json, +++ sarif)"
	diff -u "$tmp/json.msg" "$tmp/sarif.msg" | sed '1,2d'
fi
# SARIF declares code-point columns; text and JSON count bytes
printf 'queue inbound = "sdr@acme.example"\nwhen company = "Caf\303\251" and employes > 5 -> inbound\notherwise -> inbound\n' \
	>"$tmp/utf8.routes"
(cd "$tmp" && "$ROUTEC" --check --format=json utf8.routes) >"$tmp/json" 2>"$tmp/err"
(cd "$tmp" && "$ROUTEC" --check --format=sarif utf8.routes) >"$tmp/sarif" 2>"$tmp/err"
got="$(jq -r '.[0] | "\(.line):\(.column)-\(.end_column)"' "$tmp/json" 2>/dev/null) \
$(jq -r '.runs[0] | "\(.columnKind) \(.results[0].locations[0].physicalLocation.region | "\(.startLine):\(.startColumn)-\(.endColumn)")"' "$tmp/sarif" 2>/dev/null)"
if [ "$got" = "2:28-36 unicodeCodePoints 2:27-35" ]; then
	pass
else
	fail "columns after a non-ASCII character: got '$got', expected '2:28-36 unicodeCodePoints 2:27-35'"
fi

# --- --strict turns a warning into exit 1
(cd "$golden" && "$ROUTEC" --check unused-queue.routes) >"$tmp/out" 2>"$tmp/err"
check_rc "unused-queue.routes without --strict" 0 $?
(cd "$golden" && "$ROUTEC" --check --strict unused-queue.routes) >"$tmp/out" 2>"$tmp/err"
check_rc "unused-queue.routes with --strict" 1 $?
if grep -q 'warning: .*\[unused-queue\]$' "$tmp/err"; then
	pass
else
	fail "--strict: the warning is not shown"
	cat "$tmp/err"
fi

# --- exit 2: a missing file, and bad usage
(cd "$tmp" && "$ROUTEC" --check no-such-file.routes) >"$tmp/out" 2>"$tmp/err"
check_rc "missing file" 2 $?
printf '%s\n' "routec: error: cannot read 'no-such-file.routes': No such file or directory [io]" \
	>"$tmp/exp"
if cmp -s "$tmp/exp" "$tmp/err"; then
	pass
else
	fail "missing file: unexpected message (--- expected, +++ actual)"
	diff -u "$tmp/exp" "$tmp/err" | sed '1,2d'
fi
(cd "$golden" && "$ROUTEC" --check unused-queue.routes no-such-file.routes) \
	>"$tmp/out" 2>"$tmp/err"
check_rc "a good file and a missing one" 2 $?

# usage_case WHAT ARGS...: exit 2 and something on stderr
usage_case() {
	what=$1
	shift
	(cd "$golden" && "$ROUTEC" "$@") >"$tmp/out" 2>"$tmp/err"
	check_rc "usage: $what" 2 $?
	if [ -s "$tmp/err" ] && sanitizer_free "$tmp/err"; then
		pass
	else
		fail "usage: $what: no message on stderr, or a crash"
		cat "$tmp/err"
	fi
}
usage_case "no arguments"
usage_case "--check without a file" --check
usage_case "unknown option" --check --no-such-option unused-queue.routes
usage_case "two modes" --check --test unused-queue.routes
usage_case "bad --format" --check --format=xml unused-queue.routes
usage_case "bad --max-errors" --check --max-errors=many unused-queue.routes
usage_case "a directory" --check .

# --- a 10 MiB generated valid file compiles
# A territory table: 50 queues, 470 rules on lists of 1000 domains each.
awk 'BEGIN {
	print "# generated by golden-test.sh: a large territory table"
	for (q = 0; q < 50; q++)
		printf "queue rep_%d = round_robin(\"rep%d@acme.example\", \"alt%d@acme.example\" weight 2)\n", q, q, q
	print "queue inbound = \"sdr@acme.example\""
	for (i = 0; i < 470; i++) {
		printf "\n# territory %d\nwhen domain in (", i
		for (j = 0; j < 1000; j++)
			printf "%s\"d%d-%d.example\"", (j ? ",\n        " : ""), i, j
		printf ")\n    -> rep_%d then confirm tag \"territory\"\n", i % 50
	}
	print "otherwise -> inbound"
}' >"$tmp/big.routes"
size=$(wc -c <"$tmp/big.routes")
if [ "$size" -ge 10485760 ]; then
	pass
else
	fail "generated file is only $size bytes"
fi
limit=
command -v timeout >/dev/null 2>&1 && limit="timeout 1200"
start=$(date +%s)
(cd "$tmp" && $limit "$raw_routec" --check big.routes) >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "golden-test: 10 MiB file checked in $(($(date +%s) - start)) s (exit $rc)"
check_rc "10 MiB file" 0 $rc
if [ -s "$tmp/err" ]; then
	fail "10 MiB file: unexpected output:"
	head -n 20 "$tmp/err"
else
	pass
fi
rm -f "$tmp/big.routes"

# --- nesting past the limit: too-deep, never a crash
# The limit is AST_MAX_DEPTH (doc/language.md, "Limits").
max_depth=$(sed -n 's/^#define AST_MAX_DEPTH[	 ]*\([0-9]*\).*/\1/p' \
	"$top_srcdir/src/rules/ast.h" 2>/dev/null)
case $max_depth in
'' | *[!0-9]*)
	echo "golden-test: cannot read AST_MAX_DEPTH from src/rules/ast.h" >&2
	exit 99 ;;
esac
# deep_case WHAT WANT: $tmp/deep.routes exits WANT (1 with [too-deep], or 0)
deep_case() {
	(cd "$tmp" && "$ROUTEC" --check deep.routes) >"$tmp/out" 2>"$tmp/err"
	check_rc "$1" "$2" $?
	if [ "$2" = 0 ]; then
		return
	fi
	if grep -q 'error: .*\[too-deep\]$' "$tmp/err" && sanitizer_free "$tmp/err"; then
		pass
	else
		fail "$1: no too-deep error, or a crash"
		head -c 2000 "$tmp/err"
	fi
}
# n_not N: a rule under N 'not'
n_not() {
	awk -v n="$1" 'BEGIN {
		print "queue inbound = \"sdr@acme.example\""
		printf "when "
		for (i = 0; i < n; i++) printf "not "
		print "country = US -> inbound"
		print "otherwise -> inbound"
	}' >"$tmp/deep.routes"
}
n_not $((max_depth - 1))
deep_case "$((max_depth - 1)) nested 'not' (under the limit $max_depth)" 0
n_not $((max_depth + 1))
deep_case "$((max_depth + 1)) nested 'not' (over the limit $max_depth)" 1
# (a and (b or (...))), past the limit
awk -v n=$((max_depth + 10)) 'BEGIN {
	print "queue inbound = \"sdr@acme.example\""
	printf "when "
	for (i = 0; i < n; i++) printf "(employees > %d %s ", i, (i % 2 ? "or" : "and")
	printf "country = US"
	for (i = 0; i < n; i++) printf ")"
	print " -> inbound"
	print "otherwise -> inbound"
}' >"$tmp/deep.routes"
deep_case "$((max_depth + 10)) nested and/or" 1
# 20000 parentheses: deeper than the parser's stack
awk 'BEGIN {
	print "queue inbound = \"sdr@acme.example\""
	printf "when "
	for (i = 0; i < 20000; i++) printf "("
	printf "country = US"
	for (i = 0; i < 20000; i++) printf ")"
	print " -> inbound"
	print "otherwise -> inbound"
}' >"$tmp/deep.routes"
deep_case "20000 parentheses" 1

# --- random input: errors, never a crash
# random_case WHAT: $tmp/random.routes gets exit 1 and at least one error
random_case() {
	(cd "$tmp" && "$ROUTEC" --check random.routes) >"$tmp/out" 2>"$tmp/err"
	check_rc "$1" 1 $?
	if grep -q '^random.routes:[0-9]*:[0-9]*: error: .* \[[a-z0-9-]*\]$' "$tmp/err" &&
	   sanitizer_free "$tmp/err"; then
		pass
	else
		fail "$1: no error reported, or a crash (the generator above makes the same input again)"
		head -c 2000 "$tmp/err"
	fi
}
for seed in 1 2 3 4 5; do
	# any byte
	awk -v seed=$seed 'BEGIN { srand(seed)
		for (i = 0; i < 4096; i++) printf "%c", int(rand() * 256) }' >"$tmp/random.routes"
	random_case "random bytes, seed $seed"
	# printable ASCII and newlines: reaches the scanner and parser
	awk -v seed=$seed 'BEGIN { srand(seed)
		for (i = 0; i < 8192; i++) {
			c = int(rand() * 97)
			if (c == 96) printf "\n"; else printf "%c", 32 + c
		} }' >"$tmp/random.routes"
	random_case "random ASCII, seed $seed"
	# random tokens of the language: reaches the checker
	awk -v seed=$seed 'BEGIN { srand(seed)
		n = split("when|otherwise|queue|field|expect|->|=|!=|<|<=|>|>=|(|)|{|}|,|:|;|and|or|not|in|is|present|missing|ends|with|contains|matches|owned|personal|then|tag|drop|scheduler|confirm|page|fallback|hours|cap|per|weight|round_robin|manual|owner|country|employees|domain|email|intent|US|CA|200|\"x@y.example\"|\"a\"|08:00-18:00|mon-fri|day|inbound|account_owner|\n|\n|\n", t, "|")
		for (i = 0; i < 3000; i++) printf "%s ", t[1 + int(rand() * n)]
		printf "\n" }' >"$tmp/random.routes"
	random_case "random tokens, seed $seed"
done

echo "golden-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
