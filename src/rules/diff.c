/* diff - placeholder until the differ lands: refuses loudly. */
#include "rules/diff.h"
long diff_rulesets(const struct ruleset *old_rs, const struct ruleset *new_rs,
                   const struct lead_env *env, enum diag_format format, FILE *out,
                   char *err, size_t errlen)
{
	(void)old_rs; (void)new_rs; (void)env; (void)format; (void)out;
	snprintf(err, errlen, "--diff is not built yet");
	return -1;
}
