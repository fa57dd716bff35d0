/* tree - compile a checked program into a decision DAG, and evaluate it.
 *
 * Conditions become formulas over atoms "dimension d is in region set S"
 * (negations pushed into the sets, which is exact in two-valued logic).
 * The compiler walks dimensions in a fixed order; at each node it
 * substitutes every region of one dimension into the live rules, drops the
 * rules that became false and stops at the first that became true.  Lists of
 * live rules are memoized, formulas and nodes are hash-consed, so equal
 * subtrees are built once.  tree_compile_pair runs the same build over two
 * programs' rules at once, for --diff.  Must never produce a tree that
 * disagrees with eval.c, and never grow past TREE_MAX_SLOTS.
 */
#include "rules/tree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules/eval.h"
#include "util/buf.h"
#include "util/hmap.h"
#include "util/xalloc.h"

#define TREE_MAX_DIMS 4096u
#define F_FALSE 0u
#define F_TRUE 1u
#define LO_NONE UINT32_MAX

enum fkind { FK_CONST, FK_ATOM, FK_AND, FK_OR };

struct fnode {
	uint32_t kind;
	uint32_t a, b;       /* children, or (atom dim, offset of its intervals) */
	uint32_t lo;         /* lowest dimension the formula tests */
	uint64_t mask;       /* bit (d % 64) for each dimension it depends on */
	uint32_t cnt;        /* atom: number of region intervals */
};

struct compiler {
	const struct program *p;
	struct tree *t;
	struct fnode *f;
	size_t nf, capf;
	struct hmap fcons;
	uint32_t *ivals;     /* atoms' region sets: sorted disjoint [from, to) pairs */
	size_t niv, capiv;
	struct hmap build_memo;
	struct hmap node_cons;
	size_t cap_nodes, cap_slots;
	uint64_t work;       /* live-rule visits so far; bounded by TREE_MAX_WORK */
	char *err;
	size_t errlen;
	bool failed;
};

/* ---- dimensions ---- */

