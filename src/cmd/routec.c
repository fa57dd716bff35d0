/* routec - check, test, explain, diff and draw .routes files.
 *
 * A thin command over the rules library: it parses arguments, loads files
 * through ruleset.h and prints.  Exit status: 0 clean, 1 errors (or
 * warnings with --strict, failed cases, changed routes for --diff), 2 usage
 * or I/O.  In --format=json or sarif, stdout carries only that document.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "lead/accounts.h"
#include "lead/refdata.h"
#include "rules/diff.h"
#include "rules/explain.h"
#include "rules/fmt.h"
#include "rules/route.h"
#include "rules/ruleset.h"
#include "util/buf.h"
#include "util/xalloc.h"

enum mode { M_NONE, M_CHECK, M_TEST, M_ROUTE, M_EXPLAIN, M_DIFF, M_DOT, M_TREE, M_FMT, M_OUT };

struct opts {
	enum mode mode;
	enum diag_format format;
	bool strict;
	bool color;
	const char *cases;
	const char *accounts;
	const char *output;
	size_t max_errors;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: routec --check FILE...           parse, type-check and lint\n"
	        "       routec --test FILE... [--cases F.jsonl]\n"
	        "                                        run expect cases and JSON-lines cases\n"
	        "       routec --route FILE [LEADS.jsonl] one decision per lead line (stdin: -)\n"
	        "       routec --explain FILE LEAD       LEAD is JSON or name=value words\n"
	        "       routec --diff OLD NEW            regions whose route changes\n"
	        "       routec --dot FILE | --tree FILE  the decision tree (Graphviz / text)\n"
	        "       routec -o OUT FILE               write the compiled tree\n"
	        "       routec --fmt FILE                print in canonical layout\n"
	        "options: --format=text|json|sarif  --strict  --accounts FILE.csv\n"
	        "         --max-errors N  --color\n");
}

static int set_mode(struct opts *o, enum mode m)
{
	if (o->mode != M_NONE && o->mode != m) {
		fprintf(stderr, "routec: choose one of --check, --test, --route, --explain, "
		        "--diff, --dot, --tree, --fmt, -o\n");
		return -1;
	}
	o->mode = m;
	return 0;
}

/* Shared state of one run: reference data and the optional accounts. */
struct run {
	struct opts o;
	struct refdata rd;
	struct lead_env env;
	struct account_index *accounts;
	struct account_lookup lookup;
};

static void print_diags(const struct run *r, const struct diags *d)
{
	FILE *out = r->o.format == DIAG_TEXT ? stderr : stdout;
	diags_print(d, r->o.format, out, r->o.color);
}

static int status_of(const struct run *r, const struct diags *d)
{
	if (d->n_errors)
		return 1;
	if (r->o.strict && d->n_warnings)
		return 1;
	return 0;
}

static int cmd_check(struct run *r, int argc, char **argv)
{
	struct diags d;
	diags_init(&d);
	d.max_errors = r->o.max_errors;
	struct ruleset **sets = xcalloc((size_t)argc + 1, sizeof *sets);
	bool io = false;
	for (int i = 0; i < argc; i++) {
		struct ruleset *keep = NULL;
		sets[i] = ruleset_load(argv[i], &r->env, true, &d, &keep);
		if (!sets[i] && !keep)
			io = true;
		if (!sets[i])
			sets[i] = keep;
	}
	diags_sort(&d);
	print_diags(r, &d);
	int rc = io ? 2 : status_of(r, &d);
	if (r->o.format == DIAG_TEXT && rc == 0 && (d.n_warnings || argc > 1))
		fprintf(stderr, "routec: %d file%s checked, %zu warning%s\n", argc,
		        argc == 1 ? "" : "s", d.n_warnings, d.n_warnings == 1 ? "" : "s");
	diags_free(&d);
	for (int i = 0; i < argc; i++)
		ruleset_free(sets[i]);
	free(sets);
	return rc;
}

/* One JSON-lines case file against one ruleset: {"lead": {...},
 * "expect": "queue"}.  Failures go to stdout. */
