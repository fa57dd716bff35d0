/* bench_rules - how fast rules compile and how fast the tree routes a lead.
 *
 * For each size N (10, 100, 1000, 10000 by default) this generates a
 * realistic .routes file from a seeded PRNG (territories by country and
 * employee band, intent, product, source/utm_source, `domain owned`,
 * `email personal`, some `or` and `not`, ending with `otherwise`; every
 * rule reachable, as routec demands), loads it through ruleset_load_mem
 * (parse + check + compile, lint off) and reports the median load time, the
 * median tree_compile time alone and the tree's size and shape.  The first
 * load runs in a child under a time limit, so a size whose tree does not
 * compile (too large, or too slow) is reported as such.  It then routes M
 * generated leads (values the rules use, values they do not, missing
 * fields) with tree_eval and with oracle_eval, checks that both give the
 * same rule on every lead (aborts otherwise) and reports the median
 * nanoseconds per lead of each (CLOCK_MONOTONIC; trials of at least
 * --eval-ms each, a checksum of the answers keeps the calls alive).
 *
 * With --export DIR it also writes, per size, the rule file
 * (rules-N.routes), the same rules as json-rules-engine JSON (rules-N.json,
 * with the C answer for every lead), the leads as JSON facts (leads-N.json)
 * and its figures (c-results.tsv) for tests/bench/jre_bench.js and
 * tests/bench/run-bench.sh.
 *
 * A benchmark, not a test: `make check` builds it but never runs it; run it
 * through `make bench` (tests/bench/run-bench.sh) on an optimized build
 * without sanitizers.  Needs LEADROUTE_FREEMAIL like every program that
 * loads the reference data.  See doc/performance.md.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lead/refdata.h"
#include "rules/check.h"
#include "rules/eval.h"
#include "rules/parse.h"
#include "rules/ruleset.h"
#include "rules/tree.h"
#include "util/buf.h"
#include "util/hmap.h"
#include "util/xalloc.h"

/* ---- options ---- */

struct opts {
	size_t sizes[16];
	size_t n_sizes;
	size_t n_leads;
	uint64_t seed;
	const char *export_dir;
	unsigned compile_timeout;  /* seconds for the first (probe) compile */
	size_t compile_runs;       /* timed loads per size (median) */
	double eval_ms;            /* minimum duration of one eval trial */
	size_t eval_trials;        /* trials per evaluator (median) */
	bool skip_tree, skip_oracle;   /* --eval tree|oracle (for profiling) */
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: bench_rules [--sizes 10,100,1000,10000] [--leads M] [--seed S]\n"
	        "                   [--export DIR] [--compile-timeout SEC] [--compile-runs R]\n"
	        "                   [--eval-ms MS] [--eval-trials T] [--eval tree|oracle|both]\n"
	        "Generates rule files and leads, times load (parse+check+compile, lint off)\n"
	        "and tree_eval against oracle_eval on the same leads.  --export DIR writes\n"
	        "the rules and leads as JSON for tests/bench/jre_bench.js.\n");
}

