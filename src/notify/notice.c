/* notice - an owner_assigned or lead_unassigned event and its lead, as
 * plain, cleaned text (notice.h).
 * Must never hand out a value with a control character, a byte that is not
 * UTF-8 or more than NOTICE_MAX_VALUE bytes, and never write to the store.
 */
#include "notify/notice.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "handler/config.h"
#include "notify/crmlink.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0 when the
 * bytes there are not one (RFC 3629: no overlong forms, no surrogates). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* A character that breaks a line or is invisible control: C0, DEL, C1,
 * U+2028 and U+2029. */
static bool is_control(const unsigned char *p, size_t n)
{
	if (n == 1)
		return p[0] < 0x20 || p[0] == 0x7f;
	if (n == 2)
		return p[0] == 0xc2 && p[1] < 0xa0;
	return n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9);
}

char *notice_clean(const char *s, size_t max)
{
	if (!s)
		return NULL;
	struct buf b = { 0 };
	buf_add(&b, "", 0);
	const unsigned char *p = (const unsigned char *)s;
	while (*p == ' ' || (*p < 0x20 && *p))
		p++;
	bool cut = false;
	size_t keep = 0;        /* bytes of b that end on a character within max - 3 */
	while (*p) {
		size_t n = utf8_len(p);
		size_t add = n == 0 ? 1 : is_control(p, n) ? 1 : n;
		if (b.len + add > max) {
			cut = true;
			break;
		}
		if (n == 0)
			buf_addc(&b, '?');
		else if (is_control(p, n))
			buf_addc(&b, ' ');
		else
			buf_add(&b, p, n);
		if (b.len + 3 <= max)
			keep = b.len;
		p += n ? n : 1;
	}
	if (cut) {
		b.len = keep;
		b.data[b.len] = '\0';
	}
	while (b.len && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	if (cut)
		buf_adds(&b, "...");
	return buf_take(&b);
}

/* A member of o as display text: strings as they are, numbers written
 * out (whole ones without a fraction); NULL when absent, null or empty. */
static char *field_text(struct json_object *o, const char *name)
{
	struct json_object *v;
	if (!o || !json_object_object_get_ex(o, name, &v) || !v)
		return NULL;
	char num[64];
	const char *t = NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
		t = json_object_get_string(v);
		break;
	case json_type_int:
		snprintf(num, sizeof num, "%lld", (long long)json_object_get_int64(v));
		t = num;
		break;
	case json_type_double: {
		double d = json_object_get_double(v);
		if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
			snprintf(num, sizeof num, "%.0f", d);
		else
			snprintf(num, sizeof num, "%g", d);
		t = num;
		break;
	}
	default:
		return NULL;
	}
	char *c = notice_clean(t, NOTICE_MAX_VALUE);
	if (c && !*c) {
		free(c);
		return NULL;
	}
	return c;
}

static char *join_name(char *first, char *last)
{
	if (!first || !last)
		return first ? first : last;
	size_t n = strlen(first) + 1 + strlen(last) + 1;
	char *both = xmalloc(n);
	snprintf(both, n, "%s %s", first, last);
	free(first);
	free(last);
	char *c = notice_clean(both, NOTICE_MAX_VALUE);
	free(both);
	return c;
}

int notice_load(struct store *s, const struct sink_event *ev, const char *link_template,
                struct notice *out, char *err, size_t errlen)
{
	*out = (struct notice){ 0 };
	bool assigned = strcmp(ev->type, "owner_assigned") == 0;
	if (!assigned && strcmp(ev->type, "lead_unassigned") != 0) {
		snprintf(err, errlen, "event %lld is a '%.40s' event, not owner_assigned or "
		         "lead_unassigned", (long long)ev->id, ev->type);
		return NOTICE_BAD;
	}
	if (!ev->lead_id || !*ev->lead_id) {
		snprintf(err, errlen, "%s event %lld names no lead", ev->type, (long long)ev->id);
		return NOTICE_BAD;
	}
	struct json_object *data = ev->data_json ? json_tokener_parse(ev->data_json) : NULL;
	if (!data || !json_object_is_type(data, json_type_object)) {
		snprintf(err, errlen, "%s event %lld has no JSON object as its data", ev->type,
		         (long long)ev->id);
		json_object_put(data);
		return NOTICE_BAD;
	}
	struct notice n = { .event_id = ev->id, .at_ms = ev->at_ms, .assigned = assigned };
	n.lead_id = notice_clean(ev->lead_id, NOTICE_MAX_VALUE);
	n.member = field_text(data, "member");
	n.queue = field_text(data, "queue");
	struct json_object *v;
	if (json_object_object_get_ex(data, "rule_line", &v) && json_object_is_type(v, json_type_int))
		n.rule_line = json_object_get_int(v);
	if (json_object_object_get_ex(data, "fallbacks", &v) && json_object_is_type(v, json_type_int))
		n.fallbacks = json_object_get_int(v);
	json_object_put(data);
	if (assigned && !n.member) {
		snprintf(err, errlen, "owner_assigned event %lld names no member", (long long)ev->id);
		notice_free(&n);
		return NOTICE_BAD;
	}

	struct store_lead_info li;
	int found = store_lead_info_get(s, ev->lead_id, &li);
	if (found < 0) {
		snprintf(err, errlen, "%s", store_error(s));
		notice_free(&n);
		return NOTICE_FAILED;
	}
	if (found) {
		n.lead_found = true;
		struct json_object *fields = li.fields_json ? json_tokener_parse(li.fields_json) : NULL;
		if (fields && !json_object_is_type(fields, json_type_object)) {
			json_object_put(fields);
			fields = NULL;
		}
		n.name = join_name(field_text(fields, "first_name"), field_text(fields, "last_name"));
		n.company = field_text(fields, "company");
		n.country = field_text(fields, "country");
		n.employees = field_text(fields, "employees");
		n.email = li.email && *li.email ? notice_clean(li.email, NOTICE_MAX_VALUE)
		                                : field_text(fields, "email");
		n.domain = li.domain && *li.domain ? notice_clean(li.domain, NOTICE_MAX_VALUE) : NULL;
		json_object_put(fields);
		/* the event's queue and line are the decision; the row's are the same */
		if (!n.queue && li.queue)
			n.queue = notice_clean(li.queue, NOTICE_MAX_VALUE);
		if (!n.rule_line)
			n.rule_line = li.rule_line;
		if (link_template)
			n.crm_link = crmlink_expand(link_template, li.id, li.email, li.domain);
		store_lead_info_free(&li);
	} else if (link_template) {
		n.crm_link = crmlink_expand(link_template, ev->lead_id, NULL, NULL);
	}
	*out = n;
	return 0;
}

void notice_free(struct notice *n)
{
	if (!n)
		return;
	free(n->lead_id); free(n->member); free(n->queue); free(n->name); free(n->company);
	free(n->email); free(n->domain); free(n->country); free(n->employees); free(n->crm_link);
	*n = (struct notice){ 0 };
}

int notice_timeout_setting(int *out, char *err, size_t errlen)
{
	bool failed;
	char *v = config_get("LEADROUTE_NOTIFY_TIMEOUT_MS", err, errlen, &failed);
	if (failed)
		return -1;
	*out = NOTICE_DEFAULT_TIMEOUT_MS;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	bool ok = *v && !*end && errno == 0 && x >= 100 && x <= 600000;
	if (ok)
		*out = (int)x;
	else
		snprintf(err, errlen, "LEADROUTE_NOTIFY_TIMEOUT_MS must be a whole number from 100 "
		         "to 600000, not '%.40s'", v);
	free(v);
	return ok ? 0 : -1;
}
