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

/* Run one case (a raw lead) and return the rule it matches, or
 * TREE_NO_RULE; errs gets normalization problems.  */
uint32_t lint_route_lead(const struct program *p, const struct tree *t,
                         const struct lead *l, const struct lead_env *env,
                         struct lead_facts *lf, struct lead_errors *errs);

#endif
