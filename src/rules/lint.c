/* lint - proofs about a rules file from its decision tree, with examples.
 *
 * Walks the tree's leaves (skipping regions no valid lead can be in, such
 * as a value outside an enum) and builds example leads for the paths it
 * reports; every example is checked by routing it through the real tree
 * before it is shown (for --diff, through both files' trees).  Must never claim a rule unreachable or a gap without
 * that proof, and never print.
 */
#include "rules/lint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lead/normalize.h"
#include "rules/eval.h"
#include "rules/route.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* ---- walking ---- */

enum owner_tag { OWNER_UNTESTED, OWNER_PRESENT, OWNER_MISSING };

typedef bool (*leaf_fn)(void *ctx, uint32_t rule, const uint32_t *path, int tag);

struct lwalk {
	const struct tree *t;
	uint32_t *path;
	uint8_t *seen;        /* per node and tag */
	int owner_dim;        /* the text dimension of account.owner, or -1 */
	leaf_fn fn;
	void *ctx;
	bool stop;
};

static bool region_feasible(const struct dim *d, uint32_t r)
{
	/* `other` of a closed dimension: no valid lead has such a value */
	return !(d->kind == DIM_TEXT && d->closed && r == d->n_consts);
}

static void lwalk_slot(struct lwalk *w, uint32_t s, int tag)
{
	if (w->stop)
		return;
	if (s & TREE_LEAF) {
		uint32_t rule = s == TREE_LEAF_NONE ? TREE_NO_RULE : s & ~TREE_LEAF;
		if (!w->fn(w->ctx, rule, w->path, tag))
			w->stop = true;
		return;
	}
	if (w->seen[(size_t)s * 3 + (size_t)tag])
		return;
	w->seen[(size_t)s * 3 + (size_t)tag] = 1;
	const struct tree_node *nd = &w->t->nodes[s];
	const struct dim *d = &w->t->dims[nd->dim];
	for (uint32_t r = 0; r < d->n_regions && !w->stop;) {
		uint32_t end = tree_run_end(w->t, s, r);
		/* one feasible region of each run stands for the run; missing is
		 * always a run of its own for the owner tag */
		uint32_t rep = r;
		while (rep < end && !region_feasible(d, rep))
			rep++;
		if (rep < end && (int)nd->dim == w->owner_dim && rep != d->n_regions - 1 &&
		    end == d->n_regions)
			end = d->n_regions - 1;   /* visit missing separately */
		r = end;
		if (rep >= end)
			continue;
		int next = tag;
		if ((int)nd->dim == w->owner_dim)
			next = rep == d->n_regions - 1 ? OWNER_MISSING : OWNER_PRESENT;
		w->path[nd->dim] = rep;
		lwalk_slot(w, tree_child(w->t, s, rep), next);
	}
	w->path[nd->dim] = UINT32_MAX;
}

static void lwalk(const struct tree *t, bool track_owner, leaf_fn fn, void *ctx)
{
	struct lwalk w = { t, xmalloc((t->n_dims + 1) * sizeof(uint32_t)),
	                   xcalloc(t->n_nodes * 3 + 3, 1), -1, fn, ctx, false };
	for (size_t i = 0; i < t->n_dims; i++) {
		w.path[i] = UINT32_MAX;
		if (track_owner && t->dims[i].kind == DIM_TEXT &&
		    t->dims[i].field_id == F_ACCOUNT_OWNER)
			w.owner_dim = (int)i;
	}
	lwalk_slot(&w, t->root, OWNER_UNTESTED);
	free(w.path);
	free(w.seen);
}

/* ---- example leads ---- */

/* Whether a normalized candidate value of field f fits every test of f on
 * the path. */
static bool candidate_fits(const struct tree *t, const uint32_t *path, int field, const char *v)
{
	for (size_t i = 0; i < t->n_dims; i++) {
		const struct dim *d = &t->dims[i];
		if (d->field_id != field || path[i] == UINT32_MAX)
			continue;
		uint32_t r = path[i];
		if (d->kind == DIM_TEXT) {
			if (r == d->n_regions - 1)
				return false;
			bool is_const = false;
			for (size_t k = 0; k < d->n_consts && !is_const; k++)
				is_const = strcmp(d->consts[k], v) == 0;
			if (r < d->n_consts ? strcmp(d->consts[r], v) != 0 : is_const)
				return false;
		} else if (d->kind == DIM_PATTERN) {
			if (pattern_test(d->pat_kind, d->pat, d->re, v) != (r == 1))
				return false;
		}
	}
	return true;
}

