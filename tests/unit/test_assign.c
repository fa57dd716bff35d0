/* test_assign - member choice against a real SQLite file.
 *
 *  - 8 processes assign 10,000 leads to one weighted round robin at once;
 *    every member's count is within 1 of its weighted share
 *  - a member back from being away gets no burst of leads
 *  - out of hours, the fallback queue takes the lead; with the whole chain
 *    unavailable the lead stays unassigned in its queue
 *  - caps per day stop a member at the cap
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "assign/assign.h"
#include "lead/refdata.h"
#include "rules/ruleset.h"
#include "store/store.h"

static struct refdata rd;
static char dir[] = "/tmp/leadroute-assign-XXXXXX";

static struct ruleset *load(const char *text)
{
	struct lead_env env = refdata_env(&rd);
	struct diags d;
	diags_init(&d);
	struct ruleset *rs = ruleset_load_mem("t.routes", text, strlen(text), &env, false, &d, NULL);
	if (!rs)
		diags_print(&d, DIAG_TEXT, stderr, false);
	diags_free(&d);
	assert_non_null(rs);
	return rs;
}

static char *db_path(const char *name)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

/* Assign n leads to queue q in one process; returns 0 when all went well. */
static int assign_many(const char *db, const struct program *p, int q, int n, int64_t now)
{
	char err[512];
	struct store *s = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct assignment a;
		/* under valgrind eight writers can wait out the busy timeout; a
		 * client would retry, and so does this one (a few times) */
		int tries = 0;
		while (store_begin(s) != 0 && ++tries < 50)
			usleep(20000);
		if (tries >= 50 ||
		    assign_member(p, q, NULL, s, now, &a, err, sizeof err) != 0 || !a.member) {
			fprintf(stderr, "assign failed: %s %s\n", err, store_error(s));
			store_close(s);
			return 1;
		}
		struct store_lead l = { .created_ms = now, .fields_json = "{}", .status = "routed",
		                        .queue = p->queues[a.queue_id].name, .member = a.member };
		store_lead_new_id(l.id);
		if (store_lead_insert(s, &l) != 0 || store_commit(s) != 0) {
			fprintf(stderr, "store failed: %s\n", store_error(s));
			store_close(s);
			return 1;
		}
	}
	store_close(s);
	return 0;
}

static int64_t count_for(const char *db, const char *member)
{
	char err[512];
	struct store *s = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s);
	int64_t n = store_member_count_since(s, member, 0);
	store_close(s);
	return n;
}

static void weighted_share_across_processes(void **state)
{
	(void)state;
	struct ruleset *rs = load(
		"queue team = round_robin(\"a@x.example\", \"b@x.example\" weight 2,"
		" \"c@x.example\" weight 3, \"d@x.example\")\n"
		"otherwise -> team\n");
	const char *db = db_path("share.db");
	int q = program_find_queue(rs->prog, "team");
	enum { PROCS = 8, EACH = 1250 };
	pid_t pids[PROCS];
	int64_t now = (int64_t)time(NULL) * 1000;
	/* the file exists before the handlers start, as in a deployment */
	char err[512];
	struct store *s0 = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s0);
	store_close(s0);
	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			int rc = assign_many(db, rs->prog, q, EACH, now);
			/* the child owns its copy of everything: free it so a leak
			 * checker (valgrind follows the fork) sees a clean exit */
			ruleset_free(rs);
			refdata_free(&rd);
			_exit(rc);
		}
	}
	for (int i = 0; i < PROCS; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	static const struct { const char *who; int weight; } m[] = {
		{ "a@x.example", 1 }, { "b@x.example", 2 }, { "c@x.example", 3 }, { "d@x.example", 1 },
	};
	int64_t total = 0;
	for (int i = 0; i < 4; i++) {
		int64_t got = count_for(db, m[i].who);
		double share = (double)PROCS * EACH * m[i].weight / 7.0;
		printf("# %s weight %d: %lld leads (share %.1f)\n", m[i].who, m[i].weight,
		       (long long)got, share);
		assert_true((double)got >= share - 1.0 && (double)got <= share + 1.0);
		total += got;
	}
	assert_int_equal(total, PROCS * EACH);
	ruleset_free(rs);
}

