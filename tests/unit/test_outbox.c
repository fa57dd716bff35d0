/* test_outbox - the outbox's claim, delivery and settlement
 * (src/outbox/outbox.h) against a scripted connector.
 *
 * This program defines crm_name and crm_deliver itself, so the linker takes
 * them instead of the real connectors: each delivery answers what the
 * script says next.  Checked: done, retry with backoff, a rate limit
 * pausing the CRM, a spent budget read from a success pausing it, dead letters (at once, and after the attempts run out)
 * with their alert, revive, leases, and a long random run in which every
 * row ends done or dead and nothing is delivered after it is settled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "crm/crm.h"
#include "outbox/outbox.h"
#include "store/store.h"

/* ---- the scripted connector ---- */

struct crm {
	struct crm_result next[64];
	int n_next, pos;
	int calls;
	char last_lead[64];
};

const char *crm_name(const struct crm *c)
{
	(void)c;
	return "scripted";
}

int crm_deliver(struct crm *c, const char *payload_json, struct crm_result *res)
{
	c->calls++;
	snprintf(c->last_lead, sizeof c->last_lead, "%s", payload_json);
	if (c->pos < c->n_next)
		*res = c->next[c->pos++];
	else
		*res = (struct crm_result){ .status = CRM_DONE, .http_status = 200, .record_id = "r" };
	return res->status == CRM_DONE ? 0 : -1;
}

static void script(struct crm *c, enum crm_status st, int http, int64_t retry_after,
                   const char *msg)
{
	struct crm_result *r = &c->next[c->n_next++];
	memset(r, 0, sizeof *r);
	r->status = st;
	r->http_status = http;
	r->retry_after_ms = retry_after;
	snprintf(r->message, sizeof r->message, "%s", msg);
	if (st == CRM_DONE)
		snprintf(r->record_id, sizeof r->record_id, "rec-%d", c->n_next);
}

/* ---- fixtures ---- */

static char dir[64], db[128];
static struct store *s;
static struct outbox_policy pol;
static const int64_t T0 = 1800000000000;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/lr-outbox.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/leads.db", dir);
	char err[512];
	s = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s);
	outbox_policy_default(&pol, 1000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(s);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* A lead and its outbox row, created at `at`; the payload is the lead id. */
static void add_lead(const char *id, int64_t at)
{
	struct store_lead l = { .created_ms = at, .email = "a@b.example", .fields_json = "{}",
	                        .status = "routed", .queue = "q", .outcome = "confirm",
	                        .redirect = "/confirm", .response_json = "{}" };
	snprintf(l.id, sizeof l.id, "%s", id);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_lead_insert(s, &l), 0);
	assert_int_equal(store_outbox_add(s, id, "crm", id, at, NULL), 0);
	assert_int_equal(store_commit(s), 0);
}

struct row_view {
	char state[16], crm_status[16];
	int attempts;
	int64_t due_ms;
};

static int first_row(void *ctx, const struct store_outbox_row *r)
{
	struct row_view *v = ctx;
	snprintf(v->state, sizeof v->state, "%s", r->state);
	v->attempts = r->attempts;
	v->due_ms = r->due_ms;
	return 1;
}

static struct row_view view(void)
{
	struct row_view v = {0};
	assert_int_equal(store_outbox_each(s, NULL, 1, first_row, &v), 0);
	return v;
}

