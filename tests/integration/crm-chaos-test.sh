#!/bin/bash
# crm-chaos-test.sh - 1,000 leads through lighttpd while the CRM misbehaves
# and the outbox worker is SIGKILLed; every answered lead ends in the CRM
# exactly once with the owner the rules chose.  Once for HubSpot, once for
# Salesforce, each against its own fake CRM (tests/crm/fakecrm.py).
#
# For each CRM: the fake, seeded with tests/integration/crm-chaos-seed.json
# (a HubSpot owner and a Salesforce User for every member of
# rules/example.routes; for Salesforce also a User that a Lead assignment
# rule, switched on in the fake, would give every lead to); lighttpd
# (deploy/lighttpd.conf, 4 handler processes) with leadroute.fcgi writing
# to that CRM (HubSpot private-app token, Salesforce client credentials,
# both from 600 files; LEADROUTE_CRM_TIMEOUT_MS 1500, attempts 50, spam
# checks off); and `leadroute outbox run` with the same settings.
# tests/integration/crm-chaos-drive.py then posts the leads (6 connections,
# 20 a second, each with its own key and address, spread over
# every queue of the rules; 1 in 100 with an address the fake refuses for
# good: HubSpot 400 VALIDATION_ERROR INVALID_EMAIL, Salesforce 400
# INVALID_EMAIL_ADDRESS), and as the load goes on takes the CRM down
# (connections refused, then reset), makes it flap (every 3rd request 503,
# every 2nd a 502 page), rate-limits it (429 with Retry-After: 2 and
# without: HubSpot's TEN_SECONDLY_ROLLING pauses it 10 s), slows it (half
# the timeout, and past the timeout so the answer is lost after the
# write), fails it (500s, hung answers), resets every 5th connection,
# expires Salesforce's sessions three times, and SIGKILLs the worker three
# times at random points, starting it again each time.  Then the faults
# are cleared and the test polls (with a deadline) until
# `leadroute outbox list --state pending --json` is empty, stops the worker
# with SIGTERM (it must exit 0) and checks (tests/integration/
# crm-chaos-check.py):
#   - every lead was answered 200 with a lead id, stored exactly once under
#     its key, with exactly one outbox row;
#   - the outbox holds only done rows, with the CRM's record id, plus
#     exactly the refused leads as dead, each with the CRM's 400 and words;
#     crm_status follows; one crm_write_success per delivered lead, one
#     dead_lettered per refused one, crm_dead_letter alerts (rate-limited:
#     raised + held back = refused) and
#     none for any other;
#   - every delivered lead is in the fake exactly once by lead id (HubSpot
#     contact property leadroute_id, Salesforce external id
#     Leadroute_Id__c) and by email, the same record, owned by the stored
#     lead's member (its id in the seed); no assignment rule moved one; no
#     refused lead and nothing unsent is in the fake;
#   - the chaos happened: the fake's request log holds every kind of fault,
#     leadroute's retry events show refused connections, timeouts and
#     429s, and records written twice (lost answers) are still one;
#   - no token or secret in any log, the database or the fake's log; no
#     crash or sanitizer report.
# It prints the counts: leads, delivered on the first attempt and after
# retries, dead, CRM requests by status and route, worker kills.
#
# Under the valgrind stage (LEADROUTE_VALGRIND=1, tools/test-all) the load
# is the same 1,000 leads a CRM, and every worker runs under valgrind: a
# memory error or leak makes the last worker's exit status 99 (and its
# reports land in worker.log), which fails the test; the workers that are
# SIGKILLed are not checked for leaks (they cannot be).  Deadlines are 4
# times longer there.  lighttpd's handler processes run without valgrind
# in that stage, as in every integration test (their memory is checked by
# the sanitizer build).  The load is paced, so a run takes about the same
# time in both builds: some 80 s a CRM on two cores.
# LR_CHAOS_COUNT, LR_CHAOS_RATE and LR_CHAOS_CRMS ("hubspot salesforce")
# override.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need lighttpd
[ -r "$top_srcdir/tests/crm/fakecrm.py" ] || skip "tests/crm/fakecrm.py is not there"
. "$top_srcdir/tests/crm/fakecrm-lib.sh"

