# tests/report/seed.sh - a database with known figures for `leadroute
# report` (bash; sourced by report-test.sh and tests/browser/report-test.sh).
#
#   report_seed LEADROUTE DB
#       creates DB with the leadroute command (LEADROUTE is its argv, an
#       array name) and fills it through sqlite3, times relative to now:
#         l1 enterprise_us rule 9, 2 days ago: assigned +150 ms, CRM 400 ms,
#            scheduler shown, meeting booked
#         l2 enterprise_us rule 9: assigned +250 ms, CRM 800 ms, scheduler
#            shown, reassigned in the CRM afterwards
#         l3 inbound rule 12: unassigned, its CRM payload asks for review
#         l4 inbound rule 12: assigned +50 ms through one fallback
#         l5 enterprise_us rule 9, 20 days ago: assigned (only in 30d)
#       form_submitted for each lead; validation_failed with ["email"] and
#       one crm_write_failure and one dead_lettered, 2 days ago.
#   REPORT_SEED_ROUTES    the routes of the last 14 days, most leads first
#   report_seed_rules FILE  a rules file whose line 9 and 12 are the rules

REPORT_SEED_ROUTES=(enterprise_us inbound)

report_seed() {
	local -n lr_cmd=$1
	local db=$2 now
	LEADROUTE_DB=$db "${lr_cmd[@]}" leads list > /dev/null || return 1
	now=$(($(date +%s) * 1000))
	sqlite3 "$db" <<SQL || return 1
BEGIN;
INSERT INTO leads (id, created_ms, email, fields, status, queue, rule_line)
VALUES ('l1', $now - 172800000, 'a@one.example', '{}', 'routed', 'enterprise_us', 9),
       ('l2', $now - 172799000, 'b@one.example', '{}', 'routed', 'enterprise_us', 9),
       ('l3', $now - 172798000, 'c@two.example', '{}', 'unassigned', 'inbound', 12),
       ('l4', $now - 172797000, 'd@two.example', '{}', 'routed', 'inbound', 12),
       ('l5', $now - 1728000000, 'e@old.example', '{}', 'routed', 'enterprise_us', 9);
INSERT INTO events (lead_id, type, at_ms, data) SELECT id, 'form_submitted', created_ms, NULL
  FROM leads;
INSERT INTO events (lead_id, type, at_ms, data) VALUES
  ('l1', 'owner_assigned', $now - 172800000 + 150, '{"queue":"enterprise_us","member":"m1","rule_line":9,"fallbacks":0}'),
  ('l1', 'crm_write_success', $now - 172800000 + 400, '{"crm":"local","ms_since_submit":400}'),
  ('l1', 'scheduler_shown', $now - 172800000 + 150, '{"queue":"enterprise_us"}'),
  ('l1', 'meeting_booked', $now - 172000000, NULL),
  ('l2', 'owner_assigned', $now - 172799000 + 250, '{"queue":"enterprise_us","member":"m2","rule_line":9,"fallbacks":0}'),
  ('l2', 'crm_write_success', $now - 172799000 + 800, '{"crm":"local","ms_since_submit":800}'),
  ('l2', 'scheduler_shown', $now - 172799000 + 250, '{"queue":"enterprise_us"}'),
  ('l2', 'lead_reassigned', $now - 172000000, '{"from":"m2","to":"m9","source":"crm"}'),
  ('l3', 'lead_unassigned', $now - 172798000, '{"queue":"inbound","member":null,"rule_line":12,"fallbacks":0}'),
  ('l4', 'owner_assigned', $now - 172797000 + 50, '{"queue":"inbound","member":"m3","rule_line":12,"fallbacks":1}'),
  ('l5', 'owner_assigned', $now - 1728000000 + 10, '{"queue":"enterprise_us","member":"m1","rule_line":9,"fallbacks":0}'),
  (NULL, 'validation_failed', $now - 172790000, '{"fields":["email"]}'),
  ('l1', 'crm_write_failure', $now - 172790000, '{"crm":"hubspot","attempt":1}'),
  ('l2', 'dead_lettered', $now - 172790000, '{"crm":"hubspot","attempt":9}');
INSERT INTO outbox (lead_id, kind, payload, due_ms, created_ms, updated_ms)
VALUES ('l3', 'crm', '{"lead_id":"l3","review_owner":true}', $now, $now, $now);
COMMIT;
SQL
}

report_seed_rules() {
	local i
	for i in $(seq 1 14); do
		case $i in
		9) echo 'when country = US and employees > 200 -> enterprise_us then scheduler' ;;
		12) echo 'otherwise -> inbound then confirm' ;;
		*) echo "# line $i" ;;
		esac
	done > "$1"
}