static bool parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 1000000)
		return false;
	*out = (size_t)v;
	return true;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .sizes = { 10, 100, 1000, 10000 }, .n_sizes = 4, .n_leads = 4096,
	                    .seed = 20240601, .compile_timeout = 120, .compile_runs = 7,
	                    .eval_ms = 200, .eval_trials = 7 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		size_t x;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (!v) {
			fprintf(stderr, "bench_rules: %s needs a value\n", a);
			return -1;
		}
		i++;
		if (strcmp(a, "--sizes") == 0) {
			char *copy = xstrdup(v), *save = NULL;
			o->n_sizes = 0;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (o->n_sizes == 16 || !parse_size(t, &o->sizes[o->n_sizes])) {
					fprintf(stderr, "bench_rules: bad --sizes '%s'\n", v);
					free(copy);
					return -1;
				}
				o->n_sizes++;
			}
			free(copy);
			if (!o->n_sizes)
				return -1;
		} else if (strcmp(a, "--leads") == 0 && parse_size(v, &x)) {
			o->n_leads = x;
		} else if (strcmp(a, "--seed") == 0) {
			o->seed = strtoull(v, NULL, 0);
		} else if (strcmp(a, "--export") == 0) {
			o->export_dir = v;
		} else if (strcmp(a, "--compile-timeout") == 0 && parse_size(v, &x)) {
			o->compile_timeout = (unsigned)x;
		} else if (strcmp(a, "--compile-runs") == 0 && parse_size(v, &x)) {
			o->compile_runs = x;
		} else if (strcmp(a, "--eval-ms") == 0 && parse_size(v, &x)) {
			o->eval_ms = (double)x;
		} else if (strcmp(a, "--eval-trials") == 0 && parse_size(v, &x)) {
			o->eval_trials = x;
		} else if (strcmp(a, "--eval") == 0 && (strcmp(v, "tree") == 0 ||
		                                        strcmp(v, "oracle") == 0 ||
		                                        strcmp(v, "both") == 0)) {
			o->skip_tree = strcmp(v, "oracle") == 0;
			o->skip_oracle = strcmp(v, "tree") == 0;
		} else {
			fprintf(stderr, "bench_rules: bad option %s %s\n", a, v);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

/* ---- PRNG (splitmix64: small, seedable, the same on every platform) ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(struct rng *g, uint32_t n)
{
	return (uint32_t)((rnd(g) >> 11) % n);
}

static double unit(struct rng *g)
{
	return (double)(rnd(g) >> 11) / 9007199254740992.0;
}

static bool chance(struct rng *g, double p)
{
	return unit(g) < p;
}

/* Skewed toward the start of a pool (the big markets come first). */
static uint32_t skewed(struct rng *g, uint32_t n)
{
	double u = unit(g);
	uint32_t i = (uint32_t)(u * u * n);
	return i < n ? i : n - 1;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Countries the rules use (biggest markets first) and countries that only
 * leads have.  All ISO 3166-1 alpha-2. */
static const char *const rule_countries[] = {
	"US", "GB", "DE", "CA", "FR", "AU", "NL", "IN", "BR", "JP", "ES", "IT", "SE", "CH",
	"IE", "SG", "MX", "BE", "DK", "NO", "FI", "AT", "PL", "IL", "NZ", "AE", "ZA", "KR",
	"PT", "CZ", "AR", "CL", "CO", "HK", "TW", "MY", "ID", "TH", "PH", "VN", "TR", "SA",
	"QA", "EG", "NG", "KE", "MA", "PK", "BD", "LK", "RO", "BG", "HU", "SK", "GR", "UA",
	"LU", "IS", "PE", "CN",
};
static const char *const lead_only_countries[] = {
	"EE", "LV", "LT", "SI", "HR", "RS", "GH", "TZ", "UY", "PY", "BO", "EC", "CR", "PA",
	"KZ", "NP", "KH", "FJ", "MT", "CY",
};
/* Employee bands sales teams actually use. */
static const double thresholds[] = { 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000 };
static const char *const intents[] = { "demo", "contact", "support", "pricing", "partner" };
/* Product codes p1..pP: the catalogue grows with the file (P = N/20, at
 * least 10, at most 500); leads also send codes past P that no rule uses. */
#define MAX_PRODUCTS 625
static size_t n_products = 10;
static const char *const sources[] = {
	"webinar", "organic", "paid_search", "event", "partner", "referral", "content",
	"direct", "trade_show", "review_site",
};
static const char *const lead_only_sources[] = { "newsletter", "podcast", "unknown" };
static const char *const utm_sources[] = {
	"google", "bing", "linkedin", "facebook", "twitter", "youtube", "g2", "capterra",
	"reddit", "newsletter", "quora", "producthunt",
};
static const char *const lead_only_utm[] = { "tiktok", "duckduckgo", "hn" };
static const char *products[MAX_PRODUCTS];   /* "p1".."p625", filled once */

/* ---- rule generation ---- */

/* Tests written into the rule being generated (a band counts once): how
 * specific it is, which decides its place in the file. */
static int n_tests;

static void gen_country(struct rng *g, struct buf *b)
{
	n_tests++;
	uint32_t n = COUNT(rule_countries);
	if (chance(g, 0.6)) {
		buf_printf(b, "country = %s", rule_countries[skewed(g, n)]);
		return;
	}
	uint32_t k = 2 + below(g, 4), at = skewed(g, n);
	buf_adds(b, "country in (");
	for (uint32_t i = 0; i < k; i++) {   /* a region: near neighbours in the pool, distinct */
		buf_printf(b, "%s%s", i ? ", " : "", rule_countries[at % n]);
		at += 1 + below(g, 3);
	}
	buf_adds(b, ")");
}

static void gen_employees(struct rng *g, struct buf *b)
{
	n_tests++;
	uint32_t n = COUNT(thresholds);
	uint32_t kind = below(g, 100);
	if (kind < 40) {
		buf_printf(b, "employees %s %g", chance(g, 0.7) ? ">" : ">=", thresholds[below(g, n)]);
	} else if (kind < 65) {
		buf_printf(b, "employees < %g", thresholds[below(g, n)]);
	} else {   /* a band: between via and */
		uint32_t lo = below(g, n - 1);
		uint32_t hi = lo + 1 + below(g, n - 1 - lo);
		buf_printf(b, "employees >= %g and employees < %g", thresholds[lo], thresholds[hi]);
	}
}

static void gen_intent(struct rng *g, struct buf *b)
{
	n_tests++;
	if (chance(g, 0.75)) {
		buf_printf(b, "intent = %s", intents[below(g, COUNT(intents))]);
	} else {
		uint32_t a = below(g, COUNT(intents)), c = (a + 1 + below(g, 4)) % COUNT(intents);
		buf_printf(b, "intent in (%s, %s)", intents[a], intents[c]);
	}
}

static void gen_product(struct rng *g, struct buf *b)
{
	n_tests++;
	buf_printf(b, "product = \"%s\"", products[below(g, (uint32_t)n_products)]);
}

static void gen_source(struct rng *g, struct buf *b)
{
	n_tests++;
	uint32_t k = below(g, 100);
	if (k < 45)
		buf_printf(b, "source = %s", sources[skewed(g, COUNT(sources))]);
	else if (k < 80)
		buf_printf(b, "utm_source = \"%s\"", utm_sources[skewed(g, COUNT(utm_sources))]);
	else
		buf_printf(b, "utm_source in (\"%s\", \"%s\")",
		           utm_sources[below(g, COUNT(utm_sources))],
		           utm_sources[below(g, COUNT(utm_sources))]);
}

/* One more test of another kind, for the specific rules. */
static void gen_extra(struct rng *g, struct buf *b)
{
	uint32_t k = below(g, 100);
	buf_adds(b, " and ");
	if (k < 45)
		gen_product(g, b);
	else if (k < 75)
		gen_intent(g, b);
	else if (k < 90)
		gen_source(g, b);
	else if (k < 95)
		buf_adds(b, "domain owned"), n_tests++;
	else
		buf_adds(b, "email personal"), n_tests++;
}

/* A specific rule, the bulk of a big file: a territory (country, employee
 * band) narrowed by product, intent or campaign, or a product or campaign
 * narrowed by territory.  small: at most two tests (the sides of an `or`). */
/* Set while refilling a big file: the coarse rules have taken their part
 * of the value space, so only the finest ones (territory x band x product)
 * still find leads of their own. */
static bool refill;

static void gen_specific(struct rng *g, struct buf *b, bool small)
{
	uint32_t theme = refill ? below(g, 80) : below(g, 100);
	if (theme < 60) {                       /* territory */
		gen_country(g, b);
		if (!small || chance(g, 0.5)) {
			buf_adds(b, " and ");
			gen_employees(g, b);
		}
		if (refill) {
			buf_adds(b, " and ");
			gen_product(g, b);
		} else if (!small && chance(g, 0.6)) {
			gen_extra(g, b);
		}
	} else if (theme < 80) {                /* product line */
		gen_product(g, b);
		buf_adds(b, " and ");
		gen_country(g, b);
		if (refill || (!small && chance(g, 0.5))) {
			buf_adds(b, " and ");
			gen_employees(g, b);
		}
	} else if (theme < 90) {                /* campaigns */
		gen_source(g, b);
		buf_adds(b, " and ");
		if (chance(g, 0.5))
			gen_intent(g, b);
		else
			gen_country(g, b);
	} else {                                /* intent by territory */
		gen_intent(g, b);
		buf_adds(b, " and ");
		gen_country(g, b);
		if (!small && chance(g, 0.5)) {
			buf_adds(b, " and ");
			gen_employees(g, b);
		}
	}
}

/* A broad rule, the tail of a file: one test. */
static void gen_broad(struct rng *g, struct buf *b)
{
	uint32_t k = below(g, 100);
	if (k < 55)
		gen_country(g, b);
	else if (k < 75)
		gen_product(g, b);
	else if (k < 90)
		gen_source(g, b);
	else
		gen_intent(g, b);
}

/* An extra negated test that does not contradict the rule it joins (cond:
 * the rule so far; country codes are its only upper-case words, so a
 * substring test is exact enough). */
static void gen_not(struct rng *g, struct buf *b, const char *cond)
{
	n_tests++;
	for (;;) {
		switch (below(g, 4)) {
		case 0:
			if (strstr(cond, "email personal"))
				continue;
			buf_adds(b, "not email personal");
			return;
		case 1:
			if (strstr(cond, "domain owned"))
				continue;
			buf_adds(b, "not domain owned");
			return;
		case 2: {
			const char *c = rule_countries[skewed(g, 8)];
			if (strstr(cond, c))
				continue;
			buf_printf(b, "country != %s", c);
			return;
		}
		default: {
			const char *i = intents[below(g, COUNT(intents))];
			if (strstr(cond, i))
				continue;
			buf_printf(b, "not intent = %s", i);
			return;
		}
		}
	}
}

struct gen_rule {
	char *cond;
	int tests;          /* 0 for the broad tail */
	size_t order;       /* generation order */
	uint32_t queue;
	bool scheduler;
};

/* Most specific first; generation order among equals. */
static int cmp_rule(const void *a, const void *b)
{
	const struct gen_rule *x = a, *y = b;
	if (x->tests != y->tests)
		return y->tests - x->tests;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *const top_rules[] = {
	"intent = support -> drop then page \"support\"",
	"domain owned and employees > 1000 -> q0 then scheduler",
	"email personal and intent in (contact, support) -> review then confirm",
};

struct ruleset;
static struct ruleset *load(const char *text, size_t len, const struct lead_env *env,
                            char *err, size_t errlen);
static uint8_t *live_rules(const struct tree *t, size_t n_rules, size_t *n_live);

static char *rules_text(uint64_t seed, size_t n, size_t nq, size_t n_top,
                        const struct gen_rule *body, size_t n_body)
{
	struct buf b = {0};
	buf_printf(&b, "# generated by tests/bench/bench_rules (seed %" PRIu64 ", %zu rules)\n\n",
	           seed, n);
	for (size_t q = 0; q < nq; q++)
		buf_printf(&b, "queue q%zu = round_robin(\"rep%zua@acme.example\" scheduler "
		           "\"https://cal.example/rep%zua\", \"rep%zub@acme.example\" scheduler "
		           "\"https://cal.example/rep%zub\")\n", q, q, q, q, q);
	buf_adds(&b, "queue review = manual \"revops@acme.example\"\n");
	buf_adds(&b, "queue inbound = round_robin(\"sdr1@acme.example\", \"sdr2@acme.example\")\n\n");
	for (size_t r = 0; r < n_top; r++)
		buf_printf(&b, "when %s\n", top_rules[r]);
	for (size_t r = 0; r < n_body; r++)
		buf_printf(&b, "when %s -> q%u then %s\n", body[r].cond, body[r].queue,
		           body[r].scheduler ? "scheduler" : "confirm");
	buf_adds(&b, "otherwise -> inbound then confirm\n");
	return buf_take(&b);
}

/* The whole .routes text for n rules, laid out the way RevOps files are:
 * a few global rules on top (support is dropped, named accounts go to
 * their owner, free-mail to review), then the specific rules, exceptions
 * first (most tests first; 8% with `or`, 6% with an extra `not`), then
 * about 10% broad one-test rules, then `otherwise`.  No condition is
 * written twice.
 *
 * Like a file routec accepts, it has no unreachable rule (lint makes those
 * errors): candidates are compiled, the rules no leaf selects are dropped
 * and new candidates take their places until n rules are all reachable
 * (dropping a rule never makes another unreachable).  Refill candidates
 * are territory x band x product rules (see `refill`).  *n_out is the count
 * reached (n unless the value space ran out), *gen_s the time it took. */
static char *gen_rules(uint64_t seed, size_t n, const struct lead_env *env, size_t *n_out,
                       double *gen_s)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct rng g = { seed ^ (0x5eedull * (uint64_t)n) };
	size_t nq = 4 + n / 50;
	if (nq > 60)
		nq = 60;
	size_t n_top = n >= 30 ? 3 : n >= 10 ? 1 : 0;
	size_t target = n - 1 - n_top;             /* body rules */
	struct gen_rule *body = NULL;
	size_t n_body = 0, cap = 0, order = 0;
	struct hmap seen;
	hmap_init(&seen);
	for (int round = 0; round < 12 && n_body < target; round++) {
		/* surplus candidates cost a compile less than another round */
		size_t add = round ? (target - n_body) * 2 + target / 20 : target;
		body = xgrow(body, &cap, n_body + add, sizeof *body);
		refill = round > 0;
		for (size_t k = 0; k < add; k++, order++) {
			bool broad = !refill && chance(&g, 0.1);
			struct buf c = {0};
			for (int attempt = 0;; attempt++) {
				buf_reset(&c);
				n_tests = 0;
				if (broad) {
					gen_broad(&g, &c);
				} else if (!refill && chance(&g, 0.08)) {
					buf_adds(&c, "((");
					gen_specific(&g, &c, true);
					int left = n_tests;
					n_tests = 0;
					buf_adds(&c, ") or (");
					gen_specific(&g, &c, true);
					buf_adds(&c, "))");
					if (left < n_tests)
						n_tests = left;
				} else {
					gen_specific(&g, &c, false);
				}
				if (!broad && chance(&g, 0.06)) {
					char *so_far = xstrdup(buf_str(&c));
					buf_adds(&c, " and ");
					gen_not(&g, &c, so_far);
					free(so_far);
				}
				if (!hmap_get(&seen, c.data, c.len, &(uint32_t){0}) || attempt == 100)
					break;
			}
			hmap_put(&seen, c.data, c.len, 1);
			body[n_body++] = (struct gen_rule){ buf_take(&c), broad ? 0 : n_tests, order,
			                                    below(&g, (uint32_t)nq), chance(&g, 0.5) };
		}
		qsort(body, n_body, sizeof *body, cmp_rule);
		char *text = rules_text(seed, n, nq, n_top, body, n_body);
		char err[1024];
		struct ruleset *rs = load(text, strlen(text), env, err, sizeof err);
		free(text);
		if (!rs) {
			/* no tree, so no pruning: keep the candidates as they are
			 * (some may be unreachable); the probe reports the failure */
			fprintf(stderr, "N=%zu: round %d: %zu candidates do not compile (%s); "
			        "keeping them unpruned\n", n, round + 1, n_body, err);
			break;
		}
		size_t n_live;
		uint8_t *live = live_rules(rs->tree, rs->prog->n_rules, &n_live);
		size_t kept = 0;
		for (size_t r = 0; r < n_body; r++) {
			if (live[n_top + r])
				body[kept++] = body[r];
			else
				free(body[r].cond);
		}
		fprintf(stderr, "N=%zu: round %d: %zu candidates, %zu reachable\n", n, round + 1,
		        n_body, kept);
		n_body = kept;
		free(live);
		ruleset_free(rs);
	}
	hmap_free(&seen);
	/* too many: drop some at random (the rest stay reachable) */
	while (n_body > target) {
		size_t r = below(&g, (uint32_t)n_body);
		free(body[r].cond);
		memmove(body + r, body + r + 1, (n_body - r - 1) * sizeof *body);
		n_body--;
	}
	char *text = rules_text(seed, n, nq, n_top, body, n_body);
	for (size_t r = 0; r < n_body; r++)
		free(body[r].cond);
	free(body);
	*n_out = n_top + n_body + 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*gen_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return text;
}

/* ---- leads ---- */

struct bench_lead {
	struct fact v[F_N_BUILTIN];
	char email[64], domain[48], company[40];
};

static void set_text(struct fact *f, const char *s)
{
	*f = (struct fact){ .text = s, .present = true };
}

static struct bench_lead *gen_leads(uint64_t seed, size_t n, size_t m)
{
	struct rng g = { seed ^ 0x1eadull ^ (0x5eedull * (uint64_t)n) };
	struct bench_lead *L = xcalloc(m, sizeof *L);
	for (size_t i = 0; i < m; i++) {
		struct bench_lead *l = &L[i];
		bool personal = chance(&g, 0.25);
		uint32_t co = below(&g, 5000);
		snprintf(l->company, sizeof l->company, "company %u", co);
		if (personal)
			snprintf(l->domain, sizeof l->domain, "%s", chance(&g, 0.6) ? "gmail.com" : "yahoo.com");
		else
			snprintf(l->domain, sizeof l->domain, "company%u.example", co);
		snprintf(l->email, sizeof l->email, "user%zu@%s", i, l->domain);
		set_text(&l->v[F_EMAIL], l->email);
		set_text(&l->v[F_DOMAIN], l->domain);
		if (chance(&g, 0.7))
			set_text(&l->v[F_COMPANY], l->company);
		if (personal)
			set_text(&l->v[F_EMAIL_PERSONAL], "true");
		if (!personal && chance(&g, 0.2))
			set_text(&l->v[F_ACCOUNT_OWNER], "owner@acme.example");
		if (chance(&g, 0.88)) {
			if (chance(&g, 0.8))
				set_text(&l->v[F_COUNTRY], rule_countries[skewed(&g, COUNT(rule_countries))]);
			else
				set_text(&l->v[F_COUNTRY], lead_only_countries[below(&g, COUNT(lead_only_countries))]);
		}
		if (chance(&g, 0.85)) {
			double e;
			if (chance(&g, 0.2))
				e = thresholds[below(&g, COUNT(thresholds))];   /* on a boundary */
			else
				e = floor(exp(unit(&g) * log(50000.0))) ;      /* 1 .. 50000, log-uniform */
			l->v[F_EMPLOYEES] = (struct fact){ .num = e, .present = true };
		}
		if (chance(&g, 0.85))
			set_text(&l->v[F_INTENT], intents[below(&g, COUNT(intents))]);
		if (chance(&g, 0.6))
			set_text(&l->v[F_PRODUCT], products[skewed(&g, (uint32_t)(n_products * 5 / 4))]);
		if (chance(&g, 0.7)) {
			if (chance(&g, 0.85))
				set_text(&l->v[F_SOURCE], sources[below(&g, COUNT(sources))]);
			else
				set_text(&l->v[F_SOURCE], lead_only_sources[below(&g, COUNT(lead_only_sources))]);
		}
		if (chance(&g, 0.5)) {
			if (chance(&g, 0.85))
				set_text(&l->v[F_UTM_SOURCE], utm_sources[below(&g, COUNT(utm_sources))]);
			else
				set_text(&l->v[F_UTM_SOURCE], lead_only_utm[below(&g, COUNT(lead_only_utm))]);
		}
	}
	return L;
}

/* ---- time ---- */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this thread: compared with the wall time, it tells how much
 * of the run other processes took (a busy machine inflates every figure). */
static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double cpu_total, wall_total;   /* over every timed eval trial */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- loading ---- */

static struct ruleset *load(const char *text, size_t len, const struct lead_env *env,
                            char *err, size_t errlen)
{
	/* lint off: what is timed is parse + check + compile */
	struct diags d;
	diags_init(&d);
	struct ruleset *rs = ruleset_load_mem("bench.routes", text, len, env, false, &d, NULL);
	if (!rs) {
		struct buf m = {0};
		for (size_t i = 0; i < d.n; i++)
			if (d.v[i].severity == DIAG_ERROR) {
				if (m.len)
					buf_adds(&m, "; ");
				if (d.v[i].loc.line > 0)
					buf_printf(&m, "line %d: ", d.v[i].loc.line);
				buf_printf(&m, "%s [%s]", d.v[i].message, d.v[i].code ? d.v[i].code : "");
			}
		snprintf(err, errlen, "%s", m.len ? buf_str(&m) : "failed with no diagnostic");
		buf_free(&m);
	}
	diags_free(&d);
	return rs;
}

/* The first load runs in a child with a time limit, so a size whose tree
 * blows up is reported instead of hanging the benchmark.  Returns 1 when it
 * loaded, 0 when it failed (err says why), -1 when it hit the time limit. */
static int probe_load(const char *text, size_t len, const struct lead_env *env,
                      unsigned timeout, double *secs, char *err, size_t errlen)
{
	int fd[2];
	if (pipe(fd) < 0) {
		perror("bench_rules: pipe");
		exit(2);
	}
	fflush(NULL);
	double t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_rules: fork");
		exit(2);
	}
	if (pid == 0) {
		close(fd[0]);
		alarm(timeout);
		char msg[1024];
		struct ruleset *rs = load(text, len, env, msg, sizeof msg);
		char out[1100];
		int n = snprintf(out, sizeof out, "%c%s", rs ? 'Y' : 'N', rs ? "" : msg);
		if (write(fd[1], out, (size_t)n) < 0)
			_exit(3);
		_exit(0);
	}
	close(fd[1]);
	char in[1100];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof in - 1 && (r = read(fd[0], in + got, sizeof in - 1 - got)) > 0)
		got += (size_t)r;
	in[got] = '\0';
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	*secs = (now_ns() - t0) / 1e9;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		snprintf(err, errlen, "did not finish within %u s", timeout);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got == 0) {
		snprintf(err, errlen, "load crashed (status %d)", status);
		return 0;
	}
	if (in[0] == 'Y')
		return 1;
	snprintf(err, errlen, "%.1000s", in + 1);
	return 0;
}

