#!/bin/bash
# hostile-test.sh - hostile and malformed requests through lighttpd (the
# shipped deploy/lighttpd.conf) to leadroute.fcgi.
#
# A table of cases; each sends one request (as raw bytes where it matters,
# tests/integration/rawhttp.py), checks the status, and checks what was
# stored: no lead, and no event but spam_blocked / validation_failed.  The
# exceptions say so in their kind:
#   none     nothing stored (the default)
#   spam     answered like a success, no lead, exactly one more spam_blocked
#   store1   exactly one lead stored (SQL metacharacters, a well-formed
#            chunked upload)
#   spoof    at most one lead, and no lead owned by the spoofed owner
# Cases that need more (headers, escaping, the stored text) check it right
# after.  A second lighttpd with LEADROUTE_RATE_LIMIT=3 takes the rate case.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need lighttpd

CFG_PROCS=2
CFG_MAX_BODY=65536
new_instance hostile
start_lighttpd
say "lighttpd on $BASE"
R=$T/req
mkdir -p "$R"

# req FILE METHOD PATH CONTENT-TYPE BODY [HEADER...]: a well-formed request
# (true Content-Length, Connection: close); CONTENT-TYPE "-" sends none
req() {
	local f=$1 m=$2 p=$3 ct=$4 body=$5 h
	shift 5
	{
		printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n' "$m" "$p" "$PORT"
		[ "$ct" != - ] && printf 'Content-Type: %s\r\n' "$ct"
		for h in "$@"; do printf '%s\r\n' "$h"; done
		if [ "$m" = POST ] || [ "$m" = PUT ] || [ -n "$body" ]; then
			printf 'Content-Length: %s\r\n' "$(printf '%s' "$body" | wc -c)"
		fi
		printf '\r\n%s' "$body"
	} > "$R/$f"
}

counts() {
	sql "SELECT (SELECT count(*) FROM leads) || ' ' ||
	            (SELECT count(*) FROM events WHERE type NOT IN ('spam_blocked', 'validation_failed')) || ' ' ||
	            (SELECT count(*) FROM events WHERE type = 'spam_blocked')"
}

NCASES=0
# hcase NAME STATUS-ERE KIND FILE [rawhttp options]
hcase() {
	local name=$1 want=$2 kind=$3 file=$4
	shift 4
	local before after l0 e0 s0 l1 e1 s1
	before=$(counts)
	local t0=$SECONDS
	raw "$R/$file" "$@"
	[ $((SECONDS - t0)) -ge 3 ] && say "$name: took $((SECONDS - t0)) s"
	after=$(counts)
	read -r l0 e0 s0 <<<"$before"
	read -r l1 e1 s1 <<<"$after"
	NCASES=$((NCASES + 1))
	check "$name: status $want (got $CODE)" eval '[[ $CODE =~ ^($want)$ ]]'
	case $kind in
	none)
		check "$name: nothing stored (leads $l0->$l1, other events $e0->$e1)" \
			test "$l1" = "$l0" -a "$e1" = "$e0" ;;
	spam)
		check "$name: no lead, one spam_blocked (leads $l0->$l1, spam $s0->$s1)" \
			test "$l1" = "$l0" -a "$e1" = "$e0" -a "$s1" = $((s0 + 1)) ;;
	store1)
		check "$name: one lead stored (leads $l0->$l1)" test "$l1" = $((l0 + 1)) ;;
	spoof)
		check "$name: at most one lead (leads $l0->$l1)" test "$l1" -le $((l0 + 1)) ;;
	esac
	check "$name: the server answers after it" eval '[ "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/healthz")" = 200 ]'
}
# header NAME: the response header's value (last one), from HEADERS
header() { sed -n "s/^$1: //Ip" <<<"$HEADERS" | tail -n 1; }

F=application/x-www-form-urlencoded
J=application/json

# ---- size ----
big=$(head -c 70000 /dev/zero | tr '\0' a)
req big POST /lead $F "email=big%40bigco.example&message=$big"
hcase "oversized body (70 KB > 64 KiB)" 413 none big