DRIVE=$top_srcdir/tests/integration/crm-chaos-drive.py
CHECK=$top_srcdir/tests/integration/crm-chaos-check.py
SEED=$top_srcdir/tests/integration/crm-chaos-seed.json
TIMEOUT_MS=1500
KILLS=3
SCALE=1
VG=()
N=${LR_CHAOS_COUNT:-1000}
# paced so that the load lasts about 50 s, the length of the fault schedule
RATE=${LR_CHAOS_RATE:-$(((N + 49) / 50))}
if [ "${LEADROUTE_VALGRIND:-0}" = 1 ]; then
	need valgrind
	SCALE=4
	VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
		--show-leak-kinds=definite,indirect)
fi
CRMS=${LR_CHAOS_CRMS:-hubspot salesforce}

# secret_file PATH VALUE: a file only the servers' user can read
secret_file() {
	(umask 077 && printf '%s\n' "$2" > "$1")
	own "$1"
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds; fails at the deadline
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.5
	done
}

no_pending() {
	local p
	p=$(lr outbox list --state pending --json -n 100000 2>>"$ST/poll.log") || return 1
	[ "$(jq length <<<"$p")" = 0 ]
}

# sqlj QUERY: the rows as a JSON array ([] when none)
sqlj() {
	local o
	o=$(as_user sqlite3 -json -cmd '.timeout 10000' "$DB" "$1") || return 1
	printf '%s\n' "${o:-[]}"
}

