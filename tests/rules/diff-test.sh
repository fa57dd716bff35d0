#!/bin/sh
# diff-test.sh - routec --diff on the OLD/NEW pairs in tests/rules/diff/:
# exit status, the changed regions reported, that every printed example
# routes (through routec --route) the way the report says, and that a
# random sample of leads whose route changes all fall in reported regions.
# Uses $ROUTEC and $top_srcdir from the test environment; never writes
# outside its own temporary directory.
set -u
: "${ROUTEC:?ROUTEC is not set}" "${top_srcdir:?top_srcdir is not set}"
cd "$top_srcdir/tests/rules/diff" || exit 99
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 99' HUP INT TERM
fail=0

bad() {
	echo "FAIL: $*" >&2
	fail=1
}

# run_diff OLD NEW [OPTION]: stdout to $tmp/out, stderr to $tmp/err, status in $rc
run_diff() {
	"$ROUTEC" --diff ${3:+"$3"} "$1" "$2" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# expect_rc WANT WHAT
expect_rc() {
	[ "$rc" -eq "$1" ] || { bad "$2: exit $rc, want $1"; cat "$tmp/err" >&2; }
}

# expect_regions N WHAT: N "changed:" lines and nothing unproven
expect_regions() {
	n=$(grep -c '^changed: ' "$tmp/out")
	[ "$n" -eq "$1" ] || { bad "$2: $n changed regions, want $1"; cat "$tmp/out" >&2; }
	if grep -q '^may change: ' "$tmp/out"; then
		bad "$2: a region without an example"
		cat "$tmp/out" >&2
	fi
}

# expect_line TEXT WHAT: a line of the report is exactly TEXT
expect_line() {
	grep -qxF "$1" "$tmp/out" || { bad "$2: no line '$1'"; cat "$tmp/out" >&2; }
}

# field NAME < JSON-LINES: the value of "NAME" on each line ("" when absent)
field() {
	awk -v key="\"$1\"" '{
		i = index($0, key)
		if (!i) { print ""; next }
		rest = substr($0, i + length(key))
		sub(/^[ ]*:[ ]*/, "", rest)
		if (substr(rest, 1, 1) == "\"") {
			rest = substr(rest, 2)
			print substr(rest, 1, index(rest, "\"") - 1)
		} else {
			match(rest, /^[^,} ]*/)
			print substr(rest, 1, RLENGTH)
		}
	}'
}

# check_examples OLD NEW: route each printed example through both files and
# compare the queue and rule line with the report's
check_examples() {
	awk '
	function side(s, out) {
		# "old line 12 -> queue (..." or "old: no rule"
		if (s ~ /^[a-z]+: no rule/) { out = "- none"; return out }
		split(s, w, " ")
		return w[3] " " w[5]
	}
	/^changed: / {
		s = substr($0, 10)
		i = index(s, "  |  ")
		want = side(substr(s, 1, i - 1)) " " side(substr(s, i + 5))
		next
	}
	/^  example: / && want != "" { print want > "'"$tmp/want"'"; print substr($0, 12); want = "" }
	' "$tmp/out" >"$tmp/examples"
	[ -s "$tmp/examples" ] || return 0
	"$ROUTEC" --route "$1" "$tmp/examples" >"$tmp/r-old" 2>>"$tmp/err" || bad "$1: --route failed"
	"$ROUTEC" --route "$2" "$tmp/examples" >"$tmp/r-new" 2>>"$tmp/err" || bad "$2: --route failed"
	field line <"$tmp/r-old" >"$tmp/ol"
	field queue <"$tmp/r-old" >"$tmp/oq"
	field line <"$tmp/r-new" >"$tmp/nl"
	field queue <"$tmp/r-new" >"$tmp/nq"
	paste -d ' ' "$tmp/ol" "$tmp/oq" "$tmp/nl" "$tmp/nq" | sed 's/^ /- /; s/  / - /' >"$tmp/got"
	if ! cmp -s "$tmp/want" "$tmp/got"; then
		bad "$1 -> $2: examples do not route as reported"
		paste -d '|' "$tmp/want" "$tmp/got" "$tmp/examples" >&2
	fi
}

