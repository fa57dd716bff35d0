#!/bin/sh
# cli-test - routec's commands end to end: --route (one decision per line,
# errors per line), --explain (text and JSON), -o (versioned tree with the
# source's hash), --tree, --dot (checked by Graphviz), and usage errors.
set -u
: "${ROUTEC:?}" "${top_srcdir:?}"
rules="$top_srcdir/rules/example.routes"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }

# --route: every kind of line
cat >"$tmp/leads.jsonl" <<'JSON'
{"email":"jo@bigco.example","country":"usa","employees":"201-500"}
{"email":"kim@gmail.com"}
{"intent":"support","email":"a@b.example"}
{"email":"x@acme.example","account":{"owner":"Ana@acme.example","lifecycle":"customer"}}
{"email":"x@acme.example","account.owner":"ana@acme.example"}
{"country":"Narnia"}
not json
{"Email":"p@co.example","plan":"pro","country":"Germany"}
JSON
cat >"$tmp/want.jsonl" <<'JSON'
{"queue":"enterprise_us","outcome":"scheduler","rule":{"line":21},"tags":[]}
{"queue":"review","outcome":"page","page":"review","rule":{"line":20},"tags":[]}
{"queue":"drop","outcome":"page","page":"support","rule":{"line":16},"tags":[]}
{"queue":"account_owner","owner":"Ana@acme.example","outcome":"page","page":"customer","rule":{"line":17},"tags":[]}
{"queue":"account_owner","owner":"ana@acme.example","outcome":"scheduler","rule":{"line":19},"tags":[]}
{"error":"country: unknown country 'Narnia'"}
{"error":"line is not JSON (null expected)"}
{"queue":"plg_sales","outcome":"confirm","rule":{"line":23},"tags":[]}
JSON
"$ROUTEC" --route "$rules" "$tmp/leads.jsonl" >"$tmp/got.jsonl" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || bad "--route with bad lines should exit 1, got $rc"
diff -u "$tmp/want.jsonl" "$tmp/got.jsonl" || bad "--route output differs"
# stdin and a clean run exit 0
head -n 2 "$tmp/leads.jsonl" | "$ROUTEC" --route "$rules" >"$tmp/got2" 2>&1 \
	|| bad "--route on stdin with good lines should exit 0"
[ "$(wc -l <"$tmp/got2")" -eq 2 ] || bad "--route on stdin: expected 2 lines"

# --route with an accounts CSV: the index supplies the owner
printf 'domain,account_id,owner,lifecycle,tier\nwww.acme.example,A1,0058d000004QmRtAAK,customer,gold\n' >"$tmp/acc.csv"
echo '{"email":"ceo@acme.example"}' | "$ROUTEC" --route "$rules" --accounts "$tmp/acc.csv" >"$tmp/got3"
grep -q '"owner":"0058d000004QmRtAAK"' "$tmp/got3" || bad "--accounts: owner from the CSV, case kept: $(cat "$tmp/got3")"
grep -q '"page":"customer"' "$tmp/got3" || bad "--accounts: lifecycle from the CSV"

# --explain: text names the winner, JSON agrees
"$ROUTEC" --explain "$rules" country=CA employees=300 email=a@b.example >"$tmp/ex" \
	|| bad "--explain failed"
grep -q '^winner: line 22 -> enterprise_us then scheduler$' "$tmp/ex" || bad "--explain winner: $(tail -n 1 "$tmp/ex")"
grep -q 'no: country = US (country is .CA.)' "$tmp/ex" || bad "--explain reason for line 21"
"$ROUTEC" --explain --format=json "$rules" '{"email":"kim@gmail.com"}' >"$tmp/ex.json" \
	|| bad "--explain --format=json failed"
[ "$(jq -r '.decision.queue' "$tmp/ex.json")" = review ] || bad "--explain JSON decision"
[ "$(jq -r '.rules[-1].matched' "$tmp/ex.json")" = true ] || bad "--explain JSON last rule matched"
"$ROUTEC" --explain "$rules" nosuchfield=1 >/dev/null 2>"$tmp/exerr"
[ $? -eq 1 ] || bad "--explain with an unknown field should exit 1"
grep -q "unknown field 'nosuchfield'" "$tmp/exerr" || bad "--explain unknown field message"

# -o: versioned tree carrying the source's SHA-256
"$ROUTEC" -o "$tmp/tree.json" "$rules" || bad "-o failed"
[ "$(jq -r .format "$tmp/tree.json")" = leadroute-tree ] || bad "-o format"
[ "$(jq -r .version "$tmp/tree.json")" = 1 ] || bad "-o version"
want=$(sha256sum "$rules" | cut -d' ' -f1)
[ "$(jq -r .source_sha256 "$tmp/tree.json")" = "$want" ] || bad "-o source hash"
[ "$(jq '.rules | length' "$tmp/tree.json")" = 8 ] || bad "-o rules"

# --tree and --dot
"$ROUTEC" --tree "$rules" >"$tmp/tree.txt" || bad "--tree failed"
grep -q '^# [0-9]* dimensions, [0-9]* nodes' "$tmp/tree.txt" || bad "--tree header"
grep -q 'rule line 24 -> inbound' "$tmp/tree.txt" || bad "--tree lists the otherwise leaf"
"$ROUTEC" --dot "$rules" >"$tmp/tree.dot" || bad "--dot failed"
if command -v dot >/dev/null 2>&1; then
	dot -Tsvg "$tmp/tree.dot" >"$tmp/tree.svg" || bad "Graphviz rejects --dot output"
	grep -q '<svg' "$tmp/tree.svg" || bad "no SVG from --dot output"
else
	bad "Graphviz (dot) is not installed: tools/install-deps installs it"
fi

# usage and I/O errors exit 2
"$ROUTEC" >/dev/null 2>&1; [ $? -eq 2 ] || bad "no arguments should exit 2"
"$ROUTEC" --check --test "$rules" >/dev/null 2>&1; [ $? -eq 2 ] || bad "two modes should exit 2"
"$ROUTEC" --check "$tmp/missing.routes" >/dev/null 2>&1; [ $? -eq 2 ] || bad "missing file should exit 2"
"$ROUTEC" --check --format=xml "$rules" >/dev/null 2>&1; [ $? -eq 2 ] || bad "bad --format should exit 2"

[ "$fail" -eq 0 ] && echo "cli-test: all checks passed"
exit "$fail"
