#!/bin/bash
# replay-test.sh - `leadroute replay` against a database the real handler
# filled: leads are sent through leadroute.fcgi (as CGI) with
# rules/example.routes and an account index imported with `leadroute
# accounts import`; then a changed copy of the rules is replayed: the exact
# number of leads that move, each from -> to pair with its count and
# examples, the new rule line that decides, a move that comes from the
# account index (a tier only the accounts table knows); --since leaves an
# older lead out; unchanged rules move nothing; a broken rules file is
# refused with routec's caret and suggestion before the database is read;
# usage errors name the bad value; and the database file is byte for byte
# the same afterwards.  Under LEADROUTE_VALGRIND the command runs in
# valgrind.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

FAILS=0
PASSES=0
ok() { PASSES=$((PASSES + 1)); printf 'ok   %s\n' "$*"; }
bad() { FAILS=$((FAILS + 1)); printf 'FAIL %s\n' "$*"; }
check() {   # check DESCRIPTION COMMAND...: ok when the command succeeds
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
die() { printf 'replay-test: ERROR: %s\n' "$*"; exit 99; }
for c in jq sqlite3 sha256sum; do
	command -v "$c" >/dev/null 2>&1 || { printf 'replay-test: SKIP: %s is not installed (tools/install-deps)\n' "$c"; exit 77; }
done

LR=$top_builddir/src/cmd/leadroute
FCGI=$top_builddir/src/cmd/leadroute.fcgi
[ -x "$LR" ] || die "$LR is not built"
[ -x "$FCGI" ] || die "$FCGI is not built"
run_lr=("$LR")
if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
	run_lr=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
	        "$LR")
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lr-replay.XXXXXX") || die "cannot make a temporary directory"
trap '[ -n "${LR_KEEP:-}" ] || rm -rf "$T"' EXIT

export LEADROUTE_FREEMAIL=$top_srcdir/data/freemail.txt
export LEADROUTE_DB=$T/leads.db
export LEADROUTE_RULES=$T/deployed.routes
cp "$top_srcdir/rules/example.routes" "$LEADROUTE_RULES"

# ---- the database, filled by the real handler ----
cat >"$T/accounts.csv" <<'CSV'
domain,account_id,owner,lifecycle,tier
owned.example,A1,ana@acme.example,prospect,enterprise
custco.example,A2,ben@acme.example,customer,standard
CSV
"$LR" accounts import "$T/accounts.csv" >/dev/null || die "accounts import failed"