# identical files: nothing changes
run_diff base.routes base.routes
expect_rc 0 "identical"
[ -s "$tmp/out" ] && bad "identical: output: $(cat "$tmp/out")"
run_diff base.routes base.routes --format=json
expect_rc 0 "identical (json)"
[ "$(cat "$tmp/out")" = "[]" ] || bad "identical (json): $(cat "$tmp/out")"

# a threshold raised from 200 to 500: exactly the leads with 200 < employees <= 500
run_diff base.routes threshold.routes
expect_rc 1 "threshold"
expect_regions 1 "threshold"
expect_line 'changed: old line 10 -> enterprise_us (scheduler)  |  new line 12 -> inbound (confirm)' "threshold"
check_examples base.routes threshold.routes
emp=$(grep '^  example: ' "$tmp/out" | field employees)
case $emp in
'' | *[!0-9]*) bad "threshold: example employees '$emp' is not a whole number" ;;
*) [ "$emp" -gt 200 ] && [ "$emp" -le 500 ] || bad "threshold: example employees $emp outside 201..500" ;;
esac
for e in 199 200 201 350 500 501 5000; do
	echo "{\"country\": \"US\", \"employees\": $e, \"email\": \"jo@bigco.example\"}"
done >"$tmp/edge"
"$ROUTEC" --route base.routes "$tmp/edge" | field queue >"$tmp/eo"
"$ROUTEC" --route threshold.routes "$tmp/edge" | field queue >"$tmp/en"
paste -d ' ' "$tmp/eo" "$tmp/en" | tr '\n' ',' >"$tmp/eq"
want="inbound inbound,inbound inbound,enterprise_us inbound,enterprise_us inbound,"
want="${want}enterprise_us inbound,enterprise_us enterprise_us,enterprise_us enterprise_us,"
[ "$(cat "$tmp/eq")" = "$want" ] || bad "threshold: boundary leads route $(cat "$tmp/eq")"

# rules reordered where no lead matches both: nothing changes
run_diff base.routes reorder-same.routes
expect_rc 0 "reorder without effect"
[ -s "$tmp/out" ] && bad "reorder without effect: output: $(cat "$tmp/out")"

# rules reordered so that personal-email support requests go to review
run_diff base.routes reorder-changes.routes
expect_rc 1 "reorder"
expect_regions 1 "reorder"
expect_line 'changed: old line 8 -> drop (page "support")  |  new line 9 -> review (confirm)' "reorder"
check_examples base.routes reorder-changes.routes

# a queue renamed: same members, but the name is what a route is
run_diff base.routes rename.routes
expect_rc 1 "rename"
expect_regions 1 "rename"
expect_line 'changed: old line 12 -> inbound (confirm)  |  new line 12 -> sdr (confirm)' "rename"
check_examples base.routes rename.routes

# an outcome changed: same queue, another page for the buyer
run_diff base.routes outcome.routes
expect_rc 1 "outcome"
expect_regions 1 "outcome"
expect_line 'changed: old line 10 -> enterprise_us (scheduler)  |  new line 11 -> enterprise_us (confirm)' "outcome"
check_examples base.routes outcome.routes

# JSON: the same region
run_diff base.routes outcome.routes --format=json
expect_rc 1 "outcome (json)"
tr -d ' \n' <"$tmp/out" >"$tmp/flat"
grep -qF '"old":{"line":10,"queue":"enterprise_us","outcome":"scheduler"},"new":{"line":11,"queue":"enterprise_us","outcome":"confirm"},"example":{' "$tmp/flat" ||
	bad "outcome (json): $(cat "$tmp/out")"

# fields that disagree: refused, naming the field
run_diff fields-old.routes fields-new.routes
expect_rc 2 "incompatible fields"
[ -s "$tmp/out" ] && bad "incompatible fields: output on stdout"
grep -qF "routec: cannot compare 'fields-old.routes' and 'fields-new.routes': field 'plan' is text in 'fields-old.routes' but number in 'fields-new.routes'" "$tmp/err" ||
	bad "incompatible fields: message: $(cat "$tmp/err")"

# one file declares a field more: comparable, either way round
run_diff fields-old.routes fields-more.routes
expect_rc 1 "added field"
expect_regions 1 "added field"
expect_line 'changed: old line 6 -> inbound (confirm)  |  new line 8 -> inbound (scheduler)' "added field"
check_examples fields-old.routes fields-more.routes
run_diff fields-more.routes fields-old.routes
expect_rc 1 "removed field"
expect_regions 1 "removed field"
check_examples fields-more.routes fields-old.routes

