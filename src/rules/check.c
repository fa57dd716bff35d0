/* check - resolve names and types in a parsed program, normalize constants.
 *
 * Every problem becomes a diagnostic with a stable code and, where a near
 * name exists, a suggestion.  Must never print, and never leave a resolved
 * id pointing at something that does not exist.
 */
#include "rules/check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lead/lead.h"
#include "lead/normalize.h"
#include "lead/tz.h"
#include "util/buf.h"
#include "util/suggest.h"
#include "util/xalloc.h"

struct checker {
	struct program *p;
	const struct source *src;
	const struct check_env *env;
	struct diags *d;
	size_t errors_before;
};

/* "; did you mean 'x'?" or "" */
static void did_you_mean(char *out, size_t n, const char *s)
{
	if (s)
		snprintf(out, n, "; did you mean '%s'?", s);
	else
		out[0] = '\0';
}

static const char *suggest_field(const struct program *p, const char *name)
{
	const char **names = xcalloc(p->n_fields, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < p->n_fields; i++)
		if (i != F_EMAIL_PERSONAL)
			names[n++] = p->fields[i].name;
	const char *s = suggest_best(name, names, n);
	free(names);
	return s;
}

static const char *suggest_queue(const struct program *p, const char *name)
{
	const char **names = xcalloc(p->n_queues, sizeof(char *));
	for (size_t i = 0; i < p->n_queues; i++)
		names[i] = p->queues[i].name;
	const char *s = suggest_best(name, names, p->n_queues);
	free(names);
	return s;
}

static bool is_member_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* A plain address: local@domain.tld, printable ASCII, no spaces or quotes. */
static bool is_email(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 254)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("\"'<>(),;:\\[]", *p))
			return false;
	const char *dot = strrchr(at + 1, '.');
	return dot && dot > at + 1 && dot[1] && !strstr(at + 1, "..");
}

/* An http(s) URL with a host, and nothing that could break out of a
 * Location header or an href. */
static bool is_url(const char *s)
{
	const char *host;
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return false;
	if (strlen(s) > 2000)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("\"'<>\\`{}|^", *p))
			return false;
	size_t hl = strcspn(host, "/?#");
	if (hl == 0 || memchr(host, '@', hl))
		return false;
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)host[i]) && !strchr(".-:[]", host[i]))
			return false;
	return true;
}

static bool is_page_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

