/* diff - where two versions of a rules file route leads differently.
 *
 * Compiles both files' rules into one tree whose leaves are pairs (old rule,
 * new rule) (tree_compile_pair), walks every leaf a valid lead can reach
 * (not the `other` region of an enum), resolves both routes there and
 * reports each (old rule, new rule) whose routes differ once, with an
 * example lead routed through both files' own trees before it is shown.
 * When either rule sends to the account owner, the route also depends on
 * whether the lead's account has an owner, so such leaves count once per
 * owner state.  Exact: every region is found from the tree, none by
 * sampling.  Must never claim a change it has no example for except as
 * "may change", and never print anything but the report.
 */
#include "rules/diff.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rules/lint.h"
#include "rules/route.h"
#include "util/buf.h"
#include "util/hmap.h"
#include "util/xalloc.h"

#define DIFF_TRIES 32             /* example attempts per region */
#define DIFF_REVISITS 100000u     /* shared subtrees walked again for examples */

/* Whether a route depends on the account owner: per path, the owner is
 * untested (either), known present or known missing. */
enum owner_state { OWN_ANY, OWN_PRESENT, OWN_MISSING, OWN_N };

struct region {
	uint32_t rule[2];         /* old, new; TREE_NO_RULE when none matches */
	int owner;                /* enum owner_state; OWN_ANY: routes do not care */
	struct route route[2];
	char *example;            /* checked against both files; NULL: none yet */
	unsigned tries;
};

struct differ {
	const struct ruleset *rs[2];
	const struct tree *t;     /* over both files' rules; leaves are pairs */
	const struct lead_env *env;
	int owner_dim;            /* text dimension of account.owner in t, or -1 */
	struct fact *owner_facts; /* facts for route_resolve: only the owner counts */
	size_t n_facts;
	uint32_t *path;
	uint8_t *seen;            /* per node and owner state */
	uint8_t *changed;         /* per node and owner state: 0 unknown, 1 no, 2 yes */
	struct region *v;
	size_t n, cap;
	struct hmap index;        /* (old rule, new rule, owner) -> region */
	size_t open;              /* regions without an example that may still get one */
	size_t revisits;
};

static bool region_feasible(const struct dim *d, uint32_t r)
{
	/* `other` of a closed dimension: no valid lead has such a value */
	return !(d->kind == DIM_TEXT && d->closed && r == d->n_consts);
}

static bool routes_to_owner(const struct program *p, uint32_t rule)
{
	if (rule == TREE_NO_RULE)
		return false;
	const struct action *a = &p->rules[rule].act;
	return !a->drop && a->queue_id >= 0 && p->queues[a->queue_id].dist == D_OWNER;
}

static void resolve(struct differ *d, int side, uint32_t rule, int owner, struct route *out)
{
	struct fact *f = &d->owner_facts[F_ACCOUNT_OWNER];
	f->present = owner == OWN_PRESENT;
	f->text = f->present ? "owner@example.com" : NULL;
	struct facts facts = { d->owner_facts, d->n_facts };
	route_resolve(d->rs[side]->prog, rule, &facts, out);
}

static bool same_route(const struct program *pa, const struct route *a,
                       const struct program *pb, const struct route *b)
{
	if ((a->rule == TREE_NO_RULE) != (b->rule == TREE_NO_RULE) || a->drop != b->drop ||
	    a->outcome != b->outcome)
		return false;
	if (strcmp(route_queue_name(pa, a), route_queue_name(pb, b)) != 0)
		return false;
	if (a->outcome == OUT_PAGE && strcmp(a->page ? a->page : "", b->page ? b->page : "") != 0)
		return false;
	return true;
}

/* The owner states a leaf's routes must be compared in. */
static size_t leaf_states(const struct differ *d, const struct tree_pair *pr, int tag,
                          int states[2])
{
	if (!routes_to_owner(d->rs[0]->prog, pr->a) && !routes_to_owner(d->rs[1]->prog, pr->b)) {
		states[0] = OWN_ANY;
		return 1;
	}
	if (tag != OWN_ANY) {
		states[0] = tag;
		return 1;
	}
	states[0] = OWN_PRESENT;
	states[1] = OWN_MISSING;
	return 2;
}

static bool leaf_differs(struct differ *d, const struct tree_pair *pr, int owner,
                         struct route rt[2])
{
	resolve(d, 0, pr->a, owner, &rt[0]);
	resolve(d, 1, pr->b, owner, &rt[1]);
	return !same_route(d->rs[0]->prog, &rt[0], d->rs[1]->prog, &rt[1]);
}

