/* lead - raw submissions and their normalization into rule facts.
 * Must never accept a value it cannot normalize as if it were fine: every
 * rejected value gets a message for its field. */
#include "lead/lead.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lead/normalize.h"
#include "util/buf.h"
#include "util/xalloc.h"

void lead_init(struct lead *l)
{
	memset(l, 0, sizeof *l);
}

void lead_free(struct lead *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->kv[i].name);
		free(l->kv[i].value);
	}
	free(l->kv);
	memset(l, 0, sizeof *l);
}

void lead_set(struct lead *l, const char *name_in, const char *value)
{
	/* form field names compare case-insensitively: Email is email */
	char name[128];
	size_t k = 0;
	for (; name_in[k] && k + 1 < sizeof name; k++)
		name[k] = (char)tolower((unsigned char)name_in[k]);
	name[k] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->kv[i].name, name) == 0) {
			free(l->kv[i].value);
			l->kv[i].value = xstrdup(value);
			return;
		}
	}
	l->kv = xgrow(l->kv, &l->cap, l->n + 1, sizeof *l->kv);
	l->kv[l->n++] = (struct lead_kv){ xstrdup(name), xstrdup(value) };
}

const char *lead_get(const struct lead *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->kv[i].name, name) == 0)
			return l->kv[i].value;
	return NULL;
}

static bool json_scalar(struct json_object *v, struct buf *out)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		buf_adds(out, json_object_get_string(v));
		return true;
	case json_type_int:
		buf_printf(out, "%lld", (long long)json_object_get_int64(v));
		return true;
	case json_type_double:
		buf_printf(out, "%.15g", json_object_get_double(v));
		return true;
	case json_type_boolean:
		buf_adds(out, json_object_get_boolean(v) ? "true" : "false");
		return true;
	default:
		return false;
	}
}

bool lead_from_json(struct lead *l, struct json_object *obj, char *err, size_t errlen)
{
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "a lead is a JSON object");
		return false;
	}
	json_object_object_foreach(obj, key, val) {
		if (!val)
			continue;   /* null: absent */
		if (strcmp(key, "account") == 0 && json_object_is_type(val, json_type_object)) {
			json_object_object_foreach(val, k2, v2) {
				if (!v2)
					continue;
				struct buf name = {0}, value = {0};
				buf_printf(&name, "account.%s", k2);
				if (!json_scalar(v2, &value)) {
					snprintf(err, errlen, "'account.%s' must be a string or number", k2);
					buf_free(&name);
					buf_free(&value);
					return false;
				}
				lead_set(l, buf_str(&name), buf_str(&value));
				buf_free(&name);
				buf_free(&value);
			}
			continue;
		}
		struct buf value = {0};
		if (!json_scalar(val, &value)) {
			snprintf(err, errlen, "'%s' must be a string or number", key);
			buf_free(&value);
			return false;
		}
		lead_set(l, key, buf_str(&value));
		buf_free(&value);
	}
	return true;
}

bool lead_from_words(struct lead *l, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i]) {
			snprintf(err, errlen, "'%s' is not name=value", argv[i]);
			return false;
		}
		char *name = xstrndup(argv[i], (size_t)(eq - argv[i]));
		lead_set(l, name, eq + 1);
		free(name);
	}
	return true;
}

void lead_errors_add(struct lead_errors *e, const char *field, const char *fmt, ...)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].field, field) == 0)
			return;   /* one message per field: the first */
	struct buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	e->v = xgrow(e->v, &e->cap, e->n + 1, sizeof *e->v);
	e->v[e->n++] = (struct lead_error){ xstrdup(field), buf_take(&b) };
}

void lead_errors_free(struct lead_errors *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].field);
		free(e->v[i].message);
	}
	free(e->v);
	memset(e, 0, sizeof *e);
}

void lead_facts_free(struct lead_facts *lf)
{
	for (size_t i = 0; i < lf->n_strings; i++)
		free(lf->strings[i]);
	free(lf->strings);
	free(lf->facts.v);
	free(lf->email_domain);
	memset(lf, 0, sizeof *lf);
}

/* Keep s (owned) alive as long as the facts; returns it. */
static const char *keep(struct lead_facts *lf, char *s)
{
	lf->strings = xgrow(lf->strings, &lf->cap_strings, lf->n_strings + 1, sizeof(char *));
	lf->strings[lf->n_strings++] = s;
	return s;
}

static void set_text(struct lead_facts *lf, int field, char *text)
{
	struct fact *f = &lf->facts.v[field];
	if (!text[0]) {
		free(text);
		*f = (struct fact){0};
		return;
	}
	f->text = keep(lf, text);
	f->present = true;
}