static void add_cand(char ***v, size_t *n, size_t *cap, const char *a, const char *b,
                     const char *c)
{
	struct buf s = {0};
	buf_adds(&s, a);
	buf_adds(&s, b);
	buf_adds(&s, c);
	*v = xgrow(*v, cap, *n + 1, sizeof(char *));
	(*v)[(*n)++] = buf_take(&s);
}

static void fmt_number(char *out, size_t n, double x)
{
	snprintf(out, n, "%.15g", x);
}

/* A number in region r of d. */
static double number_value(const struct dim *d, uint32_t r)
{
	size_t k = d->n_points;
	if (k == 0)
		return 1;
	if (r % 2 == 1)
		return d->points[r / 2];
	if (r == 0)
		return d->points[0] >= 1 ? (double)(long long)(d->points[0] - 1) : d->points[0] - 1;
	if (r == 2 * k)
		return (double)(long long)d->points[k - 1] + 1;
	double lo = d->points[r / 2 - 1], hi = d->points[r / 2];
	double i = (double)(long long)lo + 1;
	return i < hi && i > lo ? i : (lo + hi) / 2;
}

uint32_t lint_route_lead(const struct program *p, const struct tree *t, const struct lead *l,
                         const struct lead_env *env, struct lead_facts *lf,
                         struct lead_errors *errs)
{
	lead_normalize(p, l, env, lf, errs);
	return tree_eval(t, &lf->facts);
}

bool lint_witness(const struct tree *t, const uint32_t *path, uint32_t rule,
                  const struct lead_env *env, char **out)
{
	return lint_witness_targets(t, path, rule, NULL, 0, env, out);
}

/* ---- examples checked against several trees (routec --diff) ---- */

/* Whether the lead normalizer accepts v as the value of field f of p. */
static bool value_valid(const struct program *p, int field, const char *v,
                        const struct lead_env *env)
{
	struct lead l;
	lead_init(&l);
	lead_set(&l, p->fields[field].name, v);
	struct lead_facts lf;
	struct lead_errors errs = {0};
	lead_normalize(p, &l, env, &lf, &errs);
	bool ok = errs.n == 0;
	lead_facts_free(&lf);
	lead_errors_free(&errs);
	lead_free(&l);
	return ok;
}

/* Like text_value, but the value must also be valid for the field (an
 * email must be an address), and the constants the path names come first:
 * a value for a text field that fits the path, or NULL. */