bool check_value(const struct field *f, struct value *v, const struct check_env *env,
                 char *err, size_t errlen)
{
	free(v->norm);
	v->norm = NULL;
	switch (f->type) {
	case FT_NUMBER:
		if (v->kind == V_NUMBER)
			return true;
		if (norm_number(v->text, &v->num)) {
			v->kind = V_NUMBER;
			return true;
		}
		snprintf(err, errlen, "'%s' is a number; '%s' is not a number", f->name, v->text);
		return false;
	case FT_COUNTRY: {
		const struct country *c = country_find(env->countries, v->text);
		if (!c) {
			const struct country *s = country_suggest(env->countries, v->text);
			if (s)
				snprintf(err, errlen, "unknown country '%s'; did you mean '%s' (%s)?",
				         v->text, s->alpha2, s->name);
			else
				snprintf(err, errlen, "unknown country '%s'; use an ISO 3166 code "
				         "such as US, or an English name", v->text);
			return false;
		}
		v->norm = xstrdup(c->alpha2);
		return true;
	}
	case FT_ENUM: {
		char *t = norm_text(v->text);
		for (size_t i = 0; i < f->n_enum; i++) {
			if (strcmp(f->enum_values[i], t) == 0) {
				v->norm = t;
				return true;
			}
		}
		const char *s = suggest_best(t, (const char *const *)f->enum_values, f->n_enum);
		struct buf b = {0};
		for (size_t i = 0; i < f->n_enum; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", f->enum_values[i]);
		if (s)
			snprintf(err, errlen, "'%s' is not a value of '%s'; did you mean '%s'?",
			         v->text, f->name, s);
		else
			snprintf(err, errlen, "'%s' is not a value of '%s' (%s)", v->text, f->name,
			         buf_str(&b));
		buf_free(&b);
		free(t);
		return false;
	}
	case FT_TEXT:
		v->norm = norm_text(v->text);
		if (f->builtin && strcmp(f->name, "domain") == 0 && env->psl && v->norm[0]) {
			/* a lead's domain is always a registrable domain, so a rule
			 * naming anything else could never match */
			char *reg = lead_registrable_domain(env->psl, v->norm);
			bool same = reg && strcmp(reg, v->norm) == 0;
			if (!same) {
				if (reg)
					snprintf(err, errlen, "'%s' is not a registrable domain and no "
					         "lead's domain can equal it; write '%s'", v->text, reg);
				else
					snprintf(err, errlen, "'%s' is not a registrable domain and no "
					         "lead's domain can equal it", v->text);
				free(reg);
				return false;
			}
			free(reg);
		}
		if (!v->norm[0]) {
			snprintf(err, errlen, "empty text never matches: an empty field is missing; "
			         "write '%s is missing'", f->name);
			return false;
		}
		return true;
	case FT_BOOL:
		snprintf(err, errlen, "'%s' takes no value", f->name);
		return false;
	}
	return false;
}

static bool field_is_textual(enum field_type t)
{
	return t == FT_TEXT || t == FT_ENUM || t == FT_COUNTRY;
}

static void check_cond(struct checker *k, struct cond *c)
{
	struct program *p = k->p;
	char err[512], dym[160];
	switch (c->kind) {
	case C_AND: case C_OR:
		check_cond(k, c->a);
		check_cond(k, c->b);
		return;
	case C_NOT:
		check_cond(k, c->a);
		return;
	case C_TRUE:
		return;
	case C_OWNED:
		c->field_id = F_ACCOUNT_OWNER;
		p->fields[F_ACCOUNT_OWNER].used = true;
		return;
	case C_PERSONAL:
		c->field_id = F_EMAIL_PERSONAL;
		p->fields[F_EMAIL_PERSONAL].used = true;
		return;
	default:
		break;
	}
	int id = strcmp(c->field, "email personal") == 0 ? -1 : program_find_field(p, c->field);
	if (id < 0) {
		did_you_mean(dym, sizeof dym, suggest_field(p, c->field));
		diag_add(k->d, DIAG_ERROR, k->src, c->field_loc, "unknown-field",
		         "unknown field '%s'%s%s", c->field, dym,
		         dym[0] ? "" : "; declare it with 'field NAME: text|number|enum(...)'");
		return;
	}
	c->field_id = id;
	struct field *f = &p->fields[id];
	f->used = true;
	switch (c->kind) {
	case C_CMP:
		if (c->op != OP_EQ && c->op != OP_NE && f->type != FT_NUMBER) {
			diag_add(k->d, DIAG_ERROR, k->src, c->loc, "type-mismatch",
			         "'%s' compares numbers, but '%s' is %s; use =, != or in (...)",
			         cmp_op_name(c->op), f->name, field_type_name(f->type));
			return;
		}
		/* fall through */
	case C_IN:
		for (size_t i = 0; i < c->n_vals; i++) {
			struct value *v = &c->vals[i];
			if (!check_value(f, v, k->env, err, sizeof err)) {
				const char *code = f->type == FT_COUNTRY ? "unknown-country"
				                 : f->type == FT_ENUM ? "unknown-value"
				                 : f->type == FT_NUMBER ? "type-mismatch" : "bad-value";
				diag_add(k->d, DIAG_ERROR, k->src, v->loc, code, "%s", err);
			}
		}
		return;
	case C_PRESENT:
		return;
	case C_ENDS: case C_STARTS: case C_CONTAINS: case C_MATCHES: {
		static const char *const what[] = { [C_ENDS] = "ends with", [C_STARTS] = "starts with",
		                                    [C_CONTAINS] = "contains", [C_MATCHES] = "matches" };
		if (!field_is_textual(f->type)) {
			diag_add(k->d, DIAG_ERROR, k->src, c->loc, "type-mismatch",
			         "'%s' works on text, but '%s' is %s", what[c->kind], f->name,
			         field_type_name(f->type));
			return;
		}
		struct value *v = &c->vals[0];
		if (c->kind == C_MATCHES) {
			c->re = xmalloc(sizeof *c->re);
			int rc = regcomp(c->re, v->text, REG_EXTENDED | REG_ICASE | REG_NOSUB);
			if (rc != 0) {
				regerror(rc, c->re, err, sizeof err);
				free(c->re);
				c->re = NULL;
				diag_add(k->d, DIAG_ERROR, k->src, v->loc, "bad-regex",
				         "bad pattern \"%s\": %s", v->text, err);
			}
			v->norm = xstrdup(v->text);
			return;
		}
		v->norm = f->type == FT_COUNTRY ? norm_upper(xmalloc(strlen(v->text) + 1), v->text,
		                                             strlen(v->text) + 1)
		                                : norm_text(v->text);
		if (!v->norm[0])
			diag_add(k->d, DIAG_ERROR, k->src, v->loc, "bad-value",
			         "empty text: every value %s it", what[c->kind]);
		return;
	}
	default:
		return;
	}
}

static void check_fields(struct checker *k)
{
	struct program *p = k->p;
	for (size_t i = F_N_BUILTIN; i < p->n_fields; i++) {
		struct field *f = &p->fields[i];
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->fields[j].name, f->name) != 0)
				continue;
			struct diag *g;
			if (p->fields[j].builtin) {
				g = diag_add(k->d, DIAG_ERROR, k->src, f->loc, "duplicate-field",
				             "field '%s' is built in; choose another name", f->name);
			} else {
				g = diag_add(k->d, DIAG_ERROR, k->src, f->loc, "duplicate-field",
				             "field '%s' declared twice", f->name);
				diag_note(g, p->fields[j].loc, "first declared here");
			}
			break;
		}
		if (strchr(f->name, '.') || strchr(f->name, '-'))
			diag_add(k->d, DIAG_ERROR, k->src, f->loc, "bad-name",
			         "field names are letters, digits and '_' ('%s')", f->name);
		for (size_t e = 0; e < f->n_enum; e++) {
			char *t = norm_text(f->enum_values[e]);
			free(f->enum_values[e]);
			f->enum_values[e] = t;
			for (size_t e2 = 0; e2 < e; e2++)
				if (strcmp(f->enum_values[e2], t) == 0)
					diag_add(k->d, DIAG_ERROR, k->src, f->loc, "duplicate-value",
					         "value '%s' listed twice in enum '%s'", t, f->name);
		}
	}
}