# `fallback account_owner`: only leads whose account has no owner change
run_diff owner-old.routes owner-new.routes
expect_rc 1 "owner fallback"
expect_regions 1 "owner fallback"
expect_line 'changed: old line 7 -> inbound (scheduler; account owner unknown)  |  new line 8 -> review (scheduler; account owner unknown)' "owner fallback"
check_examples owner-old.routes owner-new.routes

# many changes at once: every example routes as reported, and every lead of
# a random sample whose route changes is in a reported (old, new) region
run_diff mixed-old.routes mixed-new.routes
expect_rc 1 "mixed"
grep -q '^may change: ' "$tmp/out" && bad "mixed: a region without an example"
check_examples mixed-old.routes mixed-new.routes
cp "$tmp/out" "$tmp/report"
awk 'BEGIN {
	srand(20240611)
	n = split("- jo@bigco.example kim@gmail.com prof@uni.edu ana@acme.com", email, " ")
	nc = split("- US CA MX BR DE", country, " ")
	ne = split("- 0 150 200 201 350 499 500 501 2000", emp, " ")
	ni = split("- demo contact support pricing partner", intent, " ")
	np = split("- pro free", plan, " ")
	ns = split("- 5 9 10 15 19 20 50", seats, " ")
	nb = split("- 500 10000 10001 50000", budget, " ")
	no = split("- ana@acme.example", owner, " ")
	for (k = 0; k < 3000; k++) {
		s = ""
		s = s str("email", email[1 + int(rand() * n)])
		s = s str("country", country[1 + int(rand() * nc)])
		s = s num("employees", emp[1 + int(rand() * ne)])
		s = s str("intent", intent[1 + int(rand() * ni)])
		s = s str("plan", plan[1 + int(rand() * np)])
		s = s num("seats", seats[1 + int(rand() * ns)])
		s = s num("budget", budget[1 + int(rand() * nb)])
		s = s str("account.owner", owner[1 + int(rand() * no)])
		print "{" substr(s, 3) "}"
	}
}
function str(k, v) { return v == "-" ? "" : ", \"" k "\": \"" v "\"" }
function num(k, v) { return v == "-" ? "" : ", \"" k "\": " v }' >"$tmp/leads"
"$ROUTEC" --route mixed-old.routes "$tmp/leads" >"$tmp/s-old" 2>>"$tmp/err" || bad "mixed: --route old failed"
"$ROUTEC" --route mixed-new.routes "$tmp/leads" >"$tmp/s-new" 2>>"$tmp/err" || bad "mixed: --route new failed"
for f in old new; do
	for k in line queue outcome page; do
		field "$k" <"$tmp/s-$f" >"$tmp/s-$f-$k"
	done
done
paste -d ' ' "$tmp/s-old-line" "$tmp/s-old-queue" "$tmp/s-old-outcome" "$tmp/s-old-page" \
	"$tmp/s-new-line" "$tmp/s-new-queue" "$tmp/s-new-outcome" "$tmp/s-new-page" >"$tmp/sample"
awk -v report="$tmp/report" -v leads="$tmp/leads" '
BEGIN {
	while ((getline l < report) > 0)
		if (l ~ /^changed: /)
			regions[++nr] = l
}
{
	getline lead < leads
	# fields: old line, queue, outcome, page; new line, queue, outcome, page
	# (a page is "" when absent, so split on single spaces by position)
	n = split($0, f, / /)
	if (f[2] == f[6] && f[3] == f[7] && f[4] == f[8])
		next
	changed++
	o = "old line " f[1] " -> " f[2] " ("
	w = "new line " f[5] " -> " f[6] " ("
	found = 0
	for (i = 1; i <= nr && !found; i++)
		found = index(regions[i], o) && index(regions[i], w)
	if (!found) {
		print "lead changes route outside every reported region: " lead " (" o "... | " w "...)"
		missing++
	}
}
END {
	if (changed < 300)
		print "only " changed + 0 " of the sample leads change route: the sample is too weak"
	exit (missing > 0 || changed < 300)
}' "$tmp/sample" >&2 || bad "mixed: random sample"

exit $fail