/* ---- tree shape ---- */

struct shape {
	double avg_path, avg_text;   /* nodes visited per lead; text-dimension nodes */
	size_t max_path;
};

static struct shape tree_shape(const struct tree *t, const struct facts *F, size_t m)
{
	struct shape sh = {0};
	double sum = 0, sum_text = 0;
	for (size_t i = 0; i < m; i++) {
		uint32_t s = t->root;
		size_t len = 0;
		while (!(s & TREE_LEAF)) {
			const struct tree_node *nd = &t->nodes[s];
			const struct dim *d = &t->dims[nd->dim];
			len++;
			sum_text += d->kind == DIM_TEXT;
			s = tree_child(t, s, dim_region(t, d, &F[i]));
		}
		sum += (double)len;
		if (len > sh.max_path)
			sh.max_path = len;
	}
	sh.avg_path = sum / (double)m;
	sh.avg_text = sum_text / (double)m;
	return sh;
}

/* How many rules some leaf of the tree selects (the rest are shadowed). */
struct live_ctx {
	uint8_t *seen;
	size_t n;
};

static bool count_leaf(void *ctx, uint32_t rule, const uint32_t *path)
{
	struct live_ctx *lc = ctx;
	(void)path;
	if (rule != TREE_NO_RULE && !lc->seen[rule]) {
		lc->seen[rule] = 1;
		lc->n++;
	}
	return true;
}