static char *text_value_valid(const struct tree *t, const uint32_t *path, int field,
                              const struct lead_env *env)
{
	const struct program *p = t->prog;
	char **c = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < t->n_dims; i++) {
		const struct dim *d = &t->dims[i];
		if (d->field_id == field && d->kind == DIM_TEXT && path[i] < d->n_consts)
			add_cand(&c, &n, &cap, d->consts[path[i]], "", "");
	}
	static const char *const domains[] = { "example.com", "example.org", "example.net" };
	static const char *const plain[] = { "example", "other", "x" };
	if (field == F_EMAIL) {
		add_cand(&c, &n, &cap, "someone@example.com", "", "");
		add_cand(&c, &n, &cap, "someone@example.org", "", "");
	} else if (field == F_DOMAIN || field == F_WEBSITE) {
		for (size_t i = 0; i < 3; i++)
			add_cand(&c, &n, &cap, domains[i], "", "");
	} else if (p->fields[field].type == FT_COUNTRY) {
		for (size_t i = 0; i < country_count(env->countries); i++)
			add_cand(&c, &n, &cap, country_at(env->countries, i)->alpha2, "", "");
	} else if (p->fields[field].type == FT_ENUM) {
		const struct field *f = &p->fields[field];
		for (size_t i = 0; i < f->n_enum; i++)
			add_cand(&c, &n, &cap, f->enum_values[i], "", "");
	} else {
		for (size_t i = 0; i < 3; i++)
			add_cand(&c, &n, &cap, plain[i], "", "");
	}
	struct buf starts = {0}, mids = {0}, ends = {0};
	for (size_t i = 0; i < t->n_dims; i++) {
		const struct dim *d = &t->dims[i];
		if (d->field_id != field || d->kind != DIM_PATTERN || d->pat_kind == C_MATCHES)
			continue;
		const char *L = d->pat;
		if (field == F_EMAIL) {
			add_cand(&c, &n, &cap, "someone@x", L, "");
			add_cand(&c, &n, &cap, "x", L, "@example.com");
			add_cand(&c, &n, &cap, L, "@example.com", "");
			add_cand(&c, &n, &cap, "someone@", L, "");
			add_cand(&c, &n, &cap, "someone@", L, ".com");
			add_cand(&c, &n, &cap, "someone@x", L, ".com");
		} else if (field == F_DOMAIN || field == F_WEBSITE) {
			add_cand(&c, &n, &cap, "x", L, ".com");
			add_cand(&c, &n, &cap, L, ".com", "");
			add_cand(&c, &n, &cap, "x.", L, "");
		}
		add_cand(&c, &n, &cap, L, "", "");
		add_cand(&c, &n, &cap, "x", L, "");
		add_cand(&c, &n, &cap, L, "x", "");
		add_cand(&c, &n, &cap, "x", L, "x");
		if (path[i] == 1) {
			struct buf *to = d->pat_kind == C_STARTS ? &starts
			               : d->pat_kind == C_ENDS ? &ends : &mids;
			buf_adds(to, L);
		}
	}
	/* every literal the path needs at once */
	struct buf whole = {0};
	if (field == F_EMAIL) {
		buf_printf(&whole, "%sx@x%s%s", buf_str(&starts), buf_str(&mids), buf_str(&ends));
		add_cand(&c, &n, &cap, buf_str(&whole), "", "");
		buf_reset(&whole);
		buf_printf(&whole, "%sx%s@x%s", buf_str(&starts), buf_str(&mids),
		           ends.len ? buf_str(&ends) : ".com");
		add_cand(&c, &n, &cap, buf_str(&whole), "", "");
	}
	add_cand(&c, &n, &cap, buf_str(&starts), buf_str(&mids), buf_str(&ends));
	add_cand(&c, &n, &cap, buf_str(&starts), "x", buf_str(&ends));
	buf_free(&whole);
	buf_free(&starts);
	buf_free(&mids);
	buf_free(&ends);
	struct lead_env quiet = *env;
	quiet.accounts = NULL;
	quiet.strict_names = false;
	char *found = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!found) {
			char *v = p->fields[field].type == FT_COUNTRY ? xstrdup(c[i]) : norm_text(c[i]);
			if (v[0] && candidate_fits(t, path, field, v) &&
			    value_valid(p, field, c[i], &quiet))
				found = xstrdup(c[i]);
			free(v);
		}
		free(c[i]);
	}
	free(c);
	return found;
}

/* The example lead for path, as lint_witness builds it but with
 * text_value_valid; false when some field has no fitting value. */
