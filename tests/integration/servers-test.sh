#!/bin/bash
# servers-test.sh - leadroute.fcgi behind every supported web server, with the
# shipped deploy/ configurations: lighttpd (mod_fastcgi spawns it), Apache
# mod_fcgid (spawns it), Apache mod_proxy_fcgi (+ leadroute.fcgi --listen on
# a Unix socket), nginx (+ spawn-fcgi), and plain CGI.
#
# Against each server: GET / is the form with a signed token; form posts
# reach every rule of rules/example.routes and answer 303 to the right
# place; JSON (fetch) posts answer {lead_id, queue, owner, outcome,
# redirect}; the leads are in `leadroute leads list --json` with the right
# queue and owner; idempotency keys dedupe; /healthz, /metrics, /event and
# the static pages answer; no handler process outlives its server.  One
# lighttpd instance runs with the time-to-submit check on and takes a form
# the way a browser does (GET /, wait, POST with the token).
#
# Each server gets its own free loopback port, database and secret in a
# temporary directory; everything is stopped at exit (lib.sh).
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need lighttpd

# ---- the rules of rules/example.routes, as form posts ----
#
# name ~ form body (@ID@: a per-server tag) ~ Location (ERE) ~ queue ~ owner (ERE)
# The enterprise_us rows depend on the hour: inside mon-fri 08:00-18:00
# New York the lead goes to ana or ben with their scheduler; outside it the
# queue falls back to inbound and the answer is /confirm.
if in_us_hours; then
	ENT_LOC='^https://cal\.example/(ana|ben)$'
	ENT_Q=enterprise_us
	ENT_OWNER='^(ana|ben)@acme\.example$'
	say "inside enterprise_us hours: expecting scheduler URLs"
else
	ENT_LOC='^/confirm$'
	ENT_Q=inbound
	ENT_OWNER='^sdr[12]@acme\.example$'
	say "outside enterprise_us hours: expecting the fallback to inbound"
fi
CASES=(
"support-drop~email=@ID@-s1%40help.example&intent=support&message=login+broken~^/support$~drop~^$"
"customer~email=@ID@-c1%40acme.example&first_name=Cy~^/customer$~account_owner~^ana@acme\.example$"
"customer-www~email=@ID@-c2%40mail.initech.example~^/customer$~account_owner~^ben@acme\.example$"
"owned-prospect~email=@ID@-o1%40globex.example~^(/confirm|https://cal\.example/ben)$~account_owner~^ben@acme\.example$"
"owned-churned~email=@ID@-o2%40umbrella.example&country=US&employees=5001%2B~^(/confirm|https://cal\.example/ana)$~account_owner~^ana@acme\.example$"
"free-mail~email=@ID@-f1%40gmail.com&first_name=Kim~^/review$~review~^revops@acme\.example$"
"free-mail-us-big~email=@ID@-f2%40yahoo.com&country=US&employees=500~^/review$~review~^revops@acme\.example$"
"us-enterprise~email=@ID@-e1%40bigco.example&country=US&employees=500~$ENT_LOC~$ENT_Q~$ENT_OWNER"
"us-enterprise-name~email=@ID@-e2%40bigco.example&country=United+States&employees=1001-5000~$ENT_LOC~$ENT_Q~$ENT_OWNER"
"ca-enterprise~email=@ID@-e3%40maple.example&country=CA&employees=201-500~$ENT_LOC~$ENT_Q~$ENT_OWNER"
"mx-enterprise~email=@ID@-e4%40norte.example&country=MX&employees=5001%2B~$ENT_LOC~$ENT_Q~$ENT_OWNER"
"us-small~email=@ID@-n1%40tiny.example&country=US&employees=11-50~^/confirm$~inbound~^sdr[12]@acme\.example$"
"plg-product~email=@ID@-p1%40startup.example&product=PLG~^/confirm$~plg_sales~^(pat|sam)@acme\.example$"
"plg-plan~email=@ID@-p2%40startup2.example&plan=team&seats=12~^/confirm$~plg_sales~^(pat|sam)@acme\.example$"
"otherwise~email=@ID@-n2%40nobody.example&company=Nobody~^/confirm$~inbound~^sdr[12]@acme\.example$"
"no-owner-account~email=@ID@-n3%40hooli.example~^/confirm$~inbound~^sdr[12]@acme\.example$"
)

