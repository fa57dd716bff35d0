/* test_tree_oracle - property test: the decision tree agrees with the
 * sequential evaluator.
 *
 * Generates random rule files (random fields, operators, constants and
 * and/or/not nesting) and random leads (values the rules name, values they
 * do not, missing values, numbers on and between thresholds), and checks
 * tree_eval == oracle_eval on every pair: at least 100,000 pairs per run.
 * The seed is printed, and LEADROUTE_SEED replays one run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lead/refdata.h"
#include "rules/eval.h"
#include "rules/ruleset.h"
#include "rules/tree.h"
#include "util/buf.h"

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: small, fast, good enough to spread cases */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

static const char *const countries[] = { "US", "CA", "MX", "DE", "FR", "GB" };
static const char *const products[] = { "plg", "core", "edge", "\"Data Suite\"" };
static const char *const intents[] = { "demo", "contact", "support", "pricing", "partner" };
static const char *const sources[] = { "ads", "seo", "event", "partner" };
static const char *const literals[] = { "\".edu\"", "\"gov\"", "\"ads\"", "\"e\"", "\"vent\"" };
static const int thresholds[] = { 10, 50, 200, 201, 1000, 5000, 2, 3, 5, 7, 11, 13, 17, 19,
                                  23, 29, 31, 37, 41, 43, 47, 53, 59, 61 };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void gen_pred(struct buf *b)
{
	switch (rnd(16)) {
	case 14: buf_printf(b, "campaign = c%u", rnd(40)); break;   /* wide text dimension */
	case 15: buf_printf(b, "campaign in (c%u, c%u, c%u)", rnd(40), rnd(40), rnd(40)); break;
	case 0: buf_printf(b, "country = %s", countries[rnd(N(countries))]); break;
	case 1: buf_printf(b, "country in (%s, %s)", countries[rnd(N(countries))],
	                   countries[rnd(N(countries))]); break;
	case 2: buf_printf(b, "country not in (%s)", countries[rnd(N(countries))]); break;
	case 3: {
		static const char *const ops[] = { "<", "<=", ">", ">=", "=", "!=" };
		buf_printf(b, "employees %s %d", ops[rnd(6)], thresholds[rnd(N(thresholds))]);
		break;
	}
	case 4: buf_printf(b, "intent = %s", intents[rnd(N(intents))]); break;
	case 5: buf_printf(b, "intent != %s", intents[rnd(N(intents))]); break;
	case 6: buf_printf(b, "product = %s", products[rnd(N(products))]); break;
	case 7: buf_adds(b, rnd(2) ? "domain owned" : "email personal"); break;
	case 8: {
		static const char *const tests[] = { "ends with", "starts with", "contains" };
		buf_printf(b, "%s %s %s", rnd(2) ? "source" : "domain", tests[rnd(3)],
		           literals[rnd(N(literals))]);
		break;
	}
	case 9: buf_printf(b, "source matches \"^(ad|ev)\""); break;
	case 10: buf_printf(b, "%s is %s", rnd(2) ? "plan" : "seats",
	                    rnd(2) ? "present" : "missing"); break;
	case 11: buf_printf(b, "seats > %d", thresholds[rnd(N(thresholds))]); break;
	case 12: buf_printf(b, "account.lifecycle = %s", rnd(2) ? "customer" : "churned"); break;
	default: buf_printf(b, "source = %s", sources[rnd(N(sources))]); break;
	}
}

static void gen_cond(struct buf *b, int depth)
{
	uint32_t k = depth > 2 ? 0 : rnd(6);
	if (k <= 2) {
		gen_pred(b);
	} else if (k == 3) {
		buf_adds(b, "not (");
		gen_cond(b, depth + 1);
		buf_adds(b, ")");
	} else {
		buf_adds(b, "(");
		gen_cond(b, depth + 1);
		buf_adds(b, k == 4 ? " and " : " or ");
		gen_cond(b, depth + 1);
		buf_adds(b, ")");
	}
}

static char *gen_program(void)
{
	struct buf b = {0};
	buf_adds(&b, "field plan: text\nfield seats: number\nfield campaign: text\n"
	         "queue a = \"a@x.example\"\nqueue b = \"b@x.example\"\n"
	         "queue c = \"c@x.example\"\n");
	uint32_t n = 1 + rnd(12);
	for (uint32_t i = 0; i < n; i++) {
		buf_adds(&b, "when ");
		gen_cond(&b, 0);
		buf_printf(&b, " -> %c\n", "abc"[rnd(3)]);
	}
	if (rnd(2))
		buf_adds(&b, "otherwise -> a\n");
	return buf_take(&b);
}

static const char *pick_text(const char *const *v, size_t n, const char *other)
{
	uint32_t k = rnd((uint32_t)n + 2);
	if (k < n)
		return v[k];
	return k == n ? other : NULL;
}

