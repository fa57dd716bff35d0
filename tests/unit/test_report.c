/* test_report - the routing review's figures (src/report/report.h) from a
 * database filled here with known leads, events, outbox rows and account
 * conflicts, every expected number derived by hand in the comments; the
 * nearest-rank percentile; --since parsing; the empty database; the text
 * and HTML renderings (no NaN, escaped text, one bar per route).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"

#define DAY 86400000LL
#define T0 1700000000000LL          /* the window's end */
#define B (T0 - DAY)                /* the leads' base time, inside the window */
/* 60 two-byte characters */
#define E10 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define LONG_NAME E10 E10 E10 E10 E10 E10

static char dir[256], db[300], rules[300];
static struct store *s;

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/lr-report.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/leads.db", dir);
	snprintf(rules, sizeof rules, "%s/r.routes", dir);
	char err[512];
	s = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(s);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void lead(const char *id, const char *queue, int rule_line, int64_t at)
{
	struct store_lead l = { .created_ms = at, .email = "a@b.example", .fields_json = "{}",
	                        .status = "routed", .queue = queue, .outcome = "confirm",
	                        .rule_line = rule_line, .response_json = "{}" };
	snprintf(l.id, sizeof l.id, "%s", id);
	assert_int_equal(store_lead_insert(s, &l), 0);
	assert_int_equal(store_event(s, id, "form_submitted", at, NULL), 0);
}

static void ev(const char *id, const char *type, int64_t at, const char *data)
{
	assert_int_equal(store_event(s, id, type, at, data), 0);
}

static void assigned(const char *id, int64_t at, int fallbacks)
{
	char data[160];
	snprintf(data, sizeof data, "{\"queue\":\"q\",\"member\":\"m@x.example\",\"rule_line\":1,"
	         "\"fallbacks\":%d}", fallbacks);
	ev(id, "owner_assigned", at, data);
}

static void confirmed(const char *id, int64_t at, int ms)
{
	char data[160];
	snprintf(data, sizeof data, "{\"crm\":\"local\",\"attempt\":1,\"ms_since_submit\":%d}", ms);
	ev(id, "crm_write_success", at, data);
}

static void conflict(const char *domain, const char *lost_id, const char *lost_owner,
                     const char *kept_id, const char *kept_owner, int64_t at)
{
	struct store_account lost = { domain, lost_id, lost_owner, NULL, NULL };
	struct store_account kept = { domain, kept_id, kept_owner, NULL, NULL };
	assert_int_equal(store_account_conflict_add(s, &lost, &kept, at), 0);
}

/* The data set (see each line):
 *   L1 enterprise rule 10: assigned +100, CRM 500 ms, shown, booked
 *   L2 enterprise rule 10: assigned +300 through 1 fallback, CRM 900, shown,
 *      reassigned afterwards
 *   L3 enterprise rule 12: assigned +200, CRM 700; a lead_reassigned BEFORE
 *      the assignment (does not count)
 *   L4 inbound rule 20: unassigned, its CRM payload asks for owner review
 *   L5 review rule 30: assigned +50 (review by queue name)
 *   L6 inbound rule 20, 20 days old: outside the window
 *   L7 inbound rule 20: assigned +1000 through 2 fallbacks, CRM 100 then a
 *      second success with 9999 (the first counts)
 * and events without leads, outbox rows, account conflicts. */
