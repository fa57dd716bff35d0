/* fuzz_routes - a .routes file through the whole loading pipeline.
 *
 * The input is the text of a rules file.  It goes through ruleset_load_mem
 * with lint on (scanner, parser, checker, tree compiler, lints), and its
 * diagnostics are printed as text, JSON and SARIF (inputs up to 8 KiB: the
 * printers promise safe text and valid JSON whatever the input, and both
 * are checked).  When the file loads, leads are routed through the decision
 * tree, the sequential evaluator and the explainer, and the target aborts
 * when they disagree:
 *   - a few fixed leads;
 *   - one lead per `expect` case of the file (the input chooses the lead);
 *   - leads built from the constants the rules test (on, above and below
 *     each number), so the tree's region boundaries are exercised.
 * A file that loads is also formatted (fmt.h): the output must load, hold
 * the same program (statements, conditions, values, comments), format to
 * itself, and diff_rulesets must find no changed region between the two.
 */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "lead/lead.h"
#include "lead/refdata.h"
#include "rules/diag.h"
#include "rules/eval.h"
#include "rules/explain.h"
#include "rules/diff.h"
#include "rules/fmt.h"
#include "rules/route.h"
#include "rules/ruleset.h"
#include "rules/tree.h"

#define MAX_LEADS 96            /* leads routed per input */
#define MAX_PRINT 8192         /* larger inputs are not printed: each diagnostic
                                 * shows its whole line, and that is slow to fuzz */

static struct refdata rd;
static struct lead_env env;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc;
	(void)argv;
	if (refdata_load(&rd, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_routes: %s\n", err);
		exit(2);
	}
	env = refdata_env(&rd);
	return 0;
}

/* ---- diagnostics ------------------------------------------------------- */

/* Valid UTF-8 with no control byte but '\n' and '\t' (color off). */
static bool safe_text(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n; ) {
		unsigned c = u[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
		           : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (!len || i + len > n)
			return false;
		unsigned cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
		for (size_t k = 1; k < len; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029)
			return false;
		i += len;
	}
	return true;
}

static void check_json_output(const char *s, size_t n, const char *what)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, s, (int)n);
	enum json_tokener_error e = json_tokener_get_error(tok);
	FUZZ_CHECK(o && (e == json_tokener_success), "%s output is not valid JSON: %s\n%.*s",
	           what, json_tokener_error_desc(e), (int)(n > 2000 ? 2000 : n), s);
	FUZZ_CHECK(json_object_is_type(o, what[0] == 'J' ? json_type_array : json_type_object),
	           "%s output has the wrong top-level type", what);
	json_object_put(o);
	json_tokener_free(tok);
}

static void print_diags(struct diags *d)
{
	static const enum diag_format fmts[] = { DIAG_TEXT, DIAG_JSON, DIAG_SARIF };
	diags_sort(d);
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		char *out = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&out, &n);
		if (!f)
			abort();
		diags_print(d, fmts[i], f, false);
		fclose(f);
		if (fmts[i] == DIAG_TEXT)
			FUZZ_CHECK(safe_text(out, n), "unsafe text diagnostics:\n%s", out);
		else
			check_json_output(out, n, fmts[i] == DIAG_JSON ? "JSON" : "SARIF");
		free(out);
	}
	/* colour on: only checked for not crashing */
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	if (!f)
		abort();
	diags_print(d, DIAG_TEXT, f, true);
	fclose(f);
	free(out);
}

/* ---- routing ----------------------------------------------------------- */

struct kvs {
	const char *k[24], *v[24];
	size_t n;
};

static const struct kvs fixed_leads[] = {
	{ { "email", "country", "employees", "intent", "product", "source", "website" },
	  { "jo@bigco.example", "US", "500", "demo", "PLG", "ads",
	    "https://www.bigco.example/x" }, 7 },
	{ { "email", "country", "employees", "account.lifecycle", "account.owner", "revenue" },
	  { "kim@gmail.com", "Canada", "10-50", "customer", "ana@acme.example", "2.5m" }, 6 },
	{ { 0 }, { 0 }, 0 },
	{ { "domain", "message", "revenue", "first_name", "utm_source", "region", "tier" },
	  { "www.acme.co.uk", "Hello\tthere", "1,000,000", " Zo\xc3\xab ", "Google", "emea",
	    "gold" }, 7 },
	{ { "email", "website", "country", "employees", "intent" },
	  { "x@yahoo.com", "acme.example", "de", "201 to 500", "support" }, 5 },
};