static bool witness_lead(const struct tree *t, const uint32_t *path,
                         const struct lead_env *env, struct lead *l)
{
	const struct program *p = t->prog;
	char num[64];
	for (size_t i = 0; i < t->n_dims; i++) {
		const struct dim *d = &t->dims[i];
		int field = d->field_id;
		if (d->kind == DIM_NUMBER) {
			if (path[i] == UINT32_MAX || path[i] == d->n_regions - 1)
				continue;
			fmt_number(num, sizeof num, number_value(d, path[i]));
			lead_set(l, p->fields[field].name, num);
			continue;
		}
		if (lead_get(l, p->fields[field].name))
			continue;
		bool tested = false, must_exist = false;
		for (size_t k = 0; k < t->n_dims; k++) {
			const struct dim *e = &t->dims[k];
			if (e->field_id != field || path[k] == UINT32_MAX)
				continue;
			tested = true;
			if (e->kind == DIM_TEXT && path[k] != e->n_regions - 1)
				must_exist = true;
			if (e->kind == DIM_PATTERN && path[k] == 1)
				must_exist = true;
		}
		if (!tested || !must_exist)
			continue;
		if (field == F_EMAIL_PERSONAL) {
			if (!lead_get(l, "email"))
				lead_set(l, "email", "alex@gmail.com");
			continue;
		}
		if (field == F_ACCOUNT_OWNER && d->kind == DIM_TEXT && d->n_consts == 0) {
			lead_set(l, "account.owner", "owner@example.com");
			continue;
		}
		char *v = text_value_valid(t, path, field, env);
		if (!v)
			return false;
		lead_set(l, p->fields[field].name, v);
		free(v);
	}
	return true;
}