/* The value as given with white space trimmed, kept beside the normalized
 * text where case matters (CRM owner ids are case-sensitive). */
static void set_raw(struct lead_facts *lf, int field, const char *raw)
{
	struct fact *f = &lf->facts.v[field];
	if (!f->present)
		return;
	while (*raw == ' ' || *raw == '\t')
		raw++;
	size_t n = strlen(raw);
	while (n && (raw[n - 1] == ' ' || raw[n - 1] == '\t' || raw[n - 1] == '\r' ||
	             raw[n - 1] == '\n'))
		n--;
	f->raw = keep(lf, xstrndup(raw, n));
}

char *lead_registrable_domain(const psl_ctx_t *psl, const char *s)
{
	const char *p = s;
	const char *scheme = strstr(p, "://");
	if (scheme)
		p = scheme + 3;
	const char *at = NULL;
	size_t hl = strcspn(p, "/?#");
	for (size_t i = 0; i < hl; i++)
		if (p[i] == '@')
			at = p + i;
	if (at) {
		hl -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	char *host = xstrndup(p, hl);
	char *colon = strchr(host, ':');
	if (colon)
		*colon = '\0';
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	size_t n = strlen(host);
	while (n && host[n - 1] == '.')
		host[--n] = '\0';
	bool ok = n > 0 && n < 254;
	for (size_t i = 0; ok && i < n; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.' &&
		    (unsigned char)host[i] < 0x80)
			ok = false;
	const char *reg = ok ? psl_registrable_domain(psl, host) : NULL;
	char *out = reg ? xstrdup(reg) : NULL;
	free(host);
	return out;
}

/* Plain address check: one '@', something before it, a dotted domain, no
 * white space or control characters. */
static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 254)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || strchr("<>()[]\\,;:\"", *p))
			return false;
	const char *dot = strrchr(at + 1, '.');
	return dot && dot > at + 1 && dot[1] && !strstr(at + 1, "..");
}

static size_t limit_of(int field)
{
	return field == F_MESSAGE ? LEAD_MAX_MESSAGE : LEAD_MAX_VALUE;
}

bool lead_normalize(const struct program *p, const struct lead *l, const struct lead_env *env,
                    struct lead_facts *out, struct lead_errors *errs)
{
	memset(out, 0, sizeof *out);
	out->facts.n = p->n_fields;
	out->facts.v = xcalloc(p->n_fields, sizeof(struct fact));
	size_t errors_before = errs->n;
	if (l->n > LEAD_MAX_FIELDS)
		lead_errors_add(errs, "lead", "too many fields (%zu; at most %d)", l->n, LEAD_MAX_FIELDS);

	for (size_t i = 0; i < l->n; i++) {
		const char *name = l->kv[i].name, *raw = l->kv[i].value;
		if (strncmp(name, "account.", 8) == 0 && !env->account_facts) {
			/* a buyer cannot name their own account owner */
			continue;
		}
		int id = program_find_field(p, name);
		if (id < 0 || id == F_EMAIL_PERSONAL) {
			if (env->strict_names)
				lead_errors_add(errs, name, "unknown field '%s'", name);
			continue;
		}
		const struct field *f = &p->fields[id];
		if (strlen(raw) > limit_of(id)) {
			lead_errors_add(errs, name, "too long (at most %zu characters)", limit_of(id));
			continue;
		}
		switch (f->type) {
		case FT_NUMBER: {
			char *t = norm_text(raw);
			if (t[0]) {
				double v;
				if (!norm_number(t, &v)) {
					lead_errors_add(errs, name, "'%s' is not a number or a range like 201-500", raw);
				} else {
					out->facts.v[id] = (struct fact){ .num = v, .present = true };
					out->facts.v[id].text = keep(out, t);
					t = NULL;
				}
			}
			free(t);
			break;
		}
		case FT_COUNTRY: {
			char *t = norm_text(raw);
			if (t[0]) {
				const struct country *c = country_find(env->countries, t);
				if (!c) {
					const struct country *s = country_suggest(env->countries, t);
					if (s)
						lead_errors_add(errs, name, "unknown country '%s'; did you mean %s?",
						          raw, s->name);
					else
						lead_errors_add(errs, name, "unknown country '%s'", raw);
				} else {
					set_text(out, id, xstrdup(c->alpha2));
				}
			}
			free(t);
			break;
		}
		case FT_ENUM: {
			char *t = norm_text(raw);
			bool found = !t[0];
			for (size_t k = 0; !found && k < f->n_enum; k++)
				found = strcmp(t, f->enum_values[k]) == 0;
			if (!found) {
				struct buf b = {0};
				for (size_t k = 0; k < f->n_enum; k++)
					buf_printf(&b, "%s%s", k ? ", " : "", f->enum_values[k]);
				lead_errors_add(errs, name, "'%s' is not one of %s", raw, buf_str(&b));
				buf_free(&b);
				free(t);
			} else {
				set_text(out, id, t);
			}
			break;
		}
		default:
			set_text(out, id, norm_text(raw));
			set_raw(out, id, raw);
			break;
		}
	}

