/* test_replay - the replay module alone (src/replay): --since values, one
 * stored lead decided under a rule set (account facts from the lookup
 * only, never from the stored fields; a free-mail lead never looks its
 * website up; a value the rules refuse), what counts as a move, the tally
 * with its examples and order, and the JSON form.  The database half is
 * tested end to end by tests/rules/replay-test.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lead/refdata.h"
#include "replay/replay.h"
#include "rules/ruleset.h"

static const char rules_now[] =
	"field plan: text\n"
	"queue sales = round_robin(\"a@acme.example\")\n"
	"queue inbound = round_robin(\"b@acme.example\")\n"
	"when domain owned -> account_owner then scheduler\n"
	"when employees > 200 -> sales then page \"big\"\n"
	"otherwise -> inbound then confirm\n";

static const char rules_next[] =
	"field plan: enum (free, pro)\n"
	"queue sales = round_robin(\"a@acme.example\")\n"
	"queue inbound = round_robin(\"b@acme.example\")\n"
	"when account.tier = gold -> sales then scheduler\n"
	"when domain owned -> account_owner then scheduler\n"
	"when employees > 200 -> sales then confirm\n"
	"otherwise -> inbound then confirm\n";

/* The account index of the tests: one domain, and a record of what was
 * asked. */
struct index {
	char asked[8][64];
	int n_asked;
};

static bool find_account(void *ctx, const char *domain, struct account *out)
{
	struct index *ix = ctx;
	if (ix->n_asked < 8)
		snprintf(ix->asked[ix->n_asked++], sizeof ix->asked[0], "%s", domain);
	if (strcmp(domain, "gold.example") != 0)
		return false;
	*out = (struct account){ "A1", "Ana@acme.example", "customer", "gold" };
	return true;
}

struct fixture {
	struct refdata rd;
	struct lead_env env;
	struct account_lookup lookup;
	struct index ix;
	struct ruleset *now, *next;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512];
	if (!f || refdata_load(&f->rd, err, sizeof err) != 0) {
		fprintf(stderr, "refdata: %s\n", f ? err : "out of memory");
		free(f);
		return -1;
	}
	f->env = refdata_env(&f->rd);
	f->lookup = (struct account_lookup){ find_account, &f->ix };
	f->env.accounts = &f->lookup;
	struct diags d;
	diags_init(&d);
	f->now = ruleset_load_mem("now.routes", rules_now, strlen(rules_now), &f->env, true, &d,
	                          NULL);
	f->next = ruleset_load_mem("next.routes", rules_next, strlen(rules_next), &f->env, true,
	                           &d, NULL);
	if (!f->now || !f->next)
		diags_print(&d, DIAG_TEXT, stderr, false);
	diags_free(&d);
	*state = f;
	return f->now && f->next ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ruleset_free(f->now);
	ruleset_free(f->next);
	refdata_free(&f->rd);
	free(f);
	return 0;
}

static void since_values(void **state)
{
	(void)state;
	int64_t ms = 0;
	assert_int_equal(replay_parse_since("30d", &ms), 0);
	assert_true(ms == 30LL * 86400 * 1000);
	assert_int_equal(replay_parse_since("12h", &ms), 0);
	assert_true(ms == 12LL * 3600 * 1000);
	assert_int_equal(replay_parse_since("1h", &ms), 0);
	assert_true(ms == 3600LL * 1000);
	const char *bad[] = { "", "d", "0d", "30", "30dd", "-1d", "+1d", " 3d", "30m", "3.5d",
	                      "99999999999999999999d", "40000d", NULL };
	for (size_t i = 0; bad[i]; i++) {
		ms = -7;
		assert_int_equal(replay_parse_since(bad[i], &ms), -1);
		assert_true(ms == -7);   /* untouched */
	}
	assert_int_equal(replay_parse_since(NULL, &ms), -1);
}

/* A stored lead as the handler writes it: normalized values, numbers as
 * numbers, the account facts it had then, email_personal. */