/* The lead as a JSON object in p's field order, numbers as numbers. */
static char *witness_json(const struct program *p, const struct lead *l)
{
	struct json_object *o = json_object_new_object();
	for (size_t f = 0; f < p->n_fields; f++) {
		const char *v = lead_get(l, p->fields[f].name);
		if (!v)
			continue;
		json_object_object_add(o, p->fields[f].name,
		                       p->fields[f].type == FT_NUMBER
		                       ? json_object_new_double_s(strtod(v, NULL), v)
		                       : json_object_new_string(v));
	}
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* Route the lead through t (normalized for t's program, no account index);
 * whether it reaches rule without errors, with its route in rt. */
static bool lands_on(const struct tree *t, const struct lead *l, uint32_t rule,
                     const struct lead_env *env, struct route *rt)
{
	struct lead_env quiet = *env;
	quiet.accounts = NULL;
	quiet.strict_names = false;
	quiet.account_facts = true;
	struct lead_facts lf;
	struct lead_errors errs = {0};
	uint32_t got = lint_route_lead(t->prog, t, l, &quiet, &lf, &errs);
	bool ok = got == rule && errs.n == 0;
	if (ok && rt) {
		route_resolve(t->prog, got, &lf.facts, rt);
		rt->owner = NULL;
	}
	lead_facts_free(&lf);
	lead_errors_free(&errs);
	return ok;
}

bool lint_witness_targets(const struct tree *t, const uint32_t *path, uint32_t leaf,
                          struct lint_target *targets, size_t n,
                          const struct lead_env *env, char **out)
{
	struct lead l;
	lead_init(&l);
	bool ok = witness_lead(t, path, env, &l) && lands_on(t, &l, leaf, env, NULL);
	char *ex = ok ? witness_json(t->prog, &l) : NULL;
	lead_free(&l);
	if (!ok)
		return false;
	/* check what is printed, not the lead it was built from */
	struct json_object *o = json_tokener_parse(ex);
	lead_init(&l);
	char err[256];
	ok = o && lead_from_json(&l, o, err, sizeof err);
	json_object_put(o);
	for (size_t i = 0; i < n && ok; i++)
		ok = lands_on(targets[i].t, &l, targets[i].rule, env, &targets[i].route);
	lead_free(&l);
	if (!ok) {
		free(ex);
		return false;
	}
	*out = ex;
	return true;
}

/* ---- program views: the same fields and queues, other rules ---- */

static struct tree *compile_view(const struct program *p, struct program *view,
                                 struct rule *rules, size_t n)
{
	*view = *p;
	view->rules = rules;
	view->n_rules = n;
	char err[256];
	return tree_compile(view, err, sizeof err);
}

struct find_rule {
	uint32_t rule;
	bool found;
};

static bool find_rule_fn(void *ctx, uint32_t rule, const uint32_t *path, int tag)
{
	(void)path;
	(void)tag;
	struct find_rule *f = ctx;
	if (rule == f->rule)
		f->found = true;
	return !f->found;
}

/* Whether some lead reaches `rule` in t (a failed compile counts as yes: no
 * proof, no claim). */
static bool reachable(const struct tree *t, uint32_t rule)
{
	if (!t)
		return true;
	struct find_rule f = { rule, false };
	lwalk(t, false, find_rule_fn, &f);
	return f.found;
}

struct collect {
	bool *hit;
};

static bool collect_fn(void *ctx, uint32_t rule, const uint32_t *path, int tag)
{
	(void)path;
	(void)tag;
	struct collect *c = ctx;
	if (rule != TREE_NO_RULE)
		c->hit[rule] = true;
	return true;
}

/* The earlier rules that take leads from rule r, reduced to a set that
 * still covers all of r's leads.  Returns their count in out (indices). */
static size_t shadowing_rules(const struct program *p, size_t r, uint32_t *out, size_t max)
{
	struct rule *rules = xcalloc(r + 1, sizeof *rules);
	struct cond *ands = xcalloc(r, sizeof *ands);
	for (size_t e = 0; e < r; e++) {
		ands[e] = (struct cond){ .kind = C_AND, .a = p->rules[r].cond, .b = p->rules[e].cond,
		                         .field_id = -1 };
		rules[e] = p->rules[e];
		rules[e].cond = &ands[e];
	}
	rules[r] = p->rules[r];
	struct program view;
	struct tree *t = compile_view(p, &view, rules, r + 1);
	size_t n = 0;
	if (t) {
		bool *hit = xcalloc(r + 1, sizeof(bool));
		struct collect c = { hit };
		lwalk(t, false, collect_fn, &c);
		for (size_t e = 0; e < r; e++)
			if (hit[e] && n < max)
				out[n++] = (uint32_t)e;
		free(hit);
		tree_free(t);
	}
	/* greedy: drop each rule whose leads the others still cover */
	if (n > 1 && n <= 32) {
		uint32_t *keep = xcalloc(n, sizeof(uint32_t));
		size_t nk = n;
		memcpy(keep, out, n * sizeof(uint32_t));
		for (size_t i = 0; i < nk && nk > 1;) {
			struct rule *sub = xcalloc(nk, sizeof *sub);
			size_t m = 0;
			for (size_t k = 0; k < nk; k++)
				if (k != i)
					sub[m++] = p->rules[keep[k]];
			sub[m++] = p->rules[r];
			struct program v2;
			struct tree *t2 = compile_view(p, &v2, sub, m);
			bool still_covered = t2 && !reachable(t2, (uint32_t)(m - 1));
			tree_free(t2);
			free(sub);
			if (still_covered) {
				memmove(keep + i, keep + i + 1, (nk - i - 1) * sizeof(uint32_t));
				nk--;
			} else {
				i++;
			}
		}
		memcpy(out, keep, nk * sizeof(uint32_t));
		n = nk;
		free(keep);
	}
	free(ands);
	free(rules);
	return n;
}

static bool same_action(const struct action *a, const struct action *b)
{
	if (a->drop != b->drop || a->outcome != b->outcome)
		return false;
	if (!a->drop && a->queue_id != b->queue_id)
		return false;
	if (a->outcome == OUT_PAGE && strcmp(a->page, b->page) != 0)
		return false;
	return true;
}

static void lint_unreachable(const struct program *p, const struct tree *t,
                             const struct source *src, struct diags *d)
{
	bool *hit = xcalloc(p->n_rules + 1, sizeof(bool));
	struct collect c = { hit };
	lwalk(t, false, collect_fn, &c);
	size_t reported = 0;
	for (size_t r = 0; r < p->n_rules; r++) {
		if (hit[r])
			continue;
		bool after_otherwise = false;
		for (size_t k = 0; k < r; k++)
			after_otherwise |= p->rules[k].otherwise;
		if (after_otherwise)
			continue;   /* check.c reported it */
		struct rule alone = p->rules[r];
		struct program view;
		struct tree *ta = compile_view(p, &view, &alone, 1);
		bool sat = reachable(ta, 0);
		tree_free(ta);
		if (!sat) {
			diag_add(d, DIAG_ERROR, src, p->rules[r].cond->loc, "unsatisfiable",
			         "this condition can never be true, so the rule never matches");
			continue;
		}
		if (++reported > 100) {
			diag_add(d, DIAG_ERROR, src, p->rules[r].loc, "unreachable-rule",
			         "rule can never match: earlier rules take every lead it matches");
			continue;
		}
		uint32_t sh[16];
		size_t n = shadowing_rules(p, r, sh, 16);
		bool differs = false;
		for (size_t i = 0; i < n; i++)
			differs |= !same_action(&p->rules[sh[i]].act, &p->rules[r].act);
		struct buf lines = {0};
		for (size_t i = 0; i < n; i++)
			buf_printf(&lines, "%s%d", i == 0 ? "" : i + 1 == n ? " and " : ", ",
			           p->rules[sh[i]].loc.line);
		struct diag *g;
		enum diag_severity sev = differs || n == 0 ? DIAG_ERROR : DIAG_WARNING;
		if (n == 1)
			g = diag_add(d, sev, src, p->rules[r].loc, "unreachable-rule",
			             "rule can never match: the rule on line %s takes every lead it "
			             "matches%s", buf_str(&lines),
			             differs ? "" : " (and routes them the same way)");
		else if (n > 1)
			g = diag_add(d, sev, src, p->rules[r].loc, "unreachable-rule",
			             "rule can never match: the rules on lines %s together take every "
			             "lead it matches%s", buf_str(&lines),
			             differs ? "" : " (and route them the same way)");
		else
			g = diag_add(d, sev, src, p->rules[r].loc, "unreachable-rule",
			             "rule can never match: earlier rules take every lead it matches");
		for (size_t i = 0; i < n; i++)
			diag_note(g, p->rules[sh[i]].loc, "%s",
			          n == 1 ? "this rule matches every lead it would"
			                 : "this rule matches some of the same leads");
		buf_free(&lines);
	}
	free(hit);
}

struct gap {
	const struct tree *t;
	const struct lead_env *env;
	char *example;
	bool unproven;      /* a gap exists in the tree but no example fits */
};

static bool gap_fn(void *ctx, uint32_t rule, const uint32_t *path, int tag)
{
	(void)tag;
	struct gap *g = ctx;
	if (rule != TREE_NO_RULE)
		return true;
	if (lint_witness(g->t, path, TREE_NO_RULE, g->env, &g->example))
		return false;
	g->unproven = true;
	return true;
}

static void lint_gaps(const struct program *p, const struct tree *t, const struct source *src,
                      const struct lead_env *env, struct diags *d)
{
	struct gap g = { t, env, NULL, false };
	lwalk(t, false, gap_fn, &g);
	struct loc at = p->n_rules ? p->rules[p->n_rules - 1].loc : (struct loc){ 1, 1, 1, 2 };
	if (g.example && strcmp(g.example, "{ }") == 0)
		diag_add(d, DIAG_ERROR, src, at, "no-match",
		         "some leads match no rule, for example a lead with none of the fields "
		         "the rules test ({ }); add 'otherwise -> QUEUE' or a rule for them");
	else if (g.example)
		diag_add(d, DIAG_ERROR, src, at, "no-match",
		         "some leads match no rule, for example %s; add 'otherwise -> QUEUE' "
		         "or a rule for them", g.example);
	else if (g.unproven)
		diag_add(d, DIAG_WARNING, src, at, "no-match",
		         "some leads may match no rule (the 'matches' patterns leave a gap no "
		         "example could be built for); add 'otherwise -> QUEUE'");
	free(g.example);
}

struct owner_check {
	const struct tree *t;
	const struct lead_env *env;
	bool *warned;
	char **example;
};

static bool owner_fn(void *ctx, uint32_t rule, const uint32_t *path, int tag)
{
	struct owner_check *o = ctx;
	if (rule == TREE_NO_RULE || o->warned[rule])
		return true;
	const struct program *p = o->t->prog;
	int q = p->rules[rule].act.queue_id;
	if (p->rules[rule].act.drop || q < 0 || p->queues[q].dist != D_OWNER)
		return true;
	if (tag == OWNER_PRESENT)
		return true;
	/* make the example's domain unowned explicitly */
	char *ex = NULL;
	if (lint_witness(o->t, path, rule, o->env, &ex)) {
		o->warned[rule] = true;
		o->example[rule] = ex;
	}
	return true;
}

static void lint_owner(const struct program *p, const struct tree *t, const struct source *src,
                       const struct lead_env *env, struct diags *d)
{
	struct owner_check o = { t, env, xcalloc(p->n_rules + 1, sizeof(bool)),
	                         xcalloc(p->n_rules + 1, sizeof(char *)) };
	lwalk(t, true, owner_fn, &o);
	for (size_t r = 0; r < p->n_rules; r++) {
		if (!o.warned[r])
			continue;
		const struct rule *rl = &p->rules[r];
		struct route rt;
		struct fact *none = xcalloc(p->n_fields, sizeof(struct fact));
		struct facts f = { none, p->n_fields };
		route_resolve(p, (uint32_t)r, &f, &rt);
		free(none);
		diag_add(d, DIAG_WARNING, src, rl->act.queue_loc, "owner-not-guaranteed",
		         "'%s' needs an account owner, but leads whose domain is not owned reach "
		         "this rule, for example %s; they go to %s%s%s", rl->act.queue, o.example[r],
		         rt.queue_id >= 0 ? "'" : "", rt.queue_id >= 0 ? p->queues[rt.queue_id].name
		                                                       : "no queue",
		         rt.queue_id >= 0 ? "'" : " (add 'fallback account_owner QUEUE')");
		free(o.example[r]);
	}
	free(o.warned);
	free(o.example);
}

static void lint_expects(const struct program *p, const struct tree *t, const struct source *src,
                         const struct lead_env *env, struct diags *d, struct lint_result *res)
{
	for (size_t i = 0; i < p->n_expects; i++) {
		const struct expect *e = &p->expects[i];
		struct lead l;
		lead_init(&l);
		for (size_t k = 0; k < e->n_kvs; k++)
			lead_set(&l, e->kvs[k].key, e->kvs[k].val.text);
		struct lead_facts lf;
		struct lead_errors errs = {0};
		struct lead_env strict = *env;
		strict.strict_names = true;
		strict.account_facts = true;
		uint32_t rule = lint_route_lead(p, t, &l, &strict, &lf, &errs);
		if (errs.n) {
			diag_add(d, DIAG_ERROR, src, e->loc, "expect-failed",
			         "case is not a valid lead: %s: %s", errs.v[0].field, errs.v[0].message);
			res->cases_failed++;
		} else {
			struct route rt;
			route_resolve(p, rule, &lf.facts, &rt);
			const char *got = route_queue_name(p, &rt);
			const char *want = e->drop ? "drop" : e->queue;
			if (rule != TREE_NO_RULE)
				res->rule_reached_by_case[rule] = true;
			if (strcmp(got, want) == 0) {
				res->cases_passed++;
			} else {
				res->cases_failed++;
				if (rule == TREE_NO_RULE)
					diag_add(d, DIAG_ERROR, src, e->queue_loc, "expect-failed",
					         "expected '%s', but the lead matches no rule", want);
				else
					diag_add(d, DIAG_ERROR, src, e->queue_loc, "expect-failed",
					         "expected '%s', but the lead goes to '%s' (rule on line %d)",
					         want, got, p->rules[rule].loc.line);
			}
		}
		lead_facts_free(&lf);
		lead_errors_free(&errs);
		lead_free(&l);
	}
}

void lint_program(const struct program *p, const struct tree *t, const struct source *src,
                  const struct lead_env *env, struct diags *d, struct lint_result *res)
{
	memset(res, 0, sizeof *res);
	res->rule_reached_by_case = xcalloc(p->n_rules + 1, sizeof(bool));
	lint_unreachable(p, t, src, d);
	bool has_otherwise = false;
	for (size_t i = 0; i < p->n_rules; i++)
		has_otherwise |= p->rules[i].otherwise;
	if (!has_otherwise)
		lint_gaps(p, t, src, env, d);
	if (p->checked) {
		lint_owner(p, t, src, env, d);
		lint_expects(p, t, src, env, d, res);
	}
}

void lint_result_free(struct lint_result *res)
{
	free(res->rule_reached_by_case);
	res->rule_reached_by_case = NULL;
}
