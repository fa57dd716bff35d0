/* tree - the compiled decision tree of a checked program.
 *
 * Compilation partitions each field's values into regions from the
 * constants the rules use: text, enum and country fields get one region per
 * constant plus `other` and `missing`; numbers get the constants as points,
 * the open intervals between them, and `missing`; each `ends with`,
 * `starts with`, `contains` and `matches` test is a dimension of its own
 * (false/true).  A node switches on one dimension; dimensions are in a fixed
 * order, so a lead's path reads each field at most once whatever the number
 * of rules.  Identical subtrees are shared (the tree is a DAG), and a tree
 * over TREE_MAX_SLOTS child slots is refused with a clear error.
 *
 * A leaf holds the index of the first rule that matches every lead reaching
 * it, or TREE_NO_RULE.  The tree owns everything it points to except the
 * program, which must outlive it (patterns are borrowed from it).
 * tree_eval allocates nothing and is safe to call from many threads.
 */
#ifndef LR_TREE_H
#define LR_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules/ast.h"
#include "rules/facts.h"

#define TREE_NO_RULE UINT32_MAX
#define TREE_MAX_SLOTS (8u * 1024u * 1024u)   /* child slots in all nodes */
#define TREE_MAX_WORK (256ull * 1024u * 1024u) /* rule visits while compiling (a 10,000-rule file takes ~67M) */

enum dim_kind {
	DIM_TEXT,      /* regions: consts[0..n-1], other (unless closed), missing */
	DIM_NUMBER,    /* regions: (-inf,p0) [p0] (p0,p1) ... (pk-1,inf), missing */
	DIM_PATTERN,   /* regions: 0 false, 1 true; a missing value is false */
};

struct dim {
	enum dim_kind kind;
	int field_id;
	/* DIM_TEXT */
	char **consts;             /* sorted, normalized; owned */
	size_t n_consts;
	bool closed;               /* no `other` region (enum, boolean) */
	uint32_t *hash_slots;      /* open addressing into consts; owned */
	size_t hash_mask;
	/* DIM_NUMBER */
	double *points;            /* sorted, distinct; owned */
	size_t n_points;
	/* DIM_PATTERN */
	enum cond_kind pat_kind;   /* C_ENDS, C_STARTS, C_CONTAINS, C_MATCHES */
	char *pat;                 /* normalized literal or the pattern; owned */
	const regex_t *re;         /* C_MATCHES: borrowed from the program */
	int text_dim;              /* the DIM_TEXT of the same field, or -1 */
	uint32_t n_regions;
};

/* A node switches on dims[dim].  Its children are stored in slots from
 * `first`, either as one slot per region (n_runs 0), or, when most regions
 * share children (a threshold among thousands of points, one constant among
 * thousands), as n_runs pairs (first region of the run, child) in region
 * order.  Read them with tree_child.  A child is a node index, or
 * TREE_LEAF | rule, or TREE_LEAF_NONE for no rule. */
#define TREE_LEAF 0x80000000u
#define TREE_LEAF_NONE 0xffffffffu

struct tree_node {
	uint32_t dim;
	uint32_t first;
	uint32_t n_runs;
};

struct tree {
	const struct program *prog;  /* borrowed */
	struct dim *dims;
	size_t n_dims;
	struct tree_node *nodes;
	size_t n_nodes;
	uint32_t *slots;
	size_t n_slots;
	uint32_t root;               /* a slot value: node index or leaf */
	/* tree_compile_pair only: leaves index pairs[] instead of rules */
	struct tree_pair *pairs;     /* owned; NULL for a one-program tree */
	size_t n_pairs;
};

/* A leaf of a tree over two programs: the first rule of each that matches
 * every lead reaching it (TREE_NO_RULE when none does). */
struct tree_pair {
	uint32_t a, b;
};

/* Compile a checked program.  Returns NULL and fills err when the tree would
 * be larger than the bound (the message says how far it got and why). */
struct tree *tree_compile(const struct program *p, char *err, size_t errlen);
void tree_free(struct tree *t);

/* Whether two programs' field tables agree: one must be a prefix of the
 * other (same names, types and enum values; the built-ins always agree).
 * Returns -1 when they do, else the index of the first field that differs
 * (an index both tables have). */
long tree_fields_differ(const struct program *a, const struct program *b);

/* Compile the rules of two programs with agreeing fields into one tree
 * over the tests of both.  Its leaves are pairs: tree_eval and tree_walk
 * give an index into t->pairs, where pairs[i].a is the first rule of a and
 * pairs[i].b the first rule of b that match every lead reaching the leaf.
 * t->prog is the program with the longer field table (the field ids of
 * both agree); both programs must outlive the tree.  When a rule of either
 * sends leads to an owner queue (D_OWNER), account.owner is a dimension
 * even if no condition tests it, so the leaves can be split by whether the
 * lead's account has an owner.  Returns NULL and fills err when the fields
 * disagree or the tree would be too large.  tree_print_text and
 * tree_print_dot are for one-program trees only. */
struct tree *tree_compile_pair(const struct program *a, const struct program *b,
                               char *err, size_t errlen);

/* The child of node `node` for region r. */
static inline uint32_t tree_child(const struct tree *t, uint32_t node, uint32_t r)
{
	const struct tree_node *nd = &t->nodes[node];
	if (!nd->n_runs)
		return t->slots[nd->first + r];
	const uint32_t *run = t->slots + nd->first;
	uint32_t lo = 0, hi = nd->n_runs;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (run[2 * mid] <= r)
			lo = mid;
		else
			hi = mid;
	}
	return run[2 * lo + 1];
}

/* The first region after r whose child may differ from r's: r + 1 for a
 * node with one slot per region, the start of the next run otherwise (or
 * the region count).  Walkers use it to visit each run once. */
static inline uint32_t tree_run_end(const struct tree *t, uint32_t node, uint32_t r)
{
	const struct tree_node *nd = &t->nodes[node];
	uint32_t R = t->dims[nd->dim].n_regions;
	if (!nd->n_runs)
		return r + 1;
	const uint32_t *run = t->slots + nd->first;
	uint32_t lo = 0, hi = nd->n_runs;   /* the first run starting after r */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (run[2 * mid] <= r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nd->n_runs ? run[2 * lo] : R;
}

/* The index of the first matching rule for these facts, or TREE_NO_RULE.
 * facts->n must be the program's field count. */
uint32_t tree_eval(const struct tree *t, const struct facts *facts);

/* The region of dimension d that a lead falls in (used by tree_eval, the
 * explainer and the tests). */
uint32_t dim_region(const struct tree *t, const struct dim *d, const struct facts *facts);
/* A human description of a region: "= us", "> 200", "missing", "other". */
void dim_region_describe(const struct tree *t, size_t dim, uint32_t region,
                         char *out, size_t n);

/* Walk every leaf with the path that reaches it: path[i] is the region of
 * dimension i on the path, or UINT32_MAX when the path does not test it.
 * The callback returns false to stop.  Shared subtrees are visited once per
 * path when all_paths, else once (with the first path found). */
typedef bool (*tree_leaf_fn)(void *ctx, uint32_t leaf_rule, const uint32_t *path);
void tree_walk(const struct tree *t, bool all_paths, tree_leaf_fn fn, void *ctx);

/* Print the tree as indented text (routec --tree) or Graphviz (--dot). */
void tree_print_text(const struct tree *t, FILE *out);
void tree_print_dot(const struct tree *t, FILE *out);

size_t tree_node_count(const struct tree *t);
size_t tree_slot_count(const struct tree *t);

#endif
