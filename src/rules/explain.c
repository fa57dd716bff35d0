/* explain - a traced evaluation for people: which rule, and why not the
 * others.  Must agree with eval.c on every lead; never used by the handler's
 * routing path. */
#include "rules/explain.h"

#include <stdlib.h>
#include <string.h>

#include "rules/eval.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* The source text of a span on one line (or its first line). */
static void span_text(const struct source *src, struct loc loc, struct buf *out)
{
	size_t len;
	const char *line = source_line(src, loc.line, &len);
	if (!line) {
		buf_adds(out, "?");
		return;
	}
	size_t from = (size_t)(loc.col - 1);
	size_t to = loc.end_line == loc.line ? (size_t)(loc.end_col - 1) : len;
	if (from > len)
		from = len;
	if (to > len)
		to = len;
	if (to < from)
		to = from;
	buf_add(out, line + from, to - from);
}

/* The smallest failing part of a false condition: for `and`, the first false
 * side; for `or`, the whole (both sides failed); for a predicate, itself. */
static const struct cond *why_false(const struct cond *c, const struct facts *f)
{
	if (c->kind == C_AND)
		return !cond_eval(c->a, f) ? why_false(c->a, f) : why_false(c->b, f);
	return c;
}

static void value_of(const struct program *p, const struct cond *c, const struct facts *f,
                     struct buf *out)
{
	if (c->field_id < 0 || c->kind == C_AND || c->kind == C_OR || c->kind == C_NOT)
		return;
	const struct fact *v = &f->v[c->field_id];
	const char *name = c->kind == C_OWNED ? "account.owner"
	                 : c->kind == C_PERSONAL ? "email" : p->fields[c->field_id].name;
	if (c->kind == C_PERSONAL) {
		buf_printf(out, "email is %s", v->present ? "free-mail" : "not free-mail");
		return;
	}
	if (!v->present)
		buf_printf(out, "%s is missing", name);
	else
		buf_printf(out, "%s is '%s'", name, v->text);
}

uint32_t explain_text(const struct program *p, const struct source *src,
                      const struct facts *facts, FILE *out)
{
	uint32_t winner = UINT32_MAX;
	struct buf b = {0};
	for (size_t i = 0; i < p->n_rules && winner == UINT32_MAX; i++) {
		const struct rule *r = &p->rules[i];
		buf_reset(&b);
		if (r->otherwise)
			buf_adds(&b, "otherwise");
		else
			span_text(src, r->cond->loc, &b);
		bool ok = cond_eval(r->cond, facts);
		fprintf(out, "  %s line %-4d %s\n", ok ? "+" : "-", r->loc.line, buf_str(&b));
		if (ok) {
			winner = (uint32_t)i;
			break;
		}
		const struct cond *w = why_false(r->cond, facts);
		buf_reset(&b);
		span_text(src, w->loc, &b);
		fprintf(out, "             no: %s", buf_str(&b));
		buf_reset(&b);
		value_of(p, w, facts, &b);
		if (b.len)
			fprintf(out, " (%s)", buf_str(&b));
		fprintf(out, "\n");
	}
	buf_free(&b);
	return winner;
}

struct json_object *explain_json(const struct program *p, const struct source *src,
                                 const struct facts *facts, uint32_t *winner)
{
	struct json_object *o = json_object_new_object(), *rules = json_object_new_array();
	struct buf b = {0};
	*winner = UINT32_MAX;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "line", json_object_new_int(r->loc.line));
		buf_reset(&b);
		if (r->otherwise)
			buf_adds(&b, "otherwise");
		else
			span_text(src, r->cond->loc, &b);
		json_object_object_add(e, "condition", json_object_new_string(buf_str(&b)));
		bool ok = cond_eval(r->cond, facts);
		json_object_object_add(e, "matched", json_object_new_boolean(ok));
		if (!ok) {
			const struct cond *w = why_false(r->cond, facts);
			buf_reset(&b);
			span_text(src, w->loc, &b);
			json_object_object_add(e, "failed", json_object_new_string(buf_str(&b)));
			buf_reset(&b);
			value_of(p, w, facts, &b);
			if (b.len)
				json_object_object_add(e, "value", json_object_new_string(buf_str(&b)));
		}
		json_object_array_add(rules, e);
		if (ok) {
			*winner = (uint32_t)i;
			break;
		}
	}
	buf_free(&b);
	json_object_object_add(o, "rules", rules);
	return o;
}