	/* email: its shape, its domain, free-mail or not */
	struct fact *email = &out->facts.v[F_EMAIL];
	if (email->present) {
		if (!email_ok(email->text)) {
			lead_errors_add(errs, "email", "'%s' is not an email address", email->text);
			*email = (struct fact){0};
		} else {
			const char *host = strchr(email->text, '@') + 1;
			out->email_domain = xstrdup(host);
			char *reg = lead_registrable_domain(env->psl, host);
			if (!reg) {
				lead_errors_add(errs, "email", "'%s' is not a domain that can receive mail", host);
			} else {
				bool personal = freemail_is_personal(env->freemail, host) ||
				                freemail_is_personal(env->freemail, reg);
				if (personal)
					out->facts.v[F_EMAIL_PERSONAL] =
						(struct fact){ .text = "true", .present = true };
				struct fact *dom = &out->facts.v[F_DOMAIN];
				if (!dom->present) {
					const struct fact *web = &out->facts.v[F_WEBSITE];
					char *wreg = personal && web->present
					           ? lead_registrable_domain(env->psl, web->text) : NULL;
					set_text(out, F_DOMAIN, wreg ? wreg : xstrdup(reg));
				}
			}
			free(reg);
		}
	}
	/* an explicit domain (or only a website) still becomes registrable */
	struct fact *dom = &out->facts.v[F_DOMAIN];
	if (dom->present && lead_get(l, "domain")) {
		char *reg = lead_registrable_domain(env->psl, dom->text);
		if (!reg)
			lead_errors_add(errs, "domain", "'%s' is not a registrable domain", dom->text);
		else
			set_text(out, F_DOMAIN, reg);
	} else if (!dom->present && out->facts.v[F_WEBSITE].present) {
		char *reg = lead_registrable_domain(env->psl, out->facts.v[F_WEBSITE].text);
		if (reg)
			set_text(out, F_DOMAIN, reg);
		else
			lead_errors_add(errs, "website", "'%s' has no registrable domain",
			          out->facts.v[F_WEBSITE].text);
	}

	/* account facts: from the lead when it has any, else the index */
	/* the account index is consulted only for a domain the buyer shows
	 * they belong to: a free-mail address with a customer's website is not
	 * that customer */
	bool trusted_domain = !out->facts.v[F_EMAIL_PERSONAL].present;
	bool has_account = !trusted_domain || out->facts.v[F_ACCOUNT_OWNER].present ||
	                   out->facts.v[F_ACCOUNT_LIFECYCLE].present ||
	                   out->facts.v[F_ACCOUNT_TIER].present;
	if (!has_account && env->accounts && dom->present) {
		struct account a = {0};
		if (env->accounts->find(env->accounts->ctx, dom->text, &a)) {
			out->account_from_index = true;
			if (a.owner) {
				set_text(out, F_ACCOUNT_OWNER, norm_text(a.owner));
				set_raw(out, F_ACCOUNT_OWNER, a.owner);
			}
			if (a.lifecycle)
				set_text(out, F_ACCOUNT_LIFECYCLE, norm_text(a.lifecycle));
			if (a.tier)
				set_text(out, F_ACCOUNT_TIER, norm_text(a.tier));
		}
	}
	return errs->n == errors_before;
}

bool lead_normalize_submission(const struct program *p, const struct lead *l,
                               const struct lead_env *env, struct lead_facts *out,
                               struct lead_errors *errs)
{
	struct lead_env buyer = *env;
	buyer.account_facts = false;   /* a buyer cannot name their own account owner */
	buyer.strict_names = false;    /* a form may carry fields no rule reads */
	size_t errors_before = errs->n;
	lead_normalize(p, l, &buyer, out, errs);
	if (!out->facts.v[F_EMAIL].present)   /* required; one message per field */
		lead_errors_add(errs, "email", "enter your work email address");
	return errs->n == errors_before;
}