lead_cgi() {   # lead_cgi JSON: one POST /lead through the handler as CGI; ANSWER set
	local body=$1
	ANSWER=$(printf '%s' "$body" | env LEADROUTE_WWW="$top_srcdir/www" \
		LEADROUTE_SPAM_MIN_SECONDS=0 LEADROUTE_RATE_LIMIT=0 LEADROUTE_LOG="$T/handler.log" \
		REQUEST_METHOD=POST PATH_INFO=/lead CONTENT_TYPE=application/json \
		CONTENT_LENGTH=${#body} HTTP_ACCEPT=application/json REMOTE_ADDR=127.0.0.1 \
		GATEWAY_INTERFACE=CGI/1.1 "$FCGI" | sed '1,/^\r*$/d')
}
deployed_line() { grep -n -F -- "$1" "$LEADROUTE_RULES" | head -n 1 | cut -d: -f1; }
send() {   # send JSON RULE: a lead the deployed rules decide on the line holding RULE
	lead_cgi "$1"
	local id want got
	id=$(jq -r .lead_id <<<"$ANSWER" 2>/dev/null)
	want=$(deployed_line "$2")
	got=$(sqlite3 "$LEADROUTE_DB" "SELECT rule_line FROM leads WHERE id = '$id'")
	[ -n "$want" ] && [ "$got" = "$want" ] ||
		die "the handler answered $ANSWER to $1 (rule line '$got', expected $want: $2)"
}
# (the queue the handler stores can be a fallback when nobody is in hours;
# the rule line is the decision replay compares)
send '{"email":"jo@bigco.example","country":"US","employees":"500"}' 'when country = US and'
send '{"email":"al@northco.example","country":"Canada","employees":"300"}' 'when country in (CA, MX)'
send '{"email":"kim@gmail.com","first_name":"Kim"}' 'when email personal'
send '{"email":"pat@small.example","product":"PLG"}' 'when product = "PLG"'
send '{"email":"xi@owned.example","first_name":"Xi"}' 'when domain owned  '
send '{"email":"cy@custco.example"}' 'when domain owned and account.lifecycle'
send '{"email":"zo@tiny.example","country":"US","employees":"50"}' 'otherwise'
send '{"email":"zu@tiny2.example","country":"usa","employees":"45-60"}' 'otherwise'
send '{"email":"sa@help.example","intent":"support"}' 'when intent = support'
send '{"email":"mo@gmail.com","website":"https://www.owned.example"}' 'when email personal'
N=$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM leads")
[ "$N" = 10 ] || die "the handler stored $N leads, not 10"
SUM=$(sha256sum <"$LEADROUTE_DB")

# ---- the changed rules ----
# a rule on the accounts' tier first; small US companies to enterprise_us;
# Canada and Mexico to plg_sales; review without its page
sed -e 's/^when intent = support /when account.tier = enterprise -> enterprise_us then scheduler\n&/' \
    -e 's/when country = US and employees > 200 /when country = US and employees > 40  /' \
    -e 's/when country in (CA, MX) and employees > 200   -> enterprise_us then scheduler/when country in (CA, MX) and employees > 200   -> plg_sales then confirm/' \
    -e 's/-> review then page "review"/-> review then confirm/' \
    "$LEADROUTE_RULES" >"$T/new.routes"
grep -q 'account.tier = enterprise' "$T/new.routes" && grep -q 'employees > 40 ' "$T/new.routes" &&
	grep -q 'plg_sales then confirm$' "$T/new.routes" && grep -q 'review then confirm' "$T/new.routes" ||
	die "the sed script did not change the rules as meant"
line_of() { grep -n -F -- "$1" "$T/new.routes" | head -n 1 | cut -d: -f1; }
TIER_LINE=$(line_of 'when account.tier = enterprise')
US_LINE=$(line_of 'when country = US and employees > 40')
CA_LINE=$(line_of 'when country in (CA, MX)')
REVIEW_LINE=$(line_of '-> review then confirm')

OUT=$("${run_lr[@]}" replay --rules "$T/new.routes" --json 2>"$T/err")
RC=$?
check "replay --json exits 0 ($(cat "$T/err"))" test "$RC" = 0
check "all 10 stored leads are replayed" test "$(jq .leads <<<"$OUT")" = 10
check "exactly 6 would move and 4 stay" \
	test "$(jq -c '[.moved, .stayed]' <<<"$OUT")" = '[6,4]'
pairs=$(jq -r '.moves[] | "\(.count) \(.from)/\(.from_outcome)/\(.from_page) -> \(.to)/\(.to_outcome)/\(.to_page)"' <<<"$OUT")
want='2 inbound/confirm/null -> enterprise_us/scheduler/null
2 review/page/review -> review/confirm/null
1 account_owner/scheduler/null -> enterprise_us/scheduler/null
1 enterprise_us/scheduler/null -> plg_sales/confirm/null'
check "the from->to pairs and counts, most first (got: $pairs)" test "$pairs" = "$want"
check "small US companies: both leads as examples, decided by line $US_LINE" \
	test "$(jq -r '.moves[] | select(.from == "inbound") | [.examples[] | "\(.email) \(.to_line)"] | sort | join(",")' <<<"$OUT")" = "zo@tiny.example $US_LINE,zu@tiny2.example $US_LINE"
check "... with the rule's own text" \
	test "$(jq -r '.moves[] | select(.from == "inbound") | .examples[0].to_rule' <<<"$OUT")" = "$(sed -n "${US_LINE}p" "$T/new.routes" | sed 's/[[:space:]]*$//')"
OTHERWISE_LINE=$(grep -n '^otherwise' "$LEADROUTE_RULES" | cut -d: -f1)
check "... and the deployed rule's line ($OTHERWISE_LINE, otherwise)" \
	test "$(jq -r '.moves[] | select(.from == "inbound") | .examples[0].from_line' <<<"$OUT")" = "$OTHERWISE_LINE"
check "the account index's tier moves xi@owned.example (line $TIER_LINE), not the free-mail mo@ with its website" \
	test "$(jq -r '.moves[] | select(.from == "account_owner") | [.examples[] | "\(.email) \(.to_line)"] | join(",")' <<<"$OUT")" = "xi@owned.example $TIER_LINE"
check "Canada moves to plg_sales on line $CA_LINE" \
	test "$(jq -r '.moves[] | select(.to == "plg_sales") | .examples[0] | "\(.email) \(.to_line)"' <<<"$OUT")" = "al@northco.example $CA_LINE"
check "the review page goes for both free-mail leads (line $REVIEW_LINE)" \
	test "$(jq -r '.moves[] | select(.from == "review") | [.examples[] | "\(.email) \(.to_line)"] | sort | join(",")' <<<"$OUT")" = "kim@gmail.com $REVIEW_LINE,mo@gmail.com $REVIEW_LINE"
check "examples carry the stored lead ids" \
	test "$(jq -r '.moves[] | select(.to == "plg_sales") | .examples[0].id' <<<"$OUT")" = \
	     "$(sqlite3 "$LEADROUTE_DB" "SELECT id FROM leads WHERE email = 'al@northco.example'")"

OUT=$("${run_lr[@]}" replay --rules "$T/new.routes" --examples 1 2>"$T/err")
RC=$?
check "the text form exits 0 ($(cat "$T/err"))" test "$RC" = 0
check "... gives the totals" grep -q '^10 leads replayed: 6 would move, 4 stay$' <<<"$OUT"
check "... a from -> to line per move, aligned" \
	test "$(grep -cE '^ +[0-9]+  .* -> ' <<<"$OUT")" = 4
check "... with --examples 1: one example under a move of 2" \
	test "$(grep -A2 -E '^ +2  inbound then confirm +-> enterprise_us then scheduler$' <<<"$OUT" | grep -c '@tiny')" = 1
check "... and the rule line that decides it" \
	grep -q "new line $US_LINE: when country = US and employees > 40" <<<"$OUT"
check "... the moves' pages are shown as the rules write them" \
	grep -qE '^ +2  review then page "review" +-> review then confirm$' <<<"$OUT"

# ---- unchanged rules move nothing ----
cp "$LEADROUTE_RULES" "$T/same.routes"
OUT=$("${run_lr[@]}" replay --rules "$T/same.routes" --json 2>"$T/err")
RC=$?
check "unchanged rules: exit 0, 10 leads, 0 moved, no moves ($(cat "$T/err"))" \
	test "$RC/$(jq -c '[.leads, .moved, .stayed, (.moves | length)]' <<<"$OUT")" = "0/[10,0,10,0]"

# ---- the window ----
cp "$LEADROUTE_DB" "$T/old.db"
sqlite3 "$T/old.db" "UPDATE leads SET created_ms = created_ms - 3 * 86400000 WHERE email = 'zo@tiny.example'" ||
	die "cannot age a lead in the copy"
OUT=$(LEADROUTE_DB=$T/old.db "${run_lr[@]}" replay --rules "$T/new.routes" --since 2d --json 2>"$T/err")
check "--since 2d leaves out the lead of 3 days ago ($(cat "$T/err"))" \
	test "$(jq -c '[.leads, .moved, (.moves[] | select(.from == "inbound") | .count)]' <<<"$OUT")" = "[9,5,1]"
OUT=$(LEADROUTE_DB=$T/old.db "${run_lr[@]}" replay --rules "$T/new.routes" --since 96h --json 2>"$T/err")
check "--since 96h takes it in again" test "$(jq -c '[.leads, .moved]' <<<"$OUT")" = "[10,6]"

# ---- a broken rules file is refused before anything is read ----
sed 's/when country = US and employees > 40 /when countryy = US and employees > 40/' \
	"$T/new.routes" >"$T/broken.routes"
OUT=$(LEADROUTE_DB=$T/missing.db "${run_lr[@]}" replay --rules "$T/broken.routes" 2>&1)
RC=$?
check "a broken rules file: exit 1 ($OUT)" test "$RC" = 1
check "... with routec's diagnostic: file:line:col and the suggestion" \
	grep -qF "$T/broken.routes:$US_LINE:6: error: unknown field 'countryy'; did you mean 'country'?" <<<"$OUT"
check "... and the caret under the name" grep -qE '^ +\| +\^~~~~~~~$' <<<"$OUT"
"$top_builddir/src/cmd/routec" --check "$T/broken.routes" >"$T/routec.err" 2>&1
check "... exactly the diagnostics routec --check prints" \
	diff -u "$T/routec.err" <(grep -v '^leadroute replay:' <<<"$OUT")
check "... and no database was opened (none was made)" test ! -e "$T/missing.db"

# ---- usage ----
OUT=$("${run_lr[@]}" replay --rules "$T/new.routes" --since 30x 2>&1)
RC=$?
check "a bad --since: exit 2 naming the value ($OUT)" \
	eval '[ "$RC" = 2 ] && grep -q "30x" <<<"$OUT"'
OUT=$("${run_lr[@]}" replay --rules "$T/new.routes" --examples many 2>&1)
RC=$?
check "a bad --examples: exit 2 naming the value ($OUT)" \
	eval '[ "$RC" = 2 ] && grep -q "many" <<<"$OUT"'
OUT=$("${run_lr[@]}" replay --since 30d 2>&1)
RC=$?
check "no --rules: exit 2 ($OUT)" eval '[ "$RC" = 2 ] && grep -q -- "--rules" <<<"$OUT"'
OUT=$(LEADROUTE_DB=$T/missing.db "${run_lr[@]}" replay --rules "$T/new.routes" 2>&1)
RC=$?
check "a database that is not there: exit 1 naming it, and it is not made ($OUT)" \
	eval '[ "$RC" = 1 ] && grep -q "missing.db" <<<"$OUT" && [ ! -e "$T/missing.db" ]'

# ---- nothing written ----
check "the database file is unchanged" test "$(sha256sum <"$LEADROUTE_DB")" = "$SUM"
check "... and still holds the 10 leads as the handler stored them" \
	test "$(sqlite3 "$LEADROUTE_DB" "SELECT count(*) FROM leads")" = 10

printf '%d passed, %d failed\n' "$PASSES" "$FAILS"
[ "$FAILS" = 0 ]