/* The owner state below region r of a node on dimension dim. */
static int next_tag(const struct differ *d, uint32_t dim, uint32_t r, int tag)
{
	const struct dim *dm = &d->t->dims[dim];
	if ((int)dim == d->owner_dim)
		return r == dm->n_regions - 1 ? OWN_MISSING : OWN_PRESENT;
	if (dm->kind == DIM_PATTERN && dm->field_id == F_ACCOUNT_OWNER && r == 1)
		return OWN_PRESENT;   /* a pattern holds only on a present value */
	return tag;
}

/* The regions from *r that share one child of node s (a run), moving *r
 * past them: returns a feasible one to stand for them all, or UINT32_MAX.
 * `missing` of account.owner is a run of its own, as it gives another
 * owner state. */
static uint32_t run_rep(const struct differ *d, uint32_t s, uint32_t *r)
{
	const struct tree_node *nd = &d->t->nodes[s];
	const struct dim *dm = &d->t->dims[nd->dim];
	uint32_t end = tree_run_end(d->t, s, *r);
	if ((int)nd->dim == d->owner_dim && *r < dm->n_regions - 1 && end == dm->n_regions)
		end = dm->n_regions - 1;
	uint32_t rep = *r;
	while (rep < end && !region_feasible(dm, rep))
		rep++;
	*r = end;
	return rep < end ? rep : UINT32_MAX;
}

/* Whether some leaf below slot s (owner state tag) changes its route. */
static bool changes_below(struct differ *d, uint32_t s, int tag)
{
	if (s & TREE_LEAF) {
		if (s == TREE_LEAF_NONE)
			return false;
		const struct tree_pair *pr = &d->t->pairs[s & ~TREE_LEAF];
		int states[2];
		size_t n = leaf_states(d, pr, tag, states);
		struct route rt[2];
		for (size_t i = 0; i < n; i++)
			if (leaf_differs(d, pr, states[i], rt))
				return true;
		return false;
	}
	uint8_t *m = &d->changed[(size_t)s * OWN_N + (size_t)tag];
	if (*m)
		return *m == 2;
	const struct tree_node *nd = &d->t->nodes[s];
	const struct dim *dm = &d->t->dims[nd->dim];
	bool any = false;
	for (uint32_t r = 0; r < dm->n_regions && !any;) {
		uint32_t rep = run_rep(d, s, &r);
		if (rep != UINT32_MAX)
			any = changes_below(d, tree_child(d->t, s, rep), next_tag(d, nd->dim, rep, tag));
	}
	*m = any ? 2 : 1;
	return any;
}

static struct region *region_for(struct differ *d, const struct tree_pair *pr, int owner,
                                 const struct route rt[2])
{
	uint32_t key[3] = { pr->a, pr->b, (uint32_t)owner }, id;
	if (hmap_get(&d->index, key, sizeof key, &id))
		return &d->v[id];
	d->v = xgrow(d->v, &d->cap, d->n + 1, sizeof *d->v);
	id = (uint32_t)d->n++;
	struct region *g = &d->v[id];
	*g = (struct region){ .rule = { pr->a, pr->b }, .owner = owner,
	                      .route = { rt[0], rt[1] } };
	hmap_put(&d->index, key, sizeof key, id);
	d->open++;
	return g;
}

/* Try to give region g an example from the current path. */
static void find_example(struct differ *d, struct region *g, uint32_t leaf, int tag)
{
	if (g->example || g->tries >= DIFF_TRIES)
		return;
	/* the tree does not test the owner here: pin it for the example */
	uint32_t saved = UINT32_MAX;
	bool pin = g->owner != OWN_ANY && tag == OWN_ANY && d->owner_dim >= 0;
	if (pin) {
		const struct dim *od = &d->t->dims[d->owner_dim];
		saved = d->path[d->owner_dim];
		d->path[d->owner_dim] = g->owner == OWN_MISSING ? od->n_regions - 1
		                                                : (uint32_t)od->n_consts;
	}
	struct lint_target targets[2] = {
		{ .t = d->rs[0]->tree, .rule = g->rule[0] },
		{ .t = d->rs[1]->tree, .rule = g->rule[1] },
	};
	char *ex = NULL;
	if (lint_witness_targets(d->t, d->path, leaf, targets, 2, d->env, &ex)) {
		/* the routes the example really takes must be the ones reported */
		if (same_route(d->rs[0]->prog, &targets[0].route, d->rs[0]->prog, &g->route[0]) &&
		    same_route(d->rs[1]->prog, &targets[1].route, d->rs[1]->prog, &g->route[1]))
			g->example = ex;
		else
			free(ex);
	}
	if (pin)
		d->path[d->owner_dim] = saved;
	if (++g->tries >= DIFF_TRIES || g->example)
		d->open--;
}