static int deliver(struct crm *c, int64_t now, struct outbox_counts *k)
{
	char err[256];
	int rc = outbox_deliver_one(s, c, &pol, now, NULL, k, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	return rc;
}

/* One integer from the database, read on a connection of its own. */
static int64_t sql_int(const char *sql)
{
	sqlite3 *conn;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(conn, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(conn);
	return v;
}

/* ---- tests ---- */

static void test_backoff(void **state)
{
	(void)state;
	int64_t prev = 0;
	for (int n = 1; n <= 30; n++) {
		int64_t lo = outbox_backoff_ms(&pol, n, 0, 0);
		int64_t hi = outbox_backoff_ms(&pol, n, 0, UINT32_MAX - 1);
		assert_true(lo <= hi);
		assert_true(lo >= prev);               /* grows ... */
		assert_true(hi <= pol.backoff_cap_ms); /* ... up to the cap */
		assert_true(lo >= pol.backoff_base_ms / 2);
		prev = lo;
	}
	assert_int_equal(outbox_backoff_ms(&pol, 30, 0, 0), pol.backoff_cap_ms / 2);
	/* Retry-After wins when it is longer */
	assert_int_equal(outbox_backoff_ms(&pol, 1, 90000, 7), 90000);
}

static void test_done(void **state)
{
	(void)state;
	struct crm c = {0};
	struct outbox_counts k = {0};
	add_lead("lead-1", T0);
	assert_int_equal(deliver(&c, T0 + 10, &k), 1);
	assert_int_equal(k.done, 1);
	assert_int_equal(c.calls, 1);
	assert_string_equal(c.last_lead, "lead-1");
	struct row_view v = view();
	assert_string_equal(v.state, "done");
	assert_int_equal(store_event_count(s, "crm_write_success"), 1);
	/* nothing more to do, and a settled row is never delivered again */
	assert_int_equal(deliver(&c, T0 + 20, &k), 0);
	assert_int_equal(c.calls, 1);
}

static void test_retry_then_done(void **state)
{
	(void)state;
	struct crm c = {0};
	struct outbox_counts k = {0};
	script(&c, CRM_RETRY, 503, 0, "HTTP 503 from the CRM");
	add_lead("lead-2", T0);
	assert_int_equal(deliver(&c, T0, &k), 1);
	assert_int_equal(k.retried, 1);
	struct row_view v = view();
	assert_string_equal(v.state, "pending");
	assert_int_equal(v.attempts, 1);
	assert_true(v.due_ms >= T0 + pol.backoff_base_ms / 2);
	assert_true(v.due_ms <= T0 + pol.backoff_base_ms);
	/* not due yet: not tried */
	assert_int_equal(deliver(&c, v.due_ms - 1, &k), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(deliver(&c, v.due_ms, &k), 1);
	assert_int_equal(k.done, 1);
	assert_string_equal(view().state, "done");
	assert_int_equal(store_event_count(s, "crm_write_failure"), 1);
}

static void test_rate_limit_pauses_the_crm(void **state)
{
	(void)state;
	struct crm c = {0};
	struct outbox_counts k = {0};
	script(&c, CRM_RETRY, 429, 30000, "HTTP 429: ten_secondly_rolling limit");
	add_lead("lead-3", T0);
	add_lead("lead-4", T0);
	assert_int_equal(deliver(&c, T0, &k), 1);
	assert_true(store_crm_paused_until(s, "scripted") >= T0 + 30000);
	/* the other lead waits too: the whole CRM is paused */
	assert_int_equal(deliver(&c, T0 + 1000, &k), 0);
	assert_true(k.paused_until >= T0 + 30000);
	assert_int_equal(c.calls, 1);
	assert_int_equal(outbox_drain(s, &c, &pol, T0 + 31000, 10, &k, (char[64]){0}, 64), 2);
	assert_int_equal(k.done, 2);
}

/* A delivery that succeeded but read "nothing left" in the rate-limit
 * headers pauses the CRM for every process before anyone earns a 429. */
static void test_spent_budget_pauses_the_crm(void **state)
{
	(void)state;
	struct crm c = {0};
	struct outbox_counts k = {0};
	script(&c, CRM_DONE, 200, 0, "");
	c.next[0].pause_ms = 10000;
	snprintf(c.next[0].pause_why, sizeof c.next[0].pause_why,
	         "X-HubSpot-RateLimit-Remaining: 0 in a 10000 ms window");
	add_lead("lead-5", T0);
	add_lead("lead-6", T0);
	assert_int_equal(deliver(&c, T0, &k), 1);
	assert_int_equal(k.done, 1);
	/* the pause counts from when the delivery settled: T0 plus the
	 * milliseconds the (scripted) call took */
	int64_t until = store_crm_paused_until(s, "scripted");
	assert_true(until >= T0 + 10000 && until <= T0 + 10000 + 1000);
	assert_int_equal(store_event_count(s, "crm_paused"), 1);
	assert_int_equal(deliver(&c, T0 + 9999, &k), 0);
	assert_int_equal(k.paused_until, until);
	assert_int_equal(c.calls, 1);
	assert_int_equal(deliver(&c, until, &k), 1);
	assert_int_equal(k.done, 2);
	assert_int_equal(store_event_count(s, "crm_paused"), 1);
}

/* Alerts are rate-limited per kind and CRM, and say how many were held
 * back; a burst of failed writes raises crm_failures. */
static void test_alerts_are_rate_limited(void **state)
{
	(void)state;
	struct crm c = {0};
	struct outbox_counts k = {0};
	pol.alerts.every_ms = 60000;
	pol.alerts.crm_failures = 3;
	for (int i = 0; i < 3; i++)
		script(&c, CRM_DEAD, 400, 0, "HTTP 400 INVALID_EMAIL_ADDRESS");
	for (int i = 0; i < 3; i++)
		script(&c, CRM_RETRY, 503, 0, "HTTP 503");
	char id[16];
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof id, "lead-a%d", i);
		add_lead(id, T0);
	}
	assert_int_equal(deliver(&c, T0, &k), 1);
	assert_non_null(strstr(k.alert, "dead-lettered by scripted: HTTP 400"));
	k.alert[0] = '\0';
	assert_int_equal(deliver(&c, T0 + 1000, &k), 1);
	assert_string_equal(k.alert, "");                 /* held back */
	assert_int_equal(store_event_count(s, "alert"), 1);
	assert_int_equal(deliver(&c, T0 + 61000, &k), 1);  /* a minute later: alert again */
	assert_int_equal(store_event_count(s, "alert"), 2);
	assert_int_equal(sql_int("SELECT json_extract(data, '$.suppressed') FROM events WHERE"
	                         " type = 'alert' ORDER BY id DESC LIMIT 1"), 1);
	/* three failed writes within the window: one crm_failures alert */
	for (int i = 0; i < 3; i++) {
		k.alert[0] = '\0';
		assert_int_equal(deliver(&c, T0 + 62000 + i, &k), 1);
		if (i < 2)
			assert_string_equal(k.alert, "");
	}
	assert_non_null(strstr(k.alert, "3 CRM writes to scripted failed in the last 15 minutes"));
	assert_int_equal(sql_int("SELECT count(*) FROM events WHERE type = 'alert' AND"
	                         " json_extract(data, '$.alert') = 'crm_failures'"), 1);
}

static void test_dead_letter_and_revive(void **state)
{
	(void)state;
	struct crm c = {0};
	struct outbox_counts k = {0};
	script(&c, CRM_DEAD, 400, 0, "HubSpot 400 VALIDATION_ERROR: Email is invalid");
	add_lead("lead-5", T0);
	assert_int_equal(deliver(&c, T0, &k), 1);
	assert_int_equal(k.dead, 1);
	assert_string_equal(view().state, "dead");
	assert_int_equal(store_event_count(s, "dead_lettered"), 1);
	assert_int_equal(store_event_count(s, "alert"), 1);
	assert_int_equal(deliver(&c, T0 + 999999, &k), 0);   /* dead stays dead */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_outbox_revive(s, 0, T0 + 1000), 1);
	assert_int_equal(store_commit(s), 0);
	assert_string_equal(view().state, "pending");
	assert_int_equal(deliver(&c, T0 + 1000, &k), 1);
	assert_string_equal(view().state, "done");
}

