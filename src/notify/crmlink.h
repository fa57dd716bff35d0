/* crmlink - the link from a notice to the lead in the CRM
 * (LEADROUTE_CRM_LINK).
 *
 * The setting is a URL template with placeholders {lead_id}, {email} and
 * {domain}, e.g. https://crm.example/leads?id={lead_id}&q={email}.  Each
 * placeholder becomes the lead's value escaped for a URL (RFC 3986
 * unreserved characters kept, everything else %XX), so a lead's text can
 * never add a parameter, a path, a space or a character that would end a
 * Slack link (| > <).  The template itself is checked once, when a sink
 * opens: http or https, no spaces, control characters, quotes, < > |, no
 * other {name}.  Messages name the setting, never its value.
 */
#ifndef LR_NOTIFY_CRMLINK_H
#define LR_NOTIFY_CRMLINK_H

#include <stddef.h>

#define CRMLINK_MAX 2000     /* longest template, and longest link made (bytes) */

/* Check template (the setting's value).  0, or -1 with err saying what is
 * wrong with LEADROUTE_CRM_LINK. */
int crmlink_check(const char *template, char *err, size_t errlen);

/* LEADROUTE_CRM_LINK (config_get: _FILE works too), checked: 0 with *out
 * (caller frees; NULL when unset or empty), or -1 with err filled. */
int crmlink_setting(char **out, char *err, size_t errlen);

/* The link for one lead: a new string (caller frees), or NULL when the
 * result would be longer than CRMLINK_MAX.  A NULL value is an empty one.
 * template must have passed crmlink_check. */
char *crmlink_expand(const char *template, const char *lead_id, const char *email,
                     const char *domain);

#endif