static void fill(void)
{
	assert_int_equal(store_begin(s), 0);
	lead("L1", "enterprise", 10, B);
	assigned("L1", B + 100, 0);
	confirmed("L1", B + 500, 500);
	ev("L1", "scheduler_shown", B + 100, "{\"queue\":\"enterprise\"}");
	ev("L1", "meeting_booked", B + 90000, NULL);

	lead("L2", "enterprise", 10, B + 1000);
	assigned("L2", B + 1300, 1);
	confirmed("L2", B + 1900, 900);
	ev("L2", "scheduler_shown", B + 1300, "{\"queue\":\"enterprise\"}");
	ev("L2", "lead_reassigned", B + 5000, "{\"from\":\"m\",\"to\":\"n\",\"source\":\"crm\"}");

	lead("L3", "enterprise", 12, B + 2000);
	ev("L3", "lead_reassigned", B + 2100, "not json");
	assigned("L3", B + 2200, 0);
	confirmed("L3", B + 2700, 700);

	lead("L4", "inbound", 20, B + 3000);
	ev("L4", "lead_unassigned", B + 3000, "{\"queue\":\"inbound\",\"member\":null,"
	   "\"rule_line\":20,\"fallbacks\":0}");
	assert_int_equal(store_outbox_add(s, "L4", "crm", "{\"lead_id\":\"L4\",\"review_owner\":true}",
	                                  B + 3000, NULL), 0);

	lead("L5", "review", 30, B + 4000);
	assigned("L5", B + 4050, 0);
	assert_int_equal(store_outbox_add(s, "L5", "crm", "{\"review_owner\":false}", B + 4000,
	                                  NULL), 0);

	lead("L6", "inbound", 20, T0 - 20 * DAY);
	assigned("L6", T0 - 20 * DAY + 5, 3);

	lead("L7", "inbound", 20, B + 5000);
	assigned("L7", B + 6000, 2);
	confirmed("L7", B + 5100, 100);
	confirmed("L7", B + 60000, 9999);

	/* intake: 6 form_submitted in the window (L1-L5, L7; L6's is old) */
	ev(NULL, "validation_failed", B + 10, "{\"fields\":[\"email\",\"country\"]}");
	ev(NULL, "validation_failed", B + 20, "{\"fields\":[\"email\"]}");
	ev(NULL, "validation_failed", B + 30, "not json");
	ev(NULL, "validation_failed", T0 - 30 * DAY, "{\"fields\":[\"phone\"]}");
	ev(NULL, "validation_failed", T0 + 10, "{\"fields\":[\"phone\"]}");   /* after the end */

	/* CRM: 2 failures and 1 dead letter in the window, one failure before */
	ev("L1", "crm_write_failure", B + 200, "{\"crm\":\"hubspot\",\"attempt\":1}");
	ev("L2", "crm_write_failure", B + 1200, "{\"crm\":\"hubspot\",\"attempt\":1}");
	ev("L6", "crm_write_failure", T0 - 20 * DAY, NULL);
	ev("L4", "dead_lettered", B + 8000, "{\"crm\":\"hubspot\",\"attempt\":9}");
	int64_t row = 0;
	assert_int_equal(store_outbox_add(s, "L7", "crm", "{}", B + 5000, &row), 0);
	assert_int_equal(store_outbox_dead(s, row, "L7", "gone", 410, B + 9000), 0);

	/* the account index: beta.io twice (owners differ), acme.com once
	 * (same owner), gamma.com before the window */
	conflict("beta.io", "B1", "bob@x.example", "B2", "carl@x.example", T0 - 2000);
	conflict("acme.com", "A2", "ann@x.example", "A1", "ann@x.example", T0 - 1000);
	conflict("beta.io", "B3", "bob@x.example", "B2", "carl@x.example", T0 - 500);
	conflict("gamma.com", "G1", NULL, "G2", NULL, T0 - 30 * DAY);
	assert_int_equal(store_commit(s), 0);

	FILE *f = fopen(rules, "w");
	assert_non_null(f);
	for (int line = 1; line <= 31; line++) {
		if (line == 10)
			fprintf(f, "  when country = US and employees > 200 -> enterprise   \n");
		else if (line == 12)
			fprintf(f, "when email_domain = \"<b>&co\" -> enterprise\n");
		else if (line == 20)
			fprintf(f, "otherwise -> inbound\n");
		else if (line == 30)   /* a long line: cut in the text table, not mid-character */
			fprintf(f, "when company = \"x%s\" -> review\n", LONG_NAME);
		else
			fprintf(f, "# line %d\n", line);
	}
	assert_int_equal(fclose(f), 0);
}

static const struct report_route *route(const struct report *r, const char *q)
{
	for (size_t i = 0; i < r->n_routes; i++)
		if (strcmp(r->routes[i].queue, q) == 0)
			return &r->routes[i];
	fail_msg("no route %s", q);
	return NULL;
}

