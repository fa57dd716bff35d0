/* tree - compile a checked program into a decision DAG, and evaluate it.
 *
 * Conditions become formulas over atoms "dimension d is in region set S"
 * (negations pushed into the sets, which is exact in two-valued logic).
 * The compiler walks dimensions in a fixed order; at each node it
 * substitutes every region of one dimension into the live rules, drops the
 * rules that became false and stops at the first that became true.  Lists of
 * live rules are memoized, formulas and nodes are hash-consed, so equal
 * subtrees are built once.  Must never produce a tree that disagrees with
 * eval.c, and never grow past TREE_MAX_SLOTS.
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
	uint32_t a, b;       /* children, or (atom dim, offset of its set) */
	uint32_t lo;         /* lowest dimension the formula tests */
	uint64_t mask;       /* bit (d % 64) for each dimension it depends on */
};

struct compiler {
	const struct program *p;
	struct tree *t;
	struct fnode *f;
	size_t nf, capf;
	struct hmap fcons;
	uint64_t *words;     /* region sets of atoms */
	size_t nw, capw;
	struct hmap build_memo;
	struct hmap node_cons;
	size_t cap_nodes, cap_slots;
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

/* Order: text and number dimensions by how many rules test them (most
 * first, ties in file order); each pattern right after its field's text
 * dimension when there is one.  Returns the new order (old index per new
 * position). */
static size_t *dims_order(const struct dimset *s)
{
	size_t *base = xcalloc(s->n, sizeof(size_t)), nb = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].kind != DIM_PATTERN || s->field_text[s->v[i].field_id] < 0)
			base[nb++] = i;
	/* insertion sort: n is small */
	for (size_t i = 1; i < nb; i++) {
		size_t x = base[i], j = i;
		while (j > 0 && (s->count[base[j - 1]] < s->count[x] ||
		                 (s->count[base[j - 1]] == s->count[x] &&
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

static size_t set_words(const struct dim *d)
{
	return (d->n_regions + 63) / 64;
}

static bool set_has(const uint64_t *set, uint32_t r)
{
	return set[r / 64] >> (r % 64) & 1;
}

/* An atom "dim is in set"; TRUE or FALSE when the set is full or empty. */
static uint32_t f_atom(struct compiler *c, uint32_t dim, const uint64_t *set)
{
	const struct dim *d = &c->t->dims[dim];
	size_t nw = set_words(d);
	uint32_t in = 0;
	for (uint32_t r = 0; r < d->n_regions; r++)
		in += set_has(set, r);
	if (in == 0)
		return F_FALSE;
	if (in == d->n_regions)
		return F_TRUE;
	/* the set's words are part of the key, so equal atoms are one node */
	struct buf key = {0};
	buf_add(&key, &dim, sizeof dim);
	buf_add(&key, set, nw * sizeof(uint64_t));
	uint32_t id;
	if (hmap_get(&c->fcons, key.data, key.len, &id)) {
		buf_free(&key);
		return id;
	}
	c->words = xgrow(c->words, &c->capw, c->nw + nw, sizeof(uint64_t));
	memcpy(c->words + c->nw, set, nw * sizeof(uint64_t));
	uint64_t mask = 1ull << (dim % 64);
	if (d->kind == DIM_PATTERN && d->text_dim >= 0)
		mask |= 1ull << ((uint32_t)d->text_dim % 64);
	struct fnode fn = { FK_ATOM, dim, (uint32_t)c->nw, dim, mask };
	c->nw += nw;
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
	return f_add(c, (struct fnode){ FK_AND, a, b, lo, c->f[a].mask | c->f[b].mask });
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
	return f_add(c, (struct fnode){ FK_OR, a, b, lo, c->f[a].mask | c->f[b].mask });
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
	size_t nw = set_words(d);
	uint64_t *set = xcalloc(nw, sizeof(uint64_t));
	bool negate = neg;
#define SET(r) (set[(r) / 64] |= 1ull << ((r) % 64))
	if (pattern) {
		SET(1u);
	} else if (cd->kind == C_OWNED || cd->kind == C_PERSONAL ||
	           cd->kind == C_PRESENT) {
		for (uint32_t r = 0; r + 1 < d->n_regions; r++)
			SET(r);      /* every region but missing */
		if (cd->kind == C_PRESENT && cd->negated)
			negate = !negate;
	} else if (d->kind == DIM_TEXT) {
		for (size_t i = 0; i < cd->n_vals; i++)
			SET((uint32_t)text_index(d, cd->vals[i].norm));
		if (cd->kind == C_CMP && cd->op == OP_NE)
			negate = !negate;
		if (cd->kind == C_IN && cd->negated)
			negate = !negate;
	} else {
		uint32_t k = (uint32_t)d->n_points;
		if (cd->kind == C_IN || cd->op == OP_EQ || cd->op == OP_NE) {
			for (size_t i = 0; i < cd->n_vals; i++)
				SET(2 * (uint32_t)point_index(d, cd->vals[i].num) + 1);
			if ((cd->kind == C_CMP && cd->op == OP_NE) || (cd->kind == C_IN && cd->negated))
				negate = !negate;
		} else {
			uint32_t i = (uint32_t)point_index(d, cd->vals[0].num);
			uint32_t from = 0, to = 0;   /* inclusive region range */
			switch (cd->op) {
			case OP_LT: from = 0; to = 2 * i; break;
			case OP_LE: from = 0; to = 2 * i + 1; break;
			case OP_GT: from = 2 * i + 2; to = 2 * k; break;
			case OP_GE: from = 2 * i + 1; to = 2 * k; break;
			default: break;
			}
			for (uint32_t r = from; r <= to; r++)
				SET(r);
		}
	}
#undef SET
	if (negate) {
		for (size_t w = 0; w < nw; w++)
			set[w] = ~set[w];
		if (d->n_regions % 64)
			set[nw - 1] &= (1ull << (d->n_regions % 64)) - 1;
	}
	uint32_t id = f_atom(c, dim, set);
	free(set);
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
		const uint64_t *set = c->words + fn->b;
		if (fn->a == i)
			return set_has(set, r) ? F_TRUE : F_FALSE;
		if (d->kind == DIM_PATTERN && d->text_dim == (int)i) {
			const struct dim *td = &c->t->dims[i];
			if (r == text_missing(td))
				return set_has(set, 0) ? F_TRUE : F_FALSE;
			if (r < td->n_consts) {
				bool hit = pattern_test(d->pat_kind, d->pat, d->re, td->consts[r]);
				return set_has(set, hit) ? F_TRUE : F_FALSE;
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

static uint32_t node_cons(struct compiler *c, uint32_t dim, const uint32_t *slots, uint32_t n)
{
	struct buf key = {0};
	buf_add(&key, &dim, sizeof dim);
	buf_add(&key, slots, n * sizeof(uint32_t));
	uint32_t id;
	if (hmap_get(&c->node_cons, key.data, key.len, &id)) {
		buf_free(&key);
		return id;
	}
	struct tree *t = c->t;
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
	t->nodes[id] = (struct tree_node){ dim, (uint32_t)t->n_slots };
	memcpy(t->slots + t->n_slots, slots, n * sizeof(uint32_t));
	t->n_slots += n;
	hmap_put(&c->node_cons, key.data, key.len, id);
	buf_free(&key);
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
	bool same = true;
	for (uint32_t r = 0; r < R; r++) {
		size_t m = 0;
		for (size_t k = 0; k < n; k++) {
			uint32_t g = f_subst(c, L[k].f, i, r);
			if (g == F_FALSE)
				continue;
			next[m++] = (struct live){ L[k].rule, g };
			if (g == F_TRUE)
				break;
		}
		slots[r] = build(c, next, m);
		if (slots[r] != slots[0])
			same = false;
	}
	uint32_t result = same ? slots[0] : node_cons(c, i, slots, R);
	free(next);
	free(slots);
	hmap_put(&c->build_memo, L, n * sizeof *L, result);
	return result;
}

struct tree *tree_compile(const struct program *p, char *err, size_t errlen)
{
	struct tree *t = xcalloc(1, sizeof *t);
	t->prog = p;
	struct dimset s = {0};
	s.field_text = xmalloc(p->n_fields * sizeof(int));
	s.field_num = xmalloc(p->n_fields * sizeof(int));
	for (size_t i = 0; i < p->n_fields; i++)
		s.field_text[i] = s.field_num[i] = -1;
	struct hmap patterns;
	hmap_init(&patterns);
	for (size_t r = 0; r < p->n_rules; r++)
		dims_collect(&s, p, p->rules[r].cond, r, &patterns);
	bool ok = s.n <= TREE_MAX_DIMS;
	if (!ok)
		snprintf(err, errlen, "decision tree too large: %zu distinct tests (at most %u)",
		         s.n, TREE_MAX_DIMS);

	/* put the dimensions in their final order and renumber */
	size_t *order = dims_order(&s);
	size_t *new_of = xcalloc(s.n ? s.n : 1, sizeof(size_t));
	for (size_t i = 0; i < s.n; i++)
		new_of[order[i]] = i;
	t->n_dims = s.n;
	t->dims = xcalloc(s.n ? s.n : 1, sizeof *t->dims);
	for (size_t i = 0; i < s.n; i++)
		t->dims[i] = s.v[order[i]];
	int *dim_of_text = xmalloc(p->n_fields * sizeof(int));
	int *dim_of_num = xmalloc(p->n_fields * sizeof(int));
	for (size_t i = 0; i < p->n_fields; i++) {
		dim_of_text[i] = s.field_text[i] < 0 ? -1 : (int)new_of[s.field_text[i]];
		dim_of_num[i] = s.field_num[i] < 0 ? -1 : (int)new_of[s.field_num[i]];
	}
	for (size_t i = 0; i < s.n; i++) {
		struct dim *d = &t->dims[i];
		if (d->kind == DIM_PATTERN)
			d->text_dim = dim_of_text[d->field_id];
		dim_finish(d);
	}
	/* pattern dims are found by key; point the keys at the new numbers */
	for (size_t i = 0; i <= patterns.mask; i++)
		if (patterns.slots[i].key)
			patterns.slots[i].value = (uint32_t)new_of[patterns.slots[i].value];

	struct compiler c = { .p = p, .t = t, .err = err, .errlen = errlen };
	hmap_init(&c.fcons);
	hmap_init(&c.build_memo);
	hmap_init(&c.node_cons);
	c.f = xgrow(NULL, &c.capf, 2, sizeof *c.f);
	c.f[0] = (struct fnode){ FK_CONST, 0, 0, LO_NONE, 0 };
	c.f[1] = (struct fnode){ FK_CONST, 1, 0, LO_NONE, 0 };
	c.nf = 2;
	if (ok) {
		struct live *L = xcalloc(p->n_rules ? p->n_rules : 1, sizeof *L);
		size_t n = 0;
		for (size_t r = 0; r < p->n_rules; r++) {
			uint32_t f = f_cond(&c, dim_of_text, dim_of_num, &patterns, p->rules[r].cond, false);
			if (f == F_FALSE)
				continue;
			L[n++] = (struct live){ (uint32_t)r, f };
			if (f == F_TRUE)
				break;
		}
		t->root = build(&c, L, n);
		free(L);
		ok = !c.failed;
	}
	hmap_free(&c.fcons);
	hmap_free(&c.build_memo);
	hmap_free(&c.node_cons);
	free(c.f);
	free(c.words);
	hmap_free(&patterns);
	free(order);
	free(new_of);
	free(dim_of_text);
	free(dim_of_num);
	free(s.v);
	free(s.field_text);
	free(s.field_num);
	free(s.count);
	free(s.first);
	free(s.last_rule);
	free(s.cap_consts);
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
	free(t);
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
		s = t->slots[nd->first + dim_region(t, &t->dims[nd->dim], facts)];
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
	for (uint32_t r = 0; r < d->n_regions && !w->stop; r++) {
		w->path[nd->dim] = r;
		walk(w, w->t->slots[nd->first + r]);
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
	const struct dim *d = &t->dims[nd->dim];
	fprintf(out, "node %u:\n", s);
	/* group regions that lead to the same child */
	for (uint32_t r = 0; r < d->n_regions; r++) {
		uint32_t child = t->slots[nd->first + r];
		bool first = true;
		for (uint32_t q = 0; q < r; q++)
			if (t->slots[nd->first + q] == child)
				first = false;
		if (!first)
			continue;
		fprintf(out, "%*s", depth * 2 + 2, "");
		for (uint32_t q = r; q < d->n_regions; q++) {
			if (t->slots[nd->first + q] != child)
				continue;
			char desc[300];
			dim_region_describe(t, nd->dim, q, desc, sizeof desc);
			fprintf(out, "%s%s", q == r ? "" : " | ", desc);
		}
		fprintf(out, ": ");
		print_slot(t, out, child, depth + 1, done);
	}
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
		const struct dim *d = &t->dims[nd->dim];
		for (uint32_t r = 0; r < d->n_regions; r++) {
			uint32_t child = t->slots[nd->first + r];
			bool first = true;
			for (uint32_t q = 0; q < r; q++)
				if (t->slots[nd->first + q] == child)
					first = false;
			if (!first)
				continue;
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
			for (uint32_t q = r, k = 0; q < d->n_regions; q++) {
				if (t->slots[nd->first + q] != child)
					continue;
				char desc[300];
				dim_region_describe(t, nd->dim, q, desc, sizeof desc);
				if (k++)
					fprintf(out, "\\n");
				dot_escape(out, desc);
			}
			fprintf(out, "\"];\n");
		}
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
