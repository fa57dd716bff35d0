/* lint - what the decision tree proves about a checked program.
 *
 *   unreachable-rule   a rule no lead can reach first; the note names the
 *                      earlier rule(s) that together take all its leads
 *                      (error when they route elsewhere, warning when they
 *                      route to the same place)
 *   unsatisfiable      a condition no lead can meet (country = US and
 *                      country = CA)
 *   no-match           without `otherwise`, leads that match no rule exist:
 *                      an error with a concrete example lead
 *   owner-not-guaranteed  a rule sends to the account owner where `domain
 *                      owned` does not hold for every lead it gets
 *   expect-failed      an `expect` case that routes elsewhere
 * It also builds example leads ("witnesses") for any path in the tree, used
 * by --diff and by the messages above.  Never prints; reports to diags.
 */
#ifndef LR_LINT_H
#define LR_LINT_H

#include <stdbool.h>
#include <stdint.h>

#include "lead/lead.h"
#include "rules/ast.h"
#include "rules/diag.h"
#include "rules/route.h"
#include "rules/tree.h"

struct lint_result {
	bool *rule_reached_by_case;   /* per rule: some expect case reached it; owned */
	size_t cases_passed, cases_failed;
};

void lint_program(const struct program *p, const struct tree *t, const struct source *src,
                  const struct lead_env *env, struct diags *d, struct lint_result *res);
void lint_result_free(struct lint_result *res);

/* Build an example lead for a path (path[i]: region of dimension i or
 * UINT32_MAX) and check it really lands on `rule` (TREE_NO_RULE for none).
 * Returns true and fills out (a JSON object text, caller frees) when it
 * could; false when the path holds tests it cannot satisfy by example. */
bool lint_witness(const struct tree *t, const uint32_t *path, uint32_t rule,
                  const struct lead_env *env, char **out);

/* One more tree an example must land right in (lint_witness_targets). */
struct lint_target {
	const struct tree *t;    /* a one-program tree; the example is normalized
	                          * for t->prog */
	uint32_t rule;           /* the rule it must reach there, or TREE_NO_RULE */
	struct route route;      /* filled: the example's resolved route there
	                          * (owner left NULL: it would outlive its facts) */
};

/* lint_witness for a tree over several programs (tree_compile_pair): build
 * an example for path that lands on `leaf` in t, then route the example as
 * printed (parsed back from its JSON) through every target's own tree and
 * check that it reaches the target's rule, without normalization errors.
 * Returns true and fills out (caller frees) and every target's route only
 * when all of that holds. */
bool lint_witness_targets(const struct tree *t, const uint32_t *path, uint32_t leaf,
                          struct lint_target *targets, size_t n,
                          const struct lead_env *env, char **out);

/* Run one case (a raw lead) and return the rule it matches, or
 * TREE_NO_RULE; errs gets normalization problems.  */
uint32_t lint_route_lead(const struct program *p, const struct tree *t,
                         const struct lead *l, const struct lead_env *env,
                         struct lead_facts *lf, struct lead_errors *errs);

#endif
