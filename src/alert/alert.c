/* alert - rate-limited alerts as events (see alert.h).
 *
 * Must never store an alert outside the caller's transaction, and never
 * drop the count of the alerts it held back.
 */
#include "alert/alert.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "store/store.h"

int alert_raise(struct store *s, const struct alert_policy *p, const char *kind,
                const char *key, const char *lead_id, const char *message,
                const struct json_object *extra, int64_t now_ms, bool *raised)
{
	int64_t held = 0;
	*raised = false;
	int gate = store_alert_gate(s, kind, key, now_ms, p->every_ms, &held);
	if (gate <= 0)
		return gate;
	struct json_object *o = json_object_new_object();
	if (!o)
		return -1;
	if (extra) {
		json_object_object_foreach((struct json_object *)extra, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	json_object_object_add(o, "alert", json_object_new_string(kind));
	json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(o, "suppressed", json_object_new_int64(held));
	const char *data = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = data ? store_event(s, lead_id, "alert", now_ms, data) : -1;
	json_object_put(o);
	*raised = rc == 0;
	return rc;
}

int alert_check_validation(struct store *s, const struct alert_policy *p,
                           const char *const *fields, size_t n, int64_t now_ms, char *msg,
                           size_t msglen)
{
	msg[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int64_t c = store_event_count_since(s, "validation_failed", now_ms - p->window_ms,
		                                    fields[i]);
		if (c < 0)
			return -1;
		if (c < p->validation_failures)
			continue;
		char m[320];
		snprintf(m, sizeof m, "the form's field '%.64s' was refused %lld times in the last "
		         "%lld minutes: a broken form, a changed field name or an attack",
		         fields[i], (long long)c, (long long)(p->window_ms / 60000));
		bool raised;
		if (alert_raise(s, p, "validation_failures", fields[i], NULL, m, NULL, now_ms,
		                &raised) != 0)
			return -1;
		if (raised)
			snprintf(msg, msglen, "%s", m);
	}
	return 0;
}

int alert_check_crm_failures(struct store *s, const struct alert_policy *p, const char *crm,
                             int64_t now_ms, char *msg, size_t msglen)
{
	msg[0] = '\0';
	/* every CRM's failures count: a deployment talks to one CRM */
	int64_t c = store_event_count_since(s, "crm_write_failure", now_ms - p->window_ms, NULL);
	if (c < 0)
		return -1;
	if (c < p->crm_failures)
		return 0;
	char m[320];
	snprintf(m, sizeof m, "%lld CRM writes to %.32s failed in the last %lld minutes; the "
	         "leads wait in the outbox and are retried (leadroute outbox list)", (long long)c,
	         crm, (long long)(p->window_ms / 60000));
	bool raised;
	if (alert_raise(s, p, "crm_failures", crm, NULL, m, NULL, now_ms, &raised) != 0)
		return -1;
	if (raised)
		snprintf(msg, msglen, "%s", m);
	return 0;
}