static void check_queues(struct checker *k)
{
	struct program *p = k->p;
	char dym[160];
	for (size_t i = 1; i < p->n_queues; i++) {
		struct queue *q = &p->queues[i];
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->queues[j].name, q->name) != 0)
				continue;
			struct diag *g;
			if (p->queues[j].builtin) {
				g = diag_add(k->d, DIAG_ERROR, k->src, q->loc, "duplicate-queue",
				             "queue '%s' is built in; choose another name", q->name);
			} else {
				g = diag_add(k->d, DIAG_ERROR, k->src, q->loc, "duplicate-queue",
				             "queue '%s' declared twice", q->name);
				diag_note(g, p->queues[j].loc, "first declared here");
			}
			break;
		}
		if (strcmp(q->name, "drop") == 0)
			diag_add(k->d, DIAG_ERROR, k->src, q->loc, "bad-name", "'drop' is reserved");
		else if (strchr(q->name, '.') || strchr(q->name, '-'))
			diag_add(k->d, DIAG_ERROR, k->src, q->loc, "bad-name",
			         "queue names are letters, digits and '_' ('%s')", q->name);
		for (size_t m = 0; m < q->n_members; m++) {
			struct member *mb = &q->members[m];
			if (!is_email(mb->who) && !is_member_id(mb->who))
				diag_add(k->d, DIAG_ERROR, k->src, mb->loc, "bad-member",
				         "'%s' is neither an email address nor a CRM owner id", mb->who);
			if (mb->scheduler && !is_url(mb->scheduler))
				diag_add(k->d, DIAG_ERROR, k->src, mb->scheduler_loc, "bad-url",
				         "scheduler '%s' is not an http(s) URL with a host", mb->scheduler);
			for (size_t m2 = 0; m2 < m; m2++) {
				if (strcasecmp(q->members[m2].who, mb->who) != 0)
					continue;
				diag_add(k->d, DIAG_WARNING, k->src, mb->loc, "duplicate-member",
				         "'%s' is listed twice in queue '%s'; use 'weight' instead",
				         mb->who, q->name);
				break;   /* one warning per repeat, not one per earlier copy */
			}
		}
		if (q->has_hours && q->hours.tz && !tz_valid(k->env->zoneinfo, q->hours.tz)) {
			char *s = tz_suggest(k->env->zoneinfo, q->hours.tz);
			did_you_mean(dym, sizeof dym, s);
			diag_add(k->d, DIAG_ERROR, k->src, q->hours.tz_loc, "bad-timezone",
			         "unknown time zone '%s'%s", q->hours.tz,
			         s ? dym : "; use an IANA name such as America/New_York");
			free(s);
		}
		if (q->dist == D_OWNER && (q->has_hours || q->cap))
			diag_add(k->d, DIAG_WARNING, k->src, q->has_hours ? q->hours.loc : q->cap_loc,
			         "ignored-option", "hours and caps apply to members; queue '%s' "
			         "sends to the account owner", q->name);
		if (q->fallback) {
			q->fallback_id = program_find_queue(p, q->fallback);
			if (q->fallback_id < 0) {
				did_you_mean(dym, sizeof dym, suggest_queue(p, q->fallback));
				diag_add(k->d, DIAG_ERROR, k->src, q->fallback_loc, "unknown-fallback",
				         "unknown fallback queue '%s'%s", q->fallback, dym);
			}
		}
	}
	if (p->owner_fallback) {
		p->owner_fallback_id = program_find_queue(p, p->owner_fallback);
		if (p->owner_fallback_id < 0) {
			did_you_mean(dym, sizeof dym, suggest_queue(p, p->owner_fallback));
			diag_add(k->d, DIAG_ERROR, k->src, p->owner_fallback_loc, "unknown-fallback",
			         "unknown fallback queue '%s'%s", p->owner_fallback, dym);
		} else if (p->owner_fallback_id == QUEUE_ACCOUNT_OWNER) {
			diag_add(k->d, DIAG_ERROR, k->src, p->owner_fallback_loc, "fallback-cycle",
			         "account_owner cannot fall back to itself");
		}
	}
	/* Fallback cycles: follow each chain; a queue seen twice closes a cycle.
	 * Report each cycle once, at its member with the lowest index. */
	int *seen = xcalloc(p->n_queues, sizeof(int));
	for (size_t i = 1; i < p->n_queues; i++) {
		for (size_t j = 0; j < p->n_queues; j++)
			seen[j] = 0;
		int at = (int)i, step = 1;
		while (at >= 0 && !seen[at]) {
			seen[at] = step++;
			at = p->queues[at].fallback_id;
		}
		if (at != (int)i)
			continue;   /* no cycle, or a cycle i only leads into */
		bool lowest = true;
		for (int x = p->queues[i].fallback_id; x != (int)i; x = p->queues[x].fallback_id)
			if (x < (int)i)
				lowest = false;
		if (!lowest)
			continue;
		struct buf b = {0};
		buf_adds(&b, p->queues[i].name);
		int x = (int)i;
		do {
			x = p->queues[x].fallback_id;
			buf_printf(&b, " -> %s", p->queues[x].name);
		} while (x != (int)i);
		diag_add(k->d, DIAG_ERROR, k->src, p->queues[i].fallback_loc, "fallback-cycle",
		         "fallback cycle: %s; a lead could go round forever", buf_str(&b));
		buf_free(&b);
	}
	free(seen);
}