static void stored_lead_decided_like_the_handler(void **state)
{
	struct fixture *f = *state;
	struct replay_decision d;
	char err[256] = "";
	/* the index says gold: the tier rule of the new rules decides */
	assert_int_equal(replay_decide(f->next, "{\"email\":\"Jo@Gold.example\",\"domain\":"
	                 "\"gold.example\",\"employees\":500,\"email_personal\":false}", &f->env,
	                 &d, err, sizeof err), 0);
	assert_string_equal(d.queue, "sales");
	assert_string_equal(d.outcome, "scheduler");
	assert_null(d.page);
	assert_int_equal(d.line, 4);
	assert_non_null(d.rule_text);
	assert_true(d.rule_len == strlen("when account.tier = gold -> sales then scheduler"));
	assert_memory_equal(d.rule_text, "when account.tier = gold", 24);
	assert_int_equal(f->ix.n_asked, 1);
	assert_string_equal(f->ix.asked[0], "gold.example");
	/* the deployed rules send it to its owner, from the index */
	assert_int_equal(replay_decide(f->now, "{\"email\":\"jo@gold.example\"}", &f->env, &d, err,
	                 sizeof err), 0);
	assert_string_equal(d.queue, "account_owner");
	assert_int_equal(d.line, 4);

	/* account facts stored with the lead are not trusted: the index has
	 * none for this domain, so the lead is not owned */
	f->ix.n_asked = 0;
	assert_int_equal(replay_decide(f->now, "{\"email\":\"al@other.example\",\"account.owner\":"
	                 "\"x@acme.example\",\"account.tier\":\"gold\",\"employees\":500}", &f->env,
	                 &d, err, sizeof err), 0);
	assert_string_equal(d.queue, "sales");
	assert_string_equal(d.outcome, "page");
	assert_string_equal(d.page, "big");
	assert_int_equal(d.line, 5);
	assert_int_equal(f->ix.n_asked, 1);
	assert_string_equal(f->ix.asked[0], "other.example");

	/* a free-mail address with a customer's website is not that customer,
	 * and its domain is not even looked up */
	f->ix.n_asked = 0;
	assert_int_equal(replay_decide(f->next, "{\"email\":\"mo@gmail.com\",\"website\":"
	                 "\"https://www.gold.example\",\"domain\":\"gold.example\","
	                 "\"email_personal\":true}", &f->env, &d, err, sizeof err), 0);
	assert_string_equal(d.queue, "inbound");
	assert_int_equal(f->ix.n_asked, 0);
}

