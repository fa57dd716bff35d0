/* eval - the meaning of conditions, evaluated directly on the AST.
 * Must stay the plain, obviously-right definition: no caching, no tricks. */
#include "rules/eval.h"

#include <string.h>

bool pattern_test(enum cond_kind kind, const char *pat, const regex_t *re, const char *text)
{
	size_t tl = strlen(text), pl = strlen(pat);
	switch (kind) {
	case C_ENDS:
		return tl >= pl && memcmp(text + tl - pl, pat, pl) == 0;
	case C_STARTS:
		return tl >= pl && memcmp(text, pat, pl) == 0;
	case C_CONTAINS:
		return strstr(text, pat) != NULL;
	case C_MATCHES:
		return re && regexec(re, text, 0, NULL, 0) == 0;
	default:
		return false;
	}
}

static bool value_equals(const struct fact *f, const struct value *v, bool numeric)
{
	if (numeric)
		return f->num == v->num;
	return strcmp(f->text, v->norm) == 0;
}

bool cond_eval(const struct cond *c, const struct facts *facts)
{
	switch (c->kind) {
	case C_TRUE:
		return true;
	case C_AND:
		return cond_eval(c->a, facts) && cond_eval(c->b, facts);
	case C_OR:
		return cond_eval(c->a, facts) || cond_eval(c->b, facts);
	case C_NOT:
		return !cond_eval(c->a, facts);
	default:
		break;
	}
	const struct fact *f = &facts->v[c->field_id];
	bool numeric = c->kind != C_OWNED && c->kind != C_PERSONAL && c->vals &&
	               c->vals[0].kind == V_NUMBER && !c->vals[0].norm;
	switch (c->kind) {
	case C_OWNED:
	case C_PERSONAL:
		return f->present;
	case C_PRESENT:
		return f->present != c->negated;
	case C_CMP: {
		bool r;
		if (!f->present) {
			r = false;
		} else if (c->op == OP_EQ || c->op == OP_NE) {
			r = value_equals(f, &c->vals[0], numeric);
		} else {
			double a = f->num, b = c->vals[0].num;
			r = c->op == OP_LT ? a < b : c->op == OP_LE ? a <= b
			  : c->op == OP_GT ? a > b : a >= b;
		}
		return c->op == OP_NE ? !r : r;
	}
	case C_IN: {
		bool r = false;
		for (size_t i = 0; f->present && i < c->n_vals && !r; i++)
			r = value_equals(f, &c->vals[i], numeric);
		return r != c->negated;
	}
	case C_ENDS: case C_STARTS: case C_CONTAINS: case C_MATCHES:
		return f->present && pattern_test(c->kind, c->vals[0].norm, c->re, f->text);
	default:
		return false;
	}
}

uint32_t oracle_eval(const struct program *p, const struct facts *facts)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (cond_eval(p->rules[i].cond, facts))
			return (uint32_t)i;
	return UINT32_MAX;
}