static uint8_t *live_rules(const struct tree *t, size_t n_rules, size_t *n_live)
{
	struct live_ctx lc = { xcalloc(n_rules + 1, 1), 0 };
	tree_walk(t, false, count_leaf, &lc);
	*n_live = lc.n;
	return lc.seen;
}

/* ---- evaluation timing ---- */

static volatile uint64_t sink;

enum evaluator { EV_TREE, EV_ORACLE };

static uint64_t run_pass(enum evaluator ev, const struct ruleset *rs, const struct facts *F,
                         size_t m)
{
	uint64_t sum = 0;
	if (ev == EV_TREE) {
		for (size_t i = 0; i < m; i++)
			sum = sum * 31 + tree_eval(rs->tree, &F[i]);
	} else {
		for (size_t i = 0; i < m; i++)
			sum = sum * 31 + oracle_eval(rs->prog, &F[i]);
	}
	return sum;
}

/* A time as the wall clock saw it and as this thread's CPU time: on a
 * shared machine the second leaves out the time other processes had. */
struct t2 {
	double wall, cpu;
};

/* Median ns per lead over trials of at least eval_ms each. */
static struct t2 time_eval(enum evaluator ev, const struct ruleset *rs, const struct facts *F,
                           size_t m, const struct opts *o)
{
	double t0 = now_ns();
	sink += run_pass(ev, rs, F, m);      /* warm up, and size the passes */
	double one = now_ns() - t0;
	size_t passes = (size_t)ceil(o->eval_ms * 1e6 / (one > 1 ? one : 1));
	if (passes < 1)
		passes = 1;
	double *ns = xcalloc(o->eval_trials, sizeof *ns), *cns = xcalloc(o->eval_trials, sizeof *cns);
	for (size_t t = 0; t < o->eval_trials; t++) {
		uint64_t sum = 0;
		double ca = cpu_ns(), a = now_ns();
		for (size_t p = 0; p < passes; p++)
			sum += run_pass(ev, rs, F, m);
		double b = now_ns(), cb = cpu_ns();
		sink += sum;
		cpu_total += cb - ca;
		wall_total += b - a;
		ns[t] = (b - a) / ((double)passes * (double)m);
		cns[t] = (cb - ca) / ((double)passes * (double)m);
	}
	struct t2 med = { median(ns, o->eval_trials), median(cns, o->eval_trials) };
	free(ns);
	free(cns);
	return med;
}