static void visit_leaf(struct differ *d, uint32_t s, int tag)
{
	if (s == TREE_LEAF_NONE)
		return;
	uint32_t leaf = s & ~TREE_LEAF;
	const struct tree_pair *pr = &d->t->pairs[leaf];
	int states[2];
	size_t n = leaf_states(d, pr, tag, states);
	for (size_t i = 0; i < n; i++) {
		struct route rt[2];
		if (!leaf_differs(d, pr, states[i], rt))
			continue;
		struct region *g = region_for(d, pr, states[i], rt);
		find_example(d, g, leaf, tag);
	}
}

/* Every feasible leaf with a changed route; a shared subtree is walked
 * again (within a budget) only while some region still lacks an example. */
static void walk(struct differ *d, uint32_t s, int tag)
{
	if (s & TREE_LEAF) {
		visit_leaf(d, s, tag);
		return;
	}
	if (!changes_below(d, s, tag))
		return;
	size_t k = (size_t)s * OWN_N + (size_t)tag;
	if (d->seen[k]) {
		if (d->open == 0 || d->revisits == 0)
			return;
		d->revisits--;
	}
	d->seen[k] = 1;
	const struct tree_node *nd = &d->t->nodes[s];
	const struct dim *dm = &d->t->dims[nd->dim];
	for (uint32_t r = 0; r < dm->n_regions;) {
		uint32_t rep = run_rep(d, s, &r);
		if (rep == UINT32_MAX)
			continue;
		d->path[nd->dim] = rep;
		walk(d, tree_child(d->t, s, rep), next_tag(d, nd->dim, rep, tag));
	}
	d->path[nd->dim] = UINT32_MAX;
}

static int cmp_region(const void *x, const void *y)
{
	const struct region *a = x, *b = y;
	for (int i = 0; i < 2; i++)
		if (a->rule[i] != b->rule[i])
			return a->rule[i] < b->rule[i] ? -1 : 1;
	return (a->owner > b->owner) - (a->owner < b->owner);
}

/* ---- messages ---- */

static const char *const outcome_names[] = { "confirm", "scheduler", "page" };

static void field_type_desc(struct buf *b, const struct field *f)
{
	if (f->type != FT_ENUM) {
		buf_adds(b, field_type_name(f->type));
		return;
	}
	buf_adds(b, "enum(");
	for (size_t i = 0; i < f->n_enum; i++)
		buf_printf(b, "%s%s", i ? ", " : "", f->enum_values[i]);
	buf_adds(b, ")");
}

static void fields_message(const struct ruleset *a, const struct ruleset *b, long i,
                           char *err, size_t errlen)
{
	const struct field *fa = &a->prog->fields[i], *fb = &b->prog->fields[i];
	struct buf ta = {0}, tb = {0};
	field_type_desc(&ta, fa);
	field_type_desc(&tb, fb);
	if (strcmp(fa->name, fb->name) == 0)
		snprintf(err, errlen, "cannot compare '%s' and '%s': field '%s' is %s in '%s' but %s "
		         "in '%s'; both files must declare the same fields in the same order (one "
		         "may add fields after the other's)", a->src->name, b->src->name, fa->name,
		         buf_str(&ta), a->src->name, buf_str(&tb), b->src->name);
	else
		snprintf(err, errlen, "cannot compare '%s' and '%s': '%s' declares field '%s: %s' "
		         "where '%s' declares '%s: %s'; both files must declare the same fields in "
		         "the same order (one may add fields after the other's)", a->src->name,
		         b->src->name, a->src->name, fa->name, buf_str(&ta), b->src->name,
		         fb->name, buf_str(&tb));
	buf_free(&ta);
	buf_free(&tb);
}

static void side_text(FILE *out, const char *which, const struct program *p,
                      const struct route *rt)
{
	if (rt->rule == TREE_NO_RULE) {
		fprintf(out, "%s: no rule", which);
		return;
	}
	fprintf(out, "%s line %d -> %s (%s", which, p->rules[rt->rule].loc.line,
	        route_queue_name(p, rt), outcome_names[rt->outcome]);
	if (rt->outcome == OUT_PAGE && rt->page)
		fprintf(out, " \"%s\"", rt->page);
	if (rt->owner_fallback)
		fprintf(out, "; account owner unknown");
	fprintf(out, ")");
}

