/* ast - building and freeing the program of a .routes file.
 *
 * Holds the table of built-in fields (their order is enum builtin_field) and
 * the built-in queue account_owner.  Never checks meaning: see check.c.
 */
#include "rules/ast.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static const char *const intent_values[] = { "demo", "contact", "support", "pricing", "partner" };

static const struct { const char *name; enum field_type type; } builtins[F_N_BUILTIN] = {
	[F_EMAIL] = { "email", FT_TEXT },
	[F_DOMAIN] = { "domain", FT_TEXT },
	[F_FIRST_NAME] = { "first_name", FT_TEXT },
	[F_LAST_NAME] = { "last_name", FT_TEXT },
	[F_COMPANY] = { "company", FT_TEXT },
	[F_COUNTRY] = { "country", FT_COUNTRY },
	[F_REGION] = { "region", FT_TEXT },
	[F_EMPLOYEES] = { "employees", FT_NUMBER },
	[F_REVENUE] = { "revenue", FT_NUMBER },
	[F_PRODUCT] = { "product", FT_TEXT },
	[F_INTENT] = { "intent", FT_ENUM },
	[F_SOURCE] = { "source", FT_TEXT },
	[F_UTM_SOURCE] = { "utm_source", FT_TEXT },
	[F_UTM_MEDIUM] = { "utm_medium", FT_TEXT },
	[F_UTM_CAMPAIGN] = { "utm_campaign", FT_TEXT },
	[F_MESSAGE] = { "message", FT_TEXT },
	[F_WEBSITE] = { "website", FT_TEXT },
	[F_ACCOUNT_OWNER] = { "account.owner", FT_TEXT },
	[F_ACCOUNT_LIFECYCLE] = { "account.lifecycle", FT_TEXT },
	[F_ACCOUNT_TIER] = { "account.tier", FT_TEXT },
	/* a name no rule can write: only `email personal` reaches it */
	[F_EMAIL_PERSONAL] = { "email personal", FT_BOOL },
};

struct program *program_new(void)
{
	struct program *p = xcalloc(1, sizeof *p);
	for (int i = 0; i < F_N_BUILTIN; i++) {
		struct field *f = program_add_field(p);
		f->name = xstrdup(builtins[i].name);
		f->type = builtins[i].type;
		f->builtin = true;
		if (i == F_INTENT) {
			f->n_enum = sizeof intent_values / sizeof intent_values[0];
			f->enum_values = xcalloc(f->n_enum, sizeof(char *));
			for (size_t k = 0; k < f->n_enum; k++)
				f->enum_values[k] = xstrdup(intent_values[k]);
		}
	}
	struct queue *q = program_add_queue(p);
	q->name = xstrdup("account_owner");
	q->dist = D_OWNER;
	q->builtin = true;
	q->fallback_id = -1;
	p->owner_fallback_id = -1;
	return p;
}

void value_free(struct value *v)
{
	free(v->text);
	free(v->norm);
	v->text = v->norm = NULL;
}

void kv_free(struct kv *kv)
{
	free(kv->key);
	kv->key = NULL;
	value_free(&kv->val);
}

void action_free(struct action *a)
{
	free(a->queue);
	free(a->page);
	for (size_t i = 0; i < a->n_tags; i++)
		free(a->tags[i]);
	free(a->tags);
	memset(a, 0, sizeof *a);
}

struct cond *cond_new(enum cond_kind kind, struct loc loc)
{
	struct cond *c = xcalloc(1, sizeof *c);
	c->kind = kind;
	c->loc = loc;
	c->field_id = -1;
	return c;
}

void cond_free(struct cond *c)
{
	if (!c)
		return;
	cond_free(c->a);
	cond_free(c->b);
	free(c->field);
	if (c->kind != C_AND && c->kind != C_OR && c->kind != C_NOT) {
		for (size_t i = 0; i < c->n_vals; i++)
			value_free(&c->vals[i]);
	}
	free(c->vals);
	if (c->re) {
		regfree(c->re);
		free(c->re);
	}
	free(c);
}

void program_free(struct program *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_fields; i++) {
		struct field *f = &p->fields[i];
		free(f->name);
		for (size_t k = 0; k < f->n_enum; k++)
			free(f->enum_values[k]);
		free(f->enum_values);
	}
	free(p->fields);
	for (size_t i = 0; i < p->n_queues; i++) {
		struct queue *q = &p->queues[i];
		free(q->name);
		for (size_t k = 0; k < q->n_members; k++) {
			free(q->members[k].who);
			free(q->members[k].scheduler);
		}
		free(q->members);
		free(q->hours.tz);
		free(q->fallback);
	}
	free(p->queues);
	for (size_t i = 0; i < p->n_rules; i++) {
		cond_free(p->rules[i].cond);
		action_free(&p->rules[i].act);
	}
	free(p->rules);
	for (size_t i = 0; i < p->n_expects; i++) {
		struct expect *e = &p->expects[i];
		for (size_t k = 0; k < e->n_kvs; k++)
			kv_free(&e->kvs[k]);
		free(e->kvs);
		free(e->queue);
	}
	free(p->expects);
	free(p->owner_fallback);
	for (size_t i = 0; i < p->n_comments; i++)
		free(p->comments[i].text);
	free(p->comments);
	free(p);
}

struct field *program_add_field(struct program *p)
{
	p->fields = xgrow(p->fields, &p->cap_fields, p->n_fields + 1, sizeof *p->fields);
	struct field *f = &p->fields[p->n_fields++];
	memset(f, 0, sizeof *f);
	return f;
}

struct queue *program_add_queue(struct program *p)
{
	p->queues = xgrow(p->queues, &p->cap_queues, p->n_queues + 1, sizeof *p->queues);
	struct queue *q = &p->queues[p->n_queues++];
	memset(q, 0, sizeof *q);
	q->fallback_id = -1;
	return q;
}

struct rule *program_add_rule(struct program *p)
{
	p->rules = xgrow(p->rules, &p->cap_rules, p->n_rules + 1, sizeof *p->rules);
	struct rule *r = &p->rules[p->n_rules++];
	memset(r, 0, sizeof *r);
	r->act.queue_id = -1;
	return r;
}

struct expect *program_add_expect(struct program *p)
{
	p->expects = xgrow(p->expects, &p->cap_expects, p->n_expects + 1, sizeof *p->expects);
	struct expect *e = &p->expects[p->n_expects++];
	memset(e, 0, sizeof *e);
	return e;
}

int program_find_field(const struct program *p, const char *name)
{
	for (size_t i = 0; i < p->n_fields; i++)
		if (strcmp(p->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

int program_find_queue(const struct program *p, const char *name)
{
	for (size_t i = 0; i < p->n_queues; i++)
		if (strcmp(p->queues[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *field_type_name(enum field_type t)
{
	switch (t) {
	case FT_TEXT: return "text";
	case FT_NUMBER: return "number";
	case FT_ENUM: return "enum";
	case FT_COUNTRY: return "country";
	case FT_BOOL: return "predicate";
	}
	return "?";
}

const char *cmp_op_name(enum cmp_op op)
{
	static const char *const names[] = { "=", "!=", "<", "<=", ">", ">=" };
	return names[op];
}

struct loc loc_join(struct loc a, struct loc b)
{
	return (struct loc){ a.line, a.col, b.end_line, b.end_col };
}