/* ---- JSON export for json-rules-engine ---- */

static const char *fact_name(const struct program *p, int field)
{
	switch (field) {
	case F_ACCOUNT_OWNER: return "domain_owned";      /* read as a boolean */
	case F_EMAIL_PERSONAL: return "email_personal";
	case F_ACCOUNT_LIFECYCLE: return "account_lifecycle";
	case F_ACCOUNT_TIER: return "account_tier";
	default: return p->fields[field].name;
	}
}

static struct json_object *jvalue(const struct program *p, const struct cond *c,
                                  const struct value *v)
{
	if (p->fields[c->field_id].type == FT_NUMBER)
		return json_object_new_double(v->num);
	return json_object_new_string(v->norm);
}

static struct json_object *jcond(const struct program *p, const struct cond *c);

/* Flatten a chain of the same connective into one all/any list. */
static void jflatten(const struct program *p, const struct cond *c, enum cond_kind k,
                     struct json_object *arr)
{
	if (c->kind == k) {
		jflatten(p, c->a, k, arr);
		jflatten(p, c->b, k, arr);
	} else {
		json_object_array_add(arr, jcond(p, c));
	}
}

static struct json_object *jleaf(const char *fact, const char *op, struct json_object *val)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "fact", json_object_new_string(fact));
	json_object_object_add(o, "operator", json_object_new_string(op));
	json_object_object_add(o, "value", val);
	return o;
}

