/* parse - turn a .routes source into a program (grammar/routes.y).
 *
 * routes_parse never stops at the first error: it reports every syntax error
 * it can recover from to d, and returns the program built from the
 * statements that parsed (never NULL).  The caller owns the program and must
 * not trust it until d has no errors and check_program has run.  The
 * program holds copies: src may be freed after (diagnostics still point into
 * it, so keep src alive as long as d).
 */
#ifndef LR_PARSE_H
#define LR_PARSE_H

#include "rules/ast.h"
#include "rules/diag.h"

struct program *routes_parse(const struct source *src, struct diags *d);

#endif