static void no_burst_after_away(void **state)
{
	(void)state;
	struct ruleset *rs = load(
		"queue team = round_robin(\"a@x.example\", \"b@x.example\")\n"
		"otherwise -> team\n");
	const char *db = db_path("away.db");
	int q = program_find_queue(rs->prog, "team");
	int64_t now = (int64_t)time(NULL) * 1000;
	char err[512];
	struct store *s = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_member_set_away(s, "a@x.example", now + 3600 * 1000), 0);
	assert_int_equal(store_commit(s), 0);
	store_close(s);
	/* 20 leads while a is away: all to b */
	assert_int_equal(assign_many(db, rs->prog, q, 20, now), 0);
	assert_int_equal(count_for(db, "a@x.example"), 0);
	assert_int_equal(count_for(db, "b@x.example"), 20);
	s = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_member_set_away(s, "a@x.example", 0), 0);
	assert_int_equal(store_commit(s), 0);
	store_close(s);
	/* back: the next 10 alternate, a gets 5, not a catch-up burst of 10+ */
	assert_int_equal(assign_many(db, rs->prog, q, 10, now), 0);
	assert_int_equal(count_for(db, "a@x.example"), 5);
	assert_int_equal(count_for(db, "b@x.example"), 25);
	ruleset_free(rs);
}

static void hours_fallback_and_caps(void **state)
{
	(void)state;
	/* Sunday 12:00 UTC, 2026-11-22 */
	int64_t sunday = (int64_t)1795348800 * 1000;
	struct ruleset *rs = load(
		"queue weekdays = \"w@x.example\" hours mon-fri 09:00-17:00 \"UTC\" fallback capped\n"
		"queue capped = \"c@x.example\" cap 2 per day\n"
		"queue closed = \"z@x.example\" hours mon 09:00-10:00 \"UTC\"\n"
		"when email personal -> closed\n"
		"otherwise -> weekdays\n");
	const char *db = db_path("hours.db");
	char err[512];
	struct store *s = store_open(db, STORE_SYNC_NORMAL, err, sizeof err);
	assert_non_null(s);
	int qw = program_find_queue(rs->prog, "weekdays");
	int qz = program_find_queue(rs->prog, "closed");
	for (int i = 0; i < 3; i++) {
		struct assignment a;
		assert_int_equal(store_begin(s), 0);
		assert_int_equal(assign_member(rs->prog, qw, NULL, s, sunday, &a, err, sizeof err), 0);
		if (i < 2) {
			/* out of hours: the fallback queue takes it */
			assert_string_equal(a.member, "c@x.example");
			assert_int_equal(a.fallbacks, 1);
			struct store_lead l = { .created_ms = sunday, .fields_json = "{}",
			                        .status = "routed", .queue = "capped", .member = a.member };
			store_lead_new_id(l.id);
			assert_int_equal(store_lead_insert(s, &l), 0);
		} else {
			/* the cap of 2 a day is reached: nobody left, unassigned */
			assert_null(a.member);
			assert_int_equal(a.queue_id, qw);
		}
		assert_int_equal(store_commit(s), 0);
	}
	struct assignment a;
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(assign_member(rs->prog, qz, NULL, s, sunday, &a, err, sizeof err), 0);
	assert_null(a.member);
	store_rollback(s);
	/* in hours on a Monday */
	int64_t monday = sunday + (int64_t)(24 + 9 - 12) * 3600 * 1000 + 30 * 60 * 1000;
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(assign_member(rs->prog, qz, NULL, s, monday, &a, err, sizeof err), 0);
	assert_string_equal(a.member, "z@x.example");
	store_rollback(s);
	store_close(s);
	ruleset_free(rs);
}

static int setup(void **state)
{
	(void)state;
	char err[512];
	if (!mkdtemp(dir) || refdata_load(&rd, err, sizeof err) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	refdata_free(&rd);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weighted_share_across_processes),
		cmocka_unit_test(no_burst_after_away),
		cmocka_unit_test(hours_fallback_and_caps),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
