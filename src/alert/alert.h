/* alert - raise an alert: an `alert` event a person must see, rate-limited.
 *
 * An alert is stored as an `alert` event ({"alert": KIND, "key": KEY,
 * "message": ..., "suppressed": N} plus the caller's fields) in the
 * caller's transaction, so it commits with what caused it; the event log's
 * sinks carry it to Slack (src/notify/) and the caller writes the message
 * to its log.  At most one alert per kind and key (a CRM, a form field, a
 * queue) is stored every `every_ms`; the ones held back in between are
 * counted (table alert_state) and the next alert says how many.
 *
 * Kinds:
 *   crm_dead_letter      a lead's CRM write was dead-lettered (key: the CRM)
 *   crm_failures         `crm_failures` failed CRM writes within the window
 *   validation_failures  `validation_failures` refusals of one form field
 *                        within the window (key: the field)
 *   rules_refused        a changed rules file did not load (key: the file)
 *   queue_no_member      a lead found no available member (key: the queue)
 *
 * Never raises an alert outside a transaction the caller opened, and never
 * writes to a log itself: the caller owns its log.
 */
#ifndef LR_ALERT_H
#define LR_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct json_object;

struct alert_policy {
	int64_t window_ms;          /* LEADROUTE_ALERT_WINDOW_MINUTES, default 15 */
	int64_t every_ms;           /* LEADROUTE_ALERT_EVERY_MINUTES, default 30 */
	int validation_failures;    /* LEADROUTE_ALERT_VALIDATION_FAILURES, default 25 */
	int crm_failures;           /* LEADROUTE_ALERT_CRM_FAILURES, default 10 */
};

/* The defaults above (inline, so reading settings does not link this in). */
static inline void alert_policy_default(struct alert_policy *p)
{
	p->window_ms = 15 * 60 * 1000;
	p->every_ms = 30 * 60 * 1000;
	p->validation_failures = 25;
	p->crm_failures = 10;
}

/* Store an alert of kind about key unless one was stored less than
 * p->every_ms ago.  extra (may be NULL; borrowed, not changed) adds its
 * members to the event's data.  *raised tells which happened.  Call inside
 * a transaction.  0, or -1 with the store's error. */
int alert_raise(struct store *s, const struct alert_policy *p, const char *kind,
                const char *key, const char *lead_id, const char *message,
                const struct json_object *extra, int64_t now_ms, bool *raised);

/* After a validation_failed event for these fields was stored: raise
 * validation_failures for each field refused p->validation_failures
 * times or more within the window.  msg (size msglen) gets the message of
 * the last alert raised, empty when none.  Call inside a transaction. */
int alert_check_validation(struct store *s, const struct alert_policy *p,
                           const char *const *fields, size_t n, int64_t now_ms, char *msg,
                           size_t msglen);

/* After a crm_write_failure event for crm was stored: raise crm_failures
 * when there were p->crm_failures or more within the window.  msg as
 * above.  Call inside a transaction. */
int alert_check_crm_failures(struct store *s, const struct alert_policy *p, const char *crm,
                             int64_t now_ms, char *msg, size_t msglen);

#endif