static struct json_object *side_json(const struct program *p, const struct route *rt)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "line", rt->rule == TREE_NO_RULE ? NULL
	                       : json_object_new_int(p->rules[rt->rule].loc.line));
	json_object_object_add(o, "queue", json_object_new_string(route_queue_name(p, rt)));
	if (rt->rule != TREE_NO_RULE) {
		json_object_object_add(o, "outcome",
		                       json_object_new_string(outcome_names[rt->outcome]));
		if (rt->outcome == OUT_PAGE && rt->page)
			json_object_object_add(o, "page", json_object_new_string(rt->page));
		if (rt->owner_fallback)
			json_object_object_add(o, "owner_fallback", json_object_new_boolean(true));
	}
	return o;
}

static void print_report(const struct differ *d, enum diag_format format, FILE *out)
{
	const struct program *p0 = d->rs[0]->prog, *p1 = d->rs[1]->prog;
	if (format != DIAG_JSON) {
		for (size_t i = 0; i < d->n; i++) {
			const struct region *g = &d->v[i];
			fprintf(out, "%s ", g->example ? "changed:" : "may change:");
			side_text(out, "old", p0, &g->route[0]);
			fprintf(out, "  |  ");
			side_text(out, "new", p1, &g->route[1]);
			if (g->example)
				fprintf(out, "\n  example: %s\n", g->example);
			else
				fprintf(out, "\n  example: none found (no lead built for this region "
				        "routed this way through both files)\n");
		}
		return;
	}
	if (d->n == 0) {
		fprintf(out, "[]\n");
		return;
	}
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < d->n; i++) {
		const struct region *g = &d->v[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "old", side_json(p0, &g->route[0]));
		json_object_object_add(o, "new", side_json(p1, &g->route[1]));
		json_object_object_add(o, "example", g->example ? json_tokener_parse(g->example)
		                                                : NULL);
		json_object_array_add(arr, o);
	}
	fprintf(out, "%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
	                                                     JSON_C_TO_STRING_SPACED |
	                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
}

long diff_rulesets(const struct ruleset *old_rs, const struct ruleset *new_rs,
                   const struct lead_env *env, enum diag_format format, FILE *out,
                   char *err, size_t errlen)
{
	if (format == DIAG_SARIF) {
		snprintf(err, errlen, "--diff prints text or JSON (--format=json), not SARIF");
		return -1;
	}
	long bad = tree_fields_differ(old_rs->prog, new_rs->prog);
	if (bad >= 0) {
		fields_message(old_rs, new_rs, bad, err, errlen);
		return -1;
	}
	char why[512];
	struct tree *t = tree_compile_pair(old_rs->prog, new_rs->prog, why, sizeof why);
	if (!t) {
		snprintf(err, errlen, "cannot compare '%s' and '%s': %s", old_rs->src->name,
		         new_rs->src->name, why);
		return -1;
	}
	struct differ d = { .rs = { old_rs, new_rs }, .t = t, .env = env, .owner_dim = -1,
	                    .revisits = DIFF_REVISITS };
	d.n_facts = t->prog->n_fields;
	d.owner_facts = xcalloc(d.n_facts, sizeof *d.owner_facts);
	d.path = xmalloc((t->n_dims + 1) * sizeof *d.path);
	for (size_t i = 0; i < t->n_dims; i++) {
		d.path[i] = UINT32_MAX;
		if (t->dims[i].kind == DIM_TEXT && t->dims[i].field_id == F_ACCOUNT_OWNER)
			d.owner_dim = (int)i;
	}
	d.seen = xcalloc(t->n_nodes * OWN_N + 1, 1);
	d.changed = xcalloc(t->n_nodes * OWN_N + 1, 1);
	hmap_init(&d.index);
	walk(&d, t->root, OWN_ANY);
	if (d.n > 1)
		qsort(d.v, d.n, sizeof *d.v, cmp_region);
	print_report(&d, format, out);
	long n = (long)d.n;
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i].example);
	free(d.v);
	hmap_free(&d.index);
	free(d.seen);
	free(d.changed);
	free(d.path);
	free(d.owner_facts);
	tree_free(t);
	return n;
}