static void test_figures(void **state)
{
	(void)state;
	fill();
	struct report r;
	char err[512];
	assert_int_equal(report_compute(db, T0 - 14 * DAY, T0, rules, &r, err, sizeof err), 0);

	/* L1-L5, L7; assigned L1 L2 L3 L5 L7; L2 reassigned afterwards */
	assert_int_equal(r.leads, 6);
	assert_int_equal(r.assigned, 5);
	assert_int_equal(r.reassigned, 1);
	assert_int_equal(r.first_pass, 4);
	assert_int_equal(r.unassigned, 1);      /* L4 */
	assert_int_equal(r.fallback, 2);        /* L2, L7 */
	assert_int_equal(r.review, 2);          /* L4 by payload, L5 by queue */
	assert_int_equal(r.shown, 2);
	assert_int_equal(r.booked, 1);

	/* routes by leads: enterprise 3, inbound 2, review 1 */
	assert_int_equal(r.n_routes, 3);
	assert_string_equal(r.routes[0].queue, "enterprise");
	assert_string_equal(r.routes[1].queue, "inbound");
	assert_string_equal(r.routes[2].queue, "review");
	const struct report_route *e = route(&r, "enterprise"), *in = route(&r, "inbound"),
	                          *rv = route(&r, "review");
	assert_int_equal(e->leads, 3);
	assert_int_equal(e->assigned, 3);
	assert_int_equal(e->first_pass, 2);
	assert_int_equal(e->fallback, 1);
	assert_int_equal(e->shown, 2);
	assert_int_equal(e->booked, 1);
	/* enterprise to owner: 100 200 300 -> median rank 2 = 200, p90 rank 3 = 300 */
	assert_int_equal(e->to_owner.n, 3);
	assert_int_equal(e->to_owner.p50_ms, 200);
	assert_int_equal(e->to_owner.p90_ms, 300);
	/* to CRM: 500 700 900 */
	assert_int_equal(e->to_crm.p50_ms, 700);
	assert_int_equal(e->to_crm.p90_ms, 900);
	assert_int_equal(in->leads, 2);
	assert_int_equal(in->assigned, 1);
	assert_int_equal(in->unassigned, 1);
	assert_int_equal(in->review, 1);
	assert_int_equal(in->to_owner.p50_ms, 1000);
	assert_int_equal(in->to_crm.n, 1);
	assert_int_equal(in->to_crm.p90_ms, 100);   /* L7's first success */
	assert_int_equal(rv->to_owner.p50_ms, 50);
	assert_int_equal(rv->to_crm.n, 0);
	assert_int_equal(rv->review, 1);
	/* all to owner: 50 100 200 300 1000 -> rank 3 = 200, rank 5 = 1000 */
	assert_int_equal(r.to_owner.n, 5);
	assert_int_equal(r.to_owner.p50_ms, 200);
	assert_int_equal(r.to_owner.p90_ms, 1000);
	/* all to CRM: 100 500 700 900 -> rank 2 = 500, rank 4 = 900 */
	assert_int_equal(r.to_crm.n, 4);
	assert_int_equal(r.to_crm.p50_ms, 500);
	assert_int_equal(r.to_crm.p90_ms, 900);

	/* rules by leads, then line: 10 (2), 20 (2), 12 (1), 30 (1) */
	assert_int_equal(r.n_rules, 4);
	assert_int_equal(r.rules[0].line, 10);
	assert_int_equal(r.rules[1].line, 20);
	assert_int_equal(r.rules[2].line, 12);
	assert_int_equal(r.rules[3].line, 30);
	assert_int_equal(r.rules[0].leads, 2);
	assert_int_equal(r.rules[0].fallback, 1);
	assert_int_equal(r.rules[1].unassigned, 1);
	assert_int_equal(r.rules[1].fallback, 1);
	assert_int_equal(r.rules[1].review, 1);
	assert_int_equal(r.rules[3].review, 1);
	assert_string_equal(r.rules[0].text, "when country = US and employees > 200 -> enterprise");
	assert_string_equal(r.rules[1].text, "otherwise -> inbound");
	assert_string_equal(r.rules[3].text, "when company = \"x" LONG_NAME "\" -> review");
	assert_non_null(strstr(r.rules_note, "r.routes"));

	const struct report_rule *top[3];
	assert_int_equal(report_top_rules(&r, REPORT_REVIEW, top, 3), 2);
	assert_int_equal(top[0]->line, 20);
	assert_int_equal(top[1]->line, 30);
	assert_int_equal(report_top_rules(&r, REPORT_FALLBACK, top, 1), 1);
	assert_int_equal(top[0]->line, 10);
	assert_int_equal(report_top_rules(&r, REPORT_UNASSIGNED, top, 3), 1);
	assert_int_equal(top[0]->line, 20);

	/* intake: 6 submitted, 3 failed in the window; email 2, country 1 */
	assert_int_equal(r.submitted, 6);
	assert_int_equal(r.validation_failed, 3);
	assert_int_equal(r.n_fields, 2);
	assert_string_equal(r.fields[0].name, "email");
	assert_int_equal(r.fields[0].failures, 2);
	assert_string_equal(r.fields[1].name, "country");
	assert_int_equal(r.fields[1].failures, 1);

	assert_int_equal(r.crm_failures, 2);
	assert_int_equal(r.dead_lettered, 1);
	assert_int_equal(r.outbox_dead, 1);

	/* conflicts in the window: beta.io (2 rows, newest lost B3), acme.com */
	assert_int_equal(r.conflict_rows, 3);
	assert_int_equal(r.n_conflicts, 2);
	assert_string_equal(r.conflicts[0].domain, "beta.io");
	assert_int_equal(r.conflicts[0].rows, 2);
	assert_int_equal(r.conflicts[0].owner_differs, 1);
	assert_string_equal(r.conflicts[0].lost_account, "B3");
	assert_string_equal(r.conflicts[0].kept_account, "B2");
	assert_string_equal(r.conflicts[0].kept_owner, "carl@x.example");
	assert_int_equal(r.conflicts[0].last_ms, T0 - 500);
	assert_string_equal(r.conflicts[1].domain, "acme.com");
	assert_int_equal(r.conflicts[1].owner_differs, 0);

	/* the text: figures as computed, no NaN */
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	assert_non_null(m);
	assert_int_equal(report_render_text(&r, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_non_null(strstr(text, "6 leads: 5 assigned, 1 unassigned, 2 through a fallback, "
	                       "2 for review"));
	assert_non_null(strstr(text, "First-pass correct owner: 80.0% (4 of 5"));
	assert_non_null(strstr(text, "3 of 9 submissions failed (33.3%)"));
	assert_null(strstr(text, "nan"));
	const char *cut = strstr(text, "...");
	assert_non_null(cut);
	assert_true(((unsigned char)cut[-1] & 0xC0) != 0xC0);   /* not after a lead byte */
	free(text);

	/* the page: one route bar per route, no script, escaped rule text */
	text = NULL;
	m = open_memstream(&text, &len);
	assert_non_null(m);
	assert_int_equal(report_render_html(&r, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_null(strstr(text, "<script"));
	assert_non_null(strstr(text, "&lt;b&gt;&amp;co"));
	assert_null(strstr(text, "<b>&co"));
	const char *svg = strstr(text, "<svg id=\"chart-routes\"");
	assert_non_null(svg);
	const char *end = strstr(svg, "</svg>");
	int bars = 0;
	for (const char *p = svg; (p = strstr(p, "<rect class=\"bar")) && p < end; p++)
		bars++;
	assert_int_equal(bars, 3);
	/* all charts: 3 routes + 4 rules + 3x2 owner + 2x2 CRM + 1x2 scheduler */
	bars = 0;
	for (const char *p = text; (p = strstr(p, "<rect class=\"bar")); p++)
		bars++;
	assert_int_equal(bars, 19);
	free(text);
	report_free(&r);

	/* a shorter window: only what happened in the last 12 hours (none of
	 * the leads; the conflicts are) */
	assert_int_equal(report_compute(db, T0 - 12 * 3600000LL, T0, NULL, &r, err, sizeof err),
	                 0);
	assert_int_equal(r.leads, 0);
	assert_int_equal(r.n_conflicts, 2);
	assert_non_null(strstr(r.rules_note, "LEADROUTE_RULES is not set"));
	assert_false(report_is_empty(&r));
	report_free(&r);
}

static void test_empty_database(void **state)
{
	(void)state;
	struct report r;
	char err[512];
	assert_int_equal(report_compute(db, T0 - 14 * DAY, T0, "/nonexistent/x.routes", &r, err,
	                                sizeof err), 0);
	assert_true(report_is_empty(&r));
	assert_int_equal(r.n_routes, 0);
	assert_int_equal(r.to_owner.n, 0);
	assert_non_null(strstr(r.rules_note, "cannot read"));
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	assert_non_null(m);
	assert_int_equal(report_render_text(&r, m), 0);
	assert_int_equal(report_render_html(&r, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_non_null(strstr(text, "Nothing in the window"));
	assert_null(strstr(text, "nan"));
	assert_null(strstr(text, "NaN"));
	free(text);
	report_free(&r);
}

static void test_bad_databases(void **state)
{
	(void)state;
	struct report r;
	char err[512], path[400];
	snprintf(path, sizeof path, "%s/missing.db", dir);
	assert_int_equal(report_compute(path, 0, T0, NULL, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "missing.db"));
	snprintf(path, sizeof path, "%s/empty.db", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(report_compute(path, 0, T0, NULL, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a leadroute database"));
}

/* The store's side: a domain stored under another account is recorded, the
 * same account again or an account without an id is not. */
static void test_put_noting_conflict(void **state)
{
	(void)state;
	struct store_account a1 = { "acme.com", "A1", "ann@x.example", NULL, NULL };
	struct store_account a2 = { "acme.com", "A2", "bob@x.example", NULL, NULL };
	struct store_account anon = { "acme.com", NULL, "carl@x.example", NULL, NULL };
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_account_put_noting_conflict(s, &a1, T0 - 300), 0);
	assert_int_equal(store_account_put_noting_conflict(s, &a1, T0 - 200), 0);
	assert_int_equal(store_account_put_noting_conflict(s, &a2, T0 - 100), 1);
	assert_int_equal(store_account_put_noting_conflict(s, &anon, T0 - 50), 0);
	assert_int_equal(store_commit(s), 0);
	struct store_account got;
	assert_int_equal(store_account_get(s, "acme.com", &got), 1);
	assert_string_equal(got.owner, "carl@x.example");   /* the index keeps the newest */

	struct report r;
	char err[512];
	assert_int_equal(report_compute(db, T0 - DAY, T0, NULL, &r, err, sizeof err), 0);
	assert_int_equal(r.conflict_rows, 1);
	assert_int_equal(r.n_conflicts, 1);
	assert_string_equal(r.conflicts[0].domain, "acme.com");
	assert_string_equal(r.conflicts[0].lost_account, "A1");
	assert_string_equal(r.conflicts[0].lost_owner, "ann@x.example");
	assert_string_equal(r.conflicts[0].kept_account, "A2");
	assert_string_equal(r.conflicts[0].kept_owner, "bob@x.example");
	assert_int_equal(r.conflicts[0].owner_differs, 1);
	report_free(&r);
}

static void test_percentile(void **state)
{
	(void)state;
	int64_t four[] = { 1, 2, 3, 4 }, ten[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, one[] = { 7 };
	assert_int_equal(report_percentile(four, 4, 50), 2);
	assert_int_equal(report_percentile(four, 4, 90), 4);
	assert_int_equal(report_percentile(ten, 10, 50), 5);
	assert_int_equal(report_percentile(ten, 10, 90), 9);
	assert_int_equal(report_percentile(ten, 10, 100), 10);
	assert_int_equal(report_percentile(one, 1, 50), 7);
	assert_int_equal(report_percentile(one, 1, 90), 7);
	assert_int_equal(report_percentile(NULL, 0, 50), 0);
}

static void test_since(void **state)
{
	(void)state;
	int64_t ms = -1;
	assert_int_equal(report_parse_since("14d", &ms), 0);
	assert_int_equal(ms, 14 * DAY);
	assert_int_equal(report_parse_since("36h", &ms), 0);
	assert_int_equal(ms, 36 * 3600000LL);
	const char *bad[] = { "", "14", "d", "-1d", "+1d", "0d", "1.5d", "14dd", "14 d", "3x",
	                      "99999999999999999999d", "999999999999999d" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ms = -1;
		assert_int_equal(report_parse_since(bad[i], &ms), -1);
		assert_int_equal(ms, -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_figures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_databases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_noting_conflict, setup, teardown),
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_since),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