/* Mark a queue used, with the queues it falls back to. */
static void mark_used(struct program *p, int q)
{
	for (int n = 0; q >= 0 && !p->queues[q].used && n < (int)p->n_queues; n++) {
		p->queues[q].used = true;
		q = p->queues[q].fallback_id;
	}
}

static bool chain_has_scheduler(const struct program *p, int q)
{
	for (int n = 0; q >= 0 && n < (int)p->n_queues; n++) {
		const struct queue *qq = &p->queues[q];
		if (qq->dist == D_OWNER)
			return true;   /* the owner's scheduler is known at run time only */
		for (size_t m = 0; m < qq->n_members; m++)
			if (qq->members[m].scheduler)
				return true;
		q = qq->fallback_id;
	}
	return false;
}

static void check_rules(struct checker *k)
{
	struct program *p = k->p;
	char dym[160];
	const struct rule *otherwise = NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct rule *r = &p->rules[i];
		if (otherwise) {
			struct diag *g = diag_add(k->d, DIAG_ERROR, k->src, r->loc, "rule-after-otherwise",
			                          "rule after 'otherwise' can never match");
			diag_note(g, otherwise->loc, "'otherwise' matches every lead here");
		} else if (r->otherwise) {
			otherwise = r;
		}
		size_t before = k->d->n_errors;
		check_cond(k, r->cond);
		if (k->d->n_errors != before)
			p->conds_ok = false;
		struct action *a = &r->act;
		if (!a->drop) {
			a->queue_id = program_find_queue(p, a->queue);
			if (a->queue_id < 0) {
				did_you_mean(dym, sizeof dym, suggest_queue(p, a->queue));
				diag_add(k->d, DIAG_ERROR, k->src, a->queue_loc, "unknown-queue",
				         "unknown queue '%s'%s%s", a->queue, dym,
				         dym[0] ? "" : "; declare it with 'queue NAME = ...'");
			} else {
				mark_used(p, a->queue_id);
				if (a->queue_id == QUEUE_ACCOUNT_OWNER)
					mark_used(p, p->owner_fallback_id);
				if (a->outcome == OUT_SCHEDULER && !chain_has_scheduler(p, a->queue_id))
					diag_add(k->d, DIAG_WARNING, k->src, a->outcome_loc, "no-scheduler",
					         "no member of '%s' has a scheduler; these leads see the "
					         "confirmation page", a->queue);
			}
		} else if (a->outcome == OUT_SCHEDULER) {
			diag_add(k->d, DIAG_ERROR, k->src, a->outcome_loc, "bad-outcome",
			         "a dropped lead has no owner and so no scheduler; use confirm or page");
		}
		if (a->outcome == OUT_PAGE && !is_page_name(a->page))
			diag_add(k->d, DIAG_ERROR, k->src, a->outcome_loc, "bad-page",
			         "page name '%s' must be lower-case letters, digits, '-' or '_' "
			         "(it names www/%s.html)", a->page, a->page);
		for (size_t t = 0; t < a->n_tags; t++)
			if (!a->tags[t][0] || strlen(a->tags[t]) > 64 || strpbrk(a->tags[t], "\r\n\t"))
				diag_add(k->d, DIAG_ERROR, k->src, a->queue_loc, "bad-tag",
				         "tags are 1 to 64 characters on one line");
	}
	if (p->owner_fallback_id >= 0)
		mark_used(p, p->owner_fallback_id);
}