static struct json_object *jcond(const struct program *p, const struct cond *c)
{
	struct json_object *o;
	switch (c->kind) {
	case C_AND: case C_OR: {
		struct json_object *arr = json_object_new_array();
		jflatten(p, c, c->kind, arr);
		o = json_object_new_object();
		json_object_object_add(o, c->kind == C_AND ? "all" : "any", arr);
		return o;
	}
	case C_NOT:
		o = json_object_new_object();
		json_object_object_add(o, "not", jcond(p, c->a));
		return o;
	case C_TRUE:
		o = json_object_new_object();
		json_object_object_add(o, "all", json_object_new_array());   /* empty all is true */
		return o;
	case C_OWNED: case C_PERSONAL:
		return jleaf(fact_name(p, c->field_id), "equal", json_object_new_boolean(1));
	case C_CMP: {
		static const char *const ops[] = {
			[OP_EQ] = "equal", [OP_NE] = "notEqual", [OP_LT] = "lessThan",
			[OP_LE] = "lessThanInclusive", [OP_GT] = "greaterThan",
			[OP_GE] = "greaterThanInclusive",
		};
		return jleaf(fact_name(p, c->field_id), ops[c->op], jvalue(p, c, &c->vals[0]));
	}
	case C_IN: {
		struct json_object *arr = json_object_new_array();
		for (size_t i = 0; i < c->n_vals; i++)
			json_object_array_add(arr, jvalue(p, c, &c->vals[i]));
		return jleaf(fact_name(p, c->field_id), c->negated ? "notIn" : "in", arr);
	}
	default:
		/* is present / ends with / contains / matches have no exact
		 * json-rules-engine operator; the generator never writes them */
		fprintf(stderr, "bench_rules: cannot export condition kind %d (line %d)\n",
		        (int)c->kind, c->loc.line);
		abort();
	}
}

static struct json_object *jcond_root(const struct program *p, const struct cond *c)
{
	if (c->kind == C_AND || c->kind == C_OR || c->kind == C_NOT || c->kind == C_TRUE)
		return jcond(p, c);
	struct json_object *arr = json_object_new_array(), *o = json_object_new_object();
	json_object_array_add(arr, jcond(p, c));
	json_object_object_add(o, "all", arr);
	return o;
}

static void write_json(const char *path, struct json_object *o)
{
	if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PLAIN) < 0) {
		fprintf(stderr, "bench_rules: cannot write %s: %s\n", path, json_util_get_last_err());
		exit(2);
	}
}

static void export_rules(const char *dir, size_t n, const struct program *p,
                         const uint32_t *expect, size_t m, const char *expect_from)
{
	struct json_object *root = json_object_new_object(), *rules = json_object_new_array();
	for (size_t r = 0; r < p->n_rules; r++) {
		struct json_object *rule = json_object_new_object(), *ev = json_object_new_object(),
		                   *params = json_object_new_object();
		json_object_object_add(rule, "conditions", jcond_root(p, p->rules[r].cond));
		json_object_object_add(params, "index", json_object_new_int64((int64_t)r));
		json_object_object_add(params, "line", json_object_new_int(p->rules[r].loc.line));
		json_object_object_add(ev, "type", json_object_new_string("rule"));
		json_object_object_add(ev, "params", params);
		json_object_object_add(rule, "event", ev);
		/* file order as strictly descending priority: one rule per priority
		 * level, so json-rules-engine runs them one after another */
		json_object_object_add(rule, "priority", json_object_new_int64((int64_t)(p->n_rules - r)));
		json_object_array_add(rules, rule);
	}
	struct json_object *exp = json_object_new_array();
	for (size_t i = 0; i < m; i++)
		json_object_array_add(exp, json_object_new_int64(expect[i] == TREE_NO_RULE ? -1
		                                                 : (int64_t)expect[i]));
	json_object_object_add(root, "n_rules", json_object_new_int64((int64_t)n));
	json_object_object_add(root, "rules", rules);
	json_object_object_add(root, "expect", exp);
	json_object_object_add(root, "expect_from", json_object_new_string(expect_from));
	char path[4096];
	snprintf(path, sizeof path, "%s/rules-%zu.json", dir, n);
	write_json(path, root);
	json_object_put(root);
}

static void export_leads(const char *dir, size_t n, const struct program *p,
                         const struct bench_lead *L, size_t m)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < m; i++) {
		struct json_object *o = json_object_new_object();
		for (int f = 0; f < F_N_BUILTIN; f++) {
			const struct fact *x = &L[i].v[f];
			if (f == F_ACCOUNT_OWNER || f == F_EMAIL_PERSONAL) {
				/* the predicates: always given, true or false */
				json_object_object_add(o, fact_name(p, f), json_object_new_boolean(x->present));
				continue;
			}
			if (!x->present)
				continue;   /* missing: json-rules-engine sees undefined */
			if (p->fields[f].type == FT_NUMBER)
				json_object_object_add(o, fact_name(p, f), json_object_new_double(x->num));
			else
				json_object_object_add(o, fact_name(p, f), json_object_new_string(x->text));
		}
		json_object_array_add(arr, o);
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/leads-%zu.json", dir, n);
	write_json(path, arr);
	json_object_put(arr);
}

/* ---- main ---- */

struct result {
	size_t n, n_real, bytes, dims, nodes, slots;
	double gen_s;                   /* generating (and pruning) the file */
	int status;                     /* 1 compiled, 0 error, -1 timeout */
	char err[1024];
	double probe_s;
	struct shape sh;
	size_t live, hit;               /* rules some leaf selects; rules some lead gets */
	double avg_tried;               /* rules the oracle tries per lead */
	struct t2 load_t, compile_t;    /* ms */
	struct t2 tree_t, oracle_t;     /* ns per lead */
};

