/* ruleset - the pipeline from a file to a checked, compiled rule tree.
 * Must never hand back a ruleset whose file has errors. */
#include "rules/ruleset.h"

#include <stdlib.h>

#include "rules/check.h"
#include "rules/parse.h"
#include "util/xalloc.h"

static struct ruleset *finish(struct source *src, const struct lead_env *env, bool lint,
                              struct diags *d, struct ruleset **keep)
{
	struct ruleset *rs = xcalloc(1, sizeof *rs);
	rs->src = src;
	size_t errors = d->n_errors;
	rs->prog = routes_parse(src, d);
	bool parsed = d->n_errors == errors;
	rs->prog->parse_failed = !parsed;
	struct check_env cenv = { env->countries, NULL, env->psl };
	check_program(rs->prog, src, &cenv, d);
	if (parsed && rs->prog->conds_ok) {
		char err[512];
		rs->tree = tree_compile(rs->prog, err, sizeof err);
		if (!rs->tree)
			diag_add(d, DIAG_ERROR, src, (struct loc){0}, "tree-too-large",
			         "%s", err);
		else if (lint)
			lint_program(rs->prog, rs->tree, src, env, d, &rs->lint);
	}
	if (d->n_errors != errors) {
		if (keep) {
			*keep = rs;
		} else {
			ruleset_free(rs);
		}
		return NULL;
	}
	if (keep)
		*keep = NULL;
	return rs;
}

struct ruleset *ruleset_load(const char *path, const struct lead_env *env, bool lint,
                             struct diags *d, struct ruleset **keep)
{
	char err[512];
	if (keep)
		*keep = NULL;
	struct source *src = source_read(path, err, sizeof err);
	if (!src) {
		diag_add(d, DIAG_ERROR, NULL, (struct loc){0}, "io", "%s", err);
		return NULL;
	}
	return finish(src, env, lint, d, keep);
}

struct ruleset *ruleset_load_mem(const char *name, const char *text, size_t len,
                                 const struct lead_env *env, bool lint, struct diags *d,
                                 struct ruleset **keep)
{
	if (keep)
		*keep = NULL;
	return finish(source_from_mem(name, text, len), env, lint, d, keep);
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	tree_free(rs->tree);
	program_free(rs->prog);
	lint_result_free(&rs->lint);
	source_free(rs->src);
	free(rs);
}