static void run_cases(struct run *r, const struct ruleset *rs, const char *path,
                      size_t *passed, size_t *failed, bool *reached, int *io)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!fp) {
		fprintf(stderr, "routec: cannot open '%s': %s\n", path, strerror(errno));
		*io = 1;
		return;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	struct lead_env env = r->env;
	env.strict_names = true;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (n == 0 || line[0] == '\n' || line[0] == '#')
			continue;
		struct json_tokener *tok = json_tokener_new();
		struct json_object *o = json_tokener_parse_ex(tok, line, (int)n);
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		json_tokener_free(tok);
		struct json_object *lead = NULL, *want = NULL;
		if (!o || jerr != json_tokener_success ||
		    !json_object_object_get_ex(o, "lead", &lead) ||
		    !json_object_object_get_ex(o, "expect", &want) ||
		    !json_object_is_type(want, json_type_string)) {
			printf("%s:%d: FAIL: not a case: expected {\"lead\": {...}, \"expect\": \"QUEUE\"}\n",
			       path, lineno);
			(*failed)++;
			json_object_put(o);
			continue;
		}
		struct lead l;
		lead_init(&l);
		char err[256];
		struct lead_facts lf = {0};
		struct lead_errors errs = {0};
		if (!lead_from_json(&l, lead, err, sizeof err)) {
			printf("%s:%d: FAIL: %s\n", path, lineno, err);
			(*failed)++;
		} else {
			uint32_t rule = lint_route_lead(rs->prog, rs->tree, &l, &env, &lf, &errs);
			if (errs.n) {
				printf("%s:%d: FAIL: %s: %s\n", path, lineno, errs.v[0].field,
				       errs.v[0].message);
				(*failed)++;
			} else {
				struct route rt;
				route_resolve(rs->prog, rule, &lf.facts, &rt);
				const char *got = route_queue_name(rs->prog, &rt);
				if (rule != TREE_NO_RULE)
					reached[rule] = true;
				if (strcmp(got, json_object_get_string(want)) == 0) {
					(*passed)++;
				} else {
					(*failed)++;
					if (rule == TREE_NO_RULE)
						printf("%s:%d: FAIL: expected '%s', but the lead matches no rule\n",
						       path, lineno, json_object_get_string(want));
					else
						printf("%s:%d: FAIL: expected '%s', got '%s' (rule on line %d)\n",
						       path, lineno, json_object_get_string(want), got,
						       rs->prog->rules[rule].loc.line);
				}
			}
		}
		lead_facts_free(&lf);
		lead_errors_free(&errs);
		lead_free(&l);
		json_object_put(o);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
}

