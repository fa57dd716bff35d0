/* ruleset - one .routes file read, parsed, checked, compiled and linted.
 *
 * The unit the handler swaps on reload and routec works on.  A ruleset owns
 * its source, program and tree; ruleset_free releases all three.  Loading
 * reports every problem to d and never returns a ruleset whose file has
 * errors (warnings are fine).
 */
#ifndef LR_RULESET_H
#define LR_RULESET_H

#include <stdbool.h>

#include "lead/lead.h"
#include "rules/ast.h"
#include "rules/diag.h"
#include "rules/lint.h"
#include "rules/source.h"
#include "rules/tree.h"

struct ruleset {
	struct source *src;
	struct program *prog;
	struct tree *tree;
	struct lint_result lint;
};

enum ruleset_stage { RS_READ, RS_PARSED, RS_CHECKED, RS_COMPILED, RS_LINTED };

/* Read path and take it as far as it goes without errors.  Returns the
 * ruleset (caller frees) when the file has no errors; otherwise NULL, with
 * the diagnostics in d.  When keep is non-NULL, a failed load still hands
 * back what was built (for routec, which prints the source lines). */
struct ruleset *ruleset_load(const char *path, const struct lead_env *env, bool lint,
                             struct diags *d, struct ruleset **keep);
/* The same from memory (fuzzing, tests). */
struct ruleset *ruleset_load_mem(const char *name, const char *text, size_t len,
                                 const struct lead_env *env, bool lint, struct diags *d,
                                 struct ruleset **keep);
void ruleset_free(struct ruleset *rs);

#endif