run_crm() {
	local crm=$1 t0=$SECONDS
	CFG_PROCS=4
	CFG_RATE=0
	CFG_MIN_SECONDS=0
	new_instance "$crm"
	local fake_args=(--seed "$SEED") env=(LEADROUTE_CRM="$crm"
		LEADROUTE_CRM_TIMEOUT_MS="$TIMEOUT_MS" LEADROUTE_OUTBOX_MAX_ATTEMPTS=50)
	local secret
	case $crm in
	hubspot)
		secret="pat-na1-chaos-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
		# a window as large as the load: at HubSpot's 190 calls per 10 s the
		# headers would pause the CRM (as they should; hubspot-test.sh checks
		# it) and the fault schedule would play to an idle connector
		fake_args+=(--hs-token "$secret" --hs-contact-property leadroute_id --hs-burst-max 100000)
		secret_file "$ST/hubspot-token" "$secret"
		;;
	salesforce)
		secret="chaos-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
		fake_args+=(--sf-client-id leadroute-chaos --sf-client-secret "$secret"
			--sf-assignment-rule-owner 00550000000RULE)
		secret_file "$ST/sf-secret" "$secret"
		;;
	esac
	fakecrm_start "$ST/fake" "${fake_args[@]}" || die "$crm: the fake CRM did not start"
	case $crm in
	hubspot)
		env+=(LEADROUTE_HUBSPOT_URL="$FAKECRM_URL" LEADROUTE_HUBSPOT_TOKEN_FILE="$ST/hubspot-token") ;;
	salesforce)
		env+=(LEADROUTE_SALESFORCE_LOGIN_URL="$FAKECRM_URL"
			LEADROUTE_SALESFORCE_CLIENT_ID=leadroute-chaos
			LEADROUTE_SALESFORCE_CLIENT_SECRET_FILE="$ST/sf-secret") ;;
	esac

	# lighttpd: deploy/lighttpd.conf with the CRM settings added to the
	# handler's environment
	render "$DEPLOY/lighttpd.conf" "$ST/lighttpd.conf.in"
	local kv lines=""
	for kv in "${env[@]}"; do
		lines+="            \"${kv%%=*}\" => \"${kv#*=}\","$'\n'
	done
	awk -v add="$lines" '{ print } /"LEADROUTE_LOG"/ { printf "%s", add }' \
		"$ST/lighttpd.conf.in" > "$ST/lighttpd.conf"
	grep -q '"LEADROUTE_CRM" =>' "$ST/lighttpd.conf" || die "$crm: the CRM settings are not in lighttpd.conf"
	lighttpd -tt -f "$ST/lighttpd.conf" >> "$ST/server.log" 2>&1 || { show_logs; die "lighttpd: bad config"; }
	start_bg "$ST/server.log" lighttpd -D -f "$ST/lighttpd.conf"
	wait_http "$BASE/healthz" $((20 * SCALE)) || { show_logs; die "lighttpd did not come up on $BASE"; }
	say "$crm: fake CRM on $FAKECRM_URL, lighttpd (4 handler processes) on $BASE; $N leads"

	# the load, the faults and the worker
	local worker=("${AS_USER[@]}" env -i PATH="$PATH" LEADROUTE_DB="$DB" "${env[@]}"
		"${VG[@]}" "$LR" outbox run)
	local pause_cmd
	pause_cmd=$(printf '%q ' "${AS_USER[@]}" sqlite3 -cmd '.timeout 10000' "$DB" \
		"SELECT coalesce(max(until_ms), 0) FROM crm_pause")
	start_bg "$ST/drive.log" python3 -B "$DRIVE" --port "$PORT" --fake "$FAKECRM_URL" \
		--crm "$crm" --count "$N" --rate "$RATE" --concurrency 6 --timeout-ms "$TIMEOUT_MS" \
		--kills "$KILLS" --stop-seconds $((15 * SCALE)) --dir "$ST" --pause-cmd "$pause_cmd" \
		-- "${worker[@]}"
	local drive_pid=$LAST_PID
	if ! wait_for $(((N / RATE + 240) * SCALE)) test -e "$ST/load.done"; then
		tail -n 30 "$ST/drive.log"
		die "$crm: the load did not end in time"
	fi
	sed "s/^/$TEST_NAME: $crm: /" "$ST/drive.log"
	check "$crm: the fault schedule ran and was cleared" test "$(cat "$ST/load.done")" = ok
	local t_load=$((SECONDS - t0))

	# the CRM is well again: wait until the worker has delivered everything
	if wait_for $((240 * SCALE)) no_pending; then
		ok "$crm: the outbox has no pending row $((SECONDS - t0 - t_load)) s after the load"
	else
		bad "$crm: the outbox still has pending rows $((240 * SCALE)) s after the load"
		lr outbox list --state pending -n 10
	fi
	stop_pid "$drive_pid" $((30 * SCALE))
	local wrc
	wrc=$(cat "$ST/worker.rc" 2>/dev/null)
	check "$crm: the last worker stops on SIGTERM with status 0 (was $wrc)" test "$wrc" = 0

	# what there is to check
	sqlj "SELECT id, idem_key, email, status, queue, member, owner, crm_status FROM leads" \
		> "$ST/db-leads.json"
	sqlj "SELECT id, lead_id, state, attempts, last_error, record_id, http_status FROM outbox" \
		> "$ST/db-outbox.json"
	sqlj "SELECT lead_id, type, data FROM events WHERE type IN
		('crm_write_success', 'crm_write_failure', 'dead_lettered', 'alert')" > "$ST/db-events.json"
	sqlj "SELECT kind, key, suppressed FROM alert_state" > "$ST/db-alert-state.json"
	lr outbox list --state pending --json -n 100000 > "$ST/pending.json"
	lr outbox list --state dead --json -n 100000 > "$ST/dead.json"
	fakecrm_ctl GET /records > "$ST/records.json" || bad "$crm: the fake's records"
	python3 -B "$CHECK" "$ST" "$crm" "$SEED" "$TIMEOUT_MS" "$KILLS" > "$ST/verdict.txt" 2>&1 ||
		bad "$crm: crm-chaos-check.py failed: $(tail -n 3 "$ST/verdict.txt")"
	local line
	while IFS= read -r line; do
		case $line in
		"ok   "*) ok "$crm: ${line#ok   }" ;;
		"FAIL "*) bad "$crm: ${line#FAIL }" ;;
		*) say "$crm: $line" ;;
		esac
	done < "$ST/verdict.txt"

	# no secret anywhere
	local leaks="" f
	for f in "$ST"/*.log "$ST/fake/requests.jsonl" "$ST/fake/records.json" "$ST"/*.json; do
		[ -f "$f" ] && grep -qF -- "$secret" "$f" && leaks+=" $f"
	done
	as_user sqlite3 "$DB" .dump | grep -qF -- "$secret" && leaks+=" the database"
	check "$crm: the ${crm} secret is in no log, no database row and not in the fake's log${leaks:+: $leaks}" \
		test -z "$leaks"
	grep -aqE '==[0-9]+== ' "$ST/worker.log" && bad "$crm: valgrind reported on a worker: $(grep -aE '==[0-9]+== ' "$ST/worker.log" | head -n 5)"

	stop_all_and_check
	fakecrm_stop
	say "$crm: done in $((SECONDS - t0)) s (load $t_load s)"
}

for crm in $CRMS; do
	run_crm "$crm"
done
finish