static int cmd_test(struct run *r, int argc, char **argv)
{
	size_t passed = 0, failed = 0;
	int io = 0, rc = 0;
	for (int i = 0; i < argc; i++) {
		struct diags d;
		diags_init(&d);
		struct ruleset *keep = NULL;
		struct ruleset *rs = ruleset_load(argv[i], &r->env, true, &d, &keep);
		if (!rs && keep && keep->tree && d.n_errors) {
			/* expect-failed errors still count as test results */
			bool only_cases = true;
			for (size_t k = 0; k < d.n; k++)
				if (d.v[k].severity == DIAG_ERROR && strcmp(d.v[k].code, "expect-failed") != 0)
					only_cases = false;
			if (only_cases) {
				rs = keep;
				keep = NULL;
			}
		}
		diags_sort(&d);
		diags_print(&d, DIAG_TEXT, stderr, r->o.color);
		if (!rs) {
			if (!keep)
				io = 1;
			rc = 1;
			failed++;
			ruleset_free(keep);
			diags_free(&d);
			continue;
		}
		passed += rs->lint.cases_passed;
		failed += rs->lint.cases_failed;
		bool *reached = xcalloc(rs->prog->n_rules + 1, sizeof(bool));
		for (size_t k = 0; k < rs->prog->n_rules; k++)
			reached[k] = rs->lint.rule_reached_by_case[k];
		if (r->o.cases)
			run_cases(r, rs, r->o.cases, &passed, &failed, reached, &io);
		bool header = false;
		for (size_t k = 0; k < rs->prog->n_rules; k++) {
			if (reached[k])
				continue;
			if (!header)
				printf("%s: rules no case reaches:\n", argv[i]);
			header = true;
			const struct rule *rl = &rs->prog->rules[k];
			printf("  line %d -> %s\n", rl->loc.line, rl->act.drop ? "drop" : rl->act.queue);
		}
		free(reached);
		ruleset_free(rs);
		diags_free(&d);
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	if (io)
		return 2;
	return rc || failed ? 1 : 0;
}

/* Load one file for the commands that need a clean ruleset. */
static struct ruleset *load_clean(struct run *r, const char *path, bool lint)
{
	struct diags d;
	diags_init(&d);
	struct ruleset *keep = NULL;
	struct ruleset *rs = ruleset_load(path, &r->env, lint, &d, &keep);
	diags_sort(&d);
	diags_print(&d, DIAG_TEXT, stderr, r->o.color);
	diags_free(&d);
	ruleset_free(keep);   /* after printing: the diagnostics point into it */
	if (!rs)
		fprintf(stderr, "routec: '%s' has errors; run routec --check %s\n", path, path);
	return rs;
}

static struct json_object *decision_json(const struct ruleset *rs, uint32_t rule,
                                         const struct facts *facts)
{
	struct route rt;
	route_resolve(rs->prog, rule, facts, &rt);
	struct json_object *o = json_object_new_object();
	static const char *const outs[] = { "confirm", "scheduler", "page" };
	json_object_object_add(o, "queue", json_object_new_string(route_queue_name(rs->prog, &rt)));
	if (rule == TREE_NO_RULE) {
		json_object_object_add(o, "rule", NULL);
		return o;
	}
	const struct rule *rl = &rs->prog->rules[rule];
	if (rt.owner)
		json_object_object_add(o, "owner", json_object_new_string(rt.owner));
	if (rt.owner_fallback)
		json_object_object_add(o, "owner_fallback", json_object_new_boolean(true));
	json_object_object_add(o, "outcome", json_object_new_string(outs[rt.outcome]));
	if (rt.page)
		json_object_object_add(o, "page", json_object_new_string(rt.page));
	struct json_object *ro = json_object_new_object();
	json_object_object_add(ro, "line", json_object_new_int(rl->loc.line));
	json_object_object_add(o, "rule", ro);
	struct json_object *tags = json_object_new_array();
	for (size_t i = 0; i < rl->act.n_tags; i++)
		json_object_array_add(tags, json_object_new_string(rl->act.tags[i]));
	json_object_object_add(o, "tags", tags);
	return o;
}

static void print_json_line(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                              JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int cmd_route(struct run *r, int argc, char **argv)
{
	if (argc < 1 || argc > 2) {
		usage(stderr);
		return 2;
	}
	struct ruleset *rs = load_clean(r, argv[0], false);
	if (!rs)
		return 1;
	const char *path = argc == 2 ? argv[1] : "-";
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!fp) {
		fprintf(stderr, "routec: cannot open '%s': %s\n", path, strerror(errno));
		ruleset_free(rs);
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int bad = 0;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		if (n == 0 || line[0] == '\n')
			continue;
		struct json_tokener *tok = json_tokener_new();
		struct json_object *o = json_tokener_parse_ex(tok, line, (int)n);
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		json_tokener_free(tok);
		struct json_object *res = NULL;
		char err[256];
		struct lead l;
		lead_init(&l);
		if (!o || jerr != json_tokener_success) {
			snprintf(err, sizeof err, "line is not JSON (%s)", json_tokener_error_desc(jerr));
		} else if (!lead_from_json(&l, o, err, sizeof err)) {
			/* err filled */
		} else {
			struct lead_facts lf;
			struct lead_errors errs = {0};
			uint32_t rule = lint_route_lead(rs->prog, rs->tree, &l, &r->env, &lf, &errs);
			if (errs.n) {
				snprintf(err, sizeof err, "%s: %s", errs.v[0].field, errs.v[0].message);
			} else {
				res = decision_json(rs, rule, &lf.facts);
			}
			lead_facts_free(&lf);
			lead_errors_free(&errs);
		}
		if (!res) {
			bad = 1;
			res = json_object_new_object();
			json_object_object_add(res, "error", json_object_new_string(err));
		}
		print_json_line(res);
		json_object_put(res);
		json_object_put(o);
		lead_free(&l);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	ruleset_free(rs);
	return bad;
}

static int cmd_explain(struct run *r, int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	struct ruleset *rs = load_clean(r, argv[0], false);
	if (!rs)
		return 1;
	struct lead l;
	lead_init(&l);
	char err[256];
	bool ok;
	if (argc == 2 && argv[1][0] == '{') {
		struct json_object *o = json_tokener_parse(argv[1]);
		ok = o && lead_from_json(&l, o, err, sizeof err);
		if (!o)
			snprintf(err, sizeof err, "LEAD is not valid JSON");
		json_object_put(o);
	} else {
		ok = lead_from_words(&l, argc - 1, argv + 1, err, sizeof err);
	}
	int rc = 0;
	if (!ok) {
		fprintf(stderr, "routec: %s\n", err);
		rc = 2;
	} else {
		struct lead_facts lf;
		struct lead_errors errs = {0};
		struct lead_env env = r->env;
		env.strict_names = true;
		uint32_t rule = lint_route_lead(rs->prog, rs->tree, &l, &env, &lf, &errs);
		if (errs.n) {
			for (size_t i = 0; i < errs.n; i++)
				fprintf(stderr, "routec: %s: %s\n", errs.v[i].field, errs.v[i].message);
			rc = 1;
		} else if (r->o.format == DIAG_JSON) {
			uint32_t w;
			struct json_object *o = explain_json(rs->prog, rs->src, &lf.facts, &w);
			json_object_object_add(o, "decision", decision_json(rs, rule, &lf.facts));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
			                                              JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else {
			printf("lead:");
			for (size_t f = 0; f < rs->prog->n_fields; f++) {
				const struct fact *v = &lf.facts.v[f];
				if (v->present && f != F_EMAIL_PERSONAL)
					printf(" %s=%s", rs->prog->fields[f].name, v->text);
			}
			if (lf.facts.v[F_EMAIL_PERSONAL].present)
				printf(" (email personal)");
			printf("\nrules tried:\n");
			uint32_t w = explain_text(rs->prog, rs->src, &lf.facts, stdout);
			struct route rt;
			route_resolve(rs->prog, rule, &lf.facts, &rt);
			if (w != rule)
				fprintf(stderr, "routec: internal error: tree and explanation disagree\n");
			if (rule == TREE_NO_RULE) {
				printf("no rule matches this lead\n");
			} else {
				static const char *const outs[] = { "confirm", "scheduler", "page" };
				printf("winner: line %d -> %s", rs->prog->rules[rule].loc.line,
				       route_queue_name(rs->prog, &rt));
				if (rt.owner)
					printf(" (owner %s)", rt.owner);
				if (rt.owner_fallback)
					printf(" (account owner unknown: fallback)");
				printf(" then %s", outs[rt.outcome]);
				if (rt.page)
					printf(" \"%s\"", rt.page);
				printf("\n");
			}
		}
		lead_facts_free(&lf);
		lead_errors_free(&errs);
	}
	lead_free(&l);
	ruleset_free(rs);
	return rc;
}

static int cmd_diff(struct run *r, int argc, char **argv)
{
	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	struct ruleset *a = load_clean(r, argv[0], false);
	struct ruleset *b = a ? load_clean(r, argv[1], false) : NULL;
	if (!a || !b) {
		ruleset_free(a);
		return 1;
	}
	char err[512];
	long n = diff_rulesets(a, b, &r->env, r->o.format, stdout, err, sizeof err);
	if (n < 0)
		fprintf(stderr, "routec: %s\n", err);
	ruleset_free(a);
	ruleset_free(b);
	return n < 0 ? 2 : n > 0 ? 1 : 0;
}

static int cmd_draw(struct run *r, int argc, char **argv)
{
	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	struct ruleset *rs = load_clean(r, argv[0], false);
	if (!rs)
		return 1;
	if (r->o.mode == M_DOT)
		tree_print_dot(rs->tree, stdout);
	else
		tree_print_text(rs->tree, stdout);
	ruleset_free(rs);
	return 0;
}

static int cmd_fmt(struct run *r, int argc, char **argv)
{
	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	struct ruleset *rs = load_clean(r, argv[0], false);
	if (!rs)
		return 1;
	fmt_program(rs->prog, rs->src, stdout);
	ruleset_free(rs);
	return 0;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		mdlen = 0;
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * (mdlen < 32 ? mdlen : 32)] = '\0';
}

/* The compiled tree as a versioned JSON document. */
static int cmd_output(struct run *r, int argc, char **argv)
{
	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	struct ruleset *rs = load_clean(r, argv[0], true);
	if (!rs)
		return 1;
	const struct tree *t = rs->tree;
	char hash[65];
	sha256_hex(rs->src->text, rs->src->len, hash);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_string("leadroute-tree"));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "source", json_object_new_string(rs->src->name));
	json_object_object_add(o, "source_sha256", json_object_new_string(hash));
	struct json_object *dims = json_object_new_array();
	for (size_t i = 0; i < t->n_dims; i++) {
		const struct dim *d = &t->dims[i];
		struct json_object *dj = json_object_new_object();
		static const char *const kinds[] = { "text", "number", "pattern" };
		json_object_object_add(dj, "kind", json_object_new_string(kinds[d->kind]));
		json_object_object_add(dj, "field",
		                       json_object_new_string(rs->prog->fields[d->field_id].name));
		struct json_object *vals = json_object_new_array();
		for (size_t k = 0; k < d->n_consts; k++)
			json_object_array_add(vals, json_object_new_string(d->consts[k]));
		for (size_t k = 0; k < d->n_points; k++)
			json_object_array_add(vals, json_object_new_double(d->points[k]));
		if (d->kind == DIM_PATTERN)
			json_object_array_add(vals, json_object_new_string(d->pat));
		json_object_object_add(dj, "values", vals);
		json_object_array_add(dims, dj);
	}
	json_object_object_add(o, "dimensions", dims);
	struct json_object *nodes = json_object_new_array();
	for (size_t i = 0; i < t->n_nodes; i++) {
		struct json_object *nj = json_object_new_object(), *kids = json_object_new_array();
		json_object_object_add(nj, "dim", json_object_new_int((int)t->nodes[i].dim));
		for (uint32_t k = 0; k < t->dims[t->nodes[i].dim].n_regions; k++) {
			uint32_t s = tree_child(t, (uint32_t)i, k);
			json_object_array_add(kids, s == TREE_LEAF_NONE ? json_object_new_string("none")
			                      : s & TREE_LEAF ? json_object_new_int(-1 - (int)(s & ~TREE_LEAF))
			                      : json_object_new_int((int)s));
		}
		json_object_object_add(nj, "children", kids);
		json_object_array_add(nodes, nj);
	}
	json_object_object_add(o, "nodes", nodes);
	json_object_object_add(o, "root", t->root == TREE_LEAF_NONE ? json_object_new_string("none")
	                       : t->root & TREE_LEAF ? json_object_new_int(-1 - (int)(t->root & ~TREE_LEAF))
	                       : json_object_new_int((int)t->root));
	struct json_object *rules = json_object_new_array();
	for (size_t i = 0; i < rs->prog->n_rules; i++) {
		struct facts none = { xcalloc(rs->prog->n_fields, sizeof(struct fact)), rs->prog->n_fields };
		struct json_object *rj = decision_json(rs, (uint32_t)i, &none);
		free(none.v);
		json_object_array_add(rules, rj);
	}
	json_object_object_add(o, "rules", rules);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = 0;
	FILE *fp = strcmp(r->o.output, "-") == 0 ? stdout : fopen(r->o.output, "w");
	if (!fp || fprintf(fp, "%s\n", text) < 0 || (fp != stdout && fclose(fp) != 0)) {
		fprintf(stderr, "routec: cannot write '%s': %s\n", r->o.output, strerror(errno));
		rc = 2;
	}
	json_object_put(o);
	ruleset_free(rs);
	return rc;
}

