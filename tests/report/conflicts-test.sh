#!/bin/bash
# conflicts-test.sh - what `leadroute accounts import` and `leadroute
# accounts sync` record in account_conflicts, and what `leadroute report`
# shows of it: a domain given by a second account in one file (the index
# keeps the first line), a domain stored under another account before (the
# index keeps the new one), the same account again (nothing), a file refused
# for two owners of one domain (nothing recorded); a sync from the fake CRM
# (tests/crm/fakecrm.py, HubSpot) whose two companies share a registrable
# domain (the index keeps the one seen first, each sync records the other).  Under LEADROUTE_VALGRIND the command runs in valgrind.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export LEADROUTE_FREEMAIL=$top_srcdir/data/freemail.txt

PASSES=0 FAILS=0
ok() { PASSES=$((PASSES + 1)); printf 'ok   %s\n' "$*"; }
bad() { FAILS=$((FAILS + 1)); printf 'FAIL %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

for c in sqlite3 python3 curl; do
	command -v "$c" > /dev/null || { echo "conflicts-test: SKIP: no $c (tools/install-deps)"; exit 77; }
done
LR=$top_builddir/src/cmd/leadroute
[ -x "$LR" ] || { echo "conflicts-test: ERROR: $LR is not built"; exit 99; }
run_lr=("$LR")
if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
	run_lr=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
	        "$LR")
fi

. "$top_srcdir/tests/crm/fakecrm-lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/lr-conflicts.XXXXXX") || exit 99
trap 'fakecrm_stop; rm -rf "$T"' EXIT

export LEADROUTE_DB=$T/leads.db
lr() { OUT=$("${run_lr[@]}" "$@" 2>&1); RC=$?; }
rows() { sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM account_conflicts"; }
row_of() {   # row_of DOMAIN: lost|lost owner|kept|kept owner, newest
	sqlite3 "$LEADROUTE_DB" "SELECT ifnull(account_id, '') || '|' || ifnull(owner, '') || '|' ||
		ifnull(kept_account_id, '') || '|' || ifnull(kept_owner, '') FROM account_conflicts
		WHERE domain = '$1' ORDER BY rowid DESC LIMIT 1"
}

# ---- import ----

printf 'domain,account_id,owner\nacme.com,A1,ann@x.example\nwww.acme.com,A2,ann@x.example\n%s\n%s\n' \
	'beta.io,B1,bob@x.example' 'beta.io,B1,bob@x.example' > "$T/a1.csv"
lr accounts import "$T/a1.csv"
check "import: exit 0 ($RC: $OUT)" test "$RC" = 0
check "import: says one domain was claimed twice" grep -q '^1 domain was claimed by another account' <<< "$OUT"
check "import: one conflict recorded ($(rows))" test "$(rows)" = 1
check "the second line of acme.com lost to the first ($(row_of acme.com))" \
	test "$(row_of acme.com)" = 'A2|ann@x.example|A1|ann@x.example'
check "the index keeps A1 for acme.com" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT account_id FROM accounts WHERE domain = 'acme.com'")" = A1

printf 'domain,account_id,owner\nbeta.io,B2,carl@x.example\n' > "$T/a2.csv"
lr accounts import "$T/a2.csv"
check "import over the stored index: exit 0 ($RC)" test "$RC" = 0
check "beta.io's stored account lost to the file's ($(row_of beta.io))" \
	test "$(row_of beta.io)" = 'B1|bob@x.example|B2|carl@x.example'
lr accounts import "$T/a2.csv"
check "the same file again records nothing ($(rows))" test "$(rows)" = 2
check "... and says nothing of conflicts" test -z "$(grep claimed <<< "$OUT")"

printf 'domain,account_id,owner\ngamma.io,G1,g@x.example\ngamma.io,G2,h@x.example\n' > "$T/a3.csv"
lr accounts import "$T/a3.csv"
check "a file with two owners for one domain is refused (exit $RC)" test "$RC" = 1
check "... and records nothing ($(rows))" test "$(rows)" = 2

lr report
check "report: 1 duplicate domain, 1 ownership conflict" \
	grep -qE '^Account index: 1 duplicate domain, 1 ownership conflict \(2 recorded\)$' <<< "$OUT"
check "report: beta.io as an ownership conflict" \
	grep -qE '^ +beta\.io +owner +B2 \(carl@x\.example\) +B1 \(bob@x\.example\) +1 ' <<< "$OUT"
check "report: acme.com as a duplicate" \
	grep -qE '^ +acme\.com +duplicate +A1 \(ann@x\.example\) +A2 \(ann@x\.example\) +1 ' <<< "$OUT"

# ---- sync ----

fakecrm_start "$T/crm" --seed "$top_srcdir/tests/report/sync-seed.json" || { bad "the fake CRM starts"; exit 1; }
export LEADROUTE_DB=$T/sync.db
lr_sync() {
	OUT=$(env LEADROUTE_CRM=hubspot LEADROUTE_HUBSPOT_URL="$FAKECRM_URL" \
		LEADROUTE_HUBSPOT_TOKEN=hs-token-conflicts-test LEADROUTE_CRM_TIMEOUT_MS=3000 \
		"${run_lr[@]}" accounts sync "$@" 2>&1)
	RC=$?
}
lr_sync --full
check "sync: exit 0 ($RC: $OUT)" test "$RC" = 0
check "sync: says one domain was claimed twice" grep -q '^1 domain was claimed by another account' <<< "$OUT"
check "sync: one conflict recorded for acme.example ($(rows))" test "$(rows)" = 1
kept=$(sqlite3 "$LEADROUTE_DB" "SELECT account_id || '|' || owner FROM accounts WHERE domain = 'acme.example'")
got=$(row_of acme.example)
check "the conflict's kept account is the one the index keeps ($got; index $kept)" \
	test "${got#*|*|}" = "$kept"
check "the lost one is the other company, with the other owner ($got)" \
	test "${got%%|*}" != "${kept%%|*}" -a "$(cut -d'|' -f2 <<< "$got")" != "${kept#*|}"
first=$got
lr_sync --full
check "a second full sync records it once more ($(rows) rows)" test "$(rows)" = 2
check "... with the same account kept: the index does not flip ($(row_of acme.example))" \
	test "$(row_of acme.example)" = "$first"
check "... and the index still keeps it" test "$(sqlite3 "$LEADROUTE_DB" \
	"SELECT account_id || '|' || owner FROM accounts WHERE domain = 'acme.example'")" = "$kept"
lr report
check "report after the syncs: 1 ownership conflict, recorded twice" \
	grep -qE '^Account index: 0 duplicate domains, 1 ownership conflict \(2 recorded\)$' <<< "$OUT"

echo "conflicts-test: $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