/* Random facts over the program's fields: names the rules use, others,
 * missing. */
static void gen_facts(const struct program *p, struct fact *f)
{
	static const char *const prods[] = { "plg", "core", "edge", "data suite" };
	static const char *const srcs[] = { "ads", "seo", "event", "partner", "adverts", "gov.edu", "e" };
	static const char *const doms[] = { "acme.edu", "city.gov", "ads.example", "e.com", "vent.io" };
	memset(f, 0, p->n_fields * sizeof *f);
	const char *s;
	if ((s = pick_text(countries, N(countries), "JP")))
		f[F_COUNTRY] = (struct fact){ .text = s, .present = true };
	if ((s = pick_text(intents, N(intents), NULL)))
		f[F_INTENT] = (struct fact){ .text = s, .present = true };
	if ((s = pick_text(prods, N(prods), "other thing")))
		f[F_PRODUCT] = (struct fact){ .text = s, .present = true };
	if ((s = pick_text(srcs, N(srcs), "zzz")))
		f[F_SOURCE] = (struct fact){ .text = s, .present = true };
	if ((s = pick_text(doms, N(doms), "x.org")))
		f[F_DOMAIN] = (struct fact){ .text = s, .present = true };
	if (rnd(2))
		f[F_ACCOUNT_OWNER] = (struct fact){ .text = "o@x.example", .present = true };
	if (rnd(2))
		f[F_EMAIL_PERSONAL] = (struct fact){ .text = "true", .present = true };
	if ((s = pick_text((const char *const[]){ "customer", "churned" }, 2, "prospect")))
		f[F_ACCOUNT_LIFECYCLE] = (struct fact){ .text = s, .present = true };
	for (int which = 0; which < 2; which++) {
		int id = which ? F_N_BUILTIN + 1 : F_EMPLOYEES;   /* seats, employees */
		if (!rnd(5))
			continue;
		double v = thresholds[rnd(N(thresholds))];
		switch (rnd(4)) {
		case 0: v -= 1; break;
		case 1: v += 0.5; break;
		case 2: v = rnd(7000); break;
		default: break;
		}
		f[id] = (struct fact){ .text = "n", .num = v, .present = true };
	}
	if (rnd(2))
		f[F_N_BUILTIN] = (struct fact){ .text = "pro", .present = true };   /* plan */
	static char campaigns[41][8];
	if (!campaigns[0][0])
		for (int i = 0; i < 41; i++)
			snprintf(campaigns[i], sizeof campaigns[i], "c%d", i);
	if (rnd(4))
		f[F_N_BUILTIN + 2] = (struct fact){ .text = campaigns[rnd(41)], .present = true };
}

static void tree_agrees_with_oracle(void **state)
{
	(void)state;
	const char *seed_env = getenv("LEADROUTE_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL);
	rng_state = seed ? seed : 1;
	printf("# seed %llu (LEADROUTE_SEED=%llu replays this run)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	struct refdata rd;
	char err[512];
	assert_int_equal(refdata_load(&rd, err, sizeof err), 0);
	struct lead_env env = refdata_env(&rd);
	size_t pairs = 0, programs = 0, loaded = 0;
	while (pairs < 100000) {
		char *text = gen_program();
		struct diags d;
		diags_init(&d);
		struct ruleset *rs = ruleset_load_mem("random.routes", text, strlen(text), &env,
		                                      false, &d, NULL);
		programs++;
		if (!rs) {
			/* only unknown-queue style errors are possible; the generator
			 * writes valid programs, so any error is a failure */
			diags_print(&d, DIAG_TEXT, stderr, false);
			fprintf(stderr, "%s", text);
			fail_msg("generated program did not load");
		}
		loaded++;
		struct fact *f = calloc(rs->prog->n_fields, sizeof *f);
		struct facts facts = { f, rs->prog->n_fields };
		for (int i = 0; i < 500; i++) {
			gen_facts(rs->prog, f);
			uint32_t a = tree_eval(rs->tree, &facts), b = oracle_eval(rs->prog, &facts);
			if (a != b) {
				fprintf(stderr, "disagreement (seed %llu): tree %u, oracle %u\n%s",
				        (unsigned long long)seed, a, b, text);
				for (size_t k = 0; k < rs->prog->n_fields; k++)
					if (f[k].present)
						fprintf(stderr, "  %s = %s (%g)\n", rs->prog->fields[k].name,
						        f[k].text, f[k].num);
				tree_print_text(rs->tree, stderr);
			}
			assert_int_equal(a, b);
			pairs++;
		}
		free(f);
		ruleset_free(rs);
		diags_free(&d);
		free(text);
	}
	printf("# %zu programs, %zu pairs agreed\n", loaded, pairs);
	assert_true(programs == loaded);
	refdata_free(&rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tree_agrees_with_oracle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