static void check_expects(struct checker *k)
{
	struct program *p = k->p;
	char err[512], dym[160];
	for (size_t i = 0; i < p->n_expects; i++) {
		struct expect *e = &p->expects[i];
		for (size_t j = 0; j < e->n_kvs; j++) {
			struct kv *kv = &e->kvs[j];
			int id = program_find_field(p, kv->key);
			if (id < 0 || id == F_EMAIL_PERSONAL) {
				did_you_mean(dym, sizeof dym, suggest_field(p, kv->key));
				diag_add(k->d, DIAG_ERROR, k->src, kv->key_loc, "unknown-field",
				         "unknown field '%s'%s", kv->key, dym);
				continue;
			}
			for (size_t j2 = 0; j2 < j; j2++)
				if (strcmp(e->kvs[j2].key, kv->key) == 0)
					diag_add(k->d, DIAG_ERROR, k->src, kv->key_loc, "duplicate-key",
					         "'%s' given twice in one case", kv->key);
			char *blank = norm_text(kv->val.text);
			bool missing = !blank[0];
			free(blank);
			if (missing)
				continue;   /* a blank value is a missing one, as in a form */
			if (!check_value(&p->fields[id], &kv->val, k->env, err, sizeof err)) {
				const struct field *f = &p->fields[id];
				const char *code = f->type == FT_COUNTRY ? "unknown-country"
				                 : f->type == FT_ENUM ? "unknown-value" : "type-mismatch";
				diag_add(k->d, DIAG_ERROR, k->src, kv->val.loc, code, "%s", err);
			}
		}
		if (!e->drop && program_find_queue(p, e->queue) < 0) {
			did_you_mean(dym, sizeof dym, suggest_queue(p, e->queue));
			diag_add(k->d, DIAG_ERROR, k->src, e->queue_loc, "unknown-queue",
			         "unknown queue '%s'%s", e->queue, dym);
		}
	}
}

static void check_unused(struct checker *k)
{
	struct program *p = k->p;
	for (size_t i = 1; i < p->n_queues; i++)
		if (!p->queues[i].used)
			diag_add(k->d, DIAG_WARNING, k->src, p->queues[i].loc, "unused-queue",
			         "queue '%s' receives no leads: no rule or fallback names it",
			         p->queues[i].name);
}

bool check_program(struct program *p, const struct source *src, const struct check_env *env,
                   struct diags *d)
{
	struct checker k = { p, src, env, d, d->n_errors };
	p->conds_ok = true;
	check_fields(&k);
	check_queues(&k);
	check_rules(&k);
	check_expects(&k);
	if (d->n_errors == k.errors_before && !p->parse_failed)
		check_unused(&k);
	p->checked = d->n_errors == k.errors_before;
	return p->checked;
}