struct router {
	const struct ruleset *rs;
	size_t n_leads;
};

static void route_lead(struct router *r, const struct lead *l)
{
	if (r->n_leads >= MAX_LEADS)
		return;
	r->n_leads++;
	const struct program *p = r->rs->prog;
	struct lead_facts lf;
	struct lead_errors errs = {0};
	lead_normalize(p, l, &env, &lf, &errs);
	FUZZ_CHECK(lf.facts.n == p->n_fields, "facts for %zu fields, program has %zu",
	           lf.facts.n, p->n_fields);
	for (size_t i = 0; i < lf.facts.n; i++) {
		const struct fact *f = &lf.facts.v[i];
		FUZZ_CHECK(!f->present || f->text, "field %zu present without text", i);
		FUZZ_CHECK(!f->present || isfinite(f->num), "field %zu not finite", i);
	}
	uint32_t t = tree_eval(r->rs->tree, &lf.facts);
	uint32_t o = oracle_eval(p, &lf.facts);
	if (t != o) {
		fprintf(stderr, "lead:");
		for (size_t i = 0; i < l->n; i++)
			fprintf(stderr, " %s=\"%s\"", l->kv[i].name, l->kv[i].value);
		fprintf(stderr, "\n");
	}
	FUZZ_CHECK(t == o, "tree_eval says rule %u, oracle_eval says rule %u",
	           (unsigned)t, (unsigned)o);
	FUZZ_CHECK(t == TREE_NO_RULE || t < p->n_rules, "rule %u of %zu", (unsigned)t, p->n_rules);

	uint32_t w = 0;
	struct json_object *ex = explain_json(p, r->rs->src, &lf.facts, &w);
	FUZZ_CHECK(w == o, "explain_json says rule %u, oracle_eval says rule %u",
	           (unsigned)w, (unsigned)o);
	json_object_put(ex);

	struct route rt;
	route_resolve(p, t, &lf.facts, &rt);
	FUZZ_CHECK(rt.queue_id < (int)p->n_queues, "queue %d of %zu", rt.queue_id, p->n_queues);
	FUZZ_CHECK(route_queue_name(p, &rt) != NULL, "no queue name");

	lead_facts_free(&lf);
	lead_errors_free(&errs);
}

static void lead_from_kvs(struct lead *l, const struct kvs *kv)
{
	lead_init(l);
	for (size_t i = 0; i < kv->n; i++)
		lead_set(l, kv->k[i], kv->v[i]);
}

/* Leads that put the field of each predicate of c on, above and below the
 * constants it tests (on top of a fixed lead). */
static void route_cond(struct router *r, const struct cond *c, int depth)
{
	if (!c || depth > 80 || r->n_leads >= MAX_LEADS)
		return;
	if (c->kind == C_AND || c->kind == C_OR || c->kind == C_NOT) {
		route_cond(r, c->a, depth + 1);
		route_cond(r, c->b, depth + 1);
		return;
	}
	if (!c->field || c->field_id < 0)
		return;
	const char *name = r->rs->prog->fields[c->field_id].name;
	if (c->n_vals == 0) {   /* is present / is missing / owned: present and not */
		static const char *const some[] = { "1", "x" };
		for (size_t k = 0; k < 2; k++) {
			struct lead l;
			lead_from_kvs(&l, &fixed_leads[2 + k]);
			lead_set(&l, name, some[k]);
			route_lead(r, &l);
			lead_free(&l);
		}
	}
	for (size_t i = 0; i < c->n_vals && i < 4; i++) {
		const struct value *v = &c->vals[i];
		char buf[3][64];
		const char *vals[4] = { v->text, NULL, NULL, NULL };
		size_t nv = 1;
		if (v->kind == V_NUMBER && isfinite(v->num) && fabs(v->num) < 1e15) {
			snprintf(buf[0], sizeof buf[0], "%.6f", v->num + 0.5);
			snprintf(buf[1], sizeof buf[1], "%.6f", v->num - 0.5);
			snprintf(buf[2], sizeof buf[2], "%.0f", v->num);
			vals[nv++] = buf[0];
			vals[nv++] = buf[1];
			vals[nv++] = buf[2];
		} else if (v->norm && c->kind != C_MATCHES) {
			vals[nv++] = v->norm;
		}
		for (size_t k = 0; k < nv; k++) {
			if (!vals[k])
				continue;
			struct lead l;
			lead_from_kvs(&l, &fixed_leads[(r->n_leads + k) % 2]);
			lead_set(&l, name, vals[k]);
			route_lead(r, &l);
			lead_free(&l);
		}
	}
}