static void refused_and_broken_leads(void **state)
{
	struct fixture *f = *state;
	struct replay_decision d;
	char err[256] = "";
	/* plan was free text; the new rules make it an enum without "team" */
	assert_int_equal(replay_decide(f->now, "{\"email\":\"a@b.example\",\"plan\":\"team\"}",
	                 &f->env, &d, err, sizeof err), 0);
	assert_string_equal(d.queue, "inbound");
	assert_int_equal(replay_decide(f->next, "{\"email\":\"a@b.example\",\"plan\":\"team\"}",
	                 &f->env, &d, err, sizeof err), 0);
	assert_string_equal(d.queue, REPLAY_REFUSED);
	assert_null(d.outcome);
	assert_int_equal(d.line, 0);
	assert_non_null(strstr(d.problem, "plan"));
	/* the handler requires an email: so does replay */
	assert_int_equal(replay_decide(f->now, "{\"plan\":\"pro\"}", &f->env, &d, err, sizeof err),
	                 0);
	assert_string_equal(d.queue, REPLAY_REFUSED);
	assert_non_null(strstr(d.problem, "email"));
	/* not a stored lead at all */
	const char *broken[] = { "", "[1,2]", "{\"email\":", "{\"a\":{\"b\":[1]}}", NULL };
	for (size_t i = 0; broken[i]; i++) {
		err[0] = '\0';
		assert_int_equal(replay_decide(f->now, broken[i], &f->env, &d, err, sizeof err),
		                 -1);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(replay_decide(f->now, NULL, &f->env, &d, err, sizeof err), -1);
}

static struct replay_decision decision(const char *queue, const char *outcome, const char *page,
                                       int line)
{
	struct replay_decision d = { .queue = queue, .outcome = outcome, .page = page,
	                             .line = line };
	return d;
}

static void what_counts_as_a_move(void **state)
{
	(void)state;
	struct replay_decision a = decision("sales", "page", "big", 5);
	/* another rule, the same route */
	struct replay_decision b = decision("sales", "page", "big", 9);
	assert_false(replay_differs(&a, &b));
	b = decision("sales", "page", "small", 5);
	assert_true(replay_differs(&a, &b));
	b = decision("sales", "confirm", NULL, 5);
	assert_true(replay_differs(&a, &b));
	b = decision("inbound", "page", "big", 5);
	assert_true(replay_differs(&a, &b));
	b = decision(REPLAY_REFUSED, NULL, NULL, 0);
	assert_true(replay_differs(&a, &b));
}

static void tally_sort_and_json(void **state)
{
	(void)state;
	struct replay_result r = {0};
	struct replay_decision in = decision("inbound", "confirm", NULL, 7);
	struct replay_decision sales = decision("sales", "scheduler", NULL, 4);
	struct replay_decision big = decision("sales", "page", "big", 5);
	sales.rule_text = "  when account.tier = gold -> sales then scheduler  \n";
	sales.rule_len = strlen(sales.rule_text) - 1;
	replay_tally(&r, "id1", "a@x.example", &in, &in, 2);
	replay_tally(&r, "id2", "b@x.example", &big, &in, 2);
	replay_tally(&r, "id3", "c@x.example", &in, &sales, 2);
	replay_tally(&r, "id4", "d@x.example", &in, &sales, 2);
	replay_tally(&r, "id5", "e@x.example", &in, &sales, 2);
	replay_tally(&r, "id6", "f@x.example", &big, &big, 2);
	replay_tally(&r, "id7", "g@x.example", &in, &big, 2);
	assert_int_equal(r.leads, 7);
	assert_int_equal(r.moved, 5);
	assert_int_equal(r.stayed, 2);
	assert_int_equal(r.n_moves, 3);
	replay_sort(&r);
	/* most first; the two single moves by their from label */
	assert_int_equal(r.moves[0].count, 3);
	assert_string_equal(r.moves[0].from.queue, "inbound");
	assert_string_equal(r.moves[0].to.queue, "sales");
	assert_int_equal(r.moves[0].n_examples, 2);   /* capped */
	assert_string_equal(r.moves[0].examples[0].id, "id3");
	assert_string_equal(r.moves[0].examples[1].email, "d@x.example");
	assert_int_equal(r.moves[0].examples[0].from_line, 7);
	assert_int_equal(r.moves[0].examples[0].to_line, 4);
	assert_string_equal(r.moves[0].examples[0].to_rule,
	                    "when account.tier = gold -> sales then scheduler");
	char *l1 = replay_route_label(&r.moves[1].from), *l2 = replay_route_label(&r.moves[2].from);
	assert_string_equal(l1, "inbound then confirm");
	assert_string_equal(l2, "sales then page \"big\"");
	free(l1);
	free(l2);
	assert_null(r.moves[1].examples[0].to_rule);

	struct json_object *o = replay_to_json(&r), *v, *m, *e;
	assert_true(json_object_object_get_ex(o, "leads", &v) && json_object_get_int(v) == 7);
	assert_true(json_object_object_get_ex(o, "moved", &v) && json_object_get_int(v) == 5);
	assert_true(json_object_object_get_ex(o, "moves", &v) && json_object_array_length(v) == 3);
	m = json_object_array_get_idx(v, 2);
	assert_true(json_object_object_get_ex(m, "from_page", &e));
	assert_string_equal(json_object_get_string(e), "big");
	assert_false(json_object_object_get_ex(m, "to_page", &e));
	assert_true(json_object_object_get_ex(m, "examples", &e) &&
	            json_object_array_length(e) == 1);
	e = json_object_array_get_idx(e, 0);
	assert_true(json_object_object_get_ex(e, "id", &v));
	assert_string_equal(json_object_get_string(v), "id2");
	json_object_put(o);

	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	assert_non_null(fp);
	replay_print_text(&r, fp);
	fclose(fp);
	assert_non_null(strstr(text, "7 leads replayed: 5 would move, 2 stay\n"));
	assert_non_null(strstr(text, "      3  inbound then confirm  -> sales then scheduler\n"));
	assert_non_null(strstr(text, "new line 4: when account.tier = gold"));
	free(text);
	replay_result_free(&r);
	assert_int_equal(r.n_moves, 0);

	/* no examples asked for: counts only */
	replay_tally(&r, "id1", "a@x.example", &in, &sales, 0);
	assert_int_equal(r.moves[0].n_examples, 0);
	replay_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(since_values),
		cmocka_unit_test(stored_lead_decided_like_the_handler),
		cmocka_unit_test(refused_and_broken_leads),
		cmocka_unit_test(what_counts_as_a_move),
		cmocka_unit_test(tally_sort_and_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
