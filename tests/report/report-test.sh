#!/bin/bash
# report-test.sh - `leadroute report` on a seeded database (seed.sh): the
# figures in the text output, the window (--since), the rules' text from
# LEADROUTE_RULES, the HTML file, an empty database, a missing one, usage
# errors naming the bad value, and that the report never writes to the
# database.  Under LEADROUTE_VALGRIND the command runs in valgrind.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/report/seed.sh"

PASSES=0 FAILS=0
ok() { PASSES=$((PASSES + 1)); printf 'ok   %s\n' "$*"; }
bad() { FAILS=$((FAILS + 1)); printf 'FAIL %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

command -v sqlite3 > /dev/null || { echo "report-test: SKIP: no sqlite3 (tools/install-deps)"; exit 77; }
LR=$top_builddir/src/cmd/leadroute
[ -x "$LR" ] || { echo "report-test: ERROR: $LR is not built"; exit 99; }
run_lr=("$LR")
if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
	run_lr=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
	        "$LR")
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/lr-report.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

# report ARGS...: OUT, ERR and RC of `leadroute report ARGS` on $DB
report() {
	LEADROUTE_DB=$DB LEADROUTE_RULES=${RULES:-} "${run_lr[@]}" report "$@" \
		> "$T/out" 2> "$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}
has() { grep -qE -- "$1" <<< "$OUT"; }

# ---- an empty database ----

DB=$T/empty.db
LEADROUTE_DB=$DB "${run_lr[@]}" leads list > /dev/null
report
check "empty database: exit 0 ($RC)" test "$RC" = 0
check "empty database: says there is nothing in the window" has '^Nothing in the window'
check "empty database: no NaN" test -z "$(grep -i nan <<< "$OUT")"
report --html "$T/empty.html"
check "empty database: an HTML page that says so too" grep -q 'Nothing in the window' "$T/empty.html"

# ---- the seeded database ----

DB=$T/leads.db
report_seed run_lr "$DB" || { bad "seeding the database"; exit 1; }
RULES=$T/r.routes
report_seed_rules "$RULES"
sum_before=$(cksum < "$DB")

report
check "seeded: exit 0 ($RC; $ERR)" test "$RC" = 0
check "the totals of the last 14 days" \
	has '^4 leads: 3 assigned, 1 unassigned, 1 through a fallback, 1 for review$'
# route leads share assigned first-pass unassigned fallback review
check "enterprise_us: 2 leads, 50%, both assigned, 1 of 2 first pass" \
	has '^ +enterprise_us +2 +50\.0% +2 +50\.0% +0 +0 +0$'
check "inbound: 2 leads, 1 assigned, unassigned, fallback and review 1 each" \
	has '^ +inbound +2 +50\.0% +1 +100\.0% +1 +1 +1$'
check "rule 9 with its text from LEADROUTE_RULES" \
	has '^ +9 +2 +0 +0 +0 +when country = US and employees > 200 -> enterprise_us then scheduler$'
check "rule 12: its unassigned, fallback and review lead" \
	has '^ +12 +2 +1 +1 +1 +otherwise -> inbound then confirm$'
check "enterprise_us latency: owner 150/250 ms, CRM 400/800 ms (nearest rank)" \
	has '^ +enterprise_us +2 +150 ms +250 ms +2 +400 ms +800 ms$'
check "inbound latency: owner 50 ms, nothing confirmed" \
	has '^ +inbound +1 +50 ms +50 ms +0 +- +-$'
check "all routes: owner median 150 ms, p90 250 ms" \
	has '^ +all +3 +150 ms +250 ms +2 +400 ms +800 ms$'
check "first-pass correct owner: 2 of 3" \
	has '^First-pass correct owner: 66\.7% \(2 of 3 assigned'
check "the rule that sends leads to review" has '^ +review +1 +25\.0% +most from line 12 \(1\)$'
check "scheduler shown 2, booked 1 on enterprise_us" \
	has '^ +enterprise_us +2 +1 +50\.0%$'
check "validation: 1 of 5 submissions" has '^Validation: 1 of 5 submissions failed \(20\.0%\)$'
check "validation by field" has '^ +email +1 +20\.0%$'
check "CRM failures and dead letters" \
	has '^CRM: 1 write failures \(retried\), 1 dead-lettered in the window; 0 dead letters'
check "no account conflicts" has '^Account index: 0 duplicate domains, 0 ownership conflicts'
check "no NaN anywhere" test -z "$(grep -i nan <<< "$OUT")"

report --since 30d
check "--since 30d takes in the 20-day-old lead" has '^5 leads: 4 assigned'
report --since=3d
check "--since=3d: the same 4 leads" has '^4 leads: 3 assigned'
report --since 36h
check "--since 36h: nothing in the window (the leads are 2 days old)" has '^Nothing in the window'
RULES=$T/missing.routes report
check "an unreadable rules file: rules by line only, still exit 0 ($RC)" test "$RC" = 0
check "... and it says why" has "rules by line only: cannot read '.*missing\.routes'"

report --html "$T/report.html"
check "--html: exit 0 ($RC)" test "$RC" = 0
check "--html: the text still on stdout" has '^4 leads: 3 assigned'
check "--html: a page with lang and a title" \
	grep -q '<html lang="en">' "$T/report.html"
check "--html: one route bar per route" \
	test "$(grep -c '<rect class="bar s0" data-series="0" data-key="\(enterprise_us\|inbound\)" data-value="2"' "$T/report.html")" -ge 2
check "--html: no script" test -z "$(grep -i '<script' "$T/report.html")"
check "--html: nothing fetched from elsewhere" \
	test -z "$(grep -iE '(src|href)=' "$T/report.html")"

check "the report never wrote to the database" test "$(cksum < "$DB")" = "$sum_before"

# ---- errors ----

report --since 3x
check "--since 3x: usage error, exit 2 ($RC)" test "$RC" = 2
check "... naming the value" grep -q "'3x'" <<< "$ERR"
report --since
check "--since without a value: exit 2 ($RC)" test "$RC" = 2
report --since 0d
check "--since 0d: exit 2 ($RC)" test "$RC" = 2
report --bogus
check "an unknown option: exit 2 ($RC), named" test "$RC" = 2 -a -n "$(grep -- '--bogus' <<< "$ERR")"
report --html "$T/no/such/dir/r.html"
check "an HTML file that cannot be written: exit 1 ($RC), named" \
	test "$RC" = 1 -a -n "$(grep 'no/such/dir' <<< "$ERR")"
DB=$T/missing.db report
check "a missing database: exit 1 ($RC), named" \
	test "$RC" = 1 -a -n "$(grep 'missing\.db' <<< "$ERR")"
check "... and not created" test ! -e "$T/missing.db"
OUT=$(env -u LEADROUTE_DB "${run_lr[@]}" report 2>&1)
RC=$?
check "no LEADROUTE_DB: exit 1 ($RC), says so" test "$RC" = 1 -a -n "$(grep LEADROUTE_DB <<< "$OUT")"

echo "report-test: $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