static void route_all(const struct ruleset *rs)
{
	struct router r = { rs, 0 };
	for (size_t i = 0; i < sizeof fixed_leads / sizeof fixed_leads[0]; i++) {
		struct lead l;
		lead_from_kvs(&l, &fixed_leads[i]);
		route_lead(&r, &l);
		lead_free(&l);
	}
	const struct program *p = rs->prog;
	for (size_t i = 0; i < p->n_expects && i < 16; i++) {
		const struct expect *e = &p->expects[i];
		struct lead l;
		lead_init(&l);
		for (size_t k = 0; k < e->n_kvs; k++)
			if (e->kvs[k].key && e->kvs[k].val.text)
				lead_set(&l, e->kvs[k].key, e->kvs[k].val.text);
		route_lead(&r, &l);
		lead_free(&l);
	}
	for (size_t i = 0; i < p->n_rules && r.n_leads < MAX_LEADS; i++)
		route_cond(&r, p->rules[i].cond, 0);
}

/* ---- the formatter ------------------------------------------------------ */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool value_eq(const struct value *a, const struct value *b)
{
	return a->kind == b->kind && str_eq(a->text, b->text) &&
	       (a->kind != V_NUMBER || a->num == b->num);
}

static bool cond_eq(const struct cond *a, const struct cond *b)
{
	if (!a || !b)
		return a == b;
	if (a->kind != b->kind || a->negated != b->negated || !str_eq(a->field, b->field) ||
	    a->n_vals != b->n_vals)
		return false;
	if (a->kind == C_CMP && a->op != b->op)
		return false;
	if (a->kind != C_AND && a->kind != C_OR && a->kind != C_NOT)
		for (size_t i = 0; i < a->n_vals; i++)
			if (!value_eq(&a->vals[i], &b->vals[i]))
				return false;
	return cond_eq(a->a, b->a) && cond_eq(a->b, b->b);
}

static bool action_eq(const struct action *a, const struct action *b)
{
	if (a->drop != b->drop || !str_eq(a->queue, b->queue) || a->outcome != b->outcome ||
	    a->outcome_given != b->outcome_given || !str_eq(a->page, b->page) ||
	    a->n_tags != b->n_tags)
		return false;
	for (size_t i = 0; i < a->n_tags; i++)
		if (!str_eq(a->tags[i], b->tags[i]))
			return false;
	return true;
}

static bool queue_eq(const struct queue *a, const struct queue *b)
{
	if (!str_eq(a->name, b->name) || a->dist != b->dist || a->n_members != b->n_members ||
	    a->has_hours != b->has_hours || a->cap != b->cap || a->cap_per != b->cap_per ||
	    !str_eq(a->fallback, b->fallback))
		return false;
	for (size_t i = 0; i < a->n_members; i++)
		if (!str_eq(a->members[i].who, b->members[i].who) ||
		    a->members[i].weight != b->members[i].weight ||
		    !str_eq(a->members[i].scheduler, b->members[i].scheduler))
			return false;
	return !a->has_hours || (a->hours.days == b->hours.days &&
	                         a->hours.start_min == b->hours.start_min &&
	                         a->hours.end_min == b->hours.end_min &&
	                         str_eq(a->hours.tz, b->hours.tz));
}

