/* check - names, types and constants of a parsed program.
 *
 * Resolves every field and queue name (with a did-you-mean when unknown),
 * checks each comparison against its field's type, normalizes constants the
 * way lead values are normalized (country names to alpha-2, text to lower
 * case), compiles `matches` patterns, validates members, scheduler URLs and
 * time zones, and finds duplicate declarations and fallback cycles.  Lints
 * that need the decision tree (unreachable rules, gaps, expect cases) are in
 * lint.h.  Reports to d; never prints.
 */
#ifndef LR_CHECK_H
#define LR_CHECK_H

#include <stdbool.h>

#include <libpsl.h>

#include "lead/country.h"
#include "rules/ast.h"
#include "rules/diag.h"

struct check_env {
	const struct country_db *countries;  /* required */
	const char *zoneinfo;                /* NULL: the configured directory */
	const psl_ctx_t *psl;                /* NULL: domain constants are not checked */
};

/* Returns true when it added no error to d; sets p->checked then. */
bool check_program(struct program *p, const struct source *src,
                   const struct check_env *env, struct diags *d);

/* Normalize one constant for a field of type t (used for `expect` values
 * and by tests).  Returns false and fills err when the value does not fit. */
bool check_value(const struct field *f, struct value *v,
                 const struct check_env *env, char *err, size_t errlen);

#endif