static void test_gives_up_after_max_attempts(void **state)
{
	(void)state;
	struct crm c = {0};
	struct outbox_counts k = {0};
	pol.max_attempts = 3;
	for (int i = 0; i < 5; i++)
		script(&c, CRM_RETRY, 0, 0, "connection refused");
	add_lead("lead-6", T0);
	int64_t now = T0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(deliver(&c, now, &k), 1);
		/* no answer at all: the CRM is paused for everybody a while */
		int64_t paused = store_crm_paused_until(s, "scripted");
		if (i < 2)
			assert_true(paused >= now + OUTBOX_UNREACHABLE_PAUSE_MS);
		assert_int_equal(deliver(&c, now + 1, &k), 0);
		now = view().due_ms > paused ? view().due_ms : paused;
	}
	assert_int_equal(c.calls, 3);
	assert_int_equal(k.retried, 2);
	assert_int_equal(k.dead, 1);
	assert_string_equal(view().state, "dead");
}

static void test_lease(void **state)
{
	(void)state;
	struct store_outbox_row r;
	add_lead("lead-7", T0);
	/* a deliverer claims the row and dies before settling it */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_outbox_claim(s, T0, pol.lease_ms, NULL, &r), 1);
	assert_int_equal(store_commit(s), 0);
	store_outbox_row_free(&r);
	struct crm c = {0};
	struct outbox_counts k = {0};
	assert_int_equal(deliver(&c, T0 + pol.lease_ms - 1, &k), 0);   /* still taken */
	assert_int_equal(deliver(&c, T0 + pol.lease_ms, &k), 1);       /* back */
	assert_int_equal(view().attempts, 2);
	assert_string_equal(view().state, "done");
}

