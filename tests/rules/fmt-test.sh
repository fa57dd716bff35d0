#!/bin/sh
# fmt-test.sh - `routec --fmt` gives the canonical layout, is idempotent and
# never changes what a file means.
#
#   1. every tests/rules/fmt/NAME.in.routes formats to NAME.out.routes, byte
#      for byte (and so does the same file with CRLF line ends);
#   2. formatting is idempotent on every golden output and on every shipped
#      rules/*.routes;
#   3. `routec --route` gives the same decisions (queue, owner, outcome,
#      page, tags) on each input file and on its formatted form for a set of
#      leads, and every rule line it reports in the formatted form is a
#      rule.
#
# Runs from `make check` (tests/local.mk sets ROUTEC, top_srcdir and
# LEADROUTE_FREEMAIL).  With LEADROUTE_VALGRIND set, routec runs under
# valgrind (tools/valgrind-routec).  With FMT_UPDATE=1 it rewrites the
# golden .out.routes files instead of comparing (check the diff!).  Must
# never write outside its scratch directory, except the golden files under
# FMT_UPDATE.
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

dir="$top_srcdir/tests/rules/fmt"
tmp=$(mktemp -d fmt-test.XXXXXX) || exit 99
tmp=$(cd "$tmp" && pwd) || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

failures=0
checks=0

fail() {
	printf 'FAIL: %s\n' "$*"
	failures=$((failures + 1))
}

# fmt FILE OUT: format FILE into OUT; fails unless routec exits 0.
fmt() {
	routec --fmt "$1" >"$2" 2>"$tmp/fmt.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "routec --fmt $1 exited $rc"
		sed 's/^/    /' "$tmp/fmt.err"
		return 1
	fi
	return 0
}

# same EXPECTED ACTUAL WHAT: byte-for-byte comparison, with a diff on failure.
same() {
	checks=$((checks + 1))
	if ! cmp -s "$1" "$2"; then
		fail "$3"
		diff -u "$1" "$2" | sed 's/^/    /'
		return 1
	fi
	return 0
}

# idempotent FILE: formatting the formatted FILE changes nothing.
idempotent() {
	fmt "$1" "$tmp/once" || return 1
	fmt "$tmp/once" "$tmp/twice" || return 1
	same "$tmp/once" "$tmp/twice" "formatting $1 twice differs from once (not idempotent)"
}

# Leads for the --route comparison: fields the test files and the shipped
# rules use, and some they do not (ignored by routing).
cat >"$tmp/leads.jsonl" <<'EOF'
{"email": "jo@bigco.example", "country": "US", "employees": 500}
{"email": "kim@gmail.com"}
{"intent": "support", "email": "help@bigco.example"}
{"email": "a@acme.example", "account.owner": "ana@acme.example", "account.lifecycle": "customer"}
{"email": "b@acme.example", "account.owner": "ben@acme.example", "country": "DE"}
{"country": "CA", "employees": 300, "plan": "pro", "seats": 3}
{"country": "FR", "source": "s9", "utm_medium": "m9", "tier": "gold"}
{"message": "say \"hi\"", "company": "Acme", "seats": 2.5}
{"source": "s12", "seats": 4, "plan": "team plan", "country": "MX"}
{"email": "x@y.example", "message": "urgent", "company": "acme inc", "employees": "201-500"}
{"country": "JP", "employees": 6000, "intent": "demo"}
{"email": "sam@company.example", "utm_source": "u2", "plan": "starter", "product": "PLG"}
{"source": "s4", "utm_source": "u4", "tier": "silver", "seats": 1}
{}
EOF

# routes_same ORIGINAL FORMATTED: same decisions on every lead (a lead the
# file cannot take gives the same {"error": ...} line and exit status 1).
routes_same() {
	checks=$((checks + 1))
	routec --route "$1" "$tmp/leads.jsonl" >"$tmp/route1" 2>"$tmp/route.err"
	rc1=$?
	routec --route "$2" "$tmp/leads.jsonl" >"$tmp/route2" 2>>"$tmp/route.err"
	rc2=$?
	if [ "$rc1" -gt 1 ] || [ "$rc1" -ne "$rc2" ]; then
		fail "routec --route exited $rc1 on $1 and $rc2 on its formatted form"
		sed 's/^/    /' "$tmp/route.err"
		return 1
	fi
	# rule lines differ between the two layouts; every other field must not
	sed 's/"rule":{"line":[0-9]*}/"rule":{}/' "$tmp/route1" >"$tmp/route1.cmp"
	sed 's/"rule":{"line":[0-9]*}/"rule":{}/' "$tmp/route2" >"$tmp/route2.cmp"
	if [ "$(wc -l <"$tmp/route1.cmp")" -ne "$(wc -l <"$tmp/leads.jsonl")" ]; then
		fail "routec --route $1 did not give one decision per lead"
		return 1
	fi
	same "$tmp/route1.cmp" "$tmp/route2.cmp" "routec --route decides differently on $1 once formatted" ||
		return 1
	for line in $(sed -n 's/.*"rule":{"line":\([0-9]*\)}.*/\1/p' "$tmp/route2"); do
		case $(sed -n "${line}p" "$2") in
		"when "* | otherwise*) ;;
		*) fail "formatted $1: --route reports rule line $line, which is not a rule" ;;
		esac
	done
}

# 1-3 on the golden pairs.
n=0
for src in "$dir"/*.in.routes; do
	[ -f "$src" ] || continue
	n=$((n + 1))
	name=${src##*/}
	name=${name%.in.routes}
	out="$dir/$name.out.routes"
	fmt "$src" "$tmp/actual" || continue
	if [ "${FMT_UPDATE:-}" = 1 ]; then
		cmp -s "$tmp/actual" "$out" 2>/dev/null || { cp "$tmp/actual" "$out" && echo "updated $out"; }
	elif [ ! -f "$out" ]; then
		fail "$name.in.routes has no golden $name.out.routes"
		continue
	else
		same "$out" "$tmp/actual" "routec --fmt $name.in.routes differs from $name.out.routes"
	fi
	# the same file with CRLF line ends formats the same
	awk '{ printf "%s\r\n", $0 }' "$src" >"$tmp/crlf.routes"
	fmt "$tmp/crlf.routes" "$tmp/crlf.out" &&
		same "$tmp/actual" "$tmp/crlf.out" "$name.in.routes with CRLF line ends formats differently"
	idempotent "$out"
	routes_same "$src" "$tmp/actual"
done
[ "$n" -ge 6 ] || fail "expected at least 6 golden pairs in tests/rules/fmt, found $n"
for out in "$dir"/*.out.routes; do
	[ -f "$out" ] || continue
	[ -f "${out%.out.routes}.in.routes" ] || fail "${out##*/} has no .in.routes input"
done

# 2-3 on the shipped rules.
for f in "$top_srcdir"/rules/*.routes; do
	[ -f "$f" ] || continue
	idempotent "$f" || continue
	routes_same "$f" "$tmp/once"
done

if [ "$failures" -ne 0 ]; then
	printf '%d of %d fmt checks failed\n' "$failures" "$checks"
	exit 1
fi
printf 'fmt: %d checks passed (%d golden pairs)\n' "$checks" "$n"
exit 0
