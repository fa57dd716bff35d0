/* crmlink - expand LEADROUTE_CRM_LINK for one lead (crmlink.h).
 * Must never let a lead's value into the link unescaped, and never put the
 * template into a message.
 */
#include "notify/crmlink.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crm/http.h"
#include "handler/config.h"
#include "util/buf.h"

static const char *const placeholders[] = { "{lead_id}", "{email}", "{domain}" };

/* Which placeholder starts at p: its index, or -1. */
static int placeholder_at(const char *p)
{
	for (int i = 0; i < 3; i++)
		if (strncmp(p, placeholders[i], strlen(placeholders[i])) == 0)
			return i;
	return -1;
}

int crmlink_check(const char *template, char *err, size_t errlen)
{
	if (strncasecmp(template, "http://", 7) != 0 && strncasecmp(template, "https://", 8) != 0) {
		snprintf(err, errlen, "LEADROUTE_CRM_LINK must start with http:// or https://");
		return -1;
	}
	if (strlen(template) > CRMLINK_MAX) {
		snprintf(err, errlen, "LEADROUTE_CRM_LINK is longer than %d bytes", CRMLINK_MAX);
		return -1;
	}
	for (const char *p = template; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c >= 0x7f || strchr("\"<>|\\^`", c)) {
			snprintf(err, errlen, "LEADROUTE_CRM_LINK has a character a URL cannot hold "
			         "as is (byte %zu): escape it as %%XX", (size_t)(p - template) + 1);
			return -1;
		}
		if (c == '{') {
			int i = placeholder_at(p);
			if (i < 0) {
				snprintf(err, errlen, "LEADROUTE_CRM_LINK has an unknown placeholder at "
				         "byte %zu: use {lead_id}, {email} or {domain}",
				         (size_t)(p - template) + 1);
				return -1;
			}
			p += strlen(placeholders[i]) - 1;
		} else if (c == '}') {
			snprintf(err, errlen, "LEADROUTE_CRM_LINK has a '}' outside a placeholder "
			         "(byte %zu)", (size_t)(p - template) + 1);
			return -1;
		}
	}
	return 0;
}

char *crmlink_expand(const char *template, const char *lead_id, const char *email,
                     const char *domain)
{
	const char *values[3] = { lead_id, email, domain };
	struct buf b = { 0 };
	buf_add(&b, "", 0);
	for (const char *p = template; *p; p++) {
		int i = *p == '{' ? placeholder_at(p) : -1;
		if (i < 0) {
			buf_addc(&b, *p);
			continue;
		}
		char *v = http_escape(values[i] ? values[i] : "");
		buf_adds(&b, v);
		free(v);
		p += strlen(placeholders[i]) - 1;
	}
	if (b.len > CRMLINK_MAX) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

int crmlink_setting(char **out, char *err, size_t errlen)
{
	bool failed;
	*out = config_get("LEADROUTE_CRM_LINK", err, errlen, &failed);
	if (failed)
		return -1;
	if (*out && !**out) {
		free(*out);
		*out = NULL;
	}
	if (*out && crmlink_check(*out, err, errlen) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