{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: 10000000\r\n\r\nemail=x%%40bigco.example' $F; } > "$R/cl-huge"
hcase "Content-Length 10 MB, small body" 413 none cl-huge --half-close

{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: 200\r\n\r\nemail=liar1%%40bigco.example' $F; } > "$R/cl-long"
hcase "Content-Length larger than the body (client then closes)" '000|400|408' none cl-long --half-close --timeout 8

{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: 10\r\n\r\nemail=li%%40bigco.example' $F; } > "$R/cl-short"
hcase "Content-Length shorter than the body (cut inside an address)" '400|422' none cl-short

{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: -1\r\n\r\nemail=neg%%40bigco.example' $F; } > "$R/cl-neg"
hcase "Content-Length -1" 400 none cl-neg

{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: 27\r\nContent-Length: 5\r\n\r\nemail=twice%%40bigco.example' $F; } > "$R/cl-two"
hcase "two different Content-Length headers" 400 none cl-two

# ---- chunked ----
{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n' $F
  printf 'zz\r\nemail=chunk%%40bigco.example\r\n0\r\n\r\n'; } > "$R/chunk-bad"
hcase "chunked with a malformed chunk size" '400|411' none chunk-bad

{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n' $F
  printf '1c\r\nemail=chunk2%%40bigco.example\r\n'; } > "$R/chunk-open"
hcase "chunked and never finished (client then closes)" '000|400|408' none chunk-open --half-close --timeout 8

{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n' $F
  printf '1c\r\nemail=smug%%40bigco.example&x=\r\n0\r\n\r\n'; } > "$R/chunk-cl"
hcase "chunked and Content-Length both (smuggling)" 400 none chunk-cl

b='email=chunked-ok%40nobody.example&company=Chunk'
{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n' $F
  printf '%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n' 16 "${b:0:16}" $((${#b} - 16)) "${b:16}"; } > "$R/chunk-ok"
hcase "chunked without a length, well formed (a real lead)" 303 store1 chunk-ok
check "chunked: the whole body arrived (company stored)" \
	test "$(sql "SELECT json_extract(fields, '\$.company') FROM leads WHERE email = 'chunked-ok@nobody.example'")" = Chunk

# ---- encoding ----
req utf8-form POST /lead $F "email=u8%40bigco.example&first_name=%C3%28"
hcase "invalid UTF-8 (form, %C3%28)" 400 none utf8-form
printf '{"email":"u8j@bigco.example","first_name":"\xc3\x28\xff"}' > "$R/utf8-body"
req utf8-json POST /lead $J "$(cat "$R/utf8-body")"
hcase "invalid UTF-8 (raw bytes in JSON)" 400 none utf8-json
req overlong POST /lead $F "email=ov%40bigco.example&first_name=%C0%AFetc"
hcase "overlong UTF-8 encoding of '/'" 400 none overlong
req pct00 POST /lead $F "email=nul%40bigco.example%00.evil.example"
hcase "%00 in a value" 400 none pct00
req pct00n POST /lead $F "email=nul2%40bigco.example&first%00name=x"
hcase "%00 in a name" 400 none pct00n
req jnul POST /lead $J '{"email":"jnul@bigco.example\u0000.evil.example"}'
hcase "\\u0000 in a JSON string" 400 none jnul
printf '{"email":"rawnul@bigco.example\0"}' > "$R/jrawnul.body"
{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %s\r\n\r\n' $J "$(wc -c < "$R/jrawnul.body")"
  cat "$R/jrawnul.body"; } > "$R/jrawnul"
hcase "a raw NUL byte in the JSON body" 400 none jrawnul
req badpct POST /lead $F "email=pct%40bigco.example&first_name=%zz"
hcase "bad percent escape" 400 none badpct
req gz POST /lead $F "$(printf 'email=gz%%40bigco.example' | gzip -c | tr -d '\0')" "Content-Encoding: gzip"
hcase "gzip body declared as a form" '400|415' none gz

# ---- shape ----
many=$(python3 -c 'print("&".join("f%d" % i for i in range(10000)))')
req many POST /lead $F "email=many%40bigco.example&$many"
hcase "10,000 fields" 413 none many
req rep POST /lead $F "email=a%40bigco.example&email=b%40evil.example"
hcase "a field given twice" 400 none rep
req repcase POST /lead $F "email=a%40bigco.example&EMAIL=b%40evil.example"
hcase "a field given twice, other case" 400 none repcase
req badname POST /lead $F "email=n%40bigco.example&%3Cx%3E=1"
hcase "a field name with markup" 400 none badname
req longname POST /lead $F "email=n%40bigco.example&$(printf 'n%.0s' $(seq 70))=1"
hcase "a 70-byte field name" 400 none longname
huge=$(head -c 9000 /dev/zero | tr '\0' m)
req huge POST /lead $F "email=huge%40bigco.example&message=$huge"
hcase "one 9,000-byte field" '400|413|422' none huge
req longfirst POST /lead $F "email=lf%40bigco.example&first_name=$(head -c 300 /dev/zero | tr '\0' f)"
hcase "a 300-byte name (over the field limit)" '400|422' none longfirst
req empty POST /lead $F ""
hcase "empty body" '400|422' none empty
deep=$(python3 -c 'print("{\"email\":\"d@bigco.example\",\"x\":" + "{\"a\":" * 500 + "1" + "}" * 501)')
req deep POST /lead $J "$deep"
hcase "JSON nested 500 deep" 400 none deep
req jacct POST /lead $J '{"email":"acct@bigco.example","account":{"owner":"mallory@evil.example"}}'
hcase "JSON with an account object" 400 none jacct
req jarr POST /lead $J '[{"email":"arr@bigco.example"}]'
hcase "a JSON array" 400 none jarr
req jtrail POST /lead $J '{"email":"trail@bigco.example"} {"email":"x@evil.example"}'
hcase "JSON with trailing garbage" 400 none jtrail
req jtrunc POST /lead $J '{"email":"trunc@bigco.example",'
hcase "truncated JSON" 400 none jtrunc
req jinf POST /lead $J '{"email":"inf@bigco.example","employees":1e999}'
hcase "a JSON number out of range (1e999)" 400 none jinf

# ---- header injection and escaping ----
req crlf POST /lead $F "email=crlf&first_name=x%0D%0ASet-Cookie%3A+pwn%3D1%0D%0AX-Injected%3A+1"
hcase "CR LF in a re-shown value aimed at the headers" 422 none crlf
check "crlf: no injected header" eval '! grep -qiE "^(set-cookie|x-injected):" <<<"$HEADERS"'
req jcrlf POST /lead $J '{"email":"a@b.example\r\nLocation: https://evil.example/","first_name":"x\r\nX-Injected: 1"}'
hcase "CR LF in JSON values aimed at the headers" '400|422' none jcrlf
check "jcrlf: no injected header, no foreign Location" \
	eval '! grep -qiE "^(x-injected:|location: https://evil)" <<<"$HEADERS"'
req idemcrlf POST /lead $J '{"email":"ic@bigco.example"}' 'Idempotency-Key: abcdefgh%0d%0aX-Injected:%201'
hcase "an Idempotency-Key holding an encoded CR LF" 400 none idemcrlf
check "idemcrlf: no injected header" eval '! grep -qi "^x-injected:" <<<"$HEADERS"'
# RFC 9112: a server rejects obs-fold or replaces it with a space; either way
# the folded text must not become a header of its own
{ printf 'POST /lead HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nX-A: 1\r\n Idempotency-Key: folded-key-1\r\nContent-Length: 10\r\n\r\nemail=fold' $F; } > "$R/fold"
hcase "an obs-fold header line" '400|422' none fold
req xss POST /lead $F "email=not-an-email&first_name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&company=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(2)%3E"
hcase "<script> in a field re-shown on the 422 page" 422 none xss
check "xss: the 422 page escapes it" \
	eval '! grep -q "<script>alert" <<<"$BODY_OUT" && ! grep -q "<img src=x" <<<"$BODY_OUT" && grep -q "&lt;script&gt;alert(1)&lt;/script&gt;" <<<"$BODY_OUT"'
check "xss: the 422 page is text/html; charset=utf-8 with nosniff" \
	eval '[[ $(header content-type) == "text/html; charset=utf-8" ]] && [ "$(header x-content-type-options)" = nosniff ]'

# ---- SQL metacharacters: stored literally ----
SQLNAME="Robert'); DROP TABLE leads;--"
SQLCO='x" OR "1"="1; DELETE FROM events; --'
req sqlm POST /lead $F "email=o-brien%40nobody.example&last_name=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]))' "$SQLNAME")&company=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]))' "$SQLCO")"
hcase "SQL metacharacters in values (a real lead)" 303 store1 sqlm
check "sql: stored literally" \
	test "$(sql "SELECT json_extract(fields, '\$.last_name') || '|' || json_extract(fields, '\$.company') FROM leads WHERE email = 'o-brien@nobody.example'")" = "$SQLNAME|$SQLCO"
check "sql: the tables are intact" test "$(sql "SELECT count(*) FROM sqlite_master WHERE name IN ('leads', 'events')")" = 2
check "sql: leadroute leads list still works" eval 'lr leads list --json | jq -e "length >= 2" >/dev/null'

# ---- content types and methods ----
req noct POST /lead - "email=noct%40bigco.example"
hcase "no Content-Type" 415 none noct
req plain POST /lead text/plain "email=plain%40bigco.example"
hcase "text/plain" 415 none plain
req multi POST /lead "multipart/form-data; boundary=xx" $'--xx\r\nContent-Disposition: form-data; name="email"\r\n\r\nm@bigco.example\r\n--xx--\r\n'
hcase "multipart/form-data" 415 none multi
req latin1 POST /lead "$F; charset=iso-8859-1" "email=l1%40bigco.example"
hcase "a form in ISO-8859-1" 415 none latin1
req xml POST /lead "application/xml" "<lead><email>x@bigco.example</email></lead>"
hcase "XML" 415 none xml
req ctjunk POST /lead "application/json, text/html" '{"email":"ctj@bigco.example"}'
hcase "a list as Content-Type" 415 none ctjunk
req getlead GET /lead - ""
hcase "GET /lead" 405 none getlead
check "GET /lead: Allow: POST" test "$(header allow)" = POST
req putlead PUT /lead $F "email=put%40bigco.example"
hcase "PUT /lead" 405 none putlead
check "PUT /lead: Allow: POST" test "$(header allow)" = POST
req dellead DELETE /lead - ""
hcase "DELETE /lead" 405 none dellead
req postform POST / $F "email=root%40bigco.example"
hcase "POST / (the form page)" 405 none postform
check "POST /: Allow: GET, HEAD" test "$(header allow)" = "GET, HEAD"
req posthealth POST /healthz $F "x=1"
hcase "POST /healthz" 405 none posthealth
check "POST /healthz: Allow: GET, HEAD" test "$(header allow)" = "GET, HEAD"
req getevent GET /event - ""
hcase "GET /event" 405 none getevent
req badevent POST /event $J '{"type":"lead_created","lead_id":"x"}'
hcase "POST /event with a type it does not take" 400 none badevent

# ---- idempotency keys ----
req idshort POST /lead $J '{"email":"ids@bigco.example"}' 'Idempotency-Key: short'
hcase "Idempotency-Key too short" 400 none idshort
req idpath POST /lead $J '{"email":"idp@bigco.example"}' 'Idempotency-Key: ../../etc/passwd'
hcase "Idempotency-Key with path characters" 400 none idpath
req idlong POST /lead $J '{"email":"idl@bigco.example"}' "Idempotency-Key: $(head -c 200 /dev/zero | tr '\0' k)"
hcase "Idempotency-Key of 200 characters" 400 none idlong
req idsql POST /lead $F "email=idq%40bigco.example&idempotency_key=abc'%20OR%20'1'%3D'1"
hcase "idempotency_key field with SQL" 400 none idsql

# ---- spam defences ----
req hp POST /lead $F "email=bot%40bigco.example&hp_website2=http%3A%2F%2Fspam.example"
hcase "honeypot filled" 303 spam hp
check "honeypot: answered like a success (Location /confirm)" test "$(header location)" = /confirm
req hpj POST /lead $J '{"email":"botj@bigco.example","hp_website2":"x"}'
hcase "honeypot filled (JSON)" 200 spam hpj
check "honeypot (JSON): a success-shaped answer" eval 'jq -e ".outcome == \"confirm\" and .redirect == \"/confirm\"" <<<"$BODY_OUT" >/dev/null'
req spoof POST /lead $F "email=sp%40nobody.example&account.owner=mallory%40evil.example&account.lifecycle=customer"
hcase "account.owner sent by the buyer" '303|400' spoof spoof
check "spoof: no lead owned or assigned by the buyer's say-so" \
	test "$(sql "SELECT count(*) FROM leads WHERE owner LIKE '%mallory%' OR member LIKE '%mallory%'")" = 0

# ---- paths, hosts, headers ----
req trav1 GET /../../../../etc/passwd - ""
hcase "path traversal (/../../etc/passwd)" '400|403|404' none trav1
check "trav1: no file content" eval '! grep -q "root:" <<<"$BODY_OUT"'
req trav2 GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd - ""
hcase "path traversal (%2e%2e)" '400|403|404' none trav2
check "trav2: no file content" eval '! grep -q "root:" <<<"$BODY_OUT"'
req trav3 GET /style.css/..%2f..%2f..%2f..%2fetc%2fpasswd - ""
hcase "path traversal (..%2f)" '400|403|404' none trav3
check "trav3: no file content" eval '! grep -q "root:" <<<"$BODY_OUT"'
req trav4 GET /leadroute.fcgi/../../../../../etc/passwd - ""
hcase "path traversal under the handler prefix" '400|403|404' none trav4
check "trav4: no file content" eval '! grep -q "root:" <<<"$BODY_OUT"'
req trav5 GET /tools/gen-country-options.sh - ""
hcase "a file of www/tools/" '403|404' none trav5
{ printf 'GET / HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n'; } > "$R/host"
hcase "Host: evil.example on the form" 200 none host
check "host: the form never names the Host" eval '! grep -q "evil.example" <<<"$BODY_OUT$HEADERS"'
{ printf 'POST /lead HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: 30\r\n\r\nemail=hostile&intent=support!!' $F; } > "$R/host2"
hcase "Host: evil.example on a post" '400|422' none host2
check "host2: no redirect to the Host" eval '! grep -qi "evil.example" <<<"$HEADERS"'
{ printf 'POST http://evil.example/lead HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: 12\r\n\r\nemail=absurl' $F; } > "$R/absuri"
hcase "an absolute URI naming another host" '400|422' none absuri
check "absuri: no redirect to it" eval '! grep -qi "evil.example" <<<"$HEADERS"'
{ printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Long: %s\r\nConnection: close\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' h)"; } > "$R/longhdr"
hcase "a 20 KB header" '400|413|431' none longhdr
{ printf 'GET /%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' u)"; } > "$R/longurl"
hcase "a 20 KB URL" '400|413|414|431' none longurl
{ printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'; for i in $(seq 1000); do printf 'X-H%d: %d\r\n' "$i" "$i"; done; printf '\r\n'; } > "$R/manyhdr"
hcase "1,000 headers" '400|413|431' none manyhdr
printf 'HELLO THERE\r\n\r\n' > "$R/garbage"
hcase "garbage request line" 400 none garbage
printf 'POST /lead HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: 23\r\n\r\nemail=h%%40bigco.example' $F > "$R/twohost"
hcase "two Host headers" 400 none twohost

# ---- the rate limit (its own server: LEADROUTE_RATE_LIMIT=3) ----
stop_all_and_check
CFG_RATE=3
new_instance hostile-rate
start_lighttpd
say "lighttpd (LEADROUTE_RATE_LIMIT=3) on $BASE"
for i in 1 2 3; do
	post /lead $F "email=rate$i%40nobody.example"
done
check "rate: the first 3 posts are stored" test "$(sql 'SELECT count(*) FROM leads')" = 3
req rate4 POST /lead $F "email=rate4%40nobody.example"
hcase "rate limit exceeded (4th post in a minute)" 303 spam rate4
check "rate: answered like a success (Location /confirm)" test "$(header location)" = /confirm
req rate5 POST /lead $F "email=rate5%40nobody.example" "X-Forwarded-For: 10.9.8.7"
hcase "rate limit exceeded, X-Forwarded-For does not reset it" 303 spam rate5
check "rate: spam_blocked says rate" \
	test "$(sql "SELECT count(*) FROM events WHERE type = 'spam_blocked' AND json_extract(data, '\$.reason') = 'rate'")" = 2
stop_all_and_check

say "$NCASES hostile cases"
check "at least 30 hostile cases ran ($NCASES)" test "$NCASES" -ge 30
finish