static int count_state(void *ctx, const struct store_outbox_row *r)
{
	int *n = ctx;
	if (strcmp(r->state, "done") == 0)
		n[0]++;
	else if (strcmp(r->state, "dead") == 0)
		n[1]++;
	else
		n[2]++;
	return 0;
}

static void test_random_run_settles_everything(void **state)
{
	(void)state;
	unsigned seed = 12345;
	const int leads = 200;
	for (int i = 0; i < leads; i++) {
		char id[32];
		snprintf(id, sizeof id, "lead-r%d", i);
		add_lead(id, T0);
	}
	struct crm c = {0};
	struct outbox_counts k = {0};
	int64_t now = T0;
	for (int round = 0; round < 5000; round++) {
		c.n_next = c.pos = 0;
		int r = (int)(rand_r(&seed) % 10);
		script(&c, r < 5 ? CRM_DONE : r < 9 ? CRM_RETRY : CRM_DEAD, r < 5 ? 200 : 500, 0,
		       "scripted");
		int got = deliver(&c, now, &k);
		assert_true(got >= 0);
		if (got == 0) {
			int64_t due = store_outbox_next_due(s);
			assert_true(due >= 0);
			if (due == 0)
				break;
			now = due > now ? due : now + 1;
		}
	}
	int n[3] = {0};
	assert_int_equal(store_outbox_each(s, NULL, 1000, count_state, n), 0);
	printf("# %d done, %d dead, %d pending; %d deliveries\n", n[0], n[1], n[2], c.calls);
	assert_int_equal(n[2], 0);
	assert_int_equal(n[0] + n[1], leads);
	assert_int_equal(n[0], k.done);
	assert_int_equal(n[1], k.dead);
	assert_int_equal(store_event_count(s, "crm_write_success"), n[0]);
	/* dead-letter alerts are rate-limited: the alerts raised and the ones
	 * they say were held back, plus those held back since, are the dead */
	assert_int_equal(sql_int("SELECT (SELECT count(*) + coalesce(sum(json_extract(data,"
	                         " '$.suppressed')), 0) FROM events WHERE type = 'alert' AND"
	                         " json_extract(data, '$.alert') = 'crm_dead_letter') +"
	                         " (SELECT coalesce(sum(suppressed), 0) FROM alert_state"
	                         " WHERE kind = 'crm_dead_letter')"), n[1]);
	assert_true(store_event_count(s, "alert") >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_then_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_pauses_the_crm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spent_budget_pauses_the_crm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts_are_rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_letter_and_revive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gives_up_after_max_attempts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_run_settles_everything, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