int main(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);   /* in step with the progress on stderr */
	for (int i = 0; i < MAX_PRODUCTS; i++) {
		char s[8];
		snprintf(s, sizeof s, "p%d", i + 1);
		products[i] = xstrdup(s);
	}
	struct refdata rd;
	char err[1024];
	if (refdata_load(&rd, err, sizeof err) < 0) {
		fprintf(stderr, "bench_rules: %s\n", err);
		return 2;
	}
	struct lead_env env = refdata_env(&rd);
	if (o.export_dir && mkdir(o.export_dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench_rules: %s: %s\n", o.export_dir, strerror(errno));
		return 2;
	}

	size_t m = o.n_leads;

	printf("bench_rules: seed %" PRIu64 ", %zu leads, lint off, compile runs %zu, "
	       "eval trials %zu x >= %.0f ms\n", o.seed, m, o.compile_runs, o.eval_trials, o.eval_ms);
	struct result *res = xcalloc(o.n_sizes, sizeof *res);
	uint32_t *ans_tree = xcalloc(m, sizeof *ans_tree), *ans_oracle = xcalloc(m, sizeof *ans_oracle);

	for (size_t si = 0; si < o.n_sizes; si++) {
		struct result *R = &res[si];
		size_t n = o.sizes[si];
		R->n = n;
		n_products = n / 20 < 10 ? 10 : n / 20 > 500 ? 500 : n / 20;
		char *text = gen_rules(o.seed, n, &env, &R->n_real, &R->gen_s);
		if (R->n_real != n)
			fprintf(stderr, "N=%zu: only %zu reachable rules could be generated\n", n, R->n_real);
		struct bench_lead *L = gen_leads(o.seed, n, m);
		struct facts *F = xcalloc(m, sizeof *F);
		for (size_t i = 0; i < m; i++)
			F[i] = (struct facts){ L[i].v, F_N_BUILTIN };
		if (o.export_dir) {
			struct program *builtins = program_new();   /* field names and types */
			export_leads(o.export_dir, n, builtins, L, m);
			program_free(builtins);
		}
		size_t len = strlen(text);
		R->bytes = len;
		if (o.export_dir) {
			char path[4096];
			snprintf(path, sizeof path, "%s/rules-%zu.routes", o.export_dir, n);
			FILE *f = fopen(path, "w");
			if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
				fprintf(stderr, "bench_rules: cannot write %s\n", path);
				return 2;
			}
		}
		fprintf(stderr, "N=%zu: probing load (limit %u s)...\n", n, o.compile_timeout);
		R->status = probe_load(text, len, &env, o.compile_timeout, &R->probe_s, R->err,
		                       sizeof R->err);
		struct ruleset *rs = NULL;
		struct program *prog_only = NULL;
		struct source *src_only = NULL;
		if (R->status == 1) {
			double *t = xcalloc(o.compile_runs, sizeof *t), *ct = xcalloc(o.compile_runs, sizeof *ct);
			size_t runs = 0;
			double budget0 = now_ns();
			for (; runs < o.compile_runs; runs++) {
				/* at least 3 runs; past 3, stop after 30 s */
				if (runs >= 3 && now_ns() - budget0 > 30e9)
					break;
				double ca = cpu_ns(), a = now_ns();
				struct ruleset *x = load(text, len, &env, err, sizeof err);
				t[runs] = now_ns() - a;
				ct[runs] = cpu_ns() - ca;
				if (!x) {
					fprintf(stderr, "bench_rules: N=%zu: load failed after probing: %s\n", n, err);
					return 1;
				}
				if (rs)
					ruleset_free(x);
				else
					rs = x;
			}
			R->load_t = (struct t2){ median(t, runs) / 1e6, median(ct, runs) / 1e6 };
			for (size_t k = 0; k < runs; k++) {   /* tree_compile alone */
				char e2[512];
				double ca = cpu_ns(), a = now_ns();
				struct tree *tr = tree_compile(rs->prog, e2, sizeof e2);
				t[k] = now_ns() - a;
				ct[k] = cpu_ns() - ca;
				if (!tr) {
					fprintf(stderr, "bench_rules: tree_compile failed on reload: %s\n", e2);
					return 1;
				}
				tree_free(tr);
			}
			R->compile_t = (struct t2){ median(t, runs) / 1e6, median(ct, runs) / 1e6 };
			free(t);
			free(ct);
			R->dims = rs->tree->n_dims;
			R->nodes = tree_node_count(rs->tree);
			R->slots = tree_slot_count(rs->tree);
		} else {
			/* parse and check only (no tree), for the oracle and the export */
			struct diags d;
			diags_init(&d);
			src_only = source_from_mem("bench.routes", text, len);
			prog_only = routes_parse(src_only, &d);
			struct check_env cenv = { .countries = env.countries };
			if (d.n_errors || !check_program(prog_only, src_only, &cenv, &d)) {
				fprintf(stderr, "bench_rules: N=%zu: the generated file does not check "
				        "(%zu errors); the tree: %s\n", n, d.n_errors, R->err);
				return 1;
			}
			diags_free(&d);
		}
		const struct program *prog = rs ? rs->prog : prog_only;
		if (prog->n_fields != F_N_BUILTIN) {
			fprintf(stderr, "bench_rules: unexpected field count %zu\n", prog->n_fields);
			return 1;
		}
		/* the same answer on every lead, or stop here */
		for (size_t i = 0; i < m; i++) {
			ans_oracle[i] = oracle_eval(prog, &F[i]);
			if (!rs)
				continue;
			ans_tree[i] = tree_eval(rs->tree, &F[i]);
			if (ans_tree[i] != ans_oracle[i]) {
				fprintf(stderr, "bench_rules: MISMATCH at N=%zu lead %zu: tree says rule %u "
				        "(line %d), oracle says rule %u (line %d)\n", n, i, ans_tree[i],
				        ans_tree[i] == TREE_NO_RULE ? 0 : prog->rules[ans_tree[i]].loc.line,
				        ans_oracle[i],
				        ans_oracle[i] == TREE_NO_RULE ? 0 : prog->rules[ans_oracle[i]].loc.line);
				abort();
			}
		}
		uint8_t *hit = xcalloc(prog->n_rules + 1, 1);
		double tried = 0;
		for (size_t i = 0; i < m; i++) {
			uint32_t a = ans_oracle[i];
			tried += a == TREE_NO_RULE ? (double)prog->n_rules : (double)a + 1;
			if (a != TREE_NO_RULE && !hit[a]) {
				hit[a] = 1;
				R->hit++;
			}
		}
		free(hit);
		R->avg_tried = tried / (double)m;
		if (rs)
			free(live_rules(rs->tree, prog->n_rules, &R->live));
		if (o.export_dir)
			export_rules(o.export_dir, n, prog, rs ? ans_tree : ans_oracle, m,
			             rs ? "tree" : "oracle");
		if (rs) {
			R->sh = tree_shape(rs->tree, F, m);
			if (!o.skip_tree)
				R->tree_t = time_eval(EV_TREE, rs, F, m, &o);
			if (!o.skip_oracle)
				R->oracle_t = time_eval(EV_ORACLE, rs, F, m, &o);
		} else if (!o.skip_oracle) {
			struct ruleset fake = { .prog = prog_only };
			R->oracle_t = time_eval(EV_ORACLE, &fake, F, m, &o);
		}
		ruleset_free(rs);
		program_free(prog_only);
		source_free(src_only);
		free(text);
		free(F);
		free(L);
		fprintf(stderr, "N=%zu: done\n", n);
	}

	printf("\nload = parse + check + compile (ruleset_load_mem, lint off); compile = tree_compile "
	       "alone;\nmedians; cpu = this thread's CPU time (leaves out what other processes took)\n");
	printf("path = tree nodes visited per lead (mean, max; text: how many of them switch on a "
	       "text field);\nlive = rules some leaf selects; hit = rules some lead got; gen s = "
	       "generating the file\n");
	printf("%7s %9s %6s %9s %9s %9s %9s %5s %8s %9s %5s %3s %5s %6s %5s\n", "rules", "bytes",
	       "gen s", "load ms", "cpu", "compile", "cpu", "dims", "nodes", "slots", "path", "max",
	       "text", "live", "hit");
	for (size_t si = 0; si < o.n_sizes; si++) {
		struct result *R = &res[si];
		if (R->status != 1) {
			printf("%7zu %9zu %6.1f  DID NOT COMPILE after %.1f s: %s\n", R->n_real, R->bytes,
			       R->gen_s, R->probe_s, R->err);
			continue;
		}
		printf("%7zu %9zu %6.1f %9.2f %9.2f %9.2f %9.2f %5zu %8zu %9zu %5.2f %3zu %5.2f %6zu %5zu\n",
		       R->n_real, R->bytes, R->gen_s, R->load_t.wall, R->load_t.cpu, R->compile_t.wall,
		       R->compile_t.cpu, R->dims, R->nodes, R->slots, R->sh.avg_path, R->sh.max_path,
		       R->sh.avg_text, R->live, R->hit);
	}
	printf("\nns per lead (median of %zu trials), same rules and leads, answers checked equal "
	       "on all %zu leads\n", o.eval_trials, m);
	printf("%7s %10s %10s %12s %12s %12s %12s %13s\n", "rules", "tree ns", "cpu", "oracle ns",
	       "cpu", "oracle/tree", "(cpu)", "oracle tries");
	for (size_t si = 0; si < o.n_sizes; si++) {
		struct result *R = &res[si];
		if (R->status != 1)
			printf("%7zu %10s %10s %12.1f %12.1f %12s %12s %13.1f\n", R->n, "-", "-",
			       R->oracle_t.wall, R->oracle_t.cpu, "-", "-", R->avg_tried);
		else
			printf("%7zu %10.1f %10.1f %12.1f %12.1f %11.1fx %11.1fx %13.1f\n", R->n,
			       R->tree_t.wall, R->tree_t.cpu, R->oracle_t.wall, R->oracle_t.cpu,
			       R->oracle_t.wall / R->tree_t.wall, R->oracle_t.cpu / R->tree_t.cpu,
			       R->avg_tried);
	}
	printf("checksum %016" PRIx64 "\n", (uint64_t)sink);
	if (wall_total > 0) {
		double share = cpu_total / wall_total;
		printf("cpu share during eval trials: %.0f%%%s\n", 100 * share,
		       share < 0.9 ? " - WARNING: the machine was busy; wall-clock figures are "
		                     "inflated, trust the cpu columns more" : "");
	}

	if (o.export_dir) {
		char path[4096];
		snprintf(path, sizeof path, "%s/c-results.tsv", o.export_dir);
		FILE *f = fopen(path, "w");
		if (!f) {
			fprintf(stderr, "bench_rules: cannot write %s\n", path);
			return 2;
		}
		fprintf(f, "rules\tstatus\tload_ms\tcompile_ms\tdims\tnodes\tslots\tavg_path\t"
		        "tree_ns\toracle_ns\tlive\thit\toracle_tries\tload_cpu_ms\tcompile_cpu_ms\t"
		        "tree_cpu_ns\toracle_cpu_ns\n");
		for (size_t si = 0; si < o.n_sizes; si++) {
			struct result *R = &res[si];
			fprintf(f, "%zu\t%s\t%.3f\t%.3f\t%zu\t%zu\t%zu\t%.2f\t%.1f\t%.1f\t%zu\t%zu\t%.1f\t"
			        "%.3f\t%.3f\t%.1f\t%.1f\n",
			        R->n, R->status == 1 ? "ok" : R->status == 0 ? "error" : "timeout",
			        R->load_t.wall, R->compile_t.wall, R->dims, R->nodes, R->slots,
			        R->sh.avg_path, R->tree_t.wall, R->oracle_t.wall, R->live, R->hit,
			        R->avg_tried, R->load_t.cpu, R->compile_t.cpu, R->tree_t.cpu,
			        R->oracle_t.cpu);
		}
		fclose(f);
	}
	free(res);
	free(ans_tree);
	free(ans_oracle);
	for (int i = 0; i < MAX_PRODUCTS; i++)
		free((char *)products[i]);
	refdata_free(&rd);
	return 0;
}