# JSON (fetch) posts: name ~ JSON body ~ redirect (ERE) ~ queue ~ outcome
JCASES=(
'json-support~{"email":"@ID@-js@help.example","intent":"support"}~^/support$~drop~page'
'json-customer~{"email":"@ID@-jc@acme.example"}~^/customer$~account_owner~page'
'json-free-mail~{"email":"@ID@-jf@gmail.com","first_name":"Jo"}~^/review$~review~page'
"json-us-enterprise~{\"email\":\"@ID@-je@bigco.example\",\"country\":\"US\",\"employees\":500}~$ENT_LOC~$ENT_Q~scheduler"
'json-plg~{"email":"@ID@-jp@startup.example","product":"PLG","seats":3}~^/confirm$~plg_sales~confirm'
'json-otherwise~{"email":"@ID@-jo@nobody.example"}~^/confirm$~inbound~confirm'
)

FORM=application/x-www-form-urlencoded

# suite ID: everything a server must do, against $BASE and $DB
suite() {
	local id=$1 row name body loc q owner got want lid n

	get /
	check "$id: GET / is 200 text/html" test "$CODE" = 200 -a "${CTYPE%%;*}" = text/html
	check "$id: GET / carries a signed form token" \
		grep -Eq 'name="form_token" value="v1\.[0-9]+\.[0-9a-f]+\.[0-9a-f]{64}"' <<<"$BODY_OUT"
	check "$id: GET / carries an idempotency key" \
		grep -Eq 'name="idempotency_key" value="[0-9a-f-]{36}"' <<<"$BODY_OUT"
	check "$id: GET / has no raw placeholder" eval '! grep -q "{{" <<<"$BODY_OUT"'
	get /index.html
	check "$id: GET /index.html is the form too" grep -q 'name="form_token" value="v1\.' <<<"$BODY_OUT"

	# every rule, as a plain form post
	for row in "${CASES[@]}"; do
		IFS='~' read -r name body loc q owner <<<"$row"
		body=${body//@ID@/$id}
		post /lead "$FORM" "$body"
		check "$id: $name: 303 to $loc (got $CODE $LOC)" \
			eval '[ "$CODE" = 303 ] && [[ $LOC =~ $loc ]]'
		check "$id: $name: Location is the only redirect header" \
			test "$(grep -ci '^location:' <<<"$HEADERS")" = 1
		EXPECT+=("$(printf '%s|%s|%s' "$(sed 's/^email=\([^&]*\).*/\1/; s/%40/@/' <<<"$body")" "$q" "$owner")")
	done

	# JSON posts (fetch)
	for row in "${JCASES[@]}"; do
		IFS='~' read -r name body loc q want <<<"$row"
		body=${body//@ID@/$id}
		post /lead application/json "$body" -H 'Accept: application/json'
		check "$id: $name: 200 application/json" test "$CODE" = 200
		check "$id: $name: answer has exactly lead_id, queue, owner, outcome, redirect" \
			jq -e 'keys == ["lead_id","outcome","owner","queue","redirect"]' <<<"$BODY_OUT" >/dev/null
		got=$(jq -r '"\(.queue)|\(.outcome)|\(.redirect)"' <<<"$BODY_OUT" 2>/dev/null)
		check "$id: $name: queue $q, outcome $want, redirect $loc (got $got)" \
			eval '[ "${got%%|*}" = "$q" ] && [ "$(cut -d"|" -f2 <<<"$got")" = "$want" ] && [[ ${got##*|} =~ $loc ]]'
		lid=$(jq -r .lead_id <<<"$BODY_OUT" 2>/dev/null)
		check "$id: $name: lead_id is a UUID" grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$lid"
		JSON_IDS+=("$lid|$q")
	done

	# a form post asking for JSON (Accept) gets JSON
	post /lead "$FORM" "email=$id-acc%40nobody.example" -H 'Accept: application/json'
	check "$id: form post with Accept: application/json answers 200 JSON" \
		eval '[ "$CODE" = 200 ] && jq -e ".queue == \"inbound\"" <<<"$BODY_OUT" >/dev/null'

	# idempotency: the header, twice -> one lead, the same answer
	local key
	key=$id-key-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	post /lead application/json "{\"email\":\"$id-idem@nobody.example\"}" -H "Idempotency-Key: $key"
	local first=$BODY_OUT
	post /lead application/json "{\"email\":\"$id-idem@nobody.example\"}" -H "Idempotency-Key: $key"
	check "$id: the same Idempotency-Key twice gives the same answer" \
		eval '[ "$CODE" = 200 ] && [ "$(jq -r .lead_id <<<"$first")" = "$(jq -r .lead_id <<<"$BODY_OUT")" ]'
	check "$id: ... and stores one lead" test "$(sql "SELECT count(*) FROM leads WHERE idem_key = '$key'")" = 1
	# the hidden field, twice (a double-clicked plain form)
	key=$id-form-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	post /lead "$FORM" "email=$id-dbl%40bigco2.example&idempotency_key=$key"
	local loc1=$LOC
	post /lead "$FORM" "email=$id-dbl%40bigco2.example&idempotency_key=$key"
	check "$id: a double-submitted form (hidden key) answers 303 twice to one place" \
		eval '[ "$CODE" = 303 ] && [ "$LOC" = "$loc1" ]'
	check "$id: ... and stores one lead" test "$(sql "SELECT count(*) FROM leads WHERE idem_key = '$key'")" = 1
	# the same key with other details: refused (draft-ietf-httpapi-idempotency-
	# key-header), the form again with a fresh key; sending that stores it
	post /lead "$FORM" "email=$id-dbl%40bigco2.example&company=Other+Co&idempotency_key=$key"
	check "$id: the same hidden key with other details: 422 with the form and a message" \
		eval '[ "$CODE" = 422 ] && grep -q "already sent with other details" <<<"$BODY_OUT" && grep -q "value=\"Other Co\"" <<<"$BODY_OUT"'
	local fresh
	fresh=$(sed -n 's/.*name="idempotency_key" value="\([0-9a-f-]*\)".*/\1/p' <<<"$BODY_OUT" | head -n 1)
	check "$id: ... the re-shown form carries a new key" eval '[ -n "$fresh" ] && [ "$fresh" != "$key" ]'
	check "$id: ... and nothing was stored" test "$(sql "SELECT count(*) FROM leads WHERE email = '$id-dbl@bigco2.example'")" = 1
	post /lead "$FORM" "email=$id-dbl%40bigco2.example&company=Other+Co&idempotency_key=$fresh"
	check "$id: ... sending it again stores the new details (got $CODE)" \
		eval '[ "$CODE" = 303 ] && [ "$(sql "SELECT count(*) FROM leads WHERE email = '"'"'$id-dbl@bigco2.example'"'"'")" = 2 ]'
	key=$id-json-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	post /lead application/json "{\"email\":\"$id-j1@nobody.example\",\"country\":\"DE\"}" -H "Idempotency-Key: \"$key\""
	check "$id: a quoted Idempotency-Key (RFC 8941 string) is taken (got $CODE)" test "$CODE" = 200
	post /lead application/json "{\"country\":\"DE\",\"email\":\"$id-j1@nobody.example\"}" -H "Idempotency-Key: $key"
	check "$id: ... the same fields in another order, key unquoted: the first answer" test "$CODE" = 200
	post /lead application/json "{\"email\":\"$id-j1@nobody.example\",\"country\":\"FR\"}" -H "Idempotency-Key: $key"
	check "$id: ... another country under that key: 422 {errors: {idempotency_key}}" \
		eval '[ "$CODE" = 422 ] && jq -e ".errors.idempotency_key" <<<"$BODY_OUT" >/dev/null'
	check "$id: ... one lead under that key" test "$(sql "SELECT count(*) FROM leads WHERE idem_key = '$key'")" = 1

	# a lead that does not validate: 422, the form again, nothing stored
	n=$(sql 'SELECT count(*) FROM leads')
	post /lead "$FORM" "email=not-an-address&first_name=Al"
	check "$id: invalid email: 422 text/html form with the value kept" \
		eval '[ "$CODE" = 422 ] && grep -q "value=\"Al\"" <<<"$BODY_OUT"'
	post /lead application/json '{"email":"nope"}'
	check "$id: invalid email (JSON): 422 {errors: {email}}" \
		eval '[ "$CODE" = 422 ] && jq -e ".errors.email" <<<"$BODY_OUT" >/dev/null'
	check "$id: ... nothing stored" test "$(sql 'SELECT count(*) FROM leads')" = "$n"

	# the server's body limit and a chunked upload (the handler must get a
	# CONTENT_LENGTH from every server: proxy-sendcl, request buffering)
	n=$(sql 'SELECT count(*) FROM leads')
	post /lead "$FORM" "email=$id-big%40nobody.example&message=$(head -c 70000 /dev/zero | tr '\0' m)"
	check "$id: a 70 KB body is refused with 413 (got $CODE)" test "$CODE" = 413
	check "$id: ... nothing stored" test "$(sql 'SELECT count(*) FROM leads')" = "$n"
	# 20 KB (over mod_proxy_fcgi's 16 KiB prefetch) in fields the rules do
	# not know, then the ones they do: all must arrive
	local pad
	pad=$(head -c 8000 /dev/zero | tr '\0' p)
	post /lead "$FORM" "email=$id-chunk%40nobody.example&pad1=$pad&pad2=$pad&pad3=${pad:0:4000}&company=Chunked+Co&first_name=Last" \
		-H 'Transfer-Encoding: chunked'
	check "$id: a chunked 20 KB upload: 303 (got $CODE)" test "$CODE" = 303
	check "$id: ... stored whole" test "$(sql "SELECT json_extract(fields, '\$.company') || '|' || json_extract(fields, '\$.first_name') FROM leads WHERE email = '$id-chunk@nobody.example'")" = "Chunked Co|Last"
	EXPECT+=("$id-chunk@nobody.example|inbound|^sdr[12]@acme\.example$")

	# what leadroute leads list says
	local list
	list=$(lr leads list --json -n 10000)
	check "$id: leadroute leads list --json is a JSON array" jq -e 'type == "array"' <<<"$list" >/dev/null
	local e em
	for e in "${EXPECT[@]}"; do
		IFS='|' read -r em q owner <<<"$e"
		got=$(jq -r --arg e "$em" '[.[] | select(.email == $e)] | if length == 1 then "\(.[0].queue)|\(.[0].owner // "")" else "count=\(length)" end' <<<"$list")
		check "$id: listed once: $em in $q, owner ~ $owner (got $got)" \
			eval '[ "${got%%|*}" = "$q" ] && [[ ${got#*|} =~ $owner ]]'
	done
	for e in "${JSON_IDS[@]}"; do
		IFS='|' read -r lid q <<<"$e"
		got=$(jq -r --arg i "$lid" '[.[] | select(.id == $i)] | if length == 1 then .[0].queue else "count=\(length)" end' <<<"$list")
		check "$id: listed once: lead $lid in $q (got $got)" test "$got" = "$q"
	done
	EXPECT=()
	JSON_IDS=()

	# health, metrics, beacons
	get /healthz
	check "$id: /healthz 200 {status: ok}" \
		eval '[ "$CODE" = 200 ] && jq -e ".status == \"ok\" and .rules.refused == false" <<<"$BODY_OUT" >/dev/null'
	get /metrics
	n=$(sql "SELECT count(*) FROM events WHERE type = 'form_submitted'")
	check "$id: /metrics 200 counts form_submitted ($n)" \
		eval '[ "$CODE" = 200 ] && grep -qx "leadroute_events_total{type=\"form_submitted\"} $n" <<<"$BODY_OUT"'
	check "$id: /metrics has leadroute_rules_refused 0" grep -qx 'leadroute_rules_refused 0' <<<"$BODY_OUT"
	post /event application/json '{"type":"form_view","form":"demo","page":"/"}'
	check "$id: POST /event form_view is 204" test "$CODE" = 204
	check "$id: ... stored as an event" test "$(sql "SELECT count(*) FROM events WHERE type = 'form_view'")" -ge 1

	# static pages
	local p
	for p in confirm customer support review; do
		get /$p
		check "$id: GET /$p is www/$p.html" \
			eval '[ "$CODE" = 200 ] && [ "${CTYPE%%;*}" = text/html ] && [ "$BODY_OUT" = "$(cat "$WWW/$p.html")" ]'
	done
	get /style.css
	check "$id: GET /style.css is text/css" test "$CODE" = 200 -a "${CTYPE%%;*}" = text/css
	get /form.js
	check "$id: GET /form.js is served" test "$CODE" = 200
	get /README
	check "$id: www/README is not served ($CODE)" test "$CODE" = 403 -o "$CODE" = 404
	get /tools/gen-country-options.sh
	check "$id: www/tools/ is not served ($CODE)" test "$CODE" = 403 -o "$CODE" = 404
	get /nothing-here
	check "$id: an unknown path is 404" test "$CODE" = 404
}

EXPECT=()
JSON_IDS=()

# ---- lighttpd (mod_fastcgi spawns the handler) ----
CFG_PROCS=2
new_instance lighttpd
start_lighttpd
say "lighttpd on $BASE"
suite lighttpd
stop_all_and_check

# ---- lighttpd with the time-to-submit check on: a browser's round trip ----
CFG_MIN_SECONDS=2
new_instance lighttpd-token
start_lighttpd
say "lighttpd (LEADROUTE_SPAM_MIN_SECONDS=2) on $BASE"
get /
TOKEN=$(sed -n 's/.*name="form_token" value="\([^"]*\)".*/\1/p' <<<"$BODY_OUT")
IDEM=$(sed -n 's/.*name="idempotency_key" value="\([^"]*\)".*/\1/p' <<<"$BODY_OUT")
check "token: the form has a token and a key" test -n "$TOKEN" -a -n "$IDEM"
post /lead "$FORM" "email=fast%40bigco.example&form_token=$TOKEN&idempotency_key=$IDEM&hp_website2="
check "token: posted at once: answered like a success (303 /confirm)" test "$CODE" = 303 -a "$LOC" = /confirm
check "token: ... stores no lead" test "$(sql 'SELECT count(*) FROM leads')" = 0
check "token: ... records spam_blocked" test "$(sql "SELECT count(*) FROM events WHERE type = 'spam_blocked'")" = 1
post /lead "$FORM" "email=notoken%40bigco.example"
check "token: no token: answered 303, nothing stored" \
	eval '[ "$CODE" = 303 ] && [ "$(sql "SELECT count(*) FROM leads")" = 0 ]'
post /lead "$FORM" "email=forged%40bigco.example&form_token=v1.1700000000.00112233445566778899aabbccddeeff.$(printf '%064d' 0)"
check "token: forged token: answered 303, nothing stored" \
	eval '[ "$CODE" = 303 ] && [ "$(sql "SELECT count(*) FROM leads")" = 0 ]'
sleep 2.5
post /lead "$FORM" "email=human%40nobody.example&first_name=Hu&form_token=$TOKEN&idempotency_key=$IDEM&hp_website2="
check "token: posted after the minimum time: 303 /confirm" test "$CODE" = 303 -a "$LOC" = /confirm
check "token: ... stored once, in inbound" \
	test "$(sql "SELECT count(*) || '|' || max(queue) FROM leads WHERE email = 'human@nobody.example'")" = "1|inbound"
check "token: ... under the form's idempotency key" \
	test "$(sql "SELECT count(*) FROM leads WHERE idem_key = '$IDEM'")" = 1
stop_all_and_check
CFG_MIN_SECONDS=0

# ---- the scheduler URLs, whatever the hour: the example without `hours` ----
sed '/^[[:space:]]*hours[[:space:]]/d' "$RULES" > "$APP/rules/allhours.routes"
chmod a+r "$APP/rules/allhours.routes"
check "allhours: the copy differs from the example by the hours line only" \
	test "$(diff "$RULES" "$APP/rules/allhours.routes" | grep -c '^<')" = 1
EXAMPLE_RULES=$RULES
RULES=$APP/rules/allhours.routes
new_instance lighttpd-allhours
start_lighttpd
say "lighttpd with enterprise_us open at all hours on $BASE"
for i in 1 2 3; do
	post /lead "$FORM" "email=ent$i%40bigco.example&country=US&employees=501-1000"
	check "allhours: US enterprise $i: 303 to a scheduler of the rules (got $CODE $LOC)" \
		eval '[ "$CODE" = 303 ] && [[ $LOC =~ ^https://cal\.example/(ana|ben)$ ]]'
done
post /lead application/json '{"email":"ent4@maple.example","country":"CA","employees":300}'
check "allhours: CA enterprise (JSON): enterprise_us, scheduler" \
	eval 'jq -e ".queue == \"enterprise_us\" and .outcome == \"scheduler\" and (.redirect | test(\"^https://cal\\\\.example/(ana|ben)$\"))" <<<"$BODY_OUT" >/dev/null'
check "allhours: the rotation follows the weights (ana 1, ben 2 of the first 3)" \
	test "$(sql "SELECT group_concat(member || '=' || n, ',') FROM (SELECT member, count(*) AS n FROM (SELECT member FROM leads WHERE email LIKE 'ent_@bigco.example') GROUP BY member ORDER BY member)")" = "ana@acme.example=1,ben@acme.example=2"
check "allhours: the redirect stored matches the member's scheduler" \
	test "$(sql "SELECT count(*) FROM leads WHERE queue = 'enterprise_us' AND redirect <> 'https://cal.example/' || substr(member, 1, instr(member, '@') - 1)")" = 0
stop_all_and_check
RULES=$EXAMPLE_RULES

# ---- Apache mod_fcgid ----
if command -v apache2 >/dev/null 2>&1 && [ -f "$APACHE_MODULES/mod_fcgid.so" ]; then
	new_instance apache-fcgid
	start_apache "$DEPLOY/apache-fcgid.conf"
	say "Apache mod_fcgid on $BASE"
	suite apache-fcgid
	stop_all_and_check
else
	bad "apache2 with mod_fcgid is not installed (tools/install-deps)"
fi

# ---- Apache mod_proxy_fcgi + leadroute.fcgi --listen ----
if command -v apache2 >/dev/null 2>&1 && [ -f "$APACHE_MODULES/mod_proxy_fcgi.so" ]; then
	new_instance apache-proxy
	start_listen
	start_apache "$DEPLOY/apache-proxy-fcgi.conf"
	say "Apache mod_proxy_fcgi on $BASE, handler on $SOCK"
	suite apache-proxy
	stop_all_and_check
else
	bad "apache2 with mod_proxy_fcgi is not installed (tools/install-deps)"
fi

# ---- nginx + spawn-fcgi ----
if command -v nginx >/dev/null 2>&1 && command -v spawn-fcgi >/dev/null 2>&1; then
	new_instance nginx
	start_spawn_fcgi 2
	start_nginx
	say "nginx on $BASE, spawn-fcgi handlers on $SOCK"
	suite nginx
	stop_all_and_check
else
	bad "nginx and spawn-fcgi are not installed (tools/install-deps)"
fi

# ---- plain CGI: one process per request, CGI environment and stdin ----
new_instance cgi
cgi() {   # cgi METHOD PATH_INFO [CONTENT_TYPE BODY [CONTENT_LENGTH]]
	local method=$1 pi=$2 ct=${3:-} body=${4-} cl=${5-}
	printf '%s' "$body" > "$T/cgi-body"
	[ -n "$ct" ] && [ -z "$cl" ] && cl=${#body}
	handler_env
	CGI_OUT=$(cd "$T" && "${AS_USER[@]}" env -i "${HANDLER_ENV[@]}" GATEWAY_INTERFACE=CGI/1.1 \
		SERVER_PROTOCOL=HTTP/1.1 REQUEST_METHOD="$method" SCRIPT_NAME=/cgi-bin/leadroute.fcgi \
		PATH_INFO="$pi" CONTENT_TYPE="$ct" CONTENT_LENGTH="$cl" REMOTE_ADDR=127.0.0.1 \
		"$FCGI" < "$T/cgi-body" | tr -d '\r')
}
cgi GET ""
check "cgi: GET (no PATH_INFO) is the form with a token" \
	eval 'grep -q "^Status: 200" <<<"$CGI_OUT" && grep -q "name=\"form_token\" value=\"v1\." <<<"$CGI_OUT"'
cgi POST /lead "$FORM" "email=cgi-c%40acme.example"
check "cgi: POST /lead customer: 303 /customer" \
	eval 'grep -qx "Status: 303 See Other" <<<"$CGI_OUT" && grep -qx "Location: /customer" <<<"$CGI_OUT"'
cgi POST /lead application/json '{"email":"cgi-p@startup.example","product":"PLG"}'
check "cgi: POST /lead JSON: 200 queue plg_sales" \
	eval 'grep -qx "Status: 200 OK" <<<"$CGI_OUT" && [ "$(sed "1,/^\$/d" <<<"$CGI_OUT" | jq -r .queue)" = plg_sales ]'
cgi GET /healthz
check "cgi: GET /healthz 200" grep -qx "Status: 200 OK" <<<"$CGI_OUT"
n=$(sql 'SELECT count(*) FROM leads')
cgi POST /lead "$FORM" "email=cgi-long%40nobody.example" 100
check "cgi: CONTENT_LENGTH larger than the body: 400" grep -q "^Status: 400" <<<"$CGI_OUT"
cgi POST /lead "$FORM" "email=cgi-short%40nobody.example" 5
check "cgi: CONTENT_LENGTH smaller than the body: 400" grep -q "^Status: 400" <<<"$CGI_OUT"
cgi POST /lead "$FORM" "email=cgi-nan%40nobody.example" 12abc
check "cgi: CONTENT_LENGTH not a number: 400" grep -q "^Status: 400" <<<"$CGI_OUT"
check "cgi: ... none of the three stored" test "$(sql 'SELECT count(*) FROM leads')" = "$n"
list=$(lr leads list --json)
check "cgi: leads list shows both CGI leads" \
	eval '[ "$(jq "[.[] | select(.email | startswith(\"cgi-\"))] | length" <<<"$list")" = 2 ]'

finish