static uint32_t text_missing(const struct dim *d)
{
	return d->n_regions - 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static long text_index(const struct dim *d, const char *s)
{
	size_t lo = 0, hi = d->n_consts;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(d->consts[mid], s);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static long point_index(const struct dim *d, double x)
{
	size_t lo = 0, hi = d->n_points;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d->points[mid] == x)
			return (long)mid;
		if (d->points[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Dimension discovery: one text or number dimension per field, one
 * pattern dimension per distinct (field, test, literal). */
struct dimset {
	struct dim *v;
	size_t n, cap;
	int *field_text;      /* per field: dim index or -1 */
	int *field_num;
	size_t *count;        /* rules mentioning each dim */
	size_t *first;        /* first rule mentioning it */
	size_t *last_rule;    /* to count each rule once */
	size_t *cap_consts;
};

static int dim_new(struct dimset *s, enum dim_kind kind, int field, size_t rule)
{
	s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof *s->v);
	size_t cap = s->cap;
	s->count = xrealloc(s->count, cap * sizeof *s->count);
	s->first = xrealloc(s->first, cap * sizeof *s->first);
	s->last_rule = xrealloc(s->last_rule, cap * sizeof *s->last_rule);
	s->cap_consts = xrealloc(s->cap_consts, cap * sizeof *s->cap_consts);
	struct dim *d = &s->v[s->n];
	memset(d, 0, sizeof *d);
	d->kind = kind;
	d->field_id = field;
	d->text_dim = -1;
	s->count[s->n] = 0;
	s->first[s->n] = rule;
	s->last_rule[s->n] = SIZE_MAX;
	s->cap_consts[s->n] = 0;
	return (int)s->n++;
}

static void dim_mention(struct dimset *s, int d, size_t rule)
{
	if (s->last_rule[d] != rule) {
		s->last_rule[d] = rule;
		s->count[d]++;
	}
}

static int text_dim_for(struct dimset *s, const struct program *p, int field, size_t rule)
{
	if (s->field_text[field] < 0) {
		int d = dim_new(s, DIM_TEXT, field, rule);
		s->field_text[field] = d;
		const struct field *f = &p->fields[field];
		if (f->type == FT_ENUM) {
			/* every enum value is a region, so leads outside it are
			 * `other`, which no valid lead reaches */
			s->v[d].closed = true;
			for (size_t i = 0; i < f->n_enum; i++) {
				s->v[d].consts = xgrow(s->v[d].consts, &s->cap_consts[d],
				                       s->v[d].n_consts + 1, sizeof(char *));
				s->v[d].consts[s->v[d].n_consts++] = xstrdup(f->enum_values[i]);
			}
		}
	}
	dim_mention(s, s->field_text[field], rule);
	return s->field_text[field];
}

static void dims_collect(struct dimset *s, const struct program *p, const struct cond *c,
                         size_t rule, struct hmap *patterns)
{
	switch (c->kind) {
	case C_AND: case C_OR:
		dims_collect(s, p, c->a, rule, patterns);
		dims_collect(s, p, c->b, rule, patterns);
		return;
	case C_NOT:
		dims_collect(s, p, c->a, rule, patterns);
		return;
	case C_TRUE:
		return;
	case C_OWNED: case C_PERSONAL:
		text_dim_for(s, p, c->field_id, rule);
		return;
	case C_ENDS: case C_STARTS: case C_CONTAINS: case C_MATCHES: {
		struct buf key = {0};
		buf_printf(&key, "%d:%d:%s", c->field_id, (int)c->kind, c->vals[0].norm);
		uint32_t d;
		if (!hmap_get(patterns, key.data, key.len, &d)) {
			d = (uint32_t)dim_new(s, DIM_PATTERN, c->field_id, rule);
			s->v[d].pat_kind = c->kind;
			s->v[d].pat = xstrdup(c->vals[0].norm);
			s->v[d].re = c->re;
			hmap_put(patterns, key.data, key.len, d);
		}
		buf_free(&key);
		dim_mention(s, (int)d, rule);
		return;
	}
	default:
		break;
	}
	const struct field *f = &p->fields[c->field_id];
	if (f->type == FT_NUMBER) {
		if (s->field_num[c->field_id] < 0)
			s->field_num[c->field_id] = dim_new(s, DIM_NUMBER, c->field_id, rule);
		int d = s->field_num[c->field_id];
		dim_mention(s, d, rule);
		struct dim *dd = &s->v[d];
		for (size_t i = 0; i < c->n_vals; i++) {
			dd->points = xgrow(dd->points, &s->cap_consts[d], dd->n_points + 1, sizeof(double));
			dd->points[dd->n_points++] = c->vals[i].num;
		}
		return;
	}
	int d = text_dim_for(s, p, c->field_id, rule);
	struct dim *dd = &s->v[d];
	if (dd->closed)
		return;
	for (size_t i = 0; i < c->n_vals; i++) {
		dd->consts = xgrow(dd->consts, &s->cap_consts[d], dd->n_consts + 1, sizeof(char *));
		dd->consts[dd->n_consts++] = xstrdup(c->vals[i].norm);
	}
}

static void dim_finish(struct dim *d)
{
	if (d->kind == DIM_TEXT) {
		if (d->n_consts)
			qsort(d->consts, d->n_consts, sizeof(char *), cmp_str);
		size_t n = 0;
		for (size_t i = 0; i < d->n_consts; i++) {
			if (n && strcmp(d->consts[n - 1], d->consts[i]) == 0) {
				free(d->consts[i]);
				continue;
			}
			d->consts[n++] = d->consts[i];
		}
		d->n_consts = n;
		d->n_regions = (uint32_t)n + 2;
		size_t size = 4;
		while (size < n * 2)
			size *= 2;
		d->hash_mask = size - 1;
		d->hash_slots = xcalloc(size, sizeof(uint32_t));
		for (size_t i = 0; i < n; i++) {
			size_t h = hmap_hash(d->consts[i], strlen(d->consts[i])) & d->hash_mask;
			while (d->hash_slots[h])
				h = (h + 1) & d->hash_mask;
			d->hash_slots[h] = (uint32_t)i + 1;
		}
	} else if (d->kind == DIM_NUMBER) {
		if (d->n_points)
			qsort(d->points, d->n_points, sizeof(double), cmp_double);
		size_t n = 0;
		for (size_t i = 0; i < d->n_points; i++)
			if (!n || d->points[n - 1] != d->points[i])
				d->points[n++] = d->points[i];
		d->n_points = n;
		d->n_regions = (uint32_t)(2 * n + 2);
	} else {
		d->n_regions = 2;
	}
}

/* Order: text and number dimensions by how well they split the rules
 * (rules testing them x log of their regions; dims_finish has run), each
 * pattern right after its field's text dimension when there is one.
 * Returns the new order (old index per new position). */
static size_t *dims_order(const struct dimset *s)
{
	size_t *base = xcalloc(s->n, sizeof(size_t)), nb = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind != DIM_PATTERN || s->field_text[s->v[i].field_id] < 0)
			base[nb++] = i;
	/* insertion sort (at most TREE_MAX_DIMS): a dimension that many rules
	 * test and that has many regions splits the rules most, so it goes
	 * first; ties in file order */
	double *score = xcalloc(s->n ? s->n : 1, sizeof(double));
	for (size_t i = 0; i < s->n; i++)
		score[i] = (double)s->count[i] * (1.0 + log2((double)s->v[i].n_regions));
	for (size_t i = 1; i < nb; i++) {
		size_t x = base[i], j = i;
		while (j > 0 && (score[base[j - 1]] < score[x] ||
		                 (score[base[j - 1]] == score[x] &&
		                  s->first[base[j - 1]] > s->first[x]))) {
			base[j] = base[j - 1];
			j--;
		}
		base[j] = x;
	}
	size_t *order = xcalloc(s->n, sizeof(size_t)), n = 0;
	for (size_t i = 0; i < nb; i++) {
		order[n++] = base[i];
		const struct dim *d = &s->v[base[i]];
		if (d->kind != DIM_TEXT)
			continue;
		for (size_t k = 0; k < s->n; k++)
			if (s->v[k].kind == DIM_PATTERN && s->field_text[s->v[k].field_id] == (int)base[i])
				order[n++] = k;
	}
	free(base);
	free(score);
	return order;
}

/* ---- formulas ---- */

static uint32_t f_add(struct compiler *c, struct fnode fn)
{
	uint32_t key[3] = { fn.kind, fn.a, fn.b }, id;
	if (hmap_get(&c->fcons, key, sizeof key, &id))
		return id;
	c->f = xgrow(c->f, &c->capf, c->nf + 1, sizeof *c->f);
	id = (uint32_t)c->nf;
	c->f[c->nf++] = fn;
	hmap_put(&c->fcons, key, sizeof key, id);
	return id;
}

/* Whether region r is in the atom's set (binary search of its intervals). */
static bool atom_has(const struct compiler *c, const struct fnode *fn, uint32_t r)
{
	const uint32_t *iv = c->ivals + fn->b;
	uint32_t lo = 0, hi = fn->cnt;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (iv[2 * mid + 1] <= r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < fn->cnt && iv[2 * lo] <= r;
}

/* A set of regions being built: [from, to) pairs in any order. */
struct ivset {
	uint32_t *v;
	size_t n, cap;
};

static void iv_add(struct ivset *s, uint32_t from, uint32_t to)
{
	if (from >= to)
		return;
	s->v = xgrow(s->v, &s->cap, 2 * s->n + 2, sizeof(uint32_t));
	s->v[2 * s->n] = from;
	s->v[2 * s->n + 1] = to;
	s->n++;
}

static int cmp_iv(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Sort and merge; with negate, replace by the complement in [0, R). */
static void iv_normalize(struct ivset *s, bool negate, uint32_t R)
{
	if (s->n)
		qsort(s->v, s->n, 2 * sizeof(uint32_t), cmp_iv);
	size_t n = 0;
	for (size_t k = 0; k < s->n; k++) {
		uint32_t a = s->v[2 * k], b = s->v[2 * k + 1];
		if (n && a <= s->v[2 * n - 1]) {
			if (b > s->v[2 * n - 1])
				s->v[2 * n - 1] = b;
			continue;
		}
		s->v[2 * n] = a;
		s->v[2 * n + 1] = b;
		n++;
	}
	s->n = n;
	if (!negate)
		return;
	struct ivset c = {0};
	uint32_t at = 0;
	for (size_t k = 0; k < n; k++) {
		iv_add(&c, at, s->v[2 * k]);
		at = s->v[2 * k + 1];
	}
	iv_add(&c, at, R);
	free(s->v);
	*s = c;
}

/* An atom "dim is in set" (set normalized); TRUE or FALSE when the set is
 * full or empty.  Equal atoms are one node: the intervals are the key. */
static uint32_t f_atom(struct compiler *c, uint32_t dim, const struct ivset *set)
{
	const struct dim *d = &c->t->dims[dim];
	uint64_t in = 0;
	for (size_t k = 0; k < set->n; k++)
		in += set->v[2 * k + 1] - set->v[2 * k];
	if (in == 0)
		return F_FALSE;
	if (in >= d->n_regions)
		return F_TRUE;
	/* atom keys start with a word no and/or key can start with (those
	 * start with their kind), so the two kinds of key never collide */
	static const uint32_t atom_tag = 0xa70a70a7u;
	struct buf key = {0};
	buf_add(&key, &atom_tag, sizeof atom_tag);
	buf_add(&key, &dim, sizeof dim);
	buf_add(&key, set->v, 2 * set->n * sizeof(uint32_t));
	uint32_t id;
	if (hmap_get(&c->fcons, key.data, key.len, &id)) {
		buf_free(&key);
		return id;
	}
	c->ivals = xgrow(c->ivals, &c->capiv, c->niv + 2 * set->n, sizeof(uint32_t));
	memcpy(c->ivals + c->niv, set->v, 2 * set->n * sizeof(uint32_t));
	uint64_t mask = 1ull << (dim % 64);
	if (d->kind == DIM_PATTERN && d->text_dim >= 0)
		mask |= 1ull << ((uint32_t)d->text_dim % 64);
	struct fnode fn = { FK_ATOM, dim, (uint32_t)c->niv, dim, mask, (uint32_t)set->n };
	c->niv += 2 * set->n;
	c->f = xgrow(c->f, &c->capf, c->nf + 1, sizeof *c->f);
	id = (uint32_t)c->nf;
	c->f[c->nf++] = fn;
	hmap_put(&c->fcons, key.data, key.len, id);
	buf_free(&key);
	return id;
}

static uint32_t f_and(struct compiler *c, uint32_t a, uint32_t b)
{
	if (a == F_FALSE || b == F_FALSE)
		return F_FALSE;
	if (a == F_TRUE || a == b)
		return b;
	if (b == F_TRUE)
		return a;
	if (a > b) {
		uint32_t x = a; a = b; b = x;
	}
	uint32_t lo = c->f[a].lo < c->f[b].lo ? c->f[a].lo : c->f[b].lo;
	return f_add(c, (struct fnode){ FK_AND, a, b, lo, c->f[a].mask | c->f[b].mask, 0 });
}

static uint32_t f_or(struct compiler *c, uint32_t a, uint32_t b)
{
	if (a == F_TRUE || b == F_TRUE)
		return F_TRUE;
	if (a == F_FALSE || a == b)
		return b;
	if (b == F_FALSE)
		return a;
	if (a > b) {
		uint32_t x = a; a = b; b = x;
	}
	uint32_t lo = c->f[a].lo < c->f[b].lo ? c->f[a].lo : c->f[b].lo;
	return f_add(c, (struct fnode){ FK_OR, a, b, lo, c->f[a].mask | c->f[b].mask, 0 });
}

/* The formula of a condition, with `not` pushed into the atoms. */
static uint32_t f_cond(struct compiler *c, const int *dim_of_text, const int *dim_of_num,
                       struct hmap *patterns, const struct cond *cd, bool neg)
{
	switch (cd->kind) {
	case C_TRUE:
		return neg ? F_FALSE : F_TRUE;
	case C_AND: case C_OR: {
		uint32_t a = f_cond(c, dim_of_text, dim_of_num, patterns, cd->a, neg);
		uint32_t b = f_cond(c, dim_of_text, dim_of_num, patterns, cd->b, neg);
		return (cd->kind == C_AND) != neg ? f_and(c, a, b) : f_or(c, a, b);
	}
	case C_NOT:
		return f_cond(c, dim_of_text, dim_of_num, patterns, cd->a, !neg);
	default:
		break;
	}
	const struct program *p = c->p;
	uint32_t dim;
	bool pattern = cd->kind == C_ENDS || cd->kind == C_STARTS || cd->kind == C_CONTAINS ||
	               cd->kind == C_MATCHES;
	if (pattern) {
		struct buf key = {0};
		buf_printf(&key, "%d:%d:%s", cd->field_id, (int)cd->kind, cd->vals[0].norm);
		hmap_get(patterns, key.data, key.len, &dim);
		buf_free(&key);
	} else if (cd->kind != C_OWNED && cd->kind != C_PERSONAL &&
	           p->fields[cd->field_id].type == FT_NUMBER) {
		dim = (uint32_t)dim_of_num[cd->field_id];
	} else {
		dim = (uint32_t)dim_of_text[cd->field_id];
	}
	const struct dim *d = &c->t->dims[dim];
	uint32_t R = d->n_regions;
	struct ivset set = {0};
	bool negate = neg;
	if (pattern) {
		iv_add(&set, 1, 2);
	} else if (cd->kind == C_OWNED || cd->kind == C_PERSONAL ||
	           cd->kind == C_PRESENT) {
		iv_add(&set, 0, R - 1);      /* every region but missing */
		if (cd->kind == C_PRESENT && cd->negated)
			negate = !negate;
	} else if (d->kind == DIM_TEXT) {
		for (size_t i = 0; i < cd->n_vals; i++) {
			uint32_t r = (uint32_t)text_index(d, cd->vals[i].norm);
			iv_add(&set, r, r + 1);
		}
		if (cd->kind == C_CMP && cd->op == OP_NE)
			negate = !negate;
		if (cd->kind == C_IN && cd->negated)
			negate = !negate;
	} else {
		uint32_t k = (uint32_t)d->n_points;
		if (cd->kind == C_IN || cd->op == OP_EQ || cd->op == OP_NE) {
			for (size_t i = 0; i < cd->n_vals; i++) {
				uint32_t r = 2 * (uint32_t)point_index(d, cd->vals[i].num) + 1;
				iv_add(&set, r, r + 1);
			}
			if ((cd->kind == C_CMP && cd->op == OP_NE) || (cd->kind == C_IN && cd->negated))
				negate = !negate;
		} else {
			uint32_t i = (uint32_t)point_index(d, cd->vals[0].num);
			switch (cd->op) {   /* region 2k is the last interval, 2k+1 missing */
			case OP_LT: iv_add(&set, 0, 2 * i + 1); break;
			case OP_LE: iv_add(&set, 0, 2 * i + 2); break;
			case OP_GT: iv_add(&set, 2 * i + 2, 2 * k + 1); break;
			case OP_GE: iv_add(&set, 2 * i + 1, 2 * k + 1); break;
			default: break;
			}
		}
	}
	iv_normalize(&set, negate, R);
	uint32_t id = f_atom(c, dim, &set);
	free(set.v);
	return id;
}

/* The formula f with dimension i fixed to region r. */
static uint32_t f_subst(struct compiler *c, uint32_t f, uint32_t i, uint32_t r)
{
	const struct fnode *fn = &c->f[f];
	if (f <= F_TRUE || !(fn->mask >> (i % 64) & 1))
		return f;
	switch (fn->kind) {
	case FK_ATOM: {
		const struct dim *d = &c->t->dims[fn->a];
		if (fn->a == i)
			return atom_has(c, fn, r) ? F_TRUE : F_FALSE;
		if (d->kind == DIM_PATTERN && d->text_dim == (int)i) {
			const struct dim *td = &c->t->dims[i];
			if (r == text_missing(td))
				return atom_has(c, fn, 0) ? F_TRUE : F_FALSE;
			if (r < td->n_consts) {
				bool hit = pattern_test(d->pat_kind, d->pat, d->re, td->consts[r]);
				return atom_has(c, fn, hit) ? F_TRUE : F_FALSE;
			}
		}
		return f;
	}
	case FK_AND: {
		uint32_t a = fn->a, b = fn->b;
		uint32_t x = f_subst(c, a, i, r);
		if (x == F_FALSE)
			return F_FALSE;
		return f_and(c, x, f_subst(c, b, i, r));
	}
	case FK_OR: {
		uint32_t a = fn->a, b = fn->b;
		uint32_t x = f_subst(c, a, i, r);
		if (x == F_TRUE)
			return F_TRUE;
		return f_or(c, x, f_subst(c, b, i, r));
	}
	default:
		return f;
	}
}

/* ---- building ---- */

struct live {
	uint32_t rule, f;
};

/* The node switching on dim with these children, given as runs: pairs
 * (first region, child) in region order, adjacent runs with different
 * children, the first starting at 0.  Equal nodes are one node.  Stored as
 * runs when that is less than half the size of one slot per region. */
static uint32_t node_cons_runs(struct compiler *c, uint32_t dim, const uint32_t *runs,
                               uint32_t n_runs)
{
	struct tree *t = c->t;
	uint32_t R = t->dims[dim].n_regions;
	if (n_runs == 1)
		return runs[1];
	struct buf key = {0};
	buf_add(&key, &dim, sizeof dim);
	buf_add(&key, runs, 2 * n_runs * sizeof(uint32_t));
	uint32_t id;
	if (hmap_get(&c->node_cons, key.data, key.len, &id)) {
		buf_free(&key);
		return id;
	}
	bool sparse = 2 * n_runs < R;
	size_t n = sparse ? 2 * (size_t)n_runs : R;
	if (t->n_slots + n > TREE_MAX_SLOTS) {
		if (!c->failed)
			snprintf(c->err, c->errlen,
			         "decision tree too large: more than %u branches after %zu nodes; "
			         "the rules combine too many independent tests (simplify or split "
			         "the file)", TREE_MAX_SLOTS, t->n_nodes);
		c->failed = true;
		buf_free(&key);
		return TREE_LEAF_NONE;
	}
	t->nodes = xgrow(t->nodes, &c->cap_nodes, t->n_nodes + 1, sizeof *t->nodes);
	t->slots = xgrow(t->slots, &c->cap_slots, t->n_slots + n, sizeof *t->slots);
	id = (uint32_t)t->n_nodes++;
	t->nodes[id] = (struct tree_node){ dim, (uint32_t)t->n_slots, sparse ? n_runs : 0 };
	uint32_t *out = t->slots + t->n_slots;
	if (sparse) {
		memcpy(out, runs, n * sizeof(uint32_t));
	} else {
		for (uint32_t k = 0; k < n_runs; k++) {
			uint32_t end = k + 1 < n_runs ? runs[2 * k + 2] : R;
			for (uint32_t r = runs[2 * k]; r < end; r++)
				out[r] = runs[2 * k + 1];
		}
	}
	t->n_slots += n;
	hmap_put(&c->node_cons, key.data, key.len, id);
	buf_free(&key);
	return id;
}

/* The same from one child per region. */
static uint32_t node_cons(struct compiler *c, uint32_t dim, const uint32_t *slots, uint32_t n)
{
	uint32_t *runs = xmalloc(2 * (size_t)n * sizeof(uint32_t)), nr = 0;
	for (uint32_t r = 0; r < n; r++) {
		if (nr && runs[2 * nr - 1] == slots[r])
			continue;
		runs[2 * nr] = r;
		runs[2 * nr + 1] = slots[r];
		nr++;
	}
	uint32_t id = node_cons_runs(c, dim, runs, nr);
	free(runs);
	return id;
}

/* Count k rule visits; true (and the compile failed) past TREE_MAX_WORK. */
static bool over_budget_add(struct compiler *c, uint64_t k)
{
	c->work += k;
	if (c->work <= TREE_MAX_WORK || c->failed)
		return c->failed;
	snprintf(c->err, c->errlen,
	         "decision tree too large: compiling it would take more than %llu steps after "
	         "%zu nodes; the rules combine too many independent tests (simplify or split "
	         "the file)", (unsigned long long)TREE_MAX_WORK, c->t->n_nodes);
	c->failed = true;
	return true;
}

static bool over_budget(struct compiler *c)
{
	return over_budget_add(c, 0);
}

/* The live list for region r of dimension i: each rule's formula with the
 * region substituted, false ones dropped, stopping after the first that is
 * true.  Counts the visits against the compile budget. */
static size_t subst_list(struct compiler *c, const struct live *L, size_t n, uint32_t i,
                         uint32_t r, struct live *next)
{
	size_t m = 0, k = 0;
	for (; k < n; k++) {
		uint32_t g = f_subst(c, L[k].f, i, r);
		if (g == F_FALSE)
			continue;
		next[m++] = (struct live){ L[k].rule, g };
		if (g == F_TRUE)
			break;
	}
	over_budget_add(c, k);
	return m;
}

/* Regions of text dimension i where an atom of f decides differently than
 * for `other`, added to (*regs, *n); *linked is set when f tests a pattern
 * on the same field (then every constant region can differ). */
static void special_regions(const struct compiler *c, uint32_t f, uint32_t i,
                            uint32_t **regs, size_t *n, size_t *cap, bool *linked)
{
	const struct fnode *fn = &c->f[f];
	if (f <= F_TRUE || !(fn->mask >> (i % 64) & 1))
		return;
	if (fn->kind == FK_AND || fn->kind == FK_OR) {
		special_regions(c, fn->a, i, regs, n, cap, linked);
		special_regions(c, fn->b, i, regs, n, cap, linked);
		return;
	}
	const struct dim *d = &c->t->dims[fn->a];
	if (fn->a != i) {
		if (d->kind == DIM_PATTERN && d->text_dim == (int)i)
			*linked = true;
		return;
	}
	/* constant regions whose membership differs from other's: those in
	 * the set when other is not, those outside it when other is */
	uint32_t other = (uint32_t)d->n_consts;
	bool in_other = atom_has(c, fn, other);
	const uint32_t *iv = c->ivals + fn->b;
	uint32_t at = 0;
	for (uint32_t k = 0; k <= fn->cnt; k++) {
		uint32_t from, to;
		if (in_other) {   /* the gaps between intervals */
			from = at;
			to = k < fn->cnt ? iv[2 * k] : other;
			if (k < fn->cnt)
				at = iv[2 * k + 1];
		} else {
			if (k == fn->cnt)
				break;
			from = iv[2 * k];
			to = iv[2 * k + 1];
		}
		if (to > other)
			to = other;
		for (uint32_t r = from; r < to; r++) {
			*regs = xgrow(*regs, cap, *n + 1, sizeof **regs);
			(*regs)[(*n)++] = r;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The live list for region r, reading `other`'s results for rules that do
 * not single out r.  base: positions of rules alive at `other` or tested
 * with linked patterns (ascending); spec: positions singled out at r. */
static size_t text_child(struct compiler *c, const struct live *L, const uint32_t *g_other,
                         const uint8_t *linked, const uint32_t *base, size_t nbase,
                         const uint32_t *spec, size_t nspec, uint32_t i, uint32_t r,
                         struct live *next)
{
	size_t m = 0, a = 0, b = 0;
	while (a < nbase || b < nspec) {
		uint32_t k;
		bool special;
		if (b >= nspec || (a < nbase && base[a] < spec[b])) {
			k = base[a++];
			special = linked[k];
		} else {
			k = spec[b++];
			if (a < nbase && base[a] == k)
				a++;
			special = true;
		}
		uint32_t g = special ? f_subst(c, L[k].f, i, r) : g_other[k];
		if (g == F_FALSE)
			continue;
		next[m++] = (struct live){ L[k].rule, g };
		if (g == F_TRUE)
			break;
	}
	return m;
}

static uint32_t build(struct compiler *c, const struct live *L, size_t n);

/* Children of a node on a text dimension with many constants: work in
 * proportion to the rules that name each constant, not constants x rules. */
static void build_text_children(struct compiler *c, const struct live *L, size_t n, uint32_t i,
                                uint32_t *slots, struct live *next)
{
	const struct dim *d = &c->t->dims[i];
	uint32_t other = (uint32_t)d->n_consts, missing = d->n_regions - 1;
	uint32_t *g_other = xcalloc(n, sizeof(uint32_t));
	uint8_t *linked = xcalloc(n, 1);
	uint64_t *pairs = NULL;          /* region << 32 | position */
	size_t npairs = 0, cap_pairs = 0;
	uint32_t *regs = NULL;
	size_t cap_regs = 0;
	uint32_t *base = xcalloc(n, sizeof(uint32_t));
	size_t nbase = 0;
	over_budget_add(c, 2 * n);
	for (size_t k = 0; k < n; k++) {
		g_other[k] = f_subst(c, L[k].f, i, other);
		size_t nr = 0;
		bool lk = false;
		special_regions(c, L[k].f, i, &regs, &nr, &cap_regs, &lk);
		linked[k] = lk;
		if (g_other[k] != F_FALSE || lk)
			base[nbase++] = (uint32_t)k;
		for (size_t q = 0; q < nr; q++) {
			pairs = xgrow(pairs, &cap_pairs, npairs + 1, sizeof *pairs);
			pairs[npairs++] = (uint64_t)regs[q] << 32 | k;
		}
	}
	if (npairs)
		qsort(pairs, npairs, sizeof *pairs, cmp_u64);
	uint32_t *spec = xcalloc(npairs ? npairs : 1, sizeof(uint32_t));
	size_t p = 0;
	for (uint32_t r = 0; r < other; r++) {
		size_t ns = 0;
		for (; p < npairs && (uint32_t)(pairs[p] >> 32) == r; p++)
			if (!ns || spec[ns - 1] != (uint32_t)pairs[p])
				spec[ns++] = (uint32_t)pairs[p];
		size_t m = text_child(c, L, g_other, linked, base, nbase, spec, ns, i, r, next);
		over_budget_add(c, m + ns + 1);
		slots[r] = build(c, next, m);
	}
	size_t m = text_child(c, L, g_other, linked, base, nbase, NULL, 0, i, other, next);
	slots[other] = build(c, next, m);
	slots[missing] = build(c, next, subst_list(c, L, n, i, missing, next));
	free(g_other);
	free(linked);
	free(pairs);
	free(regs);
	free(base);
	free(spec);
}

/* Mark in bnd the regions r (0 < r < missing) where an atom of f on
 * dimension i decides differently than for region r - 1. */
static void number_boundaries(const struct compiler *c, uint32_t f, uint32_t i, uint64_t *bnd)
{
	const struct fnode *fn = &c->f[f];
	if (f <= F_TRUE || !(fn->mask >> (i % 64) & 1))
		return;
	if (fn->kind == FK_AND || fn->kind == FK_OR) {
		number_boundaries(c, fn->a, i, bnd);
		number_boundaries(c, fn->b, i, bnd);
		return;
	}
	if (fn->a != i)
		return;
	const struct dim *d = &c->t->dims[i];
	const uint32_t *iv = c->ivals + fn->b;
	for (uint32_t k = 0; k < 2 * fn->cnt; k++) {
		uint32_t r = iv[k];
		if (r > 0 && r < d->n_regions)
			bnd[r / 64] |= 1ull << (r % 64);
	}
}

/* Children of a node on a number dimension: one build per run of regions
 * between the thresholds the live rules use, not one per region. */
static uint32_t build_number_children(struct compiler *c, const struct live *L, size_t n,
                                      uint32_t i, struct live *next)
{
	const struct dim *d = &c->t->dims[i];
	uint32_t R = d->n_regions, missing = R - 1;
	uint64_t *bnd = xcalloc((R + 63) / 64, sizeof(uint64_t));
	for (size_t k = 0; k < n; k++)
		number_boundaries(c, L[k].f, i, bnd);
	bnd[0] &= ~1ull;
	bnd[missing / 64] |= 1ull << (missing % 64);   /* missing is its own run */
	uint32_t *runs = xmalloc(2 * sizeof(uint32_t)), nr = 0;
	size_t cap = 2;
	uint32_t start = 0;
	for (uint32_t r = 0; r <= R; r++) {
		bool cut = r == R || (r > 0 && (bnd[r / 64] >> (r % 64) & 1));
		if (!cut)
			continue;
		uint32_t child = build(c, next, subst_list(c, L, n, i, start, next));
		if (!nr || runs[2 * nr - 1] != child) {
			runs = xgrow(runs, &cap, 2 * (size_t)nr + 2, sizeof(uint32_t));
			runs[2 * nr] = start;
			runs[2 * nr + 1] = child;
			nr++;
		}
		start = r;
	}
	uint32_t id = node_cons_runs(c, i, runs, nr);
	free(runs);
	free(bnd);
	return id;
}

static uint32_t build(struct compiler *c, const struct live *L, size_t n)
{
	if (n == 0)
		return TREE_LEAF_NONE;
	if (L[0].f == F_TRUE)
		return TREE_LEAF | L[0].rule;
	if (c->failed)
		return TREE_LEAF_NONE;
	if (over_budget(c))
		return TREE_LEAF_NONE;
	uint32_t memo;
	if (hmap_get(&c->build_memo, L, n * sizeof *L, &memo))
		return memo;
	uint32_t i = LO_NONE;
	for (size_t k = 0; k < n; k++)
		if (c->f[L[k].f].lo < i)
			i = c->f[L[k].f].lo;
	const struct dim *d = &c->t->dims[i];
	uint32_t R = d->n_regions;
	uint32_t *slots = xcalloc(R, sizeof(uint32_t));
	struct live *next = xcalloc(n, sizeof *next);
	if (d->kind == DIM_NUMBER && R > 16) {
		uint32_t result = build_number_children(c, L, n, i, next);
		free(next);
		free(slots);
		hmap_put(&c->build_memo, L, n * sizeof *L, result);
		return result;
	}
	if (d->kind == DIM_TEXT && R > 16) {
		build_text_children(c, L, n, i, slots, next);
	} else {
		for (uint32_t r = 0; r < R; r++)
			slots[r] = build(c, next, subst_list(c, L, n, i, r, next));
	}
	bool same = true;
	for (uint32_t r = 1; r < R && same; r++)
		same = slots[r] == slots[0];
	uint32_t result = same ? slots[0] : node_cons(c, i, slots, R);
	free(next);
	free(slots);
	hmap_put(&c->build_memo, L, n * sizeof *L, result);
	return result;
}

/* What both compilers share: the dimensions the rules test, put in their
 * final order, and the tables that map fields and patterns to them. */
struct layout {
	struct dimset s;
	struct hmap patterns;
	size_t *order, *new_of;
	int *dim_of_text, *dim_of_num;
};

static void layout_begin(struct layout *lo, const struct program *p)
{
	memset(lo, 0, sizeof *lo);
	lo->s.field_text = xmalloc(p->n_fields * sizeof(int));
	lo->s.field_num = xmalloc(p->n_fields * sizeof(int));
	for (size_t i = 0; i < p->n_fields; i++)
		lo->s.field_text[i] = lo->s.field_num[i] = -1;
	hmap_init(&lo->patterns);
}

/* Finish, order and renumber the dimensions into t.  Returns false (err
 * filled) when there are too many. */
static bool layout_finish(struct layout *lo, struct tree *t, const struct program *p,
                          char *err, size_t errlen)
{
	struct dimset *s = &lo->s;
	bool ok = s->n <= TREE_MAX_DIMS;
	if (!ok)
		snprintf(err, errlen, "decision tree too large: %zu distinct tests (at most %u)",
		         s->n, TREE_MAX_DIMS);
	for (size_t i = 0; i < s->n; i++)
		dim_finish(&s->v[i]);
	lo->order = dims_order(s);
	lo->new_of = xcalloc(s->n ? s->n : 1, sizeof(size_t));
	for (size_t i = 0; i < s->n; i++)
		lo->new_of[lo->order[i]] = i;
	t->n_dims = s->n;
	t->dims = xcalloc(s->n ? s->n : 1, sizeof *t->dims);
	for (size_t i = 0; i < s->n; i++)
		t->dims[i] = s->v[lo->order[i]];
	lo->dim_of_text = xmalloc(p->n_fields * sizeof(int));
	lo->dim_of_num = xmalloc(p->n_fields * sizeof(int));
	for (size_t i = 0; i < p->n_fields; i++) {
		lo->dim_of_text[i] = s->field_text[i] < 0 ? -1 : (int)lo->new_of[s->field_text[i]];
		lo->dim_of_num[i] = s->field_num[i] < 0 ? -1 : (int)lo->new_of[s->field_num[i]];
	}
	for (size_t i = 0; i < s->n; i++) {
		struct dim *d = &t->dims[i];
		if (d->kind == DIM_PATTERN)
			d->text_dim = lo->dim_of_text[d->field_id];
	}
	/* pattern dims are found by key; point the keys at the new numbers */
	for (size_t i = 0; i <= lo->patterns.mask; i++)
		if (lo->patterns.slots[i].key)
			lo->patterns.slots[i].value = (uint32_t)lo->new_of[lo->patterns.slots[i].value];
	return ok;
}

static void layout_free(struct layout *lo)
{
	hmap_free(&lo->patterns);
	free(lo->order);
	free(lo->new_of);
	free(lo->dim_of_text);
	free(lo->dim_of_num);
	free(lo->s.v);
	free(lo->s.field_text);
	free(lo->s.field_num);
	free(lo->s.count);
	free(lo->s.first);
	free(lo->s.last_rule);
	free(lo->s.cap_consts);
}

static void compiler_init(struct compiler *c, const struct program *p, struct tree *t,
                          char *err, size_t errlen)
{
	*c = (struct compiler){ .p = p, .t = t, .err = err, .errlen = errlen };
	hmap_init(&c->fcons);
	hmap_init(&c->build_memo);
	hmap_init(&c->node_cons);
	c->f = xgrow(NULL, &c->capf, 2, sizeof *c->f);
	c->f[0] = (struct fnode){ FK_CONST, 0, 0, LO_NONE, 0, 0 };
	c->f[1] = (struct fnode){ FK_CONST, 1, 0, LO_NONE, 0, 0 };
	c->nf = 2;
}

static void compiler_free(struct compiler *c)
{
	hmap_free(&c->fcons);
	hmap_free(&c->build_memo);
	hmap_free(&c->node_cons);
	free(c->f);
	free(c->ivals);
}

/* The live rules of p at the root: their formulas, false ones dropped,
 * stopping after the first that is always true. */
static size_t live_rules(struct compiler *c, const struct program *p, const int *dim_of_text,
                         const int *dim_of_num, struct hmap *patterns, struct live *L)
{
	size_t n = 0;
	for (size_t r = 0; r < p->n_rules; r++) {
		uint32_t f = f_cond(c, dim_of_text, dim_of_num, patterns, p->rules[r].cond, false);
		if (f == F_FALSE)
			continue;
		L[n++] = (struct live){ (uint32_t)r, f };
		if (f == F_TRUE)
			break;
	}
	return n;
}

struct tree *tree_compile(const struct program *p, char *err, size_t errlen)
{
	struct tree *t = xcalloc(1, sizeof *t);
	t->prog = p;
	struct layout lo;
	layout_begin(&lo, p);
	for (size_t r = 0; r < p->n_rules; r++)
		dims_collect(&lo.s, p, p->rules[r].cond, r, &lo.patterns);
	bool ok = layout_finish(&lo, t, p, err, errlen);
	struct compiler c;
	compiler_init(&c, p, t, err, errlen);
	if (ok) {
		struct live *L = xcalloc(p->n_rules ? p->n_rules : 1, sizeof *L);
		size_t n = live_rules(&c, p, lo.dim_of_text, lo.dim_of_num, &lo.patterns, L);
		t->root = build(&c, L, n);
		free(L);
		ok = !c.failed;
	}
	compiler_free(&c);
	layout_free(&lo);
	if (!ok) {
		tree_free(t);
		return NULL;
	}
	return t;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_dims; i++) {
		struct dim *d = &t->dims[i];
		for (size_t k = 0; k < d->n_consts; k++)
			free(d->consts[k]);
		free(d->consts);
		free(d->hash_slots);
		free(d->points);
		free(d->pat);
	}
	free(t->dims);
	free(t->nodes);
	free(t->slots);
	free(t->pairs);
	free(t);
}

/* ---- two programs: a tree whose leaves are pairs of rules ---- */

static bool same_enum(const struct field *a, const struct field *b)
{
	if (a->n_enum != b->n_enum)
		return false;
	for (size_t i = 0; i < a->n_enum; i++) {
		bool found = false;
		for (size_t k = 0; k < b->n_enum && !found; k++)
			found = strcmp(a->enum_values[i], b->enum_values[k]) == 0;
		if (!found)
			return false;
	}
	return true;
}

long tree_fields_differ(const struct program *a, const struct program *b)
{
	size_t n = a->n_fields < b->n_fields ? a->n_fields : b->n_fields;
	for (size_t i = 0; i < n; i++) {
		const struct field *fa = &a->fields[i], *fb = &b->fields[i];
		if (strcmp(fa->name, fb->name) != 0 || fa->type != fb->type ||
		    (fa->type == FT_ENUM && !same_enum(fa, fb)))
			return (long)i;
	}
	return -1;
}

static bool sends_to_owner(const struct program *p)
{
	for (size_t r = 0; r < p->n_rules; r++) {
		const struct action *a = &p->rules[r].act;
		if (!a->drop && a->queue_id >= 0 && p->queues[a->queue_id].dist == D_OWNER)
			return true;
	}
	return false;
}

struct pair_compiler {
	struct compiler c;
	struct hmap pair_cons;    /* (rule a, rule b) -> index in t->pairs */
	size_t cap_pairs;
};

static uint32_t pair_leaf(struct pair_compiler *pc, uint32_t a, uint32_t b)
{
	struct tree *t = pc->c.t;
	uint32_t key[2] = { a, b }, id;
	if (hmap_get(&pc->pair_cons, key, sizeof key, &id))
		return TREE_LEAF | id;
	if (t->n_pairs >= TREE_MAX_SLOTS) {
		if (!pc->c.failed)
			snprintf(pc->c.err, pc->c.errlen, "decision tree too large: more than %u "
			         "pairs of rules", TREE_MAX_SLOTS);
		pc->c.failed = true;
		return TREE_LEAF_NONE;
	}
	t->pairs = xgrow(t->pairs, &pc->cap_pairs, t->n_pairs + 1, sizeof *t->pairs);
	id = (uint32_t)t->n_pairs++;
	t->pairs[id] = (struct tree_pair){ a, b };
	hmap_put(&pc->pair_cons, key, sizeof key, id);
	return TREE_LEAF | id;
}

/* One side's live rules with dimension i fixed to region r: drop the rules
 * that became false, stop after the first that became true.  A resolved
 * side (empty, or first rule true) is copied as it is. */
static size_t live_subst(struct compiler *c, const struct live *L, size_t n, uint32_t i,
                         uint32_t r, struct live *next)
{
	if (n == 0 || L[0].f == F_TRUE) {
		memcpy(next, L, (n ? 1 : 0) * sizeof *L);
		return n ? 1 : 0;
	}
	return subst_list(c, L, n, i, r, next);
}

/* build() over two lists of live rules: a leaf once both are resolved. */
static uint32_t build_pair(struct pair_compiler *pc, const struct live *A, size_t na,
                           const struct live *B, size_t nb)
{
	struct compiler *c = &pc->c;
	bool done_a = na == 0 || A[0].f == F_TRUE;
	bool done_b = nb == 0 || B[0].f == F_TRUE;
	if (done_a && done_b)
		return pair_leaf(pc, na ? A[0].rule : TREE_NO_RULE, nb ? B[0].rule : TREE_NO_RULE);
	if (c->failed)
		return TREE_LEAF_NONE;
	/* the key: |A|, then A, then B (a resolved side is one entry or none) */
	struct buf key = {0};
	uint32_t len_a = (uint32_t)na, memo;
	buf_add(&key, &len_a, sizeof len_a);
	buf_add(&key, A, na * sizeof *A);
	buf_add(&key, B, nb * sizeof *B);
	if (hmap_get(&c->build_memo, key.data, key.len, &memo)) {
		buf_free(&key);
		return memo;
	}
	uint32_t i = LO_NONE;
	for (size_t k = 0; k < na; k++)
		if (c->f[A[k].f].lo < i)
			i = c->f[A[k].f].lo;
	for (size_t k = 0; k < nb; k++)
		if (c->f[B[k].f].lo < i)
			i = c->f[B[k].f].lo;
	const struct dim *d = &c->t->dims[i];
	uint32_t R = d->n_regions;
	uint32_t *slots = xcalloc(R, sizeof(uint32_t));
	struct live *next_a = xcalloc(na ? na : 1, sizeof *next_a);
	struct live *next_b = xcalloc(nb ? nb : 1, sizeof *next_b);
	bool same = true;
	for (uint32_t r = 0; r < R; r++) {
		size_t ma = live_subst(c, A, na, i, r, next_a);
		size_t mb = live_subst(c, B, nb, i, r, next_b);
		slots[r] = build_pair(pc, next_a, ma, next_b, mb);
		if (slots[r] != slots[0])
			same = false;
	}
	uint32_t result = same ? slots[0] : node_cons(c, i, slots, R);
	free(next_a);
	free(next_b);
	free(slots);
	hmap_put(&c->build_memo, key.data, key.len, result);
	buf_free(&key);
	return result;
}


struct tree *tree_compile_pair(const struct program *a, const struct program *b,
                               char *err, size_t errlen)
{
	long bad = tree_fields_differ(a, b);
	if (bad >= 0) {
		snprintf(err, errlen, "the programs declare different fields: '%s' and '%s'",
		         a->fields[bad].name, b->fields[bad].name);
		return NULL;
	}
	const struct program *p = a->n_fields >= b->n_fields ? a : b;
	const struct program *progs[2] = { a, b };
	struct tree *t = xcalloc(1, sizeof *t);
	t->prog = p;
	struct layout lo;
	layout_begin(&lo, p);
	/* b's rules are numbered after a's, so each rule counts once per dim */
	for (size_t r = 0; r < a->n_rules; r++)
		dims_collect(&lo.s, p, a->rules[r].cond, r, &lo.patterns);
	for (size_t r = 0; r < b->n_rules; r++)
		dims_collect(&lo.s, p, b->rules[r].cond, a->n_rules + r, &lo.patterns);
	if ((sends_to_owner(a) || sends_to_owner(b)) && lo.s.field_text[F_ACCOUNT_OWNER] < 0)
		lo.s.field_text[F_ACCOUNT_OWNER] = dim_new(&lo.s, DIM_TEXT, F_ACCOUNT_OWNER,
		                                           a->n_rules + b->n_rules);
	bool ok = layout_finish(&lo, t, p, err, errlen);
	struct pair_compiler pc;
	compiler_init(&pc.c, p, t, err, errlen);
	struct compiler *c = &pc.c;
	hmap_init(&pc.pair_cons);
	pc.cap_pairs = 0;
	if (ok) {
		struct live *L[2];
		size_t n[2];
		for (int k = 0; k < 2; k++) {
			L[k] = xcalloc(progs[k]->n_rules ? progs[k]->n_rules : 1, sizeof *L[k]);
			n[k] = live_rules(c, progs[k], lo.dim_of_text, lo.dim_of_num, &lo.patterns, L[k]);
		}
		t->root = build_pair(&pc, L[0], n[0], L[1], n[1]);
		free(L[0]);
		free(L[1]);
		ok = !c->failed;
	}
	compiler_free(c);
	hmap_free(&pc.pair_cons);
	layout_free(&lo);
	if (!ok) {
		tree_free(t);
		return NULL;
	}
	return t;
}

/* ---- evaluation ---- */

uint32_t dim_region(const struct tree *t, const struct dim *d, const struct facts *facts)
{
	(void)t;
	const struct fact *f = &facts->v[d->field_id];
	switch (d->kind) {
	case DIM_TEXT: {
		if (!f->present)
			return d->n_regions - 1;
		if (d->n_consts == 0)
			return 0;
		size_t len = strlen(f->text);
		for (size_t h = hmap_hash(f->text, len) & d->hash_mask;; h = (h + 1) & d->hash_mask) {
			uint32_t s = d->hash_slots[h];
			if (!s)
				return (uint32_t)d->n_consts;
			if (strcmp(d->consts[s - 1], f->text) == 0)
				return s - 1;
		}
	}
	case DIM_NUMBER: {
		if (!f->present)
			return d->n_regions - 1;
		size_t lo = 0, hi = d->n_points;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (d->points[mid] < f->num)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < d->n_points && d->points[lo] == f->num)
			return (uint32_t)(2 * lo + 1);
		return (uint32_t)(2 * lo);
	}
	case DIM_PATTERN:
		return f->present && pattern_test(d->pat_kind, d->pat, d->re, f->text);
	}
	return 0;
}

uint32_t tree_eval(const struct tree *t, const struct facts *facts)
{
	uint32_t s = t->root;
	while (!(s & TREE_LEAF)) {
		const struct tree_node *nd = &t->nodes[s];
		s = tree_child(t, s, dim_region(t, &t->dims[nd->dim], facts));
	}
	return s == TREE_LEAF_NONE ? TREE_NO_RULE : s & ~TREE_LEAF;
}

/* ---- inspection ---- */

static void fmt_num(char *out, size_t n, double x)
{
	snprintf(out, n, "%.15g", x);
}

void dim_region_describe(const struct tree *t, size_t dim, uint32_t r, char *out, size_t n)
{
	const struct dim *d = &t->dims[dim];
	const char *name = t->prog->fields[d->field_id].name;
	char a[40], b[40];
	if (r == d->n_regions - 1 && d->kind != DIM_PATTERN) {
		if (d->field_id == F_EMAIL_PERSONAL)
			snprintf(out, n, "email not personal");
		else if (d->field_id == F_ACCOUNT_OWNER && d->n_consts == 0)
			snprintf(out, n, "domain not owned");
		else
			snprintf(out, n, "%s missing", name);
		return;
	}
	switch (d->kind) {
	case DIM_TEXT:
		if (d->field_id == F_EMAIL_PERSONAL)
			snprintf(out, n, "email personal");
		else if (d->field_id == F_ACCOUNT_OWNER && d->n_consts == 0)
			snprintf(out, n, "domain owned");
		else if (r < d->n_consts)
			snprintf(out, n, "%s = %s", name, d->consts[r]);
		else
			snprintf(out, n, "%s other", name);
		return;
	case DIM_NUMBER: {
		uint32_t k = (uint32_t)d->n_points;
		if (r % 2 == 1) {
			fmt_num(a, sizeof a, d->points[r / 2]);
			snprintf(out, n, "%s = %s", name, a);
		} else if (k == 0) {
			snprintf(out, n, "%s present", name);
		} else if (r == 0) {
			fmt_num(a, sizeof a, d->points[0]);
			snprintf(out, n, "%s < %s", name, a);
		} else if (r == 2 * k) {
			fmt_num(a, sizeof a, d->points[k - 1]);
			snprintf(out, n, "%s > %s", name, a);
		} else {
			fmt_num(a, sizeof a, d->points[r / 2 - 1]);
			fmt_num(b, sizeof b, d->points[r / 2]);
			snprintf(out, n, "%s < %s < %s", a, name, b);
		}
		return;
	}
	case DIM_PATTERN: {
		static const char *const what[] = { [C_ENDS] = "ends with", [C_STARTS] = "starts with",
		                                    [C_CONTAINS] = "contains", [C_MATCHES] = "matches" };
		snprintf(out, n, "%s %s%s \"%s\"", name, r ? "" : "not ", what[d->pat_kind], d->pat);
		return;
	}
	}
}

struct walk {
	const struct tree *t;
	tree_leaf_fn fn;
	void *ctx;
	uint32_t *path;
	uint8_t *seen;
	bool all;
	bool stop;
};

static void walk(struct walk *w, uint32_t s)
{
	if (w->stop)
		return;
	if (s & TREE_LEAF) {
		uint32_t rule = s == TREE_LEAF_NONE ? TREE_NO_RULE : s & ~TREE_LEAF;
		if (!w->fn(w->ctx, rule, w->path))
			w->stop = true;
		return;
	}
	if (!w->all) {
		if (w->seen[s])
			return;
		w->seen[s] = 1;
	}
	const struct tree_node *nd = &w->t->nodes[s];
	const struct dim *d = &w->t->dims[nd->dim];
	for (uint32_t r = 0; r < d->n_regions && !w->stop; r = tree_run_end(w->t, s, r)) {
		w->path[nd->dim] = r;
		walk(w, tree_child(w->t, s, r));
	}
	w->path[nd->dim] = UINT32_MAX;
}

void tree_walk(const struct tree *t, bool all_paths, tree_leaf_fn fn, void *ctx)
{
	struct walk w = { t, fn, ctx, xmalloc((t->n_dims + 1) * sizeof(uint32_t)),
	                  xcalloc(t->n_nodes + 1, 1), all_paths, false };
	for (size_t i = 0; i < t->n_dims; i++)
		w.path[i] = UINT32_MAX;
	walk(&w, t->root);
	free(w.path);
	free(w.seen);
}

/* The children of a node with the regions that lead to each, in order of
 * each child's first region; at most GROUP_SHOWN regions listed per child,
 * the rest counted. */
#define GROUP_SHOWN 12
struct region_group {
	uint32_t child;
	uint32_t regions[GROUP_SHOWN];
	size_t n, more;
};

static int cmp_pair64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static struct region_group *group_regions(const struct tree *t, uint32_t node, size_t *ng)
{
	const struct dim *d = &t->dims[t->nodes[node].dim];
	uint64_t *pairs = NULL;   /* child << 32 | region, one per run */
	size_t np = 0, cap = 0;
	for (uint32_t r = 0; r < d->n_regions; r = tree_run_end(t, node, r)) {
		pairs = xgrow(pairs, &cap, np + 1, sizeof *pairs);
		pairs[np++] = (uint64_t)tree_child(t, node, r) << 32 | r;
	}
	qsort(pairs, np, sizeof *pairs, cmp_pair64);
	struct region_group *g = xcalloc(np, sizeof *g);
	size_t n = 0;
	for (size_t k = 0; k < np; k++) {
		uint32_t child = (uint32_t)(pairs[k] >> 32), r = (uint32_t)pairs[k];
		if (!n || g[n - 1].child != child)
			g[n++] = (struct region_group){ .child = child };
		struct region_group *cur = &g[n - 1];
		uint32_t end = tree_run_end(t, node, r);
		for (uint32_t q = r; q < end; q++) {
			if (cur->n < GROUP_SHOWN)
				cur->regions[cur->n++] = q;
			else
				cur->more++;
		}
	}
	free(pairs);
	/* in order of first region */
	for (size_t i = 1; i < n; i++) {
		struct region_group x = g[i];
		size_t j = i;
		while (j > 0 && g[j - 1].regions[0] > x.regions[0]) {
			g[j] = g[j - 1];
			j--;
		}
		g[j] = x;
	}
	*ng = n;
	return g;
}

static void free_groups(struct region_group *g, size_t n)
{
	(void)n;
	free(g);
}

static void print_slot(const struct tree *t, FILE *out, uint32_t s, int depth, uint8_t *done)
{
	if (s & TREE_LEAF) {
		if (s == TREE_LEAF_NONE) {
			fprintf(out, "no rule\n");
		} else {
			const struct rule *r = &t->prog->rules[s & ~TREE_LEAF];
			fprintf(out, "rule line %d -> %s\n", r->loc.line,
			        r->act.drop ? "drop" : r->act.queue);
		}
		return;
	}
	if (done[s]) {
		fprintf(out, "node %u (shared, above)\n", s);
		return;
	}
	done[s] = 1;
	const struct tree_node *nd = &t->nodes[s];
	fprintf(out, "node %u:\n", s);
	size_t ng;
	struct region_group *g = group_regions(t, s, &ng);
	for (size_t k = 0; k < ng; k++) {
		fprintf(out, "%*s", depth * 2 + 2, "");
		for (size_t q = 0; q < g[k].n; q++) {
			char desc[300];
			dim_region_describe(t, nd->dim, g[k].regions[q], desc, sizeof desc);
			fprintf(out, "%s%s", q ? " | " : "", desc);
		}
		if (g[k].more)
			fprintf(out, " | ... %zu more", g[k].more);
		fprintf(out, ": ");
		print_slot(t, out, g[k].child, depth + 1, done);
	}
	free_groups(g, ng);
}

void tree_print_text(const struct tree *t, FILE *out)
{
	fprintf(out, "# %zu dimensions, %zu nodes, %zu branches\n", t->n_dims, t->n_nodes,
	        t->n_slots);
	uint8_t *done = xcalloc(t->n_nodes + 1, 1);
	print_slot(t, out, t->root, 0, done);
	free(done);
}

static void dot_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void dot_leaf_name(FILE *out, uint32_t s)
{
	if (s == TREE_LEAF_NONE)
		fprintf(out, "none");
	else
		fprintf(out, "r%u", s & ~TREE_LEAF);
}

void tree_print_dot(const struct tree *t, FILE *out)
{
	fprintf(out, "digraph routes {\n  node [fontname=\"Helvetica\"];\n");
	bool none_used = t->root == TREE_LEAF_NONE;
	uint8_t *used = xcalloc(t->prog->n_rules + 1, 1);
	if ((t->root & TREE_LEAF) && t->root != TREE_LEAF_NONE)
		used[t->root & ~TREE_LEAF] = 1;
	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct tree_node *nd = &t->nodes[i];
		fprintf(out, "  n%zu [shape=box, label=\"", i);
		dot_escape(out, t->prog->fields[t->dims[nd->dim].field_id].name);
		fprintf(out, "\"];\n");
		size_t ng;
		struct region_group *g = group_regions(t, (uint32_t)i, &ng);
		for (size_t k = 0; k < ng; k++) {
			uint32_t child = g[k].child;
			fprintf(out, "  n%zu -> ", i);
			if (child & TREE_LEAF) {
				dot_leaf_name(out, child);
				if (child == TREE_LEAF_NONE)
					none_used = true;
				else
					used[child & ~TREE_LEAF] = 1;
			} else {
				fprintf(out, "n%u", child);
			}
			fprintf(out, " [label=\"");
			for (size_t q = 0; q < g[k].n; q++) {
				char desc[300];
				dim_region_describe(t, nd->dim, g[k].regions[q], desc, sizeof desc);
				if (q)
					fprintf(out, "\\n");
				dot_escape(out, desc);
			}
			if (g[k].more)
				fprintf(out, "\\n... %zu more", g[k].more);
			fprintf(out, "\"];\n");
		}
		free_groups(g, ng);
	}
	for (size_t r = 0; r < t->prog->n_rules; r++) {
		if (!used[r])
			continue;
		const struct rule *rl = &t->prog->rules[r];
		fprintf(out, "  r%zu [shape=ellipse, style=filled, fillcolor=\"#e8f4ea\", "
		        "label=\"line %d\\n", r, rl->loc.line);
		dot_escape(out, rl->act.drop ? "drop" : rl->act.queue);
		fprintf(out, "\"];\n");
	}
	if (none_used)
		fprintf(out, "  none [shape=ellipse, style=filled, fillcolor=\"#f8d7da\", "
		        "label=\"no rule\"];\n");
	if (t->root & TREE_LEAF) {
		fprintf(out, "  start [shape=point];\n  start -> ");
		dot_leaf_name(out, t->root);
		fprintf(out, ";\n");
	}
	fprintf(out, "}\n");
	free(used);
}

size_t tree_node_count(const struct tree *t)
{
	return t->n_nodes;
}

size_t tree_slot_count(const struct tree *t)
{
	return t->n_slots;
}