int main(int argc, char **argv)
{
	struct run r = {0};
	r.o.max_errors = 50;
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "route", no_argument, NULL, 'r' },
		{ "explain", no_argument, NULL, 'e' },
		{ "diff", no_argument, NULL, 'd' },
		{ "dot", no_argument, NULL, 'D' },
		{ "tree", no_argument, NULL, 'T' },
		{ "fmt", no_argument, NULL, 'f' },
		{ "cases", required_argument, NULL, 'C' },
		{ "accounts", required_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'F' },
		{ "strict", no_argument, NULL, 's' },
		{ "color", no_argument, NULL, 'K' },
		{ "max-errors", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'c': bad = set_mode(&r.o, M_CHECK); break;
		case 't': bad = set_mode(&r.o, M_TEST); break;
		case 'r': bad = set_mode(&r.o, M_ROUTE); break;
		case 'e': bad = set_mode(&r.o, M_EXPLAIN); break;
		case 'd': bad = set_mode(&r.o, M_DIFF); break;
		case 'D': bad = set_mode(&r.o, M_DOT); break;
		case 'T': bad = set_mode(&r.o, M_TREE); break;
		case 'f': bad = set_mode(&r.o, M_FMT); break;
		case 'o': bad = set_mode(&r.o, M_OUT); r.o.output = optarg; break;
		case 'C': r.o.cases = optarg; break;
		case 'a': r.o.accounts = optarg; break;
		case 's': r.o.strict = true; break;
		case 'K': r.o.color = true; break;
		case 'm': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0) {
				fprintf(stderr, "routec: --max-errors takes a number\n");
				return 2;
			}
			r.o.max_errors = (size_t)v;
			break;
		}
		case 'F':
			if (strcmp(optarg, "text") == 0) r.o.format = DIAG_TEXT;
			else if (strcmp(optarg, "json") == 0) r.o.format = DIAG_JSON;
			else if (strcmp(optarg, "sarif") == 0) r.o.format = DIAG_SARIF;
			else {
				fprintf(stderr, "routec: --format is text, json or sarif\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (bad)
			return 2;
	}
	argc -= optind;
	argv += optind;
	if (r.o.mode == M_NONE || argc < 1) {
		usage(stderr);
		return 2;
	}
	char err[512];
	if (refdata_load(&r.rd, err, sizeof err) != 0) {
		fprintf(stderr, "routec: %s\n", err);
		return 2;
	}
	r.env = refdata_env(&r.rd);
	r.env.account_facts = true;   /* offline leads carry their account facts */
	if (r.o.accounts) {
		r.accounts = accounts_load_csv(r.o.accounts, r.rd.psl, err, sizeof err);
		if (!r.accounts) {
			fprintf(stderr, "routec: %s\n", err);
			refdata_free(&r.rd);
			return 2;
		}
		r.lookup = accounts_lookup(r.accounts);
		r.env.accounts = &r.lookup;
	}
	int rc;
	switch (r.o.mode) {
	case M_CHECK: rc = cmd_check(&r, argc, argv); break;
	case M_TEST: rc = cmd_test(&r, argc, argv); break;
	case M_ROUTE: rc = cmd_route(&r, argc, argv); break;
	case M_EXPLAIN: rc = cmd_explain(&r, argc, argv); break;
	case M_DIFF: rc = cmd_diff(&r, argc, argv); break;
	case M_DOT: case M_TREE: rc = cmd_draw(&r, argc, argv); break;
	case M_FMT: rc = cmd_fmt(&r, argc, argv); break;
	case M_OUT: rc = cmd_output(&r, argc, argv); break;
	default: rc = 2;
	}
	accounts_free(r.accounts);
	refdata_free(&r.rd);
	return rc;
}
