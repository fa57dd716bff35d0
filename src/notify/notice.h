/* notice - what an owner notice says, read from an event and the lead's row.
 *
 * The Slack and email sinks both tell someone about one `owner_assigned`
 * event (a lead was given to a member) or one `lead_unassigned` event (no
 * member of the queue was available).  notice_load turns such an event
 * (data {"queue", "member", "rule_line", "fallbacks"}) and the lead it
 * names (store_lead_info_get: the email and domain columns, the submitted
 * fields first_name, last_name, company, country and employees) into a
 * struct notice the message builders format; tests build one by hand.
 *
 * Every string in a notice is cleaned for display: control characters
 * (CR and LF included) become spaces, bytes that are not UTF-8 become '?',
 * leading and trailing blanks go, and a value longer than NOTICE_MAX_VALUE
 * bytes is cut on a character boundary and ends in "...".  Escaping for a
 * destination (Slack's mrkdwn, mail headers) is the builder's job; the
 * values here are plain text, never trusted.
 *
 * The notice owns its strings (notice_free).  Never prints, and never
 * writes to the store.
 */
#ifndef LR_NOTIFY_NOTICE_H
#define LR_NOTIFY_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/sink.h"

struct store;

#define NOTICE_MAX_VALUE 200                /* bytes of one cleaned value */
#define NOTICE_DEFAULT_TIMEOUT_MS 10000     /* LEADROUTE_NOTIFY_TIMEOUT_MS's default */

struct notice {
	int64_t event_id, at_ms;    /* of the event (events.id, wall clock ms) */
	bool assigned;              /* owner_assigned; false: lead_unassigned */
	char *lead_id;              /* never NULL in a loaded notice */
	char *member;               /* who got the lead; NULL for lead_unassigned */
	char *queue;                /* NULL: none */
	int rule_line;              /* the matching rule's line in the .routes file; 0: none */
	int fallbacks;              /* queues tried before the one that answered */
	bool lead_found;            /* false: the lead's row is gone (the fields below are NULL) */
	char *name;                 /* first_name and last_name; NULL: neither given */
	char *company, *email, *domain, *country, *employees;   /* NULL: not given */
	char *crm_link;             /* NULL: LEADROUTE_CRM_LINK unset (or the link too long) */
};

/* Results of notice_load other than 0. */
#define NOTICE_BAD (-1)      /* the event can never make a notice (its data is wrong) */
#define NOTICE_FAILED (-2)   /* the store failed; trying again later may work */

/* Load the notice for ev (type owner_assigned or lead_unassigned) from its
 * data and the lead's row in s (borrowed).  link_template (a checked
 * LEADROUTE_CRM_LINK, or NULL) makes the CRM link.  Returns 0 with *out
 * filled (notice_free), or NOTICE_BAD / NOTICE_FAILED with err filled and
 * *out empty. */
int notice_load(struct store *s, const struct sink_event *ev, const char *link_template,
                struct notice *out, char *err, size_t errlen);
void notice_free(struct notice *n);

/* s (may be NULL: gives NULL) cleaned as described above, cut to at most
 * max bytes: a new string, caller frees. */
char *notice_clean(const char *s, size_t max);

/* LEADROUTE_NOTIFY_TIMEOUT_MS: the longest a notice may take (one Slack
 * call, one run of sendmail).  0 with *out set (default 10000), or -1
 * with err naming the setting. */
int notice_timeout_setting(int *out, char *err, size_t errlen);

#endif
