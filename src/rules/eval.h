/* eval - the sequential evaluator: rules tried in file order on the AST.
 *
 * This is the definition of what a rule means.  The decision tree must
 * agree with it on every lead (tests/unit/test_tree_oracle.c checks that on
 * random programs and leads); the tree is what the handler runs, this is
 * the test oracle and the engine of `routec --explain`.  Allocates nothing.
 */
#ifndef LR_EVAL_H
#define LR_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "rules/ast.h"
#include "rules/facts.h"

/* Whether c holds for these facts (the program must be checked). */
bool cond_eval(const struct cond *c, const struct facts *facts);
/* Index of the first rule whose condition holds, or UINT32_MAX. */
uint32_t oracle_eval(const struct program *p, const struct facts *facts);
/* Whether a normalized text value passes an ends/starts/contains/matches
 * test with the normalized literal pat (or the compiled re). */
bool pattern_test(enum cond_kind kind, const char *pat, const regex_t *re, const char *text);

#endif