/* Which part of two programs differs, or NULL when they are the same. */
static const char *program_diff(const struct program *a, const struct program *b)
{
	if (a->n_fields != b->n_fields)
		return "number of fields";
	for (size_t i = 0; i < a->n_fields; i++) {
		const struct field *x = &a->fields[i], *y = &b->fields[i];
		if (!str_eq(x->name, y->name) || x->type != y->type || x->n_enum != y->n_enum)
			return "a field";
		for (size_t k = 0; k < x->n_enum; k++)
			if (!str_eq(x->enum_values[k], y->enum_values[k]))
				return "an enum value";
	}
	if (a->n_queues != b->n_queues)
		return "number of queues";
	for (size_t i = 0; i < a->n_queues; i++)
		if (!queue_eq(&a->queues[i], &b->queues[i]))
			return "a queue";
	if (a->n_rules != b->n_rules)
		return "number of rules";
	for (size_t i = 0; i < a->n_rules; i++) {
		if (a->rules[i].otherwise != b->rules[i].otherwise)
			return "a rule's otherwise";
		if (!cond_eq(a->rules[i].cond, b->rules[i].cond))
			return "a rule's condition";
		if (!action_eq(&a->rules[i].act, &b->rules[i].act))
			return "a rule's action";
	}
	if (a->n_expects != b->n_expects)
		return "number of expect cases";
	for (size_t i = 0; i < a->n_expects; i++) {
		const struct expect *x = &a->expects[i], *y = &b->expects[i];
		if (x->n_kvs != y->n_kvs || x->drop != y->drop || !str_eq(x->queue, y->queue))
			return "an expect case";
		for (size_t k = 0; k < x->n_kvs; k++)
			if (!str_eq(x->kvs[k].key, y->kvs[k].key) ||
			    !value_eq(&x->kvs[k].val, &y->kvs[k].val))
				return "an expect value";
	}
	if (!str_eq(a->owner_fallback, b->owner_fallback))
		return "fallback account_owner";
	if (a->n_comments != b->n_comments)
		return "number of comments";
	return NULL;
}

static char *format(const struct ruleset *rs, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	if (!f)
		abort();
	fmt_program(rs->prog, rs->src, f);
	fclose(f);
	return out;
}

static void check_format(const struct ruleset *rs)
{
	size_t n1 = 0, n2 = 0;
	char *t1 = format(rs, &n1);
	struct diags d;
	diags_init(&d);
	struct ruleset *kept = NULL;
	struct ruleset *rs2 = ruleset_load_mem("fuzz.fmt.routes", t1, n1, &env, false, &d, &kept);
	if (!rs2) {
		fprintf(stderr, "formatted text:\n%s\n", t1);
		diags_print(&d, DIAG_TEXT, stderr, false);   /* kept holds the source */
	}
	FUZZ_CHECK(rs2 != NULL, "the formatted file does not load");
	const char *what = program_diff(rs->prog, rs2->prog);
	if (what)
		fprintf(stderr, "formatted text:\n%s\n", t1);
	FUZZ_CHECK(!what, "the formatted file holds another program: %s differs", what);

	char *t2 = format(rs2, &n2);
	if (n1 != n2 || memcmp(t1, t2, n1) != 0)
		fprintf(stderr, "first:\n%s\nsecond:\n%s\n", t1, t2);
	FUZZ_CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0, "formatting is not idempotent");

	char err[512] = "", *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	if (!f)
		abort();
	long changed = diff_rulesets(rs, rs2, &env, DIAG_TEXT, f, err, sizeof err);
	fclose(f);
	FUZZ_CHECK(changed == 0, "diff of a file and its formatted self: %ld (%s)\n%s",
	           changed, err, out);
	free(out);

	free(t2);
	ruleset_free(rs2);
	diags_free(&d);
	free(t1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d;
	struct ruleset *keep = NULL;
	diags_init(&d);
	d.max_errors = size % 2 ? 20 : 0;   /* both with and without dropped errors */
	struct ruleset *rs = ruleset_load_mem("fuzz.routes", (const char *)data, size, &env,
	                                      true, &d, &keep);
	FUZZ_CHECK(!rs || d.n_errors == 0, "a ruleset came back with %zu errors", d.n_errors);
	FUZZ_CHECK(rs || d.n_errors > 0, "no ruleset and no error");
	FUZZ_CHECK(!rs || !keep, "both a ruleset and a kept one");
	if (rs) {
		FUZZ_CHECK(rs->prog && rs->tree && rs->src, "loaded ruleset is incomplete");
		FUZZ_CHECK(rs->prog->checked, "loaded ruleset not checked");
		route_all(rs);
		check_format(rs);
	}
	if (size <= MAX_PRINT)
		print_diags(&d);   /* before the source the diagnostics point into goes */
	ruleset_free(rs);
	ruleset_free(keep);
	diags_free(&d);
	return 0;
}
